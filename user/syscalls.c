// SPDX-License-Identifier: GPL-2.0
/*
 * Choosing and attaching the application-call programs (bpf/syscalls.bpf.c),
 * which are part of the loader's BPF object: the per-syscall tracepoints or
 * the raw sys_enter/sys_exit ones, and none without --pid.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "syscalls.h"
#include "tcpwatch.skel.h"

/*
 * Each NAME has programs enter_NAME and exit_NAME on syscalls:sys_*_NAME,
 * but close, which is reported at entry: it has no exit program.
 */
static const char *const traced_syscalls[] = {
	"connect", "accept", "accept4", "close", "shutdown", "listen", "bind",
	"setsockopt", "read", "readv", "recvfrom", "recvmsg", "recvmmsg",
	"write", "writev", "sendto", "sendmsg", "sendmmsg",
};

#define NSYSCALLS	(sizeof(traced_syscalls) / sizeof(traced_syscalls[0]))

_Static_assert(2 * NSYSCALLS <= TW_SYSCALL_LINKS, "links[] too small");

static struct bpf_program *prog(const struct tcpwatch_bpf *skel,
				const char *side, const char *name)
{
	char prog_name[64];

	snprintf(prog_name, sizeof(prog_name), "%s_%s", side, name);
	return bpf_object__find_program_by_name(skel->obj, prog_name);
}

static bool tracepoint_exists(const char *events, const char *side,
			      const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/syscalls/sys_%s_%s/id", events, side, name);
	return access(path, R_OK) == 0;
}

/* Kernels built without CONFIG_FTRACE_SYSCALLS have none at all. */
static bool have_syscall_tracepoints(const char *events)
{
	char dir[256];

	if (!events)
		return false;
	snprintf(dir, sizeof(dir), "%s/syscalls", events);
	return access(dir, R_OK) == 0;
}

/* The side ("enter", "exit") the syscall has a program for but no tracepoint. */
static const char *missing_side(const struct tcpwatch_bpf *skel,
				const char *events, const char *name)
{
	static const char *const sides[] = { "enter", "exit" };

	for (size_t i = 0; i < 2; i++)
		if (prog(skel, sides[i], name) &&
		    !tracepoint_exists(events, sides[i], name))
			return sides[i];
	return NULL;
}

/* Choose the syscalls this kernel has the tracepoints for; report the others. */
static void select_syscalls(struct tcpwatch_bpf *skel, const char *events)
{
	for (size_t i = 0; i < NSYSCALLS; i++) {
		const char *name = traced_syscalls[i];
		const char *side = missing_side(skel, events, name);
		struct bpf_program *exit_prog = prog(skel, "exit", name);

		if (side) {
			fprintf(stderr, "tcpwatch: this kernel has no tracepoint "
				"syscalls:sys_%s_%s: %s() calls are not traced\n", side,
				name, name);
			continue;
		}
		bpf_program__set_autoload(prog(skel, "enter", name), true);
		if (exit_prog)
			bpf_program__set_autoload(exit_prog, true);
	}
}

#if defined(__x86_64__)
#define RAW_SYSCALLS	1

/* The same calls by number, for the raw sys_enter/sys_exit programs. */
static const struct {
	long nr;
	enum tw_sys kind;
	enum tw_call call;
} raw_syscalls[] = {
	{ SYS_connect, TW_SYS_FD, TW_CALL_CONNECT },
	{ SYS_accept, TW_SYS_FD, TW_CALL_ACCEPT },
	{ SYS_accept4, TW_SYS_FD, TW_CALL_ACCEPT },
	{ SYS_close, TW_SYS_CLOSE, TW_CALL_CLOSE },
	{ SYS_shutdown, TW_SYS_FD_ARG, TW_CALL_SHUTDOWN },
	{ SYS_listen, TW_SYS_FD_ARG, TW_CALL_LISTEN },
	{ SYS_bind, TW_SYS_BIND, TW_CALL_BIND },
	{ SYS_setsockopt, TW_SYS_SETSOCKOPT, TW_CALL_SETSOCKOPT },
	{ SYS_read, TW_SYS_SIZED_READ, TW_CALL_READ },
	{ SYS_readv, TW_SYS_SIZED_READ, TW_CALL_READ },
	{ SYS_recvfrom, TW_SYS_SIZED_READ, TW_CALL_READ },
	{ SYS_recvmmsg, TW_SYS_SIZED_READ, TW_CALL_READ },
	/* recvmsg's length is inside the msghdr: an empty one reads as EOF. */
	{ SYS_recvmsg, TW_SYS_FD, TW_CALL_READ },
	{ SYS_write, TW_SYS_FD, TW_CALL_WRITE },
	{ SYS_writev, TW_SYS_FD, TW_CALL_WRITE },
	{ SYS_sendto, TW_SYS_FD, TW_CALL_WRITE },
	{ SYS_sendmsg, TW_SYS_FD, TW_CALL_WRITE },
	{ SYS_sendmmsg, TW_SYS_FD, TW_CALL_WRITE },
};

_Static_assert(sizeof(raw_syscalls) / sizeof(raw_syscalls[0]) == NSYSCALLS,
	       "raw_syscalls[] and traced_syscalls[] list the same calls");

/*
 * Raw syscall tracepoints where the rest is tp_btf: 2 programs instead of
 * 36, which cost other processes almost nothing.
 */
static void select_raw(struct tcpwatch_bpf *skel)
{
	bpf_program__set_autoload(skel->progs.btf_sys_enter, true);
	bpf_program__set_autoload(skel->progs.btf_sys_exit, true);
	for (size_t i = 0; i < NSYSCALLS; i++) {
		long nr = raw_syscalls[i].nr;

		if (nr < 0 || nr >= TW_SYS_NR_MAX)
			continue;
		skel->rodata->sys_kind[nr] = (__u8)raw_syscalls[i].kind;
		skel->rodata->sys_call[nr] = (__u8)raw_syscalls[i].call;
	}
}

#else
#define RAW_SYSCALLS	0

static void select_raw(struct tcpwatch_bpf *skel)
{
	(void)skel;
}
#endif

void syscalls_say_untraced(void)
{
	fprintf(stderr, "tcpwatch: this kernel has no syscall tracepoints "
		"(CONFIG_FTRACE_SYSCALLS): the processes' socket calls are not "
		"traced\n");
}

bool syscalls_traceable(const struct tw_options *o)
{
	if (!o->classic && RAW_SYSCALLS)
		return true;
	return have_syscall_tracepoints(loader_tracefs(o->verbose));
}

void syscalls_select(struct tcpwatch_bpf *skel, const struct tw_options *o,
		     bool classic)
{
	const char *events;

	/* Their calls in progress: no map without them. */
	bpf_map__set_autocreate(skel->maps.calls, o->npids > 0 && !o->no_calls);
	if (!o->npids || o->no_calls)
		return;
	if (!classic && RAW_SYSCALLS) {
		select_raw(skel);
		return;
	}
	events = loader_tracefs(o->verbose);
	if (!have_syscall_tracepoints(events)) {
		syscalls_say_untraced();
		return;
	}
	select_syscalls(skel, events);
}

static struct bpf_link *attach_prog(struct bpf_program *p)
{
	struct bpf_link *link = bpf_program__attach(p);

	if (!link)
		fprintf(stderr, "tcpwatch: cannot attach %s: %s\n",
			bpf_program__section_name(p), strerror(errno));
	return link;
}

/*
 * Exit first: no call is stashed at entry without its exit in place. A
 * syscall is traced with both or not at all.
 */
static void attach_pair(struct tw_syscalls *s, const struct tcpwatch_bpf *skel,
			const char *name)
{
	struct bpf_program *enter_prog = prog(skel, "enter", name);
	struct bpf_program *exit_prog = prog(skel, "exit", name);
	struct bpf_link *exit_link = NULL, *enter_link;

	if (!bpf_program__autoload(enter_prog))
		return;
	if (exit_prog && !(exit_link = attach_prog(exit_prog)))
		return;
	enter_link = attach_prog(enter_prog);
	if (!enter_link) {
		bpf_link__destroy(exit_link);
		return;
	}
	if (exit_link)
		s->links[s->attached++] = exit_link;
	s->links[s->attached++] = enter_link;
}

#if RAW_SYSCALLS
static bool raw_chosen(const struct tcpwatch_bpf *skel)
{
	return bpf_program__autoload(skel->progs.btf_sys_enter);
}

static int attach_raw(struct tw_syscalls *s, const struct tcpwatch_bpf *skel)
{
	struct bpf_link *exit_link, *enter_link;

	exit_link = attach_prog(skel->progs.btf_sys_exit);
	if (!exit_link)
		return -errno;
	enter_link = attach_prog(skel->progs.btf_sys_enter);
	if (!enter_link) {
		bpf_link__destroy(exit_link);
		return -errno;
	}
	s->links[s->attached++] = exit_link;
	s->links[s->attached++] = enter_link;
	return 0;
}
#else
static bool raw_chosen(const struct tcpwatch_bpf *skel)
{
	(void)skel;
	return false;
}

static int attach_raw(struct tw_syscalls *s, const struct tcpwatch_bpf *skel)
{
	(void)s;
	(void)skel;
	return -EOPNOTSUPP;
}
#endif

int syscalls_attach(struct tw_syscalls *s, const struct tw_loader *l)
{
	memset(s, 0, sizeof(*s));
	if (raw_chosen(l->skel))
		return attach_raw(s, l->skel);
	for (size_t i = 0; i < NSYSCALLS; i++)
		attach_pair(s, l->skel, traced_syscalls[i]);
	return 0;
}

static void *destroy_link(void *link)
{
	bpf_link__destroy(link);
	return NULL;
}

/*
 * Detaching a syscall tracepoint waits for the kernel's RCU grace period
 * (about 75 ms here): one after the other, the 36 links held tcpwatch for
 * 2.7 s after Ctrl-C. A thread per link lets the waits overlap.
 */
void syscalls_stop(struct tw_syscalls *s)
{
	pthread_t threads[TW_SYSCALL_LINKS];
	bool threaded[TW_SYSCALL_LINKS];

	for (int i = 0; i < s->attached; i++) {
		threaded[i] = !pthread_create(&threads[i], NULL, destroy_link,
					      s->links[i]);
		if (!threaded[i])
			bpf_link__destroy(s->links[i]);
	}
	for (int i = 0; i < s->attached; i++)
		if (threaded[i])
			pthread_join(threads[i], NULL);
	memset(s, 0, sizeof(*s));
}
