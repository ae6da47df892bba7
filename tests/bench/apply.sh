#!/bin/bash
# apply.sh: what a large lookup table costs hnvgwd (make bench-apply; needs
# root for /proc/PID/clear_refs). Against a real hnvgwd (no --uplink: the
# configuration side only) holding RECORDS lookup records (default 1000000,
# BENCH_APPLY_RECORDS=N to change), it measures:
#   load_s            start of hnvgwd to its control socket answering, with
#                     the records already in the state directory: parse,
#                     validate, datapath build of the whole stored config;
#   rss_mib, bytes_per_record
#                     VmRSS after that load, and (VmRSS - VmRSS of a daemon
#                     with the same config and 0 records) / RECORDS: what one
#                     record costs in the model and the datapath together;
#   add_ms_*, del_ms_*
#                     wall clock of one `hnvgw lookup add` (a new record) and
#                     one `hnvgw lookup del` (of it) against that daemon,
#                     REPEAT times each (BENCH_APPLY_REPEAT, default 5),
#                     min and median: the CLI's round trip of a one-line
#                     transaction, i.e. everything hnvgwd does per change
#                     (hnvgwd replies only after the change is persisted);
#   add_cpu_ms_median hnvgwd's own CPU time (utime+stime, all threads, in
#                     whole clock ticks, 10 ms at CLK_TCK 100) for one
#                     add: the part of add_ms that is computation, not
#                     waiting on the disk (fsync) or the scheduler;
#   peak_growth_mib   how far VmHWM rose above VmRSS during one add (the
#                     largest of the REPEAT adds): the transient memory one
#                     change needs on top of the steady state. VmHWM is
#                     reset to the current RSS before each add (clear_refs
#                     5), so the load's own peak does not hide it.
# The stored config is written the way hnvgwd itself stores it (hnvgw.conf
# and revisions/000001.conf, identical, in hnvgwd's canonical form), so the
# start is a plain load with no repair commit. Records: one routing domain,
# one VSID 5001 with 10.0.0.0/8, CAs 10.0.0.16 upwards, MACs 02:00:xx..,
# PAs spread over 1000 hosts (172.16.0.1 ..). Prints lines beginning with
# "BENCH apply"; asserts no timings. The state (about 100 MB of config
# text at 1000000 records) lives in a temporary directory removed at the
# end; the baseline line's add_ms_median (the same add to a daemon holding
# no records, same run) is the reference add_vs_empty divides by. The
# machine is shared: figures
# vary with the load of other processes and with the disk.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
HNVGWD=${HNVGWD:-$ROOT/build/hnvgwd}
HNVGW=${HNVGW:-$ROOT/build/hnvgw}
RECORDS=${BENCH_APPLY_RECORDS:-1000000}
REPEAT=${BENCH_APPLY_REPEAT:-5}
# how long a start may take before we give up (s); 1M records loaded in
# minutes on slow code is a result, not a failure
START_TIMEOUT=${BENCH_APPLY_START_TIMEOUT:-1800}

die() { echo "bench-apply: $*" >&2; exit 1; }

((EUID == 0)) || die "needs root (/proc/PID/clear_refs of hnvgwd)"
command -v python3 >/dev/null || die "python3 is not installed (make deps)"
[[ -x $HNVGWD && -x $HNVGW ]] || die "build $HNVGWD and $HNVGW first"
if ! [[ $RECORDS =~ ^[0-9]+$ ]] || ((RECORDS < 1 || RECORDS > 16000000)); then
	die "BENCH_APPLY_RECORDS must be 1-16000000 (CAs in 10.0.0.0/8), not '$RECORDS'"
fi
if ! [[ $REPEAT =~ ^[0-9]+$ ]] || ((REPEAT < 1 || REPEAT > 40)); then
	die "BENCH_APPLY_REPEAT must be 1-40 (the store keeps 50 revisions), not '$REPEAT'"
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/hnvgw-bench-apply.XXXXXX")
DPID=
cleanup()
{
	if [[ -n $DPID ]] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID" 2>/dev/null || true
		wait "$DPID" 2>/dev/null || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ns() { date +%s%N; }

# status_kib PID FIELD: VmRSS, VmHWM... of PID in KiB.
status_kib()
{
	awk -v f="$2:" '$1 == f { print $2; found = 1 } END { exit !found }' "/proc/$1/status" ||
		die "no $2 in /proc/$1/status"
}

# cpu_ticks PID: utime + stime of PID in clock ticks (fields 14 and 15 of
# /proc/PID/stat, counted after the command name, which may hold spaces).
cpu_ticks()
{
	local s
	s=$(<"/proc/$1/stat")
	s=${s##*) }
	read -r -a f <<<"$s"
	echo $((f[11] + f[12]))
}
TICK_MS=$((1000 / $(getconf CLK_TCK)))

# gen_state DIR N: a state directory holding the benchmark config with N
# lookup records, as hnvgwd would have stored it after committing it.
gen_state()
{
	local dir=$1 n=$2
	mkdir -p "$dir/revisions"
	chmod 0700 "$dir" "$dir/revisions"
	python3 - "$dir/hnvgw.conf" "$n" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("rdomain add bench --rdid {BE0C0000-0000-0000-0000-000000005001}\n"
            "vsubnet add 5001 --rdomain bench --prefix 10.0.0.0/8\n")
    base = 16  # 10.0.0.0 is the network, 10.0.0.1 the default gateway
    out = []
    for i in range(n):
        a = 0x0A000000 + base + i
        m = base + i
        h = i % 1000
        out.append("lookup add --vsid 5001 --ca %d.%d.%d.%d --pa 172.16.%d.%d "
                   "--mac 02:00:%02x:%02x:%02x:%02x --rule encap --type static\n"
                   % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, h // 250, h % 250 + 1,
                      m >> 24, (m >> 16) & 255, (m >> 8) & 255, m & 255))
        if len(out) == 65536:
            f.write("".join(out))
            out.clear()
    f.write("".join(out))
PY
	chmod 0600 "$dir/hnvgw.conf"
	cp "$dir/hnvgw.conf" "$dir/revisions/000001.conf"
}

# start_daemon STATE SOCK LOG: starts hnvgwd (DPID) and waits until its
# control socket answers; LOAD_NS is the time that took. The socket appears
# only once the stored config is loaded and the datapath built, so the wait
# is the load (plus at most one 20 ms poll interval).
start_daemon()
{
	local state=$1 sock=$2 log=$3 t0 t1
	t0=$(now_ns)
	"$HNVGWD" --foreground --state-dir "$state" --socket "$sock" --zebra none --vici none \
		--log-level notice >>"$log" 2>&1 &
	DPID=$!
	while :; do
		if [[ -S $sock ]] && "$HNVGW" --socket "$sock" show revisions >/dev/null 2>&1; then
			break
		fi
		if ! kill -0 "$DPID" 2>/dev/null; then
			echo "bench-apply: hnvgwd exited during start; last lines of $log:" >&2
			tail -n 15 "$log" >&2
			DPID=
			exit 1
		fi
		if (($(now_ns) - t0 > START_TIMEOUT * 1000000000)); then
			echo "bench-apply: hnvgwd did not answer within $START_TIMEOUT s; last lines of $log:" >&2
			tail -n 15 "$log" >&2
			exit 1
		fi
		sleep 0.02
	done
	t1=$(now_ns)
	LOAD_NS=$((t1 - t0))
}

stop_daemon()
{
	kill -TERM "$DPID"
	wait "$DPID" || true
	DPID=
}

# cli_ms ARGS...: runs the CLI against the daemon, prints its wall clock in
# ms (3 decimals); a refusal ends the benchmark.
cli_ms()
{
	local t0 t1 out
	t0=$(now_ns)
	out=$("$HNVGW" --socket "$T/hnvgwd.sock" "$@" 2>&1) || die "hnvgw $*: $out"
	t1=$(now_ns)
	awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f\n", d / 1e6 }'
}

# stats: min and median of the numbers on stdin, "MIN MEDIAN".
stats()
{
	sort -g | awk '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.3f %.3f\n", v[1], m }'
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# 1. the baseline: the same config without records
gen_state "$T/state0" 0
start_daemon "$T/state0" "$T/hnvgwd.sock" "$T/hnvgwd0.log"
rss0=$(status_kib "$DPID" VmRSS)
# the reference for section 3, in the same run: one lookup add to a daemon
# holding no records is the CLI's round trip and a journal-less store commit
add0_ms=()
for ((k = 0; k < REPEAT; k++)); do
	add0_ms+=("$(cli_ms lookup add --vsid 5001 --ca "10.0.0.$((16 + k))" --pa 172.16.0.1 \
		--mac "$(printf '02:02:00:00:00:%02x' "$k")")")
done
stop_daemon
read -r _ add0_med < <(printf '%s\n' "${add0_ms[@]}" | stats)
printf 'BENCH apply-baseline records=0 load_s=%s rss_mib=%s add_ms_median=%s\n' \
	"$(awk -v d="$LOAD_NS" 'BEGIN { printf "%.3f", d / 1e9 }')" "$(mib "$rss0")" "$add0_med"

# 2. the load of RECORDS records
t0=$(now_ns)
gen_state "$T/state" "$RECORDS"
gen_s=$(awk -v d=$(($(now_ns) - t0)) 'BEGIN { printf "%.1f", d / 1e9 }')
conf_kib=$(($(stat -c %s "$T/state/hnvgw.conf") / 1024))
sync # the generated files reach the disk now, not during the first apply
start_daemon "$T/state" "$T/hnvgwd.sock" "$T/hnvgwd.log"
load_s=$(awk -v d="$LOAD_NS" 'BEGIN { printf "%.3f", d / 1e9 }')
rss=$(status_kib "$DPID" VmRSS)
load_hwm=$(status_kib "$DPID" VmHWM)
bpr=$(awk -v a="$rss" -v b="$rss0" -v n="$RECORDS" 'BEGIN { printf "%.0f", (a - b) * 1024 / n }')

# 3. single changes against the loaded daemon; records beyond the loaded
# ones (CA 10.0.0.16+RECORDS+k, MAC 02:01:..), removed again one by one
add_ms=() add_cpu=() del_ms=() growths=() growth=0 hwm_reset=yes
for ((k = 0; k < REPEAT; k++)); do
	a=$((0x0A000000 + 16 + RECORDS + k))
	ca="$((a >> 24)).$(((a >> 16) & 255)).$(((a >> 8) & 255)).$((a & 255))"
	mac=$(printf '02:01:00:00:00:%02x' "$k")
	if ! echo 5 >"/proc/$DPID/clear_refs" 2>/dev/null; then
		hwm_reset=no # old kernel: growth is then above the earlier peak
	fi
	before=$(status_kib "$DPID" VmRSS)
	[[ $hwm_reset == yes ]] || before=$(status_kib "$DPID" VmHWM)
	c0=$(cpu_ticks "$DPID")
	add_ms+=("$(cli_ms lookup add --vsid 5001 --ca "$ca" --pa 172.16.0.1 --mac "$mac")")
	add_cpu+=($((($(cpu_ticks "$DPID") - c0) * TICK_MS)))
	after=$(status_kib "$DPID" VmHWM)
	growths+=("$(mib $((after - before)))")
	((after - before > growth)) && growth=$((after - before))
done
rss_after=$(status_kib "$DPID" VmRSS)
for ((k = 0; k < REPEAT; k++)); do
	a=$((0x0A000000 + 16 + RECORDS + k))
	ca="$((a >> 24)).$(((a >> 16) & 255)).$(((a >> 8) & 255)).$((a & 255))"
	mac=$(printf '02:01:00:00:00:%02x' "$k")
	del_ms+=("$(cli_ms lookup del --vsid 5001 --ca "$ca" --mac "$mac")")
done
stop_daemon

read -r add_min add_med < <(printf '%s\n' "${add_ms[@]}" | stats)
read -r del_min del_med < <(printf '%s\n' "${del_ms[@]}" | stats)
read -r _ cpu_med < <(printf '%s\n' "${add_cpu[@]}" | stats)
printf 'BENCH apply records=%s load_s=%s rss_mib=%s bytes_per_record=%s add_ms_median=%s add_ms_min=%s del_ms_median=%s del_ms_min=%s add_cpu_ms_median=%.0f peak_growth_mib=%s add_vs_empty=%s\n' \
	"$RECORDS" "$load_s" "$(mib "$rss")" "$bpr" "$add_med" "$add_min" "$del_med" "$del_min" \
	"$cpu_med" "$(mib "$growth")" \
	"$(awk -v a="$add_med" -v b="$add0_med" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')"
printf 'BENCH apply-detail records=%s conf_mib=%s gen_s=%s load_hwm_mib=%s rss_after_adds_mib=%s repeat=%s hwm_reset=%s add_ms=%s del_ms=%s growth_mib=%s\n' \
	"$RECORDS" "$(mib "$conf_kib")" "$gen_s" "$(mib "$load_hwm")" "$(mib "$rss_after")" "$REPEAT" \
	"$hwm_reset" "$(IFS=,; echo "${add_ms[*]}")" "$(IFS=,; echo "${del_ms[*]}")" \
	"$(IFS=,; echo "${growths[*]}")"
