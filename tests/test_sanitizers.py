"""tcpwatch built with AddressSanitizer and UndefinedBehaviorSanitizer
(make build/asan/tcpwatch), run against the real kernel: the event decoder,
the timelines, the explanation rules, scenario merging and the outputs must
give no finding, and leak nothing (LeakSanitizer runs at exit). And built
with ThreadSanitizer (build/tsan/tcpwatch) for tcpwatch report, the one part
with a thread of its own."""
import os
import subprocess

import pytest

from conftest import ROOT, TCPWATCH, pair, synthetic

ASAN = os.path.join(ROOT, "build", "asan", "tcpwatch")
TSAN = os.path.join(ROOT, "build", "tsan", "tcpwatch")
ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
           UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
FINDINGS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def clean(stderr):
    for f in FINDINGS:
        assert f not in stderr, stderr


@pytest.fixture(autouse=True)
def need_build():
    for build in (ASAN, TSAN):
        if not os.path.exists(build):
            pytest.fail("%s is missing: run make test (it builds it)"
                        % os.path.relpath(build, ROOT))


@pytest.mark.parametrize("name", ["normal-close", "write-after-peer-close",
                                  "close-wait-leak", "time-wait-bind",
                                  "connect-refused"])
@pytest.mark.parametrize("fmt", ["--json", None])
def test_scenarios_under_sanitizers(name, fmt):
    args = [ASAN, "--scenario", name, "--stuck", "0.5"] + ([fmt] if fmt else [])
    p = subprocess.run(args, capture_output=True, text=True, env=ENV, timeout=120)
    clean(p.stderr)
    assert p.returncode == 0, p.stderr
    assert "the application saw what the scenario expects" in p.stderr


def test_live_tracing_under_sanitizers(peers, trace, monkeypatch):
    monkeypatch.setattr("conftest.TCPWATCH", ASAN)
    monkeypatch.setenv("ASAN_OPTIONS", ENV["ASAN_OPTIONS"])
    monkeypatch.setenv("UBSAN_OPTIONS", ENV["UBSAN_OPTIONS"])
    t, *_ = pair(peers, trace, "close-unread", "expect-reset", "--stuck", "1")
    clean(t.stderr)
    assert t.of_type("rst_sent") and t.codes()


@pytest.mark.parametrize("args", [["--pid", "abc"], ["--port", "0"],
                                  ["--btf", "/nonexistent"], ["--help"]])
def test_bad_input_under_sanitizers(args):
    p = subprocess.run([ASAN] + args, capture_output=True, text=True, env=ENV,
                       timeout=60)
    clean(p.stderr)
    assert p.returncode in (0, 1, 2)


@pytest.mark.parametrize("ext", ["txt", "md", "html", "json"])
def test_report_of_empty_recording_under_sanitizers(tmp_path, ext):
    """A recording with no connection: every report format, no finding."""
    rec = tmp_path / "empty.jsonl"
    p = subprocess.run([ASAN, "--record", str(rec), "--duration", "0.2", "--port", "1",
                        "-o", os.devnull], capture_output=True, text=True, env=ENV,
                       timeout=60)
    clean(p.stderr)
    assert p.returncode == 0, p.stderr
    out = tmp_path / ("report." + ext)
    p = subprocess.run([ASAN, "report", str(rec), "--report", str(out), "-o", os.devnull],
                       capture_output=True, text=True, env=ENV, timeout=60)
    clean(p.stderr)
    assert p.returncode == 0, p.stderr
    assert out.stat().st_size > 0


@pytest.mark.parametrize("args", [["--json"], ["--report", "r.html", "-o", os.devnull]])
def test_report_reader_thread_under_thread_sanitizer(tmp_path, args):
    """The reader thread and the analyzer share the ring of parsed lines: a
    recording that goes round it many times, with a bad line and more
    sock_diag answers after one record than it holds, gives no data race and
    the same output as the plain build."""
    rec = tmp_path / "rec.jsonl"
    synthetic(rec, 2000, closed=True)
    lines = rec.read_text().splitlines(keepends=True)
    answer = ('{"type":"diag","query":"lookup","netns":1,"family":2,"saddr":"10.0.0.9",'
              '"sport":9,"daddr":"10.0.0.8","dport":8,"ret":0,"state":1,"expires_ms":0,'
              '"rqueue":0,"wqueue":0,"inode":0,"timer":0}\n')
    lines[500:500] = [answer] * 600 + ["not json\n"]
    rec.write_text("".join(lines))
    runs = []
    for build, where in ((TSAN, "tsan"), (TCPWATCH, "plain")):
        out = tmp_path / where
        out.mkdir()
        runs.append(subprocess.run([build, "report", str(rec)] + args, cwd=out,
                                   capture_output=True, timeout=300,
                                   env=dict(os.environ, TSAN_OPTIONS="halt_on_error=1")))
    tsan, plain = runs
    assert b"ThreadSanitizer" not in tsan.stderr, tsan.stderr.decode()
    assert tsan.returncode == plain.returncode == 3, tsan.stderr.decode()
    assert tsan.stdout == plain.stdout
    if "--report" in args:
        assert (tmp_path / "tsan" / "r.html").read_bytes() == \
            (tmp_path / "plain" / "r.html").read_bytes()
    else:
        assert tsan.stdout.count(b'"type":"state"') >= 2000 * 5
