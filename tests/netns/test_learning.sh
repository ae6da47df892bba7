#!/bin/bash
# test_learning.sh: dynamic IP address learning and flooding (L2Only lookup
# records, Windows Server 2012 R2; docs/dynamic-learning.md) on the two-host
# lab (lib.sh), with a third VM, Blue3 (10.0.0.9), on host 1.
# Both hosts get L2Only records for Blue1, Blue2 and Blue3 in VSID 5001
# (Red, VSID 6001, gets none). Asserts:
#   - flooding: Blue1's ARP request for an address no record names reaches
#     Blue2 on the other host (tx_flood on h1, rx_flood on h2); Red2 sees
#     nothing of it, and Red1's ARP for an unknown address is not flooded;
#   - learning: Blue2 adds a floating address 10.0.0.100 it was not
#     configured with; Blue1 pings it with no record anywhere beforehand;
#     both hosts then show 10.0.0.100 as Type Dynamic toward Blue2's MAC
#     and PA (hnvgw show lookup and Get-NetVirtualizationLookupRecord);
#   - failover: the address moves to Blue3 on host 1, which announces it
#     with a gratuitous ARP; both hosts' learned records follow (Blue3's
#     MAC, PA 192.168.4.11) and Blue1 and Blue2 reach it there;
#   - learned records are not config: show config does not list them;
#   - bounds: three /16 VSIDs on host 2 learn 512 addresses each (8 more
#     are counted as learn.full); show lookup, read in pages, lists each of
#     the 1536 learned rows (more than a page) once;
#   - both hnvgwd exit cleanly.
# Needs root. Run by `make netns-test`.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (network namespaces)"
command -v ping >/dev/null || fail "ping is not installed (make deps)"
FIP=10.0.0.100

lab_setup
add_vm h1 b3 blue3 5001 10.0.0.9 060600000009
for h in h1 h2; do
	cli "$h" lookup add --vsid 5001 --ca 10.0.0.9 --pa 192.168.4.11 --mac 060600000009 \
		>/dev/null || fail "Blue3's record on $h"
	cli "$h" lookup add --vsid 5001 --ca 0.0.0.0 --pa 192.168.4.11 --mac 060600000005 \
		--type l2only >/dev/null || fail "Blue1's L2Only record on $h"
	cli "$h" lookup add --vsid 5001 --ca 0.0.0.0 --pa 192.168.4.22 --mac 060600000007 \
		--type l2only >/dev/null || fail "Blue2's L2Only record on $h"
	cli "$h" lookup add --vsid 5001 --ca 0.0.0.0 --pa 192.168.4.11 --mac 060600000009 \
		--type l2only >/dev/null || fail "Blue3's L2Only record on $h"
done
nsx b1 ping -c 2 -i 0.2 -w 10 10.0.0.7 >/dev/null || fail "Blue1 -> Blue2 (static records)"
pass "lab up: L2Only records for Blue1..3 on both hosts ($(tier h1) tier)"

# lookup_row HOST CA: "TYPE MAC PA" of the record of CA in VSID 5001, or nothing
lookup_row()
{
	cli "$1" --json show lookup --vsid 5001 --ca "$2" | python3 -c 'import json,sys
rows=json.load(sys.stdin)
rows=rows.get("result",rows) if isinstance(rows,dict) else rows
for r in rows:
    print(r["Type"], r["MACAddress"], r["ProviderAddress"])'
}
is_learned() { [[ $(lookup_row "$1" "$FIP") == "Dynamic $2 $3" ]]; }

# send_garp NS IF MAC IP: a gratuitous ARP request (sender = target = IP)
# from MAC, broadcast, as a guest cluster's new owner of IP sends it
send_garp()
{
	nsx "$1" python3 - "$2" "$3" "$4" <<'EOF'
import socket, sys
ifn, mac, ip = sys.argv[1], bytes.fromhex(sys.argv[2]), socket.inet_aton(sys.argv[3])
arp = bytes.fromhex("0001080006040001") + mac + ip + bytes(6) + ip
frame = b"\xff" * 6 + mac + b"\x08\x06" + arp + bytes(18)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifn, 0))
for _ in range(2):
    s.send(frame)
EOF
}

# ---- flooding: an ARP for an address without a record reaches Blue2 ----
flood_tx=$(counter h1 tx_flood)
flood_rx=$(counter h2 rx_flood)
cap_start b2 blue2 "$T/b2-arp.pcap" arp
cap_start r2 red2 "$T/r2-arp.pcap" arp
nsx b1 ping -c 1 -W 1 10.0.0.200 >/dev/null 2>&1 || true # no one has it: ARP only
nsx r1 ping -c 1 -W 1 10.0.0.200 >/dev/null 2>&1 || true
wait_for 5 counter_ge h2 rx_flood $((flood_rx + 1)) || fail "h2 received no flooded broadcast"
cap_stop "$T/b2-arp.pcap"
cap_stop "$T/r2-arp.pcap"
n=$(frames "$T/b2-arp.pcap" "arp.opcode == 1 && arp.dst.proto_ipv4 == 10.0.0.200 && arp.src.hw_mac == 06:06:00:00:00:05")
((n >= 1)) || fail "Blue1's ARP for 10.0.0.200 did not reach Blue2 ($n frames)"
n=$(frames "$T/r2-arp.pcap" "arp.dst.proto_ipv4 == 10.0.0.200")
((n == 0)) || fail "Red2 saw $n ARP frames for 10.0.0.200 (Red has no L2Only records)"
(($(counter h1 tx_flood) > flood_tx)) || fail "h1 counted no tx_flood"
pass "Blue1's ARP for an unknown address flooded to Blue2 on h2; nothing in Red"

# ---- learning: a floating address on Blue2 ----
nsx b2 ip addr add "$FIP/24" dev blue2
nsx b1 ping -c 3 -i 0.2 -w 10 "$FIP" >/dev/null || fail "Blue1 -> $FIP on Blue2"
wait_for 5 is_learned h2 060600000007 192.168.4.22 || fail "h2: $FIP not learned: $(lookup_row h2 "$FIP")"
wait_for 5 is_learned h1 060600000007 192.168.4.22 || fail "h1: $FIP not learned: $(lookup_row h1 "$FIP")"
cli h1 show lookup | grep -E "^$FIP .*5001 .*Dynamic" >/dev/null || fail "show lookup on h1: $(cli h1 show lookup)"
cat >"$T/get.ps1" <<EOF
Get-NetVirtualizationLookupRecord -CustomerAddress "$FIP" -VirtualSubnetID 5001
EOF
cli h1 ps "$T/get.ps1" >"$T/get-h1.out" || fail "Get-NetVirtualizationLookupRecord on h1"
grep -Eq "^Type +: Dynamic" "$T/get-h1.out" || fail "Get-NetVirtualizationLookupRecord: $(cat "$T/get-h1.out")"
grep -Eq "^ProviderAddress +: 192.168.4.22" "$T/get-h1.out" || fail "Get-...: $(cat "$T/get-h1.out")"
nsx b1 ping -c 3 -i 0.2 -w 10 "$FIP" >/dev/null || fail "Blue1 -> $FIP once learned"
cli h1 show config | grep -q "$FIP" && fail "a learned address is in the config of h1"
(($(counter h1 learn.learned) >= 1)) || fail "h1 counted nothing learned"
pass "$FIP on Blue2 reached from Blue1; learned as Type Dynamic on both hosts (show lookup, Get-NetVirtualizationLookupRecord); not in the config"

# ---- failover: the address moves to Blue3 on host 1 ----
nsx b2 ip addr del "$FIP/24" dev blue2
nsx b3 ip addr add "$FIP/24" dev blue3
send_garp b3 blue3 060600000009 "$FIP"
wait_for 5 is_learned h1 060600000009 192.168.4.11 || fail "h1: $FIP did not move: $(lookup_row h1 "$FIP")"
wait_for 5 is_learned h2 060600000009 192.168.4.11 || fail "h2: $FIP did not move: $(lookup_row h2 "$FIP")"
(($(counter h2 learn.moved) >= 1)) || fail "h2 counted no move"
local_before=$(counter h1 tx_local)
nsx b1 ping -c 3 -i 0.2 -w 10 "$FIP" >/dev/null || fail "Blue1 -> $FIP on Blue3 after failover"
(($(counter h1 tx_local) >= local_before + 3)) || fail "Blue1 -> $FIP is not local on h1"
nsx b2 ping -c 3 -i 0.2 -w 10 "$FIP" >/dev/null || fail "Blue2 -> $FIP on Blue3 after failover"
b3rx=$(nsx b3 cat /sys/class/net/blue3/statistics/rx_packets)
((b3rx >= 6)) || fail "Blue3 received only $b3rx frames"
pass "failover: $FIP moved to Blue3 (gratuitous ARP flooded); both hosts follow, Blue1 and Blue2 reach it"

# ---- bounds and many learned rows: three /16 VSIDs with a VM each on h2 ----
cli h2 rdomain add green --rdid "{11111111-2222-3333-4444-000000007001}" >/dev/null ||
	fail "rdomain green on h2"
for v in 1 2 3; do
	cli h2 vsubnet add 700$v --rdomain green --prefix 10.7$v.0.0/16 >/dev/null ||
		fail "vsubnet 700$v on h2"
	add_vm h2 g$v green$v 700$v 10.7$v.0.11 0a0a0000000$v
	cli h2 lookup add --vsid 700$v --ca 0.0.0.0 --pa 192.168.4.22 --mac 0a0a0000000$v \
		--type l2only >/dev/null || fail "g$v's L2Only record on h2"
done
# burst NS IF MAC NET FIRST COUNT: COUNT UDP broadcasts from NET.x.y, at
# most 200 a second (the learning queue holds 256 and is applied each second)
burst()
{
	nsx "$1" python3 - "$2" "$3" "$4" "$5" "$6" <<'EOF'
import socket, struct, sys, time
ifn, mac, net = sys.argv[1], bytes.fromhex(sys.argv[2]), sys.argv[3]
first, count = int(sys.argv[4]), int(sys.argv[5])
def csum(b):
    s = sum(struct.unpack("!10H", b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifn, 0))
for i in range(first, first + count):
    src = socket.inet_aton("%s.%d.%d" % (net, 1 + i // 250, 1 + i % 250))
    udp = struct.pack("!HHHH", 4000, 4000, 8, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, 17, 0, src, b"\xff" * 4)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    s.send(b"\xff" * 6 + mac + b"\x08\x00" + ip + udp + bytes(18))
    if (i - first) % 200 == 199:
        time.sleep(1.1)
time.sleep(1.1)
EOF
}
before=$(counter h2 learn.learned)
full=$(counter h2 learn.full)
burst g1 green1 0a0a00000001 10.71 0 520
burst g2 green2 0a0a00000002 10.72 0 512
burst g3 green3 0a0a00000003 10.73 0 512
wait_for 10 counter_ge h2 learn.learned $((before + 1536)) ||
	fail "h2 learned $(($(counter h2 learn.learned) - before)) of 1536 (lost $(counter h2 learn.lost))"
(($(counter h2 learn.full) >= full + 8)) || fail "the 8 addresses over the VSID bound were not counted"
(($(counter h2 learn.learned) == before + 1536)) || fail "learned more than the bound allows"
# more than a page (HNV_API_PAGE_BYTES) of learned rows: the CLI reads
# them in pages, the learned ones after the configured ones
cli h2 --json show lookup >"$T/lookup-h2.json" || fail "show lookup on h2"
python3 - "$T/lookup-h2.json" <<'EOF' || fail "show lookup on h2 does not list each learned row once"
import json, sys
rows = json.load(open(sys.argv[1]))
rows = rows.get("result", rows) if isinstance(rows, dict) else rows
dyn = [r for r in rows if r["Type"] == "Dynamic" and r["VirtualSubnetID"] in (7001, 7002, 7003)]
cas = set(r["CustomerAddress"] for r in dyn)
assert len(dyn) == 1536 and len(cas) == 1536, (len(dyn), len(cas))
assert len(json.dumps(dyn, separators=(",", ":"))) > 256 * 1024, "not more than a page"
EOF
n=$(cli h2 --json show lookup --vsid 7002 | python3 -c 'import json,sys
rows=json.load(sys.stdin)
rows=rows.get("result",rows) if isinstance(rows,dict) else rows
print(sum(r["Type"]=="Dynamic" for r in rows))')
((n == 512)) || fail "show lookup --vsid 7002: $n learned rows"
pass "bounds: 512 learned per VSID (8 more counted as learn.full); 1536 learned rows (more than a page) listed once each"

stop_host h1
stop_host h2
pass "both hnvgwd exit 0 without sanitizer reports"
