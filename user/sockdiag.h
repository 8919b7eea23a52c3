/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_SOCKDIAG_H
#define TW_SOCKDIAG_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

/* What NETLINK_SOCK_DIAG says about one TCP socket. */
struct diag_sock {
	int state;		/* TCP_*; a timewait socket reports its sub-state */
	__u32 expires_ms;	/* timer: time left (TIME_WAIT: until it goes) */
	__u32 rqueue;		/* listener: accept queue length; else bytes unread */
	__u32 wqueue;		/* listener: backlog; else bytes unsent */
	__u64 inode;		/* 0 for a socket no process holds (timewait, orphan) */
	/* Where it is (as tw_event: addresses in network order, ports in host order). */
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u8 timer;		/* enum diag_timer: the timer that runs */
	__u8 retrans;		/* that timer's retransmissions or probes so far */
};

/* idiag_timer: which timer runs (ss -o names them on, keepalive, ...). */
enum diag_timer {
	DIAG_TIMER_OFF,
	DIAG_TIMER_RETRANS,
	DIAG_TIMER_KEEPALIVE,
	DIAG_TIMER_TIMEWAIT,
	DIAG_TIMER_PROBE,	/* zero-window probe */
	DIAG_TIMER_MAX,
};

/* "off", "retransmit", "keepalive", "timewait", "probe"; NULL out of range. */
const char *diag_timer_name(int timer);
/* The inverse, or -1. */
int diag_timer_parse(const char *name);

/*
 * The questions the analyzer asks, and what it was told. With a recording
 * they are written down as asked; a replay answers them from the recording.
 */
enum diag_kind {
	DIAG_LOOKUP = 1,	/* sockdiag_lookup() */
	DIAG_COUNT,		/* sockdiag_count() */
};

struct diag_query {
	enum diag_kind kind;
	__u32 netns;
	__u16 family;		/* LOOKUP */
	__u16 sport;		/* LOOKUP; COUNT: 0 for any */
	__u16 dport;		/* LOOKUP */
	__u32 state_mask;	/* COUNT */
	__u8 saddr[16];		/* LOOKUP */
	__u8 daddr[16];
};

struct diag_answer {
	int ret;		/* what the call returned: 0, a count, or -errno */
	struct diag_sock sock;	/* LOOKUP, when ret is 0 */
};

/* Live queries are passed to fn once answered (NULL: no longer). */
void sockdiag_record(void (*fn)(void *ctx, const struct diag_query *q,
				const struct diag_answer *a), void *ctx);
/*
 * Answer queries with fn instead of asking the kernel (NULL: the kernel
 * again). While set, nothing here touches the system: a recording is
 * replayed on any machine.
 */
void sockdiag_replay(void (*fn)(void *ctx, const struct diag_query *q,
				struct diag_answer *a), void *ctx);

/*
 * Network namespaces are named by inode (what the BPF side reports). To ask
 * about one after its processes are gone, tcpwatch keeps a handle on it,
 * taken while pid, a process in it, is alive. Returns 0 or -errno.
 */
int sockdiag_remember_netns(__u32 netns, pid_t pid);
void sockdiag_forget_netns(void);

/*
 * Look up the socket with this exact 4-tuple (local first) in network
 * namespace netns, as the kernel would for an incoming segment: with no
 * connection on the tuple, a listener on the local port answers. Returns
 * 0, -ENOENT when there is none, -ESRCH when the namespace cannot be
 * reached, or another -errno.
 */
int sockdiag_lookup(__u32 netns, __u16 family, const __u8 *saddr, __u16 sport,
		    const __u8 *daddr, __u16 dport, struct diag_sock *out);

/*
 * Count TCP sockets in the states of state_mask (1 << TCP_*) whose local
 * port is sport (0: any) in namespace netns, both families.
 */
int sockdiag_count(__u32 netns, __u32 state_mask, __u16 sport);

/*
 * Every TCP socket in namespace netns (0: ours) whose state is in
 * state_mask, both families, listeners included; fn returns non-zero to
 * stop. Always asks the kernel (snapshots are recorded as such). Returns
 * the number of sockets passed to fn, or -errno.
 */
int sockdiag_dump(__u32 netns, __u32 state_mask,
		  int (*fn)(const struct diag_sock *d, void *ctx), void *ctx);

#endif
