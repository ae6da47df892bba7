#!/bin/bash
# tests/qemu/deps.sh OUT: what the qemu guest tests need, from Debian
# packages only (needs root for apt-get; silent when everything is there).
#
#   qemu-system-x86_64   qemu-system-x86 (installed with apt-get)
#   OUT/busybox          the static busybox of busybox-static (the package is
#                        downloaded and unpacked into OUT, not installed: it
#                        conflicts with the busybox package the host uses)
#   OUT/kernel/          a guest kernel tree: boot/vmlinuz-KVER and
#                        (usr/)lib/modules/KVER (virtio_net is a module). The
#                        first of:
#                          $GUEST_KERNEL_ROOT (any tree of that shape);
#                          build/images/cache/rootfs, the gateway image's
#                            root (make image), linked;
#                          Debian's linux-image-amd64 dependency
#                            (linux-image-KVER-amd64), downloaded and
#                            unpacked into OUT/kernel (about 70 MB, once).
# Prints nothing but what it installs or downloads; exits non-zero with the
# reason when something cannot be had.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:?usage: deps.sh OUT}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SUDO=
((EUID == 0)) || SUDO=sudo

die() { echo "qemu deps: $*" >&2; exit 1; }

APT_UPDATED=0
apt_update()
{
	((APT_UPDATED)) && return 0
	$SUDO apt-get update -qq >/dev/null || die "apt-get update failed"
	APT_UPDATED=1
}

# fetch_deb PKG DIR: PKG's .deb in DIR (the apt cache's copy if it has one)
fetch_deb()
{
	local pkg=$1 dir=$2 f
	mkdir -p "$dir"
	f=$(find "$dir" /var/cache/apt/archives -maxdepth 1 -name "${pkg}_*_amd64.deb" 2>/dev/null | sort | tail -1)
	if [[ -z $f ]]; then
		apt_update
		echo "qemu deps: apt-get download $pkg" >&2
		(cd "$dir" && apt-get download -q "$pkg" >/dev/null 2>"$dir/$pkg.download.log") ||
			die "apt-get download $pkg failed: $(tail -3 "$dir/$pkg.download.log")"
		f=$(find "$dir" -maxdepth 1 -name "${pkg}_*_amd64.deb" | sort | tail -1)
	fi
	[[ -n $f ]] || die "no .deb for $pkg"
	echo "$f"
}

# ---- qemu ---------------------------------------------------------------
if ! command -v qemu-system-x86_64 >/dev/null; then
	apt_update
	echo "qemu deps: apt-get install qemu-system-x86" >&2
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		qemu-system-x86 >/dev/null || die "apt-get install qemu-system-x86 failed"
fi

# ---- static busybox ---------------------------------------------------------
if [[ ! -x $OUT/busybox ]]; then
	deb=$(fetch_deb busybox-static "$OUT/debs")
	rm -rf "$OUT/bb.tmp"
	dpkg-deb -x "$deb" "$OUT/bb.tmp"
	[[ -x $OUT/bb.tmp/bin/busybox ]] || die "busybox-static has no bin/busybox"
	mv "$OUT/bb.tmp/bin/busybox" "$OUT/busybox"
	rm -rf "$OUT/bb.tmp"
fi

# ---- guest kernel -------------------------------------------------------------
# has_kernel DIR: DIR holds boot/vmlinuz-KVER and that KVER's virtio_net
# module (the initramfs builder resolves module dependencies with modinfo,
# so a package's tree without modules.dep will do)
has_kernel()
{
	local d=$1 v k
	for v in "$d"/boot/vmlinuz-*; do
		[[ -f $v ]] || continue
		k=${v##*/vmlinuz-}
		[[ -f $d/usr/lib/modules/$k/kernel/drivers/net/virtio_net.ko ||
			-f $d/lib/modules/$k/kernel/drivers/net/virtio_net.ko ]] && return 0
	done
	return 1
}

if [[ -n ${GUEST_KERNEL_ROOT:-} ]]; then
	has_kernel "$GUEST_KERNEL_ROOT" || die "GUEST_KERNEL_ROOT=$GUEST_KERNEL_ROOT has no boot/vmlinuz-KVER with its modules"
	ln -sfn "$GUEST_KERNEL_ROOT" "$OUT/kernel"
elif has_kernel "$ROOT/build/images/cache/rootfs"; then
	ln -sfn "$ROOT/build/images/cache/rootfs" "$OUT/kernel"
elif ! has_kernel "$OUT/kernel"; then
	[[ -L $OUT/kernel ]] && rm -f "$OUT/kernel"
	apt_update
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	[[ -n $pkg ]] || die "apt-cache depends linux-image-amd64 names no linux-image-KVER-amd64"
	deb=$(fetch_deb "$pkg" "$OUT/debs")
	rm -rf "$OUT/kernel" "$OUT/kernel.tmp"
	dpkg-deb -x "$deb" "$OUT/kernel.tmp"
	has_kernel "$OUT/kernel.tmp" || die "$pkg has no vmlinuz with modules"
	mv "$OUT/kernel.tmp" "$OUT/kernel"
	rm -f "$deb" # 70 MB; the unpacked tree is what the test uses
fi
exit 0
