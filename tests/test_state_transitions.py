"""A loopback connection closed by the client first: the exact transitions of both sides."""
from conftest import pair, transitions

CLIENT_SIDE = [
    ("CLOSE", "SYN_SENT"),
    ("SYN_SENT", "ESTABLISHED"),
    ("ESTABLISHED", "FIN_WAIT1"),
    ("FIN_WAIT1", "FIN_WAIT2"),
    # The full socket hands over to a timewait socket: the tracepoint says CLOSE.
    ("FIN_WAIT2", "CLOSE"),
]
SERVER_SIDE = [
    ("LISTEN", "SYN_RECV"),
    ("SYN_RECV", "ESTABLISHED"),
    ("ESTABLISHED", "CLOSE_WAIT"),
    ("CLOSE_WAIT", "LAST_ACK"),
    ("LAST_ACK", "CLOSE"),
]


def run_normal_close(peers, trace, addr, *extra):
    t, port, cport, server, client, s, _ = pair(peers, trace, "normal", "normal",
                                                *extra, addr=addr)
    assert s["read_eof"]
    return t, port, cport, server, client


def check_normal_close(t, port, cport, server, client):
    assert transitions(t.events, cport) == CLIENT_SIDE
    # The listener's own events and the accepted child's share the port.
    server_side = [tr for tr in transitions(t.events, port)
                   if tr not in (("CLOSE", "LISTEN"), ("LISTEN", "CLOSE"))]
    assert server_side == SERVER_SIDE
    for e in t.conn(cport):
        expected = client.pid if e["sport"] == cport else server.pid
        assert e["pid"] == expected, e
    listen = [e for e in t.of_type("state") if e["new"] == "LISTEN"]
    assert len(listen) == 1 and listen[0]["pid"] == server.pid
    assert listen[0]["owner"] == "listen"
    destroyed = {e["sport"] for e in t.of_type("destroy")}
    assert {port, cport} <= destroyed
    assert not t.of_type("rst_sent") and not t.of_type("error")


def test_normal_close_ipv4(peers, trace):
    check_normal_close(*run_normal_close(peers, trace, "127.0.0.1"))


def test_normal_close_ipv6(peers, trace):
    t, port, cport, server, client = run_normal_close(peers, trace, "::1")
    check_normal_close(t, port, cport, server, client)
    assert all(e["family"] == "AF_INET6" and e["saddr"] == "::1"
               for e in t.conn(cport))


def test_classic_tracepoints_give_the_same_transitions(peers, trace):
    t = run_normal_close(peers, trace, "127.0.0.1", "--classic")
    assert "classic tracepoints" in t[0].stderr
    check_normal_close(*t)


def test_summary_counts_what_was_printed(peers, trace):
    t, *_ = run_normal_close(peers, trace, "127.0.0.1")
    s = t.summary()
    printed = t.kernel_events()
    assert s["events"] == len(printed) > 0
    assert s["by_type"]["state"] == len(t.of_type("state"))
    assert s["lost"] == 0
