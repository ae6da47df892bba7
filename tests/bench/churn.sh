#!/bin/bash
# churn.sh: is a packet lost while the policy changes under traffic? (make
# bench-churn; needs root.)
#
# The two-host lab of tests/netns/lib.sh, VMs Blue1 (h1) and Blue2 (h2) on
# veth ports with --dev, per forwarding tier (CHURN_TIERS, default "kernel
# userspace"). Blue1 sends 64-byte UDP to Blue2 at $PPS for $SECS seconds
# (udpgen, paced); Blue2 counts what arrives. Meanwhile, on both hosts:
#   1. $N lookup records added (a new routing domain, VSID 7001, remote PA
#      192.168.4.22) in commits of $CHUNK (a request is at most 1 MiB):
#      hnvgwd applies them as N operations, the fast path as N map entries;
#   2. $SETS replacements of the flow's own record on each host (lookup set
#      of Blue2's record on h1 and Blue1's on h2, the context toggled): the
#      record the traffic is forwarded by changes under it;
#   3. the $N records deleted again, in commits of $CHUNK.
# Prints one line per tier: sent, received, lost, and how long each commit
# took. Numbers only; nothing is asserted (a setup error fails).
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/../netns/lib.sh"
UDPGEN=${UDPGEN:?}
N=${CHURN_RECORDS:-100000}
SECS=${SECS:-20}
PPS=${PPS:-20000}
SETS=${SETS:-50}
CHUNK=${CHUNK:-8000}
unset ASAN_OPTIONS UBSAN_OPTIONS

# records DIR VERB: the N records of VSID 7001 as "lookup VERB" lines, in
# files DIR/VERB-NNN of CHUNK lines each (the routing domain and the VSID
# in the first add file and the last del file)
records()
{
	python3 - "$N" "$2" "$CHUNK" "$1" <<'PY'
import sys
n, verb, chunk, d = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
lines = []
for i in range(n):
    ca = "10.%d.%d.%d" % (128 + (i >> 15), (i >> 7) & 255, 2 + (i & 127))
    mac = "0a%010x" % i
    if verb == "add":
        lines.append("lookup add --vsid 7001 --ca %s --pa 192.168.4.22 --mac %s" % (ca, mac))
    else:
        lines.append("lookup del --vsid 7001 --ca %s --mac %s" % (ca, mac))
files = [lines[i:i + chunk] for i in range(0, n, chunk)] or [[]]
if verb == "add":
    files[0][:0] = ["rdomain add churn --rdid {22222222-2222-3333-4444-000000007001}",
                    "vsubnet add 7001 --rdomain churn --prefix 10.128.0.0/9"]
else:
    files[-1] += ["vsubnet del 7001", "rdomain del churn"]
for k, f in enumerate(files):
    with open("%s/%s-%03d" % (d, verb, k), "w") as out:
        out.write("\n".join(f) + "\n")
PY
}

# commits HOST VERB: the record files of VERB committed on HOST, one
# transaction each; prints the seconds it took in all
commits()
{
	local h=$1 t0 t1 f
	t0=$(date +%s.%N)
	for f in "$CONFS/$2"-*; do
		cli "$h" commit -f "$f" >/dev/null 2>"$CONFS/err" || {
			echo "FAIL: commit -f $f on $h: $(cat "$CONFS/err")" >&2
			return 1
		}
	done
	t1=$(date +%s.%N)
	python3 -c "print('%.2f' % ($t1 - $t0))"
}

# sets HOST CA PA MAC: SETS replacements of one record, context toggled
sets()
{
	local h=$1 ca=$2 pa=$3 mac=$4 i
	for ((i = 0; i < SETS; i++)); do
		cli "$h" lookup set --vsid 5001 --ca "$ca" --pa "$pa" --mac "$mac" --rule encap \
			--context "churn $i" >/dev/null || fail "lookup set on $h"
	done
}

run_tier()
{
	local tier=$1 sent got
	mkdir -p "$T" # lab_cleanup of the previous tier removed it
	lab_bridge
	start_host h1 192.168.4.11 "" --datapath "$tier"
	start_host h2 192.168.4.22 "" --datapath "$tier"
	sed -E '/^New-NetVirtualizationProviderAddress/s/192\.168\.4\.11/192.168.4.22/' \
		"$ROOT/tests/data/bluered.ps1" >"$T/bluered-host2.ps1"
	cli h1 ps "$ROOT/tests/data/bluered.ps1" >/dev/null || fail "ps on h1"
	cli h2 ps "$T/bluered-host2.ps1" >/dev/null || fail "ps on h2"
	add_vm h1 b1 blue1 5001 10.0.0.5 060600000005
	add_vm h2 b2 blue2 5001 10.0.0.7 060600000007
	[[ $(tier h1) == "$tier" ]] || fail "h1 forwards in $(tier h1), not $tier"
	nsx b1 ping -c 3 -i 0.2 -w 10 10.0.0.7 >/dev/null || fail "Blue1 -> Blue2 before the churn"
	ip netns exec "$P-b2" "$UDPGEN" count 9 $((SECS + 3)) >"$T/got" &
	local cpid=$!
	sleep 0.5
	nsx b1 "$UDPGEN" send 10.0.0.7 9 "$SECS" "$PPS" >"$T/sent" &
	local spid=$!
	sleep 2
	local a1 a2 d1 d2
	a1=$(commits h1 add) || fail "adding the records on h1"
	a2=$(commits h2 add) || fail "adding the records on h2"
	sets h1 10.0.0.7 192.168.4.22 060600000007 &
	sets h2 10.0.0.5 192.168.4.11 060600000005
	wait $!
	d1=$(commits h1 del) || fail "deleting the records on h1"
	d2=$(commits h2 del) || fail "deleting the records on h2"
	wait "$spid" || fail "udpgen send"
	wait "$cpid" || fail "udpgen count"
	sent=$(cat "$T/sent")
	got=$(cat "$T/got")
	echo "RESULT $tier $sent $got $((sent - got)) $a1 $a2 $d1 $d2"
	stop_host h1
	stop_host h2
	lab_cleanup
}

CONFS=$(mktemp -d /tmp/hnvgw-churn.XXXXXX)
trap 'rm -rf "$CONFS"' EXIT
records "$CONFS" add
records "$CONFS" del
printf '%-10s %9s %9s %6s   %s\n' tier sent received lost \
	"$N records added h1/h2, deleted h1/h2 (s)"
for tier in ${CHURN_TIERS:-kernel userspace}; do
	line=$(run_tier "$tier" | grep '^RESULT') || fail "$tier: no result"
	read -r _ t s g l a1 a2 d1 d2 <<<"$line"
	printf '%-10s %9s %9s %6s   %s/%s, %s/%s\n' "$t" "$s" "$g" "$l" "$a1" "$a2" "$d1" "$d2"
done
echo "($PPS pps of 64-byte UDP Blue1 -> Blue2 for $SECS s; $SETS replacements of the flow's record on each host)"
