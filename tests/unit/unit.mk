# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# cmocka unit tests, one binary per module, each linking only the unit
# under test. The objects come from user/lib/pure.mk; this fragment is
# included before it, so prerequisites name the object paths directly
# (rule prerequisites expand when read, before LIB_PURE_OBJS exists).

UNIT_DIR := $(BUILD)/tests/unit

$(UNIT_DIR)/test_maglev: tests/unit/test_maglev.c $(BUILD)/lib/maglev.o \
			 user/lib/maglev.h
$(UNIT_DIR)/test_addr: tests/unit/test_addr.c $(BUILD)/lib/addr.o \
		       user/lib/addr.h include/slotlb/abi.h
$(UNIT_DIR)/test_traffic: tests/unit/test_traffic.c $(BUILD)/lib/traffic.o \
			  user/lib/traffic.h include/slotlb/abi.h
$(UNIT_DIR)/test_traffic_parse: tests/unit/test_traffic_parse.c \
				$(BUILD)/lib/traffic_parse.o \
				user/lib/traffic_parse.h include/slotlb/abi.h

$(UNIT_DIR)/test_reply_words: tests/unit/test_reply_words.c \
			    $(BUILD)/lib/reply_index.o user/lib/reply_index.h \
			    include/slotlb/abi.h

$(UNIT_DIR)/test_validate: tests/unit/test_validate.c \
			   $(BUILD)/lib/validate.o $(BUILD)/lib/addr.o \
			   $(BUILD)/lib/traffic_parse.o \
			   user/lib/validate.h

$(UNIT_DIR)/test_validate_drain: tests/unit/test_validate_drain.c \
				 $(BUILD)/lib/validate.o $(BUILD)/lib/addr.o \
				 $(BUILD)/lib/traffic_parse.o \
				 user/lib/validate.h

$(UNIT_DIR)/test_maglev $(UNIT_DIR)/test_addr $(UNIT_DIR)/test_validate \
$(UNIT_DIR)/test_traffic $(UNIT_DIR)/test_traffic_parse \
$(UNIT_DIR)/test_validate_drain $(UNIT_DIR)/test_reply_words:
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(filter %.c %.o,$^) -o $@ $(LDFLAGS) -lcmocka -lm

# Shell tests that run the built programs: make them prerequisites so
# `make unit-test` builds them first. The CLI and slotlbd link one
# validate.o: test_validate_shared needs both built.
UNIT_TESTS += $(UNIT_DIR)/test_maglev $(UNIT_DIR)/test_addr \
	      $(UNIT_DIR)/test_validate $(UNIT_DIR)/test_traffic \
	      $(UNIT_DIR)/test_traffic_parse $(UNIT_DIR)/test_validate_drain \
	      $(UNIT_DIR)/test_reply_words
tests/unit/test_validate_shared.sh: $(BUILD)/slotlb $(BUILD)/slotlbd
UNIT_TESTS += tests/unit/test_validate_shared.sh
tests/unit/test_slotlbd_options.sh: $(BUILD)/slotlbd
UNIT_TESTS += tests/unit/test_slotlbd_options.sh
tests/unit/test_completion.sh: $(BUILD)/slotlb
UNIT_TESTS += tests/unit/test_completion.sh
tests/unit/test_docs_sync.sh: $(BUILD)/slotlb $(BUILD)/slotlbd
UNIT_TESTS += tests/unit/test_docs_sync.sh
