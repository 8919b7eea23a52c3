/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_PROC_H
#define TW_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

/* Capabilities by number (linux/capability.h), those tcpwatch asks about. */
#define PROC_CAP_SYS_NICE	23
#define PROC_CAP_SYS_ADMIN	21
#define PROC_CAP_PERFMON	38
#define PROC_CAP_BPF		39

/* Whether this process has capability cap in effect. */
bool proc_has_cap(int cap);
/* Whether this process may load and attach tracing BPF programs. */
bool proc_has_bpf_caps(void);

bool proc_exists(pid_t pid);

/* The process's comm (at most len - 1 bytes); "" when it is gone. */
void proc_comm(pid_t pid, char *buf, size_t len);

/* A pidfd that becomes readable when pid exits, or -1. */
int proc_pidfd(pid_t pid);

/*
 * Call fn for each socket inode among pid's open file descriptors.
 * Returns the number of sockets, or -errno.
 */
int proc_for_each_socket(pid_t pid, int (*fn)(__u64 ino, void *ctx), void *ctx);

/* Inode of pid's network namespace (what BPF reads as ns.inum), or 0. */
__u32 proc_netns(pid_t pid);

/*
 * Call fn for each listening TCP socket (IPv4 and IPv6) in pid's network
 * namespace, with its local port and inode. Returns 0 or -errno.
 */
int proc_for_each_listener(pid_t pid, int (*fn)(__u16 port, __u64 ino, void *ctx),
			   void *ctx);

#endif
