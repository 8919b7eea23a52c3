/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_SCENARIO_H
#define TW_SCENARIO_H

#include <stdbool.h>
#include <linux/types.h>

#include "explain.h"
#include "options.h"
#include "output.h"

/* --scenario list: the bundled scenarios, one per line. Returns the exit status. */
int scenario_list(void);
/* --scenario NAME|all: run under tracing, print the merged timeline. */
int scenario_main(const struct tw_options *o);

/*
 * One scenario's timeline: what the tracer's sink gets and the lines of the
 * action log, printed in time order once the scenario is over. A replay of
 * a scenario recording builds it the same way.
 */
struct scenario_timeline;
struct scenario_timeline *scenario_timeline_new(void);
void scenario_timeline_free(struct scenario_timeline *st);
/* The sink that collects into st. */
struct analyzer_ops scenario_timeline_sink(struct scenario_timeline *st);
/* A line of the action log, a flat JSON object (copied); false when out of memory. */
bool scenario_timeline_action(struct scenario_timeline *st, const char *line,
			      __u64 ts_ns);
void scenario_timeline_print(struct scenario_timeline *st, struct tw_output *out);
struct report;
/* --report: the actions, in the order printed (after scenario_timeline_print). */
void scenario_timeline_report(struct scenario_timeline *st, struct report *r);

#endif
