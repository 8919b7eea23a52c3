"""Retransmissions that never left the host. Since 6.17 the kernel's
tcp_retransmit_skb tracepoint fires for failed attempts too, with their
errno; a netfilter drop on output fails them with EPERM. tcpwatch must not
report such an attempt as a retransmission that went out."""
import re
import subprocess
import time

import pytest

from conftest import netns_counters, netns_losing_requests, nft, pid_args

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


def kernel_tells_errors():
    """Whether this kernel's tracepoint has the err field (6.17 and later)."""
    fmt = "/sys/kernel/tracing/events/tcp/tcp_retransmit_skb/format"
    try:
        return "field:int err;" in open(fmt).read()
    except OSError:
        return False


@pytest.fixture
def netns():
    # Give up after a few attempts: seconds, not the default 15 minutes.
    with netns_losing_requests("twrf", PORT, BIG,
                               ["net.ipv4.tcp_retries2=3"]) as name:
        yield name


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
        nft(netns, "add chain ip tw out { type filter hook output priority 0; }; "
                   "add rule ip tw out tcp dport %d ip length > %d drop"
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
    # One 100-byte request: one segment an attempt, read from the kernel's skb.
    assert {e["segments"] for e in retrans} == {1}, retrans
    # The failed ones come after the rule, every one of them.
    assert retrans.index(failed[0]) == len(sent)
    timeout = [e for e in t.events
               if e["type"] == "explain" and e["code"] == "retrans_timeout"]
    assert len(timeout) == 1, t.codes()
    # Each attempt counted once, as the namespace's kernel counted them:
    # those that went out, those that did not, and those whose event never
    # came (a hook run the kernel skipped: the classic hooks share one
    # per-CPU guard with the syscall programs, so a timer's retransmission
    # can find it taken). The explanation reads the socket's own count and
    # each attempt's segments, so it knows how many events it missed.
    counters = netns_counters(netns)
    # RetransSegs counts the failed attempts too since 6.17.
    attempted, failed_out = counters["Tcp:RetransSegs"], counters["TcpExt:TCPRetransFail"]
    text = timeout[0]["text"]
    went = re.search(r"after (\d+) retransmissions? went unanswered", text)
    dropped = re.search(r" (\d+) more attempts? never left this host \(EPERM: a firewall "
                        r"rule on this host dropped them on output\)", text)
    unseen = re.search(r"The kernel counted (\d+) more attempts? whose event never "
                       r"reached tcpwatch", text)
    assert went and dropped, text
    went, dropped = int(went[1]), int(dropped[1])
    unseen = int(unseen[1]) if unseen else 0
    assert went + dropped + unseen == attempted, (text, attempted, failed_out)
    assert unseen == attempted - len(retrans), (text, retrans)
    if unseen:
        assert went <= attempted - failed_out and dropped <= failed_out, text
    else:
        assert (went, dropped) == (attempted - failed_out, failed_out), text


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
