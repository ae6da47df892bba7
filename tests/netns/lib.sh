# shellcheck shell=bash disable=SC2034
# lib.sh: the Blue/Red HNV lab in network namespaces (sourced, bash).
#
# Topology (names are prefixed with $P, unique per run; lab_setup builds it,
# lab_hosts only the bridge and the hosts, lab_bridge only the bridge):
#
#   $P-pn: bridge br0 (the provider segment), ports h1p and h2p
#   $P-h1: host 1, PA 192.168.4.11/24 on up0 (veth to h1p), hnvgwd --uplink up0
#   $P-h2: host 2, PA 192.168.4.22/24 on up0 (veth to h2p), hnvgwd --uplink up0
#   $P-b1, $P-r1: VMs Blue1, Red1 (10.0.0.5), each holding its TAP from host 1
#   $P-b2, $P-r2: VMs Blue2, Red2 (10.0.0.7), each holding its TAP from host 2
#
# Each host is configured with `hnvgw ps` from tests/data/bluered.ps1 (host
# 2's PA substituted) plus `hnvgw port add`. lab_cleanup (installed as the
# EXIT trap by lab_setup) stops every process it started, by PID, and
# deletes the namespaces. Waits poll a condition with a deadline; there are
# no fixed sleeps that race.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
HNVGWD=${HNVGWD:-$ROOT/build/asan/hnvgwd}
HNVGW=${HNVGW:-$ROOT/build/asan/hnvgw}
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

P=hnv$$
T=$(mktemp -d /tmp/hnvgw-netns.XXXXXX)
NSES=()
declare -A DPIDS=() # host -> hnvgwd PID
BGPIDS=()           # other background processes (tcpdump, iperf3 -s)

fail()
{
	echo "FAIL: $*" >&2
	local f
	for f in "$T"/*.log; do
		[[ -f $f ]] || continue
		echo "--- last lines of $f" >&2
		tail -n 20 "$f" >&2
	done
	exit 1
}

pass() { echo "ok - $*"; }

# wait_for SECONDS CMD...: runs CMD every 50 ms until it succeeds.
wait_for()
{
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

nsx() # nsx NS CMD...: CMD inside namespace $P-NS
{
	local ns=$1
	shift
	ip netns exec "$P-$ns" "$@"
}

cli() # cli HOST ARGS...
{
	local h=$1
	shift
	timeout 30 "$HNVGW" --socket "$T/$h.sock" "$@"
}

lab_cleanup()
{
	local rc=$? pid h
	trap - EXIT
	for pid in "${BGPIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	for h in "${!DPIDS[@]}"; do
		kill -TERM "${DPIDS[$h]}" 2>/dev/null || true
		wait "${DPIDS[$h]}" 2>/dev/null || true
	done
	for ns in "${NSES[@]}"; do
		ip netns del "$P-$ns" 2>/dev/null || true
	done
	rm -rf "$T"
	exit "$rc"
}

mkns()
{
	ip netns add "$P-$1"
	NSES+=("$1")
	nsx "$1" ip link set lo up
	# no IPv6 autoconfiguration noise (RS, MLD, DAD) unless a test asks
	nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# start_host H PA [MAC [HNVGWD-ARGS...]]: host namespace, uplink veth (with
# MAC; "" for a random one) into the bridge, hnvgwd (with the extra
# arguments; UPLINK_BACKEND, DATAPATH and FWD_THREADS, when set, are its
# --uplink-backend, --datapath and --fwd-threads).
start_host()
{
	local h=$1 pa=$2 mac=${3:-}
	shift $(($# < 3 ? $# : 3))
	mkns "$h"
	ip link add up0 netns "$P-$h" ${mac:+address "$mac"} type veth peer name "${h}p" netns "$P-pn"
	nsx pn ip link set "${h}p" master br0 up
	nsx "$h" ip addr add "$pa/24" dev up0
	nsx "$h" ip link set up0 up
	# not through nsx: $! must be hnvgwd itself (ip netns exec execs it)
	ip netns exec "$P-$h" "$HNVGWD" --foreground --state-dir "$T/state-$h" --socket "$T/$h.sock" \
		--uplink up0 ${UPLINK_BACKEND:+--uplink-backend "$UPLINK_BACKEND"} \
		${DATAPATH:+--datapath "$DATAPATH"} ${FWD_THREADS:+--fwd-threads "$FWD_THREADS"} "$@" \
		--log-level debug >>"$T/hnvgwd-$h.log" 2>&1 &
	DPIDS[$h]=$!
	wait_for 20 cli "$h" show revisions || fail "hnvgwd on $h did not answer"
	grep -q "forwarding on uplink up0" "$T/hnvgwd-$h.log" || fail "$h: no host edge"
	[[ -z ${FWD_THREADS:-} ]] || grep -q "; $FWD_THREADS forwarding thread" "$T/hnvgwd-$h.log" ||
		fail "$h: not $FWD_THREADS forwarding threads"
}

# stop_host H: SIGTERM; hnvgwd must exit 0 (ASan: no leak, no error).
stop_host()
{
	local h=$1 rc=0
	kill -TERM "${DPIDS[$h]}"
	wait "${DPIDS[$h]}" || rc=$?
	unset "DPIDS[$h]"
	((rc == 0)) || fail "hnvgwd on $h exited with $rc"
	! grep -qE "AddressSanitizer|runtime error|LeakSanitizer" "$T/hnvgwd-$h.log" ||
		fail "sanitizer report from hnvgwd on $h"
}

# tier HOST: the forwarding tier hnvgwd on HOST uses (kernel or userspace).
tier()
{
	cli "$1" --json show status | python3 -c 'import json,sys
rows=json.load(sys.stdin)
rows=rows.get("result",rows) if isinstance(rows,dict) else rows
print(rows[0]["datapath"])'
}

# add_vm HOST VM PORT VSID CA MAC [CA6]: VM namespace VM on port PORT of
# HOST. By default (VM_PORTS=dev) the VM's interface PORT is one end of a
# veth whose other end, v-PORT in HOST, is the port's device (port add
# --dev), as a container's or qemu's would be: the kernel fast path serves
# it. When HOST forwards in userspace the VM sends no GSO super-frames (the
# C engine forwards frames: datapath/io/dev.c). VM_PORTS=tap: hnvgwd
# creates TAP PORT, which is moved into VM. With CA6 (an IPv6 CA in a /64)
# the port gets both CAs, IPv6 is enabled on the VM's interface and CA6 is
# added without DAD (the host never answers DAD probes: HNV addresses are
# unique by policy).
add_vm()
{
	local h=$1 vm=$2 port=$3 vsid=$4 ca=$5 mac=$6 ca6=${7:-}
	[[ " ${NSES[*]} " == *" $vm "* ]] || mkns "$vm"
	if [[ ${VM_PORTS:-dev} == dev ]]; then
		ip link add "v-$port" netns "$P-$h" type veth peer name "$port" netns "$P-$vm" \
			address "$(sed -E 's/(..)/\1:/g; s/:$//' <<<"$mac")"
		nsx "$h" ip link set "v-$port" up
		[[ $(tier "$h") == kernel ]] ||
			nsx "$vm" ethtool -K "$port" tso off gso off gro off >/dev/null 2>&1 || true
		cli "$h" port add "$port" --vsid "$vsid" --ca "$ca" ${ca6:+--ca "$ca6"} --mac "$mac" \
			--dev "v-$port" >/dev/null || fail "port add $port --dev v-$port on $h"
	else
		cli "$h" port add "$port" --vsid "$vsid" --ca "$ca" ${ca6:+--ca "$ca6"} --mac "$mac" \
			>/dev/null || fail "port add $port on $h"
		wait_for 10 nsx "$h" ip link show "$port" || fail "no TAP $port on $h"
		nsx "$h" ip link set "$port" netns "$P-$vm"
	fi
	nsx "$vm" ip addr add "$ca/24" dev "$port"
	if [[ -n $ca6 ]]; then
		nsx "$vm" sysctl -qw "net.ipv6.conf.$port.disable_ipv6=0" "net.ipv6.conf.$port.accept_ra=0"
		nsx "$vm" ip -6 addr add "$ca6/64" dev "$port" nodad
	fi
	nsx "$vm" ip link set "$port" up
	nsx "$vm" ip route replace default via "${ca%.*}.1"
}

# dev_vm HOST VM PORT VSID CA MAC: a VM namespace with eth0 (MAC) on a
# veth whose host end v-PORT, in HOST, becomes port PORT with --dev (a
# device hnvgwd did not create, as a container's or qemu's). With
# DEV_VM_NO_OFFLOAD=1 eth0 sends no GSO super-frames (for the C engine,
# which forwards frames: datapath/io/dev.c).
dev_vm()
{
	local h=$1 vm=$2 port=$3 vsid=$4 ca=$5 mac=$6
	mkns "$vm"
	ip link add "v-$port" netns "$P-$h" type veth peer name eth0 netns "$P-$vm" address "$mac"
	nsx "$h" ip link set "v-$port" up
	nsx "$vm" ip addr add "$ca/24" dev eth0
	nsx "$vm" ip link set eth0 up
	nsx "$vm" ip route replace default via "${ca%.*}.1"
	if [[ ${DEV_VM_NO_OFFLOAD:-} == 1 ]]; then
		nsx "$vm" ethtool -K eth0 tso off gso off gro off >/dev/null 2>&1 || true
	fi
	cli "$h" port add "$port" --vsid "$vsid" --ca "$ca" --mac "$mac" --dev "v-$port" >/dev/null ||
		fail "port add $port --dev v-$port on $h"
}

# provider_attach NS IP: a namespace on the provider bridge with its own
# address (for crafted frames: scapy, replays); prints nothing.
provider_attach()
{
	local ns=$1 ip=$2
	mkns "$ns"
	ip link add pv0 netns "$P-$ns" type veth peer name "${ns}p" netns "$P-pn"
	nsx pn ip link set "${ns}p" master br0 up
	nsx "$ns" ip addr add "$ip/24" dev pv0
	nsx "$ns" ip link set pv0 up
}

# cap_start NS IF FILE [FILTER...]: tcpdump into FILE in the background;
# returns once it listens. cap_stop FILE stops it and waits.
declare -A CAPPIDS=()
cap_start()
{
	local ns=$1 ifn=$2 file=$3
	shift 3
	ip netns exec "$P-$ns" tcpdump --immediate-mode -i "$ifn" -U -n -s 400 -w "$file" "$@" 2>"$file.log" &
	CAPPIDS[$file]=$!
	BGPIDS+=($!)
	wait_for 10 grep -q "listening on" "$file.log" || fail "tcpdump on $ns/$ifn did not start"
}

cap_stop()
{
	local pid=${CAPPIDS[$1]}
	# a settle, not a wait for a condition: frames already delivered reach
	# the capture before tcpdump stops (callers count them afterwards)
	sleep 0.2
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# frames FILE [DISPLAY-FILTER]: how many frames tshark counts.
frames()
{
	tshark -r "$1" ${2:+-Y "$2"} 2>/dev/null | wc -l
}

# counter HOST NAME: the value of one row of show counters.
counter()
{
	cli "$1" --json show counters |
		python3 -c 'import json,sys
rows=json.load(sys.stdin)
rows=rows.get("result",rows) if isinstance(rows,dict) else rows
print(next(r["value"] for r in rows if r["counter"]==sys.argv[1]))' "$2"
}

# counter_ge HOST NAME N: true once that counter has reached N.
counter_ge() { (($(counter "$1" "$2") >= $3)); }

# lab_bridge: the EXIT trap and the provider segment, bridge br0 in $P-pn.
lab_bridge()
{
	trap lab_cleanup EXIT
	trap 'exit 130' INT TERM
	mkns pn
	# no IGMP snooping: the bridge would send its own reports
	nsx pn ip link add br0 type bridge mcast_snooping 0
	nsx pn ip link set br0 up
}

# lab_hosts [PS]: the provider bridge and both hosts, configured with the
# demo policy (hnvgw ps; PS instead of tests/data/bluered.ps1, its PA line
# naming host 1), no VMs yet.
lab_hosts()
{
	local ps=${1:-$ROOT/tests/data/bluered.ps1}
	lab_bridge
	start_host h1 192.168.4.11
	start_host h2 192.168.4.22
	sed -E '/^New-NetVirtualizationProviderAddress/s/192\.168\.4\.11/192.168.4.22/' \
		"$ps" >"$T/bluered-host2.ps1"
	cli h1 ps "$ps" >"$T/ps-h1.out" || fail "ps on h1"
	cli h2 ps "$T/bluered-host2.ps1" >"$T/ps-h2.out" || fail "ps on h2"
}

lab_setup()
{
	lab_hosts "$ROOT/tests/data/bluered.ps1"
	add_vm h1 b1 blue1 5001 10.0.0.5 060600000005
	add_vm h1 r1 red1 6001 10.0.0.5 080800000005
	add_vm h2 b2 blue2 5001 10.0.0.7 060600000007
	add_vm h2 r2 red2 6001 10.0.0.7 080800000007
}
