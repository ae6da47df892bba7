#!/bin/bash
# test_interop.sh: hnvgwd against an NVGRE implementation that is not ours.
# scapy (tests/netns/nvgre.py) plays a remote Hyper-V host with PA
# 192.168.4.33 on the provider bridge of the two-host lab (lib.sh), hosting
# a fake VM 10.0.0.9 (06:06:00:00:00:09) in Blue's VSID 5001; host 1 has its
# lookup record (hnvgw lookup add). Asserts:
#   - scapy's ICMP echo requests to Blue1, GRE key VSID<<8|FlowID with
#     several FlowIDs != 0, are decapsulated and reach Blue1 (tcpdump in
#     Blue1's namespace sees them, inner frame intact);
#   - Blue1's echo replies come back to the fake PA and scapy decodes them:
#     GRE first word 0x2000 (key bit, no C/S, version 0), protocol 0x6558,
#     VSID 5001 in the key, inner Ethernet 06:06:00:00:00:05 ->
#     06:06:00:00:00:09, inner IPv4 10.0.0.5 -> 10.0.0.9 echo reply with a
#     valid checksum and the request's payload;
#   - host 1 answered Blue1's ARP for 10.0.0.9 from the record (no ARP on
#     the provider segment for the fake VM).
# Needs root and python3-scapy. Run by `make netns-test`.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (network namespaces)"
SCAPY=/usr/bin/python3
for c in tcpdump tshark; do
	command -v "$c" >/dev/null || fail "$c is not installed (make deps)"
done
"$SCAPY" -c 'import scapy' 2>/dev/null || fail "python3-scapy is not installed (make deps)"
lab_setup
provider_attach f 192.168.4.33
cli h1 lookup add --vsid 5001 --ca 10.0.0.9 --pa 192.168.4.33 --mac 060600000009 --vm-name Fake \
	>/dev/null || fail "lookup add of the fake VM on h1"
H1MAC=$(nsx h1 cat /sys/class/net/up0/address)
pass "lab up; fake host 192.168.4.33 with VM 10.0.0.9 in VSID 5001 known to host 1"

cap_start b1 blue1 "$T/b1.pcap"
cap_start pn br0 "$T/provider.pcap"
arp0=$(counter h1 arp_reply)
FLOWS=(0x01 0x5a 0xff)
nsx f "$SCAPY" "$HERE/nvgre.py" echo pv0 "$H1MAC" 192.168.4.33 3 "${FLOWS[@]}" >"$T/scapy.out" 2>&1 ||
	fail "scapy interop: $(cat "$T/scapy.out")"
cap_stop "$T/b1.pcap"
cap_stop "$T/provider.pcap"
echo "# scapy: $(grep '^sent' "$T/scapy.out")"

req=$(frames "$T/b1.pcap" 'eth.src == 06:06:00:00:00:09 and eth.dst == 06:06:00:00:00:05 and ip.src == 10.0.0.9 and ip.dst == 10.0.0.5 and icmp.type == 8 and data.data contains "scapy-interop"')
((req == 9)) || fail "Blue1 received $req of scapy's 9 echo requests: $(tshark -r "$T/b1.pcap" 2>/dev/null | head -5)"
pass "Blue1 received all 9 echo requests scapy encapsulated with FlowIDs ${FLOWS[*]}"
pass "scapy decoded 9 NVGRE echo replies from host 1: GRE 0x2000/0x6558, VSID 5001 in the key, inner frame correct"

((($(counter h1 arp_reply)) > arp0)) || fail "host 1 did not answer Blue1's ARP for 10.0.0.9"
bad=$(frames "$T/provider.pcap" 'arp.dst.proto_ipv4 == 10.0.0.0/24 or arp.src.proto_ipv4 == 10.0.0.0/24')
((bad == 0)) || fail "$bad customer ARP frames on the provider segment"
keys=$(tshark -r "$T/provider.pcap" -Y 'gre and ip.src == 192.168.4.33 and not icmp.type == 3' -T fields -E occurrence=f -e gre.key 2>/dev/null | sort -u | tr '\n' ' ')
[[ $keys == "0x00138901 0x0013895a 0x001389ff " ]] || fail "keys scapy sent, as tshark reads them: $keys"
pass "Blue1's ARP for the fake VM answered by host 1; tshark reads scapy's keys as $keys"

stop_host h1
stop_host h2
pass "both hnvgwd exit 0 without sanitizer reports"
