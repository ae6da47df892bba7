#!/bin/bash
# test_metrics.sh: hnvgwd --metrics, the Prometheus endpoint, on a host
# edge of the two-host lab (lib.sh). Both hosts run with --metrics on their
# namespace's loopback; curl scrapes them from there. Host 1 forwards in
# userspace (--datapath userspace: every frame passes its ports' I/O
# counters), host 2 with the default tier (the kernel fast path where it
# loads). Asserts:
#   - the document passes `promtool check metrics` (the Prometheus
#     project's own strict parser and linter) with nothing to report, before
#     and after traffic, and has the 0.0.4 text content type;
#   - Blue1 -> Blue2 pings move, on host 1, Blue1's port counters (rx
#     packets/bytes), the uplink's tx and rx counters and tx_encap of tier
#     engine, and on host 2 tx_encap (the replies) of the tier it forwards
#     with (fast_path for the kernel tier), each by at least the pings sent;
#   - on host 2 (the kernel tier, where the pings never pass hnvgwd)
#     Blue2's port rx/tx packets and bytes move by at least the pings in
#     show counters and in the scrape, and the fast_path share (column,
#     tier label) does; host 1's port samples have tier="engine" only;
#   - three frames with an unknown VSID from an attacker on the provider
#     segment raise hnvgw_datapath_drops_total{reason="drop_vsid_unknown"}
#     (both tiers summed) by exactly 3, the value `show counters` has;
#   - another path is 404, POST and DELETE on /metrics are 405 with
#     "Allow: GET, HEAD", HEAD is 200;
#   - a bad --metrics value and an address already in use stop hnvgwd
#     with a message naming them;
#   - hnvgwd exits 0 without sanitizer reports.
# Needs root, curl, promtool (package prometheus), python3-scapy. Run by
# `make netns-test`.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (network namespaces)"
for c in curl promtool ping; do
	command -v "$c" >/dev/null || fail "$c is not installed (make deps)"
done
SCAPY=/usr/bin/python3
"$SCAPY" -c 'import scapy' 2>/dev/null || fail "python3-scapy is not installed (make deps)"

ADDR=127.0.0.1:9417
URL=http://$ADDR/metrics
lab_bridge
DATAPATH=userspace start_host h1 192.168.4.11 "" --metrics "$ADDR"
start_host h2 192.168.4.22 "" --metrics "$ADDR"
sed -E '/^New-NetVirtualizationProviderAddress/s/192\.168\.4\.11/192.168.4.22/' \
	"$ROOT/tests/data/bluered.ps1" >"$T/bluered-host2.ps1"
cli h1 ps "$ROOT/tests/data/bluered.ps1" >"$T/ps-h1.out" || fail "ps on h1"
cli h2 ps "$T/bluered-host2.ps1" >"$T/ps-h2.out" || fail "ps on h2"
add_vm h1 b1 blue1 5001 10.0.0.5 060600000005
add_vm h1 r1 red1 6001 10.0.0.5 080800000005
add_vm h2 b2 blue2 5001 10.0.0.7 060600000007
add_vm h2 r2 red2 6001 10.0.0.7 080800000007
provider_attach x 192.168.4.99
grep -q "metrics: Prometheus endpoint on $URL" "$T/hnvgwd-h1.log" || fail "no metrics log line"
[[ $(tier h1) == userspace ]] || fail "host 1 does not forward in userspace"
TIER2=$(tier h2)
pass "lab up; both hosts serve $URL (host 1 userspace, host 2 $TIER2 datapath)"

# scrape FILE [HOST]: the document of HOST (h1) into FILE; prints the status and type
scrape() { nsx "${2:-h1}" curl -sS --max-time 15 -o "$1" -w '%{http_code} %{content_type}' "$URL"; }
# check DOC: promtool has nothing to say about it
check()
{
	local out
	out=$(promtool check metrics <"$1" 2>&1) || fail "promtool check metrics: $out"
	[[ -z $out ]] || fail "promtool check metrics reports: $out"
}
# value DOC NAME LABELS-PREFIX: the sum of the samples of NAME whose labels
# start with LABELS-PREFIX ("" for none); "none" when there is no sample
value()
{
	awk -v n="$2" -v l="$3" '
		/^#/ { next }
		{ s = $1; i = index(s, "{"); name = i ? substr(s, 1, i - 1) : s
		  lab = i ? substr(s, i + 1) : "" }
		name == n && index(lab, l) == 1 { sum += $NF; seen = 1 }
		END { if (seen) printf "%d\n", sum; else print "none" }' "$1"
}
# grew DOC0 DOC1 NAME LABELS MIN: NAME{LABELS...} grew by at least MIN
grew()
{
	local a b
	a=$(value "$1" "$3" "$4")
	b=$(value "$2" "$3" "$4")
	[[ $a != none && $b != none ]] || fail "$3{$4...}: no sample ($a, $b)"
	(((b - a) >= $5)) || fail "$3{$4...} moved by $((b - a)) ($a -> $b), want at least $5"
	echo $((b - a))
}

got=$(scrape "$T/m0") || fail "curl $URL"
[[ $got == "200 text/plain; version=0.0.4; charset=utf-8" ]] || fail "scrape: $got"
check "$T/m0"
for f in hnvgw_up hnvgw_config_revision hnvgw_datapath_info hnvgw_process_resident_memory_bytes \
	hnvgw_datapath_events_total hnvgw_datapath_drops_total hnvgw_port_rx_packets_total; do
	grep -q "^# TYPE $f " "$T/m0" || fail "no family $f"
done
[[ $(value "$T/m0" hnvgw_config_revision "") == "$(cli h1 --json show revisions |
	python3 -c 'import json,sys
r=json.load(sys.stdin); r=r.get("result",r) if isinstance(r,dict) else r
print([x["rev"] for x in r if x["current"]][0])')" ]] || fail "hnvgw_config_revision is not the current revision"
grep -q '^hnvgw_datapath_info{tier="userspace",requested="userspace"} 1$' "$T/m0" ||
	fail "hnvgw_datapath_info does not name the userspace tier"
scrape "$T/h2-m0" h2 >/dev/null || fail "scrape host 2"
check "$T/h2-m0"
grep -q "^hnvgw_datapath_info{tier=\"$TIER2\",requested=\"auto\"} 1$" "$T/h2-m0" ||
	fail "host 2: hnvgw_datapath_info does not name the $TIER2 tier"
pass "scrape: 200, text/plain; version=0.0.4, promtool check metrics finds nothing"

# port_row HOST PORT.COUNTER: "value fast_path" of the row of show counters
# ("-" for a column the row does not have)
port_row()
{
	cli "$1" --json show counters | python3 -c 'import json,sys
rows=json.load(sys.stdin)
rows=rows.get("result",rows) if isinstance(rows,dict) else rows
r=next(r for r in rows if r["counter"]==sys.argv[1])
print(r["value"], r.get("fast_path","-"))' "$2"
}

# ---- traffic: Blue1 -> Blue2 ----
N=5
read -r b2rx0 b2rxfp0 < <(port_row h2 blue2.rx_packets)
read -r b2tx0 b2txfp0 < <(port_row h2 blue2.tx_packets)
nsx b1 ping -c "$N" -i 0.2 -W 2 10.0.0.7 >"$T/ping.out" || fail "Blue1 cannot ping Blue2: $(tail -2 "$T/ping.out")"
scrape "$T/m1" >/dev/null || fail "second scrape"
check "$T/m1"
rx=$(grew "$T/m0" "$T/m1" hnvgw_port_rx_packets_total 'port="blue1"' "$N")
grew "$T/m0" "$T/m1" hnvgw_port_rx_bytes_total 'port="blue1"' $((N * 84)) >/dev/null
up=$(grew "$T/m0" "$T/m1" hnvgw_port_tx_packets_total 'port="uplink"' "$N")
enc=$(grew "$T/m0" "$T/m1" hnvgw_datapath_events_total 'reason="tx_encap",tier="engine"' "$N")
dec=$(grew "$T/m0" "$T/m1" hnvgw_port_rx_packets_total 'port="uplink"' "$N")
scrape "$T/h2-m1" h2 >/dev/null || fail "scrape host 2"
check "$T/h2-m1"
t2=engine
[[ $TIER2 == kernel ]] && t2=fast_path
enc2=$(grew "$T/h2-m0" "$T/h2-m1" hnvgw_datapath_events_total "reason=\"tx_encap\",tier=\"$t2\"" "$N")
pass "after $N pings: host 1 blue1 rx_packets +$rx, uplink tx +$up rx +$dec, tx_encap (engine) +$enc; host 2 tx_encap ($t2) +$enc2"

# host 2's VM port: with the kernel tier its echo requests (delivered by
# the uplink program) and replies (taken by the port program) never pass
# hnvgwd, yet its port counters move by the pings, in show counters and in
# the scrape, and the fast path's share says who counted them
read -r b2rx1 b2rxfp1 < <(port_row h2 blue2.rx_packets)
read -r b2tx1 b2txfp1 < <(port_row h2 blue2.tx_packets)
((b2rx1 - b2rx0 >= N)) || fail "host 2 show counters: blue2.rx_packets $b2rx0 -> $b2rx1, want +$N"
((b2tx1 - b2tx0 >= N)) || fail "host 2 show counters: blue2.tx_packets $b2tx0 -> $b2tx1, want +$N"
p2rx=$(grew "$T/h2-m0" "$T/h2-m1" hnvgw_port_rx_packets_total 'port="blue2"' "$N")
p2tx=$(grew "$T/h2-m0" "$T/h2-m1" hnvgw_port_tx_packets_total 'port="blue2"' "$N")
grew "$T/h2-m0" "$T/h2-m1" hnvgw_port_rx_bytes_total 'port="blue2"' $((N * 98)) >/dev/null
grew "$T/h2-m0" "$T/h2-m1" hnvgw_port_tx_bytes_total 'port="blue2"' $((N * 98)) >/dev/null
if [[ $TIER2 == kernel ]]; then
	[[ $b2rxfp1 != - && $b2txfp1 != - ]] || fail "host 2 show counters: blue2 rows without a fast_path column"
	((b2rxfp1 - b2rxfp0 >= N && b2txfp1 - b2txfp0 >= N)) ||
		fail "host 2 show counters: blue2 fast_path rx $b2rxfp0 -> $b2rxfp1, tx $b2txfp0 -> $b2txfp1, want +$N each"
	grew "$T/h2-m0" "$T/h2-m1" hnvgw_port_rx_packets_total 'port="blue2",tier="fast_path"' "$N" >/dev/null
	grew "$T/h2-m0" "$T/h2-m1" hnvgw_port_tx_packets_total 'port="blue2",tier="fast_path"' "$N" >/dev/null
	grep -q '^hnvgw_port_rx_packets_total{port="blue2",tier="engine"} ' "$T/h2-m1" ||
		fail "host 2: no tier=\"engine\" sample for blue2"
else
	grep -q '^hnvgw_port_rx_packets_total{port="blue2",tier="fast_path"}' "$T/h2-m1" &&
		fail "host 2 ($TIER2 tier): a fast_path sample for blue2"
fi
# host 1 forwards in userspace: one tier, engine
grep -q '^hnvgw_port_rx_packets_total{port="blue1",tier="engine"} ' "$T/m1" ||
	fail "host 1: blue1's rx_packets not labelled tier=\"engine\""
grep -q 'tier="fast_path"' "$T/m1" && fail "host 1 (userspace) has fast_path samples"
pass "host 2 ($TIER2 tier) blue2: show counters rx +$((b2rx1 - b2rx0)) tx +$((b2tx1 - b2tx0)) (fast_path rx +$((b2rxfp1 - b2rxfp0)) tx +$((b2txfp1 - b2txfp0))), scrape rx +$p2rx tx +$p2tx"

# ---- a hostile frame: an unknown VSID ----
H1MAC=$(nsx h1 cat /sys/class/net/up0/address)
coproc SCAPYSRV { exec ip netns exec "$P-x" "$SCAPY" "$HERE/nvgre.py" serve pv0 "$H1MAC" 2>"$T/scapy.log"; }
BGPIDS+=("$SCAPYSRV_PID")
echo "vsid_unknown 3" >&"${SCAPYSRV[1]}"
read -r -t 30 line <&"${SCAPYSRV[0]}" || fail "scapy: no answer: $(tail -3 "$T/scapy.log")"
[[ $line == "sent vsid_unknown" ]] || fail "scapy: $line"
c0=$(value "$T/m1" hnvgw_datapath_drops_total 'reason="drop_vsid_unknown"')
dropped3() {
	scrape "$T/m2" >/dev/null &&
		(($(value "$T/m2" hnvgw_datapath_drops_total 'reason="drop_vsid_unknown"') >= c0 + 3))
}
wait_for 10 dropped3 || fail "drop_vsid_unknown did not grow by 3 (was $c0)"
check "$T/m2"
c2=$(value "$T/m2" hnvgw_datapath_drops_total 'reason="drop_vsid_unknown"')
((c2 == c0 + 3)) || fail "drop_vsid_unknown: $c0 -> $c2, want +3"
shown=$(counter h1 drop_vsid_unknown)
((shown == c2)) || fail "show counters has drop_vsid_unknown $shown, the metrics $c2"
pass "3 frames with an unknown VSID: hnvgw_datapath_drops_total{reason=\"drop_vsid_unknown\"} +3 (= show counters)"

# ---- HTTP answers ----
code() { nsx h1 curl -sS --max-time 15 -o /dev/null -w '%{http_code}' "$@"; }
[[ $(code "http://$ADDR/") == 404 ]] || fail "GET / is not 404"
[[ $(code "http://$ADDR/metrics/x") == 404 ]] || fail "GET /metrics/x is not 404"
[[ $(code -X POST -d x=1 "$URL") == 405 ]] || fail "POST /metrics is not 405"
[[ $(code -X DELETE "$URL") == 405 ]] || fail "DELETE /metrics is not 405"
nsx h1 curl -sS -D - -o /dev/null -X PUT -d x "$URL" | tr -d '\r' | grep -qi '^Allow: GET, HEAD$' ||
	fail "405 without Allow: GET, HEAD"
[[ $(code -I "$URL") == 200 ]] || fail "HEAD /metrics is not 200"
pass "GET / 404, POST/DELETE/PUT /metrics 405 with Allow: GET, HEAD, HEAD 200"

# ---- refused settings ----
rc=0
out=$("$HNVGWD" --foreground --state-dir "$T/state-bad" --socket "$T/bad.sock" \
	--metrics localhost:9417 2>&1) || rc=$?
((rc == 2)) && grep -q -- '--metrics "localhost:9417": want IPV4:PORT or \[IPV6\]:PORT' <<<"$out" ||
	fail "--metrics localhost:9417: exit $rc, \"$out\""
rc=0
out=$(ip netns exec "$P-h1" "$HNVGWD" --foreground --state-dir "$T/state-bad" --socket "$T/bad.sock" \
	--metrics "$ADDR" 2>&1) || rc=$?
((rc == 1)) && grep -q -- "--metrics $ADDR: cannot listen: Address already in use" <<<"$out" ||
	fail "a taken address: exit $rc, \"$out\""
pass "refused: --metrics localhost:9417 (exit 2), an address in use (exit 1), both named"

stop_host h1
stop_host h2
pass "both hnvgwd exit 0 without sanitizer reports"
