/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_REPORT_H
#define TW_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "conn.h"
#include "explain.h"
#include "jsonl.h"
#include "options.h"
#include "output.h"

/*
 * The state-timeline report (--report FILE): a copy of everything the
 * tracer's sink sees (events, explanations, finished connections and, in
 * scenario mode, the scenario's actions), kept per connection and written
 * once tracing ends, as text, Markdown, HTML or JSON.
 *
 * Memory is bounded: past each limit below, what comes is counted, not
 * kept, and the report says so.
 */
#define REPORT_MAX_CONNS	20000	/* connection sections */
#define REPORT_CONN_EVENTS	256	/* events kept per connection */
#define REPORT_MAX_EVENTS	500000	/* events kept in all (32 bytes each) */
#define REPORT_MAX_EXPLAIN	20000
#define REPORT_MAX_ACTIONS	20000
#define REPORT_MAX_OTHER	1000	/* events tied to no connection */
#define REPORT_MAX_PENDING	65536	/* sockets followed at once */
#define REPORT_MAX_SCENARIOS	64

/* A scenario action in a connection's events (report_ev.type). */
#define REPORT_EV_ACTION	0xff

/* One event of a connection, compact: what describing it needs. */
struct report_ev {
	__u64 ts;
	__u32 reason;		/* as tw_event; ACTION: index in report.act */
	__s32 value;
	__u32 arg;
	__s32 arg2;
	__u8 type;		/* enum tw_event_type, or REPORT_EV_ACTION */
	__u8 old;
	__u8 new;
	__u8 flags;
};

struct report_conn {
	__u64 id;		/* the analyzer's; 0: known from its events alone */
	__u64 sk;
	struct conn_tuple t;
	__u32 pid;
	char comm[TW_COMM_LEN];
	enum conn_role role;
	int scn;		/* index in report.scn */
	__u64 first_ts;
	__u64 end_ts;		/* closed, or tracing ended */
	__u64 codes;		/* explanation codes (bit per code) */
	int retrans;		/* the kernel's count of its retransmitted segments */
	unsigned int retrans_unseen;	/* of them, those no event told about */
	int nhist;
	struct { __u64 ts; __u8 old, new; } hist[CONN_HIST];
	struct report_ev *ev;
	unsigned int nev, cap;
	unsigned int ev_dropped;
	/* While collecting. */
	bool stated;		/* a state change was seen */
	bool in_sk_map, in_tuple_map;
};

struct report_expl {
	__u64 ts;
	__u64 conn_id;
	int scn;
	enum tw_code code;
	__u32 pid;
	char comm[TW_COMM_LEN];
	struct conn_tuple t;
	char *text;		/* holds comm: escape on output */
};

/* A line of a scenario's action log. Every string is the scenario's. */
struct report_action {
	__u64 ts;
	int scn;
	long long pid;
	long long ret;
	long long cookie;	/* -1: none */
	char *role, *call, *arg, *err;	/* NULL when absent */
	struct conn_tuple t;
	bool has_local, has_remote;
	bool attached;		/* shown in a connection's timeline */
};

struct report_scenario {
	char *name;		/* NULL: not a scenario run */
	bool ended;
	int status;		/* the runner's exit status: 0 as expected */
	__u64 events, lost;
};

struct report_map;

struct report {
	char target[256];	/* what was traced, in words */
	__s64 mono_to_real_ns;	/* CLOCK_REALTIME - CLOCK_MONOTONIC */
	__u64 first_ts, last_ts;	/* the traced time (0: nothing) */
	/* Kept. */
	struct report_conn **conns;
	size_t nconns, conns_cap;
	struct report_expl *expl;
	size_t nexpl, expl_cap;
	struct report_action *act;
	size_t nact, act_cap;
	struct tw_event *other;	/* events tied to no connection */
	size_t nother;
	struct report_scenario scn[REPORT_MAX_SCENARIOS + 1];
	int nscn, cur;		/* scn[0]: outside any scenario */
	/* Counted, kept or not. */
	__u64 conns_seen;
	__u64 by_state[16];	/* connections by final state */
	__u64 by_code[CODE_MAX];
	__u64 events_kept;
	struct {
		__u64 conns, events, explanations, actions, other;
	} dropped;
	/* Collecting. */
	struct report_map *by_sk;	/* live sockets */
	struct report_map *by_tuple;	/* handed over to a timewait socket */
	struct report_conn *just_destroyed;
	struct report_conn *last;	/* of the latest event */
	struct tw_event held[8];	/* resets sent with no socket, to place */
	unsigned int nheld;
	size_t seg_conns, seg_acts;	/* where the current scenario began */
	struct analyzer_ops inner;	/* the sink report_attach() wrapped */
	struct tw_stats total;		/* the scenarios' counters, summed */
};

/* The report of a run with options o (o may be NULL: target set later). */
struct report *report_new(const struct tw_options *o);
void report_free(struct report *r);
/* Words for what was traced (a recording's: "recording FILE"). */
void report_set_target(struct report *r, const char *target);
/* Where wall-clock times come from (a recording's own offset). */
void report_set_clock(struct report *r, __s64 mono_to_real_ns);

/*
 * Make *ops hand everything to r as well as to what it did before: the
 * tracer's sink, so the report is one more consumer of it.
 */
void report_attach(struct report *r, struct analyzer_ops *ops);
/* What the sink gets; report_attach() routes them here. */
void report_event(struct report *r, const struct tw_event *e);
void report_explain(struct report *r, const struct explanation *x);
void report_conn_done(struct report *r, const struct conn *c, __u64 end_ns);
/* A line of a scenario's action log (scenario mode). */
void report_action(struct report *r, const struct jobject *o, __u64 ts_ns);
/* A tracing session begins (the time range starts then, events or not). */
void report_begin_session(struct report *r, __u64 now_ns);
/* A tracing session ended (after analyzer_end): settle what is left. */
void report_end_session(struct report *r, __u64 now_ns);
/* Scenario mode: the runs, one after the other. */
void report_scenario_begin(struct report *r, const char *name);
void report_scenario_end(struct report *r, int status, const struct tw_stats *st);

/*
 * --report FILE: *r becomes a new report for a run with options o (NULL
 * without --report). Prints why and returns -ENOMEM on failure.
 */
int report_open(struct report **r, const struct tw_options *o);
/*
 * --report at the end of a run: write it when traced is true (tracing
 * started), say where on standard error, and free it. Returns 0 or -errno.
 */
int report_close(struct report *r, const struct tw_options *o,
		 const struct tw_stats *st, bool traced);
/*
 * Check before tracing that a report can be written at path: a file is
 * created beside it and removed. Prints one line and returns -errno if not.
 */
int report_check_path(const char *path);
/* "text", "md", "html", "json": 0 and *fmt, or -1. */
int report_format_parse(const char *name, enum report_format *fmt);
/* From path's extension (.txt, .md, .html, .json): 0 and *fmt, or -1. */
int report_format_of_path(const char *path, enum report_format *fmt);
/*
 * Write the report to path (through a temporary file in the same directory,
 * renamed over path: never a half-written report). st: the tracer's counters
 * (lost events); NULL after scenarios: the sum of what report_scenario_end()
 * was given. Prints one line and returns -errno on failure.
 */
int report_write(const struct report *r, const char *path,
		 enum report_format fmt, const struct tw_stats *st);

/* ---- for the formats (report_*.c) ---------------------------------------- */

/* Every code but normal_close, time_wait and half_close: trouble. */
bool report_code_is_trouble(enum tw_code code);
bool report_conn_is_troubled(const struct report_conn *c);
/* The state it ended in (CLOSE: closed before tracing ended). */
int report_conn_final(const struct report_conn *c);
/* Still open (not CLOSE) when tracing ended. */
bool report_conn_open(const struct report_conn *c);
/* From its first to its last event (a lane's extent). */
void report_conn_span(const struct report_conn *c, __u64 *t0, __u64 *t1);

enum report_row_kind {
	ROW_STATE,
	ROW_RST_SENT,
	ROW_RST_RECV,
	ROW_RETRANS,
	ROW_ERROR,
	ROW_CALL,
	ROW_CALL_FAILED,
	ROW_ACTION,
	ROW_DESTROY,
	ROW_MAX,
};

/* One line of a connection's timeline. */
struct report_row {
	__u64 ts;
	enum report_row_kind kind;
	int state;		/* the state from here on */
	__u64 in_state;		/* ROW_STATE: time spent in it */
	bool open;		/* ROW_STATE: still in it when tracing ended */
	unsigned int seq;
	const struct report_ev *ev;	/* NULL for ROW_STATE */
	char what[320];		/* partly from the traced system: escape */
};

/* Connections that share a remote endpoint and a final state. */
struct report_group {
	int scn;
	char peer[160];		/* "to 10.0.0.1:443", "from 10.0.0.2 to :80" */
	int final;
	size_t first, n;	/* in report_view.conns */
	size_t troubled;
	__u64 t0, t1;		/* the group's time axis */
};

/* What the formats render: the report, sorted and indexed. */
struct report_view {
	const struct report *r;
	const struct tw_stats *st;
	/* By scenario, group (troubled first), troubled first, start time. */
	struct report_conn **conns;
	size_t nconns;
	struct report_group *groups;
	size_t ngroups;
	const struct report_expl **expl;	/* by scenario, connection, time */
	/* Explanations of trouble, by code (first seen first), then time. */
	const struct report_expl **findings;
	size_t nfindings;
	/* Explanations of no connection with a section, not trouble. */
	const struct report_expl **loose;
	size_t nloose;
	struct report_conn **by_id;		/* by scenario and id */
	struct report_row *rows;		/* report_rows()'s */
};

/* 0, or -ENOMEM. */
int report_view_build(struct report_view *v, const struct report *r,
		      const struct tw_stats *st);
void report_view_free(struct report_view *v);
/* A connection's timeline into v->rows; returns how many. */
size_t report_rows(struct report_view *v, const struct report_conn *c);
/* Its explanations: a pointer into v->expl, and how many. */
const struct report_expl **report_conn_expl(const struct report_view *v,
					    const struct report_conn *c,
					    size_t *n);
/*
 * The findings a code at a time, in their order (v->findings):
 *	for (struct report_findings_run run = { 0 };
 *	     report_findings_next(v, &run);)
 * gives run.x[0 .. run.n), the findings of run.code.
 */
struct report_findings_run {
	enum tw_code code;
	const struct report_expl **x;
	size_t n;
	size_t next;		/* in v->findings: where the next run begins */
};
bool report_findings_next(const struct report_view *v,
			  struct report_findings_run *run);
/* The connection section an explanation is about, or NULL. */
const struct report_conn *report_expl_conn(const struct report_view *v,
					   const struct report_expl *x);
/* One line about an action: "client: write() = -1 EPIPE". */
void report_action_str(char *buf, size_t len, const struct report_action *a);

/* Wall-clock time: HH:MM:SS.mmm, with the date when date is true. */
void report_time(const struct report *r, char *buf, size_t len, __u64 ts,
		 bool date);
/* ISO 8601 UTC, microseconds. */
void report_iso(const struct report *r, char *buf, size_t len, __u64 ts);
/* "41 µs", "5.46 ms", "1.00 s", "2 min 3 s". */
void report_dur(char *buf, size_t len, __u64 ns);
/* "127.0.0.1:80 -> 127.0.0.1:5000" and the like. */
void report_tuple_str(char *buf, size_t len, const struct conn_tuple *t);

/* An event of no traced connection, as every format lists it. */
struct report_event_words {
	char when[32];
	char tuple[160];
	char what[96];
};

void report_event_words(const struct report *r, const struct tw_event *e,
			struct report_event_words *w);
const char *report_role_name(enum conn_role role);
/*
 * "<sep>5 retransmissions (2 without an event)" for a connection header, ""
 * for a connection without any.
 */
void report_retrans_str(char *buf, size_t len, const struct report_conn *c,
			const char *sep);
/* "pid 12, 13", "scenario all", ...: the summary's target line. */
const char *report_target(const struct report *r);
const char *report_scn_name(const struct report *r, int scn);
/* The summary's lines. */
void report_range_str(const struct report *r, char *buf, size_t len);
void report_states_str(const struct report *r, char *buf, size_t len);
void report_codes_str(const struct report *r, char *buf, size_t len);
void report_events_str(const struct report_view *v, char *buf, size_t len);
bool report_dropped_any(const struct report *r);
void report_dropped_str(const struct report *r, char *buf, size_t len);

enum report_esc {
	ESC_TEXT,		/* printable ASCII; anything else '?' */
	ESC_MD,			/* Markdown: no formatting, links or HTML */
	ESC_HTML,		/* text and double-quoted attributes */
};

/* Write s (at most len bytes, to its NUL) escaped for esc. */
void report_put(FILE *f, enum report_esc esc, const char *s, size_t len);
void report_puts(FILE *f, enum report_esc esc, const char *s);

/* One per format. */
void report_text(FILE *f, struct report_view *v);
void report_md(FILE *f, struct report_view *v);
void report_html(FILE *f, struct report_view *v);
void report_json(FILE *f, struct report_view *v);

#endif
