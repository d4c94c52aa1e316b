# SPDX-License-Identifier: GPL-2.0
#
# vfio-reserve: the module (objects in Kbuild), the helper, the tests.
#
#   make              module and helper
#   make check        install what is missing, then every test; ends with
#                     "N passed, N failed"
#   make unit         host unit tests only
#   make vm           VM tests only (T=selftests/vm/tests/NAME.sh for one)
#   make check-kernels  every VM test on every kernel of the matrix (6.1,
#                     6.12 LTS, newest 7.x), VT-d and AMD-Vi; prints the table
#   make lint         W=1 -Werror, sparse and checkpatch --strict on the module
#   make demo         boot the test VM and walk through the whole job
#   make bench        benchmarks against sysfs, driverctl, dpdk-devbind, lspci
#   make bench-smoke  the same with tiny sizes: TAP, part of make check
#   make install      module, helper, man pages, completion, example config
#   make dkms-install / dkms-remove

# The kernel to build for: the running one when its headers exist, else the
# newest installed.
KDIR ?= $(or $(wildcard /lib/modules/$(shell uname -r)/build),$(shell ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -n 1))
BUILD := $(CURDIR)/build
KSRC_TAR := /usr/src/linux-source-6.1.tar.xz
# The kernel's kselftest files (KSFT_DIR, else Debian's source tarball).
VR_TOP := $(CURDIR)
include selftests/ksft.mk
KSFT_HDR := $(KSFT)/kselftest_harness.h

# The kernel release the module is built for (KDIR is /lib/modules/KVER/build).
KVER ?= $(notdir $(patsubst %/build,%,$(KDIR)))
# The version's one source is kmod/version.h.
VERSION := $(shell sed -n 's/^\#define VR_VERSION "\(.*\)"/\1/p' kmod/version.h)

PREFIX ?= /usr
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DOCDIR ?= $(PREFIX)/share/doc/vfio-reserve
MODDIR ?= /lib/modules/$(KVER)/updates

CC ?= cc
CFLAGS ?= -O2 -g
USER_CFLAGS := -std=gnu11 -Wall -Wextra -Werror $(CFLAGS)

.PHONY: all module helper clean deps check check-run check-debug check-kernels unit vm lint demo genl spec \
	bench bench-smoke \
	install install-module install-user dkms-install dkms-remove print-kdir print-ksft version checkpatch-6.1

all: module helper

module:
	@test -n "$(KDIR)" -a -d "$(KDIR)" || { echo "vfio-reserve: no kernel headers: apt-get install linux-headers-amd64, or set KDIR" >&2; exit 1; }
	@echo "vfio-reserve: building the module against KDIR=$(KDIR)"
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

helper:
	$(MAKE) -C user

deps:
	@selftests/install-deps.sh

# 6.1's checkpatch (with its spelling and const_structs lists) for lint.
KSRC61_CP := $(BUILD)/ksrc/linux-source-6.1/scripts/checkpatch.pl
$(KSRC61_CP):
	@mkdir -p $(BUILD)/ksrc
	@tar -xJf $(KSRC_TAR) -C $(BUILD)/ksrc \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	@touch $@

checkpatch-6.1: $(KSRC61_CP)
	@echo $(BUILD)/ksrc/linux-source-6.1

$(BUILD)/unit/selector_test: selftests/unit/selector_test.c kmod/selector.c kmod/selector.h $(KSFT_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -isystem $(KSFT) -Ikmod -o $@ selftests/unit/selector_test.c kmod/selector.c

UNIT_TESTS := $(BUILD)/unit/selector_test
UNIT_SCRIPTS := $(CURDIR)/selftests/unit/helper_test.sh $(CURDIR)/selftests/unit/vm_verdict_test.py \
	$(CURDIR)/selftests/unit/selector_mutate.sh $(CURDIR)/selftests/unit/ksft_test.sh

unit: $(UNIT_TESTS) helper
	@KSFT=$(KSFT) selftests/run-tap unit $(UNIT_TESTS) $(UNIT_SCRIPTS)

# The C test program of the netlink family (runs in the VM): selftests/
# Makefile's, built here.
GENL_TEST := $(BUILD)/genl/vr_genl_test

$(GENL_TEST): selftests/genl/vr_genl_test.c kmod/uapi/linux/vfio_reserve.h $(KSFT_HDR)
	@$(MAKE) --no-print-directory -C selftests OUTPUT=$(BUILD)/genl $@

genl: $(GENL_TEST)

# The YNL spec and the UAPI header agree (and the check catches a change).
spec:
	@rc=0; selftests/spec_check.py || rc=1; selftests/spec_check.py --mutate || rc=1; exit $$rc

lint:
	@selftests/lint.sh --checkpatch "$$($(MAKE) -s --no-print-directory checkpatch-6.1)" \
		--checkpatch "$$(selftests/debug/build-kernel.sh --print-dir)/linux" \
		--kernel-doc "$$(selftests/debug/build-kernel.sh --print-dir)/linux" "$(KDIR)"

vm: module helper genl
	@selftests/vm/vm.py --ko $(CURDIR)/vfio_reserve.ko $(or $(T),selftests/vm/tests/*.sh)

# The debug-kernel tier (selftests/debug/README.md): a kernel with KASAN,
# lockdep, kmemleak, UBSAN and failslab, the stress tests and the VM suite.
check-debug: deps
	@$(MAKE) --no-print-directory helper genl
	@selftests/debug/check-debug.sh $(T)

# The kernel matrix (selftests/kernels/README.md): the whole VM suite on
# every kernel under VT-d, the AMD-Vi tests under AMD-Vi, and the table.
check-kernels: deps
	@$(MAKE) --no-print-directory helper genl
	@selftests/kernels/matrix.sh --full $(CELLS)

demo: deps
	@$(MAKE) --no-print-directory module helper
	@selftests/vm/vm.py --ko $(CURDIR)/vfio_reserve.ko selftests/vm/demo.sh

# Benchmarks in the test VM (bench/README.md), on every kernel of the
# matrix (BENCH_KERNELS="deb12 lts newest" by default); they report, never
# fail.
bench: deps
	@$(MAKE) --no-print-directory helper
	@bench/run.sh $(if $(BENCH_KERNELS),--kernels "$(BENCH_KERNELS)")

# Tiny sizes: every measurement must still give a number (TAP). On deb12
# unless BENCH_KERNELS says otherwise; BENCH_DEADLINE: vm.py --deadline.
bench-smoke: helper
	@bench/run.sh --smoke $(if $(BENCH_KERNELS),--kernels "$(BENCH_KERNELS)") \
		$(if $(BENCH_DEADLINE),--deadline "$(BENCH_DEADLINE)")

# What make install installs (README.md lists the same files).
install: install-module install-user

install-module: module
	install -D -m 0644 vfio_reserve.ko $(DESTDIR)$(MODDIR)/vfio_reserve.ko
	@if [ -z "$(DESTDIR)" ]; then depmod -a $(KVER); fi

install-user: helper
	install -D -m 0755 build/user/vfio-reserve $(DESTDIR)$(SBINDIR)/vfio-reserve
	install -D -m 0644 man/vfio-reserve.8 $(DESTDIR)$(MANDIR)/man8/vfio-reserve.8
	install -D -m 0644 man/vfio_reserve.4 $(DESTDIR)$(MANDIR)/man4/vfio_reserve.4
	install -D -m 0644 contrib/bash-completion/vfio-reserve $(DESTDIR)$(BASHCOMPDIR)/vfio-reserve
	install -D -m 0644 contrib/modprobe.d/vfio-reserve.conf.example $(DESTDIR)$(DOCDIR)/examples/vfio-reserve.conf

# DKMS: the module's sources under /usr/src, built for KVER by dkms.
DKMS_SRC := /usr/src/vfio-reserve-$(VERSION)
dkms-install:
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)
	cp -r Kbuild dkms.conf kmod $(DKMS_SRC)/
	sed -i 's/#MODULE_VERSION#/$(VERSION)/' $(DKMS_SRC)/dkms.conf
	dkms add -m vfio-reserve -v $(VERSION)
	dkms build -m vfio-reserve -v $(VERSION) -k $(KVER)
	dkms install -m vfio-reserve -v $(VERSION) -k $(KVER)

dkms-remove:
	-dkms remove -m vfio-reserve -v $(VERSION) --all
	rm -rf $(DKMS_SRC)

# make check: first install what is missing (KDIR may only exist after).
# VR_CHECK_START: where check.sh's time budget starts (selftests/check.sh).
check:
	@export VR_CHECK_START=$$(date +%s) && $(MAKE) --no-print-directory deps && \
		$(MAKE) --no-print-directory check-run

check-run:
	@selftests/check.sh

version:
	@echo $(VERSION)

print-kdir:
	@echo $(KDIR)

print-ksft: $(KSFT_HDR)
	@echo $(KSFT)

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	-$(MAKE) -C user clean
	rm -rf $(BUILD)
