/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_OPTIONS_H
#define TW_OPTIONS_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

#define TW_MAX_PIDS	64
#define TW_MAX_PORTS	64

enum tw_format {
	TW_FMT_TEXT,
	TW_FMT_JSON,
};

/* --report's formats (user/report_*.c). */
enum report_format {
	REPORT_TEXT,
	REPORT_MD,
	REPORT_HTML,
	REPORT_JSON,
};

struct tw_options {
	pid_t pids[TW_MAX_PIDS];
	int npids;
	__u16 ports[TW_MAX_PORTS];
	int nports;
	int family;		/* 0 (both), AF_INET or AF_INET6 */
	enum tw_format format;
	const char *output;	/* NULL: stdout */
	const char *btf_path;	/* NULL: /sys/kernel/btf/vmlinux */
	const char *scenario;	/* --scenario NAME */
	const char *record;	/* --record FILE: the raw trace */
	const char *replay;	/* tcpwatch report FILE: the recording to read */
	const char *report;	/* --report FILE: NULL for none */
	enum report_format report_format;
	__u64 buffer_bytes;
	double duration;	/* seconds; 0: until stopped */
	double stuck;		/* CLOSE_WAIT/FIN_WAIT2 longer than this: report */
	bool follow;		/* follow children forked after attach */
	bool keep_going;	/* keep tracing after the targets exit */
	bool no_calls;		/* --pid without the targets' socket calls */
	bool classic;		/* classic tracepoints even where tp_btf works */
	bool no_yield;		/* the reader keeps normal priority (yield.c) */
	bool verbose;
};

/* Exit status of tcpwatch for a malformed command line. */
#define TW_EXIT_USAGE	2

/*
 * Fill *o from argv. Returns 0 to go on, or an exit status: 0 after --help
 * or --version, TW_EXIT_USAGE after printing a one-line error.
 */
int options_parse(struct tw_options *o, int argc, char **argv, bool *done);

#endif
