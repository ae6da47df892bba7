#!/usr/bin/python3
"""mkpcap.py: writes a classic pcap (Ethernet) of crafted frames for replay tests.

Run with Debian's /usr/bin/python3 (python3-scapy is a Debian package; other
pythons on PATH may not have it). Usage:

  mkpcap.py OUT.pcap vm-icmp  SRC_MAC DST_MAC SRC_IP DST_IP [--size N] [--df]
  mkpcap.py OUT.pcap vm-icmp6 SRC_MAC DST_MAC SRC_IP6 DST_IP6 [--size N]
  mkpcap.py OUT.pcap vm-arp   SRC_MAC SRC_IP TARGET_IP
  mkpcap.py OUT.pcap vm-ns    SRC_MAC SRC_IP6 TARGET_IP6 [--dad]
  mkpcap.py OUT.pcap nvgre    OUTER_SRC OUTER_DST VSID FLOWID
                              INNER_SRC_MAC INNER_DST_MAC INNER_SRC_IP INNER_DST_IP

Common options: --count N (repeat; ICMP sequence numbers count up from 1),
--append (add to OUT.pcap instead of replacing it; the link type must match).

vm-icmp/vm-icmp6: an ICMP echo request; --size N is the IP packet length
(IPv4 total length, or IPv6 header + payload), default 84 / 104 (a 56-byte
ping). --df sets IPv4 Don't Fragment. --ttl sets TTL / hop limit.
--vlan VID adds an 802.1Q tag.

vm-arp: broadcast ARP request. vm-ns: neighbour solicitation to the target's
solicited-node multicast address with a source link-layer address option;
with --dad the source is :: and the option is left out (DAD probe).

nvgre: outer Ethernet + IPv4 or IPv6 (by the address form) with protocol 47,
GRE flags 0x2000, protocol 0x6558, key VSID<<8 | FLOWID, then the inner
Ethernet frame with an ICMP echo (IPv4 or IPv6 by the inner address form;
--size, --df, --ttl, --vlan apply to the inner frame). Outer knobs for
negative tests: --outer-smac, --outer-dmac, --outer-ttl, --outer-tos,
--inner-tos, --outer-frag (IPv4 MF set), --outer-bad-csum (IPv4 header
checksum off by one), --gre-flags HEX, --gre-proto HEX. The GRE header is
written as RFC 2890 lays it out for the flags given (checksum, key and
sequence fields present per the C, K and S bits).

MACs may be written 060600000005, 06-06-00-00-00-05 or 06:06:00:00:00:05.
Timestamps start at 1700000000 s and advance 1 ms per frame, so output is
reproducible.
"""

import argparse
import ipaddress
import struct
import sys

from scapy.layers.inet import ICMP, IP
from scapy.layers.inet6 import (
    ICMPv6EchoRequest,
    ICMPv6ND_NS,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Raw
from scapy.utils import PcapWriter

DEFAULT_OUTER_SMAC = "02:00:00:00:00:01"
DEFAULT_OUTER_DMAC = "02:00:00:00:00:02"
ECHO_ID = 0x4856  # "HV"
TS_START = 1700000000.0


def mac(text):
    """Parses a MAC in any of the three accepted forms into aa:bb:... form."""
    digits = text.replace(":", "").replace("-", "").lower()
    if len(digits) != 12 or any(c not in "0123456789abcdef" for c in digits):
        raise argparse.ArgumentTypeError(f"bad MAC {text!r}")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def ip_any(text):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad IP address {text!r}") from None


def ip4(text):
    a = ip_any(text)
    if a.version != 4:
        raise argparse.ArgumentTypeError(f"not an IPv4 address: {text!r}")
    return a


def ip6(text):
    a = ip_any(text)
    if a.version != 6:
        raise argparse.ArgumentTypeError(f"not an IPv6 address: {text!r}")
    return a


def uint(limit):
    def parse(text):
        try:
            v = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad number {text!r}") from None
        if not 0 <= v <= limit:
            raise argparse.ArgumentTypeError(f"{text} is outside 0..{limit}")
        return v

    return parse


def payload(n):
    return bytes((i * 7 + 1) & 0xFF for i in range(n))


def echo(src, dst, size, seq, df, ttl, tos):
    """An ICMP(v6) echo request IP packet of exactly size bytes."""
    if src.version != dst.version:
        sys.exit(f"mkpcap: {src} and {dst} are of different families")
    if src.version == 4:
        if size is None:
            size = 84
        if size < 28:
            sys.exit(f"mkpcap: --size {size} is below 28 (IPv4 + ICMP headers)")
        return IP(src=str(src), dst=str(dst), ttl=ttl, tos=tos, flags="DF" if df else 0) / ICMP(
            type=8, id=ECHO_ID, seq=seq
        ) / Raw(payload(size - 28))
    if size is None:
        size = 104
    if size < 48:
        sys.exit(f"mkpcap: --size {size} is below 48 (IPv6 + ICMPv6 headers)")
    return IPv6(src=str(src), dst=str(dst), hlim=ttl, tc=tos) / ICMPv6EchoRequest(
        id=ECHO_ID, seq=seq
    ) / Raw(payload(size - 48))


def ether(src, dst, vlan, inner):
    if vlan is not None:
        return Ether(src=src, dst=dst) / Dot1Q(vlan=vlan) / inner
    return Ether(src=src, dst=dst) / inner


def solicited_node(target):
    """ff02::1:ffXX:XXXX from the target's low 24 bits, and its 33:33 MAC."""
    group = ipaddress.IPv6Address("ff02::1:ff00:0") + (int(target) & 0xFFFFFF)
    return group, "33:33:" + ":".join(f"{b:02x}" for b in group.packed[12:])


def gre_header(flags, proto, key):
    """GRE per RFC 2890: optional checksum (0 here), key and sequence fields."""
    h = struct.pack("!HH", flags, proto)
    if flags & 0x8000:
        h += struct.pack("!HH", 0, 0)
    if flags & 0x2000:
        h += struct.pack("!I", key)
    if flags & 0x1000:
        h += struct.pack("!I", 0)
    return h


def build(a, seq):
    if a.kind == "vm-icmp":
        return ether(a.src_mac, a.dst_mac, a.vlan,
                     echo(a.src_ip, a.dst_ip, a.size, seq, a.df, a.ttl, a.tos))
    if a.kind == "vm-icmp6":
        return ether(a.src_mac, a.dst_mac, a.vlan,
                     echo(a.src_ip, a.dst_ip, a.size, seq, False, a.ttl, a.tos))
    if a.kind == "vm-arp":
        return ether(a.src_mac, "ff:ff:ff:ff:ff:ff", a.vlan, ARP(
            op=1, hwsrc=a.src_mac, psrc=str(a.src_ip), hwdst="00:00:00:00:00:00",
            pdst=str(a.target_ip)))
    if a.kind == "vm-ns":
        group, group_mac = solicited_node(a.target_ip)
        src = "::" if a.dad else str(a.src_ip)
        ns = IPv6(src=src, dst=str(group), hlim=255) / ICMPv6ND_NS(tgt=str(a.target_ip))
        if not a.dad:
            ns = ns / ICMPv6NDOptSrcLLAddr(lladdr=a.src_mac)
        return ether(a.src_mac, group_mac, a.vlan, ns)
    # nvgre
    if a.outer_src.version != a.outer_dst.version:
        sys.exit(f"mkpcap: {a.outer_src} and {a.outer_dst} are of different families")
    inner = ether(a.inner_src_mac, a.inner_dst_mac, a.vlan,
                  echo(a.inner_src_ip, a.inner_dst_ip, a.size, seq, a.df, a.ttl, a.inner_tos))
    gre = gre_header(a.gre_flags, a.gre_proto, a.vsid << 8 | a.flowid)
    body = Raw(gre + bytes(inner))
    if a.outer_src.version == 4:
        outer = IP(src=str(a.outer_src), dst=str(a.outer_dst), proto=47, ttl=a.outer_ttl,
                   tos=a.outer_tos, flags="MF" if a.outer_frag else 0) / body
        if a.outer_bad_csum:
            frame = bytearray(bytes(Ether(src=a.outer_smac, dst=a.outer_dmac) / outer))
            csum = (frame[24] << 8 | frame[25]) + 1
            frame[24:26] = struct.pack("!H", csum & 0xFFFF)
            # Re-dissected so the writer knows the link type; bytes unchanged.
            return Ether(bytes(frame))
    else:
        outer = IPv6(src=str(a.outer_src), dst=str(a.outer_dst), nh=47, hlim=a.outer_ttl,
                     tc=a.outer_tos) / body
    return Ether(src=a.outer_smac, dst=a.outer_dmac) / outer


def parse_args(argv):
    p = argparse.ArgumentParser(prog="mkpcap.py", description=__doc__.split("\n")[0])
    p.add_argument("out", metavar="OUT.pcap")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--count", type=uint(1000000), default=1)
    common.add_argument("--append", action="store_true")
    common.add_argument("--vlan", type=uint(4095), default=None)
    sub = p.add_subparsers(dest="kind", required=True, metavar="KIND")

    def sized(sp, ip_type):
        sp.add_argument("--size", type=uint(65535), default=None)
        sp.add_argument("--ttl", type=uint(255), default=64)
        if ip_type is ip4:
            sp.add_argument("--df", action="store_true")

    s = sub.add_parser("vm-icmp", parents=[common])
    for name in ("src_mac", "dst_mac"):
        s.add_argument(name, type=mac)
    for name in ("src_ip", "dst_ip"):
        s.add_argument(name, type=ip4)
    s.add_argument("--tos", type=uint(255), default=0)
    sized(s, ip4)

    s = sub.add_parser("vm-icmp6", parents=[common])
    for name in ("src_mac", "dst_mac"):
        s.add_argument(name, type=mac)
    for name in ("src_ip", "dst_ip"):
        s.add_argument(name, type=ip6)
    s.add_argument("--tos", type=uint(255), default=0, help="traffic class")
    sized(s, ip6)

    s = sub.add_parser("vm-arp", parents=[common])
    s.add_argument("src_mac", type=mac)
    s.add_argument("src_ip", type=ip4)
    s.add_argument("target_ip", type=ip4)

    s = sub.add_parser("vm-ns", parents=[common])
    s.add_argument("src_mac", type=mac)
    s.add_argument("src_ip", type=ip6)
    s.add_argument("target_ip", type=ip6)
    s.add_argument("--dad", action="store_true")

    s = sub.add_parser("nvgre", parents=[common])
    s.add_argument("outer_src", type=ip_any)
    s.add_argument("outer_dst", type=ip_any)
    s.add_argument("vsid", type=uint(0xFFFFFF))
    s.add_argument("flowid", type=uint(0xFF))
    for name in ("inner_src_mac", "inner_dst_mac"):
        s.add_argument(name, type=mac)
    for name in ("inner_src_ip", "inner_dst_ip"):
        s.add_argument(name, type=ip_any)
    s.add_argument("--size", type=uint(65535), default=None)
    s.add_argument("--ttl", type=uint(255), default=64)
    s.add_argument("--df", action="store_true")
    s.add_argument("--outer-smac", type=mac, default=DEFAULT_OUTER_SMAC)
    s.add_argument("--outer-dmac", type=mac, default=DEFAULT_OUTER_DMAC)
    s.add_argument("--outer-ttl", type=uint(255), default=64)
    s.add_argument("--outer-tos", type=uint(255), default=0)
    s.add_argument("--inner-tos", type=uint(255), default=0)
    s.add_argument("--outer-frag", action="store_true")
    s.add_argument("--outer-bad-csum", action="store_true")
    s.add_argument("--gre-flags", type=uint(0xFFFF), default=0x2000)
    s.add_argument("--gre-proto", type=uint(0xFFFF), default=0x6558)
    return p.parse_args(argv)


def main(argv):
    a = parse_args(argv)
    if a.kind == "nvgre" and a.inner_src_ip.version != a.inner_dst_ip.version:
        sys.exit(f"mkpcap: {a.inner_src_ip} and {a.inner_dst_ip} are of different families")
    w = PcapWriter(a.out, append=a.append, sync=False, linktype=1, snaplen=262144)
    for i in range(a.count):
        frame = build(a, i + 1)
        data = bytes(frame)
        frame.time = TS_START + i / 1000.0
        w.write(frame)
        if bytes(frame) != data:
            sys.exit("mkpcap: internal error: frame changed while writing")
    w.close()


if __name__ == "__main__":
    main(sys.argv[1:])
