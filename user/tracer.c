// SPDX-License-Identifier: GPL-2.0
/* The tracing session: attach, seed owners, read the ring buffer, detach. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "report.h"
#include "snapshot.h"
#include "tracer.h"
#include "yield.h"

#define POLL_MS		50	/* the BPF side wakes us only for a backlog */
#define LOST_CHECK_NS	1000000000ULL
/*
 * Events of the targets' last closes: a FIN answered at once, or once
 * retransmitted (the minimum RTO is 200 ms) when the first was lost.
 */
#define EXIT_GRACE_NS	500000000ULL

_Static_assert(sizeof(struct tw_event) == 112, "tw_event layout changed");

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

void tracer_install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A closed stdout shows up as EPIPE from write, handled there. */
	signal(SIGPIPE, SIG_IGN);
}

bool tracer_interrupted(void)
{
	return stop_signal != 0;
}

__u64 tracer_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;
	const struct tw_event *e = data;
	struct tw_event named;

	if (size < sizeof(*e) || e->type == 0 || e->type >= TW_EV_MAX) {
		t->stats.malformed++;
		return 0;
	}
	/* The ring is read-only: a copy, for the few events named here. */
	if ((e->flags & TW_F_TIMEWAIT_SK) && !e->owner_how) {
		named = *e;
		if (analyzer_timewait_owner(t->an, &named))
			e = &named;
	}
	t->stats.events++;
	t->stats.by_type[e->type]++;
	record_event(t->rec, e);
	t->sink.event(t->sink.ctx, e);
	analyzer_event(t->an, e);
	/* A closed pipe (| head) ends the run; it is not an error. */
	return t->out->failed ? -t->out->err : 0;
}

static void print_event(void *ctx, const struct tw_event *e)
{
	output_event(ctx, e);
}

static void print_explain(void *ctx, const struct explanation *x)
{
	output_explain(ctx, x);
}

static void print_connection(void *ctx, const struct conn *c, __u64 end_ns)
{
	output_connection(ctx, c, end_ns);
}

struct seed {
	struct tracer *t;
	pid_t pid;
	char comm[TW_COMM_LEN];
	__u32 netns;
	__u64 inodes[4096];	/* the target's sockets, sorted */
	size_t ninodes;
};

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static int seed_socket(__u64 ino, void *ctx)
{
	struct seed *s = ctx;

	if (s->ninodes < sizeof(s->inodes) / sizeof(s->inodes[0]))
		s->inodes[s->ninodes++] = ino;
	return loader_add_fd_owner(&s->t->loader, ino, (__u32)s->pid, s->comm);
}

static int seed_listener(__u16 port, __u64 ino, void *ctx)
{
	struct seed *s = ctx;

	if (!bsearch(&ino, s->inodes, s->ninodes, sizeof(ino), cmp_u64))
		return 0;	/* another process's listener */
	return loader_add_listener(&s->t->loader, s->netns, port, (__u32)s->pid,
				   s->comm);
}

/*
 * Sockets the targets already hold are owned through their inodes; their
 * listeners' future children through (netns, port).
 */
static bool target_alive(const struct tracer *t, int i);
static void take_snapshot(struct tracer *t);

static void seed_existing_sockets(struct tracer *t)
{
	static struct seed s;

	for (int i = 0; i < t->opts->npids; i++) {
		int err;

		/* Its pid may be another process's by now. */
		if (!target_alive(t, i))
			continue;
		memset(&s, 0, sizeof(s));
		s.t = t;
		s.pid = t->opts->pids[i];
		s.netns = proc_netns(s.pid);
		proc_comm(s.pid, s.comm, sizeof(s.comm));
		err = proc_for_each_socket(s.pid, seed_socket, &s);
		/* The listener tables list the namespace's every socket: only for one of ours. */
		if (err >= 0 && s.ninodes) {
			qsort(s.inodes, s.ninodes, sizeof(s.inodes[0]), cmp_u64);
			err = proc_for_each_listener(s.pid, seed_listener, &s);
		}
		if (err < 0 && t->opts->verbose)
			fprintf(stderr, "tcpwatch: cannot read the sockets of %d: %s\n",
				s.pid, strerror(-err));
	}
}

/*
 * A pidfd holds on to the process, not to its number: opened before
 * anything else, it tells whether the pid still names the process the user
 * named, or has been given to another since.
 */
static void open_pidfds(struct tracer *t)
{
	t->live_targets = 0;
	for (int i = 0; i < t->opts->npids; i++) {
		t->pidfds[i] = proc_pidfd(t->opts->pids[i]);
		if (t->pidfds[i] >= 0)
			t->live_targets++;
	}
}

static bool target_alive(const struct tracer *t, int i)
{
	struct pollfd p = { .fd = t->pidfds[i], .events = POLLIN };

	return p.fd >= 0 && poll(&p, 1, 0) == 0;
}

/*
 * Close the pidfd of every target that has exited, and stop tracing its
 * pid (the BPF side does at its exit, but it may have exited before that
 * was attached). True when no traced process is left: the named ones, and
 * the children they forked after attach, which the kernel side removes
 * from its targets as they exit.
 */
static bool targets_gone(struct tracer *t)
{
	for (int i = 0; i < t->opts->npids; i++) {
		if (t->pidfds[i] < 0 || target_alive(t, i))
			continue;
		close(t->pidfds[i]);
		t->pidfds[i] = -1;
		t->live_targets--;
		loader_forget_target(&t->loader, t->opts->pids[i]);
	}
	if (!t->opts->npids || t->live_targets > 0)
		return false;
	return !t->loader.exits_seen || loader_no_targets(&t->loader);
}

static void check_lost(struct tracer *t)
{
	__u64 lost = loader_counter(&t->loader, TW_CNT_LOST);

	if (lost > t->stats.lost) {
		__u64 now = tracer_now_ns();

		record_lost(t->rec, now, lost - t->stats.lost, lost);
		output_lost(t->out, now, lost - t->stats.lost, lost);
		t->stats.lost = lost;
	}
}

static void print_start(const struct tracer *t)
{
	const struct tw_options *o = t->opts;

	fprintf(stderr, "Tracing TCP");
	if (o->scenario) {
		fprintf(stderr, " connections of scenario %s (pid %d)", o->scenario,
			o->pids[0]);
	} else if (o->npids) {
		fprintf(stderr, " connections of pid");
		for (int i = 0; i < o->npids; i++)
			fprintf(stderr, "%s%d", i ? "," : " ", o->pids[i]);
	} else {
		fprintf(stderr, " connections of every process");
	}
	if (o->nports) {
		fprintf(stderr, ", port");
		for (int i = 0; i < o->nports; i++)
			fprintf(stderr, "%s%u", i ? "," : " ", o->ports[i]);
	}
	fprintf(stderr, " (%s tracepoints%s)... Ctrl-C to end.\n",
		t->loader.classic ? "classic" : "tp_btf",
		o->no_calls ? ", socket calls not traced" : "");
}

int tracer_start(struct tracer *t, const struct tw_options *o, struct tw_output *out)
{
	__u64 begin;
	int err;

	t->opts = o;
	t->out = out;
	memset(t->pidfds, -1, sizeof(t->pidfds));
	if (!t->sink.event)
		t->sink = (struct analyzer_ops){ .event = print_event,
			.explain = print_explain, .conn_done = print_connection,
			.ctx = out };
	begin = tracer_now_ns();
	record_start(t->rec, begin);
	if (t->report) {
		report_attach(t->report, &t->sink);
		report_begin_session(t->report, begin);
	}
	t->an = analyzer_new(o, &t->sink);
	if (!t->an) {
		fprintf(stderr, "tcpwatch: out of memory\n");
		return -ENOMEM;
	}
	open_pidfds(t);
	err = loader_start(&t->loader, o);
	if (!err && o->npids > 0)
		err = syscalls_attach(&t->calls, &t->loader);
	if (!err)
		err = loader_map_events(&t->loader, handle_event, t);
	if (err)
		return err;
	t->started = true;
	/* Gone before the exit hook was attached, or before a pidfd held them. */
	for (int i = 0; i < o->npids; i++)
		if (t->pidfds[i] < 0)
			loader_forget_target(&t->loader, o->pids[i]);
	targets_gone(t);
	seed_existing_sockets(t);
	take_snapshot(t);
	if (t->rec)
		sockdiag_record(record_diag, t->rec);
	print_start(t);
	return 0;
}

static void snapshot_keep(const struct snapshot_sock *s, void *ctx)
{
	struct tracer *t = ctx;
	struct snapshot_buf *b = &t->snap;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct snapshot_sock *grown = realloc(b->s, cap * sizeof(*grown));

		if (!grown)
			return;
		b->s = grown;
		b->cap = cap;
	}
	b->s[b->n++] = *s;
}

/* Whether the pid of a snapshot record still names a target it was read from. */
static bool snapshot_valid(const struct tracer *t, const struct snapshot_sock *s)
{
	for (int i = 0; i < t->opts->npids; i++)
		if ((__u32)t->opts->pids[i] == s->pid)
			return target_alive(t, i);
	return !s->pid;	/* a timewait socket */
}

/*
 * What the targets hold once tracing is attached (so nothing falls between
 * the snapshot and the stream), before the start line: what happens after
 * that line is in the stream only.
 */
static void take_snapshot(struct tracer *t)
{
	int err;

	if (!t->opts->npids || t->opts->scenario)
		return;
	for (int i = 0; i < t->opts->npids; i++)
		if (target_alive(t, i))
			sockdiag_remember_netns(proc_netns(t->opts->pids[i]),
						t->opts->pids[i]);
	err = snapshot_take(t->opts->pids, t->opts->npids, tracer_now_ns(),
			    snapshot_keep, t);
	if (err < 0 && t->opts->verbose)
		fprintf(stderr, "tcpwatch: cannot list the sockets held at attach: %s\n",
			strerror(-err));
}

/*
 * The snapshot, before the first event is read: printed, recorded, and
 * handed to the analyzer, whose detectors see it at once. A target that
 * exited meanwhile may have had its pid reused: its part is dropped.
 */
static void emit_snapshot(struct tracer *t)
{
	struct snapshot_buf *b = &t->snap;

	for (size_t i = 0; i < b->n; i++) {
		if (!snapshot_valid(t, &b->s[i]))
			continue;
		record_snapshot(t->rec, t->out, &b->s[i]);
		output_snapshot(t->out, &b->s[i]);
		analyzer_snapshot(t->an, &b->s[i]);
	}
	free(b->s);
	memset(b, 0, sizeof(*b));
}

int tracer_run(struct tracer *t)
{
	__u64 start = tracer_now_ns(), next_lost = start + LOST_CHECK_NS;
	__u64 deadline = ~0ULL, gone_at = 0, now;
	struct yield y = { .on = false };
	int err = 0;

	if (t->opts->duration > 0)
		deadline = start + (__u64)(t->opts->duration * 1e9);
	emit_snapshot(t);
	output_flush(t->out);
	if (!t->opts->no_yield)
		yield_start(&y, loader_events_fd(&t->loader),
			    t->opts->buffer_bytes, t->opts->verbose);
	while (!stop_signal) {
		/*
		 * poll() returns early only for a forced wake-up; it consumes
		 * just the rings that woke it, so drain what came in quietly.
		 */
		err = ring_buffer__poll(t->loader.rb, POLL_MS);
		if (err >= 0)
			err = ring_buffer__consume(t->loader.rb);
		record_flush(t->rec);
		output_flush(t->out);
		yield_round(&y);
		if (t->out->failed) {
			err = 0;	/* a closed pipe ends the run; main says so */
			break;
		}
		if (err < 0 && err != -EINTR)
			break;
		err = 0;
		if (tracer_now_ns() >= next_lost) {
			check_lost(t);
			next_lost = tracer_now_ns() + LOST_CHECK_NS;
		}
		now = tracer_now_ns();
		if (analyzer_tick_due(t->an, now)) {
			record_tick(t->rec, now);
			analyzer_tick(t->an, now);
		}
		if (!gone_at && !t->opts->keep_going && targets_gone(t))
			gone_at = tracer_now_ns();
		if (tracer_now_ns() >= deadline ||
		    (gone_at && tracer_now_ns() >= gone_at + EXIT_GRACE_NS))
			break;
	}
	yield_stop(&y);
	if (err || t->out->failed)
		return err;
	ring_buffer__consume(t->loader.rb);
	now = tracer_now_ns();
	record_end(t->rec, now);
	analyzer_end(t->an, now);
	return 0;
}

void tracer_stop(struct tracer *t)
{
	/* One instant for the recording and the report: a replay gives the same. */
	__u64 stop_ns = tracer_now_ns();

	if (t->started) {
		check_lost(t);
		t->stats.filtered = loader_counter(&t->loader, TW_CNT_FILTERED);
		t->stats.skipped = loader_skipped(&t->loader);
		record_stop(t->rec, &t->stats, stop_ns);
	}
	if (t->an)
		t->stats.evicted = analyzer_evicted(t->an);
	sockdiag_record(NULL, NULL);
	free(t->snap.s);
	memset(&t->snap, 0, sizeof(t->snap));
	for (int i = 0; i < t->opts->npids; i++)
		if (t->pidfds[i] >= 0)
			close(t->pidfds[i]);
	syscalls_stop(&t->calls);
	loader_stop(&t->loader);
	if (t->report)
		report_end_session(t->report, stop_ns);
	analyzer_free(t->an);
	t->an = NULL;
}
