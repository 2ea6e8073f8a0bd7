# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The lab's backend HTTP server (tools/httpd/httpd.c), run in every
# backend namespace by tools/lab/lab.sh.

HTTPD_BIN := $(BUILD)/tools/httpd

$(HTTPD_BIN): tools/httpd/httpd.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< -o $@ $(LDFLAGS) -pthread

ALL_TARGETS += $(HTTPD_BIN)
