# tests/vici: the VICI client and S2S manager against real charon
# instances in network namespaces (kernel-libipsec); needs root.
$(BA)/vici_drive: tests/vici/vici_drive.c $(BA)/libhnvgw.a $(HDRS)
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN) $< $(BA)/libhnvgw.a $(LIBS) -o $@

.PHONY: vici-test
vici-test: $(BA)/vici_drive
	@echo "== tests/vici/test_charon.sh"; VICI_DRIVE=$(BA)/vici_drive bash tests/vici/test_charon.sh

EXTRA_TESTS += vici-test

# IKE interop (issue 19 item 4): a WS2012R2-like site with and without
# --allow-legacy-crypto, --peer any told apart by remote ID, --peer HOST.
.PHONY: vici-ike-test
vici-ike-test: $(BA)/vici_drive
	@echo "== tests/vici/test_ike_interop.sh"; VICI_DRIVE=$(BA)/vici_drive bash tests/vici/test_ike_interop.sh

EXTRA_TESTS += vici-ike-test
