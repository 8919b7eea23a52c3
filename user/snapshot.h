/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_SNAPSHOT_H
#define TW_SNAPSHOT_H

#include <sys/types.h>
#include <linux/types.h>

#include "conn.h"
#include "tcpwatch.h"

/*
 * A TCP socket that existed when tracing started ("present at attach"):
 * held by a --pid process, or a timewait socket on one of its ports.
 */
struct snapshot_sock {
	__u64 ts_ns;		/* when the snapshot was taken (CLOCK_MONOTONIC) */
	__u64 inode;		/* 0: a timewait socket, which no process holds */
	struct conn_tuple t;	/* local first, and its namespace */
	__u32 pid;		/* the holder; 0 for a timewait socket */
	char comm[TW_COMM_LEN];
	int state;		/* TCP_*; a timewait socket's sub-state */
	__u32 rqueue;		/* as struct diag_sock */
	__u32 wqueue;
	__u32 expires_ms;
	__u8 timer;		/* enum diag_timer */
	__u8 retrans;
};

/*
 * The TCP sockets the processes pids hold (their descriptors in
 * /proc/PID/fd matched by inode to a sock_diag dump of their network
 * namespace, listeners included), then the timewait sockets (TIME_WAIT, and
 * the orphaned FIN_WAIT2 sub-state) whose local port is one of theirs, each
 * passed to fn, stamped ts_ns. Returns how many, or -errno when not one
 * process could be read.
 */
int snapshot_take(const pid_t *pids, int npids, __u64 ts_ns,
		  void (*fn)(const struct snapshot_sock *s, void *ctx), void *ctx);

#endif
