#!/usr/bin/env python3
"""ctl.py: raw control-socket clients for the hnvgwd integration tests.

  ctl.py raw SOCK LINE         send LINE (Python escapes allowed: \\n, \\x00)
                               plus a newline; print the reply line (and for
                               "ok":false its error on stderr). Exit 0 for
                               "ok":true, 1 for "ok":false, 3 when the
                               connection closed without a reply.
  ctl.py long SOCK BYTES       send BYTES bytes without a newline; print the
                               reply. Exit 1 when the daemon answered with an
                               error and closed the connection, else 3.
  ctl.py slow SOCK SECONDS     send "show counters" requests and read no
                               reply; prints "dropped" when the daemon hangs
                               up within SECONDS.
  ctl.py notify NAME TIMEOUT   bind the abstract datagram socket @NAME (as
                               systemd's $NOTIFY_SOCKET) and print the first
                               datagram received within TIMEOUT seconds.
  ctl.py fake SOCK MODE        a broken hnvgwd at SOCK until killed: each
                               client's first request line gets no reply
                               (MODE mute: the connection is closed) or a
                               line that is not the protocol (MODE garbage).
"""
import json
import socket
import sys
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    return s


def read_line(s):
    buf = b""
    while b"\n" not in buf:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            chunk = b""
        if not chunk:
            return buf if buf else None
        buf += chunk
    return buf.split(b"\n", 1)[0]


def closed(s):
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def cmd_raw(path, line):
    s = connect(path)
    data = line.encode("utf-8").decode("unicode_escape").encode("latin-1")
    s.sendall(data + b"\n")
    reply = read_line(s)
    if reply is None:
        print("(no reply)")
        return 3
    print(reply.decode("utf-8", "replace"))
    obj = json.loads(reply)
    if obj.get("v") != 1:
        return 3
    if obj.get("ok") is True:
        return 0
    print(obj.get("error"), file=sys.stderr)
    return 1


def cmd_long(path, n):
    s = connect(path)
    try:
        s.sendall(b"x" * n)
    except (BrokenPipeError, ConnectionResetError):
        pass
    reply = read_line(s)
    if reply is None:
        print("(no reply)")
        return 3
    print(reply.decode("utf-8", "replace"))
    obj = json.loads(reply)
    return 1 if obj.get("ok") is False and closed(s) else 3


def cmd_slow(path, seconds):
    """Sends requests and never reads a reply, until the daemon hangs up."""
    s = connect(path)
    req = b'{"v":1,"op":"show","what":"counters"}\n' * 100
    sent = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            s.sendall(req)
        except (BrokenPipeError, ConnectionResetError):
            print("dropped")
            return 0
        except socket.timeout:
            pass
        sent += 100
        time.sleep(0.01)
    print("not dropped after %d requests" % sent)
    return 0


def cmd_notify(name, timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("\0" + name)
    s.settimeout(timeout)
    print("listening", flush=True)
    try:
        data = s.recv(4096)
    except socket.timeout:
        print("(nothing)")
        return 1
    print(data.decode("utf-8", "replace").replace("\n", " "))
    return 0


def cmd_fake(path, mode):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)
    while True:
        c, _ = srv.accept()
        c.settimeout(5)
        try:
            read_line(c)
            if mode == "garbage":
                c.sendall(b"not the protocol\n")
        except OSError:
            pass
        c.close()


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "raw":
        return cmd_raw(a[1], a[2])
    if len(a) == 3 and a[0] == "long":
        return cmd_long(a[1], int(a[2]))
    if len(a) == 3 and a[0] == "slow":
        return cmd_slow(a[1], float(a[2]))
    if len(a) == 3 and a[0] == "notify":
        return cmd_notify(a[1], float(a[2]))
    if len(a) == 3 and a[0] == "fake" and a[2] in ("mute", "garbage"):
        return cmd_fake(a[1], a[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
