/* close-unread-rst: closing with unread data sends RST instead of FIN. */
#include "scenario.h"

static const char request[] = "request";

static void server(struct run *r)
{
	int lfd, fd;

	lfd = tcp_serve(r, 1);
	if (lfd < 0)
		return;
	fd = tcp_accept(r, lfd);
	if (fd < 0)
		goto out_close_listener;
	/* Waits until the request is queued, then does not read it. */
	expect_eq(r, op_poll(r, fd, POLLIN, 1000) & POLLIN, POLLIN,
		  "request arrived");
	op_close(r, fd);
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
	expect_eq(r, op_write(r, fd, request, sizeof(request) - 1),
		  sizeof(request) - 1, "write of the request");
	if (!step_wait(r, "server-closed", NULL))
		goto out_close;
	expect_err(r, op_read(r, fd, buf, sizeof(buf)), ECONNRESET,
		   "read after the server's close");
out_close:
	op_close(r, fd);
}

static void run(struct run *r)
{
	run_roles(r, server, client);
}

SCENARIO(close_unread_rst,
	.name = "close-unread-rst",
	.summary = "close() with unread data sends RST: peer ECONNRESET",
	.net = NET_LOOPBACK,
	.run = run,
	.takeaway =
"The client sent a request the server never read, and the server closes.\n"
"Data in the receive queue at close() means the application lost data, so\n"
"the kernel aborts (RFC 2525) instead of closing gracefully: it sends RST\n"
"with reason TCP_ABORT_ON_CLOSE and goes ESTABLISHED -> CLOSE directly -\n"
"no FIN, no FIN_WAIT, no TIME_WAIT.  The client goes ESTABLISHED -> CLOSE\n"
"on the RST (error report 104) and its next read returns ECONNRESET,\n"
"although the server meant to close normally.  Typical cause: a server\n"
"that answers before reading the whole request, or closes on an error\n"
"path without draining.  On loopback the client's events are stamped\n"
"before the server's tcp_send_reset (catalogue fact 3).\n",
);
