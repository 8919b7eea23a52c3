"""Text output stays readable; strings from the traced system stay escaped."""
from conftest import pair

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
