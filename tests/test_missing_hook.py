"""A kernel that lacks a hook: tcpwatch says so once, in one line, and traces
with the others. Simulated on this kernel by a copy of its BTF in which the
tp_btf tracepoint does not exist (tests/tools/btf_hide.c) and, in a private
mount namespace, a tracefs without the classic event."""
import json
import os
import subprocess

import pytest

from conftest import ROOT, TCPWATCH, pair

HIDE = os.path.join(ROOT, "tests", "tools", "btf_hide.c")


@pytest.fixture(scope="module")
def btf_without_receive_reset(tmp_path_factory):
    d = tmp_path_factory.mktemp("btf")
    tool = d / "btf_hide"
    subprocess.run(["gcc", "-O2", "-Wall", "-Werror", HIDE, "-lbpf", "-o", str(tool)],
                   check=True)
    out = d / "vmlinux"
    subprocess.run([str(tool), "/sys/kernel/btf/vmlinux", str(out), "tcp_receive_reset"],
                   check=True)
    return str(out)


def in_mount_namespace(setup, args):
    """tcpwatch run with args in its own mount namespace, after the shell
    commands setup (which must succeed)."""
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            setup + ' && exec "$0" "$@"', TCPWATCH] + list(args)


def without_tracefs(*args):
    """tcpwatch with an empty tracefs (and debugfs) in its own mount namespace."""
    return in_mount_namespace("mount -t tmpfs none /sys/kernel/tracing && "
                              "mkdir /sys/kernel/tracing/events && "
                              "mount -t tmpfs none /sys/kernel/debug", args)


def test_missing_hook_is_reported_and_skipped(peers, trace, monkeypatch,
                                              btf_without_receive_reset):
    monkeypatch.setattr("conftest.TCPWATCH_ARGV", without_tracefs)
    t, port, cport, *_ = pair(peers, trace, "close-unread", "expect-reset",
                              "--btf", btf_without_receive_reset)
    lines = [l for l in t.stderr.splitlines() if "no tracepoint" in l]
    assert lines == ["tcpwatch: this kernel has no tracepoint tcp:tcp_receive_reset: "
                     "resets received are not traced"]
    # The others still work: the RST is seen being sent, not received.
    assert [e["reason"] for e in t.of_type("rst_sent")] == ["TCP_ABORT_ON_CLOSE"]
    assert t.of_type("error") and not t.of_type("rst_recv")
    assert t.summary()["by_type"]["rst_recv"] == 0


def without_syscall_tracepoints(*args):
    """tcpwatch in its own mount namespace, with a tracefs that has the TCP,
    socket and scheduler events (bound from the real one) but no syscalls."""
    return in_mount_namespace("mount -t tmpfs none /sys/kernel/debug && "
                              "for c in tcp sock sched; do "
                              "mkdir -p /sys/kernel/debug/t/events/$c && "
                              "mount --bind /sys/kernel/tracing/events/$c "
                              "/sys/kernel/debug/t/events/$c || exit 1; done && "
                              "mount --rbind /sys/kernel/debug/t /sys/kernel/tracing",
                              args)


def test_pid_without_syscall_tracepoints_runs_as_no_calls(peers, trace, monkeypatch,
                                                          tmp_path):
    """A kernel without syscall tracepoints (classic here; any off x86-64)
    cannot trace the socket calls: said once, and the run is --no-calls from
    the start, its recording's header included."""
    monkeypatch.setattr("conftest.TCPWATCH_ARGV", without_syscall_tracepoints)
    rec = tmp_path / "rec.jsonl"
    t, port, cport, server, *_ = pair(peers, trace, "close-unread", "expect-reset",
                                      "--classic", "--record", str(rec))
    said = [l for l in t.stderr.splitlines() if "syscall tracepoints" in l]
    assert said == ["tcpwatch: this kernel has no syscall tracepoints "
                    "(CONFIG_FTRACE_SYSCALLS): the processes' socket calls are "
                    "not traced"], t.stderr
    assert "(classic tracepoints, socket calls not traced)" in t.stderr
    assert not t.of_type("call")
    # The kernel's events still come, with their owner.
    served = [e for e in t.of_type("state") if e["sport"] == port]
    assert served and {e["pid"] for e in served} == {server.pid}, served
    header = json.loads(rec.read_text().splitlines()[0])
    assert header["type"] == "recording" and header["calls"] is False
