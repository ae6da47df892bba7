#!/bin/bash
# test_pool_s2s.sh: S2S tunnels of gateway pool tenants (s2s add --pool,
# docs/gateway-pool.md) on a 3-member etcd cluster on loopback
# (tests/etcd/lib.sh), two members g1, g2 (TTL 3 s), control plane only:
#   1. `s2s add --pool` refused without --etcd; with it the tunnel's line,
#      PSK included, is the value of rd/R/s2s/@POOL/NAME (what an etcd
#      user with read access to the prefix can read); refused: a tunnel
#      without --pool on a pool tenant, one without --local-addr or with
#      --peer any, a del without --rdomain/--pool
#   2. only the member that holds the tenant has the tunnel in its running
#      configuration (the one charon gets: `show config`, PSK masked);
#      it follows the tenant on `gateway move`, when the holder is cut
#      from etcd (fenced: its tunnel gone before the other member has it),
#      and on kill -9; a member restarted leaves the pool's tunnel out with
#      the pool's gateway
#   3. the PSK is in no log and no show output of any member
# The kernel half (floating local address on the uplink, charon loading
# and initiating the tunnel, the site's single IKE SA) needs VRF and XFRM:
# the image lab's gateway-ha scenario.
set -u
. "$(dirname "$0")/lib.sh"

POOL=gwp
PSK="Qw8eR4tY6uI2oP9aS3dF5gH7"
RED="{11111111-2222-3333-4444-000000005001}"
S2S="s2s add site1 --rdomain red --peer 198.51.100.2 --local-addr 198.51.100.1 --local-id gw-red --remote-id site-red --psk $PSK --remote-prefix 192.168.0.0/16 --dpd 2"

# ---- 1. config
"$HNVGWD" --foreground --state-dir "$T/state-solo" --socket "$(sock_of solo)" \
	--log-level info >>"$T/solo.log" 2>&1 &
HPIDS[solo]=$!
wait_for 10 test -S "$(sock_of solo)" || fail "standalone hnvgwd did not start"
out=$(cli solo $S2S --pool $POOL 2>&1) && fail "s2s add --pool without --etcd accepted"
[[ $out == *"--pool needs shared policy (hnvgwd --etcd)"* ]] || fail "s2s add --pool without --etcd: $out"
[[ $out != *"$PSK"* ]] || fail "the PSK in the refusal"
host_stop solo
pass "s2s add --pool without --etcd: refused (\"--pool needs shared policy\")"

for n in 1 2 3; do etcd_start "$n"; done
etcd_wait_healthy
eget() { ectl get --print-value-only "$PREFIX$1"; }

# g2 reaches etcd through a TCP proxy the test can kill (a partition; proxy.sh)
. "$HERE/proxy.sh"
proxy_start
G2_URL="http://127.0.0.1:$PROXY_PORT"
host_start g1 "" --gateway-pool $POOL --pool-ttl 3
host_start g2 "$G2_URL" --gateway-pool $POOL --pool-ttl 3

cli g1 rdomain add red --rdid "$RED" >/dev/null || fail "rdomain add"
cli g1 vsubnet add 5001 --rdomain red --prefix 10.1.0.0/16 >/dev/null || fail "vsubnet add"
cli g1 gateway add --rdomain red --pool $POOL --vrf red --table 201 >/dev/null || fail "gateway add --pool"
holder() { eget pool/$POOL/active/red; }
wait_for 15 bash -c "[[ -n \$(etcdctl --endpoints $ALL_URLS get --print-value-only ${PREFIX}pool/$POOL/active/red) ]]" ||
	fail "red not placed"

# (on red's holder, whose model has red's gateway; elsewhere red is unknown)
out=$(cli "$(holder)" $S2S 2>&1) && fail "a host's tunnel on pool tenant red accepted"
[[ $out == *"is in pool \"$POOL\": give --pool $POOL"* ]] || fail "s2s add without --pool: $out"
[[ $out != *"$PSK"* ]] || fail "the PSK in a refusal"
out=$(cli g1 ${S2S/--local-addr 198.51.100.1 /} --pool $POOL 2>&1) && fail "a pool tunnel without --local-addr accepted"
[[ $out == *"needs --local-addr"* ]] || fail "s2s add --pool without --local-addr: $out"
out=$(cli g1 ${S2S/--peer 198.51.100.2/--peer any} --pool $POOL 2>&1) && fail "a pool tunnel with --peer any accepted"
[[ $out == *"needs the peer's address"* ]] || fail "s2s add --pool --peer any: $out"
[[ $out != *"$PSK"* ]] || fail "the PSK in a refusal"
[[ -z $(ectl get --prefix --keys-only "${PREFIX}rd/red/s2s/") ]] || fail "a refused tunnel reached etcd"
pass "refused: a tunnel without --pool on a pool tenant (naming the pool), --pool without --local-addr or with --peer any; nothing written, no PSK in a message"

cli g2 $S2S --pool $POOL >/dev/null || fail "s2s add --pool on g2: $(cli g2 $S2S --pool $POOL 2>&1 | sed "s/$PSK/PSK/g")"
want="s2s add site1 --rdomain red --peer 198.51.100.2 --local-addr 198.51.100.1 --local-id gw-red --remote-id site-red --psk $PSK --ike-proposal aes256gcm16-prfsha384-ecp384 --esp-proposal aes256gcm16-ecp384 --remote-prefix 192.168.0.0/16 --dpd 2 --pool $POOL"
[[ $(eget rd/red/s2s/@$POOL/site1) == "$want" ]] ||
	fail "rd/red/s2s/@$POOL/site1: $(eget rd/red/s2s/@$POOL/site1 | sed "s/$PSK/PSK/g")"
out=$(cli "$(holder)" s2s del site1 2>&1) && fail "s2s del of a pool's tunnel without --pool accepted"
[[ $out == *"give --pool $POOL"* ]] || fail "s2s del without --pool: $out"
out=$(cli g1 s2s del site1 --pool $POOL 2>&1) && fail "s2s del --pool without --rdomain accepted"
out=$(cli g1 gateway del --rdomain red --pool $POOL 2>&1) && fail "gateway del under its pool tunnel accepted"
pass "s2s add --pool (sent to g2): rd/red/s2s/@$POOL/site1 holds its line with the PSK; del needs --rdomain and --pool; the gateway stays while its tunnel does"

# tunnel_on H: H's running configuration has the pool's tunnel (PSK masked)
tunnel_on() { cli "$1" show config | grep -q "^s2s add site1 --rdomain red .*--psk <secret> .*--pool $POOL\$"; }
# only_on H: H has it, the other member does not
only_on()
{
	local o=g1
	[[ $1 == g1 ]] && o=g2
	tunnel_on "$1" && ! tunnel_on "$o"
}
wait_for 10 only_on "$(holder)" || fail "the tunnel is not on red's holder $(holder) alone: g1 $(tunnel_on g1 && echo has || echo lacks), g2 $(tunnel_on g2 && echo has || echo lacks)"
pass "the tunnel is in the running configuration of red's holder $(holder) only"

# ---- 2. it follows the tenant
# gateway move to g2 (if it is not there yet), then g2 cut from etcd
if [[ $(holder) != g2 ]]; then
	t0=$(now_ms)
	cli g1 gateway move red --to g2 >/dev/null || fail "gateway move red --to g2"
	wait_for 15 only_on g2 || fail "after gateway move: g1 $(tunnel_on g1 && echo has || echo lacks), g2 $(tunnel_on g2 && echo has || echo lacks)"
	echo "# gateway move red g1 -> g2: the tunnel on g2 alone after $(($(now_ms) - t0)) ms"
	pass "gateway move red --to g2: the tunnel left g1 and is on g2"
fi
# watch both members every 100 ms: never both with the tunnel
(while :; do
	a=0 b=0
	tunnel_on g1 && a=1
	tunnel_on g2 && b=1
	((a && b)) && echo "$(now_ms) both"
	sleep 0.1
done) >"$T/both.txt" 2>/dev/null &
WATCH=$!
EPIDS[watch]=$WATCH
t0=$(now_ms)
proxy_stop
wait_for 20 only_on g1 || fail "partition: g1 $(tunnel_on g1 && echo has || echo lacks), g2 $(tunnel_on g2 && echo has || echo lacks)"
echo "# g2 cut from etcd: its tunnel gone and on g1 after $(($(now_ms) - t0)) ms"
proxy_start
wait_for 15 bash -c "$HNVGW --socket $(sock_of g2) --json show gateway-pool | grep -q '\"state\": *\"member\"'" ||
	fail "g2 did not rejoin"
pass "g2 cut from etcd: fenced, its tunnel removed, then g1 has it"

t0=$(now_ms)
cli g1 gateway move red --to g2 >/dev/null || fail "gateway move red --to g2 (back): $(cli g1 gateway move red --to g2 2>&1)"
wait_for 15 only_on g2 || fail "move back: g1 $(tunnel_on g1 && echo has || echo lacks), g2 $(tunnel_on g2 && echo has || echo lacks)"
echo "# gateway move red g1 -> g2: the tunnel on g2 alone after $(($(now_ms) - t0)) ms"
# (the move request done: a request left standing would hand red back to
# g2 when it returns)
wait_for 10 bash -c "[[ -z \$(etcdctl --endpoints $ALL_URLS get --print-value-only ${PREFIX}pool/$POOL/moveto/red) ]]" ||
	fail "the move request of red stays"
t0=$(now_ms)
kill -9 "${HPIDS[g2]}"
wait "${HPIDS[g2]}" 2>/dev/null
unset "HPIDS[g2]"
wait_for 20 tunnel_on g1 || fail "kill -9 of g2: the tunnel not on g1"
echo "# g2 killed with -9: the tunnel on g1 after $(($(now_ms) - t0)) ms (TTL 3000 ms)"
kill "$WATCH" 2>/dev/null
wait "$WATCH" 2>/dev/null
unset "EPIDS[watch]"
[[ ! -s $T/both.txt ]] || fail "the tunnel on both members: $(head -3 "$T/both.txt")"
pass "kill -9 of the holder g2: g1 has the tunnel; never on both members in any 100 ms sample (partition, move, kill)"

# g2 restarted: the tunnel and its gateway left out of its configuration
rm -f "$(sock_of g2)" # the killed daemon's
host_start g2 "$G2_URL" --gateway-pool $POOL --pool-ttl 3
wait_for 10 cli g2 show revisions >/dev/null || fail "g2 did not start again"
grep -q "the 1 gateway (and 1 S2S tunnel) of revision [0-9]* bound to a gateway pool left out" "$T/g2.log" ||
	fail "g2 did not leave the pool's gateway and tunnel out at start: $(grep -E "left out|started" "$T/g2.log")"
sleep 4
tunnel_on g2 && fail "g2 restarted with the pool's tunnel (red on $(holder)): $(tail -8 "$T/g2.log")"
only_on g1 || fail "after g2's restart the tunnel is not on g1 alone"
pass "g2 restarted: the pool's gateway and tunnel left out (logged), g1 keeps them"

# ---- 3. the secret
for h in g1 g2; do
	for what in config s2s etcd gateways; do
		cli "$h" show "$what" 2>&1 | grep -qF "$PSK" && fail "the PSK in $h's show $what"
	done
done
grep -lF "$PSK" "$T"/*.log && fail "the PSK in a log"
cli g1 s2s del site1 --rdomain red --pool $POOL >/dev/null || fail "s2s del --pool"
[[ -z $(eget rd/red/s2s/@$POOL/site1) ]] || fail "the tunnel's key stays after s2s del"
wait_for 10 bash -c "! $HNVGW --socket $(sock_of g1) show config | grep -q '^s2s add site1'" || fail "g1 keeps the deleted tunnel"
pass "the PSK in no show output and no log of either member; s2s del --rdomain --pool removes the key and the holder's tunnel"

echo "PASS: test_pool_s2s.sh"
