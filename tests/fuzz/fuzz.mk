# libFuzzer targets (clang): the JSON Lines reader, the event decoder and
# the walk of raw BTF.
#   make fuzz                   each target for FUZZ_SECONDS (default 300)
#   make fuzz-build             just build them (make test runs them briefly)
# Seeds: tests/fuzz/corpus/TARGET/; what a run finds goes to build/fuzz/.

FUZZ_OUT      := $(OUTPUT)/fuzz
FUZZ_TARGETS  := jsonl event btf_scan
FUZZ_BINS     := $(addprefix $(FUZZ_OUT)/fuzz_,$(FUZZ_TARGETS))
FUZZ_SECONDS  ?= 300
FUZZ_CFLAGS   := -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter \
		 -fsanitize=fuzzer-no-link,address,undefined \
		 -fno-sanitize-recover=undefined $(CPPFLAGS)
# Everything but main(): libFuzzer brings its own.
FUZZ_LIB_OBJS := $(patsubst user/%.c,$(FUZZ_OUT)/%.o,$(filter-out user/main.c,$(USER_SRCS)))

.PHONY: fuzz fuzz-build
.SECONDARY: $(FUZZ_LIB_OBJS)

$(FUZZ_OUT):
	$(Q)mkdir -p $@

$(FUZZ_OUT)/%.o: user/%.c $(SKEL) $(wildcard bpf/*.h) $(wildcard user/*.h) | $(FUZZ_OUT)
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_OBJS)
	$(call msg,FUZZER,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ $(LDLIBS) -o $@

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	$(Q)for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_OUT)/corpus-$$t $(FUZZ_OUT)/crashes-$$t && \
		$(FUZZ_OUT)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=$(FUZZ_OUT)/crashes-$$t/ \
			$(FUZZ_OUT)/corpus-$$t tests/fuzz/corpus/$$t || exit 1; \
	done
