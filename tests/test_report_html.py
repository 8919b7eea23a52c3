"""--report FILE.html: one self-contained page (no script, nothing fetched),
rendered in Debian's headless Chromium: the lanes, states and explanations
of a scenario are in it, a hostile process name stays text, and 10,000
connections stay quick. Screenshots are kept in build/test-artifacts/."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import ROOT, TCPWATCH, pid_args

ARTIFACTS = os.path.join(ROOT, "build", "test-artifacts")
CHROMIUM = shutil.which("chromium")
HOSTILE = "<img src=x>"


def chromium(*args, timeout=120):
    """Headless Chromium as root, offline, with a throw-away profile."""
    if not CHROMIUM:
        pytest.skip("chromium is not installed (make deps installs it)")
    profile = tempfile.mkdtemp(prefix="tcpwatch-chromium-")
    try:
        p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                            "--disable-background-networking",
                            "--disable-component-update", "--disable-sync",
                            "--no-first-run", "--user-data-dir=" + profile, *args],
                           capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


def dom(path):
    return chromium("--dump-dom", "file://" + path)


def screenshot(path, png, height=1400):
    if os.path.exists(png):
        os.unlink(png)
    chromium("--window-size=1600,%d" % height, "--screenshot=" + png,
             "file://" + path)
    with open(png, "rb") as f:
        head = f.read(8)
    assert head == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(png) > 20000, "an empty page?"


@pytest.fixture(scope="module")
def leak():
    """close-wait-leak as HTML, kept as a test artefact with its screenshot."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, "report-close-wait-leak.html")
    p = subprocess.run([TCPWATCH, "--scenario", "close-wait-leak", "--stuck", "0.5",
                        "--report", path], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    with open(path, encoding="utf-8") as f:
        return path, f.read()


def test_self_contained(leak):
    _, html = leak
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert "@import" not in html and "url(" not in html
    assert not re.search(r"(src|href)=\"(?!#)", html), "a reference outside the page"
    assert "http://" not in html and "https://" not in html
    assert ("Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'") in html


def test_lanes_states_and_explanations(leak):
    _, html = leak
    lanes = re.findall(r'<summary class="row">', html)
    assert len(lanes) == 3        # listener, accepted socket, client
    # The accepted socket's CLOSE_WAIT bar: full height, most of its lane.
    bar = re.search(r'<rect class="s8" x="[\d.]+" y="1" width="([\d.]+)" '
                    r'height="18"><title>CLOSE_WAIT for ([\d.]+) (ms|s)', html)
    assert bar, "no CLOSE_WAIT bar"
    assert float(bar.group(1)) > 300
    # The client still in TIME_WAIT when tracing ended: dashed outline.
    assert re.search(r'<rect class="s6 open"[^>]*><title>TIME_WAIT for [^<]*'
                     r'\(still in it when tracing ended\)', html)
    # Markers with tooltips: the application's calls.
    assert re.search(r'<rect class="mc"[^>]*><title>[\d:.]+ close\(\) = 0</title>',
                     html)
    # The explanation beside the lane and in the findings.
    assert html.count("has not closed 127.0.0.1:") == 2
    findings = html[html.index('<aside id="findings">'):html.index("</aside>")]
    assert '<span class="code bad">close_wait_leak</span>' in findings
    assert "time_wait" not in findings
    assert '<section id="legend">' in html and ">CLOSE_WAIT</li>" in html


def test_rendered_by_chromium(leak):
    path, _ = leak
    page = dom(path)
    assert page.count('<summary class="row">') == 3
    assert "<title>tcpwatch report: scenario close-wait-leak</title>" in page
    assert "close_wait_leak" in page and 'class="s8"' in page
    png = os.path.join(ARTIFACTS, "report-close-wait-leak.png")
    screenshot(path, png)


def test_hostile_process_name_stays_text(peers, trace, tmp_path):
    server = peers("server", "normal", env={"TW_COMM": HOSTILE})
    client = peers("client", "normal")
    path = str(tmp_path / "hostile.html")
    t = trace(*pid_args(server), "--report", path)
    server.go()
    client.go(server.port())
    client.result()
    server.result()
    t.stop()
    assert t.rc == 0, t.stderr
    with open(path, encoding="utf-8") as f:
        html = f.read()
    assert "<img" not in html
    assert "<b>&lt;img src=x&gt;</b> (pid %d)" % server.pid in html
    page = dom(path)
    assert "<img" not in page, "the process name became an element"
    assert "&lt;img src=x&gt;" in page


@pytest.fixture(scope="module")
def generator():
    """tests/report_gen.c against the objects make built (all but main)."""
    objs = os.path.join(ROOT, "build", "user")
    os.makedirs(ARTIFACTS, exist_ok=True)
    exe = os.path.join(ARTIFACTS, "report_gen")
    cmd = ["gcc", "-g", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter",
           "-D_GNU_SOURCE", "-I" + os.path.join(ROOT, "build"),
           "-I" + os.path.join(ROOT, "bpf"), "-I" + os.path.join(ROOT, "user"),
           os.path.join(ROOT, "tests", "report_gen.c")]
    cmd += sorted(os.path.join(objs, o) for o in os.listdir(objs)
                  if o.endswith(".o") and o != "main.o")
    cmd += ["-lbpf", "-lelf", "-lz", "-lm", "-o", exe]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr

    def run(n, out, formats=None):
        os.makedirs(out, exist_ok=True)
        p = subprocess.run([exe, str(n), out] + ([formats] if formats else []),
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)
    return run


def test_hostile_strings_of_every_kind(generator, tmp_path):
    """Names, explanation texts, scenario actions and the target, all hostile."""
    out = str(tmp_path)
    generator(300, out)
    page = dom(os.path.join(out, "gen.html"))
    assert "pwned" not in page[:page.index("</title>")], "a script ran"
    for element in ("<script", "<img", "<svg/onload", "<i>generated", "<b>not"):
        assert element not in page, element
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in page
    assert "&lt;svg/onload=x&gt;" in page
    with open(os.path.join(out, "gen.md"), encoding="utf-8") as f:
        md = f.read()
    assert "<script" not in md and "<img" not in md and "a\\|b\\*c\\_d\\`e" in md
    with open(os.path.join(out, "gen.json"), encoding="utf-8") as f:
        r = json.load(f)
    assert {c["comm"] for c in r["connections"]} >= {"<svg/onload=x>", "<img src=x>"}
    assert r["other_actions"][0]["role"] == "<script>alert(1)</script>"


def test_ten_thousand_connections(generator, tmp_path):
    out = str(tmp_path)
    times = generator(10000, out)
    html = os.path.join(out, "gen.html")
    size = os.path.getsize(html)
    # Measured: 0.2 s a format, and 24 MB (about 2.4 KB a connection,
    # timelines included).
    assert all(t < 5 for t in times.values()), times
    assert size < 40 * 1024 * 1024, size
    with open(html, encoding="utf-8") as f:
        page = f.read()
    assert page.count('<summary class="row">') == 10000
    # Each group shows its first lanes; the rest are folded.
    assert page.count('<details class="more"><summary>') > 0
    with open(os.path.join(out, "gen.json"), encoding="utf-8") as f:
        r = json.load(f)
    assert r["summary"]["connections"] == 10000 == len(r["connections"])
    assert r["summary"]["not_kept"]["connections"] == 0
    start = time.monotonic()
    screenshot(html, os.path.join(ARTIFACTS, "report-10000.png"))
    assert time.monotonic() - start < 60, "Chromium took too long to render it"


def test_past_the_limits(generator, tmp_path):
    """Past its limits the report counts what it does not keep, and says so."""
    generator(21000, str(tmp_path), "json,txt")
    r = json.loads((tmp_path / "gen.json").read_text())
    s = r["summary"]
    limits = s["limits"]
    assert s["connections"] == 21000
    assert len(r["connections"]) == limits["connections"] == 20000
    assert s["not_kept"]["connections"] == 1000
    # The first connection's 300 retransmissions: the first ones are kept,
    # and its state timeline whole.
    first = next(c for c in r["connections"] if c["conn"] == 1)
    assert 250 < len(first["events"]) <= limits["events_per_connection"]
    assert first["events_not_kept"] == s["not_kept"]["events"] > 0
    assert [st["state"] for st in first["states"]][-1] == "TIME_WAIT"
    assert sum(s["by_code"].values()) == 36750   # every explanation counted
    text = (tmp_path / "gen.txt").read_text()
    assert re.search(r"Not kept +1000 connection sections \(past 20000\), "
                     r"\d+ events \(past 256 per connection", text)
    assert re.search(r"\(\d+ more events not kept\)", text)
