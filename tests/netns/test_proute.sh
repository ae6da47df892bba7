#!/bin/bash
# test_proute.sh: provider routes ("proute add", New-NetVirtualizationProviderRoute)
# become kernel routes on the host edge. Host 2's PA is in another subnet,
# reachable from host 1 only through a router namespace:
#
#   $P-h1 (PA 192.168.4.11/24) -- bridge $P-pn -- 192.168.4.1 $P-rt 192.168.5.1
#   -- bridge $P-pn2 -- $P-h2 (PA 192.168.5.22/24); neither host has a default route.
#
# Asserts, with Blue1 (h1) pinging Blue2 (h2):
#   - before any provider route the ping fails (no route to the other PA);
#   - with "proute add" on both hosts (h1 through hnvgw ps,
#     New-NetVirtualizationProviderRoute) the kernel holds the routes
#     (proto 104) and the ping works;
#   - "proute del" on h1 removes its kernel route and the ping stops; added
#     again, the ping works again;
#   - a device that does not exist and a next hop on no subnet of the device
#     refuse the commit (exit 1, the reason named), nothing is stored;
#   - restart: a provider route missing from the kernel comes back, a stale
#     route of hnvgwd's protocol that the config lacks is removed;
#   - both daemons exit cleanly.
# Needs root. Run by `make netns-test`.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (network namespaces)"

lab_bridge
mkns pn2
nsx pn2 ip link add br0 type bridge mcast_snooping 0
nsx pn2 ip link set br0 up
mkns rt
ip link add a0 netns "$P-rt" type veth peer name rtp netns "$P-pn"
ip link add b0 netns "$P-rt" type veth peer name rtp netns "$P-pn2"
nsx pn ip link set rtp master br0 up
nsx pn2 ip link set rtp master br0 up
nsx rt ip addr add 192.168.4.1/24 dev a0
nsx rt ip addr add 192.168.5.1/24 dev b0
nsx rt ip link set a0 up
nsx rt ip link set b0 up
nsx rt sysctl -qw net.ipv4.ip_forward=1

start_host h1 192.168.4.11
# host 2 on the second segment (start_host puts its uplink on $P-pn)
mkns h2
ip link add up0 netns "$P-h2" type veth peer name h2p netns "$P-pn2"
nsx pn2 ip link set h2p master br0 up
nsx h2 ip addr add 192.168.5.22/24 dev up0
nsx h2 ip link set up0 up
start_h2()
{
	ip netns exec "$P-h2" "$HNVGWD" --foreground --state-dir "$T/state-h2" --socket "$T/h2.sock" \
		--uplink up0 ${DATAPATH:+--datapath "$DATAPATH"} --log-level debug >>"$T/hnvgwd-h2.log" 2>&1 &
	DPIDS[h2]=$!
	wait_for 20 cli h2 show revisions || fail "hnvgwd on h2 did not answer"
}
start_h2

policy()
{
	local pa=$1
	cli "$2" commit -f - >/dev/null <<CONF || fail "policy on $2"
pa add $pa/24 --dev up0
rdomain add blue --rdid {11111111-2222-3333-4444-000000005001}
vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24
lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005 --rule encap
lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.5.22 --mac 060600000007 --rule encap
route add --rdomain blue --vsid 5001 --prefix 10.0.0.0/24 --nexthop 0.0.0.0
CONF
}
policy 192.168.4.11 h1
policy 192.168.5.22 h2
add_vm h1 b1 blue1 5001 10.0.0.5 060600000005
add_vm h2 b2 blue2 5001 10.0.0.7 060600000007
pass "two hosts in two provider subnets joined by a router, Blue1 on h1, Blue2 on h2"

ping_ok() { nsx b1 ping -c 2 -i 0.2 -W 1 10.0.0.7 >/dev/null 2>&1; }
proutes() { nsx "$1" ip -4 route show proto 104; }

! ping_ok || fail "Blue1 reached Blue2 without any provider route"
[[ -z $(proutes h1) ]] || fail "h1 has provider routes already: $(proutes h1)"
pass "no provider route: Blue1 does not reach Blue2"

# ---- the routes, from the PowerShell front end on h1 and the CLI on h2 ----
idx=$(nsx h1 cat /sys/class/net/up0/ifindex)
cat >"$T/proute.ps1" <<PS
New-NetVirtualizationProviderRoute -InterfaceIndex $idx -DestinationPrefix "192.168.5.0/24" -NextHop "192.168.4.1" -Metric 10
PS
# in h1's namespace: the front end names the device of the InterfaceIndex
nsx h1 timeout 30 "$HNVGW" --socket "$T/h1.sock" ps "$T/proute.ps1" >"$T/ps.out" 2>&1 || fail "New-NetVirtualizationProviderRoute on h1: $(<"$T/ps.out")"
cli h2 proute add --prefix 192.168.4.0/24 --nexthop 192.168.5.1 --dev up0 >/dev/null ||
	fail "proute add on h2"
[[ $(proutes h1) == "192.168.5.0/24 via 192.168.4.1 dev up0 metric 10 " ||
	$(proutes h1) == "192.168.5.0/24 via 192.168.4.1 dev up0 metric 10" ]] ||
	fail "h1's kernel route: '$(proutes h1)'"
[[ -n $(proutes h2) ]] || fail "h2 has no kernel route"
wait_for 10 ping_ok || fail "Blue1 -> Blue2 through the provider routes"
nsx b2 ping -c 2 -i 0.2 -W 1 10.0.0.5 >/dev/null || fail "Blue2 -> Blue1"
pass "provider routes installed (h1: $(proutes h1)); Blue1 <-> Blue2 ping through the router"

# ---- delete and add again ----
cli h1 proute del --prefix 192.168.5.0/24 --nexthop 192.168.4.1 >/dev/null || fail "proute del on h1"
[[ -z $(proutes h1) ]] || fail "h1 kept its kernel route after proute del: $(proutes h1)"
# the uplink re-resolves its next hops after the change: pings stop
wait_for 10 bash -c "! ip netns exec $P-b1 ping -c 1 -W 1 10.0.0.7 >/dev/null 2>&1" ||
	fail "Blue1 still reaches Blue2 after proute del"
! ping_ok || fail "Blue1 reaches Blue2 without h1's provider route"
cli h1 proute add --prefix 192.168.5.0/24 --nexthop 192.168.4.1 --dev up0 --metric 10 >/dev/null ||
	fail "proute add again on h1"
wait_for 10 ping_ok || fail "Blue1 -> Blue2 after the provider route came back"
pass "proute del removes the kernel route and the pings stop; proute add brings both back"

# ---- refusals ----
rev=$(cli h1 --json show revisions | python3 -c 'import json,sys; r=json.load(sys.stdin); r=r.get("result",r) if isinstance(r,dict) else r; print(max(x["rev"] for x in r))')
rc=0
cli h1 proute add --prefix 10.99.0.0/16 --nexthop 192.168.4.1 --dev nosuch0 >"$T/e1.out" 2>&1 || rc=$?
((rc != 0)) || fail "a provider route on a missing device was accepted"
grep -q 'device "nosuch0" does not exist' "$T/e1.out" || fail "message: $(<"$T/e1.out")"
rc=0
cli h1 proute add --prefix 10.98.0.0/16 --nexthop 172.31.9.9 --dev up0 >"$T/e2.out" 2>&1 || rc=$?
((rc != 0)) || fail "a provider route via an unreachable next hop was accepted"
grep -q 'next hop is not on a subnet of that device' "$T/e2.out" || fail "message: $(<"$T/e2.out")"
cli h1 show proutes >"$T/proutes.out"
! grep -qE '10\.99\.|10\.98\.' "$T/proutes.out" || fail "a refused route was stored: $(<"$T/proutes.out")"
rev2=$(cli h1 --json show revisions | python3 -c 'import json,sys; r=json.load(sys.stdin); r=r.get("result",r) if isinstance(r,dict) else r; print(max(x["rev"] for x in r))')
((rev2 == rev)) || fail "refused commits made revisions $rev -> $rev2"
[[ $(proutes h1 | wc -l) == 1 ]] || fail "kernel routes after refusals: $(proutes h1)"
pass "refused: $(head -1 "$T/e1.out"); $(head -1 "$T/e2.out")"

# ---- restart: reconciliation ----
stop_host h1
nsx h1 ip route del 192.168.5.0/24
nsx h1 ip route add 10.77.0.0/16 via 192.168.4.1 dev up0 proto 104
ip netns exec "$P-h1" "$HNVGWD" --foreground --state-dir "$T/state-h1" --socket "$T/h1.sock" \
	--uplink up0 ${DATAPATH:+--datapath "$DATAPATH"} --log-level debug >>"$T/hnvgwd-h1.log" 2>&1 &
DPIDS[h1]=$!
wait_for 20 cli h1 show revisions || fail "hnvgwd on h1 did not answer after restart"
[[ $(proutes h1) == "192.168.5.0/24 via 192.168.4.1 dev up0 metric 10"* ]] ||
	fail "after restart h1 has: '$(proutes h1)'"
! proutes h1 | grep -q 10.77.0.0 || fail "the stale route survived the restart"
wait_for 10 ping_ok || fail "Blue1 -> Blue2 after restart"
pass "restart: the missing provider route is back, the stale proto 104 route is gone, pings work"

stop_host h1
stop_host h2
pass "both hnvgwd exit cleanly"
