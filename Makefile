# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# slotlb build. Everything generated goes to build/. Components add their
# own targets through the *.mk fragment beside their sources, so a
# directory owns its build rules (like Kbuild's per-directory makefiles).
#
#   make            build everything
#   make deps       install the Debian packages build, tests and demo need
#   make test       deps + build + unit, BPF and integration tests (root)
#   make check      format check + unit + BPF tests
#   make fuzz       fuzz every parser of caller input (tests/fuzz/fuzz.mk)
#   make mutate     mutation testing (docs/TESTING.md; long, root)
#   make demo       deps + build + the lab demo (root)
#   make demo-ramp  deps + build + a traffic routing ramp demo (root)
#   make demo-health  a backend dies under load, leaves the pool (root)
#   make bench      benchmarks (root)
#   make install    [PREFIX=/usr/local] [DESTDIR=...]; make uninstall
#                   (dist/install.mk)
#   make deb        build/slotlb.deb, a Debian package (dist/deb.mk)
#   make V=1        show commands;  make SAN=1  tests with ASan/UBSan

.DELETE_ON_ERROR:
.DEFAULT_GOAL := all

# Tests, demos and tools run Debian's python3 (what `make deps` installs),
# not the first python3 in PATH: a version manager's shim (pyenv) costs
# seconds a start on a loaded machine, and the tests start python
# thousands of times.
export PATH := /usr/bin:$(PATH)

BUILD     ?= build
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
ARCH      := $(shell uname -m)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN_USER := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
	     -Wformat=2
WARN_BPF  := -Wall -Wextra -Werror -Wshadow
CFLAGS    ?= -O2 -g
CFLAGS    += $(WARN_USER) -D_GNU_SOURCE -Iinclude -Iuser/lib -I$(BUILD)
ifeq ($(SAN),1)
CFLAGS    += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS   += -fsanitize=address,undefined
endif
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 $(WARN_BPF) \
	      -Iinclude -I/usr/include/$(ARCH)-linux-gnu

LIBBPF_LIBS := -lbpf -lelf -lz

# Shared outputs, defined here so every fragment sees them whatever its
# include order.
LIBSLOTLB := $(BUILD)/libslotlb.a
SKEL      := $(BUILD)/slotlb.skel.h

# Filled in by the fragments.
ALL_TARGETS :=
UNIT_TESTS  :=
BPF_TESTS   :=

$(BUILD):
	$(Q)mkdir -p $@

# --- BPF objects and skeletons ----------------------------------------
BPF_HDRS := $(wildcard bpf/*.bpf.h) include/slotlb/abi.h

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst .,_,$*)_bpf > $@

# The objects are outputs too (tests and iproute2 load them), not
# intermediates of their skeletons: named here, make neither deletes
# them after a build nor skips rebuilding one that is missing. (A bare
# .SECONDARY: did the first by making every target intermediate, so a
# library object added to an archive that was newer than its source was
# never built.)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(wildcard bpf/*.bpf.c))
ALL_TARGETS += $(BPF_OBJS)

include $(sort $(wildcard user/*/*.mk tools/*.mk tools/*/*.mk tests/*/*.mk \
	dist/*.mk))

all: $(ALL_TARGETS)

# --- top-level commands -----------------------------------------------
.PHONY: all deps test check demo demo-ramp demo-health bench clean format format-check \
	unit-test bpf-test integration-test test-tiers build-tests build-mutant mutate

deps:
	$(Q)tools/deps.sh

unit-test: $(UNIT_TESTS)
	$(Q)tests/run_binaries.sh unit $(UNIT_TESTS)

bpf-test: $(BPF_TESTS)
	$(Q)tests/run_binaries.sh bpf $(BPF_TESTS)

integration-test: all
	$(Q)tests/integration/run.sh $(T)

test: deps
	$(Q)$(MAKE) --no-print-directory test-tiers

# What make test runs once the packages are there (make mutate's last
# stage), and what it builds first.
test-tiers: build-tests
	$(Q)tests/run_all.sh "$(UNIT_TESTS)" "$(BPF_TESTS)"

build-tests: all $(UNIT_TESTS) $(BPF_TESTS) $(FUZZ_BINS)

# What a mutant's own tests need (make mutate): no fuzz targets, whose
# sanitizer builds of every parser cost each mutant a rebuild it never
# runs; the full-suite stage (make test-tiers) still builds them.
build-mutant: all $(UNIT_TESTS) $(BPF_TESTS)

# Mutation testing (docs/TESTING.md): long, root, not part of make test.
# M=NAME[,NAME...] (globs too) runs some mutants, FAST=1 skips the
# full-suite stage, LOGS=DIR keeps every log, CHECK=1 only says whether
# each mutant still applies, LIST=1 lists them, JOBS=N tests N mutants at
# once (default 3; serial tests still run alone).
mutate: $(if $(CHECK)$(LIST),,deps)
	$(Q)tools/mutate/mutate.py $(if $(M),--only '$(M)') \
		$(if $(JOBS),--jobs '$(JOBS)') \
		$(if $(FAST),--fast) $(if $(LOGS),--logs '$(LOGS)') \
		$(if $(CHECK),--check) $(if $(LIST),--list)

# The fuzz targets are built too (make test runs them): a change to a
# parser they link must keep them compiling.
check: format-check unit-test bpf-test $(FUZZ_BINS)

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	$(Q)clang-format -i $(FORMAT_FILES)
format-check:
	$(Q)clang-format --dry-run -Werror $(FORMAT_FILES)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/demo.sh

demo-ramp: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/demo_ramp.sh

# A backend dies under load and leaves the pool; no request fails.
demo-health: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/demo_health.sh

# Every benchmark, one after the other (each bounds its own time); the
# peers they compare with (nftables, HAProxy, wrk) come from deps.sh.
bench:
	$(Q)tools/deps.sh bench
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory bench-xdp bench-scale bench-pktgen \
		bench-controller bench-http

clean:
	$(Q)rm -rf $(BUILD)
