#!/usr/bin/python3
"""make bench: what tracing costs, against an untraced run, a no-op probe and peers.

One run, the untraced load before every traced configuration, round after
round (A B A C ... A B A C ... A), medians over the rounds; each traced run
is compared with the untraced runs on either side of it. Each run: the load generator (loadgen.c) sets up
in a network namespace of its own and waits; the tracer is started and
timed until it says it is attached; the load runs for --seconds; the
tracer's peak RSS is read while it is still attached; then it is stopped and
what it captured is compared with what the load generator knows it caused.

kernel.bpf_stats_enabled is off for those runs: it makes the kernel read the
clock twice around every program run (~70 ns a run here), a cost no user
pays, which would weigh on every tracer's throughput. The programs' run time
(run_time_ns / run_cnt) comes from --stats-rounds more rounds of each traced
configuration with it on, kept out of every other figure.

Every command is an argument list (no shell). Root only: BPF, namespaces.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import recording  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build" / "bench"
TCPWATCH = ROOT / "tcpwatch"
LOADGEN = OUT / "loadgen"
NOOP = OUT / "noop"
PORT = 47999            # loadgen's server port in its own namespace
BPF_STATS = Path("/proc/sys/kernel/bpf_stats_enabled")
CLK_TCK = os.sysconf("SC_CLK_TCK")
KERNEL_TYPES = recording.KERNEL_TYPES
REPORT_RUNS = 3         # tcpwatch report on the 1M-event recording, median

TARGETS = {
    "all_throughput": 0.85,      # tracing everything: fraction of untraced conn/s
    "all_kernel_ns": 1000,       # in-kernel ns per event (per program run)
    "all_lost": 0,
    "pid_throughput": 0.95,      # --pid of a process that makes no connections
    "ready_ms": 100,
    "rss_mb": 16,
    "report_s": 2,
    "report_mb": 256,
}

BPFTRACE_PRINTF = (
    'tracepoint:sock:inet_sock_set_state /args->protocol == 6/ { '
    'printf("%d %d %d %d %d %s\\n", pid, args->sport, args->dport, '
    'args->oldstate, args->newstate, comm); }')
# Counted in the kernel, only the bench's port: the host's other TCP (other
# people's tests) would otherwise blur the count.
BPFTRACE_COUNT = (
    'tracepoint:sock:inet_sock_set_state /args->protocol == 6 && '
    '(args->sport == %d || args->dport == %d)/ { @ = count(); }' % (PORT, PORT))

children = []           # processes to end if the bench is interrupted


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---- processes ----------------------------------------------------------------

class Failed(Exception):
    pass


rusage = {}             # pid -> rusage of a child reaped by exited()


def exited(proc):
    """Reap proc if it has exited, keeping its rusage (Popen.poll would lose it)."""
    if proc.returncode is not None:
        return True
    pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
    if not pid:
        return False
    proc.returncode = os.waitstatus_to_exitcode(status)
    rusage[proc.pid] = ru
    if proc in children:
        children.remove(proc)
    return True


def reap(proc, timeout):
    """Wait for proc, SIGKILL it after timeout; its rusage (CPU time, peak RSS)."""
    deadline = time.monotonic() + timeout
    while not exited(proc):
        if time.monotonic() > deadline:
            proc.kill()
            deadline = time.monotonic() + 5
        time.sleep(0.01)
    return rusage.pop(proc.pid)


def proc_cpu_s(pid):
    """utime + stime of a live process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def proc_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def irq_work_interrupts():
    """IRQ work interrupts so far, all CPUs (x86 "IWI"): how a BPF ring buffer
    producer wakes its reader. None where /proc/interrupts has no such line."""
    with open("/proc/interrupts") as f:
        ncpu = len(f.readline().split())
        for line in f:
            name, _, rest = line.partition(":")
            if name.strip() == "IWI":
                return sum(int(x) for x in rest.split()[:ncpu])
    return None


def bpftool_json(*args):
    r = subprocess.run(["bpftool", "--json", *args], capture_output=True, text=True)
    if r.returncode:
        return []
    return json.loads(r.stdout or "[]")


def prog_stats(pid):
    """The BPF programs pid holds, with bpf_stats' run time and count (fdinfo)."""
    progs = {}
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink("%s/%s" % (fd_dir, fd)) != "anon_inode:bpf-prog":
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                info = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        pid_id = int(info["prog_id"])
        progs[pid_id] = {"id": pid_id,
                         "run_time_ns": int(info.get("run_time_ns", 0)),
                         "run_cnt": int(info.get("run_cnt", 0)),
                         "recursion_misses": int(info.get("recursion_misses", 0))}
    names = {p["id"]: p.get("name", "?") for p in bpftool_json("prog", "show")}
    for p in progs.values():
        p["name"] = names.get(p["id"], "?")
    return sorted(progs.values(), key=lambda p: p["name"])


def perf_attached(pid, tracepoint):
    """pid has a BPF program on tracepoint (bpftool perf: bpftrace, bcc)."""
    return any(e.get("pid") == pid and e.get("tracepoint") == tracepoint
               for e in bpftool_json("perf", "list"))


class Tracer:
    """A tracer process: launched, timed until attached, measured, stopped."""

    def __init__(self, name, argv, ready, stdout_path=None):
        self.name, self.argv, self.ready = name, argv, ready
        self.stdout_path = stdout_path
        self.stderr_lines = []

    def start(self, timeout):
        out = open(self.stdout_path, "wb") if self.stdout_path else subprocess.DEVNULL
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.PIPE)
        children.append(self.proc)
        if out is not subprocess.DEVNULL:
            out.close()
        self.reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.reader.start()
        while not self._is_ready():
            if exited(self.proc) or time.monotonic() - t0 > timeout:
                self.stop()
                raise Failed("%s did not attach: %s" % (self.name, self.stderr_tail()))
            time.sleep(0.002 if self.ready == "stderr" else 0.02)
        self.ready_ms = (time.monotonic() - t0) * 1000
        self.cpu_at_ready = proc_cpu_s(self.proc.pid)

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line.decode(errors="replace").rstrip("\n"))

    def _is_ready(self):
        if self.ready == "stderr":      # tcpwatch and the no-op loader say so
            return any(line.startswith("Tracing") for line in self.stderr_lines)
        return perf_attached(self.proc.pid, "inet_sock_set_state")

    def watch_rss(self):
        """Sample VmRSS every 100 ms until sample(): the peak during the load,
        apart from VmHWM, which also holds the start-up peak."""
        self.rss_max_kb = 0
        self.watching = True

        def loop():
            while self.watching:
                self.rss_max_kb = max(self.rss_max_kb, proc_rss_kb(self.proc.pid) or 0)
                time.sleep(0.1)
        self.watcher = threading.Thread(target=loop, daemon=True)
        self.watcher.start()

    def sample(self):
        """While attached: peak RSS so far and the programs' run time."""
        self.watching = False
        self.watcher.join()
        self.hwm_kb = proc_hwm_kb(self.proc.pid)
        self.progs = prog_stats(self.proc.pid)

    def stop(self, sig=signal.SIGINT, timeout=120):
        if self.proc.returncode is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
        ru = reap(self.proc, timeout)
        self.reader.join(5)
        self.cpu_total = ru.ru_utime + ru.ru_stime
        self.maxrss_kb = ru.ru_maxrss

    def stderr_tail(self, n=3):
        lines = [s for s in self.stderr_lines if s.strip()]
        return " / ".join(lines[-n:]) or "(no message)"


class Load:
    """loadgen: set up and waiting for "go" (so that a tracer attaches first)."""

    def __init__(self, mode, threads, seconds, count, retransmits):
        argv = [str(LOADGEN), "--wait", "--mode", mode, "--threads", str(threads),
                "--seconds", str(seconds), "--count", str(count),
                "--retransmits", str(retransmits)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        children.append(self.proc)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            children.remove(self.proc)
            raise Failed("loadgen: " + self.proc.stderr.read().strip())
        self.ready = json.loads(line)
        self.pid, self.netns = self.ready["pid"], self.ready["netns"]

    def run(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        err = self.proc.stderr.read().strip()
        self.proc.wait()
        children.remove(self.proc)
        if not line:
            raise Failed("loadgen: " + err)
        result = json.loads(line)
        result["stderr"] = err
        return result

    def abort(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc in children:
            children.remove(self.proc)


# ---- configurations ---------------------------------------------------------------

class Config:
    """How to trace (or not) one run, and how to read what was captured."""

    def __init__(self, name, label, kind, peer=False):
        self.name, self.label, self.kind, self.peer = name, label, kind, peer

    def tracer(self, load, unrelated_pid, path):
        k = self.kind
        if k == "none":
            return None
        if k == "noop":
            return Tracer(self.name, [str(NOOP)], "stderr")
        if k == "noop-pid":
            return Tracer(self.name, [str(NOOP), "--pid-hooks"], "stderr")
        if k.startswith("tcpwatch"):
            argv = [str(TCPWATCH), "--json", "-o", str(path)]
            if k == "tcpwatch-all-noyield":
                argv += ["--no-yield"]
            elif k == "tcpwatch-pid-other":
                argv += ["--pid", str(unrelated_pid)]
            elif k == "tcpwatch-pid-other-nocalls":
                argv += ["--pid", str(unrelated_pid), "--no-calls"]
            elif k == "tcpwatch-pid-self":
                argv += ["--pid", str(load.pid), "--keep-going"]
            return Tracer(self.name, argv, "stderr")
        if k == "bpftrace-printf":
            return Tracer(self.name, ["bpftrace", "-o", str(path), "-e", BPFTRACE_PRINTF],
                          "perf")
        if k == "bpftrace-count":
            return Tracer(self.name, ["bpftrace", "-o", str(path), "-e", BPFTRACE_COUNT],
                          "perf")
        if k == "tcpstates":
            return Tracer(self.name, ["tcpstates-bpfcc"], "perf", stdout_path=path)
        raise ValueError(k)

    def expected(self, result):
        """What this configuration should capture, by event type."""
        k = self.kind
        if k in ("none", "noop", "noop-pid"):
            return None
        if k in ("tcpwatch-all", "tcpwatch-all-noyield"):
            return dict(result["expected"])
        if k == "tcpwatch-pid-self":
            return dict(result["expected_pid"])
        if k in ("tcpwatch-pid-other", "tcpwatch-pid-other-nocalls"):
            return {}
        return {"state": result["expected"]["state"]}

    def captured(self, path, netns, tracer):
        """(captured in the bench's namespace by type, events processed, lost)."""
        k = self.kind
        if k.startswith("noop"):
            return None, sum(p["run_cnt"] for p in tracer.progs), 0
        if k.startswith("tcpwatch"):
            return read_tcpwatch(path, netns, self)
        if k == "bpftrace-printf":
            return read_lines(path, 1, 2, "Lost (\\d+) events", tracer)
        if k == "bpftrace-count":
            text = path.read_text(errors="replace")
            m = re.search(r"^@: (\d+)", text, re.M)
            n = int(m.group(1)) if m else 0
            return {"state": n}, n, 0
        if k == "tcpstates":
            return read_lines(path, 4, 6, "[Pp]ossibly lost (\\d+) samples", tracer)
        raise ValueError(k)


schema_real = {}        # tcpwatch's own keys by line type, from the first recording


def read_tcpwatch(path, netns, config):
    """Count tcpwatch's kernel events in our namespace; its summary is the last line."""
    needle = b'"netns":%d,' % netns
    counts = dict.fromkeys(KERNEL_TYPES, 0)
    last = b""
    samples = {}
    with open(path, "rb") as f:
        for line in f:
            last = line
            if config.kind == "tcpwatch-all" and not schema_real:
                t = line[9:line.find(b'"', 9)]
                samples.setdefault(t + (b"r" if b'"reconstructed"' in line else b""), line)
            if needle not in line:
                continue
            t = line[9:line.find(b'"', 9)].decode()
            if t == "state" and b'"reconstructed":true' in line:
                continue
            if t in counts:
                counts[t] += 1
    if samples:
        schema_real.update(recording.keys_by_type(samples.values()))
    try:
        summary = json.loads(last)
    except ValueError:
        summary = {}
    if summary.get("type") != "summary":
        raise Failed("tcpwatch wrote no summary line")
    return counts, summary["events"], summary["lost"]


def read_lines(path, sport_col, dport_col, lost_re, tracer):
    """A peer's one line per state change: ours are those with the bench's port."""
    ours = total = lost = 0
    lost_pat = re.compile(lost_re)
    port = str(PORT)
    with open(path, errors="replace") as f:
        for line in f:
            m = lost_pat.search(line)
            if m:
                lost += int(m.group(1))
                continue
            fields = line.split()
            if len(fields) <= max(sport_col, dport_col) or not fields[sport_col].isdigit():
                continue
            total += 1
            if port in (fields[sport_col], fields[dport_col]):
                ours += 1
    for line in tracer.stderr_lines:
        m = lost_pat.search(line)
        if m:
            lost += int(m.group(1))
    return {"state": ours}, total, lost


# ---- one run ----------------------------------------------------------------------

def run_once(config, mode, args, unrelated_pid, threads, bpf_stats=False):
    path = OUT / ("capture-%s.out" % config.name)
    if path.exists():
        path.unlink()
    load = Load(mode, threads, args.seconds, args.max_connections, args.retransmits)
    tracer = config.tracer(load, unrelated_pid, path)
    try:
        if tracer:
            tracer.start(timeout=120)
            tracer.watch_rss()
        iwi0 = irq_work_interrupts()
        result = load.run()
        iwi1 = irq_work_interrupts()
    except Failed:
        load.abort()
        raise
    except BaseException:
        load.abort()
        if tracer:
            tracer.stop(signal.SIGKILL)
        raise
    run = {"config": config.name, "mode": mode, "threads": threads, "bpf_stats": bpf_stats,
           "loadavg": open("/proc/loadavg").read().split()[0],
           "irq_work": iwi1 - iwi0 if iwi0 is not None else None,
           "conn_per_s": result["conn_per_s"], "connections": result["connections"],
           "seconds": result["seconds"], "load_failed": result["failed"],
           "load_errors": result["stderr"]}
    if result["failed"]:
        log("  loadgen: %s" % result["stderr"])
    if not tracer:
        return run
    time.sleep(0.3)         # the reader's poll interval, and then some
    tracer.sample()
    tracer.stop()
    if tracer.proc.returncode not in (0, -signal.SIGINT, 130):
        log("  %s exited %s: %s" % (config.name, tracer.proc.returncode, tracer.stderr_tail()))
    captured, processed, lost = config.captured(path, load.netns, tracer)
    expected = config.expected(result)
    cpu = max(tracer.cpu_total - tracer.cpu_at_ready, 0.0)
    run_time = sum(p["run_time_ns"] for p in tracer.progs)
    run_cnt = sum(p["run_cnt"] for p in tracer.progs)
    run.update({
        "ready_ms": round(tracer.ready_ms, 1),
        "peak_rss_kb": tracer.hwm_kb, "maxrss_kb": tracer.maxrss_kb,
        "load_rss_max_kb": tracer.rss_max_kb,
        "tracer_cpu_s": round(cpu, 3), "events_processed": processed,
        "cpu_s_per_m_events": round(cpu / processed * 1e6, 2) if processed else None,
        "lost": lost, "expected": expected, "captured": captured,
        "irq_work_per_event": round(run["irq_work"] / processed, 3)
        if processed and run["irq_work"] is not None else None,
        "bpf_run_time_ns": run_time, "bpf_run_cnt": run_cnt,
        "bpf_ns_per_run": round(run_time / run_cnt, 1) if run_cnt else None,
        "bpf_us_per_conn": round(run_time / result["connections"] / 1000, 2)
        if result["connections"] else None,
        "programs": tracer.progs, "exit": tracer.proc.returncode,
    })
    if path.exists():
        path.unlink()
    return run


# ---- peers --------------------------------------------------------------------------

def probe_peer(name, argv, seconds=90):
    """None if argv attaches here, else why not (its own words)."""
    if not shutil.which(argv[0]):
        return "%s is not installed" % argv[0]
    said = OUT / "probe.out"
    t = Tracer(name, argv, "perf", stdout_path=said)
    try:
        t.start(timeout=seconds)
    except Failed as e:
        for line in t.stderr_lines + said.read_text(errors="replace").splitlines():
            if "kernel headers" in line:      # bcc compiles against them
                return line.strip()
        return str(e)
    finally:
        said.unlink()
    t.stop()
    return None


# ---- the report on a large recording -------------------------------------------------

def tcpwatch_help():
    return subprocess.run([str(TCPWATCH), "--help"], capture_output=True, text=True).stdout


def record_with_tcpwatch(path, events, args):
    """A recording made by tcpwatch --record itself, of the churn: ~12 events
    a connection, so the load is bounded by count (a big buffer: no loss)."""
    conns = (events + 11) // 12
    load = Load("churn", args.threads, 600, conns, args.retransmits)
    tracer = Tracer("record", [str(TCPWATCH), "--record", str(path), "-o", "/dev/null",
                               "-b", "256M"], "stderr")
    try:
        tracer.start(timeout=120)
        load.run()
    except BaseException:
        load.abort()
        raise
    time.sleep(0.3)
    tracer.stop()
    m = re.search(r"^(\d+) events:.*; (\d+) lost", "\n".join(tracer.stderr_lines), re.M)
    if tracer.proc.returncode != 0 or not m:
        raise Failed("tcpwatch --record: " + tracer.stderr_tail())
    return int(m.group(1)), int(m.group(2))


def make_recording(path, events, args):
    """(how it was made, kernel events in it, events lost while recording)."""
    if "--record" in tcpwatch_help():
        n, lost = record_with_tcpwatch(path, events, args)
        return "tcpwatch --record of the churn", n, lost
    return "generated, tcpwatch --json schema", recording.write(path, events), 0


def run_report(path, out_path, timeout=600):
    """Runs tcpwatch report on path: (seconds, rusage, exit, stderr)."""
    t0 = time.monotonic()
    with open(out_path, "wb") as sink:
        proc = subprocess.Popen([str(TCPWATCH), "report", str(path)], stdout=sink,
                                stderr=subprocess.PIPE)
        children.append(proc)
        err = proc.stderr.read().decode(errors="replace")
        ru = reap(proc, timeout)
    return time.monotonic() - t0, ru, proc.returncode, err


def measure_report(args):
    """tcpwatch report on a large recording: time and peak memory. Available
    means `tcpwatch report --help` exits 0 and a small recording replays (getopt
    alone would make 'report --help' exit 0 on a tcpwatch without it)."""
    out = {}
    if subprocess.run([str(TCPWATCH), "report", "--help"], capture_output=True).returncode:
        out["skipped"] = "tcpwatch report not available yet"
        return out
    small, big = OUT / "recording-small.jsonl", OUT / "recording-1M.jsonl"
    sink = OUT / "report.out"
    try:
        how, _, _ = make_recording(small, 200, args)
        _, _, rc, err = run_report(small, sink)
        if rc:
            first = next((l for l in err.splitlines() if l.startswith("tcpwatch")), err)
            out["skipped"] = ("tcpwatch report not available yet: on a small recording "
                              "(%s) it exits %d: %s" % (how, rc, first.strip()))
            return out
        t0 = time.monotonic()
        how, events, lost = make_recording(big, args.report_events, args)
        out.update({"recording": how, "events": events, "lost_while_recording": lost,
                    "file_mb": round(big.stat().st_size / 2**20, 1),
                    "made_in_s": round(time.monotonic() - t0, 1)})
        # The median of REPORT_RUNS: this VM's speed swings within minutes.
        runs = [run_report(big, sink) for _ in range(REPORT_RUNS)]
        secs = [r[0] for r in runs]
        err = runs[-1][3]
        out.update({"seconds": round(median(secs), 2),
                    "seconds_runs": [round(x, 2) for x in secs],
                    "peak_rss_mb": round(max(r[1].ru_maxrss for r in runs) / 1024, 1),
                    "cpu_s": round(median(r[1].ru_utime + r[1].ru_stime for r in runs), 2),
                    "exit": max(r[2] for r in runs),
                    "output_mb": round(sink.stat().st_size / 2**20, 1),
                    "stderr_tail": err[-300:]})
    except Failed as e:
        out["skipped"] = "could not make the recording: %s" % e
    finally:
        for f in (small, big, sink):
            if f.exists():
                f.unlink()
    return out


# ---- the summary ----------------------------------------------------------------------

def paired_ratios(runs, mode):
    """Each run's conn/s over the mean of the untraced runs just before and
    after it (in the order they ran): the VM's speed drifts by tens of
    percent within minutes, which a ratio of medians over rounds takes in."""
    seq = [r for r in runs if r["mode"] == mode]
    ratios = {}
    for i, r in enumerate(seq):
        if r["config"] == "untraced":
            continue
        before = next((x for x in reversed(seq[:i]) if x["config"] == "untraced"), None)
        after = next((x for x in seq[i + 1:] if x["config"] == "untraced"), None)
        refs = [x["conn_per_s"] for x in (before, after) if x and x["conn_per_s"]]
        if refs:
            ratios.setdefault(r["config"], []).append(r["conn_per_s"] / (sum(refs) / len(refs)))
    return ratios


def summarize(runs, configs, mode):
    """Per configuration: medians (rates, paired ratios), sums (counts), worst (peaks)."""
    ratios = paired_ratios(runs, mode)
    out = {}
    for c in configs:
        rs = [r for r in runs if r["config"] == c.name and r["mode"] == mode]
        if not rs:
            continue
        cps = median(r["conn_per_s"] for r in rs)
        rr = [1.0] if c.name == "untraced" else ratios.get(c.name)
        s = {"label": c.label, "rounds": len(rs), "conn_per_s": round(cps, 1),
             "ratio": round(median(rr), 3) if rr else None,
             "ratio_runs": [round(x, 3) for x in rr] if rr else [],
             "conn_per_s_runs": [r["conn_per_s"] for r in rs]}
        if "ready_ms" in rs[0]:
            exp = [r["expected"] for r in rs if r["expected"] is not None]
            cap = [r["captured"] for r in rs if r["captured"] is not None]
            if exp and cap:
                types = sorted(set().union(*exp, *cap))
                s["expected"] = {t: sum(e.get(t, 0) for e in exp) for t in types}
                s["captured"] = {t: sum(x.get(t, 0) for x in cap) for t in types}
                s["expected_total"] = sum(s["expected"].values())
                s["captured_total"] = sum(s["captured"].values())
                s["mismatch"] = {t: [s["captured"][t], s["expected"][t]] for t in types
                                 if s["captured"][t] != s["expected"][t]}
            s.update({
                "lost": sum(r["lost"] for r in rs),
                "ready_ms": median(r["ready_ms"] for r in rs),
                "ready_ms_max": max(r["ready_ms"] for r in rs),
                "peak_rss_mb": round(max(r["peak_rss_kb"] or 0 for r in rs) / 1024, 1),
                "load_rss_max_mb": round(max(r["load_rss_max_kb"] or 0 for r in rs) / 1024, 1),
                "irq_work_per_event": median(r["irq_work_per_event"] for r in rs),
                "cpu_s_per_m_events": median(r["cpu_s_per_m_events"] for r in rs),
                "events_processed": sum(r["events_processed"] for r in rs),
            })
        out[c.name] = s
    return out


def add_bpf_stats(summary, stats_runs):
    """BPF run time per configuration, from the runs with bpf_stats on."""
    for name, s in summary.items():
        rs = [r for r in stats_runs if r["config"] == name and "bpf_run_cnt" in r]
        run_time = sum(r["bpf_run_time_ns"] for r in rs)
        run_cnt = sum(r["bpf_run_cnt"] for r in rs)
        conns = sum(r["connections"] for r in rs)
        if not rs:
            continue
        s.update({
            "stats_rounds": len(rs),
            "stats_conn_per_s_runs": [r["conn_per_s"] for r in rs],
            "bpf_ns_per_run": round(run_time / run_cnt, 1) if run_cnt else None,
            "bpf_us_per_conn": round(run_time / conns / 1000, 2) if conns else None,
            "programs": per_program(rs),
        })


def per_program(rs):
    by = {}
    for r in rs:
        for p in r["programs"]:
            b = by.setdefault(p["name"], [0, 0, 0])
            b[0] += p["run_time_ns"]
            b[1] += p["run_cnt"]
            b[2] += p["recursion_misses"]
    return {n: {"run_cnt": c, "ns_per_run": round(t / c, 1) if c else None,
                "recursion_misses": m} for n, (t, c, m) in sorted(by.items())}


def fmt(v, spec="%s", none="-"):
    return none if v is None else spec % v


def events_cell(s):
    if "expected_total" not in s:
        return "n/a"
    cell = "%d/%d" % (s["captured_total"], s["expected_total"])
    return cell + (" !" if s["mismatch"] else "")


def accounted(s):
    """Whether what was missed is what the tracer says it lost."""
    extra = s["captured_total"] + s["lost"] - s["expected_total"]
    if not s["lost"]:
        return ""
    if extra == 0:
        return "; captured + lost = expected"
    return ("; captured + lost = expected %+d (the loss count is the whole host's)"
            % extra)


def print_table(title, summary):
    print("\n" + title)
    head = ("configuration", "conn/s", "vs untr.", "events capt./exp.", "lost",
            "ready ms", "RSS MB", "CPU s/M ev", "BPF ns/run", "BPF us/conn", "wakeups/ev")
    rows = [head]
    for s in summary.values():
        rows.append((s["label"], "%.0f" % s["conn_per_s"],
                     fmt(s["ratio"] and s["ratio"] * 100, "%.1f%%"),
                     events_cell(s) if "lost" in s else "-",
                     fmt(s.get("lost")), fmt(s.get("ready_ms"), "%.0f"),
                     fmt(s.get("peak_rss_mb"), "%.1f"),
                     fmt(s.get("cpu_s_per_m_events"), "%.2f"),
                     fmt(s.get("bpf_ns_per_run"), "%.0f"),
                     fmt(s.get("bpf_us_per_conn"), "%.2f"),
                     fmt(s.get("irq_work_per_event"), "%.2f")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for i, r in enumerate(rows):
        print("  " + "  ".join(c.ljust(widths[0]) if j == 0 else c.rjust(widths[j])
                               for j, c in enumerate(r)))
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))
    for s in summary.values():
        if s.get("mismatch"):
            print("  ! %s: captured/expected by type: %s%s" % (s["label"], ", ".join(
                "%s %d/%d" % (t, c, e) for t, (c, e) in s["mismatch"].items()),
                accounted(s)))
        # The firing count of tcp_retransmit_skb (run_cnt) needs bpf_stats,
        # which is off for these runs.
        if "retransmit" in s.get("mismatch", {}):
            print("    (retransmit expected = the sockets' own tcpi_total_retrans)")


def check_targets(main, report):
    """(target, measured, pass) for each of the issue's targets."""
    t = TARGETS
    out = []

    def add(name, measured, ok):
        out.append({"target": name, "measured": measured, "pass": ok})

    a = main.get("tcpwatch-all")
    if a:
        add("tracing everything: throughput >= 85% of untraced",
            "%.1f%%" % (a["ratio"] * 100), a["ratio"] >= t["all_throughput"])
        ns = a.get("bpf_ns_per_run")
        add("tracing everything: in-kernel <= 1 us per event (program run)",
            "not measured (--stats-rounds 0)" if ns is None else "%.0f ns" % ns,
            None if ns is None else ns <= t["all_kernel_ns"])
        add("tracing everything: zero lost events at the default buffer",
            "%d lost" % a["lost"], a["lost"] == t["all_lost"])
    for name, what in (("tcpwatch-pid-other", "non-matching --pid"),
                       ("tcpwatch-pid-other-nocalls", "non-matching --pid --no-calls")):
        p = main.get(name)
        if p:
            add("%s: throughput >= 95%% of untraced" % what,
                "%.1f%%" % (p["ratio"] * 100), p["ratio"] >= t["pid_throughput"])
    tw = [main[n] for n in ("tcpwatch-all", "tcpwatch-pid-other",
                            "tcpwatch-pid-other-nocalls", "tcpwatch-pid-self")
          if n in main]
    if tw:
        worst = max(s["ready_ms"] for s in tw)
        add("ready (attached, snapshot taken) < 100 ms (median, worst config)",
            "%.0f ms" % worst, worst < t["ready_ms"])
        rss = max(s["peak_rss_mb"] for s in tw)
        add("peak RSS < 16 MB during the churn", "%.1f MB" % rss, rss < t["rss_mb"])
    if "skipped" in report:
        add("report on 1M events < 2 s and < 256 MB", "skipped (see above)", None)
    else:
        ok = (report["exit"] == 0 and report["seconds"] < t["report_s"]
              and report["peak_rss_mb"] < t["report_mb"])
        add("report on 1M events < 2 s and < 256 MB",
            "%.2f s, %.0f MB, exit %d" % (report["seconds"], report["peak_rss_mb"],
                                          report["exit"]), ok)
    return out


def versus_peers(main, configs):
    """tcpwatch (tracing everything) against each peer that ran, figure by figure."""
    a = main.get("tcpwatch-all")
    out = []
    if not a:
        return out
    figures = (("throughput", "ratio", True), ("lost", "lost", False),
               ("ready ms", "ready_ms", False), ("RSS MB", "peak_rss_mb", False),
               ("CPU s/M ev", "cpu_s_per_m_events", False),
               ("BPF ns/run", "bpf_ns_per_run", False))
    for c in configs:
        if not c.peer or c.name not in main:
            continue
        p = main[c.name]
        for label, key, higher in figures:
            mine, theirs = a.get(key), p.get(key)
            if mine is None or theirs is None:
                continue
            ahead = mine > theirs if higher else mine <= theirs
            out.append({"peer": c.label, "figure": label, "tcpwatch": mine,
                        "peer_value": theirs, "tcpwatch_ahead": ahead})
    return out


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    rev = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "kernel": platform.release(), "cpu": model,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "tcpwatch": rev or "?",
            # Other people's tracers cost every run, untraced included.
            "bpf_programs_loaded_at_start": len(bpftool_json("prog", "show")),
            "loadavg_at_start": open("/proc/loadavg").read().split()[:3]}


# ---- main --------------------------------------------------------------------------------

def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=2, help="client (and server) threads")
    ap.add_argument("--max-connections", type=int, default=2_000_000,
                    help="bound on connections per run, with --seconds")
    ap.add_argument("--variant-rounds", type=int, default=2)
    ap.add_argument("--stats-rounds", type=int, default=1,
                    help="rounds of each traced configuration with "
                         "kernel.bpf_stats_enabled on, for BPF ns/run only")
    ap.add_argument("--retrans-threads", type=int, default=16)
    ap.add_argument("--retransmits", type=int, default=2)
    ap.add_argument("--report-events", type=int, default=1_000_000)
    ap.add_argument("--json", default=str(ROOT / "build" / "bench.json"))
    ap.add_argument("--only", metavar="CONFIG,...",
                    help="run only these configurations (untraced always runs: "
                         "the ratios are to it), e.g. --only tcpwatch-all; "
                         "--report-events 0 skips timing tcpwatch report")
    a = ap.parse_args()
    if a.rounds < 1 or a.seconds <= 0 or a.threads < 1:
        ap.error("rounds, seconds and threads must be positive")
    if a.stats_rounds < 0:
        ap.error("--stats-rounds cannot be negative")
    return a


def build_configs():
    configs = [
        Config("untraced", "untraced", "none"),
        Config("noop", "no-op BPF (floor)", "noop"),
        # tcpwatch --pid adds the raw syscall tracepoints: every syscall of
        # every process takes the traced path (the floor of both --pid runs).
        Config("noop-pid", "no-op BPF on --pid's hooks (floor)", "noop-pid"),
        Config("tcpwatch-all", "tcpwatch, everything, --json -o", "tcpwatch-all"),
        # The same with the reader at normal priority: what yielding buys.
        Config("tcpwatch-all-noyield", "tcpwatch, everything, --no-yield",
               "tcpwatch-all-noyield"),
        Config("tcpwatch-pid-other", "tcpwatch --pid (unrelated)", "tcpwatch-pid-other"),
        # Without the syscall tracepoints: the floor is the no-op on the TCP hooks.
        Config("tcpwatch-pid-other-nocalls", "tcpwatch --pid --no-calls (unrelated)",
               "tcpwatch-pid-other-nocalls"),
        Config("tcpwatch-pid-self", "tcpwatch --pid (the load)", "tcpwatch-pid-self"),
    ]
    skipped = {}
    why = probe_peer("bpftrace", ["bpftrace", "-e", BPFTRACE_COUNT])
    if why:
        skipped["bpftrace"] = why
    else:
        configs += [Config("bpftrace-printf", "bpftrace printf one-liner", "bpftrace-printf", True),
                    Config("bpftrace-count", "bpftrace count (2nd floor)", "bpftrace-count", True)]
    why = probe_peer("tcpstates-bpfcc", ["tcpstates-bpfcc"])
    if why:
        skipped["tcpstates-bpfcc"] = why
    else:
        configs.append(Config("tcpstates", "tcpstates-bpfcc", "tcpstates", True))
    return configs, skipped


def on_signal(sig, frame):
    raise KeyboardInterrupt


def main():
    args = parse_args()
    if os.geteuid():
        sys.exit("bench: needs root (BPF, network namespaces): run with sudo")
    for path in (TCPWATCH, LOADGEN, NOOP):
        if not path.exists():
            sys.exit("bench: %s is missing: run make bench" % path)
    OUT.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, on_signal)
    stats_before = BPF_STATS.read_text().strip()
    unrelated = subprocess.Popen(["sleep", "86400"])
    children.append(unrelated)
    try:
        BPF_STATS.write_text("0")
        return bench(args, unrelated.pid)
    except KeyboardInterrupt:
        log("bench: interrupted")
        return 130
    finally:
        BPF_STATS.write_text(stats_before)
        for p in list(children):
            if p.poll() is None:
                p.kill()
                p.wait()
        for leftover in OUT.glob("capture-*.out"):
            leftover.unlink()


def bench(args, unrelated_pid):
    mach = machine()
    log("bench: %s, %d CPUs, Linux %s; %d rounds of %g s, %d client threads"
        % (mach["cpu"], mach["nproc"], mach["kernel"], args.rounds, args.seconds,
           args.threads))
    configs, skipped = build_configs()
    if args.only:
        wanted = set(args.only.split(",")) | {"untraced"}
        unknown = wanted - {c.name for c in configs} - set(skipped)
        if unknown:
            log("bench: --only: no configuration %s (there are: %s)"
                % (", ".join(sorted(unknown)), ", ".join(c.name for c in configs)))
            return 2
        configs = [c for c in configs if c.name in wanted]
    for name, why in skipped.items():
        log("bench: skipped %s: %s" % (name, why))
    runs, stats_runs, errors = [], [], []
    variant_configs = [c for c in configs if c.name == "tcpwatch-all"]

    def attempt(config, mode, rnd, threads, bpf_stats=False):
        try:
            r = run_once(config, mode, args, unrelated_pid, threads, bpf_stats)
            r["round"] = rnd
            (stats_runs if bpf_stats else runs).append(r)
            log("  round %d %-8s %-20s %8.0f conn/s%s" % (
                rnd, mode + (" +stats" if bpf_stats else ""), config.name, r["conn_per_s"],
                "" if "ready_ms" not in r else "  ready %.0f ms, %s events, %s lost"
                % (r["ready_ms"], r["events_processed"], r["lost"])))
        except Failed as e:
            errors.append({"config": config.name, "mode": mode, "round": rnd,
                           "error": str(e)})
            log("  round %d %s %s: FAILED: %s" % (rnd, mode, config.name, e))

    # Untraced before every traced run (A B A C ... A): each traced run is
    # held to the untraced runs on either side of it, minutes apart at most.
    untraced = configs[0]
    assert untraced.name == "untraced"
    for mode, threads, rounds, which in (
            ("churn", args.threads, args.rounds, configs[1:]),
            ("rst", args.threads, args.variant_rounds, variant_configs),
            ("retrans", args.retrans_threads, args.variant_rounds, variant_configs)):
        for rnd in range(1, rounds + 1):
            for c in which:
                attempt(untraced, mode, rnd, threads)
                attempt(c, mode, rnd, threads)
        if rounds and which:
            attempt(untraced, mode, rounds, threads)
    traced = [c for c in configs if c.name != "untraced"]
    for rnd in range(1, args.stats_rounds + 1):
        BPF_STATS.write_text("1")
        try:
            for c in traced:
                attempt(c, "churn", rnd, args.threads, bpf_stats=True)
        finally:
            BPF_STATS.write_text("0")

    main_summary = summarize(runs, configs, "churn")
    add_bpf_stats(main_summary, stats_runs)
    variants = {m: summarize(runs, configs[:1] + variant_configs, m) for m in ("rst", "retrans")}
    if args.report_events > 0:
        log("bench: timing tcpwatch report on %d events" % args.report_events)
        report = measure_report(args)
    else:
        report = {"skipped": "--report-events 0"}
    if schema_real:
        with open(OUT / "schema-check.jsonl", "w") as f:
            recording.write_sample(f)
        generated = recording.keys_by_type(open(OUT / "schema-check.jsonl"))
        report["generator_schema_diff"] = recording.schema_diff(schema_real, generated)
        (OUT / "schema-check.jsonl").unlink()
    targets = check_targets(main_summary, report)
    peers = versus_peers(main_summary, configs)

    print("\ntcpwatch bench: %s; %d CPUs; Linux %s; %s; tcpwatch %s"
          % (mach["cpu"], mach["nproc"], mach["kernel"], mach["date"], mach["tcpwatch"]))
    print("load: loopback churn in a private netns, %d client + %d server threads, "
          "%d rounds x %g s, untraced before each traced run; medians (events: sums "
          "over rounds); vs untr.: median of each run's conn/s over the mean of the "
          "untraced runs just before and after it"
          % (args.threads, args.threads, args.rounds, args.seconds))
    print_table("connection churn (server closes first; 10 state changes + 2 destroys "
                "per connection)", main_summary)
    for m, title in (("rst", "variant: client aborts with SO_LINGER {1,0} (RSTs)"),
                     ("retrans", "variant: request dropped by nft in the netns, %d "
                      "retransmissions, then abort" % args.retransmits)):
        if variants[m]:
            print_table(title, variants[m])
    for name, why in skipped.items():
        print("\nskipped %s: %s" % (name, why))
    for e in errors:
        print("FAILED run: round %d %s %s: %s" % (e["round"], e["mode"], e["config"],
                                                  e["error"]))
    if "skipped" in report:
        print("\ntcpwatch report: skipped: %s" % report["skipped"])
    else:
        print("\ntcpwatch report on a %d-event recording (%s, %.0f MB): %.2f s (median of "
              "%s s), peak RSS %.0f MB, exit %d" % (
                  report["events"], report["recording"], report["file_mb"],
                  report["seconds"], ", ".join("%.2f" % x for x in report["seconds_runs"]),
                  report["peak_rss_mb"], report["exit"]))
    if report.get("generator_schema_diff"):
        print("  ! tests/bench/recording.py no longer writes what tcpwatch --json writes: %s"
              % report["generator_schema_diff"])
    print("\ntargets (issue 7):")
    for t in targets:
        verdict = {True: "PASS", False: "MISS", None: "----"}[t["pass"]]
        print("  %s  %-66s %s" % (verdict, t["target"], t["measured"]))
    if peers:
        print("\ntcpwatch (everything) against each peer that ran here:")
        for p in peers:
            print("  %-6s %-28s %-12s tcpwatch %-10s peer %s" % (
                "ahead" if p["tcpwatch_ahead"] else "BEHIND", p["peer"], p["figure"],
                p["tcpwatch"], p["peer_value"]))
    print("\nRSS MB: VmHWM, the tracer's peak over its life. CPU s/M ev: the tracer's "
          "CPU time from attach to exit per million events it processed. BPF ns/run: "
          "run_time_ns/run_cnt over its programs, from %d more round(s) with "
          "kernel.bpf_stats_enabled on (off for every other figure: it reads the clock "
          "twice per program run). wakeups/ev: IRQ-work interrupts (how a "
          "ring buffer wakes its reader) during the load, per event." % args.stats_rounds)
    print("written to %s" % args.json)

    doc = {"machine": mach, "params": vars(args), "targets_config": TARGETS,
           "summary": main_summary, "variants": variants, "report": report,
           "targets": targets, "versus_peers": peers, "skipped": skipped,
           "errors": errors, "runs": runs, "stats_runs": stats_runs}
    Path(args.json).write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
