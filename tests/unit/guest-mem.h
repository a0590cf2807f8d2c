/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The "driver side" of unit tests that build virtqueues in a fake guest
 * RAM: little-endian accessors that go through gmem__ptr() and fail the
 * test (not the code under test) when a test addresses memory it never
 * made.  Each test's fixture has a struct kvm member named kvm; the short
 * macros take the fixture.
 */
#ifndef LKVM_TEST_GUEST_MEM_H
#define LKVM_TEST_GUEST_MEM_H

#include <endian.h>
#include <string.h>

#include "lkvm/gmem.h"
#include "lkvm/kvm.h"
#include "test.h"

static inline u8 *gm_ptr(struct kvm *kvm, u64 gpa, u64 len)
{
	u8 *p = gmem__ptr(kvm, gpa, len);

	TEST_ASSERT(p, "test bug: %#llx+%llu is not RAM", (unsigned long long)gpa,
		    (unsigned long long)len);
	return p;
}

static inline void gm_put16(struct kvm *kvm, u64 gpa, u16 v)
{
	v = htole16(v);
	memcpy(gm_ptr(kvm, gpa, 2), &v, 2);
}

static inline u16 gm_get16(struct kvm *kvm, u64 gpa)
{
	u16 v;

	memcpy(&v, gm_ptr(kvm, gpa, 2), 2);
	return le16toh(v);
}

static inline u32 gm_get32(struct kvm *kvm, u64 gpa)
{
	u32 v;

	memcpy(&v, gm_ptr(kvm, gpa, 4), 4);
	return le32toh(v);
}

/* Writes split-ring descriptor @i of the table at @table (virtio 1.2 §2.7.5). */
static inline void gm_set_desc(struct kvm *kvm, u64 table, unsigned int i, u64 addr, u32 len,
			       u16 flags, u16 next)
{
	u8 *p = gm_ptr(kvm, table + 16ULL * i, 16);
	u64 a = htole64(addr);
	u32 l = htole32(len);
	u16 fl = htole16(flags), n = htole16(next);

	memcpy(p, &a, 8);
	memcpy(p + 8, &l, 4);
	memcpy(p + 12, &fl, 2);
	memcpy(p + 14, &n, 2);
}

#define gp(f, gpa, len)		gm_ptr(&(f)->kvm, (gpa), (len))
#define put16(f, gpa, v)	gm_put16(&(f)->kvm, (gpa), (v))
#define get16(f, gpa)		gm_get16(&(f)->kvm, (gpa))
#define get32(f, gpa)		gm_get32(&(f)->kvm, (gpa))

#endif /* LKVM_TEST_GUEST_MEM_H */
