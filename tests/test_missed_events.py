"""What the kernel's hooks did not report, tcpwatch asks sock_diag about.

On 6.18 an orphaned socket sometimes goes FIN_WAIT1 -> FIN_WAIT2 -> timewait
with neither state change nor destroy reaching any BPF program (bpftrace's
tracepoint missed the same sockets; about 1 loopback close in 450). Too rare
to wait for, so the test makes it: a real traced run is recorded, the three
events the kernel sometimes withholds are taken out of the recording, and the
kernel's own sock_diag answer about that socket is put where the analyzer
asks. The replay must then tell the same story from sock_diag alone.
"""
import json
import subprocess
import time

from conftest import TCPWATCH, Trace, pid_args, run_tcpwatch

NS = 1_000_000_000
# The kernel's numbers for the states, as a recording holds them.
FIN_WAIT1, FIN_WAIT2, CLOSE, LAST_ACK = 4, 5, 7, 9


def recorded_run(peers, rec, server_mode, wait, client_mode="normal"):
    """A real traced run, recorded: the client closes first; the server
    ("leak") keeps its side open for wait seconds, or ("normal") closes at
    once, and tracing goes on for wait seconds after."""
    server = peers("server", server_mode)
    client = peers("client", client_mode)
    # Traced too, it keeps tracing on once the other two have exited.
    idle = peers("server", "normal")
    t = Trace(pid_args(server, client, idle) +
              ["--stuck", "1", "--record", str(rec)])
    server.go()
    port = server.port()
    client.go(port)
    cport = client.result()["local_port"]
    if server_mode == "leak":
        server._line()
        time.sleep(wait)
        server.go()
    server.result()
    if server_mode != "leak":
        time.sleep(wait)
    t.stop()
    assert t.rc == 0, t.stderr
    return t, client.pid, cport, server.pid, port


def withhold(lines, sport, dport, steps, answers, after=NS, inject=()):
    """The recording as if the kernel had not reported the given state
    changes (old, new) of the socket sport -> dport, nor its destroy; what
    sock_diag said about it goes to the first tick `after` ns past its last
    reported change, where the analyzer asks, after the records of inject
    (made from that tick). answers(first) gives them, from the first answer
    the live run got (None if it asked nothing)."""
    recs = [json.loads(l) for l in lines]
    mine = [r for r in recs if r["type"] == "event" and r["sport"] == sport
            and r["dport"] == dport]
    gone = [r for r in mine if r["event"] == "destroy" or (
        r["event"] == "state" and (r["oldstate"], r["newstate"]) in steps)]
    assert [(r["oldstate"], r["newstate"]) for r in gone[:-1]] == steps, gone
    assert gone[-1]["event"] == "destroy", gone
    last = max(r["ts_ns"] for r in mine if r["event"] == "state"
               and not any(r is g for g in gone))

    def about_it(r):
        return r["type"] == "diag" and r["sport"] == sport and r["dport"] == dport

    first = next((r for r in recs if about_it(r)), None)
    out, asked = [], False
    for r in recs:
        if any(r is g for g in gone) or (about_it(r) and not asked):
            continue
        due = answers and r["type"] in ("tick", "end") and not asked and \
            r["ts_ns"] >= last + after
        if due and inject:
            out += [f(r) for f in inject] + answers(first)
            asked = True
        out.append(r)
        if due and not inject:
            out += answers(first)
            asked = True
    assert asked or not answers
    return "".join(json.dumps(r) + "\n" for r in out)


def replayed(path):
    rc, out, err = run_tcpwatch("report", str(path), "--json")
    assert rc == 0, err
    assert "no answer" not in err, err
    return [json.loads(l) for l in out.splitlines()]


def timeline(events, sport, dport):
    done = [e for e in events if e["type"] == "connection"
            and (e["sport"], e["dport"]) == (sport, dport)]
    assert len(done) == 1, done
    return [s["state"] for s in done[0]["states"]]


def test_fin_wait2_remnant_found_without_its_events(peers, tmp_path):
    rec = tmp_path / "live.jsonl"
    t, client_pid, cport, _, port = recorded_run(peers, rec, "leak", 2)

    def remnant(first):
        # FIN_WAIT2, no inode: the orphaned remnant. The lookup that finds
        # it, then the hand-over's own.
        assert first["state"] == FIN_WAIT2 and first["inode"] == 0, first
        return [first, first]

    edited = tmp_path / "withheld.jsonl"
    edited.write_text(withhold(rec.read_text().splitlines(), cport, port,
                               [(FIN_WAIT1, FIN_WAIT2), (FIN_WAIT2, CLOSE)],
                               remnant))
    events = replayed(edited)
    mine = [e for e in events if e["type"] == "state" and e["sport"] == cport]
    made = [(e["old"], e["new"], e["cause"]) for e in mine if e.get("reconstructed")]
    # Made from sock_diag, then TIME_WAIT when the server's FIN came.
    assert made == [("FIN_WAIT1", "FIN_WAIT2", "sock_diag"),
                    ("FIN_WAIT2", "CLOSE", "sock_diag"),
                    ("FIN_WAIT2", "TIME_WAIT", "peer_fin")], mine
    fw2 = [e for e in events if e["type"] == "explain"
           and e["code"] == "fin_wait2_peer_not_closing"]
    assert len(fw2) == 1 and (fw2[0]["pid"], fw2[0]["sport"]) == (client_pid, cport)
    # Closed at the FIN, not when the remnant was found.
    assert " 1." in fw2[0]["text"] or " 2." in fw2[0]["text"], fw2[0]["text"]
    # The same explanations as the live run, where the kernel told all.
    assert sorted(e["code"] for e in events if e["type"] == "explain") == \
        sorted(t.codes())
    assert timeline(events, cport, port) == [
        "SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"]


def test_socket_gone_without_its_events(peers, tmp_path):
    """The server's LAST_ACK -> CLOSE and destroy withheld: sock_diag finds
    nothing, so the socket is gone, and its timeline ends as the live one."""
    rec = tmp_path / "live.jsonl"
    t, _, cport, server_pid, port = recorded_run(peers, rec, "normal", 1.5)

    def nothing(first):
        assert first is None, first     # the live run had no reason to ask
        return [{"type": "diag", "query": "lookup", "netns": netns,
                 "family": 2, "saddr": "127.0.0.1", "sport": port,
                 "daddr": "127.0.0.1", "dport": cport, "ret": -2, "state": 0,
                 "expires_ms": 0, "rqueue": 0, "wqueue": 0, "inode": 0}]

    lines = rec.read_text().splitlines()
    netns = next(json.loads(l)["netns"] for l in lines if '"event":"state"' in l)
    edited = tmp_path / "withheld.jsonl"
    edited.write_text(withhold(lines, port, cport, [(LAST_ACK, CLOSE)], nothing))
    events = replayed(edited)
    made = [(e["old"], e["new"], e["cause"]) for e in events
            if e["type"] == "state" and e["sport"] == port and e.get("reconstructed")]
    assert made == [("LAST_ACK", "CLOSE", "sock_diag")]
    normal = [e for e in events if e["type"] == "explain" and e["code"] == "normal_close"
              and e["sport"] == port]
    assert len(normal) == 1 and normal[0]["pid"] == server_pid
    assert sorted(e["code"] for e in events if e["type"] == "explain") == \
        sorted(t.codes())
    assert timeline(events, port, cport) == [
        "SYN_RECV", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSE"]


def test_remnant_known_from_its_reset(peers, tmp_path):
    """The server closes first and its hand-over goes unreported; the
    client then writes, and the remnant answers with a reset: that reset
    is what tells of the remnant, with no sock_diag question."""
    rec = tmp_path / "live.jsonl"
    t, _, cport, server_pid, port = recorded_run(peers, rec, "close-early", 0.5,
                                                 client_mode="write-twice")
    live = [json.loads(l) for l in t.stdout.splitlines()]
    assert "rst_timewait_socket" in t.codes(), t.codes()
    edited = tmp_path / "withheld.jsonl"
    edited.write_text(withhold(rec.read_text().splitlines(), port, cport,
                               [(FIN_WAIT1, FIN_WAIT2), (FIN_WAIT2, CLOSE)], None))
    events = replayed(edited)
    made = [(e["old"], e["new"], e["cause"]) for e in events
            if e["type"] == "state" and e["sport"] == port and e.get("reconstructed")]
    assert made == [("FIN_WAIT1", "FIN_WAIT2", "rst"), ("FIN_WAIT2", "CLOSE", "rst"),
                    ("FIN_WAIT2", "CLOSE", "rst")], made
    rst = [e for e in events if e["type"] == "explain"
           and e["code"] == "rst_timewait_socket"]
    assert len(rst) == 1 and rst[0]["pid"] == server_pid, rst
    assert "orphaned FIN_WAIT2" in rst[0]["text"]
    assert sorted(e["code"] for e in events if e["type"] == "explain") == \
        sorted(t.codes())
    assert timeline(events, port, cport) == timeline(live, port, cport)


def test_timeout_known_from_the_call(tmp_path):
    """data-retrans-timeout with the kernel's CLOSE and error report of the
    timed-out socket withheld (one timer callback reports both): the
    application's read() failing with ETIMEDOUT tells what happened."""
    rec = tmp_path / "live.jsonl"
    p = subprocess.run([TCPWATCH, "--scenario", "data-retrans-timeout", "--json",
                        "--record", str(rec)], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode()
    live = [json.loads(l) for l in p.stdout.splitlines()]
    codes = sorted(e["code"] for e in live if e["type"] == "explain")
    assert "retrans_timeout" in codes, codes
    recs = [json.loads(l) for l in rec.read_text().splitlines()]
    err = [r for r in recs if r["type"] == "event" and r["event"] == "error"]
    assert len(err) == 1 and err[0]["value"] == 110, err      # ETIMEDOUT
    sk = err[0]["sk"]
    gone = [r for r in recs if r["type"] == "event" and r["sk"] == sk and (
        r["event"] == "error" or (r["event"] == "state" and r["newstate"] == CLOSE))]
    assert len(gone) == 2, gone
    edited = tmp_path / "withheld.jsonl"
    edited.write_text("".join(json.dumps(r) + "\n" for r in recs
                              if not any(r is g for g in gone)))
    events = replayed(edited)
    made = [(e["old"], e["new"], e["cause"]) for e in events
            if e["type"] == "state" and e["sk"] == sk and e.get("reconstructed")]
    assert made == [("ESTABLISHED", "CLOSE", "call")], made
    assert sorted(e["code"] for e in events if e["type"] == "explain") == codes


def test_socket_freed_unreported(peers, tmp_path):
    """The client's hand-over and destroy withheld, and its socket's kernel
    address taken by a new socket half a second later: the old socket is
    then known to be freed, and what sock_diag says of it is told at once
    (before the first lookup a tick would make)."""
    rec = tmp_path / "live.jsonl"
    t, client_pid, cport, _, port = recorded_run(peers, rec, "leak", 2)
    lines = rec.read_text().splitlines()
    connect = next(json.loads(l) for l in lines if '"event":"state"' in l
                   and json.loads(l)["dport"] == port and json.loads(l)["oldstate"] == CLOSE)

    def new_socket(tick):
        # Another connect() on the freed address, just before that tick.
        return dict(connect, ts_ns=tick["ts_ns"] - 1, dport=connect["dport"] + 1)

    edited = tmp_path / "withheld.jsonl"
    edited.write_text(withhold(lines, cport, port,
                               [(FIN_WAIT1, FIN_WAIT2), (FIN_WAIT2, CLOSE)],
                               lambda first: [first, first], after=NS // 2,
                               inject=[new_socket]))
    events = replayed(edited)
    mine = [e for e in events if e["type"] == "state" and e["sport"] == cport
            and e["dport"] == port and e.get("reconstructed")]
    made = [(e["old"], e["new"], e["cause"]) for e in mine]
    assert made == [("FIN_WAIT1", "FIN_WAIT2", "sock_diag"),
                    ("FIN_WAIT2", "CLOSE", "sock_diag"),
                    ("FIN_WAIT2", "TIME_WAIT", "peer_fin")], mine
    # Found when the address was taken, not a second later.
    assert mine[0]["ts_ns"] < connect["ts_ns"] + NS, mine[0]
    assert sorted(e["code"] for e in events if e["type"] == "explain") == \
        sorted(t.codes())
    assert timeline(events, cport, port) == [
        "SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"]


def timewait_remnant(cport, port):
    """What the kernel holds for the client's side: its timewait socket, as
    ss (sock_diag) shows it, in a diag record; None if it holds none."""
    out = subprocess.run(["ss", "-tanoH", "state", "time-wait", "sport", "=", ":%d" % cport,
                          "dport", "=", ":%d" % port], capture_output=True, text=True).stdout
    if "timewait" not in out:
        return None
    secs = out.split("timer:(timewait,")[1].split(",")[0]
    ms = float(secs[:-3]) * 1000 if secs.endswith("sec") else float(secs.rstrip("ms"))
    return {"type": "diag", "query": "lookup", "family": 2, "saddr": "127.0.0.1",
            "sport": cport, "daddr": "127.0.0.1", "dport": port, "ret": 0,
            "state": 6, "expires_ms": int(ms), "rqueue": 0, "wqueue": 0,
            "inode": 0, "timer": 3}


def test_remnant_found_when_tracing_ends_soon_after(peers, tmp_path):
    """The client's hand-over withheld and tracing ended 0.3 s later, before
    any lookup a tick would make: the closing sockets are looked up when
    tracing ends whatever their age, so the timeline still ends in
    TIME_WAIT, as the live one did."""
    rec = tmp_path / "live.jsonl"
    t, _, cport, _, port = recorded_run(peers, rec, "normal", 0.3)
    held = timewait_remnant(cport, port)
    assert held, "the kernel holds no TIME_WAIT for the client"
    live = [json.loads(l) for l in t.stdout.splitlines()]
    lines = rec.read_text().splitlines()
    recs = [json.loads(l) for l in lines]
    held["netns"] = next(r["netns"] for r in recs if r["type"] == "event")
    last = max(r["ts_ns"] for r in recs if r["type"] == "event" and r["event"] == "state"
               and r["sport"] == cport and r["newstate"] == FIN_WAIT1)
    end = next(r["ts_ns"] for r in recs if r["type"] == "end")
    assert end - last < NS      # no tick had reason to ask
    edited = tmp_path / "withheld.jsonl"
    # The lookup that finds it at the end, then the hand-over's own.
    edited.write_text(withhold(lines, cport, port,
                               [(FIN_WAIT1, FIN_WAIT2), (FIN_WAIT2, CLOSE)],
                               lambda first: [held, held], after=end - last))
    events = replayed(edited)
    made = [(e["old"], e["new"], e["cause"]) for e in events if e["type"] == "state"
            and e["sport"] == cport and e.get("reconstructed")]
    # The kernel's answer is TIME_WAIT itself: the server's FIN had come.
    assert made == [("FIN_WAIT1", "FIN_WAIT2", "sock_diag"),
                    ("FIN_WAIT2", "CLOSE", "sock_diag"),
                    ("FIN_WAIT2", "TIME_WAIT", "sock_diag")], made
    assert sorted(e["code"] for e in events if e["type"] == "explain") == \
        sorted(t.codes())
    assert timeline(events, cport, port) == timeline(live, cport, port) == [
        "SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"]
