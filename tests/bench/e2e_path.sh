#!/bin/bash
# e2e_path.sh KIND: one path of the end-to-end benchmark (run by e2e.sh).
# KIND: kernel | hnvgw-raw | hnvgw-packet | hnvgw-fp | ovs. Builds the
# two-host topology of tests/netns/lib.sh (provider bridge, hosts h1 and h2
# with PAs 192.168.4.11/.22, VM b1 on h1 and VM b2 on h2), then measures
# from b1 to b2:
#   - 64-byte UDP: udpgen sends for $SECS s; the rate is what reached b2's
#     interface (its rx_packets counter), per second;
#   - TCP: iperf3 for $SECS s, one stream, then 4 parallel streams (-P 4),
#     Gbit/s received.
# For hnvgw also the CPU time both hnvgwd used (utime + stime from
# /proc/PID/stat over the UDP run) per UDP packet delivered.
#   hnvgw-raw, hnvgw-packet  hnvgwd forwarding in userspace (--datapath
#                 userspace when hnvgwd has that option), VMs on the TAPs
#                 hnvgwd creates, raw IPv4 socket / AF_PACKET uplink;
#   hnvgw-fp      hnvgwd --datapath kernel (tc eBPF fast path), VMs on veth
#                 pairs whose host ends are the ports (port add --dev), VM
#                 MTU 1458 (provider MTU 1500 - 42); "SKIP" when hnvgwd has
#                 no --datapath.
# Prints one line "RESULT KIND PPS GBPS GBPS_P4 OFFERED_PPS US_PER_PKT|-",
# or "SKIP KIND why". Everything it creates is removed by lib.sh's EXIT
# trap.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/../netns/lib.sh"
KIND=$1
SECS=${SECS:-5}
UDPGEN=${UDPGEN:?}
unset ASAN_OPTIONS UBSAN_OPTIONS

# CPU ticks (user + system) used so far by the hnvgwd daemons, 0 if none
daemon_ticks()
{
	local t=0 pid
	for pid in "${DPIDS[@]}"; do
		t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
	done
	echo "$t"
}

# iperf_gbps ARGS...: an iperf3 run from b1 to b2 (a one-off server on
# b2), prints the Gbit/s b2 received
iperf_gbps()
{
	local srv
	ip netns exec "$P-b2" iperf3 -s -1 >"$T/iperf-s.log" 2>&1 &
	srv=$!
	BGPIDS+=("$srv")
	wait_for 10 nsx b2 sh -c 'ss -ltn | grep -q ":5201 "' || {
		kill "$srv" 2>/dev/null || true
		fail "iperf3 server did not listen"
	}
	if ! nsx b1 timeout $((SECS + 20)) iperf3 -c 10.0.0.7 -t "$SECS" -J "$@" >"$T/iperf.json"; then
		kill "$srv" 2>/dev/null || true # this runs in a subshell: lib.sh's cleanup does not know it
		fail "$KIND: iperf3 $*: $(tail -3 "$T/iperf.json")"
	fi
	wait "$srv" 2>/dev/null || true
	python3 -c 'import json, sys
print("%.3f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' "$T/iperf.json"
}

measure() # measure VM_IF_IN_B2: prints "PPS GBPS GBPS_P4 OFFERED_PPS US_CPU_PER_PKT"
{
	local ifb=$1 before after sent t0 t1 gbps gbps4
	ip netns exec "$P-b2" "$UDPGEN" sink 9 $((SECS + 3)) &
	BGPIDS+=($!)
	before=$(nsx b2 cat "/sys/class/net/$ifb/statistics/rx_packets")
	t0=$(daemon_ticks)
	sent=$(nsx b1 "$UDPGEN" send 10.0.0.7 9 "$SECS")
	sleep 0.2
	t1=$(daemon_ticks)
	after=$(nsx b2 cat "/sys/class/net/$ifb/statistics/rx_packets")
	gbps=$(iperf_gbps)
	gbps4=$(iperf_gbps -P 4)
	python3 - "$before" "$after" "$sent" "$SECS" "$((t1 - t0))" "$(getconf CLK_TCK)" "${#DPIDS[@]}" \
		"$gbps" "$gbps4" <<'PY'
import sys
before, after, sent, secs, ticks, hz, daemons = (int(x) for x in sys.argv[1:8])
got = after - before
# hnvgwd CPU (both hosts, user + system incl. the kernel work its syscalls
# do) per packet delivered; "-" when no daemon forwards. Work the kernel
# does in softirq (the fast path) is charged to whatever ran, not hnvgwd.
cpu = "%.2f" % (ticks / hz * 1e6 / got) if daemons and got else "-"
print("%d %s %s %d %s" % (got / secs, sys.argv[8], sys.argv[9], sent / secs, cpu))
PY
}

# datapath_opt: true if this hnvgwd takes --datapath (its --help says so)
datapath_opt()
{
	local h
	h=$("$HNVGWD" --help 2>&1 || true)
	[[ $h == *--datapath* ]]
}

# hnvgwd_with ARGS...: from here on start_host runs hnvgwd with ARGS added
# (a wrapper that execs it, so the PID lib.sh records is hnvgwd's)
hnvgwd_with()
{
	local real=$HNVGWD
	printf '#!/bin/bash\nexec %q %s "$@"\n' "$real" "$*" >"$T/hnvgwd-wrap"
	chmod +x "$T/hnvgwd-wrap"
	HNVGWD=$T/hnvgwd-wrap
}

veth_vm() # veth_vm HOST VM IFNAME CA/LEN [MAC]: a veth from HOST (v<VM>) into VM
{
	local h=$1 vm=$2 ifn=$3 ca=$4 mac=${5:-}
	mkns "$vm"
	ip link add "$ifn" netns "$P-$vm" ${mac:+address "$mac"} type veth peer name "v$vm" netns "$P-$h"
	nsx "$vm" ip addr add "$ca" dev "$ifn"
	nsx "$vm" ip link set "$ifn" up
	nsx "$h" ip link set "v$vm" up
}

provider() # provider H PA: host namespace with up0 in the bridge
{
	local h=$1 pa=$2
	mkns "$h"
	ip link add up0 netns "$P-$h" type veth peer name "${h}p" netns "$P-pn"
	nsx pn ip link set "${h}p" master br0 up
	nsx "$h" ip link set up0 up
	[[ -z $pa ]] || nsx "$h" ip addr add "$pa/24" dev up0
}

trap lab_cleanup EXIT
trap 'exit 130' INT TERM
case $KIND in
kernel)
	mkns pn
	nsx pn ip link add br0 type bridge mcast_snooping 0
	nsx pn ip link set br0 up
	provider h1 192.168.4.11
	provider h2 192.168.4.22
	# b1 in 10.0.0.0/25 behind h1, b2 in 10.0.0.128/25 behind h2 (10.0.0.7
	# would be on b1's link): route b2 as 10.0.0.7/32 on h2
	veth_vm h1 b1 eth0 10.0.0.5/32
	veth_vm h2 b2 eth0 10.0.0.7/32
	nsx b1 ip route add 10.0.0.254 dev eth0
	nsx b1 ip route add default via 10.0.0.254 dev eth0
	nsx b2 ip route add 10.0.0.254 dev eth0
	nsx b2 ip route add default via 10.0.0.254 dev eth0
	for h in h1 h2; do
		nsx "$h" sysctl -qw net.ipv4.ip_forward=1
		nsx "$h" ip addr add 10.0.0.254/32 dev "v$([[ $h == h1 ]] && echo b1 || echo b2)"
	done
	nsx h1 ip route add 10.0.0.5/32 dev vb1
	nsx h2 ip route add 10.0.0.7/32 dev vb2
	nsx h1 ip route add 10.0.0.7/32 via 192.168.4.22
	nsx h2 ip route add 10.0.0.5/32 via 192.168.4.11
	nsx b1 ping -c 1 -W 2 10.0.0.7 >/dev/null || fail "kernel path: no ping"
	read -r pps gbps gbps4 offered cpu < <(measure eth0)
	;;
hnvgw-raw | hnvgw-packet)
	UPLINK_BACKEND=${KIND#hnvgw-}
	! datapath_opt || hnvgwd_with --datapath userspace
	lab_setup
	wait_for 10 nsx b1 ping -c 1 -W 1 10.0.0.7 || fail "$KIND: no ping"
	read -r pps gbps gbps4 offered cpu < <(measure blue2)
	;;
hnvgw-fp)
	datapath_opt || {
		echo "SKIP hnvgw-fp: $HNVGWD has no --datapath option (the kernel fast path comes with branch fp-daemon)"
		exit 0
	}
	hnvgwd_with --datapath kernel
	lab_hosts "$ROOT/tests/data/bluered.ps1"
	# the VMs of bluered.ps1's Blue subnet, on veth pairs; the host ends are
	# the ports. MTU 1458: the provider's 1500 minus NVGRE's 42
	for vm in b1 b2; do
		h=h1 ca=10.0.0.5 mac=06:06:00:00:00:05 port=blue1
		[[ $vm == b2 ]] && h=h2 ca=10.0.0.7 mac=06:06:00:00:00:07 port=blue2
		veth_vm "$h" "$vm" eth0 "$ca/24" "$mac"
		nsx "$vm" ip link set eth0 mtu 1458
		nsx "$vm" ip route add default via 10.0.0.1
		cli "$h" port add "$port" --vsid 5001 --ca "$ca" --mac "$mac" --dev "v$vm" >/dev/null ||
			fail "$KIND: port add $port --dev v$vm on $h"
	done
	wait_for 10 nsx b1 ping -c 1 -W 1 10.0.0.7 || fail "$KIND: no ping"
	read -r pps gbps gbps4 offered cpu < <(measure eth0)
	;;
ovs)
	command -v ovs-vswitchd >/dev/null || { echo "SKIP ovs: ovs-vswitchd is not installed"; exit 0; }
	mkns pn
	nsx pn ip link add br0 type bridge mcast_snooping 0
	nsx pn ip link set br0 up
	for h in h1 h2; do
		provider "$h" ""
		d=$T/ovs-$h
		mkdir -p "$d"
		ovsdb-tool create "$d/conf.db" /usr/share/openvswitch/vswitch.ovsschema
		ip netns exec "$P-$h" env OVS_RUNDIR="$d" OVS_DBDIR="$d" OVS_LOGDIR="$d" \
			ovsdb-server "$d/conf.db" --remote="punix:$d/db.sock" --pidfile="$d/ovsdb.pid" \
			--detach --log-file="$d/ovsdb.log" --no-chdir
		BGPIDS+=("$(cat "$d/ovsdb.pid")")
		ip netns exec "$P-$h" env OVS_RUNDIR="$d" OVS_DBDIR="$d" OVS_LOGDIR="$d" \
			ovs-vswitchd "unix:$d/db.sock" --pidfile="$d/vswitchd.pid" --detach \
			--log-file="$d/vswitchd.log" --no-chdir
		BGPIDS+=("$(cat "$d/vswitchd.pid")")
	done
	vsctl() { local h=$1; shift; nsx "$h" ovs-vsctl --db="unix:$T/ovs-$h/db.sock" --timeout=20 "$@"; }
	veth_vm h1 b1 eth0 10.0.0.5/24
	veth_vm h2 b2 eth0 10.0.0.7/24
	for h in h1 h2; do
		pa=192.168.4.11 remote=192.168.4.22 vm=b1
		[[ $h == h2 ]] && pa=192.168.4.22 remote=192.168.4.11 vm=b2
		vsctl "$h" add-br brp -- set bridge brp datapath_type=netdev -- add-port brp up0
		nsx "$h" ip addr add "$pa/24" dev brp
		nsx "$h" ip link set brp up
		vsctl "$h" add-br brv -- set bridge brv datapath_type=netdev -- add-port brv "v$vm" \
			-- add-port brv gre0 -- set interface gre0 type=gre \
			"options:remote_ip=$remote" "options:key=$((5001 << 8))"
		nsx "$h" ip link set brv up
		# partial checksums from the VM's stack are not completed by the
		# userspace datapath's veth ports
		# OVS sends no ICMP fragmentation needed: the VM MTU leaves room
		# for the 42 bytes of outer IPv4, GRE and inner Ethernet (1458, as PMTU gives hnvgw VMs)
		nsx "$vm" ip link set eth0 mtu 1458
		nsx "$vm" ethtool -K eth0 tx off >/dev/null || fail "ethtool -K eth0 tx off in $vm"
		nsx "$h" ethtool -K "v$vm" tx off >/dev/null || fail "ethtool -K v$vm tx off on $h"
	done
	wait_for 20 nsx b1 ping -c 1 -W 1 10.0.0.7 || {
		echo "SKIP ovs: no ping through the OVS userspace datapath (see $T/ovs-h1/vswitchd.log)"
		exit 0
	}
	read -r pps gbps gbps4 offered cpu < <(measure eth0)
	;;
*)
	echo "usage: e2e_path.sh kernel|hnvgw-raw|hnvgw-packet|hnvgw-fp|ovs" >&2
	exit 2
	;;
esac
echo "RESULT $KIND $pps $gbps $gbps4 $offered $cpu"
