/*
 * Logged socket calls.  Each wrapper stamps the call, makes it, refreshes
 * what is known about the socket's addresses and writes one log line; the
 * addresses are remembered per fd because after close() or a reset
 * getsockname/getpeername can no longer tell them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "diag.h"
#include "ops.h"

struct op {
	struct run *r;
	const char *call;
	int fd;
	const struct endpoint *ep;	/* for lines about no open fd */
	uint64_t ts_ns;
	char arg[128];
};

/* Signals caught by op_catch_signal(), with the time of the last one. */
static volatile sig_atomic_t caught[NSIG];
static volatile uint64_t caught_ns[NSIG];
static int caught_logged[NSIG];

static struct endpoint *ep_slot(struct run *r, int fd)
{
	if (fd < 0 || fd >= ENDPOINT_MAX)
		return NULL;
	return &r->ep[fd];
}

static void ep_forget(struct run *r, int fd)
{
	struct endpoint *ep = ep_slot(r, fd);

	if (ep)
		memset(ep, 0, sizeof(*ep));
}

static void ep_set(char *addr, int *port, const struct sockaddr_in *sa)
{
	/* After a reset or a failed connect the kernel reports 0.0.0.0. */
	if (sa->sin_addr.s_addr != htonl(INADDR_ANY))
		inet_ntop(AF_INET, &sa->sin_addr, addr, INET_ADDRSTRLEN);
	if (sa->sin_port)
		*port = ntohs(sa->sin_port);
}

/* Keeps what was known: a reset socket no longer tells its addresses. */
static void ep_refresh(struct run *r, int fd)
{
	struct endpoint *ep = ep_slot(r, fd);
	struct sockaddr_in sa;
	socklen_t len;

	if (!ep)
		return;
	len = sizeof(sa);
	if (!getsockname(fd, (struct sockaddr *)&sa, &len))
		ep_set(ep->laddr, &ep->lport, &sa);
	len = sizeof(sa);
	if (!getpeername(fd, (struct sockaddr *)&sa, &len))
		ep_set(ep->raddr, &ep->rport, &sa);
	len = sizeof(ep->cookie);
	if (!ep->cookie)
		getsockopt(fd, SOL_SOCKET, SO_COOKIE, &ep->cookie, &len);
}

static void op_begin(struct op *op, struct run *r, const char *call, int fd)
{
	op->r = r;
	op->call = call;
	op->fd = fd;
	op->ep = NULL;
	op->arg[0] = '\0';
	op->ts_ns = now_ns();
}

/* Logs the call; ep_fd names the socket the line describes (-1: none). */
static long op_end(struct op *op, long ret, int ep_fd)
{
	int err = ret < 0 ? errno : 0;
	struct log_call c = {
		.ts_ns = op->ts_ns,
		.end_ns = now_ns(),
		.call = op->call,
		.arg = op->arg,
		.fd = op->fd,
		.ret = ret,
		.err = err,
		.ep = op->ep,
	};

	if (ep_fd >= 0) {
		ep_refresh(op->r, ep_fd);
		c.ep = ep_slot(op->r, ep_fd);
	}
	actlog_write(op->r, &c);
	errno = err;
	return ret;
}

/* Logs the signals caught during the last call; keeps that call's errno. */
static void log_caught_signals(struct run *r)
{
	int sig, err = errno;
	struct op op;

	for (sig = 1; sig < NSIG; sig++) {
		while (caught_logged[sig] < caught[sig]) {
			op_begin(&op, r, "signal", -1);
			op.ts_ns = caught_ns[sig];
			snprintf(op.arg, sizeof(op.arg), "%s", signal_name(sig));
			caught_logged[sig]++;
			op_end(&op, 0, -1);
		}
	}
	errno = err;
}

static void format_addr(char *buf, size_t len, const char *ip, int port)
{
	snprintf(buf, len, "%s:%d", ip, port);
}

static int make_addr(struct sockaddr_in *sa, const char *ip, int port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	if (inet_pton(AF_INET, ip, &sa->sin_addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int op_socket(struct run *r, int flags)
{
	struct op op;
	int fd;

	op_begin(&op, r, "socket", -1);
	snprintf(op.arg, sizeof(op.arg), "AF_INET SOCK_STREAM%s",
		 flags & SOCK_NONBLOCK ? "|SOCK_NONBLOCK" : "");
	fd = socket(AF_INET, SOCK_STREAM | flags, 0);
	if (fd >= 0)
		ep_forget(r, fd);
	op.fd = fd;
	return op_end(&op, fd, fd);
}

int op_bind(struct run *r, int fd, const char *ip, int port)
{
	struct sockaddr_in sa;
	struct op op;
	int ret;

	op_begin(&op, r, "bind", fd);
	format_addr(op.arg, sizeof(op.arg), ip, port);
	ret = make_addr(&sa, ip, port);
	if (!ret)
		ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	return op_end(&op, ret, fd);
}

int op_listen(struct run *r, int fd, int backlog)
{
	struct op op;

	op_begin(&op, r, "listen", fd);
	snprintf(op.arg, sizeof(op.arg), "backlog=%d", backlog);
	return op_end(&op, listen(fd, backlog), fd);
}

int op_connect(struct run *r, int fd, const char *ip, int port)
{
	struct sockaddr_in sa;
	struct op op;
	int ret;

	op_begin(&op, r, "connect", fd);
	format_addr(op.arg, sizeof(op.arg), ip, port);
	ret = make_addr(&sa, ip, port);
	if (ret)
		return op_end(&op, ret, fd);
	/* Known even if the connect fails, for matching its events. */
	if (ep_slot(r, fd))
		ep_set(r->ep[fd].raddr, &r->ep[fd].rport, &sa);
	return op_end(&op, connect(fd, (struct sockaddr *)&sa, sizeof(sa)), fd);
}

int op_accept(struct run *r, int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	struct op op;
	int conn;

	op_begin(&op, r, "accept", fd);
	conn = accept(fd, (struct sockaddr *)&sa, &len);
	if (conn >= 0) {
		ep_forget(r, conn);
		/* getpeername fails if the peer reset before we got here. */
		if (ep_slot(r, conn))
			ep_set(r->ep[conn].raddr, &r->ep[conn].rport, &sa);
	}
	return op_end(&op, conn, conn >= 0 ? conn : fd);
}

ssize_t op_read(struct run *r, int fd, void *buf, size_t len)
{
	struct op op;
	ssize_t n;

	op_begin(&op, r, "read", fd);
	snprintf(op.arg, sizeof(op.arg), "len=%zu", len);
	n = read(fd, buf, len);
	op_end(&op, n, fd);
	log_caught_signals(r);
	return n;
}

ssize_t op_write(struct run *r, int fd, const void *buf, size_t len)
{
	struct op op;
	ssize_t n;

	op_begin(&op, r, "write", fd);
	snprintf(op.arg, sizeof(op.arg), "len=%zu", len);
	n = write(fd, buf, len);
	op_end(&op, n, fd);
	log_caught_signals(r);
	return n;
}

static const char *const shut_names[] = {
	[SHUT_RD] = "SHUT_RD",
	[SHUT_WR] = "SHUT_WR",
	[SHUT_RDWR] = "SHUT_RDWR",
};

int op_shutdown(struct run *r, int fd, int how)
{
	struct op op;

	op_begin(&op, r, "shutdown", fd);
	if (how >= 0 && how <= SHUT_RDWR)
		snprintf(op.arg, sizeof(op.arg), "%s", shut_names[how]);
	return op_end(&op, shutdown(fd, how), fd);
}

int op_close(struct run *r, int fd)
{
	struct op op;
	int ret;

	op_begin(&op, r, "close", fd);
	/* The remembered addresses describe the socket just closed. */
	ret = op_end(&op, close(fd), fd);
	ep_forget(r, fd);
	return ret;
}

int op_setsockopt(struct run *r, int fd, int level, int name, int value,
		  const char *what)
{
	struct op op;

	op_begin(&op, r, "setsockopt", fd);
	snprintf(op.arg, sizeof(op.arg), "%s=%d", what, value);
	return op_end(&op, setsockopt(fd, level, name, &value, sizeof(value)),
		      fd);
}

int op_linger(struct run *r, int fd, int onoff, int seconds)
{
	struct linger lg = { .l_onoff = onoff, .l_linger = seconds };
	struct op op;

	op_begin(&op, r, "setsockopt", fd);
	snprintf(op.arg, sizeof(op.arg), "SO_LINGER{%d,%d}", onoff, seconds);
	return op_end(&op, setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg,
				      sizeof(lg)), fd);
}

static void poll_events_str(char *buf, size_t len, short events)
{
	static const struct {
		short bit;
		const char *name;
	} names[] = {
		{ POLLIN, "POLLIN" },
		{ POLLOUT, "POLLOUT" },
		{ POLLRDHUP, "POLLRDHUP" },
		{ POLLERR, "POLLERR" },
		{ POLLHUP, "POLLHUP" },
	};
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]) && used < len; i++)
		if (events & names[i].bit)
			used += snprintf(buf + used, len - used, "%s%s",
					 used ? "|" : "", names[i].name);
	if (!used)
		snprintf(buf, len, "0");
}

/*
 * The arg shows the requested events, the timeout and what came back;
 * returns the revents, 0 on timeout or -1.
 */
int op_poll(struct run *r, int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	char want[48], got[48];
	struct op op;
	int ret;

	op_begin(&op, r, "poll", fd);
	ret = poll(&pfd, 1, timeout_ms);
	poll_events_str(want, sizeof(want), events);
	poll_events_str(got, sizeof(got), ret > 0 ? pfd.revents : 0);
	snprintf(op.arg, sizeof(op.arg), "%s %dms -> %s", want, timeout_ms, got);
	op_end(&op, ret, fd);
	return ret > 0 ? pfd.revents : ret;
}

static void on_caught_signal(int sig)
{
	caught_ns[sig] = now_ns();
	caught[sig]++;
}

int op_catch_signal(struct run *r, int sig)
{
	struct sigaction sa = { .sa_handler = on_caught_signal };
	struct op op;

	op_begin(&op, r, "sigaction", -1);
	snprintf(op.arg, sizeof(op.arg), "%s handler", signal_name(sig));
	return op_end(&op, sigaction(sig, &sa, NULL), -1);
}

int signals_caught(int sig)
{
	return caught[sig];
}

int op_kill(struct run *r, enum role_id role, int sig)
{
	struct op op;

	op_begin(&op, r, "kill", -1);
	snprintf(op.arg, sizeof(op.arg), "%s %s pid=%d", signal_name(sig),
		 role_name(role), (int)r->proc[role].pid);
	r->proc[role].killed = true;
	return op_end(&op, kill(r->proc[role].pid, sig), -1);
}

/* Counts the sockets of this namespace in state that match ep's 4-tuple. */
int op_diag(struct run *r, int state, const struct endpoint *ep)
{
	struct op op;

	op_begin(&op, r, "sock_diag", -1);
	snprintf(op.arg, sizeof(op.arg), "%s", tcp_state_name(state));
	op.ep = ep;
	return op_end(&op, diag_count(state, ep), -1);
}

/* Logs an action performed elsewhere (netfault, sysctl). */
void op_record(struct run *r, const char *call, const char *arg,
	       uint64_t ts_ns, long ret, int err)
{
	struct op op;

	op_begin(&op, r, call, -1);
	op.ts_ns = ts_ns;
	snprintf(op.arg, sizeof(op.arg), "%s", arg);
	errno = err;
	op_end(&op, ret, -1);
}

/*
 * Polls sock_diag until want sockets match or timeout_ms passes; logs only
 * the final count, so that the log is not flooded with attempts.
 */
int op_diag_wait(struct run *r, int state, const struct endpoint *ep,
		 int want, int timeout_ms)
{
	uint64_t deadline = now_ns() + timeout_ms * 1000000ull;
	struct op op;
	int n;

	op_begin(&op, r, "sock_diag", -1);
	snprintf(op.arg, sizeof(op.arg), "%s, waited for %d", tcp_state_name(state),
		 want);
	op.ep = ep;
	while ((n = diag_count(state, ep)) >= 0 && n != want &&
	       now_ns() < deadline)
		poll(NULL, 0, 5);
	return op_end(&op, n, -1);
}

int endpoint_port(struct run *r, int fd)
{
	struct endpoint *ep = ep_slot(r, fd);

	return ep ? ep->lport : 0;
}

const struct endpoint *endpoint_of(struct run *r, int fd)
{
	return ep_slot(r, fd);
}
