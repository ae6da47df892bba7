#!/bin/bash
# test_devport.sh: ports on devices someone else created (port add --dev):
# the VMs are namespaces behind veth pairs whose host ends are the ports,
# as a container's or a qemu/libvirt vnetN would be. Two host edges (lib.sh
# topology, Blue/Red policy), run once per forwarding tier:
#   userspace  hnvgwd --datapath userspace: the C engine serves the devices
#              through packet sockets (no eBPF at all);
#   kernel     hnvgwd --datapath kernel: the tc fast path forwards; skipped
#              (with the reason) when the fast path cannot load here.
# Asserts, per tier:
#   - show ports lists the ports with their devices (kind dev); show status
#     names the tier;
#   - Blue1<->Blue2 and Red1<->Red2 ping over NVGRE; ARP answered by the
#     local host (arp_reply; with the fast path: by the engine through the
#     punt channel);
#   - a TCP transfer (iperf3, both directions) completes;
#   - kernel: tx_encap and rx_decap_delivered counted by the fast path
#     (fast_path column) while the engine counted none of those frames
#     (engine column 0), punted frames counted (fastpath.punted);
#   - a port on a missing device is refused, naming the device; port del
#     leaves the device in place (hnvgwd only detaches);
#   - both daemons exit cleanly (ASan).
# Needs root. Run by `make netns-test`; DEVPORT_TIERS="userspace" limits
# the tiers.
set -euo pipefail

if [[ -z ${DEVPORT_TIER:-} ]]; then
	rc=0
	for tier in ${DEVPORT_TIERS:-userspace kernel}; do
		DEVPORT_TIER=$tier bash "$0" || rc=1
	done
	exit $rc
fi

# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"
((EUID == 0)) || fail "needs root (network namespaces)"
for c in ping iperf3 ethtool; do
	command -v "$c" >/dev/null || fail "$c is not installed (make deps)"
done
TIER=$DEVPORT_TIER
echo "# tier: $TIER"
if [[ $TIER == userspace ]]; then DEV_VM_NO_OFFLOAD=1; fi

# counter_col HOST NAME COLUMN: one column of one row of show counters
# ("-" when the row has no such column).
counter_col()
{
	cli "$1" --json show counters |
		python3 -c 'import json,sys
rows=json.load(sys.stdin)
print(next(r.get(sys.argv[2],"-") for r in rows if r["counter"]==sys.argv[1]))' "$2" "$3"
}

lab_bridge
if [[ $TIER == kernel ]]; then
	# does the fast path load here at all? (not a failure of this test)
	mkns probe
	ip netns exec "$P-probe" "$HNVGWD" --foreground --state-dir "$T/state-probe" \
		--socket "$T/probe.sock" --uplink lo --datapath kernel >"$T/probe.log" 2>&1 &
	ppid=$!
	if ! wait_for 10 "$HNVGW" --socket "$T/probe.sock" show status; then
		wait "$ppid" 2>/dev/null || true
		echo "ok - # SKIP kernel tier: $(grep -o 'not starting: .*' "$T/probe.log" | head -1)"
		exit 0
	fi
	kill -TERM "$ppid"
	wait "$ppid" || true
fi
start_host h1 192.168.4.11 "" --datapath "$TIER"
start_host h2 192.168.4.22 "" --datapath "$TIER"
sed -E '/^New-NetVirtualizationProviderAddress/s/192\.168\.4\.11/192.168.4.22/' \
	"$ROOT/tests/data/bluered.ps1" >"$T/bluered-host2.ps1"
cli h1 ps "$ROOT/tests/data/bluered.ps1" >"$T/ps-h1.out" || fail "ps on h1"
cli h2 ps "$T/bluered-host2.ps1" >"$T/ps-h2.out" || fail "ps on h2"
dev_vm h1 b1 blue1 5001 10.0.0.5 06:06:00:00:00:05
dev_vm h1 r1 red1 6001 10.0.0.5 08:08:00:00:00:05
dev_vm h2 b2 blue2 5001 10.0.0.7 06:06:00:00:00:07
dev_vm h2 r2 red2 6001 10.0.0.7 08:08:00:00:00:07
pass "lab up: 2 hosts ($TIER), 4 VMs behind veth pairs, ports with --dev"

cli h1 --json show ports >"$T/ports.json"
python3 - "$T/ports.json" <<'EOF' || fail "show ports: $(<"$T/ports.json")"
import json, sys
rows = {r["name"]: r for r in json.load(open(sys.argv[1]))}
assert rows["blue1"]["dev"] == "v-blue1" and rows["blue1"]["kind"] == "dev", rows
assert rows["red1"]["dev"] == "v-red1", rows
EOF
cli h1 show config | grep -q -- "port add blue1 --vsid 5001 .*--dev v-blue1" ||
	fail "show config: $(cli h1 show config | grep 'port add')"
st=$(cli h1 --json show status)
python3 -c 'import json,sys; r=json.loads(sys.argv[1])[0]
assert r["datapath"]==sys.argv[2], r' "$st" "$TIER" || fail "show status does not name the $TIER tier: $st"
pass "show ports/config list the devices; show status: $TIER"

nsx b1 ping -c 3 -i 0.2 -w 10 10.0.0.7 >"$T/ping-blue.out" || fail "Blue1 -> Blue2: $(<"$T/ping-blue.out")"
nsx r1 ping -c 3 -i 0.2 -w 10 10.0.0.7 >"$T/ping-red.out" || fail "Red1 -> Red2: $(<"$T/ping-red.out")"
nsx b2 ping -c 2 -i 0.2 -w 10 10.0.0.5 >/dev/null || fail "Blue2 -> Blue1"
nsx r2 ping -c 2 -i 0.2 -w 10 10.0.0.5 >/dev/null || fail "Red2 -> Red1"
pass "Blue1<->Blue2 and Red1<->Red2 ping over NVGRE between --dev ports"

arp=$(counter h1 arp_reply)
((arp >= 2)) || fail "h1 answered $arp ARP requests, want >= 2"
if [[ $TIER == kernel ]]; then
	earp=$(counter_col h1 arp_reply engine)
	((earp >= 2)) || fail "arp_reply by the engine (punted): $earp"
	punted=$(counter h1 fastpath.punted)
	((punted >= 2)) || fail "fastpath.punted is $punted"
fi
pass "ARP answered by the local host ($arp replies on h1)"

nsx b2 iperf3 -s -1 -p 5201 >"$T/iperf-srv.log" 2>&1 &
BGPIDS+=($!)
wait_for 10 nsx b2 bash -c 'ss -ltn | grep -q :5201' || fail "iperf3 server did not start"
nsx b1 timeout 30 iperf3 -c 10.0.0.7 -p 5201 -t 2 -J >"$T/iperf-up.json" ||
	fail "TCP Blue1 -> Blue2: $(tail -5 "$T/iperf-up.json")"
nsx b2 iperf3 -s -1 -p 5202 >"$T/iperf-srv2.log" 2>&1 &
BGPIDS+=($!)
wait_for 10 nsx b2 bash -c 'ss -ltn | grep -q :5202' || fail "iperf3 server did not start"
nsx b1 timeout 30 iperf3 -c 10.0.0.7 -p 5202 -t 2 -R -J >"$T/iperf-down.json" ||
	fail "TCP Blue2 -> Blue1: $(tail -5 "$T/iperf-down.json")"
bps=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' "$T/iperf-up.json")
((bps > 0)) || fail "iperf3 moved nothing"
pass "TCP over NVGRE both ways ($((bps / 1000000)) Mbit/s Blue1 -> Blue2)"

if [[ $TIER == kernel ]]; then
	for c in tx_encap rx_decap_delivered; do
		fpv=$(counter_col h1 $c fast_path)
		env=$(counter_col h1 $c engine)
		((fpv >= 10)) || fail "$c by the fast path on h1: $fpv"
		((env == 0)) || fail "$c by the engine on h1: $env (the engine saw frames the fast path should forward)"
	done
	# hnvgw trace shows the fast path's decisions
	cli h1 trace --count 3 --port blue1 --timeout 20 >"$T/trace.json" 2>"$T/trace.err" &
	tp=$!
	sleep 0.3
	nsx b1 ping -c 5 -i 0.2 -w 10 10.0.0.7 >/dev/null || fail "ping while tracing"
	wait "$tp" || fail "trace: $(<"$T/trace.err")"
	python3 - "$T/trace.json" <<'PY' || fail "trace records: $(cat "$T/trace.json")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
fp = [r for r in recs if r.get("tier") == "fast path"]
assert len(fp) >= 3, recs
assert all(r["ingress"] == "blue1" and r["vsid"] == 5001 for r in fp), fp
assert any(r["verdict"] == "forward" and r.get("egress") == "uplink" and r.get("counter") == "tx_encap" for r in fp), fp
PY
	pass "hnvgw trace: fast path verdicts (blue1 -> uplink, tx_encap, VSID 5001)"
	pass "tx_encap/rx_decap_delivered counted by the fast path ($(counter_col h1 tx_encap fast_path)/$(counter_col h1 rx_decap_delivered fast_path)), none by the engine"
else
	e=$(counter h1 tx_encap)
	((e >= 10)) || fail "tx_encap on h1: $e"
	rx=$(counter h1 blue1.rx_packets)
	((rx >= 10)) || fail "blue1.rx_packets on h1: $rx"
	pass "the engine forwarded the --dev ports (tx_encap $e, blue1.rx_packets $rx)"
fi

# ---- a missing device is refused; port del only detaches ----
if out=$(cli h1 port add ghost --vsid 5001 --ca 10.0.0.9 --mac 060600000009 --dev nosuchdev0 2>&1); then
	fail "port add on a missing device was accepted"
fi
[[ $out == *"nosuchdev0"* && $out == *"does not exist"* ]] || fail "refusal does not name the device: $out"
ghost=$out
! cli h1 show config | grep -q "port add ghost" || fail "the refused port was stored"
if out=$(cli h1 port add twin --vsid 5001 --ca 10.0.0.9 --mac 060600000009 --dev v-blue1 2>&1); then
	fail "a second port on v-blue1 was accepted"
fi
[[ $out == *"device v-blue1 is already the device of port \"blue1\""* ]] || fail "two ports on one device: $out"
pass "refused: a missing device ($ghost), a second port on one device"
cli h1 port del red1 >/dev/null || fail "port del red1"
nsx h1 ip link show v-red1 >/dev/null || fail "port del removed the device v-red1"
nsx b1 ping -c 1 -W 2 10.0.0.7 >/dev/null || fail "Blue1 -> Blue2 after red1 left"
pass "port del detached red1, its device v-red1 stays"

stop_host h1
stop_host h2
pass "both hnvgwd exit cleanly"
