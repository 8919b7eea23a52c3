/* time-wait-exhaustion: short connections use up the client's ports. */
#include "scenario.h"

/* 16 ports: the exhaustion takes 16 connections, not 28 000. */
#define PORT_RANGE	"40000 40015"
#define PORT_COUNT	16

static void server(struct run *r)
{
	char buf[64];
	int lfd, fd, i;

	lfd = tcp_serve(r, PORT_COUNT);
	if (lfd < 0)
		return;
	for (i = 0; i < PORT_COUNT; i++) {
		fd = tcp_accept(r, lfd);
		if (fd < 0)
			break;
		expect_eq(r, op_read(r, fd, buf, sizeof(buf)), 0,
			  "read of the client's FIN (EOF)");
		op_close(r, fd);
	}
	step_post(r, ROLE_CLIENT, "served", i);
	step_wait(r, "client-done", NULL);
	op_close(r, lfd);
}

/* Connects and closes until connect() fails; returns the successes. */
static int churn(struct run *r, int port)
{
	int fd, ret, n;

	for (n = 0; n <= PORT_COUNT; n++) {
		fd = op_socket(r, 0);
		if (!expect_ok(r, fd, "socket"))
			return n;
		ret = op_connect(r, fd, r->net.ip[ROLE_SERVER], port);
		if (ret) {
			expect_err(r, ret, EADDRNOTAVAIL,
				   "connect with every local port in TIME_WAIT");
			op_close(r, fd);
			return n;
		}
		op_close(r, fd);
	}
	return n;
}

static void client(struct run *r)
{
	struct endpoint any_ep = { .lport = 0 };
	int port, n;

	port = tcp_server_port(r);
	if (port < 0)
		return;
	n = churn(r, port);
	expect_eq(r, n, PORT_COUNT, "connections before EADDRNOTAVAIL");
	if (n == PORT_COUNT && step_wait(r, "served", NULL))
		expect_eq(r, op_diag_wait(r, TCP_TIME_WAIT, &any_ep, PORT_COUNT,
					  1000), PORT_COUNT,
			  "client sockets in TIME_WAIT");
	step_post(r, ROLE_SERVER, "client-done", 0);
}

static void run(struct run *r)
{
	if (net_sysctl(r, ROLE_CLIENT, "ip_local_port_range", PORT_RANGE))
		return;
	run_roles(r, server, client);
}

SCENARIO(time_wait_exhaustion,
	.name = "time-wait-exhaustion",
	.summary = "TIME_WAIT uses up the local ports: EADDRNOTAVAIL",
	.net = NET_VETH,
	.run = run,
	.takeaway =
"Every connection the client closes first leaves its side in TIME_WAIT for\n"
"60 s, and while it lasts that local port cannot be used again for the same\n"
"server address and port.  With the client's ip_local_port_range shrunk to\n"
"16 ports (40000-40015, client namespace), 16 connections succeed and the\n"
"17th connect() fails at once with EADDRNOTAVAIL: no SYN is sent, the\n"
"tracepoint shows CLOSE -> SYN_SENT -> CLOSE with sport 0, and sock_diag\n"
"counts 16 TIME_WAIT sockets.  With the default range (32768-60999) the\n"
"same happens above about 470 new connections per second to one server\n"
"address and port.  The ports are not reused because tcp_tw_reuse defaults\n"
"to 2, which allows reuse for loopback traffic only - this run uses a veth\n"
"pair for that reason.  The kernel hands out even ports first, then odd.\n",
);
