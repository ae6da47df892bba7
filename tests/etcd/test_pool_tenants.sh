#!/bin/bash
# test_pool_tenants.sh: tenants of a gateway pool (docs/gateway-pool.md) on a
# 3-member etcd cluster on loopback (tests/etcd/lib.sh), control plane only.
#   1. config: `gateway add/ca/ca-del/del --pool` refused without --etcd;
#      with it, written under rd/R/gw/@POOL and rd/R/gwca/@POOL/V/CA with
#      the index key pool/POOL/tenant/R; a `gateway ca --pool` validates on
#      any host; a del must name the pool
#   2. election: 4 tenants over 3 members (g1-g3, TTL 3): every tenant has
#      exactly one active key, bound to its holder's lease; the counts are
#      2/1/1; each member's `show gateways` lists exactly the tenants it
#      holds (`show gateway-pool-tenants` agrees); the lookup record of a
#      gateway CA points at its holder's PA; a gateway add with a pool
#      tenant's table is refused on a member that does not hold it; a
#      record rewritten to a stale PA and the records of gateway CAs added
#      later move to the holder too; with nothing changing, a reading costs
#      etcd a fixed number of ranges (etcd's metrics), not 3 per CA held
#   3. failures (times printed): kill -9 of a member holding tenants: the
#      survivors take them, records and a host edge's lookup record follow;
#      g3 partitioned from etcd (its proxy killed; at the end of part 4
#      frozen with SIGSTOP so that requests hang): each time it fences itself and
#      tears its tenants down BEFORE the other member claims the first of
#      them; back in reach it holds nothing after 2 TTL (no preemption)
#      until a tenant is unowned (a new tenant goes to it); stopped, its
#      tenant moves at once; restarted, it leaves the pool's gateways out
#      of its stored configuration and serves nothing
#   4. gateway move R --to G: refused for a non-tenant, a non-member, its
#      holder; the holder tears R down and releases it BEFORE G claims it
#      (times printed); the request key goes, records follow
set -u
. "$(dirname "$0")/lib.sh"

POOL=gwp
RED="{11111111-2222-3333-4444-000000005001}"

# ---- 1. config
# without --etcd: refused, nothing stored
"$HNVGWD" --foreground --state-dir "$T/state-solo" --socket "$(sock_of solo)" \
	--log-level info >>"$T/solo.log" 2>&1 &
HPIDS[solo]=$!
wait_for 10 test -S "$(sock_of solo)" || fail "standalone hnvgwd did not start"
cli solo rdomain add red --rdid "$RED" >/dev/null || fail "rdomain add on solo"
cli solo vsubnet add 5001 --rdomain red --prefix 10.1.0.0/16 >/dev/null || fail "vsubnet add on solo"
out=$(cli solo gateway add --rdomain red --pool $POOL --vrf red --table 201 2>&1)
rc=$?
[[ $rc == 1 ]] || fail "gateway add --pool without --etcd: exit $rc ($out)"
[[ $out == *"--pool needs shared policy (hnvgwd --etcd)"* ]] || fail "gateway add --pool without --etcd: $out"
out=$(cli solo gateway ca --rdomain red --pool $POOL --vsid 5001 --ca 10.1.0.5 2>&1) &&
	fail "gateway ca --pool without --etcd accepted"
[[ $out == *"--pool needs shared policy"* ]] || fail "gateway ca --pool without --etcd: $out"
[[ $(cli solo show config) != *"--pool"* ]] || fail "a --pool line was stored without --etcd"
out=$(cli solo gateway move red --to g1 2>&1) && fail "gateway move without --etcd accepted"
[[ $out == *"gateway move needs shared policy (hnvgwd --etcd)"* ]] || fail "gateway move without --etcd: $out"
host_stop solo
pass "gateway add/ca --pool and gateway move without --etcd: exit 1, \"... needs shared policy\", nothing stored"

for n in 1 2 3; do etcd_start "$n"; done
etcd_wait_healthy
host_start g1 "" --gateway-pool $POOL --pool-ttl 3
host_start g2 "" --gateway-pool $POOL --pool-ttl 3
eget() { ectl get --print-value-only "$PREFIX$1"; }

cli g1 rdomain add red --rdid "$RED" >/dev/null || fail "rdomain add"
cli g1 vsubnet add 5001 --rdomain red --prefix 10.1.0.0/16 >/dev/null || fail "vsubnet add"
cli g1 gateway add --rdomain red --pool $POOL --vrf red --table 201 >/dev/null ||
	fail "gateway add --pool on g1"
[[ $(eget rd/red/gw/@$POOL) == "gateway add --rdomain red --pool $POOL --vrf red --table 201" ]] ||
	fail "rd/red/gw/@$POOL: $(eget rd/red/gw/@$POOL)"
[[ $(eget pool/$POOL/tenant/red) == red ]] || fail "index key: $(eget pool/$POOL/tenant/red)"
[[ -z $(eget rd/red/gw/g1) ]] || fail "a pool's gateway written under g1's key"
# a CA of the pool's gateway, sent to the other member: validates there too
wait_for 5 bash -c "[[ -n \$(etcdctl --endpoints $ALL_URLS get --print-value-only ${PREFIX}rd/red/vsubnet/5001) ]]"
cli g2 gateway ca --rdomain red --pool $POOL --vsid 5001 --ca 10.1.0.5 >/dev/null ||
	fail "gateway ca --pool on g2: $(cli g2 gateway ca --rdomain red --pool $POOL --vsid 5001 --ca 10.1.0.5 2>&1)"
[[ $(eget rd/red/gwca/@$POOL/5001/10.1.0.5) == "gateway ca --rdomain red --pool $POOL --vsid 5001 --ca 10.1.0.5" ]] ||
	fail "gwca key: $(eget rd/red/gwca/@$POOL/5001/10.1.0.5)"
out=$(cli g2 gateway ca-del --rdomain red --vsid 5001 --ca 10.1.0.5 2>&1) && fail "ca-del without --pool accepted"
[[ $out == *"is in pool \"$POOL\", give --pool $POOL"* ]] || fail "ca-del without --pool: $out"
out=$(cli g1 gateway del --rdomain red 2>&1) && fail "gateway del without --pool accepted"
[[ $out == *"give --pool $POOL"* ]] || fail "gateway del without --pool: $out"
out=$(cli g1 rdomain del red 2>&1) && fail "rdomain del under a pool's gateway accepted"
pass "gateway add/ca --pool with --etcd: keys rd/red/gw/@$POOL, rd/red/gwca/@$POOL/5001/10.1.0.5, pool/$POOL/tenant/red; validated on any member; a del or CA must name the pool"

cli g2 gateway ca-del --rdomain red --pool $POOL --vsid 5001 --ca 10.1.0.5 >/dev/null || fail "gateway ca-del --pool"
cli g2 gateway ca --rdomain red --pool $POOL --vsid 5001 --ca 10.1.0.5 >/dev/null || fail "gateway ca --pool again"
# the routes its holder learned, as a holder publishes them
etcdctl --endpoints $ALL_URLS put ${PREFIX}pool/$POOL/learned/red "172.16.0.0/16 via 10.9.0.1" >/dev/null ||
	fail "put learned routes of red"
cli g2 gateway del --rdomain red --pool $POOL >/dev/null || fail "gateway del --pool"
for k in rd/red/gw/@$POOL rd/red/gwca/@$POOL/5001/10.1.0.5 pool/$POOL/tenant/red pool/$POOL/learned/red; do
	[[ -z $(eget "$k") ]] || fail "$k left after gateway del --pool"
done
pass "gateway ca-del / del --pool remove the pool's keys, the CA's, the index key and the learned routes with the gateway"


# ---- 2. election, serving, record move
# g3 reaches etcd through a TCP proxy the test can stop (proxy.sh)
. "$HERE/proxy.sh"
proxy_start
host_start g3 "http://127.0.0.1:$PROXY_PORT" --gateway-pool $POOL --pool-ttl 3
for i in 1 2 3; do cli g$i pa add 192.0.2.1$i/24 --dev eth0 >/dev/null || fail "pa add on g$i"; done
TENANTS="red blue green yellow"
i=0
for r in $TENANTS; do
	i=$((i + 1))
	v=$((5000 + i))
	cli g1 rdomain add $r --rdid "{11111111-2222-3333-4444-00000000000$i}" >/dev/null 2>&1 || [[ $r == red ]] || fail "rdomain add $r"
	cli g1 vsubnet add $v --rdomain $r --prefix 10.$i.0.0/16 >/dev/null 2>&1 || [[ $r == red ]] || fail "vsubnet add $v"
	cli g1 gateway add --rdomain $r --pool $POOL --vrf $r --table $((200 + i)) >/dev/null || fail "gateway add $r"
	cli g1 gateway ca --rdomain $r --pool $POOL --vsid $v --ca 10.$i.0.5 >/dev/null || fail "gateway ca $r"
	cli g1 lookup add --vsid $v --ca 10.$i.0.5 --pa 192.0.2.99 --mac 02:00:00:00:0$i:05 >/dev/null || fail "lookup add $r"
	cli g1 lookup add --vsid $v --ca 0.0.0.0 --pa 192.0.2.99 --mac 02:00:00:00:0$i:05 --type gateway-wildcard >/dev/null ||
		fail "lookup add $r gateway-wildcard"
done

# holder R: the active key's value ("" when none)
holder() { eget pool/$POOL/active/$1; }
# served H: the pool tenants H's running config has, sorted
served()
{
	cli "$1" --json show gateways | python3 -c '
import json, sys
print(" ".join(sorted(r.get("rdomain", r.get("RoutingDomain", "?")) for r in json.load(sys.stdin))))'
}
all_owned() { local r; for r in $TENANTS; do [[ -n $(holder $r) ]] || return 1; done; }
# check_one_holder: one active key per tenant, bound to its holder's lease,
# and each member's gateways are exactly what it holds
check_one_holder()
{
	local r h want m
	for m in "$@"; do
		want=""
		for r in $TENANTS; do [[ $(holder $r) == "$m" ]] && want="$want $r"; done
		want=$(echo $want | tr ' ' '\n' | sort | xargs)
		[[ $(served "$m") == "$want" ]] || return 1
	done
	return 0
}
wait_for 20 all_owned || fail "tenants not all owned: $(for r in $TENANTS; do echo -n "$r=$(holder $r) "; done)"
wait_for 10 check_one_holder g1 g2 g3 || fail "served sets: g1 [$(served g1)] g2 [$(served g2)] g3 [$(served g3)]; holders: $(for r in $TENANTS; do echo -n "$r=$(holder $r) "; done)"
counts=$(for r in $TENANTS; do holder $r; done | sort | uniq -c | awk '{print $1}' | sort -n | xargs)
[[ $counts == "1 1 2" ]] || fail "placement counts: $counts ($(for r in $TENANTS; do echo -n "$r=$(holder $r) "; done))"
cli g1 show gateway-pool-tenants
# a gateway add is checked against every pool tenant's gateway, held here or not
nh=$(for m in g1 g2 g3; do [[ $(holder red) != "$m" ]] && echo $m && break; done)
cli "$nh" rdomain add clash --rdid "{11111111-2222-3333-4444-000000000008}" >/dev/null || fail "rdomain add clash"
out=$(cli "$nh" gateway add --rdomain clash --pool $POOL --vrf clash --table 201 2>&1) &&
	fail "a pool gateway with red's table accepted on $nh"
[[ $out == *"table 201 already exists (VRF red of routing domain \"red\")"* ]] || fail "table clash on $nh: $out"
cli "$nh" rdomain del clash >/dev/null || fail "rdomain del clash"
pass "on $nh, which does not hold red, a pool gateway with red's table is refused naming red"
echo "# placement: $(for r in $TENANTS; do echo -n "$r=$(holder $r) "; done)"
pass "4 tenants over 3 members: one active key each, counts $counts, each member serves exactly what it holds"
for h in g1 g2 g3; do echo "# $h serves: $(served $h)"; done
[[ -n $(served g1)$(served g2)$(served g3) ]] || fail "no member serves anything"

# key_lease KEY: the lease a key is bound to (decimal), "" when none
key_lease()
{
	ectl get "$PREFIX$1" -w json | python3 -c '
import json, sys
kvs = json.load(sys.stdin).get("kvs", [])
print(kvs[0].get("lease", 0) if kvs else "")'
}
for r in $TENANTS; do
	h=$(holder $r)
	[[ $(key_lease pool/$POOL/active/$r) == "$(key_lease pool/$POOL/member/$h)" ]] ||
		fail "active/$r is not bound to $h's lease"
done
# pa_of_member H: 192.0.2.1N
pa_of() { echo "192.0.2.1${1#g}"; }
# record_pa R: the PA of R's gateway CA record in etcd
record_pa()
{
	local i=0 r
	for r in $TENANTS; do i=$((i + 1)); [[ $r == "$1" ]] && break; done
	eget rd/$1/lookup/$((5000 + i))/10.$i.0.5 | sed -n 's/.*--pa \([^ ]*\).*/\1/p'
}
# wild_pa R: the PA of R's gateway-wildcard record (the gateway CA's MAC)
wild_pa()
{
	local i=0 r
	for r in $TENANTS; do i=$((i + 1)); [[ $r == "$1" ]] && break; done
	eget rd/$1/lookup/$((5000 + i))/mac-02:00:00:00:0$i:05 | sed -n 's/.*--pa \([^ ]*\).*/\1/p'
}
# (the tenants with a gateway CA and its records: the first four)
records_follow() {
	local r
	for r in red blue green yellow; do
		[[ $(record_pa $r) == "$(pa_of "$(holder $r)")" && $(wild_pa $r) == "$(pa_of "$(holder $r)")" ]] || return 1
	done
}
wait_for 10 records_follow || fail "records: $(for r in $TENANTS; do echo -n "$r=$(record_pa $r),$(wild_pa $r)/$(holder $r) "; done)"
pass "each tenant's active key is bound to its holder's lease; its gateway CA's lookup record and gateway-wildcard record moved to the holder's PA"

# a record written back to a stale PA while its tenant is held moves again:
# the holder looks at the records written since its last reading
key=rd/blue/lookup/5002/10.2.0.5
ectl put "$PREFIX$key" "$(eget $key | sed 's/--pa [^ ]*/--pa 192.0.2.98/')" >/dev/null || fail "put $key"
moved_back() { records_follow && grep -q "moved the lookup record $key .* from PA 192.0.2.98 " "$T/$(holder blue).log"; }
wait_for 10 moved_back || fail "blue's record, rewritten to 192.0.2.98, did not move back to $(holder blue)'s PA: $(record_pa blue)"
pass "blue's gateway CA record, rewritten to a stale PA, moved back to its holder $(holder blue)'s PA"

# gateway CAs added to a held tenant (8 more virtual subnets of blue):
# their records move to its holder
for i in $(seq 10 17); do
	cli g1 vsubnet add 51$i --rdomain blue --prefix 10.50.$i.0/24 >/dev/null || fail "vsubnet add 51$i"
	cli g1 gateway ca --rdomain blue --pool $POOL --vsid 51$i --ca 10.50.$i.5 >/dev/null || fail "gateway ca blue 10.50.$i.5"
	cli g1 lookup add --vsid 51$i --ca 10.50.$i.5 --pa 192.0.2.99 --mac 02:00:00:00:51:$i >/dev/null || fail "lookup add 10.50.$i.5"
done
blue_cas_follow()
{
	local i
	for i in $(seq 10 17); do
		[[ $(eget rd/blue/lookup/51$i/10.50.$i.5) == *"--pa $(pa_of "$(holder blue)") "* ]] || return 1
	done
}
wait_for 10 blue_cas_follow || fail "blue's new gateway CAs' records: $(ectl get --prefix "${PREFIX}rd/blue/lookup/" --print-value-only | grep -o -- '--pa [^ ]*' | xargs)"
pass "8 gateway CAs added to blue while held: their lookup records moved to its holder $(holder blue)'s PA"

# with nothing changing, a member's reading costs etcd a fixed number of
# reads (1 + 1 per member + 4), not three more per gateway CA it holds
# (blue's 9 alone would add 27): etcd's own count of ranges over all of
# its members, per reading of the three members
ranges_total()
{
	local n t=0 v
	for n in 1 2 3; do
		v=$(curl -s "$(client_url $n)/metrics" | awk '$1 == "etcd_mvcc_range_total" {print $2}')
		t=$((t + ${v:-0}))
	done
	echo $t
}
readings_total()
{
	local m t=0 v
	for m in g1 g2 g3; do
		v=$(cli $m --json show gateway-pool | python3 -c '
import json, sys
print(sum(r["view_readings"] for r in json.load(sys.stdin) if r["self"] == "yes"))')
		t=$((t + v))
	done
	echo $t
}
r0=$(ranges_total) v0=$(readings_total)
sleep 5
r1=$(ranges_total) v1=$(readings_total)
(((v1 - v0) >= 3)) || fail "the members read their view $((v1 - v0)) times in 5 s"
per=$(((r1 - r0) / (v1 - v0)))
echo "# etcd ranges: $((r1 - r0)) in $((v1 - v0)) readings of 3 members holding 4 tenants: $per a reading"
((per <= 12)) || fail "$per etcd reads a reading with nothing changing ($((r1 - r0)) in $((v1 - v0)) readings)"
pass "with nothing changing, $per etcd reads a reading (not 3 more per gateway CA held)"

# ---- 3. failures
# a host edge with a port in red follows red's gateway CA record
host_start h1 ""
cli h1 pa add 192.0.2.21/24 --dev eth0 >/dev/null || fail "pa add on h1"
cli h1 port add vm1 --vsid 5001 --ca 10.1.1.10 --mac 02:00:00:01:01:10 >/dev/null || fail "port add on h1"
h1_gw_pa() { lookups h1 | awk '$1 == 5001 && $2 == "10.1.0.5" {print $3}'; }
h1_follows() { [[ $(h1_gw_pa) == "$(pa_of "$(holder red)")" ]]; }
wait_for 10 h1_follows || fail "h1's record of red's gateway CA: $(h1_gw_pa), red is on $(holder red)"
pass "host edge h1: its lookup record of red's gateway CA 10.1.0.5 is $(h1_gw_pa), red's holder $(holder red)'s PA"

# pool_field H MEMBER FIELD / tenant_field H TENANT FIELD (show gateway-pool[-tenants])
pool_field()
{
	cli "$1" --json show gateway-pool | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    if r["member"] == sys.argv[1]:
        print(r[sys.argv[2]])' "$2" "$3"
}
tenant_field()
{
	cli "$1" --json show gateway-pool-tenants | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    if r["tenant"] == sys.argv[1]:
        print(r[sys.argv[2]])' "$2" "$3"
}
held_by() { local r out=""; for r in $TENANTS; do [[ $(holder $r) == "$1" ]] && out="$out $r"; done; echo $out; }
none_held_by() { local r; for r in $1; do h=$(holder $r); [[ -n $h && $h != "$2" ]] || return 1; done; }

# kill -9 red's holder (g3 stays for the partition below)
victim=$(holder red)
[[ $victim == g3 ]] && victim=$(holder blue)
[[ $victim == g3 ]] && fail "g3 holds red and blue: cannot pick a victim"
lost=$(held_by $victim)
survivors=$(echo g1 g2 g3 | tr ' ' '\n' | grep -v "^$victim$" | xargs)
t0=$(now_ms)
kill -9 "${HPIDS[$victim]}"
wait "${HPIDS[$victim]}" 2>/dev/null
unset "HPIDS[$victim]"
wait_for 20 none_held_by "$lost" $victim || fail "$victim's tenants ($lost) not taken: $(for r in $lost; do echo -n "$r=$(holder $r) "; done)"
t1=$(now_ms)
TENANTS_LEFT=$TENANTS
# shellcheck disable=SC2086
wait_for 10 check_one_holder $survivors || fail "after kill: g-served sets: $(for m in $survivors; do echo -n "$m [$(served $m)] "; done)"
wait_for 10 records_follow || fail "records after kill: $(for r in $TENANTS; do echo -n "$r=$(record_pa $r)/$(holder $r) "; done)"
wait_for 10 h1_follows || fail "h1's record after kill: $(h1_gw_pa), red on $(holder red)"
t2=$(now_ms)
echo "# $victim killed with -9 holding [$lost]: all taken by survivors after $((t1 - t0)) ms (TTL 3000 ms), records moved and h1 follows after $((t2 - t0)) ms; placement now: $(for r in $TENANTS; do echo -n "$r=$(holder $r) "; done)"
pass "kill -9 of a member holding tenants: survivors take them ($((t1 - t0)) ms), one holder each, records and the host edge follow"

# partition HOW: g3, holding tenants, cut off from etcd while it stays up:
# its proxy killed (connections refused) or frozen (requests hang)
partition()
{
	local how=$1 g3_had t0 t_empty t_taken fenced_at torn_at first_claim c r
	g3_had=$(held_by g3)
	[[ -n $g3_had ]] || fail "$how: g3 holds no tenant before the partition: $(for r in $TENANTS; do echo -n "$r=$(holder $r) "; done)"
	t0=$(now_ms)
	if [[ $how == kill ]]; then proxy_stop; else kill -STOP "$PROXY_PID"; fi
	wait_for 15 fenced_empty || fail "$how: g3 not fenced/emptied: $(pool_field g3 g3 state) [$(served g3)]"
	t_empty=$(now_ms)
	wait_for 20 none_held_by "$g3_had" g3 || fail "$how: g3's tenants not taken by $other: $(for r in $g3_had; do echo -n "$r=$(holder $r) "; done)"
	t_taken=$(now_ms)
	fenced_at=$(pool_field g3 g3 state_since_ms)
	torn_at=$(pool_field g3 g3 served_since_ms)
	first_claim=
	for r in $g3_had; do
		c=$(tenant_field "$(holder $r)" $r since_ms)
		[[ -z $first_claim || $c -lt $first_claim ]] && first_claim=$c
	done
	echo "# g3 partitioned ($how proxy) holding [$g3_had]: fenced after $((fenced_at - t0)) ms, its tenants torn down after $((torn_at - t0)) ms (seen empty after $((t_empty - t0)) ms); first claim by $other after $((first_claim - t0)) ms (all taken, seen after $((t_taken - t0)) ms)"
	((torn_at >= fenced_at && torn_at < first_claim)) || fail "$how: g3 tore down at $torn_at, fenced at $fenced_at, first claim at $first_claim"
	[[ $(pool_field g3 g3 tenants_served) == 0 ]] || fail "$how: g3 still serves $(pool_field g3 g3 tenants_served)"
	wait_for 10 check_one_holder "$other" || fail "$how: $other serves [$(served $other)]"
	pass "partition ($how proxy): g3 fenced itself and tore its tenants down $((first_claim - torn_at)) ms before $other claimed the first of them"
	if [[ $how == kill ]]; then proxy_start; else kill -CONT "$PROXY_PID"; fi
	wait_for 15 bash -c "[[ \$($HNVGW --socket $(sock_of g3) --json show gateway-pool | grep -c '\"state\": *\"member\"') -ge 1 ]]" ||
		fail "$how: g3 did not rejoin: $(pool_field g3 g3 state)"
}
fenced_empty() { [[ $(pool_field g3 g3 state) == fenced && -z $(served g3) ]]; }
other=$(echo $survivors | tr ' ' '\n' | grep -v '^g3$')
partition kill

# back in reach: g3 rejoined with a new lease and holds nothing (no preemption)
sleep 7
[[ -z $(held_by g3) && -z $(served g3) ]] || fail "g3 took tenants back: [$(held_by g3)] serves [$(served g3)]"
pass "g3 back in reach of etcd: a member again, holds and serves nothing after 2 TTL (no preemption)"
# until a tenant is unowned: a new one goes to it (fewest active tenants)
cli g3 rdomain add violet --rdid "{11111111-2222-3333-4444-000000000009}" >/dev/null || fail "rdomain add violet"
cli g3 vsubnet add 5009 --rdomain violet --prefix 10.9.0.0/16 >/dev/null || fail "vsubnet add 5009"
cli g3 gateway add --rdomain violet --pool $POOL --vrf violet --table 209 >/dev/null || fail "gateway add violet"
TENANTS="$TENANTS violet"
wait_for 10 bash -c "[[ \$(etcdctl --endpoints $ALL_URLS get --print-value-only ${PREFIX}pool/$POOL/active/violet) == g3 ]]" ||
	fail "violet went to $(holder violet), not the idle g3"
wait_for 10 check_one_holder g3 "$other" || fail "served: g3 [$(served g3)] $other [$(served $other)]"
pass "a new tenant goes to the returned member, which has the fewest"

# restart: a member stopped and started again serves nothing it held
host_stop g3
wait_for 10 bash -c "[[ -n \$(etcdctl --endpoints $ALL_URLS get --print-value-only ${PREFIX}pool/$POOL/active/violet) && \$(etcdctl --endpoints $ALL_URLS get --print-value-only ${PREFIX}pool/$POOL/active/violet) != g3 ]]" ||
	fail "violet not taken after g3 stopped: $(holder violet)"
host_start g3 "http://127.0.0.1:$PROXY_PORT" --gateway-pool $POOL --pool-ttl 3
[[ -z $(served g3) ]] || fail "g3 restarted serving [$(served g3)]"
grep -q "bound to a gateway pool left out until this member holds it again" "$T/g3.log" ||
	fail "g3 did not leave violet out at start"
sleep 4
[[ -z $(served g3) && -z $(held_by g3) ]] || fail "g3 took [$(held_by g3)] after its restart"
pass "g3 stopped holding violet: violet moved at once (lease revoked); restarted, g3 left violet out of its configuration and serves nothing"


# ---- 4. gateway move (planned): the holder tears down and releases, then
# the target claims: never served by both
mv_r=$(held_by "$other" | awk '{print $1}')
[[ -n $mv_r ]] || fail "$other holds nothing to move"
out=$(cli g3 gateway move nosuch --to g3 2>&1) && fail "gateway move of a non-tenant accepted"
[[ $out == *"is no gateway pool's tenant"* ]] || fail "gateway move nosuch: $out"
out=$(cli g3 gateway move "$mv_r" --to g9 2>&1) && fail "gateway move to a non-member accepted"
[[ $out == *"g9 is no live member of gateway pool $POOL"* ]] || fail "gateway move --to g9: $out"
out=$(cli g3 gateway move "$mv_r" --to "$other" 2>&1) && fail "gateway move to its holder accepted"
[[ $out == *"already active on $other"* ]] || fail "gateway move to its holder: $out"
t0=$(now_ms)
cli g3 gateway move "$mv_r" --to g3 >/dev/null || fail "gateway move $mv_r --to g3: $(cli g3 gateway move "$mv_r" --to g3 2>&1)"
moved() { [[ $(holder "$mv_r") == g3 && " $(served g3) " == *" $mv_r "* && " $(served "$other") " != *" $mv_r "* ]]; }
wait_for 15 moved || fail "$mv_r not moved: holder $(holder "$mv_r"), g3 [$(served g3)], $other [$(served "$other")]"
t1=$(now_ms)
torn_at=$(pool_field "$other" "$other" served_since_ms)
claim_at=$(tenant_field g3 "$mv_r" since_ms)
echo "# gateway move $mv_r $other -> g3: $other tore it down after $((torn_at - t0)) ms, g3 claimed it after $((claim_at - t0)) ms (seen moved after $((t1 - t0)) ms)"
((torn_at < claim_at)) || fail "$other tore $mv_r down at $torn_at, g3 claimed it at $claim_at"
wait_for 10 bash -c "[[ -z \$(etcdctl --endpoints $ALL_URLS get --print-value-only ${PREFIX}pool/$POOL/moveto/$mv_r) ]]" ||
	fail "the move request of $mv_r stays"
wait_for 10 records_follow || fail "records after the move: $(for r in $TENANTS; do echo -n "$r=$(record_pa $r)/$(holder $r) "; done)"
wait_for 10 check_one_holder g3 "$other" || fail "served after the move: g3 [$(served g3)] $other [$(served "$other")]"
pass "gateway move $mv_r --to g3: torn down on $other $((claim_at - torn_at)) ms before g3 claimed it; request removed, records follow"

# g3, now holding what it was moved, cut off again: the proxy frozen
partition freeze

echo "PASS: test_pool_tenants.sh"
