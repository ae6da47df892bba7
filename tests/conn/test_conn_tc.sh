#!/bin/bash
# test_conn_tc.sh: the rate limits of GRE and L3 connections
# (gateway/rtnl_conn.c) against the kernel, in a network namespace of its
# own, through tests/conn/conn_drive: an egress limit is a tbf root qdisc
# the kernel reports with the rate asked for; changing it replaces the
# qdisc on the same device (same ifindex, the rate changed); 0 removes it;
# a device without a limit reads as none. Where the kernel lacks a piece
# (this machine: GRE, 802.1Q, cls_matchall/act_police) the refusal names
# it; on a kernel that has them the objects are created and read back
# (the image lab's connections scenario checks them through hnvgwd and
# tc instead). Needs root. CONN_DRIVE names the driver.
set -euo pipefail

DRIVE=${CONN_DRIVE:-build/asan/conn_drive}
DRIVE=$(realpath "$DRIVE")
NS=hnvconn-$$
fails=0

cleanup() { ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$NS"

d() { ip netns exec "$NS" "$DRIVE" "$@"; }
ok() { echo "ok   $1"; }
bad() {
	echo "FAIL $1"
	fails=$((fails + 1))
}
has() { if grep -Eq -- "$3" <<<"$2"; then ok "$1"; else bad "$1: no \"$3\" in: $2"; fi; }

ip -n "$NS" link add v0 type veth peer name v1
ip -n "$NS" link set v0 up
ifi=$(ip -n "$NS" -o link show v0 | cut -d: -f1)

has "no limit" "$(d shaping v0)" '^tbf=0 root=0 ingress=0$'
d rate-out v0 20000 || bad "rate-out 20000"
# 20000 kbit/s = 2500000 bytes/s
has "tbf read back" "$(d shaping v0)" '^tbf=2500000 root=1 '
has "tc sees tbf 20Mbit" "$(tc -n "$NS" qdisc show dev v0)" 'qdisc tbf 1: root .*rate 20Mbit'
d rate-out v0 10000 || bad "rate-out 10000"
has "changed in place: tbf 10Mbit" "$(tc -n "$NS" qdisc show dev v0)" 'qdisc tbf 1: root .*rate 10Mbit'
has "changed in place: same device" "$(ip -n "$NS" -o link show v0 | cut -d: -f1)" "^$ifi\$"
has "changed: read back" "$(d shaping v0)" '^tbf=1250000 root=1 '
d rate-out v0 0 || bad "rate-out 0"
has "removed" "$(d shaping v0)" '^tbf=0 root=0 '
d rate-out v0 0 || bad "rate-out 0 twice is no error"

# the ingress limit: matchall + police where the kernel has them
if out=$(d rate-in v0 20000 2>&1); then
	has "ingress qdisc" "$(d shaping v0)" ' ingress=1$'
	has "police filter" "$(tc -n "$NS" -s filter show dev v0 ingress)" 'police .*rate 20Mbit'
	d rate-in v0 30000 || bad "rate-in 30000"
	has "police replaced" "$(tc -n "$NS" filter show dev v0 ingress)" 'rate 30Mbit'
	d rate-in v0 0 || bad "rate-in 0"
	has "ingress removed" "$(d shaping v0)" ' ingress=0$'
else
	has "rate-in refused with the reason" "$out" \
		'cannot limit v0 to 20000 kbit/s in \(matchall, police\): .*(lacks cls_matchall or act_police|not supported)'
	d rate-in v0 0 || bad "rate-in 0 after a refusal"
	has "ingress removed after refusal" "$(d shaping v0)" ' ingress=0$'
fi

# GRE and VLAN devices
if out=$(d gre gr-t 192.0.2.1 192.0.2.2 77 2>&1); then
	has "gre read back" "$(d link gr-t)" '^kind=gre link=0 vlan=0 gre=192\.0\.2\.1>192\.0\.2\.2 key=77$'
	d gre gr-u 192.0.2.1 192.0.2.3 || bad "gre without key"
	has "gre without key" "$(d link gr-u)" 'gre=192\.0\.2\.1>192\.0\.2\.3 key=-$'
else
	has "gre refused with the reason" "$out" \
		'^cannot create GRE tunnel gr-t \(192\.0\.2\.1 -> 192\.0\.2\.2\): .*this kernel has no GRE support'
fi
if out=$(d vlan l3-t v0 100 2>&1); then
	has "vlan read back" "$(d link l3-t)" "^kind=vlan link=$ifi vlan=100 "
	if d vlan l3-u v0 100 2>/dev/null; then bad "same VLAN twice on one parent"; else ok "same VLAN twice refused by the kernel"; fi
	d vlan l3-u v1 100 || bad "same VLAN on another parent"
else
	has "vlan refused with the reason" "$out" \
		'^cannot create VLAN 100 on v0 as l3-t: .*this kernel has no 802.1Q \(VLAN\) support'
fi

if ((fails)); then
	echo "test_conn_tc: $fails failed"
	exit 1
fi
echo "test_conn_tc: all passed"
