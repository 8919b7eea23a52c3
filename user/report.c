// SPDX-License-Identifier: GPL-2.0
/*
 * --report: what the tracer's sink sees, kept per connection for a report
 * written when tracing ends.
 *
 * Events are tied to a connection the way the analyzer ties them: by socket
 * address while the socket lives; once it hands over to a timewait socket
 * (FIN_WAIT2 or CLOSING -> CLOSE), by 4-tuple, until the analyzer hands the
 * finished timeline over (conn_done), which settles the connection. A
 * socket the analyzer never finishes (no state change: a bind() or a
 * connect() that failed) is kept from its own events when something went
 * wrong on it, and learns its id from the explanation given right after.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

enum {
	S_FIN_WAIT2 = 5, S_CLOSE = 7, S_LISTEN = 10, S_CLOSING = 11,
	S_SYN_SENT = 2, S_SYN_RECV = 3,
};

/* ---- a map from socket address or tuple hash to a connection ------------ */

struct map_slot {
	__u64 key;
	struct report_conn *c;
};

struct report_map {
	struct map_slot *slots;	/* open addressing, power-of-two size */
	size_t mask, used;
};

static size_t map_hash(__u64 k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k;
}

static struct report_map *map_new(size_t capacity)
{
	struct report_map *m = calloc(1, sizeof(*m));
	size_t size = 16;

	if (!m)
		return NULL;
	while (size < capacity * 2)
		size <<= 1;
	m->slots = calloc(size, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return NULL;
	}
	m->mask = size - 1;
	return m;
}

static void map_free(struct report_map *m)
{
	if (m)
		free(m->slots);
	free(m);
}

static size_t map_slot(const struct report_map *m, __u64 key)
{
	size_t i = map_hash(key) & m->mask;

	while (m->slots[i].c && m->slots[i].key != key)
		i = (i + 1) & m->mask;
	return i;
}

static struct report_conn *map_get(const struct report_map *m, __u64 key)
{
	return m->slots[map_slot(m, key)].c;
}

static void map_put(struct report_map *m, __u64 key, struct report_conn *c)
{
	size_t i = map_slot(m, key);

	if (!m->slots[i].c)
		m->used++;
	m->slots[i].key = key;
	m->slots[i].c = c;
}

/* Backward-shift deletion, as in conn.c. */
static void map_del(struct report_map *m, __u64 key)
{
	size_t i = map_slot(m, key), j = i;

	if (!m->slots[i].c)
		return;
	m->slots[i].c = NULL;
	m->used--;
	for (;;) {
		size_t home;

		j = (j + 1) & m->mask;
		if (!m->slots[j].c)
			return;
		home = map_hash(m->slots[j].key) & m->mask;
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			m->slots[i] = m->slots[j];
			m->slots[j].c = NULL;
			i = j;
		}
	}
}

/* ---- the report ------------------------------------------------------------ */

static __s64 mono_to_real_offset(void)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	return (real.tv_sec - mono.tv_sec) * 1000000000LL +
	       (real.tv_nsec - mono.tv_nsec);
}

static void append(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static void describe_target(char *buf, size_t len, const struct tw_options *o)
{
	buf[0] = '\0';
	if (o->scenario && !strcmp(o->scenario, "all"))
		append(buf, len, "the bundled scenarios (--scenario all)");
	else if (o->scenario)
		append(buf, len, "scenario %s", o->scenario);
	else if (o->npids)
		for (int i = 0; i < o->npids; i++)
			append(buf, len, "%s%d", i ? ", " : "pid ", o->pids[i]);
	else
		append(buf, len, "every process");
	if (o->npids && !o->scenario)
		append(buf, len, "%s", !o->follow ? "" : o->npids > 1 ?
		       " and the children they fork" : " and the children it forks");
	if (o->no_calls)
		append(buf, len, "; socket calls not traced (--no-calls)");
	for (int i = 0; i < o->nports; i++)
		append(buf, len, "%s%u", i ? ", " : "; port ", o->ports[i]);
	if (o->family)
		append(buf, len, "; IPv%d only", o->family == AF_INET ? 4 : 6);
}

struct report *report_new(const struct tw_options *o)
{
	struct report *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->mono_to_real_ns = mono_to_real_offset();
	r->by_sk = map_new(REPORT_MAX_PENDING);
	r->by_tuple = map_new(REPORT_MAX_PENDING);
	if (!r->by_sk || !r->by_tuple) {
		report_free(r);
		return NULL;
	}
	if (o)
		describe_target(r->target, sizeof(r->target), o);
	return r;
}

void report_set_target(struct report *r, const char *target)
{
	snprintf(r->target, sizeof(r->target), "%s", target);
}

void report_set_clock(struct report *r, __s64 mono_to_real_ns)
{
	r->mono_to_real_ns = mono_to_real_ns;
}

static void conn_release(struct report_conn *c)
{
	if (c)
		free(c->ev);
	free(c);
}

static void map_release(struct report_map *m, struct report_map *other)
{
	if (!m)
		return;
	for (size_t i = 0; i <= m->mask; i++) {
		struct report_conn *c = m->slots[i].c;

		/* In both maps: released with the first. */
		if (c && !(other && c->in_sk_map && c->in_tuple_map))
			conn_release(c);
	}
}

void report_free(struct report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nconns; i++)
		conn_release(r->conns[i]);
	free(r->conns);
	for (size_t i = 0; i < r->nexpl; i++)
		free(r->expl[i].text);
	free(r->expl);
	for (size_t i = 0; i < r->nact; i++) {
		free(r->act[i].role);
		free(r->act[i].call);
		free(r->act[i].arg);
		free(r->act[i].err);
	}
	free(r->act);
	free(r->other);
	for (int i = 0; i <= r->nscn; i++)
		free(r->scn[i].name);
	map_release(r->by_tuple, r->by_sk);
	map_release(r->by_sk, NULL);
	if (r->just_destroyed && !r->just_destroyed->in_sk_map &&
	    !r->just_destroyed->in_tuple_map)
		conn_release(r->just_destroyed);
	map_free(r->by_sk);
	map_free(r->by_tuple);
	free(r);
}

static void note_ts(struct report *r, __u64 ts)
{
	if (!ts)
		return;
	if (!r->first_ts || ts < r->first_ts)
		r->first_ts = ts;
	if (ts > r->last_ts)
		r->last_ts = ts;
}

/* ---- connections being followed -------------------------------------------- */

static bool creates_socket(const struct tw_event *e)
{
	return e->type == TW_EV_STATE &&
	       ((e->oldstate == S_CLOSE &&
		 (e->newstate == S_SYN_SENT || e->newstate == S_LISTEN)) ||
		(e->oldstate == S_LISTEN && e->newstate == S_SYN_RECV));
}

/* For an event that creates_socket(). */
static enum conn_role role_of(const struct tw_event *e)
{
	return e->newstate == S_SYN_SENT ? ROLE_ACTIVE :
	       e->newstate == S_LISTEN ? ROLE_LISTENER : ROLE_PASSIVE;
}

static void unlink_conn(struct report *r, struct report_conn *c)
{
	if (c->in_sk_map && map_get(r->by_sk, c->sk) == c)
		map_del(r->by_sk, c->sk);
	if (c->in_tuple_map && map_get(r->by_tuple, conn_tuple_key(&c->t)) == c)
		map_del(r->by_tuple, conn_tuple_key(&c->t));
	c->in_sk_map = c->in_tuple_map = false;
	if (r->just_destroyed == c)
		r->just_destroyed = NULL;
	if (r->last == c)
		r->last = NULL;
}

static void conn_discard(struct report *r, struct report_conn *c)
{
	unlink_conn(r, c);
	r->events_kept -= c->nev;
	conn_release(c);
}

int report_conn_final(const struct report_conn *c)
{
	if (c->nhist)
		return c->hist[c->nhist - 1].new;
	for (unsigned int i = c->nev; i-- > 0;)
		if (c->ev[i].type != REPORT_EV_ACTION && c->ev[i].old)
			return c->ev[i].old;
	return S_CLOSE;
}

/* A finished connection: counted, and kept while there is room. */
static void keep_conn(struct report *r, struct report_conn *c)
{
	unlink_conn(r, c);
	r->conns_seen++;
	r->by_state[report_conn_final(c) & 15]++;
	if (r->nconns == r->conns_cap && r->nconns < REPORT_MAX_CONNS) {
		size_t cap = r->conns_cap ? r->conns_cap * 2 : 64;
		struct report_conn **p = realloc(r->conns, cap * sizeof(*p));

		if (p) {
			r->conns = p;
			r->conns_cap = cap;
		}
	}
	if (r->nconns == r->conns_cap || r->nconns >= REPORT_MAX_CONNS) {
		r->dropped.conns++;
		conn_discard(r, c);
		return;
	}
	r->conns[r->nconns++] = c;
}

static void conn_add(struct report *r, struct report_conn *c,
		     const struct report_ev *v)
{
	if (c->nev >= REPORT_CONN_EVENTS || r->events_kept >= REPORT_MAX_EVENTS)
		goto drop;
	if (c->nev == c->cap) {
		unsigned int cap = c->cap ? c->cap * 2 : 8;
		struct report_ev *p = realloc(c->ev, cap * sizeof(*p));

		if (!p)
			goto drop;
		c->ev = p;
		c->cap = cap;
	}
	c->ev[c->nev++] = *v;
	r->events_kept++;
	return;
drop:
	c->ev_dropped++;
	r->dropped.events++;
}

static void ev_of(struct report_ev *v, const struct tw_event *e)
{
	memset(v, 0, sizeof(*v));
	v->ts = e->ts_ns;
	v->reason = e->reason;
	v->value = e->value;
	v->arg = e->arg;
	v->arg2 = e->arg2;
	v->type = e->type;
	v->old = e->oldstate;
	v->new = e->newstate;
	v->flags = e->flags;
}

/* Something went wrong on it, or it has a timeline: worth a section. */
static bool worth_keeping(const struct report_conn *c)
{
	if (c->id || c->nhist)
		return true;
	for (unsigned int i = 0; i < c->nev; i++) {
		const struct report_ev *v = &c->ev[i];

		if (v->type == TW_EV_CALL ? v->value < 0 :
		    v->type != TW_EV_DESTROY && v->type != REPORT_EV_ACTION)
			return true;
	}
	return false;
}

/* A socket the analyzer will not finish: its timeline from its own events. */
static void leftover(struct report *r, struct report_conn *c)
{
	unlink_conn(r, c);
	for (unsigned int i = 0; i < c->nev && c->nhist < CONN_HIST; i++) {
		if (c->ev[i].type != TW_EV_STATE)
			continue;
		c->hist[c->nhist].ts = c->ev[i].ts;
		c->hist[c->nhist].old = c->ev[i].old;
		c->hist[c->nhist].new = c->ev[i].new;
		c->nhist++;
	}
	if (worth_keeping(c))
		keep_conn(r, c);
	else
		conn_discard(r, c);
}

/*
 * The analyzer finishes a destroyed socket at once, unless a timewait
 * socket carries it on: by the next event, either has happened.
 */
static void settle_destroyed(struct report *r)
{
	struct report_conn *c = r->just_destroyed;

	r->just_destroyed = NULL;
	if (c && !c->in_tuple_map)
		leftover(r, c);
}

static size_t pending(const struct report *r)
{
	return r->by_sk->used + r->by_tuple->used;
}

static struct report_conn *conn_open(struct report *r, const struct tw_event *e)
{
	struct report_conn *c;

	if (pending(r) >= REPORT_MAX_PENDING)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->sk = e->skaddr;
	c->scn = r->cur;
	c->first_ts = c->end_ts = e->ts_ns;
	conn_tuple_of_event(&c->t, e);
	if (creates_socket(e))
		c->role = role_of(e);
	map_put(r->by_sk, c->sk, c);
	c->in_sk_map = true;
	return c;
}

static struct report_conn *conn_of_sk(struct report *r, const struct tw_event *e)
{
	struct report_conn *c = map_get(r->by_sk, e->skaddr);

	/* Calls made before connect() or listen() belong to what follows. */
	if (c && creates_socket(e) && !c->stated) {
		c->role = role_of(e);
		return c;
	}
	/* A new socket at the address of one whose end was not seen. */
	if (c && creates_socket(e)) {
		if (c->in_tuple_map) {
			map_del(r->by_sk, c->sk);
			c->in_sk_map = false;
		} else {
			leftover(r, c);
		}
		c = NULL;
	}
	return c ? c : conn_open(r, e);
}

static struct report_conn *conn_of_tuple(struct report *r,
					 const struct conn_tuple *t)
{
	struct report_conn *c = map_get(r->by_tuple, conn_tuple_key(t));

	return c && conn_tuple_eq(&c->t, t) ? c : NULL;
}

/* Handed over to a timewait socket: its events come by tuple from now on. */
static void follow_by_tuple(struct report *r, struct report_conn *c)
{
	struct report_conn *old = conn_of_tuple(r, &c->t);

	if (old == c)
		return;
	if (old)
		leftover(r, old);
	map_put(r->by_tuple, conn_tuple_key(&c->t), c);
	c->in_tuple_map = true;
}

static void keep_other(struct report *r, const struct tw_event *e)
{
	if (r->nother >= REPORT_MAX_OTHER) {
		r->dropped.other++;
		return;
	}
	if (!r->other) {
		r->other = calloc(REPORT_MAX_OTHER, sizeof(*r->other));
		if (!r->other) {
			r->dropped.other++;
			return;
		}
	}
	r->other[r->nother++] = *e;
}

/*
 * A reset sent with no socket is addressed to a socket that receives it
 * right after (the BPF side holds it until then, or it crosses loopback).
 */
static void hold_rst(struct report *r, const struct tw_event *e)
{
	if (r->nheld == ARRAY_SIZE(r->held)) {
		keep_other(r, &r->held[0]);
		memmove(r->held, r->held + 1, sizeof(r->held) - sizeof(r->held[0]));
		r->nheld--;
	}
	r->held[r->nheld++] = *e;
}

static void place_held_rst(struct report *r, struct report_conn *c,
			   const struct tw_event *recv)
{
	struct conn_tuple t, h;
	struct report_ev v;

	conn_tuple_of_event(&t, recv);
	for (unsigned int i = 0; i < r->nheld; i++) {
		conn_tuple_of_event(&h, &r->held[i]);
		if (!conn_tuple_is_peer(&h, &t))
			continue;
		ev_of(&v, &r->held[i]);
		conn_add(r, c, &v);
		memmove(r->held + i, r->held + i + 1,
			(r->nheld - i - 1) * sizeof(r->held[0]));
		r->nheld--;
		return;
	}
}

/*
 * How much of a 4-tuple is known: the local port is chosen after CLOSE ->
 * SYN_SENT, and a connect() that failed leaves the socket without its
 * remote end (and the address it was bound to).
 */
static int tuple_known(const struct conn_tuple *t)
{
	static const __u8 zero[16];

	return !!t->sport + !!t->dport + !!memcmp(t->saddr, zero, sizeof(zero)) +
	       !!memcmp(t->daddr, zero, sizeof(zero));
}

static void adopt(struct report_conn *c, const struct tw_event *e)
{
	struct conn_tuple t;

	conn_tuple_of_event(&t, e);
	if (!t.netns)
		t.netns = c->t.netns;	/* the classic error report has none */
	if (!c->in_tuple_map && tuple_known(&t) >= tuple_known(&c->t))
		c->t = t;
	if (e->pid && !c->pid && e->type != TW_EV_CALL) {
		c->pid = e->pid;
		memcpy(c->comm, e->comm, sizeof(c->comm));
	}
	if (e->ts_ns < c->first_ts)
		c->first_ts = e->ts_ns;
	if (e->ts_ns > c->end_ts)
		c->end_ts = e->ts_ns;
}

void report_event(struct report *r, const struct tw_event *e)
{
	struct report_conn *c;
	struct conn_tuple t;
	struct report_ev v;

	note_ts(r, e->ts_ns);
	settle_destroyed(r);
	r->last = NULL;
	if (e->type == TW_EV_RST_SENT && (e->flags & TW_F_NO_SK)) {
		hold_rst(r, e);
		return;
	}
	conn_tuple_of_event(&t, e);
	if ((e->flags & TW_F_TIMEWAIT_SK) || !e->skaddr)
		c = conn_of_tuple(r, &t);
	else
		c = conn_of_sk(r, e);
	if (!c) {
		keep_other(r, e);
		return;
	}
	if (e->type == TW_EV_RST_RECV)
		place_held_rst(r, c, e);
	ev_of(&v, e);
	conn_add(r, c, &v);
	adopt(c, e);
	c->stated |= e->type == TW_EV_STATE;
	r->last = c;
	if (e->type == TW_EV_STATE && e->newstate == S_CLOSE &&
	    !(e->flags & TW_F_SYNTHETIC) &&
	    (e->oldstate == S_FIN_WAIT2 || e->oldstate == S_CLOSING))
		follow_by_tuple(r, c);
	/*
	 * A socket that never changed state may go without a destroy event
	 * (its owner was never known to the BPF side): its close() ends it.
	 */
	if ((e->type == TW_EV_DESTROY ||
	     (e->type == TW_EV_CALL && e->reason == TW_CALL_CLOSE && !e->value &&
	      !c->stated)) && c->in_sk_map) {
		map_del(r->by_sk, c->sk);
		c->in_sk_map = false;
		r->just_destroyed = c;
	}
}

void report_explain(struct report *r, const struct explanation *x)
{
	struct report_conn *c = r->last;
	struct report_expl *k;

	note_ts(r, x->ts_ns);
	if (x->code < CODE_MAX)
		r->by_code[x->code]++;
	/*
	 * Said right after its event: a socket the analyzer will not finish
	 * (it never changed state) learns its id.
	 */
	if (c && !c->stated && x->conn_id && conn_tuple_eq(&c->t, &x->t) &&
	    (!c->id || c->id == x->conn_id)) {
		c->id = x->conn_id;
		if (x->code < CODE_MAX)
			c->codes |= 1ULL << x->code;
	}
	if (r->nexpl == r->expl_cap && r->nexpl < REPORT_MAX_EXPLAIN) {
		size_t cap = r->expl_cap ? r->expl_cap * 2 : 64;
		struct report_expl *p = realloc(r->expl, cap * sizeof(*p));

		if (p) {
			r->expl = p;
			r->expl_cap = cap;
		}
	}
	if (r->nexpl == r->expl_cap || r->nexpl >= REPORT_MAX_EXPLAIN) {
		r->dropped.explanations++;
		return;
	}
	k = &r->expl[r->nexpl];
	memset(k, 0, sizeof(*k));
	k->text = strndup(x->text, sizeof(x->text));
	if (!k->text) {
		r->dropped.explanations++;
		return;
	}
	k->ts = x->ts_ns;
	k->conn_id = x->conn_id;
	k->scn = r->cur;
	k->code = x->code;
	k->pid = x->pid;
	memcpy(k->comm, x->comm, sizeof(k->comm));
	k->t = x->t;
	r->nexpl++;
}

static struct report_conn *conn_of_done(struct report *r, const struct conn *c)
{
	struct report_conn *k = r->just_destroyed;

	if (k && k->sk == c->sk)
		return k;
	k = map_get(r->by_sk, c->sk);
	return k ? k : conn_of_tuple(r, &c->t);
}

void report_conn_done(struct report *r, const struct conn *c, __u64 end_ns)
{
	struct report_conn *k = conn_of_done(r, c);

	note_ts(r, end_ns);
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (!k) {
			r->conns_seen++;
			r->dropped.conns++;
			return;
		}
		k->scn = r->cur;
		k->first_ts = c->first_ts;
	}
	unlink_conn(r, k);
	k->id = c->id;
	k->sk = c->sk;
	if (tuple_known(&c->t) >= tuple_known(&k->t))
		k->t = c->t;
	if (c->pid) {
		k->pid = c->pid;
		memcpy(k->comm, c->comm, sizeof(k->comm));
	}
	k->role = c->role;
	k->codes |= c->codes;
	k->retrans = c->retrans;
	k->retrans_unseen = c->retrans_unseen;
	k->nhist = c->nhist < CONN_HIST ? c->nhist : CONN_HIST;
	for (int i = 0; i < k->nhist; i++) {
		struct conn_step h = conn_step(c, i);

		k->hist[i].ts = h.ts;
		k->hist[i].old = h.old;
		k->hist[i].new = h.new;
	}
	if (k->nhist && (!k->first_ts || k->hist[0].ts < k->first_ts))
		k->first_ts = k->hist[0].ts;
	if (end_ns > k->end_ts)
		k->end_ts = end_ns;
	keep_conn(r, k);
}

/* ---- the scenario's actions ------------------------------------------------ */

static char *field_dup(const struct jobject *o, const char *key)
{
	const struct jfield *f = jsonl_get(o, key);
	char num[32];

	if (!f || f->type == J_NULL)
		return NULL;
	if (f->type == J_STR)
		return strdup(f->str);
	if (f->type == J_BOOL)
		return strdup(f->b ? "true" : "false");
	if (jsonl_int(o, key, LLONG_MIN) != LLONG_MIN)
		snprintf(num, sizeof(num), "%lld", jsonl_int(o, key, 0));
	else
		snprintf(num, sizeof(num), "%g", f->num);
	return strdup(num);
}

/* An address of the action log into addr: its family, or 0. */
static __u16 parse_addr(const struct jobject *o, const char *key, __u8 *addr)
{
	const char *a = jsonl_str(o, key);

	if (a && inet_pton(AF_INET, a, addr) == 1)
		return AF_INET;
	if (a && inet_pton(AF_INET6, a, addr) == 1)
		return AF_INET6;
	return 0;
}

static __u16 parse_port(const struct jobject *o, const char *key)
{
	long long p = jsonl_int(o, key, 0);

	return p > 0 && p <= 65535 ? (__u16)p : 0;
}

void report_action(struct report *r, const struct jobject *o, __u64 ts_ns)
{
	struct report_action *a;
	__u16 lfam, rfam;

	if (r->nact == r->act_cap && r->nact < REPORT_MAX_ACTIONS) {
		size_t cap = r->act_cap ? r->act_cap * 2 : 64;
		struct report_action *p = realloc(r->act, cap * sizeof(*p));

		if (p) {
			r->act = p;
			r->act_cap = cap;
		}
	}
	if (r->nact == r->act_cap || r->nact >= REPORT_MAX_ACTIONS) {
		r->dropped.actions++;
		return;
	}
	note_ts(r, ts_ns);
	a = &r->act[r->nact++];
	memset(a, 0, sizeof(*a));
	a->ts = ts_ns;
	a->scn = r->cur;
	a->pid = jsonl_int(o, "pid", 0);
	a->ret = jsonl_int(o, "ret", 0);
	a->cookie = jsonl_int(o, "cookie", -1);
	a->role = field_dup(o, "role");
	a->call = field_dup(o, "call");
	a->arg = field_dup(o, "arg");
	a->err = field_dup(o, "errno");
	/* A failed connect() logs no local address: its port and peer suffice. */
	lfam = parse_addr(o, "laddr", a->t.saddr);
	rfam = parse_addr(o, "raddr", a->t.daddr);
	a->t.sport = parse_port(o, "lport");
	a->t.dport = parse_port(o, "rport");
	a->has_local = lfam != 0;
	a->has_remote = rfam != 0 && a->t.dport && (!lfam || lfam == rfam);
	a->t.family = lfam ? lfam : rfam;
}

static int cmp_conn_port(const void *x, const void *y)
{
	const struct report_conn *a = *(struct report_conn *const *)x;
	const struct report_conn *b = *(struct report_conn *const *)y;

	return a->t.sport < b->t.sport ? -1 : a->t.sport > b->t.sport;
}

static __u64 distance(const struct report_conn *c, __u64 ts)
{
	if (ts < c->first_ts)
		return c->first_ts - ts;
	return ts > c->end_ts ? ts - c->end_ts : 0;
}

/* The action names this connection's endpoints (as far as it names any). */
static bool names_conn(const struct report_action *a, const struct report_conn *c)
{
	if (c->t.sport != a->t.sport || (a->t.family && c->t.family != a->t.family))
		return false;
	if (a->has_local && memcmp(c->t.saddr, a->t.saddr, sizeof(c->t.saddr)))
		return false;
	return !a->has_remote || (c->t.dport == a->t.dport &&
				  !memcmp(c->t.daddr, a->t.daddr, sizeof(c->t.daddr)));
}

/*
 * The connection the action names, nearest in time; an action that names
 * only a local end (bind, listen) goes to the listener, not to the
 * connections accepted on the same port. NULL if none.
 */
static struct report_conn *conn_of_action(struct report_conn **by_port, size_t n,
					  const struct report_action *a)
{
	struct report_conn key = { .t = { .sport = a->t.sport } }, *kp = &key;
	struct report_conn **hit, *best = NULL;
	__u64 best_cost = ~0ULL;
	size_t i;

	if (!a->t.sport)
		return NULL;
	hit = bsearch(&kp, by_port, n, sizeof(*by_port), cmp_conn_port);
	if (!hit)
		return NULL;
	i = (size_t)(hit - by_port);
	while (i > 0 && by_port[i - 1]->t.sport == a->t.sport)
		i--;
	for (; i < n && by_port[i]->t.sport == a->t.sport; i++) {
		struct report_conn *c = by_port[i];
		__u64 cost = distance(c, a->ts);

		if (!names_conn(a, c))
			continue;
		if (!a->has_remote && c->role != ROLE_LISTENER)
			cost = cost / 2 + (1ULL << 62);
		if (cost < best_cost) {
			best = c;
			best_cost = cost;
		}
	}
	return best;
}

struct cookie_conn {
	long long cookie;
	struct report_conn *c;
};

static int cmp_cookie(const void *x, const void *y)
{
	const struct cookie_conn *a = x, *b = y;

	return a->cookie < b->cookie ? -1 : a->cookie > b->cookie;
}

static void attach_action(struct report *r, struct report_conn *c, size_t i)
{
	struct report_ev v = { .ts = r->act[i].ts, .reason = (__u32)i,
			       .type = REPORT_EV_ACTION };

	conn_add(r, c, &v);
	r->act[i].attached = true;
}

/*
 * The current scenario's actions into the timelines of the connections
 * they name (by endpoints, then by socket cookie: socket() names none).
 */
static void attach_actions(struct report *r)
{
	size_t nc = r->nconns - r->seg_conns, na = r->nact - r->seg_acts, nk = 0;
	struct report_conn **sorted = malloc((nc ? nc : 1) * sizeof(*sorted));
	struct cookie_conn *known = malloc((na ? na : 1) * sizeof(*known));

	if (!sorted || !known)
		goto out;
	memcpy(sorted, r->conns + r->seg_conns, nc * sizeof(*sorted));
	qsort(sorted, nc, sizeof(*sorted), cmp_conn_port);
	for (size_t i = r->seg_acts; i < r->nact; i++) {
		struct report_action *a = &r->act[i];
		struct report_conn *c = conn_of_action(sorted, nc, a);

		if (!c)
			continue;
		attach_action(r, c, i);
		if (a->cookie >= 0)
			known[nk++] = (struct cookie_conn){ a->cookie, c };
	}
	qsort(known, nk, sizeof(*known), cmp_cookie);
	for (size_t i = r->seg_acts; i < r->nact; i++) {
		struct cookie_conn key = { r->act[i].cookie, NULL }, *hit;

		if (r->act[i].attached || key.cookie < 0)
			continue;
		hit = bsearch(&key, known, nk, sizeof(*known), cmp_cookie);
		if (hit)
			attach_action(r, hit->c, i);
	}
out:
	free(sorted);
	free(known);
}

/* ---- sessions and scenarios ------------------------------------------------- */

static void tee_event(void *ctx, const struct tw_event *e)
{
	struct report *r = ctx;

	if (r->inner.event)
		r->inner.event(r->inner.ctx, e);
	report_event(r, e);
}

static void tee_explain(void *ctx, const struct explanation *x)
{
	struct report *r = ctx;

	if (r->inner.explain)
		r->inner.explain(r->inner.ctx, x);
	report_explain(r, x);
}

static void tee_conn_done(void *ctx, const struct conn *c, __u64 end_ns)
{
	struct report *r = ctx;

	if (r->inner.conn_done)
		r->inner.conn_done(r->inner.ctx, c, end_ns);
	report_conn_done(r, c, end_ns);
}

void report_attach(struct report *r, struct analyzer_ops *ops)
{
	r->inner = *ops;
	*ops = (struct analyzer_ops){ .event = tee_event, .explain = tee_explain,
		.conn_done = tee_conn_done, .ctx = r };
}

void report_begin_session(struct report *r, __u64 now_ns)
{
	note_ts(r, now_ns);
}

static void settle_map(struct report *r, struct report_map *m)
{
	/* A removal shifts later entries back into slot i: look at it again. */
	for (size_t i = 0; i <= m->mask; i++) {
		while (m->slots[i].c) {
			struct report_conn *c = m->slots[i].c;

			map_del(m, m->slots[i].key);
			leftover(r, c);
		}
	}
}

void report_end_session(struct report *r, __u64 now_ns)
{
	note_ts(r, now_ns);
	settle_destroyed(r);
	for (unsigned int i = 0; i < r->nheld; i++)
		keep_other(r, &r->held[i]);
	r->nheld = 0;
	settle_map(r, r->by_sk);
	settle_map(r, r->by_tuple);
	r->last = NULL;
}

void report_scenario_begin(struct report *r, const char *name)
{
	if (r->nscn < REPORT_MAX_SCENARIOS) {
		r->cur = ++r->nscn;
		r->scn[r->cur].name = strdup(name);
	}
	r->seg_conns = r->nconns;
	r->seg_acts = r->nact;
}

void report_scenario_end(struct report *r, int status, const struct tw_stats *st)
{
	struct report_scenario *s = &r->scn[r->cur];

	s->ended = true;
	s->status = status;
	if (st) {
		s->events = st->events;
		s->lost = st->lost;
		for (int t = 0; t < TW_EV_MAX; t++)
			r->total.by_type[t] += st->by_type[t];
		r->total.events += st->events;
		r->total.lost += st->lost;
		r->total.filtered += st->filtered;
		r->total.malformed += st->malformed;
		r->total.skipped += st->skipped;
	}
	attach_actions(r);
}

/* ---- formats and files ------------------------------------------------------ */

static const char *const format_names[] = {
	[REPORT_TEXT] = "text",
	[REPORT_MD] = "md",
	[REPORT_HTML] = "html",
	[REPORT_JSON] = "json",
};

static const struct {
	const char *ext;
	enum report_format fmt;
} extensions[] = {
	{ ".txt", REPORT_TEXT },
	{ ".md", REPORT_MD },
	{ ".html", REPORT_HTML },
	{ ".htm", REPORT_HTML },
	{ ".json", REPORT_JSON },
};

int report_format_parse(const char *name, enum report_format *fmt)
{
	for (size_t i = 0; i < ARRAY_SIZE(format_names); i++) {
		if (!strcmp(name, format_names[i])) {
			*fmt = (enum report_format)i;
			return 0;
		}
	}
	return -1;
}

int report_format_of_path(const char *path, enum report_format *fmt)
{
	const char *dot = strrchr(path, '.');

	if (!dot || strchr(dot, '/'))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(extensions); i++) {
		if (!strcasecmp(dot, extensions[i].ext)) {
			*fmt = extensions[i].fmt;
			return 0;
		}
	}
	return -1;
}

static int cannot_write(const char *path, int err)
{
	fprintf(stderr, "tcpwatch: cannot write %s: %s\n", path, strerror(err));
	return -err;
}

/* A new file beside path (same directory: rename is atomic). Returns its fd or -errno. */
static int temp_beside(const char *path, char *tmp, size_t len)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path, *dir = ".";
	int dirlen = 1, n, fd;

	if (!*base)
		return -EISDIR;
	if (slash && slash > path) {
		dir = path;
		dirlen = (int)(slash - path);
	} else if (slash) {
		dir = "/";
	}
	n = snprintf(tmp, len, "%.*s/.%s.XXXXXX", dirlen, dir, base);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int report_check_path(const char *path)
{
	char tmp[PATH_MAX];
	struct stat st;
	int fd;

	if (!stat(path, &st) && S_ISDIR(st.st_mode))
		return cannot_write(path, EISDIR);
	fd = temp_beside(path, tmp, sizeof(tmp));
	if (fd < 0)
		return cannot_write(path, -fd);
	close(fd);
	unlink(tmp);
	return 0;
}

static void render(FILE *f, struct report_view *v, enum report_format fmt)
{
	switch (fmt) {
	case REPORT_TEXT:
		report_text(f, v);
		break;
	case REPORT_MD:
		report_md(f, v);
		break;
	case REPORT_HTML:
		report_html(f, v);
		break;
	case REPORT_JSON:
		report_json(f, v);
		break;
	}
}

int report_write(const struct report *r, const char *path,
		 enum report_format fmt, const struct tw_stats *st)
{
	char tmp[PATH_MAX];
	struct report_view v;
	mode_t mask;
	int fd, err = 0;
	FILE *f;

	if (!st && r->nscn)
		st = &r->total;
	fd = temp_beside(path, tmp, sizeof(tmp));
	if (fd < 0)
		return cannot_write(path, -fd);
	f = fdopen(fd, "w");
	if (!f) {
		err = errno;
		close(fd);
		goto out_unlink;
	}
	if (report_view_build(&v, r, st)) {
		err = ENOMEM;
	} else {
		render(f, &v, fmt);
		report_view_free(&v);
	}
	errno = 0;
	if (!err && (fflush(f) || ferror(f)))
		err = errno ? errno : EIO;
	/* mkstemp's 0600 would keep a report to share from the others. */
	mask = umask(0);
	umask(mask);
	if (!err && fchmod(fd, 0666 & ~mask))
		err = errno;
	if (!err && fsync(fd))
		err = errno;
	if (fclose(f) && !err)
		err = errno;
	if (!err && rename(tmp, path))
		err = errno;
	if (!err)
		return 0;
out_unlink:
	unlink(tmp);
	return cannot_write(path, err);
}

int report_open(struct report **r, const struct tw_options *o)
{
	*r = NULL;
	if (!o->report)
		return 0;
	*r = report_new(o);
	if (!*r) {
		fprintf(stderr, "tcpwatch: out of memory\n");
		return -ENOMEM;
	}
	return 0;
}

int report_close(struct report *r, const struct tw_options *o,
		 const struct tw_stats *st, bool traced)
{
	int err = 0;

	if (!r)
		return 0;
	if (traced) {
		err = report_write(r, o->report, o->report_format, st);
		if (!err)
			fprintf(stderr, "Report written to %s\n", o->report);
	}
	report_free(r);
	return err;
}
