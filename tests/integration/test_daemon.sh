#!/bin/bash
# test_daemon.sh: hnvgwd in a temporary state directory, driven through the
# hnvgw CLI (and raw socket clients for what the CLI cannot send):
#   start-up and sd_notify; the Blue/Red demo via commit -f and every show;
#   nexthop; invalid input of every kind is refused with exit 1 and changes
#   nothing; S2S PSKs never leak; a non-root member of group hnvgw can show
#   but not change, others are refused; commit --confirm with and without
#   confirmation, also across a restart; diff and rollback; SIGHUP reload;
#   a bad stored file never stops the start (the last good revision runs);
#   a second daemon is refused; slow and
#   abusive clients do not block others; SIGKILL during 1000 changes loses
#   no acknowledged change; show config replays to the same state; the
#   NetWNV PowerShell front end.
# Needs root (users, groups, runuser). Run by `make integration-test`.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (creates a test user and group, uses runuser)"
setup_user

BLUE="{11111111-2222-3333-4444-000000005001}"
PSK="it-psk-$RANDOM$RANDOM-Tr0ub4dor-3-horse-staple"
SOCK=$(sock_of main)
STATE=$(state_of main)
LOG=$(log_of main)

# ---- start-up: READY=1 over an abstract $NOTIFY_SOCKET ----
NOTIFY=hnvgw-it-$$
"${CTL[@]}" notify "$NOTIFY" 15 >"$T/notify" &
NPID=$!
for ((n = 0; n < 100; n++)); do [[ -s $T/notify ]] && break; sleep 0.05; done
NOTIFY_SOCKET=@$NOTIFY start_daemon main
wait "$NPID" || fail "no sd_notify datagram: $(<"$T/notify")"
contains "$(<"$T/notify")" "READY=1" "sd_notify"
[[ $(stat -c %a "$SOCK") == 660 ]] || fail "socket mode $(stat -c %a "$SOCK"), want 660"
[[ $(stat -c %G "$SOCK") == hnvgw ]] || fail "socket group $(stat -c %G "$SOCK"), want hnvgw"
pass "start-up: READY=1 sent, socket 0660 root:hnvgw"

# ---- usage errors: exit 2 ----
run_status 2 "$T/bin/hnvgw" --socket "$SOCK"
run_status 2 cli frobnicate
run_status 2 cli show
run_status 2 cli nexthop --vsid blue --dst 10.0.0.7
run_status 2 cli commit --confirm 5
run_status 2 cli config rollback x
run_status 3 "$T/bin/hnvgw" --socket "$T/nonexistent.sock" show lookup
contains "$ERR" "cannot connect" "unreachable daemon"
pass "usage errors exit 2, an unreachable daemon exits 3 with a message (more in test_cli.sh)"

# ---- the Blue/Red demo as one transaction ----
run_status 0 cli commit -f "$ROOT/tests/data/bluered-host1.conf"
contains "$OUT" "committed revision" "commit -f"
run_status 0 cli show rdomains
contains "$OUT" "blue" "show rdomains"
contains "$OUT" "red" "show rdomains"
run_status 0 cli show vsubnets
contains "$OUT" "5001" "show vsubnets"
contains "$OUT" "6001" "show vsubnets"
run_status 0 cli show lookup
for w in CustomerAddress 10.0.0.5 10.0.0.7 192.168.4.22 Blue2 Red1; do
	contains "$OUT" "$w" "show lookup"
done
[[ $(grep -c '10\.0\.0\.' <<<"$OUT") == 4 ]] || fail "show lookup: want 4 records: $OUT"
run_status 0 cli show routes
contains "$OUT" "10.0.0.0/24" "show routes"
run_status 0 cli show ports
contains "$OUT" "blue1" "show ports"
contains "$OUT" "red1" "show ports"
run_status 0 cli show pa
contains "$OUT" "192.168.4.11" "show pa"
run_status 0 cli show counters
contains "$OUT" "tx_encap" "show counters"
run_status 0 cli show global
run_status 0 cli show proutes
run_status 0 cli show gateways
run_status 0 cli --json show lookup
python3 -c 'import json,sys; r=json.load(sys.stdin); assert len(r)==4, r' <<<"$OUT" ||
	fail "show lookup --json is not 4 rows"
run_status 0 cli show config
contains "$OUT" "lookup add --vsid 5001 --ca 10.0.0.7" "show config"
pass "Blue/Red demo committed; show rdomains/vsubnets/lookup/routes/ports/pa/counters/global"

# ---- nexthop: the datapath's own decision ----
run_status 0 cli nexthop --vsid 5001 --dst 10.0.0.7
contains "$OUT" "tx_encap" "nexthop Blue1->Blue2"
contains "$OUT" "192.168.4.22" "nexthop Blue1->Blue2"
run_status 0 cli --json nexthop --vsid 6001 --src 10.0.0.7 --dst 10.0.0.5
python3 -c '
import json,sys
r=json.load(sys.stdin)
assert r["verdict"]=="forward" and r["counter"]=="tx_local" and r["egress"]=="red1", r
assert r["pa"]=="192.168.4.11" and r["mac"].lower().replace(":","")=="080800000005", r
assert r["stages"], r' <<<"$OUT" || fail "nexthop Red2->Red1: $OUT"
run_status 0 cli nexthop --vsid 5001 --dst 10.0.0.99
contains "$OUT" "drop" "nexthop to an unknown CA"
refused cli nexthop --vsid 9999 --dst 10.0.0.7
contains "$ERR" "9999" "nexthop in an unknown VSID"
pass "nexthop: encap to the remote PA, local delivery, drop, unknown VSID refused"

# ---- invalid input: exit 1, message names the value, nothing changes ----
refused cli vsubnet add 4095 --rdomain blue --prefix 10.9.0.0/24
contains "$ERR" "4095" "bad VSID"
refused cli lookup add --vsid 16777215 --ca 10.0.0.9 --pa 192.168.4.22 --mac 060600000009
contains "$ERR" "16777215" "bad VSID"
refused cli lookup add --vsid 5001 --ca 10.0.0.9 --pa 192.168.4.22 --mac 06060000000
contains "$ERR" "06060000000" "bad MAC"
refused cli lookup add --vsid 5001 --ca 10.0.0.9 --pa 192.168.4.22 --mac 06:06:00:00:00:0g
refused cli vsubnet add 7002 --rdomain green --prefix 10.8.0.0/24
contains "$ERR" "green" "unknown rdomain"
refused cli rdomain add blue --rdid "$BLUE"
contains "$ERR" "blue" "duplicate rdomain"
refused cli lookup add --vsid 5001 --ca 10.0.0.7 --pa 192.168.4.22 --mac 060600000007
refused cli lookup add --vsid 5001 --ca 10.1.0.9 --pa 192.168.4.22 --mac 060600000009
contains "$ERR" "10.1.0.9" "CA outside the VSID's prefixes"
refused cli lookup add --vsid 5001 --ca 10.0.0.1 --pa 192.168.4.22 --mac 060600000009
contains "$ERR" "10.0.0.1" "default gateway given to a VM"
refused cli rdomain add green --rdid "{1111-2222}"
refused cli vsubnet add 7003 --rdomain blue --prefix 10.9.0.1/24
refused cli lookup del --vsid 5001 --ca 10.0.0.99 --mac 060600000099
refused cli route add --rdomain blue --vsid 5001 --prefix 10.0.0.0/24 --nexthop fd00::1
refused cli global set --uplink-mtu 100000
refused cli config rollback 99999
contains "$ERR" "99999" "rollback to a revision that is not kept"
refused cli config diff 1 99999
refused cli commit confirm
refused cli show bogus
# all or nothing: one bad line in a file refuses the whole file
printf '%s\n' "# two good lines, one bad" \
	"lookup add --vsid 5001 --ca 10.0.0.20 --pa 192.168.4.22 --mac 060600000020" \
	"lookup add --vsid 6001 --ca 10.0.0.20 --pa 192.168.4.22 --mac 080800000020" \
	"lookup add --vsid 5001 --ca 10.0.0.21 --pa 192.168.4.22 --mac 0606000000zz" >"$T/good-part.conf"
refused cli commit -f "$T/good-part.conf"
contains "$ERR" "line " "a refused file names the line"
pass "invalid VSID, MAC, GUID, prefix, references, duplicates, gateway CA, files: exit 1, unchanged"

# raw requests the CLI cannot produce
for raw in '{"v":1,"op":"show"' '{"v":1,"op":"show","what":"lookup"} x' 'not json' \
	'{"v":2,"op":"show","what":"lookup"}' '{"op":"show","what":"lookup"}' \
	'{"v":1,"op":"launch"}' '{"v":1,"op":"show","what":"lookup","extra":1}' \
	'{"v":1,"op":"exec","lines":"rdomain add x --rdid {11111111-2222-3333-4444-000000009999}"}' \
	'{"v":1,"op":"exec","lines":[]}' '{"v":1,"op":"exec","lines":["a\\u0000b"]}' \
	'{"v":1,"op":"exec","lines":["rdomain add g --rdid {11111111-2222-3333-4444-000000007001}"],"confirm":0}' \
	'{"v":1,"op":"nexthop","vsid":"5001","dst":"10.0.0.7"}' \
	'{"v":1,"op":"nexthop","vsid":5001,"dst":"10.0.0.300"}' \
	'{"v":1,"op":"rollback","rev":1.5}' '[1,2,3]' '{"v":1,"op":"show","what":"LOOKUP"}'; do
	refused "${CTL[@]}" raw "$SOCK" "$raw"
	contains "$OUT" '"ok":false' "raw $raw"
done
run_status 1 "${CTL[@]}" long "$SOCK" $((1024 * 1024 + 100))
contains "$OUT" "longer than" "over-long request"
pass "malformed JSON, wrong version/op/fields/types, NUL bytes, over-long lines: refused"

# ---- S2S: weak crypto refused, PSKs never shown or logged ----
run_status 0 cli gateway add --rdomain blue --vrf vrf-blue --table 100
S2S=(s2s add t1 --rdomain blue --peer 198.51.100.7 --local-id gw.example.net
	--remote-id site1.example.net --psk "$PSK" --remote-prefix 192.168.50.0/24)
for weak in 3des-sha256-modp2048 aes128-md5-modp2048 aes128-sha1-modp2048 aes128-sha256-modp1024; do
	refused cli "${S2S[@]}" --ike-proposal "$weak"
	lacks "$ERR" "$PSK" "error message of a weak-crypto s2s"
done
refused cli "${S2S[@]}" --esp-proposal des-sha256
lacks "$ERR" "$PSK" "error message"
refused cli "${S2S[@]}" --bogus-option x
lacks "$ERR" "$PSK" "error message of a malformed s2s line"
run_status 0 cli "${S2S[@]}"
refused cli "${S2S[@]}"
lacks "$ERR" "$PSK" "error message of a duplicate s2s"
run_status 0 cli show s2s
contains "$OUT" "t1" "show s2s"
lacks "$OUT" "$PSK" "show s2s"
run_status 0 cli --json show s2s
lacks "$OUT" "$PSK" "show s2s --json"
run_status 0 cli show config
contains "$OUT" "<secret>" "show config"
lacks "$OUT" "$PSK" "show config"
run_status 0 cli show config --show-secrets
contains "$OUT" "$PSK" "root's show config --show-secrets"
run_status 0 as_user show config --show-secrets
lacks "$OUT" "$PSK" "a group member's show config --show-secrets"
run_status 0 cli config diff 1 "$(cli --json show revisions | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["rev"])')"
lacks "$OUT" "$PSK" "config diff"
[[ $(stat -c %a "$STATE/hnvgw.conf") == 600 ]] || fail "hnvgw.conf is not mode 0600"
# s2s set: the whole tunnel again, in one transaction (a value with a blank)
run_status 0 cli s2s set t1 --rdomain blue --peer 198.51.100.7 --local-id gw.example.net \
	--remote-id "site 1" --psk "$PSK" --remote-prefix 192.168.50.0/24 --dpd 7
run_status 0 cli show config
contains "$OUT" 's2s add t1 ' "show config after s2s set"
contains "$OUT" '--dpd 7' "show config after s2s set"
contains "$OUT" '"site 1"' "show config after s2s set"
[[ $(grep -c '^s2s add t1 ' <<<"$OUT") == 1 ]] || fail "s2s set left $(grep -c '^s2s add t1 ' <<<"$OUT") tunnels t1"
refused cli s2s set t1 --rdomain blue --peer 198.51.100.7
lacks "$ERR" "$PSK" "error message of a bad s2s set"
run_status 0 cli show config
contains "$OUT" '--dpd 7' "show config after a refused s2s set"
pass "s2s: weak IKE/ESP proposals refused; PSK hidden in show, config, diff and errors; s2s set replaces a tunnel"

# issue 17 finding 3: the debug log of a transaction whose command word is
# quoted (or spaced) logged its PSK: "s2s" was found by prefix. The lines
# are logged as the parser reads them, PSK masked.
PSK2="it-psk2-$RANDOM$RANDOM-quoted-command-word"
printf '%s\n' "\"s2s\" add t2 --rdomain blue --peer 198.51.100.8 --local-id gw2.example.net --remote-id site2.example.net --psk $PSK2 --remote-prefix 192.168.60.0/24" >"$T/quoted.conf"
printf '%s\n' "s2s  add t3 --rdomain blue --peer 198.51.100.9 --local-id gw3.example.net --remote-id site3.example.net --psk \"$PSK2\" --remote-prefix 192.168.70.0/24" >"$T/spaced.conf"
run_status 0 cli commit -f "$T/quoted.conf"
run_status 0 cli commit -f "$T/spaced.conf"
if grep -qF "$PSK2" "$LOG"; then fail "issue 17 finding 3: the PSK of a quoted \"s2s\" line is in the log"; fi
grep -q "s2s add t2 .*--psk <secret>" "$LOG" || fail "the quoted s2s line was not logged masked"
grep -q "s2s add t3 .*--psk <secret>" "$LOG" || fail "the spaced s2s line was not logged masked"
run_status 0 as_user config diff 1 "$(cli --json show revisions | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["rev"])')"
lacks "$OUT" "$PSK2" "a member's config diff"
run_status 0 cli s2s del t2
run_status 0 cli s2s del t3
pass "issue 17 finding 3: \"s2s\" add and s2s  add logged and diffed with the PSK masked"

# ---- a group member may show, not change; others are refused ----
run_status 0 as_user show lookup
contains "$OUT" "10.0.0.7" "member's show lookup"
run_status 0 as_user show counters
run_status 0 as_user show revisions
run_status 0 as_user nexthop --vsid 5001 --dst 10.0.0.7
run_status 0 as_user config diff 1 2
cp "$ROOT/tests/data/bluered-host1.conf" "$T/member.conf"
chmod 0644 "$T/member.conf"
before=$(snapshot)
for cmd in "lookup add --vsid 5001 --ca 10.0.0.30 --pa 192.168.4.22 --mac 060600000030" \
	"commit -f $T/member.conf" "commit confirm" "config rollback 1" "rdomain del red"; do
	# shellcheck disable=SC2086
	run_status 1 as_user $cmd
	contains "$ERR" "permission" "member's $cmd"
done
[[ $(snapshot) == "$before" ]] || fail "a group member changed the configuration"
# not a member: the socket's mode stops it; with the mode opened, the daemon does
run_status 1 timeout 30 runuser -u nobody -- "$T/bin/hnvgw" --socket "$SOCK" show lookup
contains "$ERR" "ermission denied" "non-member (socket mode)"
chmod 0666 "$SOCK"
run_status 1 timeout 30 runuser -u nobody -- "$T/bin/hnvgw" --socket "$SOCK" show lookup
contains "$ERR" "permission denied" "non-member (SO_PEERCRED)"
chmod 0660 "$SOCK"
pass "group member: show/nexthop/diff ok, changes refused (permission); non-member refused"

# ---- commit --confirm ----
printf '%s\n' "lookup add --vsid 5001 --ca 10.0.0.40 --pa 192.168.4.22 --mac 060600000040" >"$T/confirm.conf"
before=$(cli show config --show-secrets)
run_status 0 cli commit -f "$T/confirm.conf" --confirm 2
contains "$OUT" "commit confirm" "commit --confirm"
contains "$(cli show lookup)" "10.0.0.40" "the unconfirmed change is applied"
sleep 3.5
lacks "$(cli show lookup)" "10.0.0.40" "an unconfirmed change after its deadline"
[[ $(cli show config --show-secrets) == "$before" ]] || fail "rollback after timeout differs"
grep -q "not confirmed" "$LOG" || fail "the timeout rollback was not logged"
run_status 0 cli commit -f "$T/confirm.conf" --confirm 2
run_status 0 cli commit confirm
sleep 3
contains "$(cli show lookup)" "10.0.0.40" "a confirmed change"
run_status 0 cli lookup del --vsid 5001 --ca 10.0.0.40 --mac 060600000040
# the timer survives a restart
run_status 0 cli commit -f "$T/confirm.conf" --confirm 3
kill9_daemon main
start_daemon main
contains "$(cli show lookup)" "10.0.0.40" "unconfirmed change after restart"
sleep 4
lacks "$(cli show lookup)" "10.0.0.40" "unconfirmed change, deadline passed after a restart"
pass "commit --confirm: rolled back after the deadline (also across SIGKILL), kept when confirmed"

# ---- diff and rollback ----
rev_now() { cli --json show revisions | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["rev"])'; }
A=$(rev_now)
cfgA=$(cli show config --show-secrets)
run_status 0 cli lookup add --vsid 5001 --ca 10.0.0.50 --pa 192.168.4.22 --mac 060600000050 --context "Blue fifty #1"
B=$(rev_now)
((B > A)) || fail "no new revision after a change"
run_status 0 cli config diff "$A" "$B"
contains "$OUT" "+lookup add --vsid 5001 --ca 10.0.0.50" "config diff"
contains "$(cli show config)" '"Blue fifty #1"' "a quoted value keeps its blank and #"
run_status 0 cli config rollback "$A"
[[ $(cli show config --show-secrets) == "$cfgA" ]] || fail "rollback to $A differs from revision $A"
(($(rev_now) > B)) || fail "rollback did not make a new revision"
pass "config diff $A $B shows the change; config rollback $A restores it as a new revision"

# ---- SIGHUP reload of a hand-edited file ----
cp "$STATE/hnvgw.conf" "$T/good.conf"
echo "lookup add --vsid 5001 --ca 10.0.0.60 --pa 192.168.4.22 --mac 060600000060" >>"$STATE/hnvgw.conf"
kill -HUP "${DPIDS[main]}"
for ((n = 0; n < 100; n++)); do [[ $(cli show lookup) == *10.0.0.60* ]] && break; sleep 0.05; done
contains "$(cli show lookup)" "10.0.0.60" "SIGHUP reload"
before=$(cli show config --show-secrets)
echo "lookup add --vsid 5001 --ca 10.0.0.61 --pa 192.168.4.22 --mac zz" >>"$STATE/hnvgw.conf"
kill -HUP "${DPIDS[main]}"
for ((n = 0; n < 100; n++)); do grep -q "reload refused" "$LOG" && break; sleep 0.05; done
grep -q "reload refused" "$LOG" || fail "a bad file on SIGHUP was not refused"
[[ $(cli show config --show-secrets) == "$before" ]] || fail "a bad file on SIGHUP changed the config"
run_status 0 cli lookup del --vsid 5001 --ca 10.0.0.60 --mac 060600000060
pass "SIGHUP: an edited file is applied, a bad one refused"

# ---- issue 17 finding 6: a file hnvgwd refused never keeps it from starting ----
# A refused SIGHUP reload left the bad hnvgw.conf on disk; the next start
# stored it as a revision before validating it and exited, and every
# restart did the same. Now the start runs the last good revision and says
# why, the file stays, and a rollback writes the good configuration back.
good=$(cli show config --show-secrets)
grev=$(rev_now)
echo "vsubnet add 5001 --rdomain nowhere --prefix 10.0.0.0/24" >>"$STATE/hnvgw.conf"
refusals=$(grep -c "reload refused" "$LOG" || true)
kill -HUP "${DPIDS[main]}"
for ((n = 0; n < 100; n++)); do (($(grep -c "reload refused" "$LOG") > refusals)) && break; sleep 0.05; done
(($(grep -c "reload refused" "$LOG") > refusals)) || fail "a bad file on SIGHUP was not refused"
grep "reload refused" "$LOG" | tail -1 | grep -q "config rollback $grev" ||
	fail "the refused reload does not say how to recover: $(grep "reload refused" "$LOG" | tail -1)"
stop_daemon main
"${CTL[@]}" notify "$NOTIFY-2" 15 >"$T/notify2" &
NPID=$!
for ((n = 0; n < 100; n++)); do [[ -s $T/notify2 ]] && break; sleep 0.05; done
NOTIFY_SOCKET=@$NOTIFY-2 start_daemon main
wait "$NPID" || fail "no sd_notify datagram: $(<"$T/notify2")"
contains "$(<"$T/notify2")" "hnvgw.conf refused" "issue 17 finding 6: systemd's STATUS"
[[ $(cli show config --show-secrets) == "$good" ]] || fail "issue 17 finding 6: the start did not run the last good revision"
[[ $(rev_now) == "$grev" ]] || fail "issue 17 finding 6: the refused file became revision $(rev_now)"
grep -q "hnvgw.conf refused: line .*running revision $grev, the last good" "$LOG" ||
	fail "issue 17 finding 6: the start does not say why it runs revision $grev"
grep -q "nowhere" "$STATE/hnvgw.conf" || fail "the refused file was not left in place"
kill9_daemon main
start_daemon main
[[ $(rev_now) == "$grev" ]] || fail "issue 17 finding 6: a restart made a revision of the refused file"
run_status 0 cli config rollback "$grev"
grep -q "nowhere" "$STATE/hnvgw.conf" && fail "config rollback did not write the good configuration back"
[[ $(cli show config --show-secrets) == "$good" ]] || fail "config rollback $grev changed the configuration"
pass "issue 17 finding 6: a refused reload, then restarts: revision $grev runs, the reason is logged and in STATUS; rollback writes it back"

# a newest revision that does not load (stored by an hnvgwd before the fix)
stop_daemon main
good=$(<"$STATE/hnvgw.conf")
top=$(ls "$STATE/revisions" | sed -n 's/^0*\([0-9][0-9]*\)\.conf$/\1/p' | sort -n | tail -1)
{ cat "$STATE/hnvgw.conf"; echo "vsubnet add 5001 --rdomain nowhere --prefix 10.0.0.0/24"; } >"$T/bad.conf"
cp "$T/bad.conf" "$STATE/revisions/$(printf %06d $((top + 1))).conf"
cp "$T/bad.conf" "$STATE/hnvgw.conf"
chmod 0600 "$STATE/hnvgw.conf" "$STATE/revisions/"*
start_daemon main
[[ $(rev_now) == $((top + 2)) ]] || fail "the last good revision was not restored as revision $((top + 2)): $(rev_now)"
[[ $(<"$STATE/hnvgw.conf") == "$good" ]] || fail "hnvgw.conf is not the restored revision"
grep -q "revision $((top + 1)) does not load either: running revision $top" "$LOG" ||
	fail "the start does not say that revision $((top + 1)) does not load"
pass "issue 17 finding 6: a stored revision that does not load: revision $top restored as $((top + 2))"

# ---- a second daemon is refused ----
run_status 1 timeout 20 "$HNVGWD" --foreground --state-dir "$STATE" --socket "$T/other.sock"
contains "$ERR" "in use" "second daemon on the same state directory"
run_status 1 timeout 20 "$HNVGWD" --foreground --state-dir "$T/state-other" --socket "$SOCK"
contains "$ERR" "already listening" "second daemon on the same socket"
cli show lookup >/dev/null || fail "the first daemon stopped answering"
pass "second daemons refused"

# ---- many clients at once; a client that does not read is dropped ----
"${CTL[@]}" slow "$SOCK" 60 >"$T/slow" &
SLOW=$!
sleep 0.5
pids=()
for ((n = 0; n < 20; n++)); do
	cli show lookup >"$T/par.$n" 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a parallel client failed"; done
for ((n = 0; n < 20; n++)); do contains "$(<"$T/par.$n")" "10.0.0.7" "parallel client $n"; done
wait "$SLOW"
[[ $(<"$T/slow") == dropped ]] || fail "a client that reads nothing was not dropped: $(<"$T/slow")"
pass "20 parallel clients served while a non-reading client was dropped"

# ---- SIGKILL during 1000 changes loses no acknowledged change ----
run_status 0 cli vsubnet add 7001 --rdomain blue --prefix 10.7.0.0/16
rec_ca() { echo "10.7.$(($1 / 250)).$(($1 % 250 + 2))"; }
rec_mac() { printf '020000%02x%02x%02x' $(($1 >> 16)) $((($1 >> 8) & 255)) $(($1 & 255)); }
# change i deletes record i-1 when i is a multiple of 4, else adds record i
change() {
	local i=$1
	if ((i % 4 == 0)); then
		cli lookup del --vsid 7001 --ca "$(rec_ca $((i - 1)))" --mac "$(rec_mac $((i - 1)))"
	else
		cli lookup add --vsid 7001 --ca "$(rec_ca "$i")" --pa 192.168.4.22 --mac "$(rec_mac "$i")"
	fi
}
# the records present after changes 1..k
expected() {
	local k=$1 i
	for ((i = 1; i <= k; i++)); do
		((i % 4 == 0)) && continue
		((i % 4 == 3 && i + 1 <= k)) && continue
		rec_ca "$i"
	done | sort
}
echo 0 >"$T/acked"
(
	for ((i = 1; i <= 1000; i++)); do
		change "$i" >/dev/null 2>&1 || exit 0
		echo "$i" >"$T/acked.tmp" && mv "$T/acked.tmp" "$T/acked"
	done
) &
LOOP_PID=$!
target=$((150 + RANDOM % 200))
for ((n = 0; n < 1200; n++)); do
	(($(<"$T/acked") >= target)) && break # renamed into place: never torn
	sleep 0.1
done
kill9_daemon main
wait "$LOOP_PID" || true
LOOP_PID=""
k=$(<"$T/acked")
((k >= target)) || fail "only $k changes were acknowledged before the kill"
start_daemon main
cli --json show lookup | python3 -c '
import json,sys
for r in json.load(sys.stdin):
    if int(r["VirtualSubnetID"]) == 7001: print(r["CustomerAddress"])' | sort >"$T/actual"
expected "$k" >"$T/exp_k"
expected $((k + 1)) >"$T/exp_k1"
if ! cmp -s "$T/actual" "$T/exp_k" && ! cmp -s "$T/actual" "$T/exp_k1"; then
	diff "$T/exp_k" "$T/actual" >&2 || true
	fail "after SIGKILL at change $k the stored records are neither changes 1..$k nor 1..$((k + 1))"
fi
if ((k % 4 != 0)); then
	contains "$(cli show lookup)" "$(rec_ca "$k")" "the last acknowledged change $k"
fi
pass "SIGKILL after $k acknowledged changes: restarted with exactly those (in-flight one either way)"

# ---- show config replays to the same state ----
cli show config --show-secrets >"$T/replay.conf"
start_daemon replay
run_status 0 cli_in replay commit -f "$T/replay.conf"
[[ $(cli_in replay show config --show-secrets) == "$(<"$T/replay.conf")" ]] ||
	fail "show config replayed into a fresh daemon gives another config"
[[ $(cli_in replay show lookup) == "$(cli show lookup)" ]] || fail "replayed lookup records differ"
stop_daemon replay
pass "show config, replayed with commit -f into a fresh daemon, rebuilds the same state"

# ---- NetWNV PowerShell front end ----
start_daemon ps
PS1FILE=$ROOT/tests/data/bluered.ps1
if [[ ! -f $PS1FILE ]]; then
	PS1FILE=$T/inline.ps1
	cat >"$PS1FILE" <<'EOF'
New-NetVirtualizationProviderAddress -InterfaceIndex 1 -ProviderAddress 192.168.4.11 -PrefixLength 24
New-NetVirtualizationCustomerRoute -RoutingDomainID "{11111111-2222-3333-4444-000000005001}" `
    -VirtualSubnetID 5001 -DestinationPrefix "10.0.0.0/24" -NextHop "0.0.0.0" -Metric 255
New-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.5 -VirtualSubnetID 5001 -MACAddress 060600000005 `
    -ProviderAddress 192.168.4.11 -Rule TranslationMethodEncap -VMName Blue1
New-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.7 -VirtualSubnetID 5001 -MACAddress 060600000007 `
    -ProviderAddress 192.168.4.22 -Rule TranslationMethodEncap -VMName Blue2
EOF
fi
run_status 0 cli_in ps ps "$PS1FILE"
run_status 0 cli_in ps show lookup
contains "$OUT" "10.0.0.7" "lookup records made by the cmdlets"
contains "$OUT" "192.168.4.22" "lookup records made by the cmdlets"
run_status 0 cli_in ps ps - <<<'Get-NetVirtualizationLookupRecord -VirtualSubnetID 5001'
grep -qE '^CustomerAddress +: 10\.0\.0\.7$' <<<"$OUT" ||
	fail "Get-NetVirtualizationLookupRecord is not in Format-List layout: $OUT"
grep -qE '^ProviderAddress +: 192\.168\.4\.22$' <<<"$OUT" || fail "Format-List: $OUT"
run_status 0 cli_in ps ps - <<<'Select-NetVirtualizationNextHop -SourceCustomerAddress 10.0.0.5 -DestinationCustomerAddress 10.0.0.7 -SourceVirtualSubnetID 5001'
grep -qE '^NextHopMACAddress +: 060600000007$' <<<"$OUT" ||
	fail "Select-NetVirtualizationNextHop Blue1->Blue2: $OUT"
before=$(cli_in ps show config)
run_status 1 cli_in ps ps - <<<'New-NetVirtualizationLookupRecord -CustomerAddress 10.1.0.9 -VirtualSubnetID 5001 -MACAddress 060600000009 -ProviderAddress 192.168.4.22 -Rule TranslationMethodEncap'
contains "$ERR" "10.1.0.9" "a cmdlet the daemon refuses"
[[ $(cli_in ps show config) == "$before" ]] || fail "a refused cmdlet changed the configuration"
stop_daemon ps
pass "hnvgw ps: $(basename "$PS1FILE") applied; Get-NetVirtualizationLookupRecord prints Format-List"

# ---- the end: PSK never logged; clean exit ----
stop_daemon main
for f in "$T"/*.log; do
	if grep -qF "$PSK" "$f"; then fail "the PSK appears in $f"; fi
done
grep -q "s2s add t1 .*--psk <secret>" "$LOG" || fail "the s2s transaction was not logged at all"
pass "the PSK never appears in a log; hnvgwd exits 0 on SIGTERM with no sanitizer report"
echo "test_daemon.sh: all passed"
