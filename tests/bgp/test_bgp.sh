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
# Named peers (bgp-peer): a second router r2 for Contoso; what each peer
# learns is limited to its in list (kernel routes of the VRF netns), each
# peer gets only the tenant's prefixes (or its out list), and adding or
# removing a list entry or a peer resets no other session.
# Needs root. BGP_DRIVE names the driver (default build/asan/bgp_drive).
set -euo pipefail

DRIVE=$(realpath "${BGP_DRIVE:-build/asan/bgp_drive}")
S=$$
GW=hnvbgp-gw-$S RDC=hnvbgp-rdc-$S RDF=hnvbgp-rdf-$S CORP=hnvbgp-corp-$S R2=hnvbgp-r2-$S
PGW=hnvbgpgw$S PCORP=hnvbgpcorp$S PR2=hnvbgpr2$S
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
	rm -rf "/run/frr/$PGW" "/run/frr/$PCORP" "/run/frr/$PR2"
	for n in "$GW" "$RDC" "$RDF" "$CORP" "$R2"; do ip netns del "$n" 2>/dev/null || true; done
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
has_route_pfx() { # PATHSPACE PREFIX [vrf NAME]
	local ns=$1 p=$2
	shift 2
	routes "$ns" "$@" | grep -x "$p" >/dev/null
}
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

# ---- named peers with filters (bgp-peer add) ----
# Contoso gets two filtered peers: corp (accepts only 172.16.0.0/16) and
# r2 (AS 65002, announces 10.99.0.0/16, which its in list allows, and
# 10.66.0.0/16, which it does not). Fabrikam keeps its unfiltered one.
ip netns add "$R2"
ip -n "$R2" link set lo up
ip link add gr$S type veth peer name rr$S
ip link set gr$S netns "$RDC"
ip link set rr$S netns "$R2"
ip -n "$RDC" addr add 192.0.2.5/30 dev gr$S
ip -n "$RDC" link set gr$S up
ip -n "$R2" addr add 192.0.2.6/30 dev rr$S
ip -n "$R2" link set rr$S up
ip -n "$R2" addr add 10.99.0.1/16 dev lo
ip -n "$R2" addr add 10.66.0.1/16 dev lo
# and an IPv6 session on the same link: 2001:db8:99::/48 listed, :66:: not
ip -n "$RDC" addr add 2001:db8:2::1/64 dev gr$S nodad
ip -n "$R2" addr add 2001:db8:2::2/64 dev rr$S nodad
ip -n "$R2" addr add 2001:db8:99::1/48 dev lo
ip -n "$R2" addr add 2001:db8:66::1/48 dev lo
mkdir -p "$D/r2"
chown frr:frr "$D/r2"
ip netns exec "$R2" env ZARGS= bash -c "daemons $PR2 $D/r2"
vt "$PR2" -c 'configure terminal' -c 'router bgp 65002' -c 'no bgp ebgp-requires-policy' \
	-c 'neighbor 192.0.2.5 remote-as 65000' -c 'neighbor 2001:db8:2::1 remote-as 65000' \
	-c 'address-family ipv4 unicast' -c 'redistribute connected' -c 'exit-address-family' \
	-c 'address-family ipv6 unicast' -c 'neighbor 2001:db8:2::1 activate' \
	-c 'redistribute connected' >/dev/null

CORP_P="peer=corp@192.0.2.2/65001,in=172.16.0.0/16"
R2_P4="peer=r2@192.0.2.6/65002,in=10.99.0.0/16,src=192.0.2.5"
R2V6_P="peer=r2v6@2001:db8:2::2/65002,in=2001:db8:99::/48"
R2_P="$R2_P4,$R2V6_P"
C2="vrf=contoso,as=65000,rid=192.0.2.1,net=10.10.1.0/24"
# an earlier hnvgwd filtered through route-maps of its own: they go, the
# neighbors use the prefix-lists directly
vt "$PGW" -c 'configure terminal' -c 'route-map hnvgw:contoso:corp:in permit 10' \
	-c 'match ip address prefix-list hnvgw:contoso:corp:in' >/dev/null
if apply "$C2,$CORP_P,$R2_P" "$FABRIKAM"; then ok "apply: Contoso with peers corp and r2"; else bad "apply: Contoso with peers corp and r2"; fi
RUN=$(vt "$PGW" -d bgpd -c 'show running-config')
if grep -q '^route-map hnvgw:' <<<"$RUN"; then
	bad "an earlier hnvgwd's route-map is left: $(grep route-map <<<"$RUN")"
elif ! grep -qx '  neighbor 192.0.2.2 prefix-list hnvgw:contoso:corp:in in' <<<"$RUN"; then
	bad "corp does not use its prefix-list: $RUN"
else
	ok "no route-map of ours; corp uses its prefix-list hnvgw:contoso:corp:in directly"
fi
wait_for "contoso peer corp established" established "$PGW" "vrf rd-contoso" 192.0.2.2
wait_for "contoso peer r2 established" established "$PGW" "vrf rd-contoso" 192.0.2.6
wait_for "contoso peer r2v6 (IPv6) established" established "$PGW" "vrf rd-contoso" 2001:db8:2::2
kroute6() { ip -n "$RDC" -6 route show "$1" | grep -q .; }
wait_for "rd-contoso kernel has r2v6's listed 2001:db8:99::/48" kroute6 2001:db8:99::/48
if vt "$PGW" -d bgpd -c 'show running-config' |
	grep -qx 'ipv6 prefix-list hnvgw:contoso:r2v6:in seq 5 permit 2001:db8:99::/48'; then
	ok "bgpd runs r2v6's ipv6 prefix-list as rendered"
else
	bad "ipv6 prefix-list: $(vt "$PGW" -d bgpd -c 'show running-config' | grep prefix-list)"
fi
# kernel: the rd-contoso netns is the VRF; zebra installs bgpd's routes there
kroute() { ip -n "$RDC" route show "$1" | grep -q .; }
wait_for "rd-contoso kernel has r2's 10.99.0.0/16 (in its list)" kroute 10.99.0.0/16
wait_for "rd-contoso kernel has corp's 172.16.0.0/16 (in its list)" kroute 172.16.0.0/16
sleep 2
if kroute 10.66.0.0/16 || has_route_pfx "$PGW" 10.66.0.0/16 vrf rd-contoso || kroute6 2001:db8:66::/48; then
	bad "r2's 10.66.0.0/16 (outside its list) reached rd-contoso"
else
	ok "r2's 10.66.0.0/16 and 2001:db8:66::/48 (outside its lists) are not in rd-contoso"
fi
# what each peer receives from the gateway: Contoso's own prefix only
# (not Fabrikam's, not what the other peer announced)
sent_to() { # PATHSPACE ADDR: the prefixes the router has from ADDR
	vt "$1" -c "show bgp ipv4 unicast neighbors $2 routes json" |
		python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin).get("routes", {}))))'
}
only_own() { [ "$(sent_to "$1" "$2")" = "10.10.1.0/24" ]; }
wait_for "corp gets only 10.10.1.0/24 from Contoso" only_own "$PCORP" 192.0.2.1
wait_for "r2 gets only 10.10.1.0/24 from Contoso" only_own "$PR2" 192.0.2.5
if vt "$PGW" -d bgpd -c 'show running-config' | grep -qx ' neighbor 192.0.2.6 update-source 192.0.2.5'; then
	ok "r2 has update-source 192.0.2.5"
else
	bad "no update-source: $(vt "$PGW" -d bgpd -c 'show running-config')"
fi
# r2 sends its three connected prefixes (and our own back, which the AS
# path refuses): received counts bgpd's Adj-RIB-In
SHOW=$("$DRIVE" -N "$PGW" -s)
if grep -Eqx 'rd-contoso 192.0.2.6 Established received [3-9] accepted 1 announced 1' <<<"$SHOW"; then
	ok "show: r2 received 3 or more, accepted 1, announced 1"
else
	bad "show: $SHOW"
fi
if grep -qx 'rd-fabrikam 198.51.100.2 Established .*' <<<"$SHOW"; then ok "show: Fabrikam's peer"; else bad "show: $SHOW"; fi

# counts of establishments, to see that nothing resets
est() { peer "$1" "$2" "$3" connectionsEstablished; }
corp0=$(est "$PGW" "vrf rd-contoso" 192.0.2.2)
r20=$(est "$PGW" "vrf rd-contoso" 192.0.2.6)
r2v60=$(est "$PGW" "vrf rd-contoso" 2001:db8:2::2)
fab0=$(est "$PGW" "vrf rd-fabrikam" 198.51.100.2)
kept() { # DESC PATHSPACE VRF-ARGS ADDR COUNT
	if [ "$(peer "$2" "$3" "$4" bgpState)" = Established ] && [ "$(est "$2" "$3" "$4")" = "$5" ]; then
		ok "$1: session $4 kept"
	else
		bad "$1: session $4: $(peer "$2" "$3" "$4" bgpState), established $(est "$2" "$3" "$4") times, was $5"
	fi
}

# a list entry added (r2 in) and an out list for corp: no reset
R2_P2="$R2_P4,in=10.66.0.0/16,$R2V6_P"
CORP_P2="$CORP_P,out=10.10.1.0/24,out=10.99.0.0/16"
if apply "$C2,$CORP_P2,$R2_P2" "$FABRIKAM"; then ok "apply: list entries added"; else bad "apply: list entries added"; fi
wait_for "rd-contoso kernel has 10.66.0.0/16 once listed" kroute 10.66.0.0/16
corp_has() { [ "$(sent_to "$PCORP" 192.0.2.1)" = "10.10.1.0/24 10.99.0.0/16" ]; }
wait_for "corp gets 10.99.0.0/16 once in its out list" corp_has
kept "entries added" "$PGW" "vrf rd-contoso" 192.0.2.2 "$corp0"
kept "entries added" "$PGW" "vrf rd-contoso" 192.0.2.6 "$r20"
kept "entries added" "$PGW" "vrf rd-contoso" 2001:db8:2::2 "$r2v60"
kept "entries added" "$PGW" "vrf rd-fabrikam" 198.51.100.2 "$fab0"

# r2 removed: corp and Fabrikam stay, r2's filters go
if apply "$C2,$CORP_P2" "$FABRIKAM"; then ok "apply: peer r2 removed"; else bad "apply: peer r2 removed"; fi
nokroute() { ! kroute "$1"; }
wait_for "r2's routes leave rd-contoso" nokroute 10.99.0.0/16
if vt "$PGW" -d bgpd -c 'show running-config' | grep -q 'hnvgw:contoso:r2'; then
	bad "r2's prefix-lists are left"
else
	ok "r2's prefix-lists removed"
fi
kept "r2 removed" "$PGW" "vrf rd-contoso" 192.0.2.2 "$corp0"
kept "r2 removed" "$PGW" "vrf rd-fabrikam" 198.51.100.2 "$fab0"

# r2 back without an in list: it learns nothing; corp is not reset
if apply "$C2,$CORP_P2,peer=r2@192.0.2.6/65002" "$FABRIKAM"; then ok "apply: r2 back, no in list"; else bad "apply: r2 back, no in list"; fi
wait_for "r2 established again" established "$PGW" "vrf rd-contoso" 192.0.2.6
r2_nothing() { "$DRIVE" -N "$PGW" -s | grep -Eqx 'rd-contoso 192.0.2.6 Established received [3-9] accepted 0 announced 1'; }
wait_for "r2 without an in list: received 3 or more, accepted 0" r2_nothing
if kroute 10.99.0.0/16 || kroute 10.66.0.0/16; then bad "rd-contoso learned from r2 without a list"; else ok "rd-contoso learned nothing from r2"; fi
kept "r2 added" "$PGW" "vrf rd-contoso" 192.0.2.2 "$corp0"
kept "r2 added" "$PGW" "vrf rd-fabrikam" 198.51.100.2 "$fab0"

# ---- many prefix-list lines at once: bgpd commits them together ----
# Fabrikam goes, then comes back beside 12 tenants whose VRFs do not
# exist, 3 prefix-list lines each (past 32: the script is bracketed with
# XFRR_start/end_configuration); its new peer must come up, Contoso's
# corp session stays
C3="$C2,$CORP_P2,peer=r2@192.0.2.6/65002"
if apply "$C3"; then ok "apply: Fabrikam removed again"; else bad "apply: Fabrikam removed again"; fi
MANY=()
for i in $(seq 12); do MANY+=("vrf=m$i,as=65200,peer=x@10.99.$i.2/65201,in=192.168.0.0/16,in=172.20.$i.0/24"); done
if apply "$C3" "$FABRIKAM" "${MANY[@]}"; then ok "apply: Fabrikam back with 12 tenants more (batch)"; else bad "apply: Fabrikam back with 12 tenants more (batch)"; fi
n=$(vt "$PGW" -d bgpd -c 'show running-config' | grep -c '^ip prefix-list hnvgw:m[0-9]*:x:' || true)
if [ "$n" = 36 ]; then ok "bgpd has the 12 tenants' 36 prefix-list lines"; else bad "bgpd has $n of the 36 prefix-list lines"; fi
wait_for "fabrikam session established again after the batch" established "$PGW" "vrf rd-fabrikam" 198.51.100.2
kept "batch" "$PGW" "vrf rd-contoso" 192.0.2.2 "$corp0"
if apply "$C3" "$FABRIKAM"; then ok "apply: the 12 removed (batch of no lines)"; else bad "apply: the 12 removed"; fi
n=$(vt "$PGW" -d bgpd -c 'show running-config' | grep -c 'hnvgw:m[0-9]*:x:' || true)
if [ "$n" = 0 ]; then ok "their prefix-lists are gone"; else bad "$n of their prefix-list lines left"; fi

# ---- nothing wanted ----
if apply; then ok "apply: no tenants"; else bad "apply: no tenants"; fi
if [ "$(instances | tr '\n' ' ')" = "default " ]; then ok "instances: default only"; else bad "instances: $(instances | tr '\n' ' ')"; fi
if vt "$PGW" -d bgpd -c 'show running-config' | grep -q 'hnvgw:'; then
	bad "filters left: $(vt "$PGW" -d bgpd -c 'show running-config')"
else
	ok "no hnvgw: prefix-list or route-map left"
fi

if [ "$fails" -ne 0 ]; then
	echo "test_bgp.sh: $fails failure(s)"
	exit 1
fi
echo "test_bgp.sh: all passed"
