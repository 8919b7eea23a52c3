/* half-close: the client stops sending but keeps receiving. */
#include "scenario.h"

static const char request[] = "request";
static const char reply[] = "reply";

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
		  "read after the client's shutdown(SHUT_WR) (EOF)");
	expect_eq(r, op_write(r, fd, reply, sizeof(reply) - 1), sizeof(reply) - 1,
		  "write of the reply after EOF");
	step_wait(r, "reply-read", NULL);
	op_close(r, fd);
out_close_listener:
	op_close(r, lfd);
}

static void client(struct run *r)
{
	char buf[64];
	int fd;

	fd = tcp_dial(r);
	if (fd < 0)
		return;
	expect_eq(r, op_write(r, fd, request, sizeof(request) - 1),
		  sizeof(request) - 1, "write of the request");
	if (!expect_ok(r, op_shutdown(r, fd, SHUT_WR), "shutdown(SHUT_WR)"))
		goto out_close;
	expect_eq(r, op_read(r, fd, buf, sizeof(buf)), sizeof(reply) - 1,
		  "read of the reply while half-closed");
	expect_eq(r, op_diag(r, TCP_FIN_WAIT2, endpoint_of(r, fd)), 1,
		  "client's connection in FIN_WAIT2 while receiving");
	step_post(r, ROLE_SERVER, "reply-read", 0);
	expect_eq(r, op_read(r, fd, buf, sizeof(buf)), 0,
		  "read after the server's close (EOF)");
out_close:
	op_close(r, fd);
}

static void run(struct run *r)
{
	run_roles(r, server, client);
}

SCENARIO(half_close,
	.name = "half-close",
	.summary = "shutdown(SHUT_WR), the reply still flows back",
	.net = NET_LOOPBACK,
	.run = run,
	.takeaway =
"shutdown(SHUT_WR) sends FIN but keeps the socket open for reading.  The\n"
"client goes FIN_WAIT1 -> FIN_WAIT2 and stays there as a full, visible\n"
"socket (not an orphan, so tcp_fin_timeout does not apply) while the server,\n"
"in CLOSE_WAIT after reading EOF, still writes its reply.  The client reads\n"
"the reply, then EOF when the server closes (CLOSE_WAIT -> LAST_ACK ->\n"
"CLOSE).  The server's FIN moves the client FIN_WAIT2 -> CLOSE (into\n"
"TIME_WAIT) before the client has called close(): a CLOSE transition does\n"
"not mean the application closed.  This is how a request/response protocol\n"
"says \"end of request\" without giving up the answer; EOF means the peer\n"
"will send no more, not that it stopped reading.\n",
);
