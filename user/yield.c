// SPDX-License-Identifier: GPL-2.0
/*
 * The reader yields the CPU to the system it traces.
 *
 * Tracing every connection of a busy host, the reader needs a few percent
 * of a CPU. What it takes from the traced processes is more than that CPU
 * time: a client and a server in lock step leave the cores idle between
 * their turns, and a reader that preempts one of them stalls both. At
 * SCHED_IDLE the reader runs in those gaps instead (the bench's churn,
 * tracing everything: 87% of untraced throughput, against 79% with the
 * reader at normal priority in the same run).
 *
 * An idle-priority task can starve on a saturated host: a starved reader
 * loses events once the ring buffer fills, and does not see Ctrl-C. So a
 * guard thread at normal priority, which also takes SIGINT and SIGTERM,
 * looks every 10 ms at the ring's two positions and at the reader's last
 * round. With half the buffer waiting, no round for a second, or a signal
 * to stop, it puts the reader back at normal priority; once the reader
 * has come round with less than a sixteenth waiting, back to idle. The
 * guard alone changes the policy, so the two threads never race over it.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "tracer.h"
#include "yield.h"

#define TICK_NS		10000000ULL	/* how often the guard looks */
#define STALE_NS	1000000000ULL	/* a round this old: the reader is starved */
#define FRESH_NS	100000000ULL	/* a round this recent: it is running */

static int set_policy(pid_t tid, int policy)
{
	struct sched_param p = { .sched_priority = 0 };

	return sched_setscheduler(tid, policy, &p) ? -errno : 0;
}

/* Bytes the BPF side has handed over that the reader has not consumed. */
static __u64 backlog(const struct yield *y)
{
	unsigned long prod = __atomic_load_n(y->prod, __ATOMIC_ACQUIRE);
	unsigned long cons = __atomic_load_n(y->cons, __ATOMIC_ACQUIRE);

	return prod - cons;
}

static void *guard_main(void *arg)
{
	struct yield *y = arg;
	struct timespec tick = { .tv_nsec = TICK_NS };

	while (!__atomic_load_n(&y->stop, __ATOMIC_ACQUIRE)) {
		__u64 waiting = backlog(y);
		__u64 round = __atomic_load_n(&y->round_ns, __ATOMIC_ACQUIRE);
		__u64 age = tracer_now_ns() - round;
		bool stopping = tracer_interrupted();

		if (!y->boosted &&
		    (waiting >= y->size / 2 || age >= STALE_NS || stopping)) {
			if (!set_policy(y->reader, SCHED_OTHER)) {
				y->boosted = true;
				y->boosts++;
			}
		} else if (y->boosted && !stopping && waiting < y->size / 16 &&
			   age < FRESH_NS) {
			if (!set_policy(y->reader, SCHED_IDLE))
				y->boosted = false;
		}
		nanosleep(&tick, NULL);
	}
	return NULL;
}

/*
 * The ring's consumer and producer positions, each the first word of its
 * own page, mapped read-only: what the guard needs of it.
 */
static int map_positions(struct yield *y, int ring_fd)
{
	long page = sysconf(_SC_PAGESIZE);
	void *cons, *prod;

	cons = mmap(NULL, page, PROT_READ, MAP_SHARED, ring_fd, 0);
	if (cons == MAP_FAILED)
		return -errno;
	prod = mmap(NULL, page, PROT_READ, MAP_SHARED, ring_fd, page);
	if (prod == MAP_FAILED) {
		int err = -errno;

		munmap(cons, page);
		return err;
	}
	y->cons = cons;
	y->prod = prod;
	return 0;
}

static void unmap_positions(struct yield *y)
{
	long page = sysconf(_SC_PAGESIZE);

	if (y->cons)
		munmap((void *)y->cons, page);
	if (y->prod)
		munmap((void *)y->prod, page);
	y->cons = y->prod = NULL;
}

/*
 * Ctrl-C is taken by the guard: a signal handler waits for its thread to
 * run, and a starved reader would not. The reader sees the flag at its
 * next round, which the guard raises it to reach.
 */
static int start_guard(struct yield *y)
{
	sigset_t mask;
	int err;

	sigfillset(&mask);
	sigdelset(&mask, SIGINT);
	sigdelset(&mask, SIGTERM);
	pthread_sigmask(SIG_SETMASK, &mask, &y->reader_mask);
	err = pthread_create(&y->thread, NULL, guard_main, y);
	pthread_sigmask(SIG_SETMASK, &y->reader_mask, NULL);
	if (err)
		return -err;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	pthread_setname_np(y->thread, "tcpwatch-guard");
	y->guarding = true;
	return 0;
}

static const char *no_yield_reason(int err)
{
	return err == -EPERM ? "no CAP_SYS_NICE to come back from idle priority"
			     : strerror(-err);
}

int yield_start(struct yield *y, int ring_fd, __u64 ring_size, bool verbose)
{
	int err;

	memset(y, 0, sizeof(*y));
	y->size = ring_size;
	y->verbose = verbose;
	y->reader = (pid_t)syscall(SYS_gettid);
	y->round_ns = tracer_now_ns();
	/* Without it, a reader at idle priority could never be raised again. */
	if (!proc_has_cap(PROC_CAP_SYS_NICE)) {
		err = -EPERM;
		goto out_say;
	}
	err = map_positions(y, ring_fd);
	if (err)
		goto out_say;
	err = start_guard(y);
	if (err)
		goto out_unmap;
	err = set_policy(y->reader, SCHED_IDLE);
	if (err) {
		yield_stop(y);
		goto out_say;
	}
	y->on = true;
	return 0;

out_unmap:
	unmap_positions(y);
out_say:
	if (verbose)
		fprintf(stderr, "tcpwatch: the reader keeps normal priority: %s\n",
			no_yield_reason(err));
	return err;
}

void yield_round(struct yield *y)
{
	if (y->on)
		__atomic_store_n(&y->round_ns, tracer_now_ns(), __ATOMIC_RELEASE);
}

void yield_stop(struct yield *y)
{
	if (y->guarding) {
		__atomic_store_n(&y->stop, true, __ATOMIC_RELEASE);
		pthread_join(y->thread, NULL);
		y->guarding = false;
		/* A signal that came meanwhile is pending: the reader takes it now. */
		pthread_sigmask(SIG_SETMASK, &y->reader_mask, NULL);
	}
	/* What is left to do (the last drain, the report) is done at once. */
	if (y->on) {
		set_policy(y->reader, SCHED_OTHER);
		if (y->verbose)
			fprintf(stderr, "tcpwatch: the reader ran at idle priority, raised "
				"%u time(s) while its buffer filled or it fell behind\n",
				y->boosts);
	}
	y->on = false;
	unmap_positions(y);
}
