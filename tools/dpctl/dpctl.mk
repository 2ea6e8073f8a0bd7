# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# dpctl: the data path driven directly, for data-path tests and labs.

DPCTL := $(BUILD)/tools/dpctl

$(DPCTL): tools/dpctl/dpctl.c $(LIBSLOTLB) user/lib/slotlb.h user/lib/addr.h \
	  user/lib/traffic.h user/lib/traffic_parse.h
	$(call msg,CCLD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(LIBSLOTLB) $(LIBBPF_LIBS) $(LDFLAGS) -o $@

ALL_TARGETS += $(DPCTL)
