#!/bin/bash
# images/build.sh: builds the hnvgw gateway VM image (`make image`).
#
# Stages, each skipped when the hash of its inputs matches its stamp file
# (build/images/cache/<stage>.stamp):
#   base      mmdebstrap bookworm: images/packages.txt + images/mmdebstrap-hooks
#             -> cache/base/ (kernel, disk initrd, signed shim+GRUB files)
#   hnvgw     `make install DESTDIR=cache/hnvgw-root` (always run; hashed by
#             the installed tree) -> cache/hnvgw-root
#   rootfs    base + hnvgw + images/overlay + images/hnvgwd.service
#             -> cache/rootfs/ (a directory)
#   initramfs the rootfs (pruned: no docs, no hardware drivers) as one cpio
#             -> vmlinuz, initramfs.img (the fast lab boot)
#   disk      GPT: EFI system partition (shim, GRUB, kernel, initrd) + ext4
#             root, built without loop devices -> hnvgw.qcow2
#   vhdx      the same disk as a dynamic VHDX (Hyper-V Generation 2) -> hnvgw.vhdx
#
# Needs root (mmdebstrap root mode, file ownership in the rootfs). Host tools
# come from images/deps.sh. Environment:
#   IMAGE_MIRROR      Debian mirror (default: the one in /etc/apt/sources.list*)
#   IMAGE_SECURITY    Debian security mirror (default: likewise)
#   IMAGE_DISK_SIZE   virtual size of the disk (default 4G)
#   IMAGE_REFRESH=1   rebuild from the base stage even if nothing changed
#                     (picks up new Debian package versions)
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD
OUT=${IMAGE_OUT:-$TOP/build/images}
CACHE=$OUT/cache
SUITE=bookworm
DISK_SIZE=${IMAGE_DISK_SIZE:-4G}
ESP_MB=256
# Fixed identifiers of the disk: the boot config and fstab name them.
DISK_GUID=6e76e9a1-4e56-4757-8a00-000000000001
ESP_PARTUUID=6e76e9a1-4e56-4757-8a00-0000000000e5
ROOT_PARTUUID=6e76e9a1-4e56-4757-8a00-0000000000f5
ROOT_UUID=6e76e9a1-4e56-4757-8a00-00000000f5f5
ESP_VOLID=4E564557          # vfat serial, shows as 4E56-4557
KCMDLINE="root=UUID=$ROOT_UUID ro console=ttyS0,115200 console=tty0 panic=10"

T0=$SECONDS
log() { printf '[image %4ds] %s\n' $((SECONDS - T0)) "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

((EUID == 0)) || die "needs root (mmdebstrap root mode, rootfs ownership); run as root or with sudo"
mkdir -p "$CACHE"

# ---- hashing -------------------------------------------------------------
# tree_hash DIR: names, types, modes, link targets and contents of a tree.
tree_hash() {
	(
		cd "$1"
		find . -printf '%P\t%y\t%m\t%u\t%l\n' | LC_ALL=C sort
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
	) | sha256sum | cut -c1-16
}
# str_hash WORDS...: hash of strings and of files named with @path.
str_hash() {
	local a
	for a in "$@"; do
		if [[ $a == @* ]]; then
			if [[ -d ${a#@} ]]; then tree_hash "${a#@}"; elif [[ -e ${a#@} ]]; then sha256sum <"${a#@}"; else echo "absent ${a#@}"; fi
		else
			printf '%s\n' "$a"
		fi
	done | sha256sum | cut -c1-16
}
# fresh STAGE KEY OUTPUTS...: true if the stage must be (re)built.
fresh() {
	local stage=$1 key=$2 f
	shift 2
	if [[ -f $CACHE/$stage.stamp && $(<"$CACHE/$stage.stamp") == "$key" ]]; then
		for f in "$@"; do [[ -e $f ]] || { log "$stage: output $f missing, rebuilding"; rm -f "$CACHE/$stage.stamp"; return 0; }; done
		log "$stage: up to date ($key)"
		return 1
	fi
	rm -f "$CACHE/$stage.stamp"
	log "$stage: building ($key)"
	return 0
}
stamp() { echo "$2" >"$CACHE/$1.stamp"; log "$1: done"; }

# ---- mirror --------------------------------------------------------------
# The Debian mirror this machine's apt uses (deb822 .sources or one-line .list).
host_uri() { # $1: regex the URI path must match
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[[ -r $f ]] || continue
		grep -hoE '^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)[a-z+]+://[^[:space:]]+' "$f" |
			grep -oE '[a-z+]+://[^[:space:]]+' | sed 's,/*$,,' | grep -E "$1" | head -1
	done | head -1
}
MIRROR=${IMAGE_MIRROR:-$(host_uri '/debian$')}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${IMAGE_SECURITY:-$(host_uri '/debian-security$')}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}

# ---- stage: base -----------------------------------------------------------
PKGS=$(grep -vE '^[[:space:]]*(#|$)' images/packages.txt | tr -d ' \t' | paste -sd,)
BASE_KEY=$(str_hash base-v1 "$SUITE" "$MIRROR" "$SECURITY" "$PKGS" @images/mmdebstrap-hooks)
if [[ ${IMAGE_REFRESH:-0} == 1 ]]; then rm -f "$CACHE/base.stamp"; fi
if fresh base "$BASE_KEY" "$CACHE/base/usr/lib/os-release"; then
	log "base: mmdebstrap $SUITE from $MIRROR ($(tr , '\n' <<<"$PKGS" | wc -l) packages + dependencies; log: $CACHE/base.log)"
	hooks=(--hook-directory="$TOP/images/mmdebstrap-hooks")
	# eatmydata: no fsync during the build (about a third faster)
	if [[ -d /usr/share/mmdebstrap/hooks/eatmydata ]] && command -v eatmydata >/dev/null; then
		hooks=(--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata "${hooks[@]}")
	fi
	rm -rf "$CACHE/base" "$CACHE/base.tmp"
	if ! mmdebstrap --variant=minbase --format=directory --include="$PKGS" "${hooks[@]}" \
		"$SUITE" "$CACHE/base.tmp" \
		"deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" \
		"deb $SECURITY $SUITE-security main" >"$CACHE/base.log" 2>&1; then
		tail -30 "$CACHE/base.log" >&2
		die "mmdebstrap failed (full log: $CACHE/base.log)"
	fi
	mv "$CACHE/base.tmp" "$CACHE/base"
	stamp base "$BASE_KEY"
fi

# ---- stage: hnvgw ----------------------------------------------------------
# `make install DESTDIR=...` when the top Makefile has an install target,
# else the programs found in build/ (release build).
HROOT=$CACHE/hnvgw-root
rm -rf "$HROOT"
mkdir -p "$HROOT"
MAKE=make
if $MAKE -s -n install DESTDIR="$HROOT" >/dev/null 2>&1; then
	log "hnvgw: make install DESTDIR=$HROOT"
	$MAKE -s install DESTDIR="$HROOT" >"$CACHE/hnvgw-install.log" 2>&1 ||
		{ cat "$CACHE/hnvgw-install.log" >&2; die "make install failed"; }
	HNVGW_HOW="make install"
else
	log "hnvgw: no install target in the Makefile; make all and copy build/ programs"
	$MAKE -s all >"$CACHE/hnvgw-install.log" 2>&1 || { cat "$CACHE/hnvgw-install.log" >&2; die "make all failed"; }
	mkdir -p "$HROOT/usr/sbin"
	for p in hnvgwd hnvgw hnvgw-dp; do
		[[ -x build/$p ]] && install -m 0755 "build/$p" "$HROOT/usr/sbin/$p"
	done
	HNVGW_HOW="copied from build/"
fi
[[ -n $(find "$HROOT" -type f -print -quit) ]] || die "no hnvgw programs to install ($HNVGW_HOW installed nothing)"
HNVGW_KEY=$(tree_hash "$HROOT")
log "hnvgw: $HNVGW_HOW: $(find "$HROOT" -type f | sed "s,^$HROOT,," | paste -sd' ')"

# ---- stage: rootfs ---------------------------------------------------------
ROOT=$CACHE/rootfs
ROOTFS_KEY=$(str_hash rootfs-v5 "$BASE_KEY" "$HNVGW_KEY" @images/overlay @images/hnvgwd.service "$KCMDLINE" "$ROOT_UUID" "$ESP_VOLID")
if fresh rootfs "$ROOTFS_KEY" "$ROOT/usr/lib/os-release"; then
	rm -rf "$ROOT"
	cp -a "$CACHE/base" "$ROOT"
	cp -a "$HROOT/." "$ROOT/"
	cp -a --no-preserve=ownership images/overlay/. "$ROOT/"
	chmod 0755 "$ROOT/usr/lib/hnvgw-image/config-drive" "$ROOT/usr/lib/hnvgw-image/ready"
	# hnvgwd's unit: from make install if it put one there, else images/.
	unit=$(find "$ROOT"/{etc,usr/lib,usr/local/lib,lib}/systemd/system -name hnvgwd.service 2>/dev/null | head -1 || true)
	if [[ -z $unit && -f images/hnvgwd.service ]]; then
		install -m 0644 images/hnvgwd.service "$ROOT/usr/lib/systemd/system/hnvgwd.service"
		unit=/usr/lib/systemd/system/hnvgwd.service
	fi
	enable=(hnvgw-config-drive.service hnvgw-ready.service frr.service strongswan.service)
	if [[ -n $unit ]]; then enable+=(hnvgwd.service); log "rootfs: hnvgwd.service: ${unit#$ROOT}"; else log "rootfs: no hnvgwd.service yet (not in make install, no images/hnvgwd.service)"; fi
	chroot "$ROOT" systemctl -q enable "${enable[@]}"
	# zebra keeps its routes in the kernel when it stops (-r) and, started
	# again, keeps those of its previous run for 60 s (-K 60) until their
	# daemons install them again: tenants keep forwarding while zebra
	# restarts
	sed -i 's/^zebra_options="\(.*\)"/zebra_options="\1 -r -K 60"/' "$ROOT/etc/frr/daemons"
	grep -q '^zebra_options=.* -r -K 60"' "$ROOT/etc/frr/daemons" || die "cannot set zebra -r -K 60 in /etc/frr/daemons"
	# watchfrr restarts a daemon that died after 1 s, not after its default
	# 5-60 s backoff (a tenant's BGP routes are gone until bgpd is back);
	# restarts in a row still back off, to at most one every 4 s. It polls
	# every 1 s (-i; default 5): a daemon that went down is restarted one
	# polling interval later, which was 5 of the 7.5 s a cleanly stopped
	# bgpd cost the tenants
	sed -i 's/^#\?watchfrr_options=.*/watchfrr_options="--min-restart-interval 1 --max-restart-interval 4 -i 1"/' \
		"$ROOT/etc/frr/daemons"
	grep -q '^watchfrr_options="--min-restart-interval 1 --max-restart-interval 4 -i 1"' "$ROOT/etc/frr/daemons" ||
		die "cannot set watchfrr_options in /etc/frr/daemons"
	# bgpd reads hnvgwd's tenant fragment itself when it starts: a bgpd
	# that watchfrr restarts has the tenants' instances at once (then
	# watchfrr's `vtysh -b -d bgpd` adds frr.conf), without waiting for
	# hnvgwd to notice it and run vtysh (gateway/bgp.h)
	sed -i 's|^bgpd_options="\(.*\)"|bgpd_options="\1 -f /etc/frr/hnvgw-bgp.conf"|' "$ROOT/etc/frr/daemons"
	grep -q '^bgpd_options=.* -f /etc/frr/hnvgw-bgp.conf"' "$ROOT/etc/frr/daemons" ||
		die "cannot set bgpd -f /etc/frr/hnvgw-bgp.conf in /etc/frr/daemons"
	[[ -e $ROOT/etc/frr/hnvgw-bgp.conf ]] ||
		printf '! no tenants yet: generated by hnvgwd, rewritten on every change\n' >"$ROOT/etc/frr/hnvgw-bgp.conf"
	chmod 0644 "$ROOT/etc/frr/hnvgw-bgp.conf"
	# One IKE daemon: charon-systemd (strongswan.service, configured with
	# swanctl over VICI); the legacy starter would run a second charon.
	chroot "$ROOT" systemctl -q disable strongswan-starter.service
	chroot "$ROOT" systemctl -q mask strongswan-starter.service
	# No SSH server is installed. No console autologin; root is locked until
	# a password hash comes from the config drive (see images/README.md).
	chroot "$ROOT" usermod -p '!' root
	echo hnvgw >"$ROOT/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\thnvgw\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"
	: >"$ROOT/etc/machine-id" # generated on first boot
	cat >"$ROOT/etc/fstab" <<-EOF
		# hnvgw disk image (the lab initramfs has no fstab)
		UUID=$ROOT_UUID  /          ext4  errors=remount-ro  0 1
		UUID=${ESP_VOLID:0:4}-${ESP_VOLID:4:4}  /boot/efi  vfat  umask=0077,nofail  0 2
	EOF
	mkdir -p "$ROOT/boot/efi" "$ROOT/var/lib/hnvgw"
	install -d -m 0700 "$ROOT/etc/hnvgw"
	if [[ ! -e $ROOT/etc/hnvgw/hnvgw.conf ]]; then
		printf '%s\n' "# hnvgw configuration (config text: see README.md). Replaced on boot" \
			"# by hnvgw.conf from a config drive labelled HNVGW, if one is attached." \
			>"$ROOT/etc/hnvgw/hnvgw.conf"
	fi
	chmod 0600 "$ROOT/etc/hnvgw/hnvgw.conf"
	echo "$KCMDLINE" >"$ROOT/usr/lib/hnvgw-image/cmdline"
	{
		echo "HNVGW_IMAGE_ROOTFS=$ROOTFS_KEY"
		echo "HNVGW_IMAGE_BUILT=$(date -u +%FT%TZ)"
		echo "HNVGW_INSTALL=\"$HNVGW_HOW\""
	} >"$ROOT/usr/lib/hnvgw-image/build-info"
	stamp rootfs "$ROOTFS_KEY"
fi
KVER=$(basename "$(ls -d "$ROOT"/usr/lib/modules/* | head -1)")

# ---- stage: initramfs (lab) ------------------------------------------------
# Everything except what a qemu guest never uses: docs, /boot, the disk's
# fstab, and the hardware drivers (GPU, sound, wireless, physical NICs...).
# Kept: net/, crypto/, lib/, fs/, virtio, tun/veth/vrf/... and Hyper-V drivers.
prune() {
	local m=./usr/lib/modules/$KVER/kernel
	find . -mindepth 1 \( -path ./boot -o -path ./etc/fstab -o -path ./usr/share/doc \
		-o -path ./usr/share/man -o -path ./usr/lib/hnvgw-image/efi -o -path ./var/cache/apt \
		-o -path "$m/sound" -o -path "$m/drivers/gpu" -o -path "$m/drivers/media" \
		-o -path "$m/drivers/net/wireless" -o -path "$m/drivers/net/ethernet" \
		-o -path "$m/drivers/infiniband" -o -path "$m/drivers/staging" -o -path "$m/drivers/iio" \
		-o -path "$m/drivers/bluetooth" -o -path "$m/drivers/usb" -o -path "$m/drivers/hid" \
		-o -path "$m/drivers/input" -o -path "$m/drivers/mtd" -o -path "$m/drivers/isdn" \
		-o -path "$m/drivers/net/can" -o -path "$m/drivers/net/usb" -o -path "$m/drivers/scsi" \
		-o -path "$m/drivers/net/wwan" -o -path "$m/drivers/hwmon" -o -path "$m/drivers/platform" \
		-o -path "$m/drivers/mfd" -o -path "$m/drivers/video" -o -path "$m/drivers/leds" \
		-o -path "$m/drivers/misc" -o -path "$m/drivers/edac" -o -path "$m/drivers/watchdog" \
		-o -path "$m/drivers/ata" -o -path "$m/drivers/md" -o -path "$m/drivers/target" \
		-o -path "$m/drivers/nvme" -o -path "$m/drivers/mmc" -o -path "$m/drivers/i2c" \
		-o -path "$m/drivers/thunderbolt" -o -path "$m/drivers/fpga" -o -path "$m/drivers/atm" \
		-o -path "$m/net/wireless" -o -path "$m/net/mac80211" -o -path "$m/net/bluetooth" \
		-o -path "$m/fs/ocfs2" -o -path "$m/fs/btrfs" -o -path "$m/fs/xfs" -o -path "$m/fs/nfs" \
		-o -path "$m/fs/smb" -o -path "$m/fs/f2fs" -o -path "$m/fs/gfs2" -o -path "$m/fs/ceph" \
		-o -path "$m/fs/nfsd" -o -path "$m/fs/ubifs" -o -path "$m/fs/jfs" -o -path "$m/fs/reiserfs" \
		\) -prune -o -print
}
INITRAMFS_KEY=$(str_hash initramfs-v2 "$ROOTFS_KEY" "$(declare -f prune)")
if fresh initramfs "$INITRAMFS_KEY" "$OUT/vmlinuz" "$OUT/initramfs.img"; then
	cp "$ROOT/boot/vmlinuz-$KVER" "$OUT/vmlinuz.tmp"
	tmp=$(mktemp -d)
	ln -s /lib/systemd/systemd "$tmp/init" # the kernel runs /init from an initramfs
	(cd "$ROOT" && prune | LC_ALL=C sort | cpio -o -H newc --quiet) >"$CACHE/rootfs.cpio"
	(cd "$tmp" && echo init | cpio -o -H newc --quiet) >"$CACHE/init.cpio"
	unpacked=$(($(stat -c %s "$CACHE/rootfs.cpio") >> 20))
	# uncompressed archives first: the kernel reads nothing after a compressed one
	{ cat "$CACHE/init.cpio"; zstd -q -T0 -9 <"$CACHE/rootfs.cpio"; } >"$OUT/initramfs.img.tmp"
	rm -rf "$tmp" "$CACHE/rootfs.cpio" "$CACHE/init.cpio"
	mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
	mv "$OUT/initramfs.img.tmp" "$OUT/initramfs.img"
	log "initramfs: kernel $KVER, initramfs.img $(($(stat -c %s "$OUT/initramfs.img") >> 20)) MiB (zstd; $unpacked MiB unpacked)"
	stamp initramfs "$INITRAMFS_KEY"
fi

# ---- stage: disk (qcow2) ---------------------------------------------------
# GPT with an EFI system partition and an ext4 root, assembled in a sparse
# file with sgdisk, mkfs.vfat + mtools and mke2fs -d: no loop devices.
DISK_KEY=$(str_hash disk-v1 "$ROOTFS_KEY" "$DISK_SIZE" "$ESP_MB" @images/grub.cfg.in)
if fresh disk "$DISK_KEY" "$OUT/hnvgw.qcow2"; then
	raw=$CACHE/disk.raw esp=$CACHE/esp.img
	# The disk's initrd must carry the Hyper-V drivers (Generation 2 boots
	# from hv_storvsc); images/mmdebstrap-hooks/setup.sh puts them there.
	# (6.12's modules are compressed: .ko.xz)
	hv=$(chroot "$ROOT" lsinitramfs "/boot/initrd.img-$KVER" | grep -oE '/(hv_vmbus|hv_netvsc|hv_storvsc)\.ko(\.xz|\.zst|\.gz)?$' | sed 's/\.ko.*//' | sort -u | wc -l)
	((hv == 3)) || die "the initrd lacks hv_vmbus/hv_netvsc/hv_storvsc"
	log "disk: initrd has hv_vmbus, hv_storvsc, hv_netvsc"
	rm -f "$raw" "$esp"
	truncate -s "$DISK_SIZE" "$raw"
	sgdisk --clear --disk-guid="$DISK_GUID" \
		-n "1:2048:+${ESP_MB}M" -t 1:EF00 -c 1:"EFI system partition" -u "1:$ESP_PARTUUID" \
		-n 2:0:0 -t 2:8304 -c 2:hnvgw-root -u "2:$ROOT_PARTUUID" "$raw" >/dev/null
	read -r esp_start esp_end < <(sgdisk -i 1 "$raw" | awk '/^First sector/{f=$3} /^Last sector/{l=$3} END{print f, l}')
	read -r root_start root_end < <(sgdisk -i 2 "$raw" | awk '/^First sector/{f=$3} /^Last sector/{l=$3} END{print f, l}')
	# ESP: shim (signed by Microsoft's UEFI CA, so Hyper-V Secure Boot with
	# the "Microsoft UEFI Certificate Authority" template works), GRUB signed
	# by Debian, the kernel and the initramfs-tools initrd (Hyper-V drivers).
	mkfs.vfat -F 32 -n HNVGW-ESP -i "$ESP_VOLID" -C "$esp" $(((esp_end - esp_start + 1) / 2)) >/dev/null
	sed -e "s|@KCMDLINE@|$KCMDLINE|" -e "s|@KVER@|$KVER|" images/grub.cfg.in >"$CACHE/grub.cfg"
	e=$ROOT/usr/lib/hnvgw-image/efi
	export MTOOLS_SKIP_CHECK=1
	mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/EFI/debian ::/hnvgw
	mcopy -i "$esp" "$e/BOOTX64.EFI" "$e/grubx64.efi" "$e/mmx64.efi" "$CACHE/grub.cfg" ::/EFI/BOOT/
	mcopy -i "$esp" "$CACHE/grub.cfg" ::/EFI/debian/
	mcopy -i "$esp" "$ROOT/boot/vmlinuz-$KVER" ::/hnvgw/vmlinuz
	mcopy -i "$esp" "$ROOT/boot/initrd.img-$KVER" ::/hnvgw/initrd.img
	dd if="$esp" of="$raw" bs=512 seek="$esp_start" conv=notrunc,sparse status=none
	rm -f "$esp"
	log "disk: ESP done; root ext4 from the rootfs (mke2fs -d)"
	mke2fs -q -F -t ext4 -L hnvgw-root -U "$ROOT_UUID" -E "offset=$((root_start * 512))" \
		-d "$ROOT" "$raw" "$(((root_end - root_start + 1) / 2))k"
	qemu-img convert -f raw -O qcow2 "$raw" "$OUT/hnvgw.qcow2.tmp"
	mv "$OUT/hnvgw.qcow2.tmp" "$OUT/hnvgw.qcow2"
	rm -f "$raw"
	stamp disk "$DISK_KEY"
fi

# ---- stage: vhdx -----------------------------------------------------------
VHDX_KEY=$(str_hash vhdx-v1 "$DISK_KEY")
if fresh vhdx "$VHDX_KEY" "$OUT/hnvgw.vhdx"; then
	qemu-img convert -f qcow2 -O vhdx -o subformat=dynamic "$OUT/hnvgw.qcow2" "$OUT/hnvgw.vhdx.tmp"
	mv "$OUT/hnvgw.vhdx.tmp" "$OUT/hnvgw.vhdx"
	stamp vhdx "$VHDX_KEY"
fi

size() { du -m --apparent-size "$1" | cut -f1; }
used() { du -m "$1" | cut -f1; }
log "image ready in $((SECONDS - T0)) s: $OUT"
log "  vmlinuz $(size "$OUT/vmlinuz") MiB, initramfs.img $(size "$OUT/initramfs.img") MiB"
log "  hnvgw.qcow2 $(used "$OUT/hnvgw.qcow2") MiB (virtual $DISK_SIZE), hnvgw.vhdx $(used "$OUT/hnvgw.vhdx") MiB"
