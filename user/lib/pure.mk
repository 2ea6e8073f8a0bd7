# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The pure-C part of libslotlb: no libbpf, so unit tests link these objects
# alone and run without root. libslotlb links LIB_PURE_OBJS too.
#
# A static pattern rule, not $(BUILD)/lib/%.o, so the libbpf side of
# user/lib can give its own objects different prerequisites (skeletons)
# without two pattern rules competing for the same targets.

LIB_PURE_OBJS := $(BUILD)/lib/maglev.o $(BUILD)/lib/addr.o \
		 $(BUILD)/lib/validate.o $(BUILD)/lib/traffic.o \
		 $(BUILD)/lib/traffic_parse.o $(BUILD)/lib/reply_index.o

# validate.c applies addr.c's and traffic_parse.c's parsers.
$(BUILD)/lib/validate.o: user/lib/addr.h user/lib/traffic_parse.h

$(LIB_PURE_OBJS): $(BUILD)/lib/%.o: user/lib/%.c user/lib/%.h \
		  include/slotlb/abi.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@
