/* linger-abort: SO_LINGER {1,0} turns close() into an abort. */
#include "scenario.h"

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
	if (step_wait(r, "client-closed", NULL))
		expect_err(r, op_read(r, fd, buf, sizeof(buf)), ECONNRESET,
			   "read after the client's abort");
	op_close(r, fd);
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
	expect_ok(r, op_linger(r, fd, 1, 0), "SO_LINGER{1,0}");
	conn = *endpoint_of(r, fd);
	op_close(r, fd);
	step_post(r, ROLE_SERVER, "client-closed", 0);
	expect_eq(r, op_diag(r, TCP_TIME_WAIT, &conn), 0,
		  "client's connection in TIME_WAIT");
}

static void run(struct run *r)
{
	run_roles(r, server, client);
}

SCENARIO(linger_abort,
	.name = "linger-abort",
	.summary = "SO_LINGER {1,0} + close(): RST, peer ECONNRESET",
	.net = NET_LOOPBACK,
	.run = run,
	.takeaway =
"SO_LINGER with a zero timeout makes close() abort the connection: the\n"
"kernel sends RST (reason TCP_STATE: the abort goes through\n"
"tcp_disconnect) and the socket goes ESTABLISHED -> CLOSE at once, with no\n"
"FIN and no TIME_WAIT - sock_diag finds nothing left of it.  The peer goes\n"
"ESTABLISHED -> CLOSE on the RST and its next read fails with ECONNRESET.\n"
"Programs use it to avoid TIME_WAIT on the active side; the price is that\n"
"unsent or unacknowledged data is thrown away and the peer sees an error\n"
"instead of EOF.\n"
"Observed 6.18: the aborting socket also fires inet_sk_error_report with\n"
"ECONNRESET (104), after its addresses are cleared (dport 0, saddr\n"
"0.0.0.0); only the peer's report carries the 4-tuple.\n",
);
