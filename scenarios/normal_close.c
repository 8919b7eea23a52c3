/* normal-close: the orderly close every other scenario departs from. */
#include "scenario.h"

static const char request[] = "hello";

static void server(struct run *r)
{
	char buf[64];
	int lfd, fd;

	lfd = tcp_serve(r, 1);
	if (lfd < 0)
		return;
	fd = tcp_accept(r, lfd);
	if (fd < 0)
		goto out_close_listener;
	expect_eq(r, op_read(r, fd, buf, sizeof(buf)), sizeof(request) - 1,
		  "read of the request");
	expect_eq(r, op_read(r, fd, buf, sizeof(buf)), 0,
		  "read after the client's close (EOF)");
	op_close(r, fd);
	step_post(r, ROLE_CLIENT, "server-closed", 0);
out_close_listener:
	op_close(r, lfd);
}

static void client(struct run *r)
{
	struct endpoint conn;
	int fd;

	fd = tcp_dial(r);
	if (fd < 0)
		return;
	expect_eq(r, op_write(r, fd, request, sizeof(request) - 1), sizeof(request) - 1,
		  "write of the request");
	conn = *endpoint_of(r, fd);
	op_close(r, fd);
	if (!step_wait(r, "server-closed", NULL))
		return;
	/* The tracepoint said FIN_WAIT2 -> CLOSE; sock_diag still sees it. */
	expect_eq(r, op_diag_wait(r, TCP_TIME_WAIT, &conn, 1, 1000), 1,
		  "client's connection in TIME_WAIT");
}

static void run(struct run *r)
{
	run_roles(r, server, client);
}

SCENARIO(normal_close,
	.name = "normal-close",
	.summary = "client closes first, server reads EOF and closes",
	.net = NET_LOOPBACK,
	.run = run,
	.takeaway =
"The client closes first: it sends FIN and becomes the active closer\n"
"(FIN_WAIT1 -> FIN_WAIT2), the server reads 0 (EOF) and closes in turn\n"
"(CLOSE_WAIT -> LAST_ACK -> CLOSE).  The active closer keeps the 4-tuple in\n"
"TIME_WAIT for 60 s, but as a timewait mini-socket: the state tracepoint\n"
"reports FIN_WAIT2 -> CLOSE and never TIME_WAIT; only sock_diag (ss) shows\n"
"it.  This is the baseline the other scenarios depart from.\n"
"Observed 6.18: the server ACKs the FIN with a delayed ACK, which usually\n"
"rides on its own FIN when it closes a few ms later; the client then goes\n"
"FIN_WAIT1 -> FIN_WAIT2 -> CLOSE within microseconds, in the context of the\n"
"server process.\n",
);
