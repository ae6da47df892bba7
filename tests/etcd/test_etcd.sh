#!/bin/bash
# test_etcd.sh: three hnvgwd hosts share policy through a 3-member etcd
# cluster (mgmt/daemon/sync.h). Control plane only: the hosts run without
# --uplink in the root namespace; what each applies is read back with
# show and compared with what etcd holds.
#
#   1. policy propagation: three routing domains; each host ends up with
#      exactly the records of the domains it has ports in
#   2. pool allocation: 30 ports added concurrently from the 3 hosts,
#      without --ca: every address distinct, all from the pools
#   3. migration: port move converges on every host in under 1 s
#   4. one member stopped: changes still go through, nothing else changes
#   5. one host cut off (its only member stopped) while others change the
#      policy, with and without compaction: it resynchronises exactly
#   6. all members stopped: hosts keep their state; restarted: they
#      resynchronise with no lost or duplicated records
#   7. a local config rollback is overridden by the shared policy
#   8. values edited by hand in etcd: a changed vsubnet; a line of the
#      wrong kind or routing domain (refused, counted, logged once, never
#      applied; the domain's other changes go on)
set -u
source "$(dirname "$0")/lib.sh"

for n in 1 2 3; do etcd_start "$n"; done
etcd_wait_healthy
pass "3-member etcd cluster on ports $BASEPORT-$((BASEPORT + 5))"

# h3 talks to member 3 only (for the cut-off test), h1 and h2 to all.
host_start h1
host_start h2
host_start h3 "$(client_url 3)"
for i in 1 2 3; do
	cli h$i pa add 192.0.2.1$i/24 --dev eth0 >/dev/null || fail "pa add on h$i"
done
wait_for 5 bash -c "etcdctl --endpoints $ALL_URLS get --prefix ${PREFIX}hosts/ --keys-only | grep -c pa | grep -qx 3" ||
	fail "hosts did not publish their PAs"
pass "hosts h1 h2 h3 up, PAs published"

# ---- 1. shared objects, created on h1 (which has no port yet)
cli h1 commit -f - >/dev/null <<'CONF' || fail "shared policy on h1"
rdomain add red --rdid {11111111-0000-0000-0000-000000000001}
vsubnet add 5001 --rdomain red --prefix 10.1.0.0/16
pool add redpool --vsid 5001 --range 10.1.1.100-10.1.1.130
rdomain add blue --rdid {11111111-0000-0000-0000-000000000002}
vsubnet add 6001 --rdomain blue --prefix 10.1.0.0/16
pool add bluepool --vsid 6001 --range 10.1.1.100-10.1.1.130
rdomain add green --rdid {11111111-0000-0000-0000-000000000003}
vsubnet add 7001 --rdomain green --prefix 10.3.0.0/16
pool add greenpool --vsid 7001 --range 10.3.1.100-10.3.1.130
route add --rdomain green --vsid 7001 --prefix 10.30.0.0/16 --nexthop 10.3.1.100
CONF
[[ $(count_rows h1 rdomains) == 0 ]] || fail "h1 applied routing domains it has no port in"
cli h2 rdomain add red --rdid {11111111-0000-0000-0000-000000000009} >/dev/null 2>&1 &&
	fail "a second rdomain red was accepted"
cli h2 vsubnet add 5001 --rdomain blue --prefix 10.9.0.0/16 >/dev/null 2>&1 &&
	fail "VSID 5001 accepted twice"
pass "shared objects in etcd, duplicates refused across hosts"

# ---- 2. 30 ports, concurrently from the 3 hosts, addresses from pools
# h1: 5 red + 5 blue, h2: 5 blue + 5 green, h3: 10 red
add_ports()
{
	local h=$1 vsid=$2 from=$3 to=$4 i
	for ((i = from; i <= to; i++)); do
		cli "$h" port add "vm$i" --vsid "$vsid" >/dev/null || echo "port add vm$i on $h failed" >>"$T/errors"
	done
}
add_ports h1 5001 1 5 &
p1=$!
add_ports h1 6001 6 10 &
p2=$!
add_ports h2 6001 11 15 &
p3=$!
add_ports h2 7001 16 20 &
p4=$!
add_ports h3 5001 21 30 &
p5=$!
wait $p1 $p2 $p3 $p4 $p5
[[ -s $T/errors ]] && fail "$(cat "$T/errors")"
allocs=$(ectl get --prefix "${PREFIX}rd/" --keys-only | grep /alloc/ | sort)
[[ $(wc -l <<<"$allocs") == 30 ]] || fail "want 30 address reservations, got: $allocs"
[[ $(sort -u <<<"$allocs" | wc -l) == 30 ]] || fail "duplicate reservations"
# per VSID, 15 red, 10 blue, 5 green, each the lowest addresses of the pool
for spec in "red 5001 15 10.1.1" "blue 6001 10 10.1.1" "green 7001 5 10.3.1"; do
	read -r rd vsid cnt net <<<"$spec"
	got=$(grep -c "rd/$rd/alloc/$vsid/" <<<"$allocs")
	[[ $got == "$cnt" ]] || fail "$rd: $got reservations, want $cnt"
	want=$(for ((a = 100; a < 100 + cnt; a++)); do echo "${PREFIX}rd/$rd/alloc/$vsid/$net.$a"; done | sort)
	[[ $(grep "rd/$rd/alloc/" <<<"$allocs") == "$want" ]] || fail "$rd: addresses not the pool's first $cnt"
done
pass "30 ports added concurrently from 3 hosts: 30 distinct pool addresses (red and blue both from 10.1.1.100)"

expect_host()
{
	# HOST RDOMAINS RECORDS PORTS
	[[ $(cli "$1" --json show rdomains | python3 -c 'import json,sys; print(" ".join(sorted(r["name"] for r in json.load(sys.stdin))))') == "$2" ]] &&
		[[ $(count_rows "$1" lookup) == "$3" ]] && [[ $(count_rows "$1" ports) == "$4" ]]
}
check_all()
{
	expect_host h1 "blue red" 25 10 && expect_host h2 "blue green" 15 10 && expect_host h3 "red" 15 10
}
wait_for 10 check_all || {
	for h in h1 h2 h3; do echo "$h: $(cli $h --json show rdomains | tr -d '\n' | head -c 300) records $(count_rows $h lookup) ports $(count_rows $h ports)"; done
	fail "hosts do not hold exactly the policy of their routing domains"
}
# a host's records are exactly etcd's records of its routing domains
etcd_lookups()
{
	local rd
	for rd in "$@"; do
		ectl get --prefix "${PREFIX}rd/$rd/lookup/" --print-value-only
	done | sed -n 's/.*--vsid \([0-9]*\) --ca \([^ ]*\) --pa \([^ ]*\) .*/\1 \2 \3/p' | sort
}
[[ $(lookups h1) == "$(etcd_lookups red blue)" ]] || fail "h1 records differ from etcd's"
[[ $(lookups h2) == "$(etcd_lookups blue green)" ]] || fail "h2 records differ from etcd's"
[[ $(lookups h3) == "$(etcd_lookups red)" ]] || fail "h3 records differ from etcd's"
[[ $(count_rows h2 routes) == 1 && $(count_rows h1 routes) == 0 ]] || fail "green's route not only on h2"
pass "policy propagation: h1 {red,blue} 25 records, h2 {blue,green} 15, h3 {red} 15, as in etcd"

# removing the last port of a domain drops it; adding one pulls it back
cli h2 port del vm16 >/dev/null && cli h2 port del vm17 >/dev/null && cli h2 port del vm18 >/dev/null &&
	cli h2 port del vm19 >/dev/null && cli h2 port del vm20 >/dev/null || fail "port del on h2"
wait_for 5 expect_host h2 "blue" 10 5 || fail "h2 kept green after its last port left"
cli h2 port add vm16 --vsid 7001 >/dev/null || fail "port add vm16 again"
wait_for 5 expect_host h2 "blue green" 11 6 || fail "h2 did not pull green back"
[[ $(count_rows h2 routes) == 1 ]] || fail "green's route not pulled back"
pass "last port removed drops the routing domain, a new port pulls it back with its route"

# a gateway attachment pulls a routing domain like a port does (a gateway
# VM has no VM ports): h3 (red only) attaches to green, then detaches
green_recs=$(etcd_lookups green | wc -l)
cli h3 gateway add --rdomain green --vrf green --table 201 >/dev/null || fail "gateway add on h3"
ectl get "${PREFIX}rd/green/gw/h3" --print-value-only | grep -q -- '--vrf green --table 201' ||
	fail "no gateway record rd/green/gw/h3 in etcd"
wait_for 5 expect_host h3 "green red" $((15 + green_recs)) 10 || fail "h3 did not pull green for its gateway attachment"
[[ $(count_rows h3 routes) == 1 ]] || fail "h3 lacks green's route"
cli h3 show config | grep -q -- 'gateway add --rdomain green' || fail "h3's config lacks its gateway line"
expect_host h1 "blue red" 25 10 || fail "h1 changed with h3's gateway attachment"
cli h3 gateway del --rdomain green >/dev/null || fail "gateway del on h3"
wait_for 5 expect_host h3 "red" 15 10 || fail "h3 kept green after its gateway attachment left"
pass "a gateway attachment on h3 pulled green ($green_recs records, its route) and its removal dropped it"

# ---- 3. migration: vm1 (red, h1) to h2, which has no red yet
ca=$(ectl get "${PREFIX}rd/red/port/h1/vm1" --print-value-only | sed -n 's/.*--ca \([^ ]*\).*/\1/p')
[[ -n $ca ]] || fail "no CA for vm1"
# one observer per host, each noting when its host shows the record with
# h2's PA (one CLI round trip per look)
observe()
{
	local h=$1 i
	for ((i = 0; i < 1000; i++)); do
		if cli "$h" show lookup | grep -w -F "$ca" | grep -q -w -F 192.0.2.12; then
			now_ms >"$T/moved-$h"
			return
		fi
	done
}
t0=$(now_ms)
obs=()
for h in h1 h2 h3; do
	observe $h &
	obs+=($!)
done
cli h1 port move vm1 --to h2 >/dev/null || fail "port move"
wait "${obs[@]}"
for h in h1 h2 h3; do [[ -s $T/moved-$h ]] || fail "$h did not see vm1 move"; done
t1=$(cat "$T"/moved-h* | sort -n | tail -n 1)
cli h2 --json show ports | grep -q '"vm1"' || fail "vm1 not on h2"
cli h1 --json show ports | grep -q '"vm1"' && fail "vm1 still on h1"
for h in h1 h2 h3; do echo "  $h saw the move after $(($(cat "$T/moved-$h") - t0)) ms"; done
echo "migration converged on 3 hosts in $((t1 - t0)) ms"
((t1 - t0 < 1000)) || fail "migration took $((t1 - t0)) ms, over 1 s"
[[ $(ectl get --prefix "${PREFIX}rd/red/lookup/5001/$ca" --write-out=json | python3 -c 'import json,sys; print(json.load(sys.stdin)["kvs"][0]["version"])') == 2 ]] ||
	fail "the record of vm1 was not written exactly once by the move"
wait_for 5 expect_host h2 "blue green red" 26 7 || fail "h2 did not pull red with vm1"
pass "port move: recreated on h2, record PA updated once, converged in $((t1 - t0)) ms"

snapshot_all() { for h in h1 h2 h3; do echo "== $h"; lookups $h; cli $h --json show ports | python3 -c 'import json,sys; print(sorted(r["name"] for r in json.load(sys.stdin)))'; done; }

# ---- 4. one member stopped
before=$(snapshot_all)
etcd_stop 1
sleep 0.5
[[ $(snapshot_all) == "$before" ]] || fail "stopping member 1 changed the hosts' state"
cli h1 port add vm31 --vsid 6001 >/dev/null || fail "port add with member 1 stopped"
has31() { cli h2 --json show lookup | grep -q vm31; }
wait_for 5 has31 ||
	fail "vm31 did not reach h2 with member 1 stopped"
cli h1 port del vm31 >/dev/null || fail "port del vm31"
gone31() { ! cli h2 --json show lookup | grep -q vm31; }
wait_for 5 gone31 || fail "vm31 stayed on h2"
[[ $(snapshot_all) == "$before" ]] || fail "state differs after add and del with member 1 stopped"
etcd_start 1
etcd_wait_healthy
pass "member 1 stopped: nothing changed, writes and watches went on through the others"

# ---- 5. h3 cut off (member 3 is its only URL) while h1 changes red
h3_before=$(lookups h3)
etcd_stop 3
cli h1 port add vm32 --vsid 5001 >/dev/null || fail "port add vm32"
cli h1 port del vm2 >/dev/null || fail "port del vm2"
sleep 0.3
[[ $(lookups h3) == "$h3_before" ]] || fail "h3 changed while cut off"
etcd_start 3
sync_h3() { [[ $(lookups h3) == "$(etcd_lookups red)" ]]; }
wait_for 15 sync_h3 || fail "h3 did not resynchronise: $(diff <(lookups h3) <(etcd_lookups red))"
grep -q "resynchronising from revision" "$T/h3.log" || fail "h3 did not resume from its revision"
pass "h3 cut off kept its state, then resynchronised from its last revision (vm32 in, vm2 out)"

# same with the history compacted meanwhile: a full read
etcd_stop 3
cli h1 port add vm2 --vsid 5001 >/dev/null || fail "port add vm2"
cli h1 port del vm32 >/dev/null || fail "port del vm32"
rev=$(ectl endpoint status --write-out=json 2>/dev/null | python3 -c 'import json,sys; print(max(e["Status"]["header"]["revision"] for e in json.load(sys.stdin)))')
ectl compact "$rev" >/dev/null || fail "compact"
etcd_start 3
wait_for 15 sync_h3 || fail "h3 did not resynchronise after compaction"
grep -q "compacted" "$T/h3.log" || fail "h3 did not notice the compaction"
pass "after compaction h3 read the whole prefix again and matches etcd"

# ---- 6. all members stopped, then restarted
before=$(snapshot_all)
port_ca() { ectl get "${PREFIX}rd/red/port/$1/$2" --print-value-only | sed -n 's/.*--ca \([^ ]*\).*/\1/p'; }
src=$(port_ca h3 vm21)
dst=$(port_ca h1 vm3)
hop() { cli h3 --json nexthop --vsid 5001 --src "$src" --dst "$dst"; }
hop_before=$(hop)
grep -q '"forward"' <<<"$hop_before" && grep -q '192.0.2.11' <<<"$hop_before" ||
	fail "h3 does not forward vm21 -> vm3 to h1: $hop_before"
for n in 1 2 3; do etcd_stop "$n"; done
sleep 0.5
[[ $(snapshot_all) == "$before" ]] || fail "hosts lost state when etcd stopped"
[[ $(hop) == "$hop_before" ]] || fail "h3's datapath changed its decision with etcd down"
out=$(cli h1 port add vm40 --vsid 5001 2>&1) && fail "port add with etcd down succeeded"
grep -q "etcd" <<<"$out" || fail "refusal does not mention etcd: $out"
[[ $(snapshot_all) == "$before" ]] || fail "a refused change altered the state"
pass "all members stopped: state and datapath decisions kept (vm21 -> vm3 still encapsulated to h1), changes refused ($out)"
for n in 1 2 3; do etcd_start "$n"; done
etcd_wait_healthy
cli h2 port add vm41 --vsid 5001 >/dev/null || fail "port add after restart"
synced_all()
{
	[[ $(lookups h1) == "$(etcd_lookups red blue)" ]] && [[ $(lookups h2) == "$(etcd_lookups red blue green)" ]] &&
		[[ $(lookups h3) == "$(etcd_lookups red)" ]]
}
wait_for 15 synced_all || fail "hosts did not resynchronise after the restart"
for h in h1 h2 h3; do
	[[ $(lookups $h | sort | uniq -d) == "" ]] || fail "$h holds duplicate records"
done
pass "etcd restarted: every host matches etcd again, no record lost or duplicated"

# a local rollback on h3 to its oldest kept revision: the shared objects
# come back from the mirror
old=$(cli h3 --json show revisions | python3 -c 'import json,sys; print(min(r["rev"] for r in json.load(sys.stdin)))')
cli h3 config rollback "$old" >/dev/null || fail "rollback on h3"
wait_for 10 synced_all || fail "h3 stayed rolled back: $(diff <(lookups h3) <(etcd_lookups red) | head -5)"
pass "config rollback on h3 to revision $old: the shared policy was put back from etcd"

# ---- 8. values edited by hand in etcd
# a vsubnet's line changed: every host of red replaces it and adds again
# what depends on it, with the same ports and records
before=$(snapshot_all)
ectl put "${PREFIX}rd/red/vsubnet/5001" \
	"vsubnet add 5001 --rdomain red --prefix 10.1.0.0/16 --prefix 10.9.0.0/16" >/dev/null ||
	fail "etcdctl put of a vsubnet"
widened() { local h; for h in h1 h2 h3; do cli $h show config | grep -q -- '--prefix 10.1.0.0/16 --prefix 10.9.0.0/16' || return 1; done; }
wait_for 10 widened || fail "a vsubnet changed in etcd did not reach every host of red"
[[ $(snapshot_all) == "$before" ]] || fail "ports or records changed with their vsubnet"
synced_all || fail "hosts differ from etcd after the vsubnet changed"
# a value that is not its key's own line (another kind, another routing
# domain) is refused, logged once per key and revision, counted, and never
# applied, while the other changes of the domain go on (issue 17 finding 1)
key="${PREFIX}rd/red/route/10.40.0.0/16@10.1.1.100"
key2="${PREFIX}rd/red/route/10.42.0.0/16@10.1.1.100"
ectl put "$key" "pa add 192.0.2.99/24 --dev eth0" >/dev/null || fail "etcdctl put of a bad value"
ectl put "$key2" "route add --rdomain blue --vsid 6001 --prefix 10.42.0.0/16 --nexthop 10.1.1.100" >/dev/null ||
	fail "etcdctl put of a route of blue under red"
refused() { grep -q "etcd value refused, not applied: key $key (etcd revision [0-9]*): not a \"route\" line" "$T/h3.log"; }
wait_for 5 refused || fail "h3 did not refuse a pa line under a route key"
refused2() { grep -q "etcd value refused, not applied: key $key2 (etcd revision [0-9]*): a line of routing domain \"blue\" under routing domain \"red\"" "$T/h1.log"; }
wait_for 5 refused2 || fail "h1 did not refuse a route of blue under red"
ectl put "${PREFIX}rd/red/route/10.41.0.0/16@10.1.1.100" \
	"route add --rdomain red --vsid 5001 --prefix 10.41.0.0/16 --nexthop 10.1.1.100" >/dev/null ||
	fail "etcdctl put of a good route"
routed41() { cli h3 show config | grep -q -- '--prefix 10.41.0.0/16'; }
wait_for 5 routed41 || fail "a good change of red did not reach h3 beside a refused value"
cli h3 show pa | grep -q 192.0.2.99 && fail "a pa line from etcd was applied"
cli h1 show config | grep -q -- '--prefix 10.42.0.0/16' && fail "a route of blue from a red key was applied"
cli h3 port add vm42 --vsid 5001 >/dev/null || fail "a write to red beside a refused value"
[[ $(grep -c "refused, not applied: key $key " "$T/h3.log") == 1 ]] || fail "the refusal was not logged exactly once"
nref=$(cli h3 --json show etcd | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["refused_values"])')
((nref >= 1)) || fail "show etcd counts no refused value on h3"
# h3's own PA line under a red key: refused, and h3 says its running
# configuration holds the same local line (an older hnvgwd installed such
# values as local configuration); its PA stays
key3="${PREFIX}rd/red/route/10.43.0.0/16@10.1.1.100"
ectl put "$key3" "pa add 192.0.2.13/24 --dev eth0" >/dev/null || fail "etcdctl put of h3's pa line"
same() { grep -q "etcd key $key3: the running configuration holds the same local line" "$T/h3.log"; }
wait_for 5 same || fail "h3 did not point out a local line equal to a refused value"
cli h3 show pa | grep -q 192.0.2.13 || fail "h3 lost its own PA"
ectl del "$key3" >/dev/null || fail "etcdctl del"
ectl put "$key" "route add --rdomain red --vsid 5001 --prefix 10.40.0.0/16 --nexthop 10.1.1.100" >/dev/null ||
	fail "etcdctl put of the fixed value"
routed() { cli h3 show config | grep -q -- '--prefix 10.40.0.0/16'; }
wait_for 5 routed || fail "the fixed route did not reach h3"
ectl del "$key2" >/dev/null || fail "etcdctl del"
pass "values edited in etcd: a changed vsubnet replaced with its dependents on every host; a pa line under a route key and a route of blue under red refused ($nref counted on h3, logged once), never applied, other changes going on; fixed, applied"

for h in h1 h2 h3; do host_stop $h; done
grep -h "ERROR\|runtime error" "$T"/h*.log && fail "sanitizer reports"
echo "PASS test_etcd.sh"
