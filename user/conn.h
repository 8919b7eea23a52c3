/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_CONN_H
#define TW_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "tcpwatch.h"

#define CONN_HIST	24	/* state changes kept per connection */

enum conn_role {
	ROLE_UNKNOWN,		/* present at attach: how it began is not known */
	ROLE_ACTIVE,		/* connect() */
	ROLE_PASSIVE,		/* accepted child of a listener */
	ROLE_LISTENER,
};

struct conn_tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 pad;
};

/* One connection: a kernel socket from creation to destruction. */
struct conn {
	__u64 id;		/* unique for the run: survives address reuse */
	__u64 sk;
	struct conn_tuple t;
	__u32 netns;
	__u32 pid;
	char comm[TW_COMM_LEN];
	enum conn_role role;
	int state;
	__u64 since;		/* entered state at */
	__u64 first_ts;
	int nhist;
	struct { __u64 ts; __u8 old, new; } hist[CONN_HIST];
	/* What happened to it, for the rules. */
	bool closed_first;	/* we sent FIN before the peer's arrived */
	bool peer_closed_first;	/* the peer's FIN came first: CLOSE_WAIT */
	bool app_closed;	/* close() seen */
	bool shut_wr;
	bool keepalive;
	int linger;		/* -2 unknown, -1 off, else seconds */
	int retrans;
	int synack_retrans;
	int rst_sent_reason;	/* -1: none */
	bool rst_recv;
	int rst_recv_state;
	int err;
	__u64 reset_ts;		/* ECONNRESET seen, explanation pending */
	__u64 codes;		/* explanation codes given (bit per code) */
	/* Timewait records only (the remnant that outlives the socket). */
	int tw_cause;		/* enum tw_cause: how TIME_WAIT became known */
	__u64 tw_expires_at;	/* when sock_diag says it goes (0: not known) */
	bool tw_ended;
	/* Present at attach (role ROLE_UNKNOWN): since is when tracing began. */
	bool at_attach;
};

struct conn_table;

struct conn_table *conn_table_new(size_t capacity);
void conn_table_free(struct conn_table *t);

/* The live connection on socket sk, or NULL. */
struct conn *conn_find(struct conn_table *t, __u64 sk);
/* A new connection on sk (replacing a live one there): NULL when full. */
struct conn *conn_new(struct conn_table *t, __u64 sk);
/* The live connection with this local tuple, or NULL. */
struct conn *conn_by_tuple(struct conn_table *t, const struct conn_tuple *tu);
void conn_remove(struct conn_table *t, struct conn *c);
/* File c under sk instead (it was known by another key); replaces one there. */
void conn_rekey(struct conn_table *t, struct conn *c, __u64 sk);
/* Remove every connection for which gone() is true (safe: not mid-iteration). */
void conn_remove_if(struct conn_table *t, bool (*gone)(const struct conn *c));
/* Call fn for every live connection. */
void conn_for_each(struct conn_table *t, void (*fn)(struct conn *c, void *ctx),
		   void *ctx);
__u64 conn_evicted(const struct conn_table *t);

void conn_tuple_of_event(struct conn_tuple *tu, const struct tw_event *e);
void conn_tuple_reverse(struct conn_tuple *dst, const struct conn_tuple *src);
bool conn_tuple_eq(const struct conn_tuple *a, const struct conn_tuple *b);

#endif
