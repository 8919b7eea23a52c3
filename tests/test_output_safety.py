"""Text output stays readable; strings from the traced system stay escaped."""
import json

from conftest import pair, run_tcpwatch

HOSTILE = "<b>\x1b[2J\"x\\"


def test_text_lines_fit_and_say_what_happened(peers, trace):
    t, port, cport, *_ = pair(peers, trace, "close-unread", "expect-reset",
                              json_output=False)
    out = t.stdout.decode()
    lines = out.splitlines()
    assert lines[0].split() == ["TIME", "PID", "COMM", "LOCAL", "REMOTE", "EVENT"]
    assert all(len(l) < 100 for l in lines), max(lines, key=len)
    assert any("127.0.0.1:%d" % port in l and "RST sent (TCP_ABORT_ON_CLOSE)" in l
               for l in lines)
    assert any("127.0.0.1:%d" % cport in l and "error ECONNRESET" in l for l in lines)
    assert any("ESTABLISHED -> CLOSE" in l for l in lines)
    assert "Tracing TCP connections of pid" in t.stderr


def hostile_pair(peers, trace, json_output):
    server = peers("server", "normal", env={"TW_COMM": HOSTILE})
    client = peers("client", "normal")
    t = trace("--pid", str(server.pid), json_output=json_output)
    server.go()
    client.go(server.port())
    client.result()
    server.result()
    t.stop()
    assert t.rc == 0, t.stderr
    return t


def test_hostile_process_name_in_json(peers, trace):
    t = hostile_pair(peers, trace, True)
    assert t.of_type("state")
    assert all(e["comm"] == HOSTILE for e in t.of_type("state"))
    for raw in (b"<b>", b"\x1b", b">"):
        assert raw not in t.stdout
    assert b"\\u003cb\\u003e\\u001b[2J\\\"x\\\\" in t.stdout


def test_hostile_process_name_in_text(peers, trace):
    t = hostile_pair(peers, trace, False)
    assert b"\x1b" not in t.stdout
    assert "<b>?[2J\"x\\" in t.stdout.decode()


def escaped(s):
    """What tcpwatch writes between the quotes for s (valid UTF-8 stays)."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\n\t":
            out.append(json.dumps(ch)[1:-1])
        elif ord(ch) < 0x20 or ch == "\x7f" or ch in "<>&":
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out).encode()


def test_long_hostile_string_in_json(tmp_path):
    """Long strings are judged sixteen bytes at a time: every character
    that needs escaping, at every offset, in an action's argument."""
    rec = tmp_path / "rec.jsonl"
    rc, _, err = run_tcpwatch("--scenario", "connect-refused", "--record", str(rec),
                              timeout=300)
    assert rc == 0, err
    kinds = '"\\<>&\n\t\x01\x1b\x7f\u00e9\u20ac\U0001f600'
    hostile = "".join("a" * (i % 17) + k for i, k in enumerate(kinds * 2))
    lines = rec.read_text().splitlines()
    at = next(i for i, l in enumerate(lines) if json.loads(l)["type"] == "action")
    lines[at] = json.dumps(dict(json.loads(lines[at]), arg=hostile))
    rec.write_text("\n".join(lines) + "\n")
    rc, out, err = run_tcpwatch("report", str(rec), "--json")
    assert rc == 0, err
    action = next(l for l in out.encode().splitlines() if b'"type":"action"' in l)
    assert b',"arg":"' + escaped(hostile) + b'"' in action
