"""Sockets a process already holds when tcpwatch attaches are attributed to it."""
from conftest import pid_args, transitions


def test_sockets_and_listener_from_before_attach(peers, trace):
    holder = peers("holder")
    port, client_port = holder.hello["port"], holder.hello["client_port"]
    t = trace(*pid_args(holder))
    holder.go()
    new_port = holder.result()["new_client_port"]
    t.stop()
    assert t.rc == 0, t.stderr
    # The accepted socket existed before attach: found through its inode.
    accepted = [e for e in t.of_type("state")
                if e["sport"] == port and e["dport"] == client_port]
    assert [(e["old"], e["new"]) for e in accepted] == [
        ("ESTABLISHED", "CLOSE_WAIT"), ("CLOSE_WAIT", "LAST_ACK"), ("LAST_ACK", "CLOSE")]
    assert all(e["pid"] == holder.pid and e["owner"] == "fd" for e in accepted)
    # So did the listener: its new child inherits the owner.
    child = [e for e in t.of_type("state")
             if e["sport"] == port and e["dport"] == new_port]
    assert child[0]["old"] == "LISTEN" and child[0]["new"] == "SYN_RECV"
    assert all(e["pid"] == holder.pid and e["owner"] == "listener" for e in child)
    assert transitions(t.events, client_port)[0] == ("ESTABLISHED", "FIN_WAIT1")
