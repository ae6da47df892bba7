#!/bin/sh
# mmdebstrap setup hook: runs before any package is installed, so that the
# kernel's postinst builds the disk initrd (initramfs-tools) once, with the
# Hyper-V drivers in it. $1 is the root directory being built.
set -eu
root=$1
mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/etc/initramfs-tools/hooks"

cat >"$root/etc/initramfs-tools/conf.d/hnvgw.conf" <<'CONF'
# hnvgw: generic initrd (the image boots on qemu/KVM and on Hyper-V Gen2).
MODULES=most
COMPRESS=zstd
CONF

cat >"$root/etc/initramfs-tools/hooks/hnvgw-hyperv" <<'HOOK'
#!/bin/sh
# hnvgw: Hyper-V Generation 2 drivers in the initrd: VMBus, synthetic SCSI
# (the boot disk), synthetic NIC, integration services, keyboard.
PREREQ=""
prereqs() { echo "$PREREQ"; }
case "${1:-}" in prereqs) prereqs; exit 0 ;; esac
. /usr/share/initramfs-tools/hook-functions
manual_add_modules hv_vmbus hv_storvsc hv_netvsc hv_utils hyperv_keyboard hid_hyperv hv_balloon
# plus virtio for qemu/KVM
manual_add_modules virtio_pci virtio_blk virtio_scsi virtio_net
HOOK
chmod 0755 "$root/etc/initramfs-tools/hooks/hnvgw-hyperv"
