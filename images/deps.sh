#!/bin/bash
# images/deps.sh: installs the host tools of `make image` / `make lab` if any
# are missing (same style as tests/deps.sh: silent when everything is there,
# non-interactive, safe to run again and again).
set -euo pipefail

PKGS=(
	mmdebstrap eatmydata                     # rootfs
	qemu-system-x86 qemu-utils ovmf          # boots, qcow2/vhdx, UEFI firmware
	dosfstools mtools gdisk e2fsprogs        # disk image without loop devices
	cpio zstd                                # initramfs
)

missing=()
for p in "${PKGS[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[[ $status == installed ]] || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
	exit 0
fi

if ((EUID != 0)); then
	if command -v sudo >/dev/null; then
		SUDO=(sudo -n)
	else
		echo "images/deps.sh: missing packages: ${missing[*]}; run as root to install them" >&2
		exit 1
	fi
else
	SUDO=()
fi

echo "images/deps.sh: installing ${missing[*]}" >&2
"${SUDO[@]}" apt-get update -q </dev/null
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	"${missing[@]}" </dev/null
