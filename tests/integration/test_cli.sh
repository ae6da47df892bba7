#!/bin/bash
# test_cli.sh: the hnvgw CLI's own safety, against a real hnvgwd and broken
# ones (issue 17):
#   finding 12: every command exits 3 when hnvgwd cannot be reached (no
#     socket, a socket that closes without a reply, a reply that is not the
#     protocol), 2 on a usage error, 1 when refused; --help and hnvgw(8)
#     say so;
#   finding 11: bytes that could drive a terminal in strings hnvgwd returns
#     (C1 controls in UTF-8, which the config lexer lets through in
#     --vm-name and --context) are printed as \xNN in tables, errors and
#     the PowerShell front end's Format-List; --json stays valid JSON with
#     \u escapes;
#   finding 9: s2s add/set take the PSK from --psk-file FILE or --psk -
#     (stdin), never needing it in argv; the CLI is not dumpable (its /proc
#     entries belong to root while a user runs it); the systemd unit sets
#     LimitCORE=0; hnvgw(8) and the README name --psk-file.
# Needs root (a test user, runuser). Run by `make integration-test`.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (creates a test user and group, uses runuser)"
setup_user

BLUE="{11111111-2222-3333-4444-000000005001}"
PSK="cli-psk-$RANDOM$RANDOM-correct-horse-battery"
PSK2="cli-psk2-$RANDOM$RANDOM-staple-Tr0ub4dor"

# raw_bytes FILE: fails when FILE holds ESC, DEL or a byte 0x80-0x9f (the
# strings here are ASCII apart from the C1 bytes put in on purpose).
raw_bytes()
{
	python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
bad = [b for b in d if b == 0x1b or 0x7f <= b <= 0x9f]
sys.exit(1 if bad else 0)' "$1"
}

# ---- finding 12: exit status 3 when hnvgwd cannot be reached ----
printf 'rdomain add blue --rdid %s\n' "$BLUE" >"$T/one.conf"
echo 'Get-NetVirtualizationLookupRecord' >"$T/one.ps1"
CMDS=("show lookup" "commit -f $T/one.conf" "commit confirm" "config diff 1 2"
	"config rollback 1" "nexthop --vsid 5001 --dst 10.0.0.7" "trace --count 1"
	"ps $T/one.ps1" "s2s show" "s2s up t1" "s2s down t1"
	"s2s set t1 --rdomain blue --peer 198.51.100.7 --psk-file $T/one.conf"
	"rdomain add green --rdid {11111111-2222-3333-4444-000000007001}")
for cmd in "${CMDS[@]}"; do
	# shellcheck disable=SC2086
	run_status 3 "$T/bin/hnvgw" --socket "$T/nonexistent.sock" $cmd
	contains "$ERR" "cannot connect" "hnvgw $cmd without hnvgwd"
done
"${CTL[@]}" fake "$T/mute.sock" mute &
MUTE=$!
"${CTL[@]}" fake "$T/garbage.sock" garbage &
GARBAGE=$!
for ((n = 0; n < 100; n++)); do [[ -S $T/mute.sock && -S $T/garbage.sock ]] && break; sleep 0.05; done
for cmd in "${CMDS[@]}"; do
	# shellcheck disable=SC2086
	run_status 3 timeout 30 "$T/bin/hnvgw" --socket "$T/mute.sock" $cmd
	contains "$ERR" "without a reply" "hnvgw $cmd, hnvgwd closing without a reply"
	# shellcheck disable=SC2086
	run_status 3 timeout 30 "$T/bin/hnvgw" --socket "$T/garbage.sock" $cmd
	contains "$ERR" "unintelligible" "hnvgw $cmd, a reply that is not the protocol"
done
kill "$MUTE" "$GARBAGE"
wait "$MUTE" "$GARBAGE" 2>/dev/null || true
run_status 2 "$T/bin/hnvgw" --socket "$T/$(printf 'x%.0s' {1..200})" show lookup
contains "$ERR" "too long" "an over-long socket path"
run_status 0 "$T/bin/hnvgw" --help
contains "$OUT" "3 hnvgwd cannot be reached" "--help names exit status 3"
grep -A2 '^\.B 3$' "$ROOT/mgmt/man/hnvgw.8" | grep -q "cannot be reached" ||
	fail "hnvgw(8) does not document exit status 3"
pass "finding 12: every command exits 3 without hnvgwd, with a mute or a garbled one; 2 for usage; documented"

# ---- a real daemon ----
start_daemon main
run_status 0 cli rdomain add blue --rdid "$BLUE"
run_status 0 cli vsubnet add 5001 --rdomain blue --prefix 10.0.0.0/24
run_status 1 cli rdomain add blue --rdid "$BLUE"
[[ -n $ERR ]] || fail "a refusal without a message"

# ---- finding 11: control bytes from hnvgwd are escaped ----
run_status 0 cli lookup add --vsid 5001 --ca 10.0.0.5 --pa 192.168.4.11 --mac 060600000005 \
	--vm-name $'Blue\xc2\x9b31mX' --context $'ctx\xc2\x9b2J\xc2\x85end'
cli show lookup >"$T/table" || fail "show lookup"
raw_bytes "$T/table" || fail "show lookup printed raw control bytes: $(od -c "$T/table" | head -20)"
contains "$(<"$T/table")" 'Blue\xc2\x9b31mX' "show lookup, VM name"
contains "$(<"$T/table")" 'ctx\xc2\x9b2J\xc2\x85end' "show lookup, context"
cli --json show lookup >"$T/json" || fail "show lookup --json"
raw_bytes "$T/json" || fail "--json printed raw control bytes"
python3 -c '
import json, sys
r = json.load(open(sys.argv[1], encoding="utf-8", errors="surrogateescape"))
assert r[0]["VMName"] == "Blue\u009b31mX", r' "$T/json" || fail "--json: not the VM name: $(<"$T/json")"
refused cli lookup add --vsid 5001 --ca 10.0.0.6 --pa 192.168.4.11 --mac 060600000006 \
	--rule $'en\xc2\x9b2Jcap'
printf '%s' "$ERR" >"$T/err"
raw_bytes "$T/err" || fail "an error message printed raw control bytes: $ERR"
contains "$ERR" 'en\xc2\x9b2Jcap' "the refused value, escaped"
cli ps - <<<'Get-NetVirtualizationLookupRecord -VirtualSubnetID 5001' >"$T/ps" || fail "ps Get"
raw_bytes "$T/ps" || fail "hnvgw ps printed raw control bytes"
contains "$(<"$T/ps")" 'Blue\xc2\x9b31mX' "ps Format-List, VM name"
pass "finding 11: C1 controls escaped in tables, errors and Format-List; --json still JSON"

# ---- finding 9: the PSK from a file or stdin; the CLI is not dumpable ----
run_status 0 cli gateway add --rdomain blue --vrf vrf-blue --table 100
S2S=(--rdomain blue --peer 198.51.100.7 --local-id gw.example.net
	--remote-id site1.example.net --remote-prefix 192.168.50.0/24)
printf '%s\n' "$PSK" >"$T/psk"
chmod 0600 "$T/psk"
run_status 0 cli s2s add t1 "${S2S[@]}" --psk-file "$T/psk"
contains "$(cli show config --show-secrets)" "$PSK" "s2s add --psk-file"
run_status 0 cli s2s set t1 "${S2S[@]}" --psk - <<<"$PSK2"
contains "$(cli show config --show-secrets)" "$PSK2" "s2s set --psk -"
lacks "$(cli show config --show-secrets)" "$PSK" "s2s set --psk - replaced the PSK"
run_status 1 cli s2s add t2 "${S2S[@]}" --psk-file "$T/nonexistent"
contains "$ERR" "nonexistent" "an unreadable --psk-file"
printf '%s\n%s\n' "$PSK" "$PSK2" >"$T/psk2"
run_status 1 cli s2s add t2 "${S2S[@]}" --psk-file "$T/psk2"
contains "$ERR" "one line" "a --psk-file of two lines"
lacks "$ERR" "$PSK" "the error about a --psk-file"
run_status 2 cli s2s add t2 "${S2S[@]}" --psk-file
# a user's CLI waiting for its PSK on stdin: its /proc entries are root's
mkfifo "$T/fifo"
chmod 0666 "$T/fifo"
runuser -u "$TUSER" -- "$T/bin/hnvgw" --socket "$(sock_of main)" s2s add t3 "${S2S[@]}" \
	--psk - <"$T/fifo" >"$T/user.out" 2>&1 &
UPID=$!
exec 3>"$T/fifo"
CPID=""
for ((n = 0; n < 100; n++)); do
	CPID=$(pgrep -f "^$T/bin/hnvgw .* t3 " || true)
	[[ -n $CPID ]] && break
	sleep 0.05
done
[[ -n $CPID ]] || fail "the user's hnvgw did not start"
lacks "$(tr '\0' ' ' <"/proc/$CPID/cmdline")" "$PSK" "the CLI's argv"
# (it becomes non-dumpable at its start: wait for it to get there)
for ((n = 0; n < 100; n++)); do
	[[ $(stat -c %U "/proc/$CPID/status") == root ]] && break
	sleep 0.05
done
[[ $(stat -c %U "/proc/$CPID/status") == root ]] ||
	fail "the CLI run by $TUSER is dumpable (/proc/$CPID/status belongs to $(stat -c %U "/proc/$CPID/status"))"
printf '%s\n' "$PSK" >&3
exec 3>&-
rc=0
wait "$UPID" || rc=$?
((rc == 1)) || fail "a group member's s2s add exited $rc: $(<"$T/user.out")"
contains "$(<"$T/user.out")" "permission" "a group member's s2s add"
grep -qx 'LimitCORE=0' "$ROOT/images/hnvgwd.service" || fail "hnvgwd.service lacks LimitCORE=0"
grep -q 'psk\\-file' "$ROOT/mgmt/man/hnvgw.8" || fail "hnvgw(8) does not name --psk-file"
grep -q -- '--psk-file' "$ROOT/README.md" || fail "README.md does not name --psk-file"
stop_daemon main
for f in "$T"/*.log; do
	if grep -qF -e "$PSK" -e "$PSK2" "$f"; then fail "a PSK appears in $f"; fi
done
pass "finding 9: --psk-file and --psk - (s2s add and set); the CLI is not dumpable; LimitCORE=0; documented"
echo "test_cli.sh: all passed"
