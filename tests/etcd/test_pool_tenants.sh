#!/bin/bash
# test_pool_tenants.sh: tenants of a gateway pool (docs/gateway-pool.md) on a
# 3-member etcd cluster on loopback (tests/etcd/lib.sh), control plane only.
#   1. config: `gateway add/ca/ca-del/del --pool` refused without --etcd;
#      with it, written under rd/R/gw/@POOL and rd/R/gwca/@POOL/V/CA with
#      the index key pool/POOL/tenant/R; a `gateway ca --pool` validates on
#      any host; a del must name the pool
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

echo "PASS: test_pool_tenants.sh"
