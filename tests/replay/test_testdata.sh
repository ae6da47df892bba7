#!/bin/bash
# test_testdata.sh: the real NVGRE capture tests/data/gre_nvgre.pcap
# (100.0.17.1 -> 100.0.17.2, key 0x12345602 = VSID 1193046 FlowID 2, inner
# aa:bb:00:00:10:01 10.0.0.1:1001 -> aa:bb:00:00:10:02 10.0.0.2:1002 TCP)
# arriving on the uplink of host 100.0.17.2 (tests/data/testdata-host2.conf):
# decapsulated and delivered byte for byte to the VM when policy allows it,
# dropped with the right counter and nothing delivered when it does not.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mkscratch

CAP=$REPO/tests/data/gre_nvgre.pcap
CONF=$REPO/tests/data/testdata-host2.conf

# replay NAME CONFIG [OPTION...]: the capture in on the uplink, outputs in
# $SCRATCH/NAME/, trace in NAME.trace, counters in NAME.err.
replay()
{
	local name=$1 conf=$2
	shift 2
	replay_run "$name" "$conf" --in uplink="$CAP" "$@"
}

# verdict NAME: "verdict egress counter vsid" of the one packet of a trace.
verdict()
{
	"$PYTHON" -c '
import json, sys
lines = sys.stdin.read().splitlines()
if len(lines) != 1:
    sys.exit(f"{len(lines)} trace lines, want 1")
o = json.loads(lines[0])
print(o["verdict"], o.get("egress", "-"), o["counter"], o["vsid"])
' <"$SCRATCH/$1.trace" || fail "cannot read trace $1"
}

# stage NAME STAGE: the decision text of that stage ("" if absent).
stage()
{
	"$PYTHON" -c '
import json, sys
o = json.loads(sys.stdin.readline())
print(" | ".join(s["decision"] for s in o["stages"] if s["stage"] == sys.argv[1]))
' "$2" <"$SCRATCH/$1.trace"
}

# counter NAME REASON: the count hnvgw-dp printed for REASON (0 if absent).
counter()
{
	awk -v r="$2" '$1 == r { n = $2 } END { print n + 0 }' "$SCRATCH/$1.err"
}

# The capture itself must be what this test assumes.
expect_eq "capture key" "$(tshark_fields --outer "$CAP" gre.key)" 0x12345602
expect_eq "capture outer checksum" "$(tshark_fields --outer "$CAP" ip.checksum)" 0x0000

# --- delivered ---------------------------------------------------------------
replay ok "$CONF"
expect_eq "verdict" "$(verdict ok)" "forward vm2 rx_decap_delivered 1193046"
expect_eq "decap stage" "$(stage ok decap)" "NVGRE VSID 1193046 FlowID 2"
expect_eq "counter rx_decap_delivered" "$(counter ok rx_decap_delivered)" 1
expect_eq "frames on vm2" "$(tshark_count "$SCRATCH/ok/vm2.pcap")" 1
expect_eq "frames on uplink" "$(tshark_count "$SCRATCH/ok/uplink.pcap")" 0
# one occurrence of each: no outer headers, no GRE left in what the VM gets
expect_eq "delivered frame" \
	"$(tshark_fields "$SCRATCH/ok/vm2.pcap" eth.src eth.dst ip.src ip.dst tcp.srcport tcp.dstport gre.key)" \
	"$(printf 'aa:bb:00:00:10:01\taa:bb:00:00:10:02\t10.0.0.1\t10.0.0.2\t1001\t1002\t')"
# byte for byte the inner frame: the capture minus outer Ethernet, IPv4, GRE
"$PYTHON" - "$CAP" "$SCRATCH/ok/vm2.pcap" <<'EOF' || fail "vm2.pcap does not hold exactly the inner frame"
import sys
import scapy.layers.l2  # noqa: F401 (registers Ethernet for rdpcap)
from scapy.utils import rdpcap
inner = bytes(rdpcap(sys.argv[1])[0])[14 + 20 + 8:]
got = [bytes(p) for p in rdpcap(sys.argv[2])]
if got != [inner]:
    sys.exit(f"got {[g.hex() for g in got]}, want [{inner.hex()}]")
EOF

# --- no record for the sender: anti-spoofing drops it ------------------------
grep -v -- '--type gateway-wildcard' "$CONF" >"$SCRATCH/norecord.conf"
replay norecord "$SCRATCH/norecord.conf"
expect_eq "verdict without the record" "$(verdict norecord)" "drop - drop_spoof 1193046"
expect_eq "counter drop_spoof" "$(counter norecord drop_spoof)" 1
expect_eq "frames on vm2 without the record" "$(tshark_count "$SCRATCH/norecord/vm2.pcap")" 0

# a record with the sender's PA but another MAC, or its MAC but another PA
sed 's/--mac aabb00001001/--mac aabb00001009/' "$CONF" >"$SCRATCH/wrongmac.conf"
replay wrongmac "$SCRATCH/wrongmac.conf"
expect_eq "verdict with the wrong MAC" "$(verdict wrongmac)" "drop - drop_spoof 1193046"
expect_eq "frames on vm2 with the wrong MAC" "$(tshark_count "$SCRATCH/wrongmac/vm2.pcap")" 0
sed 's/--pa 100.0.17.1 /--pa 100.0.17.9 /' "$CONF" >"$SCRATCH/wrongpa.conf"
grep -q -- '--pa 100.0.17.9 ' "$SCRATCH/wrongpa.conf" || fail "sed did not change the PA"
replay wrongpa "$SCRATCH/wrongpa.conf"
expect_eq "verdict with the wrong PA" "$(verdict wrongpa)" "drop - drop_spoof 1193046"
expect_eq "frames on vm2 with the wrong PA" "$(tshark_count "$SCRATCH/wrongpa/vm2.pcap")" 0

# --- VSID 1193046 not configured (the same host, on VSID 1193047) -----------
sed 's/1193046/1193047/g' "$CONF" >"$SCRATCH/novsid.conf"
replay novsid "$SCRATCH/novsid.conf"
expect_eq "verdict without the vsubnet" "$(verdict novsid)" "drop - drop_vsid_unknown 1193046"
expect_eq "counter drop_vsid_unknown" "$(counter novsid drop_vsid_unknown)" 1
expect_eq "frames on vm2 without the vsubnet" "$(tshark_count "$SCRATCH/novsid/vm2.pcap")" 0

# --- PA 100.0.17.2 not local ---------------------------------------------------
sed 's#^pa add 100.0.17.2/24#pa add 100.0.17.3/24#' "$CONF" >"$SCRATCH/nopa.conf"
replay nopa "$SCRATCH/nopa.conf"
expect_eq "verdict when 100.0.17.2 is not local" "$(verdict nopa)" "drop - drop_not_local_pa 0"
expect_eq "frames on vm2 when 100.0.17.2 is not local" "$(tshark_count "$SCRATCH/nopa/vm2.pcap")" 0

# --- the capture's outer IPv4 checksum is 0: wrong when it is verified -------
replay csum "$CONF" --verify-checksums
expect_eq "verdict with --verify-checksums" "$(verdict csum)" "drop - drop_bad_csum 0"
expect_eq "counter drop_bad_csum" "$(counter csum drop_bad_csum)" 1
expect_eq "frames on vm2 with --verify-checksums" "$(tshark_count "$SCRATCH/csum/vm2.pcap")" 0

# --- a static record for 10.0.0.1 is refused: it is the default gateway ------
sed 's/^lookup add --vsid 1193046 --ca 0.0.0.0 .*/lookup add --vsid 1193046 --ca 10.0.0.1 --pa 100.0.17.1 --mac aabb00001001/' \
	"$CONF" >"$SCRATCH/static.conf"
line=$(grep -n -- '--ca 10.0.0.1 ' "$SCRATCH/static.conf" | cut -d: -f1)
[[ -n $line ]] || fail "sed did not write the static record"
rc=0
"$HNVGW_DP" replay --config "$SCRATCH/static.conf" --in uplink="$CAP" --out "$SCRATCH/static" \
	>/dev/null 2>"$SCRATCH/static.err" || rc=$?
expect_eq "exit status with a record for 10.0.0.1" "$rc" 2
grep -q "line $line: .*10\.0\.0\.1 is the default gateway" "$SCRATCH/static.err" ||
	fail "error does not say line $line, 10.0.0.1 is the default gateway: $(cat "$SCRATCH/static.err")"
[[ ! -e $SCRATCH/static ]] || fail "refused config still created $SCRATCH/static"

echo "test_testdata: ok"
