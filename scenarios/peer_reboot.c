/* peer-reboot: the server host forgets the connection without a word. */
#include <unistd.h>

#include "scenario.h"

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
		return;
	/*
	 * Power loss, emulated: when the process dies its socket is
	 * discarded at once (RST instead of FIN), and that RST is dropped.
	 */
	if (!expect_ok(r, op_linger(r, fd, 1, 0), "SO_LINGER{1,0}"))
		return;
	expect_eq(r, op_read(r, fd, buf, sizeof(buf)), sizeof(data) - 1,
		  "read of the data sent before the reboot");
	step_post(r, ROLE_HARNESS, "serving", 0);
	pause();
}

static void client(struct run *r)
{
	char buf[64];
	int fd;

	fd = tcp_dial(r);
	if (fd < 0)
		return;
	expect_eq(r, op_write(r, fd, data, sizeof(data) - 1), sizeof(data) - 1,
		  "write before the reboot");
	if (!step_wait(r, "rebooted", NULL))
		goto out_close;
	expect_eq(r, op_write(r, fd, data, sizeof(data) - 1), sizeof(data) - 1,
		  "write after the reboot (queued)");
	expect_err(r, op_read(r, fd, buf, sizeof(buf)), ECONNRESET,
		   "read after the rebooted host's answer");
out_close:
	op_close(r, fd);
}

static void run(struct run *r)
{
	if (run_roles(r, server, client))
		return;
	if (!step_wait(r, "serving", NULL) || net_fault(r, FAULT_DROP_TO_CLIENT))
		return;
	op_kill(r, ROLE_SERVER, SIGKILL);
	if (!run_reap(r, ROLE_SERVER) || net_restore(r))
		return;
	step_post(r, ROLE_CLIENT, "rebooted", 0);
}

SCENARIO(peer_reboot,
	.name = "peer-reboot",
	.summary = "peer forgets the connection: next segment gets RST",
	.net = NET_VETH,
	.run = run,
	.takeaway =
"The server host loses its connection state without a FIN or RST reaching\n"
"the client, as after a crash or power loss.  Emulated: the server's\n"
"outgoing packets are dropped, the server process is killed - its socket has\n"
"SO_LINGER {1,0}, so dying discards it at once (RST, reason TCP_STATE, which\n"
"is dropped) instead of leaving an orphan that keeps sending FIN - and the\n"
"path is restored.  The client noticed nothing and is still ESTABLISHED.\n"
"Its next write() succeeds locally; the segment reaches a host with no\n"
"socket for it, which answers RST with reason NO_SOCKET (skaddr NULL); the\n"
"client goes ESTABLISHED -> CLOSE with ECONNRESET and its read() fails with\n"
"ECONNRESET.  A client that sends nothing never finds out (see\n"
"idle-peer-vanished).\n",
);
