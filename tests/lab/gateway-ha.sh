#!/bin/bash
# Lab scenario `gateway-ha` (issue 18): a gateway pool of two members,
# gwA and gwB, network namespaces of this VM, each with its own hnvgwd
# (--gateway-pool edge), zebra and bgpd (FRR pathspace gwA/gwB,
# hnvgwd --frr-pathspace) and charon (own strongswan.conf and /run);
# etcd (one member) in namespace ed; the host edges h1, h2 share the
# policy through etcd too, so the gateway CAs' lookup records follow the
# member that holds the tenant.
#
#   provider segment 192.168.4.0/24 (bridge in pn): h1 .11, h2 .22,
#     etcd .50, gwA .101, gwB .102
#   Contoso (VSID 5001): corp router (namespace corp, AS 65001, bridge br0
#     172.31.1.2/24, 172.16.0.0/16 on lo) peers with the floating corp
#     address 172.31.1.1 (gateway add --corp-addr: whichever member holds
#     Contoso has it on its cc0, each cc0 with its own MAC; the member
#     that takes the address announces it with a gratuitous ARP, and the
#     one that loses the tenant removes it)
#   Fabrikam (VSID 6001): SNAT to 203.0.113.10 on fc0 towards "internet"
#     (namespace inet, 203.0.113.100, bridge), and an S2S tunnel (s2s add
#     --pool edge, shared through etcd with its PSK) to its site: a stock
#     charon in namespace site (198.51.100.2 on the site bridge, the site's
#     LAN 192.168.0.0/16), which knows the gateway only as 198.51.100.1,
#     the tunnel's floating --local-addr: whichever member holds Fabrikam
#     adds it to its wan0 (announced by gratuitous ARP) and initiates
#
# Steps: both tenants on gwA (gateway move); kill -9 gwA's hnvgwd, bgpd,
# zebra, charon and take its links down (the VM dies); gwB takes over;
# the longest gap of a 0.2 s ping ct1->corp, fb1->internet, fb1->site is
# printed as BENCH lines, and the corp router's ARP entry for 172.31.1.1
# must carry gwB's MAC (announced); the site holds exactly one IKE SA of
# the tunnel, and only the holder's charon has the tunnel loaded and only
# its wan0 the address 198.51.100.1.
# gwA comes back: it takes nothing back (and removes the floating address
# its dead hnvgwd left).
# gwB (now holding both) is cut from etcd by nftables while it stays up:
# it fences itself and tears its tenants down, gwA takes them; measured
# again. At every step: no tenant's VRF in both namespaces (also sampled
# every 0.5 s during each failover), and the pool's config unchanged.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-hnv.sh"

ETCD=http://192.168.4.50:2379
PSK_FB="Hd5xJ8cQ2wE7rT4uY9iO3pA6"
# the members' --pool-ttl: 3 s, hnvgwd's default; HA_TTL=2 (through
# LAB_PASS_ENV) measures the outages with etcd's shortest lease
TTL=${HA_TTL:-3}
[[ $TTL =~ ^[0-9]+$ ]] || { echo "HA_TTL: not a number of seconds: $TTL"; exit 2; }
GW_PIDS=() # per member: hnvgwd and charon pids in $LAB_TMP/pids-M
declare -A SAMPLERS=() # sample_start's background loops by name
eval "$(declare -f finish | sed '1s/^finish/ha_finish/')"
finish() {
	local m pid
	for m in gwA gwB; do member_kill "$m" 2>/dev/null; done
	[[ -n ${ETCD_PID:-} ]] && kill "$ETCD_PID" 2>/dev/null
	for pid in "${SAMPLERS[@]}"; do kill "$pid" 2>/dev/null; done
	[[ -n ${SITE_PID:-} ]] && kill "$SITE_PID" 2>/dev/null
	ha_finish
}

mcli() {
	local m=$1
	shift
	timeout 30 hnvgw --socket "$LAB_TMP/$m.sock" "$@"
}

# ---- topology ----------------------------------------------------------
section "topology"
netns pn h1 h2 ct1 fb1 ct2 fb2 ed gwA gwB corp inet site
must ip -n pn link add br0 type bridge
must ip -n pn link set br0 up
provider_member h1 192.168.4.11
provider_member h2 192.168.4.22
provider_member ed 192.168.4.50
provider_member gwA 192.168.4.101
provider_member gwB 192.168.4.102
# corp, internet and site: a bridge each, the members' devices its ports
for n in corp inet site; do
	must ip -n "$n" link add br0 type bridge
	must ip -n "$n" link set br0 up
done
must ip -n corp addr add 172.31.1.2/24 dev br0
must ip -n corp addr add 172.16.1.1/16 dev lo
must ip -n inet addr add 203.0.113.100/24 dev br0
must ip -n site addr add 198.51.100.2/24 dev br0
must ip -n site addr add 192.168.1.1/16 dev lo
i=0
for m in gwA gwB; do
	i=$((i + 1))
	# each member's devices have their own MAC (02:00:00:00:cc:0a for gwA's
	# cc0, ...:0b for gwB's): the floating addresses move by announcement
	must ip link add "$m-cc" netns "$m" address "02:00:00:00:cc:$(printf %02x $((9 + i)))" type veth peer name "$m" netns corp
	must ip link add "$m-fc" netns "$m" address "02:00:00:00:fc:$(printf %02x $((9 + i)))" type veth peer name "$m" netns inet
	must ip link add "$m-wan" netns "$m" type veth peer name "$m" netns site
	must ip -n "$m" link set "$m-cc" name cc0
	must ip -n "$m" link set "$m-fc" name fc0
	must ip -n "$m" link set "$m-wan" name wan0
	for n in corp inet site; do must ip -n "$n" link set "$m" master br0 up; done
	for d in cc0 fc0 wan0; do
		ip netns exec "$m" sysctl -qw "net.ipv6.conf.$d.disable_ipv6=1"
		must ip -n "$m" link set "$d" up
	done
	must ip -n "$m" addr add "198.51.100.1$i/24" dev wan0
	ip netns exec "$m" sysctl -qw net.ipv4.ip_forward=1
done
must ip netns exec corp sysctl -qw net.ipv4.ip_forward=1

# ---- etcd ---------------------------------------------------------------
section "etcd in namespace ed"
mkdir -p "$LAB_TMP/etcd"
ip netns exec ed etcd --name ed --data-dir "$LAB_TMP/etcd/data" \
	--listen-client-urls "$ETCD" --advertise-client-urls "$ETCD" \
	--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
	--initial-cluster ed=http://127.0.0.1:2380 >"$LAB_TMP/etcd/log" 2>&1 &
ETCD_PID=$!
etcd_up() { ip netns exec h1 bash -c "exec 3<>/dev/tcp/192.168.4.50/2379"; }
if t=$(wait_ok 30 etcd_up); then ok "etcd listens on $ETCD (${t} s)"; else
	nok "etcd listens on $ETCD"
	indent <"$LAB_TMP/etcd/log"
	finish
fi

# ---- host edges ---------------------------------------------------------
section "host edges h1, h2 (hnvgwd --uplink up0 --etcd)"
for h in h1 h2; do
	ip netns exec "$h" hnvgwd --foreground --state-dir "$LAB_TMP/st-$h" \
		--socket "$LAB_TMP/$h.sock" --uplink up0 --zebra none --vici none \
		--etcd "$ETCD" --host-name "$h" >"$LAB_TMP/hnvgwd-$h.log" 2>&1 &
	HNV_PIDS+=($!)
done
for h in h1 h2; do
	wait_ok 60 hcli "$h" show revisions >/dev/null || {
		nok "hnvgwd on $h"
		indent <"$LAB_TMP/hnvgwd-$h.log"
		finish
	}
done
must hcli h1 pa add 192.168.4.11/24 --dev up0
must hcli h2 pa add 192.168.4.22/24 --dev up0
# the shared policy, once (etcd carries it to every host); the gateway CA
# records (and the gateway-wildcard records of their MACs, which let the
# host edges accept the gateway's routed packets) start at gwA's PA and
# follow the member that holds the tenant
{
	common_policy
	host_policy | sed 's/--pa 192\.168\.4\.1 /--pa 192.168.4.101 /'
} >"$LAB_TMP/shared.conf"
must hcli h1 commit -f "$LAB_TMP/shared.conf"
add_vm h1 ct1 5001 10.10.0.5 02:00:00:00:50:05
add_vm h1 fb1 6001 10.10.0.5 02:00:00:00:60:05
add_vm h2 ct2 5001 10.10.0.7 02:00:00:00:50:07
add_vm h2 fb2 6001 10.10.0.7 02:00:00:00:60:07
if t=$(wait_ok 30 ping1 ct1 10.10.0.7); then ok "ct1 -> ct2 through the shared policy (${t} s)"; else nok "ct1 -> ct2"; fi

# ---- Fabrikam's site: stock charon, swanctl.conf only ----------------------
section "Fabrikam's site (stock strongSwan in namespace site)"
mkdir -p "$LAB_TMP/site/run"
cat >"$LAB_TMP/site/strongswan.conf" <<EOF
charon {
  load_modular = yes
  install_virtual_ip = no
  filelog {
    site { path = $LAB_TMP/site/charon-file.log
      time_format = %H:%M:%S
      append = yes
      default = 1
      ike = 2 }
  }
  plugins {
    include /etc/strongswan.d/charon/*.conf
    vici { socket = unix://$LAB_TMP/site/charon.vici }
    stroke { load = no }
  }
}
EOF
# the site knows one gateway address, the tunnel's floating 198.51.100.1
cat >"$LAB_TMP/site/swanctl.conf" <<EOF
connections {
  gw-fab {
    version = 2
    local_addrs = 198.51.100.2
    remote_addrs = 198.51.100.1
    proposals = aes256gcm16-prfsha384-ecp384
    dpd_delay = 2s
    local { auth = psk
      id = site-fabrikam }
    remote { auth = psk
      id = gw-fabrikam }
    children {
      gw-fab {
        local_ts = 192.168.0.0/16
        remote_ts = 10.10.0.0/16
        esp_proposals = aes256gcm16-ecp384
        dpd_action = clear
      }
    }
  }
}
secrets {
  ike-fab { id-a = site-fabrikam
    id-b = gw-fabrikam
    secret = "$PSK_FB" }
}
EOF
ip netns exec site unshare -m sh -c "mount --bind '$LAB_TMP/site/run' /run && STRONGSWAN_CONF='$LAB_TMP/site/strongswan.conf' exec /usr/lib/ipsec/charon" \
	>"$LAB_TMP/site/charon.log" 2>&1 &
SITE_PID=$!
wait_ok 20 test -S "$LAB_TMP/site/charon.vici" >/dev/null || nok "charon of the site started"
must swanctl --load-all --file "$LAB_TMP/site/swanctl.conf" --uri "unix://$LAB_TMP/site/charon.vici"
# site_ike_sas: the IKE SAs of the tunnel at the site (any state)
site_ike_sas() { swanctl --list-sas --uri "unix://$LAB_TMP/site/charon.vici" 2>/dev/null | grep -c '^gw-fab: #'; }
# loaded M: M's charon has the tunnel's connection
loaded() { swanctl --list-conns --uri "unix://$LAB_TMP/$1/charon.vici" 2>/dev/null | grep -q '^hnvgw-fabsite:'; }
# floating M: M's wan0 has the tunnel's local address
floating() { ip -n "$1" -br addr show dev wan0 | grep -q ' 198\.51\.100\.1/32'; }
# s2s_on_holder_only M DESC: the tunnel (charon) and its address on M only,
# and the site holds one IKE SA of it
s2s_on_holder_only() {
	local m=$1 o=gwA
	[[ $m == gwA ]] && o=gwB
	if loaded "$m" && floating "$m"; then ok "$2: $m's charon has hnvgw-fabsite, its wan0 198.51.100.1"; else
		nok "$2: $m: charon $(loaded "$m" && echo has || echo lacks) hnvgw-fabsite, wan0 $(floating "$m" && echo has || echo lacks) 198.51.100.1"
	fi
	if alive "$o"; then
		check_not "$2: $o's charon has no hnvgw-fabsite" loaded "$o"
		check_not "$2: $o's wan0 has no 198.51.100.1" floating "$o"
	fi
	one_sa() { [[ $(site_ike_sas) == 1 ]]; }
	if t=$(wait_ok 20 one_sa); then ok "$2: the site holds exactly one IKE SA of the tunnel (swanctl --list-sas; ${t} s)"; else
		nok "$2: the site holds $(site_ike_sas) IKE SAs of the tunnel"
		swanctl --list-sas --uri "unix://$LAB_TMP/site/charon.vici" 2>&1 | grep -v "^plugin '" | indent
		echo "       the site's charon, last lines:"
		grep -vE "plugin .|loaded plugins" "$LAB_TMP/site/charon-file.log" | tail -40 | indent 40
	fi
}

# ---- gateway members ----------------------------------------------------
# member_start M PA: zebra and bgpd (-N M), charon (own strongswan.conf,
# /run bound to its own directory), hnvgwd --gateway-pool edge.
member_start() {
	local m=$1 pa=$2 d=$LAB_TMP/$1
	mkdir -p "$d/run" "/run/frr/$m" /var/log/frr
	chmod 755 "$LAB_TMP"
	chown frr:frr "/run/frr/$m" /var/log/frr
	rm -f "/run/frr/$m/"*.pid "$d/charon.vici"
	ip netns exec "$m" /usr/lib/frr/zebra -d -N "$m" -f /dev/null --log "file:$d/zebra.log" >/dev/null 2>&1
	ip netns exec "$m" /usr/lib/frr/bgpd -d -N "$m" -f /dev/null --log "file:$d/bgpd.log" >/dev/null 2>&1
	wait_ok 20 test -S "/run/frr/$m/zserv.api" >/dev/null || nok "zebra of $m started"
	wait_ok 20 test -S "/run/frr/$m/bgpd.vty" >/dev/null || nok "bgpd of $m started"
	cat >"$d/strongswan.conf" <<-EOF
		charon {
		  retransmit_timeout = 1.0
		  retransmit_base = 1.4
		  retransmit_tries = 3
		  install_routes = no
		  routing_table = 0
		  load_modular = yes
		  filelog {
		    m { path = $d/charon-file.log
		      append = yes
		      default = 1
		      ike = 2 }
		  }
		  plugins {
		    include /etc/strongswan.d/charon/*.conf
		    vici { socket = unix://$d/charon.vici }
		    stroke { load = no }
		  }
		}
	EOF
	ip netns exec "$m" unshare -m sh -c "mount --bind '$d/run' /run && STRONGSWAN_CONF='$d/strongswan.conf' exec /usr/lib/ipsec/charon" \
		>>"$d/charon.log" 2>&1 &
	echo $! >"$d/charon.pid"
	wait_ok 20 test -S "$d/charon.vici" >/dev/null || nok "charon of $m started"
	ip netns exec "$m" hnvgwd --foreground --state-dir "$LAB_TMP/st-$m" --socket "$LAB_TMP/$m.sock" \
		--uplink up0 --zebra "/run/frr/$m/zserv.api" --frr-pathspace "$m" --vici "$d/charon.vici" \
		--etcd "$ETCD" --host-name "$m" --gateway-pool edge --pool-ttl "$TTL" \
		>>"$LAB_TMP/hnvgwd-$m.log" 2>&1 &
	echo $! >"$d/hnvgwd.pid"
	wait_ok 60 mcli "$m" show revisions >/dev/null || {
		nok "hnvgwd of $m answers"
		tail -20 "$LAB_TMP/hnvgwd-$m.log" | indent
		return 1
	}
	mcli "$m" pa add "$pa/24" --dev up0 >/dev/null 2>&1 || true # kept across restarts
}
# member_kill M: kill -9 of M's hnvgwd, bgpd, zebra and charon.
member_kill() {
	local m=$1 d=$LAB_TMP/$1 p
	for p in "$d/hnvgwd.pid" "$d/charon.pid" "/run/frr/$m/bgpd.pid" "/run/frr/$m/zebra.pid"; do
		[[ -f $p ]] && kill -9 "$(cat "$p")" 2>/dev/null
	done
	# (ip netns exec, unshare and sh exec'd charon: $! was charon itself)
	return 0
}
# links M up|down: all of M's links (the member's VM powered off/on).
links() {
	local d
	for d in up0 cc0 fc0 wan0; do ip -n "$1" link set "$d" "$2"; done
}
# vrfs M: the tenant VRFs in M's namespace (rd-*), one per line
vrfs() { ip -n "$1" -br link show type vrf 2>/dev/null | awk '$1 ~ /^rd-/ { print $1 }' | sort; }
# alive M: M's links are up (its "VM" runs; a killed member's namespace
# keeps what its dead hnvgwd built, as a dead VM's disk would, but with its
# links down it serves nothing)
alive() { ip -n "$1" link show up0 | grep -q 'state UP'; }
# holder R: the live member whose namespace has R's VRF ("gwA gwB" when both)
holder() {
	local m h=()
	for m in gwA gwB; do alive "$m" && vrfs "$m" | grep -qx "rd-$1" && h+=("$m"); done
	echo "${h[*]:--}"
}
# never_twice DESC: no tenant's VRF in both namespaces, and each member's
# show gateway-pool-tenants agrees on who serves it.
never_twice() {
	local r h bad=0
	for r in contoso fabrikam; do
		h=$(holder "$r")
		[[ $h == *" "* ]] && bad=1
	done
	if ((bad == 0)); then ok "$1: no tenant's VRF in both members (contoso: $(holder contoso), fabrikam: $(holder fabrikam))"; else
		nok "$1: a tenant's VRF in both members (contoso: $(holder contoso), fabrikam: $(holder fabrikam))"
	fi
}
# config_kept DESC: the pool's lines in show config (h1) as at the start.
config_kept() {
	hcli h1 show config | grep -E '^(gateway|s2s) ' | sed 's/--psk [^ ]*/--psk X/' >"$LAB_TMP/cfg-now"
	if cmp -s "$LAB_TMP/cfg-now" "$LAB_TMP/cfg-0"; then ok "$1: the pool's gateway and s2s lines unchanged"; else
		nok "$1: the pool's config changed"
		diff "$LAB_TMP/cfg-0" "$LAB_TMP/cfg-now" | indent
	fi
}
# sample_start NAME SECONDS CMD...: runs CMD every SECONDS in the
# background, its output into $LAB_TMP/NAME.txt, until sample_stop NAME.
sample_start() {
	local name=$1 every=$2
	shift 2
	(while :; do
		"$@"
		sleep "$every"
	done) >"$LAB_TMP/$name.txt" 2>/dev/null &
	SAMPLERS[$name]=$!
}
sample_stop() {
	kill "${SAMPLERS[$1]}" 2>/dev/null
	wait "${SAMPLERS[$1]}" 2>/dev/null
	unset "SAMPLERS[$1]"
}

# twice_sample: prints a tenant whose VRF is in both namespaces at once
twice_sample() {
	local r h
	for r in contoso fabrikam; do
		h=$(holder "$r")
		[[ $h == *" "* ]] && echo "$EPOCHREALTIME $r $h"
	done
}
# sampler_start / sampler_stop DESC: every 0.5 s meanwhile, whether a
# tenant's VRF was in both namespaces at once.
sampler_start() { sample_start twice 0.5 twice_sample; }
sampler_stop() {
	sample_stop twice
	if [[ ! -s $LAB_TMP/twice.txt ]]; then ok "$1: no tenant's VRF in both members in any 0.5 s sample"; else
		nok "$1: a tenant's VRF in both members: $(head -3 "$LAB_TMP/twice.txt")"
	fi
}

# corp_gone_sample: prints the time when the corp router has no route to
# the tenant through the gateway
corp_gone_sample() {
	ip -n corp route show 10.10.0.0/16 | grep -q 'via 172\.31\.1\.1' || echo "$EPOCHREALTIME"
}
# corp_route_start / corp_route_stop DESC: every 0.2 s meanwhile, whether
# the corp router had its route to the tenant. A dead holder sends nothing:
# the corp router, a graceful-restart helper, keeps the route as stale
# until the new holder's End-of-RIB, and the new holder's OPEN says the
# forwarding state was preserved (bgp graceful-restart preserve-fw-state),
# its first UPDATE has the prefix (no bgp network import-check).
corp_route_start() { sample_start corp-gone 0.2 corp_gone_sample; }
corp_route_stop() {
	sample_stop corp-gone
	if [[ ! -s $LAB_TMP/corp-gone.txt ]]; then ok "$1: the corp router kept its route to 10.10.0.0/16 through the takeover (every 0.2 s sample)"; else
		nok "$1: the corp router lost its route to 10.10.0.0/16 in $(wc -l <"$LAB_TMP/corp-gone.txt") samples, from $(head -1 "$LAB_TMP/corp-gone.txt") (mark $(cat "$LAB_TMP/outage.mark"))"
		tail -30 "$LAB_TMP/frr-corp/bgpd.log" | indent
	fi
}

# diag: what the paths depend on, printed when one fails
diag() {
	{
		echo "# h1 lookup records of the gateway CA 10.10.0.2"
		hcli h1 show lookup 2>&1 | grep -E '10\.10\.0\.2\b'
		echo "# corp: neighbours, route to the tenant"
		ip -n corp neigh show dev br0
		ip -n corp route get 10.10.0.5
		local m
		for m in gwA gwB; do
			echo "# $m: addresses, links, VRF routes"
			ip -n "$m" -br addr
			ip -n "$m" -br link
			for v in $(vrfs "$m"); do ip -n "$m" route show vrf "$v"; done
			mcli "$m" show pa
			mcli "$m" show lookup | grep -E '10\.10\.0\.(2|5)\b'
			mcli "$m" show counters | awk 'NR > 1 && $2 != 0 { print $1, $2 }'
			tail -8 "$LAB_TMP/hnvgwd-$m.log"
		done
	} 2>&1 | indent 400
}
# corp_arp_of M: the corp router's ARP entry for 172.31.1.1 has M's cc0
# MAC, and M's hnvgwd logged the announcement
corp_arp_of() {
	local m=$1 mac got
	mac=$(ip -n "$m" -br link show cc0 | awk '{ print $3 }')
	got=$(ip -n corp neigh show 172.31.1.1 dev br0 | awk '{ print $3 }')
	if [[ $got == "$mac" ]]; then ok "$2: the corp router's ARP entry for 172.31.1.1 is $m's cc0 ($mac)"; else
		nok "$2: the corp router's ARP entry for 172.31.1.1 is ${got:-none}, $m's cc0 is $mac"
	fi
	local n
	n=$(announced "$m")
	if ((n > $(cat "$LAB_TMP/ann-$m"))); then ok "$2: $m announced 172.31.1.1 on cc0 (gratuitous ARP, logged)"; else
		nok "$2: $m did not log announcing 172.31.1.1 since the failure began"
	fi
}
# announced M: how many times M's hnvgwd logged announcing 172.31.1.1
announced() { grep -c 'announced 172\.31\.1\.1 on cc0' "$LAB_TMP/hnvgwd-$1.log"; }

section "gateway members gwA, gwB (own FRR pathspace, charon, hnvgwd --gateway-pool edge)"
member_start gwA 192.168.4.101 || finish
member_start gwB 192.168.4.102 || finish
pool_members() { [[ $(mcli gwA show gateway-pool | grep -cE '^gw[AB] +[a-z]+ +(member|alive) ') == 2 ]]; }
if t=$(wait_ok 30 pool_members); then ok "both members in show gateway-pool (${t} s)"; else
	nok "both members in show gateway-pool"
	mcli gwA show gateway-pool 2>&1 | indent
fi
check_grep "hnvgwd --frr-pathspace gwA: its fragment in /etc/frr/gwA" . ls -d /etc/frr/gwA

section "corp router (AS 65001), internet"
frr_start corp <<EOF
router bgp 65001
 bgp router-id 172.31.1.2
 no bgp ebgp-requires-policy
 neighbor 172.31.1.1 remote-as 65000
 neighbor 172.31.1.1 timers 1 3
 neighbor 172.31.1.1 timers connect 1
 address-family ipv4 unicast
  network 172.16.0.0/16
 exit-address-family
EOF

# ---- tenants bound to the pool -----------------------------------------
section "tenants bound to pool edge"
cat >"$LAB_TMP/tenants.conf" <<EOF
gateway add --rdomain contoso --pool edge --vrf contoso --table 101 --corp-dev cc0 --corp-addr 172.31.1.1/24 --bgp-asn 65000 --bgp-peer 172.31.1.2 --bgp-peer-asn 65001
gateway ca --rdomain contoso --pool edge --vsid 5001 --ca 10.10.0.2
gateway add --rdomain fabrikam --pool edge --vrf fabrikam --table 102 --corp-dev fc0 --corp-addr 203.0.113.10/24 --corp-nexthop 203.0.113.100 --nat-external 203.0.113.10
gateway ca --rdomain fabrikam --pool edge --vsid 6001 --ca 10.10.0.2
EOF
must hcli h1 commit -f "$LAB_TMP/tenants.conf"
# Fabrikam's tunnel, bound to the pool like its gateway: shared through
# etcd (with its PSK), served by whichever member holds Fabrikam
echo "s2s add fabsite --rdomain fabrikam --peer 198.51.100.2 --local-addr 198.51.100.1 --local-id gw-fabrikam --remote-id site-fabrikam --psk $PSK_FB --remote-prefix 192.168.0.0/16 --dpd 2 --pool edge" >"$LAB_TMP/s2s.conf"
must hcli h1 commit -f "$LAB_TMP/s2s.conf"
hcli h1 show config | grep -E '^(gateway|s2s) ' | sed 's/--psk [^ ]*/--psk X/' >"$LAB_TMP/cfg-0"
placed() { [[ $(holder contoso) != - && $(holder fabrikam) != - ]]; }
if t=$(wait_ok 60 placed); then ok "both tenants placed (${t} s): contoso on $(holder contoso), fabrikam on $(holder fabrikam)"; else
	nok "both tenants placed (contoso: $(holder contoso), fabrikam: $(holder fabrikam))"
	mcli gwA show gateway-pool-tenants 2>&1 | indent
	for m in gwA gwB; do echo "# $m"; mcli "$m" show gateway 2>&1; tail -15 "$LAB_TMP/hnvgwd-$m.log"; done | indent 60
fi
# both tenants on gwA, so that one failure moves all three paths
for r in contoso fabrikam; do
	[[ $(holder "$r") == gwA ]] || mcli gwB gateway move "$r" --to gwA >/dev/null 2>&1 ||
		mcli gwA gateway move "$r" --to gwA 2>&1 | indent
done
on_a() { [[ $(holder contoso) == gwA && $(holder fabrikam) == gwA ]]; }
if t=$(wait_ok 60 on_a); then ok "gateway move: both tenants on gwA (${t} s)"; else
	nok "gateway move: both tenants on gwA (contoso: $(holder contoso), fabrikam: $(holder fabrikam))"
	mcli gwA show gateway-pool-tenants 2>&1 | indent
fi
never_twice "placed"
check_grep "gwA's running config has the pool's tunnel (PSK masked)" \
	'^s2s add fabsite --rdomain fabrikam .*--psk <secret> .*--pool edge$' mcli gwA show config

corp_bgp() { ip netns exec corp ip route show 10.10.0.0/16 | grep -q 172.31.1.1; }
if t=$(wait_ok 60 corp_bgp); then ok "corp router learned 10.10.0.0/16 from 172.31.1.1 (${t} s)"; else
	nok "corp router learned 10.10.0.0/16 by BGP"
	ip netns exec corp vtysh -N corp -c 'show bgp summary' 2>&1 | indent
	ip netns exec gwA vtysh -N gwA -c 'show bgp vrf all summary' 2>&1 | indent
fi
if t=$(wait_ok 60 ping1 ct1 172.16.1.1); then ok "ct1 -> corp 172.16.1.1 (${t} s)"; else
	nok "ct1 -> corp 172.16.1.1"
	diag
fi
if t=$(wait_ok 60 ping1 fb1 203.0.113.100); then ok "fb1 -> internet 203.0.113.100, SNAT (${t} s)"; else
	nok "fb1 -> internet"
	ip netns exec inet ip neigh | indent
fi
if t=$(wait_ok 60 ping1 fb1 192.168.1.1); then ok "fb1 -> Fabrikam's site 192.168.1.1 through the tunnel gwA initiated (${t} s)"; else
	nok "fb1 -> Fabrikam's site 192.168.1.1"
	mcli gwA show s2s 2>&1 | indent
	swanctl --list-sas --uri "unix://$LAB_TMP/site/charon.vici" 2>&1 | indent
	tail -20 "$LAB_TMP/site/charon-file.log" | indent
fi
s2s_on_holder_only gwA "placed"
config_kept "placed"
# etcd_value KEY: what etcd holds under KEY (nothing when none), through
# etcd's JSON gateway and bash's /dev/tcp (the image has no etcdctl)
etcd_value() {
	local body
	body=$(printf '{"key":"%s"}' "$(printf %s "$1" | base64 -w0)")
	ip netns exec ed bash -c 'exec 3<>/dev/tcp/192.168.4.50/2379 || exit 1
		printf "POST /v3/kv/range HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" "${#1}" "$1" >&3
		cat <&3' _ "$body" | tr -d '\r' | sed -n 's/.*"value":"\([^"]*\)".*/\1/p' | base64 -d
}
# the holder publishes what Contoso's VRF learned by BGP, for a takeover:
# gwA writes it, unless its previous holder (gwB, before the move) had
# written the same route already, which gwA then only keeps
published() { etcd_value /hnvgw/pool/edge/learned/contoso | grep -q '172\.16\.0\.0/16'; }
if t=$(wait_ok 20 published); then ok "etcd holds Contoso's BGP route 172.16.0.0/16 for a takeover ($(grep -q 'tenant contoso: 1 route learned here published' "$LAB_TMP/hnvgwd-gwA.log" && echo "gwA published it" || echo "gwB published it before the move, gwA learned the same"), ${t} s)"; else
	nok "etcd holds Contoso's learned route 172.16.0.0/16 (pool/edge/learned/contoso: '$(etcd_value /hnvgw/pool/edge/learned/contoso | head -3)')"
	grep -E 'pool edge: tenant contoso' "$LAB_TMP/hnvgwd-gwA.log" | tail -5 | indent
fi

# kept_then_bgp M PHASE: M, which took Contoso over, kept the route its
# previous holder learned, and its VRF has it from its own bgpd later
kept_then_bgp() {
	check_grep "$2: $1 kept the route Contoso's previous holder learned until its BGP learns it" \
		'tenant contoso: 1 route its previous holder learned kept until BGP learns them here' \
		cat "$LAB_TMP/hnvgwd-$1.log"
	by_bgp() { ip netns exec "$1" ip route show vrf rd-contoso 172.16.0.0/16 | grep -q 'proto bgp'; }
	if t=$(wait_ok 60 by_bgp "$1"); then ok "$2: $1's VRF rd-contoso routes 172.16.0.0/16 by its own BGP (${t} s)"; else
		nok "$2: $1's VRF rd-contoso has 172.16.0.0/16 from BGP"
		ip netns exec "$1" ip route show vrf rd-contoso | indent
	fi
}

# failover PHASE: the three outages of the disruption the caller starts
# after outage_mark, waited for until each path replies again.
PATHS="corp:ct1:172.16.1.1 internet:fb1:203.0.113.100 site:fb1:192.168.1.1"
outages_start() {
	local p m
	for p in $PATHS; do IFS=: read -r n vm dst <<<"$p"; outage_start "$n" "$vm" "$dst"; done
	for m in gwA gwB; do announced "$m" >"$LAB_TMP/ann-$m"; done
	sleep 2
}
outages_stop() {
	local phase=$1 p gap
	for p in $PATHS; do
		IFS=: read -r n vm dst <<<"$p"
		ip netns exec "$vm" ping -c 1 -W 1 "$dst" >/dev/null 2>&1 ||
			wait_ok 60 ping1 "$vm" "$dst" >/dev/null
		sleep 1
		gap=$(outage_stop "$n")
		echo "BENCH gateway-ha $phase outage_${n}_s $gap"
		if [[ $gap != never ]]; then ok "$phase: $vm -> $n ($dst) replies again after ${gap} s without"; else
			nok "$phase: $vm -> $n ($dst) replies again"
			diag
		fi
	done
}

# timeline: what each member's hnvgwd and the site's charon logged since
# the mark (the failover's control events, second resolution), for reading
# the outages above
timeline() {
	local since m
	since=$(date -d "@$(cut -d. -f1 "$LAB_TMP/outage.mark")" +%Y-%m-%dT%H:%M:%S)
	echo "       timeline since $(date -d "@$(<"$LAB_TMP/outage.mark")" +%Y-%m-%dT%H:%M:%S.%3N) (the failure):"
	for m in gwA gwB; do
		awk -v s="$since" '$1 >= s' "$LAB_TMP/hnvgwd-$m.log" |
			grep -vE 'etcd reachable again|watch on|exec by uid|zapi:|libbpf' | sed "s/^/$m /" | head -40
	done | indent 120
	grep -E 'establishing|established|deleting IKE_SA|INITIAL_CONTACT|destroying IKE_SA|received DELETE|giving up' "$LAB_TMP/site/charon-file.log" |
		awk -v s="$(date -d "$since" '+%b %e %H:%M:%S')" '1' | tail -12 | sed 's/^/site /' | indent 12
}

# ---- failure 1: gwA dies -------------------------------------------------
section "gwA dies: kill -9 of its daemons, its links down"
outages_start
sampler_start
outage_mark
corp_route_start
member_kill gwA
links gwA down
on_b() { [[ $(holder contoso) == *gwB* && $(holder fabrikam) == *gwB* ]]; }
if t=$(wait_ok 60 on_b); then ok "gwB holds both tenants (${t} s after the kill)"; else
	nok "gwB holds both tenants (contoso: $(holder contoso), fabrikam: $(holder fabrikam))"
	mcli gwB show gateway-pool-tenants 2>&1 | indent
fi
outages_stop kill
corp_route_stop "kill -9"
timeline
kept_then_bgp gwB "kill -9"
corp_arp_of gwB "kill -9"
s2s_on_holder_only gwB "kill -9"
# gwA's namespace keeps what its dead hnvgwd built (the kernel lives on
# here, unlike a dead VM): its links are down, it serves nothing
sampler_stop "kill -9"
config_kept "after the kill"

section "gwA comes back: it takes nothing back"
member_start gwA 192.168.4.101 || finish
links gwA up
sleep $((3 * TTL))
check_grep "gwB still holds contoso" '^gwB$' holder contoso
check_grep "gwB still holds fabrikam" '^gwB$' holder fabrikam
served_by_a() { mcli gwA show gateway-pool-tenants | awk '$5 == "yes"' | grep -q .; }
check_not "gwA serves no tenant (show gateway-pool-tenants: served_here)" served_by_a
check_not "gwA removed the floating 198.51.100.1 its killed hnvgwd left on wan0" floating gwA
never_twice "gwA back"
config_kept "gwA back"

# ---- failure 2: gwB partitioned from etcd ---------------------------------
section "gwB cut from etcd (nftables drop of port 2379 in its namespace)"
outages_start
sampler_start
outage_mark
must ip netns exec gwB nft -f - <<EOF
table inet labpart {
  chain o { type filter hook output priority 0; tcp dport 2379 drop; }
  chain i { type filter hook input priority 0; tcp sport 2379 drop; }
}
EOF
on_a_only() { [[ $(holder contoso) == gwA && $(holder fabrikam) == gwA ]]; }
if t=$(wait_ok 60 on_a_only); then ok "gwA holds both tenants, gwB tore them down (${t} s after the cut)"; else
	nok "gwA holds both tenants (contoso: $(holder contoso), fabrikam: $(holder fabrikam))"
	tail -20 "$LAB_TMP/hnvgwd-gwB.log" | indent
fi
outages_stop partition
timeline
kept_then_bgp gwA "partition"
corp_arp_of gwA "partition"
s2s_on_holder_only gwA "partition"
sampler_stop "partition"
check_grep "gwB fenced itself (show gateway-pool)" 'fenced|joining' mcli gwB show gateway-pool
ip netns exec gwB nft delete table inet labpart
config_kept "after the partition"

finish
