#!/bin/bash
# test_redirect.sh: the MS-NVGREE extension messages (docs/nvgre-ext.md) on
# three hosts of the Blue/Red lab (lib.sh), no etcd:
#   S = h1 (192.168.4.11) with Blue1, the sender; O = h2 (192.168.4.22)
#   with Blue2, the old host; N = h3 (192.168.4.33), the new host.
# Blue2 moves from O to N (its NIC leaves O, appears on N, port del/add as
# in test_migrate.sh) and the orchestrator updates Blue2's record on O and N
# only: S keeps sending to O. Asserts:
#   - Blue1 <-> Blue2 resumes through REDIRECT alone: O sends REDIRECT
#     (nvx_redirect_sent), S accepts it (nvx_redirect_rcvd), show lookup on
#     S says RedirectedTo 192.168.4.33 while ProviderAddress stays the
#     configured 192.168.4.22, and S's traffic then goes to N;
#   - a frame for a CA O has no record of gets UNREACHABLE back, counted on
#     both sides, rate limited on O (drop_unreach_limited), logged on S once
#     for the burst;
#   - the wire: tshark decodes both messages from the capture of the
#     provider segment (outer PAs, GRE key, ICMP type/code, the new PA in
#     the redirect's gateway field, the quoted customer packet's CAs);
#   - a config change of the record on S clears the override;
#   - every hnvgwd exits cleanly.
# Needs root. Run by `make netns-test`.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (network namespaces)"
command -v tshark >/dev/null || fail "tshark is not installed (make deps)"

lab_hosts
start_host h3 192.168.4.33
sed -E '/^New-NetVirtualizationProviderAddress/s/192\.168\.4\.11/192.168.4.33/' \
	"$ROOT/tests/data/bluered.ps1" >"$T/bluered-host3.ps1"
cli h3 ps "$T/bluered-host3.ps1" >"$T/ps-h3.out" || fail "ps on h3"
add_vm h1 b1 blue1 5001 10.0.0.5 060600000005
add_vm h2 b2 blue2 5001 10.0.0.7 060600000007
pass "lab up: S, O, N; Blue1 on S, Blue2 on O (tiers: $(tier h1) $(tier h2) $(tier h3))"
nsx b1 ping -c 2 -i 0.2 -w 10 10.0.0.7 >/dev/null || fail "Blue1 -> Blue2 before the move"

cap_start pn br0 "$T/wire.pcap" ip proto 47

# the move, O -> N; the orchestrator updates O and N, not S
cli h2 port del blue2 >/dev/null || fail "port del blue2 on O"
nsx h2 ip link del v-blue2
ip link add v-blue2 netns "$P-h3" type veth peer name blue2 netns "$P-b2" address 06:06:00:00:00:07
nsx h3 ip link set v-blue2 up
[[ $(tier h3) == kernel ]] || nsx b2 ethtool -K blue2 tso off gso off gro off >/dev/null 2>&1 || true
cli h3 port add blue2 --vsid 5001 --ca 10.0.0.7 --mac 060600000007 --dev v-blue2 >/dev/null ||
	fail "port add blue2 on N"
nsx b2 ip addr add 10.0.0.7/24 dev blue2
nsx b2 ip link set blue2 up
nsx b2 ip route replace default via 10.0.0.1
for h in h2 h3; do
	cli "$h" lookup set --vsid 5001 --ca 10.0.0.7 --mac 060600000007 --pa 192.168.4.33 \
		>/dev/null || fail "lookup set on $h"
done
cli h1 show lookup | grep -q "^10.0.0.7 .*5001 .*192.168.4.22" || fail "S's record changed: $(cli h1 show lookup)"

# S converges through REDIRECT alone
wait_for 20 nsx b1 ping -c 1 -W 1 10.0.0.7 || fail "Blue1 -> Blue2 did not resume after the move"
nsx b1 ping -c 5 -i 0.2 -w 10 10.0.0.7 >/dev/null || fail "Blue1 -> Blue2 after the redirect"
((($(counter h2 nvx_redirect_sent)) >= 1)) || fail "O sent no REDIRECT"
((($(counter h1 nvx_redirect_rcvd)) >= 1)) || fail "S accepted no REDIRECT"
((($(counter h1 drop_nvx_untrusted)) == 0)) || fail "S refused a REDIRECT"
rows=$(cli h1 --json show lookup --vsid 5001 --ca 10.0.0.7)
python3 - "$rows" <<'PY' || fail "show lookup on S: $rows"
import json, sys
rows = json.loads(sys.argv[1])
rows = rows.get("result", rows) if isinstance(rows, dict) else rows
r = rows[0]
assert r["ProviderAddress"] == "192.168.4.22", r
assert r["RedirectedTo"] == "192.168.4.33", r
assert r["RedirectedSince"].endswith("Z"), r
PY
cli h1 show lookup >"$T/lookup-h1.txt"
cat "$T/lookup-h1.txt"
redirected=$(counter h2 nvx_redirect_sent)
nsx b1 ping -c 5 -i 0.2 -w 10 10.0.0.7 >/dev/null || fail "Blue1 -> Blue2 (steady)"
(($(counter h2 nvx_redirect_sent) == redirected)) || fail "S still sends to O after the redirect"
pass "Blue2 moved O -> N: S redirected by O ($redirected REDIRECT sent, $(counter h1 nvx_redirect_rcvd) accepted), show lookup on S: RedirectedTo 192.168.4.33, configured PA kept"

# UNREACHABLE: S has a record of 10.0.0.8 at O, O has none
cli h1 lookup add --vsid 5001 --ca 10.0.0.8 --pa 192.168.4.22 --mac 060600000008 >/dev/null ||
	fail "lookup add 10.0.0.8 on S"
nsx b1 ping -c 30 -i 0.01 -W 1 10.0.0.8 >/dev/null 2>&1 && fail "10.0.0.8 answered"
wait_for 5 counter_ge h1 nvx_unreach_rcvd 1 || fail "S received no UNREACHABLE"
sent=$(counter h2 nvx_unreach_sent) limited=$(counter h2 drop_unreach_limited)
((sent >= 1 && limited >= 1)) || fail "O: $sent UNREACHABLE sent, $limited suppressed (want both)"
((sent <= 15)) || fail "O sent $sent UNREACHABLE for a 0.3 s burst (token bucket 5/s, burst 5)"
(($(counter h1 nvx_unreach_rcvd) == sent)) || fail "S counted $(counter h1 nvx_unreach_rcvd) of $sent UNREACHABLE"
nlog=$(grep -c "NVGRE UNREACHABLE from PA 192.168.4.22" "$T/hnvgwd-h1.log" || true)
((nlog == 1)) || fail "S logged the UNREACHABLE burst $nlog times (want once per interval)"
pass "UNREACHABLE: O sent $sent and suppressed $limited of a 30-frame burst, S counted them and logged one line"

cap_stop "$T/wire.pcap"
# the wire, decoded by tshark: outer ip.src/dst, then the message's inner
# ip, then the quoted customer packet
tshark -r "$T/wire.pcap" -Y "icmp.type == 5" -T fields -E separator='|' \
	-e ip.src -e ip.dst -e gre.key -e icmp.code -e icmp.redir_gw >"$T/redirect.txt" 2>/dev/null
head -3 "$T/redirect.txt"
# fields: outer, message and quoted IP addresses; the GRE key (VSID 5001 =
# 0x1389, FlowID 0); the codes of the message (1: host) and of the quoted
# echo request (0); the gateway field (the new PA)
grep -qx "192.168.4.22,192.168.4.22,10.0.0.5|192.168.4.11,192.168.4.11,10.0.0.7|0x00138900|1,0|192.168.4.33" \
	"$T/redirect.txt" || fail "no REDIRECT O -> S about 10.0.0.7 with new PA 192.168.4.33 on the wire: $(head -3 "$T/redirect.txt")"
tshark -r "$T/wire.pcap" -Y "icmp.type == 3 && icmp.code == 1" -T fields -E separator='|' \
	-e ip.src -e ip.dst -e gre.key >"$T/unreach.txt" 2>/dev/null
head -3 "$T/unreach.txt"
grep -q "^192.168.4.22,192.168.4.22,10.0.0.5|192.168.4.11,192.168.4.11,10.0.0.8|" "$T/unreach.txt" ||
	fail "no UNREACHABLE O -> S about 10.0.0.8 on the wire: $(head -3 "$T/unreach.txt")"
(($(wc -l <"$T/unreach.txt") == sent)) || fail "$(wc -l <"$T/unreach.txt") UNREACHABLE on the wire, O counted $sent"
pass "tshark decodes REDIRECT (type 5 code 1, gateway 192.168.4.33, quoted 10.0.0.5 -> 10.0.0.7) and UNREACHABLE (type 3 code 1, quoted 10.0.0.5 -> 10.0.0.8) in VSID 5001"

# a config change of the record clears the override
cli h1 lookup set --vsid 5001 --ca 10.0.0.7 --mac 060600000007 --pa 192.168.4.33 >/dev/null ||
	fail "lookup set on S"
cli h1 --json show lookup --vsid 5001 --ca 10.0.0.7 | grep -q '"RedirectedTo": *""' ||
	fail "override not cleared: $(cli h1 --json show lookup --vsid 5001 --ca 10.0.0.7)"
nsx b1 ping -c 3 -i 0.2 -w 10 10.0.0.7 >/dev/null || fail "Blue1 -> Blue2 on the configured record"
pass "lookup set on S clears the override; traffic follows the configured record"

stop_host h1
stop_host h2
stop_host h3
pass "three hnvgwd exit 0 without sanitizer reports"
