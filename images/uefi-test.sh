#!/bin/bash
# images/uefi-test.sh: boots build/images/hnvgw.qcow2 under qemu with OVMF
# (UEFI firmware; shim -> GRUB -> kernel -> initramfs-tools initrd -> ext4
# root -> systemd) and waits for the console marker "hnvgw ready". A vfat
# config drive labelled HNVGW is attached, and the boot must import its
# hnvgw.conf. The disk is opened read-only (snapshot): the image stays clean.
#
# Environment:
#   UEFI_TIMEOUT=420      seconds allowed from qemu start to the marker
#   UEFI_SECUREBOOT=1     use OVMF with Secure Boot on and Microsoft's keys
#                         enrolled (what Hyper-V's "Microsoft UEFI Certificate
#                         Authority" template does); slower under TCG
#   UEFI_DISK=path        another disk (e.g. the .vhdx) instead of the qcow2
set -uo pipefail
shopt -s extglob
cd "$(dirname "$0")/.."
IMG=build/images
DISK=${UEFI_DISK:-$IMG/hnvgw.qcow2}
TIMEOUT=${UEFI_TIMEOUT:-420}
LOG=$IMG/lab/uefi-boot.log
[[ ${UEFI_SECUREBOOT:-0} == 1 ]] && LOG=$IMG/lab/uefi-boot-secureboot.log
T0=$SECONDS
log() { printf '[uefi %4ds] %s\n' $((SECONDS - T0)) "$*"; }

[[ -f $DISK ]] || { log "missing $DISK: run make image first"; exit 2; }
if [[ ${UEFI_SECUREBOOT:-0} == 1 ]]; then
	CODE=/usr/share/OVMF/OVMF_CODE_4M.ms.fd VARS=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
	MACHINE=(-machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on)
else
	CODE=/usr/share/OVMF/OVMF_CODE.fd VARS=/usr/share/OVMF/OVMF_VARS.fd
	MACHINE=(-machine q35)
fi
[[ -f $CODE && -f $VARS ]] || { log "missing OVMF firmware $CODE: run images/deps.sh"; exit 2; }
mkdir -p "$(dirname "$LOG")"
case $DISK in *.vhdx) FMT=vhdx ;; *.raw | *.img) FMT=raw ;; *) FMT=qcow2 ;; esac

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hnvgw-uefi.XXXXXX")
trap '[[ -f $WORK/qemu.pid ]] && kill "$(cat "$WORK/qemu.pid")" 2>/dev/null; rm -rf "$WORK"' EXIT
cp "$VARS" "$WORK/vars.fd"
# Config drive: vfat labelled HNVGW, made without loop devices (mtools).
printf '%s\n' "# hnvgw.conf from the UEFI boot test's config drive" \
	"global set --flowid on" >"$WORK/hnvgw.conf"
mkfs.vfat -n HNVGW -C "$WORK/config.img" 2048 >/dev/null
MTOOLS_SKIP_CHECK=1 mcopy -i "$WORK/config.img" "$WORK/hnvgw.conf" ::/hnvgw.conf

log "booting $DISK ($FMT) with $(basename "$CODE"), -accel tcg; waiting up to $TIMEOUT s for \"hnvgw ready\""
found=$WORK/found
timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -m 2048 -smp 2 "${MACHINE[@]}" \
	-drive "if=pflash,format=raw,readonly=on,file=$CODE" \
	-drive "if=pflash,format=raw,file=$WORK/vars.fd" \
	-drive "if=virtio,format=$FMT,file=$DISK,snapshot=on" \
	-drive "if=virtio,format=raw,file=$WORK/config.img,readonly=on" \
	-no-reboot -display none -monitor none -serial stdio -nic none \
	-device virtio-rng-pci -pidfile "$WORK/qemu.pid" </dev/null 2>&1 |
	tee "$LOG" | while IFS= read -r line; do
		line=${line//$'\r'/}
		line=${line//$'\e['*([0-9;?])[A-Za-z]/} # firmware/GRUB colour codes
		case $line in
		*"hnvgw ready"*)
			printf '[uefi %4ds] %s\n' $((SECONDS - T0)) "$line"
			echo ready >>"$found"
			;;
		*"hnvgw config: imported"*)
			printf '[uefi %4ds] %s\n' $((SECONDS - T0)) "$line"
			echo config >>"$found"
			;;
		*"hnvgw: up "*)
			printf '[uefi %4ds] %s\n' $((SECONDS - T0)) "$line"
			echo "status ${line#*hnvgw: up }" >>"$found"
			kill "$(cat "$WORK/qemu.pid")" 2>/dev/null
			;;
		*"Linux version"* | *"Kernel panic"* | *"Loading hnvgw"* | *"hnvgw config:"* | *"Welcome to"*)
			printf '[uefi %4ds] %s\n' $((SECONDS - T0)) "$line"
			;;
		esac
	done
grep -q ready "$found" 2>/dev/null || { log "FAIL: no \"hnvgw ready\" within $TIMEOUT s (console log: $LOG)"; exit 1; }
grep -q config "$found" 2>/dev/null || { log "FAIL: the config drive's hnvgw.conf was not imported (console log: $LOG)"; exit 1; }
status=$(grep '^status ' "$found")
if [[ -z $status ]] || grep -qE '=(failed|inactive|activating)|failed units' <<<"$status"; then
	log "FAIL: services not all active after boot: ${status:-no status line} (console log: $LOG)"
	exit 1
fi
log "PASS: UEFI boot to \"hnvgw ready\" in $((SECONDS - T0)) s, config drive imported"
