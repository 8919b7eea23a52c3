/* connect-refused: nobody listens on the port. */
#include "scenario.h"

static void server(struct run *r)
{
	int fd;

	/* Bound, never listening: the port is ours and closed. */
	fd = op_socket(r, 0);
	if (!expect_ok(r, fd, "socket"))
		return;
	if (expect_ok(r, op_bind(r, fd, r->net.ip[ROLE_SERVER], 0), "bind")) {
		step_post(r, ROLE_CLIENT, "listening", endpoint_port(r, fd));
		step_wait(r, "client-done", NULL);
	}
	op_close(r, fd);
}

static void client(struct run *r)
{
	int fd, port;

	port = tcp_server_port(r);
	if (port < 0)
		return;
	fd = op_socket(r, 0);
	if (!expect_ok(r, fd, "socket"))
		return;
	expect_err(r, op_connect(r, fd, r->net.ip[ROLE_SERVER], port),
		   ECONNREFUSED, "connect to a port without listener");
	op_close(r, fd);
	step_post(r, ROLE_SERVER, "client-done", 0);
}

static void run(struct run *r)
{
	run_roles(r, server, client);
}

SCENARIO(connect_refused,
	.name = "connect-refused",
	.summary = "no listener on the port: RST, ECONNREFUSED",
	.net = NET_LOOPBACK,
	.run = run,
	.takeaway =
"The SYN reaches a host where no socket listens on the port (here the port\n"
"is bound but listen() was never called, so no other program can take it).\n"
"The kernel answers with RST, reason NO_SOCKET, sent with no socket at all\n"
"(skaddr NULL).  The client goes SYN_SENT -> CLOSE, reports ECONNREFUSED\n"
"through the error-report tracepoint, and connect() fails with it - within\n"
"one round trip.  A refused connection is a live host with nothing on the\n"
"port; compare syn-timeout (nothing answers) and host-unreachable.\n"
"Observed 6.18: a second inet_sk_error_report with error 0 and cleared\n"
"addresses follows when connect() tidies up the failed socket.\n",
);
