// SPDX-License-Identifier: GPL-2.0
/*
 * A loopback connection closed by the client first: the exact transitions
 * of both sides, each event attributed to the socket's owner.
 */
#include <string.h>

#include "peer.h"

#define MAX_EVENTS	64

static const char client_side[] =
	"CLOSE>SYN_SENT,SYN_SENT>ESTABLISHED,ESTABLISHED>FIN_WAIT1,"
	/* The full socket hands over to a timewait socket: the tracepoint says CLOSE. */
	"FIN_WAIT1>FIN_WAIT2,FIN_WAIT2>CLOSE";
static const char server_side[] =
	"LISTEN>SYN_RECV,SYN_RECV>ESTABLISHED,ESTABLISHED>CLOSE_WAIT,"
	"CLOSE_WAIT>LAST_ACK,LAST_ACK>CLOSE";

static void check_owners(struct tctx *t, int port, int cport,
			 const struct peer *server, const struct peer *client)
{
	const struct ev *evs[MAX_EVENTS];
	int n = events_select(&t->tw.evs, NULL, port, evs, MAX_EVENTS);

	for (int i = 0; i < n && i < MAX_EVENTS; i++) {
		bool by_client = ev_int(evs[i], "sport") == cport ||
				 ev_int(evs[i], "sport") == 0;	/* CLOSE>SYN_SENT */
		const struct peer *owner = by_client ? client : server;
		const char *comm = by_client ? "vm-client" : "vm-server";

		CHECK(t, ev_int(evs[i], "pid") == owner->pid && ev_is(evs[i], "comm", comm),
		      "%s %s:%lld owned by %lld %s, expected %d %s", show(evs[i], "type"),
		      show(evs[i], "saddr"), ev_int(evs[i], "sport"), ev_int(evs[i], "pid"),
		      show(evs[i], "comm"), owner->pid, comm);
	}
}

static void check_close(struct tctx *t, int port, int cport,
			const struct peer *server, const struct peer *client)
{
	const struct events *evs = &t->tw.evs;
	const struct ev *e[MAX_EVENTS];
	char got[512];
	int n;

	events_transitions(evs, cport, false, got, sizeof(got));
	CHECK(t, !strcmp(got, client_side), "client transitions %s, expected %s", got,
	      client_side);
	events_transitions(evs, port, true, got, sizeof(got));
	CHECK(t, !strcmp(got, server_side), "server transitions %s, expected %s", got,
	      server_side);
	check_owners(t, port, cport, server, client);

	n = events_select(evs, "state", port, e, MAX_EVENTS);
	for (int i = 0, listens = 0; i < n && i < MAX_EVENTS; i++) {
		if (!ev_is(e[i], "new", "LISTEN"))
			continue;
		CHECK(t, ++listens == 1, "more than one CLOSE>LISTEN");
		CHECK(t, ev_is(e[i], "owner", "listen"), "listener's owner found by %s",
		      show(e[i], "owner"));
	}
	n = events_select(evs, "destroy", port, e, MAX_EVENTS);
	CHECK(t, n == 3, "%d sockets destroyed, expected 3 (listener, child, client)", n);
	CHECK(t, !events_select(evs, "rst_sent", port, e, MAX_EVENTS), "a reset was sent");
	CHECK(t, !events_select(evs, "error", port, e, MAX_EVENTS), "an error was reported");
}

void test_normal_close(struct tctx *t, const struct mode *m)
{
	struct peer server = PEER_INIT, client = PEER_INIT;
	struct peer_result s, c;
	int port;

	if (!peer_start(t, &server, SERVER_READ_TO_EOF, "vm-server") ||
	    !peer_start(t, &client, CLIENT_SEND_CLOSE, "vm-client") ||
	    !tw_start(t, m, NULL))
		goto out;
	port = peer_listen(t, &server);
	if (!port || !peer_connect(t, &client, port) || !peer_result(t, &client, &c) ||
	    !peer_result(t, &server, &s))
		goto out;
	/* Listener, child, client: the exchange is over once the three are freed. */
	tw_await(t, "destroy", port, 3);
	if (!tw_stop(t))
		goto out;
	if (!CHECK(t, !c.connect_err && !c.send_err && s.read_eof,
		   "the exchange failed: connect %d, send %d, server read to EOF %d",
		   c.connect_err, c.send_err, s.read_eof))
		goto out;
	check_close(t, port, c.local_port, &server, &client);
out:
	peer_end(&client);
	peer_end(&server);
}
