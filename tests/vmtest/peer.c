// SPDX-License-Identifier: GPL-2.0
/* Loopback peers: the ordinary socket calls that make the kernel do each behaviour. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "peer.h"

#define PEER_TIMEOUT_S	60	/* a peer stuck this long kills itself */
#define READ_TIMEOUT_MS	60000

static const char payload[] = "request from vm-client";

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET,
		.sin_port = htons((unsigned short)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};

	return a;
}

static int local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	return getsockname(fd, (struct sockaddr *)&a, &len) ? 0 : ntohs(a.sin_port);
}

static bool send_msg(int fd, const struct peer_result *r)
{
	return write(fd, r, sizeof(*r)) == (ssize_t)sizeof(*r);
}

/* A message within ms, or false. */
static bool recv_msg(int fd, void *buf, size_t len, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && read(fd, buf, len) == (ssize_t)len;
}

static void server(enum role role, int from, struct peer_result *r)
{
	struct sockaddr_in a = loopback(0);
	struct pollfd p = { .events = POLLIN };
	char buf[256];
	int ls, c;
	ssize_t n;

	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 16))
		return;
	r->port = local_port(ls);
	if (!send_msg(from, r))
		return;
	c = accept(ls, NULL, NULL);
	if (c < 0)
		return;
	if (role == SERVER_READ_TO_EOF) {
		while ((n = read(c, buf, sizeof(buf))) > 0)
			;
		r->read_eof = n == 0;
	} else {
		/* Queued and never read: close() answers with an RST, not a FIN. */
		p.fd = c;
		poll(&p, 1, READ_TIMEOUT_MS);
	}
	close(c);
	close(ls);
}

static void client(enum role role, int port, struct peer_result *r)
{
	struct sockaddr_in a = loopback(port);
	struct timeval tv = { .tv_sec = READ_TIMEOUT_MS / 1000 };
	char buf[256];
	int s;

	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return;
	if (connect(s, (struct sockaddr *)&a, sizeof(a))) {
		r->connect_err = errno;
		close(s);
		return;
	}
	r->local_port = local_port(s);
	if (send(s, payload, sizeof(payload), 0) != (ssize_t)sizeof(payload))
		r->send_err = errno;
	if (role == CLIENT_EXPECT_RESET) {
		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (recv(s, buf, sizeof(buf), 0) < 0)
			r->recv_err = errno;
	}
	close(s);
}

static void peer_main(enum role role, const char *comm, int to, int from)
{
	struct peer_result r = { .port = 0 };
	int port;

	prctl(PR_SET_NAME, comm);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(PEER_TIMEOUT_S);
	if (!recv_msg(to, &port, sizeof(port), -1))
		return;
	if (role == SERVER_READ_TO_EOF || role == SERVER_CLOSE_UNREAD)
		server(role, from, &r);
	else
		client(role, port, &r);
	send_msg(from, &r);
}

bool peer_start(struct tctx *t, struct peer *p, enum role role, const char *comm)
{
	int to[2], from[2];

	if (!CHECK(t, !pipe(to), "pipe: %s", strerror(errno)))
		return false;
	if (!CHECK(t, !pipe(from), "pipe: %s", strerror(errno))) {
		close(to[0]);
		close(to[1]);
		return false;
	}
	fflush(stdout);		/* or the child would print it again */
	p->pid = fork();
	if (!p->pid) {
		close(to[1]);
		close(from[0]);
		peer_main(role, comm, to[0], from[1]);
		_exit(0);
	}
	close(to[0]);
	close(from[1]);
	p->to = to[1];
	p->from = from[0];
	return CHECK(t, p->pid > 0, "fork: %s", strerror(errno));
}

int peer_listen(struct tctx *t, struct peer *p)
{
	struct peer_result r;
	int go = 0;

	if (!CHECK(t, write(p->to, &go, sizeof(go)) == sizeof(go), "server: go") ||
	    !CHECK(t, recv_msg(p->from, &r, sizeof(r), READ_TIMEOUT_MS) && r.port,
		   "server: no port"))
		return 0;
	return r.port;
}

bool peer_connect(struct tctx *t, struct peer *p, int port)
{
	return CHECK(t, write(p->to, &port, sizeof(port)) == sizeof(port), "client: go");
}

bool peer_result(struct tctx *t, struct peer *p, struct peer_result *r)
{
	memset(r, 0, sizeof(*r));
	if (!CHECK(t, recv_msg(p->from, r, sizeof(*r), READ_TIMEOUT_MS),
		   "peer %d gave no result", p->pid))
		return false;
	waitpid(p->pid, NULL, 0);
	p->done = true;
	return true;
}

void peer_end(struct peer *p)
{
	if (p->pid > 0 && !p->done) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
	}
	if (p->to >= 0)
		close(p->to);
	if (p->from >= 0)
		close(p->from);
	*p = (struct peer)PEER_INIT;
}

int closed_port(void)
{
	struct sockaddr_in a = loopback(0);
	int s = socket(AF_INET, SOCK_STREAM, 0), port;

	if (s < 0)
		return 0;
	port = bind(s, (struct sockaddr *)&a, sizeof(a)) ? 0 : local_port(s);
	close(s);
	return port;
}
