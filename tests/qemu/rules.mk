# tests/qemu/rules.mk: real qemu guests attached to a host edge.
#
# make qemu-test   tests/qemu/test_*.sh: test_guest_attach.sh boots a
#                  Debian kernel with a busybox initramfs under qemu (TCG),
#                  its NIC the TAP qemu opens itself, attaches that TAP to
#                  hnvgwd with `port add --dev`, and checks ping and TCP
#                  both ways over NVGRE to a VM behind a second host edge.
#                  tests/qemu/deps.sh first fetches the guest kernel and
#                  busybox-static into $(B)/qemu (Debian packages). Needs root.

.PHONY: qemu-test qemu-deps
qemu-deps:
	@bash tests/qemu/deps.sh $(B)/qemu

qemu-test: qemu-deps $(BA)/hnvgwd $(BA)/hnvgw
	@set -e; for t in tests/qemu/test_*.sh; do echo "== $$t"; \
	  GUEST_DIR=$(abspath $(B)/qemu) HNVGWD=$(abspath $(BA)/hnvgwd) HNVGW=$(abspath $(BA)/hnvgw) bash $$t; done

EXTRA_TESTS += qemu-test
