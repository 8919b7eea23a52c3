// SPDX-License-Identifier: GPL-2.0
/*
 * vmcheck: tcpwatch's tracing tests, run inside a guest kernel by /init.
 * Every test (one file test_NAME.c per behaviour, the list generated from
 * the file names), or the one named by the argument, runs once with tp_btf
 * and once with --classic. The last line is what the host reads from the
 * serial console: "vmtest-result: N passed, N failed".
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define TCPWATCH	"/bin/tcpwatch"
#define TRACEFS_EVENTS	"/sys/kernel/tracing/events"
#define START_TIMEOUT_MS	60000	/* loading takes seconds under emulation */
#define STOP_TIMEOUT_MS		30000
#define AWAIT_TIMEOUT_MS	10000	/* for the kernel to finish an exchange */
#define SHOWN_LINES		150	/* of a failing run's output */

#define TEST(name) void test_##name(struct tctx *t, const struct mode *m);
#include "tests.inc"
#undef TEST

static const struct {
	const char *name;
	void (*fn)(struct tctx *t, const struct mode *m);
} tests[] = {
#define TEST(name) { #name, test_##name },
#include "tests.inc"
#undef TEST
};

static const struct mode modes[] = {
	{ .name = "tp_btf", .classic = false },
	{ .name = "classic", .classic = true },
};

/* The hooks tcpwatch attaches (README, "How it works"); the last only with --pid. */
static const char *const hooks[] = {
	"sock:inet_sock_set_state", "tcp:tcp_send_reset", "tcp:tcp_receive_reset",
	"tcp:tcp_retransmit_skb", "tcp:tcp_retransmit_synack",
	"sock:inet_sk_error_report", "tcp:tcp_destroy_sock", "sched:sched_process_fork",
};

#define NHOOKS		(sizeof(hooks) / sizeof(hooks[0]))
#define PID_ONLY_HOOKS	1

#define MISSING_HOOK	"tcpwatch: this kernel has no tracepoint "

bool check_failed(struct tctx *t, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	t->failures++;
	printf("vmtest:   %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return false;
}

const char *show(const struct ev *e, const char *key)
{
	const char *s = ev_str(e, key);

	if (s)
		return s;
	return ev_null(e, key) ? "null" : "(absent or not a string)";
}

bool kernel_has(enum kfeature f)
{
	static const struct { int major, minor; } since[] = {
		[KF_RST_REASON_AND_NO_SOCKET] = { 6, 10 },
	};
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > since[f].major ||
	       (major == since[f].major && minor >= since[f].minor);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A whole file as a string; empty if unreadable. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nb;

	if (!buf || !f)
		goto out;
	while ((len += fread(buf + len, 1, cap - 1 - len, f)) == cap - 1) {
		nb = realloc(buf, cap * 2);
		if (!nb)
			break;
		buf = nb;
		cap *= 2;
	}
out:
	if (f)
		fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf ? buf : strdup("");
}

/* Lines of text, prefixed, at most the last max of them. */
static void show_lines(const char *what, const char *text, int max)
{
	int total = 0, skip;
	const char *p;

	for (p = text; *p; p++)
		total += *p == '\n';
	skip = total > max ? total - max : 0;
	printf("vmtest:   --- %s (%d lines%s) ---\n", what, total,
	       skip ? ", the last shown" : "");
	for (p = text; *p && skip; p++)
		skip -= *p == '\n';
	while (*p) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);

		printf("vmtest:   | %.*s\n", n, p);
		p += n + (nl != NULL);
	}
}

static pid_t spawn(struct tw_run *r, bool verbose, const char *pids)
{
	const char *argv[8];
	int argc = 0;
	pid_t pid;

	argv[argc++] = TCPWATCH;
	argv[argc++] = "--json";
	if (r->mode->classic)
		argv[argc++] = "--classic";
	if (pids) {
		argv[argc++] = "--pid";
		argv[argc++] = pids;
	}
	if (verbose)
		argv[argc++] = "-v";
	argv[argc] = NULL;

	fflush(stdout);		/* or the child would print it again */
	pid = fork();
	if (pid)
		return pid;
	if (!freopen(r->out_path, "w", stdout) || !freopen(r->err_path, "w", stderr))
		_exit(127);
	execv(TCPWATCH, (char *const *)argv);
	_exit(127);
}

/* Wait up to ms for pid to exit; its wait status, or -1 if it did not. */
static int wait_exit(pid_t pid, int ms)
{
	int status;

	for (int waited = 0; waited <= ms; waited += 20) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			return status;
		if (w < 0)
			return -1;
		sleep_ms(20);
	}
	return -1;
}

static void kill_and_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Rerun, with -v, a tcpwatch that failed to start: libbpf's log says why. */
static void show_verbose_failure(struct tw_run *r, const char *pids)
{
	pid_t pid = spawn(r, true, pids);
	char *err;

	if (wait_exit(pid, START_TIMEOUT_MS) == -1) {
		kill(pid, SIGINT);
		if (wait_exit(pid, STOP_TIMEOUT_MS) == -1)
			kill_and_reap(pid);
	}
	err = slurp(r->err_path);
	show_lines("tcpwatch -v, standard error", err, SHOWN_LINES);
	free(err);
}

bool tw_start(struct tctx *t, const struct mode *m, const char *pids)
{
	static int seq;
	struct tw_run *r = &t->tw;
	const char *why;

	r->mode = m;
	r->pid_filter = pids != NULL;
	seq++;
	snprintf(r->out_path, sizeof(r->out_path), "/tmp/tw-%d.out", seq);
	snprintf(r->err_path, sizeof(r->err_path), "/tmp/tw-%d.err", seq);
	r->pid = spawn(r, false, pids);
	for (int waited = 0; waited <= START_TIMEOUT_MS; waited += 20) {
		char *err = slurp(r->err_path);
		bool started = !strncmp(err, "Tracing ", 8) || strstr(err, "\nTracing ");

		free(err);
		if (started)
			return true;
		if (waitpid(r->pid, NULL, WNOHANG) == r->pid) {
			r->pid = 0;
			break;
		}
		sleep_ms(20);
	}
	if (r->pid) {
		kill_and_reap(r->pid);
		r->pid = 0;
	}
	r->err = slurp(r->err_path);
	why = r->err[0] ? r->err : "no message";
	check_failed(t, __FILE__, __LINE__, "tcpwatch did not start: %.*s",
		     (int)strcspn(why, "\n"), why);
	show_verbose_failure(r, pids);
	return false;
}

static bool tracepoint_exists(const char *hook)
{
	char path[256];
	const char *colon = strchr(hook, ':');
	struct stat st;

	snprintf(path, sizeof(path), "%s/%.*s/%s", TRACEFS_EVENTS,
		 (int)(colon - hook), hook, colon + 1);
	return !stat(path, &st);
}

/* "tcpwatch: this kernel has no tracepoint CAT:NAME: ..." -> CAT:NAME */
static bool missing_hook_of(const char *line, int len, char *hook, size_t hlen)
{
	const char *p = line + strlen(MISSING_HOOK);
	const char *end = memchr(p, ':', (size_t)(line + len - p));

	if (strncmp(line, MISSING_HOOK, strlen(MISSING_HOOK)) || !end ||
	    !(end = memchr(end + 1, ':', (size_t)(line + len - end - 1))))
		return false;
	snprintf(hook, hlen, "%.*s", (int)(end - p), p);
	return true;
}

/*
 * The start line names the mode asked for; every other line of tcpwatch's
 * own is a hook the kernel lacks (tracefs agrees), and each hook the kernel
 * lacks has its line.
 */
static void check_stderr(struct tctx *t, const struct tw_run *r)
{
	char expect[128];
	int starts = 0;
	bool reported[NHOOKS] = { false };

	snprintf(expect, sizeof(expect), "(%s tracepoints)... Ctrl-C to end.",
		 r->mode->name);
	for (const char *p = r->err; *p;) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		char hook[128];

		if (!strncmp(p, "Tracing ", 8)) {
			starts++;
			CHECK(t, len >= (int)strlen(expect) &&
			      !strncmp(p + len - strlen(expect), expect, strlen(expect)),
			      "start line not in %s mode: %.*s", r->mode->name, len, p);
		} else if (!strncmp(p, "tcpwatch:", 9)) {
			if (CHECK(t, missing_hook_of(p, len, hook, sizeof(hook)) &&
				  !tracepoint_exists(hook),
				  "unexpected message: %.*s", len, p))
				for (size_t i = 0; i < NHOOKS; i++)
					reported[i] |= !strcmp(hook, hooks[i]);
		}
		p += len + (nl != NULL);
	}
	CHECK(t, starts == 1, "%d start lines, expected 1", starts);
	for (size_t i = 0; i < NHOOKS - (r->pid_filter ? 0 : PID_ONLY_HOOKS); i++)
		CHECK(t, reported[i] || tracepoint_exists(hooks[i]),
		      "this kernel has no tracepoint %s, and tcpwatch did not say so",
		      hooks[i]);
}

static void check_summary(struct tctx *t, const struct tw_run *r)
{
	const struct ev *last = r->evs.n ? &r->evs.v[r->evs.n - 1] : NULL;
	int summaries = 0;

	for (int i = 0; i < r->evs.n; i++)
		summaries += ev_is(&r->evs.v[i], "type", "summary");
	if (!CHECK(t, summaries == 1 && last && ev_is(last, "type", "summary"),
		   "%d summary lines, expected 1, last", summaries))
		return;
	CHECK(t, ev_int(last, "lost") == 0, "events lost: %lld", ev_int(last, "lost"));
	CHECK(t, ev_int(last, "malformed") == 0, "malformed events: %lld",
	      ev_int(last, "malformed"));
}

bool tw_await(struct tctx *t, const char *type, int port, int n)
{
	const struct ev *e[64];
	char why[256];

	for (int waited = 0; waited <= AWAIT_TIMEOUT_MS; waited += 20) {
		struct events so_far = { 0 };
		int got = 0;

		/* Flushed a poll at a time, whole lines: what is there parses. */
		if (!events_load(&so_far, t->tw.out_path, why, sizeof(why)))
			got = events_select(&so_far, type, port, e, 64);
		events_free(&so_far);
		if (got >= n)
			return true;
		sleep_ms(20);
	}
	return false;
}

bool tw_stop(struct tctx *t)
{
	struct tw_run *r = &t->tw;
	int failures = t->failures, status;
	char why[256];

	kill(r->pid, SIGINT);
	status = wait_exit(r->pid, STOP_TIMEOUT_MS);
	if (status == -1)
		kill_and_reap(r->pid);
	r->pid = 0;
	r->err = slurp(r->err_path);
	CHECK(t, status != -1, "tcpwatch did not stop within %d ms of SIGINT",
	      STOP_TIMEOUT_MS);
	CHECK(t, status == -1 || (WIFEXITED(status) && WEXITSTATUS(status) == 0),
	      "tcpwatch exit status %d, signal %d", WIFEXITED(status) ?
	      WEXITSTATUS(status) : -1, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	check_stderr(t, r);
	if (CHECK(t, !events_load(&r->evs, r->out_path, why, sizeof(why)),
		  "tcpwatch --json output: %s", why))
		check_summary(t, r);
	return t->failures == failures;
}

/* A failed test shows what its tcpwatch printed. */
static void tw_finish(struct tw_run *r, bool show)
{
	if (r->pid) {
		kill_and_reap(r->pid);
		r->pid = 0;
	}
	if (show && r->mode) {
		char *out = slurp(r->out_path);

		if (r->err)
			show_lines("tcpwatch standard error", r->err, SHOWN_LINES);
		show_lines("tcpwatch --json output", out, SHOWN_LINES);
		free(out);
	}
	events_free(&r->evs);
	free(r->err);
	r->err = NULL;
}

static bool run_test(size_t i, const struct mode *m)
{
	struct tctx t;
	struct timespec a, b;

	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "%s (%s)", tests[i].name, m->name);
	clock_gettime(CLOCK_MONOTONIC, &a);
	tests[i].fn(&t, m);
	clock_gettime(CLOCK_MONOTONIC, &b);
	tw_finish(&t.tw, t.failures > 0);
	printf("vmtest: %-4s %s %.1f s\n", t.failures ? "FAIL" : "ok", t.name,
	       (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	return !t.failures;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	struct utsname u;

	setvbuf(stdout, NULL, _IOLBF, 0);
	uname(&u);
	printf("vmtest: kernel %s\n", u.release);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if (argc > 1 && strcmp(argv[1], tests[i].name))
			continue;
		for (size_t j = 0; j < sizeof(modes) / sizeof(modes[0]); j++) {
			if (run_test(i, &modes[j]))
				passed++;
			else
				failed++;
		}
	}
	if (!passed && !failed) {
		printf("vmtest: FAIL no test named %s\n", argv[1]);
		failed++;
	}
	printf("vmtest-result: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
