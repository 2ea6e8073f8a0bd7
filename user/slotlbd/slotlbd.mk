# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# slotlbd, the controller daemon, and the unit test of its pure state
# module (SQLite only: no libbpf, no root).

SLOTLBD := $(BUILD)/slotlbd
SLOTLBD_SRCS := $(wildcard user/slotlbd/*.c)
SLOTLBD_OBJS := $(patsubst user/slotlbd/%.c,$(BUILD)/obj/slotlbd/%.o,$(SLOTLBD_SRCS))
SLOTLBD_HDRS := $(wildcard user/slotlbd/*.h) user/lib/slotlb.h \
		user/lib/addr.h user/lib/validate.h user/lib/traffic.h user/lib/traffic_parse.h \
		include/slotlb/abi.h
SLOTLBD_LIBS := -lsqlite3 -lmicrohttpd -ljansson -lcurl -lcrypto -lsystemd \
		-lpthread

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
# state.c and every state_<concern>.c, with the log and clocks below them.
STATE_OBJS := $(patsubst user/slotlbd/%.c,$(BUILD)/obj/slotlbd/%.o,\
		$(wildcard user/slotlbd/state*.c)) $(BUILD)/obj/slotlbd/util.o

# validate.o and addr.o (user/lib/pure.mk) by path: the name rule.
$(STATE_TEST): tests/unit/test_state.c $(STATE_OBJS) $(SLOTLBD_HDRS) \
	       $(BUILD)/lib/validate.o $(BUILD)/lib/addr.o \
	       $(BUILD)/lib/traffic_parse.o
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Iuser/slotlbd tests/unit/test_state.c \
		$(STATE_OBJS) $(BUILD)/lib/validate.o $(BUILD)/lib/addr.o \
		$(BUILD)/lib/traffic_parse.o \
		-o $@ $(LDFLAGS) -lsqlite3 -lcmocka

UNIT_TESTS += $(STATE_TEST)

# The API router alone: matching is pure, no HTTP library.
ROUTER_TEST := $(BUILD)/tests/unit/test_router

$(ROUTER_TEST): tests/unit/test_router.c $(BUILD)/obj/slotlbd/api_router.o \
		user/slotlbd/api_router.h
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Iuser/slotlbd tests/unit/test_router.c \
		$(BUILD)/obj/slotlbd/api_router.o -o $@ $(LDFLAGS) -lcmocka

# The route table and docs/api.md's endpoint table list the same routes.
tests/unit/test_api_doc.sh: user/slotlbd/api_routes.c docs/api.md

UNIT_TESTS += $(ROUTER_TEST) tests/unit/test_api_doc.sh

# The hook runner alone: real scripts, no daemon.
HOOK_TEST := $(BUILD)/tests/unit/test_hook

$(HOOK_TEST): tests/unit/test_hook.c user/slotlbd/hook.c user/slotlbd/hook.h \
	      user/slotlbd/util.c user/slotlbd/util.h
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Iuser/slotlbd $(filter %.c,$^) -o $@ $(LDFLAGS) \
		-lcmocka -lpthread

UNIT_TESTS += $(HOOK_TEST)

# Access control's decisions alone: token files, bearer headers, peers.
AUTH_TEST := $(BUILD)/tests/unit/test_auth

$(AUTH_TEST): tests/unit/test_auth.c $(BUILD)/obj/slotlbd/auth.o \
	      user/slotlbd/auth.h
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Iuser/slotlbd tests/unit/test_auth.c \
		$(BUILD)/obj/slotlbd/auth.o -o $@ $(LDFLAGS) -lcmocka

UNIT_TESTS += $(AUTH_TEST)

# slotlb_build_info names the build (CLI_VERSION: user/cli/cli.mk).
$(BUILD)/obj/slotlbd/metrics_ops.o: CFLAGS += \
	-DSLOTLB_VERSION='"$(CLI_VERSION)"'
