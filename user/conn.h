/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_CONN_H
#define TW_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "tcpwatch.h"

#define CONN_HIST	24	/* state changes kept per connection */
/*
 * Of which kept in the connection itself: most make at most 7 (an orderly
 * close is 5, and a timewait record's 6). The rest go in an array
 * allocated when the 8th comes.
 */
#define CONN_HIST_INLINE	7

enum conn_role {
	ROLE_UNKNOWN,		/* present at attach: how it began is not known */
	ROLE_ACTIVE,		/* connect() */
	ROLE_PASSIVE,		/* accepted child of a listener */
	ROLE_LISTENER,
};

/*
 * A socket's local tuple: its ends, then the network namespace they are in
 * (every container has a 127.0.0.1: the same ends may be a connection in
 * each of many namespaces). netns 0: not known (the classic error report
 * has no socket to read it from), which matches any.
 */
struct conn_tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 pad;
	__u32 netns;
};

/* One state change. */
struct conn_step {
	__u64 ts;
	__u8 old, new;
};

/*
 * One connection: a kernel socket from creation to destruction. Tables hold
 * tens of thousands: no padding, and the history read through conn_step().
 */
struct conn {
	__u64 id;		/* unique for the run: survives address reuse */
	__u64 sk;
	__u64 since;		/* entered state at */
	__u64 first_ts;
	__u64 reset_ts;		/* ECONNRESET seen, explanation pending */
	__u64 codes;		/* explanation codes given (bit per code) */
	__u64 tw_expires_at;	/* timewait: when sock_diag says it goes (0: not known) */
	struct conn_tuple t;
	__u32 pid;
	int linger;		/* -2 unknown, -1 off, else seconds */
	int retrans;
	__u16 retrans_failed;	/* attempts that did not leave this host (saturates) */
	__u8 retrans_err;	/* the errno of the last of them */
	__u8 retrans_failed_counted; /* of them, those in retrans (saturates) */
	__s16 rst_sent_reason;	/* -1: none */
	__u8 retrans_unseen;	/* in retrans, but no event came for them (saturates) */
	bool retrans_known;	/* retrans is the kernel's whole count (not sock_diag's) */
	int err;
	char comm[TW_COMM_LEN];
	__u8 role;		/* enum conn_role */
	__u8 state;
	__u8 rst_recv_state;
	__u8 tw_cause;		/* timewait: enum tw_cause, how TIME_WAIT became known */
	__u8 nhist;		/* state changes kept */
	/* What happened to it, for the rules. */
	bool closed_first:1;	/* we sent FIN before the peer's arrived */
	bool peer_closed_first:1; /* the peer's FIN came first: CLOSE_WAIT */
	bool app_closed:1;	/* close() seen */
	bool shut_wr:1;
	bool keepalive:1;
	bool rst_recv:1;
	bool tw_ended:1;	/* timewait: gone, swept at the next tick */
	/* Present at attach (role ROLE_UNKNOWN): since is when tracing began. */
	bool at_attach:1;
	/* The history: timestamps apart from states, so none is padded. */
	__u8 hist_old[CONN_HIST_INLINE];
	__u8 hist_new[CONN_HIST_INLINE];
	__u64 hist_ts[CONN_HIST_INLINE];
	struct conn_step *hist_more;	/* the rest, up to CONN_HIST (NULL: none) */
};

struct conn_table;

/*
 * A table of at most capacity connections. A full table drops its
 * evict_batch idlest at once: finding them costs a pass over the table,
 * which would otherwise be paid for every new connection.
 */
struct conn_table *conn_table_new(size_t capacity, size_t evict_batch);
void conn_table_free(struct conn_table *t);

/* The live connection on socket sk, or NULL. */
struct conn *conn_find(struct conn_table *t, __u64 sk);
/* A new connection on sk (replacing a live one there): NULL when full. */
struct conn *conn_new(struct conn_table *t, __u64 sk);
/*
 * Index t's connections by local tuple too: conn_by_tuple() without a pass
 * over the table. Their tuples must then change through conn_set_tuple().
 */
int conn_table_index_tuples(struct conn_table *t);
/* Set c's tuple (c is in t). */
void conn_set_tuple(struct conn_table *t, struct conn *c,
		    const struct conn_tuple *tu);
/*
 * A live connection with this local tuple, or NULL (also if t has no
 * index): in tu's namespace; with other_netns, failing that, in another
 * one (the first found).
 */
struct conn *conn_by_tuple(struct conn_table *t, const struct conn_tuple *tu,
			   bool other_netns);
void conn_remove(struct conn_table *t, struct conn *c);
/* File c under sk instead (it was known by another key); replaces one there. */
void conn_rekey(struct conn_table *t, struct conn *c, __u64 sk);
/* Remove every connection for which gone() is true (safe: not mid-iteration). */
void conn_remove_if(struct conn_table *t, bool (*gone)(const struct conn *c));
/* Call fn for every live connection. */
void conn_for_each(struct conn_table *t, void (*fn)(struct conn *c, void *ctx),
		   void *ctx);
__u64 conn_evicted(const struct conn_table *t);

/* The i-th state change of c, 0 <= i < c->nhist. */
struct conn_step conn_step(const struct conn *c, int i);
/* Record a state change: the first CONN_HIST are kept (fewer without memory). */
void conn_step_add(struct conn *c, __u64 ts, int old, int new);
/* Forget the last state change. */
void conn_step_drop(struct conn *c);
/*
 * Make dst, which holds no history array, a copy of src with one of its own.
 * -ENOMEM leaves dst as it was.
 */
int conn_copy(struct conn *dst, const struct conn *src);
/* conn_copy() of src into dst, a connection of t; dst keeps its key (sk). */
int conn_copy_in(struct conn_table *t, struct conn *dst, const struct conn *src);
/* Free the history array of a copy made outside a table (conn_copy). */
void conn_hist_free(struct conn *c);

void conn_tuple_of_event(struct conn_tuple *tu, const struct tw_event *e);
/* The peer's tuple: the ends swapped, in the same namespace. */
void conn_tuple_reverse(struct conn_tuple *dst, const struct conn_tuple *src);
/* The same ends in the same namespace (or one of them not known). */
bool conn_tuple_eq(const struct conn_tuple *a, const struct conn_tuple *b);
/* An end on loopback: the peer is in the same namespace, whatever happens. */
bool conn_tuple_loopback(const struct conn_tuple *tu);
/*
 * Whether peer, a tuple seen at the other end, is that of tu's peer: tu's
 * ends swapped, in tu's namespace or, unless they are loopback, another
 * (across a veth).
 */
bool conn_tuple_is_peer(const struct conn_tuple *tu, const struct conn_tuple *peer);
/* A hash of the whole tuple, namespace included; never 0. */
__u64 conn_tuple_key(const struct conn_tuple *tu);

#endif
