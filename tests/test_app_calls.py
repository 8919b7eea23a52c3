"""--pid also reports the traced processes' own socket calls, on their sockets' timelines."""
import json

import pytest

from conftest import bpf_objects, pair, pid_args, run_tcpwatch, sockets_of


def calls(t, pid):
    return [e for e in t.of_type("call") if e["pid"] == pid]


def brief(events):
    return [(e["call"], e["ret"], e["errno"]) for e in events]


@pytest.mark.parametrize("addr", ["127.0.0.1", "::1"])
def test_connect_and_close_join_the_clients_socket(peers, trace, addr):
    t, port, cport, _, client, *_ = pair(peers, trace, "normal", "normal",
                                         addr=addr, traced="client")
    mine = calls(t, client.pid)
    # The write succeeded: only failed writes are reported.
    assert brief(mine) == [("connect", 0, None), ("close", 0, None)]
    sks = sockets_of(t.events, cport)
    assert len(sks) == 1 and {e["sk"] for e in mine} == sks
    assert all(e["sport"] == cport and e["dport"] == port and e["saddr"] == addr
               for e in mine)
    assert mine[0]["fd"] == mine[1]["fd"] >= 0
    assert mine[0]["owner"] == "connect" and mine[0]["state"] == "ESTABLISHED"
    # Stamped at syscall entry: before the transitions each call causes.
    states = [e for e in t.of_type("state") if e["sk"] in sks]
    syn_sent = next(e for e in states if e["new"] == "SYN_SENT")
    fin_wait1 = next(e for e in states if e["new"] == "FIN_WAIT1")
    assert mine[0]["ts_ns"] < syn_sent["ts_ns"]
    assert mine[1]["ts_ns"] < fin_wait1["ts_ns"] and mine[1]["state"] == "ESTABLISHED"


def test_classic_syscall_tracepoints_give_the_same_calls(peers, trace):
    """With --classic the calls come from the per-syscall tracepoints (with
    tp_btf, from the raw sys_enter/sys_exit ones): the same events."""
    t, port, cport, _, client, *_ = pair(peers, trace, "normal", "normal", "--classic",
                                         traced="client")
    assert "classic tracepoints" in t.stderr
    mine = calls(t, client.pid)
    assert brief(mine) == [("connect", 0, None), ("close", 0, None)]
    assert {e["sk"] for e in mine} == sockets_of(t.events, cport)
    assert all(e["sport"] == cport and e["dport"] == port for e in mine)


def test_accept_carries_the_child_socket_and_the_acceptor(peers, trace):
    t, port, cport, server, *_ = pair(peers, trace, "normal", "normal",
                                      traced="server")
    mine = calls(t, server.pid)
    assert [e["call"] for e in mine] == ["bind", "listen", "accept", "read",
                                         "close", "close"]
    bind, listen, accept, eof, close_child, close_listener = mine
    assert all(e["ret"] == 0 and e["errno"] is None for e in mine if e is not accept)
    child = [e for e in t.of_type("state")
             if e["old"] == "LISTEN" and e["new"] == "SYN_RECV"]
    assert len(child) == 1 and accept["sk"] == child[0]["sk"]
    assert accept["owner"] == "accept" and accept["ret"] == accept["fd"] >= 0
    assert accept["listen_fd"] == listen["fd"]
    assert (accept["sport"], accept["dport"]) == (port, cport)
    assert eof["sk"] == close_child["sk"] == accept["sk"]
    assert bind["sk"] == listen["sk"] == close_listener["sk"] != accept["sk"]
    assert bind["port"] == 0 and bind["sport"] == port
    assert listen["backlog"] == 16 and listen["state"] == "LISTEN"
    assert close_listener["state"] == "LISTEN"


def test_untraced_processes_make_no_call_events(peers, trace):
    t, _, _, server, *_ = pair(peers, trace, "normal", "normal", traced="server")
    assert calls(t, server.pid), "no call event for the traced server"
    assert {e["pid"] for e in t.of_type("call")} == {server.pid}
    # Whole-host mode does not load the call programs at all.
    t, port, *_ = pair(peers, trace, "normal", "normal", traced="none")
    assert t.conn(port), "no kernel event in whole-host mode"
    assert not t.of_type("call")


def test_write_after_peer_close_fails_with_epipe_then_reads_eof(peers, trace):
    t, port, cport, _, client, _, seen = pair(peers, trace, "close-early",
                                              "write-twice", traced="client")
    assert seen["writes"][1] == "EPIPE" and seen["read"] == 0
    mine = calls(t, client.pid)
    # The first write succeeded (the peer's timewait socket answered with
    # an RST); the second fails; then the read sees the FIN: EOF.
    assert brief(mine) == [("connect", 0, None), ("write", -1, "EPIPE"),
                           ("read", 0, None), ("close", 0, None)]
    sks = sockets_of(t.events, cport)
    assert {e["sk"] for e in mine} == sks
    errors = [e for e in t.of_type("error") if e["sk"] in sks]
    assert [e["errno"] for e in errors] == ["EPIPE"]
    assert errors[0]["ts_ns"] < mine[1]["ts_ns"]
    assert mine[1]["state"] == mine[2]["state"] == "CLOSE"


def test_socket_options_bind_and_shutdown(peers, trace):
    t, port, cport, _, client, _, seen = pair(peers, trace, "normal", "options",
                                              traced="client")
    assert seen["bind_errno"] == "EADDRINUSE" and seen["read_eof"]
    mine = calls(t, client.pid)
    assert [e["call"] for e in mine] == [
        "connect", "setsockopt", "bind", "close"] + ["setsockopt"] * 7 + [
        "shutdown", "read", "close"]
    # A second socket asked for the listening port.
    reuse, bind, close_b = mine[1:4]
    assert (reuse["option"], reuse["value"]) == ("SO_REUSEADDR", 1)
    assert (bind["port"], bind["ret"], bind["errno"]) == (port, -1, "EADDRINUSE")
    assert reuse["sk"] == bind["sk"] == close_b["sk"]
    # The connected socket's options, flat; TCP_NODELAY is not reported.
    opts = [(e["level"], e["option"], e["value"], e.get("onoff")) for e in mine[4:11]]
    assert opts == [
        ("SOL_SOCKET", "SO_KEEPALIVE", 1, None),
        ("IPPROTO_TCP", "TCP_KEEPIDLE", 7, None),
        ("IPPROTO_TCP", "TCP_KEEPINTVL", 3, None),
        ("IPPROTO_TCP", "TCP_KEEPCNT", 4, None),
        ("IPPROTO_TCP", "TCP_USER_TIMEOUT", 5000, None),
        ("SOL_SOCKET", "SO_LINGER", None, False),
        ("SOL_SOCKET", "SO_LINGER", 0, True),
    ]
    shutdown = mine[11]
    assert (shutdown["how"], shutdown["ret"]) == ("SHUT_WR", 0)
    sks = sockets_of(t.events, cport)
    assert {e["sk"] for e in mine if e["sk"] != bind["sk"]} == sks
    # The FIN shutdown(SHUT_WR) sends comes after the call.
    fin_wait1 = [e for e in t.of_type("state") if e["sk"] in sks and e["new"] == "FIN_WAIT1"]
    assert len(fin_wait1) == 1 and shutdown["ts_ns"] < fin_wait1[0]["ts_ns"]


def test_text_output_reads_like_the_calls(peers, trace):
    t, *_ = pair(peers, trace, "close-early", "write-twice", traced="client",
                 json_output=False)
    out = t.stdout.decode()
    for call in ("connect() = 0", "write() = -1 EPIPE", "read() = 0 (EOF)",
                 "close() = 0"):
        assert call in out, out
    t, port, *_ = pair(peers, trace, "normal", "options", traced="client",
                       json_output=False)
    out = t.stdout.decode()
    for call in ("setsockopt(SO_LINGER {1,0}) = 0", "setsockopt(SO_LINGER off) = 0",
                 "setsockopt(TCP_USER_TIMEOUT 5000) = 0", "shutdown(SHUT_WR) = 0",
                 "bind(%d) = -1 EADDRINUSE" % port):
        assert call in out, out


def test_prefork_worker_owns_what_it_accepts(peers, trace):
    parent = peers("prefork")
    client = peers("client", "write-twice")
    t = trace(*pid_args(parent))
    parent.go()
    port = parent.port()
    client.go(port)
    cport = client.result()["local_port"]
    worker = parent.result()["worker"]
    t.stop()
    assert t.rc == 0, t.stderr
    accept = [e for e in t.of_type("call") if e["call"] == "accept"]
    assert len(accept) == 1 and accept[0]["pid"] == worker
    child = accept[0]["sk"]
    assert (accept[0]["sport"], accept[0]["dport"]) == (port, cport)
    states = [e for e in t.of_type("state") if e["sk"] == child]
    # Built by the kernel before any accept: the listener's owner, the parent.
    assert (states[0]["old"], states[0]["new"]) == ("LISTEN", "SYN_RECV")
    assert states[0]["pid"] == parent.pid and states[0]["owner"] == "listener"
    # From accept() on, the child is the worker's.
    close = [e for e in calls(t, worker) if e["call"] == "close"]
    assert len(close) == 1 and close[0]["sk"] == child
    after = [e for e in t.kernel_events()
             if e["sk"] == child and e["ts_ns"] > close[0]["ts_ns"]]
    assert after and all(e["pid"] == worker for e in after)
    assert all(e["owner"] == "accept" for e in after if e["type"] != "call")


def test_port_and_family_filters_apply_to_calls(peers, trace):
    a = [peers("server", "normal"), peers("client", "normal")]
    b = [peers("server", "normal"), peers("client", "normal")]
    a[0].go()
    b[0].go()
    a_port, b_port = a[0].port(), b[0].port()
    t = trace(*pid_args(*a, *b), "--port", str(a_port))
    a[1].go(a_port)
    b[1].go(b_port)
    for p in a + b:
        p.result()
    t.stop()
    assert t.rc == 0, t.stderr
    got = t.of_type("call")
    # The servers were in accept() before tracing began: an exit without
    # its entry is not reported.
    assert {e["call"] for e in got} == {"connect", "read", "close"}
    assert all(a_port in (e["sport"], e["dport"]) for e in got)
    t, *_ = pair(peers, trace, "normal", "normal", "-6", traced="both")
    assert not t.of_type("call")


@pytest.mark.parametrize("no_calls", [False, True])
def test_no_calls_keeps_the_kernel_events_and_their_owner(peers, trace, tmp_path,
                                                          no_calls):
    """--no-calls loads no syscall program (they would slow every syscall of
    every process): the kernel's events of the traced socket still come,
    attributed to their owner, and the recording and its report say what was
    left out."""
    rec = tmp_path / "rec.jsonl"
    server = peers("server", "normal")
    client = peers("client", "normal")
    t = trace(*pid_args(client), "--record", str(rec),
              *(["--no-calls"] if no_calls else []))
    progs = {p["name"] for p in bpf_objects(t.proc.pid, "prog")}
    server.go()
    port = server.port()
    client.go(port)
    cport = client.result()["local_port"]
    server.result()
    t.stop()
    assert t.rc == 0, t.stderr
    syscall_progs = {p for p in progs if "sys_" in p}
    sks = sockets_of(t.events, cport)
    states = [e for e in t.of_type("state") if e["sk"] in sks]
    assert [e["new"] for e in states][:2] == ["SYN_SENT", "ESTABLISHED"]
    assert all(e["pid"] == client.pid for e in states)
    assert states[0]["owner"] == "connect"
    header = json.loads(rec.read_text().splitlines()[0])
    rc, _, err = run_tcpwatch("report", str(rec), "--report", str(tmp_path / "r.txt"))
    assert rc == 0, err
    out = (tmp_path / "r.txt").read_text()
    if no_calls:
        assert not syscall_progs, progs
        assert not t.of_type("call")
        assert "socket calls not traced" in t.stderr
        assert header["calls"] is False
        assert "; socket calls not traced (--no-calls)" in out
    else:
        assert syscall_progs, progs
        assert brief(calls(t, client.pid)) == [("connect", 0, None), ("close", 0, None)]
        assert header["calls"] is True
        assert "--no-calls" not in out
