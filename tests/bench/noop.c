// SPDX-License-Identifier: GPL-2.0
/*
 * Loads and attaches noop.bpf.c, says so on standard error (as tcpwatch's
 * "Tracing ..." line), and holds the programs until SIGINT or SIGTERM.
 *
 *   noop              the hooks of tcpwatch tracing the whole host
 *   noop --pid-hooks  also those it adds with --pid: the raw syscall
 *                     tracepoints and process fork, exec and exit
 */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "noop.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	bool pid_hooks = argc == 2 && !strcmp(argv[1], "--pid-hooks");
	struct noop_bpf *skel;
	int err;

	if (argc > 1 && !pid_hooks) {
		fprintf(stderr, "usage: noop [--pid-hooks]\n");
		return 2;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	skel = noop_bpf__open();
	if (!skel) {
		fprintf(stderr, "noop: cannot open the BPF object: %s\n", strerror(errno));
		return 1;
	}
	bpf_program__set_autoload(skel->progs.noop_sys_enter, pid_hooks);
	bpf_program__set_autoload(skel->progs.noop_sys_exit, pid_hooks);
	bpf_program__set_autoload(skel->progs.noop_fork, pid_hooks);
	bpf_program__set_autoload(skel->progs.noop_exec, pid_hooks);
	bpf_program__set_autoload(skel->progs.noop_exit, pid_hooks);
	err = noop_bpf__load(skel);
	if (err) {
		fprintf(stderr, "noop: cannot load the BPF programs: %s\n", strerror(-err));
		goto out;
	}
	err = noop_bpf__attach(skel);
	if (err) {
		fprintf(stderr, "noop: cannot attach: %s\n", strerror(-err));
		goto out;
	}
	fprintf(stderr, "Tracing nothing: no-op programs attached... Ctrl-C to end.\n");
	while (!stop)
		pause();
out:
	noop_bpf__destroy(skel);
	return err ? 1 : 0;
}
