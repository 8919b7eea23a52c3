# make bench: what tracing costs (tests/bench/bench.py says how it is measured).
# Included by the top-level Makefile, which provides CC, CFLAGS, WARNINGS,
# CLANG, BPFTOOL, ARCH, PYTHON and the Q/msg helpers. Not part of make test.
#
#   sudo make bench                                  # ~10 minutes on 2 cores
#   sudo make bench BENCH_ROUNDS=3 BENCH_SECONDS=3   # quicker, noisier
#   sudo make bench BENCH_ARGS="--only tcpwatch-all"  # one configuration (and untraced)

BENCH_DIR     := tests/bench
BENCH_OUT     := $(OUTPUT)/bench
BENCH_ROUNDS  ?= 5
BENCH_SECONDS ?= 5
BENCH_THREADS ?= 2
BENCH_ARGS    ?=
# Peers the bench compares against; a peer that cannot run here is skipped.
BENCH_PKGS    := bpftrace bpfcc-tools

BENCH_PROGS   := $(BENCH_OUT)/loadgen $(BENCH_OUT)/noop

.PHONY: bench bench-deps bench-build

bench: bench-deps tcpwatch bench-build
	$(Q)$(PYTHON) $(BENCH_DIR)/bench.py --rounds $(BENCH_ROUNDS) \
		--seconds $(BENCH_SECONDS) --threads $(BENCH_THREADS) \
		--json $(OUTPUT)/bench.json $(BENCH_ARGS)

bench-build: $(BENCH_PROGS)

# The build's own packages first (make deps), then the peers. A package apt
# does not know yet gets one apt-get update and a second try; one that still
# cannot be installed only costs its peer (the bench says it skipped it).
bench-deps:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)for p in $(BENCH_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' && continue; \
		echo "  APT      $$p"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$p >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null 2>&1; \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$p >/dev/null 2>&1; } || \
		echo "  bench: cannot install $$p: its peer will be skipped"; \
	done

$(BENCH_OUT):
	$(Q)mkdir -p $@

$(BENCH_OUT)/loadgen: $(BENCH_DIR)/loadgen.c | $(BENCH_OUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(WARNINGS) -D_GNU_SOURCE -pthread $< -o $@

# The no-op programs: built here, not from bpf/ (whose every file becomes a
# tcpwatch skeleton).
$(BENCH_OUT)/noop.bpf.o: $(BENCH_DIR)/noop.bpf.c vmlinux/vmlinux.h | $(BENCH_OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux -Ibpf \
		-Wall -Werror -c $< -o $@

$(BENCH_OUT)/noop.skel.h: $(BENCH_OUT)/noop.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name noop_bpf > $@

$(BENCH_OUT)/noop: $(BENCH_DIR)/noop.c $(BENCH_OUT)/noop.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(WARNINGS) -I$(BENCH_OUT) $< -lbpf -lelf -lz -o $@
