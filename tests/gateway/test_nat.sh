#!/bin/bash
# test_nat.sh: per-tenant SNAT and conntrack zones (gateway/nat.c) in
# network namespaces, driven by nat_drive. This kernel has no VRF devices,
# so a tenant is emulated with policy routing in the router namespace:
# `ip rule iif <tenant interface> lookup <tenant table>`.
#
#   $P-a  tenant A: 10.10.0.5/24 on eth0 --- ta (10.10.0.1/24) in $P-r
#   $P-b  tenant B: 10.10.0.5/24 on eth0 --- tb (10.10.0.1/24) in $P-r
#   $P-r  router: table 101 (iif ta, xa), table 102 (iif tb, xb)
#         xa 192.0.2.1/30 --- ia 192.0.2.2/30 in $P-i
#         xb 192.0.2.5/30 --- ib 192.0.2.6/30 in $P-i
#   $P-i  "internet": host 203.0.113.100 on lo, a UDP echo server on :5353
#
# Asserts: both tenants reach the internet host at the same time from the
# same CA with the same ICMP id and the same UDP source port; the internet
# host sees 198.51.100.1 (A) and 198.51.100.2 (B); conntrack holds the two
# flows in zones 1 and 2; nat_drive list reports both translations; a
# changed tenant set replaces the rules in one transaction (one nftables
# generation, seen by nft monitor); the same set again changes nothing (no
# generation, same handles); a kernel error names the object; flush removes
# the table; table inet other, created first, is untouched throughout.
#
# NETMAP before a tunnel (the tunnel interface emulated by veth xfa of
# tenant A, its peer in $P-s, a site whose LAN 10.10.0.0/24 overlaps A's):
# A's 10.10.0.0/24 is shown to the site as 172.31.0.0/24 and the site's as
# 172.30.0.0/24 to A; the mark rule plus `ip rule fwmark` route A's packets
# for 172.30.0.0/24 into xfa although their translated destination is A's
# own prefix. Asserts: A pings the site's 10.10.0.7 as 172.30.0.7 and the
# site sees 172.31.0.5; the site's UDP to 172.31.0.5 reaches A from
# 172.30.0.7 and is answered; tenant B (same addresses, zone 2) never
# reaches the site; list shows both translations.
# Needs root. Run by `make nat-test`.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
NAT_DRIVE=${NAT_DRIVE:-$ROOT/build/asan/nat_drive}
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

P=nat$$
T=$(mktemp -d /tmp/hnvgw-nat.XXXXXX)
NSES=()
BGPIDS=()

fail()
{
	echo "FAIL: $*" >&2
	local f
	for f in "$T"/*.log; do
		[[ -f $f ]] || continue
		echo "--- last lines of $f" >&2
		tail -n 20 "$f" >&2
	done
	exit 1
}

pass() { echo "ok - $*"; }

cleanup()
{
	local rc=$? pid ns
	trap - EXIT
	for pid in "${BGPIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	for ns in "${NSES[@]}"; do
		# whatever still runs in our namespaces was started by this test
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null || true
		done
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$T"
	exit "$rc"
}

# wait_for SECONDS CMD...: runs CMD every 50 ms until it succeeds.
wait_for()
{
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

nsx() # nsx NS CMD...: CMD inside namespace $P-NS
{
	local ns=$1
	shift
	ip netns exec "$P-$ns" "$@"
}

drive() { nsx r "$NAT_DRIVE" "$@"; }

((EUID == 0)) || fail "needs root (network namespaces)"
[[ -x $NAT_DRIVE ]] || fail "$NAT_DRIVE is not built (make nat-test)"
for c in nft conntrack ping python3; do
	command -v "$c" >/dev/null || fail "$c is not installed (make deps)"
done
trap cleanup EXIT

# ---- topology ----
for ns in r a b i; do
	ip netns add "$P-$ns"
	NSES+=("$P-$ns")
	nsx "$ns" ip link set lo up
done
ip link add ta netns "$P-r" type veth peer name eth0 netns "$P-a"
ip link add tb netns "$P-r" type veth peer name eth0 netns "$P-b"
ip link add xa netns "$P-r" type veth peer name ia netns "$P-i"
ip link add xb netns "$P-r" type veth peer name ib netns "$P-i"
for ns in a b; do
	nsx "$ns" ip addr add 10.10.0.5/24 dev eth0
	nsx "$ns" ip link set eth0 up
	nsx "$ns" ip route add default via 10.10.0.1
done
nsx r sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
	net.ipv4.conf.default.rp_filter=0
for d in ta tb xa xb; do
	nsx r sysctl -qw "net.ipv4.conf.$d.rp_filter=0"
	nsx r ip link set "$d" up
done
nsx r ip addr add 10.10.0.1/24 dev ta
nsx r ip addr add 10.10.0.1/24 dev tb
nsx r ip addr add 192.0.2.1/30 dev xa
nsx r ip addr add 192.0.2.5/30 dev xb
nsx r ip route add 10.10.0.0/24 dev ta table 101
nsx r ip route add default via 192.0.2.2 dev xa onlink table 101
nsx r ip route add 10.10.0.0/24 dev tb table 102
nsx r ip route add default via 192.0.2.6 dev xb onlink table 102
nsx r ip rule add iif ta lookup 101 pref 100
nsx r ip rule add iif xa lookup 101 pref 101
nsx r ip rule add iif tb lookup 102 pref 102
nsx r ip rule add iif xb lookup 102 pref 103
nsx i ip addr add 203.0.113.100/32 dev lo
nsx i ip addr add 192.0.2.2/30 dev ia
nsx i ip addr add 192.0.2.6/30 dev ib
nsx i ip link set ia up
nsx i ip link set ib up
nsx i ip route add 198.51.100.1/32 via 192.0.2.1 dev ia
nsx i ip route add 198.51.100.2/32 via 192.0.2.5 dev ib
nsx i ip route add 198.51.100.3/32 via 192.0.2.5 dev ib

# The internet host's UDP echo server logs "<source address> <source port>".
cat >"$T/echo.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("203.0.113.100", 5353))
log = open(sys.argv[1], "a", buffering=1)
log.write("ready\n")
while True:
    data, peer = s.recvfrom(2048)
    log.write("%s %d\n" % peer)
    s.sendto(data, peer)
EOF
# udp_probe NS SPORT: one datagram from 10.10.0.5:SPORT, waits for the echo.
cat >"$T/probe.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.10.0.5", int(sys.argv[1])))
s.settimeout(1)
for _ in range(5):
    s.sendto(b"hnvgw", ("203.0.113.100", 5353))
    try:
        if s.recv(64) == b"hnvgw":
            sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)
EOF
# (background jobs run ip netns exec directly: $! is then the process
# itself, not a subshell around it)
ip netns exec "$P-i" python3 "$T/echo.py" "$T/peers.out" 2>"$T/echo.log" &
BGPIDS+=($!)
wait_for 10 grep -q ready "$T/peers.out" || fail "UDP echo server did not start"

# A table of someone else's, created first, must never change.
nsx r nft -f - <<'EOF'
table inet other {
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr 192.0.2.0/24 accept
	}
}
EOF
nsx r nft -a list table inet other >"$T/other.before"
pass "topology up: two tenants with 10.10.0.5, per-tenant tables and external veths"

# ---- nft monitor: counts transactions (generations) ----
ip netns exec "$P-r" nft monitor >"$T/monitor.out" 2>"$T/monitor.log" &
BGPIDS+=($!)
MK=0
# sync: a marker transaction the monitor must have printed, so everything
# before it has been printed too.
sync_monitor()
{
	MK=$((MK + 1))
	nsx r nft add table inet "mk$MK"
	nsx r nft delete table inet "mk$MK"
	wait_for 10 grep -q "^delete table inet mk$MK\$" "$T/monitor.out" ||
		fail "nft monitor did not report marker mk$MK"
}
# gens_since LINE: generations printed after line LINE of the monitor
# output and before the latest marker.
gens_since()
{
	awk -v from="$1" -v mk="add table inet mk$MK" \
		'NR > from && $0 == mk { exit } NR > from && /^# new generation/ { n++ } END { print n + 0 }' \
		"$T/monitor.out"
}
wait_for 10 sync_monitor || fail "nft monitor did not start"

A1="name=a zone=1 if=ta if=xa ext=xa addr=198.51.100.1 prefix=10.10.0.0/16"
B1="name=b zone=2 if=tb if=xb ext=xb addr=198.51.100.2 prefix=10.10.0.0/16"

# ---- first apply ----
mark=$(wc -l <"$T/monitor.out")
out=$(drive apply "$A1" "$B1") || fail "apply: $out"
[[ $out == changed ]] || fail "first apply said '$out'"
sync_monitor
gens=$(gens_since "$mark")
((gens == 1)) || fail "first apply took $gens transactions, want 1"
nsx r nft list table inet hnvgw >"$T/rules1"
grep -q 'iifname "ta" ct zone set 1' "$T/rules1" || fail "no zone rule for ta: $(<"$T/rules1")"
grep -q 'iifname "xb" ct zone set 2' "$T/rules1" || fail "no zone rule for xb: $(<"$T/rules1")"
grep -q 'oifname "tb" ct zone set 2' "$T/rules1" || fail "no output zone rule for tb"
grep -q 'oifname "xa" ip saddr 10.10.0.0/16 snat ip to 198.51.100.1' "$T/rules1" ||
	fail "no SNAT rule for A: $(<"$T/rules1")"
grep -q 'oifname "xb" ip saddr 10.10.0.0/16 snat ip to 198.51.100.2' "$T/rules1" ||
	fail "no SNAT rule for B: $(<"$T/rules1")"
pass "apply: table inet hnvgw built in one transaction"

# ---- both tenants at the same time, same CA, same ICMP id and UDP port ----
nsx a ping -e 4242 -c 3 -i 0.2 -w 10 203.0.113.100 >"$T/ping-a.out" 2>&1 &
pa=$!
nsx b ping -e 4242 -c 3 -i 0.2 -w 10 203.0.113.100 >"$T/ping-b.out" 2>&1 &
pb=$!
wait "$pa" || fail "tenant A ping: $(<"$T/ping-a.out")"
wait "$pb" || fail "tenant B ping: $(<"$T/ping-b.out")"
nsx a python3 "$T/probe.py" 40000 &
pa=$!
nsx b python3 "$T/probe.py" 40000 &
pb=$!
wait "$pa" || fail "tenant A: no UDP echo from 203.0.113.100"
wait "$pb" || fail "tenant B: no UDP echo from 203.0.113.100"
grep -qx "198.51.100.1 40000" "$T/peers.out" || fail "internet host saw: $(<"$T/peers.out")"
grep -qx "198.51.100.2 40000" "$T/peers.out" || fail "internet host saw: $(<"$T/peers.out")"
if grep -q "^10\.10\." "$T/peers.out"; then
	fail "a CA leaked untranslated: $(<"$T/peers.out")"
fi
pass "A and B (both 10.10.0.5, ICMP id 4242, UDP port 40000) reach 203.0.113.100 as 198.51.100.1 and .2"

nsx r conntrack -L 2>/dev/null >"$T/ct.out"
for z in 1 2; do
	grep -E "^icmp .*src=10\.10\.0\.5 dst=203\.0\.113\.100 type=8 code=0 id=4242 .*dst=198\.51\.100\.$z .*zone=$z" \
		"$T/ct.out" >/dev/null || fail "no ICMP conntrack entry in zone $z: $(<"$T/ct.out")"
	grep -E "^udp .*src=10\.10\.0\.5 dst=203\.0\.113\.100 sport=40000 dport=5353 .*dst=198\.51\.100\.$z sport=5353 dport=40000 .*zone=$z" \
		"$T/ct.out" >/dev/null || fail "no UDP conntrack entry in zone $z: $(<"$T/ct.out")"
done
pass "conntrack: the same flows in zones 1 and 2"

drive list "$A1" "$B1" >"$T/list.out" 2>"$T/list.log" || fail "list failed"
grep -qE "^a icmp 10\.10\.0\.5 id 4242 -> 203\.0\.113\.100 type 8 code 0 as 198\.51\.100\.1 id 4242 zone 1 " "$T/list.out" ||
	fail "list: no ICMP translation for A: $(<"$T/list.out")"
grep -qE "^b icmp 10\.10\.0\.5 id 4242 -> 203\.0\.113\.100 type 8 code 0 as 198\.51\.100\.2 id 4242 zone 2 " "$T/list.out" ||
	fail "list: no ICMP translation for B: $(<"$T/list.out")"
grep -qE "^a udp 10\.10\.0\.5:40000 -> 203\.0\.113\.100:5353 as 198\.51\.100\.1:40000 zone 1 (ASSURED|REPLIED) [0-9]+s$" "$T/list.out" ||
	fail "list: no UDP translation for A: $(<"$T/list.out")"
grep -qE "^b udp 10\.10\.0\.5:40000 -> 203\.0\.113\.100:5353 as 198\.51\.100\.2:40000 zone 2 (ASSURED|REPLIED) [0-9]+s$" "$T/list.out" ||
	fail "list: no UDP translation for B: $(<"$T/list.out")"
n=$(wc -l <"$T/list.out")
((n == 4)) || fail "list: $n entries, want 4: $(<"$T/list.out")"
drive list "$A1" >"$T/list-a.out" || fail "list A failed"
n=$(grep -c "^a " "$T/list-a.out" || true)
((n == 2)) || fail "list for A only: $n entries of A, want 2: $(<"$T/list-a.out")"
if grep -qv "^a " "$T/list-a.out"; then
	fail "list for A only reports other zones: $(<"$T/list-a.out")"
fi
pass "list: both tenants' translations (tenant, proto, original, translated, state, timeout)"

# ---- the same set again changes nothing ----
nsx r nft -a list ruleset >"$T/ruleset.before"
mark=$(wc -l <"$T/monitor.out")
out=$(drive apply "$A1" "$B1") || fail "second apply: $out"
[[ $out == unchanged ]] || fail "second apply with the same set said '$out'"
sync_monitor
gens=$(gens_since "$mark")
((gens == 0)) || fail "apply of the current set made $gens transactions"
nsx r nft -a list ruleset >"$T/ruleset.after"
diff -u "$T/ruleset.before" "$T/ruleset.after" >"$T/ruleset.diff" ||
	fail "apply of the current set changed the ruleset: $(<"$T/ruleset.diff")"
pass "apply of an already-correct state: no transaction, same handles"

# ---- a rule removed behind hnvgw's back is put back ----
h=$(nsx r nft -a list chain inet hnvgw tenant_snat | sed -n 's/.*198\.51\.100\.2 # handle \([0-9]*\)$/\1/p')
[[ -n $h ]] || fail "no handle for B's SNAT rule"
nsx r nft delete rule inet hnvgw tenant_snat handle "$h"
out=$(drive apply "$A1" "$B1") || fail "repair apply: $out"
[[ $out == changed ]] || fail "apply after a rule was deleted said '$out'"
grep -q 'snat ip to 198.51.100.2' <<<"$(nsx r nft list table inet hnvgw)" || fail "B's SNAT rule not restored"
pass "reconciliation: a deleted rule is restored"

# ---- a changed set replaces the rules atomically ----
A2="name=a zone=1 if=ta if=xa ext=xa addr=198.51.100.1 prefix=10.10.0.0/16"
B2="name=b zone=2 if=tb if=xb ext=xb addr=198.51.100.3 prefix=10.10.0.0/24"
mark=$(wc -l <"$T/monitor.out")
out=$(drive apply "$A2" "$B2") || fail "apply of the changed set: $out"
[[ $out == changed ]] || fail "apply of a changed set said '$out'"
sync_monitor
gens=$(gens_since "$mark")
((gens == 1)) || fail "the changed set took $gens transactions, want 1: $(tail -n +"$((mark + 1))" "$T/monitor.out")"
tail -n +"$((mark + 1))" "$T/monitor.out" >"$T/monitor.change"
grep -q "^delete table inet hnvgw" "$T/monitor.change" || fail "no table delete in the transaction"
grep -Eq "^(add|create) table inet hnvgw" "$T/monitor.change" || fail "no table add in the transaction"
nsx r nft list table inet hnvgw >"$T/rules2"
grep -q 'oifname "xb" ip saddr 10.10.0.0/24 snat ip to 198.51.100.3' "$T/rules2" ||
	fail "B's new SNAT rule missing: $(<"$T/rules2")"
if grep -q '198\.51\.100\.2' "$T/rules2"; then
	fail "B's old SNAT rule survived: $(<"$T/rules2")"
fi
nsx b python3 "$T/probe.py" 40001 || fail "tenant B after the change: no UDP echo"
nsx a python3 "$T/probe.py" 40001 || fail "tenant A after the change: no UDP echo"
grep -qx "198.51.100.3 40001" "$T/peers.out" || fail "B's new flow not from 198.51.100.3: $(<"$T/peers.out")"
grep -qx "198.51.100.1 40001" "$T/peers.out" || fail "A's new flow not from 198.51.100.1: $(<"$T/peers.out")"
pass "changed set: one transaction (delete + add), B now leaves as 198.51.100.3, A unchanged"

# ---- a tenant without an external address gets only its zone ----
out=$(drive apply "$A2" "name=b zone=2 if=tb if=xb") || fail "apply without B's address: $out"
nsx r nft list chain inet hnvgw tenant_snat >"$T/rules3"
if grep -q 'oifname "xb"' "$T/rules3"; then
	fail "B without an external address still has SNAT: $(<"$T/rules3")"
fi
grep -q 'iifname "tb" ct zone set 2' <<<"$(nsx r nft list chain inet hnvgw zone_pre)" ||
	fail "B lost its zone"
pass "tenant without an external address: zone only"

# ---- invalid input is refused before the kernel sees it ----
nsx r nft -a list ruleset >"$T/ruleset.before"
if drive apply "$A2" "name=b zone=1 if=tb" 2>"$T/dup.err"; then
	fail "two tenants in zone 1 accepted"
fi
grep -q "zone 1" "$T/dup.err" || fail "duplicate zone message: $(<"$T/dup.err")"
if drive apply "$A2" "name=b zone=2 if=ta" 2>"$T/dupif.err"; then
	fail "interface ta in two tenants accepted"
fi
grep -q "interface ta is in tenants a and b" "$T/dupif.err" || fail "duplicate interface message: $(<"$T/dupif.err")"
nsx r nft -a list ruleset >"$T/ruleset.after"
diff -u "$T/ruleset.before" "$T/ruleset.after" >/dev/null || fail "a refused apply changed the ruleset"
pass "invalid tenant sets refused with the bad value named, ruleset untouched"

# ---- NETMAP: tenant A and a site that uses A's own prefix ----
ip netns add "$P-s"
NSES+=("$P-s")
nsx s ip link set lo up
ip link add xfa netns "$P-r" type veth peer name s0 netns "$P-s"
# point-to-point like an XFRM interface: no ARP, frames to the one peer
mac=$(nsx r cat /sys/class/net/xfa/address)
nsx s ip link set s0 address "$mac"
nsx r ip link set xfa arp off up
nsx s ip link set s0 arp off up
nsx r sysctl -qw net.ipv4.conf.xfa.rp_filter=0
nsx s ip addr add 10.10.0.7/32 dev lo
nsx s ip route add 172.31.0.0/24 dev s0
nsx r ip rule add iif xfa lookup 101 pref 104
nsx r ip rule add fwmark 0x48000777 lookup 777 pref 50
nsx r ip route add default dev xfa table 777
NM="netmap=local:xfa:10.10.0.0/24=172.31.0.0/24 netmap=remote:xfa:10.10.0.0/24=172.30.0.0/24:0x48000777:0x48100777"
A3="name=a zone=1 if=ta if=xa if=xfa ext=xa addr=198.51.100.1 prefix=10.10.0.0/16 $NM"
out=$(drive apply "$A3" "$B2") || fail "apply with netmaps: $out"
[[ $out == changed ]] || fail "apply with netmaps said '$out'"
nsx r nft list table inet hnvgw >"$T/rules-nm"
for want in 'oifname "xfa" ip saddr 10.10.0.0/24 snat ip prefix to 172.31.0.0/24' \
	'iifname "xfa" ip daddr 172.31.0.0/24 dnat ip prefix to 10.10.0.0/24' \
	'ct zone 1 iifname != "xfa" ip daddr 172.30.0.0/24 meta mark set 0x48000777' \
	'ct zone 1 iifname != "xfa" ip daddr 172.30.0.0/24 dnat ip prefix to 10.10.0.0/24' \
	'iifname "xfa" ip saddr 10.10.0.0/24 meta mark set 0x48100777' \
	'meta mark 0x48100777 ip saddr 10.10.0.0/24 snat ip prefix to 172.30.0.0/24'; do
	grep -qF "$want" "$T/rules-nm" || fail "no rule '$want': $(<"$T/rules-nm")"
done
out=$(drive apply "$A3" "$B2") || fail "second apply with netmaps: $out"
[[ $out == unchanged ]] || fail "the same netmaps again said '$out'"
pass "netmap rules: 2 local, 4 remote (2 marks, dnat, snat); the same set again changes nothing"

# UDP echo servers that log their peers: the site's and A's
printf '%s\n' 'import socket, sys' \
	's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)' \
	's.bind((sys.argv[1], int(sys.argv[2])))' \
	'log = open(sys.argv[3], "a", buffering=1)' \
	'log.write("ready\n")' \
	'while True:' \
	'    data, peer = s.recvfrom(2048)' \
	'    log.write("%s %d\n" % peer)' \
	'    s.sendto(data, peer)' >"$T/echo-any.py"
# probe-to.py SRC SPORT DST DPORT: prints the address the echo came from
printf '%s\n' 'import socket, sys' \
	's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)' \
	's.bind((sys.argv[1], int(sys.argv[2])))' \
	's.settimeout(1)' \
	'for _ in range(5):' \
	'    s.sendto(b"netmap", (sys.argv[3], int(sys.argv[4])))' \
	'    try:' \
	'        data, peer = s.recvfrom(64)' \
	'        if data == b"netmap":' \
	'            print("%s %d" % peer)' \
	'            sys.exit(0)' \
	'    except socket.timeout:' \
	'        pass' \
	'sys.exit(1)' >"$T/probe-to.py"
ip netns exec "$P-s" python3 "$T/echo-any.py" 10.10.0.7 7000 "$T/site-peers.out" 2>"$T/site-echo.log" &
BGPIDS+=($!)
ip netns exec "$P-a" python3 "$T/echo-any.py" 10.10.0.5 7001 "$T/a-peers.out" 2>"$T/a-echo.log" &
BGPIDS+=($!)
wait_for 10 grep -q ready "$T/site-peers.out" || fail "site echo server did not start"
wait_for 10 grep -q ready "$T/a-peers.out" || fail "A's echo server did not start"

nsx a ping -c 3 -i 0.2 -w 10 172.30.0.7 >"$T/ping-nm.out" 2>&1 ||
	fail "A cannot ping the site's 10.10.0.7 as 172.30.0.7: $(<"$T/ping-nm.out")"
peer=$(nsx a python3 "$T/probe-to.py" 10.10.0.5 41000 172.30.0.7 7000) ||
	fail "A: no UDP echo from the site"
[[ $peer == "172.30.0.7 7000" ]] || fail "A got the site's echo from $peer"
grep -qx "172.31.0.5 41000" "$T/site-peers.out" || fail "the site saw: $(<"$T/site-peers.out")"
pass "A (10.10.0.5) -> site 10.10.0.7 as 172.30.0.7; the site sees 172.31.0.5"

peer=$(nsx s python3 "$T/probe-to.py" 10.10.0.7 42000 172.31.0.5 7001) ||
	fail "the site: no UDP echo from A at 172.31.0.5"
[[ $peer == "172.31.0.5 7001" ]] || fail "the site got A's echo from $peer"
grep -qx "172.30.0.7 42000" "$T/a-peers.out" || fail "A saw: $(<"$T/a-peers.out")"
pass "site 10.10.0.7 -> A as 172.31.0.5; A sees 172.30.0.7 and its answer returns"

if nsx b ping -c 2 -i 0.2 -w 3 172.30.0.7 >/dev/null 2>&1; then
	fail "tenant B reached 172.30.0.7 (A's netmap leaked into B)"
fi
if nsx b python3 "$T/probe-to.py" 10.10.0.5 43000 172.30.0.7 7000 >/dev/null; then
	fail "tenant B got an answer from A's site"
fi
if grep -v "^ready" "$T/site-peers.out" | grep -vqx "172.31.0.5 41000"; then
	fail "the site saw traffic that is not A's: $(<"$T/site-peers.out")"
fi
pass "tenant B (the same 10.10.0.5, zone 2) never reaches A's site"

drive list "$A3" "$B2" >"$T/list-nm.out" || fail "list with netmaps"
grep -qE "^a icmp 10\.10\.0\.5 id [0-9]+ -> 172\.30\.0\.7 type 8 code 0 as 172\.31\.0\.5 id [0-9]+ to 10\.10\.0\.7 zone 1 " "$T/list-nm.out" ||
	fail "list: no netmap ICMP entry: $(<"$T/list-nm.out")"
grep -qE "^a udp 10\.10\.0\.7:42000 -> 172\.31\.0\.5:7001 as 172\.30\.0\.7:42000 to 10\.10\.0\.5 zone 1 " "$T/list-nm.out" ||
	fail "list: no site-initiated netmap entry: $(<"$T/list-nm.out")"
pass "list: netmap translations with the translated source and destination"

if drive apply "name=a zone=1 if=ta netmap=local:xfa:10.10.0.0/24=172.31.0.0/24" 2>"$T/nm.err"; then
	fail "a netmap on an interface outside the tenant was accepted"
fi
grep -q 'netmap 0 is on "xfa", not an interface of the tenant' "$T/nm.err" || fail "message: $(<"$T/nm.err")"
if drive apply "name=a zone=1 if=xfa netmap=remote:xfa:10.10.0.0/24=172.30.0.0/16:1:2" 2>"$T/nm2.err"; then
	fail "a netmap with prefixes of two lengths was accepted"
fi
grep -q "needs two IPv4 prefixes of one length" "$T/nm2.err" || fail "message: $(<"$T/nm2.err")"
pass "bad netmaps refused with the reason"

# ---- a kernel error names the object: table hnvgw owned by another socket ----
drive flush || fail "flush before the owner test"
mkfifo "$T/nft.in"
ip netns exec "$P-r" nft -i <"$T/nft.in" >"$T/nft-i.log" 2>&1 &
BGPIDS+=($!)
exec 7>"$T/nft.in"
echo "add table inet hnvgw { flags owner; }" >&7
wait_for 10 nsx r nft list table inet hnvgw || fail "could not create an owned table"
if drive apply "$A2" "$B2" 2>"$T/owned.err"; then
	fail "apply over a table owned by another process succeeded"
fi
grep -q "cannot add table inet hnvgw: Operation not permitted" "$T/owned.err" ||
	fail "kernel error message: $(<"$T/owned.err")"
exec 7>&-
wait_for 10 bash -c "! ip netns exec $P-r nft list table inet hnvgw" ||
	fail "owned table did not go away with its owner"
pass "kernel error: -EPERM naming table inet hnvgw"

# ---- flush ----
out=$(drive apply "$A2" "$B2") || fail "apply after the owner test: $out"
drive flush || fail "flush"
if grep -q "hnvgw" <<<"$(nsx r nft list tables)"; then
	fail "table hnvgw left after flush: $(nsx r nft list tables)"
fi
drive flush || fail "flush of an absent table"
pass "flush removes table inet hnvgw (and is idempotent)"

nsx r nft -a list table inet other >"$T/other.after"
diff -u "$T/other.before" "$T/other.after" >"$T/other.diff" || fail "table inet other changed: $(<"$T/other.diff")"
pass "table inet other untouched"
