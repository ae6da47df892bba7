#!/bin/bash
# deps.sh: installs hnvgw's Debian build and test dependencies if any are
# missing. Silent when everything is installed; non-interactive (works as root
# with no stdin, as CI runs it); safe to run again and again.
set -euo pipefail

PKGS=(
	build-essential clang libclang-rt-14-dev pkg-config libbpf-dev bpftool
	liburcu-dev libjson-c-dev libcmocka-dev libmnl-dev libnftnl-dev
	libcurl4-openssl-dev libmicrohttpd-dev prometheus
	tshark python3-scapy iproute2 tcpdump iputils-ping iperf3
	frr strongswan-charon strongswan-swanctl libcharon-extra-plugins
	libstrongswan-standard-plugins
	etcd-server etcd-client openssl nftables conntrack openvswitch-switch
	isc-dhcp-client busybox netsniff-ng ethtool
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
		echo "deps.sh: missing packages: ${missing[*]}; run as root to install them" >&2
		exit 1
	fi
else
	SUDO=()
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo 'wireshark-common wireshark-common/install-setuid boolean false' |
	"${SUDO[@]}" debconf-set-selections
"${SUDO[@]}" apt-get update -q </dev/null
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	"${missing[@]}" </dev/null
