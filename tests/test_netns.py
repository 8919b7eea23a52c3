"""One 4-tuple in several network namespaces at once. Every container has
a loopback of its own, so 127.0.0.1:A -> 127.0.0.1:B can be a connection in
many of them at the same time, each with its own TIME_WAIT. tcpwatch keeps
them apart: a connection's peer, its TIME_WAIT remnant and the reuse of its
tuple are looked for in its own namespace (a peer across a veth, in another
one, only when the address is not loopback); and so is, in the kernel, the
owner of a timewait socket's reset."""
import json
import time

import pytest

SERVER_PORT, CLIENT_PORT = 47310, 47311
TUPLE = "%d %d" % (SERVER_PORT, CLIENT_PORT)
# An orphaned FIN_WAIT2 may become a timewait remnant as soon as its FIN is
# acknowledged, before the peer's FIN (then only sock_diag tells TIME_WAIT).
# With tcp_fin_timeout above 60 s it stays a full socket for the excess, so
# the hand-over comes with the peer's FIN: from the peer's LAST_ACK, which
# tcpwatch must find in the right namespace.
LATE_HANDOVER = {"TW_FIN_TIMEOUT": "61"}


def reconstructed(events, pid, sport):
    return [e for e in events if e["type"] == "state" and e.get("reconstructed")
            and e["pid"] == pid and e["sport"] == sport]


@pytest.mark.parametrize("mode", [[], ["--classic"]], ids=["tp_btf", "classic"])
def test_same_tuple_in_three_namespaces(netns_peer, trace, mode, tmp_path):
    report = tmp_path / "report.json"
    t = trace("--port", str(SERVER_PORT), "--report", str(report), *mode)
    # b first: its connection is the first one tcpwatch knows by this tuple.
    b = netns_peer("netns-pair", "hold")
    b.go(TUPLE)
    assert b._line()["established"]
    # a: the server closes first, so its side of the tuple is in TIME_WAIT...
    a = netns_peer("netns-pair", "close", env=LATE_HANDOVER)
    a.go(TUPLE)
    assert a._line()["closed"]
    # ... while c makes the same connection again, and closes it the same way.
    c = netns_peer("netns-pair", "close", env=LATE_HANDOVER)
    c.go(TUPLE)
    assert c._line()["closed"]
    t.wait_for(lambda e: e["type"] == "connection" and e["pid"] == c.pid
               and e["sport"] == CLIENT_PORT)
    t.stop()
    assert t.rc == 0, t.stderr
    netns = {p.pid: {e["netns"] for e in t.kernel_events() if e["pid"] == p.pid}
             for p in (a, b, c)}
    assert all(len(n) == 1 for n in netns.values()), netns
    assert len(set.union(*netns.values())) == 3, netns

    for p in (a, c):
        # Its TIME_WAIT, known from its own client's FIN (b's client, with
        # the same tuple in another namespace, never sent one), and not
        # ended by the other namespace's new connection on the tuple.
        steps = reconstructed(t.events, p.pid, SERVER_PORT)
        assert [(e["old"], e["new"], e["cause"]) for e in steps] == \
            [("FIN_WAIT2", "TIME_WAIT", "peer_fin")], steps
        assert steps[0]["netns"] in netns[p.pid]
        # Its timeline, finished when tracing ended, still in TIME_WAIT.
        server = [e for e in t.of_type("connection")
                  if e["pid"] == p.pid and e["sport"] == SERVER_PORT
                  and e["dport"] == CLIENT_PORT]
        assert len(server) == 1, server
        assert [s["state"] for s in server[0]["states"]][-1] == "TIME_WAIT"
    assert not [e for e in t.events if e.get("cause") == "reused"]
    # b's connection is established and nothing else.
    assert {(e["old"], e["new"]) for e in t.kernel_events()
            if e["pid"] == b.pid and e["type"] == "state"} == \
        {("CLOSE", "LISTEN"), ("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"),
         ("LISTEN", "SYN_RECV"), ("SYN_RECV", "ESTABLISHED")}
    # The report keeps them apart too: three accepted connections, one each.
    r = json.loads(report.read_text())
    accepted = {c["pid"]: c for c in r["connections"] if c["role"] == "passive"}
    assert len([c for c in r["connections"] if c["role"] == "passive"]) == 3
    assert accepted[a.pid]["final_state"] == accepted[c.pid]["final_state"] == "TIME_WAIT"
    assert accepted[b.pid]["final_state"] == "ESTABLISHED"
    for p in (a, b, c):
        p.go()
        assert p.result()


def test_timewait_reset_in_another_namespace_is_not_the_targets(netns_peer, trace):
    """--pid names a process whose closed connection left a timewait socket;
    another namespace's timewait socket, with the same tuple, sends a reset.
    That reset is not the target's: the kernel's tuple-to-owner map is kept
    per namespace for loopback tuples. (Not with --classic: the classic error
    report, which needs that map, carries no namespace.)"""
    a = netns_peer("netns-pair", "close")
    t = trace("--pid", str(a.pid))
    a.go(TUPLE)
    assert a._line()["closed"]
    c = netns_peer("netns-pair", "remnant-rst", env={"TW_FIN_TIMEOUT": "61"})
    c.go(TUPLE)
    assert c._line() == {"closed": True, "reset": True}   # the kernel did reset
    time.sleep(0.3)
    t.stop()
    assert t.rc == 0, t.stderr
    ours = {e["netns"] for e in t.kernel_events() if e["pid"] == a.pid}
    assert len(ours) == 1, ours
    # a's own connection, seen: the tuple was known to the kernel's map.
    assert [(e["old"], e["new"]) for e in t.kernel_events()
            if e["type"] == "state" and e["sport"] == SERVER_PORT
            and e["dport"] == CLIENT_PORT][-1] == ("FIN_WAIT2", "CLOSE")
    others = [e for e in t.kernel_events() if e.get("netns") not in ours]
    assert not others, others
    assert not t.of_type("rst_sent"), t.of_type("rst_sent")
    for p in (a, c):
        p.go()
        assert p.result()
