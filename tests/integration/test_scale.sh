#!/bin/bash
# test_scale.sh: the README's scale through the CLI (issue 17 finding 7:
# the 1 MiB line limit of the control protocol broke `show config`, `show
# lookup` and `commit -f` of real configurations):
#   - one `commit -f` of 1,000 ports (about what one host holds) and 19,000
#     lookup records (the remote VMs of a 10,000-port deployment and more:
#     20,000 rows of show lookup, about 1.8 MB of config text) is one
#     transaction, sent in chunks (api.h "exec" with "more");
#   - `show config`, `show lookup` and `show ports` print all of it, root
#     and a member of group hnvgw alike; a reply is one page of at most
#     HNV_API_PAGE_BYTES (api.h "offset"/"next");
#   - `show lookup --vsid N`, `--ca IP`, `--pa IP` filter on the daemon;
#   - hnvgwd's VmRSS stays bounded over repeated shows.
# Needs root. Run by `make integration-test`.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (runs the CLI as a member of group hnvgw)"
setup_user
# a small ASan quarantine: VmRSS follows what is held (as test_control.sh)
export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=4:thread_local_quarantine_size_kb=64"

SOCK=$(sock_of main)
PORTS=1000
RECORDS=19000

# VSIDs 7001 and 7002: PORTS/2 ports and RECORDS/2 records (remote VMs) each
python3 - "$PORTS" "$RECORDS" >"$T/scale.conf" <<'PY'
import sys
ports, records = int(sys.argv[1]), int(sys.argv[2])
print("pa add 192.168.4.11/24 --dev eth0")
print("rdomain add scale --rdid {33333333-2222-3333-4444-000000007001}")
for v in (7001, 7002):
    print("vsubnet add %d --rdomain scale --prefix 10.%d.0.0/16" % (v, v - 6930))
def ca(v, i):
    return "10.%d.%d.%d" % (v - 6930, i // 250 + 1, i % 250 + 2)
for i in range(ports):
    v, k = 7001 + i % 2, i // 2
    print("port add p%d-%d --vsid %d --ca %s --mac 02:%02x:00:%02x:%02x:%02x"
          % (v, k, v, ca(v, k), v & 255, k >> 16, (k >> 8) & 255, k & 255))
for i in range(records):
    v, k = 7001 + i % 2, ports // 2 + i // 2
    print("lookup add --vsid %d --ca %s --pa 192.168.4.22 --mac 0a:%02x:00:%02x:%02x:%02x --rule encap --type static "
          "--vm-name remote-%d-%d" % (v, ca(v, k), v & 255, k >> 16, (k >> 8) & 255, k & 255, v, k))
PY
size=$(stat -c %s "$T/scale.conf")
((size > 1100000)) || fail "the config is smaller than intended ($size bytes)"

start_daemon main
PID=${DPIDS[main]}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$PID/status"; }

# ---- one commit -f of more than 1 MiB ----
timeout 300 "$T/bin/hnvgw" --socket "$SOCK" commit -f "$T/scale.conf" >"$T/out" 2>"$T/err" ||
	fail "issue 17 finding 7: commit -f of $size bytes failed: $(<"$T/err")"
run_status 0 cli show revisions
revs=$(grep -c '^[0-9]' <<<"$OUT" || true)
((revs == 1)) || fail "issue 17 finding 7: commit -f made $revs revisions, want 1: $OUT"
pass "issue 17 finding 7: commit -f of $size bytes ($PORTS ports, $RECORDS records) in one transaction"

# rows: the rows of the table in $T/out (without its header)
rows() { tail -n +2 "$T/out" | wc -l; }

# ---- show config, show lookup, show ports print everything ----
rss0=$(rss_kb)
peak=$rss0
for ((k = 0; k < 3; k++)); do
	run_status 0 cli show config
	n=$(grep -c '^port add' "$T/out" || true)
	((n == PORTS)) || fail "issue 17 finding 7: show config printed $n of $PORTS ports"
	n=$(grep -c '^lookup add' "$T/out" || true)
	((n == RECORDS)) || fail "issue 17 finding 7: show config printed $n of $RECORDS records"
	cmp -s <(grep -v '^#' "$T/scale.conf" | grep -v '^$' | sort) <(sort "$T/out") ||
		fail "issue 17 finding 7: show config is not the committed config"
	run_status 0 cli show lookup
	n=$(rows)
	((n == PORTS + RECORDS)) || fail "issue 17 finding 7: show lookup printed $n rows, want $((PORTS + RECORDS))"
	r=$(rss_kb)
	((r > peak)) && peak=$r
done
pass "issue 17 finding 7: show config ($PORTS ports, $RECORDS records) and show lookup ($((PORTS + RECORDS)) rows)"

run_status 0 cli show ports
n=$(rows)
((n == PORTS)) || fail "issue 17 finding 7: show ports printed $n rows, want $PORTS"
run_status 0 cli --json show lookup
python3 -c '
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == int(sys.argv[2]), len(rows)
keys = {(r["VirtualSubnetID"], r["CustomerAddress"]) for r in rows}
assert len(keys) == len(rows), "a row twice"
' "$T/out" $((PORTS + RECORDS)) || fail "issue 17 finding 7: show lookup --json is not every row once"

# a member of group hnvgw pages too (its requests are at most 16 KiB)
run_status 0 as_user show lookup
n=$(rows)
((n == PORTS + RECORDS)) || fail "issue 17 finding 7: a member's show lookup printed $n rows"
run_status 0 as_user show config
n=$(grep -c '^lookup add' "$T/out" || true)
((n == RECORDS)) || fail "issue 17 finding 7: a member's show config printed $n records"
pass "issue 17 finding 7: show ports, show lookup --json and a member's shows are complete"

# ---- a reply is one bounded page ----
run_status 0 "${CTL[@]}" raw "$SOCK" '{"v":1,"op":"show","what":"lookup","offset":0}'
((${#OUT} <= 262144 + 4096)) || fail "issue 17 finding 7: a page of show lookup is ${#OUT} bytes"
contains "$OUT" '"next":' "issue 17 finding 7: the first page of show lookup"
run_status 0 "${CTL[@]}" raw "$SOCK" '{"v":1,"op":"show","what":"config","offset":0}'
((${#OUT} <= 262144 + 4096)) || fail "issue 17 finding 7: a page of show config is ${#OUT} bytes"
# unpaged, the whole reply still exceeds a line: a clear refusal
run_status 1 "${CTL[@]}" raw "$SOCK" '{"v":1,"op":"show","what":"lookup"}'
contains "$ERR" "offset" "issue 17 finding 7: an unpaged show lookup too large for one line"
pass "issue 17 finding 7: replies come in pages of at most 256 KiB"

# ---- filters on the daemon ----
run_status 0 cli show lookup --vsid 7002
n=$(rows)
((n == (PORTS + RECORDS) / 2)) || fail "issue 17 finding 7: show lookup --vsid 7002 printed $n rows"
n=$(tail -n +2 "$T/out" | awk '$2 != 7002' | wc -l)
((n == 0)) || fail "issue 17 finding 7: show lookup --vsid 7002 printed $n rows of another VSID"
run_status 0 cli show lookup --vsid 7001 --ca 10.71.1.2
n=$(rows)
((n == 1)) || fail "issue 17 finding 7: show lookup --vsid 7001 --ca 10.71.1.2 printed $n rows: $OUT"
contains "$OUT" "p7001-0" "the port's record"
run_status 0 cli show lookup --pa 192.168.4.22
n=$(rows)
((n == RECORDS)) || fail "issue 17 finding 7: show lookup --pa 192.168.4.22 printed $n rows"
run_status 0 as_user show lookup --vsid 7001 --pa 192.168.4.11
n=$(rows)
((n == PORTS / 2)) || fail "issue 17 finding 7: a member's show lookup --vsid 7001 --pa printed $n rows"
run_status 0 cli show lookup --vsid 9999
[[ -z $OUT ]] || fail "issue 17 finding 7: show lookup --vsid 9999 printed: $OUT"
run_status 2 cli show lookup --vsid x
run_status 2 cli show lookup --ca 10.1
run_status 1 cli show rdomains --ca 10.71.1.2
pass "issue 17 finding 7: show lookup --vsid/--ca/--pa filter on the daemon"

# ---- bounded memory ----
r=$(rss_kb)
((r > peak)) && peak=$r
growth=$(((peak - rss0) / 1024))
((growth < 32)) || fail "issue 17 finding 7: hnvgwd grew by $growth MiB over the shows (VmRSS $rss0 -> $peak kB)"
pass "issue 17 finding 7: hnvgwd grew by $growth MiB over repeated shows"

# ---- chunked transactions are all or nothing ----
{
	grep '^lookup add' "$T/scale.conf" | sed 's/^lookup add/lookup set/'
	echo "lookup add --vsid 7001 --ca 10.99.0.1 --pa 192.168.4.22 --mac 0a:00:00:00:00:01"
} >"$T/bad.conf"
(($(stat -c %s "$T/bad.conf") > 1048576)) || fail "bad.conf is smaller than intended"
before=$(cli show config | md5sum)
run_status 1 cli commit -f "$T/bad.conf"
contains "$ERR" "line $((RECORDS + 1))" "issue 17 finding 7: a refused chunked commit names the file's line"
after=$(cli show config | md5sum)
[[ $before == "$after" ]] || fail "issue 17 finding 7: a refused chunked commit changed the config"
pass "issue 17 finding 7: a refused chunked commit changes nothing and names its line"

stop_daemon main
echo "test_scale.sh: all passed"
