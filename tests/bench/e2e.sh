#!/bin/bash
# e2e.sh: end-to-end figures of the host edge, side by side in one run
# (make bench-e2e; needs root). Each path is measured by e2e_path.sh in the
# same two-host netns topology (VM -> host 1 -> provider bridge -> host 2 ->
# VM):
#   (a) kernel   the kernel routes between the namespaces over the same veth
#                links: the reference;
#   (b) hnvgw    two hnvgwd host edges, NVGRE, with the raw IPv4 socket
#                uplink and with the AF_PACKET uplink;
#   (c) ovs      Open vSwitch userspace datapath (datapath_type=netdev), a
#                GRE port with key VSID<<8 (NVGRE framing), or why not.
# For each: 64-byte UDP packets/s from our sendmmsg generator (udpgen;
# "offered" is what it managed to send) and single-stream TCP Gbit/s
# (iperf3), and both as ratios to (a); for hnvgw also the CPU time of both
# hnvgwd per UDP packet delivered (the least load-sensitive figure here). SECS (default 8) per measurement.
# The machine is shared: figures vary with the load of other processes.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
((EUID == 0)) || { echo "bench-e2e: needs root (network namespaces)" >&2; exit 1; }
for c in iperf3 python3; do
	command -v "$c" >/dev/null || { echo "bench-e2e: $c is not installed (make deps)" >&2; exit 1; }
done
export SECS=${SECS:-8}
out=$(mktemp /tmp/hnvgw-e2e.XXXXXX)
trap 'rm -f "$out"' EXIT
for kind in kernel hnvgw-raw hnvgw-packet ovs; do
	if ! bash "$HERE/e2e_path.sh" "$kind" >"$out.$kind" 2>&1; then
		echo "bench-e2e: $kind failed:" >&2
		tail -n 15 "$out.$kind" >&2
		rm -f "$out.$kind"
		exit 1
	fi
	grep -E '^(RESULT|SKIP) ' "$out.$kind" >>"$out"
	rm -f "$out.$kind"
done
python3 - "$out" <<'PY'
import sys
rows, skips = {}, []
for line in open(sys.argv[1]):
    w = line.split()
    if w[0] == "RESULT":
        rows[w[1]] = (int(w[2]), float(w[3]), int(w[4]), w[5])
    else:
        skips.append(" ".join(w[1:]))
names = {"kernel": "(a) kernel routing", "hnvgw-raw": "(b) hnvgw, raw uplink",
         "hnvgw-packet": "(b) hnvgw, AF_PACKET uplink", "ovs": "(c) OVS netdev + GRE"}
ref = rows["kernel"]
print("end-to-end, VM to VM across two hosts (64-byte UDP; single TCP stream)")
print("%-30s %10s %8s %10s %9s %8s %12s" % ("path", "UDP pps", "x (a)", "offered", "TCP Gb/s", "x (a)",
      "hnvgwd us/pkt"))
for k in ("kernel", "hnvgw-raw", "hnvgw-packet", "ovs"):
    if k not in rows:
        continue
    pps, gbps, off, cpu = rows[k]
    print("%-30s %10d %7.2fx %10d %9.3f %7.2fx %12s" % (names[k], pps, pps / ref[0] if ref[0] else 0,
          off, gbps, gbps / ref[1] if ref[1] else 0, cpu))
for s in skips:
    print("(c) not measured:", s)
PY
