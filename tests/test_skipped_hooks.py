"""Hook runs the kernel skipped: counted, reported, and accounted for.

Classic tracepoint programs share one per-CPU guard (bpf_prog_active). A
timer interrupt that lands while one of them runs on a CPU runs the
softirqs on its way out; a retransmission timer among them fires
tcp_retransmit_skb, finds the guard taken, and the kernel skips that
program and counts a miss. With --classic --pid tcpwatch traces every
process's read() and write(), so two processes copying a byte at a time
keep such programs running much of the time, while the target's
connections retransmit from timers (their requests sent apart, or the
kernel runs their timers in one batch: all skipped, or none).

What the kernel did is read back from the namespace's own counters: every
retransmission it made must be counted once, in its connection's record,
and those whose event never came must be told apart.
"""
import subprocess

import pytest

from conftest import netns_counters, netns_losing_requests, pid_args

PORT = 5078
CONNECTIONS = 48
# The requests (100 bytes of data) are dropped on input; the handshakes and
# ACKs stay under this IP length.
BIG = 120

PROGRAM = r"""
import socket, struct, sys, time
srv = socket.socket(); srv.bind(("127.0.0.1", %d)); srv.listen(%d)
sys.stdin.readline()                          # tcpwatch is attached
clients, peers = [], []
for _ in range(%d):
    c = socket.socket(); c.connect(("127.0.0.1", %d))
    clients.append(c); peers.append(srv.accept()[0])
for c in clients:
    c.send(b"q" * 100)                        # lost: retransmitted from timers
    time.sleep(0.05)                          # each its own timer, not one batch
time.sleep(3)
for c in clients:                             # an RST, from this process
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
print("closed", flush=True)
""" % (PORT, CONNECTIONS, CONNECTIONS, PORT)


@pytest.fixture
def netns():
    with netns_losing_requests("twsk", PORT, BIG) as name:
        yield name


def test_skipped_retransmissions_are_counted_and_accounted_for(netns, trace):
    prog = subprocess.Popen(["ip", "netns", "exec", netns, "python3", "-c", PROGRAM],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    load = []
    try:
        t = trace(*pid_args(prog), "--classic")
        load = [subprocess.Popen(["dd", "if=/dev/zero", "of=/dev/null", "bs=1"],
                                 stderr=subprocess.DEVNULL) for _ in range(2)]
        prog.stdin.write("go\n")
        prog.stdin.flush()
        assert prog.stdout.readline().strip() == "closed"
        prog.wait(10)
    finally:
        for p in load + [prog]:
            p.kill()
            p.wait()
    t.stop()
    assert t.rc == 0, t.stderr
    attempted = netns_counters(netns)["Tcp:RetransSegs"]
    seen = len([e for e in t.of_type("retransmit") if e["dport"] == PORT])
    skipped = t.summary()["skipped"]
    # The kernel skipped hook runs, and said so; events are missing.
    assert skipped > 0 and seen < attempted, (skipped, seen, attempted)
    assert "%d hook runs skipped by the kernel" % skipped in t.stderr
    # Each connection's count, from the kernel's own as it closed (in this
    # process: never skipped), has every attempt once; those no event told
    # about are counted apart.
    clients = [c for c in t.of_type("connection") if c["dport"] == PORT]
    assert len(clients) == CONNECTIONS, t.codes()
    assert sum(c["retransmits"] for c in clients) == attempted
    assert sum(c["retransmits_unseen"] for c in clients) == attempted - seen
