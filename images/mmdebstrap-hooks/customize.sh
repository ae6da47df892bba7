#!/bin/sh
# mmdebstrap customize hook: runs after all packages are installed, inside the
# base stage (cached). Fetches the signed UEFI boot loaders (shim, GRUB) as
# files only: they go on the EFI system partition, never installed as
# packages (their maintainer scripts would try to run grub-install). $1 is the
# root directory being built.
set -eu
root=$1
efi=/usr/lib/hnvgw-image/efi
mkdir -p "$root/tmp/efidebs" "$root$efi"
chroot "$root" sh -c 'cd /tmp/efidebs && apt-get download -q shim-signed shim-helpers-amd64-signed grub-efi-amd64-signed' >/dev/null
for deb in "$root"/tmp/efidebs/*.deb; do
	dpkg-deb -x "$deb" "$root/tmp/efidebs/x"
done
cp "$root/tmp/efidebs/x/usr/lib/shim/shimx64.efi.signed" "$root$efi/BOOTX64.EFI"
cp "$root/tmp/efidebs/x/usr/lib/shim/mmx64.efi.signed" "$root$efi/mmx64.efi"
cp "$root/tmp/efidebs/x/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed" "$root$efi/grubx64.efi"
ls "$root"/tmp/efidebs/*.deb | sed 's,.*/,,' >"$root$efi/VERSIONS"
rm -rf "$root/tmp/efidebs"

# bgpd is off in Debian's default /etc/frr/daemons; the gateway needs it.
sed -i 's/^bgpd=no/bgpd=yes/' "$root/etc/frr/daemons"

# Smaller image: no docs, man pages or translations (dpkg excludes them for
# later installs too).
mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
cat >"$root/etc/dpkg/dpkg.cfg.d/hnvgw-nodoc" <<'CFG'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
CFG
find "$root/usr/share/doc" -type f ! -name copyright -delete 2>/dev/null || true
rm -rf "$root/usr/share/man" "$root/usr/share/info"
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
