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
  ctl.py flood SOCK MODE UIDS CONNS SECONDS
                               (as root) fork UIDS clients, uids 61000 up,
                               each with primary group hnvgw (a member by
                               its gid: no passwd entry needed), each opening
                               CONNS connections. Prints "held H refused R
                               maxuid M" once the daemon has answered or
                               kept them (M: most held by one uid), then for
                               SECONDS: MODE hold sends nothing, MODE
                               pipeline sends "show config" requests and
                               never reads a reply. Then prints "done".
"""
import grp
import json
import os
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


def flood_child(path, mode, uid, conns, seconds, gid, wfd):
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    socks = []
    for _ in range(conns):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
        except OSError:
            s.close()
            continue
        socks.append(s)
    time.sleep(1.0)
    held = []
    for s in socks:
        try:
            peek = s.recv(4096, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            peek = None
        except OSError:
            peek = b""
        if peek is None:
            held.append(s)
        else:
            s.close()
    os.write(wfd, b"%d %d\n" % (len(held), len(socks) - len(held)))
    os.close(wfd)
    req = b'{"v":1,"op":"show","what":"config"}\n' * 64
    deadline = time.monotonic() + seconds
    for s in held:
        s.setblocking(False)
    while time.monotonic() < deadline:
        if mode == "pipeline":
            for s in list(held):
                try:
                    s.send(req)
                except BlockingIOError:
                    pass
                except OSError:
                    held.remove(s)
        time.sleep(0.02)
    os._exit(0)


def cmd_flood(path, mode, uids, conns, seconds):
    gid = grp.getgrnam("hnvgw").gr_gid
    kids = []
    for i in range(uids):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                flood_child(path, mode, 61000 + i, conns, seconds, gid, w)
            finally:
                os._exit(1)
        os.close(w)
        kids.append((pid, r))
    held = refused = maxuid = 0
    for pid, r in kids:
        data = b""
        while True:
            chunk = os.read(r, 64)
            if not chunk:
                break
            data += chunk
        os.close(r)
        if data:
            h, f = (int(x) for x in data.split())
            held += h
            refused += f
            maxuid = max(maxuid, h)
    print("held %d refused %d maxuid %d" % (held, refused, maxuid), flush=True)
    for pid, _ in kids:
        os.waitpid(pid, 0)
    print("done", flush=True)
    return 0


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "raw":
        return cmd_raw(a[1], a[2])
    if len(a) == 3 and a[0] == "long":
        return cmd_long(a[1], int(a[2]))
    if len(a) == 3 and a[0] == "slow":
        return cmd_slow(a[1], float(a[2]))
    if len(a) == 6 and a[0] == "flood":
        return cmd_flood(a[1], a[2], int(a[3]), int(a[4]), float(a[5]))
    if len(a) == 3 and a[0] == "notify":
        return cmd_notify(a[1], float(a[2]))
    if len(a) == 3 and a[0] == "fake" and a[2] in ("mute", "garbage"):
        return cmd_fake(a[1], a[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
