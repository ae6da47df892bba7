#!/bin/bash
# test_gw_record.sh: the default-gateway lookup records of Microsoft's
# Windows Server 2012 demo (CA 10.0.0.1 -> PA 169.254.254.254, MAC
# 101010101101; CA 10.0.1.1 -> MAC 101010101001) on
# tests/data/blue-routed-host1.conf (Blue: VSID 5001 10.0.0.0/24 with Blue1
# local, VSID 5002 10.0.1.0/24 with Blue3 local and Blue9 on host 3). The
# config commits; each record's MAC is its subnet's router MAC: ARP for the
# gateway answers it, frames to it are routed (to the global gateway MAC
# they are not), routed frames leave with the destination subnet's router
# MAC, a frame host 3 routed into VSID 5001 (from that MAC) is accepted.
# Red (no record) keeps the global MAC. Deleting the record gives VSID 5001
# the global MAC back.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mkscratch

NEXTHOP_MAC=02:00:00:00:00:33 # host 3
GW=02:15:5d:00:00:01          # the global gateway MAC (datapath/dp.h)
DG1=10:10:10:10:11:01 DG2=10:10:10:10:10:01
B1=06:06:00:00:00:05 B3=06:06:00:01:00:05 B9=06:06:00:01:00:09
R1=08:08:00:00:00:05

CONF=$SCRATCH/demo.conf
{
	cat "$REPO/tests/data/blue-routed-host1.conf"
	echo 'lookup add --vsid 5001 --ca 10.0.0.1 --pa 169.254.254.254 --mac 101010101101 --rule encap --vm-name BlueS1-DG'
	echo 'lookup add --vsid 5002 --ca 10.0.1.1 --pa 169.254.254.254 --mac 101010101001 --rule encap --vm-name Blue-GWDG'
} >"$CONF"

BI=$SCRATCH/blue1-in.pcap
add "$BI" vm-arp $B1 10.0.0.5 10.0.0.1
add "$BI" vm-icmp $B1 $DG1 10.0.0.5 10.0.1.9
add "$BI" vm-icmp $B1 $DG1 10.0.0.5 10.0.1.5
add "$BI" vm-icmp $B1 $GW 10.0.0.5 10.0.1.9
RI=$SCRATCH/red1-in.pcap
add "$RI" vm-arp $R1 10.0.0.5 10.0.0.1
UI=$SCRATCH/uplink-in.pcap
add "$UI" nvgre 192.168.4.33 192.168.4.11 5001 9 $DG1 $B1 10.0.1.9 10.0.0.5 --ttl 63
add "$UI" nvgre 192.168.4.33 192.168.4.11 5001 9 $GW $B1 10.0.1.9 10.0.0.5 --ttl 63

replay_run run "$CONF" --neigh 192.168.4.33="$NEXTHOP_MAC" --in blue1="$BI" --in red1="$RI" --in uplink="$UI"
O=$SCRATCH/run
expect_eq "per-packet outcome (ingress counter egress vsid)" "$(outcomes run)" \
	"blue1 arp_reply blue1 5001
blue1 tx_routed_encap uplink 5002
blue1 tx_routed_local blue3 5002
blue1 drop_no_record - 5001
red1 arp_reply red1 6001
uplink rx_decap_delivered blue1 5001
uplink drop_spoof - 5001"
expect_eq "ARP reply for 10.0.0.1: the record's MAC" \
	"$(tshark_fields "$O/blue1.pcap" eth.src arp.src.hw_mac arp.src.proto_ipv4 | awk -F'\t' '$2 != ""')" \
	"$(printf '%s\t%s\t10.0.0.1' $DG1 $DG1)"
expect_eq "ARP reply for Red's 10.0.0.1: the global MAC" \
	"$(tshark_fields "$O/red1.pcap" arp.src.hw_mac)" $GW
expect_eq "routed to Blue9: from VSID 5002's router MAC, NVGRE key VSID 5002" \
	"$(tshark_fields --inner "$O/uplink.pcap" eth.src eth.dst ip.ttl) $(nvgre_vsid "$(tshark_fields "$O/uplink.pcap" gre.key)")" \
	"$(printf '%s\t%s\t63' $DG2 $B9) 5002"
expect_eq "routed to Blue3 on this host: from VSID 5002's router MAC" \
	"$(tshark_fields "$O/blue3.pcap" eth.src eth.dst ip.src ip.dst ip.ttl)" \
	"$(printf '%s\t%s\t10.0.0.5\t10.0.1.5\t63' $DG2 $B3)"
expect_eq "Blue9's reply routed by host 3 reaches Blue1" \
	"$(tshark_fields "$O/blue1.pcap" eth.src eth.dst ip.src | awk -F'\t' '$3 == "10.0.1.9"')" \
	"$(printf '%s\t%s\t10.0.1.9' $DG1 $B1)"

# --- the record deleted: VSID 5001 has the global MAC again -----------------------
{
	cat "$CONF"
	echo 'lookup del --vsid 5001 --ca 10.0.0.1 --mac 101010101101'
} >"$SCRATCH/del.conf"
DI=$SCRATCH/del-in.pcap
add "$DI" vm-arp $B1 10.0.0.5 10.0.0.1
add "$DI" vm-icmp $B1 $GW 10.0.0.5 10.0.1.9
add "$DI" vm-icmp $B1 $DG1 10.0.0.5 10.0.1.9
replay_run del "$SCRATCH/del.conf" --neigh 192.168.4.33="$NEXTHOP_MAC" --in blue1="$DI"
expect_eq "after lookup del (ingress counter egress vsid)" "$(outcomes del)" \
	"blue1 arp_reply blue1 5001
blue1 tx_routed_encap uplink 5002
blue1 drop_no_record - 5001"
expect_eq "ARP reply for 10.0.0.1 after lookup del: the global MAC" \
	"$(tshark_fields "$SCRATCH/del/blue1.pcap" arp.src.hw_mac)" $GW
expect_eq "routed into VSID 5002 still from its record's MAC" \
	"$(tshark_fields --inner "$SCRATCH/del/uplink.pcap" eth.src)" $DG2

echo "test_gw_record: ok"
