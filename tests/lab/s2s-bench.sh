#!/bin/bash
# Lab benchmark `s2s-bench` (issue 7, item 5; run by `make bench` through
# bench-s2s in tests/lab/rules.mk, never by a plain `make lab`): single-stream
# TCP (iperf3) through one IPsec site-to-site tunnel of hnvgw, compared with a
# bare strongSwan tunnel to the same site namespace over the same WAN.
#
#   (1) hnvgw: VM ct1 (Contoso 10.10.0.5) -> host edge h1 (NVGRE) -> this VM's
#       hnvgwd (gateway port, VRF rd-contoso) -> XFRM interface -> charon of
#       strongswan.service, driven over VICI -> WAN -> site sc (stock charon,
#       swanctl.conf) -> iperf3 server on 192.168.1.1 (sc's lo)
#   (2) bare strongSwan: namespace bare-ct (10.20.0.5) -> namespace bare-gw
#       (kernel forwarding, its own stock charon, policy-based tunnel mode)
#       -> the same WAN -> the same site sc, a second connection there -> the
#       same iperf3 server
#   ct1 and bare-ct both get MTU 1400: the same TCP segments on both paths,
#   small enough for NVGRE and ESP without path MTU discovery.
#   Both tunnels: IKEv2, PSK, aes256gcm16-prfsha384-ecp384 / aes256gcm16-ecp384.
#
#   WAN 198.51.100.0/24 (bridge in namespace wan): the gateway .1 on wan0,
#   site sc .2, bare-gw .5
#
# Prints "BENCH s2s ..." lines; fails only on setup errors, never on numbers.
# Each iperf3 run lasts SECS (5) seconds (the guest runs on TCG); ROUNDS (2)
# rounds alternate the paths so that the host's load hits both alike.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-hnv.sh"

SECS=5
ROUNDS=2
PSK_CT="contoso-site-secret-0123456789"
PSK_BARE="bare-site-secret-0123456789abc"

# charon_start NS: a stock charon in namespace NS (own /run, kernel ESP),
# loaded with $LAB_TMP/NS/swanctl.conf by swanctl (as in hybrid-cloud.sh).
charon_start() {
	local ns=$1 dir=$LAB_TMP/$1
	mkdir -p "$dir/run"
	cat >"$dir/strongswan.conf" <<-EOF
		charon {
		  load_modular = yes
		  install_virtual_ip = no
		  filelog { log { path = $dir/charon.log
		      default = 1 } }
		  plugins {
		    include /etc/strongswan.d/charon/*.conf
		    vici { socket = unix://$dir/charon.vici }
		    stroke { load = no }
		  }
		}
		swanctl { socket = unix://$dir/charon.vici }
	EOF
	ip netns exec "$ns" sh -c "mount --bind '$dir/run' /run && STRONGSWAN_CONF='$dir/strongswan.conf' exec /usr/lib/ipsec/charon" \
		>"$dir/charon.out" 2>&1 &
	LAB_BG+=($!)
	wait_ok 20 test -S "$dir/charon.vici" >/dev/null || nok "charon of $ns started"
	must swanctl --load-all --file "$dir/swanctl.conf" --uri "unix://$dir/charon.vici"
}
# conn NAME LOCAL_ADDR REMOTE_ADDR LOCAL_ID REMOTE_ID LOCAL_TS REMOTE_TS [START]
conn() {
	cat <<-EOF
		  $1 {
		    version = 2
		    local_addrs = $2
		    remote_addrs = $3
		    proposals = aes256gcm16-prfsha384-ecp384
		    local { auth = psk
		      id = $4 }
		    remote { auth = psk
		      id = $5 }
		    children {
		      $1 {
		        local_ts = $6
		        remote_ts = $7
		        esp_proposals = aes256gcm16-ecp384
		        ${8:+start_action = $8}
		      }
		    }
		  }
	EOF
}
secret() {
	cat <<-EOF
		  ike-$1 { id-a = $2
		    id-b = $3
		    secret = "$4" }
	EOF
}
# iperf NS: iperf3 -c 192.168.1.1 from NS for $SECS s; prints the receiver's
# Mbit/s, or nothing when the run failed.
iperf() {
	local out=$LAB_TMP/iperf-$1.txt
	ip netns exec "$1" timeout $((SECS + 30)) iperf3 -c 192.168.1.1 -t "$SECS" -f m >"$out" 2>&1
	echo "--- iperf3 from $1:" >&2
	indent 6 <"$out" >&2
	awk '/receiver/ { for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") v = $(i - 1) }
		END { if (v != "") print v }' "$out"
}

section "topology"
hnv_topology wan sc bare-gw bare-ct
must ip -n wan link add br0 type bridge
must ip -n wan link set br0 up
must ip link add wan0 type veth peer name gw netns wan
must ip link set wan0 up
must ip -n wan link set gw master br0 up
must ip addr add 198.51.100.1/24 dev wan0
veth sc eth0 wan sc
must ip -n wan link set sc master br0
must ip -n sc addr add 198.51.100.2/24 dev eth0
must ip -n sc addr add 192.168.1.1/16 dev lo
veth bare-gw eth0 wan bgw
must ip -n wan link set bgw master br0
must ip -n bare-gw addr add 198.51.100.5/24 dev eth0
veth bare-ct eth0 bare-gw ct0
must ip -n bare-ct link set eth0 mtu 1400
must ip -n bare-ct addr add 10.20.0.5/16 dev eth0
must ip -n bare-ct route add default via 10.20.0.1
must ip -n bare-gw addr add 10.20.0.1/16 dev ct0
must ip netns exec bare-gw sysctl -qw net.ipv4.ip_forward=1
# the same segment size on both paths, below NVGRE's 42 bytes and ESP's ~56
# (no path MTU discovery in the measurement)
must ip -n ct1 link set ct1 mtu 1400

section "site sc and bare-gw: stock strongSwan, swanctl.conf only"
mkdir -p "$LAB_TMP/sc" "$LAB_TMP/bare-gw"
{
	echo "connections {"
	conn contoso 198.51.100.2 198.51.100.1 site-contoso gw-contoso 192.168.0.0/16 10.10.0.0/16
	conn bare 198.51.100.2 198.51.100.5 site-bare bare-gw 192.168.0.0/16 10.20.0.0/16
	echo "}"
	echo "secrets {"
	secret contoso site-contoso gw-contoso "$PSK_CT"
	secret bare site-bare bare-gw "$PSK_BARE"
	echo "}"
} >"$LAB_TMP/sc/swanctl.conf"
{
	echo "connections {"
	conn bare 198.51.100.5 198.51.100.2 bare-gw site-bare 10.20.0.0/16 192.168.0.0/16 start
	echo "}"
	echo "secrets {"
	secret bare bare-gw site-bare "$PSK_BARE"
	echo "}"
} >"$LAB_TMP/bare-gw/swanctl.conf"
charon_start sc
charon_start bare-gw
ip netns exec sc iperf3 -s -B 192.168.1.1 >"$LAB_TMP/iperf3-server.log" 2>&1 &
LAB_BG+=($!)

section "gateway: tenant Contoso, one tunnel to site sc"
cat >"$LAB_TMP/tenants.conf" <<EOF
gateway add --rdomain contoso --vrf contoso --table 101
gateway ca --rdomain contoso --vsid 5001 --ca 10.10.0.2
s2s add contoso-hq --rdomain contoso --peer 198.51.100.2 --local-addr 198.51.100.1 --local-id gw-contoso --remote-id site-contoso --psk $PSK_CT --remote-prefix 192.168.0.0/16
EOF
gateway_start "$LAB_TMP/tenants.conf"
up() { gwcli s2s show | grep -qE "^contoso-hq .* ESTABLISHED "; }
if s=$(wait_ok 90 up); then ok "hnvgw tunnel contoso-hq established (${s} s)"; else
	nok "hnvgw tunnel contoso-hq established"
	gwcli s2s show | indent
	finish
fi
if t=$(wait_ok 30 ping1 ct1 192.168.1.1); then ok "ct1 -> site 192.168.1.1 through hnvgw (${t} s)"; else
	nok "ct1 -> site 192.168.1.1 through hnvgw"
	finish
fi
if t=$(wait_ok 60 ping1 bare-ct 192.168.1.1); then ok "bare-ct -> site 192.168.1.1 through bare strongSwan (${t} s)"; else
	nok "bare-ct -> site 192.168.1.1 through bare strongSwan"
	swanctl --list-sas --uri "unix://$LAB_TMP/bare-gw/charon.vici" 2>&1 | indent
	tail -n 20 "$LAB_TMP/bare-gw/charon.log" | indent
	finish
fi
listens() { ip netns exec sc ss -ltn | grep -q '192\.168\.1\.1:5201'; }
wait_ok 20 listens >/dev/null || { nok "iperf3 server listens on the site"; cat "$LAB_TMP/iperf3-server.log" | indent; finish; }
check_grep "ESP on the WAN from both tunnels" 'ESP' bash -c \
	"ip netns exec wan timeout 5 tcpdump -c 4 -nn -i br0 esp 2>/dev/null & sleep 1; ip netns exec ct1 ping -c 2 -W 1 192.168.1.1 >/dev/null; ip netns exec bare-ct ping -c 2 -W 1 192.168.1.1 >/dev/null; wait"

section "iperf3, one TCP stream, ${SECS} s each, ${ROUNDS} rounds (hnvgw, bare, hnvgw, bare...)"
XS=() YS=()
for ((r = 1; r <= ROUNDS; r++)); do
	X=$(iperf ct1)
	[[ -n $X ]] && ok "round $r: hnvgw tunnel $X Mbit/s" || nok "round $r: iperf3 through the hnvgw tunnel"
	Y=$(iperf bare-ct)
	[[ -n $Y ]] && ok "round $r: bare strongSwan tunnel $Y Mbit/s" || nok "round $r: iperf3 through the bare strongSwan tunnel"
	[[ -n $X && -n $Y ]] && XS+=("$X") YS+=("$Y")
done
section "the hnvgw path ran on the kernel fast path"
fast_path_check
echo "--- the hnvgw tunnel (gateway) and the bare one (bare-gw) after the runs:"
gwcli s2s show | indent 5
swanctl --list-sas --uri "unix://$LAB_TMP/bare-gw/charon.vici" 2>&1 | grep -E 'bytes|AES' | indent 5

section "result"
# bench X Y WHAT: one BENCH line from Mbit/s figures; Gbit/s with 4 decimals
# (TCG gives Mbit/s), the ratio from the unrounded figures
bench() {
	awk -v x="$1" -v y="$2" -v w="$3" -v s="$SECS" 'BEGIN {
		printf "BENCH s2s hnvgw %.4f Gbit/s, bare strongSwan %.4f Gbit/s, ratio %s (%s; iperf3, one TCP stream, %d s, aes256gcm16, MTU 1400)\n",
			x / 1000, y / 1000, (y > 0 ? sprintf("%.2f", x / y) : "n/a"), w, s }'
}
if ((${#XS[@]})); then
	for ((i = 0; i < ${#XS[@]}; i++)); do bench "${XS[i]}" "${YS[i]}" "round $((i + 1))"; done
	mx=$(printf '%s\n' "${XS[@]}" | awk '{ t += $1 } END { print t / NR }')
	my=$(printf '%s\n' "${YS[@]}" | awk '{ t += $1 } END { print t / NR }')
	bench "$mx" "$my" "mean of ${#XS[@]}"
else
	echo "BENCH s2s not measured: no round had both figures"
fi
finish
