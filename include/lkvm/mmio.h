/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The MMIO bus: guest-physical ranges claimed by emulated devices.  Ranges
 * are registered during VM creation and the table is read-only once vCPUs
 * run, so lookups take no lock; each device serialises itself.
 */
#ifndef LKVM_MMIO_H
#define LKVM_MMIO_H

#include "lkvm/util.h"

/*
 * A device's access handler: @offset is relative to the range's base,
 * @len is 1, 2, 4 or 8, @data is in the guest's bus (little-endian) order.
 * Reads must fill all @len bytes.
 */
typedef void (*mmio_fn)(void *opaque, u64 offset, u8 *data, u32 len, bool is_write);

struct mmio_range {
	u64 base;
	u64 size;
	mmio_fn fn;
	void *opaque;
	const char *name;
};

struct mmio_bus {
	struct mmio_range *ranges;	/* sorted by base, no overlaps */
	unsigned int nr;
};

/* Claims [base, base + size); -EEXIST if it overlaps a claimed range, -EINVAL if empty or wrapping. */
int mmio__register(struct mmio_bus *bus, u64 base, u64 size, mmio_fn fn, void *opaque,
		   const char *name);

/* The range containing all of [addr, addr + len), or NULL. */
const struct mmio_range *mmio__find(const struct mmio_bus *bus, u64 addr, u32 len);

void mmio__free(struct mmio_bus *bus);

#endif /* LKVM_MMIO_H */
