#!/bin/bash
# test_bluered.sh: the Blue/Red demo of the Hyper-V documentation forwarded
# by two real hnvgwd host edges (see lib.sh for the topology). Asserts:
#   - Blue1<->Blue2 and Red1<->Red2 ping although their addresses overlap;
#   - Blue never reaches Red (a frame aimed at Red2's MAC is dropped and
#     counted; Red2's port never sends it);
#   - VM ARP is answered by its own host: no customer ARP and no broadcast
#     on the provider bridge (tcpdump), and arp_reply counts;
#   - provider traffic decodes in tshark as GRE 0x6558, key VSID<<8|FlowID;
#   - a 1500-byte DF ping gets fragmentation-needed (MTU 1458) back;
#   - TCP (iperf3, which needs path MTU discovery with a VM MTU of 1500)
#     runs in both directions with no checksum errors at the receivers;
#   - per-port counters in show counters; both daemons exit cleanly.
# Needs root. Run by `make netns-test`.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (network namespaces)"
for c in ping iperf3 tcpdump tshark; do
	command -v "$c" >/dev/null || fail "$c is not installed (make deps)"
done
lab_setup
pass "lab up: 2 hosts, 4 VMs, configured with hnvgw ps + port add"

# ---- capture the provider segment during pings, isolation and MTU ----
ip netns exec "$P-pn" tcpdump --immediate-mode -i br0 -U -n -s 200 -w "$T/provider.pcap" 2>"$T/tcpdump.log" &
BGPIDS+=($!)
wait_for 10 grep -q "listening on" "$T/tcpdump.log" || fail "tcpdump did not start"

# ---- overlapping tenants ----
nsx b1 ping -c 3 -i 0.2 -w 10 10.0.0.7 >"$T/ping-blue.out" || fail "Blue1 -> Blue2: $(<"$T/ping-blue.out")"
nsx r1 ping -c 3 -i 0.2 -w 10 10.0.0.7 >"$T/ping-red.out" || fail "Red1 -> Red2: $(<"$T/ping-red.out")"
nsx b2 ping -c 2 -i 0.2 -w 10 10.0.0.5 >/dev/null || fail "Blue2 -> Blue1"
nsx r2 ping -c 2 -i 0.2 -w 10 10.0.0.5 >/dev/null || fail "Red2 -> Red1"
pass "Blue1<->Blue2 and Red1<->Red2 ping over NVGRE, same addresses in both tenants"

arp=$(counter h1 arp_reply)
((arp >= 2)) || fail "h1 answered $arp ARP requests, want >= 2"
pass "ARP answered by the local host ($arp replies on h1)"

# ---- Blue never reaches Red ----
before_drop=$(($(counter h1 drop_no_record) + $(counter h1 drop_spoof)))
# what Red2's own interface received (the kernel's count, whichever tier
# forwards)
red2_rx() { nsx r2 cat /sys/class/net/red2/statistics/rx_packets; }
before_red=$(red2_rx)
nsx b1 ip neigh replace 10.0.0.7 lladdr 08:08:00:00:00:07 dev blue1
if nsx b1 ping -c 2 -i 0.2 -W 1 10.0.0.7 >/dev/null; then
	fail "Blue1 reached something behind Red2's MAC"
fi
nsx b1 ip neigh del 10.0.0.7 dev blue1
after_drop=$(($(counter h1 drop_no_record) + $(counter h1 drop_spoof)))
after_red=$(red2_rx)
((after_drop >= before_drop + 2)) || fail "drops on h1: $before_drop -> $after_drop, want +2"
((after_red == before_red)) || fail "red2 port sent $((after_red - before_red)) frames to Red2"
# both tiers also count per port what they received and dropped (the
# fast path in fp_port_stats, summed into the port's row)
dropped=$(counter h1 blue1.rx_dropped)
((dropped >= 2)) || fail "blue1.rx_dropped is $dropped ($(tier h1) tier)"
pass "Blue -> Red's MAC dropped on h1 (drop counters +$((after_drop - before_drop)), blue1.rx_dropped $dropped), Red2 got nothing"

# ---- MTU: provider MTU 1500, so the VM's inner MTU is 1458 ----
out=$(nsx b1 ping -M do -s 1472 -c 1 -W 2 10.0.0.7 2>&1 || true)
[[ $out == *"mtu = 1458"* || $out == *"mtu=1458"* ]] || fail "1500-byte DF ping: $out"
((($(counter h1 icmp_frag_needed)) >= 1)) || fail "icmp_frag_needed not counted"
nsx b1 ip route get 10.0.0.7 | grep -q 'mtu 1458' || fail "Blue1's route cache has no PMTU 1458 for Blue2: $(nsx b1 ip route get 10.0.0.7)"
pass "1500-byte DF ping: fragmentation needed, MTU 1458, learned by Blue1's kernel (PMTU)"

# ---- what crossed the provider segment ----
kill -INT "${BGPIDS[0]}"
wait "${BGPIDS[0]}" || true
n_all=$(tshark -r "$T/provider.pcap" 2>/dev/null | wc -l)
((n_all > 0)) || fail "nothing captured on the provider bridge"
# only ARP for provider addresses; no customer ARP, no broadcast of any other kind
bad=$(tshark -r "$T/provider.pcap" -Y '(eth.dst == ff:ff:ff:ff:ff:ff and not (arp and arp.dst.proto_ipv4 == 192.168.4.0/24)) or (arp and not arp.dst.proto_ipv4 == 192.168.4.0/24) or (gre and arp) or ipv6' 2>/dev/null | wc -l)
((bad == 0)) || fail "$bad customer ARP/broadcast frames on the provider segment: $(tshark -r "$T/provider.pcap" -Y '(gre and arp) or (arp and not arp.dst.proto_ipv4 == 192.168.4.0/24)' | head -3)"
not_nvgre=$(tshark -r "$T/provider.pcap" -Y 'not arp and not (igmp and not gre) and not (gre.proto == 0x6558 and gre.flags_and_version == 0x2000)' 2>/dev/null | wc -l)
((not_nvgre == 0)) || fail "$not_nvgre frames on the provider segment are neither provider ARP/IGMP nor NVGRE: $(tshark -r "$T/provider.pcap" -V -Y 'not arp and not (igmp and not gre) and not (gre.proto == 0x6558 and gre.flags_and_version == 0x2000)' 2>/dev/null | head -60)"
tshark -r "$T/provider.pcap" -Y gre -T fields -E occurrence=f -e ip.src -e ip.dst -e gre.key -e eth.type 2>/dev/null |
	awk '{print $1, $2, $3}' | sort -u >"$T/keys"
python3 - "$T/keys" <<'EOF' || fail "GRE keys: $(head -5 "$T/keys")"
import sys
seen = set()
for line in open(sys.argv[1]):
    src, dst, key = line.split()
    key = int(key, 16) if key.startswith("0x") else int(key)
    seen.add((src, dst, key >> 8))
want = {("192.168.4.11", "192.168.4.22", 5001), ("192.168.4.22", "192.168.4.11", 5001),
        ("192.168.4.11", "192.168.4.22", 6001), ("192.168.4.22", "192.168.4.11", 6001)}
missing = want - seen
extra = {s for s in seen if s[2] not in (5001, 6001)}
if missing or extra:
    print("missing", missing, "unexpected", extra, file=sys.stderr)
    sys.exit(1)
EOF
inner=$(tshark -r "$T/provider.pcap" -Y 'gre.proto == 0x6558 and eth.type == 0x0800 and ip.src == 10.0.0.5' -T fields -e eth.src 2>/dev/null | sort -u | tr '\n' ' ')
[[ $inner == *"06:06:00:00:00:05"* && $inner == *"08:08:00:00:00:05"* ]] ||
	fail "inner Ethernet of Blue1 and Red1 not decoded: $inner"
pass "provider segment: $n_all frames, only NVGRE (GRE 0x2000/0x6558, key VSID<<8|FlowID for 5001 and 6001) and provider ARP"

# ---- a second VSID in Blue's routing domain, reached via the default gateway ----
# the NetWNV way: a customer route in Blue's routing domain creates VSID 5002
cat >"$T/vsid5002.ps1" <<'PS'
New-NetVirtualizationCustomerRoute -RoutingDomainID "{11111111-2222-3333-4444-000000005001}" `
    -VirtualSubnetID 5002 -DestinationPrefix "10.0.1.0/24" -NextHop "0.0.0.0" -Metric 255
New-NetVirtualizationLookupRecord -CustomerAddress "10.0.1.5" -VirtualSubnetID 5002 `
    -MACAddress "060600010005" -ProviderAddress "192.168.4.22" -Rule "TranslationMethodEncap" `
    -CustomerID "{11111111-2222-3333-4444-000000005001}" -VMName "Blue3"
PS
for h in h1 h2; do cli "$h" ps "$T/vsid5002.ps1" >/dev/null || fail "VSID 5002 on $h"; done
add_vm h2 b3 blue3 5002 10.0.1.5 060600010005
ip netns exec "$P-pn" tcpdump --immediate-mode -i br0 -U -n -s 200 -w "$T/routed.pcap" 2>"$T/tcpdump2.log" &
BGPIDS+=($!)
wait_for 10 grep -q "listening on" "$T/tcpdump2.log" || fail "tcpdump did not start"
nsx b1 ping -c 3 -i 0.2 -w 10 10.0.1.5 >"$T/ping-routed.out" || fail "Blue1 -> Blue3 (VSID 5002): $(<"$T/ping-routed.out")"
nsx r1 ping -c 1 -W 1 10.0.1.5 >/dev/null 2>&1 && fail "Red1 reached Blue's VSID 5002"
kill -INT "${BGPIDS[-1]}"
wait "${BGPIDS[-1]}" || true
keys=$(tshark -r "$T/routed.pcap" -Y 'gre and icmp' -T fields -E occurrence=f -e ip.dst -e gre.key 2>/dev/null |
	while read -r dst key; do echo "$dst:$((key >> 8))"; done | sort -u | tr '\n' ' ')
[[ $keys == "192.168.4.11:5001 192.168.4.22:5002 " ]] || fail "routed NVGRE keys: $keys"
((($(counter h1 tx_routed_encap)) >= 3)) || fail "tx_routed_encap not counted on h1"
pass "Blue1 (VSID 5001) -> Blue3 (VSID 5002) via 10.0.0.1: VSID rewritten to 5002 (and back to 5001); Red1 cannot reach it"

# ---- TCP both ways (PMTU discovery: VM MTU 1500, path 1458) ----
tcp_csum_errors() { nsx "$1" awk '/^Tcp:/ {n++; if (n == 1) for (i = 1; i <= NF; i++) h[i] = $i; else for (i = 1; i <= NF; i++) if (h[i] == "InCsumErrors") print $i}' /proc/net/snmp; }
ip netns exec "$P-b2" iperf3 -s -1 >"$T/iperf-s.log" 2>&1 &
BGPIDS+=($!)
wait_for 10 nsx b2 sh -c 'ss -ltn | grep -q ":5201 "' || fail "iperf3 server did not listen"
nsx b1 timeout 30 iperf3 -c 10.0.0.7 -t 2 -J >"$T/iperf-up.json" || fail "iperf3 Blue1 -> Blue2: $(tail -5 "$T/iperf-up.json")"
# the one-shot server must be gone before the next listens on the same port
wait "${BGPIDS[-1]}" || fail "iperf3 server: $(tail -5 "$T/iperf-s.log")"
ip netns exec "$P-b2" iperf3 -s -1 >"$T/iperf-s2.log" 2>&1 &
BGPIDS+=($!)
wait_for 10 nsx b2 sh -c 'ss -ltn | grep -q ":5201 "' || fail "iperf3 server did not listen"
nsx b1 timeout 30 iperf3 -c 10.0.0.7 -t 2 -R -J >"$T/iperf-down.json" || fail "iperf3 Blue2 -> Blue1"
rate()
{
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
if "sum_received" not in d.get("end", {}): sys.exit("iperf3: %s" % d.get("error", "no result"))
print("%.2f" % (d["end"]["sum_received"]["bits_per_second"]/1e9))' "$1" || fail "iperf3 result $1"
}
up=$(rate "$T/iperf-up.json")
down=$(rate "$T/iperf-down.json")
# Red (same addresses, its own VSID) too
ip netns exec "$P-r2" iperf3 -s -1 >"$T/iperf-s3.log" 2>&1 &
BGPIDS+=($!)
wait_for 10 nsx r2 sh -c 'ss -ltn | grep -q ":5201 "' || fail "iperf3 server on Red2 did not listen"
nsx r1 timeout 30 iperf3 -c 10.0.0.7 -t 2 -J >"$T/iperf-red.json" || fail "iperf3 Red1 -> Red2: $(tail -5 "$T/iperf-red.json")"
wait "${BGPIDS[-1]}" || fail "iperf3 server on Red2: $(tail -5 "$T/iperf-s3.log")"
red=$(rate "$T/iperf-red.json")
for vm in b1 b2 r1 r2; do
	e=$(tcp_csum_errors "$vm")
	((e == 0)) || fail "$vm counted $e TCP checksum errors"
done
pass "TCP over NVGRE: $up Gbit/s Blue1->Blue2, $down Gbit/s back, $red Gbit/s Red1->Red2; no checksum errors"

# ---- operations ----
cli h1 show counters >"$T/counters-h1.txt" || fail "show counters"
for w in uplink.rx_packets uplink.tx_packets blue1.tx_packets red1.rx_packets tx_encap rx_decap_delivered; do
	grep -q "$w" "$T/counters-h1.txt" || fail "show counters lacks $w"
done
((($(counter h1 uplink.tx_errors)) == 0)) || fail "uplink tx errors on h1"
pass "show counters: per reason and per port"

# ---- port del removes hnvgwd's TAP (a --dev device stays: hnvgwd only
# detaches from it), the daemons stop cleanly ----
cli h1 port del red1 >/dev/null || fail "port del red1"
cli h1 show ports | grep -q red1 && fail "red1 still a port after port del"
if [[ ${VM_PORTS:-dev} == dev ]]; then
	nsx h1 ip link show v-red1 >/dev/null || fail "port del removed red1's device v-red1"
	pass "port del detaches red1 from its device v-red1, which stays"
else
	wait_for 10 bash -c "! ip netns exec $P-r1 ip link show red1" ||
		fail "TAP red1 still exists after port del"
	pass "port del removes the TAP device"
fi
stop_host h1
stop_host h2
pass "both hnvgwd exit 0 without sanitizer reports"
