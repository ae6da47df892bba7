#!/bin/bash
# test_not_applied.sh: a commit that cannot be applied does not report
# success (issue 17 finding 13). hnvgwd runs the gateway role (--uplink, in
# a network namespace of its own). A gateway it cannot create in the kernel
# (no VRF support in this kernel, or a corp device that does not exist) is
# committed and stored all the same, but the reply says what was not
# applied and why ("applied": false, "not_applied"), and hnvgw prints
# "committed revision N, but not applied: ..." and exits 4 -- for config
# lines, commit -f, s2s set and config rollback. A commit that applies, or
# that names no gateway in error (one that failed before stays out of its
# reply), exits 0. --help, hnvgw(8) and the README document status 4.
# Needs root (a network namespace). Run by `make integration-test`.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (a network namespace for the gateway role)"

BLUE="{11111111-2222-3333-4444-000000005001}"
RED="{11111111-2222-3333-4444-000000006001}"
GREEN="{11111111-2222-3333-4444-000000007001}"

NS=hnvgwit-na-$$
ip netns add "$NS" || fail "cannot create network namespace $NS"
CLEAN_NETNS=$NS
ip -n "$NS" link set lo up
ip -n "$NS" link add up0 type veth peer name up0p || fail "cannot create a veth pair in $NS"
ip -n "$NS" link set up0 up
ip -n "$NS" link set up0p up
# Does this kernel create VRFs? Without, every gateway fails at its VRF;
# with, only the one with a corp device that does not exist fails.
VRF=0
if ip -n "$NS" link add vrfprobe type vrf table 4242 2>/dev/null; then
	VRF=1
	ip -n "$NS" link del vrfprobe
fi
echo "# kernel VRF support: $VRF"

DAEMON_WRAP=(ip netns exec "$NS")
start_daemon main --uplink up0 --datapath userspace --zebra none --vici none

# the revision "show revisions" calls current
current_rev()
{
	cli --json show revisions |
		python3 -c 'import json,sys; print([r["rev"] for r in json.load(sys.stdin) if r["current"]][0])'
}

# ---- commits that apply: exit 0 ----
run_status 0 cli rdomain add blue --rdid "$BLUE"
run_status 0 cli rdomain add red --rdid "$RED"
# a change the gateway role reads, with nothing of it failing
run_status 0 cli vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24
[[ -z $ERR ]] || fail "a commit that applied printed on stderr: $ERR"
printf 'vsubnet add 6001 --rdomain red --prefix 10.1.0.0/24\n' >"$T/applies.conf"
run_status 0 cli commit -f "$T/applies.conf"
contains "$OUT" "committed revision" "commit -f that applies"
lacks "$OUT$ERR" "not applied" "commit -f that applies"
echo "vsubnet add 5002 --rdomain blue --prefix 10.0.2.0/24" >"$T/applies2.conf"
run_status 0 cli --json commit -f "$T/applies2.conf"
python3 -c 'import json,sys; r = json.loads(sys.argv[1]); assert r["applied"] is True and "not_applied" not in r, r' \
	"$OUT" || fail "--json of a commit that applied: $OUT"
GOOD=$(current_rev)
pass "commits that apply exit 0 (\"applied\": true)"

# ---- a gateway that cannot be applied: exit 4, stored, the error named ----
if ((VRF == 0)); then
	run_status 4 cli gateway add --rdomain blue --vrf blue --table 100
	contains "$ERR" "but not applied: gateway blue: cannot create VRF rd-blue" "gateway add, no VRF support"
	contains "$ERR" "no VRF support" "gateway add, no VRF support"
	contains "$ERR" "committed revision $(current_rev)," "gateway add names the stored revision"
	lacks "$OUT" "committed revision" "stdout of a commit not applied"
	contains "$(cli show config)" "gateway add --rdomain blue --vrf blue --table 100" "the gateway is stored"
	contains "$(cli show gateway)" "cannot create VRF rd-blue" "show gateway"
	pass "gateway add on a kernel without VRF support: exit 4 naming the VRF error; stored as revision $(current_rev)"
else
	run_status 0 cli gateway add --rdomain blue --vrf blue --table 100
	echo "# this kernel creates VRFs: gateway blue applies"
fi
run_status 4 cli gateway add --rdomain red --vrf red --table 101 --corp-dev nosuch0
contains "$ERR" "but not applied: gateway red: " "gateway add, a corp device that does not exist"
((VRF == 0)) || contains "$ERR" "nosuch0" "gateway add, a corp device that does not exist"
lacks "$ERR" "gateway blue" "the reply names only the objects of the commit"
contains "$(cli show config)" "gateway add --rdomain red --vrf red --table 101 --corp-dev nosuch0" \
	"the gateway with a missing corp device is stored"
RED_REV=$(current_rev)
pass "gateway add with a missing corp device: exit 4, stored"

# ---- what the commit named, and only that ----
run_status 0 cli rdomain add green --rdid "$GREEN"
lacks "$ERR" "not applied" "a commit naming no failed gateway (red is still in error)"
# a gateway CA, by commit -f and --json: the gateway of its routing domain
printf 'gateway ca --rdomain red --vsid 6001 --ca 10.1.0.5\n' >"$T/ca.conf"
run_status 4 cli --json commit -f "$T/ca.conf"
python3 -c '
import json, sys
r = json.loads(sys.argv[1])
assert r["applied"] is False, r
objs = [x["object"] for x in r["not_applied"]]
assert objs == ["gateway red"], objs
assert r["not_applied"][0]["error"], r' "$OUT" || fail "--json of a commit not applied: $OUT"
contains "$ERR" "committed revision" "commit -f --json not applied"
CA_REV=$(current_rev)
# a VSID's prefixes: the gateways with a CA in it (a rollback that changes
# only the vsubnet)
printf '%s\n' 'gateway ca-del --rdomain red --vsid 6001 --ca 10.1.0.5' 'vsubnet del 6001' \
	'vsubnet add 6001 --rdomain red --prefix 10.1.0.0/23' \
	'gateway ca --rdomain red --vsid 6001 --ca 10.1.0.5' >"$T/vs.conf"
run_status 4 cli commit -f "$T/vs.conf"
contains "$ERR" "not applied: gateway red" "commit of a gateway CA with its vsubnet"
run_status 4 cli config rollback "$CA_REV"
contains "$ERR" "not applied: gateway red" "a rollback of the vsubnet of a gateway CA"
[[ $(cli show config) == *"vsubnet add 6001 --rdomain red --prefix 10.1.0.0/24"* ]] ||
	fail "the rollback did not restore the vsubnet: $(cli show config)"
# a tunnel of a gateway not applied: it has no XFRM interface either
printf 'tunnel-psk-%s-correct-horse-battery\n' "$RANDOM" >"$T/psk"
chmod 0600 "$T/psk"
run_status 4 cli s2s add t1 --rdomain red --peer 198.51.100.7 --local-id gw.example.net \
	--remote-id site1.example.net --remote-prefix 192.168.50.0/24 --psk-file "$T/psk"
contains "$ERR" "s2s t1: the gateway of red is not ready" "s2s add, its gateway not applied"
run_status 4 cli s2s set t1 --rdomain red --peer 198.51.100.8 --local-id gw.example.net \
	--remote-id site1.example.net --remote-prefix 192.168.50.0/24 --psk-file "$T/psk"
contains "$ERR" "s2s t1" "s2s set, its gateway not applied"
pass "the reply names the gateways and tunnels of the commit that are not applied, and only those"

# ---- issue 17 finding 4: the uplink is never a tenant's corp network ----
run_status 4 cli gateway add --rdomain green --vrf green --table 102 --corp-dev up0
contains "$ERR" "gateway green: corp device up0 is the provider uplink" "gateway add on the uplink"
ip -n "$NS" -o link show up0 | grep -q master && fail "up0 was enslaved to a VRF"
pass "a corp device that is the uplink is not applied (exit 4), the uplink stays as it is"

# ---- config rollback is a commit too ----
run_status 0 cli config rollback "$GOOD"
contains "$OUT" "restored as revision" "rollback to a revision that applies"
run_status 4 cli config rollback "$RED_REV"
contains "$ERR" "revision $RED_REV restored as revision" "rollback not applied"
contains "$ERR" "gateway red: " "rollback not applied"
pass "config rollback: exit 0 when it applies, 4 when not"

# ---- documented ----
run_status 0 cli --help
contains "$OUT" "4 committed" "--help names exit status 4"
grep -A2 '^\.B 4$' "$ROOT/mgmt/man/hnvgw.8" | grep -q "not applied" ||
	fail "hnvgw(8) does not document exit status 4"
grep -q "4 committed but not applied" "$ROOT/README.md" || fail "README.md does not document exit status 4"
pass "exit status 4 in --help, hnvgw(8) and the README"

stop_daemon main
echo "test_not_applied.sh: all passed"
