"""--pid attributes events to the socket's owner and filters others out in the kernel."""
from conftest import pair, pid_args


def test_passive_side_carries_the_owner(peers, trace):
    t, port, cport, server, client, *_ = pair(peers, trace, "normal", "normal",
                                              traced="server")
    server_events = t.conn(port)
    assert server_events, "the kernel produced no event for the server"
    assert all(e["pid"] == server.pid for e in server_events)
    # On loopback the server's SYN_RECV, ESTABLISHED and CLOSE_WAIT run in
    # the client's context: the on-CPU task is not the owner. (Each only
    # usually: a segment that finds the server's socket locked, the server
    # in recv(), waits in its backlog and is processed in the server's
    # context; CI saw CLOSE_WAIT come so once.)
    foreign = [e for e in server_events if e["cpu_pid"] != server.pid]
    assert {e["new"] for e in foreign if e["type"] == "state"} & \
        {"SYN_RECV", "ESTABLISHED", "CLOSE_WAIT"}
    children = [e for e in server_events if e["type"] == "state"
                and e["old"] == "LISTEN" and e["new"] == "SYN_RECV"]
    assert len(children) == 1 and children[0]["owner"] == "listener"
    # Only the server's sockets: the client's own socket is not reported.
    assert not [e for e in t.events if e.get("sport") == cport]


def two_pairs(peers, trace, trace_args):
    """Two independent client/server pairs, A and B; trace_args(A's processes, A's port)."""
    a = [peers("server", "normal"), peers("client", "normal")]
    b = [peers("server", "normal"), peers("client", "normal")]
    a[0].go()
    b[0].go()
    a_port, b_port = a[0].port(), b[0].port()
    t = trace(*trace_args(a, a_port))
    a[1].go(a_port)
    b[1].go(b_port)
    for p in a + b:
        p.result()
    t.stop()
    return t, a, a_port, b_port


def test_other_processes_are_filtered_in_the_kernel(peers, trace):
    t, (a_server, a_client), a_port, b_port = two_pairs(
        peers, trace, lambda a, _: pid_args(*a))
    assert t.rc == 0, t.stderr
    assert t.conn(a_port), "no event of the traced pair"
    assert not t.conn(b_port)
    pids = {e["pid"] for e in t.kernel_events()}
    assert pids == {a_server.pid, a_client.pid}
    assert t.summary()["filtered"] > 0


def test_port_filter(peers, trace):
    t, _, a_port, b_port = two_pairs(peers, trace, lambda _, port: ["--port", str(port)])
    assert t.rc == 0, t.stderr
    assert t.conn(a_port) and not t.conn(b_port)
    assert all(a_port in (e["sport"], e["dport"]) for e in t.kernel_events())


def test_family_filter(peers, trace):
    t4, port4, *_ = pair(peers, trace, "normal", "normal", "-6", traced="both")
    assert not t4.conn(port4), "-6 let an IPv4 connection through"
    t6, port6, *_ = pair(peers, trace, "normal", "normal", "-6", addr="::1")
    assert t6.conn(port6)
    assert all(e["family"] == "AF_INET6" for e in t6.conn(port6))
