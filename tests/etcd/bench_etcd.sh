#!/bin/bash
# bench_etcd.sh: how long 10,000 ports take to propagate to 3 hosts through
# a 3-member etcd cluster (mgmt/daemon/sync.h). Prints the figures, asserts none.
#
# One routing domain with one port on each of the 3 observed hosts (so all
# three apply it); then 10 more hosts (a host has at most 1023 ports) add
# 1,000 ports each (explicit CA and MAC, 500 per transaction), one after
# the other; the clock runs from the first write until each of the 3 hosts
# holds the 10,003 lookup records.
set -u
source "$(dirname "$0")/lib.sh"
N=${BENCH_PORTS:-10000}
BATCH=500

for n in 1 2 3; do etcd_start "$n"; done
etcd_wait_healthy
for i in 1 2 3; do
	host_start h$i
	cli h$i pa add 192.0.2.1$i/24 --dev eth0 >/dev/null || fail "pa add"
done
cli h1 commit -f - >/dev/null <<'CONF' || fail "shared policy"
rdomain add bench --rdid {22222222-0000-0000-0000-000000000001}
vsubnet add 8001 --rdomain bench --prefix 10.200.0.0/16
CONF
for i in 1 2 3; do cli h$i port add seed$i --vsid 8001 --ca 10.200.0.1$i --mac 02:00:00:00:00:1$i >/dev/null || fail "seed port"; done

# Hosts apply etcd's revisions in order: the last port's record being
# there means every earlier one is. (show lookup with 10,000 rows exceeds
# the API's 1 MiB reply line.) The datapath's own answer is asked.
last_ca=""
has_last() { cli "$1" --json nexthop --vsid 8001 --src 10.200.0.11 --dst "$last_ca" | grep -q "\"$2\""; }
all_there()
{
	local h
	for h in h1 h2 h3; do
		has_last $h "$last_pa" || return 1
	done
}

WRITERS=${BENCH_WRITERS:-10}
for ((w = 1; w <= WRITERS; w++)); do
	host_start w$w
	cli w$w pa add 192.0.2.$((100 + w))/24 --dev eth0 >/dev/null || fail "pa add"
done
for ((b = 0; b < N; b += BATCH)); do
	for ((i = b; i < b + BATCH && i < N; i++)); do
		printf 'port add b%d --vsid 8001 --ca 10.200.%d.%d --mac 02:01:00:00:%02x:%02x\n' \
			"$i" $((1 + i / 250)) $((1 + i % 250)) $((i / 256)) $((i % 256))
	done >"$T/batch-$b"
done
i=$((N - 1))
last_ca=10.200.$((1 + i / 250)).$((1 + i % 250))
last_pa=192.0.2.$((100 + WRITERS))
t0=$(now_ms)
for ((b = 0; b < N; b += BATCH)); do
	w=$((1 + b * WRITERS / N))
	cli w$w commit -f "$T/batch-$b" >/dev/null || fail "batch $b on w$w"
done
t1=$(now_ms)
wait_for 600 all_there || fail "not every host got the $N ports"
t2=$(now_ms)
echo "bench-etcd: $N ports written through $WRITERS hosts in $((t1 - t0)) ms ($(( N * 1000 / (t1 - t0 + 1) )) ports/s)"
echo "bench-etcd: $N ports propagated to 3 hosts in $((t2 - t0)) ms from the first write ($((t2 - t1)) ms after the last)"
for h in "${!HPIDS[@]}"; do host_stop "$h"; done
