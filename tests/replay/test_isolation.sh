#!/bin/bash
# test_isolation.sh: Blue and Red use the same addresses (10.0.0.5 on this
# host, 10.0.0.7 on host 2; tests/data/bluered-host1.conf) and stay apart:
# each tenant's frames go out with its own VSID to its own VM's record, ARP is
# answered per tenant, NVGRE whose VSID does not match the sender's record is
# dropped, nothing from Blue ever reaches red1, and broadcast ARP is answered
# locally, never sent to the uplink.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mkscratch

CONF=$REPO/tests/data/bluered-host1.conf
NEXTHOP_MAC=02:00:00:00:00:22
B1=06:06:00:00:00:05 B2=06:06:00:00:00:07
R1=08:08:00:00:00:05 R2=08:08:00:00:00:07
GW=02:15:5d:00:00:01

# Blue1: ARP for Blue2, a ping to Blue2, a frame to Red2's MAC, ARP for an
# address without a record, a broadcast ping.
BI=$SCRATCH/in-blue1.pcap
add "$BI" vm-arp $B1 10.0.0.5 10.0.0.7
add "$BI" vm-icmp $B1 $B2 10.0.0.5 10.0.0.7
add "$BI" vm-icmp $B1 $R2 10.0.0.5 10.0.0.7
add "$BI" vm-arp $B1 10.0.0.5 10.0.0.9
add "$BI" vm-icmp $B1 ff:ff:ff:ff:ff:ff 10.0.0.5 10.0.0.255
# Red1: ARP for Red2, a ping to Red2 (10.0.0.7 as well).
RI=$SCRATCH/in-red1.pcap
add "$RI" vm-arp $R1 10.0.0.5 10.0.0.7
add "$RI" vm-icmp $R1 $R2 10.0.0.5 10.0.0.7
# From host 2 (PA 192.168.4.22): Blue2 -> Blue1 and Red2 -> Red1 (valid), then
# VSID 5001 carrying Red2's MAC, Blue2 from a PA that is not its record's,
# VSID 6001 carrying Blue2's MAC, and VSID 5001 from Blue2 to Red1's MAC.
UI=$SCRATCH/in-uplink.pcap
add "$UI" nvgre 192.168.4.22 192.168.4.11 5001 1 $B2 $B1 10.0.0.7 10.0.0.5
add "$UI" nvgre 192.168.4.22 192.168.4.11 6001 1 $R2 $R1 10.0.0.7 10.0.0.5
add "$UI" nvgre 192.168.4.22 192.168.4.11 5001 1 $R2 $B1 10.0.0.7 10.0.0.5
add "$UI" nvgre 192.168.4.23 192.168.4.11 5001 1 $B2 $B1 10.0.0.7 10.0.0.5
add "$UI" nvgre 192.168.4.22 192.168.4.11 6001 1 $B2 $R1 10.0.0.7 10.0.0.5
add "$UI" nvgre 192.168.4.22 192.168.4.11 5001 1 $B2 $R1 10.0.0.7 10.0.0.5

O=$SCRATCH/out
rc=0
"$HNVGW_DP" replay --config "$CONF" --in blue1="$BI" --in red1="$RI" --in uplink="$UI" \
	--out "$O" --trace --neigh 192.168.4.22="$NEXTHOP_MAC" >"$SCRATCH/trace" 2>"$SCRATCH/err" || rc=$?
((rc == 0)) || { cat "$SCRATCH/err" >&2; fail "hnvgw-dp exited $rc, want 0"; }

# Every input frame has the same timestamp, so they are processed in --in
# order: blue1's, red1's, then the uplink's.
got=$("$PYTHON" -c '
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    print(o["ingress"], o["counter"], o.get("egress", "-"), o["vsid"])
' <"$SCRATCH/trace")
want="blue1 arp_reply blue1 5001
blue1 tx_encap uplink 5001
blue1 drop_no_record - 5001
blue1 drop_arp_unknown - 5001
blue1 drop_broadcast - 5001
red1 arp_reply red1 6001
red1 tx_encap uplink 6001
uplink rx_decap_delivered blue1 5001
uplink rx_decap_delivered red1 6001
uplink drop_spoof - 5001
uplink drop_spoof - 5001
uplink drop_spoof - 6001
uplink drop_no_local_port - 5001"
expect_eq "per-packet outcome (ingress counter egress vsid)" "$got" "$want"

# --- on the wire toward host 2: one frame per tenant, each with its VSID ------
expect_eq "frames on uplink" "$(tshark_count "$O/uplink.pcap")" 2
mapfile -t up < <(tshark_fields "$O/uplink.pcap" gre.key)
expect_eq "Blue1's ping VSID" "$(nvgre_vsid "${up[0]}")" 5001
expect_eq "Red1's ping VSID" "$(nvgre_vsid "${up[1]}")" 6001
mapfile -t up < <(tshark_fields --outer "$O/uplink.pcap" ip.dst eth.dst)
expect_eq "Blue1's ping goes to Blue2's PA" "${up[0]}" "$(printf '192.168.4.22\t%s' $NEXTHOP_MAC)"
expect_eq "Red1's ping goes to Red2's PA" "${up[1]}" "$(printf '192.168.4.22\t%s' $NEXTHOP_MAC)"
mapfile -t up < <(tshark_fields --inner "$O/uplink.pcap" eth.src eth.dst ip.src ip.dst icmp.type)
expect_eq "Blue1's ping inside" "${up[0]}" "$(printf '%s\t%s\t10.0.0.5\t10.0.0.7\t8' $B1 $B2)"
expect_eq "Red1's ping inside" "${up[1]}" "$(printf '%s\t%s\t10.0.0.5\t10.0.0.7\t8' $R1 $R2)"
expect_eq "ARP frames on uplink (broadcast ARP is answered locally)" \
	"$(tshark_count "$O/uplink.pcap" arp)" 0

# --- ARP for 10.0.0.7: the asker's own tenant answers ----------------------------
ARPF=(eth.src eth.dst arp.opcode arp.src.hw_mac arp.src.proto_ipv4 arp.dst.hw_mac arp.dst.proto_ipv4)
expect_eq "ARP reply to blue1" "$(tshark_fields "$O/blue1.pcap" "${ARPF[@]}" | awk -F'\t' '$3 != ""')" \
	"$(printf '%s\t%s\t2\t%s\t10.0.0.7\t%s\t10.0.0.5' $B2 $B1 $B2 $B1)"
expect_eq "ARP reply to red1" "$(tshark_fields "$O/red1.pcap" "${ARPF[@]}" | awk -F'\t' '$3 != ""')" \
	"$(printf '%s\t%s\t2\t%s\t10.0.0.7\t%s\t10.0.0.5' $R2 $R1 $R2 $R1)"

# --- what each VM received: its ARP reply and its own tenant's ping -----------
expect_eq "blue1 receives" "$(tshark_fields "$O/blue1.pcap" eth.src eth.dst eth.type ip.src icmp.type)" \
	"$(printf '%s\t%s\t0x0806\t\t\n%s\t%s\t0x0800\t10.0.0.7\t8' $B2 $B1 $B2 $B1)"
expect_eq "red1 receives" "$(tshark_fields "$O/red1.pcap" eth.src eth.dst eth.type ip.src icmp.type)" \
	"$(printf '%s\t%s\t0x0806\t\t\n%s\t%s\t0x0800\t10.0.0.7\t8' $R2 $R1 $R2 $R1)"
# nothing from a Blue input ever shows up on red1 (Blue MACs are 06:06:...)
expect_eq "frames with a Blue MAC in red1.pcap" \
	"$(tshark_count "$O/red1.pcap" 'eth.addr[0:2] == 06:06 || arp.src.hw_mac[0:2] == 06:06 || arp.dst.hw_mac[0:2] == 06:06')" 0
expect_eq "frames with a Red MAC in blue1.pcap" \
	"$(tshark_count "$O/blue1.pcap" 'eth.addr[0:2] == 08:08 || arp.src.hw_mac[0:2] == 08:08 || arp.dst.hw_mac[0:2] == 08:08')" 0

# --- Blue on its own: whatever Blue sends, red1 receives nothing --------------
# Blue's inputs above, plus what Blue could aim at Red: Red's MACs from blue1,
# and from host 2 Blue2's MAC and PA under VSID 6001 or toward Red1's MAC.
BO=$SCRATCH/blue-only-blue1.pcap
add "$BO" vm-icmp $B1 $R1 10.0.0.5 10.0.0.5
add "$BO" vm-icmp $B1 $R2 10.0.0.5 10.0.0.7
add "$BO" vm-icmp $B1 $GW 10.0.0.5 10.0.0.5
add "$BO" vm-icmp $B1 $GW 10.0.0.5 10.0.0.7
UO=$SCRATCH/blue-only-uplink.pcap
add "$UO" nvgre 192.168.4.22 192.168.4.11 5001 2 $B2 $B1 10.0.0.7 10.0.0.5
add "$UO" nvgre 192.168.4.23 192.168.4.11 5001 2 $B2 $B1 10.0.0.7 10.0.0.5
add "$UO" nvgre 192.168.4.22 192.168.4.11 5001 2 $B2 $R1 10.0.0.7 10.0.0.5
add "$UO" nvgre 192.168.4.22 192.168.4.11 6001 2 $B2 $R1 10.0.0.7 10.0.0.5
add "$UO" nvgre 192.168.4.22 192.168.4.11 6001 2 $B2 $B1 10.0.0.7 10.0.0.5
add "$UO" nvgre 192.168.4.22 192.168.4.11 5001 2 $B2 $GW 10.0.0.7 10.0.0.5
add "$UO" nvgre 192.168.4.22 192.168.4.11 5001 2 $B2 ff:ff:ff:ff:ff:ff 10.0.0.7 10.0.0.255
rc=0
"$HNVGW_DP" replay --config "$CONF" --in blue1="$BI" --in blue1="$BO" --in uplink="$UO" \
	--out "$SCRATCH/blue-only" --neigh 192.168.4.22="$NEXTHOP_MAC" >"$SCRATCH/blue-only.out" 2>&1 || rc=$?
((rc == 0)) || { cat "$SCRATCH/blue-only.out" >&2; fail "hnvgw-dp exited $rc, want 0"; }
expect_eq "frames on red1 when only Blue sends" "$(tshark_count "$SCRATCH/blue-only/red1.pcap")" 0
# and Blue's own traffic did flow (the run was not simply dropping everything):
# the ARP reply and Blue2's valid ping from host 2
expect_eq "frames from Blue2 on blue1 when only Blue sends" \
	"$(tshark_count "$SCRATCH/blue-only/blue1.pcap" "eth.src == $B2")" 2

echo "test_isolation: ok"
