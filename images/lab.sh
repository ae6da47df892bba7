#!/bin/bash
# images/lab.sh: host side of `make lab`. Boots build/images/vmlinuz +
# initramfs.img under qemu once per scenario, with tests/lab/ and a runner
# added to the initramfs as a second cpio archive; the guest runs
# tests/lab/<scenario>.sh, its output streams here from the serial console,
# and its exit status comes back as a marker line, then the guest powers off.
#
#   images/lab.sh [SCENARIO...]     default: every tests/lab/*.sh except lib*.sh
#                                   and *-bench.sh, and scenarios marked
#                                   "# lab-default: no"
# Environment:
#   LAB_ACCEL=auto|tcg|kvm  auto (default): KVM only if a quick probe boots a
#                           kernel with it (cached), else TCG
#   LAB_TIMEOUT=600         seconds per boot, host side (boot + scenario)
#   LAB_GUEST_TIMEOUT=480   seconds for the scenario script, guest side
#   LAB_MEM=2048 LAB_SMP=2  guest size
#   LAB_VERBOSE=1           kernel and systemd messages on the console too
#   LAB_LOG_DIR=build/images/lab   where each boot's full console log goes
#   LAB_RETRIES=1           a failed scenario is booted again this many times
#                           (its failed attempts are kept and printed)
#   LAB_PASS_ENV="VAR ..."  these variables of this environment are exported
#                           to the scenario too (e.g. SCALE_TENANTS)
set -uo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
IMG=build/images
LOGDIR=${LAB_LOG_DIR:-$IMG/lab}
TIMEOUT=${LAB_TIMEOUT:-600}
GTIMEOUT=${LAB_GUEST_TIMEOUT:-480}
MEM=${LAB_MEM:-2048}
SMP=${LAB_SMP:-2}
T0=$SECONDS
log() { printf '[lab %4ds] %s\n' $((SECONDS - T0)) "$*"; }

for f in "$IMG/vmlinuz" "$IMG/initramfs.img"; do
	[[ -f $f ]] || { log "missing $f: run make image first"; exit 2; }
done
command -v qemu-system-x86_64 >/dev/null || { log "qemu-system-x86_64 missing: run images/deps.sh"; exit 2; }

# ---- accelerator -----------------------------------------------------------
# /dev/kvm here is a nested paravirtual implementation that cannot run real
# guests (qemu fails at once or hangs), so KVM is used only when a kernel
# boots with it to its "no root" panic within seconds. The verdict is cached
# per kernel and qemu version.
kvm_works() {
	[[ -r /dev/kvm && -w /dev/kvm ]] || return 1
	local key cache=$IMG/cache/kvm-probe
	key="$(qemu-system-x86_64 --version | head -1) $(stat -c %s.%Y "$IMG/vmlinuz") $(uname -r)"
	if [[ -f $cache && $(head -1 "$cache") == "$key" ]]; then
		[[ $(tail -1 "$cache") == yes ]]
		return
	fi
	local verdict=no
	if timeout 20 qemu-system-x86_64 -accel kvm -cpu host -m 256 -kernel "$IMG/vmlinuz" \
		-append "console=ttyS0 panic=-1" -no-reboot -display none -monitor none -nic none \
		-serial stdio </dev/null 2>&1 | grep -q -m1 -E 'Kernel panic|VFS: Unable to mount root'; then
		verdict=yes
	fi
	mkdir -p "$IMG/cache"
	printf '%s\n%s\n' "$key" "$verdict" >"$cache"
	[[ $verdict == yes ]]
}
case ${LAB_ACCEL:-auto} in
kvm) ACCEL=(-accel kvm -cpu host) ;;
tcg) ACCEL=(-accel tcg -cpu max) ;;
*) if kvm_works; then ACCEL=(-accel kvm -cpu host); else ACCEL=(-accel tcg -cpu max); fi ;;
esac

# ---- scenarios -------------------------------------------------------------
if (($# > 0)); then
	SCENARIOS=("$@")
else
	SCENARIOS=()
	for f in tests/lab/*.sh; do
		b=$(basename "$f" .sh)
		# lib*: helpers; *-bench: benchmarks, run by make bench only
		# "# lab-default: no": a scenario still being finished (run it by name)
		[[ $b == lib* || $b == *-bench ]] || grep -q '^# lab-default: no' "$f" ||
			SCENARIOS+=("$b")
	done
fi
((${#SCENARIOS[@]})) || { log "no scenarios in tests/lab/"; exit 2; }
for s in "${SCENARIOS[@]}"; do
	[[ -f tests/lab/$s.sh ]] || { log "no scenario tests/lab/$s.sh"; exit 2; }
done
mkdir -p "$LOGDIR"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hnvgw-lab.XXXXXX")
QPID=""
cleanup() {
	[[ -n $QPID ]] && kill "$QPID" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# The lab overlay: an uncompressed cpio archive put before the image's
# initramfs (the kernel unpacks both; it reads nothing after a compressed
# archive, so the overlay only adds files). It holds tests/lab/, the runner and its unit,
# and masks the serial getty so that the console carries only the scenario.
o=$WORK/overlay
mkdir -p "$o/lab/tests" "$o/etc/systemd/system/multi-user.target.wants" "$o/usr/lib/hnvgw-image"
cp -r tests/lab "$o/lab/tests/"
install -m 0644 images/lab/hnvgw-lab.service "$o/etc/systemd/system/"
install -m 0755 images/lab/lab-run "$o/usr/lib/hnvgw-image/"
ln -s ../hnvgw-lab.service "$o/etc/systemd/system/multi-user.target.wants/hnvgw-lab.service"
ln -s /dev/null "$o/etc/systemd/system/serial-getty@ttyS0.service"
# LAB_PASS_ENV: /lab/env, sourced by lab-run (names checked, values quoted)
: >"$o/lab/env"
for v in ${LAB_PASS_ENV:-}; do
	[[ $v =~ ^[A-Z][A-Z0-9_]*$ ]] || { log "LAB_PASS_ENV: bad name '$v'"; exit 2; }
	[[ -n ${!v+set} ]] && printf 'export %s=%q\n' "$v" "${!v}" >>"$o/lab/env"
done
(cd "$o" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$WORK/overlay.cpio"
cat "$WORK/overlay.cpio" "$IMG/initramfs.img" >"$WORK/initrd"

QUIET="quiet loglevel=3 systemd.show_status=error"
[[ ${LAB_VERBOSE:-0} == 1 ]] && QUIET=""

# boot S LOG: one boot of scenario S, its console in LOG; sets rc (the
# scenario's exit status, 124 on a timeout, 125 when qemu ended without
# the exit marker).
boot() {
	local s=$1 lf=$2 rcf qrc qp
	rcf=$WORK/$s.rc
	rm -f "$rcf" "$WORK/qemu.pid"
	# -no-reboot + panic=-1: a guest panic ends qemu instead of looping.
	timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 "${ACCEL[@]}" -m "$MEM" -smp "$SMP" \
		-machine q35 -kernel "$IMG/vmlinuz" -initrd "$WORK/initrd" \
		-append "console=ttyS0,115200 panic=-1 $QUIET hnvgw.lab=$s hnvgw.lab_timeout=$GTIMEOUT" \
		-no-reboot -display none -monitor none -serial stdio -nic none \
		-device virtio-rng-pci -pidfile "$WORK/qemu.pid" </dev/null 2>&1 |
		tee "$lf" | while IFS= read -r line; do
			line=${line//$'\r'/}
			if [[ $line =~ @@HNVGW-LAB-EXIT\ scenario=[^\ ]*\ rc=([0-9]+)@@ ]]; then
				echo "${BASH_REMATCH[1]}" >"$rcf"
				echo "$line"
				# The guest powers off; stop this scenario's qemu if it
				# lingers. The pid is read now and checked against the
				# scenario's command line before the kill, so a late
				# timer never hits the next scenario's qemu.
				qp=$(cat "$WORK/qemu.pid" 2>/dev/null)
				[[ -n $qp ]] && (sleep 15
					grep -qa "hnvgw.lab=$s " "/proc/$qp/cmdline" 2>/dev/null && kill "$qp") </dev/null >/dev/null 2>&1 &
			elif [[ $line == *'hnvgw ready'* ]]; then
				printf '[lab %4ds] guest: %s (boot took %d s)\n' $((SECONDS - T0)) "$line" $((SECONDS - tb))
			else
				printf '  | %s\n' "$line"
			fi
		done
	qrc=${PIPESTATUS[0]}
	if [[ -f $rcf ]]; then
		rc=$(<"$rcf")
	elif ((qrc == 124 || qrc == 137)); then
		log "scenario $s: TIMEOUT after $TIMEOUT s (no exit marker)"
		rc=124
	else
		log "scenario $s: qemu ended (status $qrc) without an exit marker"
		rc=125
	fi
}

# checks_failed LOG: the failed checks of a console log, with the first
# lines each printed about it; when no check failed (the guest's kernel
# died, or the scenario timed out), the kernel's oops and the log's last
# lines instead
checks_failed() {
	local out
	out=$(tr -d '\r' <"$1" |
		awk '/^FAIL - / { print "    " $0; n = 4; next }
		     n > 0 && /^       / { print "    " $0; n--; next } { n = 0 }' | tail -n 40)
	if [[ -n $out ]]; then
		printf '%s\n' "$out"
		return
	fi
	echo "    (no check failed; the guest kernel's oops, if any, and the last lines of the console)"
	tr -d '\r' <"$1" | grep -E -m 6 '(Oops|BUG|RIP|Kernel panic|Call Trace)' | sed 's/^/    /'
	tr -d '\r' <"$1" | grep -v -E '^\[ *[0-9]+\.[0-9]+\] ' | tail -n 8 | sed 's/^/    /'
}

# A scenario that fails is booted once more (LAB_RETRIES, default 1): the
# lab runs under TCG on shared, noisy machines. Its first failure is kept
# ($LOGDIR/<scenario>.try<N>.log) and its failed checks are printed at the
# end either way, so a pass on a second attempt is visible, not hidden.
RETRIES=${LAB_RETRIES:-1}
pass=0 fail=0 failed=() retried=()
for s in "${SCENARIOS[@]}"; do
	lf=$LOGDIR/$s.log
	rm -f "$LOGDIR/$s".try*.log
	for ((try = 1; ; try++)); do
		log "scenario $s: booting ${ACCEL[*]} -m $MEM -smp $SMP (timeout $TIMEOUT s; console log $lf)$( ((try > 1)) && echo ", attempt $try")"
		tb=$SECONDS
		boot "$s" "$lf"
		((rc == 0 || try > RETRIES)) && break
		cp "$lf" "$LOGDIR/$s.try$try.log"
		retried+=("$s.try$try")
		log "scenario $s: FAIL (status $rc) in $((SECONDS - tb)) s on attempt $try; console log: $LOGDIR/$s.try$try.log; booting it again"
	done
	if ((rc == 0)); then
		pass=$((pass + 1))
		log "scenario $s: PASS in $((SECONDS - tb)) s$( ((try > 1)) && echo " on attempt $try")"
	else
		fail=$((fail + 1))
		failed+=("$s")
		log "scenario $s: FAIL (status $rc) in $((SECONDS - tb)) s; console log: $lf"
	fi
done
# The failed checks again, last, so that the tail of a long run (what a CI
# summary keeps) says which ones failed and why: first the attempts that
# were booted again, then the scenarios that failed
for t in "${retried[@]}"; do
	log "scenario ${t%.try*}, attempt ${t##*.try} (booted again) failed these checks:"
	checks_failed "$LOGDIR/$t.log"
done
for s in "${failed[@]}"; do
	log "scenario $s failed these checks:"
	checks_failed "$LOGDIR/$s.log"
done
log "lab: ${#SCENARIOS[@]} scenario(s), $pass passed, $fail failed${failed:+: ${failed[*]}}; ${#retried[@]} failed attempt(s) booted again${retried:+: ${retried[*]}}"
((fail == 0))
