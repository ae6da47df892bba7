# tests/zapi: the ZAPI client (gateway/zapi.c) against a real zebra, staticd
# and vtysh (Debian FRR) in a network namespace; needs root.

$(BA)/zapi_drive: tests/zapi/zapi_drive.c $(BA)/libhnvgw.a $(HDRS)
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN) $< $(BA)/libhnvgw.a $(LIBS) -o $@

.PHONY: zapi-test
zapi-test: $(BA)/zapi_drive
	@echo "== tests/zapi/test_zebra.sh"; ZAPI_DRIVE=$(BA)/zapi_drive bash tests/zapi/test_zebra.sh

EXTRA_TESTS += zapi-test
