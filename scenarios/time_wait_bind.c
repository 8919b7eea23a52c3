/* time-wait-bind: restarting a server whose old connections are in TIME_WAIT. */
#include <stdio.h>

#include "scenario.h"

struct restart {
	const char *what;
	bool old_reuseaddr;	/* on the listener whose connection is in TIME_WAIT */
	int want_errno;		/* of the new listener's bind(), which always sets it */
};

static const struct restart restarts[] = {
	{ "only the new listener sets SO_REUSEADDR", false, EADDRINUSE },
	{ "both listeners set SO_REUSEADDR", true, 0 },
};

static int listen_reuse(struct run *r, int fd, bool reuseaddr, int port)
{
	if (reuseaddr && op_setsockopt(r, fd, SOL_SOCKET, SO_REUSEADDR, 1,
				       "SO_REUSEADDR"))
		return -1;
	if (op_bind(r, fd, r->net.ip[ROLE_SERVER], port))
		return -1;
	return op_listen(r, fd, 1);
}

/* Serves one connection, closing first, then tries to listen again. */
static void serve_and_restart(struct run *r, const struct restart *rs)
{
	struct endpoint conn;
	int lfd, fd, port;
	char what[128];

	lfd = op_socket(r, 0);
	if (!expect_ok(r, lfd, "socket"))
		return;
	if (!expect_ok(r, listen_reuse(r, lfd, rs->old_reuseaddr, 0), "listen"))
		goto out_close_listener;
	port = endpoint_port(r, lfd);
	step_post(r, ROLE_CLIENT, "listening", port);
	fd = tcp_accept(r, lfd);
	if (fd < 0)
		goto out_close_listener;
	conn = *endpoint_of(r, fd);
	op_close(r, fd);
	if (!step_wait(r, "client-closed", NULL))
		goto out_close_listener;
	op_close(r, lfd);
	expect_eq(r, op_diag_wait(r, TCP_TIME_WAIT, &conn, 1, 1000), 1,
		  "server's connection in TIME_WAIT");

	lfd = op_socket(r, 0);
	if (!expect_ok(r, lfd, "socket"))
		return;
	snprintf(what, sizeof(what), "listen again while in TIME_WAIT, %s",
		 rs->what);
	if (rs->want_errno)
		expect_err(r, listen_reuse(r, lfd, true, port), rs->want_errno, what);
	else
		expect_ok(r, listen_reuse(r, lfd, true, port), what);
out_close_listener:
	op_close(r, lfd);
}

static void server(struct run *r)
{
	size_t i;

	for (i = 0; i < sizeof(restarts) / sizeof(restarts[0]); i++)
		serve_and_restart(r, &restarts[i]);
}

static void client(struct run *r)
{
	char buf[64];
	size_t i;
	int fd;

	for (i = 0; i < sizeof(restarts) / sizeof(restarts[0]); i++) {
		fd = tcp_dial(r);
		if (fd < 0)
			return;
		expect_eq(r, op_read(r, fd, buf, sizeof(buf)), 0,
			  "read of the server's FIN (EOF)");
		op_close(r, fd);
		step_post(r, ROLE_SERVER, "client-closed", 0);
	}
}

static void run(struct run *r)
{
	run_roles(r, server, client);
}

SCENARIO(time_wait_bind,
	.name = "time-wait-bind",
	.summary = "restart on a port in TIME_WAIT: SO_REUSEADDR rules",
	.net = NET_LOOPBACK,
	.run = run,
	.takeaway =
"The server closes first, so its side of the connection - the 4-tuple with\n"
"the listening port - is kept in TIME_WAIT for 60 s (tracepoint: FIN_WAIT1\n"
"-> FIN_WAIT2 -> CLOSE; sock_diag: TIME_WAIT).  A restarted server that\n"
"binds the same port gets EADDRINUSE although nothing listens there, unless\n"
"the TIME_WAIT socket allows reuse as well.  Observed 6.18: SO_REUSEADDR on\n"
"the new listener alone is not enough; it must also have been set on the\n"
"old listener, because the accepted connection, now the TIME_WAIT socket,\n"
"inherited the flag from it.  With both, bind() and listen() succeed.\n"
"Servers should set SO_REUSEADDR before every bind().  The socket of the\n"
"failed bind() fires tcp_destroy_sock with all-zero addresses when closed.\n",
);
