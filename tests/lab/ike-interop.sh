#!/bin/bash
# Lab scenario `ike-interop` (issue 19 item 4): S2S tunnels to sites that
# are not configured like hnvgw: a Windows Server 2012 R2-like peer with its
# default (legacy) IKEv2 proposals, a site with a dynamic address (--peer
# any, the site initiates) and a peer known by DNS name. Each site is a
# stock strongSwan (charon in its own namespace, kernel ESP) configured only
# by a swanctl.conf written here; the gateway is this VM's hnvgwd with
# strongswan.service, the tenants' VMs those of lib-hnv.sh.
#
#   WAN 198.51.100.0/24 (bridge in namespace wan): the gateway .1 on wan0,
#     sw .2  WS2012R2-like: IKE aes256/3des-sha1-modp1024, ESP aes256/3des-
#            sha1 without PFS; LAN 192.168.0.0/16 (192.168.1.1 on lo);
#            Contoso's tunnel "ws"
#     sd .3  dynamic: Fabrikam's tunnel "dyn" (--peer any, remote ID
#            site-dyn); LAN 192.168.0.0/16; Contoso has an "any" tunnel
#            too ("dyn-ct", remote ID site-dyn-ct) that it must not get
#     sq .4  known as site-fqdn.lab (this VM's /etc/hosts): Contoso's
#            tunnel "fq"; LAN 172.21.0.0/16 (172.21.0.1 on lo); fq then
#            gets rate limits (--rate-out/--rate-in, iperf3 through them)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-hnv.sh"

PSK_WS="Wq3mN8pL2vR6tW4zK9sB1yF5"
PSK_DY="Dy7xJ2cQ5wE9rT1uY4iO8pA3"
PSK_CD="Cd4kW1sD8fG6hJ3mN2qR7tV9"
PSK_FQ="Fq6bH3nM9kL2pW5rT8vX1zC4"
WS_IKE="aes256-sha1-modp1024,3des-sha1-modp1024"
WS_ESP="aes256-sha1,3des-sha1"
STRONG_IKE="aes256gcm16-prfsha384-ecp384"
STRONG_ESP="aes256gcm16-ecp384"

# site_start NS: a stock charon in namespace NS (own /run, kernel ESP),
# loaded with $LAB_TMP/NS/swanctl.conf.
site_start() {
	local ns=$1 dir=$LAB_TMP/$1
	mkdir -p "$dir/run"
	rm -f "$dir/charon.vici"
	cat >"$dir/strongswan.conf" <<-EOF
		charon {
		  load_modular = yes
		  install_virtual_ip = no
		  filelog {
		    site { path = $dir/charon-file.log
		      append = yes
		      default = 1
		      ike = 2 }
		  }
		  plugins {
		    include /etc/strongswan.d/charon/*.conf
		    vici { socket = unix://$dir/charon.vici }
		    stroke { load = no }
		  }
		}
		swanctl { socket = unix://$dir/charon.vici }
	EOF
	ip netns exec "$ns" sh -c "mount --bind '$dir/run' /run && STRONGSWAN_CONF='$dir/strongswan.conf' exec /usr/lib/ipsec/charon" \
		>"$dir/charon.log" 2>&1 &
	HNV_PIDS+=($!)
	wait_ok 20 test -S "$dir/charon.vici" >/dev/null || nok "charon of $ns started"
	must swanctl --load-all --file "$dir/swanctl.conf" --uri "unix://$dir/charon.vici"
}
# site_conf NS ADDR LOCAL_ID REMOTE_ID PSK IKE ESP LAN START: the site's
# swanctl.conf, one connection to the gateway.
site_conf() {
	mkdir -p "$LAB_TMP/$1"
	cat >"$LAB_TMP/$1/swanctl.conf" <<-EOF
		connections {
		  gw {
		    version = 2
		    local_addrs = $2
		    remote_addrs = 198.51.100.1
		    proposals = $6
		    dpd_delay = 5s
		    local { auth = psk
		      id = $3 }
		    remote { auth = psk
		      id = $4 }
		    children {
		      gw {
		        local_ts = $8
		        remote_ts = 10.10.0.0/16
		        esp_proposals = $7
		        dpd_action = clear
		        start_action = $9
		      }
		    }
		  }
		}
		secrets {
		  ike-gw { id-a = $3
		    id-b = $4
		    secret = "$5" }
		}
	EOF
}
site_sas() { swanctl --list-sas --uri "unix://$LAB_TMP/$1/charon.vici" 2>/dev/null; }
row() { gwcli s2s show | grep -E "^$1 "; }
up() { row "$1" | grep -q " ESTABLISHED "; }
# never_up SECONDS NAME: the tunnel has no established IKE SA the whole time
never_up() {
	local end=$((SECONDS + $1))
	while ((SECONDS < end)); do
		up "$2" && return 1
		sleep 1
	done
}
trace() { # what a failed check needs to be understood
	{
		gwcli s2s show
		journalctl -u strongswan --no-pager -n 25 | grep -v plugin
		tail -n 20 "$LAB_TMP/$1/charon-file.log"
	} 2>&1 | indent 60
}

section "topology"
hnv_topology wan sw sd sq
must ip -n wan link add br0 type bridge
must ip -n wan link set br0 up
must ip link add wan0 type veth peer name gw netns wan
must ip link set wan0 up
must ip -n wan link set gw master br0 up
must ip addr add 198.51.100.1/24 dev wan0
i=2
for s in sw sd sq; do
	veth "$s" eth0 wan "$s"
	must ip -n wan link set "$s" master br0
	must ip -n "$s" addr add "198.51.100.$i/24" dev eth0
	i=$((i + 1))
done
must ip -n sw addr add 192.168.1.1/16 dev lo
must ip -n sd addr add 192.168.1.1/16 dev lo
must ip -n sq addr add 172.21.0.1/16 dev lo
# the FQDN peer's name, for this VM's charon (strongswan.service)
cp /etc/hosts "$LAB_TMP/hosts.orig"
echo "198.51.100.4 site-fqdn.lab" >>/etc/hosts
eval "$(declare -f finish | sed '1s/^finish/hosts_finish/')"
finish() {
	cp "$LAB_TMP/hosts.orig" /etc/hosts
	hosts_finish
}

section "sites: stock strongSwan, swanctl.conf only"
site_conf sw 198.51.100.2 site-ws gw-ws "$PSK_WS" "$WS_IKE" "$WS_ESP" 192.168.0.0/16 none
site_conf sd 198.51.100.3 site-dyn gw-dyn "$PSK_DY" "$STRONG_IKE" "$STRONG_ESP" 192.168.0.0/16 none
site_conf sq 198.51.100.4 site-fq gw-fq "$PSK_FQ" "$STRONG_IKE" "$STRONG_ESP" 172.21.0.0/16 none
for s in sw sd sq; do site_start "$s"; done

section "gateway: a legacy-only site without --allow-legacy-crypto"
cat >"$LAB_TMP/tenants.conf" <<EOF
gateway add --rdomain contoso --vrf contoso --table 101
gateway ca --rdomain contoso --vsid 5001 --ca 10.10.0.2
gateway add --rdomain fabrikam --vrf fabrikam --table 102
gateway ca --rdomain fabrikam --vsid 6001 --ca 10.10.0.2
s2s add ws --rdomain contoso --peer 198.51.100.2 --local-addr 198.51.100.1 --local-id gw-ws --remote-id site-ws --psk $PSK_WS --remote-prefix 192.168.0.0/16 --dpd 5
EOF
gateway_start "$LAB_TMP/tenants.conf"
check "ws never reaches ESTABLISHED with the default proposals (15 s)" never_up 15 ws
row ws | indent
check_grep "show s2s says why (charon's log: the site's NO_PROPOSAL_CHOSEN)" \
	'^ws .*the site accepted none of our proposals \(NO_PROPOSAL_CHOSEN\)' gwcli s2s show
check_grep "the gateway's charon says why: the site chose no proposal" 'NO_PROPOSAL_CHOSEN' \
	journalctl -u strongswan --no-pager -n 300
check_not "the site's own initiation (legacy proposals) is refused too" \
	swanctl --initiate --child gw --timeout 8 --uri "unix://$LAB_TMP/sw/charon.vici"
check_not "... and establishes nothing" up ws
check_not "ct1 -> 192.168.1.1 does not get through" ping1 ct1 192.168.1.1

section "the same site with --allow-legacy-crypto"
gwcli s2s set ws --rdomain contoso --peer 198.51.100.2 --local-addr 198.51.100.1 --local-id gw-ws \
	--remote-id site-ws --psk "$PSK_WS" --remote-prefix 192.168.0.0/16 --dpd 5 --allow-legacy-crypto \
	>"$LAB_TMP/set.out" 2>"$LAB_TMP/set.err"
rc=$?
if ((rc == 0)); then ok "s2s set ... --allow-legacy-crypto: exit status 0"; else
	nok "s2s set ... --allow-legacy-crypto: exit status $rc"
	indent <"$LAB_TMP/set.err"
fi
check_grep "the commit reply warns (on stderr)" 'warning: s2s ws: --allow-legacy-crypto: this tunnel also accepts DH group 2' \
	cat "$LAB_TMP/set.err"
if s=$(wait_ok 60 up ws); then ok "ws established (${s} s)"; else nok "ws established"; trace sw; fi
check_grep "show s2s marks it legacy-crypto" '^ws .*legacy-crypto' gwcli s2s show
check_not "... and no reason once it is up" bash -c "hnvgw s2s show | grep '^ws ' | grep -q NO_PROPOSAL_CHOSEN"
check_grep "the site's IKE SA is SHA-1/MODP_1024" 'HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024' site_sas sw
check_grep "its CHILD SA is AES-CBC/SHA-1" 'AES_CBC-256/HMAC_SHA1_96' site_sas sw
check_grep "hnvgwd logged the legacy tunnel at load" 's2s ws: legacy crypto allowed' \
	journalctl -u hnvgwd --no-pager
check_grep "ws's XFRM interface is in rd-contoso" 'master rd-contoso' ip -d link show type xfrm
if t=$(wait_ok 20 ping1 ct1 192.168.1.1); then ok "ct1 -> 192.168.1.1 through ws (${t} s)"; else
	nok "ct1 -> 192.168.1.1 through ws"
	trace sw
fi
tcp_check "ct2 -> the legacy site (NVGRE, VRF, XFRM, 3DES/AES-CBC ESP)" ct2 sw 192.168.1.1
check_not "the PSKs are in no show output" grep -qE "$PSK_WS|$PSK_DY" <(gwcli show config; gwcli s2s show; gwcli --json show s2s-status)

section "--peer any: a site with a dynamic address, told apart by remote ID"
must gwcli s2s add dyn --rdomain fabrikam --peer any --local-addr 198.51.100.1 --local-id gw-dyn \
	--remote-id site-dyn --psk "$PSK_DY" --remote-prefix 192.168.0.0/16
must gwcli s2s add dyn-ct --rdomain contoso --peer any --local-addr 198.51.100.1 --local-id gw-dyn \
	--remote-id site-dyn-ct --psk "$PSK_CD" --remote-prefix 172.22.0.0/16
check_grep "show s2s lists dyn with peer any" '^dyn +fabrikam +any ' gwcli s2s show
check_grep "dyn's XFRM interface and route exist before the site comes" 'dev xf-' \
	ip route show vrf rd-fabrikam 192.168.0.0/16
check "the gateway does not initiate an any tunnel (8 s)" never_up 8 dyn
check_not "... the site holds no IKE SA" bash -c "swanctl --list-sas --uri unix://$LAB_TMP/sd/charon.vici 2>/dev/null | grep -q ESTABLISHED"
must swanctl --initiate --child gw --timeout 20 --uri "unix://$LAB_TMP/sd/charon.vici"
if s=$(wait_ok 30 up dyn); then ok "the site initiated: dyn (Fabrikam) established (${s} s)"; else nok "dyn established"; trace sd; fi
check_not "dyn-ct (Contoso, another remote ID) has no IKE SA" up dyn-ct
if t=$(wait_ok 20 ping1 fb1 192.168.1.1); then ok "fb1 -> the dynamic site 192.168.1.1 (${t} s)"; else
	nok "fb1 -> the dynamic site 192.168.1.1"
	trace sd
fi
check "the dynamic site reaches back into Fabrikam (-> fb2)" ip netns exec sd ping -c 1 -W 2 -I 192.168.1.1 10.10.0.7
check "ct1 still reaches the legacy site through ws" ping1 ct1 192.168.1.1
capture sw eth0 esp
capture sd eth0 esp
ip netns exec ct2 ping -c 2 -i 0.3 -W 1 192.168.1.1 >/dev/null 2>&1
ip netns exec fb2 ping -c 2 -i 0.3 -W 1 192.168.1.1 >/dev/null 2>&1
capture_stop
check_grep "Contoso's ping went to the legacy site as ESP" 'ESP' captured sw eth0
check_grep "Fabrikam's ping went to the dynamic site as ESP" 'ESP' captured sd eth0

section "--peer site-fqdn.lab: charon resolves the name"
must gwcli s2s add fq --rdomain contoso --peer site-fqdn.lab --local-addr 198.51.100.1 --local-id gw-fq \
	--remote-id site-fq --psk "$PSK_FQ" --remote-prefix 172.21.0.0/16
check_grep "show s2s shows the name" '^fq +contoso +site-fqdn.lab ' gwcli s2s show
check_grep "show config round-trips it" 'peer site-fqdn.lab ' gwcli show config
if s=$(wait_ok 60 up fq); then ok "fq established (${s} s)"; else nok "fq established"; trace sq; fi
if t=$(wait_ok 20 ping1 ct1 172.21.0.1); then ok "ct1 -> 172.21.0.1 through fq (${t} s)"; else
	nok "ct1 -> 172.21.0.1 through fq"
	trace sq
fi
fast_path_check
gwcli s2s show | indent

section "rate limits on an S2S tunnel: fq's XFRM interface, iperf3 through it"
S2S_RATE=5000 # kbit/s, each way
FQ="s2s set fq --rdomain contoso --peer site-fqdn.lab --local-addr 198.51.100.1 --local-id gw-fq --remote-id site-fq --psk $PSK_FQ --remote-prefix 172.21.0.0/16"
xf=$(gwcli --json show s2s-status | tr -d '\n' | sed 's/}/}\n/g' | grep '"name": "fq"' |
	grep -o '"interface": "[^"]*"' | cut -d'"' -f4)
ifi=$(cat "/sys/class/net/$xf/ifindex" 2>/dev/null)
# the IKE SA's unique id (hnvgw-fq: #N): a rekey or a reload makes another
sa_id() { swanctl --list-sas --ike hnvgw-fq 2>/dev/null | sed -n 's/^hnvgw-fq: #\([0-9]*\),.*/\1/p' | head -1; }
sa0=$(sa_id)
echo "fq: interface $xf (ifindex $ifi), IKE SA #$sa0"
check "fq has its XFRM interface ($xf) and an IKE SA (#$sa0)" test -n "$ifi" -a -n "$sa0"
cap_out=$(iperf_rate ct1 sq 172.21.0.1)
cap_in=$(iperf_rate ct1 sq 172.21.0.1 -R)
echo "MEASURED fq unlimited out: $cap_out Mbit/s"
echo "MEASURED fq unlimited in: $cap_in Mbit/s"
check "s2s set fq ... --rate-out $S2S_RATE --rate-in $S2S_RATE" \
	gwcli $FQ --rate-out $S2S_RATE --rate-in $S2S_RATE
check_grep "$xf: tbf at 5Mbit" "qdisc tbf 1: root .*rate 5Mbit" tc qdisc show dev "$xf"
check_grep "$xf: ingress police at 5Mbit" 'police .*rate 5Mbit' tc filter show dev "$xf" ingress
check_grep "$xf: the same interface (ifindex $ifi)" "^$ifi\$" cat "/sys/class/net/$xf/ifindex"
check_grep "the same IKE SA (#$sa0): no rekey, no reload" "^$sa0\$" sa_id
check_grep "s2s show: fq's limits" "^fq .* $S2S_RATE kbit/s +$S2S_RATE kbit/s " gwcli s2s show
check_grep "show config round-trips them" "^s2s add fq .* --rate-out $S2S_RATE --rate-in $S2S_RATE\$" gwcli show config
check_not "... and shows no PSK" bash -c "hnvgw show config | grep -q '$PSK_FQ'"
rate_band "fq out (ct1 -> sq, tbf on $xf)" "$(iperf_rate ct1 sq 172.21.0.1)" $S2S_RATE "$xf" "$cap_out"
rate_band "fq in (sq -> ct1, police on $xf)" "$(iperf_rate ct1 sq 172.21.0.1 -R)" $S2S_RATE "$xf" "$cap_in"
check "s2s set fq without limits" gwcli $FQ
check_not "$xf: no tbf" bash -c "tc qdisc show dev $xf | grep -q tbf"
check_not "$xf: no ingress qdisc" bash -c "tc qdisc show dev $xf | grep -q ingress"
check_grep "still the same IKE SA (#$sa0)" "^$sa0\$" sa_id
check "ct1 -> 172.21.0.1 through fq" ping1 ct1 172.21.0.1

section "a removed any tunnel leaves nothing behind"
ifdyn=$(gwcli --json show s2s-status | tr -d '\n' | sed 's/}/}\n/g' | grep '"name": "dyn"' |
	grep -o '"interface": "[^"]*"' | cut -d'"' -f4)
must gwcli s2s del dyn
check_not "dyn's XFRM interface $ifdyn is gone" ip link show "$ifdyn"
check_not "charon has no hnvgw-dyn" bash -c "swanctl --list-conns | grep -q '^hnvgw-dyn:'"
check "ct1 still reaches the legacy site" ping1 ct1 192.168.1.1
finish
