#!/bin/bash
# test_zebra.sh: the hnvgw ZAPI client (gateway/zapi.c, driven by
# tests/zapi/zapi_drive.c) against a real zebra and staticd (Debian FRR
# 8.4) in a private network namespace and FRR pathspace (`-N`).
#
# Asserts:
#  (a) routes set through the client (ifindex, gateway, gateway+ifindex,
#      blackhole, IPv6) reach the kernel table with protocol "openfabric" and
#      `show ip route`; a route of a VRF zebra does not know is held; bgpd
#      picks them up with `redistribute openfabric` (why the type is SHARP);
#  (b) a static route configured through vtysh (staticd) arrives through
#      redistribution, and its removal too;
#  (c) after zebra is stopped and started again the client reconnects and
#      every route is back (the time it took is printed);
#  (d) with graceful restart registered, killing the client leaves its
#      routes in place, and zebra removes them when the stale time ends;
#  (e) deleting a route removes it from the kernel and zebra;
#  (f) a restarted client that no longer wants a route: zebra sweeps it as
#      soon as the client's re-sent routes are installed (GR update
#      complete), long before the stale time;
#  (h) a client told zebra runs an unknown FRR release (a fake version
#      string) refuses with one log line and sends zebra nothing;
#  (g) per-VRF installation: a second zebra with the netns VRF backend
#      (`zebra -n`, the kernel here has no VRF devices) announces VRF
#      "blue" (a netns); routes set in "blue" land in that namespace's
#      table and routes of "default" in zebra's own namespace;
#  and zebra logged no warning about our messages.
# Waits poll a condition with a deadline; nothing asserts a duration.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DRIVE=${ZAPI_DRIVE:-$ROOT/build/asan/zapi_drive}
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

((EUID == 0)) || {
	echo "FAIL: test_zebra.sh needs root (namespaces, zebra's 0700 socket)" >&2
	exit 1
}
[[ -x $DRIVE ]] || {
	echo "FAIL: no driver at $DRIVE" >&2
	exit 1
}

NS=zapi$$
T=$(mktemp -d /tmp/hnvgw-zapi.XXXXXX)
RUN=/run/frr/$NS
SOCK=$RUN/zserv.api
NSV=${NS}v # (g): zebra -n
RUNV=/run/frr/$NSV
DPID=""

cleanup()
{
	set +e
	[[ -n $DPID ]] && kill -9 "$DPID" 2>/dev/null
	exec 3>&- 2>/dev/null
	for f in "$RUN/bgpd.pid" "$RUN/staticd.pid" "$RUN/zebra.pid" "$RUNV/zebra.pid"; do
		[[ -f $f ]] && kill "$(cat "$f")" 2>/dev/null
	done
	sleep 0.3
	for f in "$RUN/bgpd.pid" "$RUN/staticd.pid" "$RUN/zebra.pid" "$RUNV/zebra.pid"; do
		[[ -f $f ]] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
	ip netns del "$NSV" 2>/dev/null
	rm -rf "$RUN" "$RUNV"
	[[ -n ${KEEP:-} ]] || rm -rf "$T"
}
trap cleanup EXIT

fail()
{
	echo "FAIL: $*" >&2
	for f in "$T"/*.log "$T"/drive*.out "$T"/drive*.err; do
		[[ -f $f ]] || continue
		echo "--- last lines of $f" >&2
		tail -n 25 "$f" >&2
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

# the kernel's routes of protocol openfabric (197), without "nhid N"
kroutes() { { ip -n "$NS" route show proto openfabric; ip -n "$NS" -6 route show proto openfabric; } | sed 's/ nhid [0-9]*//'; }
has_kroute() { kroutes | grep -q "^$1"; }
no_kroute() { ! kroutes | grep -q "^$1"; }
# vtysh -N looks for /etc/frr/NS/vtysh.conf and says so on stderr
vtyn() { local ns=$1; shift; vtysh -N "$ns" "$@" 2> >(grep -v "Can't open configuration file" >&2); }
vty() { vtyn "$NS" "$@"; }
has_zroute() { vty -c "show ${2:-ip} route" | grep -q "^f>\* $1"; }
no_zroute() { ! vty -c "show ${2:-ip} route" | grep -q "^f.* $1"; }

start_zebra()
{
	ip netns exec "$NS" /usr/lib/frr/zebra -N "$NS" -d -f "$T/zebra.conf" \
		-i "$RUN/zebra.pid" >>"$T/zebra-start.log" 2>&1
	wait_for 10 test -S "$SOCK" || fail "zebra did not create $SOCK"
}

stop_zebra()
{
	local pid
	pid=$(cat "$RUN/zebra.pid")
	kill "$pid"
	wait_for 10 bash -c "! kill -0 $pid" || fail "zebra $pid did not stop"
	rm -f "$SOCK"
}

# start_drive N ARGS...: driver N reads commands from fd 3, writes
# $T/driveN.out
start_drive()
{
	local n=$1
	shift
	rm -f "$T/cmd"
	mkfifo "$T/cmd"
	"$DRIVE" --path "${SOCK}" "$@" <"$T/cmd" >"$T/drive$n.out" 2>"$T/drive$n.err" &
	DPID=$!
	exec 3>"$T/cmd"
	OUT=$T/drive$n.out
	wait_for 10 grep -q '^connected' "$OUT" || fail "driver $n did not connect"
}
# kill_drive: SIGKILL, as a crash of hnvgwd would be
kill_drive()
{
	{
		kill -9 "$DPID"
		wait "$DPID"
	} 2>/dev/null || true
	DPID=""
	exec 3>&-
}
cmd() { echo "$*" >&3; }
# stats_has REGEX: a fresh stats line matches
stats_has()
{
	local before
	before=$(grep -c '^stats' "$OUT" || true)
	cmd stats
	wait_for 5 bash -c "(( \$(grep -c '^stats' '$OUT') > $before ))" || return 1
	grep '^stats' "$OUT" | tail -n 1 | grep -Eq "$1"
}

# ---- topology and daemons ----
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add v0 type veth peer name v1
ip -n "$NS" addr add 10.0.0.1/24 dev v0
ip -n "$NS" addr add 2001:db8:1::1/64 dev v0 nodad
ip -n "$NS" link set v0 up
ip -n "$NS" link set v1 up
mkdir -p "$RUN"
chown frr:frr "$RUN" "$T"
chmod 0755 "$T"
printf 'log file %s/zebra.log\ndebug zebra events\n' "$T" >"$T/zebra.conf"
printf 'log file %s/staticd.log\n' "$T" >"$T/staticd.conf"
chown frr:frr "$T/zebra.conf" "$T/staticd.conf"
start_zebra
ip netns exec "$NS" /usr/lib/frr/staticd -N "$NS" -d -f "$T/staticd.conf" \
	-i "$RUN/staticd.pid" >>"$T/zebra-start.log" 2>&1
wait_for 10 test -S "$RUN/staticd.vty" || fail "staticd did not start"
# bgpd without a listening socket (-p 0), redistributing our route type
# (openfabric: Debian's bgpd has no `redistribute sharp`)
printf 'log file %s/bgpd.log\nrouter bgp 65000\n bgp router-id 10.0.0.1\n address-family ipv4 unicast\n  redistribute openfabric\n exit-address-family\n' \
	"$T" >"$T/bgpd.conf"
chown frr:frr "$T/bgpd.conf"
ip netns exec "$NS" /usr/lib/frr/bgpd -N "$NS" -p 0 -d -f "$T/bgpd.conf" \
	-i "$RUN/bgpd.pid" >>"$T/zebra-start.log" 2>&1
wait_for 10 test -S "$RUN/bgpd.vty" || fail "bgpd did not start"

# ---- (a) routes into zebra and the kernel ----
start_drive 1 --gr 8 --redist 1:3 --redist 2:3
wait_for 10 stats_has 'interfaces [1-9]' || fail "no interfaces from zebra"
stats_has 'release 8\.4' || fail "FRR release not detected as 8.4: $(grep stats "$OUT" | tail -1)"
cmd set default 10.99.0.0/16 dev v0
cmd set default 10.98.0.0/16 via 10.0.0.2
cmd set default 10.97.0.0/16 via 10.0.0.2 dev v0 distance 20 metric 5
cmd set default 10.96.0.0/16 blackhole
cmd set default 2001:db8:99::/48 via 2001:db8:1::2
cmd set blue 10.50.0.0/16 via 10.0.0.9
wait_for 10 stats_has 'installed 5 failed 0 wait-vrf 1' ||
	fail "routes not installed: $(grep stats "$OUT" | tail -1)"
for r in "10.99.0.0/16 dev v0" "10.98.0.0/16 via 10.0.0.2 dev v0" \
	"10.97.0.0/16 via 10.0.0.2 dev v0" "blackhole 10.96.0.0/16" \
	"2001:db8:99::/48 via 2001:db8:1::2 dev v0"; do
	wait_for 5 has_kroute "$r" || fail "kernel lacks '$r': $(kroutes)"
done
for r in 10.99.0.0/16 10.98.0.0/16 10.97.0.0/16 10.96.0.0/16; do
	has_zroute "$r" || fail "zebra does not show $r as selected: $(vty -c 'show ip route')"
done
has_zroute 2001:db8:99::/48 ipv6 || fail "zebra lacks 2001:db8:99::/48"
vty -c 'show ip route 10.97.0.0/16' | grep -q 'distance 20, metric 5' ||
	fail "distance/metric: $(vty -c 'show ip route 10.97.0.0/16')"
no_kroute 10.50.0.0/16 || fail "route of unknown VRF blue was installed"
wait_for 10 bash -c "vtysh -N '$NS' -c 'show ip bgp' 2>/dev/null | grep -q '10.97.0.0/16'" ||
	fail "bgpd did not redistribute openfabric: $(vty -c 'show ip bgp')"
pass "(a) 5 routes in the kernel (proto openfabric), zebra and bgpd (redistribute openfabric); the VRF blue route is held"
cmd del blue 10.50.0.0/16

# ---- (b) redistribution of a static route configured through vtysh ----
vty -c 'configure terminal' -c 'ip route 10.77.0.0/16 10.0.0.2' -c 'ipv6 route 2001:db8:77::/48 2001:db8:1::2'
wait_for 10 grep -q '^redist add default 10.77.0.0/16 type 3 distance 1' "$OUT" ||
	fail "static route not redistributed"
wait_for 10 grep -q '^redist add default 2001:db8:77::/48 type 3' "$OUT" ||
	fail "static IPv6 route not redistributed"
vty -c 'configure terminal' -c 'no ip route 10.77.0.0/16 10.0.0.2'
wait_for 10 grep -q '^redist del default 10.77.0.0/16' "$OUT" || fail "static removal not redistributed"
pass "(b) static routes from vtysh arrive through redistribution (add and delete)"

# ---- (c) zebra restart: reconnect and re-install ----
n_all=$(grep -c '^all-installed' "$OUT" || true)
stop_zebra
wait_for 10 grep -q '^disconnected' "$OUT" || fail "driver did not notice zebra leaving"
t_start=$(date +%s%N)
start_zebra
wait_for 20 bash -c "(( \$(grep -c '^all-installed' '$OUT') > $n_all ))" ||
	fail "routes not re-installed after the zebra restart"
t_back=$((($(date +%s%N) - t_start) / 1000000))
for r in "10.99.0.0/16 dev v0" "10.98.0.0/16 via 10.0.0.2" "blackhole 10.96.0.0/16" \
	"2001:db8:99::/48"; do
	wait_for 5 has_kroute "$r" || fail "after restart, kernel lacks '$r'"
done
has_zroute 10.99.0.0/16 || fail "after restart, zebra lacks 10.99.0.0/16"
# staticd reconnects by itself and redistribution is asked again
wait_for 10 bash -c "grep '^redist add default 2001:db8:77::/48' '$OUT' | wc -l | grep -q '^[2-9]'" ||
	fail "redistribution not renewed after the restart"
pass "(c) after a zebra restart: $(grep '^all-installed' "$OUT" | tail -n 1); <= $t_back ms after zebra was started again"

# ---- (d) graceful restart: the client dies, the routes stay ----
kill_drive
killed=$SECONDS
sleep 2
for r in "10.99.0.0/16" "10.98.0.0/16" "2001:db8:99::/48"; do
	has_kroute "$r" || fail "GR: $r vanished right after the client died"
done
vty -c 'show ip route 10.99.0.0/16' | grep -q 'openfabric' || fail "GR: zebra dropped 10.99.0.0/16"
pass "(d) client killed: its routes are still in the kernel and zebra 2 s later"
wait_for 30 no_kroute 10.99.0.0/16 || fail "GR: stale routes not removed after the stale time (8 s)"
wait_for 5 no_kroute 2001:db8:99::/48 || fail "GR: stale IPv6 route not removed"
pass "(d) zebra removed them when the stale time ran out ($((SECONDS - killed)) s after the kill, stale time 8 s)"

# ---- (e) delete ----
start_drive 2 --gr 60
cmd set default 10.91.0.0/16 dev v0
cmd set default 10.92.0.0/16 via 10.0.0.2
cmd set default 10.93.0.0/16 blackhole
wait_for 10 stats_has 'routes 3 installed 3' || fail "(e) routes not installed"
wait_for 5 has_kroute "10.92.0.0/16" || fail "(e) 10.92.0.0/16 not in the kernel"
cmd del default 10.92.0.0/16
wait_for 10 no_kroute 10.92.0.0/16 || fail "(e) deleted route still in the kernel"
wait_for 5 no_zroute 10.92.0.0/16 || fail "(e) deleted route still in zebra"
{ has_kroute "10.91.0.0/16" && has_kroute "blackhole 10.93.0.0/16"; } || fail "(e) other routes lost"
pass "(e) a deleted route leaves the kernel and zebra; the others stay"

# ---- (f) GR reconciliation: a restarted client drops what it no longer wants ----
# zebra calls a route stale when it is older than the client's disconnect,
# in whole seconds (monotime): let the routes of (e) age past one second.
sleep 1.2
kill_drive
start_drive 3 --gr 60
cmd set default 10.91.0.0/16 dev v0
wait_for 10 grep -q '^all-installed 1 routes' "$OUT" || fail "(f) route not re-installed"
wait_for 15 no_kroute "blackhole 10.93.0.0/16" ||
	fail "(f) route the new client does not want was not swept (stale time 60 s)"
has_kroute "10.91.0.0/16" || fail "(f) the re-sent route was swept"
pass "(f) after a client restart, zebra swept the route it no longer wants and kept the re-sent one"

# ---- (h) refusal of an unknown FRR release ----
kill_drive
hellos=$(grep -c 'says hello' "$T/zebra.log" || true)
rm -f "$T/cmd"
mkfifo "$T/cmd"
"$DRIVE" --path "$SOCK" --frr-version 10.0.1 <"$T/cmd" >"$T/drive5.out" 2>"$T/drive5.err" &
DPID=$!
exec 3>"$T/cmd"
OUT=$T/drive5.out
wait_for 10 grep -q 'runs FRR release 10.0.1.*supported: 8.2, 8.3, 8.4, 8.5, 9.0.; not connecting' \
	"$T/drive5.err" || fail "(h) no refusal line: $(cat "$T/drive5.err")"
stats_has 'conn 2 release 10.0.1' || fail "(h) state is not refused"
(($(grep -c 'zapi\[' "$T/drive5.err") == 1)) || fail "(h) more than one log line: $(cat "$T/drive5.err")"
(($(grep -c 'says hello' "$T/zebra.log" || true) == hellos)) || fail "(h) the refusing client said hello"
rm -f "$T/drive5.err" # its error line is expected
pass "(h) fake release 10.0.1 refused with one log line; zebra saw no hello"

# ---- (g) per-VRF installation with the netns VRF backend ----
kill_drive
# zebra -n turns every entry of /run/netns into a VRF: give it a private
# /run/netns (a bind mount in the mount namespace `ip netns exec` makes,
# kept alive by zebra) holding one namespace, "blue", with a veth.
mkdir -p "$T/netns" "$RUNV"
chown frr:frr "$RUNV"
printf 'log file %s/zebra-v.log\n' "$T" >"$T/zebra-v.conf"
chown frr:frr "$T/zebra-v.conf"
ip netns add "$NSV"
ip -n "$NSV" link set lo up
ip netns exec "$NSV" sh -c "mount --bind '$T/netns' /run/netns && ip netns add blue &&
	ip -n blue link set lo up && ip -n blue link add vb0 type veth peer name vb1 &&
	ip -n blue addr add 10.5.0.1/24 dev vb0 && ip -n blue link set vb0 up &&
	ip -n blue link set vb1 up &&
	exec /usr/lib/frr/zebra -n -N '$NSV' -d -f '$T/zebra-v.conf' -i '$RUNV/zebra.pid'" \
	>>"$T/zebra-start.log" 2>&1
wait_for 10 test -S "$RUNV/zserv.api" || fail "(g) zebra -n did not start"
ZVPID=$(cat "$RUNV/zebra.pid")
blue_routes() { nsenter -t "$ZVPID" -m ip netns exec blue ip route show proto openfabric | sed 's/ nhid [0-9]*//'; }
SOCK=$RUNV/zserv.api start_drive 4
wait_for 10 stats_has 'vrfs 2 interfaces [1-9]' || fail "(g) VRF blue not announced"
cmd set blue 10.66.0.0/16 dev vb0
cmd set blue 10.67.0.0/16 via 10.5.0.2
cmd set default 10.68.0.0/16 blackhole
wait_for 10 stats_has 'routes 3 installed 3' || fail "(g) routes not installed"
wait_for 5 bash -c "$(declare -f blue_routes); ZVPID=$ZVPID; blue_routes | grep -q '^10.66.0.0/16 dev vb0'" ||
	fail "(g) 10.66.0.0/16 not in netns blue: $(blue_routes)"
blue_routes | grep -q '^10.67.0.0/16 via 10.5.0.2 dev vb0' || fail "(g) 10.67.0.0/16 not in netns blue"
blue_routes | grep -q '10.68.0.0/16' && fail "(g) a default-VRF route leaked into blue"
ip -n "$NSV" route show proto openfabric | grep -q '^blackhole 10.68.0.0/16' ||
	fail "(g) default-VRF route missing from zebra's namespace"
ip -n "$NSV" route show proto openfabric | grep -q '10.6[67].0.0/16' && fail "(g) a blue route leaked into the default VRF"
vtyn "$NSV" -c 'show ip route vrf blue' | grep -q '^f>\* 10.66.0.0/16' || fail "(g) zebra does not show 10.66.0.0/16 in VRF blue"
pass "(g) zebra -n: VRF blue routes in netns blue's table, default VRF routes in zebra's namespace"

# ---- zebra logged nothing about our messages ----
# Error-coded lines other than start-up noise and the normal line for a
# client that went away, and anything about bad messages.
if grep -E '\[EC [0-9]+\]|malformed|corrupt|version mismatch|[Ii]nvalid|[Uu]nknown|No VRF' \
	"$T/zebra.log" "$T/zebra-v.log" "$T/zebra-start.log" |
	grep -vE 'Disabling MPLS support|encountered an error and is shutting down' >"$T/zebra-warn.txt"; then
	fail "zebra warnings: $(head -5 "$T/zebra-warn.txt")"
fi
# the client: warnings other than the expected ones around the zebra restart
if grep 'zapi\[[0-4]\]' "$T"/drive*.err |
	grep -vE 'closed: zebra closed the connection|cannot connect to zebra' >"$T/drive-warn.txt"; then
	fail "client warnings: $(head -5 "$T/drive-warn.txt")"
fi
pass "no unexpected warnings from zebra or the client"
