# tests/gateway/rules.mk: gateway-role tests run in network namespaces on
# this machine (no VRF devices here: tenants are emulated with ip rules).
#
# make nat-test: table inet hnvgw and the conntrack zones (gateway/nat.c)
# driven by tests/gateway/nat_drive.c; needs root.

$(BA)/nat_drive: tests/gateway/nat_drive.c $(BA)/libhnvgw.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN) $< $(BA)/libhnvgw.a $(LIBS) -o $@

.PHONY: nat-test
nat-test: $(BA)/nat_drive
	@echo "== tests/gateway/test_nat.sh"; NAT_DRIVE=$(BA)/nat_drive bash tests/gateway/test_nat.sh

EXTRA_TESTS += nat-test
