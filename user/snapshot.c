// SPDX-License-Identifier: GPL-2.0
/*
 * What the traced processes hold when tracing starts. Tracing is attached
 * first, so nothing falls between the snapshot and the stream: a socket
 * that changes meanwhile shows up in both, which the analyzer handles.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "snapshot.h"
#include "sockdiag.h"

#define MAX_HELD	(1 << 20)	/* sockets of the targets, in all */

enum {
	S_FIN_WAIT2 = 5,
	S_TIME_WAIT = 6,
	S_NEW_SYN_RECV = 12,
};

struct held {
	__u64 inode;
	int target;		/* index in pids */
};

struct snap {
	const pid_t *pids;
	char (*comms)[TW_COMM_LEN];
	__u32 netns;		/* the namespace being dumped */
	__u64 ts;
	struct held *held;	/* sorted by inode */
	size_t nheld, cap;
	__u8 ports[65536 / 8];	/* local ports of the held sockets */
	void (*fn)(const struct snapshot_sock *s, void *ctx);
	void *ctx;
	int n;
	int current;		/* the target whose descriptors are being read */
};

static int cmp_held(const void *a, const void *b)
{
	const struct held *x = a, *y = b;

	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

static int add_held(__u64 ino, void *ctx)
{
	struct snap *s = ctx;
	struct held *h;

	if (s->nheld == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;

		if (cap > MAX_HELD)
			return 0;	/* enough: the rest is left out */
		h = realloc(s->held, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		s->held = h;
		s->cap = cap;
	}
	s->held[s->nheld].inode = ino;
	s->held[s->nheld].target = s->current;
	s->nheld++;
	return 0;
}

static void fill(struct snapshot_sock *out, const struct snap *s,
		 const struct diag_sock *d)
{
	memset(out, 0, sizeof(*out));
	out->ts_ns = s->ts;
	out->inode = d->inode;
	memcpy(out->t.saddr, d->saddr, sizeof(out->t.saddr));
	memcpy(out->t.daddr, d->daddr, sizeof(out->t.daddr));
	out->t.sport = d->sport;
	out->t.dport = d->dport;
	out->t.family = d->family;
	out->t.netns = s->netns;
	out->state = d->state;
	out->rqueue = d->rqueue;
	out->wqueue = d->wqueue;
	out->expires_ms = d->expires_ms;
	out->timer = d->timer;
	out->retrans = d->retrans;
}

static int held_socket(const struct diag_sock *d, void *ctx)
{
	struct snap *s = ctx;
	struct held key = { .inode = d->inode, .target = 0 };
	struct snapshot_sock out;
	const struct held *h;

	if (!d->inode || d->state == S_NEW_SYN_RECV || !s->nheld)
		return 0;
	h = bsearch(&key, s->held, s->nheld, sizeof(key), cmp_held);
	if (!h)
		return 0;	/* another process's */
	fill(&out, s, d);
	out.pid = (__u32)s->pids[h->target];
	memcpy(out.comm, s->comms[h->target], sizeof(out.comm));
	s->ports[d->sport / 8] |= (__u8)(1 << (d->sport % 8));
	s->fn(&out, s->ctx);
	s->n++;
	return 0;
}

static int timewait_socket(const struct diag_sock *d, void *ctx)
{
	struct snap *s = ctx;
	struct snapshot_sock out;

	if (d->inode || (d->state != S_TIME_WAIT && d->state != S_FIN_WAIT2) ||
	    !(s->ports[d->sport / 8] & (1 << (d->sport % 8))))
		return 0;
	fill(&out, s, d);
	s->fn(&out, s->ctx);
	s->n++;
	return 0;
}

/* The targets in namespace netns: their descriptors, one dump, then timewait. */
static int snapshot_netns(struct snap *s, const __u32 *netns, int npids)
{
	int read = 0, before, err;

	s->nheld = 0;
	memset(s->ports, 0, sizeof(s->ports));
	for (int i = 0; i < npids; i++) {
		if (netns[i] != s->netns)
			continue;
		s->current = i;
		if (proc_for_each_socket(s->pids[i], add_held, s) >= 0)
			read++;
	}
	if (!read)
		return -ESRCH;
	/* A dump walks the whole connection hash: only when there is a socket to find. */
	if (!s->nheld)
		return 0;
	qsort(s->held, s->nheld, sizeof(*s->held), cmp_held);
	before = s->n;
	err = sockdiag_dump(s->netns, ~0U, held_socket, s);
	if (err < 0 || s->n == before)
		return err < 0 ? err : 0;
	err = sockdiag_dump(s->netns, 1U << S_TIME_WAIT | 1U << S_FIN_WAIT2,
			    timewait_socket, s);
	return err < 0 ? err : 0;
}

int snapshot_take(const pid_t *pids, int npids, __u64 ts_ns,
		  void (*fn)(const struct snapshot_sock *s, void *ctx), void *ctx)
{
	char comms[npids > 0 ? npids : 1][TW_COMM_LEN];
	__u32 netns[npids > 0 ? npids : 1];
	struct snap *s = calloc(1, sizeof(*s));
	int err = -ESRCH, ok = 0;

	if (!s)
		return -ENOMEM;
	s->pids = pids;
	s->comms = comms;
	s->ts = ts_ns;
	s->fn = fn;
	s->ctx = ctx;
	for (int i = 0; i < npids; i++) {
		netns[i] = proc_netns(pids[i]);
		proc_comm(pids[i], comms[i], sizeof(comms[i]));
	}
	/* One dump per namespace, in the order the targets were named. */
	for (int i = 0; i < npids; i++) {
		bool done = !netns[i];

		for (int j = 0; j < i && !done; j++)
			done = netns[j] == netns[i];
		if (done)
			continue;
		s->netns = netns[i];
		err = snapshot_netns(s, netns, npids);
		ok += !err;
	}
	err = ok ? s->n : err;
	free(s->held);
	free(s);
	return err;
}
