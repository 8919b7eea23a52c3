// SPDX-License-Identifier: GPL-2.0
/*
 * --scenario: run a bundled scenario program (scenarios/) under tracing and
 * print one timeline merging the kernel's events with the actions the
 * scenario's processes logged (JSON Lines, CLOCK_MONOTONIC stamps, the same
 * clock as the kernel's events).
 *
 * The runner is started first and waits on a pipe; tcpwatch attaches with
 * the runner's pid as the target (its forked client and server follow),
 * then lets it go, so nothing the scenario does happens before tracing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conn.h"
#include "explain.h"
#include "jsonl.h"
#include "output.h"
#include "record.h"
#include "report.h"
#include "scenario.h"
#include "tracer.h"

#define RUNNER_NAME	"tcpwatch-scenario"
#define WAIT_FD		3
#define MAX_SCENARIOS	64
#define MAX_LINE	4096

enum record_kind {
	REC_EVENT,		/* the kernel's (or a reconstructed one) */
	REC_ACTION,		/* a line of the scenario's action log */
	REC_EXPLAIN,
	REC_CONN,		/* a finished connection's timeline */
};

struct record {
	__u64 ts;
	enum record_kind kind;
	unsigned int seq;	/* arrival order, for equal stamps */
	union {
		struct tw_event ev;
		char *action;
		struct explanation *x;
		struct conn *c;
	};
};

struct timeline {
	struct record *r;
	size_t n, cap;
};

static int find_runner(char *path, size_t len)
{
	/* From the repository, from build/asan or build/fuzz, or installed. */
	static const char *const places[] = {
		"/build/scenarios/" RUNNER_NAME,
		"/../scenarios/" RUNNER_NAME,
		"/" RUNNER_NAME,
	};
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return -errno;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		if (strlen(exe) + strlen(places[i]) >= len)
			continue;
		strcpy(path, exe);
		strcat(path, places[i]);
		if (!access(path, X_OK))
			return 0;
	}
	fprintf(stderr, "tcpwatch: the scenario programs are not built (no %s%s): "
		"run make\n", exe, places[0]);
	return -ENOENT;
}

/* Run the runner with args; its stdout into out (may be NULL). */
static int runner_capture(char *const argv[], char *out, size_t len)
{
	int fds[2], status;
	size_t used = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	while (out && used + 1 < len &&
	       (n = read(fds[0], out + used, len - used - 1)) > 0)
		used += (size_t)n;
	if (out)
		out[used] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int scenario_list(void)
{
	char runner[PATH_MAX], *argv[] = { runner, "list", NULL };
	static char out[64 * 1024];
	int status;

	if (find_runner(runner, sizeof(runner)))
		return 1;
	status = runner_capture(argv, out, sizeof(out));
	fputs(out, stdout);
	return status ? 1 : 0;
}

static struct record *timeline_add(struct timeline *tl, __u64 ts,
				   enum record_kind kind)
{
	struct record *r;

	if (tl->n == tl->cap) {
		size_t cap = tl->cap ? tl->cap * 2 : 256;

		r = realloc(tl->r, cap * sizeof(*r));
		if (!r)
			return NULL;
		tl->r = r;
		tl->cap = cap;
	}
	r = &tl->r[tl->n];
	memset(r, 0, sizeof(*r));
	r->ts = ts;
	r->kind = kind;
	r->seq = (unsigned int)tl->n++;
	return r;
}

static void collect_event(void *ctx, const struct tw_event *e)
{
	struct record *r = timeline_add(ctx, e->ts_ns, REC_EVENT);

	if (r)
		r->ev = *e;
}

/* Copies of what the analyzer hands over: it reuses its own storage. */
static void collect_explain(void *ctx, const struct explanation *x)
{
	struct explanation *copy = malloc(sizeof(*copy));
	struct record *r;

	if (!copy)
		return;
	*copy = *x;
	r = timeline_add(ctx, x->ts_ns, REC_EXPLAIN);
	if (r)
		r->x = copy;
	else
		free(copy);
}

static void collect_connection(void *ctx, const struct conn *c, __u64 end_ns)
{
	struct conn *copy = malloc(sizeof(*copy));
	struct record *r;

	if (!copy || conn_copy(copy, c)) {
		free(copy);
		return;
	}
	r = timeline_add(ctx, end_ns, REC_CONN);
	if (r) {
		r->c = copy;
	} else {
		conn_hist_free(copy);
		free(copy);
	}
}

static bool timeline_action(struct timeline *tl, const char *line, __u64 ts)
{
	char *copy = strdup(line);
	struct record *r = copy ? timeline_add(tl, ts, REC_ACTION) : NULL;

	if (!r) {
		free(copy);
		return false;
	}
	r->action = copy;
	return true;
}

/*
 * The scenario's action log into the timeline (and the recording); a bad
 * line is reported, not fatal.
 */
static void read_actions(struct timeline *tl, const char *path, const char *name,
			 struct tw_recorder *rec)
{
	char line[MAX_LINE];
	struct jobject o;
	const char *err;
	int lineno = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		fprintf(stderr, "tcpwatch: scenario %s left no action log: %s\n", name,
			strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, "\n");
		long long ts;

		lineno++;
		line[len] = '\0';
		if (jsonl_parse(line, len, &o, &err) ||
		    (ts = jsonl_int(&o, "ts_ns", -1)) < 0) {
			fprintf(stderr, "tcpwatch: scenario %s action log line %d: %s\n",
				name, lineno, err ? err : "no ts_ns");
			continue;
		}
		if (!timeline_action(tl, line, (__u64)ts))
			break;
		record_action(rec, &o, (__u64)ts);
	}
	fclose(f);
}

static int cmp_record(const void *a, const void *b)
{
	const struct record *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	/* The same instant: the application's call before the kernel's answer. */
	if ((x->kind == REC_ACTION) != (y->kind == REC_ACTION))
		return x->kind == REC_ACTION ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void print_record(const struct record *r, struct tw_output *out)
{
	struct jobject o;
	const char *err;

	switch (r->kind) {
	case REC_EVENT:
		output_event(out, &r->ev);
		break;
	case REC_ACTION:
		if (!jsonl_parse(r->action, strlen(r->action), &o, &err))
			output_action(out, &o, r->ts);
		break;
	case REC_EXPLAIN:
		output_explain(out, r->x);
		break;
	case REC_CONN:
		output_connection(out, r->c, r->ts);
		break;
	}
}

static void print_timeline(struct timeline *tl, struct tw_output *out)
{
	qsort(tl->r, tl->n, sizeof(*tl->r), cmp_record);
	for (size_t i = 0; i < tl->n; i++)
		print_record(&tl->r[i], out);
}

/* --report: the action log, as the report's own copy. */
static void report_actions(struct report *r, const struct timeline *tl)
{
	struct jobject o;
	const char *err;

	for (size_t i = 0; r && i < tl->n; i++)
		if (tl->r[i].kind == REC_ACTION &&
		    !jsonl_parse(tl->r[i].action, strlen(tl->r[i].action), &o, &err))
			report_action(r, &o, tl->r[i].ts);
}

static void timeline_free(struct timeline *tl)
{
	for (size_t i = 0; i < tl->n; i++) {
		if (tl->r[i].kind == REC_ACTION)
			free(tl->r[i].action);
		else if (tl->r[i].kind == REC_EXPLAIN)
			free(tl->r[i].x);
		else if (tl->r[i].kind == REC_CONN) {
			conn_hist_free(tl->r[i].c);
			free(tl->r[i].c);
		}
	}
	free(tl->r);
	memset(tl, 0, sizeof(*tl));
}

/* The runner, waiting on fd WAIT_FD until tcpwatch has attached. */
static pid_t spawn_runner(const char *runner, const char *name, const char *log,
			  int *go_fd)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char fdstr[16];
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		/* dup2 clears close-on-exec; an fd already at WAIT_FD keeps it. */
		if (fds[0] == WAIT_FD)
			fcntl(WAIT_FD, F_SETFD, 0);
		else
			dup2(fds[0], WAIT_FD);
		/* stdout is tcpwatch's: the runner writes nothing there. */
		snprintf(fdstr, sizeof(fdstr), "%d", WAIT_FD);
		execl(runner, RUNNER_NAME, "run", name, "--log", log, "--wait-fd",
		      fdstr, (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	*go_fd = fds[1];
	return pid;
}

static int wait_runner(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* One scenario under tracing. Returns the runner's exit status (0: as expected). */
static int run_one(const struct tw_options *base, const char *runner,
		   const char *name, struct tw_output *out, struct tw_recorder *rec,
		   struct report *report)
{
	char log[] = "/tmp/tcpwatch-scenario-XXXXXX";
	struct tw_options o = *base;
	struct timeline tl = { NULL, 0, 0 };
	struct tracer t = {
		.sink = { .event = collect_event, .explain = collect_explain,
			  .conn_done = collect_connection, .ctx = &tl },
		.rec = rec,
		.report = report,
	};
	int go_fd = -1, logfd, status, err;
	pid_t pid;

	logfd = mkstemp(log);
	if (logfd < 0) {
		fprintf(stderr, "tcpwatch: cannot create the action log: %s\n",
			strerror(errno));
		return 1;
	}
	close(logfd);
	pid = spawn_runner(runner, name, log, &go_fd);
	if (pid < 0) {
		fprintf(stderr, "tcpwatch: cannot start %s: %s\n", runner, strerror(errno));
		unlink(log);
		return 1;
	}
	o.scenario = name;
	o.pids[0] = pid;
	o.npids = 1;
	o.follow = true;
	o.keep_going = false;
	record_scenario_start(rec, name, pid);
	if (report)
		report_scenario_begin(report, name);
	err = tracer_start(&t, &o, out);
	if (!err && write(go_fd, "g", 1) != 1)
		err = -errno;
	close(go_fd);
	if (!err)
		err = tracer_run(&t);
	if (tracer_interrupted() || err)
		kill(pid, SIGTERM);	/* the runner tears its namespaces down */
	status = wait_runner(pid);
	tracer_stop(&t);
	if (!err) {
		read_actions(&tl, log, name, rec);
		print_timeline(&tl, out);
		output_scenario(out, name, status, &t.stats);
		record_scenario_end(rec, name, status, &t.stats);
		report_actions(report, &tl);
		if (report)
			report_scenario_end(report, status, &t.stats);
	}
	timeline_free(&tl);
	unlink(log);
	return err ? 1 : status;
}

/* Names from `runner list`: NAME<TAB>summary per line. */
static int list_names(const char *runner, char *buf, size_t len, char **names)
{
	char *argv[] = { (char *)runner, "list", NULL }, *save = NULL;
	int n = 0;

	if (runner_capture(argv, buf, len))
		return -1;
	for (char *l = strtok_r(buf, "\n", &save); l && n < MAX_SCENARIOS;
	     l = strtok_r(NULL, "\n", &save)) {
		l[strcspn(l, "\t")] = '\0';
		if (*l)
			names[n++] = l;
	}
	return n;
}

int scenario_main(const struct tw_options *o)
{
	static char buf[64 * 1024];
	char runner[PATH_MAX], *names[MAX_SCENARIOS];
	struct tw_recorder rec;
	struct report *report;
	struct tw_output out;
	int n = 1, failed = 0;

	if (find_runner(runner, sizeof(runner)))
		return 1;
	if (strcmp(o->scenario, "all")) {
		names[0] = (char *)o->scenario;
	} else if ((n = list_names(runner, buf, sizeof(buf), names)) <= 0) {
		fprintf(stderr, "tcpwatch: cannot list the scenarios\n");
		return 1;
	}
	if (report_open(&report, o))
		return 1;
	if (output_open(&out, o)) {
		report_close(report, o, NULL, false);
		return 1;
	}
	if (record_open(&rec, o, &out)) {
		output_close(&out);
		report_close(report, o, NULL, false);
		return 1;
	}
	tracer_install_signals();
	output_header(&out);
	for (int i = 0; i < n && !tracer_interrupted(); i++)
		failed += run_one(o, runner, names[i], &out, &rec, report) != 0;
	if (n > 1)
		fprintf(stderr, "%d scenarios: %d as expected, %d not\n", n,
			n - failed, failed);
	/* Its counters: the sum of the scenarios'. */
	if (report_close(report, o, NULL, true))
		failed++;
	return output_close(&out) | record_close(&rec) || failed ? 1 : 0;
}

/* ---- for a replay ------------------------------------------------------- */

struct scenario_timeline {
	struct timeline tl;
};

struct scenario_timeline *scenario_timeline_new(void)
{
	return calloc(1, sizeof(struct scenario_timeline));
}

void scenario_timeline_free(struct scenario_timeline *st)
{
	if (!st)
		return;
	timeline_free(&st->tl);
	free(st);
}

struct analyzer_ops scenario_timeline_sink(struct scenario_timeline *st)
{
	return (struct analyzer_ops){ .event = collect_event,
		.explain = collect_explain, .conn_done = collect_connection,
		.ctx = &st->tl };
}

bool scenario_timeline_action(struct scenario_timeline *st, const char *line,
			      __u64 ts_ns)
{
	return timeline_action(&st->tl, line, ts_ns);
}

void scenario_timeline_print(struct scenario_timeline *st, struct tw_output *out)
{
	print_timeline(&st->tl, out);
}

void scenario_timeline_report(struct scenario_timeline *st, struct report *r)
{
	report_actions(r, &st->tl);
}
