// SPDX-License-Identifier: GPL-2.0
/*
 * Explanations: from the kernel's events and the application's calls, say in
 * plain words what happened to each connection and why, and what usually
 * fixes it. The rules follow ../shared/tcp-behaviours.md. Nothing here looks
 * at scenario logs: a traced program is explained by what the kernel and its
 * own system calls show.
 *
 * TIME_WAIT is reconstructed: the full socket reports FIN_WAIT2 -> CLOSE when
 * a timewait socket takes over, so that moment opens a timewait record,
 * which sock_diag confirms (TIME_WAIT, or the orphaned FIN_WAIT2 sub-state)
 * and which ends by expiry, an RST it sends, or reuse of the 4-tuple.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "explain.h"
#include "names.h"
#include "output.h"
#include "proc.h"
#include "sockdiag.h"

enum {
	S_ESTABLISHED = 1, S_SYN_SENT, S_SYN_RECV, S_FIN_WAIT1, S_FIN_WAIT2,
	S_TIME_WAIT, S_CLOSE, S_CLOSE_WAIT, S_LAST_ACK, S_LISTEN, S_CLOSING,
};

#define NS		1000000000ULL
#define TICK_NS		(NS / 5)
/* A closing socket this long in a state the peer ends is looked up... */
#define RECONCILE_NS	NS
/* ...at most this many at a tick (the rest at their next doubling). */
#define RECONCILE_MAX	64
#define STORM_WINDOW_NS	NS
#define TIME_WAIT_NS	(60 * NS)	/* the kernel's TCP_TIMEWAIT_LEN */
/*
 * Live connections: as many as the kernel side keeps owners for. Timewait
 * records pile up with a churn (60 s each): 8,192 of 240 bytes keep a
 * busy host's tcpwatch under 16 MB; past them, the oldest go, counted.
 */
#define CONN_CAPACITY	65536
#define TW_CAPACITY	8192
/*
 * What goes at once from a full table: a 64th of the live connections
 * (rarely full, and each one evicted loses a timeline in progress), an
 * eighth of the timewait records (full all the time under a churn, where
 * a 64th meant a pass over the table every 128 closes; the oldest records
 * lose only their last minute of waiting).
 */
#define CONN_EVICT	(CONN_CAPACITY / 64)
#define TW_EVICT	(TW_CAPACITY / 8)
#define RECENT_RSTS	256
/*
 * A process leaking CLOSE_WAIT sockets may hold hundreds: the first few are
 * explained one by one, the rest together, at most every LEAK_REPEAT_NS.
 */
#define LEAK_DETAIL	5
#define LEAK_OWNERS	64
#define LEAK_PEERS	8
#define LEAK_TOP_PEERS	3
#define LEAK_REPEAT_NS	(10 * NS)

static const char *const code_names[CODE_MAX] = {
	[CODE_NORMAL_CLOSE] = "normal_close",
	[CODE_TIME_WAIT] = "time_wait",
	[CODE_CLOSE_WAIT_LEAK] = "close_wait_leak",
	[CODE_FIN_WAIT2_PEER_NOT_CLOSING] = "fin_wait2_peer_not_closing",
	[CODE_RST_NO_LISTENER] = "rst_no_listener",
	[CODE_RST_CLOSE_WITH_UNREAD_DATA] = "rst_close_with_unread_data",
	[CODE_RST_LINGER_ABORT] = "rst_linger_abort",
	[CODE_RST_TIMEWAIT_SOCKET] = "rst_timewait_socket",
	[CODE_EPIPE_AFTER_RST] = "epipe_after_rst",
	[CODE_SYN_TIMEOUT] = "syn_timeout",
	[CODE_HOST_UNREACHABLE] = "host_unreachable",
	[CODE_RETRANS_TIMEOUT] = "retrans_timeout",
	[CODE_KEEPALIVE_TIMEOUT] = "keepalive_timeout",
	[CODE_ORPHAN_FIN_WAIT1_DESTROYED] = "orphan_fin_wait1_destroyed",
	[CODE_PEER_RESET] = "peer_reset",
	[CODE_SIMULTANEOUS_CLOSE] = "simultaneous_close",
	[CODE_HALF_CLOSE] = "half_close",
	[CODE_TIME_WAIT_BIND_CONFLICT] = "time_wait_bind_conflict",
	[CODE_EPHEMERAL_PORT_EXHAUSTION] = "ephemeral_port_exhaustion",
	[CODE_ACCEPT_QUEUE_OVERFLOW] = "accept_queue_overflow",
	[CODE_SYNACK_UNANSWERED] = "synack_unanswered",
	[CODE_TIME_WAIT_PILEUP] = "time_wait_pileup",
	[CODE_RETRANSMIT_STORM] = "retransmit_storm",
	[CODE_RST_STORM] = "rst_storm",
};

/* How a reconstructed transition is known: its JSON name, and a few words for text. */
static const struct {
	const char *name;
	const char *text;
} causes[CAUSE_MAX] = {
	[CAUSE_SOCK_DIAG] = { "sock_diag", "sock_diag showed it" },
	[CAUSE_PEER_FIN] = { "peer_fin", "from the peer's FIN" },
	[CAUSE_CALL] = { "call", "the call timed out" },
	[CAUSE_SK_REUSED] = { "sk_reused", "a new socket took its address" },
	[CAUSE_INFERRED] = { "inferred", "both FINs were acknowledged" },
	[CAUSE_EXPIRED] = { "expired", "its timer ran out" },
	[CAUSE_RST] = { "rst", "its timewait socket sent a reset" },
	[CAUSE_REUSED] = { "reused", "a new connection took its 4-tuple" },
};

const char *explain_code_name(enum tw_code code)
{
	return code < CODE_MAX && code_names[code] ? code_names[code] : "unknown";
}

const char *explain_cause_name(int cause)
{
	return cause > 0 && cause < CAUSE_MAX ? causes[cause].name : "unknown";
}

const char *explain_cause_text(int cause)
{
	return cause > 0 && cause < CAUSE_MAX ? causes[cause].text : "how is not known";
}

struct recent_rst {
	struct conn_tuple t;	/* the sender's view */
	__u32 reason;
	bool has_reason;
};

/* Remote hosts of the leaked connections of one owner. */
struct leak_peer {
	__u8 addr[16];
	__u16 family;
	__u16 port;		/* the remote port, while it is the same for all */
	bool ports_vary;
	unsigned int n;
};

/* The CLOSE_WAIT leaks of one owner. */
struct leak_owner {
	__u32 pid;
	char comm[TW_COMM_LEN];
	unsigned int detailed;	/* explained one by one */
	unsigned int total;	/* found in all */
	__u64 last_report;	/* of the last finding about the rest (0: none) */
	/* Found since that finding. */
	unsigned int pending;
	unsigned int unknown_age;	/* present at attach: since when is unknown */
	__u64 oldest_since;	/* of the others (0: none) */
	struct leak_peer peers[LEAK_PEERS];
	unsigned int npeers;
	unsigned int other_peers;	/* connections to hosts not in peers */
};

struct analyzer {
	struct analyzer_ops ops;
	const struct tw_options *opts;
	struct conn_table *conns;
	struct conn_table *tws;	/* timewait records, keyed by tuple hash */
	__u64 now;
	__u64 next_tick;
	__u64 last_tick;	/* the tick before this one (0: none yet) */
	bool ending;		/* the last tick: every closing socket is looked up */
	bool remnant_seen;	/* a hand-over known from what the remnant sent */
	__u64 stuck_ns;
	/* Closing sockets to look up at this tick (see reconcile()). */
	struct conn *lookups[RECONCILE_MAX];
	unsigned int nlookups;
	struct recent_rst rsts[RECENT_RSTS];
	unsigned int nrsts;
	/* Storm detectors: counts in the current window. */
	__u64 window_start;
	unsigned int window_retrans, window_rsts;
	bool retrans_storm, rst_storm;
	/* Present at attach, not yet tied to a kernel socket by an event. */
	unsigned int attach_left;
	struct leak_owner leaks[LEAK_OWNERS];
	unsigned int nleaks;
};

struct analyzer *analyzer_new(const struct tw_options *o,
			      const struct analyzer_ops *ops)
{
	struct analyzer *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->ops = *ops;
	a->opts = o;
	a->stuck_ns = (__u64)(o->stuck * NS);
	a->conns = conn_table_new(CONN_CAPACITY, CONN_EVICT);
	a->tws = conn_table_new(TW_CAPACITY, TW_EVICT);
	if (!a->conns || !a->tws || conn_table_index_tuples(a->conns) ||
	    conn_table_index_tuples(a->tws)) {
		analyzer_free(a);
		return NULL;
	}
	return a;
}

void analyzer_free(struct analyzer *a)
{
	if (!a)
		return;
	conn_table_free(a->conns);
	conn_table_free(a->tws);
	sockdiag_forget_netns();
	free(a);
}

/* ---- wording ------------------------------------------------------------ */

static void who(char *buf, size_t len, const struct conn *c)
{
	if (c->pid)
		snprintf(buf, len, "%s (pid %u)", c->comm, c->pid);
	else if (c->at_attach)
		snprintf(buf, len, "the process that held it before tracing started");
	else
		snprintf(buf, len, "an untraced process");
}

static void conn_str(char *buf, size_t len, const struct conn *c)
{
	char l[64], r[64];

	endpoint_str(l, sizeof(l), c->t.family, c->t.saddr, c->t.sport);
	endpoint_str(r, sizeof(r), c->t.family, c->t.daddr, c->t.dport);
	snprintf(buf, len, "%s -> %s", l, r);
}

static void secs(char *buf, size_t len, __u64 ns)
{
	snprintf(buf, len, "%.1f s", (double)ns / NS);
}

/* Give code about c (once per connection); c may be NULL for host-wide findings. */
__attribute__((format(printf, 4, 5)))
static void explain(struct analyzer *a, struct conn *c, enum tw_code code,
		    const char *fmt, ...)
{
	struct explanation x;
	va_list ap;

	if (c) {
		if (c->codes & (1ULL << code))
			return;
		c->codes |= 1ULL << code;
	}
	memset(&x, 0, sizeof(x));
	x.code = code;
	x.ts_ns = a->now;
	if (c) {
		x.conn_id = c->id;
		x.pid = c->pid;
		memcpy(x.comm, c->comm, sizeof(x.comm));
		x.t = c->t;
	}
	va_start(ap, fmt);
	vsnprintf(x.text, sizeof(x.text), fmt, ap);
	va_end(ap);
	a->ops.explain(a->ops.ctx, &x);
}

/* One finding about count connections of one owner at once. */
__attribute__((format(printf, 5, 6)))
static void explain_many(struct analyzer *a, const struct leak_owner *o,
			 enum tw_code code, unsigned int count, const char *fmt, ...)
{
	struct explanation x;
	va_list ap;

	memset(&x, 0, sizeof(x));
	x.code = code;
	x.ts_ns = a->now;
	x.count = count;
	x.pid = o->pid;
	memcpy(x.comm, o->comm, sizeof(x.comm));
	va_start(ap, fmt);
	vsnprintf(x.text, sizeof(x.text), fmt, ap);
	va_end(ap);
	a->ops.explain(a->ops.ctx, &x);
}

/* ---- connections --------------------------------------------------------- */

/*
 * A socket present at attach is known by its tuple until an event gives its
 * kernel address. Kernel addresses have the top bit set: no clash.
 */
static __u64 attach_key(const struct conn_tuple *t)
{
	return conn_tuple_key(t) >> 1 | 1;
}

static bool creates_socket(const struct tw_event *e)
{
	return e->type == TW_EV_STATE &&
	       ((e->oldstate == S_CLOSE &&
		 (e->newstate == S_SYN_SENT || e->newstate == S_LISTEN)) ||
		(e->oldstate == S_LISTEN && e->newstate == S_SYN_RECV));
}

static void conn_adopt(struct analyzer *a, struct conn *c,
		       const struct tw_event *e)
{
	struct conn_tuple t;

	/*
	 * The local port is chosen after CLOSE -> SYN_SENT: fill it in later.
	 * A failed or aborted socket reports its last events with cleared
	 * addresses: keep the tuple it had.
	 */
	if (!c->t.sport || (e->sport && (e->dport || !c->t.dport))) {
		conn_tuple_of_event(&t, e);
		if (!t.netns)
			t.netns = c->t.netns;	/* the classic error report has none */
		conn_set_tuple(a->conns, c, &t);
	}
	if (e->pid && !c->pid) {
		c->pid = e->pid;
		memcpy(c->comm, e->comm, sizeof(c->comm));
	}
}

/*
 * The connection present at attach that this event's socket is, if any.
 * An event that creates the socket means the snapshot caught a socket made
 * after attach, whose events were still on their way: the stream has its
 * whole story, so the snapshot's copy goes.
 */
static struct conn *attached(struct analyzer *a, const struct tw_event *e)
{
	struct conn_tuple t;
	struct conn *c;

	if (!a->attach_left)
		return NULL;
	conn_tuple_of_event(&t, e);
	c = conn_find(a->conns, attach_key(&t));
	if (!c || !c->at_attach || !conn_tuple_eq(&c->t, &t))
		return NULL;
	a->attach_left--;
	if (creates_socket(e)) {
		conn_remove(a->conns, c);
		return NULL;
	}
	conn_rekey(a->conns, c, e->skaddr);
	return c;
}

static void end_unreported(struct analyzer *a, struct conn *c);

static struct conn *track(struct analyzer *a, const struct tw_event *e)
{
	struct conn *c = conn_find(a->conns, e->skaddr);

	if (!c)
		c = attached(a, e);
	/*
	 * Two live sockets cannot share an address: a new socket where one
	 * is still open here means that one was freed, unreported. (A socket
	 * that connects again after a failed connect() is CLOSE by then.)
	 */
	if (c && creates_socket(e) && c->nhist && c->state != S_CLOSE) {
		end_unreported(a, c);
		c = NULL;
	}
	/*
	 * A transition that creates a socket starts a new connection, unless
	 * the record only holds the calls that prepared it (setsockopt before
	 * connect()): those belong to it.
	 */
	if (!c || (creates_socket(e) && c->nhist)) {
		c = conn_new(a->conns, e->skaddr);
		if (!c)
			return NULL;
		c->first_ts = c->since = e->ts_ns;
		c->state = e->oldstate;
	}
	if (creates_socket(e) && !c->nhist)
		c->role = e->newstate == S_SYN_SENT ? ROLE_ACTIVE :
			  e->newstate == S_LISTEN ? ROLE_LISTENER : ROLE_PASSIVE;
	conn_adopt(a, c, e);
	/* While its owner lives: the namespace may be asked about later. */
	if (e->pid && e->netns)
		sockdiag_remember_netns(e->netns, (pid_t)e->pid);
	return c;
}

/* The last state change of c (c->nhist > 0). */
static struct conn_step last_step(const struct conn *c)
{
	return conn_step(c, c->nhist - 1);
}

/* ---- TIME_WAIT ------------------------------------------------------------ */

/*
 * The timewait remnant of tuple t, or NULL; with other_netns, failing one
 * in t's namespace, one in another (see peer_netns()).
 */
static struct conn *tw_find(struct analyzer *a, const struct conn_tuple *t,
			    bool other_netns)
{
	struct conn *tw = conn_by_tuple(a->tws, t, other_netns);

	return tw && !tw->tw_ended ? tw : NULL;
}

/*
 * Whether the peer of a connection whose tuple is t may be in another
 * namespace: across a veth, yes; over loopback, never (every container has
 * a 127.0.0.1 of its own, so the reversed tuple in another namespace is
 * somebody else's connection).
 */
static bool peer_netns(const struct conn_tuple *t)
{
	return !conn_tuple_loopback(t);
}

/* A state change of c that no hook reported, made by tcpwatch. */
static void synthetic_state(struct tw_event *e, const struct analyzer *a,
			    const struct conn *c, int old, int new, int cause)
{
	memset(e, 0, sizeof(*e));
	e->ts_ns = a->now;
	e->type = TW_EV_STATE;
	e->flags = TW_F_SYNTHETIC;
	e->reason = (__u32)cause;
	e->oldstate = (__u8)old;
	e->newstate = (__u8)new;
	e->pid = c->pid;
	memcpy(e->comm, c->comm, sizeof(e->comm));
	memcpy(e->saddr, c->t.saddr, sizeof(e->saddr));
	memcpy(e->daddr, c->t.daddr, sizeof(e->daddr));
	e->sport = c->t.sport;
	e->dport = c->t.dport;
	e->family = c->t.family;
	e->netns = c->t.netns;
}

/* A reconstructed transition of the timewait socket, reported like any other. */
static void tw_transition(struct analyzer *a, struct conn *tw, int old, int new,
			  int cause)
{
	struct tw_event e;

	synthetic_state(&e, a, tw, old, new, cause);
	e.flags |= TW_F_TIMEWAIT_SK;
	e.owner_how = TW_OWNER_TUPLE;
	conn_step_add(tw, a->now, old, new);
	tw->state = new;
	tw->since = a->now;
	if (a->ops.event)
		a->ops.event(a->ops.ctx, &e);
}

static void conn_finished(struct analyzer *a, const struct conn *c)
{
	if (a->ops.conn_done && c->nhist)
		a->ops.conn_done(a->ops.ctx, c, a->now);
}

/* Codes after which "orderly shutdown" would not be the right word. */
static bool troubled(const struct conn *c)
{
	return c->codes & (1ULL << CODE_SIMULTANEOUS_CLOSE |
			   1ULL << CODE_CLOSE_WAIT_LEAK |
			   1ULL << CODE_FIN_WAIT2_PEER_NOT_CLOSING);
}

/* Calls are traced (--pid, not --no-calls): a close() that did not happen is known. */
static bool calls_traced(const struct analyzer *a)
{
	return a->opts->npids > 0 && !a->opts->no_calls;
}

static void explain_time_wait(struct analyzer *a, struct conn *tw, __u32 left_ms)
{
	char w[64], s[160], left[64] = "";

	who(w, sizeof(w), tw);
	conn_str(s, sizeof(s), tw);
	if (left_ms)
		snprintf(left, sizeof(left), " (%.0f s left)", left_ms / 1000.0);
	explain(a, tw, CODE_TIME_WAIT,
		"%s closed %s first, so its side keeps the connection in TIME_WAIT "
		"for 60 s%s: the kernel holds the 4-tuple so that late segments cannot "
		"be taken for a new connection. The state tracepoint only shows "
		"FIN_WAIT2 -> CLOSE; TIME_WAIT was %s. Harmless by itself; if they pile "
		"up, let the client close first or reuse connections.", w, s, left,
		tw->tw_cause == CAUSE_SOCK_DIAG ? "confirmed with sock_diag" :
		tw->tw_cause == CAUSE_PEER_FIN ? "seen from the peer's FIN" :
		"inferred from the close sequence");
	if (tw->closed_first && tw->rst_sent_reason < 0 && !troubled(tw))
		explain(a, tw, CODE_NORMAL_CLOSE,
			"%s closed %s first (FIN); the peer read EOF and closed its "
			"side too: an orderly shutdown.", w, s);
}

static void tw_enter_time_wait(struct analyzer *a, struct conn *tw, int cause,
			       __u32 left_ms)
{
	tw->tw_cause = cause;
	/* Not told by sock_diag: TIME_WAIT lasts TCP_TIMEWAIT_LEN from now. */
	if (!left_ms)
		tw->tw_expires_at = a->now + TIME_WAIT_NS;
	tw_transition(a, tw, tw->state, S_TIME_WAIT, cause);
	explain_time_wait(a, tw, left_ms);
}

/* The timewait socket is gone: the connection's timeline is complete. */
static void tw_end(struct analyzer *a, struct conn *tw, int cause)
{
	tw_transition(a, tw, tw->state, S_CLOSE, cause);
	tw->tw_ended = true;	/* swept by the next tick */
	conn_finished(a, tw);
}

static bool tw_is_ended(const struct conn *tw)
{
	return tw->tw_ended;
}

static int tw_lookup(const struct conn *tw, struct diag_sock *d)
{
	return sockdiag_lookup(tw->t.netns, tw->t.family, tw->t.saddr, tw->t.sport,
			       tw->t.daddr, tw->t.dport, d);
}

/* Ask the kernel what became of the timewait socket; act on the answer. */
static void tw_check(struct analyzer *a, struct conn *tw)
{
	struct diag_sock d;
	int err = tw_lookup(tw, &d);

	/*
	 * The kernel looks the tuple up as it would an incoming segment: with
	 * no connection left, the listener on the port answers.
	 */
	if (err == -ENOENT || (!err && d.state == S_LISTEN)) {
		tw_end(a, tw, CAUSE_EXPIRED);
		return;
	}
	if (err)
		return;
	tw->tw_expires_at = d.expires_ms ? a->now + d.expires_ms * 1000000ULL : 0;
	if (d.state == S_TIME_WAIT && tw->state != S_TIME_WAIT)
		tw_enter_time_wait(a, tw, CAUSE_SOCK_DIAG, d.expires_ms);
	else if (d.state == S_FIN_WAIT2)
		tw->tw_cause = CAUSE_SOCK_DIAG;	/* the orphaned FIN_WAIT2 sub-state */
}

/* Past the time left that sock_diag last reported (or TIME_WAIT's length). */
static bool tw_outlived(const struct analyzer *a, const struct conn *tw)
{
	return tw->tw_expires_at && a->now > tw->tw_expires_at;
}

/* The full socket handed over to a timewait socket (FIN_WAIT2/CLOSING -> CLOSE). */
static void tw_begin(struct analyzer *a, struct conn *c)
{
	struct conn *tw = conn_new(a->tws, conn_tuple_key(&c->t));
	struct conn *peer;
	struct conn_tuple rev;

	if (!tw)
		return;
	/*
	 * The timewait socket continues the connection: same id, same
	 * timeline, less the full socket's hand-over to CLOSE. Until sock_diag
	 * says TIME_WAIT, the remnant is where the socket was.
	 */
	if (conn_copy_in(a->tws, tw, c)) {
		conn_remove(a->tws, tw);
		return;
	}
	conn_step_drop(tw);
	tw->state = last_step(c).old;
	tw->first_ts = tw->since = a->now;
	/*
	 * A traced peer that sent its FIN (LAST_ACK) tells: that FIN took this
	 * side to TIME_WAIT. sock_diag, a netlink round trip per connection,
	 * is asked only otherwise, and once the TIME_WAIT should be over.
	 */
	conn_tuple_reverse(&rev, &c->t);
	peer = conn_by_tuple(a->conns, &rev, peer_netns(&rev));
	if (peer && peer->state == S_LAST_ACK) {
		tw_enter_time_wait(a, tw, CAUSE_PEER_FIN, 0);
		return;
	}
	/* Not while it answers with a reset: it is on its way out. */
	if (!a->remnant_seen)
		tw_check(a, tw);
	if (!tw->tw_cause && !tw->tw_ended && tw->state == S_CLOSING)
		tw_enter_time_wait(a, tw, CAUSE_INFERRED, 0); /* both FINs were acknowledged */
}

/* ---- rules ----------------------------------------------------------------- */

static void on_close_complete(struct analyzer *a, struct conn *c, int old)
{
	char w[64], s[160];

	if (old == S_FIN_WAIT2 || old == S_CLOSING) {
		tw_begin(a, c);
	} else if (old == S_LAST_ACK && c->peer_closed_first && c->rst_sent_reason < 0 &&
		   !c->rst_recv && !troubled(c) &&
		   (c->app_closed || c->shut_wr || !calls_traced(a))) {
		who(w, sizeof(w), c);
		conn_str(s, sizeof(s), c);
		explain(a, c, CODE_NORMAL_CLOSE,
			"The peer closed %s first; %s read EOF and closed its side: an "
			"orderly shutdown, and the peer keeps TIME_WAIT.", s, w);
	}
}

/*
 * A retransmission attempt. e->value is the socket's total_retrans: the
 * segments of every attempt so far, those the transmit refused included
 * (a netfilter drop: EPERM, which since 6.17 fires the tracepoint too), not
 * those given up before it (EBUSY, EAGAIN, a failed allocation); e->arg is
 * this attempt's segments (0 in older recordings). A count grown by more
 * than that since the last one had attempts whose event never came: a hook
 * run the kernel skipped, or before 6.17 an attempt that failed. Their
 * outcome is unknown, so they are counted apart. Only from a known count:
 * a socket whose beginning was not seen (present at attach, or met mid-life
 * tracing everything) had attempts before, and sock_diag's count is not
 * total_retrans.
 */
static void retrans_unseen_add(struct conn *c, long long n)
{
	if (n > 0 && (c->retrans_known || c->role != ROLE_UNKNOWN))
		c->retrans_unseen = n + c->retrans_unseen >= UINT8_MAX ?
				    UINT8_MAX : (__u8)(n + c->retrans_unseen);
}

static void on_retrans(struct conn *c, const struct tw_event *e)
{
	bool counted = (long long)e->value > c->retrans;

	if (counted && e->arg)
		retrans_unseen_add(c, (long long)e->value - c->retrans - e->arg);
	if (tw_retrans_failed(e)) {
		if (c->retrans_failed < UINT16_MAX)
			c->retrans_failed++;
		if (counted && c->retrans_failed_counted < UINT8_MAX)
			c->retrans_failed_counted++;
		c->retrans_err = (__u8)e->reason;
	}
	c->retrans = e->value;
	c->retrans_known = true;
}

/*
 * The socket's whole count, which a state change carries at two points
 * (0 in older recordings): at CLOSE, where the last attempts' events may
 * be missing; and as an accepted socket is established, which starts with
 * its request's SYN-ACK retransmissions counted (told as synack_retransmit,
 * on the listener): its baseline, not attempts unseen.
 */
static void retrans_total(struct conn *c, const struct tw_event *e, bool baseline)
{
	if ((long long)e->value <= c->retrans)
		return;
	if (!baseline)
		retrans_unseen_add(c, (long long)e->value - c->retrans);
	c->retrans = e->value;
	c->retrans_known = true;
}

static void on_state(struct analyzer *a, struct conn *c, const struct tw_event *e)
{
	int old = e->oldstate, new = e->newstate;
	struct conn_tuple rev;
	struct conn *tw;
	char w[64], s[160];

	conn_step_add(c, e->ts_ns, old, new);
	c->state = new;
	c->since = e->ts_ns;
	if (old == S_ESTABLISHED && new == S_FIN_WAIT1)
		c->closed_first = true;
	if (old == S_ESTABLISHED && new == S_CLOSE_WAIT)
		c->peer_closed_first = true;
	if (old == S_FIN_WAIT1 && new == S_CLOSING) {
		who(w, sizeof(w), c);
		conn_str(s, sizeof(s), c);
		explain(a, c, CODE_SIMULTANEOUS_CLOSE,
			"Both ends of %s sent a FIN before receiving the other's (a "
			"simultaneous close): %s went FIN_WAIT1 -> CLOSING, and both "
			"sides end in TIME_WAIT.", s, w);
	}
	if (old == S_CLOSE_WAIT && new == S_LAST_ACK) {
		/* Our FIN reaches the peer's FIN_WAIT2 remnant: TIME_WAIT now. */
		conn_tuple_reverse(&rev, &c->t);
		tw = tw_find(a, &rev, peer_netns(&rev));
		if (tw && tw->state != S_TIME_WAIT && tw_outlived(a, tw))
			tw_end(a, tw, CAUSE_EXPIRED);
		else if (tw && tw->state != S_TIME_WAIT)
			tw_enter_time_wait(a, tw, CAUSE_PEER_FIN, 0);
	}
	if ((old == S_SYN_SENT && new == S_ESTABLISHED) ||
	    (old == S_LISTEN && new == S_SYN_RECV)) {
		tw = tw_find(a, &c->t, false);
		if (tw)
			tw_end(a, tw, CAUSE_REUSED);
	}
	if (old == S_SYN_RECV && new == S_ESTABLISHED)
		retrans_total(c, e, true);
	if (new == S_CLOSE) {
		retrans_total(c, e, false);
		on_close_complete(a, c, old);
	}
}

static void remember_rst(struct analyzer *a, const struct tw_event *e)
{
	struct recent_rst *r = &a->rsts[a->nrsts++ % RECENT_RSTS];

	conn_tuple_of_event(&r->t, e);
	r->reason = e->reason;
	r->has_reason = e->flags & TW_F_HAS_REASON;
}

/* Why the peer reset us, if we saw it send the RST. */
static const char *peer_rst_reason(struct analyzer *a, const struct conn *c)
{
	const struct recent_rst *found = NULL;
	struct conn_tuple rev;

	conn_tuple_reverse(&rev, &c->t);
	for (unsigned int i = 0; i < RECENT_RSTS && i < a->nrsts; i++) {
		const struct recent_rst *r = &a->rsts[(a->nrsts - 1 - i) % RECENT_RSTS];

		if (conn_tuple_eq(&r->t, &rev)) {
			found = r;	/* from our own namespace: that one */
			break;
		}
		if (!found && conn_tuple_is_peer(&c->t, &r->t))
			found = r;	/* across a veth, unless one of ours comes */
	}
	return found && found->has_reason ? rst_reason_name(found->reason) : NULL;
}

/* A full socket still closing here, that a timewait socket may have replaced. */
static struct conn *closing_conn(struct analyzer *a, const struct conn_tuple *t)
{
	struct conn *c = conn_by_tuple(a->conns, t, false);

	return c && (c->state == S_FIN_WAIT1 || c->state == S_FIN_WAIT2 ||
		     c->state == S_CLOSING) ? c : NULL;
}

static void missed_state(struct analyzer *a, struct conn *c, int new, int cause);
static void on_destroy(struct analyzer *a, struct conn *c);

/*
 * A timewait socket answered for a tuple whose full socket is still
 * closing here: the hand-over happened with no event (see reconcile()).
 * Its steps are made now, known from the reset the remnant sent.
 */
static struct conn *tw_unreported(struct analyzer *a, const struct conn_tuple *t)
{
	struct conn *c = closing_conn(a, t);

	if (!c)
		return NULL;
	if (c->state == S_FIN_WAIT1)
		missed_state(a, c, S_FIN_WAIT2, CAUSE_RST);
	a->remnant_seen = true;
	missed_state(a, c, S_CLOSE, CAUSE_RST);
	a->remnant_seen = false;
	on_destroy(a, c);
	return tw_find(a, t, false);
}

static void on_rst_sent_by_timewait(struct analyzer *a, const struct tw_event *e)
{
	struct conn_tuple t;
	struct conn *tw, tmp;
	char w[64], s[160];

	conn_tuple_of_event(&t, e);
	tw = tw_find(a, &t, false);
	if (!tw)
		tw = tw_unreported(a, &t);
	if (!tw) {
		memset(&tmp, 0, sizeof(tmp));
		tmp.t = t;
		tmp.pid = e->pid;
		memcpy(tmp.comm, e->comm, sizeof(tmp.comm));
		tw = &tmp;
	}
	who(w, sizeof(w), tw);
	conn_str(s, sizeof(s), tw);
	explain(a, tw, CODE_RST_TIMEWAIT_SOCKET,
		"Data arrived for %s after %s had closed it: the connection's "
		"leftover timewait socket (%s) answered with an RST "
		"(TCP_TIMEWAIT_SOCKET). The peer kept writing to a connection whose "
		"other end had closed; its next write fails with EPIPE.", s, w,
		tw->state == S_FIN_WAIT2 ? "in the orphaned FIN_WAIT2 sub-state" :
		"TIME_WAIT");
	if (tw != &tmp)
		tw_end(a, tw, CAUSE_RST);
}

/*
 * Before 6.10 a reset carries no reason. An RST that ends a socket the
 * application has just closed is one of two abortive closes, which the
 * calls tell apart: a zero linger, or data left unread.
 */
static const char *reason_from_close(const struct analyzer *a, const struct conn *c)
{
	const int last = c->nhist ? last_step(c).new : -1;

	if (!calls_traced(a) || !c->app_closed || last != S_CLOSE)
		return NULL;
	return c->linger == 0 ? "TCP_STATE" : "TCP_ABORT_ON_CLOSE";
}

static void on_rst_sent(struct analyzer *a, struct conn *c, const struct tw_event *e)
{
	const char *reason = rst_reason_name(e->reason);
	char w[64], s[160];

	remember_rst(a, e);
	a->window_rsts++;
	if (!c)
		return;
	c->rst_sent_reason = e->reason > INT16_MAX ? INT16_MAX : (__s16)e->reason;
	who(w, sizeof(w), c);
	conn_str(s, sizeof(s), c);
	if (!(e->flags & TW_F_HAS_REASON))
		reason = reason_from_close(a, c);
	if (!reason)
		return;
	if (!strcmp(reason, "TCP_ABORT_ON_CLOSE"))
		explain(a, c, CODE_RST_CLOSE_WITH_UNREAD_DATA,
			"%s closed %s while data it had received was still unread: "
			"instead of a FIN the kernel sent an RST (TCP_ABORT_ON_CLOSE) and "
			"the socket went straight to CLOSE. The peer's next read or write "
			"fails with ECONNRESET, and data in flight is lost. Fix: read until "
			"EOF before close(), or shutdown(SHUT_WR) first and drain.", w, s);
	/*
	 * TCP_STATE also resets the unaccepted children of a closing listener:
	 * with calls traced, only a zero linger that was set counts.
	 */
	else if ((!strcmp(reason, "TCP_STATE") || !strcmp(reason, "TCP_ABORT_ON_LINGER")) &&
		 (c->linger == 0 || !calls_traced(a)))
		explain(a, c, CODE_RST_LINGER_ABORT,
			"%s closed %s abortively%s: the kernel sent an RST (%s) instead of "
			"a FIN and skipped TIME_WAIT; the peer sees ECONNRESET. Right when "
			"aborting on purpose; otherwise drop the zero linger.", w, s,
			c->linger == 0 ? " (SO_LINGER {1, 0} was set)" :
			" (SO_LINGER {1, 0}, or a disconnect)", reason);
}

/*
 * Since 6.17 the kernel traces the retransmissions that failed locally too:
 * whether those that went out can be counted (a saturated count cannot).
 */
static bool drops_counted(const struct conn *c)
{
	return c->retrans_failed && c->retrans_failed != UINT16_MAX &&
	       c->retrans_failed_counted != UINT8_MAX &&
	       c->retrans_unseen != UINT8_MAX &&
	       c->retrans_failed_counted + c->retrans_unseen <= c->retrans;
}

/*
 * The retransmissions that went out: the kernel's count, less its failed
 * and those no event told about.
 */
static int retrans_sent(const struct conn *c)
{
	return drops_counted(c) ?
	       c->retrans - c->retrans_failed_counted - c->retrans_unseen : c->retrans;
}

/*
 * The retransmission attempts that never left this host, and those the
 * kernel counted with no event, as sentences to add ("" when none).
 */
static void local_drops(char *buf, size_t len, const struct conn *c)
{
	char name[32], why[96];
	int n = 0;

	buf[0] = '\0';
	if (c->retrans_failed) {
		snprintf(why, sizeof(why), "%s%s",
			 errno_name(c->retrans_err, name, sizeof(name)),
			 c->retrans_err == EPERM ? ": a firewall rule on this host "
						   "dropped them on output" : "");
		if (drops_counted(c))
			n = snprintf(buf, len, " %d more attempt%s never left this host (%s).",
				     c->retrans_failed, c->retrans_failed == 1 ? "" : "s", why);
		else
			n = snprintf(buf, len, " %s%d of the attempts never left this host (%s).",
				     c->retrans_failed == UINT16_MAX ? "at least " : "",
				     c->retrans_failed, why);
	}
	if (!c->retrans_unseen || n < 0 || (size_t)n >= len)
		return;
	if (drops_counted(c))
		snprintf(buf + n, len - n, " The kernel counted %d more attempt%s whose "
			 "event never reached tcpwatch (a hook run it skipped): whether "
			 "%s left this host is not known.", c->retrans_unseen,
			 c->retrans_unseen == 1 ? "" : "s",
			 c->retrans_unseen == 1 ? "it" : "they");
	else
		snprintf(buf + n, len - n, " %s%d of them came with no event "
			 "(a hook run the kernel skipped, or, before 6.17, an attempt that "
			 "never left this host).", c->retrans_unseen == UINT8_MAX ?
			 "At least " : "", c->retrans_unseen);
}

static void on_error(struct analyzer *a, struct conn *c, int err)
{
	/*
	 * The state the error ended: the kernel reports most errors after the
	 * socket went to CLOSE (tcp_done_with_error), some while it is still
	 * in the state they end (an ICMP error in SYN_SENT can be reported
	 * twice, before and after: observed on 6.18).
	 */
	int before = c->state == S_CLOSE && c->nhist ? last_step(c).old : c->state;
	char w[64], s[160], drops[448];

	c->err = err;
	who(w, sizeof(w), c);
	conn_str(s, sizeof(s), c);
	switch (err) {
	case ECONNREFUSED:
		explain(a, c, CODE_RST_NO_LISTENER,
			"connect() by %s (%s) was refused: nothing listens on port %u "
			"there, so the kernel answered the SYN with an RST (NO_SOCKET) and "
			"connect() failed with ECONNREFUSED. Fix: start the server, or "
			"check the address and port.", w, s, c->t.dport);
		break;
	case EPIPE:
		explain(a, c, CODE_EPIPE_AFTER_RST,
			"%s wrote to %s after the peer had closed: the peer's kernel "
			"answered with an RST, and the next write failed with EPIPE "
			"(SIGPIPE unless ignored). Fix: treat read() returning 0 as the end "
			"and stop writing once the peer has closed.", w, s);
		break;
	case ECONNRESET:
		/* On loopback the peer's reset event comes after ours: wait. */
		if (!c->reset_ts)
			c->reset_ts = a->now;
		break;
	case ETIMEDOUT:
		local_drops(drops, sizeof(drops), c);
		if (before == S_SYN_SENT)
			explain(a, c, CODE_SYN_TIMEOUT,
				"connect() by %s (%s) timed out after %d SYN retransmission%s: "
				"nothing answered (a firewall dropping SYNs, or the host is "
				"down). How long it tries is net.ipv4.tcp_syn_retries.%s", w, s,
				retrans_sent(c), retrans_sent(c) == 1 ? "" : "s", drops);
		else if (c->retrans == 0 || c->rst_sent_reason >= 0)
			explain(a, c, CODE_KEEPALIVE_TIMEOUT,
				"The idle connection %s of %s was dropped after keepalive "
				"probes went unanswered (ETIMEDOUT): the peer vanished without "
				"a FIN or an RST. Without SO_KEEPALIVE the socket would have "
				"stayed ESTABLISHED forever.", s, w);
		else
			explain(a, c, CODE_RETRANS_TIMEOUT,
				"%s gave up on %s after %d retransmission%s went unanswered "
				"(ETIMEDOUT): the peer or the path vanished while data was "
				"outstanding. The time is set by net.ipv4.tcp_retries2 or "
				"TCP_USER_TIMEOUT.%s", w, s, retrans_sent(c),
				retrans_sent(c) == 1 ? "" : "s", drops);
		break;
	case EHOSTUNREACH:
	case ENETUNREACH:
		if (before == S_SYN_SENT)
			explain(a, c, CODE_HOST_UNREACHABLE,
				"connect() by %s (%s) failed with %s: the path answered with "
				"ICMP unreachable (a REJECT rule, or no route). Fix: check "
				"routing and firewalls.", w, s,
				err == EHOSTUNREACH ? "EHOSTUNREACH" : "ENETUNREACH");
		else
			explain(a, c, CODE_RETRANS_TIMEOUT,
				"%s gave up on %s after %d retransmissions: the path answered "
				"with ICMP unreachable while data was outstanding.", w, s,
				c->retrans);
		break;
	default:
		break;
	}
}

/* ECONNRESET, explained once the peer's side (if traced) has been seen. */
static void explain_reset(struct analyzer *a, struct conn *c)
{
	const char *peer = peer_rst_reason(a, c);
	__u64 now = a->now, at = c->reset_ts;
	char w[64], s[160], why[96] = "";

	c->reset_ts = 0;
	/* A socket that aborts reports ECONNRESET on itself: not the peer's doing. */
	if (c->rst_sent_reason >= 0 && !c->rst_recv)
		return;
	who(w, sizeof(w), c);
	conn_str(s, sizeof(s), c);
	if (peer)
		snprintf(why, sizeof(why), ", sent because %s", peer);
	a->now = at;
	explain(a, c, CODE_PEER_RESET,
		"The peer reset %s (an RST arrived in %s%s): %s's next call on the "
		"socket fails with ECONNRESET. Usual causes: the peer closed with "
		"unread data or SO_LINGER {1, 0}, crashed or rebooted (its kernel no "
		"longer knows the connection), or a middlebox reset it.", s,
		tcp_state_name(c->rst_recv_state), why, w);
	a->now = now;
}

/*
 * A SYN-ACK sent again: the handshake's last ACK has not arrived. Only a
 * full accept queue makes the kernel drop that ACK itself; the kernel
 * reports the queue as the SYN-ACK goes out (recordings made before it
 * did not have it: the queue is asked for then, live).
 */
static void on_synack_retrans(struct analyzer *a, struct conn *c,
			      const struct tw_event *e)
{
	struct diag_sock d;
	char w[64], s[160], local[64], peer[64], q[64] = "";
	bool full = true;

	who(w, sizeof(w), c);
	if (e->oldstate == S_SYN_RECV) {
		conn_str(s, sizeof(s), c);
		explain(a, c, CODE_SYNACK_UNANSWERED,
			"%s retransmits the SYN-ACK of %s, a TCP Fast Open connection "
			"(made at the SYN and queued for accept() at once): the "
			"handshake's last ACK has not arrived. The SYN-ACK or the ACK was "
			"lost on the way, or the client is gone.", w, s);
		return;
	}
	if (e->flags & TW_F_QUEUE) {
		full = e->arg > (__u32)e->arg2;
		snprintf(q, sizeof(q), " (%u connections wait, backlog %d)", e->arg,
			 e->arg2);
	} else if (!sockdiag_lookup(c->t.netns, c->t.family, c->t.saddr, c->t.sport,
				    c->t.daddr, 0, &d) && d.state == S_LISTEN) {
		snprintf(q, sizeof(q), " (%u connections wait, backlog %u)", d.rqueue,
			 d.wqueue);
	}
	/* A listener has no remote end: its local one names it. */
	endpoint_str(local, sizeof(local), c->t.family, c->t.saddr, c->t.sport);
	if (full) {
		explain(a, c, CODE_ACCEPT_QUEUE_OVERFLOW,
			"The listener %s of %s retransmits SYN-ACKs: its accept queue is "
			"full%s, so the kernel drops the handshake's last ACK and clients "
			"stall. The application does not call accept() fast enough, or "
			"the backlog is too small.", local, w, q);
		return;
	}
	endpoint_str(peer, sizeof(peer), e->family, e->daddr, e->dport);
	explain(a, c, CODE_SYNACK_UNANSWERED,
		"The listener %s of %s retransmits a SYN-ACK to %s: the handshake's "
		"last ACK has not arrived, and the accept queue has room%s, so the "
		"kernel did not drop it for a full queue (if the queue was full a "
		"moment ago, nstat's TcpExtListenOverflows says so). The SYN-ACK or "
		"the ACK was lost on the way, or the client is gone: it gave up, or "
		"its SYN was spoofed (a SYN flood).", local, w, peer, q);
}

static void on_destroy(struct analyzer *a, struct conn *c)
{
	char w[64], s[160];
	struct conn *tw;

	if (c->nhist && last_step(c).old == S_FIN_WAIT1 &&
	    last_step(c).new == S_CLOSE && !c->rst_recv && c->retrans) {
		who(w, sizeof(w), c);
		conn_str(s, sizeof(s), c);
		explain(a, c, CODE_ORPHAN_FIN_WAIT1_DESTROYED,
			"%s closed %s, but its FIN was never acknowledged (%d "
			"retransmissions): the kernel destroyed the orphaned socket in "
			"FIN_WAIT1 after net.ipv4.tcp_orphan_retries, without TIME_WAIT; "
			"data still queued was lost. The peer or the path was gone.", w, s,
			c->retrans);
	}
	if (c->reset_ts)
		explain_reset(a, c);
	/*
	 * Handed over to a timewait socket: its record finishes the timeline
	 * (or did, if sock_diag found it gone already).
	 */
	tw = conn_find(a->tws, conn_tuple_key(&c->t));
	if (!tw || tw->id != c->id)
		conn_finished(a, c);
	conn_remove(a->conns, c);
}

/* The application's own calls (syscall tracepoints). */
static void on_call(struct analyzer *a, struct conn *c, const struct tw_event *e)
{
	int err = e->value < 0 ? -e->value : 0;
	char w[64], s[160];
	int n;

	/*
	 * ETIMEDOUT from a call: the kernel had given up on the connection,
	 * which reports CLOSE, then the error. Neither seen: they reached no
	 * BPF program (see reconcile()); the call says what happened.
	 */
	if (err == ETIMEDOUT && !c->err &&
	    (e->reason == TW_CALL_CONNECT || e->reason == TW_CALL_READ ||
	     e->reason == TW_CALL_WRITE)) {
		if (c->state != S_CLOSE)
			missed_state(a, c, S_CLOSE, CAUSE_CALL);
		on_error(a, c, ETIMEDOUT);
	}
	who(w, sizeof(w), c);
	conn_str(s, sizeof(s), c);
	switch (e->reason) {
	case TW_CALL_CLOSE:
		c->app_closed = true;
		break;
	case TW_CALL_SHUTDOWN:
		if (e->arg == SHUT_WR && !err) {
			c->shut_wr = true;
			explain(a, c, CODE_HALF_CLOSE,
				"%s shut down its sending side of %s (shutdown(SHUT_WR)): the "
				"FIN tells the peer there is no more data, but the other "
				"direction stays open (FIN_WAIT2) so it can still read the "
				"reply: a half-close.", w, s);
		}
		break;
	case TW_CALL_SETSOCKOPT:
		if (e->arg == (SOL_SOCKET << 16 | SO_LINGER))
			c->linger = e->arg2;
		if (e->arg == (SOL_SOCKET << 16 | SO_KEEPALIVE))
			c->keepalive = e->arg2 != 0;
		break;
	case TW_CALL_WRITE:
		if (err == EPIPE)
			on_error(a, c, EPIPE);
		break;
	case TW_CALL_BIND:
		if (err != EADDRINUSE)
			break;
		n = sockdiag_count(e->netns, 1U << S_TIME_WAIT, (__u16)e->arg);
		if (n > 0)
			explain(a, c, CODE_TIME_WAIT_BIND_CONFLICT,
				"bind() by %s to port %u failed with EADDRINUSE: %d "
				"connection(s) in TIME_WAIT still hold the port (the previous "
				"server closed them first). Set SO_REUSEADDR on the listening "
				"socket before bind() (Linux wants it on the old listener "
				"too).", w, e->arg, n);
		break;
	case TW_CALL_CONNECT:
		if (err != EADDRNOTAVAIL)
			break;
		n = sockdiag_count(e->netns, 1U << S_TIME_WAIT, 0);
		explain(a, c, CODE_EPHEMERAL_PORT_EXHAUSTION,
			"connect() by %s to %s failed with EADDRNOTAVAIL: no local port "
			"is left for this destination; %d connection(s) in TIME_WAIT hold "
			"them. Reuse connections, let the server close first, or widen "
			"net.ipv4.ip_local_port_range.", w, s, n > 0 ? n : 0);
		break;
	default:
		break;
	}
}

/*
 * The classic error-report tracepoint has no socket pointer: find the
 * connection by its 4-tuple (the local port is known by then).
 */
static struct conn *error_owner(struct analyzer *a, const struct tw_event *e)
{
	struct conn_tuple t;

	conn_tuple_of_event(&t, e);
	return conn_by_tuple(a->conns, &t, false);
}

bool analyzer_timewait_owner(struct analyzer *a, struct tw_event *e)
{
	struct conn_tuple t;
	struct conn *tw;

	if (e->type != TW_EV_RST_SENT || !(e->flags & TW_F_TIMEWAIT_SK) ||
	    e->owner_how != TW_OWNER_NONE)
		return false;
	conn_tuple_of_event(&t, e);
	tw = tw_find(a, &t, false);
	/* Or the full socket, if the hand-over was not reported. */
	if (!tw)
		tw = closing_conn(a, &t);
	if (!tw || !tw->pid)
		return false;
	e->pid = tw->pid;
	e->owner_how = TW_OWNER_TUPLE;
	memcpy(e->comm, tw->comm, sizeof(e->comm));
	return true;
}

void analyzer_event(struct analyzer *a, const struct tw_event *e)
{
	struct conn *c = NULL;

	a->now = e->ts_ns;
	if (e->type == TW_EV_RST_SENT && (e->flags & TW_F_TIMEWAIT_SK)) {
		remember_rst(a, e);
		on_rst_sent_by_timewait(a, e);
		return;
	}
	if (e->skaddr && e->type != TW_EV_SYNACK_RETRANS)
		c = track(a, e);
	else if (e->type == TW_EV_SYNACK_RETRANS)
		c = conn_find(a->conns, e->skaddr);
	else if (e->type == TW_EV_ERROR)
		c = error_owner(a, e);
	switch (e->type) {
	case TW_EV_STATE:
		if (c)
			on_state(a, c, e);
		break;
	case TW_EV_RST_SENT:
		on_rst_sent(a, c, e);
		break;
	case TW_EV_RST_RECV:
		a->window_rsts++;
		if (c) {
			c->rst_recv = true;
			c->rst_recv_state = e->oldstate;
		}
		break;
	case TW_EV_RETRANS:
		a->window_retrans++;
		if (c)
			on_retrans(c, e);
		break;
	case TW_EV_SYNACK_RETRANS:
		if (c)
			on_synack_retrans(a, c, e);
		break;
	case TW_EV_ERROR:
		if (c)
			on_error(a, c, e->value);
		break;
	case TW_EV_DESTROY:
		if (c)
			on_destroy(a, c);
		break;
	case TW_EV_CALL:
		if (c)
			on_call(a, c, e);
		break;
	default:
		break;
	}
}

/* ---- detectors ---------------------------------------------------------- */

/* Its own paragraph, for the first few leaks of an owner. */
static void explain_leak(struct analyzer *a, struct conn *c)
{
	char w[64], s[160], age[32];

	who(w, sizeof(w), c);
	conn_str(s, sizeof(s), c);
	secs(age, sizeof(age), a->now - c->since);
	if (c->at_attach && c->nhist == 1)
		explain(a, c, CODE_CLOSE_WAIT_LEAK,
			"%s has not closed %s although the peer closed its side: the "
			"socket was already in CLOSE_WAIT when tracing started, so how "
			"long it has been there is unknown (at least %s). It stays in "
			"CLOSE_WAIT until the application calls close(). Usual cause: a "
			"code path that does not close the socket when read() returns 0 "
			"(EOF), or a leaked descriptor. Fix: close on EOF and on errors.",
			w, s, age);
	else
		explain(a, c, CODE_CLOSE_WAIT_LEAK,
			"%s has not closed %s although the peer closed its side %s ago: "
			"the socket sits in CLOSE_WAIT until the application calls "
			"close(). Usual cause: a code path that does not close the socket "
			"when read() returns 0 (EOF), or a leaked descriptor. Fix: close "
			"on EOF and on errors.", w, s, age);
}

static struct leak_owner *leak_owner(struct analyzer *a, const struct conn *c)
{
	struct leak_owner *o;

	for (unsigned int i = 0; i < a->nleaks; i++)
		if (a->leaks[i].pid == c->pid)
			return &a->leaks[i];
	if (a->nleaks == LEAK_OWNERS)
		return NULL;	/* so many owners: one paragraph each */
	o = &a->leaks[a->nleaks++];
	o->pid = c->pid;
	memcpy(o->comm, c->comm, sizeof(o->comm));
	return o;
}

static void leak_peer_add(struct leak_owner *o, const struct conn *c)
{
	struct leak_peer *p;

	for (unsigned int i = 0; i < o->npeers; i++) {
		p = &o->peers[i];
		if (p->family == c->t.family &&
		    !memcmp(p->addr, c->t.daddr, sizeof(p->addr))) {
			p->ports_vary |= p->port != c->t.dport;
			p->n++;
			return;
		}
	}
	if (o->npeers == LEAK_PEERS) {
		o->other_peers++;
		return;
	}
	p = &o->peers[o->npeers++];
	memcpy(p->addr, c->t.daddr, sizeof(p->addr));
	p->family = c->t.family;
	p->port = c->t.dport;
	p->ports_vary = false;
	p->n = 1;
}

/* A connection in CLOSE_WAIT for too long, or since before tracing started. */
static void leak_found(struct analyzer *a, struct conn *c)
{
	struct leak_owner *o;

	if (c->codes & (1ULL << CODE_CLOSE_WAIT_LEAK))
		return;
	o = leak_owner(a, c);
	if (!o || o->detailed < LEAK_DETAIL) {
		explain_leak(a, c);
		if (o) {
			o->detailed++;
			o->total++;
		}
		return;
	}
	/* Part of the finding about the rest: counted once, like the others. */
	c->codes |= 1ULL << CODE_CLOSE_WAIT_LEAK;
	o->total++;
	o->pending++;
	if (c->at_attach && c->nhist == 1)
		o->unknown_age++;
	else if (!o->oldest_since || c->since < o->oldest_since)
		o->oldest_since = c->since;
	leak_peer_add(o, c);
}

static int cmp_peer(const void *x, const void *y)
{
	const struct leak_peer *p = x, *q = y;

	/* A total order: a replay elsewhere must print the same list. */
	if (p->n != q->n)
		return p->n > q->n ? -1 : 1;
	if (p->family != q->family)
		return p->family < q->family ? -1 : 1;
	return memcmp(p->addr, q->addr, sizeof(p->addr));
}

/* "127.0.0.1 (495, various ports), 10.0.0.2:443 (3) and 2 more". */
static void leak_peers_str(char *buf, size_t len, struct leak_owner *o)
{
	unsigned int more = o->other_peers, shown;
	size_t used = 0;

	buf[0] = '\0';
	qsort(o->peers, o->npeers, sizeof(o->peers[0]), cmp_peer);
	shown = o->npeers < LEAK_TOP_PEERS ? o->npeers : LEAK_TOP_PEERS;
	for (unsigned int i = 0; i < shown && used < len; i++) {
		const struct leak_peer *p = &o->peers[i];
		char ep[64];

		if (p->ports_vary)
			addr_str(ep, sizeof(ep), p->family, p->addr);
		else
			endpoint_str(ep, sizeof(ep), p->family, p->addr, p->port);
		used += (size_t)snprintf(buf + used, len - used, "%s%s (%u%s)",
					 i ? ", " : "", ep, p->n,
					 p->ports_vary ? ", various ports" : "");
	}
	for (unsigned int i = shown; i < o->npeers; i++)
		more += o->peers[i].n;
	if (more && used < len)
		snprintf(buf + used, len - used, " and %u more", more);
}

/* One finding about the leaks found since the last one, per owner. */
static void leak_flush(struct analyzer *a, bool force)
{
	for (unsigned int i = 0; i < a->nleaks; i++) {
		struct leak_owner *o = &a->leaks[i];
		char w[64], peers[256], oldest[160], age[32];
		struct conn tmp;

		if (!o->pending || (!force && o->last_report &&
				    a->now < o->last_report + LEAK_REPEAT_NS))
			continue;
		memset(&tmp, 0, sizeof(tmp));
		tmp.pid = o->pid;
		memcpy(tmp.comm, o->comm, sizeof(tmp.comm));
		who(w, sizeof(w), &tmp);
		leak_peers_str(peers, sizeof(peers), o);
		if (o->oldest_since)
			secs(age, sizeof(age), a->now - o->oldest_since);
		if (!o->oldest_since)
			snprintf(oldest, sizeof(oldest), "How long they have been in "
				 "CLOSE_WAIT is unknown: all were already there when "
				 "tracing started");
		else if (o->unknown_age)
			snprintf(oldest, sizeof(oldest), "The oldest known has been in "
				 "CLOSE_WAIT for %s; %u were already there when tracing "
				 "started (age unknown)", age, o->unknown_age);
		else
			snprintf(oldest, sizeof(oldest), "The oldest has been in "
				 "CLOSE_WAIT for %s", age);
		explain_many(a, o, CODE_CLOSE_WAIT_LEAK, o->pending,
			     "%s holds %u more connections in CLOSE_WAIT (%u in all, "
			     "the first %u explained one by one): their peers closed "
			     "and it has not called close() on them. Peers: %s. %s. "
			     "Each holds a descriptor and kernel memory until closed. "
			     "Usual cause: a code path that does not close the socket "
			     "when read() returns 0 (EOF), or leaked descriptors. Fix: "
			     "close on EOF and on errors.", w, o->pending, o->total,
			     o->detailed, peers, oldest);
		o->last_report = a->now;
		o->pending = o->unknown_age = o->npeers = o->other_peers = 0;
		o->oldest_since = 0;
	}
}

/* ---- what the hooks did not report ---------------------------------------- */

/* How c's owner was found, as its events say it. */
static __u8 owner_how_of(const struct conn *c)
{
	static const __u8 how[] = {
		[ROLE_UNKNOWN] = TW_OWNER_FD, [ROLE_ACTIVE] = TW_OWNER_CONNECT,
		[ROLE_PASSIVE] = TW_OWNER_LISTENER, [ROLE_LISTENER] = TW_OWNER_LISTEN,
	};

	return c->pid && c->role < sizeof(how) ? how[c->role] : TW_OWNER_NONE;
}

/* The kernel did new with no event: made one, reported and applied as if seen. */
static void missed_state(struct analyzer *a, struct conn *c, int new, int cause)
{
	struct tw_event e;

	synthetic_state(&e, a, c, c->state, new, cause);
	e.skaddr = c->sk & 1 ? 0 : c->sk;	/* odd: a key made at attach */
	e.owner_how = owner_how_of(c);
	if (a->ops.event)
		a->ops.event(a->ops.ctx, &e);
	on_state(a, c, &e);
}

/* Whether sock_diag answered for a timewait socket: its timer says so. */
static bool timewait_answer(const struct diag_sock *d)
{
	return d->state == S_TIME_WAIT || d->timer == DIAG_TIMER_TIMEWAIT;
}

/* The closing states the peer's answer ends: worth a look when they last. */
static bool waits_on_peer(const struct conn *c)
{
	return c->state == S_FIN_WAIT1 || c->state == S_CLOSING ||
	       c->state == S_LAST_ACK;
}

/* log2 of whole seconds, for ages of RECONCILE_NS and more. */
static int doubling(__u64 age)
{
	return 63 - __builtin_clzll(age / RECONCILE_NS);
}

/*
 * A closing socket that has waited on its peer for 1, 2, 4, 8... s is
 * looked up at each doubling, and when tracing ends whatever its age: one
 * that really waits on a silent peer costs a netlink round trip per
 * doubling, not one per tick.
 */
static bool reconcile_due(const struct analyzer *a, const struct conn *c)
{
	__u64 age = a->now - c->since, before;

	if (!waits_on_peer(c))
		return false;
	/*
	 * The timelines are about to be written, and no event will come to
	 * move this one on: a hand-over the kernel did not report a moment
	 * ago is as real as an old one.
	 */
	if (a->ending)
		return true;
	if (age < RECONCILE_NS)
		return false;
	before = a->last_tick > c->since ? a->last_tick - c->since : 0;
	return before < RECONCILE_NS || doubling(age) > doubling(before);
}

/*
 * The hooks do not always report a closing socket's last steps. On 6.18,
 * in a loop of loopback closes, 3 sockets in 1,400 went FIN_WAIT1 ->
 * FIN_WAIT2 -> timewait with neither state change nor destroy reaching
 * any BPF program: bpftrace's tracepoint missed the same ones, and our
 * programs' run counts equalled the events received (no recursion miss).
 * The socket would then sit in FIN_WAIT1 here for ever, and what followed
 * (FIN_WAIT2 stuck, TIME_WAIT) would go unexplained. So a socket that
 * waits longer than a peer takes to answer is looked up, and what the
 * kernel says stands for the steps it did not report.
 */
static bool reconcile(struct analyzer *a, struct conn *c)
{
	__u64 closed_at = c->since;
	struct diag_sock d;
	struct conn *tw;
	int err;

	err = sockdiag_lookup(c->t.netns, c->t.family, c->t.saddr, c->t.sport,
			      c->t.daddr, c->t.dport, &d);
	/* With no connection left, the listener on the port answers. */
	if (!err && d.state == S_LISTEN)
		err = -ENOENT;
	if (err == -ENOENT) {
		missed_state(a, c, S_CLOSE, CAUSE_SOCK_DIAG);
		on_destroy(a, c);
		return true;
	}
	if (err || d.state == c->state)
		return false;
	/* A timewait socket: the full socket handed over (-> CLOSE) from... */
	if (timewait_answer(&d)) {
		/*
		 * ...FIN_WAIT2 or CLOSING. From FIN_WAIT1 the usual way is the
		 * peer's ACK, then its FIN (CLOSING would mean a simultaneous
		 * close, which nothing here shows).
		 */
		if (c->state == S_FIN_WAIT1)
			missed_state(a, c, S_FIN_WAIT2, CAUSE_SOCK_DIAG);
		if (c->state != S_FIN_WAIT2 && c->state != S_CLOSING)
			return false;
		missed_state(a, c, S_CLOSE, CAUSE_SOCK_DIAG);
		/* Its FIN went out at close: the remnant has waited since. */
		tw = tw_find(a, &c->t, false);
		if (tw)
			tw->first_ts = closed_at;
		on_destroy(a, c);
		return true;
	}
	/* Still a full socket, a step on (shutdown() left it open). */
	if (c->state == S_FIN_WAIT1 &&
	    (d.state == S_FIN_WAIT2 || d.state == S_CLOSING))
		missed_state(a, c, d.state, CAUSE_SOCK_DIAG);
	return false;
}

/*
 * c's socket is gone (its address was taken by a new one) with no event
 * to say how: a closing one is looked up as above; whatever is left of
 * it ends here.
 */
static void end_unreported(struct analyzer *a, struct conn *c)
{
	if (waits_on_peer(c) && reconcile(a, c))
		return;
	missed_state(a, c, S_CLOSE, CAUSE_SK_REUSED);
	on_destroy(a, c);
}

static void check_stuck(struct conn *c, void *ctx)
{
	struct analyzer *a = ctx;
	char w[64], s[160], age[32];

	if (c->reset_ts && a->now >= c->reset_ts + TICK_NS)
		explain_reset(a, c);
	/* Looked up after the pass: what the kernel says may end c. */
	if (reconcile_due(a, c) && a->nlookups < RECONCILE_MAX)
		a->lookups[a->nlookups++] = c;

	/* Present at attach: how long it has been there is not known, only that it is. */
	if (c->state == S_CLOSE_WAIT && c->at_attach && c->nhist == 1) {
		leak_found(a, c);
		return;
	}
	if (a->now < c->since + a->stuck_ns)
		return;
	who(w, sizeof(w), c);
	conn_str(s, sizeof(s), c);
	secs(age, sizeof(age), a->now - c->since);
	if (c->state == S_CLOSE_WAIT)
		leak_found(a, c);
	else if (c->state == S_FIN_WAIT2 && c->at_attach && c->nhist == 1)
		explain(a, c, CODE_FIN_WAIT2_PEER_NOT_CLOSING,
			"%s closed its sending side of %s at least %s ago (it was already "
			"in FIN_WAIT2 when tracing started) but the peer has not closed "
			"its side: the peer application is not closing after reading EOF "
			"(it sits in CLOSE_WAIT).", w, s, age);
	else if (c->state == S_FIN_WAIT2)
		explain(a, c, CODE_FIN_WAIT2_PEER_NOT_CLOSING,
			"%s closed its sending side of %s %s ago (FIN acknowledged) but the "
			"peer has not closed its side: the peer application is not "
			"closing after reading EOF (it sits in CLOSE_WAIT).", w, s, age);
}

static void check_timewait(struct conn *tw, void *ctx)
{
	struct analyzer *a = ctx;
	char w[64], s[160], age[32];

	/* An orphaned FIN_WAIT2 turns into TIME_WAIT with no event: look. */
	if (tw->tw_ended)
		return;
	if (tw->state != S_TIME_WAIT)
		tw_check(a, tw);
	else if (tw->state == S_TIME_WAIT && tw_outlived(a, tw))
		tw_check(a, tw);
	if (tw->tw_ended || tw->state != S_FIN_WAIT2 ||
	    a->now < tw->first_ts + a->stuck_ns)
		return;
	who(w, sizeof(w), tw);
	conn_str(s, sizeof(s), tw);
	secs(age, sizeof(age), a->now - tw->first_ts);
	if (tw->at_attach)
		explain(a, tw, CODE_FIN_WAIT2_PEER_NOT_CLOSING,
			"%s was closed before tracing started, its FIN acknowledged, but "
			"the peer has not closed its side for at least %s: the peer "
			"application is not closing after reading EOF (it sits in "
			"CLOSE_WAIT). The kernel keeps an orphaned FIN_WAIT2 remnant until "
			"net.ipv4.tcp_fin_timeout (60 s).", s, age);
	else
		explain(a, tw, CODE_FIN_WAIT2_PEER_NOT_CLOSING,
			"%s closed %s %s ago (FIN acknowledged) but the peer has not "
			"closed its side: the peer application is not closing after "
			"reading EOF (it sits in CLOSE_WAIT). %s already closed its "
			"socket, so the kernel keeps an orphaned FIN_WAIT2 remnant until "
			"net.ipv4.tcp_fin_timeout (60 s).", w, s, age, w);
}

static void check_storms(struct analyzer *a)
{
	if (a->now < a->window_start + STORM_WINDOW_NS)
		return;
	if (a->window_retrans >= 100 && !a->retrans_storm) {
		a->retrans_storm = true;
		explain(a, NULL, CODE_RETRANSMIT_STORM,
			"%u retransmissions within a second: a path is losing packets or "
			"a peer stopped answering.", a->window_retrans);
	}
	if (a->window_rsts >= 100 && !a->rst_storm) {
		a->rst_storm = true;
		explain(a, NULL, CODE_RST_STORM,
			"%u resets within a second: connections are being refused or "
			"aborted en masse (a service down, a port scan, a crashing peer).",
			a->window_rsts);
	}
	a->window_start = a->now;
	a->window_retrans = a->window_rsts = 0;
}

bool analyzer_tick_due(const struct analyzer *a, __u64 now_ns)
{
	return now_ns >= a->next_tick;
}

void analyzer_tick(struct analyzer *a, __u64 now_ns)
{
	if (now_ns < a->next_tick)
		return;
	a->next_tick = now_ns + TICK_NS;
	a->now = now_ns;
	a->nlookups = 0;
	conn_for_each(a->conns, check_stuck, a);
	for (unsigned int i = 0; i < a->nlookups; i++)
		reconcile(a, a->lookups[i]);
	a->last_tick = now_ns;
	leak_flush(a, false);
	conn_for_each(a->tws, check_timewait, a);
	conn_remove_if(a->tws, tw_is_ended);
	check_storms(a);
}

void analyzer_snapshot(struct analyzer *a, const struct snapshot_sock *s)
{
	bool timewait = !s->inode;
	struct conn *c;

	a->now = s->ts_ns;
	c = timewait ? conn_new(a->tws, conn_tuple_key(&s->t)) :
		       conn_new(a->conns, attach_key(&s->t));
	if (!c)
		return;
	a->attach_left += !timewait;
	conn_set_tuple(timewait ? a->tws : a->conns, c, &s->t);
	c->pid = s->pid;
	memcpy(c->comm, s->comm, sizeof(c->comm));
	c->role = ROLE_UNKNOWN;
	c->at_attach = true;
	c->state = s->state;
	c->first_ts = c->since = s->ts_ns;
	conn_step_add(c, s->ts_ns, s->state, s->state);
	c->closed_first = s->state == S_FIN_WAIT1 || s->state == S_FIN_WAIT2 ||
			  s->state == S_TIME_WAIT;
	c->peer_closed_first = s->state == S_CLOSE_WAIT || s->state == S_LAST_ACK;
	if (s->timer == DIAG_TIMER_RETRANS)
		c->retrans = s->retrans;
	if (timewait) {
		c->tw_cause = CAUSE_SOCK_DIAG;
		c->tw_expires_at = s->expires_ms ?
				   s->ts_ns + s->expires_ms * 1000000ULL : 0;
	}
	if (s->pid && s->t.netns)
		sockdiag_remember_netns(s->t.netns, (pid_t)s->pid);
}

__u64 analyzer_evicted(const struct analyzer *a)
{
	return conn_evicted(a->conns) + conn_evicted(a->tws);
}

static void finish_live(struct conn *c, void *ctx)
{
	struct analyzer *a = ctx;

	if (c->reset_ts)
		explain_reset(a, c);
	if (!c->tw_ended)
		conn_finished(a, c);
}

/* Tracing ends: last checks, and the timelines of what is still open. */
void analyzer_end(struct analyzer *a, __u64 now_ns)
{
	a->next_tick = 0;
	a->ending = true;
	analyzer_tick(a, now_ns);
	a->now = now_ns;
	leak_flush(a, true);
	conn_for_each(a->conns, finish_live, a);
	conn_for_each(a->tws, finish_live, a);
}
