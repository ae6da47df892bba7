#!/bin/bash
# test_tshark.sh: what Blue1 (tests/data/bluered-host1.conf, host 1,
# PA 192.168.4.11) sends to Blue2 (10.0.0.7, 06:06:00:00:00:07, on host 2,
# PA 192.168.4.22) leaves the uplink as NVGRE that an independent decoder,
# tshark, reads as such: GRE 0x2000/0x6558, key = VSID 5001 << 8 | FlowID,
# the customer frame untouched inside, outer DF and TTL 64, per-flow FlowIDs
# (0 with `global set --flowid off`), DSCP and ECN copied to the outer header.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mkscratch

CONF=$REPO/tests/data/bluered-host1.conf
UPLINK_MAC=02:50:00:00:00:0b
NEXTHOP_MAC=02:00:00:00:00:22 # host 2's uplink, as neighbour resolution would say
B1=06:06:00:00:00:05
B2=06:06:00:00:00:07

# replay NAME CONFIG IN.pcap: IN.pcap enters on blue1; outputs in
# $SCRATCH/NAME/, trace in NAME.trace, counters in NAME.err.
replay()
{
	local name=$1 conf=$2 in=$3 rc=0
	"$HNVGW_DP" replay --config "$conf" --in blue1="$in" --out "$SCRATCH/$name" --trace \
		--uplink-mac "$UPLINK_MAC" --neigh 192.168.4.22="$NEXTHOP_MAC" \
		>"$SCRATCH/$name.trace" 2>"$SCRATCH/$name.err" || rc=$?
	if ((rc != 0)); then
		cat "$SCRATCH/$name.err" >&2
		fail "replay $name: hnvgw-dp exited $rc, want 0"
	fi
}

# counters NAME: the counter lines of a run, "name count", sorted.
counters()
{
	awk 'NR > 1 { print $1, $2 }' "$SCRATCH/$1.err" | sort
}

# trace_keys NAME: the GRE key the trace reports for each packet (its encap
# stage says "... key 0x0013899a (VSID 5001, FlowID 154)"), "-" if none.
trace_keys()
{
	"$PYTHON" -c '
import json, re, sys
for line in sys.stdin:
    o = json.loads(line)
    keys = [m.group(1) for s in o["stages"] if s["stage"] == "encap"
            for m in [re.search(r"key (0x[0-9a-f]{8})", s["decision"])] if m]
    print(keys[0] if keys else "-")
' <"$SCRATCH/$1.trace"
}

# udp_tcp OUT.pcap PROTO:SPORT:DPORT...: Blue1 -> Blue2 UDP or TCP frames,
# one per argument (mkpcap.py crafts only ICMP).
udp_tcp()
{
	"$PYTHON" - "$@" <<EOF
import sys
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import PcapWriter
w = PcapWriter(sys.argv[1], linktype=1, sync=False)
for i, spec in enumerate(sys.argv[2:]):
    proto, sport, dport = spec.split(":")
    l4 = (UDP(sport=int(sport), dport=int(dport)) if proto == "udp"
          else TCP(sport=int(sport), dport=int(dport), flags="S"))
    f = Ether(src="$B1", dst="$B2") / IP(src="10.0.0.5", dst="10.0.0.7") / l4 / (b"hnv" * 10)
    f.time = 1700000000 + i / 1000
    w.write(f)
w.close()
EOF
}

# --- one ping Blue1 -> Blue2 ------------------------------------------------
mkpcap "$SCRATCH/ping.pcap" vm-icmp $B1 $B2 10.0.0.5 10.0.0.7
replay ping "$CONF" "$SCRATCH/ping.pcap"
expect_eq "counters" "$(counters ping)" "tx_encap 1"
U=$SCRATCH/ping/uplink.pcap
expect_eq "frames on uplink" "$(tshark_count "$U")" 1
expect_eq "frames on blue1/red1" \
	"$(tshark_count "$SCRATCH/ping/blue1.pcap") $(tshark_count "$SCRATCH/ping/red1.pcap")" "0 0"
expect_eq "tshark sees GRE carrying Ethernet carrying ICMP" \
	"$(tshark_fields "$U" frame.protocols)" "eth:ethertype:ip:gre:eth:ethertype:ip:icmp:data"
expect_eq "outer Ethernet" "$(tshark_fields --outer "$U" eth.src eth.dst eth.type)" \
	"$(printf '%s\t%s\t0x0800' "$UPLINK_MAC" "$NEXTHOP_MAC")"
expect_eq "outer IPv4 src dst proto" "$(tshark_fields --outer "$U" ip.src ip.dst ip.proto)" \
	"$(printf '192.168.4.11\t192.168.4.22\t47')"
expect_eq "outer DF, TTL" "$(tshark_fields --outer "$U" ip.flags.df ip.flags.mf ip.ttl)" \
	"$(printf '1\t0\t64')"
expect_eq "outer IPv4 checksum status (1 = Good)" \
	"$(tshark_fields --outer "$U" ip.checksum.status)" 1
# 20 outer IPv4 + 8 GRE + 14 inner Ethernet + the 84-byte inner packet
expect_eq "outer IPv4 length" "$(tshark_fields --outer "$U" ip.len)" 126
expect_eq "GRE flags+version, protocol" "$(tshark_fields "$U" gre.flags_and_version gre.proto)" \
	"$(printf '0x2000\t0x6558')"
key=$(tshark_fields "$U" gre.key)
[[ $key =~ ^0x[0-9a-f]{8}$ ]] || fail "GRE key missing or odd: '$key'"
expect_eq "VSID (upper 24 bits of the key)" "$(nvgre_vsid "$key")" 5001
expect_eq "trace reports the key on the wire" "$(trace_keys ping)" "$key"
expect_eq "inner Ethernet (bridged: MACs untouched)" "$(tshark_fields --inner "$U" eth.src eth.dst)" \
	"$(printf '%s\t%s' $B1 $B2)"
expect_eq "inner ICMP" "$(tshark_fields --inner "$U" ip.src ip.dst ip.ttl icmp.type icmp.seq)" \
	"$(printf '10.0.0.5\t10.0.0.7\t64\t8\t1')"

# --- flows: FlowID per 5-tuple, the same for the same flow ----------------------
FLOWS=(udp:1000:53 udp:1001:53 udp:1002:53 udp:53:1000 tcp:40000:80 tcp:40001:80 tcp:40002:443
	tcp:80:40000)
udp_tcp "$SCRATCH/flows.pcap" "${FLOWS[@]}" "${FLOWS[@]}"
replay flows "$CONF" "$SCRATCH/flows.pcap"
n=${#FLOWS[@]}
expect_eq "counters (flows)" "$(counters flows)" "tx_encap $((2 * n))"
mapfile -t keys < <(tshark_fields "$SCRATCH/flows/uplink.pcap" gre.key)
mapfile -t ports < <(tshark_fields --inner "$SCRATCH/flows/uplink.pcap" ip.proto udp.srcport udp.dstport \
	tcp.srcport tcp.dstport)
expect_eq "frames on uplink (flows)" "${#keys[@]}" $((2 * n))
declare -A flowid_of=()
for ((i = 0; i < 2 * n; i++)); do
	f=${FLOWS[i % n]}
	want_ports=$(IFS=: read -r p s d <<<"$f"
		if [[ $p == udp ]]; then printf '17\t%s\t%s\t\t' "$s" "$d"; else printf '6\t\t\t%s\t%s' "$s" "$d"; fi)
	expect_eq "frame $((i + 1)) inner protocol and ports" "${ports[i]}" "$want_ports"
	expect_eq "frame $((i + 1)) ($f) VSID" "$(nvgre_vsid "${keys[i]}")" 5001
	id=$(nvgre_flowid "${keys[i]}")
	if [[ -n ${flowid_of[$f]:-} ]]; then
		expect_eq "FlowID of $f the second time" "$id" "${flowid_of[$f]}"
	fi
	flowid_of[$f]=$id
done
distinct=$(printf '%s\n' "${flowid_of[@]}" | sort -u | wc -l)
((distinct >= n - 2)) ||
	fail "$n different flows share FlowIDs too much: only $distinct distinct (${flowid_of[*]})"
echo "FlowIDs of $n flows: ${flowid_of[*]}"

# --- global set --flowid off: FlowID 0 --------------------------------------
{
	cat "$CONF"
	echo "global set --flowid off"
} >"$SCRATCH/flowid-off.conf"
replay off "$SCRATCH/flowid-off.conf" "$SCRATCH/flows.pcap"
expect_eq "keys with --flowid off" "$(tshark_fields "$SCRATCH/off/uplink.pcap" gre.key | sort -u)" \
	0x00138900

# --- DSCP and ECN: inner TOS byte -> outer TOS byte ------------------------------
TOS=(0xb8 0x02 0x01 0xba 0x00 0x28)
append=()
for t in "${TOS[@]}"; do
	mkpcap "$SCRATCH/tos.pcap" vm-icmp $B1 $B2 10.0.0.5 10.0.0.7 --tos "$t" "${append[@]}"
	append=(--append)
done
replay tos "$CONF" "$SCRATCH/tos.pcap"
# all frames carry the same timestamp, so the order is the input order
mapfile -t outer < <(tshark_fields --outer "$SCRATCH/tos/uplink.pcap" ip.dsfield)
mapfile -t inner < <(tshark_fields --inner "$SCRATCH/tos/uplink.pcap" ip.dsfield)
expect_eq "frames on uplink (tos)" "${#outer[@]}" ${#TOS[@]}
for i in "${!TOS[@]}"; do
	expect_eq "inner TOS of frame $((i + 1)) unchanged" "${inner[i]}" "${TOS[i]}"
	expect_eq "outer TOS for inner ${TOS[i]}" "${outer[i]}" "${TOS[i]}"
done

echo "test_tshark: ok"
