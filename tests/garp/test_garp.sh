#!/bin/bash
# test_garp.sh: gateway/garp.c against the kernel, through
# tests/garp/garp_drive. Namespace A (the gateway) has v0, MAC
# 02:00:00:00:cc:0a; namespace B (the corp router) has its peer v1 and a
# neighbour entry for the floating address with another member's MAC.
# After the announcement: the frames on the wire (tcpdump on v1: an ARP
# request and reply, sender = target = the address, from v0's MAC; an
# unsolicited NA to ff02::1 with the Override flag, target link-layer
# option and a valid checksum), and B's entries now carry v0's MAC. A tun
# device (no link layer) sends nothing; a device that is down is an
# error naming it. Needs root and tcpdump. GARP_DRIVE names the driver.
set -euo pipefail

DRIVE=$(realpath "${GARP_DRIVE:-build/asan/garp_drive}")
A=hnvgarpa-$$
B=hnvgarpb-$$
TMP=$(mktemp -d)
fails=0
MAC=02:00:00:00:cc:0a
OLD=02:00:00:00:cc:0b

cleanup() {
	[[ -n ${TD:-} ]] && kill "$TD" 2>/dev/null
	ip netns del "$A" 2>/dev/null || true
	ip netns del "$B" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT
ok() { echo "ok   $1"; }
bad() {
	echo "FAIL $1"
	fails=$((fails + 1))
}
has() { if grep -Eq -- "$3" <<<"$2"; then ok "$1"; else bad "$1: no \"$3\" in: $2"; fi; }

ip netns add "$A"
ip netns add "$B"
ip -n "$A" link add v0 address "$MAC" type veth peer name v1 netns "$B"
ip -n "$A" link set v0 addrgenmode none
ip -n "$B" link set v1 addrgenmode none
ip -n "$A" link set v0 up
ip -n "$B" link set v1 up
ip -n "$B" addr add 172.31.1.2/24 dev v1
ip -n "$B" addr add 2001:db8:1::2/64 dev v1 nodad
# B talked to another member before: it caches that member's MAC
ip -n "$B" neigh replace 172.31.1.1 lladdr "$OLD" dev v1 nud stale
ip -n "$B" neigh replace 2001:db8:1::1 lladdr "$OLD" dev v1 nud stale

ip netns exec "$B" tcpdump -i v1 -t -nn -e -vv -l -c 3 'arp or (icmp6 and ip6[40] == 136)' >"$TMP/cap" 2>"$TMP/td.err" &
TD=$!
for _ in $(seq 50); do grep -q listening "$TMP/td.err" 2>/dev/null && break; sleep 0.1; done

has "IPv4: two frames sent" "$(ip netns exec "$A" "$DRIVE" v0 172.31.1.1)" '^sent 2$'
has "IPv6: one frame sent" "$(ip netns exec "$A" "$DRIVE" v0 2001:db8:1::1)" '^sent 1$'
for _ in $(seq 50); do kill -0 "$TD" 2>/dev/null || break; sleep 0.1; done
kill "$TD" 2>/dev/null || true
wait "$TD" 2>/dev/null || true
TD=
cap=$(cat "$TMP/cap")
has "wire: ARP request, broadcast, sender = target = the address" "$cap" \
	"^$MAC > ff:ff:ff:ff:ff:ff, ethertype ARP \\(0x0806\\), length 60: .*Request who-has 172\\.31\\.1\\.1 tell 172\\.31\\.1\\.1"
has "wire: ARP reply, broadcast, the address is at v0's MAC" "$cap" \
	"^$MAC > ff:ff:ff:ff:ff:ff, ethertype ARP \\(0x0806\\), length 60: .*Reply 172\\.31\\.1\\.1 is-at $MAC"
has "wire: unsolicited NA to ff02::1, hop limit 255" "$cap" \
	"^$MAC > 33:33:00:00:00:01, ethertype IPv6 \\(0x86dd\\).*hlim 255.*2001:db8:1::1 > ff02::1: \\[icmp6 sum ok\\] ICMP6, neighbor advertisement, length 32, tgt is 2001:db8:1::1"
has "wire: NA flags router, override (not solicited)" "$cap" 'Flags \[router, override\]'
has "wire: NA target link-layer address option" "$cap" "destination link-address option.*$MAC"

has "neighbour: the IPv4 entry now has v0's MAC" "$(ip -n "$B" neigh show 172.31.1.1 dev v1)" "lladdr $MAC"
has "neighbour: the IPv6 entry now has v0's MAC" "$(ip -n "$B" neigh show 2001:db8:1::1 dev v1)" "lladdr $MAC"

ip -n "$A" tuntap add dev tn0 mode tun
ip -n "$A" link set tn0 up
has "tun device: nothing to announce" "$(ip netns exec "$A" "$DRIVE" tn0 172.31.1.1)" '^sent 0$'

ip -n "$A" link set v0 down
if out=$(ip netns exec "$A" "$DRIVE" v0 172.31.1.1 2>&1); then bad "device down: an error (got: $out)"; else
	has "device down: an error naming the device" "$out" '^announcing an address on v0: send: '
fi

if ((fails)); then
	echo "test_garp: $fails failed"
	exit 1
fi
echo "test_garp: all passed"
