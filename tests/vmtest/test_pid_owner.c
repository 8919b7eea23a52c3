// SPDX-License-Identifier: GPL-2.0
/*
 * --pid of the server alone: the passive side's events are the server's,
 * though on loopback the kernel runs most of them in the client's context;
 * the client's own socket is filtered out in the kernel.
 */
#include <stdio.h>

#include "peer.h"

#define MAX_EVENTS	128

static void check_passive_side(struct tctx *t, int port, int cport, const struct peer *server)
{
	const struct events *evs = &t->tw.evs;
	const struct ev *e[MAX_EVENTS];
	int n = events_select(evs, NULL, port, e, MAX_EVENTS);
	int children = 0, foreign_close_wait = 0;

	if (!CHECK(t, n > 0 && n <= MAX_EVENTS, "%d events of the server's connection", n))
		return;
	for (int i = 0; i < n; i++) {
		CHECK(t, ev_int(e[i], "pid") == server->pid && ev_is(e[i], "comm", "vm-server"),
		      "%s on %lld->%lld owned by %lld %s, expected the server %d",
		      show(e[i], "type"), ev_int(e[i], "sport"), ev_int(e[i], "dport"),
		      ev_int(e[i], "pid"), show(e[i], "comm"), server->pid);
		if (!ev_is(e[i], "type", "state"))
			continue;
		if (ev_is(e[i], "old", "LISTEN") && ev_is(e[i], "new", "SYN_RECV")) {
			children++;
			CHECK(t, ev_is(e[i], "owner", "listener"),
			      "the child's owner found by %s, expected listener",
			      show(e[i], "owner"));
		}
		foreign_close_wait += ev_is(e[i], "new", "CLOSE_WAIT") &&
				      ev_int(e[i], "cpu_pid") != server->pid;
	}
	CHECK(t, children == 1, "%d LISTEN>SYN_RECV, expected 1", children);
	CHECK(t, foreign_close_wait == 1,
	      "no CLOSE_WAIT run in another task's context: the attribution is not shown");
	n = events_select(evs, NULL, cport, e, MAX_EVENTS);
	for (int i = 0; i < n && i < MAX_EVENTS; i++)
		CHECK(t, ev_int(e[i], "sport") != cport, "the client's socket was reported: %s",
		      show(e[i], "type"));
	CHECK(t, ev_int(&evs->v[evs->n - 1], "filtered") > 0, "nothing filtered in the kernel");
}

void test_pid_owner(struct tctx *t, const struct mode *m)
{
	struct peer server = PEER_INIT, client = PEER_INIT;
	struct peer_result s, c;
	char pids[16];
	int port;

	if (!peer_start(t, &server, SERVER_READ_TO_EOF, "vm-server") ||
	    !peer_start(t, &client, CLIENT_SEND_CLOSE, "vm-client"))
		goto out;
	snprintf(pids, sizeof(pids), "%d", server.pid);
	if (!tw_start(t, m, pids))
		goto out;
	port = peer_listen(t, &server);
	if (!port || !peer_connect(t, &client, port) || !peer_result(t, &client, &c) ||
	    !peer_result(t, &server, &s) || !tw_stop(t))
		goto out;
	if (CHECK(t, !c.connect_err && s.read_eof, "the exchange failed"))
		check_passive_side(t, port, c.local_port, &server);
out:
	peer_end(&client);
	peer_end(&server);
}
