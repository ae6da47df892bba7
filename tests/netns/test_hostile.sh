#!/bin/bash
# test_hostile.sh: hostile NVGRE frames on the provider segment of the
# two-host lab (lib.sh). An attacker namespace on the bridge (192.168.4.99)
# sends frames crafted with scapy (tests/netns/nvgre.py) to host 1's PA:
# spoofed outer PA, unknown and reserved VSID, the VSID of the other tenant,
# an inner 802.1Q tag, GRE checksum bit, sequence bit, version 1, a non-TEB
# protocol, and frames truncated at several lengths. Asserts, for each kind:
#   - the per-reason drop counter of host 1 (hnvgw show counters) grows by
#     exactly the number of frames sent, and no other drop reason moves;
#   - no VM namespace receives anything (tcpdump -Q in on every VM port);
# and as a positive control that well-formed frames sent the same way are
# delivered to Blue1 (so the captures would have seen a leak), including
# one with the reserved GRE bits 6-12 set, which a receiver ignores.
# Truncation is inside a consistent outer IPv4 packet: a packet whose outer
# total length exceeds the frame never gets past the provider bridge here
# (the kernel drops it), so it cannot reach hnvgwd's raw socket at all.
# Needs root and python3-scapy. Run by `make netns-test`.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (network namespaces)"
SCAPY=/usr/bin/python3
for c in tcpdump tshark; do
	command -v "$c" >/dev/null || fail "$c is not installed (make deps)"
done
"$SCAPY" -c 'import scapy' 2>/dev/null || fail "python3-scapy is not installed (make deps)"
lab_setup
provider_attach x 192.168.4.99
H1MAC=$(nsx h1 cat /sys/class/net/up0/address)
pass "lab up: 2 hosts, 4 VMs, attacker 192.168.4.99 on the provider bridge"

for vm in b1:blue1 r1:red1 b2:blue2 r2:red2; do
	cap_start "${vm%%:*}" "${vm#*:}" "$T/vm-${vm%%:*}.pcap" -Q in
done

# all counters of host 1 as "name value" lines
snapshot() { cli h1 --json show counters | python3 -c 'import json,sys
rows=json.load(sys.stdin)
rows=rows.get("result",rows) if isinstance(rows,dict) else rows
for r in rows: print(r["counter"], r["value"])' >"$1"; }
# delta A B: "name +n" for each drop_* counter that changed
delta() { awk 'NR == FNR { a[$1] = $2; next } $1 ~ /^drop_/ && $2 != a[$1] { printf "%s +%d\n", $1, $2 - a[$1] }' "$1" "$2"; }

# one scapy process for the whole test: send KIND COUNT waits until written
coproc SCAPYSRV { exec ip netns exec "$P-x" "$SCAPY" "$HERE/nvgre.py" serve pv0 "$H1MAC" 2>"$T/scapy.log"; }
BGPIDS+=("$SCAPYSRV_PID")
send()
{
	local line
	echo "$1 $2" >&"${SCAPYSRV[1]}"
	read -r -t 30 line <&"${SCAPYSRV[0]}" || fail "scapy: no answer for $1: $(tail -3 "$T/scapy.log")"
	[[ $line == "sent $1" ]] || fail "scapy: $line"
}

N=3
# kind -> the one drop reason it must raise
declare -A WANT=(
	[spoof_pa]=drop_spoof [spoof_pa2]=drop_spoof
	[vsid_unknown]=drop_vsid_unknown [vsid_reserved]=drop_vsid_reserved
	[vsid_other_tenant]=drop_spoof [vsid_other_tenant_dst]=drop_no_local_port
	[inner_vlan]=drop_inner_vlan
	[gre_csum]=drop_gre_flags [gre_seq]=drop_gre_flags [gre_ver1]=drop_gre_flags
	[gre_proto]=drop_gre_proto
	[trunc_gre4]=drop_runt [trunc_gre7]=drop_runt [trunc_eth]=drop_runt
	[trunc_ip_hdr]=drop_bad_ip [trunc_ip_payload]=drop_bad_ip
)
KINDS="spoof_pa spoof_pa2 vsid_unknown vsid_reserved vsid_other_tenant vsid_other_tenant_dst inner_vlan gre_csum gre_seq gre_ver1 gre_proto trunc_gre4 trunc_gre7 trunc_eth trunc_ip_hdr trunc_ip_payload"
snapshot "$T/before"
for k in $KINDS; do
	want=${WANT[$k]}
	send "$k" "$N"
	# counted asynchronously (by the fast path, or by the forwarding thread
	# once it read them): wait for the reason to reach its count
	c0=$(awk -v c="$want" '$1 == c {print $2}' "$T/before")
	wait_for 10 counter_ge h1 "$want" $((c0 + N)) ||
		fail "$k: host 1 did not count the $N frames as $want"
	snapshot "$T/after"
	d=$(delta "$T/before" "$T/after" | tr '\n' ' ')
	[[ $d == "$want +$N " ]] || fail "$k: drop counters moved by \"$d\", want \"$want +$N\""
	pass "$k: $N frames dropped, counted as $want"
	mv "$T/after" "$T/before"
done

# nothing reached any VM so far
for vm in b1 r1 b2 r2; do
	cap_stop "$T/vm-$vm.pcap"
	n=$(frames "$T/vm-$vm.pcap")
	((n == 0)) || fail "$n hostile frames delivered to $vm: $(tshark -r "$T/vm-$vm.pcap" 2>/dev/null | head -3)"
done
pass "no VM namespace received any of the $(($(echo "$KINDS" | wc -w) * N)) hostile frames"

# positive control: the same path delivers well-formed frames, also one
# with the reserved GRE bits 6-12 set (first word 0x23f8: ignored on receipt)
cap_start b1 blue1 "$T/vm-b1-valid.pcap" -Q in
before=$(counter h1 rx_decap_delivered)
send valid 1
send valid_rsvd 1
wait_for 10 counter_ge h1 rx_decap_delivered $((before + 2)) ||
	fail "the well-formed control frames were not delivered"
# tcpdump -U writes each frame as it sees it: wait for both in the file
both_captured() {
	(($(frames "$T/vm-b1-valid.pcap" 'icmp.ident == 0x600d || icmp.ident == 0x600e') >= 2))
}
wait_for 10 both_captured || true
cap_stop "$T/vm-b1-valid.pcap"
(($(frames "$T/vm-b1-valid.pcap" 'icmp.ident == 0x600d') == 1)) || fail "Blue1's capture lacks the control frame"
(($(frames "$T/vm-b1-valid.pcap" 'icmp.ident == 0x600e') == 1)) ||
	fail "Blue1's capture lacks the control frame with GRE word 0x23f8"
pass "control: well-formed frames sent the same way reach Blue1 (GRE 0x2000 and 0x23f8)"

stop_host h1
stop_host h2
pass "both hnvgwd exit 0 without sanitizer reports"
