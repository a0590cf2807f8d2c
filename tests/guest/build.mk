# SPDX-License-Identifier: GPL-2.0-only
#
# Build of the bare-metal arm64 test payload (tests/guest/), included by
# the top-level Makefile.  Inputs: $(BUILD), the build directory, which
# must be set before the include (rule targets use it), and
# $(CROSS_COMPILE), the arm64 toolchain prefix (when it is empty on a
# non-arm64 host, aarch64-linux-gnu- is assumed).  Outputs, also appended
# to GUEST_PAYLOADS:
#   $(BUILD)/guest/payload.elf  ELF, PT_LOADs at p_paddr 0x80000000
#   $(BUILD)/guest/payload.bin  the same bytes as a raw image, entry at byte 0
# and two checks that need no KVM: "make check-guest-fdt", a host-side
# test of the FDT and bootargs parsers, and "make check-guest-qemu", which
# boots the payload under QEMU TCG at EL1 and EL2.
#
# Position independence is proven, not hoped for: the same objects are
# also linked as a static PIE, and the build fails if that link needs any
# run-time relocation (readelf -r must find none).

GUEST_SRC := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
# Including this file must not change the includer's default goal.
GUEST_SAVED_GOAL := $(.DEFAULT_GOAL)
GUEST_OUT = $(BUILD)/guest

GUEST_CROSS = $(if $(CROSS_COMPILE),$(CROSS_COMPILE),$(if $(filter aarch64 arm64,$(shell uname -m)),,aarch64-linux-gnu-))
GUEST_CC = $(GUEST_CROSS)gcc
GUEST_OBJCOPY = $(GUEST_CROSS)objcopy
GUEST_READELF = $(GUEST_CROSS)readelf

# -fpie -mcmodel=tiny: every address is an ADR off the PC.
# -mstrict-align: the MMU is off, all data is Device memory.
# -mgeneral-regs-only: FP/SIMD may trap (CPACR) and is never enabled.
GUEST_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra -Wformat=2 \
	-Wmissing-prototypes -Wshadow -Wvla -Werror \
	-ffreestanding -fpie -fvisibility=hidden -mcmodel=tiny \
	-mgeneral-regs-only -mstrict-align -mbranch-protection=none \
	-fno-stack-protector -fno-asynchronous-unwind-tables \
	-fno-unwind-tables -MMD -MP
GUEST_LDFLAGS = -nostdlib -nostartfiles -Wl,--build-id=none \
	-Wl,-T,$(GUEST_SRC)/payload.ld

GUEST_C_OBJS = $(addprefix $(GUEST_OUT)/,payload.o fdt.o args.o)
GUEST_S_OBJS = $(GUEST_OUT)/start.o
GUEST_OBJS = $(GUEST_S_OBJS) $(GUEST_C_OBJS)

GUEST_PAYLOADS += $(GUEST_OUT)/payload.elf $(GUEST_OUT)/payload.bin

# Static pattern rules, so no implicit rule of the includer can win.
$(GUEST_C_OBJS): $(GUEST_OUT)/%.o: $(GUEST_SRC)/%.c
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_S_OBJS): $(GUEST_OUT)/%.o: $(GUEST_SRC)/%.S
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

# The position-independence check; nothing ships this file.
$(GUEST_OUT)/payload.pie.elf: $(GUEST_OBJS) $(GUEST_SRC)/payload.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -static-pie -o $@ $(GUEST_OBJS)
	@if $(GUEST_READELF) -r $@ | grep -q 'Relocation section'; then \
		$(GUEST_READELF) -r $@; \
		echo "$@: payload needs run-time relocations (absolute address in data?)" >&2; \
		rm -f $@; exit 1; \
	fi

# ET_EXEC for ELF loaders; the PIE link above vouches for its code.
$(GUEST_OUT)/payload.elf: $(GUEST_OBJS) $(GUEST_SRC)/payload.ld $(GUEST_OUT)/payload.pie.elf
	$(GUEST_CC) $(GUEST_LDFLAGS) -static -o $@ $(GUEST_OBJS)

$(GUEST_OUT)/payload.bin: $(GUEST_OUT)/payload.elf
	$(GUEST_OBJCOPY) -O binary $< $@

-include $(GUEST_OBJS:.o=.d)

# Host-side test of fdt.c and args.c against a dtc-built tree.
GUEST_HOSTCC ?= cc
GUEST_HOST_SANITIZE ?= -fsanitize=address,undefined -fno-sanitize-recover=all
GUEST_DTC ?= dtc

$(GUEST_OUT)/fdt-host-test: $(GUEST_SRC)/fdt-host-test.c $(GUEST_SRC)/fdt.c \
		$(GUEST_SRC)/args.c $(GUEST_SRC)/fdt.h $(GUEST_SRC)/args.h
	@mkdir -p $(@D)
	$(GUEST_HOSTCC) -std=gnu11 -O1 -g -Wall -Wextra -Wshadow -Werror \
		$(GUEST_HOST_SANITIZE) -o $@ $(filter %.c,$^)

$(GUEST_OUT)/fdt-test.dtb: $(GUEST_SRC)/fdt-test.dts
	@mkdir -p $(@D)
	$(GUEST_DTC) -q -I dts -O dtb -o $@ $<

.PHONY: guest-payload check-guest-fdt check-guest-qemu
guest-payload: $(GUEST_OUT)/payload.elf $(GUEST_OUT)/payload.bin

check-guest-fdt: $(GUEST_OUT)/fdt-host-test $(GUEST_OUT)/fdt-test.dtb
	$(GUEST_OUT)/fdt-host-test $(GUEST_OUT)/fdt-test.dtb

# Boots the payload under QEMU TCG (no KVM needed); skips without QEMU.
check-guest-qemu: $(GUEST_OUT)/payload.elf $(GUEST_OUT)/payload.bin
	sh $(GUEST_SRC)/qemu-smoke.sh $(BUILD)

.DEFAULT_GOAL := $(GUEST_SAVED_GOAL)
