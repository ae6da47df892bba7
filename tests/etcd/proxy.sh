# shellcheck shell=bash
# proxy.sh: a TCP proxy (proxy.py) in front of etcd member 1 through which
# one host reaches etcd, so that a test can cut it off: proxy_stop (killed:
# connections refused) or kill -STOP "$PROXY_PID" (frozen: requests hang),
# and proxy_start / kill -CONT to bring it back. Sourced after lib.sh by
# test_pool.sh, test_pool_tenants.sh and test_pool_s2s.sh.

# the port: the first free one the kernel gives, kept for a restart
PROXY_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PROXY_PID=
proxy_start()
{
	python3 "$HERE/proxy.py" "$PROXY_PORT" "$BASEPORT" &
	PROXY_PID=$!
	# shellcheck disable=SC2034,SC2154 # EPIDS: lib.sh's associative array
	EPIDS[proxy]=$PROXY_PID
	wait_for 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PROXY_PORT" || fail "proxy did not start"
}
proxy_stop() { kill -9 "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null; unset "EPIDS[proxy]"; }
# a frozen proxy would not end on lib.sh's SIGTERM: thaw it first
trap '[[ -n $PROXY_PID ]] && kill -CONT "$PROXY_PID" 2>/dev/null; cleanup' EXIT
