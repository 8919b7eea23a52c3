// SPDX-License-Identifier: GPL-2.0
/*
 * The connection table: one entry per live kernel socket, found by socket
 * address. Bounded: when full, the connections idle longest are evicted and
 * counted, so a busy host cannot grow it without limit. Its slots grow with
 * it: a host with few connections pays for few. A table may also index its
 * connections by local 4-tuple (the peer of a connection is found by its
 * tuple reversed).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conn.h"

/* A 240-byte malloc chunk: the tables hold tens of thousands. */
_Static_assert(sizeof(struct conn) <= 224, "struct conn grew");

/*
 * A slot keeps its connection's hash beside it: a probe compares hashes
 * without reading the connection, a cache miss on a big table. By sk the
 * hash is a bijection, so equal hashes are equal sks.
 */
struct slot {
	__u64 hash;
	struct conn *c;		/* NULL: empty */
};

struct conn_table {
	struct slot *slots;	/* open addressing by sk, power-of-two size */
	struct slot *tuples;	/* the same by tuple (NULL: not indexed) */
	size_t mask;		/* of both */
	size_t used;
	size_t capacity;
	size_t evict_batch;	/* how many go when it is full */
	size_t max_slots;	/* at capacity: at most half the slots used */
	__u64 next_id;
	__u64 evicted;
	__u64 *scratch;		/* capacity stamps, for choosing what to evict */
};

#define MIN_SLOTS	64

/* Invertible: each step is (an xor-shift, an odd multiply). */
static __u64 hash_sk(__u64 sk)
{
	sk ^= sk >> 33;
	sk *= 0xff51afd7ed558ccdULL;
	sk ^= sk >> 33;
	return sk;
}

/* The ends: a tuple's first five words (no padding: pad is kept 0). */
#define TUPLE_ENDS	offsetof(struct conn_tuple, netns)

/*
 * Over the ends only, not the namespace: the same ends in every namespace
 * share a chain, where conn_by_tuple() can prefer one namespace to others.
 */
static __u64 hash_tuple(const struct conn_tuple *tu)
{
	__u64 w[TUPLE_ENDS / 8], h = 0;

	_Static_assert(TUPLE_ENDS % 8 == 0, "a tuple's ends are whole words");
	memcpy(w, tu, sizeof(w));
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ULL;
	return hash_sk(h);
}

/*
 * Empty slot i of an open-addressing array (slots or tuples): backward-shift
 * deletion keeps probe chains intact without tombstones.
 */
static void shift_back(const struct conn_table *t, struct slot *a, size_t i)
{
	size_t j = i;

	a[i].c = NULL;
	for (;;) {
		size_t home;

		j = (j + 1) & t->mask;
		if (!a[j].c)
			return;
		home = a[j].hash & t->mask;
		/* Move j back to i unless its home lies cyclically in (i, j]. */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			a[i] = a[j];
			a[j].c = NULL;
			i = j;
		}
	}
}

/* Whether a connection's tuple is known (indexed): all have a family. */
static bool has_tuple(const struct conn *c)
{
	return c->t.family != 0;
}

/* File c in the tuple index (if the table has one and c's tuple is known). */
static void tuple_link(struct conn_table *t, struct conn *c)
{
	__u64 hash;
	size_t i;

	if (!t->tuples || !has_tuple(c))
		return;
	hash = hash_tuple(&c->t);
	i = hash & t->mask;
	while (t->tuples[i].c)
		i = (i + 1) & t->mask;
	t->tuples[i] = (struct slot){ .hash = hash, .c = c };
}

static void tuple_unlink(struct conn_table *t, const struct conn *c)
{
	size_t i;

	if (!t->tuples || !has_tuple(c))
		return;
	i = hash_tuple(&c->t) & t->mask;
	while (t->tuples[i].c != c)
		i = (i + 1) & t->mask;
	shift_back(t, t->tuples, i);
}

struct conn_table *conn_table_new(size_t capacity, size_t evict_batch)
{
	struct conn_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->max_slots = MIN_SLOTS;
	while (t->max_slots < capacity * 2)
		t->max_slots <<= 1;
	t->slots = calloc(MIN_SLOTS, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	t->mask = MIN_SLOTS - 1;
	t->capacity = capacity;
	t->evict_batch = evict_batch;
	t->next_id = 1;
	return t;
}

static void conn_free(struct conn *c)
{
	if (!c)
		return;
	free(c->hist_more);
	free(c);
}

void conn_table_free(struct conn_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i <= t->mask; i++)
		conn_free(t->slots[i].c);
	free(t->slots);
	free(t->tuples);
	free(t->scratch);
	free(t);
}

static size_t slot_of(const struct conn_table *t, __u64 sk)
{
	__u64 hash = hash_sk(sk);
	size_t i = hash & t->mask;

	while (t->slots[i].c && t->slots[i].hash != hash)
		i = (i + 1) & t->mask;
	return i;
}

struct conn *conn_find(struct conn_table *t, __u64 sk)
{
	return t->slots[slot_of(t, sk)].c;
}

/* File c, on sk, in empty slot i. */
static void fill_slot(struct conn_table *t, size_t i, struct conn *c)
{
	t->slots[i] = (struct slot){ .hash = hash_sk(c->sk), .c = c };
	t->used++;
}

static void unlink_slot(struct conn_table *t, size_t i)
{
	t->used--;
	shift_back(t, t->slots, i);
}

static void remove_slot(struct conn_table *t, size_t i)
{
	struct conn *c = t->slots[i].c;

	tuple_unlink(t, c);
	unlink_slot(t, i);
	conn_free(c);
}

void conn_remove(struct conn_table *t, struct conn *c)
{
	remove_slot(t, slot_of(t, c->sk));
}

void conn_rekey(struct conn_table *t, struct conn *c, __u64 sk)
{
	size_t i;

	unlink_slot(t, slot_of(t, c->sk));
	i = slot_of(t, sk);
	if (t->slots[i].c) {
		remove_slot(t, i);
		i = slot_of(t, sk);
	}
	c->sk = sk;
	fill_slot(t, i, c);
}

void conn_remove_if(struct conn_table *t, bool (*gone)(const struct conn *c))
{
	/* A removal shifts later entries back into slot i: look at it again. */
	for (size_t i = 0; i <= t->mask; i++)
		while (t->slots[i].c && gone(t->slots[i].c))
			remove_slot(t, i);
}

/* The k-th smallest (from 0) of v[0..n), by quickselect; v is reordered. */
static __u64 kth_smallest(__u64 *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n;	/* the answer is in v[lo..hi) */

	while (hi - lo > 1) {
		__u64 pivot = v[lo + (hi - lo) / 2], tmp;
		size_t lt = lo, i = lo, gt = hi;

		/* Three ways: v[lo..lt) < pivot, v[lt..gt) == pivot, v[gt..hi) > pivot. */
		while (i < gt) {
			if (v[i] < pivot) {
				tmp = v[lt], v[lt++] = v[i], v[i++] = tmp;
			} else if (v[i] > pivot) {
				tmp = v[--gt], v[gt] = v[i], v[i] = tmp;
			} else {
				i++;
			}
		}
		if (k < lt)
			hi = lt;
		else if (k >= gt)
			lo = gt;
		else
			return pivot;
	}
	return v[lo];
}

/* Evict the connections idle longest: a batch (one when short of memory). */
static void evict_oldest(struct conn_table *t)
{
	size_t batch = t->evict_batch, n = 0, gone = 0;
	__u64 limit = ~0ULL;

	if (!t->scratch)
		t->scratch = malloc(t->capacity * sizeof(*t->scratch));
	if (!t->scratch || !batch)
		batch = 1;
	for (size_t i = 0; i <= t->mask; i++) {
		const struct conn *c = t->slots[i].c;

		if (!c)
			continue;
		if (batch > 1 && n < t->capacity)
			t->scratch[n++] = c->since;
		else if (c->since < limit)
			limit = c->since;
	}
	if (batch > 1 && n)
		limit = kth_smallest(t->scratch, n, (batch < n ? batch : n) - 1);
	/* In slot order: ties at the limit go the same way every time. */
	for (size_t i = 0; i <= t->mask && gone < batch; i++)
		while (t->slots[i].c && t->slots[i].c->since <= limit &&
		       gone < batch) {
			remove_slot(t, i);
			gone++;
		}
	t->evicted += gone;
}

/* Twice the slots (and tuple slots), past half used. */
static int grow(struct conn_table *t)
{
	size_t size = (t->mask + 1) * 2;
	struct slot *old = t->slots, *tuples = NULL;
	size_t old_mask = t->mask;

	t->slots = calloc(size, sizeof(*t->slots));
	if (t->slots && t->tuples)
		tuples = calloc(size, sizeof(*tuples));
	if (!t->slots || (t->tuples && !tuples)) {
		free(t->slots);
		t->slots = old;
		return -ENOMEM;
	}
	free(t->tuples);
	t->tuples = tuples;
	t->mask = size - 1;
	t->used = 0;
	for (size_t i = 0; i <= old_mask; i++) {
		if (!old[i].c)
			continue;
		fill_slot(t, slot_of(t, old[i].c->sk), old[i].c);
		tuple_link(t, old[i].c);
	}
	free(old);
	return 0;
}

struct conn *conn_new(struct conn_table *t, __u64 sk)
{
	size_t i = slot_of(t, sk);
	struct conn *c;

	if (t->slots[i].c)
		remove_slot(t, i);
	if (t->used >= t->capacity)
		evict_oldest(t);
	if ((t->used + 1) * 2 > t->mask + 1 && t->mask + 1 < t->max_slots &&
	    grow(t))
		return NULL;
	i = slot_of(t, sk);
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = t->next_id++;
	c->sk = sk;
	c->linger = -2;
	c->rst_sent_reason = -1;
	fill_slot(t, i, c);
	return c;
}

int conn_table_index_tuples(struct conn_table *t)
{
	if (t->tuples)
		return 0;
	t->tuples = calloc(t->mask + 1, sizeof(*t->tuples));
	if (!t->tuples)
		return -ENOMEM;
	for (size_t i = 0; i <= t->mask; i++)
		if (t->slots[i].c)
			tuple_link(t, t->slots[i].c);
	return 0;
}

void conn_set_tuple(struct conn_table *t, struct conn *c,
		    const struct conn_tuple *tu)
{
	if (!memcmp(&c->t, tu, sizeof(*tu)))
		return;
	tuple_unlink(t, c);
	c->t = *tu;
	tuple_link(t, c);
}

static bool same_ends(const struct conn_tuple *a, const struct conn_tuple *b)
{
	return !memcmp(a, b, TUPLE_ENDS);
}

struct conn *conn_by_tuple(struct conn_table *t, const struct conn_tuple *tu,
			   bool other_netns)
{
	struct conn *other = NULL;
	__u64 hash;
	size_t i;

	if (!t->tuples)
		return NULL;	/* not indexed by tuple (conn_table_index_tuples) */
	hash = hash_tuple(tu);
	for (i = hash & t->mask; t->tuples[i].c; i = (i + 1) & t->mask) {
		struct conn *c = t->tuples[i].c;

		if (t->tuples[i].hash != hash || !same_ends(&c->t, tu))
			continue;
		if (conn_tuple_eq(&c->t, tu))
			return c;
		if (other_netns && !other)
			other = c;
	}
	return other;
}

void conn_for_each(struct conn_table *t, void (*fn)(struct conn *c, void *ctx),
		   void *ctx)
{
	for (size_t i = 0; i <= t->mask; i++)
		if (t->slots[i].c)
			fn(t->slots[i].c, ctx);
}

__u64 conn_evicted(const struct conn_table *t)
{
	return t->evicted;
}

#define HIST_MORE	(CONN_HIST - CONN_HIST_INLINE)

struct conn_step conn_step(const struct conn *c, int i)
{
	if (i >= CONN_HIST_INLINE)
		return c->hist_more[i - CONN_HIST_INLINE];
	return (struct conn_step){ .ts = c->hist_ts[i], .old = c->hist_old[i],
				   .new = c->hist_new[i] };
}

void conn_step_add(struct conn *c, __u64 ts, int old, int new)
{
	int i = c->nhist;

	if (i == CONN_HIST)
		return;
	if (i < CONN_HIST_INLINE) {
		c->hist_ts[i] = ts;
		c->hist_old[i] = (__u8)old;
		c->hist_new[i] = (__u8)new;
	} else {
		if (!c->hist_more)
			c->hist_more = malloc(HIST_MORE * sizeof(*c->hist_more));
		if (!c->hist_more)
			return;
		c->hist_more[i - CONN_HIST_INLINE] =
			(struct conn_step){ .ts = ts, .old = (__u8)old, .new = (__u8)new };
	}
	c->nhist++;
}

void conn_step_drop(struct conn *c)
{
	if (c->nhist)
		c->nhist--;
}

int conn_copy(struct conn *dst, const struct conn *src)
{
	struct conn_step *more = NULL;

	if (src->hist_more) {
		more = malloc(HIST_MORE * sizeof(*more));
		if (!more)
			return -ENOMEM;
		memcpy(more, src->hist_more, HIST_MORE * sizeof(*more));
	}
	*dst = *src;
	dst->hist_more = more;
	return 0;
}

int conn_copy_in(struct conn_table *t, struct conn *dst, const struct conn *src)
{
	__u64 sk = dst->sk;
	int err;

	tuple_unlink(t, dst);
	err = conn_copy(dst, src);
	dst->sk = sk;
	tuple_link(t, dst);
	return err;
}

void conn_hist_free(struct conn *c)
{
	free(c->hist_more);
	c->hist_more = NULL;
}

void conn_tuple_of_event(struct conn_tuple *tu, const struct tw_event *e)
{
	memset(tu, 0, sizeof(*tu));
	memcpy(tu->saddr, e->saddr, sizeof(tu->saddr));
	memcpy(tu->daddr, e->daddr, sizeof(tu->daddr));
	tu->sport = e->sport;
	tu->dport = e->dport;
	tu->family = e->family;
	tu->netns = e->netns;
}

void conn_tuple_reverse(struct conn_tuple *dst, const struct conn_tuple *src)
{
	memset(dst, 0, sizeof(*dst));
	memcpy(dst->saddr, src->daddr, sizeof(dst->saddr));
	memcpy(dst->daddr, src->saddr, sizeof(dst->daddr));
	dst->sport = src->dport;
	dst->dport = src->sport;
	dst->family = src->family;
	dst->netns = src->netns;
}

bool conn_tuple_eq(const struct conn_tuple *a, const struct conn_tuple *b)
{
	return same_ends(a, b) &&
	       (a->netns == b->netns || !a->netns || !b->netns);
}

bool conn_tuple_is_peer(const struct conn_tuple *tu, const struct conn_tuple *peer)
{
	struct conn_tuple rev;

	conn_tuple_reverse(&rev, tu);
	if (!conn_tuple_loopback(tu))
		rev.netns = 0;
	return conn_tuple_eq(&rev, peer);
}

__u64 conn_tuple_key(const struct conn_tuple *tu)
{
	const unsigned char *p = (const unsigned char *)tu;
	__u64 h = 1469598103934665603ULL;	/* FNV-1a */

	for (size_t i = 0; i < sizeof(*tu); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h ? h : 1;
}

/* 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104. */
static bool loopback_addr(const __u8 *a, __u16 family)
{
	static const __u8 v6_loopback[16] = { [15] = 1 };
	static const __u8 v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (family != AF_INET6)
		return a[0] == 127;
	return !memcmp(a, v6_loopback, 16) ||
	       (!memcmp(a, v4_mapped, 12) && a[12] == 127);
}

bool conn_tuple_loopback(const struct conn_tuple *tu)
{
	return loopback_addr(tu->saddr, tu->family) ||
	       loopback_addr(tu->daddr, tu->family);
}
