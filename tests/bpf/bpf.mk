# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# BPF tests: cmocka binaries that run packet tables through the real
# program with BPF_PROG_TEST_RUN, each in its own network namespace with
# its own pin root. They need root; without it they exit 77 (skip).
# lab.o and pkt.o are the shared lab and packet builder.

BPF_TEST_DIR := $(BUILD)/tests/bpf
BPF_TEST_NAMES := test_forward test_parse test_flows test_swap_atomicity \
		  test_spoof test_flood test_lifecycle test_icmp test_frag \
		  test_chance test_counters
BPF_TEST_BINS := $(addprefix $(BPF_TEST_DIR)/,$(BPF_TEST_NAMES))
BPF_TEST_OBJS := $(BPF_TEST_DIR)/lab.o $(BPF_TEST_DIR)/pkt.o \
		 $(BPF_TEST_DIR)/conv.o
BPF_TEST_HDRS := tests/bpf/lab.h tests/bpf/pkt.h tests/bpf/conv.h user/lib/slotlb.h \
		 include/slotlb/abi.h

# Packet tables override a macro's default fields in designated
# initializers (TCP4(.dport = 81)); that is the point, not a mistake.
$(BPF_TEST_DIR)/%.o: CFLAGS += -Wno-override-init
$(BPF_TEST_DIR)/%.o: tests/bpf/%.c $(BPF_TEST_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BPF_TEST_BINS): $(BPF_TEST_DIR)/%: $(BPF_TEST_DIR)/%.o $(BPF_TEST_OBJS) \
		  $(LIBSLOTLB)
	$(call msg,CCLD,$@)
	$(Q)$(CC) $(CFLAGS) $(filter %.o,$^) -o $@ $(LDFLAGS) $(LIBSLOTLB) \
		$(LIBBPF_LIBS) -lcmocka -lpthread

BPF_TESTS += $(BPF_TEST_BINS)
