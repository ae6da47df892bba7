# tests/bench: end-to-end figures of the host edge (make bench; needs root).
# bench-e2e measures, in one run, kernel routing (the reference), hnvgw
# NVGRE host to host forwarding in userspace (both uplink backends), hnvgw's
# kernel fast path (hnvgwd --datapath kernel, VM ports on veth with port add
# --dev; skipped with a note when hnvgwd has no --datapath) and Open
# vSwitch's userspace datapath with a GRE port, in the two-host netns
# topology of tests/netns: 64-byte UDP pps, TCP with 1 and 4 streams, ratios
# to kernel routing, hnvgwd CPU per packet. About 3 minutes.

$(B)/udpgen: tests/bench/udpgen.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O2 $< -o $@

.PHONY: bench-e2e
bench-e2e: $(B)/hnvgwd $(B)/hnvgw $(B)/udpgen
	@HNVGWD=$(abspath $(B)/hnvgwd) HNVGW=$(abspath $(B)/hnvgw) UDPGEN=$(abspath $(B)/udpgen) \
	  bash tests/bench/e2e.sh

EXTRA_BENCH += bench-e2e

# bench-apply: what a large lookup table costs hnvgwd: load time of
# BENCH_APPLY_RECORDS records (default 1000000), bytes per record, and the
# time and peak memory of one lookup add / del against the loaded daemon.
.PHONY: bench-apply
bench-apply: $(B)/hnvgwd $(B)/hnvgw
	@HNVGWD=$(abspath $(B)/hnvgwd) HNVGW=$(abspath $(B)/hnvgw) bash tests/bench/apply.sh

EXTRA_BENCH += bench-apply

# bench-churn: packets lost while 100,000 lookup records are added and
# deleted, and the flow's own record replaced, under 64-byte UDP traffic
# between two host edges (tests/bench/churn.sh), per forwarding tier.
.PHONY: bench-churn
bench-churn: $(B)/hnvgwd $(B)/hnvgw $(B)/udpgen
	@HNVGWD=$(abspath $(B)/hnvgwd) HNVGW=$(abspath $(B)/hnvgw) UDPGEN=$(abspath $(B)/udpgen) \
	  bash tests/bench/churn.sh

EXTRA_BENCH += bench-churn

# bench-steer: NVGRE receive from one remote host (one outer source and
# destination PA, ~65k inner flows) on 1 and 2 forwarding threads
# (hnvgwd --fwd-threads): the engine plus the steering hash in process,
# Mpps and the ratios of 2 threads to 1 for per-socket filters (raw
# backend) and for the fanout group (packet backend) (tests/bench/steer.c
# says what is and is not measured). BENCH_STEER_SECONDS per run
# (default 3), 6 runs.
BENCH_STEER_SECONDS ?= 3
$(B)/bench_steer: tests/bench/steer.c $(B)/libhnvgw.a $(HDRS)
	$(CC) $(CFLAGS_COMMON) -O2 $< $(B)/libhnvgw.a $(LIBS) -o $@

.PHONY: bench-steer
bench-steer: $(B)/bench_steer
	@$(B)/bench_steer $(BENCH_STEER_SECONDS)

EXTRA_BENCH += bench-steer
