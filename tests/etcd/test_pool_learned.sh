#!/bin/bash
# test_pool_learned.sh: routes kept across a takeover (docs/gateway-pool.md,
# gateway/retain.h) on a 3-member etcd cluster on loopback, two then three
# gateway members with an uplink (a veth each, --datapath userspace) so
# that each has its gateway: a member that claims a tenant reads
# pool/POOL/learned/R, what the previous holder published, and keeps
# those routes (logged with their count); a text that is not valid is
# refused whole, naming the line. Publishing needs BGP routes in a VRF and
# zebra: the image lab's gateway-ha scenario checks it, and the kept route
# giving way to BGP.
set -u
. "$(dirname "$0")/lib.sh"

POOL=gwp
eget() { ectl get --print-value-only "$PREFIX$1"; }
for n in 1 2 3; do etcd_start "$n"; done
etcd_wait_healthy
VETHS=""
member()
{
	ip link add "lp$1" type veth peer name "lq$1" || fail "veth for $1"
	VETHS="$VETHS lp$1"
	ip link set "lp$1" up
	host_start "$1" "" --uplink "lp$1" --datapath userspace --gateway-pool $POOL --pool-ttl 3
	cli "$1" pa add "192.0.2.$2/24" --dev "lp$1" >/dev/null || fail "pa add on $1"
}
cleanup_veths() { for v in $VETHS; do ip link del "$v" 2>/dev/null; done; }
trap 'cleanup_veths; cleanup' EXIT
member g1 11
member g2 12
i=0
for r in red blue; do
	i=$((i + 1))
	cli g1 rdomain add $r --rdid "{11111111-2222-3333-4444-00000000000$i}" >/dev/null || fail "rdomain add $r"
	cli g1 vsubnet add $((5000 + i)) --rdomain $r --prefix 10.$i.0.0/16 >/dev/null || fail "vsubnet add $r"
	cli g1 gateway add --rdomain $r --pool $POOL --vrf $r --table $((200 + i)) >/dev/null || fail "gateway add $r"
done
holder() { eget pool/$POOL/active/$1; }
both_held() { [[ -n $(holder red) && -n $(holder blue) ]]; }
wait_for 15 both_held || fail "tenants not placed: red=$(holder red) blue=$(holder blue)"
victim=$(holder red)
other=g1
[[ $victim == g1 ]] && other=g2
# what a holder with BGP routes in red's VRF publishes
ectl put ${PREFIX}pool/$POOL/learned/red \
	"$(printf '172.16.0.0/16 via 10.9.0.1 dev eth0\n2001:db8:16::/48 via fe80::1 dev eth0\n')" >/dev/null ||
	fail "put red's learned routes"
kill -9 "${HPIDS[$victim]}"
wait "${HPIDS[$victim]}" 2>/dev/null
unset "HPIDS[$victim]"
took_red() { [[ $(holder red) == "$other" ]]; }
wait_for 20 took_red || fail "red not taken by $other after $victim's kill (holder: $(holder red))"
kept() { grep -q "tenant $1: $2 routes its previous holder learned kept until BGP learns them here" "$T/$3.log"; }
wait_for 5 kept red 2 "$other" || fail "$other took red without keeping its 2 learned routes: $(grep -E 'red' "$T/$other.log" | tail -3)"
pass "$other took red over from $victim (kill -9) and keeps the 2 routes red's holder published (pool/$POOL/learned/red)"

# a third member takes both when the second goes; blue's text is not valid
member g3 13
ectl put ${PREFIX}pool/$POOL/learned/blue \
	"$(printf '172.17.0.0/16 via 10.9.0.1\n172.18.0.1/16 dev eth0\n')" >/dev/null || fail "put blue's learned routes"
kill -9 "${HPIDS[$other]}"
wait "${HPIDS[$other]}" 2>/dev/null
unset "HPIDS[$other]"
on_g3() { [[ $(holder red) == g3 && $(holder blue) == g3 ]]; }
wait_for 20 on_g3 || fail "g3 holds red and blue (red: $(holder red), blue: $(holder blue))"
wait_for 5 kept red 2 g3 || fail "g3 took red without keeping its 2 learned routes"
refused() { grep -q "tenant blue: the routes its previous holder learned are not kept: learned routes, line 2: host bits set" "$T/g3.log"; }
wait_for 5 refused || fail "g3: no refusal of blue's bad text: $(grep blue "$T/g3.log" | tail -3)"
grep -q "tenant blue: [0-9]* routes* its previous holder learned kept" "$T/g3.log" && fail "g3 kept part of blue's bad text"
pass "g3 took both over: red's routes kept again (the text stays until a holder with BGP writes another), blue's text refused whole (line 2: host bits set)"

cli g3 gateway del --rdomain red --pool $POOL >/dev/null || fail "gateway del red"
[[ -z $(eget pool/$POOL/learned/red) ]] || fail "pool/$POOL/learned/red left after gateway del --pool"
pass "gateway del --pool deletes the tenant's learned routes"
