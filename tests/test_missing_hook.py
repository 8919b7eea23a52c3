"""A kernel that lacks a hook: tcpwatch says so once, in one line, and traces
with the others. Simulated on this kernel by a copy of its BTF in which the
tp_btf tracepoint does not exist (tests/tools/btf_hide.c) and, in a private
mount namespace, a tracefs without the classic event."""
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


def without_tracefs(*args):
    """tcpwatch with an empty tracefs (and debugfs) in its own mount namespace."""
    script = ("mount -t tmpfs none /sys/kernel/tracing && "
              "mkdir /sys/kernel/tracing/events && "
              "mount -t tmpfs none /sys/kernel/debug && "
              'exec "$0" "$@"')
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
            TCPWATCH] + list(args)


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
