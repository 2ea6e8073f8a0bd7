# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Controller speed (docs/PERFORMANCE.md): swap switch time and
# `slotlb status` at 1,000 apps. `make bench-controller` runs it (root).

.PHONY: bench-controller
bench-controller: $(BUILD)/slotlbd $(BUILD)/slotlb $(BUILD)/tools/httpd \
		  $(BUILD)/tools/xdp_pass.bpf.o
	$(Q)tools/bench/controller/run.sh
