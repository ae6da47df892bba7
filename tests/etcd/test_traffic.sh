#!/bin/bash
# test_traffic.sh: policy shared through etcd with real packets. Three
# hnvgwd host edges (tests/netns/lib.sh topology: namespaces, a provider
# bridge, TAP ports moved into VM namespaces) run with --uplink and
# --etcd; a 3-member etcd cluster runs in the provider namespace on
# 192.168.4.1 (the hosts reach it over their uplinks).
#
#   1. the policy (VM networks AAA and BBB, both 10.10.0.0/16 with pool
#      10.10.1.100-10.10.1.130) is written once, on h1; VMs are attached
#      with `port add NAME --vsid N` on three hosts and get their address by
#      DHCP from the datapath (dhclient, busybox udhcpc): each lease is the
#      address etcd reserved for that port (rd/R/alloc/V/IP = HOST/PORT);
#      a1 (AAA) and b1 (BBB) both get 10.10.1.100, router 10.10.0.1
#   2. VMs on different hosts reach each other over NVGRE; 10.10.1.100
#      pinged from AAA reaches a1 only and from BBB b1 only (port counters);
#      AAA never reaches an address only BBB has
#   3. live migration through etcd: `port move a2 --to h3` sent to h1
#      while a1 pings a2 every 10 ms; h3 creates the TAP with the same MAC
#      and CA, the VM takes it; loss < 1 s (printed); the alloc key follows
#      the port; h2 drops the port and h1's record points to h3 (watch);
#      afterwards a2's traffic goes through h3 and h2 sees none of it
#   4. every etcd member stopped during a 10 ms ping between hosts: every
#      host notices, the ping loses < 1 s (printed; 0 here), config,
#      records and revisions are unchanged, a change is refused naming
#      etcd. Members restarted under another such ping: every host
#      resynchronises, nothing changes, the ping loses < 1 s; a new port
#      on h2 reaches h1's records and is reachable
#   5. every hnvgwd exits 0 without sanitizer reports
# Pings are judged by their replies (ping -D -O): a ping is stopped only
# once a reply arrives for a request sent >= 1 s after the event, and lost
# = requests up to the last answered one that got no answer.
# Needs root, etcd, etcdctl, dhclient, busybox. Run by `make etcd-test`.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/../netns/lib.sh"

((EUID == 0)) || fail "needs root (network namespaces)"
for c in etcd etcdctl ping dhclient busybox python3; do
	command -v "$c" >/dev/null || fail "$c is not installed (make deps)"
done

# the cluster lives in this run's provider namespace ($P-pn): its
# addresses and ports cannot collide with another run's
PREFIX=/hnvgw-traffic-$$/
ETCD_IP=192.168.4.1
client_url() { echo "http://$ETCD_IP:$((2379 + ($1 - 1) * 10000))"; }
peer_url() { echo "http://$ETCD_IP:$((2380 + ($1 - 1) * 10000))"; }
URLS="$(client_url 1),$(client_url 2),$(client_url 3)"
declare -A EPIDS=()

etcd_start() # N: member N (1-3) in the provider namespace; data kept across stops
{
	local n=$1
	ip netns exec "$P-pn" etcd --name "m$n" --data-dir "$T/etcd-m$n" \
		--listen-client-urls "$(client_url "$n")" --advertise-client-urls "$(client_url "$n")" \
		--listen-peer-urls "$(peer_url "$n")" --initial-advertise-peer-urls "$(peer_url "$n")" \
		--initial-cluster "m1=$(peer_url 1),m2=$(peer_url 2),m3=$(peer_url 3)" \
		--initial-cluster-state new --initial-cluster-token "hnvgw-traffic-$$" \
		--heartbeat-interval 100 --election-timeout 1000 \
		--logger zap --log-level error >>"$T/etcd-m$n.log" 2>&1 &
	EPIDS[$n]=$!
	BGPIDS+=($!)
}

etcd_stop() # N
{
	kill "${EPIDS[$1]}" 2>/dev/null || true
	wait "${EPIDS[$1]}" 2>/dev/null || true
	unset "EPIDS[$1]"
}

ectl() { ip netns exec "$P-pn" etcdctl --endpoints "$URLS" --dial-timeout 2s --command-timeout 5s "$@"; }

# start_ehost H PA: a host edge (tests/netns/lib.sh) whose hnvgwd shares
# policy through etcd, with its provider address
start_ehost()
{
	start_host "$1" "$2" "" --etcd "$URLS" --host-name "$1" --etcd-prefix "$PREFIX"
	cli "$1" pa add "$2/24" --dev up0 >/dev/null || fail "pa add on $1"
}

# log_count H PATTERN: how many lines of H's hnvgwd log match
log_count() { grep -c -- "$2" "$T/hnvgwd-$1.log" || true; }
log_count_gt() { (($(log_count "$1" "$2") > $3)); }

# DHCP client script (as tests/netns/test_pools.sh): configures the lease
# and logs it to $T/dhcp-IF.env
# shellcheck disable=SC2016 # $interface is the client's, expanded in the script
printf '#!/bin/sh\nlog="%s/dhcp-$interface.env"\n' "$T" >"$T/dhcp-script.sh"
cat >>"$T/dhcp-script.sh" <<'EOF'
case "${reason:-$1}" in
BOUND | RENEW | REBIND | REBOOT)
	ip addr flush dev "$interface"
	ip addr add "$new_ip_address/$new_subnet_mask" dev "$interface"
	ip route replace default via "$new_routers" dev "$interface"
	echo "ip=$new_ip_address router=$new_routers" >"$log"
	;;
bound | renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/$subnet" dev "$interface"
	ip route replace default via "$router" dev "$interface"
	echo "ip=$ip router=$router" >"$log"
	;;
esac
exit 0
EOF
chmod +x "$T/dhcp-script.sh"
printf 'request subnet-mask, routers;\ntimeout 20;\n' >"$T/dhclient.conf"

# leased VM: the env line is complete (the script writes it last)
leased() { grep -q "router=" "$T/dhcp-$1.env" 2>/dev/null; }
leased_or_gone() { leased "$1" || ! kill -0 "$2" 2>/dev/null; }

# attach HOST VM VSID CLIENT: port VM (named like its VM) without --ca and
# --mac, its TAP moved into namespace VM, address by DHCP (dhclient, kept
# in the foreground so that its PID is known, or udhcpc, which quits once
# bound); sets LEASE to the leased address. Not in a subshell: the
# namespace and the client's PID must reach the EXIT trap.
attach()
{
	local h=$1 vm=$2 vsid=$3 client=$4 pid
	mkns "$vm"
	cli "$h" port add "$vm" --vsid "$vsid" >/dev/null || fail "port add $vm on $h"
	wait_for 10 nsx "$h" ip link show "$vm" || fail "no TAP $vm on $h"
	nsx "$h" ip link set "$vm" netns "$P-$vm"
	nsx "$vm" ip link set "$vm" up
	if [[ $client == dhclient ]]; then
		ip netns exec "$P-$vm" dhclient -d -1 -cf "$T/dhclient.conf" -sf "$T/dhcp-script.sh" \
			-lf "$T/dhclient-$vm.leases" -pf "$T/dhclient-$vm.pid" "$vm" >>"$T/dhcp-$vm.log" 2>&1 &
		pid=$!
		BGPIDS+=("$pid")
		wait_for 30 leased_or_gone "$vm" "$pid" || fail "dhclient in $vm: no lease in 30 s"
		leased "$vm" || fail "dhclient in $vm exited: $(tail -n 5 "$T/dhcp-$vm.log")"
	else
		nsx "$vm" timeout 30 busybox udhcpc -i "$vm" -s "$T/dhcp-script.sh" -q -f -n -t 5 -T 2 \
			>>"$T/dhcp-$vm.log" 2>&1 || fail "udhcpc in $vm: $(tail -n 5 "$T/dhcp-$vm.log")"
		leased "$vm" || fail "$vm: no lease"
	fi
	LEASE=$(sed -n 's/^ip=\([^ ]*\) .*/\1/p' "$T/dhcp-$vm.env")
}

# reserved RD VSID HOST PORT: the address etcd holds for that port
reserved()
{
	ectl get --prefix "${PREFIX}rd/$1/alloc/$2/" |
		awk -v want="$3/$4" 'NR % 2 == 1 { k = $0 } NR % 2 == 0 && $0 == want { sub(/.*\//, "", k); print k }'
}

# ping_start NS DST: a 10 ms ping (at most 60 s) in the background into
# $T/ping.out; -O prints every unanswered request, so the highest
# icmp_seq printed is about the last one sent
ping_start()
{
	ip netns exec "$P-$1" ping -D -O -i 0.01 -c 6000 -W 1 "$2" >"$T/ping.out" 2>&1 &
	PINGPID=$!
	BGPIDS+=("$PINGPID")
}
ping_sent() { sed -nE 's/.*icmp_seq=([0-9]+).*/\1/p' "$T/ping.out" | sort -n | tail -n 1; }
ping_answered_ge() { sed -nE 's/.* bytes from .*icmp_seq=([0-9]+) .*/\1/p' "$T/ping.out" | awk -v n="$1" '$1 >= n { f = 1 } END { exit !f }'; }
# ping_across WHAT: after an event, waits for an answer to a request sent
# >= 1 s later, stops the ping and sets LOST, SENT (up to the last answered
# request) and GAP (longest silence between two replies, s)
ping_across()
{
	local s
	s=$(ping_sent)
	wait_for 15 ping_answered_ge "$((${s:-0} + 100))" ||
		fail "no ping answered 1 s after $1: $(tail -n 3 "$T/ping.out")"
	kill -INT "$PINGPID" 2>/dev/null || true
	wait "$PINGPID" || true
	read -r LOST SENT GAP < <(python3 - "$T/ping.out" <<'EOF'
import re, sys
seen, ts = set(), []
for m in re.finditer(r"^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+) ", open(sys.argv[1]).read(), re.M):
    ts.append(float(m.group(1)))
    seen.add(int(m.group(2)))
top = max(seen)
print(top - len(seen), top, "%.3f" % max((b - a for a, b in zip(ts, ts[1:])), default=99))
EOF
	)
}
secs() { awk -v l="$1" 'BEGIN { printf "%.2f", l * 0.01 }'; }

# state: what must not change while etcd is away (per host: config,
# ports, lookup records, revisions)
state()
{
	local h
	for h in h1 h2 h3; do
		echo "== $h"
		cli "$h" show config
		cli "$h" show ports
		cli "$h" show lookup
		cli "$h" show revisions
	done
}

# ---- topology, etcd, hosts ----
lab_bridge
nsx pn ip addr add "$ETCD_IP/24" dev br0
for n in 1 2 3; do etcd_start "$n"; done
wait_for 30 ectl endpoint health --cluster || fail "etcd cluster not healthy"
start_ehost h1 192.168.4.11
start_ehost h2 192.168.4.22
start_ehost h3 192.168.4.33
pass "3-member etcd cluster on $ETCD_IP (provider namespace), 3 host edges with --uplink --etcd"

# ---- 1. the shared policy, once, on h1; VMs by DHCP ----
cli h1 commit -f - >/dev/null <<'EOF' || fail "shared policy on h1"
rdomain add AAA --rdid {AAAAAAAA-0000-0000-0000-000000005001}
vsubnet add 5001 --rdomain AAA --prefix 10.10.0.0/16
pool add aaa-pool --vsid 5001 --range 10.10.1.100-10.10.1.130
route add --rdomain AAA --vsid 5001 --prefix 10.10.0.0/16 --nexthop 0.0.0.0
rdomain add BBB --rdid {BBBBBBBB-0000-0000-0000-000000006001}
vsubnet add 6001 --rdomain BBB --prefix 10.10.0.0/16
pool add bbb-pool --vsid 6001 --range 10.10.1.100-10.10.1.130
route add --rdomain BBB --vsid 6001 --prefix 10.10.0.0/16 --nexthop 0.0.0.0
EOF
[[ $(ectl get --prefix --keys-only "${PREFIX}rd/" | grep -c /pool/) == 2 ]] || fail "the pools are not in etcd"
attach h1 a1 5001 dhclient
a1=$LEASE
attach h1 b1 6001 udhcpc
b1=$LEASE
attach h2 a2 5001 udhcpc
a2=$LEASE
attach h3 b2 6001 dhclient
b2=$LEASE
attach h3 b3 6001 udhcpc
b3=$LEASE
for spec in "a1 AAA 5001 h1 $a1" "b1 BBB 6001 h1 $b1" "a2 AAA 5001 h2 $a2" "b2 BBB 6001 h3 $b2" "b3 BBB 6001 h3 $b3"; do
	read -r vm rd vsid h ip <<<"$spec"
	want=$(reserved "$rd" "$vsid" "$h" "$vm")
	[[ -n $want && $ip == "$want" ]] || fail "$vm leased '$ip', etcd reserved '$want' for $h/$vm"
	grep -q "router=10.10.0.1\$" "$T/dhcp-$vm.env" || fail "$vm: $(<"$T/dhcp-$vm.env")"
done
[[ $a1 == 10.10.1.100 && $b1 == 10.10.1.100 ]] || fail "a1 got $a1 and b1 got $b1, want 10.10.1.100 both"
echo "# leases: a1 $a1 (h1, AAA), b1 $b1 (h1, BBB), a2 $a2 (h2, AAA), b2 $b2 and b3 $b3 (h3, BBB)"
pass "DHCP in etcd mode: every lease is the address etcd reserved for its port, router 10.10.0.1; a1 and b1 both 10.10.1.100"

# ---- 2. traffic across hosts, isolation ----
a1tx=$(counter h1 a1.tx_packets) b1tx=$(counter h1 b1.tx_packets)
nsx a2 ping -c 3 -i 0.2 -w 10 10.10.1.100 >/dev/null || fail "a2 (h2, AAA) -> 10.10.1.100"
(($(counter h1 a1.tx_packets) >= a1tx + 3)) || fail "a2's pings of 10.10.1.100 did not reach a1"
(($(counter h1 b1.tx_packets) == b1tx)) || fail "a2 (AAA) reached b1 (BBB)"
a1tx=$(counter h1 a1.tx_packets)
nsx b2 ping -c 3 -i 0.2 -w 10 10.10.1.100 >/dev/null || fail "b2 (h3, BBB) -> 10.10.1.100"
(($(counter h1 b1.tx_packets) >= b1tx + 3)) || fail "b2's pings of 10.10.1.100 did not reach b1"
(($(counter h1 a1.tx_packets) == a1tx)) || fail "b2 (BBB) reached a1 (AAA)"
nsx a1 ping -c 2 -i 0.2 -w 10 "$a2" >/dev/null || fail "a1 (h1) -> a2 (h2) $a2"
nsx b1 ping -c 2 -i 0.2 -w 10 "$b3" >/dev/null || fail "b1 (h1) -> b3 (h3) $b3"
if nsx a1 ping -c 2 -i 0.2 -W 1 "$b3" >/dev/null 2>&1; then
	fail "a1 (AAA) reached $b3, an address only BBB has"
fi
pass "across hosts over NVGRE: 10.10.1.100 is a1 from AAA and b1 from BBB; a1 <-> a2, b1 -> b3; AAA never reaches BBB's $b3"

# ---- 3. live migration through etcd: a2 from h2 to h3 ----
mac=$(nsx a2 cat /sys/class/net/a2/address)
ping_start a1 "$a2"
wait_for 10 ping_answered_ge 50 || fail "ping did not get going: $(tail -n 3 "$T/ping.out")"
t0=$(date +%s%N)
cli h1 port move a2 --to h3 >/dev/null || fail "port move a2 --to h3"
wait_for 10 nsx h3 ip link show a2 || fail "h3 did not create a2's TAP"
nsx h3 ip link set a2 netns "$P-a2"
nsx a2 ip addr add "$a2/16" dev a2
nsx a2 ip link set a2 up
nsx a2 ip route replace default via 10.10.0.1
t1=$(date +%s%N)
ping_across "the move"
lost=$LOST
echo "# etcd migration: $lost of $SENT pings lost = $(secs "$lost") s (10 ms interval; longest gap between replies $GAP s); port moved and taken by the VM in $(((t1 - t0) / 1000000)) ms"
((lost * 10 < 1000)) || fail "migration lost $lost pings at 10 ms (want < 1 s)"
[[ $(nsx a2 cat /sys/class/net/a2/address) == "$mac" ]] || fail "a2's MAC changed with the move"
cli h3 show ports | grep -E "^a2 " | grep -q " $a2" || fail "h3's port a2 lacks CA $a2: $(cli h3 show ports)"
[[ $(reserved AAA 5001 h3 a2) == "$a2" ]] || fail "etcd's reservation of $a2 did not follow a2 to h3"
has_no_a2() { ! cli h2 show ports | grep -qw a2; }
wait_for 5 has_no_a2 || fail "a2 still a port on h2"
h2rx=$(counter h2 uplink.rx_packets)
tx0=$(counter h3 a2.tx_packets)
nsx a1 ping -c 3 -i 0.2 -w 10 "$a2" >/dev/null || fail "a1 -> a2 after the move"
(($(counter h3 a2.tx_packets) >= tx0 + 3)) || fail "a2's traffic does not go through h3"
(($(counter h2 uplink.rx_packets) == h2rx)) || fail "h2 still receives NVGRE after a2 left it"
cli h1 show lookup | grep -qE "^$a2 .*5001 .*192\.168\.4\.33" ||
	fail "h1's record of a2 does not point to h3: $(cli h1 show lookup)"
# h2's last AAA port left: it dropped AAA's policy
cli h2 show lookup | grep -q " 5001 " && fail "h2 kept AAA's records: $(cli h2 show lookup)"
pass "port move through etcd: a2 re-created on h3 with its MAC and CA, $lost pings lost, reservation and h1's record follow, traffic via h3; h2 (no AAA port left) dropped AAA"

# ---- 4. every etcd member stopped, then restarted ----
before=$(state)
down0=() up0=()
for h in h1 h2 h3; do
	down0+=("$(log_count "$h" "keeping the running policy")")
	up0+=("$(log_count "$h" "etcd reachable again")")
done
ping_start a1 "$a2"
wait_for 10 ping_answered_ge 50 || fail "ping did not get going: $(tail -n 3 "$T/ping.out")"
for n in 1 2 3; do etcd_stop "$n"; done
i=0
for h in h1 h2 h3; do
	wait_for 10 log_count_gt "$h" "keeping the running policy" "${down0[i++]}" ||
		fail "$h did not notice that etcd is gone"
done
out=$(cli h2 port add a9 --vsid 5001 2>&1) && fail "port add with etcd down succeeded"
grep -qi etcd <<<"$out" || fail "refusal does not name etcd: $out"
out2=$(cli h1 pool add ccc-pool --vsid 5001 --range 10.10.2.1-10.10.2.9 2>&1) && fail "pool add with etcd down succeeded"
grep -qi etcd <<<"$out2" || fail "refusal does not name etcd: $out2"
ping_across "the stop of every etcd member"
lost=$LOST
after=$(state)
[[ $before == "$after" ]] || fail "state changed while etcd was down: $(diff <(echo "$before") <(echo "$after"))"
echo "# all etcd members stopped during a 10 ms ping a1 (h1) -> a2 (h3): $lost of $SENT lost = $(secs "$lost") s (longest gap $GAP s)"
((lost * 10 < 1000)) || fail "traffic stopped with etcd: $lost pings lost"
pass "all etcd members down: every host noticed, a1 -> a2 kept flowing ($lost of $SENT lost), config/records/revisions unchanged, changes refused ($out)"

ping_start a1 "$a2"
wait_for 10 ping_answered_ge 50 || fail "ping did not get going: $(tail -n 3 "$T/ping.out")"
for n in 1 2 3; do etcd_start "$n"; done
wait_for 30 ectl endpoint health --cluster || fail "etcd cluster not healthy after the restart"
i=0
for h in h1 h2 h3; do
	wait_for 20 log_count_gt "$h" "etcd reachable again" "${up0[i++]}" || fail "$h did not resynchronise"
done
ping_across "the restart of etcd"
lost=$LOST
after=$(state)
[[ $before == "$after" ]] || fail "resynchronising changed the state: $(diff <(echo "$before") <(echo "$after"))"
echo "# all etcd members restarted during a 10 ms ping: $lost of $SENT lost = $(secs "$lost") s (longest gap $GAP s)"
((lost * 10 < 1000)) || fail "traffic stopped when etcd returned: $lost pings lost"
attach h2 a4 5001 udhcpc
a4=$LEASE
[[ $(reserved AAA 5001 h2 a4) == "$a4" ]] || fail "a4 leased $a4, not what etcd reserved"
has_a4() { cli h1 show lookup | grep -q "^$a4 .*5001 .*192\.168\.4\.22"; }
wait_for 15 has_a4 || fail "h1 did not learn a4 ($a4) after etcd returned"
nsx a1 ping -c 2 -i 0.2 -w 10 "$a4" >/dev/null || fail "a1 -> a4 after etcd returned"
nsx a4 ping -c 2 -i 0.2 -w 10 "$a2" >/dev/null || fail "a4 (h2) -> a2 (h3) after etcd returned"
pass "etcd restarted: every host resynchronised, state unchanged, ping kept flowing ($lost lost); a4 $a4 on h2 known to h1 and reachable"

# ---- 5. clean exits ----
for h in h1 h2 h3; do stop_host "$h"; done
pass "every hnvgwd exits 0 without sanitizer reports"
