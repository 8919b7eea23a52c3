"""Bad input: one clear line on stderr and a non-zero exit, never a crash."""
import os
import struct

import pytest

from conftest import run_tcpwatch


def one_line(err):
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("args, message", [
    (["--pid", "abc"], "tcpwatch: invalid pid 'abc'"),
    (["--pid", "0"], "tcpwatch: invalid pid '0'"),
    (["--port", "65536"], "tcpwatch: invalid port '65536': expected 1-65535"),
    (["--port", "-1"], "tcpwatch: invalid port '-1'"),
    (["--buffer", "3K"], "tcpwatch: buffer size '3K' must be a power of two"),
    (["--buffer", "lots"], "tcpwatch: invalid buffer size 'lots'"),
    (["--duration", "-5"], "tcpwatch: invalid duration '-5'"),
    (["--keep-going"], "tcpwatch: --keep-going needs --pid"),
    (["--no-calls"], "tcpwatch: --no-calls needs --pid"),
    (["extra"], "tcpwatch: unexpected argument 'extra'"),
])
def test_malformed_options(args, message):
    rc, out, err = run_tcpwatch(*args)
    assert rc == 2
    assert one_line(err).startswith(message)
    assert out == ""


def test_unknown_option():
    rc, _, err = run_tcpwatch("--frobnicate")
    assert rc == 2
    assert "unrecognized option '--frobnicate'" in err
    assert "tcpwatch --help" in err


def test_pid_that_does_not_exist():
    pid = 4194303  # pid_max on 64-bit: never handed out while lower pids are free
    assert not os.path.exists("/proc/%d" % pid)
    rc, _, err = run_tcpwatch("--pid", str(pid))
    assert rc == 1
    assert one_line(err) == "tcpwatch: no such process: %d" % pid


def test_not_root():
    rc, _, err = run_tcpwatch("--duration", "1", user=65534)
    assert rc == 1
    assert one_line(err) == "tcpwatch: needs CAP_BPF and CAP_PERFMON: run with sudo"


def test_missing_btf_file():
    rc, _, err = run_tcpwatch("--btf", "/nonexistent/vmlinux", "--duration", "1")
    assert rc == 1
    assert one_line(err) == ("tcpwatch: cannot read BTF from /nonexistent/vmlinux: "
                             "No such file or directory")


def test_btf_file_that_is_not_btf(tmp_path):
    bogus = tmp_path / "vmlinux"
    bogus.write_bytes(b"not BTF at all\n" * 10)
    rc, _, err = run_tcpwatch("--btf", str(bogus), "--duration", "1")
    assert rc == 1
    assert one_line(err).startswith("tcpwatch: cannot read BTF from %s: " % bogus)


def damaged_kernel_btf(how):
    """The running kernel's BTF, damaged in one of the ways below."""
    with open("/sys/kernel/btf/vmlinux", "rb") as f:
        raw = bytearray(f.read())
    if how == "truncated":
        return raw[:len(raw) // 2]
    if how == "header only":
        return raw[:24]
    if how == "strings unterminated":
        raw[-1] = ord("x")
        return raw
    # "unknown kind": the first type's kind (bits 24-28 of its info) is 31.
    hdr_len, type_off = struct.unpack_from("<II", raw, 4)
    info = hdr_len + type_off + 4
    struct.pack_into("<I", raw, info, struct.unpack_from("<I", raw, info)[0] | 0x1f << 24)
    return raw


@pytest.mark.parametrize("how", ["truncated", "header only", "strings unterminated",
                                 "unknown kind"])
def test_damaged_btf_file(tmp_path, how):
    damaged = tmp_path / "vmlinux"
    damaged.write_bytes(damaged_kernel_btf(how))
    rc, _, err = run_tcpwatch("--btf", str(damaged), "--duration", "1")
    assert rc == 1
    assert one_line(err) == "tcpwatch: cannot read BTF from %s: Invalid argument" % damaged


def test_unwritable_output():
    rc, _, err = run_tcpwatch("--output", "/nonexistent/dir/trace.jsonl",
                              "--duration", "1")
    assert rc == 1
    assert one_line(err) == ("tcpwatch: cannot write /nonexistent/dir/trace.jsonl: "
                             "No such file or directory")


def test_help_and_version():
    rc, out, err = run_tcpwatch("--help")
    assert rc == 0 and err == ""
    assert out.startswith("Usage: tcpwatch")
    assert "Examples:" in out and "--pid" in out
    rc, out, _ = run_tcpwatch("--version")
    assert rc == 0 and out.startswith("tcpwatch ")


def test_stdout_closed_early(peers):
    """tcpwatch | head -1: the reader goes away; tcpwatch ends quietly, at once."""
    import subprocess as sp
    import time
    from conftest import TCPWATCH
    server = peers("server", "normal")
    client = peers("client", "normal")
    p = sp.Popen([TCPWATCH, "--pid", "%d,%d" % (server.pid, client.pid),
                  "--duration", "60"], stdout=sp.PIPE, stderr=sp.PIPE)
    while b"Tracing" not in p.stderr.readline():
        pass
    assert p.stdout.readline().startswith(b"TIME")   # what head -1 keeps
    p.stdout.close()
    server.go()
    client.go(server.port())
    client.result()
    server.result()
    start = time.monotonic()
    rc = p.wait(timeout=20)
    err = p.stderr.read().decode()
    assert rc == 0 and time.monotonic() - start < 10
    assert not [l for l in err.splitlines() if l.startswith("tcpwatch:")], err


def test_two_instances_at_once(peers, trace):
    """Each instance has its own maps and ring buffer: both see everything."""
    from conftest import pid_args
    server = peers("server", "normal")
    client = peers("client", "normal")
    one = trace(*pid_args(server, client))
    two = trace(*pid_args(server, client))
    server.go()
    client.go(server.port())
    client.result()
    server.result()
    one.stop()
    two.stop()
    assert one.rc == 0 and two.rc == 0
    kinds = [[(e["type"], e.get("old"), e.get("new"), e["sport"]) for e in t.of_type("state")]
             for t in (one, two)]
    assert kinds[0] and kinds[0] == kinds[1]


def test_pid_that_exits_during_attach():
    """Whenever the target exits (before the check, during attach, after), tcpwatch
    ends with one clear line or with its summary: never a hang or a crash."""
    import subprocess as sp
    import sys
    from conftest import TCPWATCH
    for delay in ("0", "0.02", "0.05", "0.1", "0.3"):
        target = sp.Popen([sys.executable, "-c", "import time; time.sleep(%s)" % delay])
        p = sp.run([TCPWATCH, "--pid", str(target.pid)], capture_output=True,
                   text=True, timeout=30)
        target.wait()
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        assert p.returncode in (0, 1), p.stderr
        if p.returncode == 1:
            assert lines == ["tcpwatch: no such process: %d" % target.pid], p.stderr
        else:
            assert lines[-1].split()[1] == "events:", p.stderr
