#!/bin/bash
# test_fwd_threads.sh: hnvgwd --fwd-threads 2 in the userspace tier, with
# each uplink backend (raw, packet). Asserts:
#   - the Blue/Red lab of test_bluered.sh forwards with two threads on both
#     hosts: Blue1<->Blue2 and Red1<->Red2 ping, Blue never reaches Red;
#   - 64 UDP flows from Blue2 to Blue1 (one remote host: one outer source
#     and destination PA, 20 datagrams each, sent round-robin) all arrive,
#     each flow in its order (a flow split over the threads would reorder);
#   - show counters on host 1: thread:0 and thread:1 both received NVGRE
#     (uplink_rx_packets), together at least the 1280 datagrams, and their
#     sum is the uplink's rx_packets;
#   - a bad --fwd-threads (0, 17, "2x") and --fwd-threads without --uplink
#     are refused with exit status 2 and a message;
#   - both hnvgwd exit 0 without sanitizer reports.
# The exact thread of each flow (the steering hash) is checked in
# tests/unit/test_steer.c. Needs root. Run by `make netns-test`.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (network namespaces)"
trap 'rm -rf "$T"' EXIT

# ---- refused options ----
for bad in 0 17 2x -1; do
	rc=0
	"$HNVGWD" --foreground --state-dir "$T/bad" --socket "$T/bad.sock" --uplink lo \
		--fwd-threads "$bad" 2>"$T/bad.err" || rc=$?
	((rc == 2)) || fail "--fwd-threads $bad: exit $rc, want 2"
	grep -q -- "--fwd-threads \"$bad\": a number from 1 to 16" "$T/bad.err" ||
		fail "--fwd-threads $bad: $(<"$T/bad.err")"
done
rc=0
"$HNVGWD" --foreground --state-dir "$T/bad" --socket "$T/bad.sock" --fwd-threads 2 \
	2>"$T/bad.err" || rc=$?
((rc == 2)) && grep -q -- "--fwd-threads needs --uplink" "$T/bad.err" ||
	fail "--fwd-threads without --uplink: exit $rc: $(<"$T/bad.err")"
pass "bad --fwd-threads values and --fwd-threads without --uplink are refused (exit 2)"

# row HOST NAME: the value of counter row NAME of show counters
row() { counter "$@"; }

run_backend()
{
	local backend=$1
	# a lab of its own (lab_cleanup removes $T when this subshell ends)
	P=hnv$BASHPID
	T=$(mktemp -d /tmp/hnvgw-netns.XXXXXX)
	UPLINK_BACKEND=$backend
	DATAPATH=userspace
	FWD_THREADS=2
	lab_setup
	local h
	for h in h1 h2; do
		[[ $(tier "$h") == userspace ]] || fail "$h: not the userspace tier"
		grep -q "forwarding on uplink up0 ($backend backend).*; 2 forwarding threads" \
			"$T/hnvgwd-$h.log" || fail "$h: no line saying 2 forwarding threads"
	done
	pass "$backend: lab up with 2 forwarding threads on both hosts"

	nsx b1 ping -c 3 -i 0.2 -w 10 10.0.0.7 >/dev/null || fail "$backend: Blue1 -> Blue2"
	nsx r1 ping -c 3 -i 0.2 -w 10 10.0.0.7 >/dev/null || fail "$backend: Red1 -> Red2"
	nsx b2 ping -c 2 -i 0.2 -w 10 10.0.0.5 >/dev/null || fail "$backend: Blue2 -> Blue1"
	nsx r2 ping -c 2 -i 0.2 -w 10 10.0.0.5 >/dev/null || fail "$backend: Red2 -> Red1"
	! nsx b1 ping -c 2 -i 0.2 -w 2 10.0.0.99 >/dev/null 2>&1 || fail "$backend: unknown CA answered"
	pass "$backend: Blue and Red ping over NVGRE with 2 threads on each host"

	local t0 t1 up
	t0=$(row h1 thread:0.uplink_rx_packets)
	t1=$(row h1 thread:1.uplink_rx_packets)
	nsx b1 python3 - >"$T/udp-rx.out" 2>&1 <<'EOF' &
import json, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind(("10.0.0.5", 9000))
s.settimeout(10)
last, got, disorder = {}, 0, 0
try:
    while got < 1280:
        data, (_, port) = s.recvfrom(2048)
        seq = int(data.split(b" ")[1])
        if seq <= last.get(port, -1):
            disorder += 1
        last[port] = seq
        got += 1
except socket.timeout:
    pass
print(json.dumps({"got": got, "flows": len(last), "disorder": disorder}))
EOF
	local rx=$!
	BGPIDS+=("$rx")
	wait_for 10 bash -c "ip netns exec $P-b1 ss -Hlun 'sport = :9000' | grep -q ." ||
		fail "$backend: the UDP receiver did not bind"
	nsx b2 python3 - <<'EOF' || fail "$backend: sender failed"
import socket, time
socks = []
for i in range(64):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.0.0.7", 20000 + i))
    socks.append(s)
for seq in range(20):
    for s in socks:
        s.sendto(b"seq %d" % seq + b" " * 32, ("10.0.0.5", 9000))
    time.sleep(0.002)
EOF
	wait "$rx" || fail "$backend: receiver failed: $(<"$T/udp-rx.out")"
	python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))
sys.exit(0 if r["got"]==1280 and r["flows"]==64 and r["disorder"]==0 else 1)' "$T/udp-rx.out" ||
		fail "$backend: 64 flows x 20 datagrams: $(<"$T/udp-rx.out")"
	local d0 d1
	d0=$(($(row h1 thread:0.uplink_rx_packets) - t0))
	d1=$(($(row h1 thread:1.uplink_rx_packets) - t1))
	up=$(row h1 uplink.rx_packets)
	((d0 > 0 && d1 > 0)) || fail "$backend: thread 0 got $d0, thread 1 got $d1 of the flows"
	((d0 + d1 >= 1280)) || fail "$backend: threads got $d0 + $d1 NVGRE packets, want >= 1280"
	(($(row h1 thread:0.uplink_rx_packets) + $(row h1 thread:1.uplink_rx_packets) == up)) ||
		fail "$backend: thread counters do not add up to uplink.rx_packets $up"
	pass "$backend: 64 flows from one remote host all delivered in order, spread over the threads ($d0 / $d1 NVGRE packets)"

	stop_host h1
	stop_host h2
	pass "$backend: both hnvgwd exit 0 without sanitizer reports"
}

for b in raw packet; do
	(run_backend "$b") || exit 1
done
