/* host-unreachable: the path answers the SYN with ICMP host unreachable. */
#include "scenario.h"

/* Typically 1 ms; 1 s when the ICMP lands while connect() holds the socket. */
#define QUICK_NS	2000000000ull

static void server(struct run *r)
{
	int lfd;

	lfd = tcp_serve(r, 1);
	if (lfd < 0)
		return;
	step_wait(r, "client-done", NULL);
	op_close(r, lfd);
}

static void client(struct run *r)
{
	uint64_t start;
	int fd, port;

	port = tcp_server_port(r);
	if (port < 0)
		return;
	fd = op_socket(r, 0);
	if (!expect_ok(r, fd, "socket"))
		return;
	start = now_ns();
	expect_err(r, op_connect(r, fd, r->net.ip[ROLE_SERVER], port),
		   EHOSTUNREACH, "connect answered by ICMP host unreachable");
	expect_true(r, now_ns() - start < QUICK_NS,
		    "connect failed within 2 s, long before a SYN timeout");
	op_close(r, fd);
	step_post(r, ROLE_SERVER, "client-done", 0);
}

static void run(struct run *r)
{
	if (net_fault(r, FAULT_UNREACH_TO_SERVER))
		return;
	run_roles(r, server, client);
}

SCENARIO(host_unreachable,
	.name = "host-unreachable",
	.summary = "SYN answered by ICMP host unreachable: EHOSTUNREACH",
	.net = NET_WIRE,
	.run = run,
	.takeaway =
"The SYN is answered with ICMP destination unreachable, code host\n"
"unreachable (here by nft in the server's namespace, as a router would for a\n"
"host it cannot reach).  In SYN_SENT such an error is fatal: the client goes\n"
"SYN_SENT -> CLOSE, reports EHOSTUNREACH (113) and connect() fails within a\n"
"millisecond - no retransmission, no RST.  inet_sk_error_report fires more\n"
"than once, in an order that varies with timing: observed on 6.18 as error 0\n"
"(the ICMP recorded as a soft error) then 113, and as 113 while still in\n"
"SYN_SENT, 113 again after CLOSE, then 0.  tcpwatch reports those with an\n"
"error, and explains the first.\n"
"Compare connect-refused (RST from a live host) and syn-timeout (silence).\n"
"Observed 6.18: on a veth pair the ICMP comes back while connect() still\n"
"holds the socket lock (on one host the reply is processed inside the\n"
"sending call), and an ICMP that finds the socket locked is only recorded as\n"
"a soft error; the connection then dies on the ICMP that answers the first\n"
"SYN retransmission, 1 s later.  This run uses the userspace wire, which\n"
"delivers the ICMP asynchronously as a real network does.  On an established\n"
"connection host-unreachable is not fatal: it only turns the final\n"
"ETIMEDOUT of data-retrans-timeout into EHOSTUNREACH.\n",
);
