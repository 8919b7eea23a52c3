"""Retransmissions that never left the host. Since 6.17 the kernel's
tcp_retransmit_skb tracepoint fires for failed attempts too, with their
errno; a netfilter drop on output fails them with EPERM. tcpwatch must not
report such an attempt as a retransmission that went out."""
import os
import subprocess
import time

import pytest

from conftest import pid_args

PORT = 5077
# An IP packet above this carries the request (100 bytes of data); the
# handshake and the ACKs stay below it, so only the data is dropped.
BIG = 120

PROGRAM = r"""
import errno, socket, sys
srv = socket.socket(); srv.bind(("127.0.0.1", %d)); srv.listen(1)
cli = socket.socket()
sys.stdin.readline()                          # tcpwatch is attached
cli.connect(("127.0.0.1", %d)); peer, _ = srv.accept()
cli.send(b"q" * 100)                          # lost on input: to retransmit
print("sent", flush=True)
sys.stdin.readline()                          # now dropped on output as well
try:
    cli.recv(1)
    print("errno", "none", flush=True)
except OSError as e:
    print("errno", errno.errorcode[e.errno], flush=True)
""" % (PORT, PORT)


def nft(ns, script):
    subprocess.run(["ip", "netns", "exec", ns, "nft", script], check=True)


def kernel_tells_errors():
    """Whether this kernel's tracepoint has the err field (6.17 and later)."""
    fmt = "/sys/kernel/tracing/events/tcp/tcp_retransmit_skb/format"
    try:
        return "field:int err;" in open(fmt).read()
    except OSError:
        return False


@pytest.fixture
def netns():
    name = "twrf-%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        # Give up after a few attempts: seconds, not the default 15 minutes.
        subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw",
                        "net.ipv4.tcp_retries2=3"], check=True)
        nft(name, "add table ip twrf; "
                  "add chain ip twrf in { type filter hook input priority 0; }; "
                  "add rule ip twrf in tcp dport %d ip length > %d drop"
                  % (PORT, BIG))
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name])


def outage(netns, trace, *trace_args, json_output=True):
    """The program's request is lost on input; once a retransmission went
    out, output drops the rest until the kernel gives up (ETIMEDOUT).
    Returns the stopped trace."""
    prog = subprocess.Popen(["ip", "netns", "exec", netns, "python3", "-c", PROGRAM],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        t = trace(*pid_args(prog), *trace_args, json_output=json_output)
        prog.stdin.write("go\n")
        prog.stdin.flush()
        assert prog.stdout.readline().strip() == "sent"
        if json_output:
            t.wait_for(lambda e: e["type"] == "retransmit" and e["errno"] is None)
        else:
            time.sleep(0.5)     # the first retransmissions, 200 ms apart
        nft(netns, "add chain ip twrf out { type filter hook output priority 0; }; "
                   "add rule ip twrf out tcp dport %d ip length > %d drop"
                   % (PORT, BIG))
        prog.stdin.write("go\n")
        prog.stdin.flush()
        assert prog.stdout.readline().split() == ["errno", "ETIMEDOUT"]
        prog.wait(10)
    finally:
        prog.kill()
    t.stop()
    assert t.rc == 0, t.stderr
    return t


@pytest.mark.skipif(not kernel_tells_errors(),
                    reason="tcp_retransmit_skb has no err field before 6.17")
@pytest.mark.parametrize("hooks", [[], ["--classic"]], ids=["tp_btf", "classic"])
def test_retransmission_dropped_on_output(netns, trace, hooks):
    """tp_btf reads err as the tracepoint's third argument, the classic
    program from the record's field: both must say EPERM."""
    t = outage(netns, trace, *hooks)
    retrans = [e for e in t.events if e["type"] == "retransmit"
               and e["sport"] != PORT]
    sent = [e for e in retrans if e["errno"] is None]
    failed = [e for e in retrans if e["errno"] is not None]
    assert sent and failed, retrans
    assert {e["errno"] for e in failed} == {"EPERM"}
    # The failed ones come after the rule, every one of them.
    assert retrans.index(failed[0]) == len(sent)
    timeout = [e for e in t.events
               if e["type"] == "explain" and e["code"] == "retrans_timeout"]
    assert len(timeout) == 1, t.codes()
    # Each attempt counted once: those that went out, then those that did not.
    assert ("after %d retransmission%s went unanswered"
            % (len(sent), "" if len(sent) == 1 else "s")) in timeout[0]["text"]
    assert ("%d more attempt%s never left this host (EPERM: a firewall rule on this "
            "host dropped them on output)" % (len(failed), "" if len(failed) == 1 else "s")
            ) in timeout[0]["text"]


def test_text_output_names_the_failure(netns, trace):
    """The text line says "not sent (EPERM)"; on a kernel without err, no
    retransmission says it (they all went out)."""
    text = outage(netns, trace, json_output=False).stdout.decode()
    lines = [l for l in text.splitlines() if "retransmit #" in l]
    assert lines, text
    if kernel_tells_errors():
        assert any(l.endswith("not sent (EPERM)") for l in lines), lines
    else:
        assert not any("not sent" in l for l in lines), lines
