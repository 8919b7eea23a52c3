/* simultaneous-close: both FINs are in flight before either arrives. */
#include "scenario.h"

static void server(struct run *r)
{
	int lfd, fd;

	lfd = tcp_serve(r, 1);
	if (lfd < 0)
		return;
	fd = tcp_accept(r, lfd);
	if (fd < 0)
		goto out_close_listener;
	step_post(r, ROLE_HARNESS, "accepted", endpoint_port(r, fd));
	step_wait(r, "close-now", NULL);
	op_close(r, fd);
	step_post(r, ROLE_HARNESS, "server-closed", 0);
out_close_listener:
	op_close(r, lfd);
}

static void client(struct run *r)
{
	int fd, port;

	fd = tcp_dial(r);
	if (fd < 0)
		return;
	port = endpoint_port(r, fd);
	step_wait(r, "close-now", NULL);
	op_close(r, fd);
	step_post(r, ROLE_HARNESS, "client-closed", port);
}

static void run(struct run *r)
{
	struct endpoint client_ep = { .lport = 0 }, server_ep = { .lport = 0 };
	uint32_t port;

	if (run_roles(r, server, client))
		return;
	if (!step_wait(r, "accepted", &port) || net_hold(r))
		return;
	server_ep.lport = port;
	step_post(r, ROLE_CLIENT, "close-now", 0);
	step_post(r, ROLE_SERVER, "close-now", 0);
	if (!step_wait(r, "client-closed", &port) ||
	    !step_wait(r, "server-closed", NULL))
		return;
	client_ep.lport = port;
	if (net_release(r))
		return;
	expect_eq(r, net_diag_wait(r, ROLE_CLIENT, TCP_TIME_WAIT, &client_ep, 1,
				   1000), 1, "client's connection in TIME_WAIT");
	expect_eq(r, net_diag_wait(r, ROLE_SERVER, TCP_TIME_WAIT, &server_ep, 1,
				   1000), 1, "server's connection in TIME_WAIT");
}

SCENARIO(simultaneous_close,
	.name = "simultaneous-close",
	.summary = "both FINs cross: CLOSING, TIME_WAIT on both sides",
	.net = NET_WIRE,
	.run = run,
	.takeaway =
"Both sides call close() while each other's FIN is still in flight.  Each\n"
"receives a FIN while its own is unacknowledged, so both go FIN_WAIT1 ->\n"
"CLOSING, and the ACKs of the FINs then move both to TIME_WAIT: both ends\n"
"keep the 4-tuple for 60 s, where a normal close costs only the active\n"
"closer.  The tracepoint shows CLOSING -> CLOSE for both sockets (TIME_WAIT\n"
"is a timewait socket, catalogue fact 1); sock_diag finds TIME_WAIT on both.\n"
"The path is held by the userspace wire (hold, both close, release),\n"
"because nft can only drop: a dropped FIN is retransmitted carrying the ACK\n"
"of the peer's FIN once that has arrived, which would leave at most one\n"
"side in CLOSING.\n",
);
