"""A large recording in tcpwatch's --json schema, for make bench.

Used to time `tcpwatch report` when tcpwatch has no --record to make the
recording itself. The lines are what tcpwatch --json writes for the same
traffic (see user/output_json.c): every kernel event, and the lines tcpwatch
derives from them (the reconstructed TIME_WAIT transition, explanations,
connection timelines), ending with the summary. The mix: orderly
request/response connections (the server closes first), one in ten aborted
with SO_LINGER {1, 0}, one in fifty whose request is retransmitted twice
before the client gives up. Every make bench checks that each line type
carries exactly the keys tcpwatch's own output had in the same run
(schema_diff), so that this stays true.
"""
import json
import time

NETNS = 4026533350
CLIENT_PID, SERVER_PID = 41000, 41000
COMM = "loadgen"
SERVER = ("127.0.0.1", 47999)
KERNEL_TYPES = ("state", "rst_sent", "rst_recv", "retransmit",
                "synack_retransmit", "error", "destroy", "call")

_EPOCH_MONO_NS = 1_000_000_000_000
_EPOCH_REAL_NS = 1_795_000_000 * 1_000_000_000    # 2026-11-18, UTC
_second = [None, ""]


def _iso(ts_ns):
    """The "time" field: ts_ns as UTC, ISO 8601 with microseconds."""
    sec, nsec = divmod(ts_ns - _EPOCH_MONO_NS + _EPOCH_REAL_NS, 1_000_000_000)
    if sec != _second[0]:
        _second[0] = sec
        _second[1] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    return "%s.%06dZ" % (_second[1], nsec // 1000)


class _Writer:
    def __init__(self, f):
        self.f = f
        self.by_type = dict.fromkeys(KERNEL_TYPES, 0)
        self.events = 0

    def event(self, etype, ts, owner, local, remote, details, sk, cpu_pid=CLIENT_PID):
        self.events += 1
        self.by_type[etype] += 1
        self.f.write(
            '{"type":"%s","ts_ns":%d,"time":"%s","pid":%d,"comm":"%s","owner":"%s",'
            '"family":"AF_INET","saddr":"%s","sport":%d,"daddr":"%s","dport":%d%s,'
            '"sk":"0x%x","netns":%d,"cpu_pid":%d}\n'
            % (etype, ts, _iso(ts), CLIENT_PID, COMM, owner, local[0], local[1],
               remote[0], remote[1], details, sk, NETNS, cpu_pid))

    def reconstructed(self, ts, local, remote, old, new, cause):
        self.f.write(
            '{"type":"state","ts_ns":%d,"time":"%s","pid":%d,"comm":"%s","owner":"tuple",'
            '"family":"AF_INET","saddr":"%s","sport":%d,"daddr":"%s","dport":%d,'
            '"old":"%s","new":"%s","reconstructed":true,"cause":"%s","sk":"0x0",'
            '"netns":%d,"cpu_pid":0}\n'
            % (ts, _iso(ts), SERVER_PID, COMM, local[0], local[1], remote[0], remote[1],
               old, new, cause, NETNS))

    def explain(self, ts, code, text, conn, local, remote):
        self.f.write(
            '{"type":"explain","ts_ns":%d,"code":"%s","text":%s,"conn":%d,"pid":%d,'
            '"comm":"%s","family":"AF_INET","saddr":"%s","sport":%d,"daddr":"%s",'
            '"dport":%d}\n'
            % (ts, code, json.dumps(text), conn, CLIENT_PID, COMM, local[0], local[1],
               remote[0], remote[1]))

    def connection(self, ts, conn, role, local, remote, states, codes, retransmits=0):
        hist = ",".join('{"state":"%s","since_ns":%d,"ns":%d}' % s for s in states)
        self.f.write(
            '{"type":"connection","ts_ns":%d,"conn":%d,"role":"%s","pid":%d,"comm":"%s",'
            '"family":"AF_INET","saddr":"%s","sport":%d,"daddr":"%s","dport":%d,'
            '"retransmits":%d,"retransmits_unseen":0,"states":[%s],"codes":[%s]}\n'
            % (ts, conn, role, CLIENT_PID, COMM, local[0], local[1], remote[0], remote[1],
               retransmits, hist, ",".join('"%s"' % c for c in codes)))

    def summary(self):
        self.f.write('{"type":"summary","events":%d,"by_type":{%s},"lost":0,"filtered":0,'
                     '"malformed":0,"evicted":0,"skipped":0}\n'
                     % (self.events, ",".join('"%s":%d' % (t, self.by_type[t])
                                              for t in KERNEL_TYPES)))


def _timeline(steps, end):
    out = []
    for i, (state, since) in enumerate(steps):
        until = steps[i + 1][1] if i + 1 < len(steps) else end
        out.append((state, since, until - since))
    return out


def _state(w, ts, owner, local, remote, old, new, sk):
    w.event("state", ts, owner, local, remote, ',"old":"%s","new":"%s"' % (old, new), sk)


def _orderly(w, n, ts, cport):
    """The server answers and closes first: 10 transitions, 2 destroys."""
    client, server = ("127.0.0.1", cport), SERVER
    csk, ssk = 0xffff888100000000 + n * 0x1000, 0xffff888180000000 + n * 0x1000
    t = [ts + i * 4000 for i in range(13)]
    _state(w, t[0], "connect", ("0.0.0.0", 0), server, "CLOSE", "SYN_SENT", csk)
    _state(w, t[1], "listener", server, client, "LISTEN", "SYN_RECV", ssk)
    _state(w, t[2], "connect", client, server, "SYN_SENT", "ESTABLISHED", csk)
    _state(w, t[3], "listener", server, client, "SYN_RECV", "ESTABLISHED", ssk)
    _state(w, t[4], "listener", server, client, "ESTABLISHED", "FIN_WAIT1", ssk)
    _state(w, t[5], "connect", client, server, "ESTABLISHED", "CLOSE_WAIT", csk)
    _state(w, t[6], "listener", server, client, "FIN_WAIT1", "FIN_WAIT2", ssk)
    _state(w, t[7], "connect", client, server, "CLOSE_WAIT", "LAST_ACK", csk)
    _state(w, t[8], "listener", server, client, "FIN_WAIT2", "CLOSE", ssk)
    w.reconstructed(t[8], server, client, "FIN_WAIT2", "TIME_WAIT", "sock_diag")
    text = ("%s (pid %d) closed %s:%d -> %s:%d first" % (COMM, SERVER_PID, *server, *client))
    w.explain(t[8], "time_wait", text + ", so its side keeps the connection in TIME_WAIT "
              "for 60 s (60 s left): the kernel holds the 4-tuple so that late segments "
              "cannot be taken for a new connection. The state tracepoint only shows "
              "FIN_WAIT2 -> CLOSE; TIME_WAIT was confirmed with sock_diag. Harmless by "
              "itself; if they pile up, let the client close first or reuse connections.",
              2 * n + 2, server, client)
    w.explain(t[8], "normal_close", text + " (FIN); the peer read EOF and closed its side "
              "too: an orderly shutdown.", 2 * n + 2, server, client)
    w.event("destroy", t[9], "listener", server, client, ',"state":"CLOSE"', ssk)
    _state(w, t[10], "connect", client, server, "LAST_ACK", "CLOSE", csk)
    w.event("destroy", t[11], "connect", client, server, ',"state":"CLOSE"', csk)
    w.connection(t[11], 2 * n + 1, "active", client, server, _timeline(
        [("SYN_SENT", t[0]), ("ESTABLISHED", t[2]), ("CLOSE_WAIT", t[5]),
         ("LAST_ACK", t[7]), ("CLOSE", t[10])], t[11]), ["normal_close"])
    return 12, t[12]


def _aborted(w, n, ts, cport, retransmits):
    """SO_LINGER {1, 0} close, after the request went through or was retransmitted."""
    client, server = ("127.0.0.1", cport), SERVER
    csk, ssk = 0xffff888100000000 + n * 0x1000, 0xffff888180000000 + n * 0x1000
    t = [ts + i * 4000 for i in range(12)]
    _state(w, t[0], "connect", ("0.0.0.0", 0), server, "CLOSE", "SYN_SENT", csk)
    _state(w, t[1], "listener", server, client, "LISTEN", "SYN_RECV", ssk)
    _state(w, t[2], "connect", client, server, "SYN_SENT", "ESTABLISHED", csk)
    _state(w, t[3], "listener", server, client, "SYN_RECV", "ESTABLISHED", ssk)
    for i in range(retransmits):
        w.event("retransmit", t[3] + (i + 1) * 12_000_000, "connect", client, server,
                ',"count":%d,"segments":1,"errno":null,"state":"ESTABLISHED"' % (i + 1),
                csk, cpu_pid=0)
    base = t[3] + retransmits * 12_000_000
    t = t[:4] + [base + i * 4000 for i in range(1, 9)]
    _state(w, t[4], "connect", client, server, "ESTABLISHED", "CLOSE", csk)
    w.event("rst_sent", t[5], "connect", client, server,
            ',"reason":"TCP_STATE","no_socket":false,"timewait":false,"state":"CLOSE"', csk)
    w.event("error", t[5], "connect", client, server,
            ',"errno":"ECONNRESET","errno_num":104,"state":"CLOSE"', csk)
    w.event("destroy", t[6], "connect", ("0.0.0.0", cport), (server[0], 0),
            ',"state":"CLOSE"', csk)
    w.event("rst_recv", t[7], "listener", server, client, ',"state":"ESTABLISHED"', ssk)
    w.event("error", t[7], "listener", server, client,
            ',"errno":"ECONNRESET","errno_num":104,"state":"CLOSE"', ssk)
    _state(w, t[7], "listener", server, client, "ESTABLISHED", "CLOSE", ssk)
    w.explain(t[5], "rst_linger_abort", "%s (pid %d) closed %s:%d -> %s:%d abortively "
              "(SO_LINGER {1, 0}, or a disconnect): the kernel sent an RST (TCP_STATE) "
              "instead of a FIN and skipped TIME_WAIT; the peer sees ECONNRESET. Right "
              "when aborting on purpose; otherwise drop the zero linger."
              % (COMM, CLIENT_PID, *client, *server), 2 * n + 1, client, server)
    w.connection(t[6], 2 * n + 1, "active", ("0.0.0.0", cport), (server[0], 0), _timeline(
        [("SYN_SENT", t[0]), ("ESTABLISHED", t[2]), ("CLOSE", t[4])], t[6]),
        ["rst_linger_abort"], retransmits)
    w.explain(t[7], "peer_reset", "The peer reset %s:%d -> %s:%d (an RST arrived in "
              "ESTABLISHED, sent because TCP_STATE): %s (pid %d)'s next call on the "
              "socket fails with ECONNRESET." % (*server, *client, COMM, SERVER_PID),
              2 * n + 2, server, client)
    w.event("destroy", t[8], "listener", server, client, ',"state":"CLOSE"', ssk)
    return 11 + retransmits, t[8] + 4000


def _connection(w, n, ts):
    """Connection n of the mix; returns when the next one starts."""
    cport = 1024 + n % 64000
    if n % 50 == 49:
        _, end = _aborted(w, n, ts, cport, 2)
    elif n % 10 == 9:
        _, end = _aborted(w, n, ts, cport, 0)
    else:
        _, end = _orderly(w, n, ts, cport)
    return end + 30_000


def write(path, events):
    """Write at least `events` kernel events (whole connections); returns the count."""
    with open(path, "w", buffering=1 << 20) as f:
        w = _Writer(f)
        ts, n = _EPOCH_MONO_NS, 0
        _state(w, ts, "listen", SERVER, ("0.0.0.0", 0), "CLOSE", "LISTEN",
               0xffff8881ffff0000)
        while w.events < events:
            ts = _connection(w, n, ts)
            n += 1
        w.summary()
        return w.events


def write_sample(f):
    """A few connections of each kind, for the schema check."""
    w = _Writer(f)
    ts = _EPOCH_MONO_NS
    for n in range(50):
        ts = _connection(w, n, ts)
    w.summary()


def keys_by_type(lines):
    """{type: sorted keys} for JSON lines (a reconstructed state is its own type)."""
    out = {}
    for line in lines:
        o = json.loads(line)
        t = o.get("type", "?") + (":reconstructed" if o.get("reconstructed") else "")
        if t not in out:
            out[t] = sorted(o)
    return out


def schema_diff(real, generated):
    """Where the generated recording's keys differ from tcpwatch's own, by type."""
    diffs = {}
    for t, keys in generated.items():
        if t in real and real[t] != keys:
            diffs[t] = {"missing": sorted(set(real[t]) - set(keys)),
                        "extra": sorted(set(keys) - set(real[t]))}
    return diffs
