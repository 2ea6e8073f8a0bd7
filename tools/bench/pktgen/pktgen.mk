# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Forwarding rate on veth (docs/PERFORMANCE.md): the live-frames packet
# generator and its sink/baseline programs. `make bench-pktgen` runs it
# (root, about two minutes).

PKTGEN_DIR  := tools/bench/pktgen
PKTGEN_OUT  := $(BUILD)/tools/bench/pktgen
PKTGEN_OBJ  := $(PKTGEN_OUT)/pktgen.bpf.o
PKTGEN_SKEL := $(PKTGEN_OUT)/pktgen.skel.h
PKTGEN      := $(PKTGEN_OUT)/pktgen

# Explicit rules: the top-level pattern rule only covers bpf/*.bpf.c.
$(PKTGEN_OBJ): $(PKTGEN_DIR)/pktgen.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(PKTGEN_SKEL): $(PKTGEN_OBJ)
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name pktgen_bpf > $@

# The frame template comes from bench_xdp's lab (tools/bench/bench.mk).
$(PKTGEN): $(PKTGEN_DIR)/pktgen.c $(PKTGEN_SKEL) $(BENCH_SHARED_OBJS) \
	   $(BENCH_SHARED_HDRS)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -I$(BENCH_DIR) $< $(BENCH_SHARED_OBJS) $(LDFLAGS) \
		$(LIBBPF_LIBS) -o $@

ALL_TARGETS += $(PKTGEN)

.PHONY: bench-pktgen
bench-pktgen: $(PKTGEN) $(BUILD)/tools/dpctl
	$(Q)$(PKTGEN_DIR)/run.sh
