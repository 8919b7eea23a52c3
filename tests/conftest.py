"""Shared helpers: run tcpwatch against the real kernel, and the workloads it traces."""
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TCPWATCH = os.path.join(ROOT, "tcpwatch")
WORKLOAD = os.path.join(ROOT, "tests", "workload.py")
READY_TIMEOUT = 20
# What the kernel's hooks report; tcpwatch adds explain, connection, lost,
# summary and reconstructed transitions (state with "reconstructed": true).
KERNEL_TYPES = {"state", "rst_sent", "rst_recv", "retransmit",
                "synack_retransmit", "error", "destroy", "call"}


def tcpwatch_argv(*args):
    return [TCPWATCH] + list(args)


# How a traced run is started; a test may wrap it (e.g. in a mount namespace).
TCPWATCH_ARGV = tcpwatch_argv


class Trace:
    """A running tcpwatch. stop() ends it with SIGINT and parses what it printed."""

    def __init__(self, args, json_output=True):
        cmd = TCPWATCH_ARGV(*((["--json"] if json_output else []) + list(args)))
        self.json_output = json_output
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.stderr_lines = []
        self._out = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        # Drain stdout all along: a full pipe would stall tcpwatch.
        self._out_reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._out_reader.start()
        if not self._ready.wait(READY_TIMEOUT) or self.proc.poll() is not None:
            self.proc.kill()
            self._reader.join(5)
            raise AssertionError("tcpwatch did not start: " + self.stderr)
        self.stdout = b""
        self.rc = None
        self.events = []

    def _read_stdout(self):
        for line in self.proc.stdout:
            self._out.append(line)

    def wait_for(self, predicate, timeout=5):
        """Wait until a JSON line printed so far satisfies predicate, while
        tcpwatch runs: proves output is live, not written at exit."""
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            lines = list(self._out)
            for line in lines[seen:]:
                if line.strip() and predicate(json.loads(line)):
                    return json.loads(line)
            seen = len(lines)
            time.sleep(0.02)
        raise AssertionError("no such line within %s s" % timeout)

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line.decode(errors="replace"))
            if line.startswith(b"Tracing"):
                self._ready.set()
        self._ready.set()

    @property
    def stderr(self):
        return "".join(self.stderr_lines)

    def wait(self, timeout=20):
        """Wait for tcpwatch to end by itself."""
        self.proc.wait(timeout)
        self._out_reader.join(timeout)
        self.stdout = b"".join(self._out)
        return self._finish()

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.wait(timeout)

    def _finish(self):
        self._reader.join(5)
        self.rc = self.proc.returncode
        if self.json_output:
            self.events = [json.loads(l) for l in self.stdout.splitlines() if l.strip()]
        return self

    def kernel_events(self):
        return [e for e in self.events
                if e["type"] in KERNEL_TYPES and not e.get("reconstructed")]

    def of_type(self, type_):
        return [e for e in self.kernel_events() if e["type"] == type_] \
            if type_ in KERNEL_TYPES else \
            [e for e in self.events if e["type"] == type_]

    def codes(self):
        """Explanation codes given, in order."""
        return [e["code"] for e in self.events if e["type"] == "explain"]

    def summary(self):
        s = self.of_type("summary")
        assert len(s) == 1, "one summary expected: " + self.stderr
        return s[0]

    def conn(self, port):
        """Events of the connection whose local or remote port is port."""
        return [e for e in self.kernel_events()
                if port in (e.get("sport"), e.get("dport"))]


def sockets_of(events, local_port):
    """Kernel socket addresses that were bound to local_port."""
    return {e["sk"] for e in events
            if e["type"] == "state" and e["sport"] == local_port
            and not e.get("reconstructed")}


def transitions(events, local_port):
    """(old, new) of the state events of the sockets bound to local_port.

    By socket, not by port: at CLOSE -> SYN_SENT the kernel has not chosen
    the local port yet, so that event says sport 0.
    """
    sks = sockets_of(events, local_port)
    return [(e["old"], e["new"]) for e in events
            if e["type"] == "state" and e["sk"] in sks and not e.get("reconstructed")]


class Peer:
    """One workload process (see workload.py)."""

    def __init__(self, role, mode, addr="127.0.0.1", env=None):
        self.proc = subprocess.Popen([sys.executable, WORKLOAD, role, str(mode), addr],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=dict(os.environ, **(env or {})))
        self.hello = self._line()
        self.pid = self.hello["pid"]

    def _line(self):
        line = self.proc.stdout.readline()
        assert line, "workload ended early (exit %s)" % self.proc.poll()
        return json.loads(line)

    def go(self, arg=""):
        self.proc.stdin.write("%s\n" % arg)
        self.proc.stdin.flush()

    def port(self):
        return self._line()["port"]

    def result(self, timeout=20):
        r = self._line()["result"]
        self.proc.wait(timeout)
        return r

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class NetnsPeer(Peer):
    """A workload process alone in a network namespace of its own (unshare
    execs it: same pid), where it may change the namespace's sysctls and
    leave sockets behind without touching the host's; the namespace, and
    its sockets, go when the process does."""

    def __init__(self, role, mode="-", env=None):
        env = dict(os.environ, TW_PRIVATE_NETNS="1", **(env or {}))
        self.proc = subprocess.Popen(
            ["unshare", "-n", sys.executable, WORKLOAD, role, str(mode), "127.0.0.1"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.hello = self._line()
        self.pid = self.hello["pid"]


@pytest.fixture
def peers():
    """Workload processes, killed at the end whatever happens."""
    made = []

    def make(role, mode="-", addr="127.0.0.1", env=None):
        p = Peer(role, mode, addr, env)
        made.append(p)
        return p

    yield make
    for p in made:
        p.kill()


@pytest.fixture
def netns_peer():
    """Workload processes in namespaces of their own (NetnsPeer), killed at
    the end whatever happens."""
    made = []

    def make(role, mode="-", env=None):
        p = NetnsPeer(role, mode, env)
        made.append(p)
        return p

    yield make
    for p in made:
        p.kill()


def brief(line):
    """One line of tcpwatch's JSON output, shortened for a failure report."""
    try:
        e = json.loads(line)
    except ValueError:
        return line[:200]
    keys = ("ts_ns", "type", "call", "pid", "sk", "old", "new", "sport", "dport",
            "reason", "count", "errno", "code", "reconstructed", "cause", "lost",
            "skipped")
    return " ".join("%s=%s" % (k, e[k]) for k in keys if k in e)


MAX_FAILURE_LINES = 300


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test shows what each tcpwatch it ran printed: a flake in
    CI can then be read from the log, not only re-run."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or not rep.failed:
        return
    for i, t in enumerate(getattr(item, "tcpwatch_traces", [])):
        out = [l.decode(errors="replace") for l in t._out if l.strip()]
        rep.sections.append(("tcpwatch #%d stderr" % i, t.stderr))
        rep.sections.append(("tcpwatch #%d output" % i, shortened(out, t.json_output)))
    # Output a test read from a shared run (set by the test: see test_scenarios).
    for title, out in getattr(item, "tcpwatch_lines", []):
        rep.sections.append((title, shortened(out, True)))


def shortened(out, json_output):
    if len(out) > MAX_FAILURE_LINES:
        out = out[:MAX_FAILURE_LINES // 2] + ["... %d lines left out ..." % (
            len(out) - MAX_FAILURE_LINES)] + out[-MAX_FAILURE_LINES // 2:]
    return "\n".join(brief(l) if json_output else l.rstrip() for l in out)


@pytest.fixture
def trace(request):
    """tcpwatch runs, stopped at the end whatever happens."""
    made = []
    request.node.tcpwatch_traces = made

    def make(*args, json_output=True):
        t = Trace(args, json_output)
        made.append(t)
        return t

    yield make
    for t in made:
        if t.proc.poll() is None:
            t.proc.kill()
            t.proc.wait()


def run_tcpwatch(*args, user=None, timeout=20):
    """tcpwatch run to completion (for bad input): (exit status, stdout, stderr)."""
    cmd = [TCPWATCH] + list(args)
    if user:
        cmd = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user,
               "--clear-groups", "--inh-caps=-all"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def pair(peers, trace, server_mode, client_mode, *trace_args, addr="127.0.0.1",
         traced="both", json_output=True):
    """Run one server/client exchange under tcpwatch.

    traced: which processes --pid names ("both", "server", "client", or
    "none" for no --pid). Returns (trace, server_port, client_port,
    server, client, server_result, client_result).
    """
    server = peers("server", server_mode, addr)
    client = peers("client", client_mode, addr)
    chosen = {"both": [server, client], "server": [server],
              "client": [client], "none": []}[traced]
    t = trace(*(pid_args(*chosen) if chosen else []), *trace_args,
              json_output=json_output)
    server.go()
    port = server.port()
    client.go(port)
    c = client.result()
    s = server.result()
    t.stop()
    assert t.rc == 0, t.stderr
    return t, port, c.get("local_port"), server, client, s, c


def pid_args(*procs):
    return ["--pid", ",".join(str(p.pid) for p in procs)]


def nft(ns, script):
    """An nft script, run in network namespace ns."""
    subprocess.run(["ip", "netns", "exec", ns, "nft", script], check=True)


@contextlib.contextmanager
def netns_losing_requests(prefix, port, longer_than, sysctls=()):
    """A network namespace (name yielded) with lo up, whose input drops the
    TCP packets to port longer than longer_than bytes (IP length): requests
    are lost and retransmitted, handshakes and ACKs pass. Its nft table is
    "tw", the chain "in"; sysctls are "name=value" settings for it."""
    name = "%s-%d" % (prefix, os.getpid())
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        for setting in sysctls:
            subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw", setting],
                           check=True)
        nft(name, "add table ip tw; "
                  "add chain ip tw in { type filter hook input priority 0; }; "
                  "add rule ip tw in tcp dport %d ip length > %d drop"
                  % (port, longer_than))
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name])


@contextlib.contextmanager
def running(ns, script):
    """The Python script, run in namespace ns until it ends (killed if not);
    go_on() and said() talk to it over its standard input and output."""
    prog = subprocess.Popen(["ip", "netns", "exec", ns, "python3", "-c", script],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield prog
        prog.wait(10)
    finally:
        prog.kill()


def go_on(prog):
    prog.stdin.write("go\n")
    prog.stdin.flush()


def said(prog):
    return prog.stdout.readline().strip()


# A listener in a namespace accepts one connection of its own: it reads a
# line once tcpwatch is attached and another once SYN-ACKs pass (see
# through_lost_synacks); port and backlog are filled in by % (port, backlog, port).
ACCEPT_ONE = r"""
import socket, sys
srv = socket.socket(); srv.bind(("127.0.0.1", %d)); srv.listen(%d)
sys.stdin.readline()                          # tcpwatch is attached
c = socket.socket(); c.settimeout(20)
c.connect(("127.0.0.1", %d))                  # done once a SYN-ACK gets through
p, _ = srv.accept()
sys.stdin.readline()
print("connected", flush=True)
p.close(); c.close()
"""


def through_lost_synacks(ns, trace, port, script, first=None):
    """Run script in namespace ns, traced with --pid, while the SYN-ACKs from
    port are dropped on input (one that fails on output is neither counted
    nor traced), until the kernel has retransmitted one; then let them pass.
    The script reads a line when tcpwatch is attached and another once they
    pass, and prints "connected" at the end (and first, if given, before the
    SYN-ACKs pass). Returns the stopped trace and its SYN-ACK events."""
    nft(ns, "add chain ip tw synack { type filter hook input priority -1; }; "
            "add rule ip tw synack tcp sport %d tcp flags & (syn | ack) == syn | ack "
            "drop" % port)
    with running(ns, script) as prog:
        t = trace(*pid_args(prog))
        go_on(prog)
        if first:
            assert said(prog) == first
        t.wait_for(lambda e: e["type"] == "synack_retransmit", timeout=10)
        nft(ns, "delete chain ip tw synack")
        go_on(prog)
        assert said(prog) == "connected"
    t.stop()
    assert t.rc == 0, t.stderr
    return t, [e for e in t.of_type("synack_retransmit") if e["sport"] == port]


def netns_counters(ns):
    """The network namespace's own TCP counters (/proc/net/snmp and
    /proc/net/netstat), as {"Tcp:RetransSegs": n, "TcpExt:...": n}: what
    its kernel did, to hold tcpwatch's figures against."""
    text = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp",
                           "/proc/net/netstat"], check=True, capture_output=True,
                          text=True).stdout.splitlines()
    counters = {}
    for names, values in zip(text[::2], text[1::2]):
        prefix = names.split(":")[0]
        for name, value in zip(names.split()[1:], values.split()[1:]):
            counters[prefix + ":" + name] = int(value)
    return counters


def bpf_objects(owner_pid, kind):
    """bpftool's description of each BPF kind ("map" or "prog") that process
    owner_pid holds open, from the ids in its fds' fdinfo."""
    ids = set()
    fds = "/proc/%d/fdinfo" % owner_pid
    for fd in os.listdir(fds):
        try:
            with open(os.path.join(fds, fd)) as f:
                ids.update(int(l.split()[1]) for l in f if l.startswith(kind + "_id:"))
        except OSError:
            continue
    return [json.loads(subprocess.run(["bpftool", "-j", kind, "show", "id", str(i)],
                                      capture_output=True, text=True,
                                      check=True).stdout)
            for i in ids]


def write_synthetic(path, events):
    """A recording of state changes: events yields (sk, (saddr, sport),
    (daddr, dport), old, new), all in one namespace, by process 7."""
    with open(path, "w") as f:
        f.write(json.dumps({"type": "recording", "version": 1, "host": "h",
                            "kernel": "k", "mono_to_real_ns": 0, "scenario": None,
                            "pids": "", "ports": "", "family": None,
                            "follow": True, "stuck": 30}) + "\n")
        ts = 1000
        for sk, (saddr, sport), (daddr, dport), old, new in events:
            ts += 1
            f.write(json.dumps({
                "type": "event", "event": "state", "ts_ns": ts,
                "sk": "0x%x" % (0xffff888100000000 + 64 * sk), "pid": 7,
                "comm": "app", "owner_how": 1, "cpu_pid": 7, "netns": 1,
                "family": 2, "saddr": saddr, "sport": sport,
                "daddr": daddr, "dport": dport, "oldstate": old,
                "newstate": new, "flags": 0, "value": 0, "reason": 0, "fd": 0,
                "arg": 0, "arg2": 0}) + "\n")
        f.write('{"type":"end","ts_ns":%d}\n' % ts)
        f.write('{"type":"stop","ts_ns":%d,"lost":0,"filtered":0,"malformed":0}\n'
                % ts)


def synthetic(path, conns, closed=False):
    """A recording of conns connections opened, none closed; or each closed
    first, down to FIN_WAIT2 -> CLOSE: a timewait record (the recording has
    no sock_diag answer, so they stay)."""
    steps = [(7, 2)] + ([(2, 1), (1, 4), (4, 5), (5, 7)] if closed else [])
    write_synthetic(path, ((i, ("10.0.0.1", 1024 + i % 60000), ("10.0.0.2", 443),
                            old, new) for i in range(conns) for old, new in steps))
