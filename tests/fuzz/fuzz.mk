# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Fuzz targets (clang's libFuzzer with ASan and UBSan) for everything
# slotlbd parses from a caller: request routing, JSON bodies, addresses
# and endpoints, every input rule of validate.c, traffic distributions
# and prefixes, the config file, command line and token file. Each links
# the sources it fuzzes, compiled with the fuzzer's instrumentation.
#
#   make fuzz [FUZZ_TIME=S] [FUZZ=TARGET...]   S seconds each (default
#       60); new inputs that reach new code join tests/fuzz/corpus/
#   tests/fuzz/run.sh S                        what make test runs: a
#       short run over the corpus, which it leaves as it is

FUZZ_DIR    := $(BUILD)/fuzz
FUZZ_CC     ?= clang
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer \
	       -fsanitize=fuzzer,address,undefined \
	       -fno-sanitize-recover=undefined -D_GNU_SOURCE \
	       -Wall -Wextra -Werror -Iinclude -Iuser/lib -Iuser/slotlbd \
	       -I$(BUILD) -I$(FUZZ_DIR) -Itests/fuzz
FUZZ_TARGETS := addr validate traffic router request config
FUZZ_BINS    := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_TARGETS))
FUZZ_TIME   ?= 60

FUZZ_SRCS_addr     := user/lib/addr.c
FUZZ_SRCS_validate := user/lib/validate.c user/lib/addr.c user/lib/traffic_parse.c
FUZZ_SRCS_traffic  := user/lib/traffic_parse.c
FUZZ_SRCS_router   := user/slotlbd/api_router.c
FUZZ_SRCS_request  := user/slotlbd/api_request.c user/slotlbd/warmup.c \
		      user/slotlbd/util.c user/lib/validate.c \
		      user/lib/addr.c user/lib/traffic_parse.c
FUZZ_SRCS_config   := user/slotlbd/options.c user/slotlbd/auth.c \
		      user/slotlbd/etcd_url.c \
		      user/lib/addr.c
FUZZ_LIBS_request  := -ljansson -lmicrohttpd -lcurl -lpthread

# The route table's rows, without handlers, for the router target.
$(FUZZ_DIR)/routes.inc: user/slotlbd/api_routes.c
	$(Q)mkdir -p $(@D)
	$(Q)sed -n 's/^[[:space:]]*{"\([A-Z]*\)", "\([^"]*\)", [a-z_]*, \(ROUTE_[A-Z]*\)},.*/{"\1", "\2", NULL, \3},/p' \
		$< >$@

$(FUZZ_DIR)/fuzz_router: $(FUZZ_DIR)/routes.inc

# One rule per target: its sources are prerequisites.
define FUZZ_RULE
$(FUZZ_DIR)/fuzz_$(1): tests/fuzz/fuzz_$(1).c tests/fuzz/fuzz.h \
		       $(FUZZ_SRCS_$(1)) $(wildcard user/lib/*.h user/slotlbd/*.h) \
		       include/slotlb/abi.h
	$$(call msg,FUZZ,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(FUZZ_CC) $$(FUZZ_CFLAGS) $$< $(FUZZ_SRCS_$(1)) -o $$@ \
		$(FUZZ_LIBS_$(1)) -lm
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t))))

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	$(Q)FUZZ_KEEP=1 tests/fuzz/run.sh $(FUZZ_TIME) $(FUZZ)
