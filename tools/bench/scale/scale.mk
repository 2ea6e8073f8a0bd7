# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Scale (docs/PERFORMANCE.md): flow table at 1M flows, Maglev build times,
# swap latency with 1000 apps. `make bench-scale` runs it (root). Its lab
# and frames are bench_xdp's: BENCH_SHARED_OBJS from tools/bench/bench.mk.

SCALE_DIR  := tools/bench/scale
SCALE      := $(BUILD)/tools/bench/scale/scale
SCALE_SRCS := $(addprefix $(SCALE_DIR)/, scale.c scale_ctl.c)

$(SCALE): $(SCALE_SRCS) $(SCALE_DIR)/scale.h $(BENCH_SHARED_OBJS) \
	  $(BENCH_SHARED_HDRS) $(LIBSLOTLB) user/lib/slotlb.h \
	  user/lib/maglev.h include/slotlb/abi.h
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -I$(BENCH_DIR) $(SCALE_SRCS) $(BENCH_SHARED_OBJS) \
		$(LIBSLOTLB) $(LDFLAGS) $(LIBBPF_LIBS) -o $@

ALL_TARGETS += $(SCALE)

.PHONY: bench-scale
bench-scale: $(SCALE)
	$(Q)$(SCALE_DIR)/run.sh
