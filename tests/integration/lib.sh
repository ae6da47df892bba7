# shellcheck shell=bash disable=SC2034
# lib.sh: helpers for the hnvgwd integration tests (sourced, bash).
#
# Every test gets a private temporary directory $T (state directories,
# sockets, logs) and starts its daemons there; cleanup() stops them by PID
# and removes $T. HNVGWD and HNVGW name the binaries under test (the ASan
# builds when run by `make integration-test`).

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
HNVGWD=${HNVGWD:-$ROOT/build/asan/hnvgwd}
HNVGW=${HNVGW:-$ROOT/build/asan/hnvgw}
CTL=(python3 "$HERE/ctl.py")

# Leaks are reported at a clean exit; any sanitizer report fails the test.
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

T=$(mktemp -d /tmp/hnvgw-it.XXXXXX)
# The non-root user must reach the sockets and the CLI binary.
chmod 0755 "$T"
mkdir -p "$T/bin"
cp "$HNVGW" "$T/bin/hnvgw"
chmod 0755 "$T/bin" "$T/bin/hnvgw"

declare -A DPIDS=() # instance -> daemon PID

fail()
{
	echo "FAIL: $*" >&2
	local f
	for f in "$T"/*.log; do
		[[ -f $f ]] || continue
		echo "--- last lines of $f" >&2
		tail -n 25 "$f" >&2
	done
	exit 1
}

pass()
{
	echo "ok - $*"
}

# Paths of instance I (default "main").
state_of() { echo "$T/state-${1:-main}"; }
sock_of() { echo "$T/run-${1:-main}/hnvgw.sock"; }
log_of() { echo "$T/hnvgwd-${1:-main}.log"; }

# cli_in I ARGS...: the CLI against instance I.
cli_in()
{
	local i=$1
	shift
	timeout 30 "$T/bin/hnvgw" --socket "$(sock_of "$i")" "$@"
}

cli() { cli_in main "$@"; }

# start_daemon [I [ARGS...]]: starts instance I in the foreground (in the
# background of this shell), with more hnvgwd options ARGS, and waits
# until it answers. DAEMON_WRAP: a command that runs it (ip netns exec NS).
DAEMON_WRAP=()
start_daemon()
{
	local i=${1:-main}
	mkdir -p "$(dirname "$(sock_of "$i")")"
	chmod 0755 "$(dirname "$(sock_of "$i")")"
	"${DAEMON_WRAP[@]}" "$HNVGWD" --foreground --state-dir "$(state_of "$i")" \
		--socket "$(sock_of "$i")" --log-level debug "${@:2}" >>"$(log_of "$i")" 2>&1 &
	DPIDS[$i]=$!
	local n
	for ((n = 0; n < 200; n++)); do
		if [[ -S $(sock_of "$i") ]] && cli_in "$i" show revisions >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "${DPIDS[$i]}" 2>/dev/null || fail "hnvgwd ($i) exited during start"
		sleep 0.05
	done
	fail "hnvgwd ($i) did not answer within 10 s"
}

# stop_daemon [I]: SIGTERM; the daemon must exit 0 with a clean log.
stop_daemon()
{
	local i=${1:-main} rc=0
	kill -TERM "${DPIDS[$i]}"
	wait "${DPIDS[$i]}" || rc=$?
	unset "DPIDS[$i]"
	((rc == 0)) || fail "hnvgwd ($i) exited with status $rc on SIGTERM"
	[[ ! -e $(sock_of "$i") ]] || fail "hnvgwd ($i) left its socket behind"
	check_log "$i"
}

# kill9_daemon [I]: SIGKILL, no cleanup of any kind.
kill9_daemon()
{
	local i=${1:-main}
	kill -KILL "${DPIDS[$i]}"
	wait "${DPIDS[$i]}" 2>/dev/null || true
	unset "DPIDS[$i]"
}

# check_log [I]: no sanitizer report in the daemon's log.
check_log()
{
	local f
	f=$(log_of "${1:-main}")
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: ' "$f"; then
		fail "sanitizer report in $f"
	fi
}

# run_status WANT CMD...: runs CMD, leaves its stdout in $OUT and stderr in
# $ERR, and fails unless it exits WANT.
run_status()
{
	local want=$1 rc=0
	shift
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	OUT=$(<"$T/out")
	ERR=$(<"$T/err")
	((rc == want)) || fail "'$*' exited $rc, expected $want; stdout: $OUT; stderr: $ERR"
}

# The whole observable configuration of instance main.
snapshot()
{
	cli show config --show-secrets
	cli show revisions
}

# refused CMD...: CMD must exit 1 with a message and change nothing.
refused()
{
	local before after
	before=$(snapshot)
	run_status 1 "$@"
	[[ -n $ERR ]] || fail "'$*' was refused without a message"
	after=$(snapshot)
	[[ $before == "$after" ]] || fail "'$*' was refused but changed the configuration"
}

# contains HAYSTACK NEEDLE WHAT / lacks HAYSTACK NEEDLE WHAT
contains()
{
	[[ $1 == *"$2"* ]] || fail "$3: \"$2\" missing in: $1"
}

lacks()
{
	[[ $1 != *"$2"* ]] || fail "$3: \"$2\" must not appear in: $1"
}

CREATED_USER=""
CREATED_GROUP=""
ADDED_MEMBER=""

# A non-root member of group hnvgw, created if missing (and removed again).
setup_user()
{
	TUSER=hnvgwtest
	if ! getent group hnvgw >/dev/null; then
		groupadd --system hnvgw
		CREATED_GROUP=1
	fi
	if ! id "$TUSER" >/dev/null 2>&1; then
		useradd --system --no-create-home --shell /usr/sbin/nologin "$TUSER"
		CREATED_USER=1
	fi
	if ! id -nG "$TUSER" | tr ' ' '\n' | grep -qx hnvgw; then
		usermod -a -G hnvgw "$TUSER"
		ADDED_MEMBER=1
	fi
}

# as_user ARGS...: the CLI as $TUSER against instance main.
as_user()
{
	timeout 30 runuser -u "$TUSER" -- "$T/bin/hnvgw" --socket "$(sock_of main)" "$@"
}

cleanup()
{
	local i
	for i in "${!DPIDS[@]}"; do
		kill -TERM "${DPIDS[$i]}" 2>/dev/null || true
		wait "${DPIDS[$i]}" 2>/dev/null || true
	done
	[[ -n ${LOOP_PID:-} ]] && { kill "$LOOP_PID" 2>/dev/null || true; wait "$LOOP_PID" 2>/dev/null || true; }
	[[ -n ${CLEAN_NETNS:-} ]] && { ip netns del "$CLEAN_NETNS" 2>/dev/null || true; }
	if [[ -n $ADDED_MEMBER && -z $CREATED_USER ]]; then
		gpasswd -d "$TUSER" hnvgw >/dev/null 2>&1 || true
	fi
	[[ -n $CREATED_USER ]] && userdel "$TUSER" 2>/dev/null
	[[ -n $CREATED_GROUP ]] && groupdel hnvgw 2>/dev/null
	rm -rf "$T"
	return 0
}
trap cleanup EXIT
