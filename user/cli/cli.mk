# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The slotlb CLI (a client of slotlbd's HTTP API over its Unix socket) and
# the warm-up unit test, whose code lives in slotlbd but whose test needs
# nothing of the daemon. addr.o and validate.o (the input rules the CLI
# shares with slotlbd) come from user/lib/pure.mk, included after this
# fragment, so they are named by path.

CLI_SRCS := $(wildcard user/cli/*.c)
CLI_OBJS := $(patsubst user/cli/%.c,$(BUILD)/cli/%.o,$(CLI_SRCS))
CLI_HDRS := $(wildcard user/cli/*.h) user/lib/addr.h user/lib/validate.h \
	    user/lib/traffic_parse.h \
	    include/slotlb/abi.h
CLI_VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo 0)

$(CLI_OBJS): $(BUILD)/cli/%.o: user/cli/%.c $(CLI_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -DSLOTLB_VERSION='"$(CLI_VERSION)"' -c $< -o $@

# backend-agent (agent.c) loads the decapsulation program: libslotlb's
# agent.o and libbpf.
$(BUILD)/cli/agent.o: user/lib/slotlb.h $(BUILD)/backend_agent.skel.h

$(BUILD)/slotlb: $(CLI_OBJS) $(BUILD)/lib/validate.o $(BUILD)/lib/addr.o \
		 $(BUILD)/lib/traffic_parse.o $(LIBSLOTLB)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $(filter %.o,$^) -o $@ $(LDFLAGS) $(LIBSLOTLB) \
		$(LIBBPF_LIBS) -lcurl -ljansson -lpthread

$(BUILD)/tests/unit/test_warmup: tests/unit/test_warmup.c \
				 user/slotlbd/warmup.c user/slotlbd/warmup.h \
				 user/slotlbd/util.c user/slotlbd/util.h \
				 $(BUILD)/lib/validate.o $(BUILD)/lib/addr.o \
				 $(BUILD)/lib/traffic_parse.o
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Iuser/slotlbd $(filter %.c %.o,$^) -o $@ \
		$(LDFLAGS) -lcmocka -lcurl -lpthread

# The help/man agreement test runs the built CLI; make it a prerequisite
# so `make unit-test` builds it first.
tests/unit/test_cli_help.sh: $(BUILD)/slotlb docs/slotlb.8

ALL_TARGETS += $(BUILD)/slotlb
UNIT_TESTS  += $(BUILD)/tests/unit/test_warmup tests/unit/test_cli_help.sh
