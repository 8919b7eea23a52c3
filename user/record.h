/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_RECORD_H
#define TW_RECORD_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>

#include "jsonl.h"
#include "options.h"
#include "output.h"
#include "snapshot.h"
#include "sockdiag.h"
#include "tcpwatch.h"

/*
 * --record FILE: the raw trace as JSON Lines (the schema is in README.md),
 * everything `tcpwatch report FILE` needs to give the same explanations
 * again on any machine: the kernel's events with every field, the
 * snapshot, the analyzer's clock ticks and the answers it got from
 * sock_diag, the scenario actions. One line per write, flushed at once: a
 * crash or kill -9 loses at most the line being written.
 */
#define RECORD_VERSION	1

struct tw_recorder {
	FILE *f;		/* NULL: not recording */
	const char *path;
	bool failed;		/* a write failed: errno saved in err, said once */
	int err;
};

/*
 * Create o->record and write the header (what was traced, with which
 * settings, and the clock offset of out so that times print the same).
 * Prints why and returns -errno on failure; does nothing without --record.
 */
int record_open(struct tw_recorder *r, const struct tw_options *o,
		const struct tw_output *out);
/* Writes the lines so far (after each drain of the ring buffer). */
void record_flush(struct tw_recorder *r);
/* Flush and close; 0, or -errno of the first failed write. */
int record_close(struct tw_recorder *r);

/* Each writes one line; a NULL or closed recorder writes nothing. */
void record_event(struct tw_recorder *r, const struct tw_event *e);
void record_snapshot(struct tw_recorder *r, const struct tw_output *out,
		     const struct snapshot_sock *s);
/* A tracing session begins (its analyzer is new). */
void record_start(struct tw_recorder *r, __u64 now_ns);
void record_tick(struct tw_recorder *r, __u64 now_ns);
void record_end(struct tw_recorder *r, __u64 now_ns);
void record_lost(struct tw_recorder *r, __u64 now_ns, __u64 lost, __u64 total);
/* The kernel's counters, once tracing has stopped at now_ns. */
void record_stop(struct tw_recorder *r, const struct tw_stats *st, __u64 now_ns);
void record_action(struct tw_recorder *r, const struct jobject *o, __u64 ts_ns);
void record_scenario_start(struct tw_recorder *r, const char *name, pid_t pid);
void record_scenario_end(struct tw_recorder *r, const char *name, int status,
			 const struct tw_stats *st);
/* A sock_diag question and its answer (for sockdiag_record(); ctx: the recorder). */
void record_diag(void *ctx, const struct diag_query *q, const struct diag_answer *a);

#endif
