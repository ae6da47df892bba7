#!/bin/bash
# test_ipv6_outer.sh: NVGRE with an IPv6 outer header between two hnvgwd
# host edges using the AF_PACKET uplink (--uplink-backend packet), which
# builds the outer Ethernet header from the kernel's route and neighbour
# tables (the raw IPv4 socket backend cannot send IPv6).
#
# Topology: the lib.sh provider bridge with hosts h1 (PA fd00:4::11/64) and
# h2 (PA fd00:4::22/64), no IPv4 on the provider segment; Blue1 on h1 and
# Blue2 on h2 (VSID 5001, CAs 10.0.0.5 and 10.0.0.7). Asserts:
#   - Blue1 <-> Blue2 ping and TCP (iperf3) over NVGRE;
#   - tshark decodes the provider traffic as IPv6 fd00:4::11 <-> fd00:4::22,
#     next header GRE, protocol 0x6558, key VSID<<8|FlowID with VSID 5001;
#     nothing else but ICMPv6 neighbour discovery of the PAs crosses it;
#   - the next hop was resolved by the kernel (h1 has a neighbour entry for
#     fd00:4::22) and no uplink send failed;
#   - both daemons exit cleanly.
# Needs root. Run by `make netns-test`.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (network namespaces)"
for c in ping iperf3 tcpdump tshark; do
	command -v "$c" >/dev/null || fail "$c is not installed (make deps)"
done
UPLINK_BACKEND=packet

# start_host6 H PA: like lib.sh start_host, with an IPv6 PA on up0.
start_host6()
{
	local h=$1 pa=$2
	mkns "$h"
	ip link add up0 netns "$P-$h" type veth peer name "${h}p" netns "$P-pn"
	nsx pn ip link set "${h}p" master br0 up
	nsx "$h" sysctl -qw net.ipv6.conf.up0.disable_ipv6=0
	nsx "$h" ip addr add "$pa/64" dev up0 nodad
	nsx "$h" ip link set up0 up
	ip netns exec "$P-$h" "$HNVGWD" --foreground --state-dir "$T/state-$h" --socket "$T/$h.sock" \
		--uplink up0 --uplink-backend packet --log-level debug >>"$T/hnvgwd-$h.log" 2>&1 &
	DPIDS[$h]=$!
	wait_for 20 cli "$h" show revisions || fail "hnvgwd on $h did not answer"
	grep -q "forwarding on uplink up0 (packet backend)" "$T/hnvgwd-$h.log" ||
		fail "$h: no AF_PACKET host edge"
}

trap lab_cleanup EXIT
trap 'exit 130' INT TERM
mkns pn
nsx pn ip link add br0 type bridge mcast_snooping 0
nsx pn ip link set br0 up
start_host6 h1 fd00:4::11
start_host6 h2 fd00:4::22

# the Blue half of the demo with IPv6 PAs
for h in h1 h2; do
	own=fd00:4::11
	[[ $h == h2 ]] && own=fd00:4::22
	cat >"$T/blue6-$h.ps1" <<PS
New-NetVirtualizationProviderAddress -InterfaceIndex 1 -ProviderAddress "$own" -PrefixLength 64
New-NetVirtualizationCustomerRoute -RoutingDomainID "{11111111-2222-3333-4444-000000005001}" \`
    -VirtualSubnetID 5001 -DestinationPrefix "10.0.0.0/24" -NextHop "0.0.0.0" -Metric 255
New-NetVirtualizationLookupRecord -CustomerAddress "10.0.0.5" -VirtualSubnetID 5001 \`
    -MACAddress "060600000005" -ProviderAddress "fd00:4::11" -Rule "TranslationMethodEncap" \`
    -CustomerID "{11111111-2222-3333-4444-000000005001}" -VMName "Blue1"
New-NetVirtualizationLookupRecord -CustomerAddress "10.0.0.7" -VirtualSubnetID 5001 \`
    -MACAddress "060600000007" -ProviderAddress "fd00:4::22" -Rule "TranslationMethodEncap" \`
    -CustomerID "{11111111-2222-3333-4444-000000005001}" -VMName "Blue2"
PS
	cli "$h" ps "$T/blue6-$h.ps1" >"$T/ps-$h.out" || fail "ps on $h: $(<"$T/ps-$h.out")"
done
add_vm h1 b1 blue1 5001 10.0.0.5 060600000005
add_vm h2 b2 blue2 5001 10.0.0.7 060600000007
pass "lab up: 2 hosts with IPv6 PAs (AF_PACKET uplink), Blue1 and Blue2"

ip netns exec "$P-pn" tcpdump --immediate-mode -i br0 -U -n -s 200 -w "$T/provider.pcap" 2>"$T/tcpdump.log" &
BGPIDS+=($!)
wait_for 10 grep -q "listening on" "$T/tcpdump.log" || fail "tcpdump did not start"

nsx b1 ping -c 3 -i 0.2 -w 10 10.0.0.7 >"$T/ping.out" || fail "Blue1 -> Blue2: $(<"$T/ping.out")"
nsx b2 ping -c 3 -i 0.2 -w 10 10.0.0.5 >/dev/null || fail "Blue2 -> Blue1"
pass "Blue1 <-> Blue2 ping over NVGRE with IPv6 outer headers"

# tcpdump may still hold frames the kernel handed it (received by filter,
# not yet written): stop it only once the return direction is in the file,
# or after 5 s (the check below then says what is missing)
returned() { tshark -r "$T/provider.pcap" -Y 'gre and ipv6.src == fd00:4::22' 2>/dev/null | grep -q .; }
wait_for 5 returned || true
kill -INT "${BGPIDS[0]}"
wait "${BGPIDS[0]}" || true
tshark -r "$T/provider.pcap" -Y 'gre' -T fields -E occurrence=f -e ipv6.src -e ipv6.dst -e gre.proto -e gre.key \
	2>/dev/null | sort -u >"$T/keys"
python3 - "$T/keys" <<'EOF' 2>"$T/keys.err" || fail "IPv6 NVGRE on the provider segment: $(<"$T/keys.err"); $(tshark -r "$T/provider.pcap" 2>&1 | head -8)"
import sys
seen = set()
for line in open(sys.argv[1]):
    src, dst, proto, key = line.split()
    key = int(key, 16) if key.startswith("0x") else int(key)
    if int(proto, 16) != 0x6558:
        sys.exit("GRE protocol %s" % proto)
    seen.add((src, dst, key >> 8))
want = {("fd00:4::11", "fd00:4::22", 5001), ("fd00:4::22", "fd00:4::11", 5001)}
if seen != want:
    sys.exit("seen %s, want %s" % (seen, want))
EOF
other=$(tshark -r "$T/provider.pcap" -Y 'not (ipv6.nxt == 47 and gre.proto == 0x6558) and not (icmpv6.type >= 133 and icmpv6.type <= 136) and not icmpv6.type == 143' 2>/dev/null | wc -l)
((other == 0)) || fail "$other other frames on the provider segment: $(tshark -r "$T/provider.pcap" -Y 'not (ipv6.nxt == 47) and not icmpv6' 2>/dev/null | head -3)"
v4=$(tshark -r "$T/provider.pcap" -Y 'not ipv6' 2>/dev/null | wc -l)
((v4 == 0)) || fail "$v4 IPv4/ARP frames on the provider segment: $(tshark -r "$T/provider.pcap" -Y "not ipv6" 2>/dev/null | head -3)"
pass "provider segment: only IPv6 NVGRE (fd00:4::11 <-> fd00:4::22, 0x6558, VSID 5001) and neighbour discovery"

ip netns exec "$P-b2" iperf3 -s -1 >"$T/iperf-s.log" 2>&1 &
BGPIDS+=($!)
wait_for 10 nsx b2 sh -c 'ss -ltn | grep -q ":5201 "' || fail "iperf3 server did not listen"
nsx b1 timeout 30 iperf3 -c 10.0.0.7 -t 1 -J >"$T/iperf.json" || fail "iperf3 Blue1 -> Blue2: $(tail -5 "$T/iperf.json")"
gbps=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.2f" % (d["end"]["sum_received"]["bits_per_second"]/1e9))' "$T/iperf.json")
pass "TCP Blue1 -> Blue2 over IPv6-outer NVGRE: $gbps Gbit/s"


nsx h1 ip -6 neigh show fd00:4::22 dev up0 | grep -q lladdr || fail "h1 has no neighbour entry for fd00:4::22"
((($(counter h1 uplink.tx_errors)) == 0)) || fail "uplink tx errors on h1"
((($(counter h1 rx_decap_delivered)) >= 3)) || fail "rx_decap_delivered not counted on h1"
pass "next hop resolved through the kernel's neighbour table; no uplink send errors"

stop_host h1
stop_host h2
pass "both hnvgwd exit 0 without sanitizer reports"
