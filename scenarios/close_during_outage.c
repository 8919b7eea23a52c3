/* close-during-outage: close() returns, the orphan retries, then gives up. */
#include "scenario.h"

#define ORPHAN_RETRIES	"2"
/* 2 orphan retries give up after about 3.2 s here; leave room for load. */
#define ORPHAN_GONE_MS	6000

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
	uint64_t start;
	int fd, port;

	fd = tcp_dial(r);
	if (fd < 0)
		return;
	expect_eq(r, op_write(r, fd, data, sizeof(data) - 1), sizeof(data) - 1,
		  "write before the cut");
	if (!step_wait(r, "cut", NULL)) {
		op_close(r, fd);
		return;
	}
	expect_eq(r, op_write(r, fd, data, sizeof(data) - 1), sizeof(data) - 1,
		  "write after the cut (queued)");
	port = endpoint_port(r, fd);
	start = now_ns();
	expect_ok(r, op_close(r, fd), "close during the outage");
	expect_true(r, now_ns() - start < 100000000ull,
		    "close returned at once, with data and FIN still unsent");
	step_post(r, ROLE_HARNESS, "client-closed", port);
}

static void run(struct run *r)
{
	struct endpoint orphan = { .lport = 0 };
	uint32_t port;

	if (net_sysctl(r, ROLE_CLIENT, "tcp_orphan_retries", ORPHAN_RETRIES))
		return;
	if (run_roles(r, server, client))
		return;
	if (!step_wait(r, "first-data", NULL) || net_fault(r, FAULT_DROP_TO_SERVER))
		return;
	step_post(r, ROLE_CLIENT, "cut", 0);
	if (!step_wait(r, "client-closed", &port))
		return;
	orphan.lport = port;
	expect_eq(r, net_diag(r, ROLE_CLIENT, TCP_FIN_WAIT1, &orphan), 1,
		  "orphan in FIN_WAIT1");
	expect_eq(r, net_diag_wait(r, ROLE_CLIENT, TCP_FIN_WAIT1, &orphan, 0,
				   ORPHAN_GONE_MS), 0,
		  "orphan in FIN_WAIT1 after tcp_orphan_retries");
	expect_eq(r, net_diag(r, ROLE_CLIENT, TCP_TIME_WAIT, &orphan), 0,
		  "orphan in TIME_WAIT");
	if (net_restore(r))
		return;
	step_post(r, ROLE_SERVER, "path-restored", 0);
}

SCENARIO(close_during_outage,
	.name = "close-during-outage",
	.summary = "close() during an outage; the orphan retries, gives up",
	.net = NET_VETH,
	.run = run,
	.takeaway =
"The client writes and close()s while the path is down (nft drops what it\n"
"sends).  close() returns 0 at once, with the data and the FIN still queued:\n"
"the socket lives on as an orphan - no fd, no process - in FIN_WAIT1,\n"
"retransmitting.  Orphans are bounded by tcp_orphan_retries (default 0, read\n"
"as 8; 2 in this run's client namespace).  Observed 6.18: 4 retransmissions\n"
"(a tail loss probe after about 10 ms, then RTO retransmissions doubling\n"
"from 200 ms), then about 3.1 s after close() the kernel destroys the\n"
"socket: FIN_WAIT1 -> CLOSE with no RST, no error report (there is nobody to\n"
"tell) and never TIME_WAIT.  The data is lost and the application cannot\n"
"know: a successful close() does not mean delivery (shutdown() and waiting\n"
"for the peer's EOF does).  When the path comes back the server's FIN finds\n"
"no socket and is answered with RST NO_SOCKET.\n",
);
