# domino: one non-recursive makefile, output under $(B)/.
#   make / make all     build dominod, domino and the tools (optimized)
#   make run            install packages, build, start dominod with defaults
#   make test           install packages, build with ASan/UBSan, run all tests
#   make bench          benchmarks (tools/bench)
#   make fuzz           libFuzzer targets with clang (tests/fuzz)
# CFLAGS/LDFLAGS belong to the user; the project's flags are in DCFLAGS.

B       ?= build
SAN     ?=
PREFIX  ?= /usr/local
CC      ?= cc

MSGPACK_PC := $(shell pkg-config --exists msgpack-c 2>/dev/null && echo msgpack-c || echo msgpack)
PKGS    := $(MSGPACK_PC) lmdb libsodium libcurl libcjson libcrypto libcyaml
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CRIT_CFLAGS := $(shell pkg-config --cflags criterion 2>/dev/null)
CRIT_LIBS   := $(shell pkg-config --libs criterion 2>/dev/null || echo -lcriterion)
# nng ships no .pc file in Debian 12.
NNG_LIBS := -lnng -lpthread

ifeq ($(SAN),1)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
OPT := -O2 -g
endif

DCFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(OPT) -MMD -MP \
	-Iproto -Ibroker -Iclient $(PKG_CFLAGS)
ifeq ($(SAN),1)
DLDFLAGS := -fsanitize=address,undefined
else
DLDFLAGS :=
endif
DLIBS := $(PKG_LIBS) $(NNG_LIBS) -lm

PROTO_SRC  := $(wildcard proto/*.c)
BROKER_SRC := $(filter-out broker/main.c,$(wildcard broker/*.c broker/forge/*.c broker/plugins/*.c broker/web/*.c))
CLIENT_SRC := $(wildcard client/*.c)
CLI_SRC    := $(wildcard client/cli/*.c)
TOOL_SRC   := $(wildcard tools/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
E2E_SRC    := $(wildcard tests/e2e/test_*.c)
E2E_LIB    := $(filter-out $(E2E_SRC),$(wildcard tests/e2e/*.c))
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

PROTO_A  := $(B)/libdomino-proto.a
BROKER_A := $(B)/libdomino-broker.a
CLIENT_A := $(B)/libdomino.a
DOMINOD  := $(B)/dominod
DOMINO   := $(B)/domino
TOOLS    := $(patsubst tools/%.c,$(B)/%,$(TOOL_SRC))
UNITS    := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
E2ES     := $(patsubst tests/e2e/%.c,$(B)/tests/e2e_%,$(E2E_SRC))
FUZZ_REPLAY := $(patsubst tests/fuzz/%.c,$(B)/tests/replay_%,$(FUZZ_SRC))

# Keep objects of tests and fuzz replays between builds.
.SECONDARY:

.PHONY: all run test check bench fuzz install clean deps unit e2e fuzz-replay
all: $(DOMINOD) $(DOMINO) $(TOOLS)

deps:
	@tools/install-deps

run: deps
	@$(MAKE) --no-print-directory all
	$(DOMINOD) $(ARGS)

test: deps
	@tools/install-deps --browser
	@$(MAKE) --no-print-directory B=build/test SAN=1 check

check: $(DOMINOD) $(DOMINO) $(UNITS) $(E2ES) $(FUZZ_REPLAY)
	@tools/run-tests $(B)

bench: deps
	@tools/install-deps --bench
	@$(MAKE) --no-print-directory all bench-drivers
	@tools/bench/run $(B)

fuzz:
	@$(MAKE) --no-print-directory -f tests/fuzz/fuzz.mk

# --- install (PREFIX, DESTDIR; BINDIR, LIBDIR, ... override one by one) --
# Users get one static libdomino.a (the client objects and the proto objects
# they use), headers under include/domino/ (#include <domino/domino.h>; the
# header's own "err.h"/"event.h" resolve next to it), domino.pc, man pages
# and bash completion. tests/install/test_install.sh checks the result.
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR     ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
INSTALL    ?= install
DOMINO_HEADERS := client/domino.h proto/err.h proto/event.h

install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(INCLUDEDIR)/domino $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(BASHCOMPDIR)
	$(INSTALL) -m 0755 $(DOMINOD) $(DOMINO) $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 0644 $(DOMINO_HEADERS) $(DESTDIR)$(INCLUDEDIR)/domino/
	rm -f $(DESTDIR)$(LIBDIR)/libdomino.a
	$(AR) qcs $(DESTDIR)$(LIBDIR)/libdomino.a $(call obj,$(CLIENT_SRC) $(PROTO_SRC))
	chmod 0644 $(DESTDIR)$(LIBDIR)/libdomino.a
	sed -e 's|@PREFIX@|$(PREFIX)|' \
		-e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
		-e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
		-e "s|@VERSION@|$$(sed -n 's/^#define DOMINO_VERSION "\(.*\)"/\1/p' broker/version.h)|" \
		-e 's|@MSGPACK_PC@|$(MSGPACK_PC)|' contrib/pkgconfig/domino.pc.in \
		> $(DESTDIR)$(PKGCONFIGDIR)/domino.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/domino.pc
	$(INSTALL) -m 0644 contrib/man/domino.1 $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 0644 contrib/man/dominod.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -m 0644 contrib/completion/domino.bash $(DESTDIR)$(BASHCOMPDIR)/domino

.PHONY: uninstall
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/dominod $(DESTDIR)$(BINDIR)/domino \
		$(DESTDIR)$(LIBDIR)/libdomino.a $(DESTDIR)$(PKGCONFIGDIR)/domino.pc \
		$(addprefix $(DESTDIR)$(INCLUDEDIR)/domino/,$(notdir $(DOMINO_HEADERS))) \
		$(DESTDIR)$(MANDIR)/man1/domino.1 $(DESTDIR)$(MANDIR)/man8/dominod.8 \
		$(DESTDIR)$(BASHCOMPDIR)/domino
	-rmdir $(DESTDIR)$(INCLUDEDIR)/domino

clean:
	rm -rf build

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(DCFLAGS) $(CFLAGS) -c $< -o $@

$(B)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(DCFLAGS) -Itests $(CRIT_CFLAGS) $(CFLAGS) -c $< -o $@

$(PROTO_A): $(call obj,$(PROTO_SRC))
	@rm -f $@; ar rcs $@ $^
$(BROKER_A): $(call obj,$(BROKER_SRC))
	@rm -f $@; ar rcs $@ $^
$(CLIENT_A): $(call obj,$(CLIENT_SRC))
	@rm -f $@; ar rcs $@ $^

$(DOMINOD): $(call obj,broker/main.c) $(BROKER_A) $(PROTO_A)
	$(CC) $(DLDFLAGS) $(LDFLAGS) -o $@ $^ $(DLIBS)
$(DOMINO): $(call obj,$(CLI_SRC)) $(CLIENT_A) $(PROTO_A)
	$(CC) $(DLDFLAGS) $(LDFLAGS) -o $@ $^ $(DLIBS)
$(B)/%: $(B)/obj/tools/%.o $(CLIENT_A) $(PROTO_A)
	$(CC) $(DLDFLAGS) $(LDFLAGS) -o $@ $^ $(DLIBS)

$(B)/tests/test_%: $(B)/obj/tests/unit/test_%.o $(BROKER_A) $(CLIENT_A) $(PROTO_A)
	@mkdir -p $(dir $@)
	$(CC) $(DLDFLAGS) $(LDFLAGS) -o $@ $^ $(CRIT_LIBS) $(DLIBS)
$(B)/tests/e2e_%: $(B)/obj/tests/e2e/%.o $(call obj,$(E2E_LIB)) $(CLIENT_A) $(PROTO_A)
	@mkdir -p $(dir $@)
	$(CC) $(DLDFLAGS) $(LDFLAGS) -o $@ $^ $(CRIT_LIBS) $(DLIBS)
$(B)/tests/replay_%: $(B)/obj/tests/fuzz/%.o $(B)/obj/tests/fuzz/replay_main.o $(BROKER_A) $(CLIENT_A) $(PROTO_A)
	@mkdir -p $(dir $@)
	$(CC) $(DLDFLAGS) $(LDFLAGS) -o $@ $^ $(DLIBS)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# --- benchmarks (tools/bench) -------------------------------------------
# Driver programs tools/bench/bench_<name>.c -> $(B)/bench/bench_<name>,
# each linked with tools/bench/common.c; the peer drivers link the peers'
# own C client libraries (libnats, libmosquitto, hiredis).
BENCH_DRIVERS := $(patsubst tools/bench/%.c,$(B)/bench/%,$(wildcard tools/bench/bench_*.c))
BENCH_COMMON  := $(B)/obj/tools/bench/common.o
BENCH_PEER_CFLAGS := $(shell pkg-config --cflags libnats libmosquitto hiredis 2>/dev/null)
BENCH_LIBS_nats   := $(shell pkg-config --libs libnats 2>/dev/null || echo -lnats)
BENCH_LIBS_mqtt   := $(shell pkg-config --libs libmosquitto 2>/dev/null || echo -lmosquitto)
BENCH_LIBS_redis  := $(shell pkg-config --libs hiredis 2>/dev/null || echo -lhiredis)
BENCH_LIBS_nng := -lnng

.PHONY: bench-drivers
bench-drivers: $(BENCH_DRIVERS)

$(B)/obj/tools/bench/%.o: tools/bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(DCFLAGS) -Itools/bench $(BENCH_PEER_CFLAGS) $(CFLAGS) -c $< -o $@
$(B)/bench/bench_domino: $(B)/obj/tools/bench/bench_domino.o $(BENCH_COMMON) $(CLIENT_A) $(PROTO_A)
	@mkdir -p $(dir $@)
	$(CC) $(DLDFLAGS) $(LDFLAGS) -o $@ $^ $(DLIBS)
$(B)/bench/bench_%: $(B)/obj/tools/bench/bench_%.o $(BENCH_COMMON)
	@mkdir -p $(dir $@)
	$(CC) $(DLDFLAGS) $(LDFLAGS) -o $@ $^ $(BENCH_LIBS_$*) -lpthread -lm

# --- reliability (tests/RELIABILITY.md) ---------------------------------
# The crash tests drive the broker with tools/loadgen, so `check` builds it.
#   make torture        the crash test with DOMINO_CRASH_CYCLES (default 20)
#                       kill cycles, and the malformed-input test, under ASan
#   make test-valgrind  the e2e suite with dominod under valgrind memcheck,
#                       against a build without sanitizers (build/vg)
.PHONY: torture test-valgrind
check: $(B)/loadgen

torture: deps
	@$(MAKE) --no-print-directory B=build/test SAN=1 $(addprefix build/test/,dominod domino loadgen tests/e2e_test_crash tests/e2e_test_badinput tests/e2e_test_slow)
	@tests/torture/run.sh build/test

test-valgrind: deps
	@$(MAKE) --no-print-directory B=build/vg SAN= $(addprefix build/vg/,dominod domino loadgen) $(patsubst tests/e2e/%.c,build/vg/tests/e2e_%,$(E2E_SRC))
	@DOMINO_VALGRIND=1 DOMINO_TEST_TIMEOUT=$${DOMINO_TEST_TIMEOUT:-900} tools/run-tests build/vg e2e_
