#!/bin/bash
# test_verifier_61.sh: the fast path's programs (build/gen/fp.bpf.o) pass
# the verifier of Debian 12's stock kernel (6.1, linux-image-amd64), the
# oldest kernel a host edge runs on.
#
# Boots that kernel under qemu (TCG, no network) with an initramfs of the
# static busybox, the object, and the host's bpftool with the shared
# libraries ldd lists (copied with their paths) and the dynamic loader. The
# guest's /init mounts proc, sysfs and bpffs, loads the object
# (bpftool prog loadall ... type classifier: all three programs and their
# maps; on failure libbpf prints the verifier log), asks the kernel about
# each pinned program (a small static helper built here: BPF_OBJ_GET_INFO_BY_FD,
# whose verified_insns is the verifier's "processed N insns"), prints one
# line per program on the serial console and powers off:
#   HNVT kernel KVER
#   HNVT load ok|fail
#   HNVT log ...                        (on failure: the tail of bpftool's output)
#   HNVT prog NAME processed N xlated N jited N
#   HNVT done
# Asserts the load succeeded and fp_uplink_in, fp_port_in, fp_gw_out are
# loaded, and prints their processed-instruction counts.
#
# The kernel: the first vmlinuz-6.1.* in $GUEST_DIR/kernel/boot
# (tests/qemu/deps.sh: linux-image-amd64's on a Debian 12 host) or in
# $GUEST_DIR/kernel61/boot; else Debian's linux-image-6.1.*-amd64 is
# downloaded (apt-get download, about 70 MB once) and its vmlinuz kept in
# $GUEST_DIR/kernel61. KERNEL=PATH boots another kernel instead. No module
# is needed (BPF and the 8250 console are built in).
# The object: $FP_BPF_OBJ, else $(B)/gen/fp.bpf.o of the build whose
# $HNVGWD make qemu-test passes, else build/gen/fp.bpf.o. KEEP=1 keeps the
# work directory (console.log, the initramfs).
# Needs root only to download the kernel; about 15 s (TCG).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
GUEST_DIR=${GUEST_DIR:-$ROOT/build/qemu}
# the object of the build make qemu-test tests (HNVGWD is $(B)/asan/hnvgwd)
if [[ -n ${FP_BPF_OBJ:-} ]]; then
	OBJ=$FP_BPF_OBJ
elif [[ -n ${HNVGWD:-} ]]; then
	OBJ=$(cd "$(dirname "$HNVGWD")/.." && pwd)/gen/fp.bpf.o
else
	OBJ=$ROOT/build/gen/fp.bpf.o
fi
PROGS="fp_uplink_in fp_port_in fp_gw_out"

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

for c in qemu-system-x86_64 bpftool cpio ldd gzip cc; do
	command -v "$c" >/dev/null || fail "$c is not installed (tests/qemu/deps.sh, make deps)"
done
if [[ ! -f $OBJ && $OBJ == "$ROOT"/build/gen/fp.bpf.o ]]; then
	make -C "$ROOT" --no-print-directory build/gen/fp.bpf.o >/dev/null || fail "cannot build $OBJ"
fi
[[ -f $OBJ ]] || fail "no $OBJ (make all)"

# ---- the 6.1 kernel ----
kernel61()
{
	local v
	for v in "$GUEST_DIR"/kernel/boot/vmlinuz-6.1.* "$GUEST_DIR"/kernel61/boot/vmlinuz-6.1.*; do
		[[ -f $v ]] && { echo "$v"; return 0; }
	done
	return 1
}
if [[ -n ${KERNEL:-} ]]; then
	VMLINUZ=$KERNEL
elif ! VMLINUZ=$(kernel61); then
	SUDO=
	((EUID == 0)) || SUDO=sudo
	[[ -n $(apt-cache policy linux-image-amd64 2>/dev/null) ]] || $SUDO apt-get update -qq >/dev/null || true
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-6\.1\./ {print $2; exit}')
	if [[ -z $pkg ]]; then
		pkg=$(apt-cache search --names-only '^linux-image-6\.1\.[0-9]+-[0-9]+-amd64$' 2>/dev/null |
			awk '{print $1}' | sort -V | tail -1)
	fi
	[[ -n $pkg ]] || fail "no 6.1 kernel package known to apt (want Debian 12's linux-image-6.1.*-amd64)"
	mkdir -p "$GUEST_DIR/debs"
	echo "# apt-get download $pkg" >&2
	(cd "$GUEST_DIR/debs" && apt-get download -q "$pkg" >/dev/null 2>"$pkg.download.log") ||
		fail "apt-get download $pkg failed: $(tail -3 "$GUEST_DIR/debs/$pkg.download.log")"
	deb=$(find "$GUEST_DIR/debs" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -1)
	rm -rf "$GUEST_DIR/kernel61.tmp"
	mkdir -p "$GUEST_DIR/kernel61.tmp/boot"
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$GUEST_DIR/kernel61.tmp" --wildcards './boot/vmlinuz-*'
	rm -rf "$GUEST_DIR/kernel61"
	mv "$GUEST_DIR/kernel61.tmp" "$GUEST_DIR/kernel61"
	rm -f "$deb"
	VMLINUZ=$(kernel61) || fail "$pkg has no boot/vmlinuz-6.1.*"
fi
[[ -x $GUEST_DIR/busybox ]] || bash "$HERE/deps.sh" "$GUEST_DIR" || fail "no static busybox (tests/qemu/deps.sh)"

T=$(mktemp -d /tmp/hnvt-v61.XXXXXX)
QPID=
cleanup()
{
	if [[ -n $QPID ]]; then
		kill "$QPID" 2>/dev/null || true
		wait "$QPID" 2>/dev/null || true
	fi
	if [[ -n ${KEEP:-} ]]; then echo "# kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the initramfs ----
R=$T/root
mkdir -p "$R/bin" "$R/usr/sbin"
cp "$GUEST_DIR/busybox" "$R/bin/busybox"
BPFTOOL=$(command -v bpftool)
BPFTOOL=$(readlink -f "$BPFTOOL")
cp "$BPFTOOL" "$R/usr/sbin/bpftool"
# the libraries and the loader, at the paths ldd names
for lib in $(ldd "$BPFTOOL" | grep -oE '/[^ ]+'); do
	mkdir -p "$R$(dirname "$lib")"
	cp -L "$lib" "$R$lib"
done
cp "$OBJ" "$R/fp.bpf.o"
# progshow PIN...: name, verified_insns, xlated and jited length of each
# pinned program (bpftool 7.1 does not show verified_insns)
cat >"$T/progshow.c" <<'EOF'
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int rc = 0;
	for (int i = 1; i < argc; i++) {
		union bpf_attr a;
		memset(&a, 0, sizeof(a));
		a.pathname = (unsigned long)argv[i];
		int fd = (int)syscall(SYS_bpf, BPF_OBJ_GET, &a, sizeof(a));
		struct bpf_prog_info info;
		memset(&info, 0, sizeof(info));
		memset(&a, 0, sizeof(a));
		a.info.bpf_fd = (unsigned)fd;
		a.info.info_len = sizeof(info);
		a.info.info = (unsigned long)&info;
		if (fd < 0 || syscall(SYS_bpf, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a))) {
			perror(argv[i]);
			rc = 1;
			continue;
		}
		printf("HNVT prog %s processed %u xlated %u jited %u\n", info.name,
		       info.verified_insns, info.xlated_prog_len, info.jited_prog_len);
		close(fd);
	}
	return rc;
}
EOF
cc -static -O2 -o "$R/bin/progshow" "$T/progshow.c" || fail "cannot build the progshow helper (static glibc: libc6-dev)"
cat >"$R/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec >/dev/console 2>&1
mkdir -p /sys/fs/bpf
mount -t bpf bpf /sys/fs/bpf
say() { echo "HNVT $*"; }
say kernel "$(uname -r)"
if /usr/sbin/bpftool prog loadall /fp.bpf.o /sys/fs/bpf/fp type classifier >/tmp/load.log 2>&1; then
	say load ok
else
	say load fail
	grep -v '^[0-9]*: ' /tmp/load.log | tail -n 40 | sed 's/^/HNVT log /'
	grep -E 'back-edge|processed [0-9]+ insns|too large|too complex|stack|jump out of range|unknown func|invalid' /tmp/load.log | head -20 | sed 's/^/HNVT log /'
fi
progshow /sys/fs/bpf/fp/*
say done
sync
poweroff -f
EOF
chmod 0755 "$R/init"
(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 >"$T/initramfs.gz"

# ---- boot ----
T0=$SECONDS
qemu-system-x86_64 -accel tcg -machine q35 -m 256 -smp 1 \
	-nodefaults -no-user-config -display none -no-reboot \
	-kernel "$VMLINUZ" -initrd "$T/initramfs.gz" \
	-append "console=ttyS0 quiet loglevel=3 panic=-1" \
	-serial "file:$T/console.log" >"$T/qemu.log" 2>&1 &
QPID=$!
deadline=$((SECONDS + ${TIMEOUT:-120}))
while kill -0 "$QPID" 2>/dev/null && ((SECONDS < deadline)); do
	grep -aq '^HNVT done' "$T/console.log" 2>/dev/null && break
	sleep 0.2
done
for _ in $(seq 50); do kill -0 "$QPID" 2>/dev/null || break; sleep 0.1; done
kill "$QPID" 2>/dev/null || true
wait "$QPID" 2>/dev/null || true
QPID=
lines=$(grep -a '^HNVT ' "$T/console.log" | tr -d '\r' | sed 's/^HNVT //' || true)
[[ -n $lines ]] || fail "the guest printed nothing in ${TIMEOUT:-120} s: $(tail -5 "$T/qemu.log" "$T/console.log")"
grep -q '^done' <<<"$lines" || fail "the guest did not finish: $(tail -20 "$T/console.log")"
gk=$(sed -n 's/^kernel //p' <<<"$lines")
pass "guest kernel $gk booted and ran bpftool prog loadall in $((SECONDS - T0)) s"
if ! grep -q '^load ok' <<<"$lines"; then
	sed -n 's/^log //p' <<<"$lines" >&2
	fail "bpftool prog loadall failed on $gk (the verifier log's tail above)"
fi
for name in $PROGS; do
	line=$(grep -E "^prog $name " <<<"$lines" || true)
	[[ -n $line ]] || fail "$name is not loaded on $gk"
	read -r _ _ _ processed _ xlated _ jited <<<"$line"
	pass "$name loaded on $gk: verifier processed $processed insns, xlated $xlated B, jited $jited B"
done
