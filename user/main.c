// SPDX-License-Identifier: GPL-2.0
/*
 * tcpwatch: what the kernel's TCP does to a process's connections, live.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "options.h"
#include "output.h"
#include "proc.h"
#include "scenario.h"
#include "tracer.h"

static int check_targets(const struct tw_options *o)
{
	for (int i = 0; i < o->npids; i++) {
		if (!proc_exists(o->pids[i])) {
			fprintf(stderr, "tcpwatch: no such process: %d\n", o->pids[i]);
			return -ESRCH;
		}
	}
	return 0;
}

/* Flush and close the output; a failed write turns success into failure. */
static int close_output(struct tw_output *out, int status)
{
	int err = output_close(out);

	if (err && err != -EPIPE && !status) {
		fprintf(stderr, "tcpwatch: cannot write %s: %s\n", out->path,
			strerror(-err));
		return 1;
	}
	return status;
}

static int trace(const struct tw_options *opts)
{
	struct tracer t = { .started = false };
	struct tw_output out;
	int err;

	if (output_open(&out, opts))
		return 1;
	tracer_install_signals();
	err = tracer_start(&t, opts, &out);
	if (!err) {
		output_header(&out);
		err = tracer_run(&t);
		if (err)
			fprintf(stderr, "tcpwatch: reading events: %s\n", strerror(-err));
	}
	tracer_stop(&t);
	if (t.started)
		output_summary(&out, &t.stats);
	return close_output(&out, err ? 1 : 0);
}

int main(int argc, char **argv)
{
	struct tw_options opts;
	bool done;
	int err;

	err = options_parse(&opts, argc, argv, &done);
	if (err || done)
		return err;
	if (opts.scenario && !strcmp(opts.scenario, "list"))
		return scenario_list();
	if (!proc_has_bpf_caps()) {
		fprintf(stderr, "tcpwatch: needs CAP_BPF and CAP_PERFMON: run with sudo\n");
		return 1;
	}
	if (opts.scenario)
		return scenario_main(&opts);
	if (check_targets(&opts))
		return 1;
	return trace(&opts);
}
