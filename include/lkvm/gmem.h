/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest-physical memory: one owner (gmem.c) for the VM's RAM table
 * (kvm->mem[], kvm->nr_mem).  Regions go in with gmem__add_region() while
 * the VM is built; a guest address becomes a host pointer only through
 * gmem__ptr(), which checks the whole range; code that needs the whole
 * map (vhost's memory table, say) walks it with gmem__next().  Nothing
 * else reads the table.  No KVM access: the KVM memory slots are kvm.c's
 * business.
 */
#ifndef LKVM_GMEM_H
#define LKVM_GMEM_H

#include <stdbool.h>

#include "lkvm/util.h"

struct kvm;

/* A table entry: guest-physical [gpa, gpa + size) backed by host [host, host + size). */
struct mem_region {
	u64 gpa;
	u64 size;
	u8 *host;
	u32 slot;		/* the KVM memory slot: the region's index when it was added */
};

/* One RAM region as gmem__next() hands it out. */
struct gmem_range {
	u64 gpa;		/* guest-physical start */
	u64 size;		/* bytes; never 0, and gpa + size does not wrap */
	u8 *host;		/* where this process has [gpa, gpa + size) mapped */
};

/*
 * The checked guest-physical accessor: a host pointer to [gpa, gpa + len)
 * if that range lies entirely inside one RAM region, else NULL.  A zero
 * length, or a range that wraps past 2^64, is NULL.  This is the only
 * place that turns guest addresses into host pointers.
 */
void *gmem__ptr(const struct kvm *kvm, u64 gpa, u64 len);

/*
 * Adds a RAM region to the table (no KVM access); its slot is the number
 * of regions before it.  -EINVAL if it is empty, wraps past 2^64,
 * overlaps a region or the table is full (LKVM_MAX_MEM_REGIONS).
 */
int gmem__add_region(struct kvm *kvm, u64 gpa, u64 size, u8 *host);

/* Copies into guest RAM; -EFAULT if the destination is not entirely RAM. */
int gmem__write(const struct kvm *kvm, u64 gpa, const void *src, u64 len);

/*
 * Walks the RAM regions in ascending guest-physical order, whatever the
 * order they were added in: set *@cursor to 0, then each call fills *@out
 * with the next region and returns true, or returns false when there is
 * none left (*@out untouched).  *@cursor is opaque between calls.  The
 * table must not change during a walk.
 *
 *	struct gmem_range r;
 *	for (unsigned int it = 0; gmem__next(kvm, &it, &r);)
 *		...
 */
bool gmem__next(const struct kvm *kvm, unsigned int *cursor, struct gmem_range *out);

#endif /* LKVM_GMEM_H */
