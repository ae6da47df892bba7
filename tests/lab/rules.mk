# tests/lab/rules.mk: benchmarks run inside the gateway VM image (qemu lab,
# images/lab.sh). Scenarios named *-bench.sh are skipped by `make lab` and run
# here, by `make bench`.
#
# make bench-s2s   iperf3 (one TCP stream) through an hnvgw IPsec S2S tunnel
#                  vs a bare strongSwan tunnel to the same site namespace
#                  (tests/lab/s2s-bench.sh, issue 7); prints the BENCH lines
#                  and the ratio. Boots the image under qemu (TCG: ~4-6 min).

.PHONY: bench-s2s
bench-s2s: image
	@bash images/lab.sh s2s-bench; rc=$$?; \
	  echo "== bench-s2s (build/images/lab/s2s-bench.log)"; \
	  grep -a '^BENCH ' build/images/lab/s2s-bench.log | tr -d '\r' | grep . || echo "bench-s2s: no BENCH line"; \
	  exit $$rc

EXTRA_BENCH += bench-s2s

# make bench-scale SCALE_TENANTS=N (default 1000): N tenants on one gateway
#                  VM (VRF, gateway port, corp VLAN with a BGP peer, an IPsec
#                  S2S tunnel each; tests/lab/scale-bench.sh, issue 19):
#                  time from one `hnvgw commit -f` until charon holds N
#                  tunnels and bgpd N sessions, memory, removal, leftovers.
#                  The guest gets LAB_MEM (default 8192 MB here) and
#                  timeouts that grow with N.
SCALE_TENANTS ?= 1000

.PHONY: bench-scale
bench-scale: image
	@SCALE_TENANTS=$(SCALE_TENANTS) LAB_PASS_ENV="SCALE_TENANTS SCALE_UP_TIMEOUT SCALE_DOWN_TIMEOUT $$LAB_PASS_ENV" \
	  LAB_MEM=$${LAB_MEM:-8192} \
	  LAB_GUEST_TIMEOUT=$${LAB_GUEST_TIMEOUT:-$$((900 + 12 * $(SCALE_TENANTS)))} \
	  LAB_TIMEOUT=$${LAB_TIMEOUT:-$$((1000 + 12 * $(SCALE_TENANTS)))} \
	  bash images/lab.sh scale-bench; rc=$$?; \
	  echo "== bench-scale (build/images/lab/scale-bench.log)"; \
	  grep -a '^BENCH ' build/images/lab/scale-bench.log | tr -d '\r' | grep . || echo "bench-scale: no BENCH line"; \
	  exit $$rc

EXTRA_BENCH += bench-scale
