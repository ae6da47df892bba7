#!/bin/bash
# test_gw_record.sh: the default-gateway lookup records of Microsoft's
# Windows Server 2012 demo in the netns lab (lib.sh: two host edges). One
# routing domain, Blue, with two virtual subnets, 10.0.0.0/24 (VSID 5001)
# and 10.0.1.0/24 (VSID 5002), and the demo's records
#   10.0.0.1 -> PA 169.254.254.254 MAC 101010101101 (BlueS1-DG)
#   10.0.1.1 -> PA 169.254.254.254 MAC 101010101001 (Blue-GWDG)
# committed on both hosts with `hnvgw ps` (New-NetVirtualization* lines).
# VMs: Blue1 10.0.0.5 and Blue3 10.0.1.5 on host 1, Blue2 10.0.0.7 and
# Blue4 10.0.1.7 on host 2. Run once per forwarding tier (kernel: the
# default, the tc fast path; userspace: --datapath userspace). Asserts:
#   - show vsubnets names each VSID's router MAC (gateway_mac column, JSON
#     and table); Get-NetVirtualizationLookupRecord lists the record as
#     configured (PA 169.254.254.254, its MAC and VMName);
#   - after a ping, each VM's neighbour table holds its gateway 10.0.x.1
#     with its subnet's record MAC (10:10:10:10:11:01 / 10:10:10:10:10:01);
#   - cross-subnet ping works both ways on one host and between the hosts;
#     a routed echo request reaches Blue4 from VSID 5002's router MAC;
#   - kernel tier: the routed frames were forwarded by the fast path;
#   - the record of 10.0.0.1 deleted (host 1: Remove-NetVirtualization-
#     LookupRecord, host 2: hnvgw lookup del): show vsubnets' column is
#     empty for 5001; after flushing the entry and a ping, the VMs of 5001
#     see 10.0.0.1 at the global gateway MAC 02:15:5d:00:00:01, routed frames
#     into 5001 come from it, VSID 5002 keeps its record's MAC, and
#     cross-subnet ping still works both ways;
#   - both daemons exit 0 without sanitizer reports.
# Needs root. Run by `make netns-test`; GW_RECORD_TIERS="userspace" limits
# the tiers.
set -euo pipefail

if [[ -z ${GW_RECORD_TIER:-} ]]; then
	rc=0
	for tier in ${GW_RECORD_TIERS:-kernel userspace}; do
		GW_RECORD_TIER=$tier bash "$0" || rc=1
	done
	exit $rc
fi

# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"
((EUID == 0)) || fail "needs root (network namespaces)"
for c in ping tcpdump tshark; do
	command -v "$c" >/dev/null || fail "$c is not installed (make deps)"
done
TIER=$GW_RECORD_TIER
echo "# tier: $TIER"
if [[ $TIER == userspace ]]; then DATAPATH=userspace; fi

DG1=10:10:10:10:11:01 # VSID 5001's router MAC (the record of 10.0.0.1)
DG2=10:10:10:10:10:01 # VSID 5002's (10.0.1.1)
GW=02:15:5d:00:00:01  # the global gateway MAC (datapath/dp.h)

# The demo's policy as an administrator types it on host 1 (PA
# 192.168.4.11); host 2 gets the same with its own PA.
cat >"$T/demo-h1.ps1" <<'PS'
New-NetVirtualizationProviderAddress -InterfaceIndex 1 -ProviderAddress "192.168.4.11" -PrefixLength 24
New-NetVirtualizationCustomerRoute -RoutingDomainID "{11111111-2222-3333-4444-000000005001}" `
    -VirtualSubnetID 5001 -DestinationPrefix "10.0.0.0/24" -NextHop "0.0.0.0" -Metric 255
New-NetVirtualizationCustomerRoute -RoutingDomainID "{11111111-2222-3333-4444-000000005001}" `
    -VirtualSubnetID 5002 -DestinationPrefix "10.0.1.0/24" -NextHop "0.0.0.0" -Metric 255
New-NetVirtualizationLookupRecord -CustomerAddress "10.0.0.5" -VirtualSubnetID 5001 `
    -MACAddress "060600000005" -ProviderAddress "192.168.4.11" -Rule "TranslationMethodEncap" `
    -CustomerID "{11111111-2222-3333-4444-000000005001}" -VMName "Blue1"
New-NetVirtualizationLookupRecord -CustomerAddress "10.0.0.7" -VirtualSubnetID 5001 `
    -MACAddress "060600000007" -ProviderAddress "192.168.4.22" -Rule "TranslationMethodEncap" `
    -CustomerID "{11111111-2222-3333-4444-000000005001}" -VMName "Blue2"
New-NetVirtualizationLookupRecord -CustomerAddress "10.0.1.5" -VirtualSubnetID 5002 `
    -MACAddress "060600010005" -ProviderAddress "192.168.4.11" -Rule "TranslationMethodEncap" `
    -CustomerID "{11111111-2222-3333-4444-000000005001}" -VMName "Blue3"
New-NetVirtualizationLookupRecord -CustomerAddress "10.0.1.7" -VirtualSubnetID 5002 `
    -MACAddress "060600010007" -ProviderAddress "192.168.4.22" -Rule "TranslationMethodEncap" `
    -CustomerID "{11111111-2222-3333-4444-000000005001}" -VMName "Blue4"
# the demo's default-gateway records
New-NetVirtualizationLookupRecord -CustomerAddress "10.0.0.1" -ProviderAddress "169.254.254.254" `
    -VirtualSubnetID "5001" -MACAddress "101010101101" -Rule "TranslationMethodEncap" -VMName "BlueS1-DG"
New-NetVirtualizationLookupRecord -CustomerAddress "10.0.1.1" -ProviderAddress "169.254.254.254" `
    -VirtualSubnetID "5002" -MACAddress "101010101001" -Rule "TranslationMethodEncap" -VMName "Blue-GWDG"
PS
sed -E '/^New-NetVirtualizationProviderAddress/s/192\.168\.4\.11/192.168.4.22/' \
	"$T/demo-h1.ps1" >"$T/demo-h2.ps1"

lab_bridge
start_host h1 192.168.4.11
start_host h2 192.168.4.22
for h in h1 h2; do
	[[ $(tier "$h") == "$TIER" ]] || fail "$h forwards in the $(tier "$h") tier, want $TIER"
	cli "$h" ps "$T/demo-$h.ps1" >"$T/ps-$h.out" 2>&1 || fail "ps on $h: $(<"$T/ps-$h.out")"
done
add_vm h1 b1 blue1 5001 10.0.0.5 060600000005
add_vm h1 b3 blue3 5002 10.0.1.5 060600010005
add_vm h2 b2 blue2 5001 10.0.0.7 060600000007
add_vm h2 b4 blue4 5002 10.0.1.7 060600010007
pass "$TIER: lab up, the 2012 demo's records committed with hnvgw ps on both hosts"

# gw_macs HOST: "VSID=gateway_mac" of show vsubnets --json, one per VSID.
gw_macs()
{
	cli "$1" --json show vsubnets | python3 -c 'import json,sys
rows=json.load(sys.stdin)
rows=rows.get("result",rows) if isinstance(rows,dict) else rows
print(" ".join("%d=%s" % (r["vsid"], r["gateway_mac"]) for r in sorted(rows, key=lambda r: r["vsid"])))'
}

# ---- what the CLI shows ----
for h in h1 h2; do
	got=$(gw_macs "$h")
	[[ $got == "5001=$DG1 5002=$DG2" ]] || fail "$h: show vsubnets gateway_mac: $got"
done
cli h1 show vsubnets >"$T/vsubnets.txt" || fail "show vsubnets"
for want in "gateway_mac" "^5001 .*$DG1" "^5002 .*$DG2"; do
	grep -q "$want" "$T/vsubnets.txt" || fail "show vsubnets table lacks '$want': $(<"$T/vsubnets.txt")"
done
cli h1 ps - <<<'Get-NetVirtualizationLookupRecord -VMName BlueS1-DG' >"$T/get.txt" ||
	fail "Get-NetVirtualizationLookupRecord: $(<"$T/get.txt")"
for want in 'CustomerAddress *: 10.0.0.1$' 'VirtualSubnetID *: 5001$' 'MACAddress *: 101010101101$' \
	'ProviderAddress *: 169.254.254.254$' 'VMName *: BlueS1-DG$'; do
	grep -q "^$want" "$T/get.txt" || fail "Get-NetVirtualizationLookupRecord lacks '$want': $(<"$T/get.txt")"
done
pass "$TIER: show vsubnets gateway_mac 5001=$DG1 5002=$DG2 on both hosts; Get-NetVirtualizationLookupRecord lists BlueS1-DG as configured"

# ping_ok VM DST: three echo requests answered.
ping_ok()
{
	nsx "$1" ping -c 3 -i 0.2 -w 10 "$2" >"$T/ping-$1-$2.out" 2>&1 ||
		fail "$TIER: $1 -> $2: $(<"$T/ping-$1-$2.out")"
}

# gw_neigh VM DEV GW: the MAC VM's neighbour table holds for GW ("" if none).
gw_neigh()
{
	nsx "$1" ip neigh show "$3" dev "$2" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}'
}

# gw_neigh_is VM DEV GW MAC: VM's neighbour table holds GW at MAC.
gw_neigh_is()
{
	local got
	got=$(gw_neigh "$1" "$2" "$3")
	[[ $got == "$4" ]] || fail "$TIER: $1's neighbour table: $3 at '$got', want $4 ($(nsx "$1" ip neigh show dev "$2"))"
}

# all_pings: cross-subnet both ways, on one host and between the hosts.
all_pings()
{
	ping_ok b1 10.0.1.5 # h1: 5001 -> 5002, same host
	ping_ok b3 10.0.0.5 # h1: 5002 -> 5001, same host
	ping_ok b1 10.0.1.7 # h1 5001 -> h2 5002
	ping_ok b4 10.0.0.5 # h2 5002 -> h1 5001
	ping_ok b2 10.0.1.7 # h2: 5001 -> 5002, same host
	ping_ok b3 10.0.0.7 # h1 5002 -> h2 5001
}

# ---- the records' MACs: neighbour tables, routing ----
cap_start b4 blue4 "$T/b4.pcap" icmp
all_pings
cap_stop "$T/b4.pcap"
gw_neigh_is b1 blue1 10.0.0.1 $DG1
gw_neigh_is b2 blue2 10.0.0.1 $DG1
gw_neigh_is b3 blue3 10.0.1.1 $DG2
gw_neigh_is b4 blue4 10.0.1.1 $DG2
src=$(tshark -r "$T/b4.pcap" -Y 'icmp.type == 8 and ip.src == 10.0.0.5' -T fields -e eth.src 2>/dev/null | sort -u)
[[ $src == "$DG2" ]] || fail "$TIER: Blue1's echo requests reached Blue4 from '$src', want $DG2"
pass "$TIER: cross-subnet ping both ways (same host and between hosts); gateways at $DG1 (5001) and $DG2 (5002) in the VMs' neighbour tables; routed frames into 5002 from $DG2"

if [[ $TIER == kernel ]]; then
	fp=$(cli h1 --json show counters | python3 -c 'import json,sys
rows=json.load(sys.stdin)
rows=rows.get("result",rows) if isinstance(rows,dict) else rows
print(sum(int(r.get("fast_path",0)) for r in rows if r["counter"] in ("tx_routed_encap","tx_routed_local")))')
	((fp >= 6)) || fail "kernel: the fast path routed $fp frames on h1, want >= 6"
	pass "kernel: the fast path routed $fp frames on h1 (tx_routed_encap + tx_routed_local)"
fi

# ---- the record of 10.0.0.1 deleted: VSID 5001 has the global MAC again ----
cli h1 ps - <<<'Remove-NetVirtualizationLookupRecord -CustomerAddress "10.0.0.1" -VirtualSubnetID 5001' \
	>"$T/rm.out" 2>&1 || fail "Remove-NetVirtualizationLookupRecord on h1: $(<"$T/rm.out")"
cli h2 lookup del --vsid 5001 --ca 10.0.0.1 --mac 101010101101 >"$T/del.out" 2>&1 ||
	fail "lookup del on h2: $(<"$T/del.out")"
for h in h1 h2; do
	got=$(gw_macs "$h")
	[[ $got == "5001= 5002=$DG2" ]] || fail "$h after lookup del: show vsubnets gateway_mac: $got"
	cli "$h" show lookup --ca 10.0.0.1 | grep -q 169.254.254.254 && fail "$h: show lookup still lists 10.0.0.1"
done
for vm in b1:blue1:10.0.0.1 b2:blue2:10.0.0.1 b3:blue3:10.0.1.1 b4:blue4:10.0.1.1; do
	IFS=: read -r v dev gw <<<"$vm"
	nsx "$v" ip neigh flush to "$gw" dev "$dev"
done
cap_start b1 blue1 "$T/b1.pcap" icmp
all_pings
cap_stop "$T/b1.pcap"
gw_neigh_is b1 blue1 10.0.0.1 $GW
gw_neigh_is b2 blue2 10.0.0.1 $GW
gw_neigh_is b3 blue3 10.0.1.1 $DG2
gw_neigh_is b4 blue4 10.0.1.1 $DG2
src=$(tshark -r "$T/b1.pcap" -Y 'icmp.type == 8 and ip.src == 10.0.1.7' -T fields -e eth.src 2>/dev/null | sort -u)
[[ $src == "$GW" ]] || fail "$TIER after lookup del: Blue4's echo requests reached Blue1 from '$src', want $GW"
pass "$TIER: after lookup del of 10.0.0.1 (PS on h1, CLI on h2): 5001's gateway at the global $GW, 5002 keeps $DG2, cross-subnet ping still works both ways"

stop_host h1
stop_host h2
pass "$TIER: both hnvgwd exit 0 without sanitizer reports"
