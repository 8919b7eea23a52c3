"""Explanations for ordinary programs traced by --pid: the codes come from the
kernel's events and the processes' own calls, not from any scenario log."""
import socket
import time

from conftest import pair, pid_args

# Codes that say something went wrong; a clean exchange must give none.
TROUBLE = {"close_wait_leak", "fin_wait2_peer_not_closing", "rst_no_listener",
           "rst_close_with_unread_data", "rst_linger_abort", "rst_timewait_socket",
           "epipe_after_rst", "syn_timeout", "host_unreachable", "retrans_timeout",
           "keepalive_timeout", "orphan_fin_wait1_destroyed", "peer_reset"}


def explained(t, code):
    return [e for e in t.events if e["type"] == "explain" and e["code"] == code]


def test_normal_close(peers, trace):
    t, port, cport, server, client, *_ = pair(peers, trace, "normal", "normal")
    assert not set(t.codes()) & TROUBLE, t.codes()
    # The client closed first: it holds TIME_WAIT, reconstructed; the traced
    # server had sent its FIN (LAST_ACK) when the client's socket handed over.
    tw = explained(t, "time_wait")
    assert len(tw) == 1 and tw[0]["pid"] == client.pid and tw[0]["sport"] == cport
    assert "seen from the peer's FIN" in tw[0]["text"]
    rebuilt = [e for e in t.events if e.get("reconstructed") and e["new"] == "TIME_WAIT"]
    assert len(rebuilt) == 1 and rebuilt[0]["sport"] == cport
    assert rebuilt[0]["cause"] == "peer_fin"
    normal = {(e["pid"], e["sport"]) for e in explained(t, "normal_close")}
    assert normal == {(client.pid, cport), (server.pid, port)}
    # One timeline for the connection, the timewait socket's part included.
    done = [e for e in t.events if e["type"] == "connection" and e["sport"] == cport]
    assert len(done) == 1
    assert [s["state"] for s in done[0]["states"]] == [
        "SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"]
    assert set(done[0]["codes"]) == {"time_wait", "normal_close"}
    assert done[0]["conn"] == tw[0]["conn"]



def test_text_output_says_how_a_transition_was_reconstructed(peers, trace):
    t, port, cport, *_ = pair(peers, trace, "normal", "normal", json_output=False)
    mine = [l for l in t.stdout.decode().splitlines() if "127.0.0.1:%d " % cport in l]
    rebuilt = [l for l in mine if "(reconstructed" in l]
    # The client's socket handed over after the server's FIN: that is how it is known.
    assert len(rebuilt) == 1, mine
    assert rebuilt[0].endswith("FIN_WAIT2 -> TIME_WAIT (reconstructed: from the peer's FIN)")
    # What the kernel reported is shown as it is.
    assert any(l.endswith("ESTABLISHED -> FIN_WAIT1") for l in mine), mine


def test_time_wait_confirmed_with_sock_diag(peers, trace):
    """Only the client traced: nothing tells that the server sent its FIN,
    so the kernel is asked, and says how long the TIME_WAIT has left."""
    t, port, cport, server, client, *_ = pair(peers, trace, "normal", "normal",
                                               traced="client")
    tw = explained(t, "time_wait")
    assert len(tw) == 1 and tw[0]["pid"] == client.pid and tw[0]["sport"] == cport
    assert "confirmed with sock_diag" in tw[0]["text"] and " s left)" in tw[0]["text"]
    rebuilt = [e for e in t.events if e.get("reconstructed") and e["new"] == "TIME_WAIT"]
    assert len(rebuilt) == 1 and rebuilt[0]["cause"] == "sock_diag"

def test_close_with_unread_data(peers, trace):
    t, port, cport, server, client, *_ = pair(peers, trace, "close-unread",
                                              "expect-reset")
    rst = explained(t, "rst_close_with_unread_data")
    assert len(rst) == 1 and rst[0]["pid"] == server.pid and rst[0]["sport"] == port
    reset = explained(t, "peer_reset")
    assert len(reset) == 1 and reset[0]["pid"] == client.pid
    assert "TCP_ABORT_ON_CLOSE" in reset[0]["text"]
    assert not set(t.codes()) - {"rst_close_with_unread_data", "peer_reset"}


def test_linger_abort(peers, trace):
    t, port, *_, c = pair(peers, trace, "linger-abort", "idle-reset")
    assert c["recv_errno"] == "ECONNRESET"
    abort = explained(t, "rst_linger_abort")
    assert len(abort) == 1 and abort[0]["sport"] == port
    assert set(t.codes()) == {"rst_linger_abort", "peer_reset"}


def test_refused(peers, trace):
    client = peers("client", "normal")
    t = trace(*pid_args(client))
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    client.go(port)
    client.result()
    t.stop()
    refused = explained(t, "rst_no_listener")
    assert len(refused) == 1 and refused[0]["pid"] == client.pid
    assert refused[0]["dport"] == port
    assert t.codes() == ["rst_no_listener"]


def test_write_after_peer_close(peers, trace):
    t, port, cport, server, client, _, c = pair(peers, trace, "close-early",
                                                "write-twice")
    # What the application saw: the first write is accepted, the second fails.
    assert c["writes"][0] == len(b"more data") and c["writes"][1] == "EPIPE"
    assert c["read"] == 0
    tw_rst = explained(t, "rst_timewait_socket")
    assert len(tw_rst) == 1 and tw_rst[0]["pid"] == server.pid
    epipe = explained(t, "epipe_after_rst")
    assert len(epipe) == 1 and epipe[0]["pid"] == client.pid
    # The server's TIME_WAIT (FIN_WAIT2 remnant) ended with that RST.
    ended = [e for e in t.events if e.get("reconstructed") and e["new"] == "CLOSE"]
    assert ended and ended[0]["cause"] == "rst" and ended[0]["sport"] == port


def test_timewait_reset_owner_tracing_everything(peers, trace):
    # No --pid: the kernel keeps no owner by tuple for the timewait socket;
    # the reset it sends is named from tcpwatch's own timewait record.
    t, port, cport, server, client, _, c = pair(peers, trace, "close-early",
                                                "write-twice",
                                                traced="none")
    assert c["writes"][1] == "EPIPE"
    rst = [e for e in t.events if e["type"] == "rst_sent" and e["timewait"]
           and e["sport"] == port]
    assert len(rst) == 1
    assert (rst[0]["pid"], rst[0]["owner"]) == (server.pid, "tuple")
    tw_rst = explained(t, "rst_timewait_socket")
    assert len(tw_rst) == 1 and tw_rst[0]["pid"] == server.pid


def test_close_wait_leak_and_fin_wait2(peers, trace):
    server = peers("server", "leak")
    client = peers("client", "normal")
    t = trace(*pid_args(server, client), "--stuck", "1")
    server.go()
    port = server.port()
    client.go(port)
    cport = client.result()["local_port"]
    assert server._line()["eof"]
    time.sleep(2)           # longer than --stuck, with the socket left open
    server.go()
    server.result()
    t.stop()
    leak = explained(t, "close_wait_leak")
    assert len(leak) == 1 and leak[0]["pid"] == server.pid and leak[0]["sport"] == port
    fw2 = explained(t, "fin_wait2_peer_not_closing")
    assert len(fw2) == 1 and fw2[0]["pid"] == client.pid and fw2[0]["sport"] == cport
    # Reported while the socket was still open, not when it finally closed.
    closed = [e for e in t.of_type("state") if e["sport"] == port
              and e["old"] == "CLOSE_WAIT"]
    assert leak[0]["ts_ns"] < closed[0]["ts_ns"]


def test_stuck_threshold_is_respected(peers, trace):
    server = peers("server", "leak")
    client = peers("client", "normal")
    t = trace(*pid_args(server, client), "--stuck", "30")
    server.go()
    client.go(server.port())
    client.result()
    server._line()
    time.sleep(1)
    server.go()
    server.result()
    t.stop()
    assert not explained(t, "close_wait_leak")


def test_classic_tracepoints_explain_the_same(peers, trace):
    """Classic tracepoints report errors without a socket pointer: the rules
    still find the connection, by its 4-tuple."""
    t, port, cport, server, client, *_ = pair(peers, trace, "close-unread",
                                              "expect-reset", "--classic")
    assert "classic tracepoints" in t.stderr
    assert set(t.codes()) == {"rst_close_with_unread_data", "peer_reset"}
    reset = explained(t, "peer_reset")
    assert reset[0]["pid"] == client.pid and reset[0]["sport"] == cport
