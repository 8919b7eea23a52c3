"""tcpwatch ends with a summary when what it traces ends."""
import subprocess
import sys
import time

from conftest import Trace


def test_exits_when_the_traced_process_exits():
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1)"])
    t = Trace(["--pid", str(sleeper.pid)])
    t.wait(timeout=15)
    sleeper.wait()
    assert t.rc == 0, t.stderr
    assert t.summary()["events"] == 0
    assert "0 events" in t.stderr


def test_keep_going_outlives_the_process():
    sleeper = subprocess.Popen([sys.executable, "-c", "pass"])
    t = Trace(["--pid", str(sleeper.pid), "--keep-going"])
    sleeper.wait()
    time.sleep(1)
    assert t.proc.poll() is None, "tcpwatch stopped despite --keep-going"
    t.stop()
    assert t.rc == 0


def test_duration():
    start = time.monotonic()
    t = Trace(["--duration", "1"])
    t.wait(timeout=15)
    assert t.rc == 0, t.stderr
    assert 0.9 < time.monotonic() - start < 10
    assert len(t.of_type("summary")) == 1


def test_duration_does_not_outlast_the_traced_process():
    sleeper = subprocess.Popen([sys.executable, "-c", "pass"])
    t = Trace(["--pid", str(sleeper.pid), "--duration", "60"])
    t.wait(timeout=15)
    assert t.rc == 0, t.stderr


def test_events_are_printed_while_tracing(peers, trace):
    """The stream is live: an event shows up while its process still runs."""
    server = peers("server", "hold")
    client = peers("client", "normal")
    t = trace("--pid", str(server.pid))
    server.go()
    port = server.port()
    client.go(port)
    client.result()
    ev = t.wait_for(lambda e: e["type"] == "state" and e["new"] == "CLOSE_WAIT",
                    timeout=2)
    assert ev["pid"] == server.pid and server.proc.poll() is None
    server.go()
    server.result()
    t.stop()
