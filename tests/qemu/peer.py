#!/usr/bin/env python3
"""peer.py: the TCP ends of the qemu guest tests, run in the peer VM's
namespace (the guest only has busybox nc).

  peer.py recv PORT OUT     accept one connection, read to EOF, write
                            "SHA256 BYTES" to OUT
  peer.py serve PORT FILE   accept one connection, send FILE, close
  peer.py send IP PORT FILE connect (retrying for 30 s), send FILE, half-close,
                            wait for the other side's close; prints
                            "SHA256 BYTES" sent
Every socket gives up after TIMEOUT seconds (env PEER_TIMEOUT, default 150).
"""
import hashlib
import os
import socket
import sys
import time

TIMEOUT = float(os.environ.get("PEER_TIMEOUT", "150"))


def listener(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(1)
    s.settimeout(TIMEOUT)
    c, _ = s.accept()
    c.settimeout(TIMEOUT)
    s.close()
    return c


def recv(port, out):
    c = listener(port)
    h, n = hashlib.sha256(), 0
    while True:
        b = c.recv(65536)
        if not b:
            break
        h.update(b)
        n += len(b)
    c.close()
    with open(out + ".tmp", "w") as f:
        f.write("%s %d\n" % (h.hexdigest(), n))
    os.rename(out + ".tmp", out)


def serve(port, path):
    c = listener(port)
    with open(path, "rb") as f:
        c.sendall(f.read())
    c.close()


def send(ip, port, path):
    deadline = time.monotonic() + 30
    while True:
        try:
            c = socket.create_connection((ip, port), timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    c.settimeout(TIMEOUT)
    data = open(path, "rb").read()
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)
    while c.recv(65536):
        pass
    c.close()
    print(hashlib.sha256(data).hexdigest(), len(data))


def main(a):
    if a[:1] == ["recv"] and len(a) == 3:
        recv(int(a[1]), a[2])
    elif a[:1] == ["serve"] and len(a) == 3:
        serve(int(a[1]), a[2])
    elif a[:1] == ["send"] and len(a) == 4:
        send(a[1], int(a[2]), a[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
