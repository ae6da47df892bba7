#!/bin/bash
# test_charon.sh: the VICI client and the S2S manager against two real
# charon instances (strongSwan 5.9.8) in two network namespaces
# (tests/vici/lib.sh):
#
#   $P-gw   "gateway": charon configured only by vici_drive (vpn/s2s.c)
#   $P-site "site": stock charon configured only by swanctl.conf
#
# kernel-libipsec has no if_id, so the tunnel is loaded with if_id 0 here;
# if_id is checked in the image lab.
#
# Asserts: the tunnel comes up through load-shared/load-conn (start_action
# start); ping through it; status bytes/packets grow; killing and restarting
# the gateway's charon -> the manager reconnects, reloads, the tunnel is
# back and the site holds exactly one IKE SA; a second manager syncing the
# same config (hnvgwd restart) creates no new IKE SA and does not rekey or
# tear down; removing the tunnel from the config unloads it; DPD after a
# site restart (the time until traffic works again is printed); X.509: a
# site certificate from another CA is refused (charon's refusal line), one
# from --ca-cert's CA brings the tunnel up; at the end, charon never had an
# event for a VICI client of ours that had gone (the clients unregister;
# only the `run` manager, like hnvgwd, registers for events at all).
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
P=vici$$
. "$HERE/lib.sh"

# the gateway: short retransmissions, so that DPD declares a dead site in
# seconds
charon_conf gw "$FAST_RETRANSMIT"
charon_conf site
PSK="vici-test-psk-$$-0123456789abcdef"

cat >"$T/site-swanctl.conf" <<EOF
connections {
  gw {
    version = 2
    local_addrs = 192.0.2.2
    remote_addrs = 192.0.2.1
    proposals = aes256gcm16-prfsha384-ecp384
    unique = replace
    dpd_delay = 5s
    local { auth = psk
      id = site.example }
    remote { auth = psk
      id = gw.example }
    children {
      lan {
        local_ts = 192.168.0.0/16
        remote_ts = 10.10.0.0/16
        esp_proposals = aes256gcm16-ecp384
      }
    }
  }
}
secrets {
  ike-gw {
    id-1 = gw.example
    id-2 = site.example
    secret = "$PSK"
  }
}
EOF
chmod 0600 "$T/site-swanctl.conf"

load_site()
{
	swanctl --load-all --noprompt --file "$T/site-swanctl.conf" --uri "unix://$SITESOCK" \
		>>"$T/swanctl.log" 2>&1 || fail "swanctl --load-all"
}

start_charon site "$SITE"
load_site
start_charon gw "$GW"

# the gateway side: hnvgw config text, tunnel t1 (PSK, DPD 5 s)
cat >"$T/gw.conf" <<EOF
s2s add t1 --rdomain blue --peer 192.0.2.2 --local-addr 192.0.2.1 --local-id gw.example --remote-id site.example --psk "$PSK" --remote-prefix 192.168.0.0/16 --dpd 5
EOF
chmod 0600 "$T/gw.conf"
: >"$T/empty.conf"

# VICI_RECORD=DIR: the manager and the status queries go through a
# recording proxy (record.py) that writes what charon sends to DIR; the
# run ends after the tunnel is up, used, rekeyed and terminated
CLIENTSOCK=$GWSOCK
RECPID=
if [[ -n ${VICI_RECORD:-} ]]; then
	CLIENTSOCK=$T/rec.vici
	python3 "$HERE/record.py" "$CLIENTSOCK" "$GWSOCK" "$VICI_RECORD" &
	RECPID=$!
	wait_for 5 test -S "$CLIENTSOCK" || fail "record.py did not start"
fi

status() { "$DRIVE" "$CLIENTSOCK" "$T/gw.conf" status t1; }
field() { # status-line word after $1
	status | awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) { sub(/s$/, "", $(i + 1)); print $(i + 1); exit }}'
}
site_ike() { "$DRIVE" "$SITESOCK" - count-ike gw; }
gw_ike() { "$DRIVE" "$GWSOCK" - count-ike hnvgw-t1; }
established() { [[ $(field ike) == ESTABLISHED && $(field child) == INSTALLED ]]; }
# is CMD VALUE: CMD prints VALUE now (for wait_for, which runs it again)
is() { [[ $("$1") == "$2" ]]; }
# more_lines TEXT N: the manager's log has more than N lines with TEXT
more_lines() { (($(grep -c -F "$1" "$T/manager.log") > $2)); }
ping_ok() { ip netns exec "$GW" ping -c 1 -W 1 -I 10.10.0.1 192.168.0.1 >/dev/null 2>&1; }
in_bytes() { status | awk '{for (i = 1; i < NF; i++) if ($i == "in") { print $(i + 1); exit }}'; }

# ---- 1. up through load-shared + load-conn (start_action = start) ----
VICI_CTL="$T/ctl" "$DRIVE" "$CLIENTSOCK" "$T/gw.conf" run >"$T/manager.log" 2>&1 &
RUNPID=$!
# status runs a manager of its own (which loads the same conn): let the
# running manager register for events and load first
wait_for 10 grep -q "first sync ok" "$T/manager.log" || fail "manager did not start"
wait_for 20 established || fail "tunnel did not come up"
grep -q "loaded hnvgw-t1" "$T/manager.log" || fail "manager did not load the conn"
wait_for 5 grep -q "t1: IKE SA up" "$T/manager.log" || fail "no ike-updown event"
# load-conn accepted -> ike-updown(up) event, from the manager's log stamps
up_ms=$(awk '/loaded hnvgw-t1/ && !a {a = $1} /t1: IKE SA up/ && !b {b = $1}
	END {printf "%d", (b - a) * 1000}' "$T/manager.log")
echo "ok: tunnel up via load-shared/load-conn (${up_ms} ms to the up event): $(status)"

# ---- 2. traffic (routes in table 220 by kernel-libipsec) ----
ip -n "$GW" route show table 220 | grep -q "192.168.0.0/16" || fail "no route in table 220"
wait_for 10 ping_ok || fail "no ping through the tunnel"
b0=$(in_bytes)
ip netns exec "$GW" ping -c 5 -i 0.2 -I 10.10.0.1 192.168.0.1 >/dev/null || fail "ping"
b1=$(in_bytes)
((b1 > b0)) || fail "bytes-in did not grow ($b0 -> $b1)"
echo "ok: ping through the tunnel; bytes in $b0 -> $b1: $(status)"

if [[ -n $RECPID ]]; then
	for a in --version --list-conns --list-sas "--rekey --child hnvgw-t1" \
		"--rekey --ike hnvgw-t1"; do
		# shellcheck disable=SC2086 # $a is the option and its value
		swanctl $a --uri "unix://$CLIENTSOCK" >>"$T/swanctl.log" 2>&1 || fail "swanctl $a"
	done
	wait_for 10 grep -q "IKE SA rekeyed" "$T/manager.log" || fail "no ike-rekey event"
	swanctl --terminate --ike hnvgw-t1 --uri "unix://$CLIENTSOCK" >>"$T/swanctl.log" 2>&1 ||
		fail "swanctl --terminate"
	wait_for 10 grep -q "t1: IKE SA down" "$T/manager.log" || fail "no ike-updown down event"
	kill "$RUNPID" && wait "$RUNPID"
	RUNPID=
	echo "recorded: $(ls "$VICI_RECORD")"
	exit 0
fi

# ---- 3. gateway charon crash + restart: reconnect, reload, one IKE SA ----
uid_before=$(swanctl --list-sas --uri "unix://$SITESOCK" 2>/dev/null | head -1)
stop_charon gw KILL
start_charon gw "$GW"
t0=$(date +%s.%N)
wait_for 30 grep -q "reconnected (2) and reloaded" "$T/manager.log" ||
	fail "manager did not reconnect to the new charon"
wait_for 30 established || fail "tunnel not back after the gateway's charon restart"
wait_for 10 ping_ok || fail "no traffic after the gateway's charon restart"
t1=$(date +%s.%N)
# the site replaced (unique = replace) the old IKE SA: exactly one
wait_for 10 is site_ike 1 || fail "site holds $(site_ike) IKE SAs after the restart"
echo "ok: gateway charon restart -> reloaded, one IKE SA at the site," \
	"traffic again after $(echo "$t1 - $t0" | bc) s (was: $uid_before)"

# ---- 3b. another VICI client unloads our tunnel: strongswan.service runs
# `swanctl --load-all` after charon starts, which unloads every connection
# and secret its swanctl.conf lacks; the manager's audit loads them back ----
mkdir -p "$T/other"
printf 'connections {\n}\nsecrets {\n}\n' >"$T/other/swanctl.conf"
swanctl --load-all --noprompt --file "$T/other/swanctl.conf" --uri "unix://$GWSOCK" \
	>>"$T/swanctl.log" 2>&1 || fail "swanctl --load-all with an empty swanctl.conf"
swanctl --list-conns --uri "unix://$GWSOCK" 2>/dev/null | grep -q "^hnvgw-t1:" &&
	fail "swanctl --load-all did not unload hnvgw-t1 (the test proves nothing)"
t0=$(date +%s.%N)
wait_for 15 grep -q "charon had lost 1 tunnel" "$T/manager.log" ||
	fail "the manager did not notice its unloaded tunnel"
swanctl --list-conns --uri "unix://$GWSOCK" 2>/dev/null | grep -q "^hnvgw-t1:" ||
	fail "hnvgw-t1 not loaded again"
wait_for 30 established || fail "tunnel not up after the reload"
wait_for 10 ping_ok || fail "no traffic after the reload"
t1=$(date +%s.%N)
wait_for 10 is site_ike 1 || fail "site holds $(site_ike) IKE SAs after the reload"
echo "ok: a tunnel unloaded by swanctl --load-all is loaded again; traffic after" \
	"$(echo "$t1 - $t0" | bc) s; one IKE SA at the site"

# ---- 4. hnvgwd restart: a fresh manager syncing the same config ----
ike_uid() { swanctl --list-sas --uri "unix://$GWSOCK" 2>/dev/null | awk 'NR == 1 {print $2, $5}'; }
u0=$(ike_uid)
e0=$(field established)
out=$("$DRIVE" "$GWSOCK" "$T/gw.conf" sync) || fail "second sync: $out"
kill -USR1 "$RUNPID" # and the running manager re-syncs too
wait_for 5 grep -q "resync ok" "$T/manager.log" || fail "resync"
sleep 1 # charon would have initiated by now if it were going to
[[ $(gw_ike) == 1 ]] || fail "gateway holds $(gw_ike) IKE SAs after re-sync"
[[ $(site_ike) == 1 ]] || fail "site holds $(site_ike) IKE SAs after re-sync"
[[ $(ike_uid) == "$u0" ]] || fail "IKE SA replaced by re-sync ($u0 -> $(ike_uid))"
e1=$(field established)
((e1 >= e0)) || fail "IKE SA re-established by re-sync (age $e0 -> $e1)"
echo "ok: identical re-sync (fresh and running manager) kept IKE SA $u0, one SA on each side"

# ---- 4b. the site's charon stops cleanly (it sends DELETE) and starts
# again: close_action start re-initiates until the site answers ----
stop_charon site TERM
sleep 1
start_charon site "$SITE"
t0=$(date +%s.%N)
# the site answers without its connection for a while: the gateway's
# re-initiation fails (NO_PROPOSAL_CHOSEN / AUTH_FAILED) and charon gives
# the tunnel up; the manager's audit initiates it again
sleep 4
load_site
wait_for 60 ping_ok || fail "no traffic within 60 s after a clean site restart"
t1=$(date +%s.%N)
wait_for 10 is site_ike 1 || fail "site holds $(site_ike) IKE SAs after its clean restart"
[[ $(gw_ike) == 1 ]] || fail "gateway holds $(gw_ike) IKE SAs after the site's clean restart"
kicked=$(grep -c "no IKE SA for .* initiating again" "$T/manager.log")
echo "ok: clean site restart (DELETE), site config loaded 4 s late; traffic again after" \
	"$(echo "$t1 - $t0" | bc) s (audit re-initiations: $kicked)"

# ---- 5. DPD: the site's charon crashes and restarts (passive: start_action
# none, so only the gateway's DPD brings the tunnel back) ----
stop_charon site KILL
start_charon site "$SITE"
load_site
t0=$(date +%s.%N)
wait_for 90 ping_ok || fail "no traffic within 90 s after the site restart (DPD)"
t1=$(date +%s.%N)
wait_for 10 is site_ike 1 || fail "site holds $(site_ike) IKE SAs after DPD"
[[ $(gw_ike) == 1 ]] || fail "gateway holds $(gw_ike) IKE SAs after DPD"
echo "ok: site restart -> DPD restart; traffic again after $(echo "$t1 - $t0" | bc) s" \
	"(dpd_delay 5 s, gateway retransmit 1 s x1.4, 2 tries)"

# ---- 6. rekey events reach the manager; still one IKE SA per side ----
swanctl --rekey --child hnvgw-t1 --uri "unix://$GWSOCK" >>"$T/swanctl.log" 2>&1 || fail "rekey child"
wait_for 10 grep -q "CHILD SA rekeyed" "$T/manager.log" || fail "no child-rekey event"
swanctl --rekey --ike hnvgw-t1 --uri "unix://$GWSOCK" >>"$T/swanctl.log" 2>&1 || fail "rekey ike"
wait_for 10 grep -q "IKE SA rekeyed" "$T/manager.log" || fail "no ike-rekey event"
wait_for 10 is site_ike 1 || fail "site holds $(site_ike) IKE SAs after the rekey"
wait_for 10 ping_ok || fail "no traffic after the rekeys"
echo "ok: child-rekey and ike-rekey events; one IKE SA; traffic"

# ---- 7. down / up, through the running manager (as `hnvgw s2s down`):
# down stays down through the audits and a charon restart; up brings
# exactly one IKE SA back ----
ctl()
{
	local n
	n=$(grep -c -F "ctl $1 $2: " "$T/manager.log")
	echo "$1 $2" >"$T/ctl.tmp" && mv "$T/ctl.tmp" "$T/ctl"
	wait_for 10 more_lines "ctl $1 $2: " "$n" || fail "manager did not run $1 $2"
	grep "ctl $1 $2: " "$T/manager.log" | tail -n 1 | grep -q ": ok$" ||
		fail "$1 $2: $(grep "ctl $1 $2: " "$T/manager.log" | tail -n 1)"
}
# stays_down SECONDS: no IKE SA at either side the whole time
stays_down()
{
	local end=$((SECONDS + $1))
	while ((SECONDS < end)); do
		[[ $(gw_ike) == 0 && $(site_ike) == 0 ]] || return 1
		sleep 0.5
	done
}
ctl down t1
wait_for 10 is gw_ike 0 || fail "tunnel still up after down"
stays_down 8 || fail "tunnel came back after down (audit or close_action)"
nrc=$(grep -c -F "reconnected (" "$T/manager.log")
stop_charon gw KILL
start_charon gw "$GW"
wait_for 30 more_lines "reconnected (" "$nrc" ||
	fail "manager did not reconnect to the restarted charon"
stays_down 8 || fail "tunnel came back after down and a charon restart"
ctl up t1
wait_for 20 established || fail "tunnel not up after up"
wait_for 10 ping_ok || fail "no traffic after up"
sleep 2
[[ $(gw_ike) == 1 && $(site_ike) == 1 ]] || fail "after up: $(gw_ike) IKE SA(s) here, $(site_ike) at the site"
echo "ok: down stays down 8 s and through a charon restart (+8 s); up: one IKE SA each side, traffic"

# ---- 8. removal: a sync without the tunnel unloads it ----
stop_manager
out=$("$DRIVE" "$GWSOCK" "$T/empty.conf" sync) || fail "empty sync: $out"
wait_for 10 is gw_ike 0 || fail "IKE SA left after removal"
conns=$(swanctl --list-conns --uri "unix://$GWSOCK" 2>/dev/null)
[[ -z $conns ]] || fail "connections left after removal: $conns"
echo "ok: removed tunnel unloaded (terminate, unload-conn, unload-shared)"

# ---- 9. X.509 certificates: a CA made here (openssl), the gateway's
# certificate and key in its credential directory, --ca-cert naming the CA
# the site's certificate must chain to; the site loads its own with
# swanctl. A site certificate from another CA is refused. ----
mkcert() # name CN CA-name|self
{
	local d=$T/pki
	mkdir -p "$d"
	openssl ecparam -name secp384r1 -genkey -noout -out "$d/$1.key" 2>/dev/null || fail "openssl: key $1"
	if [[ $3 == self ]]; then
		openssl req -x509 -new -key "$d/$1.key" -subj "/CN=$2" -days 2 -out "$d/$1.pem" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=keyCertSign,cRLSign" 2>/dev/null || fail "openssl: CA $1"
		return
	fi
	openssl req -new -key "$d/$1.key" -subj "/CN=$2" -out "$d/$1.csr" 2>/dev/null ||
		fail "openssl: request $1"
	printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\n' "$2" >"$d/$1.ext"
	openssl x509 -req -in "$d/$1.csr" -CA "$d/$3.pem" -CAkey "$d/$3.key" -CAcreateserial \
		-days 2 -extfile "$d/$1.ext" -out "$d/$1.pem" 2>/dev/null || fail "openssl: certificate $1"
}
mkcert ca "hnvgw test CA" self
mkcert other "another CA" self
mkcert gwc gw-cert.example ca
mkcert sitec site-cert.example ca
mkcert rogue site-cert.example other
GWCRED=$T/gw-cred
SITECRED=$T/site-cred
mkdir -p "$GWCRED"/{x509,x509ca,private} "$SITECRED"/{x509,x509ca,private}
cp "$T/pki/gwc.pem" "$GWCRED/x509/gw.pem"
cp "$T/pki/ca.pem" "$GWCRED/x509ca/ca.pem"
install -m 0600 "$T/pki/gwc.key" "$GWCRED/private/gw.key"
cp "$T/pki/ca.pem" "$SITECRED/x509ca/ca.pem"
printf '%s\n' 'connections {' '  gwcert {' '    version = 2' \
	'    local_addrs = 192.0.2.2' '    remote_addrs = 192.0.2.1' \
	'    proposals = aes256gcm16-prfsha384-ecp384' '    unique = replace' \
	'    local { auth = pubkey' '      certs = site.pem' '      id = site-cert.example }' \
	'    remote { auth = pubkey' '      id = gw-cert.example }' \
	'    children {' '      lan {' '        local_ts = 192.168.0.0/16' \
	'        remote_ts = 10.10.0.0/16' '        esp_proposals = aes256gcm16-ecp384' \
	'      }' '    }' '  }' '}' >"$SITECRED/swanctl.conf"
load_site_cert() # certificate-name: the site presents this certificate
{
	cp "$T/pki/$1.pem" "$SITECRED/x509/site.pem"
	install -m 0600 "$T/pki/$1.key" "$SITECRED/private/site.key"
	swanctl --load-all --noprompt --file "$SITECRED/swanctl.conf" --uri "unix://$SITESOCK" \
		>>"$T/swanctl.log" 2>&1 || fail "swanctl --load-all (certificates)"
}
echo "s2s add t2 --rdomain blue --peer 192.0.2.2 --local-addr 192.0.2.1" \
	"--local-id gw-cert.example --remote-id site-cert.example --cert gw.pem --key gw.key" \
	"--ca-cert ca.pem --remote-prefix 192.168.0.0/16" >"$T/cert.conf"
export VICI_CRED_DIR=$GWCRED
cstatus() { "$DRIVE" "$GWSOCK" "$T/cert.conf" status t2 2>/dev/null; }
cert_up() { [[ $(cstatus) == *"ike ESTABLISHED child INSTALLED"* ]]; }

# a site certificate from another CA: authentication fails, no tunnel
load_site_cert rogue
out=$("$DRIVE" "$GWSOCK" "$T/cert.conf" sync) || fail "certificate sync: $out"
# the gateway's charon refuses it: it finds no trusted key for the site's
# identity (the certificate does not chain to --ca-cert); a loaded machine
# takes longer than a quiet one to get there
refused() {
	grep -Eq "no trusted .* public key found for 'site-cert.example'|no issuer certificate found|constraint check failed" \
		"$T/gw/charon.log"
}
t0=$(date +%s.%N)
wait_for 30 refused || fail "the gateway's charon did not refuse the site's certificate within 30 s"
t1=$(date +%s.%N)
cert_up && fail "a site certificate from another CA was accepted: $(cstatus)"
"$DRIVE" "$GWSOCK" "$T/empty.conf" sync >/dev/null || fail "empty sync"
echo "ok: a site certificate from another CA is refused (--ca-cert), charon's refusal after" \
	"$(echo "$t1 - $t0" | bc) s"

load_site_cert sitec
out=$("$DRIVE" "$GWSOCK" "$T/cert.conf" sync) || fail "certificate sync: $out"
wait_for 20 cert_up || fail "certificate tunnel did not come up: $(cstatus)"
wait_for 10 ping_ok || fail "no traffic through the certificate tunnel"
echo "ok: certificate tunnel (ECDSA P-384, CA given by --ca-cert) up, traffic: $(cstatus)"
"$DRIVE" "$GWSOCK" "$T/empty.conf" sync >/dev/null || fail "empty sync"
unset VICI_CRED_DIR

# the PSK never reaches a log of ours
if grep -rqF "$PSK" "$T/manager.log"; then fail "PSK in the manager log"; fi

# every client of ours unregistered its events before it went (vici.h,
# hnv_vici_close): charon never had an event for a client that was gone.
# A "log" subscriber that goes without unregistering makes charon log
# "vici connection N unknown" for every log event, each line a log event
# again (tens of thousands of lines per run before the fix).
gone=$(grep -c "vici connection [0-9]* unknown" "$T/gw/charon.log")
((gone == 0)) || fail "the gateway's charon logged $gone lines \"vici connection N unknown\""
echo "ok: charon had no event for a VICI client that was gone"
echo "PASS: test_charon.sh"
