/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_YIELD_H
#define TW_YIELD_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

/*
 * The reader at idle priority, raised by a guard thread while the ring
 * buffer fills or the reader falls behind (yield.c says why).
 */
struct yield {
	/* The ring's positions (the kernel's unsigned longs), mapped read-only. */
	const unsigned long *cons, *prod;
	__u64 size;			/* the ring's data size in bytes */
	__u64 round_ns;			/* the reader's last round (CLOCK_MONOTONIC) */
	unsigned int boosts;		/* times the guard raised the reader */
	pid_t reader;			/* the reader's thread id */
	pthread_t thread;		/* the guard */
	sigset_t reader_mask;		/* the reader's signal mask before */
	bool guarding;			/* thread runs */
	bool boosted;			/* the reader is at normal priority (guard's) */
	bool stop;			/* the guard is to end */
	bool on;			/* the reader was put at idle priority */
	bool verbose;			/* -v: say how it went */
};

/*
 * Called by the reader thread, with the ring buffer's map: start the guard
 * and put the caller at idle priority. On failure (no CAP_SYS_NICE, which
 * raising it again needs), the reader keeps its priority; -v says why.
 * Returns 0 or -errno.
 */
int yield_start(struct yield *y, int ring_fd, __u64 ring_size, bool verbose);
/* The reader came round its loop: it is not starved. */
void yield_round(struct yield *y);
/* Stop the guard; the reader is back at normal priority for the rest. */
void yield_stop(struct yield *y);

#endif
