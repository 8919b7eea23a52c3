/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_EXPLAIN_H
#define TW_EXPLAIN_H

#include <stdbool.h>
#include <linux/types.h>

#include "conn.h"
#include "options.h"
#include "snapshot.h"
#include "tcpwatch.h"

/* Stable, machine-readable explanation codes (the JSON "code"). */
enum tw_code {
	CODE_NORMAL_CLOSE,
	CODE_TIME_WAIT,
	CODE_CLOSE_WAIT_LEAK,
	CODE_FIN_WAIT2_PEER_NOT_CLOSING,
	CODE_RST_NO_LISTENER,
	CODE_RST_CLOSE_WITH_UNREAD_DATA,
	CODE_RST_LINGER_ABORT,
	CODE_RST_TIMEWAIT_SOCKET,
	CODE_EPIPE_AFTER_RST,
	CODE_SYN_TIMEOUT,
	CODE_HOST_UNREACHABLE,
	CODE_RETRANS_TIMEOUT,
	CODE_KEEPALIVE_TIMEOUT,
	CODE_ORPHAN_FIN_WAIT1_DESTROYED,
	CODE_PEER_RESET,
	CODE_SIMULTANEOUS_CLOSE,
	CODE_HALF_CLOSE,
	CODE_TIME_WAIT_BIND_CONFLICT,
	CODE_EPHEMERAL_PORT_EXHAUSTION,
	CODE_ACCEPT_QUEUE_OVERFLOW,
	CODE_SYNACK_UNANSWERED,
	CODE_TIME_WAIT_PILEUP,
	CODE_RETRANSMIT_STORM,
	CODE_RST_STORM,
	CODE_MAX,
};

const char *explain_code_name(enum tw_code code);

/* Why a reconstructed transition is known (tw_event.reason with TW_F_SYNTHETIC). */
enum tw_cause {
	CAUSE_SOCK_DIAG = 1,	/* NETLINK_SOCK_DIAG showed the timewait socket */
	CAUSE_PEER_FIN,		/* the traced peer sent its FIN (LAST_ACK) */
	CAUSE_INFERRED,		/* from the close sequence alone */
	CAUSE_EXPIRED,		/* the timewait socket is gone: its timer ran out */
	CAUSE_RST,		/* ended by an RST it sent (TCP_TIMEWAIT_SOCKET) */
	CAUSE_REUSED,		/* a new connection took the same 4-tuple */
	CAUSE_CALL,		/* the application's call failed with ETIMEDOUT */
	CAUSE_SK_REUSED,	/* a new socket took its kernel address: it was freed */
	CAUSE_MAX,
};

const char *explain_cause_name(int cause);
/* A few words for the text output: "from the peer's FIN". */
const char *explain_cause_text(int cause);

#define EXPLAIN_TEXT_MAX	768

struct explanation {
	enum tw_code code;
	__u64 ts_ns;
	__u64 conn_id;		/* 0: not about one connection */
	__u32 count;		/* about this many connections at once (0: one) */
	__u32 pid;		/* with conn_id 0: whose they are (0: anyone's) */
	char comm[TW_COMM_LEN];
	struct conn_tuple t;
	char text[EXPLAIN_TEXT_MAX];	/* holds comm: escape on output */
};

struct analyzer_ops {
	void (*explain)(void *ctx, const struct explanation *x);
	/* Transitions no tracepoint shows (TIME_WAIT), reconstructed. */
	void (*event)(void *ctx, const struct tw_event *e);
	/* A connection ended (destroyed): its whole timeline. */
	void (*conn_done)(void *ctx, const struct conn *c, __u64 end_ns);
	void *ctx;
};

struct analyzer;

struct analyzer *analyzer_new(const struct tw_options *o,
			      const struct analyzer_ops *ops);
void analyzer_free(struct analyzer *a);
void analyzer_event(struct analyzer *a, const struct tw_event *e);
/*
 * A reset sent by a timewait socket that came without an owner (tracing
 * everything, the kernel does not keep one by tuple): the owner of the
 * connection it is what is left of, from the timewait record, into *e.
 * Returns whether there was one. Call before analyzer_event(e).
 */
bool analyzer_timewait_owner(struct analyzer *a, struct tw_event *e);
/*
 * A socket that existed when tracing started (before the first event): its
 * connection is "present at attach", in the state it was found in, and the
 * detectors look at it from the next tick on.
 */
void analyzer_snapshot(struct analyzer *a, const struct snapshot_sock *s);
/* Detectors and TIME_WAIT follow-up; call often, with the current time. */
void analyzer_tick(struct analyzer *a, __u64 now_ns);
/* Whether analyzer_tick() would do anything at now_ns (a recording keeps those). */
bool analyzer_tick_due(const struct analyzer *a, __u64 now_ns);
/* Tracing ends: last checks. */
void analyzer_end(struct analyzer *a, __u64 now_ns);
/* Connections dropped from the full tables (oldest first), in all. */
__u64 analyzer_evicted(const struct analyzer *a);

#endif
