#!/bin/bash
# test_ps.sh: `hnvgw ps` (the NetWNV PowerShell front end) against a real
# hnvgwd (issue 20):
#   - -CimSession naming another host is refused (exit 1) before anything
#     runs, also in "Get-... -CimSession h2 | Remove-..." (which used to
#     remove the local records), and nothing changes; -CimSession with the
#     daemon's --host-name, localhost or "." acts on the local hnvgwd;
#   - "Get-... | Where-Object {...} | Remove-..." removes only the records
#     Where-Object lets through;
#   - variables, positional parameters of Select-NetVirtualizationNextHop,
#     Select-Object / Format-Table output;
#   - hnvgw nexthop names a record's rule (TranslationMethodNat), not 35.
# Needs root (like test_daemon.sh). Run by `make integration-test`.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root"

# --host-name is only taken with --etcd: without it the daemon reports the
# machine's host name
start_daemon main
run_status 0 cli show status --json
python3 -c 'import json,sys,socket
r = json.load(sys.stdin)
r = r[0] if isinstance(r, list) else r
assert r["host"] == socket.gethostname(), r' <<<"$OUT" || fail "show status host: $OUT"
SELF=$(hostname)

cat >"$T/setup.ps1" <<'PS'
New-NetVirtualizationProviderAddress -ProviderAddress 192.168.4.11 -InterfaceIndex 1 -PrefixLength 24
New-NetVirtualizationCustomerRoute -RoutingDomainID "{11111111-2222-3333-4444-000000005001}" `
    -VirtualSubnetID 5001 -DestinationPrefix 10.0.0.0/24 -NextHop 0.0.0.0 -Metric 255
$vsid = 5001
$pa = '192.168.4.22'
New-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.5 -VirtualSubnetID $vsid `
    -MACAddress 060600000005 -ProviderAddress 192.168.4.11 -Rule TranslationMethodEncap -VMName Blue1
New-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.7 -VirtualSubnetID $vsid `
    -MACAddress 060600000007 -ProviderAddress $pa -Rule TranslationMethodEncap -VMName Blue2
New-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.8 -VirtualSubnetID $vsid `
    -MACAddress 060600000008 -ProviderAddress $pa -Rule TranslationMethodEncap -VMName Blue3
PS
run_status 0 cli ps "$T/setup.ps1"
run_status 0 cli show lookup
[[ $(grep -c '10\.0\.0\.' <<<"$OUT") == 3 ]] || fail "setup: want 3 records: $OUT"
pass "a script with variables sets up three records"

# ---- -CimSession ----
BEFORE=$(cli show config; cli show revisions)
for script in \
	"Get-NetVirtualizationLookupRecord -CimSession other-host | Remove-NetVirtualizationLookupRecord" \
	"Remove-NetVirtualizationLookupRecord -CimSession 192.0.2.9" \
	$'Remove-NetVirtualizationLookupRecord -VMName Blue1\nGet-NetVirtualizationGlobal -CimSession other-host,localhost'; do
	run_status 1 cli ps - <<<"$script"
	contains "$ERR" "names another computer, but hnvgw acts only on the local hnvgwd" "$script"
	contains "$ERR" "hnvgw --socket" "$script"
	[[ $(cli show config; cli show revisions) == "$BEFORE" ]] || fail "$script changed the configuration"
done
contains "$ERR" "(host \"$SELF\"" "the message names this host"
run_status 0 cli ps - <<<"Get-NetVirtualizationLookupRecord -CimSession localhost,.,$SELF -VMName Blue1"
contains "$OUT" "VMName          : Blue1" "-CimSession localhost, ., $SELF"
pass "-CimSession: another host refused with exit 1 and nothing changed; this host's names act here"

# ---- Where-Object | Remove ----
run_status 0 cli ps - <<<"Get-NetVirtualizationLookupRecord -VirtualSubnetID 5001 | Where-Object { \$_.ProviderAddress -eq '192.168.4.22' -and \$_.VMName -like '*3' } | Remove-NetVirtualizationLookupRecord"
run_status 0 cli show lookup
contains "$OUT" "10.0.0.5" "Blue1 kept"
contains "$OUT" "10.0.0.7" "Blue2 kept"
lacks "$OUT" "10.0.0.8" "Blue3 removed"
run_status 0 cli ps - <<<"Get-NetVirtualizationLookupRecord | ? { \$_.VMName -eq 'nobody' } | Remove-NetVirtualizationLookupRecord"
run_status 0 cli show lookup
[[ $(grep -c '10\.0\.0\.' <<<"$OUT") == 2 ]] || fail "a Where-Object matching nothing removed records: $OUT"
pass "Get | Where-Object | Remove removes only the matching records"

# ---- the views; positional parameters ----
run_status 0 cli ps - <<<'Get-NetVirtualizationLookupRecord | Select-Object VMName,VirtualSubnetID'
[[ $OUT == $'\nVMName VirtualSubnetID\n------ ---------------\nBlue1             5001\nBlue2             5001' ]] ||
	fail "Select-Object table: $OUT"
run_status 0 cli ps - <<<'Select-NetVirtualizationNextHop 10.0.0.5 10.0.0.7 5001'
contains "$OUT" "NextHopAddress             : 10.0.0.7" "positional Select-NetVirtualizationNextHop"
contains "$OUT" "NextHopMACAddress          : 060600000007" "positional Select-NetVirtualizationNextHop"
run_status 2 cli ps - <<<'Get-NetVirtualizationLookupRecord | ft Foo'
contains "$ERR" 'have no property "Foo"' "an unknown property"
pass "Select-Object table, positional Select-NetVirtualizationNextHop, unknown property refused"

# ---- a Nat record is refused, by the rule's name ----
run_status 1 cli ps - <<<'New-NetVirtualizationLookupRecord -CustomerAddress 10.0.0.9 -VirtualSubnetID 5001 -MACAddress 060600000009 -ProviderAddress 192.168.4.22 -Rule TranslationMethodNat'
contains "$ERR" "rule nat (TranslationMethodNat, IP rewrite) is not supported" "a Nat record is refused"
run_status 0 cli show lookup
[[ $OUT != *10.0.0.9* ]] || fail "a refused Nat record was stored: $OUT"
pass "a TranslationMethodNat record is refused by name, nothing stored"

stop_daemon main
