/*
 * The harness process and its roles: fork with a parent-death signal, named
 * steps between processes, bounded waits, and the run's exit code.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "expect.h"
#include "harness.h"
#include "netfault.h"

enum wake {
	WAKE_INBOX,	/* a step arrived */
	WAKE_CHILD,	/* a role exited as it should */
	WAKE_TIMEOUT,
	WAKE_ABORT,	/* signal, setup error or a failed role */
};

static volatile sig_atomic_t stop_signal;

static const char *const role_names[ROLE_COUNT] = {
	[ROLE_HARNESS] = "harness",
	[ROLE_CLIENT] = "client",
	[ROLE_SERVER] = "server",
};

const char *role_name(enum role_id role)
{
	if ((unsigned int)role >= ROLE_COUNT)
		return "unknown";
	return role_names[role];
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line: the processes of a run share stderr. */
	if (write(STDERR_FILENO, line, n) != n)
		return;
}

const char *signal_name(int sig)
{
	static char name[16];
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(name, sizeof(name), "SIG%s", abbrev);
	else
		snprintf(name, sizeof(name), "signal %d", sig);
	return name;
}

int setup_error(struct run *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say("tcpwatch-scenario: setup failed: %s", msg);
	r->setup_failed = true;
	return -1;
}

void run_debug(const struct run *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!r->verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say("[%s %d] %s", role_name(r->self), (int)getpid(), msg);
}

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

int run_open(struct run *r, const char *log_path, bool verbose)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	int role;

	memset(r, 0, sizeof(*r));
	r->self = ROLE_HARNESS;
	r->verbose = verbose;
	r->proc[ROLE_HARNESS].pid = getpid();
	net_init(&r->net);
	for (role = 0; role < ROLE_COUNT; role++) {
		r->proc[role].pidfd = -1;
		r->inbox[role][0] = r->inbox[role][1] = -1;
	}

	/* No SA_RESTART: a signal must wake the harness from poll(). */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* Writing to a wire process that died must fail, not kill us. */
	signal(SIGPIPE, SIG_IGN);

	r->log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			 0644);
	if (r->log_fd < 0)
		return setup_error(r, "cannot open log %s: %s", log_path,
				   strerror(errno));
	for (role = 0; role < ROLE_COUNT; role++)
		if (pipe2(r->inbox[role], O_CLOEXEC))
			return setup_error(r, "pipe: %s", strerror(errno));
	return 0;
}

int run_wait_start(struct run *r, int wait_fd)
{
	ssize_t n;
	char byte;

	do
		n = read(wait_fd, &byte, 1);
	while (n < 0 && errno == EINTR && !stop_signal);
	close(wait_fd);
	if (n == 1)
		return 0;
	if (stop_signal)
		return -1;
	if (n == 0)
		return setup_error(r, "--wait-fd %d was closed before the start byte",
				   wait_fd);
	return setup_error(r, "cannot read --wait-fd %d: %s", wait_fd,
			   strerror(errno));
}

static void __attribute__((noreturn))
role_main(struct run *r, enum role_id role, role_fn *fn)
{
	int other;

	/* The harness cleans up on exit; its roles must not outlive it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != r->proc[ROLE_HARNESS].pid)
		_exit(2);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	/* Roles behave like applications: SIGPIPE kills unless caught. */
	signal(SIGPIPE, SIG_DFL);

	/* Named by role, so that what tcpwatch says reads "client (pid N)". */
	prctl(PR_SET_NAME, role_names[role]);
	r->self = role;
	r->npending = 0;
	for (other = 0; other < ROLE_COUNT; other++)
		if (r->proc[other].pidfd >= 0)
			close(r->proc[other].pidfd);
	if (!net_enter(r, role))
		fn(r);
	_exit(r->setup_failed ? 2 : r->failures ? 1 : 0);
}

static int run_spawn(struct run *r, enum role_id role, role_fn *fn)
{
	struct role_proc *p = &r->proc[role];
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return setup_error(r, "fork: %s", strerror(errno));
	if (pid == 0)
		role_main(r, role, fn);

	p->pid = pid;
	p->pidfd = pidfd_open(pid, 0);
	if (p->pidfd < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return setup_error(r, "pidfd_open: %s", strerror(errno));
	}
	p->running = true;
	run_debug(r, "%s is pid %d", role_name(role), (int)pid);
	return 0;
}

/* Forks the scenario's two roles, the server first. */
int run_roles(struct run *r, role_fn *server, role_fn *client)
{
	if (run_spawn(r, ROLE_SERVER, server))
		return -1;
	return run_spawn(r, ROLE_CLIENT, client);
}

void step_post(struct run *r, enum role_id to, const char *name, uint32_t value)
{
	struct step s = { .value = value };

	snprintf(s.name, sizeof(s.name), "%s", name);
	run_debug(r, "step '%s' (%u) -> %s", s.name, value, role_name(to));
	if (write(r->inbox[to][1], &s, sizeof(s)) != sizeof(s))
		setup_error(r, "cannot post step '%s': %s", s.name,
			    strerror(errno));
}

static bool step_take(struct run *r, const char *name, uint32_t *value)
{
	int i;

	for (i = 0; i < r->npending; i++) {
		if (strcmp(r->pending[i].name, name))
			continue;
		if (value)
			*value = r->pending[i].value;
		memmove(&r->pending[i], &r->pending[i + 1],
			(r->npending - i - 1) * sizeof(r->pending[0]));
		r->npending--;
		return true;
	}
	return false;
}

static bool step_receive(struct run *r)
{
	struct step s;

	if (read(r->inbox[r->self][0], &s, sizeof(s)) != sizeof(s)) {
		setup_error(r, "cannot read a step: %s", strerror(errno));
		return false;
	}
	if (r->npending == STEP_PENDING_MAX) {
		setup_error(r, "too many unclaimed steps");
		return false;
	}
	s.name[STEP_NAME_MAX - 1] = '\0';
	r->pending[r->npending++] = s;
	return true;
}

/* Turns a role's wait status into its contribution to the exit code. */
static void child_exited(struct run *r, enum role_id role, int status)
{
	struct role_proc *p = &r->proc[role];

	p->running = false;
	close(p->pidfd);
	p->pidfd = -1;
	if (WIFEXITED(status)) {
		p->exit_code = WEXITSTATUS(status) > 2 ? 2 : WEXITSTATUS(status);
	} else if (p->killed) {
		p->exit_code = 0;
	} else {
		say("expectation failed: %s: killed by %s", role_name(role),
		    signal_name(WTERMSIG(status)));
		p->exit_code = 1;
	}
	run_debug(r, "%s exited, code %d", role_name(role), p->exit_code);
}

static bool reap(struct run *r, enum role_id role)
{
	int status;

	if (waitpid(r->proc[role].pid, &status, 0) < 0) {
		setup_error(r, "waitpid: %s", strerror(errno));
		return false;
	}
	child_exited(r, role, status);
	return r->proc[role].exit_code == 0;
}

static bool any_running(const struct run *r)
{
	return r->proc[ROLE_CLIENT].running || r->proc[ROLE_SERVER].running;
}

static int ms_until(uint64_t deadline)
{
	uint64_t now = now_ns();

	return now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
}

/*
 * Sleeps until the deadline, a step arrives (if inbox), a signal stops the
 * harness, or - in the harness - a role exits; a role that failed makes
 * waiting on pointless.
 */
static enum wake wait_event(struct run *r, uint64_t deadline, bool inbox)
{
	/* Slot 0 is the inbox; the others are the roles' pidfds. */
	struct pollfd pfd[ROLE_COUNT];
	int i, ready;

	for (;;) {
		if (stop_signal || r->setup_failed)
			return WAKE_ABORT;
		pfd[0] = (struct pollfd){ inbox ? r->inbox[r->self][0] : -1,
					  POLLIN, 0 };
		for (i = ROLE_CLIENT; i < ROLE_COUNT; i++)
			pfd[i] = (struct pollfd){ r->self == ROLE_HARNESS &&
						  r->proc[i].running ?
						  r->proc[i].pidfd : -1,
						  POLLIN, 0 };
		ready = poll(pfd, ROLE_COUNT, ms_until(deadline));
		if (ready < 0 && errno != EINTR) {
			setup_error(r, "poll: %s", strerror(errno));
			return WAKE_ABORT;
		}
		if (ready == 0 && ms_until(deadline) == 0)
			return WAKE_TIMEOUT;
		if (ready > 0 && pfd[0].revents)
			return WAKE_INBOX;
		for (i = ROLE_CLIENT; ready > 0 && i < ROLE_COUNT; i++)
			if (pfd[i].revents)
				return reap(r, i) ? WAKE_CHILD : WAKE_ABORT;
	}
}

bool step_wait(struct run *r, const char *name, uint32_t *value)
{
	uint64_t deadline = now_ns() + STEP_TIMEOUT_MS * 1000000ull;

	for (;;) {
		if (step_take(r, name, value))
			return true;
		switch (wait_event(r, deadline, true)) {
		case WAKE_INBOX:
			if (!step_receive(r))
				return false;
			break;
		case WAKE_CHILD:
			/* With every role gone only steps already sent can come. */
			if (!any_running(r))
				deadline = now_ns();
			break;
		case WAKE_TIMEOUT:
			return expect_true(r, false, "step '%s' did not happen", name);
		case WAKE_ABORT:
			return false;
		}
	}
}

bool run_sleep(struct run *r, unsigned int ms)
{
	uint64_t deadline = now_ns() + ms * 1000000ull;
	enum wake w;

	do
		w = wait_event(r, deadline, false);
	while (w == WAKE_CHILD);
	return w == WAKE_TIMEOUT;
}

bool run_reap(struct run *r, enum role_id role)
{
	uint64_t deadline = now_ns() + STEP_TIMEOUT_MS * 1000000ull;
	enum wake w = WAKE_CHILD;

	while (r->proc[role].running && w == WAKE_CHILD)
		w = wait_event(r, deadline, false);
	if (w == WAKE_TIMEOUT)
		return expect_true(r, false, "%s did not exit", role_name(role));
	return !r->proc[role].running && r->proc[role].exit_code == 0;
}

void run_finish(struct run *r)
{
	uint64_t deadline = now_ns() + STEP_TIMEOUT_MS * 1000000ull;
	/* After a failure the roles may wait for steps that will not come. */
	enum wake w = r->failures ? WAKE_ABORT : WAKE_CHILD;
	int role;

	while (any_running(r) && w == WAKE_CHILD)
		w = wait_event(r, deadline, false);
	if (!any_running(r))
		return;

	/* Let the FINs and RSTs of the killed roles through. */
	if (r->net.kind != NET_LOOPBACK)
		net_restore(r);
	for (role = ROLE_CLIENT; role < ROLE_COUNT; role++) {
		if (!r->proc[role].running)
			continue;
		if (w == WAKE_TIMEOUT)
			expect_true(r, false, "%s did not finish", role_name(role));
		r->proc[role].killed = true;
		kill(r->proc[role].pid, SIGKILL);
		reap(r, role);
	}
}

int run_exit_code(struct run *r)
{
	int code = r->setup_failed ? 2 : r->failures ? 1 : 0;
	int role;

	for (role = ROLE_CLIENT; role < ROLE_COUNT; role++)
		if (r->proc[role].exit_code > code)
			code = r->proc[role].exit_code;
	if (stop_signal) {
		say("tcpwatch-scenario: interrupted by %s, cleaned up",
		    signal_name(stop_signal));
		return 128 + stop_signal;
	}
	return code;
}

void run_close(struct run *r)
{
	int role;

	for (role = 0; role < ROLE_COUNT; role++) {
		if (r->inbox[role][0] >= 0)
			close(r->inbox[role][0]);
		if (r->inbox[role][1] >= 0)
			close(r->inbox[role][1]);
	}
	if (r->log_fd >= 0)
		close(r->log_fd);
}
