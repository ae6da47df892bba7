# tests/bgp/rules.mk: gateway/bgp.c against real FRR 8.4 zebra/bgpd pairs in
# network namespaces (tenant VRFs are netns VRFs of `zebra -n`).
#
# make bgp-test: tests/bgp/test_bgp.sh through tests/bgp/bgp_drive.c; needs
# root and frr.

$(BA)/bgp_drive: tests/bgp/bgp_drive.c $(BA)/libhnvgw.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN) $< $(BA)/libhnvgw.a $(LIBS) -o $@

.PHONY: bgp-test
bgp-test: $(BA)/bgp_drive
	@echo "== tests/bgp/test_bgp.sh"; BGP_DRIVE=$(BA)/bgp_drive bash tests/bgp/test_bgp.sh

EXTRA_TESTS += bgp-test
