#!/bin/bash
# test_refused_stored.sh: a stored configuration with settings older hnvgw
# accepted and this one refuses (a lookup record with --rule nat,
# --use-external-router on; docs/netwnv-settings.md). hnvgwd starts, applies
# everything else (the other records, the gateway MAC of the same global
# line), keeps the refused objects stored, reports them (log, show status
# config_warning), and a later change deletes or corrects them; the same
# after a restart from the stored revision.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

STATE=$(state_of)
mkdir -p "$STATE"
cat >"$STATE/hnvgw.conf" <<'CONF'
rdomain add blue --rdid {11111111-2222-3333-4444-000000005001}
vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24
lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 060600000007
lookup add --vsid 5001 --ca 10.0.0.9 --pa 192.168.4.22 --mac 060600000009
lookup add --vsid 5001 --ca 10.0.0.8 --pa 192.168.4.22 --mac 060600000008 --rule nat
global set --use-external-router on --gateway-mac 02aabbccddee
CONF
chmod 0600 "$STATE/hnvgw.conf"

check_started()
{
	local what=$1 st
	st=$(cli show status)
	contains "$st" "2 settings of the stored configuration not applied" "$what: show status"
	contains "$st" "rule nat (TranslationMethodNat, IP rewrite) is not supported" "$what: show status"
	grep -q "not applied: global set: --use-external-router on" "$(log_of)" ||
		fail "$what: the refused external router is not in the log"
	# nothing lost: both refused objects are still in the configuration
	run_status 0 cli show config
	contains "$OUT" "--ca 10.0.0.8 --pa 192.168.4.22 --mac 06:06:00:00:00:08 --rule nat" "$what"
	contains "$OUT" "--use-external-router on" "$what"
	# the rest is applied: 10.0.0.7 is bridged by its record, 10.0.0.8 has none
	run_status 0 cli nexthop --vsid 5001 --src 10.0.0.9 --dst 10.0.0.7
	contains "$OUT" "bridged by destination CA" "$what: 10.0.0.7's record"
	run_status 0 cli nexthop --vsid 5001 --src 10.0.0.9 --dst 10.0.0.8
	lacks "$OUT" "bridged by destination CA" "$what: the nat record"
	run_status 0 cli show global
	contains "$OUT" "02:aa:bb:cc:dd:ee" "$what: the gateway MAC of the refused line"
}

start_daemon
check_started "first start"
pass "hnvgwd starts with refused settings stored, applies the rest, reports them"

# a restart from the stored (now unedited) revision does the same
stop_daemon
: >"$(log_of)"
start_daemon
check_started "restart"
pass "the same after a restart from the stored revision"

# the refused record can be corrected (then applied) or deleted; the
# external router turned off
run_status 0 cli lookup set --vsid 5001 --ca 10.0.0.8 --pa 192.168.4.22 --mac 060600000008 --rule encap
run_status 0 cli nexthop --vsid 5001 --src 10.0.0.9 --dst 10.0.0.8
contains "$OUT" "bridged by destination CA" "the corrected record"
run_status 0 cli lookup del --vsid 5001 --ca 10.0.0.8 --mac 060600000008
run_status 0 cli global set --use-external-router off --gateway-mac 02aabbccddee
stop_daemon
: >"$(log_of)"
start_daemon
run_status 0 cli show status
lacks "$OUT" "not applied" "after the fix"
grep -q "not applied" "$(log_of)" && fail "the log still reports settings not applied"
stop_daemon
pass "corrected, deleted and turned off: hnvgwd starts clean"
