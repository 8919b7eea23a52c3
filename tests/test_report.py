"""--report: a state-timeline report of what was traced, written when tracing
ends, as text, Markdown or JSON (HTML: test_report_html.py); the path is
checked before tracing, the file is written through a temporary file and a
rename, and strings from the traced system are escaped for the format."""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import TCPWATCH, pair, pid_args, run_tcpwatch, write_synthetic

HOSTILE = "<b>\x1b[2J\"x\\|*_`"


def scenario_report(tmp_path, name, ext, *extra):
    path = str(tmp_path / ("report." + ext))
    p = subprocess.run([TCPWATCH, "--scenario", name, "--stuck", "0.5",
                        "--report", path, *extra],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "Report written to %s" % path in p.stderr
    with open(path, encoding="utf-8") as f:
        return f.read(), p


@pytest.fixture(scope="module")
def leak(tmp_path_factory):
    """close-wait-leak once per format: {"txt": text, "md": ..., "json": ...}."""
    d = tmp_path_factory.mktemp("leak")
    return {ext: scenario_report(d, "close-wait-leak", ext)[0]
            for ext in ("txt", "md", "json")}


def test_text_report(leak):
    text = leak["txt"]
    assert text.startswith("tcpwatch report\n")
    assert "Target        scenario close-wait-leak" in text
    assert re.search(r"Connections   3 by final state: .*CLOSE 2", text)
    # The findings come before the connections, trouble only.
    findings = text.index("\nFindings\n")
    conns = text.index("\nConnections\n")
    assert findings < conns
    assert "close_wait_leak (1)" in text[findings:conns]
    assert "fin_wait2_peer_not_closing (1)" in text[findings:conns]
    assert "time_wait (" not in text[findings:conns]
    # The server's socket: its timeline, with the time it sat in CLOSE_WAIT.
    row = re.search(r"\+[\d.]+ \S+ +CLOSE_WAIT +([\d.]+) (ms|s) +"
                    r"ESTABLISHED -> CLOSE_WAIT", text)
    assert row, text
    assert float(row.group(1)) >= (0.5 if row.group(2) == "s" else 500)
    assert "CLOSE_WAIT -> LAST_ACK" in text
    assert "=> close_wait_leak: " in text
    # The client: TIME_WAIT reconstructed, still there when tracing ended.
    assert "FIN_WAIT2 -> TIME_WAIT (reconstructed)" in text
    assert "still open when tracing ended" in text
    # The application's calls, traced and from the scenario's log.
    assert "close() = 0" in text and "client: connect(" in text
    assert "harness: kill(SIGKILL server" in text


def test_markdown_report(leak):
    md = leak["md"]
    assert md.startswith("# tcpwatch report\n")
    assert md.index("## Findings") < md.index("## Connections")
    assert "### close_wait_leak (1)" in md
    assert re.search(r"^\| [\d:.]+ \| \+[^|]+ \| CLOSE_WAIT \| [^|]+ \| "
                     r"\*\*ESTABLISHED -> CLOSE\\_WAIT\*\* \|$", md, re.M), md
    assert "- **close_wait_leak**: " in md


def test_json_report(leak):
    r = json.loads(leak["json"])
    s = r["summary"]
    assert r["target"] == "scenario close-wait-leak"
    assert s["connections"] == 3 and s["lost"] == 0
    assert s["by_code"] == {"close_wait_leak": 1, "fin_wait2_peer_not_closing": 1,
                            "time_wait": 1}
    assert r["scenarios"] == [{"name": "close-wait-leak", "ended": True, "status": 0,
                               "as_expected": True, "events": s["events"],
                               "lost": 0}]
    assert {f["code"] for f in r["findings"]} == {"close_wait_leak",
                                                  "fin_wait2_peer_not_closing"}
    assert all(f["trouble"] and f["section"] for f in r["findings"])
    by_role = {c["role"]: c for c in r["connections"]}
    server, client = by_role["passive"], by_role["active"]
    assert [st["state"] for st in server["states"]] == [
        "SYN_RECV", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK", "CLOSE"]
    assert server["states"][2]["ns"] >= 500_000_000
    assert server["codes"] == ["close_wait_leak"]
    assert [x["code"] for x in server["explanations"]] == ["close_wait_leak"]
    assert server["final_state"] == "CLOSE" and not server["open_at_end"]
    assert client["final_state"] == "TIME_WAIT" and client["open_at_end"]
    assert client["states"][-1]["open_at_end"]
    calls = [e for e in client["events"] if e["kind"] == "call"]
    assert [e["call"] for e in calls] == ["connect", "close"]
    actions = [e for e in client["events"] if e["kind"] == "action"]
    assert {a["call"] for a in actions} >= {"socket", "connect", "close"}
    assert [a["call"] for a in r["other_actions"]] == ["kill"]
    assert by_role["listener"]["group"].startswith("listening on 127.0.0.1:")


def test_json_report_resets(tmp_path):
    text, _ = scenario_report(tmp_path, "close-unread-rst", "json")
    r = json.loads(text)
    assert {f["code"] for f in r["findings"]} == {"rst_close_with_unread_data",
                                                  "peer_reset"}
    events = [e for c in r["connections"] for e in c["events"]]
    rst = [e for e in events if e["kind"] == "rst_sent"]
    assert [e["reason"] for e in rst] == ["TCP_ABORT_ON_CLOSE"]
    assert "RST sent (TCP_ABORT_ON_CLOSE)" == rst[0]["what"]
    assert [e["errno"] for e in events if e["kind"] == "error"] == ["ECONNRESET"]
    assert [e for e in events if e["kind"] == "rst_received"]


def test_report_counts_each_connections_retransmissions(tmp_path):
    """A connection's retransmitted segments, as the kernel counted them (and
    how many of them came with no event), in its header in every format."""
    rec = tmp_path / "rec.jsonl"
    text, _ = scenario_report(tmp_path, "data-retrans-timeout", "json", "--record", str(rec))
    client = [c for c in json.loads(text)["connections"] if c["role"] == "active"]
    assert len(client) == 1, client
    n, unseen = client[0]["retransmits"], client[0]["retransmits_unseen"]
    rows = [e for e in client[0]["events"] if e["kind"] == "retransmit"]
    assert n >= 3 and n - unseen == len(rows), (n, unseen, rows)
    words = "%d retransmissions" % n + (" (%d without an event)" % unseen if unseen else "")
    for ext in ("txt", "md", "html"):
        out = tmp_path / ("again." + ext)
        p = subprocess.run([TCPWATCH, "report", str(rec), "-o", "/dev/null",
                            "--report", str(out)], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert words in out.read_text(), ext


def test_state_held_at_the_end_with_no_time_in_it(tmp_path):
    """A state entered as tracing ended has spent no time in it: its "in
    state" column is ">" alone (it had printed whatever bytes followed)."""
    rec = tmp_path / "rec.jsonl"
    write_synthetic(rec, [(1, ("10.0.0.1", 1024), ("10.0.0.2", 443), 7, 2)])
    out = tmp_path / "r.txt"
    p = subprocess.run([TCPWATCH, "report", str(rec), "-o", "/dev/null", "--report",
                        str(out)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    rows = [l for l in out.read_bytes().decode().splitlines() if "CLOSE -> SYN_SENT" in l]
    assert len(rows) == 1 and re.search(r"SYN_SENT +> +CLOSE -> SYN_SENT$", rows[0]), rows


def test_format_option_over_extension(tmp_path):
    text, _ = scenario_report(tmp_path, "connect-refused", "data", "--format", "md")
    assert text.startswith("# tcpwatch report\n")
    assert "### rst_no_listener (1)" in text
    assert "RST sent (NO\\_SOCKET)" in text


def test_live_trace_report_on_sigint(peers, trace, tmp_path):
    path = tmp_path / "live.json"
    t, port, cport, server, client, *_ = pair(
        peers, trace, "close-unread", "expect-reset", "--report", str(path))
    assert "Report written to %s" % path in t.stderr
    r = json.loads(path.read_text())
    assert r["target"] == "pid %d, %d and the children they fork" % (server.pid,
                                                                     client.pid)
    conns = {(c["sport"], c["role"]): c for c in r["connections"]}
    accepted = conns[(port, "passive")]
    assert accepted["pid"] == server.pid
    assert "rst_close_with_unread_data" in accepted["codes"]
    assert any(e["kind"] == "rst_sent" and e["reason"] == "TCP_ABORT_ON_CLOSE"
               for e in accepted["events"])
    assert conns[(cport, "active")]["pid"] == client.pid
    # What the JSON Lines stream said is what the report says.
    assert r["summary"]["events"] == t.summary()["events"]


def test_duration_ends_with_a_report(tmp_path):
    path = tmp_path / "quiet.txt"
    rc, out, err = run_tcpwatch("--duration", "0.5", "--port", "9",
                                "--report", str(path))
    assert rc == 0, err
    text = path.read_text()
    assert "Connections   0" in text and "No connection was traced." in text


@pytest.mark.parametrize("args, message", [
    (["--report", "r.pdf"], "tcpwatch: no report format for 'r.pdf': name it "
                            ".txt, .md, .html or .json, or pass --format"),
    (["--report", "r"], "tcpwatch: no report format for 'r'"),
    (["--report", "r.txt", "--format", "pdf"],
     "tcpwatch: invalid report format 'pdf': expected text, md, html or json"),
    (["--format", "md"], "tcpwatch: --format needs --report"),
])
def test_bad_report_options(args, message):
    rc, out, err = run_tcpwatch(*args)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), err


@pytest.mark.parametrize("where, reason", [
    ("missing/r.html", "No such file or directory"),
    ("d.html/", "Is a directory"),
    ("d.html", "Is a directory"),
])
def test_unwritable_report_is_refused_before_tracing(tmp_path, where, reason):
    path = str(tmp_path / where) + ("/" if where.endswith("/") else "")
    (tmp_path / "d.html").mkdir()
    rc, out, err = run_tcpwatch("--duration", "5", "--report", path, timeout=5)
    assert rc == (2 if where.endswith("/") else 1), err
    if rc == 1:
        assert err.strip() == "tcpwatch: cannot write %s: %s" % (path, reason)
    assert os.listdir(tmp_path) == ["d.html"] and not os.listdir(tmp_path / "d.html")


def test_read_only_directory_refused_before_tracing(tmp_path):
    """As a user who may not write there (checked before the capabilities)."""
    d = tmp_path / "ro"
    d.mkdir(mode=0o555)
    rc, _, err = run_tcpwatch("--report", str(d / "r.txt"), user=65534)
    assert rc == 1
    assert err.strip() == "tcpwatch: cannot write %s: Permission denied" % (
        d / "r.txt")


def test_written_through_a_rename(tmp_path):
    """The report replaces the path in one rename: a link to the file that
    was there keeps the old content (a write in place would change it), and
    no temporary file is left behind."""
    path = tmp_path / "report.txt"
    path.write_text("old report\n")
    os.link(path, tmp_path / "old-link")
    scenario_report(tmp_path, "normal-close", "txt")
    assert (tmp_path / "old-link").read_text() == "old report\n"
    assert path.read_text().startswith("tcpwatch report\n")
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~current_umask())
    assert sorted(os.listdir(tmp_path)) == ["old-link", "report.txt"]


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_killed_run_leaves_no_report(tmp_path):
    """Killed while tracing: neither a report nor a partial one."""
    path = tmp_path / "r.html"
    p = subprocess.Popen([TCPWATCH, "--report", str(path)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        line = b""
        while b"Tracing" not in line and time.monotonic() < deadline:
            line = p.stderr.readline()
        assert b"Tracing" in line
        p.send_signal(signal.SIGKILL)
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert os.listdir(tmp_path) == []


def hostile_report(peers, trace, tmp_path, ext, name=HOSTILE):
    server = peers("server", "normal", env={"TW_COMM": name})
    client = peers("client", "normal")
    path = tmp_path / ("hostile." + ext)
    t = trace(*pid_args(server), "--report", str(path))
    server.go()
    client.go(server.port())
    client.result()
    server.result()
    t.stop()
    assert t.rc == 0, t.stderr
    return path.read_bytes()


def test_hostile_process_name_in_markdown(peers, trace, tmp_path):
    md = hostile_report(peers, trace, tmp_path, "md")
    assert b"\x1b" not in md
    assert b"<b>" not in md
    # Escaped: no HTML, no table cell break, no emphasis, no code span.
    assert b"&lt;b>?\\[2J\"x\\\\\\|\\*\\_\\`" in md
    # Every table row still has its five cells.
    for line in md.decode().splitlines():
        if line.startswith("| ") and "---" not in line and line.count(" | ") > 1:
            cells = re.split(r"(?<!\\)\|", line)[1:-1]
            assert len(cells) in (2, 4, 5), line


def test_hostile_process_name_in_text(peers, trace, tmp_path):
    text = hostile_report(peers, trace, tmp_path, "txt")
    assert b"\x1b" not in text
    assert b"<b>?[2J\"x\\|*_`" in text
