#!/bin/bash
# test_frr_pathspace.sh: hnvgwd --frr-pathspace NAME and --bgp-fragment PATH
# (a second gateway instance with its own FRR, as in the gateway-ha lab
# scenario). Asserts: a pathspace that is not 1-32 letters, digits, '_' or
# '-' and a fragment that is not an absolute file path stop hnvgwd with
# exit 2 and a message naming the option; the gateway role (--uplink, in a
# network namespace of its own) with --frr-pathspace creates
# /etc/frr/NAME, the directory of its BGP fragment, and runs; with
# --bgp-fragment too it leaves /etc/frr alone. vtysh -N NAME and the
# fragment's use by bgpd are exercised by the image lab (tests/lab/
# gateway-ha.sh: two instances, each with its own zebra and bgpd).
# Needs root (a network namespace, /etc/frr). Run by `make integration-test`.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (a network namespace, /etc/frr)"

# usage_err WANT ARGS...: hnvgwd ARGS exits 2 and says WANT on stderr.
usage_err()
{
	local want=$1 rc=0
	shift
	"$HNVGWD" --foreground --state-dir "$T/st-bad" --socket "$T/bad.sock" "$@" \
		>"$T/out" 2>"$T/err" || rc=$?
	((rc == 2)) || fail "hnvgwd $*: exit $rc, want 2 ($(<"$T/err"))"
	contains "$(<"$T/err")" "$want" "hnvgwd $*"
}
usage_err '--frr-pathspace "a/b": want 1-32 letters' --frr-pathspace a/b
usage_err '--frr-pathspace "..": want 1-32 letters' --frr-pathspace ..
usage_err '--frr-pathspace "": want 1-32 letters' --frr-pathspace ''
usage_err '--frr-pathspace "x23456789012345678901234567890123"' \
	--frr-pathspace x23456789012345678901234567890123
usage_err '--bgp-fragment "frag.conf": want the absolute path' --bgp-fragment frag.conf
usage_err '--bgp-fragment "/etc/frr/": want the absolute path' --bgp-fragment /etc/frr/
pass "bad --frr-pathspace and --bgp-fragment values: exit 2 naming the option"

[[ -d /etc/frr ]] || mkdir -p /etc/frr
NS=hnvgwit-frr-$$
PS=hnvit$$
ip netns add "$NS" || fail "cannot create network namespace $NS"
CLEAN_NETNS=$NS
trap 'cleanup; rm -rf "/etc/frr/$PS"' EXIT
ip -n "$NS" link set lo up
ip -n "$NS" link add up0 type veth peer name up0p || fail "cannot create a veth pair in $NS"
ip -n "$NS" link set up0 up
DAEMON_WRAP=(ip netns exec "$NS")

[[ ! -e /etc/frr/$PS ]] || fail "/etc/frr/$PS exists before the test"
start_daemon main --uplink up0 --datapath userspace --zebra none --vici none \
	--frr-pathspace "$PS"
[[ -d /etc/frr/$PS ]] || fail "hnvgwd --frr-pathspace $PS did not create /etc/frr/$PS"
[[ $(stat -c %a "/etc/frr/$PS") == 755 ]] || fail "/etc/frr/$PS mode $(stat -c %a "/etc/frr/$PS")"
cli show revisions >/dev/null || fail "hnvgwd --frr-pathspace $PS does not answer"
stop_daemon main
pass "gateway role with --frr-pathspace $PS: /etc/frr/$PS created, hnvgwd runs and stops cleanly"

# restart with the directory there: no error
start_daemon main --uplink up0 --datapath userspace --zebra none --vici none \
	--frr-pathspace "$PS"
stop_daemon main
rmdir "/etc/frr/$PS"
start_daemon main --uplink up0 --datapath userspace --zebra none --vici none \
	--frr-pathspace "$PS" --bgp-fragment "$T/frag.conf"
[[ ! -e /etc/frr/$PS ]] || fail "--bgp-fragment given: /etc/frr/$PS created anyway"
stop_daemon main
pass "restart with /etc/frr/$PS present; --bgp-fragment PATH: no pathspace directory made"
