// SPDX-License-Identifier: GPL-2.0
/*
 * connect() to a port nobody listens on, under --pid of the client: the
 * SYN is answered with an RST sent by no socket, connect() fails with
 * ECONNREFUSED, and everything is the client's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "peer.h"

#define MAX_EVENTS	16

/*
 * Resets sent with no socket are traced only by kernels that have reset
 * reasons, and never through the classic tracepoint (whose event carries
 * no packet tcpwatch may parse: README, limitations).
 */
static bool no_socket_reset_traced(const struct mode *m)
{
	return !m->classic && kernel_has(KF_RST_REASON_AND_NO_SOCKET);
}

static void check_refused(struct tctx *t, const struct mode *m, int port,
			  const struct peer *client)
{
	const struct events *evs = &t->tw.evs;
	const struct ev *recv[MAX_EVENTS], *sent[MAX_EVENTS], *err[MAX_EVENTS];
	int nrecv, nsent, nerr, cport;
	char got[256];

	nrecv = events_select(evs, "rst_recv", port, recv, MAX_EVENTS);
	if (!CHECK(t, nrecv == 1, "%d resets received, expected 1", nrecv))
		return;
	CHECK(t, ev_is(recv[0], "state", "SYN_SENT") && ev_int(recv[0], "pid") == client->pid,
	      "reset received in %s by pid %lld, expected SYN_SENT, %d",
	      show(recv[0], "state"), ev_int(recv[0], "pid"), client->pid);
	cport = (int)ev_int(recv[0], "sport");
	events_transitions(evs, cport, false, got, sizeof(got));
	CHECK(t, !strcmp(got, "CLOSE>SYN_SENT,SYN_SENT>CLOSE"),
	      "client transitions %s, expected CLOSE>SYN_SENT,SYN_SENT>CLOSE", got);

	nerr = events_select(evs, "error", port, err, MAX_EVENTS);
	if (CHECK(t, nerr == 1, "%d errors, expected 1", nerr))
		CHECK(t, ev_is(err[0], "errno", "ECONNREFUSED") &&
		      ev_int(err[0], "pid") == client->pid,
		      "error %s for pid %lld, expected ECONNREFUSED for %d",
		      show(err[0], "errno"), ev_int(err[0], "pid"), client->pid);

	nsent = events_select(evs, "rst_sent", port, sent, MAX_EVENTS);
	if (!no_socket_reset_traced(m)) {
		CHECK(t, nsent == 0, "%d resets sent seen, expected none here", nsent);
		return;
	}
	if (!CHECK(t, nsent == 1, "%d resets sent, expected 1", nsent))
		return;
	CHECK(t, ev_is(sent[0], "reason", "NO_SOCKET") && ev_true(sent[0], "no_socket"),
	      "reset sent for %s, expected NO_SOCKET with no_socket true",
	      show(sent[0], "reason"));
	CHECK(t, ev_int(sent[0], "sport") == port && ev_int(sent[0], "dport") == cport,
	      "reset sent from %lld to %lld, expected %d to %d", ev_int(sent[0], "sport"),
	      ev_int(sent[0], "dport"), port, cport);
	/* Attributed to the process it was addressed to, though no socket sent it. */
	CHECK(t, ev_int(sent[0], "pid") == client->pid, "reset sent attributed to %lld",
	      ev_int(sent[0], "pid"));
	/* On loopback the RST is sent before the client processes it. */
	CHECK(t, sent[0] < recv[0], "reset received before it was sent");
}

void test_refused_connect(struct tctx *t, const struct mode *m)
{
	struct peer client = PEER_INIT;
	struct peer_result c;
	char pids[16];
	int port = closed_port();

	if (!CHECK(t, port, "no free port") ||
	    !peer_start(t, &client, CLIENT_SEND_CLOSE, "vm-client"))
		goto out;
	snprintf(pids, sizeof(pids), "%d", client.pid);
	if (!tw_start(t, m, pids) || !peer_connect(t, &client, port) ||
	    !peer_result(t, &client, &c) || !tw_stop(t))
		goto out;
	if (CHECK(t, c.connect_err == ECONNREFUSED, "connect(): %s, expected ECONNREFUSED",
		  strerror(c.connect_err)))
		check_refused(t, m, port, &client);
out:
	peer_end(&client);
}
