#!/bin/bash
# test_pools.sh: the seed scenario of issue 8 with two real hnvgwd host
# edges in network namespaces (lib.sh helpers; names unique per run):
#   - VM networks AAA and BBB, each with VM subnet 10.10.0.0/16 and IP pool
#     10.10.1.100-10.10.1.130; VMs test01 (AAA, dhclient) and test02 (BBB,
#     busybox udhcpc) on host h1 are attached with `port add NAME --vsid N`
#     (no --ca, no --mac) and both obtain 10.10.1.100 by DHCP answered by
#     the datapath, with router 10.10.0.1, mask 255.255.0.0 and DNS;
#   - they cannot reach each other (a frame aimed at the other's MAC is
#     dropped and counted, the other port never sends it);
#   - a second VM subnet 172.16.0.0/16 added to AAA, with VM test03 on host
#     h2 (DHCP as well), is reachable from test01: routed by the datapath
#     and carried over NVGRE between the hosts;
#   - the provider segment never carries DHCP (tcpdump on the bridge) and
#     the hosts count the DHCP replies;
#   - pool del while addresses are in use is refused naming the ports;
#   - both daemons exit cleanly (ASan).
# Prints the VMs' `ip -4 addr` and `ip route` (the transcript). Needs root.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (network namespaces)"
for c in ping tcpdump dhclient busybox; do
	command -v "$c" >/dev/null || fail "$c is not installed (make deps)"
done

AAA='{AAAAAAAA-0000-0000-0000-000000005001}'
BBB='{BBBBBBBB-0000-0000-0000-000000006001}'

# The policy both hosts share (the same text a controller would push).
policy()
{
	cat <<EOF
pa add $1/24 --dev up0
rdomain add AAA --rdid $AAA
rdomain add BBB --rdid $BBB
vsubnet add 5001 --rdomain AAA --prefix 10.10.0.0/16
vsubnet add 6001 --rdomain BBB --prefix 10.10.0.0/16
pool add aaa-pool --vsid 5001 --range 10.10.1.100-10.10.1.130 --dns 10.10.0.53
pool add bbb-pool --vsid 6001 --range 10.10.1.100-10.10.1.130 --dns 10.10.0.53 --lease 3600
route add --rdomain AAA --vsid 5001 --prefix 10.10.0.0/16 --nexthop 0.0.0.0
route add --rdomain BBB --vsid 6001 --prefix 10.10.0.0/16 --nexthop 0.0.0.0
EOF
}

# The second subnet of AAA, added later.
subnet2()
{
	cat <<EOF
vsubnet add 5002 --rdomain AAA --prefix 172.16.0.0/16
pool add aaa-pool2 --vsid 5002 --range 172.16.1.100-172.16.1.130 --dns 10.10.0.53
route add --rdomain AAA --vsid 5002 --prefix 172.16.0.0/16 --nexthop 0.0.0.0
EOF
}

# attach HOST VM PORT VSID: port add without --ca/--mac, TAP into VM.
attach()
{
	local h=$1 vm=$2 port=$3 vsid=$4
	mkns "$vm"
	cli "$h" port add "$port" --vsid "$vsid" >/dev/null || fail "port add $port on $h"
	wait_for 10 nsx "$h" ip link show "$port" || fail "no TAP $port on $h"
	nsx "$h" ip link set "$port" netns "$P-$vm"
	nsx "$vm" ip link set "$port" up
}

# port_field HOST PORT FIELD: mac or first CA of a port from show ports.
port_field()
{
	cli "$1" --json show ports | python3 -c 'import json,sys
rows=json.load(sys.stdin)
rows=rows.get("result",rows) if isinstance(rows,dict) else rows
r=next(r for r in rows if r["name"]==sys.argv[1])
print(r["cas"][0] if sys.argv[2]=="ca" else r["mac"])' "$2" "$3"
}

# A client script for dhclient and udhcpc: configures the lease and logs
# what it got (no resolv.conf is written: the namespaces share /etc).
# dhclient runs its script with a clean environment: the log directory is
# written into the script.
cat >"$T/dhcp-script.sh" <<EOF
#!/bin/sh
log="$T/dhcp-\$interface.env"
EOF
cat >>"$T/dhcp-script.sh" <<'EOF'
# dhclient: $reason, new_*; udhcpc: $1, ip/subnet/router/dns/mtu
case "${reason:-$1}" in
BOUND | RENEW | REBIND | REBOOT)
	ip addr flush dev "$interface"
	ip addr add "$new_ip_address/$new_subnet_mask" dev "$interface"
	[ -n "$new_interface_mtu" ] && ip link set "$interface" mtu "$new_interface_mtu"
	ip route replace default via "$new_routers" dev "$interface"
	echo "ip=$new_ip_address mask=$new_subnet_mask router=$new_routers dns=$new_domain_name_servers mtu=$new_interface_mtu server=$new_dhcp_server_identifier lease=$new_dhcp_lease_time" >"$log"
	;;
bound | renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/$subnet" dev "$interface"
	[ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
	ip route replace default via "$router" dev "$interface"
	echo "ip=$ip mask=$subnet router=$router dns=$dns mtu=$mtu server=$serverid lease=$lease" >"$log"
	;;
esac
exit 0
EOF
chmod +x "$T/dhcp-script.sh"

run_dhclient() # VM IF
{
	printf 'request subnet-mask, routers, domain-name-servers, interface-mtu;\ntimeout 20;\n' >"$T/dhclient.conf"
	nsx "$1" timeout 30 dhclient -1 -cf "$T/dhclient.conf" -sf "$T/dhcp-script.sh" \
		-lf "$T/dhclient-$2.leases" -pf "$T/dhclient-$2.pid" "$2" >>"$T/dhclient-$2.log" 2>&1 ||
		fail "dhclient on $2: $(tail -n 5 "$T/dhclient-$2.log")"
	# the daemon child writes its pid file after the parent returns
	wait_for 5 test -s "$T/dhclient-$2.pid" || fail "dhclient on $2 wrote no pid file"
	BGPIDS+=("$(<"$T/dhclient-$2.pid")")
}

run_udhcpc() # VM IF
{
	nsx "$1" timeout 30 busybox udhcpc -i "$2" -s "$T/dhcp-script.sh" -q -f -n -t 5 -T 2 \
		-O mtu >>"$T/udhcpc-$2.log" 2>&1 || fail "udhcpc on $2: $(tail -n 5 "$T/udhcpc-$2.log")"
}

# dhcp_ok IF WANT_IP WANT_ROUTER: what the client's script was given.
dhcp_ok()
{
	local env
	[[ -f $T/dhcp-$1.env ]] || fail "$1: no lease configured: $(cat "$T"/dh*-"$1".log "$T"/udhcpc-"$1".log 2>/dev/null | tail -n 20)"
	env=$(<"$T/dhcp-$1.env")
	[[ $env == *"ip=$2 "* ]] || fail "$1: got $env, want ip=$2"
	[[ $env == *"router=$3 "* ]] || fail "$1: got $env, want router=$3"
	[[ $env == *"mask=255.255.0.0 "* || $env == *"mask=16 "* ]] || fail "$1: mask in $env"
	[[ $env == *"dns=10.10.0.53 "* ]] || fail "$1: DNS in $env"
	[[ $env == *"mtu=1458 "* ]] || fail "$1: MTU in $env"
	nsx "${VMOF[$1]}" ip -4 addr show dev "$1" | grep -q "inet $2/16" || fail "$1 has no $2/16"
	nsx "${VMOF[$1]}" ip route show default | grep -q "via $3 dev $1" ||
		fail "$1 has no default route via $3"
}
declare -A VMOF=([test01]=test01 [test02]=test02 [test03]=test03)

trap lab_cleanup EXIT
trap 'exit 130' INT TERM
mkns pn
nsx pn ip link add br0 type bridge mcast_snooping 0
nsx pn ip link set br0 up
start_host h1 192.168.4.11
start_host h2 192.168.4.22

# everything on the provider segment, checked for DHCP at the end
ip netns exec "$P-pn" tcpdump --immediate-mode -i br0 -U -n -w "$T/provider.pcap" 2>"$T/tcpdump.log" &
BGPIDS+=($!)
wait_for 10 grep -q "listening on" "$T/tcpdump.log" || fail "tcpdump did not start"

policy 192.168.4.11 >"$T/h1.conf"
policy 192.168.4.22 >"$T/h2.conf"
cli h1 commit -f "$T/h1.conf" >/dev/null || fail "policy on h1"
cli h2 commit -f "$T/h2.conf" >/dev/null || fail "policy on h2"
pass "two hosts: VM networks AAA and BBB, subnet 10.10.0.0/16, pool 10.10.1.100-10.10.1.130 each"

attach h1 test01 test01 5001
attach h1 test02 test02 6001
[[ $(port_field h1 test01 ca) == 10.10.1.100 && $(port_field h1 test02 ca) == 10.10.1.100 ]] ||
	fail "allocation: test01 $(port_field h1 test01 ca), test02 $(port_field h1 test02 ca)"
grep -q "^port add test01 --vsid 5001 --ca 10.10.1.100 --mac 0a:" "$T/state-h1/hnvgw.conf" ||
	fail "the stored port line lacks the allocated CA/MAC: $(grep port "$T/state-h1/hnvgw.conf")"
pass "port add without --ca/--mac: both take 10.10.1.100, stored with CA and MAC"

# the ports' lookup records, made with them: CA -> this host's PA and MAC
cli h1 --json show lookup | python3 -c 'import json,sys
rows=json.load(sys.stdin)
rows=rows.get("result",rows) if isinstance(rows,dict) else rows
got=sorted((r["VirtualSubnetID"],r["CustomerAddress"],r["ProviderAddress"],r["VMName"]) for r in rows)
want=[(5001,"10.10.1.100","192.168.4.11","test01"),(6001,"10.10.1.100","192.168.4.11","test02")]
sys.exit(0 if got==want else "show lookup: %s" % got)' || fail "port records in show lookup"
pass "show lookup: the ports' records (VSID 5001 and 6001, CA 10.10.1.100, PA 192.168.4.11)"

replies=$(counter h1 dhcp_reply)
run_dhclient test01 test01
run_udhcpc test02 test02
dhcp_ok test01 10.10.1.100 10.10.0.1
dhcp_ok test02 10.10.1.100 10.10.0.1
got=$(($(counter h1 dhcp_reply) - replies))
((got >= 4)) || fail "h1 counted $got DHCP replies, want >= 4 (2 OFFER + 2 ACK)"
pass "test01 (dhclient) and test02 (udhcpc) got 10.10.1.100/16, router 10.10.0.1 from the datapath ($got replies)"

nsx test01 ping -c 2 -i 0.2 -w 5 10.10.0.1 >/dev/null || fail "test01 cannot ping its gateway"
nsx test02 ping -c 2 -i 0.2 -w 5 10.10.0.1 >/dev/null || fail "test02 cannot ping its gateway"
pass "both ping their default gateway 10.10.0.1"

# ---- AAA and BBB are isolated: test01 aims at test02's MAC ----
mac02=$(port_field h1 test02 mac)
before_drop=$(($(counter h1 drop_no_record) + $(counter h1 drop_spoof)))
before_tx=$(counter h1 test02.tx_packets)
nsx test01 ip neigh replace 10.10.1.101 lladdr "$mac02" dev test01
if nsx test01 ping -c 2 -i 0.2 -W 1 10.10.1.101 >/dev/null; then
	fail "test01 reached something behind test02's MAC"
fi
nsx test01 ip neigh del 10.10.1.101 dev test01
after_drop=$(($(counter h1 drop_no_record) + $(counter h1 drop_spoof)))
after_tx=$(counter h1 test02.tx_packets)
((after_drop >= before_drop + 2)) || fail "drops on h1: $before_drop -> $after_drop, want +2"
((after_tx == before_tx)) || fail "test02's port sent $((after_tx - before_tx)) frames to test02"
pass "AAA cannot reach BBB: frames to test02's MAC dropped (+$((after_drop - before_drop))), test02 got nothing"

# ---- a second subnet of AAA, its VM on host h2 ----
subnet2 >"$T/subnet2.conf"
cli h1 commit -f "$T/subnet2.conf" >/dev/null || fail "subnet 172.16.0.0/16 on h1"
cli h2 commit -f "$T/subnet2.conf" >/dev/null || fail "subnet 172.16.0.0/16 on h2"
attach h2 test03 test03 5002
ca03=$(port_field h2 test03 ca)
mac03=$(port_field h2 test03 mac)
mac01=$(port_field h1 test01 mac)
[[ $ca03 == 172.16.1.100 ]] || fail "test03 got $ca03"
# each host learns the other's VM (what a controller pushes)
cli h1 lookup add --vsid 5002 --ca "$ca03" --pa 192.168.4.22 --mac "$mac03" --vm-name test03 >/dev/null ||
	fail "record of test03 on h1"
cli h2 lookup add --vsid 5001 --ca 10.10.1.100 --pa 192.168.4.11 --mac "$mac01" --vm-name test01 >/dev/null ||
	fail "record of test01 on h2"
run_udhcpc test03 test03
[[ $(<"$T/dhcp-test03.env") == *"ip=172.16.1.100 "*"router=172.16.0.1 "* ]] ||
	fail "test03: $(<"$T/dhcp-test03.env")"
nsx test01 ping -c 3 -i 0.2 -w 10 172.16.1.100 >"$T/ping-03.out" || fail "test01 -> test03: $(<"$T/ping-03.out")"
routed=$(counter h1 tx_routed_encap)
((routed >= 3)) || fail "h1 routed $routed packets over NVGRE, want >= 3"
if nsx test02 ping -c 2 -i 0.2 -W 1 172.16.1.100 >/dev/null; then
	fail "test02 (BBB) reached test03 in AAA's second subnet"
fi
pass "subnet 172.16.0.0/16 added to AAA: test03 (h2, DHCP 172.16.1.100) reachable from test01, routed ($routed), not from test02"

# ---- refusals an administrator reads ----
out=$(cli h1 pool del aaa-pool 2>&1) && fail "pool del with addresses in use succeeded"
[[ $out == *'in use by port "test01"'* ]] || fail "pool del message: $out"
out=$(cli h1 port add nope --vsid 7001 2>&1) && fail "port add to a missing VSID succeeded"
[[ $out == *"VSID 7001 is not configured"* ]] || fail "port add message: $out"
pass "pool del in use and port add without a subnet refused: $out"

# ---- the provider segment never saw DHCP ----
sleep 0.5
kill "${BGPIDS[0]}"
wait "${BGPIDS[0]}" 2>/dev/null || true
gre=$(tcpdump -r "$T/provider.pcap" -n 'ip proto 47' 2>/dev/null | wc -l)
dhcp=$(tcpdump -r "$T/provider.pcap" -n 'udp port 67 or udp port 68' 2>/dev/null | wc -l)
((gre >= 6)) || fail "the capture holds only $gre GRE packets: it saw nothing"
((dhcp == 0)) || fail "$dhcp DHCP packets on the provider segment"
# nor inside NVGRE: the inner frames of every GRE packet
if command -v tshark >/dev/null; then
	tshark -r "$T/provider.pcap" -Y dhcp >"$T/tshark-dhcp.out" 2>"$T/tshark.err" ||
		fail "tshark: $(<"$T/tshark.err")"
	inner=$(wc -l <"$T/tshark-dhcp.out")
	((inner == 0)) || fail "$inner DHCP messages inside NVGRE on the provider segment"
fi
pass "provider segment: $gre GRE packets, no DHCP (plain or inside NVGRE)"

echo "---- transcript: addresses and routes of the VMs ----"
for vm in test01 test02 test03; do
	echo "## $vm"
	echo "\$ ip -4 addr"
	nsx "$vm" ip -4 addr
	echo "\$ ip route"
	nsx "$vm" ip route
done

stop_host h1
stop_host h2
pass "both hnvgwd exit cleanly"
