#!/bin/bash
# test_rtnl.sh: gateway/rtnl.c against the kernel, in a namespace of its
# own, through tests/rtnl/rtnl_drive: veth, tap and bridge links in the
# dump with kind, master and state; IPv4/IPv6 addresses added (twice: the
# second add is no error), listed and deleted; a port enslaved to a bridge
# and released; a MAC set; a link deleted; VRF and XFRM interface creation
# failing on a kernel without them with a message saying so; NETMAP
# steering: a fwmark rule (added twice, listed, deleted twice) and a
# default-dev route in its table that carries marked packets.
# Needs root. RTNL_DRIVE names the driver (default build/asan/rtnl_drive).
set -euo pipefail

DRIVE=${RTNL_DRIVE:-build/asan/rtnl_drive}
DRIVE=$(realpath "$DRIVE")
NS=hnvrtnl-$$
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
# check NAME COMMAND...: the command must succeed
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
# has NAME TEXT PATTERN: TEXT has a line matching the extended regex PATTERN
has() { if grep -Eq -- "$3" <<<"$2"; then ok "$1"; else bad "$1: no \"$3\" in: $2"; fi; }
hasnt() { if grep -Eq -- "$3" <<<"$2"; then bad "$1: \"$3\" in: $2"; else ok "$1"; fi; }

ip -n "$NS" link set lo up
ip -n "$NS" link add v0 type veth peer name v1
ip -n "$NS" tuntap add dev tp0 mode tap
ip -n "$NS" link add br0 type bridge
ip -n "$NS" link set v0 up

# The dump: kinds, state, no master yet.
links=$(d links)
has "dump: veth up" "$links" '^v0 kind=veth master=- up=1 mac=([0-9a-f]{2}:){5}[0-9a-f]{2}$'
has "dump: veth peer down" "$links" '^v1 kind=veth master=- up=0 '
has "dump: tap" "$links" '^tp0 kind=tun master=- up=0 '
has "dump: bridge" "$links" '^br0 kind=bridge master=- up=0 '
has "dump: loopback without kind" "$links" '^lo kind=- master=- up=1 mac=00:00:00:00:00:00$'
has "get: one link" "$(d get br0)" '^br0 kind=bridge '
if out=$(d get nosuch 2>&1); then bad "get: missing link"; else has "get: missing link" "$out" '^no interface nosuch$'; fi

# State.
check "up: bridge" d up br0 1
has "up: bridge is up" "$(d get br0)" ' up=1 '
check "down: bridge" d up br0 0
has "down: bridge is down" "$(d get br0)" ' up=0 '
check "up: bridge again" d up br0 1

# Addresses, each added twice.
for a in 10.10.0.1/24 10.10.0.1/24 2001:db8:10::1/64 2001:db8:10::1/64 192.0.2.5/32; do
	check "addr add $a" d addr add v0 "$a"
done
addrs=$(d addrs v0)
has "addrs: v4" "$addrs" '^10\.10\.0\.1/24$'
has "addrs: v6" "$addrs" '^2001:db8:10::1/64$'
has "addrs: /32" "$addrs" '^192\.0\.2\.5/32$'
hasnt "addrs: no link-local" "$addrs" '^fe80:'
if [ "$(grep -c '^10\.10\.0\.1/24$' <<<"$addrs")" = 1 ]; then ok "addrs: added twice, listed once"; else bad "addrs: duplicate"; fi
if [ "$(wc -l <<<"$addrs")" = 3 ]; then ok "addrs: exactly three"; else bad "addrs: $addrs"; fi
has "kernel agrees: v6 without DAD" "$(ip -n "$NS" -6 addr show dev v0)" 'inet6 2001:db8:10::1/64 scope global nodad'
has "addrs of another link are not listed" "$(d addrs tp0; echo end)" '^end$'
# ifindex 0: every interface's, each with its ifindex (one dump for all)
v0idx=$(ip -n "$NS" -o link show v0 | cut -d: -f1)
all=$(d addrs-all)
has "addrs-all: v0's v4 with v0's ifindex" "$all" "^$v0idx 10\\.10\\.0\\.1/24\$"
has "addrs-all: v0's v6 with v0's ifindex" "$all" "^$v0idx 2001:db8:10::1/64\$"
hasnt "addrs-all: no link-local" "$all" ' fe80:'
check "addr del v4" d addr del v0 10.10.0.1/24
check "addr del v6" d addr del v0 2001:db8:10::1/64
addrs=$(d addrs v0)
if [ "$addrs" = "192.0.2.5/32" ]; then ok "addrs: deleted"; else bad "addrs after delete: $addrs"; fi
if out=$(d addr del v0 10.10.0.1/24 2>&1); then
	bad "addr del: missing address"
else
	has "addr del: missing address named" "$out" '^cannot delete address 10\.10\.0\.1/24 from v0: '
fi

# Floating addresses (a pool tenant's S2S local address): a host address
# marked as ours, added and deleted once each; the plain delete of an
# address that is not there is still an error (above)
has "float add: added" "$(d float add v0 198.51.100.1/32)" '^1$'
has "float add again: already there" "$(d float add v0 198.51.100.1/32)" '^0$'
has "the dump: the /32 marked proto 104" "$(d addrs v0)" '^198\.51\.100\.1/32 proto 104$'
has "kernel agrees: the /32 is there" "$(ip -n "$NS" addr show dev v0)" 'inet 198\.51\.100\.1/32 ' 
has "float add v6" "$(d float add v0 2001:db8:51::1/128)" '^1$'
has "kernel agrees: v6 /128 without DAD" "$(ip -n "$NS" -6 addr show dev v0)" 'inet6 2001:db8:51::1/128 .*nodad'
has "float del: deleted" "$(d float del v0 198.51.100.1/32)" '^1$'
has "float del again: was not there" "$(d float del v0 198.51.100.1/32)" '^0$'
has "float del v6" "$(d float del v0 2001:db8:51::1/128)" '^1$'
hasnt "no floating address left" "$(ip -n "$NS" addr show dev v0)" '198\.51\.100\.1|2001:db8:51::1'
# Master: enslave to the bridge, then release.
check "master: tap to bridge" d master tp0 br0
check "master: veth to bridge" d master v0 br0
links=$(d links)
has "master: tap shows bridge" "$links" '^tp0 kind=tun master=br0 '
has "master: veth shows bridge" "$links" '^v0 kind=veth master=br0 up=1 '
has "kernel agrees: master" "$(ip -n "$NS" -o link show tp0)" 'master br0'
check "nomaster: tap" d master tp0 none
has "nomaster: tap" "$(d get tp0)" '^tp0 kind=tun master=- '
has "nomaster: veth untouched" "$(d get v0)" '^v0 kind=veth master=br0 '

# MAC.
check "mac: tap" d mac tp0 02:00:00:00:50:01
has "mac: tap" "$(d get tp0)" ' mac=02:00:00:00:50:01$'
check "mac: veth while up" d mac v0 02:00:00:00:50:02
has "mac: veth" "$(d get v0)" ' mac=02:00:00:00:50:02$'
if out=$(d mac tp0 01:00:00:00:00:01 2>&1); then
	bad "mac: multicast refused"
else
	has "mac: multicast refused, named" "$out" '^cannot set MAC of tp0: '
fi

# Delete.
check "del: tap" d del tp0
hasnt "del: tap gone" "$(d links)" '^tp0 '
check "del: veth pair" d del v1
hasnt "del: both ends gone" "$(d links)" '^v[01] '
if out=$(d del tp0 2>&1); then bad "del: missing link"; else has "del: missing link" "$out" '^no interface tp0$'; fi

# No VRF devices or XFRM interfaces on this kernel: a clear error.
if out=$(d vrf rd-contoso 101 2>&1); then
	bad "vrf: created on a kernel without VRF support?"
else
	has "vrf: no VRF support" "$out" '^cannot create VRF rd-contoso \(table 101\): Operation not supported: this kernel has no VRF support$'
fi
hasnt "vrf: nothing left" "$(d links)" '^rd-contoso '
if out=$(d xfrm xf-fabrikam 42 2>&1); then
	bad "xfrm: created on a kernel without XFRM interfaces?"
else
	has "xfrm: no XFRM interface support" "$out" '^cannot create XFRM interface xf-fabrikam \(if_id 42\): Operation not supported: this kernel has no XFRM interface support$'
fi

# Dumps while the table changes: 600 addresses (a dump of several
# messages) and another process adding and deleting addresses meanwhile.
# The kernel marks such dumps interrupted (NLM_F_DUMP_INTR); each listing
# is read again until it is whole, so none fails and none is partial.
ip -n "$NS" link add churn type veth peer name churn1
for i in $(seq 0 599); do echo "addr add 10.77.$((i / 200)).$((i % 200 + 1))/32 dev churn"; done |
	ip -n "$NS" -batch -
(
	while :; do
		printf 'addr add 10.78.0.1/32 dev churn1\naddr del 10.78.0.1/32 dev churn1\n%.0s' $(seq 50) |
			ip -n "$NS" -batch - 2>/dev/null || exit 0
	done
) &
churner=$!
out=$(d addrs-count churn 300 2>&1) || true
kill "$churner" 2>/dev/null || true
wait "$churner" 2>/dev/null || true
has "dump under changes: every listing whole" "$out" '^300 ok, 0 failed, counts 600-600$'

# NETMAP steering: "fwmark M lookup M" and "default dev v0" in table M.
M=0x48000777
check "rule: add" d rule add 900 $M $M
check "rule: add again" d rule add 900 $M $M
rules=$(d rules)
has "rules: ours listed" "$rules" "^prio=900 fwmark=0x48000777/0xffffffff table=1207961463 action=1$"
has "rules: the kernel's main rule listed" "$rules" "^prio=32766 fwmark=0x0/0x0 table=254 action=1$"
n=$(grep -c "^prio=900 " <<<"$rules" || true)
if [ "$n" = 1 ]; then ok "rule: added once"; else bad "rule: $n copies"; fi
has "rule: as ip shows it" "$(ip -n "$NS" rule show pref 900)" "^900:.*fwmark 0x48000777 lookup 1207961463"
ip -n "$NS" link add nm0 type veth peer name nm1
ip -n "$NS" addr add 198.18.0.1/30 dev nm0
ip -n "$NS" link set nm0 up
ip -n "$NS" link set nm1 up
check "default: add" d default add $M nm0
check "default: add again (replace)" d default add $M nm0
has "default: in the table" "$(ip -n "$NS" route show table $M)" "^default dev nm0 proto static scope link"
has "default: a marked packet goes to nm0" "$(ip -n "$NS" route get 10.99.0.1 mark $M)" "dev nm0 table 1207961463"
hasnt "default: an unmarked one does not" "$(ip -n "$NS" route get 10.99.0.1 2>&1)" "dev nm0"
check "default: del" d default del $M nm0
check "default: del again" d default del $M nm0
has "default: table empty" "$(ip -n "$NS" route show table $M 2>&1 | wc -l)" "^0$"
check "rule: del" d rule del 900 $M $M
check "rule: del again" d rule del 900 $M $M
hasnt "rule: gone" "$(d rules)" "^prio=900 "

if [ "$fails" -ne 0 ]; then
	echo "test_rtnl.sh: $fails failure(s)"
	exit 1
fi
echo "test_rtnl.sh: all passed"
