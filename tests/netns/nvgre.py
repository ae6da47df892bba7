#!/usr/bin/python3
"""nvgre.py: NVGRE frames crafted and decoded with scapy, for the netns lab.

Not our encoder: every frame here is built from scapy's own Ether/IP/GRE
layers, so the lab checks hnvgwd against an independent implementation.

  nvgre.py send IFACE DSTMAC KIND [COUNT]
      sends COUNT (default 3) copies of one hostile or valid frame towards
      host 1 (PA 192.168.4.11); KIND is one of KINDS below.
  nvgre.py serve IFACE DSTMAC
      the same, for each line "KIND COUNT" read from stdin, answering
      "sent KIND" on stdout after each.
  nvgre.py echo IFACE DSTMAC SRCPA COUNT FLOWID...
      sends ICMP echo requests from a fake VM (10.0.0.9, 06:06:00:00:00:09,
      VSID 5001) behind PA SRCPA to Blue1 (10.0.0.5), one per FLOWID, and
      decodes the NVGRE replies host 1 sends back (sniffed on IFACE); exits
      1 unless every request got a well-formed reply.
  nvgre.py replay IFACE PCAP
      writes the frames of PCAP onto IFACE unchanged except for the outer
      IPv4 header checksum, recomputed (the capture has 0 there, which a
      kernel receiving it would drop), and prints the inner frames in hex.
Run it as root inside the sending namespace (ip netns exec).
"""
import sys
import threading
import time

from scapy.all import (  # pylint: disable=no-name-in-module
    GRE, ICMP, IP, AsyncSniffer, Dot1Q, Ether, Raw, bytes_hex, rdpcap, sendp)

H1 = "192.168.4.11"
H2 = "192.168.4.22"
BLUE1 = ("10.0.0.5", "06:06:00:00:00:05")
BLUE2 = ("10.0.0.7", "06:06:00:00:00:07")
RED2 = ("10.0.0.7", "08:08:00:00:00:07")
FAKE = ("10.0.0.9", "06:06:00:00:00:09")
TEB = 0x6558


def key(vsid, flow):
    return vsid << 8 | flow


def inner(src, dst, ident=0x4e56, tag=False):
    """A customer ICMP echo request from src to dst ((ca, mac) pairs)."""
    eth = Ether(src=src[1], dst=dst[1])
    if tag:
        eth = eth / Dot1Q(vlan=5)
    return eth / IP(src=src[0], dst=dst[0], ttl=64) / ICMP(id=ident, seq=1) / Raw(b"hnvgw-hostile" * 2)


def outer(dmac, src_pa, gre, payload):
    return Ether(dst=dmac) / IP(src=src_pa, dst=H1, ttl=64, flags="DF") / gre / payload


def gre(vsid=5001, flow=7, **kw):
    return GRE(key_present=1, proto=TEB, key=key(vsid, flow), **kw)


def truncated(dmac, src_pa, gre_bytes):
    """Outer IPv4 consistent with the frame; what follows it is cut."""
    full = bytes(gre() / inner(BLUE2, BLUE1))
    return Ether(dst=dmac) / IP(src=src_pa, dst=H1, ttl=64, flags="DF", proto=47) / Raw(full[:gre_bytes])


def kinds(dmac):
    """KIND -> frame. All but 'valid' must be dropped by host 1."""
    b2 = inner(BLUE2, BLUE1)
    full = bytes(gre() / b2)
    return {
        # Blue2's frame, from a PA that is not Blue2's (the attacker's own,
        # then a made-up one): anti-spoofing
        "spoof_pa": outer(dmac, "192.168.4.99", gre(), b2),
        "spoof_pa2": outer(dmac, "192.168.4.33", gre(), b2),
        "vsid_unknown": outer(dmac, H2, gre(vsid=7777), b2),
        "vsid_reserved": outer(dmac, H2, gre(vsid=0x100), b2),
        # Blue2's frame labelled with Red's VSID: Blue2's MAC has no record there
        "vsid_other_tenant": outer(dmac, H2, gre(vsid=6001), b2),
        # Red2's own frame (valid in 6001) aimed at Blue1's MAC: no such port in 6001
        "vsid_other_tenant_dst": outer(dmac, H2, gre(vsid=6001), inner(RED2, BLUE1)),
        "inner_vlan": outer(dmac, H2, gre(), inner(BLUE2, BLUE1, tag=True)),
        "gre_csum": outer(dmac, H2, gre(chksum_present=1), b2),
        "gre_seq": outer(dmac, H2, gre(seqnum_present=1, seqence_number=1), b2),
        "gre_ver1": outer(dmac, H2, gre(version=1), b2),
        "gre_proto": outer(dmac, H2, GRE(key_present=1, proto=0x0800, key=key(5001, 7)), b2),
        # truncated after 4 and 7 GRE bytes, inside the inner Ethernet
        # header (8+10), inside the inner IPv4 header (8+14+10), and inside
        # the inner IPv4 payload (total length beyond the data)
        "trunc_gre4": truncated(dmac, H2, 4),
        "trunc_gre7": truncated(dmac, H2, 7),
        "trunc_eth": truncated(dmac, H2, 8 + 10),
        "trunc_ip_hdr": truncated(dmac, H2, 8 + 14 + 10),
        "trunc_ip_payload": truncated(dmac, H2, len(full) - 12),
        # positive control: a well-formed frame of Blue2, from its PA
        "valid": outer(dmac, H2, gre(), inner(BLUE2, BLUE1, ident=0x600d)),
        # also valid: GRE bits 6-12 are reserved and ignored on receipt (0x23f8)
        "valid_rsvd": outer(dmac, H2, gre(recursion_control=3, flags=0x1f), inner(BLUE2, BLUE1, ident=0x600e)),
    }


def cmd_send(iface, dmac, kind, count=3):
    frame = kinds(dmac)[kind]
    sendp(frame, iface=iface, count=int(count), inter=0.01, verbose=False)


def cmd_serve(iface, dmac):
    """One line "KIND COUNT" at a time from stdin; answers "sent KIND" once
    the frames are written (scapy loads once for a whole test)."""
    frames = kinds(dmac)
    for line in sys.stdin:
        kind, count = line.split()
        sendp(frames[kind], iface=iface, count=int(count), inter=0.01, verbose=False)
        print("sent", kind, flush=True)


def cmd_echo(iface, dmac, src_pa, count, *flows):
    count = int(count)
    flows = [int(f, 0) for f in flows]
    ready = threading.Event()
    sniffer = AsyncSniffer(iface=iface, filter=f"ip proto 47 and src host {H1} and dst host {src_pa}",
                           started_callback=ready.set)
    sniffer.start()
    if not ready.wait(10):
        sys.exit("sniffer did not start")
    sent = {}
    for i, flow in enumerate(flows):
        for seq in range(1, count + 1):
            ident = 0x7700 + i
            req = (Ether(dst=dmac) / IP(src=src_pa, dst=H1, ttl=64, flags="DF")
                   / GRE(key_present=1, proto=TEB, key=key(5001, flow))
                   / Ether(src=FAKE[1], dst=BLUE1[1])
                   / IP(src=FAKE[0], dst=BLUE1[0], ttl=64)
                   / ICMP(type=8, id=ident, seq=seq) / Raw(b"scapy-interop-%d" % flow))
            sendp(req, iface=iface, verbose=False)
            sent[(ident, seq)] = flow
            time.sleep(0.05)
    deadline = time.time() + 5
    while time.time() < deadline and len(sniffer.results or []) < len(sent):
        time.sleep(0.1)
    time.sleep(0.3)
    pkts = sniffer.stop()
    got = {}
    bad = []
    for p in pkts:
        g = p[GRE]
        word = bytes(g)[:2]
        why = []
        if word != b"\x20\x00":
            why.append("GRE flags/version %s, want 2000" % word.hex())
        if g.proto != TEB:
            why.append("GRE protocol 0x%04x" % g.proto)
        if not g.key_present or g.key is None:
            why.append("no key")
        elif g.key >> 8 != 5001:
            why.append("key 0x%08x: VSID %d" % (g.key, g.key >> 8))
        if p[IP].flags.DF != 1:
            why.append("outer DF not set")
        e = g.payload
        if not isinstance(e, Ether) or e.src != BLUE1[1] or e.dst != FAKE[1] or e.type != 0x0800:
            why.append("inner Ethernet %r" % (e.summary() if e else None))
        elif ICMP not in e or e[IP].src != BLUE1[0] or e[IP].dst != FAKE[0] or e[ICMP].type != 0:
            why.append("inner packet %s" % e.summary())
        else:
            ip_in = e[IP]
            chk = IP(bytes(ip_in)).chksum
            ip_in2 = IP(bytes(ip_in))
            del ip_in2.chksum
            if IP(bytes(ip_in2)).chksum != chk:
                why.append("inner IPv4 checksum wrong")
            if e[Raw].load != b"scapy-interop-%d" % sent.get((e[ICMP].id, e[ICMP].seq), -1):
                why.append("echo payload changed")
        if why:
            bad.append("%s: %s" % (p.summary(), "; ".join(why)))
            continue
        got[(e[ICMP].id, e[ICMP].seq)] = g.key & 0xff
    for b in bad:
        print("BAD", b)
    missing = sorted(set(sent) - set(got))
    flows_seen = sorted(set(got.values()))
    print("sent %d requests with FlowIDs %s; %d well-formed NVGRE replies decoded, reply FlowIDs %s"
          % (len(sent), flows, len(got), flows_seen))
    if missing:
        print("no reply for", missing)
    sys.exit(0 if not bad and not missing else 1)


def cmd_replay(iface, pcap):
    for p in rdpcap(pcap):
        p = Ether(bytes(p))
        del p[IP].chksum  # recomputed by scapy on build; nothing else changes
        raw = bytes(p)
        sendp(Ether(raw), iface=iface, verbose=False)
        print(bytes_hex(bytes(p[GRE].payload)).decode())


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("send", "serve", "echo", "replay", "kinds"):
        sys.exit(__doc__)
    if sys.argv[1] == "kinds":
        print(" ".join(kinds("00:00:00:00:00:00")))
        sys.exit(0)
    {"send": cmd_send, "serve": cmd_serve, "echo": cmd_echo, "replay": cmd_replay}[sys.argv[1]](*sys.argv[2:])
