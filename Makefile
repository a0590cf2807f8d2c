# lkvm — build, unit tests, system tests.
#
#   make            the arm64 lkvm binary (static; cross-built on x86_64)
#   make deps       install everything on a fresh Debian 12 machine
#   make check      unit tests (native, ASan+UBSan; the threaded ones also
#                   under TSan), a fuzz smoke, system tests (real KVM
#                   inside an emulated arm64 host), via prove
#   make demo       boot a nested stack inside the emulated host
#   make fuzz       libFuzzer harnesses (tests/fuzz/), FUZZ_SECS seconds each
#   make check-tsan the threaded unit tests under ThreadSanitizer
#
# The Makefile picks the arch folder; generic code never names one.

ARCH		:= arm64
HOST_ARCH	:= $(shell uname -m)
ifneq ($(HOST_ARCH),aarch64)
CROSS_COMPILE	?= aarch64-linux-gnu-
endif
CC		:= $(CROSS_COMPILE)gcc
HOSTCC		?= gcc
BUILD		?= build
VERSION		:= $(shell git describe --always --dirty 2>/dev/null || echo unknown)

WARN		:= -Wall -Wextra -Wformat=2 -Wmissing-prototypes -Wshadow -Wvla -Werror
INCLUDES	:= -Iinclude -Iinclude/uapi -Iarm/include
BASE_CFLAGS	:= -std=gnu11 -D_GNU_SOURCE $(WARN) $(INCLUDES) -MMD -MP
CFLAGS		?= -O2 -g
HOST_CFLAGS	?= -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
		   -fno-sanitize-recover=all

# arm64 libraries: multiarch, except libfdt.a (bookworm's libfdt-dev is
# not co-installable; scripts/install-deps unpacks it into .cache).
CROSS_LIBDIRS	:= $(if $(CROSS_COMPILE),-L.cache/arm64-lib -L/usr/lib/aarch64-linux-gnu)
LIBS		:= -lfdt -lz -luring -laio -lpthread
HOST_LIBS	:= -lfdt -lz -luring -laio -lpthread

# Code that needs no /dev/kvm: built natively for the unit tests too.
PURE_SRCS	:= config.c arm/config.c gmem.c mmio.c devices.c util/util.c util/log.c util/file.c util/fdt.c \
		   hw/serial8250.c hw/pl031.c arm/kernel.c arm/fdt.c arm/irq.c arm/memory.c \
		   arm/idreg.c virtio/virtqueue.c disk/core.c disk/sync.c disk/io_uring.c \
		   disk/aio.c virtio/core.c virtio/mmio.c virtio/pci.c virtio/blk.c virtio/rng.c \
		   hw/pci.c irq.c \
		   virtio/console.c virtio/net.c virtio/vhost.c net/opts.c net/tap.c
VMM_SRCS	:= main.c builtin-run.c builtin-check.c builtin-cpu.c kvm.c kvm-cpu.c \
		   arm/kvm.c arm/gic.c arm/cpu.c arm/boot.c arm/check.c arm/cpufeat.c
SRCS		:= $(PURE_SRCS) $(VMM_SRCS)

OBJS		:= $(SRCS:%.c=$(BUILD)/$(ARCH)/%.o)
HOST_OBJS	:= $(PURE_SRCS:%.c=$(BUILD)/host/%.o)
UNIT_TESTS	:= config gmem image fdt devices serial memory idreg virtqueue disk virtio virtio-dev \
		   virtio-pci net vhost iothread fuzz-found
UNIT_SRCS	:= $(UNIT_TESTS:%=tests/unit/test-%.c)
UNIT_BINS	:= $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/host/tests/%) $(BUILD)/host/tests/test-blkbench

all: lkvm

lkvm: $(OBJS)
	$(CC) -static -o $@ $^ $(CROSS_LIBDIRS) $(LIBS)

$(BUILD)/$(ARCH)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -DLKVM_VERSION='"$(VERSION)"' -c -o $@ $<

$(BUILD)/host/%.o: %.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(BASE_CFLAGS) $(HOST_CFLAGS) -c -o $@ $<

$(BUILD)/host/libpure.a: $(HOST_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/host/tests/%: tests/unit/%.c tests/unit/test.h tests/unit/guest-mem.h $(BUILD)/host/libpure.a
	@mkdir -p $(dir $@)
	$(HOSTCC) $(BASE_CFLAGS) $(HOST_CFLAGS) -Itests/unit -o $@ $< \
		$(BUILD)/host/libpure.a -lfdt -lz -luring -laio -lpthread

# test-config includes builtin-run.c (the command's exit statuses, with the VM stubbed).
$(BUILD)/host/tests/test-config: builtin-run.c

# blkbench's option parser is not VMM code: its test links it alone.
$(BUILD)/host/tests/test-blkbench: tests/unit/test-blkbench.c tests/unit/test.h \
		tests/bench/blkbench-opts.c tests/bench/blkbench.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(filter-out -MMD -MP,$(BASE_CFLAGS)) $(HOST_CFLAGS) -Itests/unit -Itests/bench \
		-o $@ tests/unit/test-blkbench.c tests/bench/blkbench-opts.c

include tests/guest/build.mk
include tests/fuzz/build.mk

# Static arm64 helpers that the system tests copy into the emulated host
# (defined before the rules that name them: make expands prerequisites
# when it reads a rule).
TOOLS		:= $(BUILD)/tools/vm-cost
$(BUILD)/tools/%: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) -static $(BASE_CFLAGS) $(CFLAGS) -o $@ $<

# The virtio-blk benchmark (tests/bench/, not part of "make check"): the
# guest's load generator, static arm64, copied into the guests' /bin.
BENCH_GUEST	:= $(BUILD)/bench/guest/blkbench
$(BENCH_GUEST): tests/bench/blkbench.c tests/bench/blkbench-opts.c tests/bench/blkbench.h
	@mkdir -p $(dir $@)
	$(CC) -static $(filter-out -MMD -MP,$(BASE_CFLAGS)) $(CFLAGS) -Itests/bench -o $@ \
		tests/bench/blkbench.c tests/bench/blkbench-opts.c

# ThreadSanitizer (clang -fsanitize=thread, in $(BUILD)/tsan): the unit tests
# whose devices run real threads -- I/O threads against device resets
# (test-iothread), the disk engines' pools, the network and vhost paths.
# Any race report fails its case.
TSAN_CC		?= clang
TSAN_TESTS	:= iothread disk virtio virtio-pci virtio-dev net vhost
TSAN_CFLAGS	= $(BASE_CFLAGS) -Wno-format-nonliteral -O1 -g -fsanitize=thread -fno-omit-frame-pointer
TSAN_OBJS	:= $(PURE_SRCS:%.c=$(BUILD)/tsan/%.o)
TSAN_BINS	:= $(TSAN_TESTS:%=$(BUILD)/tsan/tests/test-%)
TSAN_RUN_OPTIONS := halt_on_error=1 second_deadlock_stack=1

$(TSAN_OBJS): $(BUILD)/tsan/%.o: %.c
	@mkdir -p $(dir $@)
	$(TSAN_CC) $(TSAN_CFLAGS) -c -o $@ $<

$(BUILD)/tsan/libpure.a: $(TSAN_OBJS)
	rm -f $@ && ar rcs $@ $^

$(TSAN_BINS): $(BUILD)/tsan/tests/%: tests/unit/%.c tests/unit/test.h tests/unit/guest-mem.h \
		$(BUILD)/tsan/libpure.a
	@mkdir -p $(dir $@)
	$(TSAN_CC) $(TSAN_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/tsan/libpure.a $(HOST_LIBS)

unit: $(UNIT_BINS)

# "make check" and "make demo" first install what they need (idempotent,
# quick once done), so each is one command on a fresh Debian 12 machine.
check:
	scripts/install-deps
	$(MAKE) check-all

demo:
	scripts/install-deps
	$(MAKE) lkvm $(GUEST_PAYLOADS) $(TOOLS)
	LKVM=$(CURDIR)/lkvm GUEST_DIR=$(CURDIR)/$(BUILD)/guest ASSETS=$(CURDIR)/.cache/assets \
		BUILD=$(CURDIR)/$(BUILD)/system tests/system/demo

# One prove run: unit tests, the threaded ones again under ThreadSanitizer,
# the fuzz smoke (each harness over its seeds, then FUZZ_SMOKE_SECS of
# fuzzing), then the system tests (one L0 boot per profile).
FUZZ_SMOKE_SECS	?= 10
check-all: lkvm $(UNIT_BINS) $(TSAN_BINS) $(FUZZ_BINS) $(GUEST_PAYLOADS) $(TOOLS)
	LKVM=$(CURDIR)/lkvm GUEST_DIR=$(CURDIR)/$(BUILD)/guest TOOLS_DIR=$(CURDIR)/$(BUILD)/tools \
	BUILD=$(CURDIR)/$(BUILD)/system ASSETS=$(CURDIR)/.cache/assets \
	FUZZ_BUILD=$(CURDIR)/$(FUZZ_OUT) FUZZ_SECS=$(FUZZ_SMOKE_SECS) TSAN_OPTIONS="$(TSAN_RUN_OPTIONS)" \
		prove --exec '' --timer $(UNIT_BINS) $(TSAN_BINS) tests/fuzz/run tests/system/run

check-unit: $(UNIT_BINS)
	prove --exec '' --timer $(UNIT_BINS)

check-tsan: $(TSAN_BINS)
	TSAN_OPTIONS="$(TSAN_RUN_OPTIONS)" prove --exec '' --timer $(TSAN_BINS)

# "make bench": the bench system-test profile (one L0 boot, every engine x
# transport x backing), then the Markdown table, also written to
# $(BUILD)/bench/results.md.  The knobs in BENCH_KNOBS (environment or make
# variables) are passed into L0; see README.md, "Benchmark".  A phase
# without numbers fails the run.
BENCH_KNOBS	:= BENCH_ENGINES BENCH_TRANSPORTS BENCH_BACKINGS BENCH_CACHE BENCH_RUNS \
		   BENCH_SECS BENCH_QD BENCH_SEQ_QD BENCH_SEQ_BS BENCH_DISK_MIB
bench:
	scripts/install-deps
	$(MAKE) bench-all

bench-all: lkvm $(BENCH_GUEST)
	@mkdir -p $(BUILD)/bench
	{ LKVM=$(CURDIR)/lkvm GUEST_TOOLS_DIR=$(CURDIR)/$(BUILD)/bench/guest \
	  BUILD=$(CURDIR)/$(BUILD)/bench/system ASSETS=$(CURDIR)/.cache/assets \
	  SYSTEM_PROFILES=bench SYSTEM_EXPORT="$(BENCH_KNOBS)" \
	  SYSTEM_TIMEOUT=$${SYSTEM_TIMEOUT:-5400} tests/system/run; \
	  echo $$? >$(BUILD)/bench/run-status; } | tee $(BUILD)/bench/tap.txt
	tests/bench/report $(BUILD)/bench/system/bench $(BUILD)/bench/results.md
	@st=$$(cat $(BUILD)/bench/run-status); [ "$$st" = 0 ] || \
		{ echo "bench: tests/system/run failed (status $$st): see $(BUILD)/bench/tap.txt" >&2; exit 1; }

deps:
	scripts/install-deps


clean:
	rm -rf $(BUILD) lkvm

.PHONY: all check check-all check-unit check-tsan unit deps demo clean bench bench-all
-include $(OBJS:.o=.d) $(HOST_OBJS:.o=.d) $(TSAN_OBJS:.o=.d)
