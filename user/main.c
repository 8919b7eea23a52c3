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
#include "record.h"
#include "replay.h"
#include "report.h"
#include "scenario.h"
#include "syscalls.h"
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
	struct tw_recorder rec;
	struct tw_output out;
	int err, status;

	if (report_open(&t.report, opts))
		return 1;
	if (output_open(&out, opts)) {
		report_close(t.report, opts, NULL, false);
		return 1;
	}
	if (record_open(&rec, opts, &out)) {
		output_close(&out);
		report_close(t.report, opts, NULL, false);
		return 1;
	}
	t.rec = &rec;
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
	status = close_output(&out, err ? 1 : 0);
	if (report_close(t.report, opts, &t.stats, t.started))
		status = 1;
	/* A recording that could not be written in full is a failure. */
	return record_close(&rec) ? 1 : status;
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
	/* Before tracing: an unwritable report would lose the whole run. */
	if (opts.report && report_check_path(opts.report))
		return 1;
	/* A recording is read anywhere: no BPF, no privileges. */
	if (opts.replay)
		return replay_main(&opts);
	if (!proc_has_bpf_caps()) {
		fprintf(stderr, "tcpwatch: needs CAP_BPF and CAP_PERFMON: run with sudo\n");
		return 1;
	}
	if (!opts.scenario && check_targets(&opts))
		return 1;
	/* Known before the recording's header, which says whether they are. */
	if ((opts.npids || opts.scenario) && !opts.no_calls &&
	    !syscalls_traceable(&opts)) {
		syscalls_say_untraced();
		opts.no_calls = true;
	}
	if (opts.scenario)
		return scenario_main(&opts);
	return trace(&opts);
}
