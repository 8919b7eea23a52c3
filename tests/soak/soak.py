#!/usr/bin/env python3
"""make soak: tcpwatch attached to a steady connection churn for a long time.

Passes when, over the whole run, tcpwatch's memory stays flat (peak RSS
after the first minute grows by less than GROWTH), its BPF maps stay within
their bounds, it loses no event at the default buffer, and the events it
reports are exactly those the workload caused (tests/bench/loadgen.c counts
them). Not part of make test: it takes SOAK_SECONDS (default 600).
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GROWTH = 0.10
WARMUP_S = 60
SAMPLE_S = 10
WATCHED_MAPS = ("owners", "tuples", "listeners", "targets")


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def map_ids(pid):
    """The BPF maps tcpwatch holds, from its fds' fdinfo (map_id lines)."""
    ids = set()
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                ids.update(int(l.split()[1]) for l in f if l.startswith("map_id:"))
        except OSError:
            pass
    return ids


def map_entries(pid):
    """Entries in tcpwatch's bounded maps: (in use, max_entries) by name."""
    maps = json.loads(subprocess.run(["bpftool", "-j", "map", "show"], check=True,
                                     capture_output=True, text=True).stdout)
    ours = map_ids(pid)
    counts = {}
    for m in maps:
        if m["id"] in ours and m.get("name") in WATCHED_MAPS:
            dump = subprocess.run(["bpftool", "-j", "map", "dump", "id", str(m["id"])],
                                  capture_output=True, text=True).stdout
            counts[m["name"]] = (len(json.loads(dump or "[]")), m.get("max_entries", 0))
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--rate", type=float, default=2000, help="connections per second")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "soak.json"))
    a = ap.parse_args()

    load = subprocess.Popen([os.path.join(ROOT, "build", "bench", "loadgen"), "--wait",
                             "--seconds", str(a.seconds), "--rate", str(a.rate),
                             "--count", str(10 ** 9)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    ready = json.loads(load.stdout.readline())
    # Millions of events: written away (all the work of formatting them is
    # still done), counted from the summary tcpwatch prints on stderr.
    tw = subprocess.Popen([os.path.join(ROOT, "tcpwatch"), "-o", os.devnull,
                           "--pid", str(ready["pid"]), "--keep-going"],
                          stderr=subprocess.PIPE, text=True)
    while "Tracing" not in tw.stderr.readline():
        if tw.poll() is not None:
            sys.exit("soak: tcpwatch did not start")
    load.stdin.write("go\n")
    load.stdin.flush()

    start, samples = time.monotonic(), []
    while load.poll() is None:
        time.sleep(SAMPLE_S)
        samples.append({"t": round(time.monotonic() - start), "rss_kb": rss_kb(tw.pid),
                        "maps": map_entries(tw.pid)})
        print("  %5ds  RSS %6d kB  %s" % (samples[-1]["t"], samples[-1]["rss_kb"],
              "  ".join("%s %d/%d" % (k, v[0], v[1])
                        for k, v in sorted(samples[-1]["maps"].items()))), flush=True)
    result = json.loads(load.stdout.read().splitlines()[-1])
    time.sleep(1)
    tw.send_signal(signal.SIGINT)
    tail = tw.communicate(timeout=60)[1]
    m = re.search(r"^(\d+) events:.*; (\d+) lost", tail, re.M)
    if not m:
        sys.exit("soak: no summary from tcpwatch: " + tail[-500:])
    summary = {"events": int(m.group(1)), "lost": int(m.group(2))}

    warmup = min(WARMUP_S, a.seconds / 2)
    late = [s["rss_kb"] for s in samples if s["t"] >= warmup] or [s["rss_kb"] for s in samples]
    growth = (max(late) - late[0]) / late[0] if late and late[0] else 0
    over = [(k, v) for s in samples for k, v in s["maps"].items() if v[0] > v[1]]
    checks = [
        ("no lost events", summary["lost"] == 0, summary["lost"]),
        ("events match the workload's", summary["events"] == result["expected_pid_total"],
         "%d of %d" % (summary["events"], result["expected_pid_total"])),
        ("RSS flat after warm-up (< %d%% growth)" % (GROWTH * 100), growth < GROWTH,
         "%.1f%% (%d -> %d kB)" % (growth * 100, late[0] if late else 0, max(late or [0]))),
        ("maps within bounds", not over, over[:3]),
    ]
    report = {"seconds": a.seconds, "rate": a.rate, "connections": result["connections"],
              "conn_per_s": result["conn_per_s"], "samples": samples, "summary": summary,
              "checks": [{"name": n, "ok": ok, "value": str(v)} for n, ok, v in checks]}
    with open(a.out, "w") as f:
        json.dump(report, f, indent=1)
    print("\nsoak: %d connections in %.0f s (%.0f/s), %d events"
          % (result["connections"], result["seconds"], result["conn_per_s"],
             summary["events"]))
    for name, ok, value in checks:
        print("  %s  %-40s %s" % ("PASS" if ok else "FAIL", name, value))
    print("written to %s" % a.out)
    sys.exit(0 if all(ok for _, ok, _ in checks) else 1)


if __name__ == "__main__":
    main()
