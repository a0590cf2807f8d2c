# SPDX-License-Identifier: GPL-2.0-only
#
# The libFuzzer harnesses (tests/fuzz/fuzz-*.c), included by the top-level
# Makefile after PURE_SRCS, BASE_CFLAGS, HOST_LIBS and BUILD are set.
# Debian's clang (clang-14, libFuzzer from libclang-rt-14-dev; llvm-14 for
# the coverage tools) builds the code that needs no /dev/kvm once more,
# with ASan+UBSan and the fuzzer's coverage instrumentation, into
# $(BUILD)/fuzz/.
#
#   make fuzz-build      the harnesses: $(BUILD)/fuzz/fuzz-<name>
#   make fuzz            each harness for FUZZ_SECS seconds (default 60),
#                        seeded from tests/fuzz/corpus/<name>/, growing
#                        $(BUILD)/fuzz/corpus/<name>/; crashes are saved as
#                        $(BUILD)/fuzz/crashes/<name>-crash-<sha1>
#   make fuzz-coverage   lines covered per harness, over both corpora
#                        (a second build with clang's source coverage,
#                        $(BUILD)/fuzz-cov/)
#
# "make check" runs tests/fuzz/run: each harness over its committed seed
# corpus, then FUZZ_SECS (default there: 10) seconds of fuzzing, as one
# TAP point per harness.

FUZZ_SRC := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
FUZZ_SAVED_GOAL := $(.DEFAULT_GOAL)

FUZZ_CC		?= clang
FUZZ_PROFDATA	?= llvm-profdata
FUZZ_COV	?= llvm-cov
FUZZ_HARNESSES	:= $(patsubst $(FUZZ_SRC)/fuzz-%.c,%,$(wildcard $(FUZZ_SRC)/fuzz-*.c))
FUZZ_SECS	?= 60
FUZZ_OUT	= $(BUILD)/fuzz
FUZZ_COV_OUT	= $(BUILD)/fuzz-cov

# clang's -Wformat=2 also flags util/log.c's vsnprintf() of a format its
# callers' __printf checked; gcc does not.
FUZZ_WARN	:= -Wno-format-nonliteral
FUZZ_SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS	= $(BASE_CFLAGS) $(FUZZ_WARN) -O1 -g $(FUZZ_SAN)
FUZZ_COV_CFLAGS	= $(BASE_CFLAGS) $(FUZZ_WARN) -O1 -g -fprofile-instr-generate -fcoverage-mapping

FUZZ_OBJS	= $(PURE_SRCS:%.c=$(FUZZ_OUT)/obj/%.o)
FUZZ_COV_OBJS	= $(PURE_SRCS:%.c=$(FUZZ_COV_OUT)/obj/%.o)
FUZZ_BINS	= $(FUZZ_HARNESSES:%=$(FUZZ_OUT)/fuzz-%)
FUZZ_COV_BINS	= $(FUZZ_HARNESSES:%=$(FUZZ_COV_OUT)/fuzz-%)

$(FUZZ_OBJS): $(FUZZ_OUT)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_COV_OBJS): $(FUZZ_COV_OUT)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_COV_CFLAGS) -c -o $@ $<

$(FUZZ_OUT)/libpure.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_COV_OUT)/libpure.a: $(FUZZ_COV_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BINS): $(FUZZ_OUT)/fuzz-%: $(FUZZ_SRC)/fuzz-%.c $(FUZZ_OUT)/libpure.a
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -I$(FUZZ_SRC) -o $@ $< \
		$(FUZZ_OUT)/libpure.a $(HOST_LIBS)

# Coverage: no sanitizers, libFuzzer only to replay the corpus (-runs=0).
$(FUZZ_COV_BINS): $(FUZZ_COV_OUT)/fuzz-%: $(FUZZ_SRC)/fuzz-%.c $(FUZZ_COV_OUT)/libpure.a
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_COV_CFLAGS) -fsanitize=fuzzer -I$(FUZZ_SRC) -o $@ $< \
		$(FUZZ_COV_OUT)/libpure.a $(HOST_LIBS)

.PHONY: fuzz fuzz-build fuzz-coverage
fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	FUZZ_BUILD=$(CURDIR)/$(FUZZ_OUT) FUZZ_SECS=$(FUZZ_SECS) \
	FUZZ_CORPUS=$(CURDIR)/$(FUZZ_OUT)/corpus $(FUZZ_SRC)/run

fuzz-coverage: $(FUZZ_COV_BINS)
	FUZZ_COV_BUILD=$(CURDIR)/$(FUZZ_COV_OUT) FUZZ_CORPUS=$(CURDIR)/$(FUZZ_OUT)/corpus \
	FUZZ_PROFDATA=$(FUZZ_PROFDATA) FUZZ_COV=$(FUZZ_COV) $(FUZZ_SRC)/coverage

-include $(FUZZ_OBJS:.o=.d) $(FUZZ_COV_OBJS:.o=.d) $(FUZZ_BINS:=.d) $(FUZZ_COV_BINS:=.d)

.DEFAULT_GOAL := $(FUZZ_SAVED_GOAL)
