# SPDX-License-Identifier: GPL-2.0
#
# The kernel's own kselftest files, for the top Makefile (the headers) and
# selftests/Makefile (lib.mk, the runner, run_kselftest.sh): KSFT_DIR's
# tools/testing/selftests when KSFT_DIR names a kernel source tree, else
# Debian's linux-source-6.1 tarball's, unpacked once under build/.
# Needs VR_TOP (the repository's top) set before it is included.
KSFT_DIR ?=
KSRC_TAR ?= /usr/src/linux-source-6.1.tar.xz
KSFT_FILES := lib.mk run_kselftest.sh kselftest/runner.sh kselftest/prefix.pl \
	kselftest/module.sh kselftest.h kselftest_harness.h
ifneq ($(KSFT_DIR),)
KSFT := $(abspath $(KSFT_DIR))/tools/testing/selftests
else
KSFT := $(VR_TOP)/build/ksft-tree/linux-source-6.1/tools/testing/selftests

$(KSFT)/%:
	@mkdir -p $(VR_TOP)/build/ksft-tree
	@test -r $(KSRC_TAR) || { echo "vfio-reserve: no $(KSRC_TAR): apt-get install linux-source-6.1, or set KSFT_DIR to a kernel source tree" >&2; exit 1; }
	@tar -xJf $(KSRC_TAR) -C $(VR_TOP)/build/ksft-tree \
		$(addprefix linux-source-6.1/tools/testing/selftests/,$(KSFT_FILES))
	@touch $(addprefix $(KSFT)/,$(KSFT_FILES))
endif
