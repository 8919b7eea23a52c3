"""Resets and the errors they cause, with the kernel's reset reasons."""
import socket

from conftest import pid_args, transitions


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_refused_connect(peers, trace):
    client = peers("client", "normal")
    t = trace(*pid_args(client))
    port = closed_port()
    client.go(port)
    assert client.result()["connect_errno"] == "ECONNREFUSED"
    t.stop()
    assert t.rc == 0, t.stderr
    conn = t.conn(port)
    kinds = [e["type"] for e in conn]
    # The RST is sent with no socket, in reply to the SYN; on loopback it
    # is sent before the client processes it.
    assert kinds.index("rst_sent") < kinds.index("rst_recv")
    rst = t.of_type("rst_sent")
    assert len(rst) == 1
    assert rst[0]["reason"] == "NO_SOCKET" and rst[0]["no_socket"] is True
    assert rst[0]["sport"] == port
    # Attributed to the process it was addressed to, though no socket sent it.
    assert rst[0]["pid"] == client.pid
    recv = t.of_type("rst_recv")
    assert len(recv) == 1 and recv[0]["state"] == "SYN_SENT"
    err = t.of_type("error")
    assert [e["errno"] for e in err] == ["ECONNREFUSED"]
    assert err[0]["pid"] == client.pid
    cport = rst[0]["dport"]
    assert transitions(t.events, cport) == [("CLOSE", "SYN_SENT"),
                                             ("SYN_SENT", "CLOSE")]


def test_close_with_unread_data(peers, trace):
    server = peers("server", "close-unread")
    client = peers("client", "expect-reset")
    t = trace(*pid_args(server, client))
    server.go()
    port = server.port()
    client.go(port)
    c = client.result()
    server.result()
    t.stop()
    assert t.rc == 0, t.stderr
    assert c["recv_errno"] == "ECONNRESET"
    cport = c["local_port"]
    rst = t.of_type("rst_sent")
    assert len(rst) == 1
    assert rst[0]["reason"] == "TCP_ABORT_ON_CLOSE"
    assert rst[0]["sport"] == port and rst[0]["dport"] == cport
    assert rst[0]["pid"] == server.pid
    # No FIN: the closer goes straight from ESTABLISHED to CLOSE.
    child = [tr for tr in transitions(t.events, port)
             if tr not in (("CLOSE", "LISTEN"), ("LISTEN", "CLOSE"))]
    assert child == [("LISTEN", "SYN_RECV"), ("SYN_RECV", "ESTABLISHED"),
                     ("ESTABLISHED", "CLOSE")]
    assert transitions(t.events, cport) == [
        ("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"), ("ESTABLISHED", "CLOSE")]
    recv = [e for e in t.of_type("rst_recv") if e["sport"] == cport]
    assert len(recv) == 1 and recv[0]["pid"] == client.pid
    assert recv[0]["state"] == "ESTABLISHED"
    err = t.of_type("error")
    assert [(e["errno"], e["sport"], e["pid"]) for e in err] == [
        ("ECONNRESET", cport, client.pid)]
