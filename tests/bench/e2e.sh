#!/bin/bash
# e2e.sh: end-to-end figures of the host edge, side by side in one run
# (make bench-e2e; needs root). Each path is measured by e2e_path.sh in the
# same two-host netns topology (VM -> host 1 -> provider bridge -> host 2 ->
# VM):
#   (a) kernel   the kernel routes between the namespaces over the same veth
#                links: the reference;
#   (b) hnvgw    two hnvgwd host edges, NVGRE, forwarding in userspace
#                (--datapath userspace once hnvgwd has the option), VMs on
#                hnvgwd's TAPs, with the raw IPv4 socket uplink and with the
#                AF_PACKET uplink;
#   (c) hnvgw-fp the same with the kernel fast path (hnvgwd --datapath
#                kernel, tc eBPF), VMs on veth pairs attached with port add
#                --dev; skipped, with a note, when hnvgwd has no --datapath;
#   (d) ovs      Open vSwitch userspace datapath (datapath_type=netdev), a
#                GRE port with key VSID<<8 (NVGRE framing), or why not.
# For each: 64-byte UDP packets/s from our sendmmsg generator (udpgen;
# "offered" is what it managed to send), single-stream TCP Gbit/s and 4
# parallel TCP streams (iperf3 -P 4), each also as a ratio to (a); for hnvgw
# also the CPU time of both hnvgwd (utime + stime from /proc/PID/stat) per
# UDP packet delivered (the least load-sensitive figure here; the fast
# path's softirq work is not charged to hnvgwd). SECS (default 8) per
# measurement, so about 30 s per path plus its setup. Numbers are printed,
# nothing is asserted. The machine is shared: figures vary with the load of
# other processes.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
((EUID == 0)) || { echo "bench-e2e: needs root (network namespaces)" >&2; exit 1; }
for c in iperf3 python3; do
	command -v "$c" >/dev/null || { echo "bench-e2e: $c is not installed (make deps)" >&2; exit 1; }
done
export SECS=${SECS:-8}
out=$(mktemp /tmp/hnvgw-e2e.XXXXXX)
trap 'rm -f "$out" "$out".*' EXIT
failed=0
for kind in kernel hnvgw-raw hnvgw-packet hnvgw-fp ovs; do
	if ! bash "$HERE/e2e_path.sh" "$kind" >"$out.$kind" 2>&1; then
		echo "bench-e2e: $kind failed:" >&2
		tail -n 15 "$out.$kind" >&2
		[[ $kind == kernel ]] && { rm -f "$out.$kind"; exit 1; } # the reference of every ratio
		echo "SKIP $kind: failed: $(grep -m1 '^FAIL' "$out.$kind" || tail -n 1 "$out.$kind")" >>"$out"
		failed=1
	fi
	grep -E '^(RESULT|SKIP) ' "$out.$kind" >>"$out" || true
	rm -f "$out.$kind"
done
python3 - "$out" <<'PY'
import sys
rows, skips = {}, []
for line in open(sys.argv[1]):
    w = line.split()
    if w[0] == "RESULT":
        rows[w[1]] = (int(w[2]), float(w[3]), float(w[4]), int(w[5]), w[6])
    else:
        skips.append((w[1].rstrip(":"), " ".join(w[2:])))
order = ("kernel", "hnvgw-raw", "hnvgw-packet", "hnvgw-fp", "ovs")
names = {"kernel": "(a) kernel routing", "hnvgw-raw": "(b) hnvgw userspace, raw uplink",
         "hnvgw-packet": "(b) hnvgw userspace, AF_PACKET", "hnvgw-fp": "(c) hnvgw kernel fast path",
         "ovs": "(d) OVS netdev + GRE"}
ref = rows["kernel"]
ratio = lambda v, r: "%5.2fx" % (v / r) if r else "    -"
print("end-to-end, VM to VM across two hosts (64-byte UDP; TCP: 1 stream, 4 streams)")
print("%-32s %9s %6s %9s %8s %6s %8s %6s %9s" % ("path", "UDP pps", "x (a)", "offered", "TCP Gb/s", "x (a)",
      "4xTCP", "x (a)", "us/pkt"))
for k in order:
    if k not in rows:
        continue
    pps, gbps, gbps4, off, cpu = rows[k]
    print("%-32s %9d %6s %9d %8.3f %6s %8.3f %6s %9s" % (names[k], pps, ratio(pps, ref[0]), off,
          gbps, ratio(gbps, ref[1]), gbps4, ratio(gbps4, ref[2]), cpu))
print("us/pkt: CPU time of both hnvgwd per UDP packet delivered")
for k, why in skips:
    print("%s not measured: %s" % (names.get(k, k).split(" ")[0], why))
PY
exit "$failed"
