#!/bin/bash
# test_pool.sh: gateway pools through etcd (docs/gateway-pool.md) on a
# 3-member etcd cluster on loopback (tests/etcd/lib.sh), control plane only.
#   1. etcd leases (lease_check.c): expiry without keepalives, keepalives,
#      create-once transactions bound to a lease, revoke
#   2. membership: start errors; three gateways g1-g3 join pool gwp (TTL 3)
#      and `show gateway-pool` lists them alive with their PA; g2 killed
#      with -9 leaves the list when its lease expires (time printed); g3,
#      reaching etcd through a TCP proxy, is partitioned twice: the proxy
#      killed (connections refused) and the proxy frozen with SIGSTOP
#      (requests hang until they time out); each time it reports itself
#      fenced BEFORE etcd expires its member key (times printed) and
#      rejoins with a new lease when the proxy is back; a member stopped
#      with SIGTERM leaves at once (lease revoked)
set -u
. "$(dirname "$0")/lib.sh"
LEASE_CHECK=${LEASE_CHECK:-$ROOT/build/asan/lease_check}

for n in 1 2 3; do etcd_start "$n"; done
etcd_wait_healthy

# ---- 1. leases
"$LEASE_CHECK" "$ALL_URLS" "$PREFIX" || fail "etcd leases (lease_check)"

# ---- 2. membership
POOL=gwp
mkey() { echo "${PREFIX}pool/$POOL/member/$1"; }
has_member_key() { [[ -n $(ectl get --print-value-only "$(mkey "$1")") ]]; }
# pool_field H MEMBER FIELD: FIELD of MEMBER's row in H's show gateway-pool
pool_field()
{
	cli "$1" --json show gateway-pool | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    if r["member"] == sys.argv[1]:
        print(r[sys.argv[2]])' "$2" "$3"
}
pool_members() { cli "$1" --json show gateway-pool | python3 -c '
import json, sys
print(" ".join(sorted(r["member"] for r in json.load(sys.stdin) if r["state"] in ("alive", "member"))))'; }

# for wait_for (which runs its command again and again)
members_are() { [[ $(pool_members "$1") == "$2" ]]; }
field_is() { [[ $(pool_field "$1" "$2" "$3") == "$4" ]]; }

start_err()
{
	local want=$1 out
	shift
	out=$("$HNVGWD" --foreground --state-dir "$T/state-x" --socket "$T/x.sock" "$@" 2>&1)
	local rc=$?
	[[ $rc == 2 ]] || fail "hnvgwd $*: exit $rc, want 2 ($out)"
	[[ $out == *"$want"* ]] || fail "hnvgwd $*: no \"$want\" in: $out"
}
start_err "needs --etcd and --host-name" --gateway-pool $POOL
start_err "needs --etcd and --host-name" --etcd "$ALL_URLS" --host-name g9 --pool-ttl 3
start_err "--pool-ttl \"1\"" --etcd "$ALL_URLS" --host-name g9 --gateway-pool $POOL --pool-ttl 1
start_err "--gateway-pool \"a/b\"" --etcd "$ALL_URLS" --host-name g9 --gateway-pool a/b
pass "--gateway-pool without --etcd/--host-name, --pool-ttl alone or out of range, a bad pool name: exit 2 naming the option"

# g3 reaches etcd through a TCP proxy the test can stop (proxy.sh)
. "$HERE/proxy.sh"
proxy_start

host_start g1 "" --gateway-pool $POOL --pool-ttl 3
host_start g2 "" --gateway-pool $POOL --pool-ttl 3
host_start g3 "http://127.0.0.1:$PROXY_PORT" --gateway-pool $POOL --pool-ttl 3
for i in 1 2 3; do cli g$i pa add 192.0.2.1$i/24 --dev eth0 >/dev/null || fail "pa add on g$i"; done
wait_for 10 members_are g1 "g1 g2 g3" || fail "g1 sees members: $(pool_members g1)"
# each member learns the others from its own watch: give each the same time
for h in g2 g3; do
	wait_for 10 members_are $h "g1 g2 g3" || fail "$h sees members: $(pool_members $h)"
done
wait_for 10 field_is g1 g3 pa 192.0.2.13 || fail "g3's PA in g1's show: $(pool_field g1 g3 pa)"
left=$(pool_field g1 g2 lease_ttl_left)
((left >= 1 && left <= 3)) || fail "g2's lease TTL left: $left"
[[ $(pool_field g1 g1 state) == member && $(pool_field g1 g2 state) == alive ]] ||
	fail "states: g1 $(pool_field g1 g1 state), g2 $(pool_field g1 g2 state)"
cli g1 show gateway-pool
pass "three members joined pool $POOL; show gateway-pool lists them alive with PA and lease TTL left"

# kill -9: g2's lease expires without keepalives
changes=$(pool_field g1 g1 changes_seen)
t0=$(now_ms)
kill -9 "${HPIDS[g2]}"
wait "${HPIDS[g2]}" 2>/dev/null
unset "HPIDS[g2]"
wait_for 10 members_are g1 "g1 g3" || fail "g2 still listed: $(pool_members g1)"
echo "# g2 killed with -9: gone from g1's show gateway-pool after $(($(now_ms) - t0)) ms (TTL 3000 ms)"
pass "a member killed with -9 leaves the pool when its lease expires"
# g1 read its view again because its watch saw g2's key go, not only
# because VIEW_MS passed
watch_saw() { (($(pool_field g1 g1 changes_seen) > changes)); }
wait_for 5 watch_saw ||
	fail "g1's pool watch saw no change when g2's key expired: changes_seen $(pool_field g1 g1 changes_seen), was $changes"
pass "g1's watch of the pool saw g2's key expire (changes_seen $changes -> $(pool_field g1 g1 changes_seen))"

# partition g3 from etcd while it stays up: kill (refused) or freeze
# (SIGSTOP: requests hang) the proxy it reaches etcd through
partition()
{
	local how=$1 lease fences fenced_at gone_at since end
	lease=$(pool_field g3 g3 lease)
	fences=$(pool_field g3 g3 fences)
	t0=$(now_ms)
	if [[ $how == kill ]]; then proxy_stop; else kill -STOP "$PROXY_PID"; fi
	fenced_at=
	gone_at=
	end=$((SECONDS + 15))
	while ((SECONDS < end)) && [[ -z $fenced_at || -z $gone_at ]]; do
		if [[ -z $fenced_at && $(pool_field g3 g3 state) == fenced ]]; then fenced_at=$(now_ms); fi
		if [[ -z $gone_at ]] && ! has_member_key g3; then gone_at=$(now_ms); fi
		sleep 0.05
	done
	[[ -n $fenced_at ]] || fail "$how: g3 did not report itself fenced"
	[[ -n $gone_at ]] || fail "$how: g3's member key did not expire"
	since=$(pool_field g3 g3 state_since_ms)
	echo "# g3 partitioned ($how proxy): fenced by its own clock after $((since - t0)) ms (seen after $((fenced_at - t0)) ms); its member key expired in etcd after $((gone_at - t0)) ms"
	((since < gone_at)) || fail "$how: g3 fenced at $since, after its key expired at $gone_at"
	[[ $(pool_field g3 g3 fences) == $((fences + 1)) ]] || fail "$how: g3's fences: $(pool_field g3 g3 fences)"
	[[ $(pool_field g3 g3 state) == fenced ]] || fail "$how: g3 is $(pool_field g3 g3 state) while cut off"
	pass "$how: a member partitioned from etcd reports itself fenced before etcd expires its lease"

	if [[ $how == kill ]]; then proxy_start; else kill -CONT "$PROXY_PID"; fi
	wait_for 10 field_is g3 g3 state member ||
		fail "$how: g3 did not rejoin: $(pool_field g3 g3 state) $(pool_field g3 g3 last_error)"
	wait_for 5 members_are g1 "g1 g3" || fail "g1 sees: $(pool_members g1)"
	local lease2
	lease2=$(pool_field g3 g3 lease)
	[[ $lease2 != "$lease" && $lease2 != 0 ]] || fail "$how: g3 rejoined with lease $lease2 (was $lease)"
	pass "$how: back in reach of etcd, g3 rejoins with a new lease"
}
partition kill
partition freeze
grep -q "gateway pool $POOL: g3 is fenced" "$T/g3.log" || fail "no fenced line in g3's log"

t0=$(now_ms)
host_stop g3
has_member_key g3 && fail "g3's member key still there after SIGTERM"
echo "# g3 stopped with SIGTERM: member key gone $(($(now_ms) - t0)) ms after the signal"
pass "a member stopped with SIGTERM leaves at once (lease revoked)"

echo "PASS: test_pool.sh"
