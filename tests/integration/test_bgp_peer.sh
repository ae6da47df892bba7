#!/bin/bash
# test_bgp_peer.sh: BGP peers of a gateway (bgp-peer add/del) through
# hnvgwd and hnvgw. hnvgwd runs the gateway role (--uplink, in a network
# namespace of its own); on a kernel without VRF support each commit that
# names the gateway is stored and exits 4 (test_not_applied.sh), so a
# commit here counts when it exits 0 there or 4 here.
# Asserts: a peer without --prefix-in is accepted with a warning on stderr
# (and in --json "warnings") that it will learn nothing, a peer with one
# gets none; the refusals (gateway without --bgp-asn, the address of
# another peer, gateway del while a peer uses it) exit 1 and change
# nothing; show config has each peer in its canonical line and keeps it
# across an hnvgwd restart; show bgp-peers lists each peer with its
# filters (none: "learns nothing"); bgp-peer del removes it.
# Needs root (a network namespace). Run by `make integration-test`.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (a network namespace for the gateway role)"

NS=hnvgwit-bgp-$$
ip netns add "$NS" || fail "cannot create network namespace $NS"
CLEAN_NETNS=$NS
ip -n "$NS" link set lo up
ip -n "$NS" link add up0 type veth peer name up0p || fail "cannot create a veth pair in $NS"
ip -n "$NS" link set up0 up
VRF=0
if ip -n "$NS" link add vrfprobe type vrf table 4242 2>/dev/null; then
	VRF=1
	ip -n "$NS" link del vrfprobe
fi
DAEMON_WRAP=(ip netns exec "$NS")
start_daemon main --uplink up0 --datapath userspace --zebra none --vici none

# commit CMD...: a change that is stored: exit 0, or 4 without VRFs
commit()
{
	local rc=0
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	OUT=$(<"$T/out")
	ERR=$(<"$T/err")
	((rc == 0 || (rc == 4 && VRF == 0))) ||
		fail "'$*' exited $rc; stdout: $OUT; stderr: $ERR"
}

commit cli rdomain add blue --rdid "{11111111-2222-3333-4444-000000005001}"
commit cli rdomain add red --rdid "{11111111-2222-3333-4444-000000006001}"
commit cli vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24
commit cli gateway add --rdomain blue --vrf blue --table 100 --bgp-asn 65000
commit cli gateway add --rdomain red --vrf red --table 101

# ---- a peer with an in list: no warning ----
commit cli bgp-peer add corp --rdomain blue --addr 172.31.1.2 --asn 65001 \
	--prefix-in 172.16.0.0/16 --prefix-in 10.64.0.0/10,le=24 --source 172.31.1.1
lacks "$ERR" "warning" "a peer with --prefix-in"
pass "bgp-peer add with --prefix-in: stored, no warning"

# ---- a peer without one: stored, with a warning ----
commit cli bgp-peer add r2 --rdomain blue --addr 192.0.2.6 --asn 65002
contains "$ERR" 'hnvgw: warning: bgp-peer "r2" (rdomain "blue") has no --prefix-in: it will learn no route from its neighbor' \
	"a peer without --prefix-in"
commit cli --json bgp-peer add r3 --rdomain blue --addr 192.0.2.10 --asn 65003 --prefix-out 10.0.0.0/24
python3 -c 'import json,sys; r = json.loads(sys.argv[1]); assert any("\"r3\"" in w and "learn no route" in w for w in r["warnings"]), r' \
	"$OUT" || fail "--json of a peer without --prefix-in has no warning: $OUT"
pass "bgp-peer add without --prefix-in: stored, warned that it learns nothing (stderr and --json)"

# ---- refusals ----
refused cli bgp-peer add x --rdomain red --addr 10.9.9.9 --asn 65009
contains "$ERR" 'the gateway of routing domain "red" has no --bgp-asn' "peer of a gateway without --bgp-asn"
refused cli bgp-peer add x --rdomain blue --addr 192.0.2.6 --asn 65009
contains "$ERR" '192.0.2.6 is already peer "r2"' "the address of another peer"
refused cli gateway del --rdomain blue
contains "$ERR" 'bgp-peer "corp"' "gateway del while peers use it"
refused cli bgp-peer add y --rdomain blue --addr 10.9.9.9 --asn 65009 --prefix-in 2001:db8::/32
contains "$ERR" "not of the peer's address family" "an IPv6 filter for an IPv4 peer"
pass "refused: no --bgp-asn, an address taken, gateway del with peers, a filter of the other family"

# ---- show config, across a restart ----
CORP='bgp-peer add corp --rdomain blue --addr 172.31.1.2 --asn 65001 --source 172.31.1.1 --prefix-in 172.16.0.0/16 --prefix-in 10.64.0.0/10,le=24'
R2='bgp-peer add r2 --rdomain blue --addr 192.0.2.6 --asn 65002'
R3='bgp-peer add r3 --rdomain blue --addr 192.0.2.10 --asn 65003 --prefix-out 10.0.0.0/24'
GW='gateway add --rdomain blue --vrf blue --table 100 --bgp-asn 65000'
CONF=$(cli show config)
for l in "$CORP" "$R2" "$R3" "$GW"; do contains "$CONF" "$l" "show config"; done
stop_daemon main
start_daemon main --uplink up0 --datapath userspace --zebra none --vici none
CONF2=$(cli show config)
[[ $CONF == "$CONF2" ]] || fail "show config changed across a restart: $CONF / $CONF2"
pass "show config has every peer in its canonical line, the same after an hnvgwd restart"

# ---- show bgp-peers ----
ROWS=$(cli --json show bgp-peers)
python3 - "$ROWS" <<'PY' || fail "show bgp-peers: $ROWS"
import json, sys
rows = {r["peer"]: r for r in json.loads(sys.argv[1])}
assert set(rows) == {"corp", "r2", "r3"}, rows
assert rows["corp"]["in"] == "172.16.0.0/16 10.64.0.0/10,le=24", rows["corp"]
assert rows["corp"]["out"] == "own prefixes", rows["corp"]
assert rows["r2"]["in"].startswith("none (learns nothing"), rows["r2"]
assert rows["r3"]["out"] == "10.0.0.0/24", rows["r3"]
assert rows["r2"]["address"] == "192.0.2.6" and rows["r2"]["asn"] == 65002, rows["r2"]
for r in rows.values():
    assert r["rdomain"] == "blue" and r["state"], r
PY
TABLE=$(cli show bgp-peers)
contains "$TABLE" "learns nothing" "show bgp-peers (table)"
pass "show bgp-peers lists each peer with its filters and a state"

# ---- del ----
commit cli bgp-peer del r2
lacks "$(cli show config)" "$R2" "bgp-peer del"
commit cli bgp-peer del corp
commit cli bgp-peer del r3
commit cli gateway del --rdomain blue
pass "bgp-peer del removes the peer; the gateway goes once it has none"
stop_daemon main
echo "test_bgp_peer.sh: all passed"
