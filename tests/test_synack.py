"""A listener's SYN-ACK retransmissions are told by what the kernel saw as
it sent them: a full accept queue (the kernel drops the handshake's last
ACK) is accept_queue_overflow; a queue with room means the SYN-ACK or the
ACK went missing on the way, synack_unanswered, and so does a TCP Fast Open
child retransmitting its own SYN-ACK. (The full queue is the listen-backlog
scenario's, in test_scenarios.)"""
import pytest

from conftest import ACCEPT_ONE, netns_losing_requests, through_lost_synacks

PORT = 5082
BACKLOG = 4
# Client and server Fast Open, without cookies: 0x1 | 0x2 | 0x4 | 0x200.
FASTOPEN = 0x207
TCP_FASTOPEN = 23
MSG_FASTOPEN = 0x20000000


@pytest.fixture
def netns():
    # Nothing is long enough to be dropped as a request: only the rule below.
    with netns_losing_requests("twsa", PORT, 65535,
                               ["net.ipv4.tcp_fastopen=%d" % FASTOPEN]) as name:
        yield name


def test_lost_synack_with_room_in_the_queue(netns, trace):
    t, synacks = through_lost_synacks(netns, trace, PORT,
                                      ACCEPT_ONE % (PORT, BACKLOG, PORT))
    assert synacks
    # What the kernel held as each went out: the handshake was never queued.
    for e in synacks:
        assert e["state"] == "LISTEN"
        assert (e["accept_queue"], e["backlog"]) == (0, BACKLOG)
    codes = t.codes()
    assert "synack_unanswered" in codes and "accept_queue_overflow" not in codes
    x = [e for e in t.of_type("explain") if e["code"] == "synack_unanswered"][0]
    client = "127.0.0.1:%d" % synacks[0]["dport"]
    assert x["sport"] == PORT and client in x["text"]
    assert x["text"].startswith("The listener 127.0.0.1:%d of python3" % PORT), x["text"]
    assert "(0 connections wait, backlog %d)" % BACKLOG in x["text"]


FASTOPEN_PAIR = r"""
import socket, sys
srv = socket.socket(); srv.bind(("127.0.0.1", %d))
srv.setsockopt(socket.IPPROTO_TCP, %d, 5); srv.listen(%d)
sys.stdin.readline()                          # tcpwatch is attached
c = socket.socket(); c.settimeout(20)
c.sendto(b"hello", %d, ("127.0.0.1", %d))     # data in the SYN
p, _ = srv.accept()                           # at once: the child is made at the SYN
print("accepted", p.recv(5).decode(), flush=True)
sys.stdin.readline()                          # SYN-ACKs pass again
p.sendall(b"x"); c.recv(1)                    # the handshake completed
print("connected", flush=True)
p.close(); c.close()
""" % (PORT, TCP_FASTOPEN, BACKLOG, MSG_FASTOPEN, PORT)


def test_fast_open_child_retransmits_its_synack(netns, trace):
    t, synacks = through_lost_synacks(netns, trace, PORT, FASTOPEN_PAIR,
                                      first="accepted hello")
    assert synacks
    # From the child, which has no accept queue.
    for e in synacks:
        assert e["state"] == "SYN_RECV"
        assert "accept_queue" not in e and "backlog" not in e
    codes = t.codes()
    assert "synack_unanswered" in codes and "accept_queue_overflow" not in codes
    x = [e for e in t.of_type("explain") if e["code"] == "synack_unanswered"][0]
    assert "Fast Open" in x["text"]
