# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# libslotlb: the libbpf side (load, attach, program, read) plus the pure
# objects of pure.mk, as one static library for slotlbd, tests and tools.

LIB_BPF_OBJS := $(BUILD)/lib/loader.o $(BUILD)/lib/program.o \
		$(BUILD)/lib/routing.o $(BUILD)/lib/upgrade.o \
		$(BUILD)/lib/upgrade_v1.o $(BUILD)/lib/upgrade_v2.o \
		$(BUILD)/lib/flows.o $(BUILD)/lib/flows_gc.o \
		$(BUILD)/lib/agent.o

$(LIB_BPF_OBJS): $(BUILD)/lib/%.o: user/lib/%.c user/lib/slotlb.h \
		 user/lib/lib_int.h user/lib/upgrade_int.h include/slotlb/abi.h $(SKEL)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/lib/agent.o: $(BUILD)/backend_agent.skel.h
$(BUILD)/lib/upgrade_v1.o $(BUILD)/lib/flows_gc.o: user/lib/reply_index.h

$(LIBSLOTLB): $(LIB_BPF_OBJS) $(BUILD)/lib/maglev.o $(BUILD)/lib/addr.o \
	      $(BUILD)/lib/validate.o $(BUILD)/lib/traffic.o \
	      $(BUILD)/lib/traffic_parse.o $(BUILD)/lib/reply_index.o
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

ALL_TARGETS += $(LIBSLOTLB)
