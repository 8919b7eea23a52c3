"""A connection's retransmission count (the connection record's
"retransmits") is the kernel's own total_retrans, and "retransmits_unseen"
counts only the attempts that happened while it was traced and had no
event. Two sockets start with a count no retransmit event explains: an
accepted one inherits its request's SYN-ACK retransmissions (reported as
synack_retransmit, on the listener), and one met mid-life retransmitted
before tcpwatch started. Neither is a missed event."""
import time

import pytest

from conftest import (ACCEPT_ONE, go_on, netns_counters, netns_losing_requests,
                      running, said, through_lost_synacks)

PORT = 5081
BIG = 120


@pytest.fixture
def netns():
    with netns_losing_requests("twrc", PORT, BIG) as name:
        yield name


def test_accepted_socket_starts_with_its_synack_retransmissions(netns, trace):
    t, synacks = through_lost_synacks(netns, trace, PORT, ACCEPT_ONE % (PORT, 1, PORT))
    accepted = [c for c in t.of_type("connection")
                if c["role"] == "passive" and c["sport"] == PORT]
    assert synacks and len(accepted) == 1, t.codes()
    # The kernel's count for the accepted socket: its request's SYN-ACKs.
    assert accepted[0]["retransmits"] == max(e["count"] for e in synacks)
    assert accepted[0]["retransmits_unseen"] == 0


MID_LIFE = r"""
import socket, struct, sys
srv = socket.socket(); srv.bind(("127.0.0.1", %d)); srv.listen(1)
c = socket.socket(); c.connect(("127.0.0.1", %d)); p, _ = srv.accept()
c.send(b"q" * 100)                            # lost: retransmitted from now on
print("sent", flush=True)
sys.stdin.readline()                          # tcpwatch has seen some
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.close()
print("closed", flush=True)
""" % (PORT, PORT)


def test_socket_met_mid_life_has_no_unseen_retransmissions(netns, trace):
    with running(netns, MID_LIFE) as prog:
        assert said(prog) == "sent"
        time.sleep(0.7)                       # a probe and a retransmission, untraced
        t = trace("--port", str(PORT))
        t.wait_for(lambda e: e["type"] == "retransmit", timeout=10)
        before = netns_counters(netns)["Tcp:RetransSegs"]
        go_on(prog)
        assert said(prog) == "closed"
    t.stop()
    assert t.rc == 0, t.stderr
    attempted = netns_counters(netns)["Tcp:RetransSegs"]
    seen = [e for e in t.of_type("retransmit") if e["dport"] == PORT]
    client = [c for c in t.of_type("connection") if c["dport"] == PORT]
    assert len(client) == 1 and client[0]["role"] == "present_at_attach", client
    # Some happened before tracing began: they are in the count, not unseen.
    assert seen and seen[0]["count"] > 1 and before >= seen[0]["count"], seen
    assert client[0]["retransmits"] == attempted
    assert client[0]["retransmits_unseen"] == attempted - seen[0]["count"] + 1 - len(seen)
