# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The veth/netns lab: the XDP_PASS program that tools/lab/lab.sh attaches
# to the end hosts' veths so XDP_REDIRECT into them is delivered.

LAB_XDP_PASS_OBJ := $(BUILD)/tools/xdp_pass.bpf.o

# An explicit rule: the top-level pattern rule only covers bpf/*.bpf.c.
$(LAB_XDP_PASS_OBJ): tools/lab/xdp_pass.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

ALL_TARGETS += $(LAB_XDP_PASS_OBJ)
