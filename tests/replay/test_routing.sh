#!/bin/bash
# test_routing.sh: the distributed default gateway
# (tests/data/blue-routed-host1.conf: Blue has VSID 5001 10.0.0.0/24 and VSID
# 5002 10.0.1.0/24, Blue9 10.0.1.9 on host 3, Blue3 10.0.1.5 local). Blue1
# sends to the gateway MAC; hnvgw routes inside Blue: the frame leaves with the
# destination's VSID, gateway MAC as source, the record's MAC as destination,
# TTL one lower. The gateway answers ARP and ping for 10.0.0.1; Red has no
# route into Blue's second subnet.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mkscratch

CONF=$REPO/tests/data/blue-routed-host1.conf
NEXTHOP_MAC=02:00:00:00:00:33 # host 3
GW=02:15:5d:00:00:01          # the default virtual gateway MAC (datapath/dp.h)
B1=06:06:00:00:00:05 B3=06:06:00:01:00:05 B9=06:06:00:01:00:09
R1=08:08:00:00:00:05

# Blue1: ping Blue9 (TTL 64 and 10), ping Blue3 (local, other VSID), ARP for
# the gateway, ping the gateway, ping Blue9 with TTL 1 (expires).
BI=$SCRATCH/blue1-in.pcap
add "$BI" vm-icmp $B1 $GW 10.0.0.5 10.0.1.9 --ttl 64
add "$BI" vm-icmp $B1 $GW 10.0.0.5 10.0.1.9 --ttl 10
add "$BI" vm-icmp $B1 $GW 10.0.0.5 10.0.1.5 --ttl 64
add "$BI" vm-arp $B1 10.0.0.5 10.0.0.1
add "$BI" vm-icmp $B1 $GW 10.0.0.5 10.0.0.1 --count 2
add "$BI" vm-icmp $B1 $GW 10.0.0.5 10.0.1.9 --ttl 1
# Red1 tries the same addresses.
RI=$SCRATCH/red1-in.pcap
add "$RI" vm-icmp $R1 $GW 10.0.0.5 10.0.1.9
add "$RI" vm-icmp $R1 $GW 10.0.0.5 10.0.1.5
# Host 3 sends Blue9's reply, routed there: VSID 5001 (the destination's),
# gateway MAC as source. Then the same from a PA that is not Blue9's.
UI=$SCRATCH/uplink-in.pcap
add "$UI" nvgre 192.168.4.33 192.168.4.11 5001 9 $GW $B1 10.0.1.9 10.0.0.5 --ttl 63
add "$UI" nvgre 192.168.4.22 192.168.4.11 5001 9 $GW $B1 10.0.1.9 10.0.0.5 --ttl 63

replay_run run "$CONF" --neigh 192.168.4.33="$NEXTHOP_MAC" --in blue1="$BI" --in red1="$RI" --in uplink="$UI"
O=$SCRATCH/run
# Replay order is by timestamp, then --in order: mkpcap starts every call at
# the same timestamp, so the second ping of --count 2 (1 ms later) comes last.
expect_eq "per-packet outcome (ingress counter egress vsid)" "$(outcomes run)" \
	"blue1 tx_routed_encap uplink 5002
blue1 tx_routed_encap uplink 5002
blue1 tx_routed_local blue3 5002
blue1 arp_reply blue1 5001
blue1 echo_reply blue1 5001
blue1 drop_ttl - 5001
red1 drop_no_route - 6001
red1 drop_no_route - 6001
uplink rx_decap_delivered blue1 5001
uplink drop_spoof - 5001
blue1 echo_reply blue1 5001"

# --- routed to Blue9 on host 3 --------------------------------------------------
U=$O/uplink.pcap
expect_eq "frames on uplink" "$(tshark_count "$U")" 2
mapfile -t keys < <(tshark_fields "$U" gre.key)
expect_eq "VSID of the routed ping" "$(nvgre_vsid "${keys[0]}") $(nvgre_vsid "${keys[1]}")" "5002 5002"
expect_eq "outer destination (Blue9's PA, host 3's MAC)" \
	"$(tshark_fields --outer "$U" ip.dst eth.dst | sort -u)" "$(printf '192.168.4.33\t%s' $NEXTHOP_MAC)"
expect_eq "inner Ethernet: gateway MAC -> Blue9's record MAC" \
	"$(tshark_fields --inner "$U" eth.src eth.dst | sort -u)" "$(printf '%s\t%s' $GW $B9)"
expect_eq "inner IPv4 after routing (TTL 64 -> 63, 10 -> 9, checksum Good)" \
	"$(tshark_fields --inner "$U" ip.src ip.dst ip.ttl ip.checksum.status icmp.type)" \
	"$(printf '10.0.0.5\t10.0.1.9\t63\t1\t8\n10.0.0.5\t10.0.1.9\t9\t1\t8')"

# --- routed to Blue3 on this host -------------------------------------------------
expect_eq "blue3 receives the routed ping" \
	"$(tshark_fields "$O/blue3.pcap" eth.src eth.dst ip.src ip.dst ip.ttl ip.checksum.status)" \
	"$(printf '%s\t%s\t10.0.0.5\t10.0.1.5\t63\t1' $GW $B3)"

# --- the gateway itself: ARP and ping -----------------------------------------------
B1OUT=$O/blue1.pcap
expect_eq "ARP reply for 10.0.0.1" \
	"$(tshark_fields "$B1OUT" eth.src eth.dst arp.opcode arp.src.hw_mac arp.src.proto_ipv4 arp.dst.hw_mac arp.dst.proto_ipv4 | awk -F'\t' '$3 != ""')" \
	"$(printf '%s\t%s\t2\t%s\t10.0.0.1\t%s\t10.0.0.5' $GW $B1 $GW $B1)"
expect_eq "echo replies from 10.0.0.1" \
	"$(tshark_fields "$B1OUT" eth.src eth.dst ip.src ip.dst icmp.type icmp.seq icmp.checksum.status ip.checksum.status | awk -F'\t' '$5 == "0"')" \
	"$(printf '%s\t%s\t10.0.0.1\t10.0.0.5\t0\t1\t1\t1\n%s\t%s\t10.0.0.1\t10.0.0.5\t0\t2\t1\t1' $GW $B1 $GW $B1)"

# --- Blue9's reply, routed by host 3, reaches Blue1 as it arrived ---------------------
expect_eq "blue1 receives Blue9's reply" \
	"$(tshark_fields "$B1OUT" eth.src eth.dst ip.src ip.dst ip.ttl | awk -F'\t' '$3 == "10.0.1.9"')" \
	"$(printf '%s\t%s\t10.0.1.9\t10.0.0.5\t63' $GW $B1)"
expect_eq "frames on blue1" "$(tshark_count "$B1OUT")" 4
expect_eq "frames on red1" "$(tshark_count "$O/red1.pcap")" 0

# --- another gateway MAC in the config: ARP and routed frames use it ----------------
{
	cat "$CONF"
	echo "global set --gateway-mac 00-15-5d-ff-00-01"
} >"$SCRATCH/gwmac.conf"
: >"$SCRATCH/gwmac-in.pcap"
add "$SCRATCH/gwmac-in.pcap" vm-arp $B1 10.0.0.5 10.0.0.1
add "$SCRATCH/gwmac-in.pcap" vm-icmp $B1 00:15:5d:ff:00:01 10.0.0.5 10.0.1.9
add "$SCRATCH/gwmac-in.pcap" vm-icmp $B1 $GW 10.0.0.5 10.0.1.9
replay_run gwmac "$SCRATCH/gwmac.conf" --neigh 192.168.4.33="$NEXTHOP_MAC" --in blue1="$SCRATCH/gwmac-in.pcap"
expect_eq "ARP reply with the configured gateway MAC" \
	"$(tshark_fields "$SCRATCH/gwmac/blue1.pcap" arp.src.hw_mac)" 00:15:5d:ff:00:01
expect_eq "routed frame's inner source with the configured gateway MAC" \
	"$(tshark_fields --inner "$SCRATCH/gwmac/uplink.pcap" eth.src eth.dst)" \
	"$(printf '00:15:5d:ff:00:01\t%s' $B9)"
expect_eq "frames to the old gateway MAC are not routed" \
	"$(outcomes gwmac | sed -n 3p | cut -d' ' -f2)" drop_no_record

echo "test_routing: ok"
