#!/bin/bash
# test_ike_interop.sh: IKE interop of S2S tunnels (issue 19 item 4) against
# real charon instances (strongSwan 5.9.8) in two network namespaces, the
# gateway side configured only by vici_drive (vpn/s2s.c from hnvgw config
# text), the site side by a stock swanctl.conf:
#
#   $P-gw   uplink 192.0.2.1/24, tenant side 10.10.0.1/24; its /etc/hosts
#           names the site site.test
#   $P-site uplink 192.0.2.2/24, site LAN 192.168.0.1/24
#
# (tests/vici/lib.sh). kernel-libipsec (userspace ESP over UDP 4500) as in
# test_charon.sh: this kernel has no ESP; the XFRM interfaces are checked
# in the image lab (tests/lab/ike-interop.sh).
#
# Asserts:
#  1. a site configured like a Windows Server 2012 R2 default peer (IKEv2,
#     AES-256-CBC or 3DES, SHA-1, DH group 2; ESP AES-256-CBC/3DES with
#     SHA-1, no PFS) never gets an IKE SA with a tunnel without
#     --allow-legacy-crypto, whoever initiates; charon says why (its log)
#  2. the same site and tunnel with --allow-legacy-crypto: established
#     with MODP_1024/SHA-1, traffic through it; the manager logged the
#     legacy warning once
#  3. --peer any: two tunnels (two tenants) told apart by remote ID: the
#     site as site-a lands on tunnel a, as site-b on tunnel b; traffic;
#     the gateway never initiates an "any" tunnel; a legacy-only site
#     claiming site-a (whose tunnel is strong) is refused even though
#     tunnel b allows legacy crypto
#  4. --peer site.test (a name in the gateway's /etc/hosts): charon
#     resolves it, initiates, traffic; a name that does not resolve gets
#     the reason "the peer's name does not resolve"
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
P=ike$$
. "$HERE/lib.sh"

# the gateway's /etc/hosts (bind-mounted in its charon's mount namespace)
printf '127.0.0.1 localhost\n192.0.2.2 site.test\n' >"$T/hosts"

PSK="ike-interop-psk-$$-0123456789abcdef"
# both sides give an unanswered exchange up in seconds
charon_conf gw "$FAST_RETRANSMIT"
charon_conf site "$FAST_RETRANSMIT"
start_charon site "$SITE"
start_charon gw "$GW" "$T/hosts"

# site CONN-NAME ID IKE ESP START: the site's swanctl.conf with one
# connection to the gateway, loaded (replacing whatever it had); its SAs
# are closed first
site()
{
	swanctl --terminate --ike site --force --uri "unix://$SITESOCK" >/dev/null 2>&1
	cat >"$T/site-swanctl.conf" <<-EOF
		connections {
		  site {
		    version = 2
		    local_addrs = 192.0.2.2
		    remote_addrs = 192.0.2.1
		    proposals = $2
		    unique = replace
		    local { auth = psk
		      id = $1 }
		    remote { auth = psk
		      id = gw.example }
		    children {
		      site {
		        local_ts = 192.168.0.0/16
		        remote_ts = 10.10.0.0/16
		        esp_proposals = $3
		        start_action = $4
		      }
		    }
		  }
		}
		secrets {
		  ike-gw {
		    id-1 = gw.example
		    id-2 = $1
		    secret = "$PSK"
		  }
		}
	EOF
	chmod 0600 "$T/site-swanctl.conf"
	swanctl --load-all --noprompt --file "$T/site-swanctl.conf" --uri "unix://$SITESOCK" \
		>>"$T/swanctl.log" 2>&1 || fail "swanctl --load-all (site)"
}
# a Windows Server 2012 R2 RRAS peer with its default IKEv2 policy
WS_IKE="aes256-sha1-modp1024,3des-sha1-modp1024"
WS_ESP="aes256-sha1,3des-sha1"
STRONG_IKE="aes256gcm16-prfsha384-ecp384"
STRONG_ESP="aes256gcm16-ecp384"

# manager CONF-LINES...: the gateway's config text; a fresh manager runs it
manager()
{
	stop_manager
	printf '%s\n' "$@" >"$T/gw.conf"
	chmod 0600 "$T/gw.conf"
	"$DRIVE" "$GWSOCK" "$T/gw.conf" run >>"$T/manager.log" 2>&1 &
	RUNPID=$!
	local n
	n=$(grep -c "first sync" "$T/manager.log")
	wait_for 10 more "first sync ok" "$((n - 1))" || fail "manager did not start"
}
more() { (($(grep -c -F "$1" "$T/manager.log") > $2)); }
status() { "$DRIVE" "$GWSOCK" "$T/gw.conf" status "$1" 2>/dev/null; }
up() { [[ $(status "$1") == *"ike ESTABLISHED child INSTALLED"* ]]; }
gw_sas() { "$DRIVE" "$GWSOCK" - count-ike "hnvgw-$1"; }
ping_ok() { ip netns exec "$GW" ping -c 1 -W 1 -I 10.10.0.1 192.168.0.1 >/dev/null 2>&1; }
# never_up SECONDS NAME: tunnel NAME has no established IKE SA the whole time
never_up()
{
	local end=$((SECONDS + $1))
	while ((SECONDS < end)); do
		[[ $(status "$2") == *"ike ESTABLISHED"* ]] && return 1
		sleep 0.5
	done
}
TUN="--local-id gw.example --psk \"$PSK\" --remote-prefix 192.168.0.0/16"

# ---- 1. a WS2012R2-default site, tunnel without --allow-legacy-crypto ----
site site.example "$WS_IKE" "$WS_ESP" none
manager "s2s add ws --rdomain blue --peer 192.0.2.2 --local-addr 192.0.2.1 --remote-id site.example $TUN --dpd 5"
never_up 8 ws || fail "a legacy-only site got an IKE SA without --allow-legacy-crypto: $(status ws)"
grep -q "received NO_PROPOSAL_CHOSEN notify" "$T/gw/charon.log" ||
	fail "the gateway's charon did not log the site's NO_PROPOSAL_CHOSEN"
# the manager learned why from charon's log events (show s2s's reason)
grep -q "s2s ws: not established: the site accepted none of our proposals (NO_PROPOSAL_CHOSEN)" \
	"$T/manager.log" || fail "the manager did not learn the reason from charon"
# and the site initiating: the gateway refuses its proposals
: >"$T/gw/charon.log"
swanctl --initiate --child site --timeout 5 --uri "unix://$SITESOCK" >>"$T/swanctl.log" 2>&1 &&
	fail "the site's initiation with legacy proposals succeeded"
never_up 3 ws || fail "legacy site initiation established: $(status ws)"
grep -Eq "no acceptable proposal found|received proposals: IKE:.*MODP_1024" "$T/gw/charon.log" ||
	fail "the gateway's charon did not log the refused proposals"
echo "ok: WS2012R2-like site, no --allow-legacy-crypto: no IKE SA either way ($(status ws))"

# ---- 2. the same with --allow-legacy-crypto ----
manager "s2s add ws --rdomain blue --peer 192.0.2.2 --local-addr 192.0.2.1 --remote-id site.example $TUN --dpd 5 --allow-legacy-crypto"
wait_for 20 up ws || fail "legacy tunnel did not come up: $(status ws)"
wait_for 10 ping_ok || fail "no traffic through the legacy tunnel"
sa=$(swanctl --list-sas --uri "unix://$SITESOCK" 2>/dev/null)
grep -q "HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024" <<<"$sa" || fail "not a SHA-1/MODP_1024 IKE SA: $sa"
[[ $(grep -c "s2s ws: legacy crypto allowed" "$T/manager.log") == 1 ]] ||
	fail "the manager did not log the legacy warning exactly once"
grep -qF "$PSK" "$T/manager.log" && fail "PSK in the manager log"
echo "ok: --allow-legacy-crypto: $(grep -o 'AES_CBC[^ ]*MODP_1024' <<<"$sa" | head -1), traffic; one warning line"
stop_manager
"$DRIVE" "$GWSOCK" /dev/null sync >/dev/null 2>&1 || fail "empty sync"

# ---- 3. --peer any: two tenants' tunnels, told apart by remote ID ----
site none-yet "$STRONG_IKE" "$STRONG_ESP" none
swanctl --unload-conn --name site --uri "unix://$SITESOCK" >/dev/null 2>&1
manager "s2s add a --rdomain blue --peer any --remote-id site-a.example $TUN" \
	"s2s add b --rdomain red --peer any --remote-id site-b.example $TUN --allow-legacy-crypto"
sleep 7 # two audits: an "any" tunnel is never initiated
[[ $(gw_sas a) == 0 && $(gw_sas b) == 0 ]] ||
	fail "the gateway initiated an \"any\" tunnel ($(gw_sas a), $(gw_sas b) IKE SAs)"
site site-a.example "$STRONG_IKE" "$STRONG_ESP" start
wait_for 20 up a || fail "site-a did not reach tunnel a: $(status a)"
[[ $(gw_sas b) == 0 ]] || fail "site-a also has an SA on tunnel b"
wait_for 10 ping_ok || fail "no traffic through tunnel a"
echo "ok: --peer any: site-a on tunnel a, traffic; tunnel b untouched"
site site-b.example "$WS_IKE" "$WS_ESP" start
wait_for 20 up b || fail "site-b did not reach tunnel b: $(status b)"
wait_for 10 test "$(gw_sas a)" = 0 || fail "tunnel a kept an SA after site-a left"
wait_for 10 ping_ok || fail "no traffic through tunnel b"
echo "ok: --peer any: site-b (legacy proposals) on tunnel b (--allow-legacy-crypto), traffic"
# a legacy-only site claiming site-a: tunnel a is strong
site site-a.example "$WS_IKE" "$WS_ESP" start
never_up 8 a || fail "a legacy-only site got strong tunnel a: $(status a)"
cp "$T/gw/charon.log" "$T/claim.log"
[[ $(gw_sas b) == 0 ]] || fail "a site claiming site-a got tunnel b"
echo "ok: a legacy-only site claiming site-a is refused ($(status a))"
stop_manager
site none-yet "$STRONG_IKE" "$STRONG_ESP" none
swanctl --unload-conn --name site --uri "unix://$SITESOCK" >/dev/null 2>&1
"$DRIVE" "$GWSOCK" /dev/null sync >/dev/null 2>&1 || fail "empty sync"

# ---- 4. --peer site.test: charon resolves the name ----
site site.example "$STRONG_IKE" "$STRONG_ESP" none
manager "s2s add fq --rdomain blue --peer site.test --remote-id site.example $TUN"
wait_for 20 up fq || fail "tunnel to site.test did not come up: $(status fq)"
wait_for 10 ping_ok || fail "no traffic through the tunnel to site.test"
swanctl --list-conns --uri "unix://$GWSOCK" 2>/dev/null | grep -q "site.test" ||
	fail "charon does not list site.test as the remote address"
echo "ok: --peer site.test (gateway /etc/hosts): up, traffic: $(status fq)"
# a name that does not resolve: never up, and the manager knows why
manager "s2s add fq --rdomain blue --peer site.test --remote-id site.example $TUN" \
	"s2s add nx --rdomain red --peer nowhere.invalid --remote-id site.example --local-addr 192.0.2.1 --local-id gw2.example --psk \"$PSK\" --remote-prefix 192.168.0.0/16"
wait_for 20 grep -q "s2s nx: not established: the peer's name does not resolve" "$T/manager.log" ||
	fail "no reason for a peer name that does not resolve"
up nx && fail "a tunnel to nowhere.invalid is up"
echo "ok: --peer nowhere.invalid: not established, the manager knows why"
stop_manager
"$DRIVE" "$GWSOCK" /dev/null sync >/dev/null 2>&1 || fail "empty sync"
echo "PASS: test_ike_interop.sh"
