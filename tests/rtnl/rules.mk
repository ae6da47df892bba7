# tests/rtnl/rules.mk: gateway/rtnl.c against the kernel in a network
# namespace (veth, tap, bridge; VRF and XFRM interfaces refused here).
#
# make rtnl-test: tests/rtnl/test_rtnl.sh through tests/rtnl/rtnl_drive.c;
# needs root.

$(BA)/rtnl_drive: tests/rtnl/rtnl_drive.c $(BA)/libhnvgw.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN) $< $(BA)/libhnvgw.a $(LIBS) -o $@

.PHONY: rtnl-test
rtnl-test: $(BA)/rtnl_drive
	@echo "== tests/rtnl/test_rtnl.sh"; RTNL_DRIVE=$(BA)/rtnl_drive bash tests/rtnl/test_rtnl.sh

EXTRA_TESTS += rtnl-test
