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
#      gateway CA points at its holder's PA
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
host_stop solo
pass "gateway add/ca --pool without --etcd: exit 1, \"--pool needs shared policy\", nothing stored"

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
cli g2 gateway del --rdomain red --pool $POOL >/dev/null || fail "gateway del --pool"
for k in rd/red/gw/@$POOL rd/red/gwca/@$POOL/5001/10.1.0.5 pool/$POOL/tenant/red; do
	[[ -z $(eget "$k") ]] || fail "$k left after gateway del --pool"
done
pass "gateway ca-del / del --pool remove the pool's keys, the CA's and the index key with the gateway"


# ---- 2. election, serving, record move
host_start g3 "" --gateway-pool $POOL --pool-ttl 3
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
records_follow() { local r; for r in $TENANTS; do [[ $(record_pa $r) == "$(pa_of "$(holder $r)")" ]] || return 1; done; }
wait_for 10 records_follow || fail "records: $(for r in $TENANTS; do echo -n "$r=$(record_pa $r)/$(holder $r) "; done)"
pass "each tenant's active key is bound to its holder's lease; its gateway CA's lookup record moved to the holder's PA"
