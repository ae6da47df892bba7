# shellcheck shell=bash
# lib.sh: a 3-member etcd cluster on loopback and hnvgwd hosts sharing
# policy through it, control plane only (sourced by test_etcd.sh and
# bench_etcd.sh; test_traffic.sh, with packets, builds its cluster and host
# edges on tests/netns/lib.sh instead).
#
# Everything lives in a private temporary directory $T and is stopped by
# PID from the EXIT trap. Ports come from a range derived from the PID so
# that parallel runs do not collide.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
HNVGWD=${HNVGWD:-$ROOT/build/asan/hnvgwd}
HNVGW=${HNVGW:-$ROOT/build/asan/hnvgw}
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ETCDCTL_API=3

command -v etcd >/dev/null || { echo "etcd missing (apt-get install etcd-server)" >&2; exit 1; }

T=$(mktemp -d /tmp/hnvgw-etcd.XXXXXX)
BASEPORT=$((21000 + ($$ % 1500) * 6))
PREFIX=/hnvgw-test-$$/
declare -A EPIDS=() HPIDS=()

client_url() { echo "http://127.0.0.1:$((BASEPORT + $1 - 1))"; }
peer_url() { echo "http://127.0.0.1:$((BASEPORT + 2 + $1))"; }
ALL_URLS="$(client_url 1),$(client_url 2),$(client_url 3)"

fail()
{
	echo "FAIL: $*" >&2
	local f
	for f in "$T"/*.log; do
		[[ -f $f ]] || continue
		echo "--- last lines of $f" >&2
		tail -n 15 "$f" >&2
	done
	exit 1
}

pass() { echo "ok - $*"; }

cleanup()
{
	local p
	for p in "${HPIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${HPIDS[@]}"; do wait "$p" 2>/dev/null; done
	for p in "${EPIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${EPIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

# etcd_start N: member N (1-3) of the cluster; its data survives a stop.
etcd_start()
{
	local n=$1 cluster
	cluster="m1=$(peer_url 1),m2=$(peer_url 2),m3=$(peer_url 3)"
	etcd --name "m$n" --data-dir "$T/etcd-m$n" \
		--listen-client-urls "$(client_url "$n")" --advertise-client-urls "$(client_url "$n")" \
		--listen-peer-urls "$(peer_url "$n")" --initial-advertise-peer-urls "$(peer_url "$n")" \
		--initial-cluster "$cluster" --initial-cluster-state new \
		--initial-cluster-token "hnvgw-$$" --max-txn-ops 100000 \
		--max-request-bytes 33554432 --heartbeat-interval 100 --election-timeout 2000 \
		--logger zap --log-level error >>"$T/etcd-m$n.log" 2>&1 &
	EPIDS[$n]=$!
}

etcd_stop()
{
	local n=$1
	kill "${EPIDS[$n]}" 2>/dev/null
	wait "${EPIDS[$n]}" 2>/dev/null
	unset "EPIDS[$n]"
}

ectl() { etcdctl --endpoints "$ALL_URLS" --dial-timeout 2s --command-timeout 5s "$@"; }

etcd_wait_healthy()
{
	local i
	for ((i = 0; i < 150; i++)); do
		ectl endpoint health --cluster >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	fail "etcd cluster not healthy"
}

sock_of() { echo "$T/$1.sock"; }

# host_start NAME [URLS [OPTIONS...]]: an hnvgwd sharing policy through
# etcd ("" for URLS: every member), with more hnvgwd options.
host_start()
{
	local h=$1 urls=${2:-$ALL_URLS}
	shift $(($# < 2 ? $# : 2))
	"$HNVGWD" --foreground --state-dir "$T/state-$h" --socket "$(sock_of "$h")" \
		--etcd "$urls" --host-name "$h" --etcd-prefix "$PREFIX" \
		--log-level info "$@" >>"$T/$h.log" 2>&1 &
	HPIDS[$h]=$!
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -S $(sock_of "$h") ]] && return 0
		kill -0 "${HPIDS[$h]}" 2>/dev/null || fail "hnvgwd $h exited"
		sleep 0.1
	done
	fail "hnvgwd $h did not start"
}

host_stop()
{
	local h=$1
	kill "${HPIDS[$h]}" 2>/dev/null
	wait "${HPIDS[$h]}" || fail "hnvgwd $h exited with status $?"
	unset "HPIDS[$h]"
}

cli() { local h=$1; shift; timeout 60 "$HNVGW" --socket "$(sock_of "$h")" "$@"; }

# jq-free JSON helpers (python3)
count_rows() { cli "$1" --json show "$2" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

# lookups H: "VSID CA PA" per record, sorted
lookups()
{
	cli "$1" --json show lookup | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    print(r["VirtualSubnetID"], r["CustomerAddress"], r["ProviderAddress"])' | sort
}

# wait_for SECONDS CMD...: until CMD succeeds
wait_for()
{
	local t=$1 end
	shift
	end=$((SECONDS + t))
	while ((SECONDS < end)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	"$@" >/dev/null 2>&1
}

now_ms() { date +%s%3N; }
