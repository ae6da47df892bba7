#!/bin/bash
# test_replay.sh: the real NVGRE capture /work/shared/testdata/gre_nvgre.pcap
# (the same frame as tests/data/gre_nvgre.pcap: outer 100.0.17.1 ->
# 100.0.17.2, key 0x12345602 = VSID 0x123456 FlowID 2, inner
# aa:bb:00:00:10:01 10.0.0.1 -> aa:bb:00:00:10:02 10.0.0.2 TCP) replayed
# onto a provider bridge (scapy sendp, tests/netns/nvgre.py replay) towards
# a live hnvgwd host whose uplink has the capture's PA and MAC and whose
# policy is tests/data/testdata-host2.conf (the one the offline replay test
# uses; its VM port is created with port add and moved into a namespace).
# Only the outer IPv4 header checksum is rewritten: the capture has 0
# there and a receiving kernel would discard the packet. Asserts:
#   - without the sender's record the frame is dropped as drop_spoof and
#     the VM receives nothing;
#   - with the policy complete (record added through the CLI) the inner
#     frame reaches the VM's namespace byte for byte (tcpdump there), and
#     rx_decap_delivered counts it.
# Needs root and python3-scapy. Run by `make netns-test`.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (network namespaces)"
SCAPY=/usr/bin/python3
CAP=${NVGRE_PCAP:-/work/shared/testdata/gre_nvgre.pcap}
[[ -r $CAP ]] || CAP=$ROOT/tests/data/gre_nvgre.pcap
for c in tcpdump tshark; do
	command -v "$c" >/dev/null || fail "$c is not installed (make deps)"
done
"$SCAPY" -c 'import scapy' 2>/dev/null || fail "python3-scapy is not installed (make deps)"
[[ $(tshark -r "$CAP" -T fields -e gre.key 2>/dev/null) == 0x12345602 ]] || fail "$CAP is not the expected capture"

lab_bridge
start_host hx 100.0.17.2 aa:bb:00:00:20:02
provider_attach s 100.0.17.1
# the policy of the offline test, minus its sender record (added below) and
# its port (added with add_vm, so the TAP lands in the VM's namespace)
grep -vE '^(port add|lookup add .*gateway-wildcard)' "$ROOT/tests/data/testdata-host2.conf" |
	sed -E 's/--dev eth0/--dev up0/' >"$T/host.conf"
cli hx commit -f "$T/host.conf" >/dev/null || fail "commit of the capture's policy"
add_vm hx v vm2 1193046 10.0.0.2 aabb00001002
pass "host 100.0.17.2 (uplink MAC aa:bb:00:00:20:02) with VM 10.0.0.2 in VSID 0x123456"

replay()
{
	nsx s "$SCAPY" "$HERE/nvgre.py" replay pv0 "$CAP" >"$T/inner.hex" || fail "scapy replay"
}

# ---- no record of the sender: dropped by anti-spoofing, nothing delivered ----
cap_start v vm2 "$T/vm-1.pcap" -Q in
spoof=$(counter hx drop_spoof)
replay
wait_for 10 counter_ge hx drop_spoof $((spoof + 1)) || fail "replay without the sender's record: not dropped as drop_spoof"
(($(counter hx drop_spoof) == spoof + 1)) || fail "drop_spoof $spoof -> $(counter hx drop_spoof), want +1"
cap_stop "$T/vm-1.pcap"
(($(frames "$T/vm-1.pcap") == 0)) || fail "the VM received the frame without a matching policy"
pass "without the sender's lookup record: dropped as drop_spoof, nothing delivered"

# ---- the matching policy: the sender's gateway-wildcard record ----
cli hx lookup add --vsid 1193046 --ca 0.0.0.0 --pa 100.0.17.1 --mac aabb00001001 --type gateway-wildcard \
	>/dev/null || fail "lookup add of the capture's sender"
cap_start v vm2 "$T/vm-2.pcap" -Q in
deliv=$(counter hx rx_decap_delivered)
replay
wait_for 10 counter_ge hx rx_decap_delivered $((deliv + 1)) || fail "replay with the matching policy: not delivered"
(($(counter hx rx_decap_delivered) == deliv + 1)) || fail "rx_decap_delivered $deliv -> $(counter hx rx_decap_delivered), want +1"
cap_stop "$T/vm-2.pcap"
got=$(tshark -r "$T/vm-2.pcap" -T fields -e frame.protocols -e eth.src -e eth.dst -e ip.src -e ip.dst -e tcp.srcport -e tcp.dstport 2>/dev/null)
[[ $got == *"aa:bb:00:00:10:01	aa:bb:00:00:10:02	10.0.0.1	10.0.0.2	1001	1002" ]] ||
	fail "frame in the VM: $got"
(($(frames "$T/vm-2.pcap") == 1)) || fail "$(frames "$T/vm-2.pcap") frames in the VM, want 1"
"$SCAPY" - "$T/vm-2.pcap" "$(<"$T/inner.hex")" <<'PY' || fail "the VM's frame differs from the capture's inner frame"
import sys
from scapy.all import rdpcap
got = bytes(rdpcap(sys.argv[1])[0]).hex()
if got != sys.argv[2]:
    sys.exit("VM got  %s\ncapture %s" % (got, sys.argv[2]))
PY
pass "the capture's inner frame reached the VM namespace byte for byte (rx_decap_delivered +1)"

stop_host hx
pass "hnvgwd exits 0 without sanitizer reports"
