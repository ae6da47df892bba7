#!/bin/bash
# test_conn_not_applied.sh: GRE and L3 connections through the real daemon
# and CLI on a kernel without VRF and GRE (this machine; the image lab's
# connections scenario has them). hnvgwd runs the gateway role (--uplink,
# in a network namespace of its own). A connection whose gateway cannot be
# applied is committed and stored all the same; the reply names it
# ("not applied: gre NAME: ..."), hnvgw exits 4, `show connections` gives
# its state, `show gre` / `show l3` and `show config` its configuration; a
# clash refused at commit changes nothing (exit 1, the message names both).
# Needs root. Run by `make integration-test`.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (a network namespace for the gateway role)"

NS=hnvgwit-conn-$$
ip netns add "$NS" || fail "cannot create network namespace $NS"
CLEAN_NETNS=$NS
ip -n "$NS" link set lo up
ip -n "$NS" link add up0 type veth peer name up0p || fail "cannot create a veth pair in $NS"
ip -n "$NS" link add ext0 type veth peer name ext0p || fail "cannot create a veth pair in $NS"
ip -n "$NS" link set up0 up
if ip -n "$NS" link add vrfprobe type vrf table 4242 2>/dev/null; then
	ip -n "$NS" link del vrfprobe
	echo "# this kernel has VRFs: the image lab's connections scenario covers it"
	exit 0
fi

DAEMON_WRAP=(ip netns exec "$NS")
start_daemon main --uplink up0 --datapath userspace --zebra none --vici none

run_status 0 cli rdomain add blue --rdid "{11111111-2222-3333-4444-000000005001}"
run_status 4 cli gateway add --rdomain blue --vrf blue --table 100
GRE="gre add t1 --rdomain blue --local 198.51.100.1 --remote 198.51.100.2 --key 7 --addr 172.30.0.1/30 --remote-prefix 192.168.50.0/24 --rate-out 20000 --rate-in 20000"
# shellcheck disable=SC2086
run_status 4 cli $GRE
contains "$ERR" "but not applied: " "gre add, its gateway not applied"
contains "$ERR" "gre t1: the gateway of blue is not ready" "gre add, its gateway not applied"
contains "$(cli show config)" "$GRE" "the gre line is stored, canonical"
contains "$(cli show gre)" "198.51.100.2" "show gre"
contains "$(cli show connections)" "gr-t1" "show connections: the device"
contains "$(cli show connections)" "the gateway of blue is not ready" "show connections: the state"
contains "$(cli show connections)" "20000 kbit/s" "show connections: the rates"
contains "$(cli show gateway)" "gr-t1" "show gateway: the tenant's connections"
pass "gre add on a kernel without VRF: exit 4 naming the connection, stored, shown"

run_status 4 cli l3 add v1 --rdomain blue --dev ext0 --vlan 100 --addr 172.31.100.1/24 --nexthop 172.31.100.254
contains "$ERR" "l3 v1: the gateway of blue is not ready" "l3 add, its gateway not applied"
contains "$(cli show l3)" "ext0" "show l3"
pass "l3 add: exit 4 naming the connection, stored"

# refused at commit: nothing stored, exit 1
REV=$(cli show config | md5sum)
run_status 1 cli l3 add v2 --rdomain blue --dev ext0 --vlan 100 --addr 172.31.101.1/24 --nexthop 172.31.101.254
contains "$ERR" "connection \"v2\" uses VLAN 100 on ext0, which connection \"v1\" uses already" "VLAN clash"
run_status 1 cli gre add t2 --rdomain blue --local 198.51.100.1 --remote 198.51.100.2 --key 7 --addr 172.30.1.1/30
contains "$ERR" "and key 7 of tunnel \"t1\"" "GRE key clash"
run_status 1 cli gateway del --rdomain blue
contains "$ERR" "in use by" "gateway del while connections use it"
[[ $(cli show config | md5sum) == "$REV" ]] || fail "a refused commit changed the config"
pass "clashes and gateway del refused at commit, nothing stored"

run_status 4 cli gre del t1
lacks "$(cli show config)" "gre add t1" "gre del"
lacks "$(cli show connections)" "gr-t1" "gre del: show connections"
pass "gre del"

stop_daemon main
echo "test_conn_not_applied.sh: all passed"
