/* write-after-peer-close: writing to a connection the peer has closed. */
#include "scenario.h"

static const char data[] = "data";

static void server(struct run *r)
{
	struct endpoint conn;
	int lfd, fd;

	lfd = tcp_serve(r, 1);
	if (lfd < 0)
		return;
	fd = tcp_accept(r, lfd);
	if (fd < 0)
		goto out_close_listener;
	conn = *endpoint_of(r, fd);
	op_close(r, fd);
	/*
	 * Once the client's (delayed) ACK of our FIN is in, the closed socket
	 * is a timewait socket; data reaching it before that would meet the
	 * full socket in FIN_WAIT1 and a different RST reason.
	 */
	expect_eq(r, op_diag_wait(r, TCP_FIN_WAIT2, &conn, 1, 1000), 1,
		  "server's connection in FIN_WAIT2 (timewait socket)");
	step_post(r, ROLE_CLIENT, "server-closed", 0);
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
	/* Caught rather than ignored, to see that the kernel sends it. */
	op_catch_signal(r, SIGPIPE);
	if (!step_wait(r, "server-closed", NULL))
		goto out_close;
	expect_eq(r, op_write(r, fd, data, sizeof(data) - 1), sizeof(data) - 1,
		  "first write after the peer's close");
	/* Gives the peer's answer to that write time to arrive. */
	op_poll(r, fd, POLLIN, 1000);
	expect_err(r, op_write(r, fd, data, sizeof(data) - 1), EPIPE,
		   "second write after the peer's close");
	expect_eq(r, signals_caught(SIGPIPE), 1, "SIGPIPEs received");
	expect_eq(r, op_read(r, fd, buf, sizeof(buf)), 0,
		  "read after the reset (EOF, not ECONNRESET)");
out_close:
	op_close(r, fd);
}

static void run(struct run *r)
{
	run_roles(r, server, client);
}

SCENARIO(write_after_peer_close,
	.name = "write-after-peer-close",
	.summary = "write after the peer closed: ok, then EPIPE+SIGPIPE",
	.net = NET_LOOPBACK,
	.run = run,
	.takeaway =
"The server closes; the client is in CLOSE_WAIT and may still write - FIN\n"
"only means the peer will send no more.  The first write succeeds: the data\n"
"is queued and sent, and only then does the peer's kernel, which has no\n"
"full socket any more (its side is a timewait socket in sub-state\n"
"FIN_WAIT2), answer with RST (reason TCP_TIMEWAIT_SOCKET, sent by the\n"
"timewait socket, whose skaddr differs from the closed socket's).  The RST\n"
"moves the client CLOSE_WAIT -> CLOSE with error EPIPE, not ECONNRESET,\n"
"because the peer had already said FIN.  So the second write fails with\n"
"EPIPE and raises SIGPIPE, which kills a program that does not handle it;\n"
"a read then returns 0 (EOF), not ECONNRESET.  An error shows up one write\n"
"late: success of write() only means the data reached the send buffer.\n"
"Timing matters for the RST reason (observed 6.18): the client ACKs the\n"
"server's FIN with a delayed ACK.  If the data overtakes that ACK, the\n"
"server's socket is still a full socket in FIN_WAIT1: the data's ACK moves\n"
"it FIN_WAIT1 -> FIN_WAIT2 -> CLOSE and the RST comes from it with reason\n"
"TCP_ABORT_ON_DATA.  The run waits for the timewait socket (sock_diag) so\n"
"that the reason is always TCP_TIMEWAIT_SOCKET; the application sees the\n"
"same either way.\n",
);
