/* close-wait-leak: the peer closed, the application never does. */
#include <unistd.h>

#include "scenario.h"

#define LEAK_MS	1000

static void server(struct run *r)
{
	int lfd, fd;

	lfd = tcp_serve(r, 1);
	if (lfd < 0)
		return;
	fd = tcp_accept(r, lfd);
	if (fd < 0 || !step_wait(r, "client-closed", NULL))
		return;
	/* The bug: nothing reads the EOF, so nothing ever closes. */
	run_sleep(r, LEAK_MS);
	expect_eq(r, op_diag(r, TCP_CLOSE_WAIT, endpoint_of(r, fd)), 1,
		  "server's connection in CLOSE_WAIT");
	step_post(r, ROLE_CLIENT, "leaking", 0);
	/* Busy elsewhere until the harness kills the process. */
	pause();
}

static void client(struct run *r)
{
	struct endpoint conn;
	int fd;

	fd = tcp_dial(r);
	if (fd < 0)
		return;
	conn = *endpoint_of(r, fd);
	op_close(r, fd);
	step_post(r, ROLE_SERVER, "client-closed", 0);
	if (!step_wait(r, "leaking", NULL))
		return;
	/* An orphan: a timewait socket in sub-state FIN_WAIT2. */
	expect_eq(r, op_diag(r, TCP_FIN_WAIT2, &conn), 1,
		  "client's connection in FIN_WAIT2");
	step_post(r, ROLE_HARNESS, "checked", 0);
	if (!step_wait(r, "server-gone", NULL))
		return;
	expect_eq(r, op_diag_wait(r, TCP_TIME_WAIT, &conn, 1, 1000), 1,
		  "client's connection in TIME_WAIT after the server's exit");
}

static void run(struct run *r)
{
	if (run_roles(r, server, client))
		return;
	if (!step_wait(r, "checked", NULL))
		return;
	op_kill(r, ROLE_SERVER, SIGKILL);
	if (!run_reap(r, ROLE_SERVER))
		return;
	step_post(r, ROLE_CLIENT, "server-gone", 0);
}

SCENARIO(close_wait_leak,
	.name = "close-wait-leak",
	.summary = "peer closed, app never does: CLOSE_WAIT until exit",
	.net = NET_LOOPBACK,
	.run = run,
	.takeaway =
"The client closes; the server's kernel ACKs the FIN and moves the socket to\n"
"CLOSE_WAIT - then nothing happens, because only the application can move\n"
"it on, by calling close().  A server that never reads the EOF (or reads it\n"
"and forgets the close) leaks one socket and one fd per connection: the\n"
"classic CLOSE_WAIT pile-up.  There is no timer on CLOSE_WAIT and nothing is\n"
"sent, so no tracepoint fires during the leak; what gives it away is a\n"
"CLOSE_WAIT transition with no LAST_ACK after it.\n"
"The peer, orphaned by its close(), goes FIN_WAIT1 -> FIN_WAIT2 -> CLOSE\n"
"in the tracepoint but lives on as a timewait socket in sub-state FIN_WAIT2\n"
"(sock_diag shows it) for tcp_fin_timeout (60 s).  Here the leak ends when\n"
"the harness kills the server after 1 s: the exit closes the fd, the server\n"
"goes LAST_ACK -> CLOSE and the peer's timewait socket becomes TIME_WAIT.\n",
);
