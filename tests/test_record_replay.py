"""--record FILE writes the raw trace; `tcpwatch report FILE` rebuilds the
same stream from it, anywhere, without root or BPF, and survives recordings
that are cut short or corrupted."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import (KERNEL_TYPES, TCPWATCH, Trace, pid_args, run_tcpwatch, synthetic,
                      write_synthetic)

NOBODY = 65534
SCENARIOS = ["normal-close", "write-after-peer-close", "time-wait-bind"]


def record_scenario(tmp_path, name, *args):
    rec = tmp_path / ("%s.jsonl" % name)
    p = subprocess.run([TCPWATCH, "--scenario", name, "--stuck", "0.5",
                        "--record", str(rec)] + list(args),
                       capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr.decode()
    return rec, p.stdout


def replay(rec, *args, user=None):
    """tcpwatch report rec: (exit status, stdout bytes, stderr text); as
    another user, from a copy that user may read."""
    cmd = [TCPWATCH, "report", str(rec)] + list(args)
    if user:
        where = tempfile.mkdtemp()
        os.chmod(where, 0o755)
        cmd[2] = shutil.copy(rec, where)
        cmd = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user,
               "--clear-groups", "--inh-caps=-all"] + cmd
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=120)
    finally:
        if user:
            shutil.rmtree(where)
    err = p.stderr.decode(errors="replace")
    if user:
        err = err.replace(cmd[-len(args) - 1], str(rec))
    return p.returncode, p.stdout, err


def explanations(stdout):
    return [(e["code"], e["text"]) for e in map(json.loads, stdout.splitlines())
            if e["type"] == "explain"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Each scenario, recorded once while its live stream is kept."""
    tmp = tmp_path_factory.mktemp("recordings")
    return {name: record_scenario(tmp, name, "--json") for name in SCENARIOS}


@pytest.mark.parametrize("name", SCENARIOS)
def test_replay_gives_the_live_stream(recorded, name):
    rec, live = recorded[name]
    # Not root, no BPF: nothing but the file.
    rc, out, err = replay(rec, "--json", user=NOBODY)
    assert rc == 0, err
    assert explanations(out) == explanations(live) != []
    assert out == live
    assert err.startswith("Replaying %s: TCP connections of scenario %s" % (rec, name))
    assert "scenario %s: the application saw what the scenario expects" % name in err


def test_replay_in_text_and_its_report(tmp_path):
    live_report, replay_report = tmp_path / "live.md", tmp_path / "replay.md"
    rec, live = record_scenario(tmp_path, "close-unread-rst",
                                "--report", str(live_report))
    rc, out, err = replay(rec, "--report", str(replay_report))
    assert rc == 0, err
    assert out == live and b"=> rst_close_with_unread_data:" in out
    # --report is fed the replayed stream as it was fed the live one.
    assert replay_report.read_text() == live_report.read_text()


def test_recording_schema(recorded):
    rec, _ = recorded["write-after-peer-close"]
    lines = [json.loads(l) for l in rec.read_text().splitlines()]
    assert lines[0]["type"] == "recording" and lines[0]["version"] == 1
    assert lines[0]["scenario"] == "write-after-peer-close"
    types = {l["type"] for l in lines}
    assert {"scenario_start", "event", "tick", "diag", "end", "stop", "action",
            "scenario"} <= types
    rst = [l for l in lines if l["type"] == "event" and l["event"] == "rst_sent"]
    # The reason's name comes with it: a replay has no kernel BTF to ask.
    assert rst and rst[0]["reason_name"] == "TCP_TIMEWAIT_SOCKET"
    assert isinstance(rst[0]["reason"], int) and isinstance(rst[0]["flags"], int)
    assert isinstance(rst[0]["owner_how"], int) and rst[0]["sk"].startswith("0x")


def test_skipped_hook_runs_are_recorded(recorded, tmp_path):
    """The kernel's count of hook runs it skipped (a hook fired while its
    program ran on that CPU: recursion_misses) is in the stop record and in
    the scenario's result, and a recording made before tcpwatch read it
    replays as before, with 0. (Nothing here makes the kernel skip a run:
    the count is 0 in these runs.)"""
    rec, live = recorded["normal-close"]
    lines = rec.read_text().splitlines()
    stop = [json.loads(l) for l in lines if json.loads(l)["type"] == "stop"]
    assert len(stop) == 1 and stop[0]["skipped"] == 0
    result = json.loads(live.splitlines()[-1])
    assert result["type"] == "scenario" and result["skipped"] == 0
    older = tmp_path / "older.jsonl"
    older.write_text("".join(l.replace(',"skipped":0', "") + "\n" for l in lines))
    assert "skipped" not in older.read_text()
    rc, out, err = replay(older, "--json")
    assert rc == 0, err
    assert out == live


def test_replay_of_a_pid_run(peers, trace, tmp_path):
    rec = tmp_path / "run.jsonl"
    server = peers("server", "leak")
    client = peers("client", "normal")
    t = trace(*pid_args(server, client), "--stuck", "1", "--record", str(rec))
    server.go()
    client.go(server.port())
    client.result()
    server._line()
    time.sleep(1.5)
    server.go()
    server.result()
    t.stop()
    assert t.rc == 0, t.stderr
    live = b"".join(t._out)
    assert {"close_wait_leak", "time_wait"} <= set(t.codes())
    rc, out, err = replay(rec, "--json")
    assert rc == 0, err
    assert out == live
    assert t.stderr.splitlines()[-1] == err.splitlines()[-1]     # the summary


def cut(rec, dst, line_no):
    """rec up to the middle of line line_no (1-based): the rest is lost."""
    lines = rec.read_bytes().split(b"\n")
    dst.write_bytes(b"\n".join(lines[:line_no - 1] + [lines[line_no - 1][:30]]))
    return lines


def test_truncated_recording(recorded, tmp_path):
    rec, live = recorded["time-wait-bind"]
    lines = rec.read_bytes().split(b"\n")
    events = [i for i, l in enumerate(lines) if b'"type":"event"' in l]
    line_no = events[len(events) // 2] + 1
    short = tmp_path / "short.jsonl"
    cut(rec, short, line_no)
    rc, out, err = replay(short, "--json")
    assert rc == 3, err
    assert "tcpwatch: %s:%d: not a record (" % (short, line_no) in err
    assert "cut short" in err
    # Everything before the cut is used.
    replayed = [e for e in map(json.loads, out.splitlines())
                if e["type"] in KERNEL_TYPES and not e.get("reconstructed")]
    assert len(replayed) == sum(1 for l in lines[:line_no - 1]
                                if b'"type":"event"' in l)


def hostile_lines(good_event):
    ev = json.loads(good_event)
    wrong_type = dict(ev, ts_ns="soon")
    missing = {k: v for k, v in ev.items() if k != "sport"}
    out_of_range = dict(ev, sport=70000)
    return [
        (b"x" * 200000, "line longer than 65536 bytes"),
        (b'{"type":"event","comm":"\xff\xfe"}', "invalid UTF-8"),
        (b"\xc3\x28\xa0\xa1 binary", "not a record"),
        (json.dumps(wrong_type).encode(), 'field "ts_ns"'),
        (json.dumps(missing).encode(), 'missing field "sport"'),
        (json.dumps(out_of_range).encode(), 'field "sport"'),
        (b'{"type":"tick",\x00"ts_ns":1}', "NUL byte"),
        (b'{"type":"event","sk":{"a":1}}', "not a record"),
        (b'{"type":"tick","ts_ns":99999999999999999999999}', "not a record"),
        (b'{"type":"tick","ts_ns":-1}', 'field "ts_ns"'),
        (b'{"type":"nonsense"}', "unknown record type"),
        (b"[1,2,3]", "not a record"),
        (b"", "empty line"),
        (b'{"type":"' + b"k" * 300 + b'"}', "not a record"),
        (b'{"type":"event","event":"bogus"}', 'field "event"'),
        (json.dumps(dict(ev, comm_hex="zz")).encode(), 'field "comm_hex"'),
        (json.dumps(dict(ev, reason_name="x; rm -rf")).encode(), "reason_name"),
        (json.dumps({"type": "diag", "query": "lookup", "netns": ev["netns"],
                     "family": 2, "saddr": "127.0.0.1", "sport": 1,
                     "daddr": "127.0.0.1", "dport": 2, "ret": 0, "state": 5,
                     "expires_ms": 0, "rqueue": 0, "wqueue": 0, "inode": 0,
                     "timer": 9}).encode(), 'field "timer"'),
    ]


def test_hostile_recording(recorded, tmp_path):
    rec, live = recorded["write-after-peer-close"]
    lines = rec.read_bytes().split(b"\n")
    if not lines[-1]:
        lines.pop()
    good = next(l for l in lines if b'"type":"event"' in l)
    bad = hostile_lines(good)
    # Each before an event record, where nothing depends on what follows.
    spots = [i for i, l in enumerate(lines) if b'"type":"event"' in l]
    assert len(spots) >= len(bad)
    for (line, _), spot in sorted(zip(bad, spots[:len(bad)]), key=lambda x: -x[1]):
        lines.insert(spot, line)
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_bytes(b"\n".join(lines) + b"\n")
    rc, out, err = replay(hostile, "--json")
    assert rc == 3, err
    reported = [l for l in err.splitlines() if l.startswith("tcpwatch: %s:" % hostile)]
    assert len(reported) == len(bad), err
    for (line, what), spot, message in zip(bad, spots, reported):
        assert message.startswith("tcpwatch: %s:" % hostile)
        assert what in message, (what, message)
    numbers = [int(m.split(":")[2]) for m in reported]
    assert numbers == [lines.index(line) + 1 for line, _ in bad]
    # The rest is used as if the bad lines were not there.
    assert explanations(out) == explanations(live)
    assert out == live


def test_output_and_recording_written_in_batches(peers, tmp_path):
    """Lines reach the files in batches of many lines, not a write() per line
    or per 4 KiB stdio block (glibc keeps 4 KiB if tcpwatch does not give
    stdio buffers of its own): the average write of a traced churn is far
    above 4 KiB, and both files are whole lines."""
    out, rec = tmp_path / "out.jsonl", tmp_path / "rec.jsonl"
    churn = peers("churn", 1500)
    t = Trace(pid_args(churn) + ["-o", str(out), "--record", str(rec)])
    churn.go()
    churn.port()
    churn.result()
    time.sleep(0.2)                     # past the drain of the last events
    io = dict(l.split(": ") for l in open("/proc/%d/io" % t.proc.pid).read().splitlines())
    t.stop()
    assert t.rc == 0, t.stderr
    written, writes = int(io["wchar"]), int(io["syscw"])
    assert written > 1_000_000, io
    assert written / writes > 4 * 4096, io
    for f in (out, rec):
        data = f.read_bytes()
        assert data.endswith(b"\n") and all(json.loads(l) for l in data.splitlines())


def test_kill_9_loses_at_most_the_last_line(peers, tmp_path):
    rec = tmp_path / "killed.jsonl"
    churn = peers("churn", 50)
    t = Trace(pid_args(churn) + ["--record", str(rec)])
    churn.go()
    churn.port()
    time.sleep(0.3)
    t.proc.send_signal(signal.SIGKILL)
    t.proc.wait()
    churn.result()
    lines = rec.read_bytes().split(b"\n")
    assert lines[-1] == b"", "every line written whole"
    assert all(json.loads(l) for l in lines[:-1])
    assert sum(b'"type":"event"' in l for l in lines) > 0
    rc, out, err = replay(rec, "--json")
    assert rc == 0, err
    assert "the recording ends before tracing stopped" in err
    assert json.loads(out.splitlines()[-1])["type"] == "summary"


def test_full_tables_count_evictions(tmp_path):
    rec = tmp_path / "busy.jsonl"
    synthetic(rec, 70000)
    rc, _, err = replay(rec, "-o", "/dev/null")
    assert rc == 0, err
    # 65,536 fit; each time the table is full, its idlest 1/64 goes.
    assert "70000 events" in err
    assert "; 5120 connections evicted from full tables" in err
    rc, _, err = replay(rec, "--json", "-o", str(tmp_path / "out.jsonl"))
    assert rc == 0, err
    out = [json.loads(l) for l in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert out[-1]["type"] == "summary" and out[-1]["evicted"] == 5120
    # The ones still open at the end are the newest.
    kept = sorted(e["conn"] for e in out if e["type"] == "connection")
    assert kept == list(range(5121, 70001))


def test_full_timewait_table_counts_evictions(tmp_path):
    rec = tmp_path / "closing.jsonl"
    synthetic(rec, 9000, closed=True)
    rc, _, err = replay(rec, "--json", "-o", str(tmp_path / "out.jsonl"))
    assert rc == 0, err
    # 8,192 timewait records fit; each time the table is full, its idlest
    # 1/8 (1,024) goes: once for the 808 past it.
    assert "; 1024 connections evicted from full tables" in err
    out = [json.loads(l) for l in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert out[-1]["type"] == "summary" and out[-1]["evicted"] == 1024
    # Each connection's socket is still open (no destroy); of its timewait
    # record, the newest 7,976 are left: both timelines end with the trace.
    conns = [e["conn"] for e in out if e["type"] == "connection"]
    assert len(conns) == 9000 + 7976
    assert sorted(set(conns)) == list(range(1, 9001))


@pytest.mark.parametrize("args, status, message", [
    (["report"], 2, "tcpwatch: report needs the recording to read"),
    (["report", "a", "b"], 2, "tcpwatch: unexpected argument 'b'"),
    (["report", "x.jsonl", "--pid", "1"], 2,
     "tcpwatch: --pid does not apply to tcpwatch report"),
    (["report", "x.jsonl", "--duration", "1"], 2,
     "tcpwatch: --duration does not apply to tcpwatch report"),
    (["report", "x.jsonl", "--no-calls"], 2,
     "tcpwatch: --no-calls does not apply to tcpwatch report"),
    (["report", "/nonexistent/rec.jsonl"], 1,
     "tcpwatch: cannot read /nonexistent/rec.jsonl: No such file or directory"),
])
def test_report_command_line(args, status, message):
    rc, out, err = run_tcpwatch(*args)
    assert rc == status
    assert err.splitlines()[0].startswith(message), err
    assert out == ""


def test_unwritable_recording():
    rc, _, err = run_tcpwatch("--record", "/nonexistent/dir/rec.jsonl",
                              "--duration", "1")
    assert rc == 1
    assert err.strip() == ("tcpwatch: cannot write /nonexistent/dir/rec.jsonl: "
                           "No such file or directory")


def test_hostile_scenario_name_never_reaches_the_terminal(tmp_path):
    """A scenario name in a recording is checked ([a-z0-9-]) before it is
    printed: terminal escapes are a bad line, not output."""
    rec, _ = record_scenario(tmp_path, "connect-refused")
    evil = "\x1b]0;pwned\x07\x1b[2J"
    lines = []
    for line in rec.read_text().splitlines():
        o = json.loads(line)
        for key in ("scenario", "name"):
            if o.get(key) == "connect-refused":
                o[key] = evil
        lines.append(json.dumps(o))
    bad = tmp_path / "hostile.jsonl"
    bad.write_text("\n".join(lines) + "\n")
    rc, out, err = replay(bad)
    assert rc == 3
    assert "not a scenario name" in err
    assert "\x1b" not in err and b"\x1b" not in out


def test_timewait_told_by_the_traced_peer(tmp_path):
    """Both ends traced (the same host): the peer that sent its FIN is found
    by tuple among thousands of live connections, through the table's
    growth and removals, and tells that this side is in TIME_WAIT; the
    recording has no sock_diag answer to tell it instead."""
    pairs = 12000
    order = [(i * 7919) % pairs for i in range(pairs)]   # closed out of order

    def events():
        # Client i: socket 2i on port 20000 + i; its server side: 2i + 1.
        for i in range(pairs):
            c, s, cl, sv = 2 * i, 2 * i + 1, ("10.0.0.1", 20000 + i), ("10.0.0.2", 443)
            yield from [(c, cl, sv, 7, 2), (s, sv, cl, 10, 3),   # SYN_SENT, SYN_RECV
                        (s, sv, cl, 3, 1), (c, cl, sv, 2, 1)]    # ESTABLISHED
        for i in order:
            c, s, cl, sv = 2 * i, 2 * i + 1, ("10.0.0.1", 20000 + i), ("10.0.0.2", 443)
            yield from [(c, cl, sv, 1, 4), (s, sv, cl, 1, 8),    # FIN_WAIT1, CLOSE_WAIT
                        (c, cl, sv, 4, 5), (s, sv, cl, 8, 9),    # FIN_WAIT2, LAST_ACK
                        (c, cl, sv, 5, 7), (s, sv, cl, 9, 7)]    # hand-over, CLOSE
    rec = tmp_path / "pairs.jsonl"
    write_synthetic(rec, events())
    rc, out, err = replay(rec, "--json")
    assert rc == 0, err
    tw = [json.loads(l) for l in out.splitlines() if b'"TIME_WAIT"' in l]
    tw = [e for e in tw if e["type"] == "state" and e["new"] == "TIME_WAIT"]
    assert all(e["cause"] == "peer_fin" for e in tw)
    assert sorted(e["sport"] for e in tw) == [20000 + i for i in range(pairs)]


@pytest.mark.parametrize("calls, target", [
    (None, "pid 7 and the children it forks\n"),       # made before --no-calls
    (True, "pid 7 and the children it forks\n"),
    (False, "pid 7 and the children it forks; socket calls not traced (--no-calls)\n"),
    ("no", None),
])
def test_header_says_whether_calls_were_traced(tmp_path, calls, target):
    rec = tmp_path / "rec.jsonl"
    write_synthetic(rec, [(1, ("10.0.0.1", 1024), ("10.0.0.2", 443), 7, 2)])
    lines = rec.read_text().splitlines(keepends=True)
    header = dict(json.loads(lines[0]), pids="7")
    if calls is not None:
        header["calls"] = calls
    lines[0] = json.dumps(header) + "\n"
    rec.write_text("".join(lines))
    rc, _, err = replay(rec, "--report", str(tmp_path / "r.txt"))
    if target is None:
        assert rc == 3 and 'rec.jsonl:1: field "calls": expected true or false' in err, err
        return
    assert rc == 0, err
    assert "Target        " + target in (tmp_path / "r.txt").read_text()


def test_a_long_recording_through_the_reader_thread(tmp_path):
    """The lines are read and parsed by a thread of their own, a few hundred
    ahead of the analyzer: a recording many times that long replays whole
    and in order, bad lines reported where they are, and a reader that goes
    away (| head -1) ends the replay at once."""
    rec = tmp_path / "rec.jsonl"
    synthetic(rec, 3000, closed=True)
    lines = rec.read_text().splitlines(keepends=True)
    bad = [1000, 7000, 14000]
    for no in bad:
        lines.insert(no - 1, "not json\n")
    rec.write_text("".join(lines))
    rc, out, err = replay(rec, "--json")
    assert rc == 3, err
    assert ["%s:%d:" % (rec, no) in l for no, l in
            zip(bad, [l for l in err.splitlines() if "not a record" in l])] == [True] * 3
    events = [json.loads(l) for l in out.splitlines()]
    states = [e for e in events if e["type"] == "state" and not e.get("reconstructed")]
    assert len(states) == 3000 * 5
    assert [e["ts_ns"] for e in states] == sorted(e["ts_ns"] for e in states)
    p = subprocess.Popen([TCPWATCH, "report", str(rec)], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    assert p.stdout.readline().startswith(b"TIME")
    p.stdout.close()
    assert p.wait(timeout=10) is not None


def test_more_answers_after_one_record_than_the_reader_holds(tmp_path):
    """The record in hand stays in the reader's ring while its sock_diag
    answers are read: more answers than the ring holds must not stall it."""
    rec = tmp_path / "rec.jsonl"
    write_synthetic(rec, [(1, ("10.0.0.1", 1024), ("10.0.0.2", 443), 7, 2),
                          (1, ("10.0.0.1", 1024), ("10.0.0.2", 443), 2, 1)])
    lines = rec.read_text().splitlines(keepends=True)
    answer = json.dumps({"type": "diag", "query": "lookup", "netns": 1, "family": 2,
                         "saddr": "10.0.0.9", "sport": 9, "daddr": "10.0.0.8",
                         "dport": 8, "ret": 0, "state": 1, "expires_ms": 0,
                         "rqueue": 0, "wqueue": 0, "inode": 0, "timer": 0}) + "\n"
    lines[2:2] = [answer] * 1000
    rec.write_text("".join(lines))
    rc, out, err = replay(rec, "--json")
    assert rc == 0, err
    states = [json.loads(l) for l in out.splitlines()]
    assert [(e["old"], e["new"]) for e in states if e["type"] == "state"] == [
        ("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED")]
