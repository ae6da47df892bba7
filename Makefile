# hnvgw: one entry point. Targets: deps, all, test, demo, bench, fuzz, install,
# clean.
# The release build goes to build/, the ASan+UBSan test build to build/asan/.

SHELL := /bin/bash
CC      ?= cc
CLANG   ?= clang
CFLAGS_COMMON = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -pthread
CFLAGS  ?= -O2
LIBS    = -lurcu-qsbr -lurcu-common -ljson-c -lmnl -lnftnl -lcurl -lbpf -lelf -lz -lmicrohttpd -lpthread
SAN     = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_SECONDS ?= 60
PREFIX  ?= /usr
DESTDIR ?=

# B=DIR builds elsewhere (parallel work trees share the sources, not objects)
B  ?= build
BA = $(B)/asan

# Programs: the file that holds main() for each.
PROG_SRCS = mgmt/daemon/main.c mgmt/cli/main.c mgmt/tools/hnvgw_dp.c
SRC_DIRS  = lib datapath datapath/io datapath/bpf gateway vpn mgmt mgmt/daemon mgmt/cli mgmt/tools
# The fast path's programs (clang -target bpf), compiled into a libbpf
# skeleton that datapath/bpf/fp.c includes.
BPF_SRCS  = $(wildcard datapath/bpf/*.bpf.c)
LIB_SRCS  = $(filter-out $(PROG_SRCS) $(BPF_SRCS),$(wildcard $(SRC_DIRS:%=%/*.c)))
HDRS      = $(wildcard $(SRC_DIRS:%=%/*.h) tests/unit/*.h tests/fuzz/*.h tests/bench/*.h)
TEST_SRCS = $(wildcard tests/unit/test_*.c)
FUZZ_SRCS = $(wildcard tests/fuzz/fuzz_*.c)

LIB_OBJS  = $(LIB_SRCS:%.c=$(B)/obj/%.o)
LIBA_OBJS = $(LIB_SRCS:%.c=$(BA)/obj/%.o)
TESTS     = $(TEST_SRCS:tests/unit/%.c=$(BA)/%)
FUZZERS   = $(FUZZ_SRCS:tests/fuzz/%.c=$(B)/fuzz/%)

# The default goal: the three programs (an included rules.mk must not
# become it).
.DEFAULT_GOAL := all

# Test areas add their own rules in tests/<area>/rules.mk and append their
# targets to EXTRA_TESTS (run by make test) or EXTRA_BENCH (run by make bench).
EXTRA_TESTS :=
EXTRA_BENCH :=
-include $(sort $(wildcard tests/*/rules.mk))

.PHONY: all deps test layering-check unit integration-test replay-test netns-test fuzz fuzz-smoke bench demo demo-offline install \
	clean

all: $(B)/hnvgw-dp $(B)/hnvgwd $(B)/hnvgw

deps:
	@./tests/deps.sh

BPF_CFLAGS = -O2 -g -target bpf -D__TARGET_ARCH_x86 -I/usr/include/$(shell $(CC) -dumpmachine) \
	-Wall -Wextra -Werror
BPF_SKELS = $(BPF_SRCS:datapath/bpf/%.bpf.c=$(B)/gen/%.skel.h)
CFLAGS_COMMON += -I$(B)/gen

$(B)/gen/%.bpf.o: datapath/bpf/%.bpf.c $(wildcard datapath/bpf/*.h) datapath/reasons.h
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(B)/gen/%.skel.h: $(B)/gen/%.bpf.o
	bpftool gen skeleton $< name $* >$@.tmp && mv $@.tmp $@

# Kept: bpftool regenerates the skeleton only when the object changes.
.SECONDARY: $(BPF_SRCS:datapath/bpf/%.bpf.c=$(B)/gen/%.bpf.o)

# Every object may include a skeleton (only datapath/bpf does).
HDRS += $(BPF_SKELS)

$(B)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -c $< -o $@

$(BA)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN) -c $< -o $@

$(B)/libhnvgw.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BA)/libhnvgw.a: $(LIBA_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/hnvgw-dp: mgmt/tools/hnvgw_dp.c $(B)/libhnvgw.a $(HDRS)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< $(B)/libhnvgw.a $(LIBS) -o $@

$(BA)/hnvgw-dp: mgmt/tools/hnvgw_dp.c $(BA)/libhnvgw.a $(HDRS)
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN) $< $(BA)/libhnvgw.a $(LIBS) -o $@

# hnvgwd (daemon): mgmt/daemon/main.c; hnvgw (CLI): mgmt/cli/main.c.
$(B)/hnvgwd: mgmt/daemon/main.c $(B)/libhnvgw.a $(HDRS)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< $(B)/libhnvgw.a $(LIBS) -o $@

$(B)/hnvgw: mgmt/cli/main.c $(B)/libhnvgw.a $(HDRS)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) $< $(B)/libhnvgw.a $(LIBS) -o $@

$(BA)/hnvgwd: mgmt/daemon/main.c $(BA)/libhnvgw.a $(HDRS)
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN) $< $(BA)/libhnvgw.a $(LIBS) -o $@

$(BA)/hnvgw: mgmt/cli/main.c $(BA)/libhnvgw.a $(HDRS)
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN) $< $(BA)/libhnvgw.a $(LIBS) -o $@

$(BA)/test_%: tests/unit/test_%.c $(BA)/libhnvgw.a $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 $(SAN) $< $(BA)/libhnvgw.a $(LIBS) -lcmocka -o $@

# Fuzzers: clang with libFuzzer; the library is compiled once with the
# fuzzer's coverage instrumentation and linked into each harness.
FUZZ_OBJS = $(LIB_SRCS:%.c=$(B)/fuzzobj/%.o)
.SECONDARY: $(FUZZ_OBJS)

$(B)/fuzzobj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(CFLAGS_COMMON) -O1 -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@

$(B)/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS) $(HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(CFLAGS_COMMON) -O1 -fsanitize=fuzzer,address,undefined $< $(FUZZ_OBJS) $(LIBS) -o $@

# make test: dependencies, unit tests, daemon integration tests, replay/tshark
# tests, short fuzz runs.
test: deps
	@$(MAKE) --no-print-directory -j$$(nproc) $(TESTS) $(FUZZERS) $(BA)/hnvgwd $(BA)/hnvgw \
	  $(BA)/hnvgw-dp
	@$(MAKE) --no-print-directory layering-check unit integration-test replay-test netns-test $(EXTRA_TESTS) fuzz-smoke lab

# Dependencies point down only (tests/layering/check.sh).
layering-check:
	@bash tests/layering/check.sh --self-test
	@bash tests/layering/check.sh

unit: $(TESTS)
	@set -e; for t in $(TESTS); do echo "== $$t"; ASAN_OPTIONS=detect_leaks=1 timeout --kill-after=10 600 $$t; done

# Real hnvgwd (ASan build) driven through the hnvgw CLI; needs root.
integration-test: $(BA)/hnvgwd $(BA)/hnvgw
	@set -e; for t in tests/integration/test_*.sh; do echo "== $$t"; \
	  HNVGWD=$(BA)/hnvgwd HNVGW=$(BA)/hnvgw bash $$t; done

# The Blue/Red lab: two hnvgwd host edges and four VMs in network
# namespaces (ASan builds); needs root.
netns-test: $(BA)/hnvgwd $(BA)/hnvgw
	@set -e; for t in tests/netns/test_*.sh; do echo "== $$t"; \
	  HNVGWD=$(BA)/hnvgwd HNVGW=$(BA)/hnvgw bash $$t; done

replay-test: $(BA)/hnvgw-dp
	@set -e; for t in tests/replay/test_*.sh; do echo "== $$t"; HNVGW_DP=$(BA)/hnvgw-dp bash $$t; done

fuzz-smoke: $(FUZZERS)
	@set -e; for f in $(FUZZERS); do echo "== $$f (10 s)"; \
	  mkdir -p $(B)/corpus/$$(basename $$f); \
	  $$f -max_total_time=10 -print_final_stats=1 $(B)/corpus/$$(basename $$f) tests/fuzz/seeds/$$(basename $$f) 2>&1 | grep -E '^stat::number_of_executed_units|ERROR|SUMMARY' ; \
	  test $${PIPESTATUS[0]} -eq 0; done

fuzz: $(FUZZERS)
	@set -e; for f in $(FUZZERS); do echo "== $$f ($(FUZZ_SECONDS) s)"; \
	  mkdir -p $(B)/corpus/$$(basename $$f); \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(B)/corpus/$$(basename $$f) tests/fuzz/seeds/$$(basename $$f) 2>&1 | grep -E '^stat::number_of_executed_units|ERROR|SUMMARY' ; \
	  test $${PIPESTATUS[0]} -eq 0; done

$(B)/bench: tests/bench/bench.c $(B)/libhnvgw.a $(HDRS)
	$(CC) $(CFLAGS_COMMON) -O2 $< $(B)/libhnvgw.a $(LIBS) -o $@

bench: deps $(B)/bench
	@$(B)/bench
	@$(if $(strip $(EXTRA_BENCH)),$(MAKE) --no-print-directory $(EXTRA_BENCH))

# make demo: the main job, the hybrid-cloud lab: builds the programs and the
# gateway VM image, boots it, runs the private-cloud and hybrid-cloud
# scenarios and prints a summary. make demo-offline: the Blue/Red policy
# replayed through hnvgw-dp, in seconds, without a VM.
demo: deps all image
	@bash tests/demo.sh

demo-offline: deps $(B)/hnvgw-dp
	@bash tests/demo-offline.sh

# make install [DESTDIR=...] [PREFIX=/usr]
install: $(B)/hnvgwd $(B)/hnvgw
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
	  $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/share/man/man8 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/lib/sysctl.d
	install -m 0755 $(B)/hnvgwd $(DESTDIR)$(PREFIX)/sbin/hnvgwd
	install -m 0755 $(B)/hnvgw $(DESTDIR)$(PREFIX)/bin/hnvgw
	sed 's|/usr/sbin/hnvgwd|$(PREFIX)/sbin/hnvgwd|' images/hnvgwd.service \
	  > $(DESTDIR)$(PREFIX)/lib/systemd/system/hnvgwd.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/hnvgwd.service
	install -m 0644 mgmt/man/hnvgw.8 mgmt/man/hnvgwd.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 mgmt/hnvgw.bash-completion \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/hnvgw
	install -m 0644 images/60-hnvgw-neigh.conf $(DESTDIR)$(PREFIX)/lib/sysctl.d/60-hnvgw-neigh.conf

clean:
	rm -rf $(B)

# make image, make lab, make lab-uefi: the gateway VM image and the qemu lab.
include images/image.mk
