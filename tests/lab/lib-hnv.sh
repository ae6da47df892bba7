# shellcheck shell=bash
# tests/lab/lib-hnv.sh: the HNV part of the gateway scenarios (sourced after
# lib.sh): the provider segment, two hnvgwd host edges with Contoso and
# Fabrikam VMs (both tenants in 10.10.0.0/16), and this VM's hnvgwd as the
# gateway.
#
#   provider segment 192.168.4.0/24 (bridge in namespace pn)
#     gateway (this VM, PA .1, hnvgwd.service --uplink up0)
#     h1 (PA .11): VMs ct1 (Contoso 10.10.0.5), fb1 (Fabrikam 10.10.0.5)
#     h2 (PA .22): VMs ct2 (Contoso 10.10.0.7), fb2 (Fabrikam 10.10.0.7)
#   Contoso is VSID 5001, Fabrikam VSID 6001; the gateway CA is 10.10.0.2 in
#   both, on the gateway ports vsid5001 and vsid6001.

CT_MAC=02:48:4e:00:13:89 # the gateway port of VSID 5001 (hnv_gateway_port)
FB_MAC=02:48:4e:00:17:71 # ... of VSID 6001

HNV_PIDS=() # the host edges' hnvgwd (LAB_BG is for captures: capture_stop kills it)
# finish (lib.sh) also stops the host edges
eval "$(declare -f finish | sed '1s/^finish/lab_finish/')"
finish() {
	((${#HNV_PIDS[@]})) && kill "${HNV_PIDS[@]}" 2>/dev/null
	lab_finish
}

gwcli() { timeout 30 hnvgw "$@"; }
hcli() {
	local h=$1
	shift
	timeout 30 hnvgw --socket "$LAB_TMP/$h.sock" "$@"
}
# wait_ok SECONDS CMD...: polls CMD until it succeeds; prints the seconds.
wait_ok() {
	local limit=$1 t0=$EPOCHREALTIME
	shift
	local deadline=$((SECONDS + limit))
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", b - a }'
}
ping1() { ip netns exec "$1" ping -c 1 -W 1 "$2"; }
# path NS DST WHAT EXPECTED: a summary line: one ping from NS to DST, its
# verdict and whether isolation expects it (EXPECTED: reached or blocked)
path() {
	local got=blocked
	ping1 "$1" "$2" >/dev/null 2>&1 && got=reached
	printf '%-4s -> %-14s %-46s %-8s%s\n' "$1" "$2" "$3" "$got" "$([[ $got == "$4" ]] || echo '  UNEXPECTED')"
}

# outage_start NAME NS DST: NS pings DST every 0.2 s in the background, each
# reply time-stamped, until outage_stop. outage_mark: the disruption starts
# now. outage_stop NAME: prints the longest time in seconds without a reply
# from the last reply before the mark (or the mark) to the end, or "never"
# when no reply came after the mark.
outage_start() {
	ip netns exec "$2" ping -D -n -i 0.2 -W 1 "$3" >"$LAB_TMP/outage-$1.txt" 2>&1 &
	echo $! >"$LAB_TMP/outage-$1.pid"
}
outage_mark() { echo "$EPOCHREALTIME" >"$LAB_TMP/outage.mark"; }
outage_stop() {
	local f=$LAB_TMP/outage-$1.txt
	kill "$(cat "$LAB_TMP/outage-$1.pid")" 2>/dev/null
	wait "$(cat "$LAB_TMP/outage-$1.pid")" 2>/dev/null
	awk -v mark="$(cat "$LAB_TMP/outage.mark")" -v end="$EPOCHREALTIME" '
		/bytes from/ { t = substr($1, 2, length($1) - 2) + 0
			if (t < mark) { last = t; next }
			if (last == "") last = mark
			if (t - last > gap) gap = t - last
			last = t; after = 1 }
		END { if (!after) { print "never"; exit }
			if (end - last > gap) gap = end - last
			printf "%.1f\n", gap }' "$f"
}

# The policy every HNV host and the gateway share.
common_policy() {
	cat <<-EOF
		rdomain add contoso --rdid 11111111-0000-0000-0000-000000005001
		vsubnet add 5001 --rdomain contoso --prefix 10.10.0.0/16
		rdomain add fabrikam --rdid 11111111-0000-0000-0000-000000006001
		vsubnet add 6001 --rdomain fabrikam --prefix 10.10.0.0/16
		route add --rdomain contoso --vsid 5001 --prefix 10.10.0.0/16 --nexthop 0.0.0.0
		route add --rdomain fabrikam --vsid 6001 --prefix 10.10.0.0/16 --nexthop 0.0.0.0
		lookup add --vsid 5001 --ca 10.10.0.5 --pa 192.168.4.11 --mac 02:00:00:00:50:05 --vm-name ct1
		lookup add --vsid 5001 --ca 10.10.0.7 --pa 192.168.4.22 --mac 02:00:00:00:50:07 --vm-name ct2
		lookup add --vsid 6001 --ca 10.10.0.5 --pa 192.168.4.11 --mac 02:00:00:00:60:05 --vm-name fb1
		lookup add --vsid 6001 --ca 10.10.0.7 --pa 192.168.4.22 --mac 02:00:00:00:60:07 --vm-name fb2
	EOF
}
# What a Hyper-V administrator adds on each host for the gateway
# (docs/gateway.md).
host_policy() {
	cat <<-EOF
		lookup add --vsid 5001 --ca 10.10.0.2 --pa 192.168.4.1 --mac $CT_MAC --vm-name gateway
		lookup add --vsid 5001 --ca 0.0.0.0 --pa 192.168.4.1 --mac $CT_MAC --type gateway-wildcard
		route add --rdomain contoso --vsid 5001 --prefix 0.0.0.0/0 --nexthop 10.10.0.2
		lookup add --vsid 6001 --ca 10.10.0.2 --pa 192.168.4.1 --mac $FB_MAC --vm-name gateway
		lookup add --vsid 6001 --ca 0.0.0.0 --pa 192.168.4.1 --mac $FB_MAC --type gateway-wildcard
		route add --rdomain fabrikam --vsid 6001 --prefix 0.0.0.0/0 --nexthop 10.10.0.2
	EOF
}

# hnv_topology [EXTRA_NS...]: namespaces, provider segment (extra provider
# members get attached by provider_member), both host edges and four VMs.
hnv_topology() {
	local h pa
	netns pn h1 h2 ct1 fb1 ct2 fb2 "$@"
	must ip -n pn link add br0 type bridge
	must ip -n pn link set br0 up
	for h in h1 h2; do
		veth "$h" up0 pn "${h}p"
		must ip -n pn link set "${h}p" master br0
	done
	must ip link add up0 type veth peer name gwp netns pn
	must ip link set up0 up
	must ip -n pn link set gwp up master br0
	must ip addr add 192.168.4.1/24 dev up0
	must ip -n h1 addr add 192.168.4.11/24 dev up0
	must ip -n h2 addr add 192.168.4.22/24 dev up0

	section "host edges h1, h2 (hnvgwd --uplink up0 in namespaces)"
	for h in h1 h2; do
		ip netns exec "$h" hnvgwd --foreground --state-dir "$LAB_TMP/st-$h" \
			--socket "$LAB_TMP/$h.sock" --uplink up0 --zebra none \
			>"$LAB_TMP/hnvgwd-$h.log" 2>&1 &
		HNV_PIDS+=($!)
	done
	for h in h1 h2; do
		wait_ok 20 hcli "$h" show revisions >/dev/null || {
			nok "hnvgwd on $h"
			finish
		}
		pa=192.168.4.11
		[[ $h == h2 ]] && pa=192.168.4.22
		{
			echo "pa add $pa/24 --dev up0"
			common_policy
			host_policy
		} >"$LAB_TMP/$h.conf"
		must hcli "$h" commit -f "$LAB_TMP/$h.conf"
	done
	add_vm h1 ct1 5001 10.10.0.5 02:00:00:00:50:05
	add_vm h1 fb1 6001 10.10.0.5 02:00:00:00:60:05
	add_vm h2 ct2 5001 10.10.0.7 02:00:00:00:50:07
	add_vm h2 fb2 6001 10.10.0.7 02:00:00:00:60:07
	check "ct1 -> ct2 (Contoso, across hosts)" ping1 ct1 10.10.0.7
	check "fb1 -> fb2 (Fabrikam, the same addresses)" ping1 fb1 10.10.0.7
}

# provider_member NS PA: NS joins the provider segment with PA on up0.
provider_member() {
	# made under another name: up0 exists here already (the gateway's)
	must ip link add "$1-up" type veth peer name "$1p" netns pn
	must ip link set "$1-up" netns "$1"
	must ip -n "$1" link set "$1-up" name up0
	must ip -n "$1" link set up0 up
	must ip -n pn link set "$1p" master br0 up
	must ip -n "$1" addr add "$2/24" dev up0
}

# add_vm HOST VM VSID CA MAC: VM namespace VM on port VM of HOST. By
# default (VM_PORTS=dev) the VM's interface VM is one end of a veth whose
# other end, v-VM in HOST, is the port's device (port add --dev), as a
# container's or qemu's would be: HOST's kernel fast path serves it. When
# HOST forwards in userspace the VM sends no GSO super-frames (the C engine
# forwards frames). VM_PORTS=tap: hnvgwd creates TAP VM, which is moved
# into netns VM.
add_vm() {
	if [[ ${VM_PORTS:-dev} == dev ]]; then
		must ip link add "v-$2" netns "$1" type veth peer name "$2" netns "$2" address "$5"
		must ip -n "$1" link set "v-$2" up
		[[ $(tier_of hcli "$1") == kernel ]] ||
			ip netns exec "$2" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1
		must hcli "$1" port add "$2" --vsid "$3" --ca "$4" --mac "$5" --dev "v-$2"
	else
		must hcli "$1" port add "$2" --vsid "$3" --ca "$4" --mac "$5"
		must ip -n "$1" link set "$2" netns "$2"
	fi
	must ip -n "$2" addr add "$4/16" dev "$2"
	must ip -n "$2" link set "$2" up
	must ip -n "$2" route add default via 10.10.0.1
}

# json_field KEY: the value of "KEY" in each JSON object on stdin (one line
# per object; the image has no python3).
json_field() {
	tr -d '\n' | sed 's/}/}\n/g' | sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\).*/\1/p"
}
# tier_of CLI [HOST]: the tier that forwards (show status: kernel or
# userspace) of the gateway (gwcli) or of a host edge (hcli HOST).
tier_of() { "$@" --json show status 2>/dev/null | json_field datapath | head -1; }
# counter_col CLI [HOST] -- COUNTER COLUMN: one column (value, fast_path,
# engine) of one row of show counters.
counter_col() {
	local a=() c col
	while [[ $1 != -- ]]; do a+=("$1"); shift; done
	c=$2 col=$3
	"${a[@]}" --json show counters 2>/dev/null | tr -d '\n' | sed 's/}/}\n/g' |
		grep "\"counter\": *\"$c\"" | sed -n "s/.*\"$col\": *\([0-9]*\).*/\1/p" | head -1
}
# fast_path_check: the gateway and both host edges forward on the kernel
# fast path (show status), and the fast path's own counters moved: on the
# host edges it encapsulated the VMs' frames and delivered the gateway's
# replies; on the gateway it decapsulated into the gateway ports (the
# tenant VRFs) and encapsulated what the VRFs routed out of them.
fast_path_check() {
	local who t c v
	for who in gateway h1 h2; do
		local cli=(hcli "$who")
		[[ $who == gateway ]] && cli=(gwcli)
		t=$(tier_of "${cli[@]}")
		if [[ $t == kernel ]]; then
			ok "$who: show status: the kernel fast path forwards"
		else
			nok "$who: show status: the kernel fast path forwards (datapath '$t')"
			"${cli[@]}" show status 2>&1 | indent
		fi
		v=$(counter_col "${cli[@]}" -- rx_decap_delivered fast_path)
		if [[ -n $v && $v -gt 0 ]]; then
			ok "$who: rx_decap_delivered counted by the fast path ($v; engine $(counter_col "${cli[@]}" -- rx_decap_delivered engine))"
		else
			nok "$who: rx_decap_delivered counted by the fast path (fast_path '$v')"
			"${cli[@]}" show counters 2>&1 | awk 'NR == 1 || $2 != 0' | indent
		fi
		# same VSID or routed into another one
		c=$(counter_col "${cli[@]}" -- tx_encap fast_path)
		v=$(counter_col "${cli[@]}" -- tx_routed_encap fast_path)
		v=$((${c:-0} + ${v:-0}))
		if ((v > 0)); then
			ok "$who: tx_encap + tx_routed_encap counted by the fast path ($v)"
		else
			nok "$who: tx_encap + tx_routed_encap counted by the fast path (0)"
			"${cli[@]}" show counters 2>&1 | awk 'NR == 1 || $2 != 0' | indent
		fi
		port_counters_check "${cli[@]}" -- "$who"
	done
}

# port_counters_check CLI [HOST] -- WHO: the fast path's share of the
# per-port counters moved: the uplink's rx/tx, and rx/tx of the ports
# (the gateway: its vsid<N> gateway ports in the VRFs; a host edge: its
# VMs' ports), whose frames never pass through hnvgwd on this tier.
port_counters_check() {
	local a=() who rows c v
	while [[ $1 != -- ]]; do a+=("$1"); shift; done
	who=$2
	rows=$("${a[@]}" --json show counters 2>/dev/null | tr -d '\n' | sed 's/}/}\n/g')
	for c in rx_packets tx_packets; do
		v=$(grep "\"counter\": *\"uplink\.$c\"" <<<"$rows" |
			sed -n 's/.*"fast_path": *\([0-9]*\).*/\1/p' | head -1)
		if [[ -n $v && $v -gt 0 ]]; then
			ok "$who: uplink.$c counted by the fast path ($v)"
		else
			nok "$who: uplink.$c counted by the fast path (fast_path '$v')"
		fi
		# the ports' rows: NAME.COUNTER, not uplink, thread:K or fastpath
		v=$(grep "\"counter\": *\"[^\":]*\.$c\"" <<<"$rows" | grep -v '"uplink\.' |
			sed -n 's/.*"fast_path": *\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
		if ((v > 0)); then
			ok "$who: the ports' $c counted by the fast path ($v)"
		else
			nok "$who: the ports' $c counted by the fast path (0)"
			grep "\.$c\"" <<<"$rows" | indent
		fi
	done
}

# gateway_start CONF_LINES_FILE: hnvgwd.service with --uplink up0, then the
# gateway's own policy plus the file's lines as one commit.
gateway_start() {
	echo 'HNVGWD_OPTS="--uplink up0"' >/etc/default/hnvgwd
	must systemctl restart hnvgwd
	wait_ok 20 gwcli show revisions >/dev/null || nok "hnvgwd.service answers"
	{
		echo "pa add 192.168.4.1/24 --dev up0"
		common_policy
		cat "$1"
	} >"$LAB_TMP/gw.conf"
	must gwcli commit -f "$LAB_TMP/gw.conf"
	gwcli show gateway | indent
}

# frr_start NS < FRR_CONF: a router of its own in namespace NS: FRR's zebra
# and bgpd (pathspace NS, files in $LAB_TMP/frr-NS), configured with the
# vtysh lines on stdin.
frr_start() {
	local ns=$1 d=$LAB_TMP/frr-$1
	chmod 755 "$LAB_TMP" # the frr user writes its logs below
	mkdir -p "$d" "/run/frr/$ns" /var/log/frr
	cat >"$d/frr.conf"
	chown frr:frr "/run/frr/$ns" "$d" "$d/frr.conf" /var/log/frr
	# a peer of 1,000 tenants (scale-bench) holds a socket each and more:
	# the shell's 1,024 open files made its bgpd refuse sessions ("BGP
	# socket accept failed (Too many open files)")
	(
		ulimit -n 65536 2>/dev/null || true
		ip netns exec "$ns" /usr/lib/frr/zebra -d -N "$ns" -f /dev/null \
			--log "file:$d/zebra.log" -i "$d/zebra.pid" >/dev/null 2>&1
		ip netns exec "$ns" /usr/lib/frr/bgpd -d -N "$ns" -f /dev/null \
			--log "file:$d/bgpd.log" -i "$d/bgpd.pid" >/dev/null 2>&1
	)
	wait_ok 20 test -S "/run/frr/$ns/bgpd.vty" >/dev/null || nok "bgpd of $ns started"
	must ip netns exec "$ns" vtysh -N "$ns" -f "$d/frr.conf"
}

# frr_stop NS: stops what frr_start started.
frr_stop() {
	local d=$LAB_TMP/frr-$1
	kill "$(cat "$d/bgpd.pid")" "$(cat "$d/zebra.pid")" 2>/dev/null
}

# tcp_check DESC CLIENT_NS SERVER_NS SERVER_IP [BYTES [CLIENT_IP]]: one TCP
# stream of BYTES (4M) from CLIENT_NS (from CLIENT_IP if given) to an iperf3 server on SERVER_IP in SERVER_NS,
# within 60 s. The VMs' veths send GSO super-frames: through the host
# edge's encapsulation, the gateway's decapsulation into the VRF and on
# (corp network, NAT, XFRM interface) a super-frame that the kernel
# re-segments wrongly stalls the stream.
tcp_check() {
	local desc=$1 c=$2 s=$3 ip=$4 n=${5:-4M} bind=${6:-} out=$LAB_TMP/tcp-$2-$4.txt rate
	ip netns exec "$s" timeout 70 iperf3 -s -1 -B "$ip" >"$out.server" 2>&1 &
	local spid=$!
	wait_ok 10 bash -c "ip netns exec '$s' ss -ltn | grep -q '$ip:5201'" >/dev/null
	# TCP_CAP_DEVS: devices of this VM to watch meanwhile (the largest
	# frame each one saw is printed: above its MTU, GSO super-frames)
	local d cps=()
	for d in ${TCP_CAP_DEVS:-}; do
		timeout 70 tcpdump -nn -e -c 300 -i "$d" "tcp or ip proto 47" >"$out.cap-$d" 2>/dev/null &
		cps+=($!)
	done
	((${#cps[@]})) && sleep 1
	ip netns exec "$c" timeout 60 iperf3 -c "$ip" ${bind:+-B "$bind"} -n "$n" -f m >"$out" 2>&1
	((${#cps[@]})) && kill "${cps[@]}" 2>/dev/null && wait "${cps[@]}" 2>/dev/null
	for d in ${TCP_CAP_DEVS:-}; do
		echo "       largest frame on $d: $(grep -oE 'length [0-9]+:' "$out.cap-$d" | tr -dc '0-9\n' | sort -n | tail -1) bytes (MTU $(cat "/sys/class/net/$d/mtu"))"
	done
	rate=$(awk '/receiver/ { for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") v = $(i - 1) } END { print v }' "$out")
	if [[ -n $rate ]]; then
		ok "$desc: $n over one TCP stream ($rate Mbit/s)"
	else
		nok "$desc: $n over one TCP stream"
		{ cat "$out"; echo "# server:"; cat "$out.server"; } | indent 30
	fi
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
}

# iperf_rate CLIENT SERVER_NS SERVER_IP [-R]: Mbit/s the receiver measured
# over 10 s (one TCP stream)
iperf_rate() {
	local out=$LAB_TMP/iperf-$1-$3-${4:-fwd}.txt
	ip netns exec "$2" timeout 40 iperf3 -s -1 -B "$3" >"$out.server" 2>&1 &
	local spid=$!
	wait_ok 10 bash -c "ip netns exec '$2' ss -ltn | grep -q '$3:5201'" >/dev/null
	ip netns exec "$1" timeout 30 iperf3 -c "$3" -t 10 -f m ${4:+"$4"} >"$out" 2>&1
	wait "$spid" 2>/dev/null
	awk '/receiver/ { for (i = 2; i <= NF; i++) if ($i == "Mbits/sec") v = $(i - 1) } END { print v }' "$out"
}
# rate_band DESC MBIT KBIT DEV [CAP]: MBIT (iperf_rate's) within 85-105% of
# the limit KBIT of device DEV (TCG is slow and TCP backs off at each drop;
# above the limit is the failure that matters); prints the figure. CAP is
# what the same path carried without the limit in the same run: when the
# emulated guest could not carry even 1.25 times the limit (a loaded host),
# a figure below the limit says nothing of the limiter, so only the upper
# bound is asserted then, and the run says so
rate_band() {
	local lo hi
	lo=$(awk -v r="$3" 'BEGIN { printf "%.2f", r * 0.85 / 1000 }')
	hi=$(awk -v r="$3" 'BEGIN { printf "%.2f", r * 1.05 / 1000 }')
	echo "MEASURED $1: ${2:-none} Mbit/s (limit $(($3 / 1000)) Mbit/s, band $lo-$hi${5:+, unlimited $5 Mbit/s})"
	if [[ -n ${5:-} ]] && awk -v c="$5" -v r="$3" 'BEGIN { exit !(c < r * 1.25 / 1000) }'; then
		echo "       the path carried only $5 Mbit/s without the limit in this run: the lower bound is not checkable"
		lo=0
	fi
	if [[ -n $2 ]] && awk -v v="$2" -v a="$lo" -v b="$hi" 'BEGIN { exit !(v > 0 && v >= a && v <= b) }'; then
		ok "$1: $2 Mbit/s within $lo-$hi"
	else
		nok "$1: ${2:-no result} Mbit/s not within $lo-$hi"
		cat "$LAB_TMP"/iperf-*.txt 2>/dev/null | tail -20 | indent
		tc -s qdisc show dev "$4" | indent
		tc -s filter show dev "$4" ingress | indent
	fi
}
