"""Events lost to a full ring buffer are counted in the kernel and reported."""
import signal
import time

from conftest import pid_args

CONNECTIONS = 200
# Per connection with both ends traced: 5 transitions and a destroy on each
# side, and the application's connect, accept, read of EOF and two closes.
# The listener adds CLOSE -> LISTEN, LISTEN -> CLOSE, its destroy, and the
# bind, listen and close calls.
EVENTS_PER_CONNECTION = 12 + 5
LISTENER_EVENTS = 3 + 3


def test_tiny_buffer_counts_every_lost_event(peers, trace):
    churn = peers("churn", CONNECTIONS)
    t = trace(*pid_args(churn), "--buffer", "4K")
    # Stall the reader so the kernel must drop: the buffer holds ~40 events.
    t.proc.send_signal(signal.SIGSTOP)
    try:
        churn.go()
        churn.port()
        assert churn.result()["connections"] == CONNECTIONS
    finally:
        t.proc.send_signal(signal.SIGCONT)
    time.sleep(1.5)  # one live report of the loss
    t.stop()
    assert t.rc == 0, t.stderr
    s = t.summary()
    received = len(t.kernel_events())
    assert s["events"] == received
    assert s["lost"] > 0
    assert received + s["lost"] == CONNECTIONS * EVENTS_PER_CONNECTION + LISTENER_EVENTS
    live = t.of_type("lost")
    assert live and live[-1]["total"] == s["lost"]
    assert "events lost" in t.stderr and "raise --buffer" in t.stderr


def test_default_buffer_loses_nothing(peers, trace):
    churn = peers("churn", CONNECTIONS)
    t = trace(*pid_args(churn))
    churn.go()
    churn.port()
    churn.result()
    t.stop()
    s = t.summary()
    assert s["lost"] == 0
    assert s["events"] == CONNECTIONS * EVENTS_PER_CONNECTION + LISTENER_EVENTS
