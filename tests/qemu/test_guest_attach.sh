#!/bin/bash
# test_guest_attach.sh: a real qemu guest attached to an hnvgw host edge
# through the TAP qemu opens itself (hnvgw port add ... --dev vnet0), talking
# NVGRE to a VM behind a second host edge.
#
#   $P-pn  provider bridge br0
#   $P-h1  host A, PA 192.168.4.11, hnvgwd; qemu runs here and creates vnet0
#          (-netdev tap,ifname=vnet0,script=no,downscript=no); the guest is
#          Blue1 (10.0.0.5, 06:06:00:00:00:05, VSID 5001):
#            hnvgw port add blue1 --vsid 5001 --mac ... --ca 10.0.0.5 --dev vnet0
#   $P-h2  host B, PA 192.168.4.22, hnvgwd, its port blue2 (add_vm: a veth
#          whose h2 end is the port's --dev, or with VM_PORTS=tap a TAP
#          hnvgwd creates) in
#   $P-b2  Blue2 (10.0.0.7)
# Policy: tests/data/bluered.ps1 on both hosts (hnvgw ps).
#
# Asserts, inside the guest (its console lines) and on B:
#   - guest -> Blue2 ping; Blue2 -> guest ping (on B);
#   - TCP guest -> Blue2 (the guest connects; Blue2 checks the SHA-256 the
#     guest printed), Blue2 -> guest with the guest connecting and with
#     Blue2 connecting (the guest checks the SHA-256 it was given);
#   - the provider bridge carried the guest's traffic as NVGRE with key
#     5001<<8 (tshark);
#   - guest MTU 1458 (provider MTU 1500 minus 42), given by the virtio NIC
#     (host_mtu=1458) as docs/attach-vms.md tells: the guest's eth0 has it,
#     and the 2 MB transfers need no ICMP "fragmentation needed";
#   - both hnvgwd exit cleanly.
# If hnvgw port add does not know --dev (before the fp-daemon branch), a
# SKIP line says so and the guest is attached the old way instead: vnet0 and
# the TAP hnvgwd creates for the port in a bridge on h1 (also forced with
# GUEST_ATTACH=bridge). With GUEST_ONLY=1 only the guest side runs: h1
# plays Blue2 itself (10.0.0.7 on vnet0), the same checks without hnvgwd.
# When hnvgwd has --datapath, the whole test runs twice: --datapath kernel
# (the tc fast path; the guest's virtio NIC keeps TSO, so the port sees GSO
# super-frames) and --datapath userspace (the C engine, which cannot take a
# super-frame whole: the NIC is given host_tso4/6=off, host_ufo=off, as
# docs/attach-vms.md tells). The kernel run is made twice: Blue2 on a veth
# port (add_vm's default, port add --dev: the fast path delivers to it)
# and on a TAP hnvgwd holds (VM_PORTS=tap: the fast path punts every frame
# for it to hnvgwd; the guest's checksum-offloaded TCP reaches the punt
# copy with only the pseudo-header sum in its checksum field, which the
# punt reader must complete). HNVT_DATAPATH=kernel|userspace runs one (with
# VM_PORTS=dev|tap, default dev); GUEST_NIC_OPTS replaces the NIC's extra
# properties.
# Needs root; /dev/kvm is not used (TCG). Run by `make qemu-test`: about 15 s
# per run here (the guest boots in under 10 s; up to 25 s on a busy machine).
set -euo pipefail
if [[ -z ${HNVT_DATAPATH+set} && ${GUEST_ONLY:-0} != 1 ]]; then
	help=$("${HNVGWD:-$(dirname "$0")/../../build/asan/hnvgwd}" --help 2>&1 || true)
	if [[ $help == *--datapath* ]]; then
		runs="kernel:dev kernel:tap userspace:dev"
		[[ -z ${VM_PORTS:-} ]] || runs="kernel:$VM_PORTS userspace:$VM_PORTS"
		for run in $runs; do
			echo "# hnvgwd --datapath ${run%:*}, Blue2 on a ${run#*:} port"
			HNVT_DATAPATH=${run%:*} VM_PORTS=${run#*:} bash "$0" || exit
		done
		exit 0
	fi
fi
HNVT_DATAPATH=${HNVT_DATAPATH:-}
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/../netns/lib.sh"
# shellcheck source=tests/qemu/lib.sh
source "$(dirname "$0")/lib.sh"

trap lab_cleanup EXIT
trap 'exit 130' INT TERM
((EUID == 0)) || fail "needs root (network namespaces, TAP)"
for c in qemu-system-x86_64 python3 tshark tcpdump cpio modinfo; do
	command -v "$c" >/dev/null || fail "$c is not installed (tests/qemu/deps.sh, make deps)"
done
GUEST_MAC=06:06:00:00:00:05
GUEST_CA=10.0.0.5
PEER_CA=10.0.0.7
T0=$SECONDS

guest_build "$T"
pass "guest: kernel $GUEST_KVER, initramfs $(($(stat -c %s "$T/initramfs.gz") >> 10)) KiB (busybox, $(wc -l <"$T/initramfs.d/modules.list") modules)"

# What the peer sends the guest (ports 5002 and 5004); its hash goes on the
# guest's command line.
head -c $((2 << 20)) /dev/urandom >"$T/to-guest"
sum=$(sha256sum "$T/to-guest" | cut -d' ' -f1)

mode=nvgre
[[ ${GUEST_ONLY:-0} == 1 ]] && mode=guest-only
# the guest may send TSO super-frames only to a port the fast path serves
devopts=host_mtu=1458,host_tso4=off,host_tso6=off,host_ufo=off
[[ $HNVT_DATAPATH == kernel ]] && devopts=host_mtu=1458
devopts=${GUEST_NIC_OPTS:-$devopts} # virtio-net-pci properties, to try others
if [[ $mode == nvgre ]]; then
	[[ -z $HNVT_DATAPATH ]] || hnvgwd_with --datapath "$HNVT_DATAPATH"
	lab_hosts "$ROOT/tests/data/bluered.ps1"
	add_vm h2 b2 blue2 5001 "$PEER_CA" 060600000007
	cap_start pn br0 "$T/provider.pcap" ip proto 47
else
	mkns h1
fi

guest_start g1 h1 vnet0 "$GUEST_MAC" "$devopts" \
	"hnv_ip=$GUEST_CA/24 hnv_gw=10.0.0.1 hnv_peer=$PEER_CA hnv_sum=$sum"
# qemu opened vnet0 and leaves it down (script=no): what libvirt's
# managed='no' leaves to whoever created the device
nsx h1 ip link set vnet0 up

# attach_bridge: the attachment of before --dev, for hnvgw builds without
# it: hnvgwd's own TAP blue1 and qemu's vnet0 in a bridge on h1
attach_bridge()
{
	cli h1 port add blue1 --vsid 5001 --mac "$GUEST_MAC" --ca "$GUEST_CA" >/dev/null ||
		fail "port add blue1 on h1"
	wait_for 10 nsx h1 ip link show blue1 || fail "no TAP blue1 on h1"
	# the TAP carries the VM's MAC (it is meant to be the VM's interface);
	# as a bridge port that MAC would be the bridge's own
	nsx h1 ip link set blue1 address 02:00:00:00:00:01
	nsx h1 ip link add brg0 type bridge mcast_snooping 0
	nsx h1 ip link set vnet0 master brg0
	nsx h1 ip link set blue1 master brg0
	nsx h1 ip link set blue1 up
	nsx h1 ip link set brg0 up
}

if [[ $mode == nvgre && ${GUEST_ATTACH:-dev} == bridge ]]; then
	attach_bridge
	attach="a bridge to hnvgwd's TAP"
	pass "port blue1 (hnvgwd's TAP) bridged to qemu's vnet0 on h1 (GUEST_ATTACH=bridge)"
elif [[ $mode == nvgre ]]; then
	if out=$(cli h1 port add blue1 --vsid 5001 --mac "$GUEST_MAC" --ca "$GUEST_CA" --dev vnet0 2>&1); then
		attach="port add --dev vnet0"
		pass "port blue1 attached to qemu's vnet0 on h1 (--dev)"
	else
		[[ $out == *--dev* ]] || fail "port add blue1 --dev vnet0 on h1: $out"
		echo "SKIP (port add --dev): this hnvgw does not take it ($out); the guest is attached through a bridge to hnvgwd's own TAP instead"
		attach_bridge
		attach="a bridge to hnvgwd's TAP; port add --dev not supported"
		pass "port blue1 (hnvgwd's TAP) bridged to qemu's vnet0 on h1"
	fi
fi
if [[ $mode == guest-only ]]; then
	# h1 plays Blue2 itself, on the TAP's host side
	peer=h1
	nsx h1 ip addr add "$PEER_CA/24" dev vnet0
	nsx h1 ip link set vnet0 mtu 1458
else
	peer=b2
fi

ip netns exec "$P-$peer" python3 "$QEMU_HERE/peer.py" recv 5003 "$T/from-guest" 2>"$T/peer-recv.log" &
BGPIDS+=($!)
ip netns exec "$P-$peer" python3 "$QEMU_HERE/peer.py" serve 5002 "$T/to-guest" 2>"$T/peer-serve.log" &
BGPIDS+=($!)

guest_wait g1 90 'ready|fail eth0' || fail "the guest did not come up in 90 s (console above)"
[[ -z $(guest_line g1 'fail') ]] || fail "guest: $(guest_line g1 'fail')"
line=$(guest_line g1 ready)
[[ $line == *" mtu 1458" ]] || fail "guest eth0: want MTU 1458 from the NIC's host_mtu, guest says: ${line#HNVT }"
pass "guest up after $((SECONDS - T0)) s: ${line#HNVT }"

guest_wait g1 90 '(ok|fail) ping-out' || fail "the guest printed no ping result"
line=$(guest_line g1 '(ok|fail) ping-out')
[[ $line == "HNVT ok "* ]] || fail "guest -> $PEER_CA: want replies, guest saw: ${line#HNVT }"
pass "guest -> Blue2 ping: ${line#HNVT ok ping-out }"

guest_wait g1 60 'listening' ||
	fail "the guest did not reach its TCP listener in 60 s; its last line: $(grep -a '^HNVT' "$T/console-g1.log" | tail -1 | tr -d '\r')"
nsx "$peer" ping -c 3 -i 0.2 -W 2 "$GUEST_CA" >"$T/ping-in.out" 2>&1 ||
	fail "Blue2 -> guest ($GUEST_CA): want replies, got: $(tr '\n' ' ' <"$T/ping-in.out")"
pass "Blue2 -> guest ping: $(grep 'packets transmitted' "$T/ping-in.out")"
nsx "$peer" timeout 60 python3 "$QEMU_HERE/peer.py" send "$GUEST_CA" 5004 "$T/to-guest" >"$T/peer-send.out" 2>"$T/peer-send.log" ||
	fail "Blue2 -> guest:5004: the transfer failed: $(tail -2 "$T/peer-send.log")"

guest_wait g1 90 'done' || fail "the guest did not finish in time"
guest_stop g1 20

# ---- the guest's own verdicts ----
for step in tcp-in-connect tcp-in-accept; do
	line=$(guest_line g1 "(ok|fail) $step")
	[[ $line == "HNVT ok "* ]] || fail "$step: want the guest to receive 2097152 bytes with sha256 $sum, guest saw: ${line:-no result}"
	pass "Blue2 -> guest TCP, $step: ${line#HNVT ok "$step" }"
done
bad=$(guest_line g1 'fail')
[[ -z $bad ]] || fail "guest: ${bad#HNVT }"

# ---- what Blue2 received from the guest ----
read -r _ _ gsum gbytes <<<"$(guest_line g1 'sent')"
[[ -n ${gsum:-} ]] || fail "the guest printed no 'sent' line"
wait_for 10 test -s "$T/from-guest" || fail "Blue2 received no TCP stream on port 5003 ($(cat "$T/peer-recv.log"))"
read -r bsum bbytes <"$T/from-guest"
[[ $bsum == "$gsum" && $bbytes == "$gbytes" ]] ||
	fail "guest -> Blue2 TCP: the guest sent $gbytes bytes with sha256 $gsum, Blue2 received $bbytes bytes with sha256 $bsum"
pass "guest -> Blue2 TCP: $bbytes bytes, same sha256 on Blue2"

if [[ $mode == nvgre ]]; then
	cap_stop "$T/provider.pcap"
	n=$(frames "$T/provider.pcap" "gre.key >= $((5001 << 8)) and gre.key < $((5002 << 8)) and (ip.src == $GUEST_CA or ip.dst == $GUEST_CA)")
	((n > 0)) || fail "no NVGRE frame with VSID 5001 and the guest's address on the provider bridge (want > 0)"
	pass "provider bridge: $n NVGRE frames of VSID 5001 to or from the guest"
	frag=$(counter h1 icmp_frag_needed)
	((frag == 0)) || fail "h1 sent $frag ICMP fragmentation-needed: the guest's MTU 1458 should fit the 1500-byte uplink"
	stop_host h1
	stop_host h2
	pass "both hnvgwd exited cleanly"
	echo "qemu guest attach ($attach${HNVT_DATAPATH:+, --datapath $HNVT_DATAPATH}, Blue2 on a ${VM_PORTS:-dev} port): all checks passed in $((SECONDS - T0)) s"
else
	echo "qemu guest attach, guest side alone: all checks passed in $((SECONDS - T0)) s"
fi
