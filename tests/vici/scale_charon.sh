#!/bin/bash
# scale_charon.sh: N S2S tunnels loaded into a real charon by the S2S
# manager (vpn/s2s.c through tests/vici/vici_drive), natively, for issue 19
# (the 1,000-tenant lab commit left charon without IKE SAs). Not part of
# make test: it prints numbers and what charon holds.
#
#   VICI_DRIVE=build/asan/vici_drive N=1000 MODE=sync bash tests/vici/scale_charon.sh
#
# MODE
#   sync   one sync by a fresh manager (no events), as a one-shot
#   run    the watching manager (events incl. log), as hnvgwd; after its
#          first sync the loop runs WAIT seconds (audits)
#   late   `run` started before charon (its first sync finds no charon),
#          charon LATE_DELAY s later: the reconnect loads the tunnels
#   busy   `run` started while charon is busy loading another N-tunnel
#          config (a `sync` of a second prefix-free config in the
#          background)
# LINKS=L: L veth pairs (up, with an address) are created in charon's
# namespace just before the manager starts (run, busy).
# WITH_SITE=1: a site charon answering the N tunnels by IKE ID (IKE SAs are
# counted); without it, charon's initiations go unanswered.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SITE_ON=${WITH_SITE:-0}
P=vsc$$ # shellcheck disable=SC2034 # for lib.sh
. "$HERE/lib.sh"
N=${N:-300}
MODE=${MODE:-sync}
WAIT=${WAIT:-20}
LINKS=${LINKS:-0}


charon_conf gw "threads = 16"
[[ $MODE == late ]] || start_charon gw "$GW"

conf=$T/gw.conf
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++)
	printf "s2s add t%d --rdomain t%d --peer 192.0.2.2 --local-addr 192.0.2.1 --local-id gw-t%d --remote-id site-t%d --psk Sc4le%dXq9mP2wL7vB5nR8tY3 --remote-prefix 192.168.0.0/16\n", i, i, i, i, i }' >"$conf"
chmod 0600 "$conf"

if ((SITE_ON)); then
	charon_conf site "block_threshold = 100000
  cookie_threshold = 100000
  init_limit_half_open = 0
  threads = 16"
	start_charon site "$SITE"
	awk -v n="$N" 'BEGIN { print "connections {"
		for (i = 1; i <= n; i++)
		printf "  t%d {\n version = 2\n local_addrs = 192.0.2.2\n remote_addrs = 192.0.2.1\n proposals = aes256gcm16-prfsha384-ecp384\n local { auth = psk\n id = site-t%d }\n remote { auth = psk\n id = gw-t%d }\n children { t%d {\n local_ts = 192.168.0.0/16\n remote_ts = 10.10.0.0/16\n esp_proposals = aes256gcm16-ecp384\n policies = no } }\n }\n", i, i, i, i
		print "}\nsecrets {"
		for (i = 1; i <= n; i++)
		printf "  ike-t%d { id-a = site-t%d\n id-b = gw-t%d\n secret = \"Sc4le%dXq9mP2wL7vB5nR8tY3\" }\n", i, i, i, i
		print "}" }' >"$T/site-swanctl.conf"
	t0=$(date +%s.%N)
	swanctl --load-all --noprompt --file "$T/site-swanctl.conf" --uri "unix://$SITESOCK" \
		>"$T/site-load.log" 2>&1 || fail "site load"
	echo "site: $N connections loaded in $(echo "$(date +%s.%N) - $t0" | bc) s"
fi

conns() { swanctl --list-conns --uri "unix://$GWSOCK" 2>/dev/null | grep -c "^hnvgw-t[0-9]*:"; }

ikes() { "$DRIVE" "$GWSOCK" - count-ike; }
est() { swanctl --list-sas --uri "unix://$GWSOCK" 2>/dev/null | grep -c "^hnvgw-t[0-9]*: #[0-9]*, ESTABLISHED"; }
report() { echo "$1: conns $(conns)/$N, IKE SAs $(ikes) (established $(est))"; }

case $MODE in
sync)
	t0=$(date +%s.%N)
	"$DRIVE" "$GWSOCK" "$conf" sync >"$T/out.log" 2>"$T/manager.log"
	rc=$?
	echo "sync: exit $rc ($(cat "$T/out.log")) in $(echo "$(date +%s.%N) - $t0" | bc) s"
	report "after sync"
	;;
run | busy | late)
	if ((LINKS)); then
		# the lab's gateway creates VRFs, ports and XFRM interfaces just
		# before the manager connects: charon (kernel-netlink) sees a
		# link and an address event for each
		cpu0=$(awk '{print $14 + $15}' "/proc/${CHARON[gw]}/stat")
		t0=$(date +%s.%N)
		for ((i = 0; i < LINKS; i++)); do
			echo "link add l$i type veth peer name m$i"
			echo "link set l$i up"
			echo "addr add 10.$((100 + i / 250)).$((i % 250)).1/24 dev l$i"
		done | ip -n "$GW" -batch - || fail "ip -batch"
		echo "links: $LINKS veth pairs with addresses in $(echo "$(date +%s.%N) - $t0" | bc) s"
		if ((${LINKS_SETTLE:-0})); then
			sleep "$LINKS_SETTLE"
			echo "charon CPU for the links (${LINKS_SETTLE} s later): $(($(awk '{print $14 + $15}' "/proc/${CHARON[gw]}/stat") - cpu0)) ticks"
		fi
	fi
	if [[ $MODE == busy ]]; then
		# another manager (prefix hnvgw too: same names) keeps charon
		# busy loading N tunnels while the watching one connects
		"$DRIVE" "$GWSOCK" "$conf" sync >"$T/busy.log" 2>&1 &
		BUSY=$!
		sleep "${BUSY_DELAY:-1}"
	fi
	t0=$(date +%s.%N)
	"$DRIVE" "$GWSOCK" "$conf" run >"$T/manager.log" 2>&1 &
	RUNPID=$!
	if [[ $MODE == late ]]; then
		wait_for 10 grep -q "first sync" "$T/manager.log" || fail "no first sync"
		sleep "${LATE_DELAY:-2}"
		start_charon gw "$GW"
		t0=$(date +%s.%N)
		wait_for 600 grep -q "reconnected" "$T/manager.log" || fail "no reconnect in 600 s"
		echo "late: $(grep -o "reconnected.*" "$T/manager.log") $(echo "$(date +%s.%N) - $t0" | bc) s after charon started"
	fi
	wait_for 600 grep -q "first sync" "$T/manager.log" || fail "no first sync in 600 s"
	((LINKS)) && echo "charon CPU since the links: $(($(awk '{print $14 + $15}' "/proc/${CHARON[gw]}/stat") - cpu0)) ticks"
	echo "run: $(grep -o "first sync.*" "$T/manager.log") after $(echo "$(date +%s.%N) - $t0" | bc) s"
	report "after the first sync"
	[[ $MODE == busy ]] && { wait "$BUSY"; echo "busy sync: $(tail -1 "$T/busy.log")"; }
	sleep "$WAIT"
	report "$WAIT s later"
	echo "manager: $(grep -c "loaded hnvgw" "$T/manager.log") loads," \
		"$(grep -c "reconnecting" "$T/manager.log") reconnects," \
		"$(grep -c "connected to charon" "$T/manager.log") connects," \
		"$(grep -c "charon had lost" "$T/manager.log") audits that reloaded," \
		"$(grep -c "IKE SA up" "$T/manager.log") IKE SA up events"
	grep -E "reconnecting|not reachable|audit|first sync|lost" "$T/manager.log" | head -20
	stop_manager
	;;
esac
gone=$(grep -c "vici connection [0-9]* unknown" "$T/gw/charon.log")
echo "charon: $gone lines \"vici connection N unknown\", log $(wc -l <"$T/gw/charon.log") lines"
# charon's TERM with 1,000 SAs in kernel-libipsec spins for minutes (seen
# here): a crash stop of both, as nothing is checked after this point
stop_charon gw KILL
((SITE_ON)) && stop_charon site KILL
exit 0
