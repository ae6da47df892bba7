#!/bin/bash
# test_fallback.sh: hnvgwd --datapath where eBPF cannot be loaded: without
# CAP_BPF and CAP_SYS_ADMIN (setpriv drops them from every set).
#   - --datapath auto starts, logs one line naming why the fast path is
#     unavailable (hnv_fp_open's message) and that it forwards in userspace;
#     show status says so; two --dev ports of one VSID on the host ping
#     each other through the C engine (tx_local);
#   - --datapath kernel in the same condition exits non-zero with the
#     reason on its log;
#   - --datapath userspace never tries (no such line).
# Needs root (it drops the capabilities itself). Run by `make netns-test`.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"
((EUID == 0)) || fail "needs root (network namespaces)"
for c in ping setpriv ethtool; do
	command -v "$c" >/dev/null || fail "$c is not installed (make deps)"
done
NOCAPS=(setpriv --inh-caps=-bpf,-sys_admin --ambient-caps=-bpf,-sys_admin
	--bounding-set=-bpf,-sys_admin)
DEV_VM_NO_OFFLOAD=1

lab_bridge
# ---- kernel: refuses to start, with the reason ----
mkns h0
ip link add up0 netns "$P-h0" type veth peer name h0p netns "$P-pn"
nsx h0 ip addr add 192.168.4.10/24 dev up0
nsx h0 ip link set up0 up
rc=0
timeout 30 ip netns exec "$P-h0" "${NOCAPS[@]}" "$HNVGWD" --foreground --state-dir "$T/state-h0" \
	--socket "$T/h0.sock" --uplink up0 --datapath kernel >"$T/kernel.log" 2>&1 || rc=$?
((rc != 0 && rc != 124)) || fail "--datapath kernel without CAP_BPF: exit status $rc"
grep -q "not starting: --datapath kernel: the fast path cannot be loaded: " "$T/kernel.log" ||
	fail "--datapath kernel: no reason logged: $(tail -3 "$T/kernel.log")"
pass "--datapath kernel without CAP_BPF/CAP_SYS_ADMIN exits $rc: $(grep -o 'not starting: .*' "$T/kernel.log")"

# ---- auto: falls back with one line naming why ----
start_host h1 192.168.4.11 "" --datapath auto
# start_host ran hnvgwd with every capability: restart it without them
stop_host h1
ip netns exec "$P-h1" "${NOCAPS[@]}" "$HNVGWD" --foreground --state-dir "$T/state-h1" \
	--socket "$T/h1.sock" --uplink up0 --datapath auto --log-level debug >"$T/hnvgwd-h1.log" 2>&1 &
DPIDS[h1]=$!
wait_for 20 cli h1 show revisions || fail "hnvgwd --datapath auto without CAP_BPF did not start"
n=$(grep -c "fast path unavailable: .*; forwarding in userspace" "$T/hnvgwd-h1.log" || true)
((n == 1)) || fail "want one fallback line, got $n: $(grep -i 'fast path' "$T/hnvgwd-h1.log")"
line=$(grep -o "fast path unavailable: .*" "$T/hnvgwd-h1.log" | head -1)
st=$(cli h1 --json show status)
python3 -c 'import json,sys; r=json.loads(sys.argv[1])[0]
assert r["datapath"]=="userspace" and r["requested"]=="auto", r
assert r["why"].startswith("fast path unavailable: "), r' "$st" || fail "show status: $st"
pass "--datapath auto logged: $line"

cli h1 ps "$ROOT/tests/data/bluered.ps1" >"$T/ps-h1.out" || fail "ps on h1"
dev_vm h1 b1 blue1 5001 10.0.0.5 06:06:00:00:00:05
dev_vm h1 b3 blue3 5001 10.0.0.6 06:06:00:00:00:06
nsx b1 ping -c 3 -i 0.2 -w 10 10.0.0.6 >"$T/ping.out" || fail "Blue1 -> Blue3: $(<"$T/ping.out")"
local_n=$(counter h1 tx_local)
((local_n >= 3)) || fail "tx_local on h1: $local_n"
pass "forwarding in userspace: Blue1 <-> Blue3 on --dev ports (tx_local $local_n)"
stop_host h1

# ---- userspace: never tries ----
ip netns exec "$P-h1" "$HNVGWD" --foreground --state-dir "$T/state-h1" --socket "$T/h1.sock" \
	--uplink up0 --datapath userspace --log-level debug >"$T/hnvgwd-h1.log" 2>&1 &
DPIDS[h1]=$!
wait_for 20 cli h1 show revisions || fail "hnvgwd --datapath userspace did not start"
! grep -q "fast path unavailable" "$T/hnvgwd-h1.log" || fail "--datapath userspace tried eBPF"
grep -q "userspace datapath: --datapath userspace" "$T/hnvgwd-h1.log" || fail "no tier line"
nsx b1 ping -c 2 -i 0.2 -w 10 10.0.0.6 >/dev/null || fail "Blue1 -> Blue3 (userspace, after restart)"
pass "--datapath userspace: no eBPF, the stored --dev ports forward after a restart"
stop_host h1
