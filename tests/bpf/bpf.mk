# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# BPF tests: cmocka binaries that run packet tables through the real
# program with BPF_PROG_TEST_RUN, each in its own network namespace with
# its own pin root. They need root; without it they exit 77 (skip).
# lab.o and pkt.o are the shared lab and packet builder.

BPF_TEST_DIR := $(BUILD)/tests/bpf
BPF_TEST_NAMES := test_forward test_parse test_flows test_swap_atomicity \
		  test_traffic test_traffic_rules test_spoof test_flood \
		  test_lifecycle test_icmp test_frag test_chance test_counters \
		  test_health test_drain test_upgrade_flows test_dsr test_agent \
		  test_reply_index
BPF_TEST_BINS := $(addprefix $(BPF_TEST_DIR)/,$(BPF_TEST_NAMES))
BPF_TEST_OBJS := $(BPF_TEST_DIR)/lab.o $(BPF_TEST_DIR)/pkt.o \
		 $(BPF_TEST_DIR)/traffic_lab.o $(BPF_TEST_DIR)/conv.o
BPF_TEST_HDRS := tests/bpf/lab.h tests/bpf/pkt.h user/lib/slotlb.h \
		 tests/bpf/traffic_lab.h tests/bpf/conv.h user/lib/traffic.h \
		 user/lib/traffic_parse.h include/slotlb/abi.h

# routing_reader: a test-only XDP program that reads routing elements as
# the data path does (test_swap_atomicity). Explicit rules: the top-level
# pattern rule only covers bpf/*.bpf.c, and the %.o rule below is gcc's.
READER_OBJ  := $(BPF_TEST_DIR)/routing_reader.bpf.o
READER_SKEL := $(BPF_TEST_DIR)/routing_reader.skel.h

$(READER_OBJ): tests/bpf/routing_reader.bpf.c tests/bpf/routing_reader.h \
	       include/slotlb/abi.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(READER_SKEL): $(READER_OBJ)
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name routing_reader_bpf > $@

$(BPF_TEST_DIR)/test_swap_atomicity.o: $(READER_SKEL) tests/bpf/routing_reader.h
$(BPF_TEST_DIR)/test_swap_atomicity.o: CFLAGS += -I$(BPF_TEST_DIR)
$(BPF_TEST_DIR)/test_agent.o: $(BUILD)/backend_agent.skel.h

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
