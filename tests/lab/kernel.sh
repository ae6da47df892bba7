#!/bin/bash
# Lab scenario `kernel`: the image's kernel and services do what the gateway
# needs. Namespaces stand in for the tenant hosts, the gateway and the peers.
#   1. a VRF with its own routing table routes traffic; a second VRF with the
#      same (overlapping) prefix stays apart
#   2. a gretap with GRE key 5001<<8 (NVGRE: VSID 5001, FlowID 0) carries
#      traffic between two namespaces; the key is seen on the wire
#   3. an XFRM interface and ESP SAs with rfc4106(gcm(aes)), set up by hand
#      with ip xfrm state/policy, carry traffic between two namespaces
#   4. nftables SNAT with conntrack zones: two tenants with the same address
#      and the same UDP flow get two conntrack entries and two public sources
#   5. zebra, bgpd (FRR) and charon (strongSwan) run as systemd services
#   6. the verifier accepts hnvgw's fast path (its three tc programs) and
#      they attach: hnvgwd --datapath kernel starts (it refuses to when they
#      do not load) with a port on a veth (port add --dev)
#   7. hnvgwd.service is hardened (issue 17 finding 10): systemd-analyze
#      security rates it lower than the unit before (kept below), its main
#      process has only the bounding set's capabilities, and under it the
#      fast path forwards (datapath kernel), a commit with a gateway (VRF,
#      TAP gateway port, corp device, SNAT, forwarding sysctls) applies, and
#      nothing hnvgwd does is refused (EPERM, EACCES, EROFS in its journal)
#   8. the neighbour tables hold a large gateway's neighbours: the image's
#      sysctl.d raises the kernel's 1,024 entries (shared by all namespaces),
#      and 1,500 addresses on one link all resolve (ARP replies: REACHABLE)
. "$(dirname "$0")/lib.sh"

echo "kernel $(uname -r); $(nproc) CPUs"

# ---------------------------------------------------------------------------
section "1. VRF with its own table"
netns gw h1 h2 h3
must ip -n gw link add vrf-blue type vrf table 100
must ip -n gw link add vrf-red type vrf table 200
must ip -n gw link set vrf-blue up
must ip -n gw link set vrf-red up
must ip netns exec gw sysctl -qw net.ipv4.ip_forward=1
veth gw b1 h1 eth0
veth gw b2 h2 eth0
veth gw r1 h3 eth0
must ip -n gw link set b1 master vrf-blue
must ip -n gw link set b2 master vrf-blue
must ip -n gw link set r1 master vrf-red
must ip -n gw addr add 10.1.0.1/24 dev b1
must ip -n gw addr add 10.2.0.1/24 dev b2
must ip -n gw addr add 10.1.0.1/24 dev r1 # the same prefix in the other VRF
for h in h1 h3; do
	must ip -n $h addr add 10.1.0.2/24 dev eth0
	must ip -n $h route add default via 10.1.0.1
done
must ip -n h2 addr add 10.2.0.2/24 dev eth0
must ip -n h2 route add default via 10.2.0.1
must ip -n gw route add 10.99.0.0/24 via 10.2.0.2 vrf vrf-blue

check_grep "vrf-blue is a VRF bound to table 100" 'vrf table 100' ip -n gw -d link show vrf-blue
check_grep "table 100 holds the VRF's connected routes" '10\.2\.0\.0/24 dev b2' ip -n gw route show table 100
check_not "the main table does not" grep -q 10.1.0.0 <(ip -n gw route show table main)
check_grep "a route only in table 100 resolves inside the VRF" 'dev b2' ip -n gw route get 10.99.0.1 vrf vrf-blue
check_not "... and not in the default VRF" ip -n gw route get 10.99.0.1
check "h1 -> h2 routed through vrf-blue" ip netns exec h1 ping -c 2 -W 2 -i 0.2 10.2.0.2
check "h3 (vrf-red, same address as h1) reaches its own gateway" ip netns exec h3 ping -c 1 -W 2 10.1.0.1
check_not "h3 cannot reach vrf-blue's h2" ip netns exec h3 ping -c 1 -W 1 10.2.0.2

# ---------------------------------------------------------------------------
section "2. gretap with key 5001<<8 (NVGRE VSID 5001)"
KEY=$((5001 << 8))
netns ga gb
veth ga u0 gb u0
must ip -n ga addr add 192.0.2.1/24 dev u0
must ip -n gb addr add 192.0.2.2/24 dev u0
must ip -n ga link add gt0 type gretap local 192.0.2.1 remote 192.0.2.2 key $KEY
must ip -n gb link add gt0 type gretap local 192.0.2.2 remote 192.0.2.1 key $KEY
must ip -n ga addr add 10.50.0.1/24 dev gt0
must ip -n gb addr add 10.50.0.2/24 dev gt0
must ip -n ga link set gt0 up
must ip -n gb link set gt0 up
check_grep "gretap key is $KEY (0.19.137.0)" 'ikey 0\.19\.137\.0 okey 0\.19\.137\.0' ip -n ga -d link show gt0
capture gb u0 'ip proto 47'
check "traffic crosses the gretap" ip netns exec ga ping -c 3 -W 2 -i 0.2 10.50.0.2
capture_stop
check_grep "GRE packets on the wire carry key 0x138900" 'key=0x138900' captured gb u0
check_grep "... and an inner Ethernet frame (transparent Ethernet bridging)" 'ethertype.*(TEB|0x6558)|Transparent Ethernet|10\.50\.0\.1 > 10\.50\.0\.2' captured gb u0
check "a collect_md (external) gretap can be created" ip -n ga link add gtx type gretap external

# ---------------------------------------------------------------------------
section "3. XFRM interface + ESP rfc4106(gcm(aes)) by hand"
netns ea eb
veth ea u1 eb u1
must ip -n ea addr add 198.51.100.1/24 dev u1
must ip -n eb addr add 198.51.100.2/24 dev u1
IFID=0x2a
K1=0x0123456789abcdef0123456789abcdef01020304 # 128-bit AES key + 32-bit salt
K2=0xfedcba9876543210fedcba9876543210a1a2a3a4
for ns in ea eb; do
	must ip -n $ns link add ipsec0 type xfrm dev u1 if_id $IFID
	must ip -n $ns link set ipsec0 up
	must ip -n $ns xfrm state add src 198.51.100.1 dst 198.51.100.2 proto esp spi 0x1001 reqid 1 \
		mode tunnel if_id $IFID aead 'rfc4106(gcm(aes))' $K1 128
	must ip -n $ns xfrm state add src 198.51.100.2 dst 198.51.100.1 proto esp spi 0x1002 reqid 2 \
		mode tunnel if_id $IFID aead 'rfc4106(gcm(aes))' $K2 128
done
must ip -n ea addr add 10.61.0.1/32 dev lo
must ip -n eb addr add 10.62.0.1/32 dev lo
must ip -n ea route add 10.62.0.0/24 dev ipsec0 src 10.61.0.1
must ip -n eb route add 10.61.0.0/24 dev ipsec0 src 10.62.0.1
must ip -n ea xfrm policy add src 10.61.0.0/24 dst 10.62.0.0/24 dir out if_id $IFID \
	tmpl src 198.51.100.1 dst 198.51.100.2 proto esp reqid 1 mode tunnel
must ip -n ea xfrm policy add src 10.62.0.0/24 dst 10.61.0.0/24 dir in if_id $IFID \
	tmpl src 198.51.100.2 dst 198.51.100.1 proto esp reqid 2 mode tunnel
must ip -n eb xfrm policy add src 10.62.0.0/24 dst 10.61.0.0/24 dir out if_id $IFID \
	tmpl src 198.51.100.2 dst 198.51.100.1 proto esp reqid 2 mode tunnel
must ip -n eb xfrm policy add src 10.61.0.0/24 dst 10.62.0.0/24 dir in if_id $IFID \
	tmpl src 198.51.100.1 dst 198.51.100.2 proto esp reqid 1 mode tunnel
check_grep "ipsec0 is an XFRM interface with if_id $IFID" 'xfrm if_id 0x2a' ip -n ea -d link show ipsec0
check_grep "the SAs use rfc4106(gcm(aes)) with a 128-bit ICV" 'aead rfc4106\(gcm\(aes\)\) 0x[0-9a-f]+ 128' ip -n ea xfrm state
capture eb u1 esp
check "traffic crosses the ESP tunnel (ea 10.61.0.1 -> eb 10.62.0.1)" \
	ip netns exec ea ping -c 3 -W 2 -i 0.2 -I 10.61.0.1 10.62.0.1
capture_stop
check_grep "ESP with SPI 0x1001 on the wire" 'ESP\(spi=0x00001001' captured eb u1
check_grep "ESP with SPI 0x1002 on the wire (replies)" 'ESP\(spi=0x00001002' captured eb u1
check_not "no cleartext ICMP on the underlay" grep -q 'ICMP echo' <(captured eb u1)
rxpk=$(ip -n eb -s link show ipsec0 | awk '/RX:/ { getline; print $2; exit }')
check "ipsec0 in eb received the decrypted packets (${rxpk:-0})" test "${rxpk:-0}" -ge 3

# ---------------------------------------------------------------------------
section "4. nftables SNAT with conntrack zones (overlapping tenants)"
# t1 and t2 both use 10.10.0.2 behind VRFs vrf-t1/vrf-t2 of the NAT gateway;
# each tenant gets its own conntrack zone and its own public address.
netns nat t1 t2 ext
must ip netns exec nat sysctl -qw net.ipv4.ip_forward=1
veth nat i1 t1 eth0
veth nat i2 t2 eth0
veth nat x0 ext eth0
must ip -n nat addr add 203.0.113.1/24 dev x0
must ip -n nat addr add 203.0.113.11/32 dev x0
must ip -n nat addr add 203.0.113.12/32 dev x0
must ip -n ext addr add 203.0.113.2/24 dev eth0
for i in 1 2; do
	must ip -n nat link add vrf-t$i type vrf table 10$i
	must ip -n nat link set vrf-t$i up
	must ip -n nat link set i$i master vrf-t$i
	must ip -n nat addr add 10.10.0.1/24 dev i$i
	must ip -n t$i addr add 10.10.0.2/24 dev eth0
	must ip -n t$i route add default via 10.10.0.1
	# out: the tenant's default route leaves its VRF through x0
	must ip -n nat route add default via 203.0.113.2 dev x0 table 10$i
	# back: de-NATed replies are marked by their public address
	must ip -n nat rule add pref 500 fwmark 10$i lookup 10$i
done
must ip netns exec nat nft -f - <<'EOF'
table ip hnvgw_nat {
	chain raw_pre {
		type filter hook prerouting priority raw; policy accept;
		iifname "i1" ct zone set 1
		iifname "i2" ct zone set 2
		iifname "x0" ip daddr 203.0.113.11 ct zone set 1
		iifname "x0" ip daddr 203.0.113.12 ct zone set 2
	}
	chain mangle_pre {
		type filter hook prerouting priority mangle; policy accept;
		iifname "x0" ip daddr 203.0.113.11 meta mark set 101
		iifname "x0" ip daddr 203.0.113.12 meta mark set 102
	}
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "x0" ct zone 1 counter snat to 203.0.113.11
		oifname "x0" ct zone 2 counter snat to 203.0.113.12
	}
}
EOF
must ip netns exec ext nft -f - <<'EOF'
table ip seen {
	chain in {
		type filter hook input priority filter; policy accept;
		ip saddr 203.0.113.11 udp dport 7777 counter
		ip saddr 203.0.113.12 udp dport 7777 counter
		ip saddr 10.10.0.0/16 counter
	}
}
EOF
check "tenant 1 pings the outside through SNAT" ip netns exec t1 ping -c 2 -W 2 -i 0.2 203.0.113.2
check "tenant 2 (same address) pings the outside through SNAT" ip netns exec t2 ping -c 2 -W 2 -i 0.2 203.0.113.2
# the same UDP 5-tuple from both tenants: two flows only thanks to the zones
for t in t1 t2; do
	echo hello | ip netns exec $t nc -u -w 1 -p 5555 203.0.113.2 7777 >/dev/null 2>&1
done
ct=$(ip netns exec nat conntrack -L -p udp --dport 7777 2>/dev/null)
echo "$ct" | indent 4
check_grep "conntrack zone 1 entry SNATed to 203.0.113.11" 'src=10\.10\.0\.2 dst=203\.0\.113\.2 sport=5555 dport=7777 .*dst=203\.0\.113\.11 .*zone=1' echo "$ct"
check_grep "conntrack zone 2 entry SNATed to 203.0.113.12" 'src=10\.10\.0\.2 dst=203\.0\.113\.2 sport=5555 dport=7777 .*dst=203\.0\.113\.12 .*zone=2' echo "$ct"
seen=$(ip netns exec ext nft list chain ip seen in)
check_grep "outside saw tenant 1 as 203.0.113.11" 'ip saddr 203\.0\.113\.11 udp dport 7777 counter packets [1-9]' echo "$seen"
check_grep "outside saw tenant 2 as 203.0.113.12" 'ip saddr 203\.0\.113\.12 udp dport 7777 counter packets [1-9]' echo "$seen"
check_grep "outside never saw a tenant address" 'ip saddr 10\.10\.0\.0/16 counter packets 0 ' echo "$seen"

# ---------------------------------------------------------------------------
section "5. zebra, bgpd and charon as systemd services"
check_grep "frr.service is active" '^active$' systemctl is-active frr.service
check "zebra runs" pidof zebra
check "bgpd runs" pidof bgpd
check_grep "vtysh reaches the daemons (show version)" 'FRRouting' vtysh -c 'show version'
check_grep "bgpd answers vtysh (show bgp summary)" 'BGP|No BGP neighbors|% No BGP' vtysh -c 'show bgp summary'
check_grep "strongswan.service (charon-systemd) is active" '^active$' systemctl is-active strongswan.service
check_grep "charon answers on VICI (swanctl --stats)" 'uptime' swanctl --stats
check_grep "hnvgw-ready.service ran" '^active$' systemctl is-active hnvgw-ready.service
if systemctl cat hnvgwd.service >/dev/null 2>&1; then
	check_grep "hnvgwd.service is active" '^active$' systemctl is-active hnvgwd.service
else
	echo "note: no hnvgwd.service in this image (not installed yet): not checked"
fi

# ---------------------------------------------------------------------------
section "6. hnvgw's fast path loads on this kernel (hnvgwd --datapath kernel)"
netns fpa fpb
veth fpa up0 fpb up0
must ip link add v-vm1 netns fpa type veth peer name vm1 netns fpb
must ip -n fpa link set v-vm1 up
ip netns exec fpa hnvgwd --foreground --datapath kernel --state-dir "$LAB_TMP/st-fp" \
	--socket "$LAB_TMP/fp.sock" --uplink up0 --zebra none >"$LAB_TMP/hnvgwd-fp.log" 2>&1 &
FP_PID=$!
fpcli() { timeout 30 hnvgw --socket "$LAB_TMP/fp.sock" "$@"; }
for ((i = 0; i < 100; i++)); do
	fpcli show status >/dev/null 2>&1 && break
	kill -0 $FP_PID 2>/dev/null || break
	sleep 0.2
done
st=$(fpcli --json show status 2>&1)
if grep -qE '"datapath": *"kernel"' <<<"$st"; then
	ok "hnvgwd --datapath kernel started: the verifier accepted the uplink, port and gateway programs"
else
	nok "hnvgwd --datapath kernel started on this kernel"
	{ echo "$st"; tail -n 40 "$LAB_TMP/hnvgwd-fp.log"; } | indent 45
fi
cat >"$LAB_TMP/fp.conf" <<-EOF
	pa add 192.168.9.1/24 --dev up0
	rdomain add blue --rdid 11111111-0000-0000-0000-000000000009
	vsubnet add 9001 --rdomain blue --prefix 10.9.0.0/16
EOF
check "the policy commits" fpcli commit -f "$LAB_TMP/fp.conf"
check "port add --dev v-vm1: the port program attaches" \
	fpcli port add vm1 --vsid 9001 --ca 10.9.0.5 --mac 02:00:00:00:90:05 --dev v-vm1
check_grep "tc: a bpf filter on up0's ingress" 'bpf' tc -n fpa filter show dev up0 ingress
check_grep "tc: a bpf filter on v-vm1's ingress" 'bpf' tc -n fpa filter show dev v-vm1 ingress
kill $FP_PID 2>/dev/null
wait $FP_PID 2>/dev/null

# ---------------------------------------------------------------------------
section "7. hnvgwd.service hardened (systemd-analyze security)"
# The unit as it was before issue 17 finding 10 (root, every capability),
# analysed under another name for the score to compare with.
exposure() { # UNIT: the "Overall exposure level" number
	systemd-analyze security --no-pager "$1" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
cat >/run/systemd/system/hnvgwd-old.service <<'EOF'
[Unit]
Description=hnvgwd before issue 17 finding 10 (analysed only)
[Service]
Type=notify
NotifyAccess=main
EnvironmentFile=-/etc/default/hnvgwd
ExecStart=/usr/sbin/hnvgwd --foreground --state-dir /etc/hnvgw --socket /run/hnvgw/hnvgw.sock $HNVGWD_OPTS
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2s
TimeoutStopSec=15s
RuntimeDirectory=hnvgw
RuntimeDirectoryMode=0755
ConfigurationDirectory=hnvgw
ConfigurationDirectoryMode=0700
UMask=0077
ProtectSystem=full
ReadWritePaths=/etc/hnvgw -/etc/frr
ProtectHome=yes
PrivateTmp=yes
NoNewPrivileges=yes
LimitNOFILE=4096
LimitCORE=0
EOF
systemctl daemon-reload
OLD_SCORE=$(exposure hnvgwd-old.service)
rm -f /run/systemd/system/hnvgwd-old.service
systemctl daemon-reload
NEW_SCORE=$(exposure hnvgwd.service)
echo "SCORE hnvgwd.service exposure: before ${OLD_SCORE:-?} after ${NEW_SCORE:-?} (systemd-analyze security, 0 best .. 10 worst)"
systemd-analyze security --no-pager hnvgwd.service 2>&1 | grep -vE '^✓' | indent 80
if [[ -n $OLD_SCORE && -n $NEW_SCORE ]] && awk -v o="$OLD_SCORE" -v n="$NEW_SCORE" 'BEGIN { exit !(n < o) }'; then
	ok "the hardened unit is rated lower ($NEW_SCORE) than the old one ($OLD_SCORE)"
else
	nok "the hardened unit is rated lower (${NEW_SCORE:-none}) than the old one (${OLD_SCORE:-none})"
fi

# the service with an uplink of its own (gateway and host edge): root
# namespace hup0 <-> hpeer in namespace hpa; corp device hcc0 <-> hcorp
netns hpa hcorp
must ip link add hup0 type veth peer name hpeer netns hpa
must ip link add hcc0 type veth peer name eth0 netns hcorp
must ip link add hv-vm1 type veth peer name eth0 netns hpa
for d in hup0 hcc0 hv-vm1; do must ip link set $d up; done
must ip -n hpa link set hpeer up
must ip -n hcorp link set eth0 up
must ip -n hcorp addr add 203.0.113.200/24 dev eth0
# hnvgwd turns forwarding on for the gateway role (/proc/sys stays writable
# for these two files only)
must sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
echo 'HNVGWD_OPTS="--uplink hup0"' >/etc/default/hnvgwd
JSTART=$(date '+%Y-%m-%d %H:%M:%S')
must systemctl restart hnvgwd.service
svcli() { timeout 30 hnvgw "$@"; }
for ((i = 0; i < 100; i++)); do svcli show status >/dev/null 2>&1 && break; sleep 0.2; done
check_grep "hnvgwd.service is active under the hardened unit" '^active$' systemctl is-active hnvgwd.service
MPID=$(systemctl show -P MainPID hnvgwd.service)
capeff=$(awk '/^CapEff/ { print $2 }' "/proc/$MPID/status")
capbnd=$(awk '/^CapBnd/ { print $2 }' "/proc/$MPID/status")
echo "    hnvgwd (pid $MPID): CapEff $capeff CapBnd $capbnd"
# CHOWN 0, DAC_OVERRIDE 1, NET_ADMIN 12, NET_RAW 13, SYS_ADMIN 21 (Debian's
# perf_event_paranoid=3: see the unit), PERFMON 38, BPF 39
want=$(printf '%016x' $(((1 << 0) | (1 << 1) | (1 << 12) | (1 << 13) | (1 << 21) | (1 << 38) | (1 << 39))))
echo "    kernel.perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)"
check_grep "its capabilities: CHOWN DAC_OVERRIDE NET_ADMIN NET_RAW SYS_ADMIN PERFMON BPF only" "^$want $want\$" echo "$capeff $capbnd"
check_grep "seccomp filter in force (Seccomp: 2)" '^Seccomp:[[:space:]]+2' cat "/proc/$MPID/status"
check_grep "NoNewPrivs" '^NoNewPrivs:[[:space:]]+1' cat "/proc/$MPID/status"
st=$(svcli --json show status 2>&1)
echo "$st" | tr -d '\n' | indent 3
check_grep "show status: the fast path forwards (datapath kernel)" '"datapath": *"kernel"' echo "$st"
cat >"$LAB_TMP/svc.conf" <<-EOF
	pa add 192.168.77.1/24 --dev hup0
	rdomain add svc --rdid 11111111-0000-0000-0000-000000000077
	vsubnet add 7701 --rdomain svc --prefix 10.77.0.0/16
	gateway add --rdomain svc --vrf svc --table 177 --corp-dev hcc0 --corp-addr 203.0.113.10/24 --corp-nexthop 203.0.113.200 --nat-external 203.0.113.10
	gateway ca --rdomain svc --vsid 7701 --ca 10.77.0.2
EOF
check "a commit with a gateway (VRF, gateway port, corp device, SNAT) applies" svcli commit -f "$LAB_TMP/svc.conf"
check_grep "show gateway: the tenant is ok" 'svc.*ok' svcli show gateway
check_grep "VRF rd-svc with table 177" 'vrf table 177' ip -d link show rd-svc
check_grep "gateway port vsid7701 (a TAP, /dev/net/tun) in rd-svc" 'master rd-svc' ip link show vsid7701
check_grep "corp device hcc0 in rd-svc" 'master rd-svc' ip link show hcc0
check_grep "SNAT rules in nftables" 'snat' nft list ruleset
check_grep "hnvgwd turned IPv4 forwarding on" '^1$' cat /proc/sys/net/ipv4/ip_forward
check_grep "... and IPv6 forwarding" '^1$' cat /proc/sys/net/ipv6/conf/all/forwarding
check "port add --dev hv-vm1: the port program attaches (AF_PACKET, tc bpf)" \
	svcli port add svm1 --vsid 7701 --ca 10.77.0.5 --mac 02:00:00:00:77:05 --dev hv-vm1
check_grep "tc: a bpf filter on hup0's ingress" 'bpf' tc filter show dev hup0 ingress
check_grep "tc: a bpf filter on hv-vm1's ingress" 'bpf' tc filter show dev hv-vm1 ingress
check "port add svm2 (a TAP VM port)" svcli port add svm2 --vsid 7701 --ca 10.77.0.6 --mac 02:00:00:00:77:06
check "... its TAP exists" ip link show svm2
# what the unit keeps from hnvgwd, seen from inside its mount namespace
check_not "in the unit: /proc/sys is read-only (rp_filter)" \
	nsenter -t "$MPID" -m sh -c 'echo 2 >/proc/sys/net/ipv4/conf/all/rp_filter'
check "in the unit: /proc/sys/net/ipv4/ip_forward stays writable" \
	nsenter -t "$MPID" -m sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
check_not "in the unit: /usr is read-only" nsenter -t "$MPID" -m touch /usr/lib/hnvgw-lab-probe
check "in the unit: /etc/frr is writable" nsenter -t "$MPID" -m sh -c 'touch /etc/frr/.probe && rm /etc/frr/.probe'
jr=$(journalctl -b -u hnvgwd.service --since "$JSTART" --no-pager -o cat)
check_not "hnvgwd's journal: nothing refused (EPERM, EACCES, EROFS)" \
	grep -iE 'not permitted|permission denied|read-only file system|EPERM|EACCES|EROFS' <<<"$jr"
echo "$jr" | indent 15
svcli port del svm2 >/dev/null 2>&1
svcli port del svm1 >/dev/null 2>&1
ls -l /run/frr /etc/frr 2>&1 | indent 20

# ---------------------------------------------------------------------------
section "8. neighbour tables for 1,500 neighbours (a gateway of many tenants)"
check_grep "net.ipv4.neigh.default.gc_thresh3 from the image's sysctl.d" '^32768$' \
	cat /proc/sys/net/ipv4/neigh/default/gc_thresh3
check_grep "... and IPv6's" '^32768$' cat /proc/sys/net/ipv6/neigh/default/gc_thresh3
netns na nb
veth na va nb vb
must ip -n na addr add 10.99.0.1/16 dev va
for i in $(seq 1 1500); do echo "addr add 10.99.$((i / 250 + 1)).$((i % 250 + 1))/16 dev vb"; done \
	>"$LAB_TMP/nb-addrs.batch"
must ip -n nb -batch "$LAB_TMP/nb-addrs.batch"
# one datagram to each address (bash's /dev/udp: no process per address):
# each needs an ARP entry in na before it can leave
ip netns exec na bash -c 'for i in $(seq 1 1500); do
	echo x 2>/dev/null >/dev/udp/10.99.$((i / 250 + 1)).$((i % 250 + 1))/9; done'
for ((w = 0; w < 40; w++)); do
	nr=$(ip -n na neigh show dev va nud reachable | wc -l)
	((nr >= 1500)) && break
	sleep 0.5
done
check "na resolved all 1,500 neighbours ($nr reachable; Debian's default holds 1,024)" \
	test "$nr" -ge 1500
check_grep "no 'neighbor table overflow' in the kernel's log" '^0$' \
	bash -c "dmesg >'$LAB_TMP/dmesg.txt' && grep -c 'neighbor table overflow' '$LAB_TMP/dmesg.txt'"

failed=$(systemctl list-units --state=failed --no-legend --plain | awk '{print $1}')
[[ -n $failed ]] && echo "note: failed units: $failed" && for u in $failed; do journalctl -b -u "$u" --no-pager | tail -5 | indent; done
echo "modules: $(lsmod | awk 'NR>1{print $1}' | grep -E '^(vrf|ip_gre|gre|esp4|xfrm_interface|nf_conntrack|nf_nat|nf_tables)$' | sort | paste -sd' ')"

finish
