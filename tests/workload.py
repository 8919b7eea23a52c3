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
import socket
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
    else:
        sys.exit("unknown role " + role)


if __name__ == "__main__":
    main()
