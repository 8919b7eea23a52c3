"""Every bundled scenario under tcpwatch: what the application saw, what the
kernel did as tcpwatch observed it, and exactly which explanations came out.

One `tcpwatch --scenario all --json` run feeds every test (it is also the
check that the whole set completes and leaves nothing behind). The scenario
programs check the application's side themselves (as_expected); the tests
re-check the key calls from the action log and assert the kernel's events.
"""
import json
import os
import subprocess

import pytest

from conftest import ROOT, TCPWATCH

STUCK = "0.5"   # CLOSE_WAIT/FIN_WAIT2 held for a second counts as stuck here
# The same run's --report, kept as a test artefact.
REPORT = os.path.join(ROOT, "build", "test-artifacts", "scenarios-report.json")
# And its JSON Lines, for reading a failure the report on the console left out.
STREAM = os.path.join(ROOT, "build", "test-artifacts", "scenarios.jsonl")


def netns_list():
    return subprocess.run(["ip", "netns", "list"], capture_output=True,
                          text=True).stdout.split()


def nft_tables():
    return subprocess.run(["nft", "list", "tables"], capture_output=True,
                          text=True).stdout


def links():
    return subprocess.run(["ip", "-o", "link"], capture_output=True,
                          text=True).stdout


@pytest.fixture(scope="module")
def runs():
    before = (set(netns_list()), nft_tables(), links())
    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    p = subprocess.run([TCPWATCH, "--scenario", "all", "--json", "--stuck", STUCK,
                        "--report", REPORT],
                       capture_output=True, text=True, timeout=600)
    with open(STREAM, "w", encoding="utf-8") as f:
        f.write(p.stdout)
    assert p.returncode == 0, p.stderr
    assert "19 scenarios: 19 as expected, 0 not" in p.stderr
    by_name, current = {}, []
    for line in p.stdout.splitlines():
        e = json.loads(line)
        if e["type"] == "scenario":
            by_name[e["name"]] = Run(e, current)
            current = []
        else:
            current.append(e)
    return by_name, before


class Run:
    def __init__(self, record, events):
        self.record = record
        self.events = events

    def kernel(self, type_):
        return [e for e in self.events if e["type"] == type_ and not e.get("reconstructed")]

    def actions(self, role=None, call=None):
        return [e for e in self.events if e["type"] == "action"
                and (role is None or e["role"] == role)
                and (call is None or e["call"] == call)]

    def calls(self, call):
        return [e for e in self.events if e["type"] == "call" and e["call"] == call]

    def rebuilt(self, new):
        return [e for e in self.events if e.get("reconstructed") and e["new"] == new]

    def codes(self):
        return {e["code"] for e in self.events if e["type"] == "explain"}

    def codes_in_order(self):
        return [e["code"] for e in self.events if e["type"] == "explain"]

    def explained(self, code):
        return [e for e in self.events if e["type"] == "explain" and e["code"] == code]

    def transitions(self, sk):
        return [(e["old"], e["new"]) for e in self.kernel("state") if e["sk"] == sk]

    def timeline(self, sk):
        """As transitions(), with the steps tcpwatch reconstructed from
        sock_diag where the kernel ran its hook without calling BPF
        (README, Reliability): each as (old, new, cause or None)."""
        return [(e["old"], e["new"], e.get("cause")) for e in self.events
                if e["type"] == "state" and e["sk"] == sk]

    def sk_of(self, **match):
        """The kernel socket of the first state event matching all fields."""
        for e in self.kernel("state"):
            if all(e.get(k) == v for k, v in match.items()):
                return e["sk"]
        raise AssertionError("no state event with %s" % match)

    def rst_reasons(self):
        return [e["reason"] for e in self.kernel("rst_sent")]

    def errors(self):
        return [e["errno"] for e in self.kernel("error")]


@pytest.fixture(autouse=True)
def current_test(request):
    """The test being run, so that get() can show its scenario if it fails."""
    global CURRENT
    CURRENT = request.node
    yield
    CURRENT = None


CURRENT = None


def get(runs, name):
    run = runs[0][name]
    if CURRENT is not None:
        CURRENT.tcpwatch_lines = getattr(CURRENT, "tcpwatch_lines", []) + [
            ("tcpwatch output of scenario %s" % name,
             [json.dumps(e) for e in run.events + [run.record]])]
    assert run.record["as_expected"], "the application did not see what %s expects" % name
    assert run.record["lost"] == 0
    return run


def test_all_scenarios_ran_and_left_nothing_behind(runs):
    by_name, (netns, tables, link_list) = runs
    assert len(by_name) == 19
    # Namespaces are named after their runner's pid: any left must belong to
    # a runner still at work (another run at the same time), none to ours.
    for name in netns_list():
        if name.startswith(("twc-", "tws-")):
            assert os.path.exists("/proc/%s" % name[4:]), "left behind: " + name
    assert nft_tables() == tables
    assert links() == link_list


def test_normal_close(runs):
    r = get(runs, "normal-close")
    assert r.codes() == {"normal_close", "time_wait"}
    c = r.sk_of(old="ESTABLISHED", new="FIN_WAIT1")
    assert r.transitions(c) == [("CLOSE", "SYN_SENT"), ("SYN_SENT", "ESTABLISHED"),
                                ("ESTABLISHED", "FIN_WAIT1"), ("FIN_WAIT1", "FIN_WAIT2"),
                                ("FIN_WAIT2", "CLOSE")]
    s = r.sk_of(old="ESTABLISHED", new="CLOSE_WAIT")
    assert r.transitions(s)[-2:] == [("CLOSE_WAIT", "LAST_ACK"), ("LAST_ACK", "CLOSE")]
    tw = r.rebuilt("TIME_WAIT")
    assert len(tw) == 1 and tw[0]["cause"] == "peer_fin"   # the server is traced
    assert not r.kernel("rst_sent") and not r.kernel("error")
    assert [a["ret"] for a in r.actions("server", "read")][-1] == 0
    # Each role's process is named after it: "client (pid N) closed ...".
    assert {e["comm"] for e in r.kernel("state") if e["sk"] == c} == {"client"}
    assert {e["comm"] for e in r.kernel("state") if e["sk"] == s} == {"server"}


def test_close_wait_leak(runs):
    r = get(runs, "close-wait-leak")
    assert r.codes() == {"close_wait_leak", "fin_wait2_peer_not_closing", "time_wait"}
    s = r.sk_of(old="ESTABLISHED", new="CLOSE_WAIT")
    leak = r.explained("close_wait_leak")[0]
    closed = [e for e in r.kernel("state") if e["sk"] == s and e["old"] == "CLOSE_WAIT"]
    # Reported while the socket sat in CLOSE_WAIT, before the server was killed.
    assert leak["ts_ns"] < closed[0]["ts_ns"]
    assert r.actions("harness", "kill")


def test_fin_wait2_stuck(runs):
    r = get(runs, "fin-wait2-stuck")
    assert r.codes() == {"close_wait_leak", "fin_wait2_peer_not_closing"}
    # The server's orphaned FIN_WAIT2 remnant expired (tcp_fin_timeout=2):
    # the client's late FIN is answered by the kernel with no socket.
    gone = [e for e in r.events if e.get("reconstructed") and e["new"] == "CLOSE"]
    assert gone and gone[0]["cause"] == "expired" and gone[0]["old"] == "FIN_WAIT2"
    assert "NO_SOCKET" in r.rst_reasons()
    assert [e["state"] for e in r.kernel("rst_recv")] == ["LAST_ACK"]


def test_write_after_peer_close(runs):
    r = get(runs, "write-after-peer-close")
    assert r.codes() == {"rst_timewait_socket", "epipe_after_rst"}
    writes = r.actions("client", "write")
    assert writes[0]["ret"] > 0 and writes[1]["errno"] == "EPIPE"
    assert [a["arg"] for a in r.actions("client", "signal")] == ["SIGPIPE"]
    assert r.actions("client", "read")[-1]["ret"] == 0
    rst = r.kernel("rst_sent")
    assert len(rst) == 1 and rst[0]["reason"] == "TCP_TIMEWAIT_SOCKET" and rst[0]["timewait"]
    assert r.errors() == ["EPIPE"]


def test_close_unread_rst(runs):
    r = get(runs, "close-unread-rst")
    assert r.codes() == {"rst_close_with_unread_data", "peer_reset"}
    assert r.rst_reasons() == ["TCP_ABORT_ON_CLOSE"]
    s = r.kernel("rst_sent")[0]["sk"]
    assert ("ESTABLISHED", "CLOSE") in r.transitions(s)
    assert ("ESTABLISHED", "FIN_WAIT1") not in r.transitions(s)
    assert r.errors() == ["ECONNRESET"]
    assert r.actions("client", "read")[-1]["errno"] == "ECONNRESET"


def test_linger_abort(runs):
    r = get(runs, "linger-abort")
    assert r.codes() == {"rst_linger_abort", "peer_reset"}
    assert r.rst_reasons() == ["TCP_STATE"]
    assert r.calls("setsockopt")[0]["option"] == "SO_LINGER"
    assert not r.rebuilt("TIME_WAIT")
    assert r.actions("server", "read")[-1]["errno"] == "ECONNRESET"


def test_connect_refused(runs):
    r = get(runs, "connect-refused")
    assert r.codes() == {"rst_no_listener"}
    rst = r.kernel("rst_sent")
    assert [e["reason"] for e in rst] == ["NO_SOCKET"] and rst[0]["no_socket"]
    assert r.errors() == ["ECONNREFUSED"]
    assert r.actions("client", "connect")[0]["errno"] == "ECONNREFUSED"


def test_syn_timeout(runs):
    r = get(runs, "syn-timeout")
    assert r.codes() == {"syn_timeout"}
    syns = [e for e in r.kernel("retransmit") if e["state"] == "SYN_SENT"]
    # tcp_syn_retries=2 with the linear start: up to 5 retransmissions 1 s
    # apart within the give-up time (fewer when timers run late on a busy
    # machine); the kernel's own count goes up by one each time.
    assert len(syns) >= 3
    assert [e["count"] for e in syns] == list(range(1, len(syns) + 1))
    assert r.errors() == ["ETIMEDOUT"]
    assert r.actions("client", "connect")[0]["errno"] == "ETIMEDOUT"


def test_host_unreachable(runs):
    r = get(runs, "host-unreachable")
    assert r.codes() == {"host_unreachable"}
    # Reported once or twice (the second after CLOSE), as timing has it.
    assert set(r.errors()) == {"EHOSTUNREACH"} and len(r.errors()) <= 2
    assert not r.kernel("retransmit")
    assert r.actions("client", "connect")[0]["errno"] == "EHOSTUNREACH"


def test_data_retrans_timeout(runs):
    r = get(runs, "data-retrans-timeout")
    assert r.codes() == {"retrans_timeout"}
    data = [e for e in r.kernel("retransmit") if e["state"] == "ESTABLISHED"]
    assert len(data) >= 3
    assert "ETIMEDOUT" in r.errors()
    assert r.actions("client", "read")[-1]["errno"] == "ETIMEDOUT"


def test_idle_peer_vanished(runs):
    r = get(runs, "idle-peer-vanished")
    assert r.codes() == {"keepalive_timeout"}
    assert "TCP_KEEPALIVE_TIMEOUT" in r.rst_reasons()
    client_sk = r.kernel("error")[0]["sk"]
    assert not [e for e in r.kernel("retransmit") if e["sk"] == client_sk]
    assert "SO_KEEPALIVE" in {c["option"] for c in r.calls("setsockopt")}
    assert r.actions("client", "read")[-1]["errno"] == "ETIMEDOUT"


def test_close_during_outage(runs):
    r = get(runs, "close-during-outage")
    assert r.codes() == {"orphan_fin_wait1_destroyed"}
    c = r.sk_of(old="ESTABLISHED", new="FIN_WAIT1")
    # The orphan's timer destroys it; the kernel sometimes reports neither
    # that CLOSE nor the destroy, and then sock_diag finds the socket gone.
    assert r.timeline(c)[-1] in (("FIN_WAIT1", "CLOSE", None),
                                 ("FIN_WAIT1", "CLOSE", "sock_diag")), r.timeline(c)
    assert len([e for e in r.kernel("retransmit") if e["sk"] == c]) >= 2
    assert not [e for e in r.kernel("error") if e["sk"] == c]
    assert r.actions("client", "close")[0]["ret"] == 0


def test_peer_reboot(runs):
    r = get(runs, "peer-reboot")
    assert r.codes() == {"peer_reset", "rst_linger_abort"}
    reset = r.explained("peer_reset")
    assert len(reset) == 1 and "NO_SOCKET" in reset[0]["text"]
    assert "ESTABLISHED" in [e["state"] for e in r.kernel("rst_recv")]
    assert r.actions("client", "read")[-1]["errno"] == "ECONNRESET"


def test_simultaneous_close(runs):
    r = get(runs, "simultaneous-close")
    assert r.codes() == {"simultaneous_close", "time_wait"}
    closing = [e for e in r.kernel("state") if e["new"] == "CLOSING"]
    assert len(closing) == 2
    assert len(r.rebuilt("TIME_WAIT")) == 2


def test_half_close(runs):
    r = get(runs, "half-close")
    assert r.codes() == {"half_close", "normal_close", "time_wait"}
    assert r.calls("shutdown")[0]["how"] == "SHUT_WR"
    c = r.sk_of(old="ESTABLISHED", new="FIN_WAIT1")
    assert ("FIN_WAIT1", "FIN_WAIT2") in r.transitions(c)
    # The reply still arrived after the client's FIN.
    assert any(a["ret"] > 0 for a in r.actions("client", "read"))


def test_shutdown_read(runs):
    r = get(runs, "shutdown-read")
    assert r.codes() == {"normal_close", "time_wait"}
    assert r.actions("client", "shutdown")[0]["arg"] == "SHUT_RD"
    assert not r.kernel("rst_sent") and not r.kernel("error")


def test_time_wait_bind(runs):
    r = get(runs, "time-wait-bind")
    assert r.codes() == {"normal_close", "time_wait", "time_wait_bind_conflict"}
    binds = r.calls("bind")
    assert "EADDRINUSE" in [b["errno"] for b in binds]
    assert r.rebuilt("TIME_WAIT")


def test_time_wait_exhaustion(runs):
    r = get(runs, "time-wait-exhaustion")
    assert r.codes() == {"ephemeral_port_exhaustion", "normal_close", "time_wait"}
    assert len(r.rebuilt("TIME_WAIT")) == 16
    assert r.actions("client", "connect")[-1]["errno"] == "EADDRNOTAVAIL"


def test_listen_backlog(runs):
    r = get(runs, "listen-backlog")
    assert r.codes() == {"accept_queue_overflow", "peer_reset"}
    synacks = r.kernel("synack_retransmit")
    assert synacks
    # The kernel's own view as each SYN-ACK went out: the queue was full.
    assert all(e["accept_queue"] > e["backlog"] for e in synacks), synacks
    x = r.explained("accept_queue_overflow")[0]
    port = synacks[0]["sport"]
    assert "The listener 127.0.0.1:%d of server" % port in x["text"], x["text"]
    assert [e for e in r.kernel("retransmit") if e["state"] == "SYN_SENT"]
    assert not r.calls("accept")


def test_report_says_what_the_stream_said(runs):
    """--report of the same run: per scenario, the explanations the JSON Lines
    stream gave, each about a connection with its own section."""
    by_name = runs[0]
    with open(REPORT, encoding="utf-8") as f:
        report = json.load(f)
    assert {s["name"]: s["as_expected"] for s in report["scenarios"]} == \
        {name: True for name in by_name}
    assert report["summary"]["events"] == sum(r.record["events"]
                                              for r in by_name.values())
    assert report["summary"]["not_kept"] == dict.fromkeys(
        report["summary"]["not_kept"], 0)
    for name, run in by_name.items():
        conns = [c for c in report["connections"] if c["scenario"] == name]
        given = [x["code"] for c in conns for x in c["explanations"]]
        given += [x["code"] for x in report["findings"] + report["other_explanations"]
                  if x["scenario"] == name and not x.get("section")]
        assert sorted(given) == sorted(run.codes_in_order()), name
        assert all(c["states"] or c["events"] for c in conns), name
