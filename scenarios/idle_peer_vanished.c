/* idle-peer-vanished: only keepalive notices that an idle peer is gone. */
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
	if (!expect_ok(r, op_setsockopt(r, fd, SOL_SOCKET, SO_KEEPALIVE, 1,
					"SO_KEEPALIVE"), "SO_KEEPALIVE") ||
	    !expect_ok(r, op_setsockopt(r, fd, IPPROTO_TCP, TCP_KEEPIDLE, 1,
					"TCP_KEEPIDLE"), "TCP_KEEPIDLE") ||
	    !expect_ok(r, op_setsockopt(r, fd, IPPROTO_TCP, TCP_KEEPINTVL, 1,
					"TCP_KEEPINTVL"), "TCP_KEEPINTVL") ||
	    !expect_ok(r, op_setsockopt(r, fd, IPPROTO_TCP, TCP_KEEPCNT, 2,
					"TCP_KEEPCNT"), "TCP_KEEPCNT"))
		goto out_close;
	step_post(r, ROLE_HARNESS, "idle", 0);
	expect_err(r, op_read(r, fd, buf, sizeof(buf)), ETIMEDOUT,
		   "read on the idle connection");
out_close:
	op_close(r, fd);
	step_post(r, ROLE_HARNESS, "client-done", 0);
}

static void run(struct run *r)
{
	if (run_roles(r, server, client))
		return;
	if (!step_wait(r, "idle", NULL) || net_fault(r, FAULT_DROP_TO_SERVER))
		return;
	if (!step_wait(r, "client-done", NULL) || net_restore(r))
		return;
	step_post(r, ROLE_SERVER, "path-restored", 0);
}

SCENARIO(idle_peer_vanished,
	.name = "idle-peer-vanished",
	.summary = "idle peer cut off: keepalive probes, then ETIMEDOUT",
	.net = NET_VETH,
	.run = run,
	.takeaway =
"An idle connection whose peer disappears (nft drops everything the client\n"
"sends) shows nothing at all: with no data in flight nothing is\n"
"retransmitted and nothing times out - without keepalive it would stay\n"
"ESTABLISHED forever.  Here the client enables SO_KEEPALIVE with\n"
"TCP_KEEPIDLE=1, TCP_KEEPINTVL=1 and TCP_KEEPCNT=2 (the defaults are 7200 s,\n"
"75 s and 9 probes: more than two hours).  After 1 s of idleness the kernel\n"
"sends a probe, 1 s later another, and when neither is answered it sends RST\n"
"(reason TCP_KEEPALIVE_TIMEOUT, lost like the probes), goes ESTABLISHED ->\n"
"CLOSE and reports ETIMEDOUT, which the blocked read() returns - 3 s after\n"
"the last activity.  The probes fire none of the traced tracepoints (they\n"
"are not retransmissions): tcpwatch sees 3 s of silence, then the RST and\n"
"the error.\n",
);
