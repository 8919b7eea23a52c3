/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_SYSCALLS_H
#define TW_SYSCALLS_H

#include "loader.h"
#include "options.h"

struct syscalls_bpf;

#define TW_SYSCALL_LINKS	40	/* an entry and an exit per traced syscall */

/* The traced processes' socket calls (bpf/syscalls.bpf.c), with --pid. */
struct tw_syscalls {
	struct syscalls_bpf *skel;
	struct bpf_link *links[TW_SYSCALL_LINKS];
	int attached;
};

/*
 * Load and attach the call programs on the maps of l (already started), so
 * their events arrive through l's ring buffer. A syscall tracepoint the
 * kernel lacks is reported and skipped. Prints one line saying what failed
 * and returns -errno on failure; the caller then calls syscalls_stop().
 */
int syscalls_start(struct tw_syscalls *s, const struct tw_loader *l,
		   const struct tw_options *o);
/* Detach and free; a no-op on a zeroed struct. */
void syscalls_stop(struct tw_syscalls *s);

#endif
