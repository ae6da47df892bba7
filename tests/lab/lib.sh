# tests/lab/lib.sh: helpers for the image lab scenarios (sourced). Scenarios
# run inside the gateway VM (`make lab SCENARIO=name`), as root, where the
# kernel has VRF, GRE, ESP and XFRM interfaces; namespaces play the hosts.
set -u
if [[ ${HNVGW_LAB:-} != 1 ]]; then
	echo "$0: runs inside the lab VM: make lab SCENARIO=$(basename "$0" .sh)" >&2
	exit 2
fi
PASS=0 FAIL=0
LAB_NS=()
LAB_TMP=$(mktemp -d /tmp/lab.XXXXXX)
LAB_T0=$SECONDS
LAB_BG=()

section() { printf '\n== %s (t=%ds)\n' "$*" $((SECONDS - LAB_T0)); }
ok() { PASS=$((PASS + 1)); echo "ok   - $*"; }
nok() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
indent() { sed 's/^/       /' | tail -n "${1:-25}"; }

# check DESC CMD...: CMD must succeed.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then ok "$desc"; else nok "$desc"; echo "$out" | indent; fi
}
# check_not DESC CMD...: CMD must fail.
check_not() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then nok "$desc"; echo "$out" | indent; else ok "$desc"; fi
}
# check_grep DESC REGEX CMD...: CMD's output must match the extended REGEX.
check_grep() {
	local desc=$1 re=$2 out
	shift 2
	out=$("$@" 2>&1)
	if grep -qE -- "$re" <<<"$out"; then ok "$desc"; else nok "$desc (no /$re/ in: $*)"; echo "$out" | indent; fi
}
# must CMD...: setup step; on failure the scenario ends here.
must() {
	local out
	if ! out=$("$@" 2>&1); then
		nok "setup: $*"
		echo "$out" | indent
		finish
	fi
}
# netns NAME...: fresh namespaces with lo up, removed by finish.
netns() {
	local n
	for n in "$@"; do
		ip netns del "$n" 2>/dev/null
		must ip netns add "$n"
		LAB_NS+=("$n")
		must ip -n "$n" link set lo up
	done
}
# veth NS1 IF1 NS2 IF2: a veth pair between two namespaces, both ends up.
veth() {
	must ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	must ip -n "$1" link set "$2" up
	must ip -n "$3" link set "$4" up
}
# capture NS IF FILTER: tcpdump in the background into $LAB_TMP/NS-IF.txt;
# returns once it listens. capture_stop ends all captures.
capture() {
	local f=$LAB_TMP/$1-$2.txt i
	ip netns exec "$1" tcpdump -l -nn -v -i "$2" "$3" >"$f" 2>"$f.err" &
	LAB_BG+=($!)
	for ((i = 0; i < 100; i++)); do
		grep -q 'listening on' "$f.err" 2>/dev/null && return 0
		sleep 0.1
	done
	nok "tcpdump on $1/$2 did not start"
	cat "$f.err" | indent
}
capture_stop() {
	local p
	sleep 0.5
	for p in "${LAB_BG[@]}"; do kill "$p" 2>/dev/null; done
	# only the captures: other background daemons keep running
	((${#LAB_BG[@]})) && wait "${LAB_BG[@]}" 2>/dev/null
	LAB_BG=()
}
captured() { cat "$LAB_TMP/$1-$2.txt"; }
finish() {
	local n
	capture_stop
	for n in "${LAB_NS[@]}"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$LAB_TMP"
	printf '\n%s: %d passed, %d failed (%d s)\n' "$(basename "$0" .sh)" "$PASS" "$FAIL" $((SECONDS - LAB_T0))
	((FAIL == 0)) && exit 0
	exit 1
}
