/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_TRACER_H
#define TW_TRACER_H

#include <stdbool.h>

#include "explain.h"
#include "loader.h"
#include "options.h"
#include "output.h"
#include "record.h"
#include "syscalls.h"

struct report;

/* Sockets the targets held at attach, until tracer_run() shows them. */
struct snapshot_buf {
	struct snapshot_sock *s;
	size_t n, cap;
};

/* One tracing session: BPF attached, events read until told to stop. */
struct tracer {
	struct tw_loader loader;
	struct tw_syscalls calls;	/* --pid: the targets' socket calls */
	struct tw_output *out;
	struct tw_stats stats;
	const struct tw_options *opts;
	int pidfds[TW_MAX_PIDS];
	int live_targets;
	bool started;		/* attached: a summary is owed */
	struct analyzer *an;	/* timelines and explanations */
	/*
	 * Where events, explanations and finished timelines go: printed as
	 * they come (the default) or collected (scenario mode).
	 */
	struct analyzer_ops sink;
	struct tw_recorder *rec;	/* --record: set by the caller, or NULL */
	struct snapshot_buf snap;
	struct report *report;	/* --report: also gets the sink's, or NULL */
};

/* SIGINT/SIGTERM end tracer_run(); SIGPIPE is turned into EPIPE. */
void tracer_install_signals(void);
bool tracer_interrupted(void);
/* CLOCK_MONOTONIC in ns: the clock of the BPF side's event times. */
__u64 tracer_now_ns(void);

/* Attach and print the start line. Prints why and returns -errno on failure. */
int tracer_start(struct tracer *t, const struct tw_options *o, struct tw_output *out);
/*
 * With --pid, first list what the targets already hold (the snapshot);
 * then read events until a signal, --duration, or (with --pid, unless
 * --keep-going) every traced process has exited: the named ones and,
 * unless --no-follow, the children they forked after attach. Returns 0 or
 * -errno.
 */
int tracer_run(struct tracer *t);
/* Final loss check and counters into t->stats; detaches. */
void tracer_stop(struct tracer *t);

#endif
