#!/bin/bash
# test_ipv6.sh: IPv6 customer addresses on the two-host lab (lib.sh).
# Blue1 and Blue2 get CAs fd00:5001::5 and ::7 besides their IPv4 CAs; the
# /64 (customer route, hnvgw ps) and both lookup records (hnvgw lookup add)
# are configured through the CLI on both hosts. Asserts:
#   - ping6 Blue1 -> Blue2 and Blue2 -> Blue1, and of the default gateway
#     fd00:5001::1 (answered by host 1);
#   - every neighbour solicitation for a CA is answered by the VM's own host
#     from its lookup records (nd_advert on both hosts, the VMs' neighbour
#     entries carry the records' MACs);
#   - nothing but NVGRE and provider ARP crosses the provider bridge: no
#     ICMPv6 neighbour solicitation (outer or inside NVGRE), no multicast
#     or IPv6 at all outside NVGRE, and the NVGRE inner frames are unicast;
#   - the VMs' addresses are not "dadfailed"/"tentative" (added nodad; the
#     link-local DAD probes are dropped and counted as drop_nd_dad, so they
#     cannot fail either), and Red (no IPv6 policy) cannot reach fd00:5001::.
# Needs root. Run by `make netns-test`.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (network namespaces)"
for c in ping tcpdump tshark; do
	command -v "$c" >/dev/null || fail "$c is not installed (make deps)"
done
# the /64 is a second on-link customer route of VSID 5001: given in the same
# script as the IPv4 one, hnvgw ps creates the virtual subnet with both
# prefixes; the records are then added with the CLI's lookup add
cp "$ROOT/tests/data/bluered.ps1" "$T/bluered6.ps1"
cat >>"$T/bluered6.ps1" <<'PS'
New-NetVirtualizationCustomerRoute -RoutingDomainID "{11111111-2222-3333-4444-000000005001}" `
    -VirtualSubnetID 5001 -DestinationPrefix "fd00:5001::/64" -NextHop "::" -Metric 255
PS
lab_hosts "$T/bluered6.ps1"
cli h1 show vsubnets | grep -q "^5001 .*fd00:5001::/64" || fail "VSID 5001 lacks fd00:5001::/64: $(cli h1 show vsubnets)"
for h in h1 h2; do
	cli "$h" lookup add --vsid 5001 --ca fd00:5001::5 --pa 192.168.4.11 --mac 060600000005 \
		--vm-name Blue1 >/dev/null || fail "IPv6 record of Blue1 on $h"
	cli "$h" lookup add --vsid 5001 --ca fd00:5001::7 --pa 192.168.4.22 --mac 060600000007 \
		--vm-name Blue2 >/dev/null || fail "IPv6 record of Blue2 on $h"
done
cli h1 show lookup | grep -q "fd00:5001::7 .*060600000007 .*192.168.4.22" ||
	fail "show lookup lacks the IPv6 record: $(cli h1 show lookup)"

# capture from before the VMs exist: their link-local DAD, MLD and RS too
cap_start pn br0 "$T/provider.pcap"
add_vm h1 b1 blue1 5001 10.0.0.5 060600000005 fd00:5001::5
add_vm h2 b2 blue2 5001 10.0.0.7 060600000007 fd00:5001::7
add_vm h1 r1 red1 6001 10.0.0.5 080800000005
pass "lab up with IPv6 CAs fd00:5001::5 (host 1) and ::7 (host 2), records set through the CLI"

nd1=$(counter h1 nd_advert)
nd2=$(counter h2 nd_advert)
nsx b1 ping -6 -c 3 -i 0.2 -w 10 fd00:5001::7 >"$T/ping6-a.out" || fail "Blue1 -> Blue2 (IPv6): $(<"$T/ping6-a.out")"
nsx b2 ping -6 -c 3 -i 0.2 -w 10 fd00:5001::5 >"$T/ping6-b.out" || fail "Blue2 -> Blue1 (IPv6): $(<"$T/ping6-b.out")"
pass "ping6 Blue1 <-> Blue2 over NVGRE"

# Red has no IPv6 policy: its ping6 goes nowhere (no route in Red's domain)
nsx r1 sysctl -qw net.ipv6.conf.red1.disable_ipv6=0
nsx r1 ip -6 addr add fd00:5001::9/64 dev red1 nodad
nsx r1 ip -6 neigh replace fd00:5001::7 lladdr 06:06:00:00:00:07 dev red1
drops=$(counter h1 drop_spoof)
if nsx r1 ping -6 -c 2 -i 0.2 -W 1 fd00:5001::7 >/dev/null 2>&1; then
	fail "Red1 reached Blue2's IPv6 CA"
fi
# Red1's port has no IPv6 CA: its packets are dropped at the port
((($(counter h1 drop_spoof)) >= drops + 2)) || fail "Red1's IPv6 packets were not dropped as drop_spoof on h1"

# ND answered by the local hosts, from the records
a1=$(counter h1 nd_advert)
a2=$(counter h2 nd_advert)
((a1 > nd1 && a2 > nd2)) || fail "nd_advert h1 $nd1 -> $a1, h2 $nd2 -> $a2: ND not answered by both hosts"
n1=$(nsx b1 ip -6 neigh show fd00:5001::7 dev blue1)
n2=$(nsx b2 ip -6 neigh show fd00:5001::5 dev blue2)
[[ $n1 == *"lladdr 06:06:00:00:00:07"* ]] || fail "Blue1's neighbour entry for fd00:5001::7: $n1"
[[ $n2 == *"lladdr 06:06:00:00:00:05"* ]] || fail "Blue2's neighbour entry for fd00:5001::5: $n2"
pass "ND answered from the records by each VM's own host (nd_advert h1 +$((a1 - nd1)), h2 +$((a2 - nd2)))"
echo0=$(counter h1 echo_reply)
nsx b1 ping -6 -c 2 -i 0.2 -w 10 fd00:5001::1 >/dev/null || fail "Blue1 -> its IPv6 default gateway fd00:5001::1"
((($(counter h1 echo_reply)) >= echo0 + 2)) || fail "gateway echo not answered by h1"
pass "ping6 of the distributed default gateway fd00:5001::1 answered by host 1"

# DAD: nothing tentative or failed; DAD probes (if any) were dropped, not answered
# (the link-local address is probed; the probe is dropped, so DAD completes)
for vm in b1:blue1 b2:blue2; do
	wait_for 10 eval "! ip netns exec $P-${vm%%:*} ip -6 addr show dev ${vm#*:} tentative | grep -q inet6" ||
		fail "${vm%%:*}: an address stays tentative: $(nsx "${vm%%:*}" ip -6 addr show dev "${vm#*:}")"
	a=$(nsx "${vm%%:*}" ip -6 addr show dev "${vm#*:}")
	[[ $a != *dadfailed* && $a == *"scope link"* ]] || fail "${vm%%:*}: $a"
	[[ $a == *"fd00:5001::"* ]] || fail "${vm%%:*} lost its IPv6 CA: $a"
done
pass "DAD: no address tentative or failed (link-local DAD probes: drop_nd_dad h1 $(counter h1 drop_nd_dad))"

cap_stop "$T/provider.pcap"
n_all=$(frames "$T/provider.pcap")
((n_all > 0)) || fail "nothing captured on the provider bridge"
ns=$(frames "$T/provider.pcap" 'icmpv6.type == 135 or icmpv6.type == 136')
((ns == 0)) || fail "$ns neighbour solicitations/advertisements crossed the provider segment: $(tshark -r "$T/provider.pcap" -Y 'icmpv6.type == 135' 2>/dev/null | head -3)"
mc=$(frames "$T/provider.pcap" 'eth.dst.ig == 1 and not (arp and arp.dst.proto_ipv4 == 192.168.4.0/24)')
((mc == 0)) || fail "$mc multicast/broadcast frames on the provider segment: $(tshark -r "$T/provider.pcap" -Y 'eth.dst.ig == 1 and not arp' 2>/dev/null | head -3)"
other=$(frames "$T/provider.pcap" 'not arp and not (gre.proto == 0x6558 and gre.flags_and_version == 0x2000)')
((other == 0)) || fail "$other frames neither NVGRE nor provider ARP: $(tshark -r "$T/provider.pcap" -Y 'not arp and not gre' 2>/dev/null | head -3)"
v6=$(frames "$T/provider.pcap" 'gre and ipv6 and icmpv6.type == 128 and ipv6.src == fd00:5001::5 and ipv6.dst == fd00:5001::7')
((v6 >= 3)) || fail "only $v6 IPv6 echo requests Blue1 -> Blue2 inside NVGRE"
pass "Red1 cannot reach fd00:5001:: (its port has no IPv6 CA: drop_spoof)"
pass "provider segment: $n_all frames, $v6+ IPv6 echoes inside NVGRE, no NS/NA, no multicast, nothing else"

stop_host h1
stop_host h2
pass "both hnvgwd exit 0 without sanitizer reports"
