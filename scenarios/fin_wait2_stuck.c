/*
 * fin-wait2-stuck: the server dies and its orphaned FIN_WAIT2 waits for a
 * client that is busy elsewhere - but only for tcp_fin_timeout.
 */
#include <unistd.h>

#include "scenario.h"

#define FIN_TIMEOUT_S	"2"
#define PAST_TIMEOUT_MS	2500
#define RST_BACK_MS	2000	/* the client's FIN out and the RST back */

static void server(struct run *r)
{
	int lfd, fd;

	lfd = tcp_serve(r, 1);
	if (lfd < 0)
		return;
	fd = tcp_accept(r, lfd);
	if (fd < 0)
		return;
	step_post(r, ROLE_HARNESS, "accepted", endpoint_port(r, lfd));
	pause();
}

static void client(struct run *r)
{
	char buf[64];
	int fd;

	fd = tcp_dial(r);
	if (fd < 0)
		return;
	step_post(r, ROLE_HARNESS, "connected", endpoint_of(r, fd)->lport);
	/* Blocked on something else (stdin, a lock...), not on the socket. */
	if (!step_wait(r, "stdin-line", NULL))
		goto out_close;
	expect_eq(r, op_read(r, fd, buf, sizeof(buf)), 0,
		  "late read of the server's FIN (EOF)");
out_close:
	expect_ok(r, op_close(r, fd), "close");
}

static void run(struct run *r)
{
	struct endpoint server_ep = { .lport = 0 }, client_ep = { .lport = 0 };
	uint32_t port;

	if (net_sysctl(r, ROLE_SERVER, "tcp_fin_timeout", FIN_TIMEOUT_S))
		return;
	if (run_roles(r, server, client))
		return;
	if (!step_wait(r, "accepted", &port))
		return;
	server_ep.lport = port;
	if (!step_wait(r, "connected", &port))
		return;
	client_ep.lport = port;

	op_kill(r, ROLE_SERVER, SIGKILL);
	if (!run_reap(r, ROLE_SERVER) || !run_sleep(r, 200))
		return;
	expect_eq(r, net_diag(r, ROLE_SERVER, TCP_FIN_WAIT2, &server_ep), 1,
		  "dead server's connection in FIN_WAIT2");
	expect_eq(r, net_diag(r, ROLE_CLIENT, TCP_CLOSE_WAIT, &client_ep), 1,
		  "client's connection in CLOSE_WAIT");
	if (!run_sleep(r, PAST_TIMEOUT_MS))
		return;
	expect_eq(r, net_diag(r, ROLE_SERVER, TCP_FIN_WAIT2, &server_ep), 0,
		  "server's FIN_WAIT2 after tcp_fin_timeout");
	expect_eq(r, net_diag(r, ROLE_CLIENT, TCP_CLOSE_WAIT, &client_ep), 1,
		  "client's connection still in CLOSE_WAIT");
	step_post(r, ROLE_CLIENT, "stdin-line", 0);
	/*
	 * The client's FIN and the server's RST cross the wire after its
	 * close() returned: the run ends once they have, not with the wire.
	 */
	if (!run_reap(r, ROLE_CLIENT))
		return;
	expect_eq(r, net_diag_wait(r, ROLE_CLIENT, TCP_LAST_ACK, &client_ep, 0, RST_BACK_MS),
		  0, "client's LAST_ACK ended by the server's RST");
}

SCENARIO(fin_wait2_stuck,
	.name = "fin-wait2-stuck",
	.summary = "server killed, client busy: FIN_WAIT2 vs CLOSE_WAIT",
	.net = NET_WIRE,
	.run = run,
	.takeaway =
"The server is killed; its kernel closes the socket and sends FIN.  The\n"
"client is blocked elsewhere, not reading, so its socket sits in CLOSE_WAIT\n"
"while the server's sits in FIN_WAIT2 waiting for a FIN that only the\n"
"client's close() can send.  The client's application sees nothing until\n"
"it reads (0, EOF).  The server's side is an orphan: the tracepoint shows\n"
"FIN_WAIT1 -> FIN_WAIT2 -> CLOSE at once and the rest lives in a timewait\n"
"socket (sock_diag: FIN_WAIT2) bounded by tcp_fin_timeout - 60 s by\n"
"default, 2 s in this run's server namespace, so the run takes about 3 s.\n"
"After that it vanishes without a packet.  When the client finally reads\n"
"EOF and closes, its FIN finds no socket: the server answers RST\n"
"(NO_SOCKET) and the client goes LAST_ACK -> CLOSE on the RST instead of\n"
"an ACK.  close() had returned 0: nobody is told.\n"
"Observed 6.18 on a veth pair, where the peer's ACK of the FIN can arrive\n"
"while the dying process still holds the socket: the orphan then stays a\n"
"full socket in FIN_WAIT2 (no CLOSE transition), and when tcp_fin_timeout\n"
"expires the kernel sends RST (reason TCP_STATE, state FIN_WAIT2), which\n"
"resets the idle client (CLOSE_WAIT -> CLOSE, error EPIPE).  This run uses\n"
"the userspace wire, whose delivery is asynchronous as on a real network,\n"
"so the ACK always finds the socket released.\n",
);
