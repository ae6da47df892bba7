# images/image.mk: the gateway VM image and the qemu lab (included by the top
# Makefile). See images/README.md.
#
#   make image                 build/images/{vmlinuz,initramfs.img,hnvgw.qcow2,hnvgw.vhdx}
#   make lab [SCENARIO=name]   boot the image under qemu, run tests/lab/<name>.sh
#                              (default: all scenarios), then the UEFI boot test
#   make lab-uefi              only the UEFI boot test (OVMF, qcow2, "hnvgw ready")
#   make image-clean           drop the image build and its stage cache
#
# The image stages skip themselves when their inputs are unchanged, so
# `make image` is cheap to repeat; lab and lab-uefi always build it first.

.PHONY: image image-deps lab lab-uefi image-clean

SCENARIO ?=

image-deps:
	@bash images/deps.sh

image: image-deps
	@bash images/build.sh

lab-uefi: image
	@bash images/uefi-test.sh

# The UEFI test boots the disk image: only for full lab runs, not for
# `make lab SCENARIO=name`.
lab: image
	@bash images/lab.sh $(SCENARIO)
	@$(if $(SCENARIO),true,bash images/uefi-test.sh)

image-clean:
	rm -rf build/images
