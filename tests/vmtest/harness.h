/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VMTEST_HARNESS_H
#define VMTEST_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "events.h"

/* How tcpwatch attaches: every test runs once in each mode. */
struct mode {
	const char *name;	/* as the start line says: "tp_btf", "classic" */
	bool classic;		/* run with --classic */
};

/* tcpwatch --json, running in the background. */
struct tw_run {
	pid_t pid;
	const struct mode *mode;
	bool pid_filter;
	char out_path[64];
	char err_path[64];
	char *err;		/* its standard error, once stopped */
	struct events evs;	/* its standard output, once stopped */
};

/* One test in one mode, and its tcpwatch (shown if the test fails). */
struct tctx {
	char name[64];
	int failures;
	struct tw_run tw;
};

bool check_failed(struct tctx *t, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* True when cond holds; otherwise says where and why, and is false. */
#define CHECK(t, cond, fmt, ...)						\
	((cond) ? true : check_failed(t, __FILE__, __LINE__, fmt, ##__VA_ARGS__))

/* A string field of an event for messages: its value, "null" or "(absent)". */
const char *show(const struct ev *e, const char *key);

/*
 * What the running kernel's TCP tracepoints can show, from its version:
 * the expectation, independent of how tcpwatch detects it.
 */
enum kfeature {
	/*
	 * tcp_send_reset carries the reason (enum sk_rst_reason), and fires
	 * for resets sent with no socket or by a timewait socket too (before,
	 * only full sockets' resets were traced): both came in Linux 6.10.
	 */
	KF_RST_REASON_AND_NO_SOCKET,
};

bool kernel_has(enum kfeature f);

/*
 * Start tcpwatch --json (with --pid pids unless NULL) in t->tw and wait for
 * its start line. A failure to start is shown with libbpf's log (a second
 * run with -v).
 */
bool tw_start(struct tctx *t, const struct mode *m, const char *pids);

/*
 * Wait until tcpwatch has written n kernel events of type on port (or ten
 * seconds have passed: false, and the test's checks say what is missing).
 * A peer's result comes when its last call returns, not when the kernel is
 * done: a loopback close's last segments may be processed later, by
 * ksoftirqd, and would miss a tcpwatch stopped at once.
 */
bool tw_await(struct tctx *t, const char *type, int port, int n);

/*
 * Stop it (SIGINT) and read what it printed into t->tw. Checks what every
 * run must show: exit status 0; the start line in the mode asked for; no
 * message but "this kernel has no tracepoint" for a hook this kernel really
 * lacks, and that one for each; valid JSON ending in one summary; nothing
 * lost.
 */
bool tw_stop(struct tctx *t);

#endif
