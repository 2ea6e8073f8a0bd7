# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# slotlbd, the controller daemon, and the unit test of its pure state
# module (SQLite only: no libbpf, no root).

SLOTLBD := $(BUILD)/slotlbd
SLOTLBD_SRCS := $(wildcard user/slotlbd/*.c)
SLOTLBD_OBJS := $(patsubst user/slotlbd/%.c,$(BUILD)/obj/slotlbd/%.o,$(SLOTLBD_SRCS))
SLOTLBD_HDRS := $(wildcard user/slotlbd/*.h) user/lib/slotlb.h \
		user/lib/addr.h include/slotlb/abi.h
SLOTLBD_LIBS := -lsqlite3 -lmicrohttpd -ljansson -lcurl -lsystemd -lpthread

$(SLOTLBD_OBJS): $(BUILD)/obj/slotlbd/%.o: user/slotlbd/%.c $(SLOTLBD_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Iuser/slotlbd -c $< -o $@

$(SLOTLBD): $(SLOTLBD_OBJS) $(LIBSLOTLB)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $(SLOTLBD_OBJS) $(LIBSLOTLB) $(LIBBPF_LIBS) \
		$(SLOTLBD_LIBS) $(LDFLAGS) -o $@

ALL_TARGETS += $(SLOTLBD)

STATE_TEST := $(BUILD)/tests/unit/test_state
STATE_OBJS := $(BUILD)/obj/slotlbd/state.o $(BUILD)/obj/slotlbd/state_query.o

$(STATE_TEST): tests/unit/test_state.c $(STATE_OBJS) $(SLOTLBD_HDRS)
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Iuser/slotlbd tests/unit/test_state.c \
		$(STATE_OBJS) -o $@ $(LDFLAGS) -lsqlite3 -lcmocka

UNIT_TESTS += $(STATE_TEST)
