"""The traced processes' lifetime: children forked after attach, exec, exit,
pid reuse; and how a run ends: --duration, SIGINT, SIGTERM."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import Trace, bpf_objects, pid_args


def test_children_forked_after_attach_are_followed(peers, trace):
    parent = peers("forker")
    t = trace(*pid_args(parent))
    parent.go("1")
    child = parent._line()["child"]
    # The parent exits at once; tracing goes on while its child lives.
    t.wait(timeout=15)
    assert t.rc == 0, t.stderr
    mine = [e for e in t.kernel_events() if e["pid"] == child]
    assert ("CLOSE", "LISTEN") in [(e["old"], e["new"]) for e in mine
                                   if e["type"] == "state"]
    assert [e for e in mine if e["type"] == "state" and e["new"] == "SYN_SENT"]
    assert t.summary()["events"] == len(t.kernel_events())
    assert "events:" in t.stderr


def test_no_follow_ends_with_the_named_process(peers, trace):
    parent = peers("forker")
    t = trace(*pid_args(parent), "--no-follow")
    parent.go("8")
    child = parent._line()["child"]
    try:
        t.wait(timeout=15)
        # Over while the child still waits to make its connection.
        os.kill(child, 0)
    finally:
        os.kill(child, signal.SIGKILL)
    assert t.rc == 0, t.stderr
    assert not [e for e in t.kernel_events() if e["pid"] == child]
    assert t.summary()


def test_exec_keeps_tracing_and_shows_the_new_name(peers, trace, tmp_path):
    proc = peers("exec-listener", env={"TW_EXEC_DIR": str(tmp_path)})
    t = trace(*pid_args(proc))
    proc.go()
    port = proc.port()
    proc.go()
    assert proc._line()["exec_done"]
    c = socket.create_connection(("127.0.0.1", port))
    c.close()
    assert proc.result()["comm"] == "reexeced"
    t.stop()
    assert t.rc == 0, t.stderr
    before = [e for e in t.kernel_events() if e["type"] == "state"
              and e["new"] == "LISTEN"]
    assert before and before[0]["comm"] == "python3"
    child = [e for e in t.kernel_events() if e["type"] == "state"
             and e["old"] == "LISTEN" and e["new"] == "SYN_RECV"]
    assert len(child) == 1 and child[0]["pid"] == proc.pid
    assert child[0]["owner"] == "listener" and child[0]["comm"] == "reexeced"


def bpf_map_keys(owner_pid, name):
    """Keys of the BPF map called name that process owner_pid holds open."""
    keys = []
    for show in bpf_objects(owner_pid, "map"):
        if show.get("name") != name:
            continue
        dump = json.loads(subprocess.run(["bpftool", "-j", "map", "dump", "id",
                                          str(show["id"])], capture_output=True,
                                         text=True, check=True).stdout)
        for entry in dump:
            key = entry.get("formatted", entry)["key"]
            if isinstance(key, list):   # bytes, as hex strings
                key = int.from_bytes(bytes(int(b, 16) for b in key), "little")
            keys.append(key)
    return keys


def fork_with_pid(pid, work):
    """Run work() in a child that gets pid, as the kernel would hand it out
    again (ns_last_pid). Returns whether it got it."""
    for _ in range(50):
        with open("/proc/sys/kernel/ns_last_pid", "w") as f:
            f.write(str(pid - 1))
        child = os.fork()
        if child == 0:
            try:
                if os.getpid() == pid:
                    work()
            finally:
                os._exit(0)
        os.waitpid(child, 0)
        if child == pid:
            return True
    return False


def test_an_exited_pid_given_to_another_process_is_not_traced():
    target = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                              stdin=subprocess.PIPE)
    t = Trace(["--pid", str(target.pid), "--keep-going"])
    try:
        assert bpf_map_keys(t.proc.pid, "targets") == [target.pid]
        target.stdin.close()
        target.wait()
        time.sleep(0.3)
        # Forgotten by the kernel side when it exited.
        assert bpf_map_keys(t.proc.pid, "targets") == []
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(4)

        def connect():
            c = socket.create_connection(ls.getsockname())
            time.sleep(0.1)
            c.close()

        # A new process given the old pid, child of an unrelated parent (us).
        if not fork_with_pid(target.pid, connect):
            pytest.skip("could not get pid %d back" % target.pid)
        a, _ = ls.accept()
        a.close()
        ls.close()
        time.sleep(0.3)
    finally:
        t.stop()
    assert t.rc == 0, t.stderr
    assert t.kernel_events() == []
    assert t.summary()["filtered"] > 0


def test_duration_with_a_live_target(peers):
    proc = peers("server", "hold")
    start = time.monotonic()
    t = Trace(["--pid", str(proc.pid), "--duration", "1.5"])
    t.wait(timeout=15)
    assert 1.4 < time.monotonic() - start < 10
    assert t.rc == 0, t.stderr
    assert len(t.of_type("summary")) == 1
    assert proc.proc.poll() is None


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("json_output", [True, False])
def test_a_signal_ends_with_the_summary(peers, sig, json_output):
    server = peers("server", "leak")
    client = peers("client", "normal")
    t = Trace(pid_args(server, client) + ["--stuck", "30"], json_output)
    server.go()
    client.go(server.port())
    client.result()
    server._line()          # EOF read; the socket stays in CLOSE_WAIT
    time.sleep(0.3)
    t.proc.send_signal(sig)
    t.wait(timeout=15)
    assert t.rc == 0, t.stderr
    assert "events:" in t.stderr and "lost" in t.stderr
    if json_output:
        summary = t.summary()
        assert t.events[-1] == summary
        assert summary["events"] == len(t.kernel_events()) > 0
        assert summary["evicted"] == 0
        # Everything before it was flushed: the open connection's timeline too.
        open_conn = [e for e in t.events if e["type"] == "connection"
                     and e["states"][-1]["state"] == "CLOSE_WAIT"]
        assert open_conn and open_conn[0]["pid"] == server.pid
    else:
        assert "CLOSE_WAIT" in t.stdout.decode()
    server.go()
    server.result()


@pytest.mark.parametrize("args, reserved", [
    ([], False),                        # user space names a timewait reset's owner
    (["--classic"], True),              # error reports are matched by tuple
    (["--pid", "1"], True),             # owners by tuple, by inode, held resets
], ids=["everything", "classic", "pid"])
def test_kernel_tables_only_where_used(trace, args, reserved):
    """Tracing everything with tp_btf, nothing writes the kernel's owners by
    tuple or by inode or its held resets: they are made with one entry, not
    65,536 tuples (8 MB of kernel memory)."""
    t = trace(*args)
    size = {m["name"]: m["max_entries"] for m in bpf_objects(t.proc.pid, "map")}
    t.stop()
    assert size["owners"] == 65536
    big = {"tuples": 65536, "owners_by_inode": 16384, "pending_rst": 1024}
    assert {n: size[n] for n in big} == (big if reserved else dict.fromkeys(big, 1))

