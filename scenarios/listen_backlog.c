/* listen-backlog: a server that never accepts, and a full accept queue. */
#include "scenario.h"

#define BACKLOG		1
#define STALL_MS	2500

struct attempt {
	const char *what;
	bool late_ack;		/* the handshake's last ACK comes up to 200 ms late */
	bool completes;		/* connect() succeeds */
};

/* The accept queue is full when it holds more than BACKLOG connections. */
static const struct attempt attempts[] = {
	{ "1st connect, queued", false, true },
	{ "2nd connect, its ACK late", true, true },
	{ "3rd connect, fills the queue", false, true },
	{ "4th connect, queue full", false, false },
};

#define ATTEMPTS	(int)(sizeof(attempts) / sizeof(attempts[0]))
#define LATE		1
#define STALLED		3

static void server(struct run *r)
{
	int lfd;

	lfd = tcp_serve(r, BACKLOG);
	if (lfd < 0)
		return;
	/* The bug: nothing ever calls accept(). */
	if (step_wait(r, "client-checked", NULL))
		op_close(r, lfd);
	step_post(r, ROLE_CLIENT, "listener-closed", 0);
}

/* A non-blocking connect, polled for completion; returns the socket. */
static int dial_async(struct run *r, int port, const struct attempt *at)
{
	int fd, ret;

	fd = op_socket(r, SOCK_NONBLOCK);
	if (!expect_ok(r, fd, "socket"))
		return -1;
	/* Delayed-ACK mode: the ACK that completes the handshake waits. */
	if (at->late_ack && op_setsockopt(r, fd, IPPROTO_TCP, TCP_QUICKACK, 0,
					  "TCP_QUICKACK")) {
		op_close(r, fd);
		return -1;
	}
	ret = op_connect(r, fd, r->net.ip[ROLE_SERVER], port);
	if (ret && !expect_err(r, ret, EINPROGRESS, "non-blocking connect")) {
		op_close(r, fd);
		return -1;
	}
	ret = op_poll(r, fd, POLLOUT, at->completes ? 1000 : STALL_MS);
	expect_eq(r, ret, at->completes ? POLLOUT : 0, at->what);
	return fd;
}

static void client(struct run *r)
{
	struct endpoint request;
	int fd[ATTEMPTS], n, port;

	port = tcp_server_port(r);
	if (port < 0)
		return;
	for (n = 0; n < ATTEMPTS; n++) {
		fd[n] = dial_async(r, port, &attempts[n]);
		if (fd[n] < 0)
			goto out_close;
	}
	expect_eq(r, op_diag(r, TCP_SYN_SENT, endpoint_of(r, fd[STALLED])), 1,
		  "stalled connect in SYN_SENT");
	/* The server's side of the connection whose ACK found the queue full. */
	request = (struct endpoint){ .lport = port,
				     .rport = endpoint_port(r, fd[LATE]) };
	expect_eq(r, op_diag(r, TCP_SYN_RECV, &request), 1,
		  "server keeps the late connection as a request (SYN_RECV)");
	step_post(r, ROLE_SERVER, "client-checked", 0);
	step_wait(r, "listener-closed", NULL);
out_close:
	while (n--)
		op_close(r, fd[n]);
}

static void run(struct run *r)
{
	run_roles(r, server, client);
}

SCENARIO(listen_backlog,
	.name = "listen-backlog",
	.summary = "no accept(): a full queue drops SYNs and late ACKs",
	.net = NET_LOOPBACK,
	.run = run,
	.takeaway =
"listen(fd, 1) and no accept(): the kernel completes handshakes on the\n"
"application's behalf into the accept queue, which is full when it holds\n"
"more than the backlog (2 connections here).\n"
"- 1st and 3rd connect: complete at once; the server creates child sockets\n"
"  (LISTEN -> SYN_RECV -> ESTABLISHED) that wait in the queue.\n"
"- 4th connect: the queue is full, the server drops its SYN without a word,\n"
"  and connect() stalls in SYN_SENT, retransmitting the SYN every second: a\n"
"  full backlog looks like packet loss, not like a refusal.\n"
"- 2nd connect: its last handshake ACK comes 200 ms late (TCP_QUICKACK=0 on\n"
"  that socket stands for an ACK delayed by the network) and finds the queue\n"
"  full, so it is dropped.  connect() had already succeeded - the client is\n"
"  ESTABLISHED and may write - but the server only has a request socket\n"
"  (sock_diag: SYN_RECV) and retransmits its SYN-ACK (tcp_retransmit_synack\n"
"  1 s after the SYN) hoping the next ACK finds room.\n"
"Kernel vs catalogue (observed 6.18): request sockets fire no\n"
"inet_sock_set_state; LISTEN -> SYN_RECV -> ESTABLISHED appears only when a\n"
"child is created, so the 2nd connection has no server-side transition at\n"
"all.  SYN-ACKs are retransmitted only for handshakes whose ACK was dropped;\n"
"SYNs that find the queue full are dropped and retransmitted by the client.\n"
"When the listener closes, the queued children are reset (RST, reason\n"
"TCP_STATE; those clients get ECONNRESET) and the request socket goes\n"
"silently (the 2nd client's FIN is answered with RST NO_SOCKET).  The run\n"
"takes 2.5 s, the time it waits for the stalled connect.\n",
);
