#!/bin/bash
# test_trace.sh: `hnvgw trace` on live traffic of the Blue/Red lab (lib.sh).
#   - trace --count 3 --port blue1 on host 1 and --port uplink on host 2
#     while Blue1 pings Blue2 three times: host 1 records three echo
#     requests encapsulated toward the uplink (stages lookup,
#     encap; verdict forward; counter tx_encap; VSID 5001); host 2 records
#     three decapsulated and delivered to blue2 (stages decap,
#     deliver; counter rx_decap_delivered);
#   - a frame from Blue1 aimed at Red2's MAC is traced as a drop with its
#     reason (the same record format as hnvgw-dp replay --trace);
#   - trace refuses a port that does not exist; without traffic it times
#     out with exit status 1 and says how many packets it traced.
# Needs root. Run by `make netns-test`.
set -euo pipefail
# shellcheck source=tests/netns/lib.sh
source "$(dirname "$0")/lib.sh"

((EUID == 0)) || fail "needs root (network namespaces)"
lab_setup
# no ARP inside the traced window: Blue1 knows Blue2's MAC
nsx b1 ip neigh replace 10.0.0.7 lladdr 06:06:00:00:00:07 nud permanent dev blue1
nsx b2 ip neigh replace 10.0.0.5 lladdr 06:06:00:00:00:05 nud permanent dev blue2
nsx b1 ping -c 1 -W 2 10.0.0.7 >/dev/null || fail "Blue1 -> Blue2 before tracing"
pass "lab up"

cli h1 trace --count 3 --port blue1 --timeout 20 >"$T/trace-h1.json" 2>"$T/trace-h1.err" &
t1=$!
cli h2 trace --count 3 --port uplink --timeout 20 >"$T/trace-h2.json" 2>"$T/trace-h2.err" &
t2=$!
# the sessions are armed once each CLI has its first reply; ping until both finish
for _ in $(seq 1 100); do
	nsx b1 ping -c 1 -W 1 10.0.0.7 >/dev/null 2>&1 || true
	kill -0 "$t1" 2>/dev/null || kill -0 "$t2" 2>/dev/null || break
	sleep 0.1
done
wait "$t1" || fail "trace on h1: $(<"$T/trace-h1.err")"
wait "$t2" || fail "trace on h2: $(<"$T/trace-h2.err")"

check() # check FILE INGRESS EGRESS COUNTER STAGES...
{
	python3 - "$@" <<'EOF'
import json, sys
path, ingress, egress, counter = sys.argv[1:5]
stages = sys.argv[5:]
# the decisions: with the kernel fast path they are its records (tier
# "fast path", no stages); a frame it punts has a "punt" record and then the
# engine's, with stages
recs = [json.loads(l) for l in open(path) if l.strip()]
recs = [r for r in recs if r.get("verdict") != "punt"]
if len(recs) != 3:
    sys.exit("%d records, want 3" % len(recs))
for i, r in enumerate(recs):
    engine = r.get("tier", "engine") == "engine"
    got = [s["stage"] for s in r.get("stages", [])]
    want = dict(ingress=ingress, egress=egress, verdict="forward", counter=counter, vsid=5001)
    bad = {k: r.get(k) for k, v in want.items() if r.get(k) != v}
    if engine and (any(s not in got for s in stages) or not all(s["decision"] for s in r["stages"])):
        bad["stages"] = got
    if bad:
        sys.exit("record %d: %s (differs: %s)" % (i, json.dumps(r), bad))
EOF
}
check "$T/trace-h1.json" blue1 uplink tx_encap lookup encap ||
	fail "h1 trace records: $(cat "$T/trace-h1.json")"
pass "h1: 3 packets from blue1 traced: -> uplink (tx_encap, VSID 5001; stages lookup, encap in the engine)"
check "$T/trace-h2.json" uplink blue2 rx_decap_delivered decap deliver ||
	fail "h2 trace records: $(cat "$T/trace-h2.json")"
pass "h2: 3 packets from the uplink traced: -> blue2 (rx_decap_delivered; stages decap, deliver in the engine)"

# a drop: Blue1 aims at Red2's MAC
nsx b1 ip neigh replace 10.0.0.7 lladdr 08:08:00:00:00:07 nud permanent dev blue1
cli h1 trace --count 1 --port blue1 --timeout 20 >"$T/trace-drop.json" 2>"$T/trace-drop.err" &
t3=$!
for _ in $(seq 1 100); do
	nsx b1 ping -c 1 -W 1 10.0.0.7 >/dev/null 2>&1 && fail "Blue1 reached Red2's MAC"
	kill -0 "$t3" 2>/dev/null || break
done
wait "$t3" || fail "drop trace: $(<"$T/trace-drop.err")"
python3 - "$T/trace-drop.json" <<'EOF' || fail "drop trace: $(cat "$T/trace-drop.json")"
import json, sys
r = json.loads(open(sys.argv[1]).readline())
assert r["verdict"] == "drop" and "egress" not in r, r
assert r["counter"] in ("drop_no_record", "drop_spoof"), r
# the engine's record ends with the verdict stage; the fast path's has none
assert r.get("tier") == "fast path" or r["stages"][-1]["stage"] == "verdict", r
EOF
pass "a frame to Red2's MAC traced as a drop: $(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["counter"])' "$T/trace-drop.json")"

if cli h1 trace --count 1 --port nosuch >/dev/null 2>"$T/err"; then
	fail "trace on a port that does not exist succeeded"
fi
grep -q 'no port "nosuch"' "$T/err" || fail "unknown port: $(<"$T/err")"
rc=0
cli h1 trace --count 2 --port red1 --timeout 1 >"$T/none.json" 2>"$T/err" || rc=$?
((rc == 1)) || fail "trace without traffic exited $rc"
grep -q "0 of 2 packets traced" "$T/err" || fail "timeout message: $(<"$T/err")"
pass "unknown port refused; no traffic: exit 1 after the timeout"

stop_host h1
stop_host h2
pass "both hnvgwd exit 0 without sanitizer reports"
