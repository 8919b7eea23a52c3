"""What a process already holds when tcpwatch attaches: listed at once (the
snapshot), and judged at once: a CLOSE_WAIT socket is a leak whose age is
unknown, without waiting for any event."""
import json
import time

from conftest import KERNEL_TYPES

# The orphaned FIN_WAIT2 expires this long after the close (in the peer's namespace).
FIN_TIMEOUT = 5
FIN_ENV = {"TW_FIN_TIMEOUT": str(FIN_TIMEOUT)}


def printed(t):
    """The JSON lines tcpwatch has printed so far, while it runs."""
    return [json.loads(l) for l in list(t._out) if l.strip()]


def test_incident_at_attach(netns_peer, trace):
    server = netns_peer("incident", env=FIN_ENV)
    port, peers = server.hello["port"], server.hello["peers"]
    t = trace("--pid", str(server.pid))
    leak = t.wait_for(lambda e: e["type"] == "explain"
                      and e["code"] == "close_wait_leak", timeout=2)
    # Reported from the snapshot alone: the kernel has said nothing yet.
    assert not [e for e in printed(t) if e["type"] in KERNEL_TYPES]
    assert leak["pid"] == server.pid and leak["sport"] == port
    assert leak["dport"] == peers["W"]
    assert "already in CLOSE_WAIT when tracing started" in leak["text"]
    assert "unknown" in leak["text"]

    snap = {e["dport"]: e for e in printed(t) if e["type"] == "snapshot"}
    listener = snap.pop(0)
    assert listener["state"] == "LISTEN" and listener["sport"] == port
    assert listener["pid"] == server.pid and listener["inode"]
    held = {"W": "CLOSE_WAIT", "F": "FIN_WAIT2", "E": "ESTABLISHED"}
    for tag, state in held.items():
        s = snap[peers[tag]]
        assert (s["state"], s["sport"], s["pid"]) == (state, port, server.pid)
        assert s["comm"] == "python3" and s["inode"] > 0
    # Timewait sockets on its port, which no process holds.
    for tag, state in {"T": "TIME_WAIT", "O": "FIN_WAIT2"}.items():
        s = snap[peers[tag]]
        assert (s["state"], s["sport"]) == (state, port)
        assert s["pid"] is None and s["comm"] is None and s["inode"] is None
        assert s["timer"] == "timewait" and 0 < s["expires_ms"] <= 60000
    assert len(snap) == 5, snap

    # The orphaned FIN_WAIT2 expires: its end is seen, though no hook shows it.
    gone = t.wait_for(lambda e: e.get("reconstructed") and e["new"] == "CLOSE"
                      and e["dport"] == peers["O"], timeout=FIN_TIMEOUT + 3)
    assert gone["old"] == "FIN_WAIT2" and gone["cause"] == "expired"

    # The connections present at attach go on being followed, by socket.
    server.go()
    server.result()
    t.stop()
    assert t.rc == 0, t.stderr
    assert [e["code"] for e in t.events
            if e["type"] == "explain"].count("close_wait_leak") == 1
    w = [e for e in t.of_type("state") if e["dport"] == peers["W"]]
    assert [(e["old"], e["new"]) for e in w] == [("CLOSE_WAIT", "LAST_ACK"),
                                                 ("LAST_ACK", "CLOSE")]
    assert all(e["pid"] == server.pid and e["owner"] == "fd" for e in w)
    done = [e for e in t.events if e["type"] == "connection"
            and e["dport"] == peers["W"]]
    assert len(done) == 1 and done[0]["role"] == "present_at_attach"
    assert [s["state"] for s in done[0]["states"]][:2] == ["CLOSE_WAIT", "LAST_ACK"]
    assert "close_wait_leak" in done[0]["codes"]


def test_snapshot_in_text(netns_peer, trace):
    server = netns_peer("incident", env=FIN_ENV)
    peers = server.hello["peers"]
    t = trace("--pid", str(server.pid), "--duration", "1", json_output=False)
    t.wait()
    text = t.stdout.decode()
    assert t.rc == 0, t.stderr
    lines = [l for l in text.splitlines() if "present: " in l]
    assert len(lines) == 6, text
    cw = [l for l in lines if ":%d " % peers["W"] in l]
    assert len(cw) == 1 and "present: CLOSE_WAIT" in cw[0]
    assert str(server.pid) in cw[0] and "python3" in cw[0]
    tw = [l for l in lines if ":%d " % peers["T"] in l][0]
    assert "present: TIME_WAIT" in tw and " - " in tw and "s left" in tw
    assert all(len(l) < 100 for l in lines)
    assert "=> close_wait_leak:" in text and "unknown" in text


def test_many_close_wait_sockets_are_one_finding(netns_peer, trace):
    server = netns_peer("leaker", 500, env=FIN_ENV)
    port = server.hello["port"]
    t = trace("--pid", str(server.pid))
    attached = time.monotonic()
    many = t.wait_for(lambda e: e["type"] == "explain" and e.get("count"),
                      timeout=1)
    assert time.monotonic() - attached < 1.0
    assert many["code"] == "close_wait_leak" and "conn" not in many
    assert many["pid"] == server.pid and many["comm"] == "python3"
    assert many["count"] == 495
    assert "495 more connections in CLOSE_WAIT (500 in all" in many["text"]
    assert "Peers: 127.0.0.1 (495, various ports)" in many["text"]
    assert "unknown" in many["text"]
    time.sleep(0.5)     # a few ticks: nothing more about them
    server.go()
    server.result()
    t.stop()
    assert t.rc == 0, t.stderr
    leaks = [e for e in t.events if e["type"] == "explain"]
    assert len(leaks) == 6 and {e["code"] for e in leaks} == {"close_wait_leak"}
    assert sum(1 for e in leaks if "conn" in e) == 5
    assert all(e["sport"] == port for e in leaks if "conn" in e)
    assert len(t.of_type("snapshot")) == 501
