#!/bin/bash
# test_s2s_interop.sh: the IKE interop options of "s2s add" through hnvgwd
# and the hnvgw CLI (no gateway role: stored and shown, as on any hnvgwd):
#   --allow-legacy-crypto commits with exit status 0 and a warning on
#   stderr ("warnings" in the JSON reply), without the PSK; show s2s
#   --json marks it; --peer any without a usable --remote-id, a repeated
#   remote ID among "any" tunnels and a bad host name are refused with
#   exit 1, saying why, changing nothing; show config round-trips every
#   mode through a restart (the store) and through commit -f of its own
#   output.
# Run by `make integration-test`.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root"
PSK="it-psk-$RANDOM$RANDOM-interop-0123456789"
start_daemon main

run_status 0 cli rdomain add blue --rdid "{11111111-2222-3333-4444-000000005001}"
run_status 0 cli rdomain add red --rdid "{11111111-2222-3333-4444-000000006001}"
run_status 0 cli gateway add --rdomain blue --vrf vrf-blue --table 100
run_status 0 cli gateway add --rdomain red --vrf vrf-red --table 101

# ---- --allow-legacy-crypto: committed, loudly ----
run_status 0 cli s2s add ws --rdomain blue --peer 198.51.100.7 --local-id gw.example \
	--remote-id site-ws --psk "$PSK" --remote-prefix 192.168.50.0/24 --allow-legacy-crypto
contains "$ERR" "hnvgw: warning: s2s ws: --allow-legacy-crypto: this tunnel also accepts DH group 2 (MODP1024), SHA-1 and 3DES" \
	"the commit's warning"
lacks "$ERR" "$PSK" "the warning"
run_status 0 cli --json s2s set ws --rdomain blue --peer 198.51.100.7 --local-id gw.example \
	--remote-id site-ws --psk "$PSK" --remote-prefix 192.168.50.0/24 --allow-legacy-crypto
contains "$OUT" '"warnings"' "the JSON reply"
contains "$OUT" "--allow-legacy-crypto: this tunnel also accepts" "the JSON reply's warning"
lacks "$OUT" "$PSK" "the JSON reply"
run_status 0 cli --json show s2s
contains "$OUT" '"legacy_crypto": true' "show s2s --json"
# a tunnel without it: no warning
run_status 0 cli s2s add strong --rdomain red --peer 198.51.100.8 --local-id gw.example \
	--remote-id site-strong --psk "$PSK" --remote-prefix 192.168.50.0/24
lacks "$ERR" "warning" "a strong tunnel's commit"
pass "--allow-legacy-crypto: exit 0, a warning on stderr and in the JSON reply, marked in show s2s"

# ---- --peer any and --peer HOST ----
run_status 0 cli s2s add dyn-a --rdomain blue --peer any --local-id gw.example \
	--remote-id site-a.example --psk "$PSK" --remote-prefix 192.168.60.0/24
run_status 0 cli s2s add dyn-b --rdomain red --peer any --local-id gw.example \
	--remote-id site-b.example --psk "$PSK" --remote-prefix 192.168.60.0/24
refused cli s2s add dyn-c --rdomain red --peer any --local-id gw2.example \
	--remote-id site-a.example --psk "$PSK" --remote-prefix 192.168.61.0/24
contains "$ERR" 'tunnels "dyn-c" and "dyn-a" both have --peer any and the remote-id "site-a.example"' \
	"a repeated remote ID"
lacks "$ERR" "$PSK" "its message"
refused cli s2s add dyn-c --rdomain red --peer any --local-id gw.example \
	--remote-id "%any" --psk "$PSK" --remote-prefix 192.168.61.0/24
contains "$ERR" "--peer any needs a --remote-id naming one site" "a wildcard remote ID"
refused cli s2s add dyn-c --rdomain red --peer any --local-id gw.example \
	--psk "$PSK" --remote-prefix 192.168.61.0/24
contains "$ERR" "missing --remote-id" "no remote ID"
refused cli s2s add fq-bad --rdomain red --peer "vpn_1.example" --local-id gw.example \
	--remote-id x --psk "$PSK" --remote-prefix 192.168.62.0/24
contains "$ERR" "an address, a host name (letters, digits, '-' and '.') or any" "a bad host name"
run_status 0 cli s2s add fq --rdomain red --peer vpn.dc2.example --local-id gw.example \
	--remote-id dc2 --psk "$PSK" --remote-prefix 192.168.62.0/24
run_status 0 cli show s2s
contains "$OUT" "vpn.dc2.example" "show s2s: the host name"
pass "--peer any told apart by remote ID; wildcard, missing remote ID and bad names refused"

# ---- the store and show config round-trip every mode ----
run_status 0 cli show config --show-secrets
before=$OUT
contains "$before" "s2s add dyn-a --rdomain blue --peer any " "show config: any"
contains "$before" "--peer vpn.dc2.example " "show config: the host name"
contains "$before" "--dpd 30 --allow-legacy-crypto" "show config: the flag"
stop_daemon main
start_daemon main
run_status 0 cli show config --show-secrets
[[ $OUT == "$before" ]] || fail "show config changed across a restart: $OUT"
# the shown text, committed into a fresh daemon, is the same configuration
printf '%s\n' "$before" >"$T/shown.conf"
chmod 0600 "$T/shown.conf"
start_daemon second
run_status 0 cli_in second commit -f "$T/shown.conf"
contains "$ERR" "s2s ws: --allow-legacy-crypto" "commit -f warns too"
run_status 0 cli_in second show config --show-secrets
[[ $OUT == "$before" ]] || fail "show config does not replay: $OUT"
stop_daemon second
stop_daemon main
pass "show config round-trips --peer any|HOST and --allow-legacy-crypto (restart, commit -f)"
