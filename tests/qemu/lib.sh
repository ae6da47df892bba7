# shellcheck shell=bash disable=SC2034
# tests/qemu/lib.sh: a qemu guest for the host-edge tests (sourced after
# tests/netns/lib.sh, whose $T, $P, BGPIDS, fail and wait_for it uses).
#
# The guest is the smallest thing that boots and talks TCP: a Debian kernel
# (tests/qemu/deps.sh puts one in $GUEST_DIR/kernel: the gateway image's
# when `make image` has run, else the linux-image-amd64 package's) and an
# initramfs built here from the static busybox of busybox-static, the
# virtio_net module with its dependencies, and tests/qemu/guest-init.sh as
# /init. qemu runs with TCG (-accel tcg), one vCPU, the NIC a TAP qemu opens
# itself (-netdev tap,ifname=...,script=no,downscript=no), the serial console
# to a file.

QEMU_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GUEST_DIR=${GUEST_DIR:-$ROOT/build/qemu}
declare -A QPIDS=() # guest name -> qemu PID

# guest_modules MODDIR NAME...: the module files NAME need, dependencies
# first, as paths relative to MODDIR (modinfo's depends field; no
# modules.dep needed)
guest_modules()
{
	local dir=$1
	shift
	local -A seen=()
	local -a order=()
	_gm_add()
	{
		local name=${1//-/_} f d
		[[ -n ${seen[$name]:-} ]] && return 0
		seen[$name]=1
		f=$(find "$dir/kernel" -name "$name.ko" -print -quit)
		[[ -z $f ]] && f=$(find "$dir/kernel" -name "${name//_/-}.ko" -print -quit)
		[[ -n $f ]] || { grep -qE "/$name\.ko$" "$dir/modules.builtin" 2>/dev/null && return 0; fail "guest kernel: no module $name in $dir"; }
		for d in $(modinfo -F depends "$f" | tr ',' ' '); do
			_gm_add "$d"
		done
		order+=("${f#"$dir"/}")
	}
	local m
	for m in "$@"; do
		_gm_add "$m"
	done
	printf '%s\n' "${order[@]}"
}

# guest_build OUT: OUT/vmlinuz and OUT/initramfs.gz from $GUEST_DIR.
guest_build()
{
	local out=$1 k v kver mdir r m
	k=$GUEST_DIR/kernel
	[[ -x $GUEST_DIR/busybox ]] || fail "no static busybox in $GUEST_DIR (tests/qemu/deps.sh)"
	v=$(find -L "$k/boot" -maxdepth 1 -name 'vmlinuz-*' | sort | tail -1)
	[[ -n $v ]] || fail "no guest kernel in $k/boot (tests/qemu/deps.sh)"
	kver=${v##*/vmlinuz-}
	mdir=$k/usr/lib/modules/$kver
	[[ -d $mdir ]] || mdir=$k/lib/modules/$kver
	[[ -d $mdir ]] || fail "no modules for $kver in $k"
	r=$out/initramfs.d
	mkdir -p "$r/bin" "$r/modules"
	cp "$GUEST_DIR/busybox" "$r/bin/busybox"
	install -m 0755 "$QEMU_HERE/guest-init.sh" "$r/init"
	: >"$r/modules.list"
	for m in $(guest_modules "$mdir" virtio_pci virtio_net); do
		cp "$mdir/$m" "$r/modules/"
		basename "$m" >>"$r/modules.list"
	done
	(cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$out/initramfs.gz"
	cp "$v" "$out/vmlinuz"
	GUEST_KVER=$kver
}

# guest_start NAME NS TAP MAC DEVOPTS CMDLINE...: boots the guest in
# namespace $P-NS, its NIC (virtio-net-pci with MAC and the extra
# properties DEVOPTS, "" for none) the TAP named TAP that qemu creates there;
# the console goes to $T/console-NAME.log. Returns once qemu runs (the TAP
# exists).
guest_start()
{
	local name=$1 ns=$2 tap=$3 mac=$4 devopts=${5:+,$5}
	shift 5
	[[ -f $T/vmlinuz ]] || guest_build "$T"
	# not through nsx: $! must be qemu itself (ip netns exec execs it)
	ip netns exec "$P-$ns" qemu-system-x86_64 -accel tcg -machine q35 -m 256 -smp 1 \
		-nodefaults -no-user-config -display none -no-reboot \
		-kernel "$T/vmlinuz" -initrd "$T/initramfs.gz" \
		-append "console=ttyS0 quiet loglevel=3 panic=-1 $*" \
		-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
		-device "virtio-net-pci,netdev=n0,mac=$mac$devopts" \
		-serial "file:$T/console-$name.log" >"$T/qemu-$name.log" 2>&1 &
	QPIDS[$name]=$!
	BGPIDS+=($!)
	wait_for 20 ip netns exec "$P-$ns" ip link show "$tap" ||
		fail "qemu ($name) did not create TAP $tap in $ns: $(cat "$T/qemu-$name.log")"
}

# hnvgwd_with ARGS...: from here on start_host (tests/netns/lib.sh) runs
# hnvgwd with ARGS added, through a wrapper that execs it (so the PID
# lib.sh records is hnvgwd's)
hnvgwd_with()
{
	printf '#!/bin/bash\nexec %q %s "$@"\n' "$HNVGWD" "$*" >"$T/hnvgwd-wrap"
	chmod +x "$T/hnvgwd-wrap"
	HNVGWD=$T/hnvgwd-wrap
}

# guest_running NAME: qemu has not exited
guest_running() { kill -0 "${QPIDS[$1]}" 2>/dev/null; }

# guest_line NAME PATTERN: the first console line of NAME matching the
# extended regex PATTERN (after "HNVT "), without the CR
guest_line()
{
	grep -a -m1 -E "^HNVT ($2)" "$T/console-$1.log" 2>/dev/null | tr -d '\r' || true
}

# guest_wait NAME SECONDS PATTERN: waits until the console has a line
# matching PATTERN, or qemu exits, or SECONDS pass; true if the line came.
guest_wait()
{
	local name=$1 deadline=$((SECONDS + $2)) pat=$3
	while ((SECONDS < deadline)); do
		[[ -n $(guest_line "$name" "$pat") ]] && return 0
		guest_running "$name" || { [[ -n $(guest_line "$name" "$pat") ]]; return; }
		sleep 0.2
	done
	return 1
}

# guest_stop NAME SECONDS: waits for the guest to power off, else kills it
guest_stop()
{
	local name=$1 deadline=$((SECONDS + $2)) pid=${QPIDS[$1]}
	while guest_running "$name" && ((SECONDS < deadline)); do
		sleep 0.2
	done
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
