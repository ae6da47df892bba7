#!/bin/bash
# test_changes.sh: hnvgwd applies each change to its one running datapath
# and persists it as a delta (mgmt/daemon/core.c, apply.c; mgmt/store.h).
#   - a configuration above the store's whole-write limit (256 KiB) takes
#     changes as journal records; after SIGKILL the daemon restarts with
#     exactly the acknowledged ones, and after SIGTERM hnvgw.conf is
#     current;
#   - a line of hnvgw.conf written by hand (not in the canonical form) is
#     deleted through the CLI: the delta cannot name it, the daemon writes
#     the whole text instead, and a restart agrees;
#   - nexthop and refused changes leave the counters alone.
# Needs root (like test_daemon.sh). Run by `make integration-test`.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root"

STATE=$(state_of main)
mkdir -p "$STATE"
chmod 0700 "$STATE"
# 4000 records (about 400 KiB), plus one record in a hand-written form
{
	echo "rdomain add blue --rdid {11111111-2222-3333-4444-000000005001}"
	echo "vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/16"
	echo "pa add 192.168.4.11/24 --dev eth0"
	echo "port add blue1 --vsid 5001 --ca 10.0.0.5 --mac 06:06:00:00:00:05"
	for ((i = 0; i < 4000; i++)); do
		printf 'lookup add --vsid 5001 --ca 10.0.%d.%d --pa 192.168.4.22 --mac 02:00:00:00:%02x:%02x --rule encap --type static\n' \
			$((16 + i / 250)) $((1 + i % 250)) $((i / 256)) $((i % 256))
	done
	echo "lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 060600000007"
} >"$STATE/hnvgw.conf"
chmod 0600 "$STATE/hnvgw.conf"
(($(stat -c %s "$STATE/hnvgw.conf") > 262144)) || fail "the test config is not above 256 KiB"
start_daemon main
contains "$(cli show lookup)" "10.0.0.7" "the hand-written record"
pass "a 4000-record configuration with a hand-written line loaded"

# ---- the hand-written line goes: whole text instead of a delta ----
run_status 0 cli lookup del --vsid 5001 --ca 10.0.0.7 --mac 060600000007
lacks "$(cli show lookup)" "10.0.0.7" "show lookup after lookup del"
stop_daemon main
grep -q "10.0.0.7 " "$STATE/hnvgw.conf" && fail "hnvgw.conf still holds the deleted hand-written record"
start_daemon main
lacks "$(cli show lookup)" "10.0.0.7" "show lookup after a restart"
pass "a hand-written line deleted: the whole text was written, a restart agrees"

# ---- changes as journal records, then SIGKILL ----
for ((i = 0; i < 20; i++)); do
	run_status 0 cli lookup add --vsid 5001 --ca "10.0.200.$((i + 1))" --pa 192.168.4.33 \
		--mac "0a:00:00:00:c8:$(printf %02x $((i + 1)))"
done
for ((i = 0; i < 20; i += 2)); do
	run_status 0 cli lookup del --vsid 5001 --ca "10.0.200.$((i + 1))" \
		--mac "0a:00:00:00:c8:$(printf %02x $((i + 1)))"
done
run_status 0 cli lookup set --vsid 5001 --ca 10.0.200.2 --pa 192.168.4.44 --mac 0a:00:00:00:c8:02
run_status 0 cli port add blue2 --vsid 5001 --ca 10.0.0.6 --mac 06:06:00:00:00:06
run_status 0 cli port del blue1
[[ -e $STATE/hnvgw.journal ]] || fail "no journal: the changes were not written as deltas"
# sorted: a "lookup set" keeps the record's place in the running model,
# while the store's delta appends its new line (contract 3), so after a
# restart the record is listed last in its group; the same state
before=$(cli show config --show-secrets | sort)
kill9_daemon main
start_daemon main
after=$(cli show config --show-secrets | sort)
[[ $after == "$before" ]] ||
	fail "the configuration after SIGKILL differs: $(diff <(echo "$before") <(echo "$after") | head -20)"
contains "$(cli show lookup)" "192.168.4.44" "lookup set after SIGKILL"
pass "25 changes as journal records survive SIGKILL exactly"

# ---- rollback of many revisions, as operations ----
revs=$(cli --json show revisions | python3 -c 'import json,sys; print(" ".join(str(r["rev"]) for r in json.load(sys.stdin)))')
first=${revs%% *}
run_status 0 cli config rollback "$first"
lacks "$(cli show lookup)" "10.0.200." "show lookup after rollback"
contains "$(cli show ports)" "blue1" "show ports after rollback"
before=$(cli show config --show-secrets)
stop_daemon main
start_daemon main
[[ $(cli show config --show-secrets) == "$before" ]] || fail "the configuration after rollback and restart differs"
pass "rollback to revision $first applied as operations and persisted"

# ---- counters: the datapath is never replaced, probes are not traffic ----
run_status 0 cli nexthop --vsid 5001 --dst 10.0.16.1
contains "$OUT" "tx_encap" "nexthop"
run_status 0 cli --json show counters
python3 -c 'import json,sys; rows=json.load(sys.stdin); bad=[r for r in rows if r["value"]]; sys.exit(1 if bad else 0)' <<<"$OUT" ||
	fail "counters moved without traffic: $OUT"
refused cli lookup add --vsid 5001 --ca 10.0.16.1 --pa 192.168.4.22 --mac 02:00:00:00:00:00
pass "nexthop and a refused change leave the counters at 0"

stop_daemon main
pass "hnvgwd exits 0 on SIGTERM with no sanitizer report"
