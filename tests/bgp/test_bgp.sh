#!/bin/bash
# test_bgp.sh: gateway/bgp.c against real FRR 8.4 daemons in namespaces.
#
# Topology (all names carry this run's pid):
#   gateway netns: zebra -n (netns VRF backend) + bgpd, pathspace
#     hnvbgpgw<pid>; its private /run/netns holds "rd-contoso" and "rd-fabrikam", each a netns
#     of its own, so they are VRFs for zebra and bgpd (no VRF devices on
#     this kernel). Tenant prefixes sit on lo there: 10.10.1.0/24 (Contoso,
#     announced by `network` and `redistribute connected`) and 10.20.1.0/24
#     (Fabrikam, `network` only).
#   corp netns: zebra + bgpd, pathspace hnvbgpcorp<pid>, AS 65001, 172.16.0.0/16
#     on lo; veth to rd-contoso (192.0.2.0/30) and to rd-fabrikam
#     (198.51.100.0/30).
#   The gateway's bgpd also runs a default instance (AS 64999) that is not
#   hnvgw's: it must survive every apply.
#
# Asserts: corp learns both tenant prefixes and the gateway VRF learns the
# corp prefix; applying the same tenants again keeps the sessions (on both
# sides: still Established, established once, never dropped);
# dropping Fabrikam removes its instance only; a line dropped from Contoso
# is negated without a reset; an ASN change re-creates the instance.
# Needs root. BGP_DRIVE names the driver (default build/asan/bgp_drive).
set -euo pipefail

DRIVE=$(realpath "${BGP_DRIVE:-build/asan/bgp_drive}")
S=$$
GW=hnvbgp-gw-$S RDC=hnvbgp-rdc-$S RDF=hnvbgp-rdf-$S CORP=hnvbgp-corp-$S
PGW=hnvbgpgw$S PCORP=hnvbgpcorp$S
D=$(mktemp -d /tmp/test_bgp.XXXXXX)
chmod 0755 "$D" # the daemons run as frr
FRAG=$D/hnvgw-bgp.conf
fails=0

cleanup() {
	local pids=() p
	for p in "$D"/*/*.pid; do
		[ -f "$p" ] && pids+=("$(cat "$p")")
	done
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for _ in $(seq 50); do # until they are gone, at most 5 s
		local alive=0
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	rm -rf "/run/frr/$PGW" "/run/frr/$PCORP"
	for n in "$GW" "$RDC" "$RDF" "$CORP"; do ip netns del "$n" 2>/dev/null || true; done
	if [ "$fails" -ne 0 ] || [ -n "${KEEP:-}" ]; then echo "logs kept in $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT

ok() { echo "ok   $1"; }
bad() {
	echo "FAIL $1"
	fails=$((fails + 1))
}
vt() {
	local ns=$1
	shift
	vtysh -N "$ns" "$@" 2>&1 | grep -v "Can't open configuration file" || true
}
apply() { "$DRIVE" -N "$PGW" -f "$FRAG" "$@"; }
# wait_for DESC CMD...: polls CMD for up to 30 s
wait_for() {
	local desc=$1
	shift
	for _ in $(seq 60); do
		if "$@"; then
			ok "$desc"
			return 0
		fi
		sleep 0.5
	done
	bad "$desc"
	return 0
}
# routes PATHSPACE [vrf NAME]: the IPv4 unicast prefixes in bgpd's table
routes() {
	local ns=$1
	shift
	vt "$ns" -c "show bgp $* ipv4 unicast json" |
		python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin).get("routes", {})))'
}
has_route() { routes "$@" | grep -x "$PFX" >/dev/null; }
# peer PATHSPACE VRF-ARGS ADDR FIELD: one field of `show bgp ... neighbors ADDR json`
peer() {
	vt "$1" -c "show bgp $2 neighbors $3 json" |
		python3 -c "import json,sys; print(json.load(sys.stdin)['$3'].get('$4', ''))"
}
established() { [ "$(peer "$@" bgpState)" = Established ]; }
instances() {
	vt "$PGW" -c 'show bgp vrf all json' |
		python3 -c 'import json,sys; print("\n".join(sorted(json.load(sys.stdin))))'
}

# ---- topology ----
for n in "$GW" "$RDC" "$RDF" "$CORP"; do
	ip netns add "$n"
	ip -n "$n" link set lo up
done
ip link add gc$S type veth peer name cc$S
ip link set gc$S netns "$RDC"
ip link set cc$S netns "$CORP"
ip link add gf$S type veth peer name cf$S
ip link set gf$S netns "$RDF"
ip link set cf$S netns "$CORP"
ip -n "$RDC" addr add 192.0.2.1/30 dev gc$S
ip -n "$RDC" link set gc$S up
ip -n "$RDC" addr add 10.10.1.1/24 dev lo
ip -n "$RDF" addr add 198.51.100.1/30 dev gf$S
ip -n "$RDF" link set gf$S up
ip -n "$RDF" addr add 10.20.1.1/24 dev lo
ip -n "$CORP" addr add 192.0.2.2/30 dev cc$S
ip -n "$CORP" addr add 198.51.100.2/30 dev cf$S
ip -n "$CORP" link set cc$S up
ip -n "$CORP" link set cf$S up
ip -n "$CORP" addr add 172.16.0.1/16 dev lo

# ---- daemons ----
mkdir -p "$D/gw" "$D/corp" "$D/netns"
touch "$D/rdc.ns" "$D/rdf.ns"
chown frr:frr "$D/gw" "$D/corp"
daemons() { # PATHSPACE DIR: zebra (with extra args from ZARGS) and bgpd
	/usr/lib/frr/zebra -d $ZARGS -N "$1" -f /dev/null --log "file:$2/zebra.log" -i "$2/zebra.pid" \
		2>>"$2/start.log"
	/usr/lib/frr/bgpd -d -N "$1" -f /dev/null --log "file:$2/bgpd.log" -i "$2/bgpd.pid"
}
export -f daemons
# The gateway: the tenant namespaces reach its private /run/netns only
# after zebra runs, through zebra's inotify watch (netns present at start
# were not taken as VRFs in tries here).
ip netns exec "$GW" env ZARGS=-n D="$D" RDC="$RDC" RDF="$RDF" PGW="$PGW" bash -c '
	set -e
	mount --bind /run/netns/$RDC $D/rdc.ns
	mount --bind /run/netns/$RDF $D/rdf.ns
	mount --bind $D/netns /run/netns
	daemons $PGW $D/gw
	sleep 1
	touch /run/netns/rd-contoso /run/netns/rd-fabrikam
	mount --bind $D/rdc.ns /run/netns/rd-contoso
	mount --bind $D/rdf.ns /run/netns/rd-fabrikam'
ip netns exec "$CORP" env ZARGS= bash -c "daemons $PCORP $D/corp"

vrfs_up() { [ "$(vt "$PGW" -c 'show vrf' | grep -c 'netns /run/netns/rd-')" = 2 ]; }
wait_for "zebra -n has the two tenant VRFs" vrfs_up

vt "$PCORP" -c 'configure terminal' -c 'router bgp 65001' -c 'no bgp ebgp-requires-policy' \
	-c 'neighbor 192.0.2.1 remote-as 65000' -c 'neighbor 198.51.100.1 remote-as 65010' \
	-c 'address-family ipv4 unicast' -c 'redistribute connected' >/dev/null
vt "$PGW" -c 'configure terminal' -c 'router bgp 64999' \
	-c 'neighbor 203.0.113.1 remote-as 64998' >/dev/null

CONTOSO="vrf=contoso,as=65000,rid=192.0.2.1,nb=192.0.2.2/65001,net=10.10.1.0/24,redist=connected"
FABRIKAM="vrf=fabrikam,as=65010,nb=198.51.100.2/65001,net=10.20.1.0/24"

# ---- both tenants ----
if apply "$CONTOSO" "$FABRIKAM"; then ok "apply: two tenants"; else bad "apply: two tenants"; fi
if [ "$(stat -c %a "$FRAG")" = 644 ]; then ok "fragment is 0644"; else bad "fragment mode $(stat -c %a "$FRAG")"; fi
if grep -qx 'router bgp 65010 vrf rd-fabrikam' "$FRAG"; then ok "fragment has Fabrikam"; else bad "fragment: $(cat "$FRAG")"; fi
if [ "$(instances | tr '\n' ' ')" = "default rd-contoso rd-fabrikam " ]; then
	ok "instances: default, rd-contoso, rd-fabrikam"
else
	bad "instances: $(instances | tr '\n' ' ')"
fi
wait_for "contoso session established" established "$PGW" "vrf rd-contoso" 192.0.2.2
wait_for "fabrikam session established" established "$PGW" "vrf rd-fabrikam" 198.51.100.2
PFX=10.10.1.0/24 wait_for "corp learns Contoso's 10.10.1.0/24" has_route "$PCORP"
PFX=10.20.1.0/24 wait_for "corp learns Fabrikam's 10.20.1.0/24 (network)" has_route "$PCORP"
PFX=172.16.0.0/16 wait_for "rd-contoso learns corp's 172.16.0.0/16" has_route "$PGW" vrf rd-contoso
PFX=172.16.0.0/16 wait_for "rd-fabrikam learns corp's 172.16.0.0/16" has_route "$PGW" vrf rd-fabrikam
if vt "$PGW" -c 'show ip route vrf rd-contoso' | grep -E '^B>\* 172\.16\.0\.0/16 .* via 192\.0\.2\.2,' >/dev/null; then
	ok "zebra has the corp route in VRF rd-contoso"
else
	bad "zebra: $(vt "$PGW" -c 'show ip route vrf rd-contoso')"
fi

# ---- the same again: no session reset ----
corp_c=$(peer "$PCORP" "" 192.0.2.1 connectionsEstablished)
if apply "$CONTOSO" "$FABRIKAM"; then ok "apply: unchanged"; else bad "apply: unchanged"; fi
if apply "$CONTOSO" "$FABRIKAM"; then ok "apply: unchanged, twice"; else bad "apply: unchanged, twice"; fi
sleep 3 # long enough for a reset session to show (hold timer not involved)
# unchanged PATHSPACE VRF-ARGS ADDR: Established, established once, never dropped
unchanged() {
	local st ce cd
	st=$(peer "$1" "$2" "$3" bgpState)
	ce=$(peer "$1" "$2" "$3" connectionsEstablished)
	cd=$(peer "$1" "$2" "$3" connectionsDropped)
	if [ "$st" = Established ] && [ "$ce" = 1 ] && [ "$cd" = 0 ]; then
		ok "session $2 $3 kept (established once, never dropped)"
	else
		bad "session $2 $3: state $st, establishments $ce, drops $cd"
	fi
}
unchanged "$PGW" "vrf rd-contoso" 192.0.2.2
unchanged "$PGW" "vrf rd-fabrikam" 198.51.100.2
unchanged "$PCORP" "" 192.0.2.1
unchanged "$PCORP" "" 198.51.100.1
if [ "$(peer "$PCORP" "" 192.0.2.1 connectionsEstablished)" = "$corp_c" ]; then
	ok "corp counts no new establishment"
else
	bad "corp: establishments $(peer "$PCORP" "" 192.0.2.1 connectionsEstablished), was $corp_c"
fi

# ---- Fabrikam goes: its instance only ----
if apply "$CONTOSO"; then ok "apply: Fabrikam removed"; else bad "apply: Fabrikam removed"; fi
if [ "$(instances | tr '\n' ' ')" = "default rd-contoso " ]; then
	ok "instances: default, rd-contoso"
else
	bad "instances: $(instances | tr '\n' ' ')"
fi
if vt "$PGW" -d bgpd -c 'show running-config' | grep -A1 -x 'router bgp 64999' |
	grep -qx ' neighbor 203.0.113.1 remote-as 64998'; then
	ok "default instance untouched"
else
	bad "default instance: $(vt "$PGW" -d bgpd -c 'show running-config')"
fi
unchanged "$PGW" "vrf rd-contoso" 192.0.2.2
gone() { ! routes "$PCORP" | grep -x 10.20.1.0/24 >/dev/null; }
wait_for "corp no longer has Fabrikam's prefix" gone
if grep -q fabrikam "$FRAG"; then bad "fragment still has Fabrikam"; else ok "fragment without Fabrikam"; fi

# ---- a line dropped from Contoso: negated, no reset ----
if apply "vrf=contoso,as=65000,rid=192.0.2.1,nb=192.0.2.2/65001,net=10.10.1.0/24"; then
	ok "apply: Contoso without redistribute connected"
else
	bad "apply: Contoso without redistribute connected"
fi
if grep -q 'redistribute connected' <<<"$(vt "$PGW" -d bgpd -c 'show running-config')"; then
	bad "redistribute connected still configured"
else
	ok "redistribute connected negated"
fi
unchanged "$PGW" "vrf rd-contoso" 192.0.2.2
PFX=10.10.1.0/24 wait_for "corp still learns 10.10.1.0/24 (network)" has_route "$PCORP"

# ---- ASN change: the instance is made anew ----
if apply "vrf=contoso,as=65100,nb=192.0.2.2/65001"; then ok "apply: Contoso AS 65100"; else bad "apply: Contoso AS 65100"; fi
if grep -qx 'router bgp 65100 vrf rd-contoso' <<<"$(vt "$PGW" -d bgpd -c 'show running-config')" &&
	! grep -q 'router bgp 65000' <<<"$(vt "$PGW" -d bgpd -c 'show running-config')"; then
	ok "instance re-created with AS 65100"
else
	bad "running: $(vt "$PGW" -d bgpd -c 'show running-config')"
fi

# ---- nothing wanted ----
if apply; then ok "apply: no tenants"; else bad "apply: no tenants"; fi
if [ "$(instances | tr '\n' ' ')" = "default " ]; then ok "instances: default only"; else bad "instances: $(instances | tr '\n' ' ')"; fi

if [ "$fails" -ne 0 ]; then
	echo "test_bgp.sh: $fails failure(s)"
	exit 1
fi
echo "test_bgp.sh: all passed"
