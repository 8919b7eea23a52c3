/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one definition of everything the BPF programs and the loader share.
 * Included by bpf/tcpwatch.bpf.c (after vmlinux.h) and by user/ (after
 * <linux/types.h>), so it uses only __u* types and no kernel headers.
 */
#ifndef TCPWATCH_H
#define TCPWATCH_H

#define TW_COMM_LEN	16
#define TW_MAX_TARGETS	1024
/*
 * --pid: a byte per bucket of tgids (tgid % TW_TARGET_BUCKETS), set for every
 * tgid ever made a target and never cleared: the BPF side tests it before
 * looking the tgid up, so other processes cost one load, not a hash lookup.
 */
#define TW_TARGET_BUCKETS	1024

/*
 * With tp_btf on x86-64, the socket calls come from the raw syscall
 * tracepoints: what each syscall number is (below TW_SYS_NR_MAX), in a
 * table the loader fills.
 */
#define TW_SYS_NR_MAX	512

enum tw_sys {
	TW_SYS_NONE,
	TW_SYS_FD,		/* a call on fd args[0] */
	TW_SYS_FD_ARG,		/* the same, args[1] is its argument */
	TW_SYS_SIZED_READ,	/* a read of args[2] bytes (0: not a read) */
	TW_SYS_CLOSE,		/* reported at entry */
	TW_SYS_SETSOCKOPT,
	TW_SYS_BIND,
};

struct tw_target_buckets {
	__u8 set[TW_TARGET_BUCKETS];
};

/* What happened. Values are part of the recording format: append only. */
enum tw_event_type {
	TW_EV_STATE = 1,	/* inet_sock_set_state: old -> new */
	TW_EV_RST_SENT,		/* tcp_send_reset: reason where the kernel has it */
	TW_EV_RST_RECV,		/* tcp_receive_reset */
	TW_EV_RETRANS,		/* tcp_retransmit_skb */
	TW_EV_SYNACK_RETRANS,	/* tcp_retransmit_synack */
	TW_EV_ERROR,		/* inet_sk_error_report: errno for the app */
	TW_EV_DESTROY,		/* tcp_destroy_sock */
	TW_EV_CALL,		/* a socket call of a traced process (syscalls) */
	TW_EV_MAX,
};

/*
 * The application's socket calls (TW_EV_CALL, in tw_event.reason). Traced
 * from syscall tracepoints in the caller's context, so pid/comm are the
 * caller's. Values are part of the recording format: append only.
 */
enum tw_call {
	TW_CALL_CONNECT = 1,
	TW_CALL_ACCEPT,		/* accept and accept4: fd is the new socket */
	TW_CALL_CLOSE,
	TW_CALL_SHUTDOWN,	/* arg: SHUT_RD/WR/RDWR */
	TW_CALL_READ,		/* read/recv*: reported on error or EOF (0) */
	TW_CALL_WRITE,		/* write/send*: reported on error */
	TW_CALL_SETSOCKOPT,	/* arg: level << 16 | optname; arg2: the value */
	TW_CALL_LISTEN,
	TW_CALL_BIND,		/* arg: the port asked for */
	TW_CALL_MAX,
};

/* How the owner of a socket was established (tw_event.owner_how). */
enum tw_owner_how {
	TW_OWNER_NONE = 0,	/* unknown (whole-host mode only) */
	TW_OWNER_CONNECT,	/* current task at CLOSE -> SYN_SENT */
	TW_OWNER_LISTEN,	/* current task at CLOSE -> LISTEN */
	TW_OWNER_LISTENER,	/* child of a listener: the listener's owner */
	TW_OWNER_FD,		/* socket inode found in the owner's fd table */
	TW_OWNER_TUPLE,		/* timewait socket or sk-less reset: by 4-tuple */
	TW_OWNER_ACCEPT,	/* the task whose accept() returned it */
};

/* Flags (tw_event.flags). */
#define TW_F_TIMEWAIT_SK	0x01	/* event on a timewait mini-socket */
#define TW_F_NO_SK		0x02	/* RST sent with no socket (NO_SOCKET) */
#define TW_F_HAS_REASON		0x04	/* reason field is the kernel's */
#define TW_F_DEFERRED		0x08	/* sk-less RST held until its owner showed up */
#define TW_F_SYNTHETIC		0x10	/* user space: a transition no hook shows
					 * (TIME_WAIT), reconstructed; reason
					 * holds the enum tw_cause */
#define TW_F_QUEUE		0x20	/* SYNACK_RETRANS from a listener: arg and
					 * arg2 are its accept queue's length and
					 * backlog as the SYN-ACK went out */

/*
 * One event. Largest members first and no hidden padding: the size is
 * asserted in user/event.c. Addresses are in network byte order, IPv4 in the
 * first four bytes; ports in host byte order.
 */
struct tw_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u64 skaddr;		/* kernel socket address: identity, not a pointer to use */
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 pid;		/* owner tgid (0 when unknown) */
	__u32 cpu_pid;		/* tgid on CPU when the hook ran: softirq work runs
				 * in whatever task it interrupted (0: idle) */
	__u32 netns;		/* network namespace inode */
	__s32 value;		/* ERROR: errno; RETRANS, STATE to CLOSE and
				 * SYN_RECV to ESTABLISHED: the socket's
				 * retransmit count (total_retrans);
				 * CALL: return value (-errno) */
	__u32 reason;		/* RST_SENT: enum sk_rst_reason; CALL: enum tw_call;
				 * RETRANS with TW_F_HAS_REASON: errno of an
				 * attempt that did not go out (0: it did) */
	__s32 fd;		/* CALL: the file descriptor */
	__u32 arg;		/* CALL: see enum tw_call; RETRANS: segments this
				 * attempt carried (0: not known);
				 * SYNACK_RETRANS with TW_F_QUEUE: the
				 * listener's accept queue length */
	__s32 arg2;		/* CALL: see enum tw_call; SYNACK_RETRANS with
				 * TW_F_QUEUE: the listener's backlog */
	__u32 pad2;
	__u16 sport;
	__u16 dport;
	__u16 family;		/* AF_INET / AF_INET6 */
	__u8 type;		/* enum tw_event_type */
	__u8 oldstate;		/* TCP_* as the kernel numbers them */
	__u8 newstate;
	__u8 owner_how;		/* enum tw_owner_how */
	__u8 flags;		/* TW_F_* */
	__u8 pad;
	char comm[TW_COMM_LEN];	/* owner's comm (not the on-CPU task's) */
};

/* A retransmission the kernel says did not leave this host (6.17 and later). */
static inline int tw_retrans_failed(const struct tw_event *e)
{
	return e->type == TW_EV_RETRANS && (e->flags & TW_F_HAS_REASON) &&
	       e->reason;
}

/* Who owns a socket. */
struct tw_owner {
	__u32 pid;
	__u8 how;
	__u8 pad[3];
	char comm[TW_COMM_LEN];
};

/* A listening socket, by where it listens: its children inherit its owner. */
struct tw_listen_key {
	__u32 netns;
	__u16 port;
	__u16 pad;
};

struct tw_listener {
	__u64 sk;		/* 0: seeded by the loader for a pre-existing one */
	struct tw_owner owner;
};

/* Indexes into the per-CPU counters map. */
enum tw_counter {
	TW_CNT_LOST = 0,	/* ring buffer full: event dropped */
	TW_CNT_FILTERED,	/* rejected by the in-kernel filter */
	TW_CNT_MAX,
};

#endif /* TCPWATCH_H */
