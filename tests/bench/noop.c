// SPDX-License-Identifier: GPL-2.0
/*
 * Loads and attaches noop.bpf.c, says so on standard error (as tcpwatch's
 * "Tracing ..." line), and holds the programs until SIGINT or SIGTERM.
 */
#include <errno.h>
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

int main(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct noop_bpf *skel;
	int err;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	skel = noop_bpf__open_and_load();
	if (!skel) {
		fprintf(stderr, "noop: cannot load the BPF programs: %s\n", strerror(errno));
		return 1;
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
