// SPDX-License-Identifier: GPL-2.0
/*
 * Loading the application-call programs (bpf/syscalls.bpf.c): a second BPF
 * object on the main object's maps, so that its events share the ring
 * buffer, the --pid targets, the loss counter and the socket owners.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "syscalls.h"
#include "syscalls.skel.h"
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

static struct bpf_program *prog(const struct syscalls_bpf *skel,
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
static const char *missing_side(const struct syscalls_bpf *skel,
				const char *events, const char *name)
{
	static const char *const sides[] = { "enter", "exit" };

	for (size_t i = 0; i < 2; i++)
		if (prog(skel, sides[i], name) &&
		    !tracepoint_exists(events, sides[i], name))
			return sides[i];
	return NULL;
}

/* Keep the syscalls this kernel has the tracepoints for; report the others. */
static void select_syscalls(struct syscalls_bpf *skel, const char *events)
{
	for (size_t i = 0; i < NSYSCALLS; i++) {
		const char *name = traced_syscalls[i];
		const char *side = missing_side(skel, events, name);
		struct bpf_program *exit_prog = prog(skel, "exit", name);

		if (!side)
			continue;
		fprintf(stderr, "tcpwatch: this kernel has no tracepoint "
			"syscalls:sys_%s_%s: %s() calls are not traced\n", side, name,
			name);
		bpf_program__set_autoload(prog(skel, "enter", name), false);
		if (exit_prog)
			bpf_program__set_autoload(exit_prog, false);
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
 * Raw syscall tracepoints when the main object uses tp_btf: 2 programs
 * instead of 36, which cost other processes almost nothing. Returns
 * whether they were chosen.
 */
static bool select_raw(struct syscalls_bpf *skel, bool classic)
{
	struct bpf_program *p;

	if (classic)
		return false;
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, false);
	bpf_program__set_autoload(skel->progs.btf_sys_enter, true);
	bpf_program__set_autoload(skel->progs.btf_sys_exit, true);
	for (size_t i = 0; i < NSYSCALLS; i++) {
		long nr = raw_syscalls[i].nr;

		if (nr < 0 || nr >= TW_SYS_NR_MAX)
			continue;
		skel->rodata->sys_kind[nr] = (__u8)raw_syscalls[i].kind;
		skel->rodata->sys_call[nr] = (__u8)raw_syscalls[i].call;
	}
	return true;
}

#else
#define RAW_SYSCALLS	0

static bool select_raw(struct syscalls_bpf *skel, bool classic)
{
	(void)skel;
	(void)classic;
	return false;
}
#endif

/* One ring buffer, one set of filters, counters and owners for both objects. */
static int reuse_maps(struct syscalls_bpf *s, const struct tcpwatch_bpf *m)
{
	struct bpf_map *const pairs[][2] = {
		{ s->maps.events, m->maps.events },
		{ s->maps.targets, m->maps.targets },
		{ s->maps.target_buckets, m->maps.target_buckets },
		{ s->maps.counters, m->maps.counters },
		{ s->maps.ports, m->maps.ports },
		{ s->maps.owners, m->maps.owners },
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		int err = bpf_map__reuse_fd(pairs[i][0], bpf_map__fd(pairs[i][1]));

		if (err) {
			fprintf(stderr, "tcpwatch: cannot share the map %s with the "
				"socket-call programs: %s\n", bpf_map__name(pairs[i][0]),
				strerror(-err));
			return err;
		}
	}
	return 0;
}

static int open_skel(struct tw_syscalls *s, const struct tw_loader *l,
		     const struct tw_options *o, const char *events, bool *raw)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = o->btf_path);
	int err;

	s->skel = syscalls_bpf__open_opts(&opts);
	if (!s->skel) {
		err = -errno;
		fprintf(stderr, "tcpwatch: cannot open the socket-call BPF object: %s\n",
			strerror(-err));
		return err;
	}
	s->skel->rodata->filter_port = l->skel->rodata->filter_port;
	s->skel->rodata->filter_family = l->skel->rodata->filter_family;
	s->skel->rodata->wakeup_bytes = l->skel->rodata->wakeup_bytes;
	*raw = select_raw(s->skel, l->classic);
	if (!*raw)
		select_syscalls(s->skel, events);
	return reuse_maps(s->skel, l->skel);
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
static void attach_pair(struct tw_syscalls *s, const char *name)
{
	struct bpf_program *enter_prog = prog(s->skel, "enter", name);
	struct bpf_program *exit_prog = prog(s->skel, "exit", name);
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
static int attach_raw(struct tw_syscalls *s)
{
	struct bpf_link *exit_link, *enter_link;

	exit_link = attach_prog(s->skel->progs.btf_sys_exit);
	if (!exit_link)
		return -errno;
	enter_link = attach_prog(s->skel->progs.btf_sys_enter);
	if (!enter_link) {
		bpf_link__destroy(exit_link);
		return -errno;
	}
	s->links[s->attached++] = exit_link;
	s->links[s->attached++] = enter_link;
	return 0;
}
#else
static int attach_raw(struct tw_syscalls *s)
{
	(void)s;
	return -EOPNOTSUPP;
}
#endif

int syscalls_start(struct tw_syscalls *s, const struct tw_loader *l,
		   const struct tw_options *o)
{
	const char *events = NULL;
	bool raw = false;
	int err;

	memset(s, 0, sizeof(*s));
	/* The raw tracepoints need neither tracefs nor the per-syscall events. */
	if (l->classic || !RAW_SYSCALLS) {
		events = loader_tracefs(o->verbose);
		if (!have_syscall_tracepoints(events)) {
			fprintf(stderr, "tcpwatch: this kernel has no syscall tracepoints "
				"(CONFIG_FTRACE_SYSCALLS): the processes' socket calls "
				"are not traced\n");
			return 0;
		}
	}
	err = open_skel(s, l, o, events, &raw);
	if (err)
		return err;
	err = syscalls_bpf__load(s->skel);
	if (err) {
		fprintf(stderr, "tcpwatch: cannot load the socket-call programs: %s: "
			"run with -v to see libbpf's and the verifier's log\n",
			strerror(-err));
		return err;
	}
	if (raw)
		return attach_raw(s);
	for (size_t i = 0; i < NSYSCALLS; i++)
		attach_pair(s, traced_syscalls[i]);
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
	syscalls_bpf__destroy(s->skel);
	memset(s, 0, sizeof(*s));
}
