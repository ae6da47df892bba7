# tests/vici: the VICI client and S2S manager against real charon
# instances in network namespaces (kernel-libipsec); needs root.
$(BA)/vici_drive: tests/vici/vici_drive.c $(BA)/libhnvgw.a $(HDRS)
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN) $< $(BA)/libhnvgw.a $(LIBS) -o $@

.PHONY: vici-test
vici-test: $(BA)/vici_drive
	@echo "== tests/vici/test_charon.sh"; VICI_DRIVE=$(BA)/vici_drive bash tests/vici/test_charon.sh

EXTRA_TESTS += vici-test
