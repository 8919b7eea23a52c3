// SPDX-License-Identifier: GPL-2.0
/*
 * A server closes a connection whose received data it never read: the
 * kernel sends an RST instead of a FIN (TCP_ABORT_ON_CLOSE, on kernels with
 * reset reasons) and the client's recv() fails with ECONNRESET.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "peer.h"

#define MAX_EVENTS	64

static void check_reset_sent(struct tctx *t, int port, int cport, const struct peer *server)
{
	const struct ev *sent[MAX_EVENTS];
	int n = events_select(&t->tw.evs, "rst_sent", port, sent, MAX_EVENTS);
	bool reasons = kernel_has(KF_RST_REASON_AND_NO_SOCKET);

	if (!CHECK(t, n == 1, "%d resets sent, expected 1", n))
		return;
	CHECK(t, ev_int(sent[0], "sport") == port && ev_int(sent[0], "dport") == cport,
	      "reset sent from %lld to %lld, expected %d to %d", ev_int(sent[0], "sport"),
	      ev_int(sent[0], "dport"), port, cport);
	CHECK(t, ev_int(sent[0], "pid") == server->pid && ev_false(sent[0], "no_socket"),
	      "reset sent by pid %lld, expected the server's socket (%d)",
	      ev_int(sent[0], "pid"), server->pid);
	if (reasons)
		CHECK(t, ev_is(sent[0], "reason", "TCP_ABORT_ON_CLOSE"),
		      "reason %s, expected TCP_ABORT_ON_CLOSE", show(sent[0], "reason"));
	else
		CHECK(t, ev_null(sent[0], "reason"),
		      "reason %s on a kernel without reset reasons, expected null",
		      show(sent[0], "reason"));
}

/* With --pid the processes' socket calls are traced too: the recv() that failed. */
static void check_failed_recv(struct tctx *t, int cport, const struct peer *client)
{
	const struct ev *e[MAX_EVENTS];
	int n = events_select(&t->tw.evs, "call", cport, e, MAX_EVENTS), failed = 0;

	for (int i = 0; i < n && i < MAX_EVENTS; i++)
		failed += ev_int(e[i], "sport") == cport && ev_is(e[i], "call", "read") &&
			  ev_is(e[i], "errno", "ECONNRESET") && ev_int(e[i], "pid") == client->pid;
	CHECK(t, failed == 1, "%d reads by the client failed with ECONNRESET, expected 1",
	      failed);
}

static void check_reset(struct tctx *t, int port, int cport, const struct peer *server,
			const struct peer *client)
{
	const struct events *evs = &t->tw.evs;
	const struct ev *e[MAX_EVENTS];
	char got[256];
	int n;

	check_reset_sent(t, port, cport, server);
	/* No FIN: the closer goes straight from ESTABLISHED to CLOSE. */
	events_transitions(evs, port, true, got, sizeof(got));
	CHECK(t, !strcmp(got, "LISTEN>SYN_RECV,SYN_RECV>ESTABLISHED,ESTABLISHED>CLOSE"),
	      "server transitions %s", got);
	events_transitions(evs, cport, false, got, sizeof(got));
	CHECK(t, !strcmp(got, "CLOSE>SYN_SENT,SYN_SENT>ESTABLISHED,ESTABLISHED>CLOSE"),
	      "client transitions %s", got);

	n = events_select(evs, "rst_recv", port, e, MAX_EVENTS);
	if (CHECK(t, n == 1, "%d resets received, expected 1", n))
		CHECK(t, ev_int(e[0], "sport") == cport && ev_int(e[0], "pid") == client->pid &&
		      ev_is(e[0], "state", "ESTABLISHED"),
		      "reset received on port %lld by pid %lld in %s, expected %d, %d, ESTABLISHED",
		      ev_int(e[0], "sport"), ev_int(e[0], "pid"), show(e[0], "state"), cport,
		      client->pid);

	n = events_select(evs, "error", port, e, MAX_EVENTS);
	if (CHECK(t, n == 1, "%d errors, expected 1", n))
		CHECK(t, ev_is(e[0], "errno", "ECONNRESET") && ev_int(e[0], "sport") == cport &&
		      ev_int(e[0], "pid") == client->pid,
		      "error %s on port %lld for pid %lld, expected ECONNRESET on %d for %d",
		      show(e[0], "errno"), ev_int(e[0], "sport"), ev_int(e[0], "pid"), cport,
		      client->pid);
	check_failed_recv(t, cport, client);
}

void test_close_unread(struct tctx *t, const struct mode *m)
{
	struct peer server = PEER_INIT, client = PEER_INIT;
	struct peer_result s, c;
	char pids[32];
	int port;

	if (!peer_start(t, &server, SERVER_CLOSE_UNREAD, "vm-server") ||
	    !peer_start(t, &client, CLIENT_EXPECT_RESET, "vm-client"))
		goto out;
	snprintf(pids, sizeof(pids), "%d,%d", server.pid, client.pid);
	if (!tw_start(t, m, pids))
		goto out;
	port = peer_listen(t, &server);
	if (!port || !peer_connect(t, &client, port) || !peer_result(t, &client, &c) ||
	    !peer_result(t, &server, &s) || !tw_stop(t))
		goto out;
	if (CHECK(t, !c.connect_err && !c.send_err && c.recv_err == ECONNRESET,
		  "client: connect %d, send %d, recv %s, expected ECONNRESET",
		  c.connect_err, c.send_err, strerror(c.recv_err)))
		check_reset(t, port, c.local_port, &server, &client);
out:
	peer_end(&client);
	peer_end(&server);
}
