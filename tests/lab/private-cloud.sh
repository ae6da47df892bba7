#!/bin/bash
# Lab scenario `private-cloud` (issue 6): hnvgwd as the multitenant gateway
# of this VM, two HNV hosts (hnvgwd host edges in namespaces), a corporate
# router running FRR bgpd, an "internet" host, a foreign NVGRE endpoint.
#
#   the HNV topology of lib-hnv.sh, plus on the provider segment
#     fe (PA .33): Linux gretap, key 5001<<8, CA 10.10.0.9 in Contoso
#   Contoso (VSID 5001, 10.10.0.0/16) -> VRF rd-contoso (table 101)
#     corp side cc0 172.31.1.1/30 <-> corp router 172.31.1.2, AS 65001,
#     announcing 172.16.0.0/16; the gateway (AS 65000) announces 10.10.0.0/16
#   Fabrikam (VSID 6001, 10.10.0.0/16) -> VRF rd-fabrikam (table 102)
#     external side fc0 203.0.113.10/24, SNAT to 203.0.113.10, default route
#     via the internet host 203.0.113.100
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/lib-hnv.sh"

section "topology"
hnv_topology fe corp inet
provider_member fe 192.168.4.33
# corp router and internet host
must ip link add cc0 type veth peer name eth0 netns corp
must ip link add fc0 type veth peer name eth0 netns inet
must ip link set cc0 up
must ip link set fc0 up
must ip -n corp link set eth0 up
must ip -n inet link set eth0 up
must ip -n corp addr add 172.31.1.2/30 dev eth0
must ip -n corp addr add 172.16.1.1/16 dev lo
must ip -n inet addr add 203.0.113.100/24 dev eth0
must ip netns exec corp sysctl -qw net.ipv4.ip_forward=1

section "gateway (this VM): hnvgwd.service with --uplink up0"
cat >"$LAB_TMP/tenants.conf" <<EOF
global set --flowid off
lookup add --vsid 5001 --ca 10.10.0.9 --pa 192.168.4.33 --mac 02:00:00:00:50:09 --vm-name foreign
gateway add --rdomain contoso --vrf contoso --table 101 --corp-dev cc0 --corp-addr 172.31.1.1/30 --bgp-asn 65000 --bgp-peer 172.31.1.2 --bgp-peer-asn 65001
gateway ca --rdomain contoso --vsid 5001 --ca 10.10.0.2
gateway add --rdomain fabrikam --vrf fabrikam --table 102 --corp-dev fc0 --corp-addr 203.0.113.10/24 --corp-nexthop 203.0.113.100 --nat-external 203.0.113.10
gateway ca --rdomain fabrikam --vsid 6001 --ca 10.10.0.2
EOF
gateway_start "$LAB_TMP/tenants.conf"
check_grep "VRF rd-contoso with table 101" 'vrf table 101' ip -d link show rd-contoso
check_grep "VRF rd-fabrikam with table 102" 'vrf table 102' ip -d link show rd-fabrikam
check_grep "gateway port vsid5001 in rd-contoso" 'master rd-contoso' ip link show vsid5001
check_grep "gateway port vsid6001 in rd-fabrikam" 'master rd-fabrikam' ip link show vsid6001
check_grep "vsid5001 carries the gateway CA 10.10.0.2/16" '10\.10\.0\.2/16' ip addr show vsid5001
check_grep "corp device cc0 in rd-contoso" 'master rd-contoso' ip link show cc0
check_grep "show gateway: both tenants ok" 'fabrikam.*ok' gwcli show gateway

section "corporate router: FRR bgpd (AS 65001) in namespace corp"
frr_start corp <<EOF
router bgp 65001
 bgp router-id 172.31.1.2
 bgp graceful-restart
 no bgp ebgp-requires-policy
 neighbor 172.31.1.1 remote-as 65000
 address-family ipv4 unicast
  network 172.16.0.0/16
 exit-address-family
EOF
corp_routes() { ip netns exec corp ip route show 10.10.0.0/16 | grep -q 172.31.1.1; }
gw_routes() { ip route show vrf rd-contoso 172.16.0.0/16 | grep -q 172.31.1.2; }
if t=$(wait_ok 60 corp_routes); then ok "corp router learned 10.10.0.0/16 from the gateway by BGP (${t} s)"; else
	nok "corp router learned 10.10.0.0/16 by BGP"
	ip netns exec corp vtysh -N corp -c 'show bgp summary' 2>&1 | indent
	vtysh -c 'show bgp vrf all summary' 2>&1 | indent
fi
if t=$(wait_ok 60 gw_routes); then ok "rd-contoso learned 172.16.0.0/16 from the corp router (${t} s)"; else
	nok "rd-contoso learned 172.16.0.0/16 by BGP"
	ip route show vrf rd-contoso | indent
fi

section "private cloud: Contoso reaches corp"
check "ct1 -> corp 172.16.1.1 (through the gateway)" ping1 ct1 172.16.1.1
check "ct2 -> corp 172.16.1.1" ping1 ct2 172.16.1.1
check "ct1 -> gateway CA 10.10.0.2" ping1 ct1 10.10.0.2

section "external access: Fabrikam through SNAT"
check "fb1 -> internet 203.0.113.100" ping1 fb1 203.0.113.100
capture inet eth0 icmp
ip netns exec fb2 ping -c 2 -W 1 203.0.113.100 >/dev/null 2>&1
capture_stop
check_grep "the internet host sees the external address 203.0.113.10" '203\.0\.113\.10 > 203\.0\.113\.100' captured inet eth0
check_not "the internet host never sees a CA" grep -q '10\.10\.0\.' "$LAB_TMP/inet-eth0.txt"
check_grep "show nat lists Fabrikam's translation" 'fabrikam' gwcli show nat

section "isolation"
check_not "Fabrikam cannot reach Contoso's corp network" ping1 fb1 172.16.1.1
check_not "Contoso cannot reach the internet host" ping1 ct1 203.0.113.100
check_not "the corp router cannot reach Fabrikam's 10.10.0.7 (only Contoso's)" \
	bash -c "ip netns exec fb2 timeout 3 tcpdump -c1 -nn -i fb2 icmp 2>/dev/null & sleep 1; ip netns exec corp ping -c1 -W1 10.10.0.7 >/dev/null; wait \$!"
check_grep "the datapath counted dropped frames" 'drop' gwcli show counters

section "a foreign NVGRE endpoint: Linux gretap, key 5001<<8"
must ip -n fe link add gt0 type gretap local 192.168.4.33 remote 192.168.4.1 key $((5001 << 8))
must ip -n fe link set gt0 address 02:00:00:00:50:09 up
must ip -n fe addr add 10.10.0.9/16 dev gt0
# HNV endpoints never broadcast ARP onto the provider network: static neighbour
must ip -n fe neigh add 10.10.0.2 lladdr "$CT_MAC" dev gt0
must ip -n fe route add 172.16.0.0/16 via 10.10.0.2
check "gretap endpoint -> gateway CA 10.10.0.2" ping1 fe 10.10.0.2
check "gretap endpoint -> corp 172.16.1.1 through the gateway" ping1 fe 172.16.1.1

section "restarts: traffic back within 10 s"
recover() { # recover WHAT CMD...: restart, then time ct1 -> corp and fb1 -> internet
	local what=$1 t1 t2
	shift
	"$@" >/dev/null 2>&1
	if t1=$(wait_ok 30 ping1 ct1 172.16.1.1) && t2=$(wait_ok 30 ping1 fb1 203.0.113.100); then
		echo "       $what: Contoso->corp back after ${t1} s, Fabrikam->internet ${t2} s more"
		ok "traffic after restarting $what"
		awk -v a="$t1" -v b="$t2" 'BEGIN { exit !(a + b <= 10) }' && ok "$what: within 10 s" ||
			nok "$what: within 10 s (${t1} + ${t2} s)"
	else
		nok "traffic after restarting $what"
		{
			echo "# hnvgwd processes"; pgrep -a hnvgwd
			echo "# ct1"; ip -n ct1 -br addr; ip -n ct1 route
			for h in h1 h2; do echo "# hnvgwd on $h"; tail -n 8 "$LAB_TMP/hnvgwd-$h.log"; done
			echo "# ct1 -> gateway CA"; ping1 ct1 10.10.0.2
			echo "# vsid5001"; ip -d -s link show vsid5001
			echo "# neighbours in rd-contoso"; ip neigh show vrf rd-contoso
			echo "# gateway counters"; gwcli show counters | awk '$2 != 0'
			echo "# ports"; gwcli show ports
			ip netns exec ct1 ping -c 2 -i 0.3 -W 1 172.16.1.1 >/dev/null &
			timeout 2 tcpdump -nn -e -c 6 -i vsid5001 2>&1
			wait
		} 2>&1 | indent 60
	fi
}
recover hnvgwd systemctl restart hnvgwd
recover zebra sh -c "kill \$(cat /run/frr/zebra.pid)"
recover bgpd sh -c "kill \$(cat /run/frr/bgpd.pid)"
# zebra learned hnvgwd's routes again after its restart: every one installed
routes_installed() { gwcli show gateway-routes | awk 'NR > 1 && $NF != "installed" { bad = 1 } NR > 1 { n++ } END { exit bad || !n }'; }
if t=$(wait_ok 30 routes_installed); then ok "zebra holds every hnvgwd route again (${t} s)"; else
	nok "zebra holds every hnvgwd route again"
	{
		gwcli show gateway-routes
		journalctl -u hnvgwd --no-pager | grep -i zapi | tail -12
		vtysh -c 'show vrf'
		vtysh -c 'show ip route vrf all 0.0.0.0/0'
	} 2>&1 | indent 40
fi
check_grep "VRFs and ports survived, still one of each" '^1$' bash -c "ip -br link | grep -c '^vsid5001'"

if ((FAIL)); then
	section "diagnostics"
	for v in rd-contoso rd-fabrikam; do echo "# ip route show vrf $v"; ip route show vrf $v; done
	echo "# show gateway-routes"; gwcli show gateway-routes
	echo "# vtysh: show ip route vrf all"; vtysh -c 'show ip route vrf all' 2>&1 | tail -25
	echo "# nft list table inet hnvgw"; nft list table inet hnvgw 2>&1 | head -30
	echo "# hnvgwd journal"; journalctl -u hnvgwd --no-pager -n 40 2>&1
fi

section "summary"
echo "---- summary ----"
echo "# tenants"
gwcli show gateway
echo "# routes hnvgwd holds in zebra"
gwcli show gateway-routes
echo "# NAT translations"
gwcli show nat
echo "# BGP (corp router's view)"
ip netns exec corp vtysh -N corp -c 'show ip bgp' 2>/dev/null | grep -E '^\*|Network'
echo "# datapath counters of the gateway (non-zero)"
gwcli show counters | awk 'NR == 1 || $2 != 0' | head -20
echo "---- end of summary ----"
frr_stop corp
finish
