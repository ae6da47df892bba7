#!/bin/bash
# test_migrate.sh: live migration of Blue2 from host 2 to host 1 on the
# two-host lab (lib.sh) while Blue1 pings it every 10 ms.
# The move, all through the CLI, as an orchestrator does it:
#   1. hnvgw port del blue2 on host 2, and Blue2's NIC leaves host 2 (its
#      veth is deleted, as a VM's vnetN goes with the VM);
#   2. Blue2's NIC appears on host 1 (a new veth, same MAC, configured as
#      before) and hnvgw port add blue2 --dev on host 1, same VSID, CA and
#      MAC (VM_PORTS=tap: hnvgwd's new TAP moved into Blue2's namespace);
#   3. hnvgw lookup set ... --pa 192.168.4.11 on host 1, then on host 2.
# Asserts:
#   - the ping runs on after the move (replies at the end come from the new
#     port: Blue2's new NIC receives, Blue1->Blue2 is now tx_local on h1);
#   - lost packets * interval < 1 s (the figure is printed, with the longest
#     gap between two replies for comparison);
#   - Red2 on host 2 is unaffected, and no Blue traffic reaches host 2's
#     uplink after its record is updated;
#   - both hnvgwd exit cleanly.
# Needs root. Run by `make netns-test`.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (network namespaces)"
command -v ping >/dev/null || fail "ping is not installed (make deps)"
lab_setup
pass "lab up: 2 hosts, 4 VMs"
nsx b1 ping -c 2 -i 0.2 -w 10 10.0.0.7 >/dev/null || fail "Blue1 -> Blue2 before the move"
cli h1 show lookup | grep -q "^10.0.0.7 .*5001 .*192.168.4.22" || fail "h1's record of Blue2 is not on h2"

INTERVAL=0.01
COUNT=500 # 5 s of pings; the move starts after 1 s
ip netns exec "$P-b1" ping -D -i "$INTERVAL" -c "$COUNT" -W 1 10.0.0.7 >"$T/ping.out" 2>&1 &
PINGPID=$!
BGPIDS+=("$PINGPID")
wait_for 5 grep -q "icmp_seq=50 " "$T/ping.out" || fail "ping did not get going: $(tail -3 "$T/ping.out")"

t0=$(date +%s.%N)
cli h2 port del blue2 >/dev/null || fail "port del blue2 on h2"
if [[ ${VM_PORTS:-dev} == dev ]]; then
	nsx h2 ip link del v-blue2
	ip link add v-blue2 netns "$P-h1" type veth peer name blue2 netns "$P-b2" \
		address 06:06:00:00:00:07
	nsx h1 ip link set v-blue2 up
	[[ $(tier h1) == kernel ]] ||
		nsx b2 ethtool -K blue2 tso off gso off gro off >/dev/null 2>&1 || true
	cli h1 port add blue2 --vsid 5001 --ca 10.0.0.7 --mac 060600000007 --dev v-blue2 \
		>/dev/null || fail "port add blue2 on h1"
else
	cli h1 port add blue2 --vsid 5001 --ca 10.0.0.7 --mac 060600000007 >/dev/null ||
		fail "port add blue2 on h1"
	wait_for 10 nsx h1 ip link show blue2 || fail "no TAP blue2 on h1"
	nsx h1 ip link set blue2 netns "$P-b2"
fi
nsx b2 ip addr add 10.0.0.7/24 dev blue2
nsx b2 ip link set blue2 up
nsx b2 ip route replace default via 10.0.0.1
t1=$(date +%s.%N)
cli h1 lookup set --vsid 5001 --ca 10.0.0.7 --mac 060600000007 --pa 192.168.4.11 >/dev/null ||
	fail "lookup set on h1"
cli h2 lookup set --vsid 5001 --ca 10.0.0.7 --mac 060600000007 --pa 192.168.4.11 >/dev/null ||
	fail "lookup set on h2"
t2=$(date +%s.%N)
# NVGRE host 2 took in for Blue (either tier)
blue_in() { echo $(($(counter h2 rx_decap_delivered) + $(counter h2 drop_no_local_port))); }
h2_rx=$(blue_in)

wait "$PINGPID" || true # ping exits 1 when any packet was lost
tail -4 "$T/ping.out" >"$T/ping.summary"
read -r tx rx < <(sed -nE 's/^([0-9]+) packets transmitted, ([0-9]+) received.*/\1 \2/p' "$T/ping.out")
[[ -n ${tx:-} && -n ${rx:-} ]] || fail "no ping summary: $(tail -3 "$T/ping.out")"
((tx >= COUNT - 5)) || fail "ping sent only $tx of $COUNT"
lost=$((tx - rx))
# longest silence between two consecutive replies ([epoch] ... icmp_seq=N)
gap=$(python3 - "$T/ping.out" <<'EOF'
import re, sys
ts = [float(m.group(1)) for m in re.finditer(r"^\[(\d+\.\d+)\].*icmp_seq=\d+ ttl", open(sys.argv[1]).read(), re.M)]
print("%.3f" % max((b - a for a, b in zip(ts, ts[1:])), default=99))
EOF
)
loss=$(python3 -c "print('%.3f' % ($lost * $INTERVAL))")
echo "# migration: $lost of $tx pings lost at ${INTERVAL}s interval = ${loss}s of loss;" \
	"longest gap between replies ${gap}s; port moved in" \
	"$(python3 -c "print('%.3f' % ($t1 - $t0))")s, records updated in $(python3 -c "print('%.3f' % ($t2 - $t1))")s"
python3 -c "import sys; sys.exit(0 if $lost * $INTERVAL < 1.0 else 1)" ||
	fail "live migration lost $lost packets = ${loss}s (want < 1 s)"
# the last replies came through the new port on host 1
tail -n 20 "$T/ping.out" | grep -q "icmp_seq=$((tx - 1)) \|icmp_seq=$((tx - 2)) " ||
	fail "the last pings were not answered: $(tail -5 "$T/ping.out")"
pass "Blue2 moved h2 -> h1 under a ${INTERVAL}s ping: $lost lost = ${loss}s (< 1 s)"

# after the move: Blue1 -> Blue2 stays on host 1; host 2 sees no more of it
local_before=$(counter h1 tx_local)
b2rx=$(nsx b2 cat /sys/class/net/blue2/statistics/rx_packets)
((b2rx > 0)) || fail "Blue2's NIC on h1 received nothing"
nsx b1 ping -c 3 -i 0.2 -w 10 10.0.0.7 >/dev/null || fail "Blue1 -> Blue2 after the move"
nsx b2 ping -c 2 -i 0.2 -w 10 10.0.0.5 >/dev/null || fail "Blue2 -> Blue1 after the move"
((($(counter h1 tx_local)) >= local_before + 5)) || fail "Blue1 <-> Blue2 is not local on h1"
h2_rx_after=$(blue_in)
((h2_rx_after == h2_rx)) || fail "host 2 still received $((h2_rx_after - h2_rx)) NVGRE packets after the move"
cli h2 show ports | grep -q blue2 && fail "blue2 still a port on h2"
cli h1 show lookup | grep -q "^10.0.0.7 .*5001 .*192.168.4.11" || fail "h1's record of Blue2: $(cli h1 show lookup)"
cli h2 show lookup | grep -q "^10.0.0.7 .*5001 .*192.168.4.11" || fail "h2's record of Blue2: $(cli h2 show lookup)"
nsx r1 ping -c 2 -i 0.2 -w 10 10.0.0.7 >/dev/null || fail "Red1 -> Red2 after Blue2's move"
pass "after the move: Blue1 <-> Blue2 local on h1, records point to 192.168.4.11 on both hosts, h2 sees no Blue traffic, Red unaffected"

stop_host h1
stop_host h2
pass "both hnvgwd exit 0 without sanitizer reports"
