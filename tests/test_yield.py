"""The reader yields the CPU to the traced system (SCHED_IDLE), and a guard
thread raises it when that would cost events or a Ctrl-C (user/yield.c)."""
import contextlib
import os
import re
import signal
import subprocess
import sys
import time

import conftest
from conftest import pid_args

SCHED_OTHER, SCHED_IDLE = 0, 5
CONNECTIONS = 1000


def threads(pid):
    """{thread name: scheduling policy} of pid's threads (stat field 41)."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            stat = f.read()
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[comm] = int(fields[41 - 3])
    return out


def blocked(pid, name):
    """Whether thread name of pid blocks SIGINT and SIGTERM (SigBlk)."""
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            status = dict(l.split(":", 1) for l in f if ":" in l)
        if status["Name"].strip() == name:
            mask = int(status["SigBlk"], 16)
            return [bool(mask & 1 << (sig - 1)) for sig in (signal.SIGINT, signal.SIGTERM)]
    raise AssertionError("no thread %s" % name)


def wait_for_threads(pid, want, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = threads(pid)
        if seen == want:
            return
        time.sleep(0.05)
    assert threads(pid) == want


@contextlib.contextmanager
def saturated():
    """Every CPU busy twice over at normal priority: an idle-priority task
    gets almost nothing (weight 3 against 1024 each)."""
    spin = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(2 * os.cpu_count())]
    try:
        yield
    finally:
        for p in spin:
            p.kill()
            p.wait()


def raised(stderr):
    m = re.search(r"the reader ran at idle priority, raised (\d+) time", stderr)
    assert m, stderr
    return int(m.group(1))


def test_reader_at_idle_priority_guard_at_normal(trace):
    t = trace("--port", "1")
    wait_for_threads(t.proc.pid, {"tcpwatch": SCHED_IDLE, "tcpwatch-guard": SCHED_OTHER})
    # The guard takes Ctrl-C: a starved reader could not run the handler.
    # (A new thread shows every signal blocked until it has first run.)
    deadline = time.monotonic() + 5
    while blocked(t.proc.pid, "tcpwatch-guard") != [False, False] and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    assert blocked(t.proc.pid, "tcpwatch-guard") == [False, False]
    assert blocked(t.proc.pid, "tcpwatch") == [True, True]
    t.stop()
    assert t.rc == 0, t.stderr


def test_no_yield_keeps_one_reader_at_normal_priority(trace):
    t = trace("--port", "1", "--no-yield")
    time.sleep(0.3)
    assert threads(t.proc.pid) == {"tcpwatch": SCHED_OTHER}
    t.stop()
    assert t.rc == 0, t.stderr


def test_without_cap_sys_nice_the_reader_keeps_normal_priority(trace, monkeypatch):
    """Idle priority could not be left again without CAP_SYS_NICE: tcpwatch
    does not yield, and -v says why."""
    monkeypatch.setattr(conftest, "TCPWATCH_ARGV", lambda *args: [
        "setpriv", "--bounding-set=-sys_nice"] + conftest.tcpwatch_argv(*args))
    t = trace("--port", "1", "-v")
    time.sleep(0.3)
    assert threads(t.proc.pid) == {"tcpwatch": SCHED_OTHER}
    t.stop()
    assert t.rc == 0, t.stderr
    assert "the reader keeps normal priority: no CAP_SYS_NICE" in t.stderr


def test_saturated_host_loses_nothing(peers, trace):
    """A starved idle-priority reader would read nothing while the churn
    makes twice what the 1 MB buffer holds: the guard raises it."""
    churn = peers("churn", CONNECTIONS)
    t = trace(*pid_args(churn), "--buffer", "1M", "-v")
    with saturated():
        churn.go()
        churn.port()
        assert churn.result(timeout=120)["connections"] == CONNECTIONS
        t.stop(timeout=60)
    assert t.rc == 0, t.stderr
    s = t.summary()
    assert s["lost"] == 0
    # What test_lost_events counts per connection, and for the listener.
    assert s["events"] == CONNECTIONS * 17 + 6
    assert raised(t.stderr) >= 1


def test_ctrl_c_on_a_saturated_host(trace):
    """SIGINT ends a reader starved at idle priority, with its summary."""
    t = trace("--port", "1")
    with saturated():
        time.sleep(1.5)
        t.stop(timeout=30)
    assert t.rc == 0, t.stderr
    assert t.summary()["events"] == 0
