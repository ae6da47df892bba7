#!/bin/bash
# Lab scenario `connections` (issue 19 items 1 and 2): GRE and L3 (VLAN)
# connections of the tenants' gateways, with rate limits.
#
#   the HNV topology of lib-hnv.sh (Contoso and Fabrikam, both 10.10.0.0/16)
#   Contoso -> VRF rd-contoso
#     gre ct-gre: gr-ct-gre 198.51.100.1 -> 198.51.100.2 key 1001 (outer
#       packets in the default VRF, out of ext-g), inner 172.30.0.1/30,
#       to a stock Linux GRE endpoint in namespace gre (172.30.0.2, site
#       192.168.50.1); 20 Mbit/s each way; BGP (AS 65000) with FRR in the
#       endpoint's namespace (AS 65010) over the tunnel: bgp-peer gre-rt
#       accepts its 192.168.60.0/24, not its 192.168.70.0/24
#     l3 ct-vlan: VLAN 100 of ext1 (l3-ct-vlan) 172.31.100.1/24, router
#       ra 172.31.100.254 with 10.70.0.1
#   Fabrikam -> VRF rd-fabrikam
#     l3 fb-vlan: VLAN 100 of ext0 (l3-fb-vlan) 172.31.100.1/24 (the same
#       VLAN ID and addresses as Contoso's, on another parent), router rb
#       172.31.100.254 with 10.60.0.1
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/lib-hnv.sh"

RATE=20000 # kbit/s, each way on ct-gre

section "topology"
hnv_topology gre ra rb
must ip link add ext-g type veth peer name eth0 netns gre
must ip link set ext-g up
must ip addr add 198.51.100.1/24 dev ext-g
must ip -n gre link set eth0 up
must ip -n gre addr add 198.51.100.2/24 dev eth0
# the partner's router: a stock Linux GRE tunnel, its site on lo
must ip -n gre link add gre1 type gre local 198.51.100.2 remote 198.51.100.1 key 1001
must ip -n gre addr add 172.30.0.2/30 dev gre1
must ip -n gre link set gre1 up
must ip -n gre addr add 192.168.50.1/24 dev lo
must ip -n gre route add 10.10.0.0/16 dev gre1
# VLAN 100 on two parents, one router each, with the same addresses
for p in "ext0 rb 10.60.0.1/16" "ext1 ra 10.70.0.1/16"; do
	set -- $p
	must ip link add "$1" type veth peer name eth0 netns "$2"
	must ip link set "$1" up
	must ip -n "$2" link set eth0 up
	must ip -n "$2" link add link eth0 name eth0.100 type vlan id 100
	must ip -n "$2" link set eth0.100 up
	must ip -n "$2" addr add 172.31.100.254/24 dev eth0.100
	must ip -n "$2" addr add "$3" dev lo
	must ip -n "$2" route add 10.10.0.0/16 via 172.31.100.1
done

section "gateway (this VM): tenants with GRE and L3 connections"
GRE_LINE="gre add ct-gre --rdomain contoso --local 198.51.100.1 --remote 198.51.100.2 --key 1001 --addr 172.30.0.1/30 --remote-prefix 192.168.50.0/24"
cat >"$LAB_TMP/tenants.conf" <<EOF
gateway add --rdomain contoso --vrf contoso --table 101 --bgp-asn 65000
gateway ca --rdomain contoso --vsid 5001 --ca 10.10.0.2
gateway add --rdomain fabrikam --vrf fabrikam --table 102
gateway ca --rdomain fabrikam --vsid 6001 --ca 10.10.0.2
$GRE_LINE --rate-out $RATE --rate-in $RATE
l3 add ct-vlan --rdomain contoso --dev ext1 --vlan 100 --addr 172.31.100.1/24 --nexthop 172.31.100.254 --remote-prefix 10.70.0.0/16
l3 add fb-vlan --rdomain fabrikam --dev ext0 --vlan 100 --addr 172.31.100.1/24 --nexthop 172.31.100.254 --remote-prefix 10.60.0.0/16
EOF
gateway_start "$LAB_TMP/tenants.conf"
# A connection device made now gets its address at the gateway's next pass
# (2 s later, docs/gateway.md: FRR 8.4's zebra drops an address of a link
# it has not seen yet); the checks below look after it.
wait_ok 20 bash -c "ip -4 addr show dev gr-ct-gre | grep -q 172.30.0.1/30 &&
	ip -4 addr show dev l3-fb-vlan | grep -q 172.31.100.1/24 &&
	ip route show vrf rd-fabrikam | grep -q '^10.60.0.0/16'" >/dev/null || true
gwcli show connections | indent
check_grep "gr-ct-gre: GRE 198.51.100.1 -> 198.51.100.2 key 1001" \
	'gre remote 198\.51\.100\.2 local 198\.51\.100\.1 .*ikey 0\.0\.3\.233 okey 0\.0\.3\.233' ip -d link show gr-ct-gre
check_grep "gr-ct-gre in rd-contoso" 'master rd-contoso' ip link show gr-ct-gre
check_grep "l3-ct-vlan: VLAN 100 of ext1 in rd-contoso" 'l3-ct-vlan@ext1: .*master rd-contoso' ip -d link show l3-ct-vlan
check_grep "l3-fb-vlan: VLAN 100 of ext0 in rd-fabrikam" 'l3-fb-vlan@ext0: .*master rd-fabrikam' ip -d link show l3-fb-vlan
check_grep "l3-fb-vlan: 802.1Q id 100" 'vlan protocol 802\.1Q id 100' ip -d link show l3-fb-vlan
check_grep "show connections: fb-vlan ok" 'fb-vlan .* ok *$' gwcli show connections
check_not "show connections: no connection in error" bash -c "hnvgw show connections | tail -n +2 | grep -vE ' ok *\$'"
check_grep "show gateway: contoso's connections" 'contoso .*gr-ct-gre,l3-ct-vlan' gwcli show gateway
check_grep "gr-ct-gre: tbf at ${RATE}kbit" "qdisc tbf 1: root .*rate 20Mbit" tc qdisc show dev gr-ct-gre
check_grep "gr-ct-gre: ingress police at ${RATE}kbit" 'police .*rate 20Mbit' tc filter show dev gr-ct-gre ingress
check_grep "rd-contoso routes 192.168.50.0/24 into gr-ct-gre" '192\.168\.50\.0/24 .*dev gr-ct-gre' ip route show vrf rd-contoso
check_grep "rd-fabrikam routes 10.60.0.0/16 via the VLAN" '10\.60\.0\.0/16 .*via 172\.31\.100\.254 dev l3-fb-vlan' ip route show vrf rd-fabrikam
check_grep "show config: the GRE line round-trips" "^$GRE_LINE --rate-out $RATE --rate-in $RATE\$" gwcli show config

section "reachability through each connection"
check "ct1 -> 192.168.50.1 (Contoso's partner site, over GRE)" ping1 ct1 192.168.50.1
check "ct1 -> 172.30.0.2 (the GRE endpoint's inner address)" ping1 ct1 172.30.0.2
check "ct2 -> 10.70.0.1 (Contoso's VLAN 100 router on ext1)" ping1 ct2 10.70.0.1
check "fb1 -> 10.60.0.1 (Fabrikam's VLAN 100 router on ext0)" ping1 fb1 10.60.0.1
check "ra -> ct1 10.10.0.5 (back through the VLAN)" ping1 ra 10.10.0.5
check "rb -> fb1 10.10.0.5 (the same address, the other tenant)" ping1 rb 10.10.0.5

section "isolation"
path ct1 10.60.0.1 "Contoso to Fabrikam's VLAN router" blocked
path fb1 192.168.50.1 "Fabrikam to Contoso's GRE site" blocked
path fb1 172.30.0.2 "Fabrikam to Contoso's GRE endpoint" blocked
path fb1 10.70.0.1 "Fabrikam to Contoso's VLAN router" blocked
check_not "ct1 -/-> 10.60.0.1 (Fabrikam's)" ping1 ct1 10.60.0.1
check_not "fb1 -/-> 192.168.50.1 (Contoso's GRE site)" ping1 fb1 192.168.50.1
check_not "fb1 -/-> 10.70.0.1 (Contoso's VLAN router)" ping1 fb1 10.70.0.1
check_not "rb -/-> 172.30.0.1 (Contoso's tunnel address)" ping1 rb 172.30.0.1
# the same VLAN on ext0 and ext1 stays two networks: rb's pings to its own
# next hop reach Fabrikam's sub-interface only
capture ra eth0 'vlan and icmp'
ip netns exec rb ping -c 3 -i 0.2 -W 1 172.31.100.1 >/dev/null 2>&1
capture_stop
check "rb -> 172.31.100.1 (Fabrikam's VLAN address)" ping1 rb 172.31.100.1
check_not "ra's VLAN 100 saw none of rb's pings" grep -q 'ICMP echo' "$LAB_TMP/ra-eth0.txt"

section "BGP over the GRE connection: FRR in the endpoint's namespace (AS 65010)"
must ip -n gre addr add 192.168.60.1/24 dev lo
must ip -n gre addr add 192.168.70.1/24 dev lo
frr_start gre <<EOF
router bgp 65010
 bgp router-id 172.30.0.2
 no bgp ebgp-requires-policy
 neighbor 172.30.0.1 remote-as 65000
 neighbor 172.30.0.1 timers connect 5
 address-family ipv4 unicast
  network 192.168.60.0/24
  network 192.168.70.0/24
 exit-address-family
EOF
check "bgp-peer add gre-rt on the tunnel's inner address (--prefix-in 192.168.60.0/24)" \
	gwcli bgp-peer add gre-rt --rdomain contoso --addr 172.30.0.2 --asn 65010 --prefix-in 192.168.60.0/24
gre_in() { ip route show vrf rd-contoso 192.168.60.0/24 | grep -q 'dev gr-ct-gre'; }
if t=$(wait_ok 60 gre_in); then ok "rd-contoso learned the listed 192.168.60.0/24 over gr-ct-gre (${t} s)"; else
	nok "rd-contoso learned 192.168.60.0/24 over gr-ct-gre"
	vtysh -c 'show bgp vrf rd-contoso neighbors 172.30.0.2' 2>&1 | grep -iE 'state|reset|nexthop' | indent 20
	ip netns exec gre vtysh -N gre -c 'show bgp neighbors 172.30.0.1' 2>&1 | grep -iE 'state|reset' | indent 20
	# zebra's view of the tunnel's subnet (bgpd connects once it resolves the peer)
	vtysh -c 'show ip nht vrf rd-contoso' 2>&1 | indent
	vtysh -c 'show interface gr-ct-gre' 2>&1 | grep -E 'vrf|inet' | indent
	tail -20 "$LAB_TMP/frr-gre/bgpd.log" | indent
fi
check_grep "the peer's session is Established, one prefix accepted (the listed one)" \
	'contoso +gre-rt +172\.30\.0\.2 +65010 +192\.168\.60\.0/24 +own prefixes +Established +[0-9]+ +1 ' gwcli show bgp-peers
check_not "rd-contoso has not the unlisted 192.168.70.0/24" bash -c "ip route show vrf rd-contoso 192.168.70.0/24 | grep -q ."
check_not "... nor does Fabrikam's VRF have either" bash -c "ip route show vrf rd-fabrikam | grep -q '192\.168\.[67]0\.'"
check_grep "the peer learned Contoso's 10.10.0.0/16 from 172.30.0.1" '10\.10\.0\.0/16 +172\.30\.0\.1 ' \
	ip netns exec gre vtysh -N gre -c 'show ip bgp'
check "ct1 -> 192.168.60.1 (the BGP-learned prefix, over GRE)" wait_ok 20 ping1 ct1 192.168.60.1
check_not "ct1 -/-> 192.168.70.1 (not accepted: no route)" ping1 ct1 192.168.70.1
gwcli show bgp-peers | indent

section "rate limits: iperf3 through gr-ct-gre (${RATE} kbit/s each way)"
# measured now, checked below against what the path carries unlimited
lim_out=$(iperf_rate ct1 gre 192.168.50.1)
lim_in=$(iperf_rate ct1 gre 192.168.50.1 -R)

section "changing a rate: the qdisc changes, the device stays"
ifi=$(cat /sys/class/net/gr-ct-gre/ifindex)
printf 'gre del ct-gre\n%s --rate-out 10000 --rate-in 30000\n' "$GRE_LINE" >"$LAB_TMP/rate.conf"
check "commit: ct-gre with 10000/30000 kbit/s" gwcli commit -f "$LAB_TMP/rate.conf"
check_grep "gr-ct-gre: tbf at 10Mbit" "qdisc tbf 1: root .*rate 10Mbit" tc qdisc show dev gr-ct-gre
check_grep "gr-ct-gre: police at 30Mbit" 'police .*rate 30Mbit' tc filter show dev gr-ct-gre ingress
check_grep "gr-ct-gre: the same device (ifindex $ifi)" "^$ifi\$" cat /sys/class/net/gr-ct-gre/ifindex
check "ct1 -> 192.168.50.1 after the change" ping1 ct1 192.168.50.1
printf 'gre del ct-gre\n%s\n' "$GRE_LINE" >"$LAB_TMP/norate.conf"
check "commit: ct-gre unlimited" gwcli commit -f "$LAB_TMP/norate.conf"
check_not "gr-ct-gre: no tbf" bash -c "tc qdisc show dev gr-ct-gre | grep -q tbf"
check_not "gr-ct-gre: no ingress qdisc" bash -c "tc qdisc show dev gr-ct-gre | grep -q ingress"
# what the path carries without limits, in the same run
cap_out=$(iperf_rate ct1 gre 192.168.50.1)
cap_in=$(iperf_rate ct1 gre 192.168.50.1 -R)
rate_band "out (ct1 -> GRE site, tbf)" "$lim_out" "$RATE" gr-ct-gre "$cap_out"
rate_band "in (GRE site -> ct1, police)" "$lim_in" "$RATE" gr-ct-gre "$cap_in"

section "reconciliation"
# a changed device is put back; an unconfigured one of ours goes; the
# parent and a foreign VLAN stay
must ip link add link ext0 name l3-stale type vlan id 999
must ip link add link ext0 name foreign.7 type vlan id 7
must systemctl restart hnvgwd
wait_ok 20 gwcli show revisions >/dev/null || nok "hnvgwd answers after the restart"
gone() { ! ip link show l3-stale >/dev/null 2>&1; }
if t=$(wait_ok 20 gone); then ok "l3-stale (ours, unconfigured) deleted after the restart (${t} s)"; else nok "l3-stale deleted"; fi
check "foreign.7 (not ours) kept" ip link show foreign.7
check "ext0 (a parent) kept" ip link show ext0
check "ct1 -> 192.168.50.1 after the restart" ping1 ct1 192.168.50.1
check "fb1 -> 10.60.0.1 after the restart" ping1 fb1 10.60.0.1
printf 'gre del ct-gre\nl3 del ct-vlan\nl3 del fb-vlan\n' >"$LAB_TMP/del.conf"
check "gre del, l3 del" gwcli commit -f "$LAB_TMP/del.conf"
check_not "gr-ct-gre gone" ip link show gr-ct-gre
check_not "l3-fb-vlan gone" ip link show l3-fb-vlan
check_not "ct1 -/-> 192.168.50.1 without the tunnel" ping1 ct1 192.168.50.1
ip link del foreign.7 2>/dev/null

finish
