/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_SYSCALLS_H
#define TW_SYSCALLS_H

#include "loader.h"
#include "options.h"

#define TW_SYSCALL_LINKS	40	/* an entry and an exit per traced syscall */

/* The links of the traced processes' socket calls (bpf/syscalls.bpf.c), with --pid. */
struct tw_syscalls {
	struct bpf_link *links[TW_SYSCALL_LINKS];
	int attached;
};

/*
 * Whether this kernel can trace the socket calls as o would (tp_btf on the
 * raw syscall tracepoints on x86-64, else the per-syscall tracepoints):
 * known before anything loads, so that --pid without them runs as
 * --no-calls from the start (the recording's header says so). A tp_btf
 * load refused later falls back to the per-syscall tracepoints unchecked.
 */
bool syscalls_traceable(const struct tw_options *o);
/* The one line that says the socket calls are not traced, and why. */
void syscalls_say_untraced(void);
/*
 * Choose the call programs of skel before it loads: none without --pid or
 * with --no-calls;
 * with classic (or off x86-64), the per-syscall tracepoints, reporting each
 * one this kernel lacks; otherwise the raw sys_enter/sys_exit ones.
 */
void syscalls_select(struct tcpwatch_bpf *skel, const struct tw_options *o,
		     bool classic);
/*
 * Attach the call programs l loaded (a no-op if none), exits first. Prints
 * one line saying what failed and returns -errno on failure; the caller
 * then calls syscalls_stop().
 */
int syscalls_attach(struct tw_syscalls *s, const struct tw_loader *l);
/* Detach; a no-op on a zeroed struct. */
void syscalls_stop(struct tw_syscalls *s);

#endif
