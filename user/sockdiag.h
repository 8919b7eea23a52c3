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
};

/*
 * Network namespaces are named by inode (what the BPF side reports). To ask
 * about one after its processes are gone, tcpwatch keeps a handle on it,
 * taken while pid, a process in it, is alive. Returns 0 or -errno.
 */
int sockdiag_remember_netns(__u32 netns, pid_t pid);
void sockdiag_forget_netns(void);

/*
 * Look up the socket with this exact 4-tuple (local first) in network
 * namespace netns. Returns 0, -ENOENT when there is none, -ESRCH when the
 * namespace cannot be reached, or another -errno.
 */
int sockdiag_lookup(__u32 netns, __u16 family, const __u8 *saddr, __u16 sport,
		    const __u8 *daddr, __u16 dport, struct diag_sock *out);

/*
 * Count TCP sockets in the states of state_mask (1 << TCP_*) whose local
 * port is sport (0: any) in namespace netns, both families.
 */
int sockdiag_count(__u32 netns, __u32 state_mask, __u16 sport);

#endif
