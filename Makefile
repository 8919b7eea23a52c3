# SPDX-License-Identifier: GPL-2.0
#
# make            build ./tcpwatch (and the scenario programs)
# make deps       install the Debian packages the build and tests need
# make demo       install, build, and trace every bundled scenario (root)
# make test       install, build, run the test suite (root: it loads BPF)
# make vmlinux    regenerate vmlinux/ from the running kernel's BTF
# make V=1        show the commands

OUTPUT     := build
CLANG      ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL    ?= bpftool
CC         ?= gcc
ARCH       := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
KVER       := $(shell uname -r | cut -d. -f1,2)
PYTHON     ?= /usr/bin/python3

CFLAGS     ?= -g -O2
WARNINGS   := -Wall -Wextra -Werror -Werror=undef -Wmissing-field-initializers \
	      -Wshadow -Wformat=2 -Wno-unused-parameter
CPPFLAGS   := -I$(OUTPUT) -Ibpf -Iuser -D_GNU_SOURCE
LDLIBS     := -lbpf -lelf -lz -lm -pthread

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux -Ibpf \
	      -Wall -Werror

USER_SRCS  := $(wildcard user/*.c)
USER_OBJS  := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
# One BPF object, linked from a unit per bpf/NAME.bpf.c: libbpf loads it,
# and parses the kernel's BTF for it, once. Its skeleton is SKEL (struct
# tcpwatch_bpf).
BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_UNITS  := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_OBJ    := $(OUTPUT)/tcpwatch.bpf.o
SKEL       := $(OUTPUT)/tcpwatch.skel.h

DEPS_PKGS  := clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make gcc \
	      pkg-config iproute2 nftables iptables python3 python3-pytest \
	      man-db groff-base chromium

ifeq ($(V),1)
	Q =
	msg =
else
	Q = @
	msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all clean demo deps test vmlinux

all: tcpwatch

-include scenarios/scenarios.mk
ifdef SCENARIO_BIN
all: $(SCENARIO_BIN)
endif

# Fragments with their own targets: make bench, make vmtest, make fuzz, make soak.
-include tests/bench/bench.mk tests/vmtest/vmtest.mk tests/fuzz/fuzz.mk tests/soak/soak.mk

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/bpf:
	$(Q)mkdir -p $@

# tcpwatch embeds the object (skeleton): CO-RE needs its BTF, not the
# DWARF that -g also puts there (three quarters of each unit).
$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) vmlinux/vmlinux.h | $(OUTPUT)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

# The BPF static linker (see bpf/common.bpf.h for what the units share).
$(BPF_OBJ): $(BPF_UNITS)
	$(call msg,BPF-LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(SKEL): $(BPF_OBJ)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name tcpwatch_bpf > $@

$(OUTPUT)/user/%.o: user/%.c $(SKEL) $(wildcard bpf/*.h) $(wildcard user/*.h) | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(WARNINGS) $(CPPFLAGS) -c $< -o $@

tcpwatch: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# The same program with AddressSanitizer and UndefinedBehaviorSanitizer,
# which the tests run against the kernel too (tests/test_sanitizers.py), and
# with ThreadSanitizer for the one part with a thread of its own (tcpwatch
# report's reader, user/replay.c).
SAN_FLAGS      := -g -O1 -fno-omit-frame-pointer
SAN_FLAGS_asan := -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_FLAGS_tsan := -fsanitize=thread

define sanitized
$(OUTPUT)/$(1):
	$$(Q)mkdir -p $$@

$(OUTPUT)/$(1)/%.o: user/%.c $$(SKEL) $$(wildcard bpf/*.h) $$(wildcard user/*.h) | $(OUTPUT)/$(1)
	$$(call msg,CC-SAN,$$@)
	$$(Q)$$(CC) $$(SAN_FLAGS) $$(SAN_FLAGS_$(1)) $$(WARNINGS) $$(CPPFLAGS) -c $$< -o $$@

$(OUTPUT)/$(1)/tcpwatch: $(patsubst user/%.c,$(OUTPUT)/$(1)/%.o,$(USER_SRCS))
	$$(call msg,LINK-SAN,$$@)
	$$(Q)$$(CC) $$(SAN_FLAGS) $$(SAN_FLAGS_$(1)) $$^ $$(LDLIBS) -o $$@

.SECONDARY: $(patsubst user/%.c,$(OUTPUT)/$(1)/%.o,$(USER_SRCS))
endef
$(foreach s,asan tsan,$(eval $(call sanitized,$(s))))

# Regenerate the committed kernel header from the running kernel.
vmlinux:
	$(call msg,GEN,vmlinux/vmlinux_$(shell uname -m)_$(KVER).h)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c \
		> vmlinux/vmlinux_$(shell uname -m)_$(KVER).h
	$(Q)printf '#include "vmlinux_%s_%s.h"\n' "$(shell uname -m)" "$(KVER)" \
		> vmlinux/vmlinux.h

# Install what is missing (Debian packages only).
deps:
	$(Q)missing=$$(for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
		grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "  APT      $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq $$missing >/dev/null; \
	fi

# A fresh machine needs nothing by hand: each entry point installs first.
test:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory all $(OUTPUT)/asan/tcpwatch $(OUTPUT)/tsan/tcpwatch fuzz-build
	$(Q)$(PYTHON) -m pytest -q -p no:cacheprovider tests

demo:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory all
	./tcpwatch --scenario all --report $(OUTPUT)/demo-report.html
	@echo "The report of the bundled scenarios: $(CURDIR)/$(OUTPUT)/demo-report.html"

clean:
	$(call msg,CLEAN,)
	$(Q)rm -rf $(OUTPUT) tcpwatch
