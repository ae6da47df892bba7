# shellcheck shell=bash
# shellcheck disable=SC2034 # DRIVE, GWSOCK, ...: for the tests that source this
# lib.sh: two charon instances (strongSwan 5.9.8) in two network namespaces,
# for test_charon.sh and test_ike_interop.sh (sourced after they set P, a
# name prefix unique to the run):
#
#   $GW    "gateway": uplink up0 192.0.2.1/24, tenant side lan0 10.10.0.1/24
#   $SITE  "site":    uplink up0 192.0.2.2/24, site LAN lan0 192.168.0.1/24
#
# Both use kernel-libipsec (userspace ESP over UDP 4500, routes in table
# 220): this kernel has no ESP. Each side has its files in $T/SIDE (gw,
# site): strongswan.conf, charon.log (line-buffered: tests read it while
# charon runs), charon.vici. Sourcing creates $T and the namespaces; the
# EXIT trap removes them and stops the processes started (KEEP=1 keeps
# everything).
#
#   charon_conf SIDE [LINES]    writes SIDE's strongswan.conf, LINES added
#                               to its charon section ($FAST_RETRANSMIT)
#   start_charon SIDE NS [HOSTS]  starts SIDE's charon in NS, HOSTS
#                               bind-mounted as its /etc/hosts
#   stop_charon SIDE [SIGNAL]   KILL is a crash (no DELETE to the peer)
#   stop_manager                ends the `vici_drive run` manager $RUNPID,
#                               failing on a non-zero exit (a sanitizer)
#   wait_for SECONDS CMD...     polls CMD every 0.2 s until it succeeds
#   fail MESSAGE                the last lines of every log, exit 1
DRIVE=${VICI_DRIVE:?VICI_DRIVE=path to vici_drive}
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

T=$(mktemp -d /tmp/hnvgw-vici.XXXXXX)
GW=${P:?P=name prefix}-gw
SITE=$P-site
GWSOCK=$T/gw/charon.vici
SITESOCK=$T/site/charon.vici
declare -A CHARON=() # side -> pid
RUNPID=              # the manager (vici_drive run)
RECPID=              # test_charon.sh's recording proxy

# short retransmissions, so that DPD declares a dead peer and an
# unreachable peer is given up in seconds (defaults: 5 tries from 4 s,
# ~165 s)
FAST_RETRANSMIT="retransmit_timeout = 1.0
  retransmit_base = 1.4
  retransmit_tries = 2"

fail()
{
	echo "FAIL: $*" >&2
	for f in "$T"/*.log "$T"/*/charon.log; do
		[[ -f $f ]] || continue
		echo "--- last lines of $f" >&2
		tail -n 30 "$f" >&2
	done
	exit 1
}

cleanup()
{
	[[ -n $RUNPID ]] && kill "$RUNPID" 2>/dev/null && wait "$RUNPID" 2>/dev/null
	[[ -n $RECPID ]] && kill "$RECPID" 2>/dev/null && wait "$RECPID" 2>/dev/null
	for side in "${!CHARON[@]}"; do
		kill "${CHARON[$side]}" 2>/dev/null && wait "${CHARON[$side]}" 2>/dev/null
	done
	ip netns del "$GW" 2>/dev/null
	ip netns del "$SITE" 2>/dev/null
	rm -rf "$T"
}
[[ -n ${KEEP:-} ]] || trap cleanup EXIT

wait_for()
{
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < end)) || return 1
		sleep 0.2
	done
}

stop_manager()
{
	[[ -n $RUNPID ]] || return 0
	kill "$RUNPID" 2>/dev/null
	wait "$RUNPID"
	local rc=$?
	RUNPID=
	((rc == 0)) || fail "manager exited with $rc (sanitizer report in $T/manager.log?)"
}

for c in ping swanctl /usr/lib/ipsec/charon; do
	command -v "$c" >/dev/null || fail "$c missing (make deps)"
done

# ---- namespaces ----
ip netns add "$GW" && ip netns add "$SITE" || fail "netns"
ip link add "$P-a" netns "$GW" type veth peer name "$P-b" netns "$SITE" || fail "veth"
ip -n "$GW" link set "$P-a" name up0
ip -n "$SITE" link set "$P-b" name up0
for ns in "$GW" "$SITE"; do
	ip -n "$ns" link set lo up
	ip -n "$ns" link set up0 up
	# the LAN: a veth pair inside the namespace (no dummy devices here)
	ip -n "$ns" link add lan0 type veth peer name lan1
	ip -n "$ns" link set lan0 up
	ip -n "$ns" link set lan1 up
done
ip -n "$GW" addr add 192.0.2.1/24 dev up0
ip -n "$SITE" addr add 192.0.2.2/24 dev up0
ip -n "$GW" addr add 10.10.0.1/24 dev lan0
ip -n "$SITE" addr add 192.168.0.1/24 dev lan0

# ---- charon instances ----
charon_conf() # side [lines]
{
	mkdir -p "$T/$1/run"
	# flush_line: charon's filelog is block-buffered by default, and the
	# tests grep the log for lines charon wrote moments ago
	cat >"$T/$1/strongswan.conf" <<-EOF
		charon {
		  load_modular = yes
		  ${2:-}
		  filelog {
		    log { path = $T/$1/charon.log
		      flush_line = yes
		      default = 1
		      ike = 2
		      cfg = 2 }
		  }
		  plugins {
		    include /etc/strongswan.d/charon/*.conf
		    kernel-libipsec { load = yes }
		    bypass-lan { load = no }
		    vici { socket = unix://$T/$1/charon.vici }
		    stroke { load = no }
		  }
		}
		swanctl { socket = unix://$T/$1/charon.vici }
	EOF
}

start_charon() # side ns [hosts]
{
	local hosts=""
	[[ -n ${3:-} ]] && hosts="mount --bind '$3' /etc/hosts &&"
	rm -f "$T/$1/charon.vici"
	ip netns exec "$2" sh -c "mount --bind '$T/$1/run' /run && $hosts \
		STRONGSWAN_CONF='$T/$1/strongswan.conf' exec /usr/lib/ipsec/charon" \
		>>"$T/$1.log" 2>&1 &
	CHARON[$1]=$!
	wait_for 10 test -S "$T/$1/charon.vici" || fail "charon ($1) did not start"
}

stop_charon() # side [signal]
{
	kill -"${2:-TERM}" "${CHARON[$1]}" 2>/dev/null
	wait "${CHARON[$1]}" 2>/dev/null
	unset "CHARON[$1]"
}
