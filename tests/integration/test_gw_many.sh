#!/bin/bash
# test_gw_many.sh: the gateway role carries every gateway the configuration
# holds (issue 19, scale). hnvgwd's gateway manager kept at most 256
# gateways (and 256 tunnels) and logged "the rest is not applied": a
# commit of 300 tenants stored 300 and applied 256, so 44 tenants had
# neither a VRF nor a row in `show gateway`. Here hnvgwd runs the gateway
# role in a network namespace of its own and 300 gateways with a tunnel
# each are committed at once; `show gateway` and `s2s show` must list all
# 300 (each with its state: on a kernel without VRFs, the error), and the
# commit's reply must name the last one when it cannot be applied. Then
# one commit removes them all: every gateway port goes (deleted as one
# group), nothing that is not hnvgwd's does.
# Needs root (a network namespace). Run by `make integration-test`.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (a network namespace for the gateway role)"
N=300

NS=hnvgwit-many-$$
ip netns add "$NS" || fail "cannot create network namespace $NS"
CLEAN_NETNS=$NS
ip -n "$NS" link set lo up
ip -n "$NS" link add up0 type veth peer name up0p || fail "cannot create a veth pair in $NS"
ip -n "$NS" link set up0 up
ip -n "$NS" link set up0p up

DAEMON_WRAP=(ip netns exec "$NS")
start_daemon main --uplink up0 --datapath userspace --zebra none --vici none

for n in $(seq 1 $N); do
	v=$((10000 + n))
	printf 'rdomain add t%d --rdid 33333333-0000-0000-0000-%012d\n' "$n" "$n"
	echo "vsubnet add $v --rdomain t$n --prefix 10.10.0.0/16"
	echo "gateway add --rdomain t$n --vrf t$n --table $((1000 + n))"
	echo "gateway ca --rdomain t$n --vsid $v --ca 10.10.0.2"
	echo "s2s add t$n-site --rdomain t$n --peer 198.51.100.2 --local-id gw-t$n --remote-id site-t$n --psk Sc4le${n}Xq9mP2wL7vB5nR8tY3 --remote-prefix 192.168.0.0/16"
done >"$T/many.conf"
# 0: applied (a kernel with VRFs); 4: stored, not applied (none here)
rc=0
cli commit -f "$T/many.conf" >"$T/out" 2>"$T/err" || rc=$?
((rc == 0 || rc == 4)) || fail "commit of $N gateways exited $rc: $(cat "$T/err")"
if ((rc == 4)); then
	contains "$(cat "$T/err")" "gateway t$N:" "the commit's reply names the last gateway"
fi
pass "$N gateways committed (exit $rc)"

rows=$(cli show gateway | tail -n +2 | grep -c '^t[0-9]')
((rows == N)) || fail "show gateway lists $rows of $N gateways"
cli show gateway | grep -q "^t$N " || fail "show gateway has no row for t$N"
# the state column: the last gateway applied like the first (both "ok", or
# both the same kernel error), not left out
st1=$(cli show gateway | awk '$1 == "t1" { $1 = $2 = $3 = $4 = $5 = ""; print }' | sed -E 's/rd-t1\b/rd-tN/g; s/table [0-9]+/table T/; s/^ *//')
stN=$(cli show gateway | awk -v t="t$N" '$1 == t { $1 = $2 = $3 = $4 = $5 = ""; print }' | sed -E "s/rd-t$N\b/rd-tN/g; s/table [0-9]+/table T/; s/^ *//")
[[ -n $st1 && $st1 == "$stN" ]] || fail "show gateway: t1 is \"$st1\" but t$N is \"$stN\""
pass "show gateway lists all $N gateways, t$N in the same state as t1 ($st1)"
rows=$(cli s2s show | tail -n +2 | grep -c '^t[0-9]*-site ')
((rows == N)) || fail "s2s show lists $rows of $N tunnels"
pass "s2s show lists all $N tunnels"
if grep -q "the rest is not applied" "$(log_of main)"; then
	fail "hnvgwd left gateways unapplied: $(grep 'the rest is not applied' "$(log_of main)" | head -1)"
fi
pass "hnvgwd applied every gateway (no \"the rest is not applied\")"

# Removing them all with one commit deletes their gateway ports together:
# each is moved into hnvgwd's deletion group (gateway/rtnl.h,
# HNV_RTNL_DEL_GROUP) and the group is deleted at once. A device that is
# not hnvgwd's stays, even one found in that group beforehand (left by a
# run stopped between tagging and deleting): it is taken out first.
ports=$(ip -n "$NS" -br link | grep -c '^vsid[0-9]')
((ports == N)) || fail "$ports gateway ports before the removal, want $N"
ip -n "$NS" link add keep0 type veth peer name keep1 || fail "cannot create a veth pair in $NS"
ip -n "$NS" link set keep0 group $((0x686e7664))
for n in $(seq 1 $N); do
	echo "s2s del t$n-site"
	echo "gateway del --rdomain t$n"
	echo "vsubnet del $((10000 + n))"
	echo "rdomain del t$n"
done >"$T/remove.conf"
cli commit -f "$T/remove.conf" >"$T/out" 2>"$T/err" || fail "removal of $N gateways: $(cat "$T/err")"
ports=$(ip -n "$NS" -br link | grep -c '^vsid[0-9]' || true)
((ports == 0)) || fail "$ports gateway ports left after the removal"
ip -n "$NS" link show keep0 >/dev/null 2>&1 || fail "the removal deleted keep0, not hnvgwd's"
ip -n "$NS" link show keep1 >/dev/null 2>&1 || fail "the removal deleted keep1, not hnvgwd's"
grep -q "gateway: deleted gateway port vsid$((10000 + N)), no longer configured" "$(log_of main)" ||
	fail "no log line for the deletion of vsid$((10000 + N))"
pass "removal of $N gateways in one commit: every gateway port deleted, keep0/keep1 (not hnvgwd's, one in its group) kept"

stop_daemon main
check_log main
echo "test_gw_many.sh: all passed"
