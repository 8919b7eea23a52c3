/* shutdown-read: shutdown(SHUT_RD) and a peer that keeps sending. */
#include "scenario.h"

static const char data[] = "data";

static void server(struct run *r)
{
	int lfd, fd;

	lfd = tcp_serve(r, 1);
	if (lfd < 0)
		return;
	fd = tcp_accept(r, lfd);
	if (fd < 0)
		goto out_close_listener;
	if (step_wait(r, "shut-rd", NULL))
		expect_eq(r, op_write(r, fd, data, sizeof(data) - 1),
			  sizeof(data) - 1, "write to a peer that shut down reading");
	step_post(r, ROLE_CLIENT, "sent", 0);
	step_wait(r, "client-done", NULL);
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
	if (!expect_ok(r, op_shutdown(r, fd, SHUT_RD), "shutdown(SHUT_RD)"))
		goto out_close;
	expect_eq(r, op_read(r, fd, buf, sizeof(buf)), 0,
		  "read after shutdown(SHUT_RD), nothing queued");
	step_post(r, ROLE_SERVER, "shut-rd", 0);
	if (!step_wait(r, "sent", NULL))
		goto out_close;
	op_poll(r, fd, POLLIN, 1000);
	/* Linux queues and delivers it: SHUT_RD only ends reads at EOF. */
	expect_eq(r, op_read(r, fd, buf, sizeof(buf)), sizeof(data) - 1,
		  "read after the peer sent data");
out_close:
	op_close(r, fd);
	step_post(r, ROLE_SERVER, "client-done", 0);
}

static void run(struct run *r)
{
	run_roles(r, server, client);
}

SCENARIO(shutdown_read,
	.name = "shutdown-read",
	.summary = "shutdown(SHUT_RD), then the peer sends",
	.net = NET_LOOPBACK,
	.run = run,
	.takeaway =
"shutdown(SHUT_RD) changes nothing on the wire: no segment is sent, no state\n"
"changes and the peer is not told.  Locally, a read() with nothing queued\n"
"returns 0 (EOF) at once instead of blocking.\n"
"Kernel vs catalogue (observed 6.18): Linux does not discard data that\n"
"arrives after SHUT_RD.  It is ACKed and queued, the peer's write()\n"
"succeeds, and the next read() returns it (here 4 bytes): SHUT_RD only makes\n"
"reads return EOF when the queue is empty.  Data left unread would make\n"
"close() send RST, as in close-unread-rst.\n",
);
