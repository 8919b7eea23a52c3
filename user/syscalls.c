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
		     const struct tw_options *o, const char *events)
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

int syscalls_start(struct tw_syscalls *s, const struct tw_loader *l,
		   const struct tw_options *o)
{
	const char *events = loader_tracefs(o->verbose);
	int err;

	memset(s, 0, sizeof(*s));
	if (!have_syscall_tracepoints(events)) {
		fprintf(stderr, "tcpwatch: this kernel has no syscall tracepoints "
			"(CONFIG_FTRACE_SYSCALLS): the processes' socket calls are not "
			"traced\n");
		return 0;
	}
	err = open_skel(s, l, o, events);
	if (err)
		return err;
	err = syscalls_bpf__load(s->skel);
	if (err) {
		fprintf(stderr, "tcpwatch: cannot load the socket-call programs: %s: "
			"run with -v to see libbpf's and the verifier's log\n",
			strerror(-err));
		return err;
	}
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
