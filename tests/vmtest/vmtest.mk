# SPDX-License-Identifier: GPL-2.0
#
# make vmtest          tcpwatch's tracing tests inside each kernel listed in
#                      tests/vmtest/kernels.txt, booted under qemu (software
#                      emulation); ends with "N passed, N failed"
# make vmtest-kernels  rewrite kernels.txt with Debian 12's current ABIs
#
# Included by the top-level Makefile (its OUTPUT, CC, CFLAGS, WARNINGS,
# CPPFLAGS, LDLIBS, USER_SRCS, SKEL, Q and msg). Everything goes under
# build/vmtest/: downloaded packages and unpacked kernels stay there, so a
# second run only rebuilds what changed and boots.

VMTEST_SRC     := tests/vmtest
VMTEST_OUT     := $(OUTPUT)/vmtest
VMTEST_ROOT    := $(VMTEST_OUT)/root
VMTEST_PKGS    := qemu-system-x86 busybox-static
VMTEST_META    := linux-image-amd64 linux-image-cloud-amd64 \
		  linux-image-6.12-amd64 linux-image-6.12-cloud-amd64
VMTEST_KERNELS := $(shell sed -e 's/\#.*//' $(VMTEST_SRC)/kernels.txt)
VMTEST_IMAGES  := $(foreach k,$(VMTEST_KERNELS),$(VMTEST_OUT)/kernels/$(k)/vmlinuz)

# tcpwatch from the same sources and skeleton, linked statically.
VMTEST_TW_OBJS := $(patsubst user/%.c,$(VMTEST_OUT)/user/%.o,$(USER_SRCS))
# vmcheck: the harness, the peers and one test_NAME.c per behaviour.
VMTEST_TESTS   := $(wildcard $(VMTEST_SRC)/test_*.c)
VMTEST_CHECK_OBJS := $(patsubst $(VMTEST_SRC)/%.c,$(VMTEST_OUT)/check/%.o,\
		       $(wildcard $(VMTEST_SRC)/*.c))

.PHONY: vmtest vmtest-deps vmtest-run vmtest-kernels

# A fresh machine needs nothing by hand, as for make test.
vmtest:
	$(Q)$(MAKE) --no-print-directory deps vmtest-deps
	$(Q)$(MAKE) --no-print-directory vmtest-run

vmtest-deps:
	$(Q)missing=$$(for p in $(VMTEST_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
		grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "  APT      $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

vmtest-run: $(VMTEST_OUT)/initramfs.cpio $(VMTEST_IMAGES)
	$(call msg,QEMU,$(words $(VMTEST_KERNELS)) kernel(s)$(if $(VMTEST_ONLY), (only $(VMTEST_ONLY))))
	$(Q)VMTEST_ONLY=$(VMTEST_ONLY) bash $(VMTEST_SRC)/run.sh $(VMTEST_OUT) $(VMTEST_KERNELS)

$(VMTEST_OUT) $(VMTEST_OUT)/user $(VMTEST_OUT)/check $(VMTEST_ROOT)/bin:
	$(Q)mkdir -p $@

$(VMTEST_OUT)/user/%.o: user/%.c $(SKEL) $(wildcard bpf/*.h) $(wildcard user/*.h) \
			| $(VMTEST_OUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(WARNINGS) $(CPPFLAGS) -c $< -o $@

$(VMTEST_ROOT)/bin/tcpwatch: $(VMTEST_TW_OBJS) | $(VMTEST_ROOT)/bin
	$(call msg,LINK,$@ (static))
	$(Q)$(CC) $(CFLAGS) -static $^ $(LDLIBS) -o $@

# The test list, generated from the file names: nothing to forget to register.
$(VMTEST_OUT)/tests.inc: $(VMTEST_TESTS) $(VMTEST_SRC)/vmtest.mk | $(VMTEST_OUT)
	$(call msg,GEN,$@)
	$(Q)printf 'TEST(%s)\n' $(patsubst $(VMTEST_SRC)/test_%.c,%,$(VMTEST_TESTS)) > $@

$(VMTEST_OUT)/check/%.o: $(VMTEST_SRC)/%.c $(wildcard $(VMTEST_SRC)/*.h) \
			 $(VMTEST_OUT)/tests.inc | $(VMTEST_OUT)/check
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(WARNINGS) -D_GNU_SOURCE -I$(VMTEST_OUT) -c $< -o $@

$(VMTEST_ROOT)/bin/vmcheck: $(VMTEST_CHECK_OBJS) | $(VMTEST_ROOT)/bin
	$(call msg,LINK,$@ (static))
	$(Q)$(CC) $(CFLAGS) -static $^ -o $@

# busybox-static, the two static programs and /init; uncompressed, as the
# guest unpacks it faster than it would inflate it under emulation.
$(VMTEST_OUT)/initramfs.cpio: $(VMTEST_ROOT)/bin/tcpwatch $(VMTEST_ROOT)/bin/vmcheck \
			      $(VMTEST_SRC)/init.sh /bin/busybox
	$(call msg,CPIO,$@)
	$(Q)cp /bin/busybox $(VMTEST_ROOT)/bin/busybox
	$(Q)cp $(VMTEST_SRC)/init.sh $(VMTEST_ROOT)/init
	$(Q)chmod 755 $(VMTEST_ROOT)/init
	$(Q)rm -f $@
	$(Q)cd $(VMTEST_ROOT) && find . | busybox cpio -o -H newc -R 0:0 -F $(abspath $@) \
		2>/dev/null

# A kernel: the package from the archive (kept in debs/), unpacked next to
# its vmlinuz; lists older than the pinned name get one apt-get update.
$(VMTEST_OUT)/kernels/%/vmlinuz:
	$(call msg,APT,$*)
	$(Q)mkdir -p $(VMTEST_OUT)/debs $(@D)
	$(Q)cd $(VMTEST_OUT)/debs && { ls $*_*.deb >/dev/null 2>&1 || \
		apt-get download -qq -o APT::Sandbox::User=root $* 2>/dev/null || \
		{ apt-get update -qq && apt-get download -qq -o APT::Sandbox::User=root $*; } || \
		{ echo "vmtest: cannot download $*: if the archive dropped it, run" \
			"make vmtest-kernels (see $(VMTEST_SRC)/kernels.txt)"; exit 1; }; }
	$(call msg,UNPACK,$*)
	$(Q)dpkg-deb --fsys-tarfile $(VMTEST_OUT)/debs/$*_*.deb | tar -x -C $(@D) ./boot ./lib/modules
	$(Q)ln -sf boot/vmlinuz-$(patsubst linux-image-%,%,$*) $@

# The ABI numbers Debian 12's meta-packages point to now (see kernels.txt).
vmtest-kernels:
	$(Q)apt-get update -qq
	$(Q){ grep '^#' $(VMTEST_SRC)/kernels.txt; \
	  for m in $(VMTEST_META); do \
		apt-cache depends $$m | sed -n 's/^  Depends: \(linux-image-.*\)/\1/p'; \
	  done; } > $(VMTEST_SRC)/kernels.txt.new
	$(Q)test "$$(grep -vc '^#' $(VMTEST_SRC)/kernels.txt.new)" -eq $(words $(VMTEST_META))
	$(Q)mv $(VMTEST_SRC)/kernels.txt.new $(VMTEST_SRC)/kernels.txt
	$(Q)grep -v '^#' $(VMTEST_SRC)/kernels.txt
