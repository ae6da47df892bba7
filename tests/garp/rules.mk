# tests/garp/rules.mk: gateway/garp.c (the announcement of a taken-over
# corp address) against the kernel: frames captured on a veth peer and the
# neighbour entry they update, in network namespaces.
#
# make garp-test: tests/garp/test_garp.sh through tests/garp/garp_drive;
# needs root and tcpdump.

$(BA)/garp_drive: tests/garp/garp_drive.c $(BA)/libhnvgw.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN) $< $(BA)/libhnvgw.a $(LIBS) -o $@

.PHONY: garp-test
garp-test: $(BA)/garp_drive
	@echo "== tests/garp/test_garp.sh"; GARP_DRIVE=$(BA)/garp_drive bash tests/garp/test_garp.sh

EXTRA_TESTS += garp-test
