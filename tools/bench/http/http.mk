# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# HTTP throughput/latency and switch under load against the alternatives
# (issue 4, parts 3 and 4; docs/PERFORMANCE.md). `make bench-http` (root)
# builds what the lab needs and runs tools/bench/http/run.sh: about 6
# minutes, results in build/bench/http/ and docs/img/switch.png. Peers
# (wrk, nftables, haproxy, gnuplot) come from `tools/deps.sh bench`.

BENCH_HTTP_DEPS := $(BUILD)/slotlbd $(BUILD)/slotlb $(BUILD)/tools/httpd \
		   $(BUILD)/tools/loadclient $(BUILD)/tools/xdp_pass.bpf.o

.PHONY: bench-http
bench-http: $(BENCH_HTTP_DEPS)
	$(Q)tools/deps.sh bench
	$(Q)tools/bench/http/run.sh
