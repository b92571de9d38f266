# SPDX-License-Identifier: MIT
#
# libFuzzer build of domino's fuzz targets, run from the repo root by
# `make fuzz` (`$(MAKE) -f tests/fuzz/fuzz.mk`). Every tests/fuzz/fuzz_X.c
# becomes $(FB)/fuzz_X, built with clang and -fsanitize=fuzzer,address,
# undefined against the proto and broker sources (compiled once with
# coverage instrumentation into one archive, so each target pulls in only
# the objects it needs), then runs for FUZZ_SECONDS on its corpus.
#
# The seed corpus tests/fuzz/corpus/fuzz_X/ is only read: libFuzzer writes
# new inputs into $(FB)/corpus/fuzz_X/ and crashes into $(FB)/artifacts/.
# `make -f tests/fuzz/fuzz.mk merge` folds new coverage back into the seeds.
# The gcc build replays the seeds without clang (tests/fuzz/replay_main.c).
#
#   make fuzz                          build and run every target
#   make fuzz FUZZ_SECONDS=300         run each longer
#   make fuzz FUZZ_TARGETS=fuzz_event  only some targets
#   make -f tests/fuzz/fuzz.mk build   build only

FB           ?= build/fuzz
FUZZ_SECONDS ?= 30
FUZZ_CC      ?= clang
FUZZ_FLAGS   ?=

MSGPACK_PC := $(shell pkg-config --exists msgpack-c 2>/dev/null && echo msgpack-c || echo msgpack)
PKGS       := $(MSGPACK_PC) lmdb libsodium libcurl libcjson libcrypto libcyaml
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FCFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -O1 -g -fno-omit-frame-pointer \
	$(SAN) -MMD -MP -Iproto -Ibroker -Iclient -Itests $(PKG_CFLAGS)
LIBS    := $(PKG_LIBS) -lnng -lpthread -lm

LIB_SRC := $(wildcard proto/*.c) $(wildcard client/*.c) \
	$(filter-out broker/main.c,$(wildcard broker/*.c broker/forge/*.c broker/plugins/*.c))
ALL_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(ALL_TARGETS)

LIB_OBJ := $(patsubst %.c,$(FB)/obj/%.o,$(LIB_SRC))
LIB_A   := $(FB)/libdomino-fuzz.a
BINS    := $(addprefix $(FB)/,$(FUZZ_TARGETS))

.PHONY: all build run merge clean $(addprefix run-,$(FUZZ_TARGETS)) \
	$(addprefix merge-,$(FUZZ_TARGETS))
all: run

build: $(BINS)

run: $(addprefix run-,$(FUZZ_TARGETS))

# Library objects get coverage hooks (fuzzer-no-link) but no main().
$(FB)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FCFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(LIB_A): $(LIB_OBJ)
	@rm -f $@; ar rcs $@ $^

$(FB)/fuzz_%: tests/fuzz/fuzz_%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FCFLAGS) -fsanitize=fuzzer $< $(LIB_A) $(LIBS) -o $@

# The seed dir comes second, so libFuzzer only writes into the first one.
# Static pattern rules: make skips implicit rules for .PHONY targets.
$(addprefix run-,$(FUZZ_TARGETS)): run-%: $(FB)/%
	@mkdir -p $(FB)/corpus/$* $(FB)/artifacts
	@echo "fuzz: $* for $(FUZZ_SECONDS)s"
	$(FB)/$* -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		-artifact_prefix=$(FB)/artifacts/$*- $(FUZZ_FLAGS) \
		$(FB)/corpus/$* $(wildcard tests/fuzz/corpus/$*)

merge: $(addprefix merge-,$(FUZZ_TARGETS))

$(addprefix merge-,$(FUZZ_TARGETS)): merge-%: $(FB)/%
	@mkdir -p tests/fuzz/corpus/$* $(FB)/corpus/$*
	$(FB)/$* -merge=1 tests/fuzz/corpus/$* $(FB)/corpus/$*

clean:
	rm -rf $(FB)

-include $(shell find $(FB)/obj -name '*.d' 2>/dev/null)
-include $(wildcard $(FB)/*.d)
