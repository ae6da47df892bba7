# tests/etcd: policy shared through etcd (mgmt/daemon/sync.h), Debian etcd-server.
#   test_etcd.sh     a 3-member cluster on loopback and 3 hnvgwd hosts in the
#                    root namespace (control plane only: no --uplink)
#   test_traffic.sh  the same with real packets: 3 host edges (--uplink) in
#                    network namespaces, etcd in the provider namespace,
#                    VMs addressed by DHCP (needs root)
#   test_tls.sh      one member with TLS and --client-cert-auth, then etcd
#                    users: certificates, key file mode, wrong password
#   test_pool.sh     gateway pools (docs/gateway-pool.md): etcd leases
#                    (lease_check.c), pool membership, lease loss and fencing
#   test_pool_tenants.sh  pool tenants: --pool config and keys, election,
#                    record move, kill -9 takeover, teardown when fenced
#   test_pool_s2s.sh pool tenants' S2S tunnels (s2s add --pool): the key
#                    with the PSK, refusals, the tunnel only on the holder
#                    across gateway move, partition, kill -9 and restart
#   test_pool_learned.sh  routes kept across a takeover: members with an
#                    uplink keep what pool/POOL/learned/R holds when they
#                    claim R, refuse a bad text whole
#
# make etcd-test    propagation, pool allocation under concurrency,
#                   migration (< 1 s), member loss, etcd loss and resync;
#                   DHCP leases = etcd reservations, NVGRE traffic and
#                   isolation of equal addresses, a 10 ms ping across a
#                   `port move`, across the loss of every etcd member and
#                   across their return (losses printed, each < 1 s)
# make bench-etcd   time for 10,000 ports to propagate to 3 hosts

.PHONY: etcd-test bench-etcd
etcd-test: $(BA)/hnvgwd $(BA)/hnvgw $(BA)/lease_check
	@set -e; for t in tests/etcd/test_*.sh; do echo "== $$t"; \
	  HNVGWD=$(BA)/hnvgwd HNVGW=$(BA)/hnvgw LEASE_CHECK=$(BA)/lease_check bash $$t; done

$(BA)/lease_check: tests/etcd/lease_check.c $(BA)/libhnvgw.a $(HDRS)
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN) $< $(BA)/libhnvgw.a $(LIBS) -o $@

bench-etcd: $(B)/hnvgwd $(B)/hnvgw
	@echo "== tests/etcd/bench_etcd.sh"; HNVGWD=$(B)/hnvgwd HNVGW=$(B)/hnvgw bash tests/etcd/bench_etcd.sh

EXTRA_TESTS += etcd-test
EXTRA_BENCH += bench-etcd
