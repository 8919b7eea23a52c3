#!/usr/bin/env python3
"""Small, ordinary client and server programs that the tests trace.

Each process prints one JSON line when it is ready ({"ready": ..., "pid": ...}),
then waits for a line on stdin before it touches the network, so that
tcpwatch can attach to its pid first. A server's "go" line is empty and it
answers with the port it listens on; a client's "go" line is the port to
connect to. The last line each prints is its result: what the application
saw (return values, errno names).
"""
import errno
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time


def say(**kw):
    print(json.dumps(kw), flush=True)


def wait_go():
    return sys.stdin.readline().strip()


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def err_name(e):
    return errno.errorcode.get(e.errno, str(e.errno))


def server(mode, addr):
    say(ready="server", pid=os.getpid())
    wait_go()
    ls = socket.socket(family_of(addr), socket.SOCK_STREAM)
    ls.bind((addr, 0))
    ls.listen(16)
    say(port=ls.getsockname()[1])
    conn, peer = ls.accept()
    result = {"peer_port": peer[1]}
    if mode == "normal":
        data = conn.recv(100)
        while data:
            data = conn.recv(100)
        result["read_eof"] = True
        conn.close()
    elif mode == "close-unread":
        # Wait until the peer's data is queued, then close without reading.
        select.select([conn], [], [], 5)
        time.sleep(0.05)
        conn.close()
    elif mode == "hold":
        wait_go()
        conn.close()
    elif mode == "leak":
        # Reads to EOF and then never closes: CLOSE_WAIT until told.
        while conn.recv(100):
            pass
        say(eof=True)
        wait_go()
        conn.close()
    elif mode == "linger-abort":
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    elif mode == "close-early":
        conn.close()
    elif mode == "reply-after-eof":
        data = b""
        chunk = conn.recv(100)
        while chunk:
            data += chunk
            chunk = conn.recv(100)
        conn.sendall(b"reply to " + data)
        conn.close()
    time.sleep(0.3)
    ls.close()
    say(result=result)


def client(mode, addr):
    say(ready="client", pid=os.getpid())
    port = int(wait_go())
    s = socket.socket(family_of(addr), socket.SOCK_STREAM)
    result = {}
    try:
        s.connect((addr, port))
    except OSError as e:
        result["connect_errno"] = err_name(e)
        s.close()
        say(result=result)
        return
    result["local_port"] = s.getsockname()[1]
    if mode == "normal":
        s.sendall(b"hello")
        s.close()
    elif mode == "write-twice":
        time.sleep(0.2)     # the server has closed by now
        results = []
        for _ in range(2):
            try:
                results.append(s.send(b"more data"))
            except OSError as e:
                results.append(err_name(e))
            time.sleep(0.1)
        result["writes"] = results
        result["read"] = len(s.recv(100))
        s.close()
    elif mode == "half-close":
        s.sendall(b"request")
        s.shutdown(socket.SHUT_WR)
        reply = b""
        chunk = s.recv(100)
        while chunk:
            reply += chunk
            chunk = s.recv(100)
        result["reply"] = reply.decode()
        s.close()
    elif mode == "options":
        options(s, addr, port, result)
    elif mode == "idle-reset":
        time.sleep(0.3)
        try:
            result["recv"] = len(s.recv(100))
        except OSError as e:
            result["recv_errno"] = err_name(e)
        s.close()
    elif mode == "expect-reset":
        s.sendall(b"data the server will never read")
        time.sleep(0.3)
        try:
            result["recv"] = len(s.recv(100))
        except OSError as e:
            result["recv_errno"] = err_name(e)
        s.close()
    time.sleep(0.3)
    say(result=result)


def churn(count, addr):
    """count connections to a server in this same process, client closing first."""
    say(ready="churn", pid=os.getpid())
    wait_go()
    ls = socket.socket(family_of(addr), socket.SOCK_STREAM)
    ls.bind((addr, 0))
    ls.listen(128)
    port = ls.getsockname()[1]
    say(port=port)
    for _ in range(count):
        c = socket.create_connection((addr, port))
        a, _ = ls.accept()
        c.close()
        a.recv(1)
        a.close()
    ls.close()
    time.sleep(0.3)
    say(result={"connections": count})


def holder():
    """Holds an established connection and a listener before tracing starts."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    port = ls.getsockname()[1]
    c = socket.create_connection(("127.0.0.1", port))
    a, _ = ls.accept()
    say(ready="holder", pid=os.getpid(), port=port,
        client_port=c.getsockname()[1])
    wait_go()
    c.close()               # the accepted socket, owned before attach, gets the FIN
    a.recv(10)
    a.close()
    c2 = socket.create_connection(("127.0.0.1", port))
    a2, _ = ls.accept()     # a new child of the listener that existed before attach
    new_port = c2.getsockname()[1]
    c2.close()
    a2.recv(10)
    a2.close()
    ls.close()
    time.sleep(0.3)
    say(result={"new_client_port": new_port})


# What the "options" client sets, in order; TCP_NODELAY is one tcpwatch ignores.
OPTIONS = [
    (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
    (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 7),
    (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 3),
    (socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 4),
    (socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 5000),
    (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),
    (socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 0, 5)),
    (socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)),
]


def options(s, addr, port, result):
    """bind() to the server's port (EADDRINUSE), options, then a half-close."""
    b = socket.socket(family_of(addr), socket.SOCK_STREAM)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        b.bind((addr, port))
    except OSError as e:
        result["bind_errno"] = err_name(e)
    b.close()
    for level, name, value in OPTIONS:
        s.setsockopt(level, name, value)
    s.shutdown(socket.SHUT_WR)
    while s.recv(100):
        pass
    result["read_eof"] = True
    s.close()


def prefork(addr):
    """A listener shared with a worker forked after attach: the worker accepts."""
    say(ready="prefork", pid=os.getpid())
    wait_go()
    ls = socket.socket(family_of(addr), socket.SOCK_STREAM)
    ls.bind((addr, 0))
    ls.listen(16)
    worker = os.fork()
    if worker == 0:
        conn, _ = ls.accept()
        conn.close()
        os._exit(0)
    say(port=ls.getsockname()[1])
    os.waitpid(worker, 0)
    time.sleep(0.3)
    ls.close()
    say(result={"worker": worker})


def private_netns():
    """In a network namespace of our own (the test runs us under unshare -n):
    bring loopback up and make orphaned FIN_WAIT2 sockets expire in seconds.
    Only when asked: the sysctl is the namespace's, never the host's."""
    if os.environ.get("TW_PRIVATE_NETNS") != "1":
        return
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    with open("/proc/sys/net/ipv4/tcp_fin_timeout", "w") as f:
        f.write(os.environ.get("TW_FIN_TIMEOUT", "60"))


def netns_pair(mode, addr):
    """Both ends of one connection, with the 4-tuple the "go" line names
    ("SERVER_PORT CLIENT_PORT"), in a network namespace of our own: several
    of these make the same 4-tuple in different namespaces, as containers
    do on their own loopback. hold: established, until the next line.
    close: the server closes first (its side keeps TIME_WAIT), the client
    reads EOF and closes; then waits for a line (the namespace, and its
    TIME_WAIT, live as long as we do). remnant-rst: the server closes first,
    the client reads EOF and, once the server's orphan is a timewait remnant
    in FIN_WAIT2 (run with TW_FIN_TIMEOUT above 60: the orphan stays a full
    socket for the excess, then hands over), writes: the remnant answers
    with an RST."""
    private_netns()
    say(ready="netns-pair", pid=os.getpid())
    sport, cport = map(int, wait_go().split())
    ls = socket.socket(family_of(addr), socket.SOCK_STREAM)
    ls.bind((addr, sport))
    ls.listen(1)
    c = socket.socket(family_of(addr), socket.SOCK_STREAM)
    c.bind((addr, cport))
    c.connect((addr, sport))
    a, _ = ls.accept()
    if mode == "close":
        a.close()
        eof = c.recv(100) == b""
        c.close()
        say(closed=eof)
    elif mode == "remnant-rst":
        a.close()
        eof = c.recv(100) == b""
        remnant = ["ss", "-Htano", "state", "fin-wait-2", "sport = :%d" % sport]
        deadline = time.monotonic() + 10
        while "timewait" not in subprocess.run(remnant, capture_output=True,
                                               text=True).stdout:
            if time.monotonic() > deadline:
                sys.exit("no timewait remnant in FIN_WAIT2")
            time.sleep(0.05)
        c.send(b"after your close")
        # Past EOF, read() says nothing of the reset: the next write does.
        time.sleep(0.1)
        try:
            c.send(b"again")
            reset = False
        except (ConnectionResetError, BrokenPipeError):
            reset = True
        say(closed=eof, reset=reset)
    else:
        say(established=True)
    wait_go()
    say(result={"mode": mode})


def incident(addr):
    """A server already in trouble when tracing starts. On its port, each
    connection tagged by its first byte: W in CLOSE_WAIT (the peer closed,
    the server did not), F in FIN_WAIT2 (the server shut its side down, the
    peer has not), E established, T in TIME_WAIT (the server closed first)
    and O an orphaned FIN_WAIT2 (the server closed, the peer never does).
    The peers live in a helper forked before any socket exists: not the
    server's, not traced."""
    private_netns()
    ls = socket.socket(family_of(addr), socket.SOCK_STREAM)
    ls.bind((addr, 0))
    ls.listen(16)
    port = ls.getsockname()[1]
    tags = b"WFETO"
    r, w = os.pipe()
    alive_r, alive_w = os.pipe()    # EOF for the helper when we are gone
    helper = os.fork()
    if helper == 0:
        ls.close()
        os.close(r)
        os.close(alive_w)
        held = {}
        for tag in tags:
            c = socket.create_connection((addr, port))
            c.sendall(bytes([tag]))
            held[tag] = c
        held[ord("W")].close()
        os.write(w, b"x")
        t = held.pop(ord("T"))
        while t.recv(100):
            pass
        t.close()
        os.write(w, b"x")
        os.read(alive_r, 1)
        os._exit(0)
    os.close(w)
    os.close(alive_r)
    conns, peers = {}, {}
    for _ in tags:
        a, peer = ls.accept()
        tag = a.recv(1).decode()
        conns[tag], peers[tag] = a, peer[1]
    os.read(r, 1)
    assert conns["W"].recv(1) == b""        # the peer's FIN: CLOSE_WAIT
    conns["F"].shutdown(socket.SHUT_WR)
    conns.pop("T").close()
    os.read(r, 1)                           # the peer closed too: TIME_WAIT
    conns.pop("O").close()
    time.sleep(0.2)
    say(ready="incident", pid=os.getpid(), port=port, peers=peers)
    wait_go()
    for c in conns.values():
        c.close()
    ls.close()
    os.kill(helper, signal.SIGKILL)
    os.waitpid(helper, 0)
    time.sleep(0.3)
    say(result={"closed": sorted(conns)})


def leaker(count, addr):
    """count connections in CLOSE_WAIT: their peers (in this process too)
    closed, the server side never does, until told."""
    private_netns()
    ls = socket.socket(family_of(addr), socket.SOCK_STREAM)
    ls.bind((addr, 0))
    ls.listen(128)
    port = ls.getsockname()[1]
    leaked = []
    for _ in range(count):
        c = socket.create_connection((addr, port))
        a, _ = ls.accept()
        c.close()
        leaked.append(a)
    time.sleep(0.2)
    say(ready="leaker", pid=os.getpid(), port=port)
    wait_go()
    for a in leaked:
        a.close()
    ls.close()
    say(result={"leaked": count})


def forker(addr):
    """Forks a child after go and exits at once; the child, a second later,
    makes one connection to itself, then exits."""
    say(ready="forker", pid=os.getpid())
    delay = float(wait_go() or "1")
    child = os.fork()
    if child:
        say(child=child)
        os._exit(0)
    time.sleep(delay)
    ls = socket.socket(family_of(addr), socket.SOCK_STREAM)
    ls.bind((addr, 0))
    ls.listen(1)
    c = socket.create_connection(ls.getsockname()[:2])
    a, _ = ls.accept()
    c.close()
    a.close()
    ls.close()
    time.sleep(0.3)
    os._exit(0)


def exec_listener(addr):
    """Listens, then execs another program under another name that accepts
    on the inherited listener: the process's name changes, its pid does not."""
    say(ready="exec-listener", pid=os.getpid())
    wait_go()
    ls = socket.socket(family_of(addr), socket.SOCK_STREAM)
    ls.bind((addr, 0))
    ls.listen(4)
    os.set_inheritable(ls.fileno(), True)
    say(port=ls.getsockname()[1])
    wait_go()
    # The new name is the file name exec'd: a link to the interpreter.
    link = os.path.join(os.environ["TW_EXEC_DIR"], "reexeced")
    if not os.path.exists(link):
        os.symlink(sys.executable, link)
    os.execv(link, [link, os.path.abspath(__file__), "after-exec",
                    str(ls.fileno())])


def after_exec(fd):
    ls = socket.socket(fileno=int(fd))
    say(exec_done=True)
    a, _ = ls.accept()
    a.close()
    ls.close()
    time.sleep(0.3)
    say(result={"comm": open("/proc/self/comm").read().strip()})


def main():
    name = os.environ.get("TW_COMM")
    if name is not None:
        # Any user can name a process anything: tests use hostile names.
        with open("/proc/self/comm", "wb") as f:
            f.write(name.encode("latin-1"))
    role = sys.argv[1]
    if role == "holder":
        holder()
        return
    mode = sys.argv[2]
    addr = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
    if role == "server":
        server(mode, addr)
    elif role == "client":
        client(mode, addr)
    elif role == "churn":
        churn(int(mode), addr)
    elif role == "prefork":
        prefork(addr)
    elif role == "incident":
        incident(addr)
    elif role == "netns-pair":
        netns_pair(mode, addr)
    elif role == "leaker":
        leaker(int(mode), addr)
    elif role == "forker":
        forker(addr)
    elif role == "exec-listener":
        exec_listener(addr)
    elif role == "after-exec":
        after_exec(mode)
    else:
        sys.exit("unknown role " + role)


if __name__ == "__main__":
    main()
