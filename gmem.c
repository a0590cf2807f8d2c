// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest-physical memory access.  This file is the only place that turns a
 * guest address into a host pointer: every range is checked to lie wholly
 * inside one RAM region, with overflow-checked arithmetic, because the
 * addresses come from the guest (descriptors, DT placement) or the user.
 * It is also the only reader of the RAM table: whoever needs the whole map
 * (vhost's memory table) walks it with gmem__next().
 */
#include <errno.h>
#include <string.h>

#include "lkvm/gmem.h"
#include "lkvm/kvm.h"

void *gmem__ptr(const struct kvm *kvm, u64 gpa, u64 len)
{
	u64 end;

	if (len == 0 || !add_ok(gpa, len, &end))
		return NULL;
	for (unsigned int i = 0; i < kvm->nr_mem; i++) {
		const struct mem_region *r = &kvm->mem[i];

		/* r->gpa + r->size cannot wrap: gmem__add_region() refused that. */
		if (gpa >= r->gpa && end <= r->gpa + r->size)
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int gmem__add_region(struct kvm *kvm, u64 gpa, u64 size, u8 *host)
{
	u64 end;

	if (kvm->nr_mem == LKVM_MAX_MEM_REGIONS || size == 0 || !add_ok(gpa, size, &end))
		return -EINVAL;
	for (unsigned int i = 0; i < kvm->nr_mem; i++) {
		const struct mem_region *r = &kvm->mem[i];

		if (gpa < r->gpa + r->size && r->gpa < end)
			return -EINVAL;
	}
	kvm->mem[kvm->nr_mem] = (struct mem_region){
		.gpa = gpa, .size = size, .host = host, .slot = kvm->nr_mem,
	};
	kvm->nr_mem++;
	return 0;
}

int gmem__write(const struct kvm *kvm, u64 gpa, const void *src, u64 len)
{
	void *dst = gmem__ptr(kvm, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

bool gmem__next(const struct kvm *kvm, unsigned int *cursor, struct gmem_range *out)
{
	const struct mem_region *prev = NULL, *next = NULL;

	/*
	 * *cursor is 1 + the index of the region handed out last (0: none
	 * yet); the next one is the lowest above it.  Regions don't overlap
	 * and aren't empty, so their starts are distinct.  A handful of
	 * regions: the linear scan per step costs nothing.
	 */
	if (*cursor > kvm->nr_mem)
		return false;
	if (*cursor)
		prev = &kvm->mem[*cursor - 1];
	for (unsigned int i = 0; i < kvm->nr_mem; i++) {
		const struct mem_region *r = &kvm->mem[i];

		if (prev && r->gpa <= prev->gpa)
			continue;
		if (!next || r->gpa < next->gpa)
			next = r;
	}
	if (!next)
		return false;
	*out = (struct gmem_range){ .gpa = next->gpa, .size = next->size, .host = next->host };
	*cursor = (unsigned int)(next - kvm->mem) + 1;
	return true;
}
