// SPDX-License-Identifier: GPL-2.0-only
/*
 * The MMIO bus: a sorted table of claimed guest-physical ranges, searched
 * by binary search on every MMIO exit.  Built during VM creation only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/mmio.h"

int mmio__register(struct mmio_bus *bus, u64 base, u64 size, mmio_fn fn, void *opaque,
		   const char *name)
{
	struct mmio_range *n;
	unsigned int pos;
	u64 end;

	if (size == 0 || !add_ok(base, size, &end))
		return -EINVAL;
	for (pos = 0; pos < bus->nr && bus->ranges[pos].base < base; pos++)
		;
	if (pos > 0 && bus->ranges[pos - 1].base + bus->ranges[pos - 1].size > base)
		return -EEXIST;
	if (pos < bus->nr && bus->ranges[pos].base < end)
		return -EEXIST;
	n = realloc(bus->ranges, (bus->nr + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	memmove(&n[pos + 1], &n[pos], (bus->nr - pos) * sizeof(*n));
	n[pos] = (struct mmio_range){ base, size, fn, opaque, name };
	bus->ranges = n;
	bus->nr++;
	return 0;
}

const struct mmio_range *mmio__find(const struct mmio_bus *bus, u64 addr, u32 len)
{
	unsigned int lo = 0, hi = bus->nr;
	u64 end;

	if (len == 0 || !add_ok(addr, len, &end))
		return NULL;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct mmio_range *r = &bus->ranges[mid];

		if (addr < r->base) {
			hi = mid;
		} else if (addr >= r->base + r->size) {
			lo = mid + 1;
		} else {
			return end <= r->base + r->size ? r : NULL;
		}
	}
	return NULL;
}

void mmio__free(struct mmio_bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = 0;
}
