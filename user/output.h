/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_OUTPUT_H
#define TW_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#include "jsonl.h"
#include "options.h"
#include "tcpwatch.h"

struct tw_stats {
	__u64 by_type[TW_EV_MAX];
	__u64 events;
	__u64 lost;		/* the kernel's count: ring buffer full */
	__u64 filtered;		/* rejected by the in-kernel filter */
	__u64 malformed;	/* samples of the wrong size */
	__u64 evicted;		/* connections dropped from full user-space tables */
	__u64 skipped;		/* hook runs the kernel skipped (loader_skipped()) */
};

struct tw_output {
	FILE *f;
	const char *path;	/* for messages: the file, or "standard output" */
	enum tw_format format;
	__s64 mono_to_real_ns;	/* CLOCK_REALTIME - CLOCK_MONOTONIC at start */
	bool batched;		/* lines wait for output_flush() (not a terminal) */
	bool failed;		/* a write failed: errno saved in err */
	int err;
};

int output_open(struct tw_output *out, const struct tw_options *o);
/* Writes the lines so far (after each drain of the ring buffer). */
void output_flush(struct tw_output *out);
/* Flushes and closes; returns 0 or -errno of the first failed write. */
int output_close(struct tw_output *out);

void output_header(struct tw_output *out);
void output_event(struct tw_output *out, const struct tw_event *e);
void output_lost(struct tw_output *out, __u64 now_ns, __u64 lost, __u64 total);
void output_summary(struct tw_output *out, const struct tw_stats *st);
/* A line of a scenario's action log (what the application did). */
void output_action(struct tw_output *out, const struct jobject *o, __u64 ts_ns);
/* The end of one scenario: its runner's exit status, and the counts. */
void output_scenario(struct tw_output *out, const char *name, int status,
		     const struct tw_stats *st);

struct explanation;
struct conn;
/* An explanation (what happened and why), after the event that settled it. */
void output_explain(struct tw_output *out, const struct explanation *x);
/* A finished connection's timeline (JSON only: the text report is elsewhere). */
void output_connection(struct tw_output *out, const struct conn *c, __u64 end_ns);
struct snapshot_sock;
/* A socket that existed when tracing started. */
void output_snapshot(struct tw_output *out, const struct snapshot_sock *s);

/* Shared by the formats. */
void endpoint_str(char *buf, size_t len, __u16 family, const __u8 *addr,
		  __u16 port);
void addr_str(char *buf, size_t len, __u16 family, const __u8 *addr);
void clock_str(char *buf, size_t len, const struct tw_output *out,
	       __u64 ts_ns, bool iso);
/*
 * The same written at p, with no NUL, for a caller that builds a line in
 * place; each returns the end. p needs room for the longest text.
 */
#define ADDR_TEXT_MAX	46	/* INET6_ADDRSTRLEN, with inet_ntop()'s NUL */
#define CLOCK_TEXT_MAX	40	/* 31 bytes of date and time, then .uuuuuuZ */
char *addr_put(char *p, __u16 family, const __u8 *addr);
char *clock_put(char *p, const struct tw_output *out, __u64 ts_ns, bool iso);
/*
 * What snprintf("%s%s...") and snprintf("%u") write, cut the same way,
 * without parsing a format: for what is on every line. Strings end at NULL.
 */
void str_join(char *buf, size_t len, ...) __attribute__((sentinel));
void uint_str(char *buf, size_t len, unsigned int v);
/* What happened, in the text output's words: "RST sent (NO_SOCKET)". */
void event_describe(char *buf, size_t len, const struct tw_event *e);

/* One per format. */
void text_event(struct tw_output *out, const struct tw_event *e);
void text_header(struct tw_output *out);
void json_event(struct tw_output *out, const struct tw_event *e);
void json_lost(struct tw_output *out, __u64 now_ns, __u64 lost, __u64 total);
void json_summary(struct tw_output *out, const struct tw_stats *st);
void text_explain(struct tw_output *out, const struct explanation *x);
void json_explain(struct tw_output *out, const struct explanation *x);
void json_connection(struct tw_output *out, const struct conn *c, __u64 end_ns);
void text_snapshot(struct tw_output *out, const struct snapshot_sock *s);
/*
 * ,"comm_hex":"..." when the process name is not plain printable ASCII: a
 * JSON string cannot give every byte back as it was (recordings need it).
 */
void json_comm_hex(FILE *f, const char *comm);
/* exact: with comm_hex when the name is not plain ASCII (recordings). */
void json_snapshot(FILE *f, const struct tw_output *out,
		   const struct snapshot_sock *s, bool exact);
void text_action(struct tw_output *out, const struct jobject *o, __u64 ts_ns);
void json_action(struct tw_output *out, const struct jobject *o, __u64 ts_ns);
void json_scenario(struct tw_output *out, const char *name, int status,
		   const struct tw_stats *st);

#endif
