/* syn-timeout: the server's host silently drops the SYNs. */
#include "scenario.h"

#define SYN_RETRIES	"2"

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
	int fd, port;

	port = tcp_server_port(r);
	if (port < 0)
		return;
	fd = op_socket(r, 0);
	if (!expect_ok(r, fd, "socket"))
		return;
	expect_err(r, op_connect(r, fd, r->net.ip[ROLE_SERVER], port),
		   ETIMEDOUT, "connect through a path that drops SYNs");
	op_close(r, fd);
	step_post(r, ROLE_SERVER, "client-done", 0);
}

static void run(struct run *r)
{
	if (net_sysctl(r, ROLE_CLIENT, "tcp_syn_retries", SYN_RETRIES) ||
	    net_fault(r, FAULT_DROP_TO_SERVER))
		return;
	run_roles(r, server, client);
}

SCENARIO(syn_timeout,
	.name = "syn-timeout",
	.summary = "SYNs dropped: connect() fails with ETIMEDOUT (~7 s)",
	.net = NET_VETH,
	.run = run,
	.takeaway =
"The server's host drops every SYN (an nft DROP rule in its namespace: a\n"
"firewall that does not answer, or a host that is down).  The client's\n"
"kernel retransmits the SYN and connect() blocks until it gives up with\n"
"ETIMEDOUT.  Nothing ever comes back - no RST, no ICMP - so all there is to\n"
"see is tcp_retransmit_skb in SYN_SENT, then SYN_SENT -> CLOSE with error\n"
"110.  The run takes about 7 s because that is the behaviour.\n"
"Kernel vs catalogue (observed 6.18): the SYN is not retransmitted at\n"
"doubling intervals.  net.ipv4.tcp_syn_linear_timeouts (default 4) keeps the\n"
"first retransmissions 1 s apart and allows tcp_syn_retries +\n"
"tcp_syn_linear_timeouts of them, while the give-up time is still that of the\n"
"doubling schedule for tcp_syn_retries.  With tcp_syn_retries=2 (this run's\n"
"client namespace): 5 retransmissions at 1, 2, 3, 4, 5 s and ETIMEDOUT at\n"
"7.1 s (1 + 2 + 4 s).  With the defaults (6 retries) a connect to a black\n"
"hole fails after 133 s (measured here), with up to 10 retransmissions.\n",
);
