#!/usr/bin/env python3
"""record.py: a recording VICI proxy, for capturing what a real charon sends.

    record.py LISTEN UPSTREAM DIR

Listens on the unix socket LISTEN; each client connection gets its own
connection to charon's socket UPSTREAM and everything is relayed both ways.
Only what charon sends is written, as DIR/NN.s2c (NN: the connection's
number, from 01): requests can hold secrets (load-shared carries the PSK)
and are not kept. Ends on SIGTERM. Used by tests/vici/test_charon.sh when
VICI_RECORD=DIR is set; the files in tests/data/vici/ were made this way.
"""
import os
import signal
import socket
import sys
import threading


def pipe(src, dst, out):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if out:
                out.write(data)
                out.flush()
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def serve(client, upstream, path):
    up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        up.connect(upstream)
    except OSError:
        client.close()
        return
    with open(path, "wb") as out:
        t = threading.Thread(target=pipe, args=(client, up, None), daemon=True)
        t.start()
        pipe(up, client, out)
        t.join(timeout=1)
    client.close()
    up.close()


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: record.py LISTEN UPSTREAM DIR")
    listen, upstream, outdir = sys.argv[1:]
    os.makedirs(outdir, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.unlink(listen)
    except FileNotFoundError:
        pass
    srv.bind(listen)
    srv.listen(16)
    n = 0
    while True:
        client, _ = srv.accept()
        n += 1
        path = os.path.join(outdir, "%02d.s2c" % n)
        threading.Thread(target=serve, args=(client, upstream, path), daemon=True).start()


if __name__ == "__main__":
    main()
