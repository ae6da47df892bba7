#!/bin/bash
# test_tls.sh: hnvgwd talks to an etcd that wants TLS client certificates
# (--client-cert-auth) and, later, etcd users (auth enable) (issue 17
# finding 1; mgmt/etcd.h "Security").
#
#   1. a CA, a server certificate for 127.0.0.1 and a client certificate
#      (openssl); one etcd member on loopback with --client-cert-auth
#   2. a key file readable by others is refused at start, with a message
#   3. h1 with the client certificate writes and watches: its shared lines
#      reach etcd, a record put by etcdctl reaches h1
#   4. h2 without a client certificate is refused, saying why
#   5. auth enabled (user hnv, role on the test prefix): h3 with the right
#      password syncs and writes, h4 with a wrong one says so
set -u
source "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || fail "openssl missing (tests/deps.sh)"

P=$BASEPORT
URL=https://127.0.0.1:$P
C=$T/pki
mkdir -p "$C"

# ---- 1. certificates (EC keys: fast)
pki()
{
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=hnvgw test CA" -keyout "$C/ca.key" -out "$C/ca.pem" || return 1
	# client: for etcdctl and hnvgwd; anon: no CommonName, which etcd's
	# JSON gateway wants once auth is enabled
	local n subj ext
	for n in server client anon; do
		ext="extendedKeyUsage=clientAuth"
		case $n in
		server)
			subj=/CN=127.0.0.1
			ext="subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth,clientAuth"
			;;
		client) subj=/CN=hnvgw-host ;;
		anon) subj=/O=hnvgw ;;
		esac
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-subj "$subj" -keyout "$C/$n.key" -out "$C/$n.csr" || return 1
		openssl x509 -req -in "$C/$n.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -CAcreateserial \
			-days 2 -extfile <(echo "$ext") -out "$C/$n.pem" || return 1
	done
	chmod 600 "$C"/*.key
}
pki >"$T/openssl.log" 2>&1 || fail "openssl: $(tail -n 5 "$T/openssl.log")"

etcd --name tls1 --data-dir "$T/etcd-tls" \
	--listen-client-urls "$URL" --advertise-client-urls "$URL" \
	--listen-peer-urls "http://127.0.0.1:$((P + 1))" \
	--initial-advertise-peer-urls "http://127.0.0.1:$((P + 1))" \
	--initial-cluster "tls1=http://127.0.0.1:$((P + 1))" --initial-cluster-state new \
	--cert-file "$C/server.pem" --key-file "$C/server.key" \
	--client-cert-auth --trusted-ca-file "$C/ca.pem" \
	--logger zap --log-level error >>"$T/etcd-tls.log" 2>&1 &
EPIDS[1]=$!
tctl() { etcdctl --endpoints "$URL" --cacert "$C/ca.pem" --cert "$C/client.pem" --key "$C/client.key" --dial-timeout 2s --command-timeout 5s "$@"; }
up() { tctl endpoint health; }
wait_for 15 up || fail "etcd with TLS not healthy"
pass "etcd on $URL with --client-cert-auth, certificates from a test CA"

# host_tls NAME OPTIONS...: hnvgwd on the TLS member
host_tls() { host_start "$1" "$URL" "${@:2}"; }
CERT=(--etcd-cacert "$C/ca.pem" --etcd-cert "$C/client.pem" --etcd-key "$C/client.key")
ANON=(--etcd-cacert "$C/ca.pem" --etcd-cert "$C/anon.pem" --etcd-key "$C/anon.key")

# ---- 2. a key file others may read: refused at start
cp "$C/client.key" "$T/open.key"
chmod 644 "$T/open.key"
out=$(timeout 20 "$HNVGWD" --foreground --state-dir "$T/state-x" --socket "$T/x.sock" \
	--etcd "$URL" --host-name hx --etcd-prefix "$PREFIX" --etcd-cacert "$C/ca.pem" \
	--etcd-cert "$C/client.pem" --etcd-key "$T/open.key" 2>&1) && fail "hnvgwd started with a key file of mode 0644"
grep -q -- "--etcd-key $T/open.key: mode 0644" <<<"$out" || fail "no clear message for the key file's mode: $out"
grep -q "BEGIN\|PRIVATE" <<<"$out" && fail "key material in the message: $out"
pass "a key file of mode 0644 refused: $(grep -o -- '--etcd-key.*' <<<"$out" | head -n 1)"

# ---- 3. h1 with its client certificate: writes and watches
host_tls h1 "${CERT[@]}"
cli h1 pa add 192.0.2.11/24 --dev eth0 >/dev/null || fail "pa add on h1"
cli h1 commit -f - >/dev/null <<'CONF' || fail "shared policy on h1 through TLS: $(tail -n 3 "$T/h1.log")"
rdomain add red --rdid {11111111-0000-0000-0000-000000000001}
vsubnet add 5001 --rdomain red --prefix 10.1.0.0/16
pool add redpool --vsid 5001 --range 10.1.1.100-10.1.1.130
CONF
cli h1 port add vm1 --vsid 5001 >/dev/null || fail "port add on h1"
tctl get "${PREFIX}rd/red/port/h1/vm1" --print-value-only | grep -q "port add vm1" ||
	fail "h1's port not in etcd"
tctl put "${PREFIX}rd/red/lookup/5001/10.1.1.200" \
	"lookup add --vsid 5001 --ca 10.1.1.200 --pa 192.0.2.99 --mac 02:00:00:00:02:00" >/dev/null ||
	fail "etcdctl put of a record"
rec() { cli h1 show lookup | grep -q 10.1.1.200; }
wait_for 5 rec || fail "a record put in etcd did not reach h1 through its TLS watch"
grep -q "client certificate $C/client.pem" "$T/h1.log" || fail "h1 does not log its client certificate"
pass "h1 with a client certificate: its lines in etcd, etcd's record in h1 (watch over TLS)"

# ---- 4. h2 without a client certificate: refused, saying why
host_tls h2 --etcd-cacert "$C/ca.pem"
out=$(cli h2 rdomain add blue --rdid "{11111111-0000-0000-0000-000000000002}" 2>&1) &&
	fail "h2 wrote without a client certificate"
grep -q "client certificate" <<<"$out" || fail "h2's refusal does not name the client certificate: $out"
nocert() { grep -q "client certificate" "$T/h2.log"; }
wait_for 5 nocert || fail "h2's log does not say etcd wants a client certificate"
tctl get --prefix "${PREFIX}rd/blue" --keys-only | grep -q . && fail "h2's write reached etcd"
host_stop h2
pass "h2 without a client certificate refused: $out"

# ---- 5. etcd users: a role on the test prefix, auth enabled
echo "rootpw" >"$T/root.pw"
tctl user add root --new-user-password rootpw >/dev/null && tctl user grant-role root root >/dev/null || fail "user add root"
tctl user add hnv --new-user-password 's3cret pass' >/dev/null || fail "user add hnv"
tctl role add hnvgw >/dev/null || fail "role add"
tctl role grant-permission hnvgw --prefix=true readwrite "$PREFIX" >/dev/null || fail "grant-permission"
tctl user grant-role hnv hnvgw >/dev/null || fail "grant-role"
tctl auth enable >/dev/null || fail "auth enable"
# h1 (certificate with a CommonName, no user) is refused now, saying why
out=$(cli h1 rdomain add blue --rdid "{11111111-0000-0000-0000-000000000002}" 2>&1) &&
	fail "h1 wrote without an etcd user once auth was enabled"
grep -q "CommonName" <<<"$out" || fail "h1's refusal does not explain: $out"
host_stop h1
printf 's3cret pass\n' >"$T/good.pw"
printf 'wrong\n' >"$T/bad.pw"
chmod 600 "$T/good.pw" "$T/bad.pw"
host_tls h3 "${ANON[@]}" --etcd-user hnv --etcd-password-file "$T/good.pw"
cli h3 pa add 192.0.2.13/24 --dev eth0 >/dev/null || fail "pa add on h3"
cli h3 port add vm3 --vsid 5001 >/dev/null || fail "port add on h3 as etcd user hnv: $(tail -n 3 "$T/h3.log")"
red3() { [[ $(count_rows h3 lookup) == 3 ]]; }
wait_for 5 red3 || fail "h3 did not sync red (want 3 records: vm1, vm3, 10.1.1.200)"
tctl --user root:rootpw get "${PREFIX}rd/red/port/h3/vm3" --print-value-only | grep -q "port add vm3" ||
	fail "h3's port not in etcd"
tctl --user root:rootpw put "${PREFIX}rd/red/lookup/5001/10.1.1.201" \
	"lookup add --vsid 5001 --ca 10.1.1.201 --pa 192.0.2.99 --mac 02:00:00:00:02:01" >/dev/null ||
	fail "etcdctl put of a record with auth"
rec3() { cli h3 show lookup | grep -q 10.1.1.201; }
wait_for 5 rec3 || fail "a record put in etcd did not reach h3 through its authenticated watch"
grep -q "s3cret" "$T/h3.log" && fail "the password reached h3's log"
pass "auth enabled: h3 as user hnv synced red and wrote its port"

host_tls h4 "${ANON[@]}" --etcd-user hnv --etcd-password-file "$T/bad.pw"
out=$(cli h4 rdomain add blue --rdid "{11111111-0000-0000-0000-000000000002}" 2>&1) &&
	fail "h4 wrote with a wrong password"
grep -q "authentication failed" <<<"$out" || fail "h4's refusal does not say the authentication failed: $out"
badpw() { grep -q "etcd user hnv: cannot authenticate: .*authentication failed" "$T/h4.log"; }
wait_for 5 badpw || fail "h4's log does not say its authentication failed"
grep -q "wrong" "$T/h4.log" && fail "the password reached h4's log"
pass "a wrong password: $out"

for h in h3 h4; do host_stop $h; done
grep -h "ERROR\|runtime error" "$T"/h*.log && fail "sanitizer reports"
echo "PASS test_tls.sh"
