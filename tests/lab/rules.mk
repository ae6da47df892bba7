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
