/* data-retrans-timeout: the path dies under an established connection. */
#include "scenario.h"

#define RETRIES2	"2"

static const char data[] = "data";

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
	expect_eq(r, op_read(r, fd, buf, sizeof(buf)), sizeof(data) - 1,
		  "read of the data sent before the cut");
	step_post(r, ROLE_HARNESS, "first-data", 0);
	step_wait(r, "path-restored", NULL);
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
	expect_eq(r, op_write(r, fd, data, sizeof(data) - 1), sizeof(data) - 1,
		  "write before the cut");
	if (!step_wait(r, "cut", NULL))
		goto out_close;
	expect_eq(r, op_write(r, fd, data, sizeof(data) - 1), sizeof(data) - 1,
		  "write after the cut (queued)");
	expect_err(r, op_read(r, fd, buf, sizeof(buf)), ETIMEDOUT,
		   "read while the data is retransmitted");
out_close:
	op_close(r, fd);
	step_post(r, ROLE_HARNESS, "client-done", 0);
}

static void run(struct run *r)
{
	if (net_sysctl(r, ROLE_CLIENT, "tcp_retries2", RETRIES2))
		return;
	if (run_roles(r, server, client))
		return;
	if (!step_wait(r, "first-data", NULL) || net_fault(r, FAULT_DROP_TO_SERVER))
		return;
	step_post(r, ROLE_CLIENT, "cut", 0);
	if (!step_wait(r, "client-done", NULL) || net_restore(r))
		return;
	step_post(r, ROLE_SERVER, "path-restored", 0);
}

SCENARIO(data_retrans_timeout,
	.name = "data-retrans-timeout",
	.summary = "path cut while sending: retransmits, then ETIMEDOUT",
	.net = NET_VETH,
	.run = run,
	.takeaway =
"An established connection loses its path (nft drops everything the client\n"
"sends).  write() keeps succeeding - it only copies into the send buffer -\n"
"while the kernel retransmits the unacknowledged data with exponential\n"
"backoff.  When the backoff budget set by tcp_retries2 is spent it gives up:\n"
"ESTABLISHED -> CLOSE with error ETIMEDOUT (110), and the blocked read()\n"
"returns ETIMEDOUT.  No RST is sent; the peer never hears of it and stays\n"
"ESTABLISHED until its own traffic finds no socket (RST NO_SOCKET when it\n"
"closes after the path is back).\n"
"Observed 6.18 with tcp_retries2=2 in the client namespace (the default, 15,\n"
"takes about 15 minutes): 4 tcp_retransmit_skb events 0.2, 0.4, 0.8 and\n"
"1.7 s after the write - the first is the tail loss probe, then RTO\n"
"retransmissions doubling from 200 ms - and ETIMEDOUT 3.3 s after the write.\n"
"The budget is only checked when the retransmission timer fires, so the end\n"
"falls on the next doubling step after it.  An application that must notice\n"
"sooner sets TCP_USER_TIMEOUT.\n",
);
