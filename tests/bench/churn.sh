#!/bin/bash
# churn.sh: is a packet lost while the policy changes under traffic? (make
# bench-churn; needs root.)
#
# The two-host lab of tests/netns/lib.sh, VMs Blue1 (h1) and Blue2 (h2) on
# veth ports with --dev, per forwarding tier (CHURN_TIERS, default "kernel
# userspace"). Blue1 sends 64-byte UDP to Blue2 at $PPS for $SECS seconds
# (udpgen, paced); Blue2 counts what arrives. Meanwhile, on both hosts:
#   1. a commit of $N lookup records (a new routing domain, VSID 7001,
#      remote PA 192.168.4.22): hnvgwd applies them as N operations, the
#      fast path as N map entries;
#   2. $SETS replacements of the flow's own record on each host (lookup set
#      of Blue2's record on h1 and Blue1's on h2, the context toggled): the
#      record the traffic is forwarded by changes under it;
#   3. a commit deleting the $N records again.
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
unset ASAN_OPTIONS UBSAN_OPTIONS

# records FILE VERB: the N records of VSID 7001 as "lookup VERB" lines
records()
{
	python3 - "$N" "$2" >"$1" <<'PY'
import sys
n, verb = int(sys.argv[1]), sys.argv[2]
out = []
if verb == "add":
    out.append("rdomain add churn --rdid {22222222-2222-3333-4444-000000007001}")
    out.append("vsubnet add 7001 --rdomain churn --prefix 10.128.0.0/9")
for i in range(n):
    ca = "10.%d.%d.%d" % (128 + (i >> 16), (i >> 8) & 255, 2 + (i & 127))
    mac = "0a%010x" % i
    if verb == "add":
        out.append("lookup add --vsid 7001 --ca %s --pa 192.168.4.22 --mac %s" % (ca, mac))
    else:
        out.append("lookup del --vsid 7001 --ca %s --mac %s" % (ca, mac))
if verb == "del":
    out.append("vsubnet del 7001")
    out.append("rdomain del churn")
print("\n".join(out))
PY
}

# timed HOST ARGS...: runs hnvgw ARGS on HOST, prints the seconds it took
timed()
{
	local h=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	cli "$h" "$@" >/dev/null || fail "hnvgw $* on $h"
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
	a1=$(timed h1 commit -f "$CONFS/add.conf")
	a2=$(timed h2 commit -f "$CONFS/add.conf")
	sets h1 10.0.0.7 192.168.4.22 060600000007 &
	sets h2 10.0.0.5 192.168.4.11 060600000005
	wait $!
	d1=$(timed h1 commit -f "$CONFS/del.conf")
	d2=$(timed h2 commit -f "$CONFS/del.conf")
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
records "$CONFS/add.conf" add
records "$CONFS/del.conf" del
printf '%-10s %9s %9s %6s   %s\n' tier sent received lost \
	"commit of $N records add h1/h2, del h1/h2 (s)"
for tier in ${CHURN_TIERS:-kernel userspace}; do
	line=$(run_tier "$tier" | grep '^RESULT') || fail "$tier: no result"
	read -r _ t s g l a1 a2 d1 d2 <<<"$line"
	printf '%-10s %9s %9s %6s   %s/%s, %s/%s\n' "$t" "$s" "$g" "$l" "$a1" "$a2" "$d1" "$d2"
done
echo "($PPS pps of 64-byte UDP Blue1 -> Blue2 for $SECS s; $SETS replacements of the flow's record on each host)"
