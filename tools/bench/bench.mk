# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# bench_xdp: per-packet cost of the XDP program through BPF_PROG_TEST_RUN
# against a trivial XDP_TX floor (docs/PERFORMANCE.md). `make bench-xdp`
# builds and runs it (root).

BENCH_DIR       := tools/bench
BENCH_OUT       := $(BUILD)/tools/bench
BENCH_FLOOR_OBJ := $(BENCH_OUT)/xdp_floor.bpf.o
BENCH_FLOOR_SKEL := $(BENCH_OUT)/xdp_floor.skel.h
BENCH_XDP       := $(BENCH_OUT)/bench_xdp
BENCH_XDP_SRCS  := $(BENCH_DIR)/bench_xdp.c $(BENCH_DIR)/bench_setup.c \
		   $(BENCH_DIR)/bench_report.c $(BENCH_DIR)/bench_traffic.c \
		   $(BENCH_DIR)/bench_dsr.c $(BENCH_DIR)/bench_profile.c
BENCH_XDP_HDRS  := $(BENCH_DIR)/bench_xdp.h user/lib/slotlb.h \
		   user/lib/traffic.h user/lib/traffic_parse.h \
		   include/slotlb/abi.h

# The lab, frame builders and helpers bench_xdp shares with scale and
# pktgen, built once. Their fragments (tools/bench/suites.mk) are read
# after this one, so they can use these names.
BENCH_SHARED_HDRS := $(BENCH_DIR)/bench_lab.h $(BENCH_DIR)/bench_util.h
BENCH_SHARED_OBJS := $(BENCH_OUT)/bench_lab.o $(BENCH_OUT)/bench_util.o

$(BENCH_SHARED_OBJS): $(BENCH_OUT)/%.o: $(BENCH_DIR)/%.c $(BENCH_SHARED_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Explicit rules: the top-level pattern rule only covers bpf/*.bpf.c.
$(BENCH_FLOOR_OBJ): $(BENCH_DIR)/xdp_floor.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BENCH_FLOOR_SKEL): $(BENCH_FLOOR_OBJ)
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name xdp_floor_bpf > $@

$(BENCH_XDP): $(BENCH_XDP_SRCS) $(BENCH_XDP_HDRS) $(BENCH_SHARED_OBJS) \
	      $(BENCH_SHARED_HDRS) $(BENCH_FLOOR_SKEL) $(LIBSLOTLB) \
	      $(BUILD)/backend_agent.skel.h
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(BENCH_XDP_SRCS) $(BENCH_SHARED_OBJS) \
		$(LIBSLOTLB) $(LDFLAGS) $(LIBBPF_LIBS) -o $@

ALL_TARGETS += $(BENCH_XDP)

.PHONY: bench-xdp
bench-xdp: $(BENCH_XDP)
	$(Q)$(BENCH_XDP)
