#!/bin/bash
# test_mtu.sh: NVGRE is never fragmented. With a 1500-byte uplink a customer
# packet may be at most 1500 - 42 = 1458 bytes over IPv4 PAs, 1500 - 62 = 1438
# over IPv6 PAs. A larger one is answered to the VM by the default gateway
# (ICMP fragmentation needed / ICMPv6 packet too big, with that MTU) and
# nothing goes to the uplink; one that fits passes. IPv6 neighbour
# discovery: NS answered from the records with an NA, DAD probes never.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mkscratch

V4CONF=$SCRATCH/bluered-mtu1500.conf
{
	cat "$REPO/tests/data/bluered-host1.conf"
	echo "global set --uplink-mtu 1500"
} >"$V4CONF"
V6CONF=$REPO/tests/data/blue-dualstack-host1.conf
GW=02:15:5d:00:00:01
B1=06:06:00:00:00:05 B2=06:06:00:00:00:07

# replay NAME CONFIG IN.pcap: IN.pcap enters on blue1; outputs in
# $SCRATCH/NAME/, trace in NAME.trace.
replay()
{
	local name=$1 conf=$2 in=$3 rc=0
	"$HNVGW_DP" replay --config "$conf" --in blue1="$in" --out "$SCRATCH/$name" --trace \
		--neigh 192.168.4.22=02:00:00:00:00:22 --neigh 2001:db8:4::22=02:00:00:00:00:22 \
		>"$SCRATCH/$name.trace" 2>"$SCRATCH/$name.err" || rc=$?
	if ((rc != 0)); then
		cat "$SCRATCH/$name.err" >&2
		fail "replay $name: hnvgw-dp exited $rc, want 0"
	fi
}

# counters NAME: one line per packet, the counter it incremented.
counters()
{
	"$PYTHON" -c '
import json, sys
for line in sys.stdin:
    print(json.loads(line)["counter"])
' <"$SCRATCH/$1.trace"
}

# one NAME CONFIG KIND ARGS...: replay a single crafted frame from blue1.
one()
{
	local name=$1 conf=$2
	shift 2
	mkpcap "$SCRATCH/$name.pcap" "$@"
	replay "$name" "$conf" "$SCRATCH/$name.pcap"
}

# --- IPv4 over IPv4 PAs -----------------------------------------------------------
one big4 "$V4CONF" vm-icmp $B1 $B2 10.0.0.5 10.0.0.7 --size 1500 --df
expect_eq "counter for 1500 bytes, DF" "$(counters big4)" icmp_frag_needed
expect_eq "frames on uplink for 1500 bytes, DF" "$(tshark_count "$SCRATCH/big4/uplink.pcap")" 0
# the error (outer occurrence) from the gateway, quoting the packet (inner)
expect_eq "ICMP error to blue1" \
	"$(tshark_fields --outer "$SCRATCH/big4/blue1.pcap" eth.src eth.dst ip.src ip.dst icmp.type icmp.code icmp.mtu icmp.checksum.status)" \
	"$(printf '%s\t%s\t10.0.0.1\t10.0.0.5\t3\t4\t1458\t1' $GW $B1)"
expect_eq "packet quoted in the ICMP error" \
	"$(tshark_fields --inner "$SCRATCH/big4/blue1.pcap" ip.src ip.dst ip.len)" \
	"$(printf '10.0.0.5\t10.0.0.7\t1500')"
len=$(tshark_fields --outer "$SCRATCH/big4/blue1.pcap" ip.len)
((len <= 576)) || fail "ICMP error is $len bytes, more than 576"

one fit4 "$V4CONF" vm-icmp $B1 $B2 10.0.0.5 10.0.0.7 --size 1458 --df
expect_eq "counter for 1458 bytes, DF" "$(counters fit4)" tx_encap
expect_eq "frames on blue1 for 1458 bytes" "$(tshark_count "$SCRATCH/fit4/blue1.pcap")" 0
expect_eq "1458 bytes on the uplink: outer length, MF, frame length, inner length" \
	"$(tshark_fields "$SCRATCH/fit4/uplink.pcap" ip.len ip.flags.mf frame.len)" \
	"$(printf '1500,1458\t0,0\t1514')"

one over4 "$V4CONF" vm-icmp $B1 $B2 10.0.0.5 10.0.0.7 --size 1459 --df
expect_eq "counter for 1459 bytes, DF" "$(counters over4)" icmp_frag_needed
expect_eq "MTU for 1459 bytes" "$(tshark_fields --outer "$SCRATCH/over4/blue1.pcap" icmp.mtu)" 1458

one nodf4 "$V4CONF" vm-icmp $B1 $B2 10.0.0.5 10.0.0.7 --size 1459
expect_eq "counter for 1459 bytes without DF (never fragmented)" "$(counters nodf4)" drop_mtu
expect_eq "frames out for 1459 bytes without DF" \
	"$(tshark_count "$SCRATCH/nodf4/uplink.pcap") $(tshark_count "$SCRATCH/nodf4/blue1.pcap")" "0 0"

# jumbo provider network: the same 1500 bytes pass
{
	cat "$REPO/tests/data/bluered-host1.conf"
	echo "global set --uplink-mtu 9000"
} >"$SCRATCH/jumbo.conf"
replay jumbo "$SCRATCH/jumbo.conf" "$SCRATCH/big4.pcap"
expect_eq "counter for 1500 bytes with uplink MTU 9000" "$(counters jumbo)" tx_encap
expect_eq "outer length with uplink MTU 9000" \
	"$(tshark_fields --outer "$SCRATCH/jumbo/uplink.pcap" ip.len)" 1542

# --- IPv6 over IPv6 PAs: 62 bytes of overhead -----------------------------------------
one big6 "$V6CONF" vm-icmp6 $B1 $B2 fd00:5001::5 fd00:5001::7 --size 1500
expect_eq "counter for 1500 bytes IPv6" "$(counters big6)" icmp6_too_big
expect_eq "frames on uplink for 1500 bytes IPv6" "$(tshark_count "$SCRATCH/big6/uplink.pcap")" 0
expect_eq "ICMPv6 packet too big to blue1" \
	"$(tshark_fields --outer "$SCRATCH/big6/blue1.pcap" eth.src eth.dst ipv6.src ipv6.dst icmpv6.type icmpv6.code icmpv6.mtu icmpv6.checksum.status)" \
	"$(printf '%s\t%s\tfd00:5001::1\tfd00:5001::5\t2\t0\t1438\t1' $GW $B1)"
len=$(tshark_fields --outer "$SCRATCH/big6/blue1.pcap" frame.len)
((len - 14 <= 1280)) || fail "ICMPv6 error is $((len - 14)) bytes, more than 1280"

one fit6 "$V6CONF" vm-icmp6 $B1 $B2 fd00:5001::5 fd00:5001::7 --size 1438
expect_eq "counter for 1438 bytes IPv6" "$(counters fit6)" tx_encap
expect_eq "1438 bytes IPv6 on the uplink: outer IPv6 payload, next header, frame length" \
	"$(tshark_fields --outer "$SCRATCH/fit6/uplink.pcap" ipv6.src ipv6.dst ipv6.plen ipv6.nxt frame.len)" \
	"$(printf '2001:db8:4::11\t2001:db8:4::22\t1460\t47\t1514')"

one over6 "$V6CONF" vm-icmp6 $B1 $B2 fd00:5001::5 fd00:5001::7 --size 1439
expect_eq "MTU for 1439 bytes IPv6" "$(tshark_fields --outer "$SCRATCH/over6/blue1.pcap" icmpv6.mtu)" 1438

one over46 "$V6CONF" vm-icmp $B1 $B2 10.0.0.5 10.0.0.7 --size 1439 --df
expect_eq "MTU for 1439 bytes IPv4 over IPv6 PAs" \
	"$(tshark_fields --outer "$SCRATCH/over46/blue1.pcap" icmp.type icmp.code icmp.mtu)" "$(printf '3\t4\t1438')"

# --- IPv6 over IPv4 PAs: 42 bytes of overhead -----------------------------------------
sed -e 's/2001:db8:4::11\/64/192.168.4.11\/24/' -e 's/2001:db8:4::11/192.168.4.11/' \
	-e 's/2001:db8:4::22/192.168.4.22/' "$V6CONF" >"$SCRATCH/v6-over-v4.conf"
! grep -q 2001:db8 "$SCRATCH/v6-over-v4.conf" || fail "sed left an IPv6 PA"
replay big64 "$SCRATCH/v6-over-v4.conf" "$SCRATCH/big6.pcap"
expect_eq "MTU for 1500 bytes IPv6 over IPv4 PAs" \
	"$(tshark_fields --outer "$SCRATCH/big64/blue1.pcap" icmpv6.type icmpv6.mtu)" "$(printf '2\t1458')"
mkpcap "$SCRATCH/fit64.pcap" vm-icmp6 $B1 $B2 fd00:5001::5 fd00:5001::7 --size 1458
replay fit64 "$SCRATCH/v6-over-v4.conf" "$SCRATCH/fit64.pcap"
expect_eq "counter for 1458 bytes IPv6 over IPv4 PAs" "$(counters fit64)" tx_encap

# --- neighbour discovery ------------------------------------------------------------------
one ns "$V6CONF" vm-ns $B1 fd00:5001::5 fd00:5001::7
expect_eq "counter for NS fd00:5001::7" "$(counters ns)" nd_advert
expect_eq "NA to blue1" \
	"$(tshark_fields "$SCRATCH/ns/blue1.pcap" eth.src eth.dst ipv6.src ipv6.dst ipv6.hlim icmpv6.type icmpv6.nd.na.flag.s icmpv6.nd.na.target_address icmpv6.opt.linkaddr icmpv6.checksum.status)" \
	"$(printf '%s\t%s\tfd00:5001::7\tfd00:5001::5\t255\t136\t1\tfd00:5001::7\t%s\t1' $B2 $B1 $B2)"
expect_eq "frames on uplink for NS" "$(tshark_count "$SCRATCH/ns/uplink.pcap")" 0

one nsgw "$V6CONF" vm-ns $B1 fd00:5001::5 fd00:5001::1
expect_eq "NA for the gateway fd00:5001::1 (router flag set)" \
	"$(tshark_fields "$SCRATCH/nsgw/blue1.pcap" icmpv6.nd.na.target_address icmpv6.opt.linkaddr icmpv6.nd.na.flag.r)" \
	"$(printf 'fd00:5001::1\t%s\t1' $GW)"

one dad "$V6CONF" vm-ns $B1 fd00:5001::5 fd00:5001::7 --dad
expect_eq "counter for a DAD NS (source ::)" "$(counters dad)" drop_nd_dad
expect_eq "frames out for a DAD NS" \
	"$(tshark_count "$SCRATCH/dad/blue1.pcap") $(tshark_count "$SCRATCH/dad/uplink.pcap")" "0 0"

one nsunknown "$V6CONF" vm-ns $B1 fd00:5001::5 fd00:5001::9
expect_eq "counter for NS without a record" "$(counters nsunknown)" drop_arp_unknown
expect_eq "frames out for NS without a record" \
	"$(tshark_count "$SCRATCH/nsunknown/blue1.pcap") $(tshark_count "$SCRATCH/nsunknown/uplink.pcap")" "0 0"

echo "test_mtu: ok"
