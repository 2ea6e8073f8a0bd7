# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# loadclient: the lab's HTTP load client (build/tools/loadclient), and the
# unit test of its response parser.

LOADCLIENT_DIR  := tools/loadclient
LOADCLIENT_HDRS := $(LOADCLIENT_DIR)/loadclient.h $(LOADCLIENT_DIR)/response.h
LOADCLIENT_SRCS := $(addprefix $(LOADCLIENT_DIR)/, \
		   loadclient.c options.c report.c response.c)

$(BUILD)/tools/loadclient: $(LOADCLIENT_SRCS) $(LOADCLIENT_HDRS)
	$(Q)mkdir -p $(@D)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $(LOADCLIENT_SRCS) $(LDFLAGS) -lm -o $@

ALL_TARGETS += $(BUILD)/tools/loadclient

$(BUILD)/tests/unit/test_loadclient_parse: tests/unit/test_loadclient_parse.c \
		$(LOADCLIENT_DIR)/response.c $(LOADCLIENT_DIR)/response.h
	$(Q)mkdir -p $(@D)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) -I$(LOADCLIENT_DIR) $< \
		$(LOADCLIENT_DIR)/response.c $(LDFLAGS) -lcmocka -o $@

UNIT_TESTS += $(BUILD)/tests/unit/test_loadclient_parse
