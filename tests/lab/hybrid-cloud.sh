#!/bin/bash
# Lab scenario `hybrid-cloud` (issue 7): hnvgwd as the gateway of this VM
# connects each tenant to its on-premises site through an IPsec
# site-to-site tunnel negotiated by this VM's charon (strongswan.service),
# driven by hnvgwd over VICI. Each site is a stock strongSwan (charon in its
# own namespace, kernel ESP) configured only by a swanctl.conf written here.
#
#   the HNV topology of lib-hnv.sh (Contoso and Fabrikam, both 10.10.0.0/16)
#   WAN 198.51.100.0/24 (bridge in namespace wan): the gateway .1 on wan0,
#     site-contoso .2, site-fabrikam .3, site-many .4
#   both sites use 192.168.0.0/16 (192.168.1.1 on their lo)
#   Contoso: XFRM interface xf-N in rd-contoso; Fabrikam: xf-M in rd-fabrikam
#   Fabrikam's branch site-branch .5 numbers its LAN 10.10.0.0/16 like the
#     tenant: its tunnel maps both sides (NETMAP), Fabrikam sees it as
#     172.30.0.0/16 and it sees Fabrikam as 172.31.0.0/16
#   then 20 more tenants, one tunnel each, to site-many (timed)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-hnv.sh"

PSK_CT="Vq7mN2pL9vR4tW8zK3sB6yF1"
PSK_FB="Hd5xJ8cQ2wE7rT4uY9iO3pA6"
PSK_BR="Lp3kW9sD6fG2hJ5mN8qR4tV7"

# site NS ADDR: a stock charon in namespace NS (own /run, kernel ESP),
# loaded with $LAB_TMP/NS/swanctl.conf by swanctl.
site_start() {
	local ns=$1 dir=$LAB_TMP/$1
	mkdir -p "$dir/run"
	rm -f "$dir/charon.vici" # a stale socket would look like a started charon
	cat >"$dir/strongswan.conf" <<-EOF
		charon {
		  load_modular = yes
		  install_virtual_ip = no
		  filelog {
		    site { path = $dir/charon-file.log
		      append = yes
		      default = 1
		      ike = 2 }
		  }
		  plugins {
		    include /etc/strongswan.d/charon/*.conf
		    vici { socket = unix://$dir/charon.vici }
		    stroke { load = no }
		  }
		}
		swanctl { socket = unix://$dir/charon.vici }
	EOF
	ip netns exec "$ns" sh -c "mount --bind '$dir/run' /run && STRONGSWAN_CONF='$dir/strongswan.conf' exec /usr/lib/ipsec/charon" \
		>"$dir/charon.log" 2>&1 &
	HNV_PIDS+=($!)
	wait_ok 20 test -S "$dir/charon.vici" >/dev/null || nok "charon of $ns started"
	must swanctl --load-all --file "$dir/swanctl.conf" --uri "unix://$dir/charon.vici"
}
# site_conf NS LOCAL_ID REMOTE_ID PSK ADDR: one conn accepting the gateway.
site_conn() {
	cat <<-EOF
		  $1 {
		    version = 2
		    local_addrs = $5
		    remote_addrs = 198.51.100.1
		    proposals = aes256gcm16-prfsha384-ecp384
		    dpd_delay = 5s
		    local { auth = psk
		      id = $2 }
		    remote { auth = psk
		      id = $3 }
		    children {
		      $1 {
		        local_ts = 192.168.0.0/16
		        remote_ts = 10.10.0.0/16
		        esp_proposals = aes256gcm16-ecp384
		        dpd_action = clear
		      }
		    }
		  }
	EOF
}
site_secret() {
	cat <<-EOF
		  ike-$1 { id-a = $2
		    id-b = $3
		    secret = "$4" }
	EOF
}

section "topology"
hnv_topology wan sc sf sm so
must ip -n wan link add br0 type bridge
must ip -n wan link set br0 up
must ip link add wan0 type veth peer name gw netns wan
must ip link set wan0 up
must ip -n wan link set gw master br0 up
must ip addr add 198.51.100.1/24 dev wan0
i=2
for s in sc sf sm so; do
	veth "$s" eth0 wan "$s"
	must ip -n wan link set "$s" master br0
	must ip -n "$s" addr add "198.51.100.$i/24" dev eth0
	if [[ $s == so ]]; then
		must ip -n "$s" addr add 10.10.0.5/16 dev lo
	else
		must ip -n "$s" addr add 192.168.1.1/16 dev lo
	fi
	i=$((i + 1))
done

section "sites: stock strongSwan, swanctl.conf only"
mkdir -p "$LAB_TMP/sc" "$LAB_TMP/sf" "$LAB_TMP/sm" "$LAB_TMP/so"
{
	echo "connections {"
	site_conn contoso site-contoso gw-contoso "$PSK_CT" 198.51.100.2
	echo "}"
	echo "secrets {"
	site_secret contoso site-contoso gw-contoso "$PSK_CT"
	echo "}"
} >"$LAB_TMP/sc/swanctl.conf"
{
	echo "connections {"
	site_conn fabrikam site-fabrikam gw-fabrikam "$PSK_FB" 198.51.100.3
	echo "}"
	echo "secrets {"
	site_secret fabrikam site-fabrikam gw-fabrikam "$PSK_FB"
	echo "}"
} >"$LAB_TMP/sf/swanctl.conf"
{
	echo "connections {"
	for n in $(seq 1 20); do site_conn t$n site-t$n gw-t$n "Zk4${n}mQ8wP2xL7vB5nR9tY3" 198.51.100.4; done
	echo "}"
	echo "secrets {"
	for n in $(seq 1 20); do site_secret t$n site-t$n gw-t$n "Zk4${n}mQ8wP2xL7vB5nR9tY3"; done
	echo "}"
} >"$LAB_TMP/sm/swanctl.conf"
site_start sc
site_start sf
site_start sm

section "gateway: two tenants, one tunnel each"
cat >"$LAB_TMP/tenants.conf" <<EOF
gateway add --rdomain contoso --vrf contoso --table 101 --bgp-asn 65000 --bgp-peer 192.168.1.1 --bgp-peer-asn 65010
gateway ca --rdomain contoso --vsid 5001 --ca 10.10.0.2
gateway add --rdomain fabrikam --vrf fabrikam --table 102
gateway ca --rdomain fabrikam --vsid 6001 --ca 10.10.0.2
s2s add contoso-hq --rdomain contoso --peer 198.51.100.2 --local-addr 198.51.100.1 --local-id gw-contoso --remote-id site-contoso --psk $PSK_CT --remote-prefix 192.168.0.0/16 --dpd 5
s2s add fabrikam-hq --rdomain fabrikam --peer 198.51.100.3 --local-addr 198.51.100.1 --local-id gw-fabrikam --remote-id site-fabrikam --psk $PSK_FB --remote-prefix 192.168.0.0/16 --dpd 5
EOF
gateway_start "$LAB_TMP/tenants.conf"
up() { gwcli s2s show | grep -qE "^$1 .* ESTABLISHED "; }
for t in contoso-hq fabrikam-hq; do
	if s=$(wait_ok 60 up "$t"); then ok "tunnel $t established (${s} s)"; else nok "tunnel $t established"; fi
done
gwcli s2s show | indent
check_grep "contoso-hq's XFRM interface is in rd-contoso" 'master rd-contoso' bash -c "ip -d link show type xfrm"
check_grep "rd-contoso routes 192.168.0.0/16 into its tunnel" 'dev xf-' ip route show vrf rd-contoso 192.168.0.0/16
check_grep "rd-fabrikam too" 'dev xf-' ip route show vrf rd-fabrikam 192.168.0.0/16

section "each tenant reaches its own site, never the other's"
check "ct1 -> Contoso's site 192.168.1.1" ping1 ct1 192.168.1.1
check "fb1 -> Fabrikam's site 192.168.1.1" ping1 fb1 192.168.1.1
# the two tenants' pings carry the same addresses: told apart by their size
capture sc eth0 icmp
capture sf eth0 icmp
ip netns exec ct2 ping -c 2 -i 0.3 -W 1 -s 111 192.168.1.1 >/dev/null 2>&1
ip netns exec fb2 ping -c 2 -i 0.3 -W 1 -s 222 192.168.1.1 >/dev/null 2>&1
capture_stop
check_grep "Contoso's site saw ct2's pings" '10\.10\.0\.7 > 192\.168\.1\.1: ICMP echo request.*length 119' captured sc eth0
check_not "Fabrikam's site saw none of them" grep -q 'length 119' "$LAB_TMP/sf-eth0.txt"
check_grep "Fabrikam's site saw fb2's pings" '10\.10\.0\.7 > 192\.168\.1\.1: ICMP echo request.*length 230' captured sf eth0
check_not "Contoso's site saw none of them" grep -q 'length 230' "$LAB_TMP/sc-eth0.txt"
check "the site reaches back into its tenant (site-contoso -> ct2)" \
	ip netns exec sc ping -c 1 -W 2 -I 192.168.1.1 10.10.0.7
check_grep "ESP on the WAN, no clear tenant traffic" 'ESP' bash -c \
	"ip netns exec wan timeout 4 tcpdump -c 2 -nn -i br0 esp 2>/dev/null & sleep 1; ip netns exec ct1 ping -c 2 -W 1 192.168.1.1 >/dev/null; wait"
check_grep "show s2s-status counts bytes" '"bytes_in": [1-9]' gwcli --json show s2s-status
check_not "the PSK is in no show output" grep -q "$PSK_CT" <(gwcli show config; gwcli show s2s; gwcli --json show s2s-status)
sas() { swanctl --list-sas --uri "unix://$LAB_TMP/sc/charon.vici" 2>/dev/null | grep -c 'ESTABLISHED'; }

section "the fast path: TCP through the gateway into the tunnel"
tcp_check "ct1 -> Contoso's site 192.168.1.1 (NVGRE, VRF, XFRM)" ct1 sc 192.168.1.1
tcp_check "Contoso's site -> ct2 (XFRM, VRF, NVGRE)" sc ct2 10.10.0.7 4M 192.168.1.1
fast_path_check

section "NETMAP: a Fabrikam branch whose LAN is Fabrikam's own 10.10.0.0/16"
# site-branch (namespace so, 198.51.100.5) numbers its LAN 10.10.0.0/16
# too, its host 10.10.0.5 like fb1. The tunnel maps Fabrikam to the branch
# as 172.31.0.0/16 and the branch to Fabrikam as 172.30.0.0/16; the
# branch's swanctl.conf knows only 172.31.0.0/16 for the gateway's side.
{
	echo "connections {"
	site_conn branch site-branch gw-branch "$PSK_BR" 198.51.100.5 |
		sed -e 's|local_ts = 192.168.0.0/16|local_ts = 10.10.0.0/16|' \
			-e 's|remote_ts = 10.10.0.0/16|remote_ts = 172.31.0.0/16|'
	echo "}"
	echo "secrets {"
	site_secret branch site-branch gw-branch "$PSK_BR"
	echo "}"
} >"$LAB_TMP/so/swanctl.conf"
site_start so
must gwcli s2s add fabrikam-branch --rdomain fabrikam --peer 198.51.100.5 --local-addr 198.51.100.1 \
	--local-id gw-branch --remote-id site-branch --psk "$PSK_BR" --remote-prefix 10.10.0.0/16 \
	--local-netmap 10.10.0.0/16=172.31.0.0/16 --remote-netmap 10.10.0.0/16=172.30.0.0/16 --dpd 5
if s=$(wait_ok 60 up fabrikam-branch); then ok "tunnel fabrikam-branch established (${s} s)"; else
	nok "tunnel fabrikam-branch established"
	{
		gwcli s2s show
		journalctl -u strongswan --no-pager -n 30 | grep -v plugin
		tail -n 30 "$LAB_TMP/so/charon-file.log"
	} 2>&1 | indent 70
fi
gwcli s2s show | grep '^fabrikam-branch' | indent
check_grep "rd-fabrikam routes the branch as 172.30.0.0/16 into its tunnel" 'dev xf-' \
	ip route show vrf rd-fabrikam 172.30.0.0/16
check_not "... and adds no route for the branch's real 10.10.0.0/16" \
	bash -c "ip route show vrf rd-fabrikam 10.10.0.0/16 | grep -q xf-"
check_grep "the fwmark rule before the VRFs' l3mdev rule" '^900:.*fwmark 0x48' ip rule show pref 900
capture so eth0 icmp
if t=$(wait_ok 20 ping1 fb1 172.30.0.5); then ok "fb1 (10.10.0.5) -> the branch's 10.10.0.5 as 172.30.0.5 (${t} s)"; else
	nok "fb1 (10.10.0.5) -> the branch's 10.10.0.5 as 172.30.0.5"
	{
		gwcli s2s show
		ip rule
		ip route show table all | grep -E 'xf-|0x48|12079' | head
		nft list table inet hnvgw | grep -A12 netmap
		conntrack -L 2>/dev/null | grep -E '172\.3[01]' | head
		ip -s xfrm state | head -30
		ip xfrm policy | head -30
	} 2>&1 | indent 100
fi
if ip netns exec so ping -c 2 -i 0.3 -W 2 -I 10.10.0.5 172.31.0.5 >/dev/null 2>&1; then
	ok "the branch reaches fb1 as 172.31.0.5"
else
	nok "the branch reaches fb1 as 172.31.0.5"
	{
		conntrack -L 2>/dev/null | grep -E '172\.3[01]' | head
		nft list table inet hnvgw | grep -B1 -A8 netmap
		ip -s xfrm state | grep -A6 'dst 198.51.100.5' | head -20
		ip netns exec fb1 timeout 3 tcpdump -c 4 -nn -i any icmp 2>&1 &
		sleep 0.5
		ip netns exec so ping -c 2 -i 0.3 -W 1 -I 10.10.0.5 172.31.0.5 | tail -2
		wait
	} 2>&1 | indent 60
fi
capture_stop
check_grep "the branch saw Fabrikam as 172.31.0.5" '172\.31\.0\.5 > 10\.10\.0\.5: ICMP echo request' captured so eth0
nat_rows() { gwcli --json show nat | tr -d '\n' | sed 's/}/}\n/g'; }
if nat_rows | grep -q '"source": "10.10.0.5:.*"destination": "172.31.0.5:0".*"translated": "172.30.0.5:.*"translated_dst": "10.10.0.5"'; then
	ok "show nat: the branch's ping, translated both ways"
else
	nok "show nat: the branch's ping, translated both ways"
	{
		nat_rows | grep -E '172\.3[01]'
		conntrack -L 2>/dev/null | grep -E '172\.3[01]'
	} 2>&1 | indent 20
fi
gwcli show nat | grep -E 'fabrikam.*172\.3[01]' | indent 6
check_not "Contoso never reaches Fabrikam's branch (ct1 -> 172.30.0.5)" ping1 ct1 172.30.0.5
check_not "... nor does the branch see a 10.10.0.x source" grep -qE '10\.10\.[0-9.]+ > 10\.10\.0\.5' "$LAB_TMP/so-eth0.txt"
check "fb1 still reaches Fabrikam's HQ 192.168.1.1" ping1 fb1 192.168.1.1

section "BGP with Contoso's site over its tunnel"
# the site's router (FRR in namespace sc) announces 192.168.77.0/24 and
# learns the tenant's 10.10.0.0/16; the gateway's rd-contoso instance
# peers with it at 192.168.1.1, through the XFRM interface
must ip -n sc addr add 192.168.77.1/24 dev lo
frr_start sc <<EOF
router bgp 65010
 bgp router-id 192.168.1.1
 no bgp ebgp-requires-policy
 neighbor 10.10.0.2 remote-as 65000
 neighbor 10.10.0.2 disable-connected-check
 neighbor 10.10.0.2 update-source 192.168.1.1
 neighbor 10.10.0.2 timers connect 5
 address-family ipv4 unicast
  network 192.168.77.0/24
 exit-address-family
EOF
site_learned() { ip netns exec sc vtysh -N sc -c 'show bgp ipv4 unicast 10.10.0.0/16' 2>/dev/null | grep -q '65000'; }
gw_learned() { ip route show vrf rd-contoso 192.168.77.0/24 | grep -q 'via 192.168.1.1'; }
if t=$(wait_ok 90 gw_learned); then ok "rd-contoso learned 192.168.77.0/24 from the site over the tunnel (${t} s)"; else
	nok "rd-contoso learned 192.168.77.0/24 from the site over the tunnel"
	{
		vtysh -c 'show bgp vrf rd-contoso summary' | grep -A1 Neighbor
		ip netns exec sc vtysh -N sc -c 'show bgp summary' | grep -A1 Neighbor
		echo "# ping from the VRF"; ip vrf exec rd-contoso ping -c1 -W1 192.168.1.1 | grep -E 'from|loss'
		echo "# ping from the site"; ip netns exec sc ping -c1 -W1 -I 192.168.1.1 10.10.0.2 | grep -E 'from|loss'
		echo "# tcp 179 on the XFRM interface"
		timeout 6 tcpdump -c 6 -nn -i "$(ip -br link show master rd-contoso type xfrm | awk '{print $1; exit}' | cut -d@ -f1)" tcp port 179 2>&1 | tail -7
		ss -tanp | grep 179
		ip netns exec sc ss -tanp | grep 179
		ip netns exec sc ip route show table 220
		tail -5 "$LAB_TMP/frr-sc/bgpd.log"
	} 2>&1 | indent 60
fi
check "the site learned 10.10.0.0/16 from the gateway" site_learned
check "ct1 -> 192.168.77.1 (a BGP-learned site prefix)" ping1 ct1 192.168.77.1
check_not "rd-fabrikam has no route to it" bash -c "ip route show vrf rd-fabrikam 192.168.77.0/24 | grep -q ."

section "hnvgw s2s down / up / set"
gw_sa() { swanctl --list-sas --ike hnvgw-contoso-hq 2>/dev/null | awk '/ESTABLISHED/ { print $2 }'; }
if ! out=$(gwcli s2s down contoso-hq 2>&1); then
	nok "hnvgw s2s down contoso-hq: $out"
	{ journalctl -u hnvgwd --no-pager -n 15; swanctl --list-sas 2>&1 | grep -v plugin | head; } 2>&1 | indent 40
fi
check_not "after s2s down: no IKE SA for contoso-hq" bash -c "swanctl --list-sas --ike hnvgw-contoso-hq 2>/dev/null | grep -q ESTABLISHED"
check_not "after s2s down: ct1 no longer reaches its site" ping1 ct1 192.168.1.1
check_not "s2s show: contoso-hq is not ESTABLISHED" bash -c "gwcli s2s show | grep -qE '^contoso-hq .* ESTABLISHED '"
check "hnvgw s2s up contoso-hq" gwcli s2s up contoso-hq
if t=$(wait_ok 30 up contoso-hq); then ok "after s2s up: contoso-hq established (${t} s)"; else nok "after s2s up: contoso-hq established"; fi
check "after s2s up: ct1 reaches its site" wait_ok 20 ping1 ct1 192.168.1.1
check_grep "after s2s up: one IKE SA at the site" '^1$' sas
check "hnvgw s2s set fabrikam-hq (new DPD delay)" gwcli s2s set fabrikam-hq --rdomain fabrikam --peer 198.51.100.3 --local-addr 198.51.100.1 --local-id gw-fabrikam --remote-id site-fabrikam --psk "$PSK_FB" --remote-prefix 192.168.0.0/16 --dpd 7
check_grep "s2s set: the stored tunnel has the new DPD delay" 'fabrikam-hq.*--dpd 7' gwcli show config
check_grep "s2s set: charon holds it with dpd_delay 7 s" 'dpd_delay[ =:]+7\b' bash -c \
	"swanctl --list-conns --pretty 2>/dev/null | awk '/hnvgw-fabrikam-hq \\{/ { f = 1 } f && /dpd_delay/ { print; exit }'"
check "after s2s set: fb1 reaches its site" wait_ok 30 ping1 fb1 192.168.1.1

section "survives restarts without duplicate IKE SAs"
sa_before=$(gw_sa)
must systemctl restart hnvgwd
wait_ok 20 gwcli show revisions >/dev/null
check "after an hnvgwd restart: traffic" wait_ok 20 ping1 ct1 192.168.1.1
check_grep "... and still one IKE SA at the site" '^1$' sas
sa_after=$(gw_sa)
if [[ -n $sa_before && $sa_before == "$sa_after" ]]; then
	ok "an hnvgwd restart keeps the tunnel: the same IKE SA $sa_after on the gateway"
else
	nok "an hnvgwd restart keeps the tunnel (IKE SA before: '$sa_before', after: '$sa_after')"
fi
must systemctl restart strongswan
if t=$(wait_ok 60 ping1 ct1 192.168.1.1); then ok "after a charon restart: traffic back (${t} s)"; else
	nok "after a charon restart: traffic back"
	{
		gwcli s2s show
		journalctl -u hnvgwd --no-pager -n 25
		swanctl --list-conns 2>&1 | head -20
		swanctl --list-sas 2>&1 | head -20
	} 2>&1 | indent 80
fi
sleep 2
check_grep "... and one IKE SA at the site" '^1$' sas
# the remote site crashes and reboots (SIGKILL, its kernel SAs gone, no
# DELETE sent): only DPD on the gateway notices; the tunnel must carry
# traffic again within 30 s
ip netns exec sc sh -c "kill -KILL \$(cat $LAB_TMP/sc/run/charon.pid)" 2>/dev/null
ip -n sc xfrm state flush
ip -n sc xfrm policy flush
t_crash=$EPOCHREALTIME
site_start sc
if wait_ok 60 ping1 ct1 192.168.1.1 >/dev/null; then
	t=$(awk -v a="$t_crash" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	echo "       SUMMARY site crash: traffic back ${t} s after the crash (DPD 5 s)"
	awk -v t="$t" 'BEGIN { exit !(t <= 30) }' && ok "after the site crashed: DPD brought traffic back in ${t} s (<= 30 s)" ||
		nok "after the site crashed: traffic back within 30 s (${t} s)"
else
	nok "after the site crashed: traffic back"
	{
		gwcli s2s show
		journalctl -u strongswan --no-pager -n 40 | grep -v plugin
		echo "--- site:"
		tail -n 40 "$LAB_TMP/sc/charon-file.log"
		swanctl --list-sas --uri "unix://$LAB_TMP/sc/charon.vici" 2>&1 | grep -v plugin
	} 2>&1 | indent 120
fi
check_grep "... one IKE SA at the site" '^1$' sas
# Fabrikam too (it has two tunnels, one with NETMAP)
check "after the restarts: fb1 -> Fabrikam's HQ 192.168.1.1" wait_ok 20 ping1 fb1 192.168.1.1
check "after the restarts: fb1 -> the branch as 172.30.0.5" wait_ok 20 ping1 fb1 172.30.0.5

section "20 more tenants with one tunnel each (timed)"
{
	for n in $(seq 1 20); do
		vsid=$((7000 + n))
		cat <<-EOF
			rdomain add t$n --rdid 22222222-0000-0000-0000-$(printf %012d $n)
			vsubnet add $vsid --rdomain t$n --prefix 10.10.0.0/16
			gateway add --rdomain t$n --vrf t$n --table $((300 + n))
			gateway ca --rdomain t$n --vsid $vsid --ca 10.10.0.2
			s2s add t$n-site --rdomain t$n --peer 198.51.100.4 --local-addr 198.51.100.1 --local-id gw-t$n --remote-id site-t$n --psk Zk4${n}mQ8wP2xL7vB5nR9tY3 --remote-prefix 192.168.0.0/16
		EOF
	done
} >"$LAB_TMP/many.conf"
t0=$EPOCHREALTIME
must gwcli commit -f "$LAB_TMP/many.conf"
echo "       commit took $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
all_up() { [[ $(gwcli s2s show | grep -c '^ *t[0-9]*-site .* ESTABLISHED ') -ge 20 ]]; }
if wait_ok 180 all_up >/dev/null; then
	t=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	ok "20 tenants, 20 tunnels established in ${t} s (commit to the last ESTABLISHED)"
	echo "SUMMARY 20-tenants ${t}s"
else
	nok "20 more tunnels established"
	gwcli s2s show | indent 30
fi
check_grep "22 VRFs" '^22$' bash -c "ip -br link show type vrf | grep -c '^rd-'"

section "summary"
echo "---- summary ----"
echo "# tenants: $(gwcli show gateway | tail -n +2 | wc -l) (Contoso, Fabrikam and t1..t20; the first rows)"
gwcli show gateway | head -5
echo "# tunnels: state, IKE SAs, age, traffic (from charon over VICI)"
gwcli s2s show | awk -v f='%-16s %-9s %-13s %-12s %-8s %-14s %-9s %-10s %s\n' '
	NR == 1 { printf f, "name", "rdomain", "peer", "state", "ike_sas", "established_s", "bytes_in", "bytes_out", "rekeys"; next }
	{ printf f, $1, $2, $3, $(NF - 8), $(NF - 6), $(NF - 5), $(NF - 4), $(NF - 3), $NF }
	NR == 6 { exit }'
echo "# paths: one ping each"
path ct1 192.168.1.1 "Contoso's site, tunnel contoso-hq" reached
path fb1 192.168.1.1 "Fabrikam's site (same address), fabrikam-hq" reached
path fb1 172.30.0.5 "Fabrikam's branch 10.10.0.5 through NETMAP" reached
path ct1 172.30.0.5 "... not Contoso's" blocked
echo "# NETMAP translations: Fabrikam <-> its branch (10.10.0.0/16 on both sides)"
gwcli show nat | grep -E '^(RDOMAIN|rdomain)|172\.3[01]' | head -4
echo "# datapath counters of the gateway (non-zero)"
gwcli show counters | awk 'NR == 1 || $2 != 0 { print; if (++n == 12) exit }'
echo "---- end of summary ----"

section "still on the fast path after the restarts"
fast_path_check

section "a removed NETMAP tunnel leaves nothing behind"
must gwcli s2s del fabrikam-branch
gone() { ! ip rule show pref 900 | grep -q fwmark && ! nft list table inet hnvgw | grep -q 'prefix to'; }
check "its fwmark rule and its NETMAP rules are gone" wait_ok 10 gone
if ping1 fb1 192.168.1.1 >/dev/null 2>&1; then ok "fb1 still reaches Fabrikam's HQ 192.168.1.1"; else
	nok "fb1 still reaches Fabrikam's HQ 192.168.1.1"
	{
		t=$(wait_ok 20 ping1 fb1 192.168.1.1) && echo "(it does again after $t s)"
		echo "# fb1 -> gateway CA:"; ping1 fb1 10.10.0.2 | grep -E 'loss'
		echo "# table 220:"; ip route show table 220
		echo "# xfrm_stat:"; grep -v ' 0$' /proc/net/xfrm_stat
		echo "# on the HQ interface:"
		hq=$(ip -br link show master rd-fabrikam type xfrm | awk '{print $1; exit}' | cut -d@ -f1)
		timeout 4 tcpdump -c 4 -nn -i "$hq" 2>&1 &
		sleep 0.5; ping1 fb1 192.168.1.1 >/dev/null; wait
		echo "# on vsid6001:"
		timeout 4 tcpdump -c 4 -nn -i vsid6001 icmp 2>&1 &
		sleep 0.5; ping1 fb1 192.168.1.1 >/dev/null; wait
		ip -s xfrm policy | grep -B2 -A6 'dst 192.168.0.0/16' | head -20
		conntrack -L 2>/dev/null | grep 192.168.1.1 | head
		nft list table inet hnvgw | grep -A5 'chain netmap'
		gwcli s2s show
		ip route show vrf rd-fabrikam
		ip rule
		journalctl -u hnvgwd --no-pager -n 8
	} 2>&1 | indent 200
fi
section "Prometheus metrics (hnvgwd --metrics)"
# hnvgwd restarted with the endpoint: the tunnels and bgpd's session stay
echo 'HNVGWD_OPTS="--uplink up0 --metrics 127.0.0.1:9417"' >/etc/default/hnvgwd
must systemctl restart hnvgwd
wait_ok 20 gwcli show revisions >/dev/null
http_get() { printf 'GET %s HTTP/1.0\r\nHost: lab\r\n\r\n' "$1" | nc -w 20 127.0.0.1 9417 | tr -d '\r'; }
SCRAPE=$LAB_TMP/metrics.txt
scrape() { http_get /metrics >"$SCRAPE"; }
# value NAME{LABELS}: its value in the last scrape
value() { awk -v m="$1" 'index($0, m " ") == 1 { print $NF }' "$SCRAPE"; }
# m_pos NAME{LABELS}...: each is in the last scrape and > 0
m_pos() {
	local v
	for m in "$@"; do
		v=$(value "$m")
		[ -n "$v" ] && [ "${v%%.*}" -gt 0 ] || { echo "$m: '$v'"; return 1; }
	done
}
m_up() { scrape && [ "$(value "$1")" = 1 ]; }
check_grep "the endpoint answers with the 0.0.4 text format" '^Content-Type: text/plain; version=0.0.4' http_get /metrics
ping1 ct1 192.168.1.1 >/dev/null
ping1 fb1 192.168.1.1 >/dev/null
for t in contoso fabrikam; do
	l="{tunnel=\"$t-hq\",rdomain=\"$t\"}"
	check "metrics: tunnel $t-hq ESTABLISHED" wait_ok 30 m_up "hnvgw_s2s_established$l"
	check "metrics: tunnel $t-hq counted bytes both ways" \
		m_pos "hnvgw_s2s_in_bytes_total$l" "hnvgw_s2s_out_bytes_total$l"
done
l='{rdomain="contoso",peer="192.168.1.1"}'
check "metrics: Contoso's BGP session Established" wait_ok 60 m_up "hnvgw_bgp_established$l"
check "metrics: its BGP messages counted both ways" \
	m_pos "hnvgw_bgp_messages_received_total$l" "hnvgw_bgp_messages_sent_total$l"
t0=$EPOCHREALTIME
scrape
t=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
echo "# one scrape: $(wc -c <"$SCRAPE") bytes, $(grep -vc '^#' "$SCRAPE") lines of samples, $t s"
grep -E '^HTTP|^hnvgw_(s2s_(established|in_bytes_total)\{tunnel="contoso|bgp_)' "$SCRAPE" | indent 20
vtysh -c 'show bgp vrf rd-contoso summary json' | grep -E '"(msgRcvd|msgSent|state)"' | indent 4
finish
