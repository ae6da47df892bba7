# tests/conn/rules.mk: the rate limits and links of GRE and L3 connections
# (gateway/rtnl_conn.c) against the kernel in a network namespace. Here
# (no GRE, VLAN, cls_matchall or act_police in this kernel) it checks tbf
# and the refusals; the image lab's connections scenario checks GRE, VLAN
# and the police action through hnvgwd.
#
# make conn-test: tests/conn/test_conn_tc.sh through tests/conn/conn_drive.c;
# needs root.

$(BA)/conn_drive: tests/conn/conn_drive.c $(BA)/libhnvgw.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN) $< $(BA)/libhnvgw.a $(LIBS) -o $@

.PHONY: conn-test
conn-test: $(BA)/conn_drive
	@echo "== tests/conn/test_conn_tc.sh"; CONN_DRIVE=$(BA)/conn_drive bash tests/conn/test_conn_tc.sh

EXTRA_TESTS += conn-test
