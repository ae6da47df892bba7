#!/bin/bash
# demo.sh: the Hyper-V Network Virtualization Blue/Red demo, offline.
# `make demo-offline` runs it after building build/hnvgw-dp (it builds nothing
# itself). Host1's policy (tests/data/bluered-host1.conf) goes into the real
# forwarding code through `hnvgw-dp replay`; crafted traffic from Blue1 and
# Red1 (both 10.0.0.5) and NVGRE from Host2 goes in; what comes out is shown
# with tshark. Exits non-zero unless Blue reaches Blue, Red reaches Red and
# Blue never reaches Red. HNVGW_DP overrides the binary.
set -euo pipefail

HNVGW_DP=${HNVGW_DP:-build/hnvgw-dp}
[[ $HNVGW_DP != */* || $HNVGW_DP == /* || ! -e $HNVGW_DP ]] || HNVGW_DP=$PWD/$HNVGW_DP
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. tests/replay/lib.sh # helpers: mkscratch, mkpcap, tshark_fields, nvgre_vsid
[[ -x $HNVGW_DP ]] || { echo "demo: $HNVGW_DP not built (run: make demo-offline)" >&2; exit 1; }
mkscratch

CONF=tests/data/bluered-host1.conf
B1=06:06:00:00:00:05 B2=06:06:00:00:00:07 R1=08:08:00:00:00:05 R2=08:08:00:00:00:07
HOST2_MAC=02:00:00:00:00:22

say() { printf '%s\n' "$@"; }
section() { printf '\n== %s\n' "$*"; }

say "hnvgw demo: Hyper-V Network Virtualization, Blue and Red tenants (offline replay)" \
	"  Host1 PA 192.168.4.11 (this box): Blue1 and Red1, both 10.0.0.5" \
	"  Host2 PA 192.168.4.22 (remote):   Blue2 and Red2, both 10.0.0.7" \
	"  Blue = VSID 5001, Red = VSID 6001; same subnet 10.0.0.0/24, gateway 10.0.0.1"

section "Host1's policy ($CONF, comments left out)"
grep -Ev '^[[:space:]]*(#|$)' "$CONF" | sed -E 's/ --(rule|type|customer-id) [^ ]+//g; s/^/  /'
say "  (--rule encap --type static --customer-id <RDID> left out of the lookup lines)"

section "Traffic fed in"
BI=$SCRATCH/blue1-in.pcap RI=$SCRATCH/red1-in.pcap UI=$SCRATCH/uplink-in.pcap
mkpcap "$BI" vm-arp $B1 10.0.0.5 10.0.0.7
mkpcap "$BI" vm-icmp $B1 $B2 10.0.0.5 10.0.0.7 --append
mkpcap "$BI" vm-icmp $B1 $R2 10.0.0.5 10.0.0.7 --append
mkpcap "$RI" vm-arp $R1 10.0.0.5 10.0.0.7
mkpcap "$RI" vm-icmp $R1 $R2 10.0.0.5 10.0.0.7 --append
mkpcap "$UI" nvgre 192.168.4.22 192.168.4.11 5001 7 $B2 $B1 10.0.0.7 10.0.0.5
mkpcap "$UI" nvgre 192.168.4.22 192.168.4.11 6001 7 $R2 $R1 10.0.0.7 10.0.0.5 --append
mkpcap "$UI" nvgre 192.168.4.22 192.168.4.11 6001 7 $B2 $R1 10.0.0.7 10.0.0.5 --append
say "  #0 blue1   ARP who-has 10.0.0.7" \
	"  #1 blue1   ping 10.0.0.7 to Blue2's MAC" \
	"  #2 blue1   ping 10.0.0.7 to Red2's MAC (Blue trying to reach Red)" \
	"  #3 red1    ARP who-has 10.0.0.7" \
	"  #4 red1    ping 10.0.0.7 to Red2's MAC" \
	"  #5 uplink  NVGRE VSID 5001 from Host2: Blue2 pings Blue1" \
	"  #6 uplink  NVGRE VSID 6001 from Host2: Red2 pings Red1" \
	"  #7 uplink  NVGRE VSID 6001 from Host2 carrying Blue2's MAC (Blue trying to reach Red)"

section "hnvgw-dp replay --trace: what the datapath decided"
O=$SCRATCH/out
rc=0
"$HNVGW_DP" replay --config "$CONF" --in blue1="$BI" --in red1="$RI" --in uplink="$UI" \
	--out "$O" --trace --neigh 192.168.4.22=$HOST2_MAC >"$SCRATCH/trace" 2>"$SCRATCH/counters" || rc=$?
if ((rc != 0)); then
	cat "$SCRATCH/counters" >&2
	echo "demo: hnvgw-dp replay exited $rc" >&2
	exit 1
fi
"$PYTHON" -c '
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    where = "-> " + o["egress"] if o["verdict"] == "forward" else "DROP"
    why = o["stages"][-1]["decision"] if o["stages"] else ""
    print("  #%d %-6s %-9s %-19s %s" % (o["packet"], o["ingress"], where, o["counter"], why))
' <"$SCRATCH/trace"

section "What left each port (tshark)"
for port in uplink blue1 red1; do
	say "  $port.pcap:"
	if [[ $port == uplink ]]; then
		tshark_fields "$O/$port.pcap" gre.key ip.src ip.dst _ws.col.Info |
			while IFS=$'\t' read -r key src dst info; do
				printf '    NVGRE VSID %s %s -> %s, inside: %s -> %s %s\n' "$(nvgre_vsid "$key")" \
					"${src%%,*}" "${dst%%,*}" "${src#*,}" "${dst#*,}" "${info%%  *}"
			done
	else
		tshark_fields "$O/$port.pcap" _ws.col.Source _ws.col.Destination _ws.col.Protocol _ws.col.Info |
			awk -F'\t' '{ sub(/  .*/, "", $4); printf "    %s -> %s %s %s\n", $1, $2, $3, $4 }'
	fi
	[[ -n $(tshark_fields "$O/$port.pcap" frame.number) ]] || say "    (nothing)"
done

section "Counters"
sed 's/^/  /' "$SCRATCH/counters"

section "Outcome"
ok=true
check()
{
	if [[ $2 == "$3" ]]; then
		say "  ok    $1"
	else
		say "  FAIL  $1 (got '$2', want '$3')"
		ok=false
	fi
}
# uplink: exactly Blue1->Blue2 in VSID 5001 and Red1->Red2 in VSID 6001
up=$(tshark_fields --inner "$O/uplink.pcap" gre.key eth.src eth.dst icmp.type |
	while IFS=$'\t' read -r key s d t; do echo "$(nvgre_vsid "$key") $s $d $t"; done)
check "Blue1 reaches Blue2: ping sent as NVGRE VSID 5001 to Blue2's MAC" \
	"$(grep -c "^5001 $B1 $B2 8$" <<<"$up" || true)" 1
check "Red1 reaches Red2:   ping sent as NVGRE VSID 6001 to Red2's MAC" \
	"$(grep -c "^6001 $R1 $R2 8$" <<<"$up" || true)" 1
check "Blue2 reaches Blue1 and Blue1's ARP for 10.0.0.7 gets Blue2's MAC" \
	"$(tshark_fields "$O/blue1.pcap" eth.src eth.type | sort | tr '\t\n' ' ')" \
	"$B2 0x0800 $B2 0x0806 "
check "Red2 reaches Red1 and Red1's ARP for 10.0.0.7 gets Red2's MAC" \
	"$(tshark_fields "$O/red1.pcap" eth.src eth.type | sort | tr '\t\n' ' ')" \
	"$R2 0x0800 $R2 0x0806 "
check "Blue never reaches Red: no Blue MAC in red1.pcap" \
	"$(tshark_count "$O/red1.pcap" 'eth.addr[0:2] == 06:06 || arp.src.hw_mac[0:2] == 06:06')" 0
check "Blue never reaches Red: nothing from Blue sent in VSID 6001 or to Red2" \
	"$(grep -Ec "^6001 06:06|^[0-9]+ 06:06:[0-9:]+ $R2 " <<<"$up" || true)" 0
if $ok; then
	say "" "Blue reaches Blue, Red reaches Red, Blue never reaches Red, though both use 10.0.0.5 and 10.0.0.7."
else
	say "" "demo: the expected outcome does not hold" >&2
	exit 1
fi
