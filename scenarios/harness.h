/*
 * The process tree of one run: the harness (the process tcpwatch attaches to)
 * forks one process per role, and the three exchange named steps through
 * pipes so that each action happens at a defined point of the TCP exchange.
 */
#ifndef TW_HARNESS_H
#define TW_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "actlog.h"
#include "netns.h"

#define STEP_NAME_MAX		28
#define STEP_PENDING_MAX	16
#define STEP_TIMEOUT_MS		12000
/* fds below this get their addresses remembered for the action log */
#define ENDPOINT_MAX		1024

/* A message between processes; small enough for an atomic pipe write. */
struct step {
	char name[STEP_NAME_MAX];
	uint32_t value;
};

struct role_proc {
	pid_t pid;
	int pidfd;
	int exit_code;		/* 0 as expected, 1 expectation failed, 2 setup failed */
	bool running;
	bool killed;		/* by the harness, as part of the scenario */
};

struct run {
	enum role_id self;
	int log_fd;
	bool verbose;
	int failures;		/* expectations failed in this process */
	bool setup_failed;	/* in this process */
	bool log_failed;
	struct net net;
	int inbox[ROLE_COUNT][2];
	struct role_proc proc[ROLE_COUNT];
	struct step pending[STEP_PENDING_MAX];
	int npending;
	struct endpoint ep[ENDPOINT_MAX];
};

typedef void role_fn(struct run *r);

const char *role_name(enum role_id role);
const char *signal_name(int sig);
uint64_t now_ns(void);
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int setup_error(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void run_debug(const struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

int run_open(struct run *r, const char *log_path, bool verbose);
int run_wait_start(struct run *r, int wait_fd);
int run_roles(struct run *r, role_fn *server, role_fn *client);
void step_post(struct run *r, enum role_id to, const char *name, uint32_t value);
bool step_wait(struct run *r, const char *name, uint32_t *value);
bool run_sleep(struct run *r, unsigned int ms);
bool run_reap(struct run *r, enum role_id role);
void run_finish(struct run *r);
int run_exit_code(struct run *r);
void run_close(struct run *r);

#endif
