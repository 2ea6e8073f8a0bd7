# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The benchmark suites that live one directory deeper (tools/bench/*/),
# below the top-level Makefile's tools/*/*.mk glob: forwarding rate
# (pktgen), scale and controller speed. Each brings its own fragment.

include $(sort $(wildcard tools/bench/*/*.mk))
