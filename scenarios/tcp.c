/*
 * Connection set-up shared by the scenarios: the server listens on a port the
 * kernel picks (so concurrent runs never collide) and posts it to the client
 * as the step "listening".  Failures are expectation failures: on a healthy
 * machine the kernel lets a fresh socket listen and connect.
 */
#include "expect.h"
#include "ops.h"
#include "tcp.h"

/* Returns the listening fd, or -1. */
int tcp_serve(struct run *r, int backlog)
{
	int fd;

	fd = op_socket(r, 0);
	if (!expect_ok(r, fd, "socket"))
		return -1;
	if (!expect_ok(r, op_bind(r, fd, r->net.ip[ROLE_SERVER], 0), "bind") ||
	    !expect_ok(r, op_listen(r, fd, backlog), "listen")) {
		op_close(r, fd);
		return -1;
	}
	step_post(r, ROLE_CLIENT, "listening", endpoint_port(r, fd));
	return fd;
}

int tcp_accept(struct run *r, int lfd)
{
	int fd = op_accept(r, lfd);

	expect_ok(r, fd, "accept");
	return fd;
}

/* The client's side of "listening": the server's port, or -1. */
int tcp_server_port(struct run *r)
{
	uint32_t port;

	if (!step_wait(r, "listening", &port))
		return -1;
	return port;
}

/* Returns a socket connected to the server, or -1. */
int tcp_dial(struct run *r)
{
	int fd, port;

	port = tcp_server_port(r);
	if (port < 0)
		return -1;
	fd = op_socket(r, 0);
	if (!expect_ok(r, fd, "socket"))
		return -1;
	if (!expect_ok(r, op_connect(r, fd, r->net.ip[ROLE_SERVER], port),
		       "connect")) {
		op_close(r, fd);
		return -1;
	}
	return fd;
}
