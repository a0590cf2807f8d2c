// SPDX-License-Identifier: GPL-2.0-only
/*
 * The checked guest-physical accessor (gmem.c) and the MMIO bus (mmio.c):
 * every range that is not wholly inside one region is refused, with the
 * edges (first and last byte, one past the end, wrap-around at 2^64)
 * tested one by one, since both take guest-controlled addresses.  Then
 * the RAM table's iterator, gmem__next(): every region once, in address
 * order, whatever order they were added in.
 */
#include "lkvm/gmem.h"
#include "lkvm/kvm.h"
#include "lkvm/mmio.h"
#include "test.h"

#define RAM_BASE	0x80000000ULL
#define RAM_SIZE	0x10000ULL

/*
 * What kvm__init() does for the memory table: a zeroed VM with no KVM.
 * kvm__init() itself lives in kvm.c, outside the pure library.
 */
static void vm_init(struct kvm *kvm, const struct lkvm_config *cfg)
{
	memset(kvm, 0, sizeof(*kvm));
	kvm->cfg = cfg;
	kvm->sys_fd = -1;
	kvm->vm_fd = -1;
}

static u8 *host_buf(u64 size)
{
	u8 *p = malloc(size);

	TEST_ASSERT(p, "malloc %llu", (unsigned long long)size);
	for (u64 i = 0; i < size; i++)
		p[i] = (u8)i;
	return p;
}

static void test_single_region_edges(void)
{
	struct lkvm_config cfg;
	struct kvm kvm;
	u8 *host = host_buf(RAM_SIZE);

	config__defaults(&cfg, 1);
	vm_init(&kvm, &cfg);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, RAM_BASE, RAM_SIZE, host), 0);
	TEST_ASSERT_EQ(kvm.nr_mem, 1);

	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE, 0) == NULL, "zero length must be NULL");
	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE, 1) == host, "first byte");
	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE, RAM_SIZE) == host, "whole region");
	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE + RAM_SIZE - 1, 1) == host + RAM_SIZE - 1,
		    "last byte");
	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE + 0x1234, 16) == host + 0x1234, "middle");
	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE + RAM_SIZE, 1) == NULL, "one past the end");
	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE - 1, 1) == NULL, "one before the start");
	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE - 1, 2) == NULL, "straddling the start");
	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE + RAM_SIZE - 4, 8) == NULL, "straddling the end");
	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE, RAM_SIZE + 1) == NULL, "one byte too long");
	TEST_ASSERT(gmem__ptr(&kvm, 0, 1) == NULL, "address 0");
	free(host);
}

static void test_wrap_around(void)
{
	struct lkvm_config cfg;
	struct kvm kvm;
	u8 *host = host_buf(RAM_SIZE);
	u8 *top = host_buf(0x1000);

	config__defaults(&cfg, 1);
	vm_init(&kvm, &cfg);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, RAM_BASE, RAM_SIZE, host), 0);

	/* gpa + len wraps to inside the region: must not match. */
	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE + 8, UINT64_MAX) == NULL, "len 2^64-1");
	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE + 8, 0 - RAM_BASE) == NULL, "wraps to 8");
	TEST_ASSERT(gmem__ptr(&kvm, UINT64_MAX, 2) == NULL, "2^64-1 + 2");
	TEST_ASSERT(gmem__ptr(&kvm, UINT64_MAX, 1) == NULL, "last address, no RAM there");

	/* A region just below 2^64 works up to its (representable) end. */
	TEST_ASSERT_EQ(gmem__add_region(&kvm, 0ULL - 0x2000, 0x1000, top), 0);
	TEST_ASSERT(gmem__ptr(&kvm, 0ULL - 0x2000, 0x1000) == top, "high region");
	TEST_ASSERT(gmem__ptr(&kvm, 0ULL - 0x1001, 1) == top + 0xfff, "its last byte");
	TEST_ASSERT(gmem__ptr(&kvm, 0ULL - 0x1001, 2) == NULL, "one past it");
	TEST_ASSERT(gmem__ptr(&kvm, 0ULL - 0x1800, 0ULL - 0x1000) == NULL, "wrapping len");
	free(top);
	free(host);
}

static void test_two_regions_with_gap(void)
{
	struct lkvm_config cfg;
	struct kvm kvm;
	u8 *a = host_buf(RAM_SIZE), *b = host_buf(RAM_SIZE);
	const u64 b_base = RAM_BASE + 2 * RAM_SIZE;

	config__defaults(&cfg, 1);
	vm_init(&kvm, &cfg);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, RAM_BASE, RAM_SIZE, a), 0);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, b_base, RAM_SIZE, b), 0);
	TEST_ASSERT_EQ(kvm.nr_mem, 2);
	TEST_ASSERT_EQ(kvm.mem[1].slot, 1);

	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE + 4, 4) == a + 4, "in the first");
	TEST_ASSERT(gmem__ptr(&kvm, b_base + 4, 4) == b + 4, "in the second");
	TEST_ASSERT(gmem__ptr(&kvm, b_base + RAM_SIZE - 1, 1) == b + RAM_SIZE - 1, "end of b");
	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE + RAM_SIZE, 1) == NULL, "in the gap");
	TEST_ASSERT(gmem__ptr(&kvm, b_base - 1, 1) == NULL, "last byte of the gap");
	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE + RAM_SIZE - 8, RAM_SIZE + 16) == NULL,
		    "across the gap into the second region");
	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE, 3 * RAM_SIZE) == NULL, "covering both");
	free(a);
	free(b);
}

/* Adjacent regions have unrelated host buffers: a range across the seam is not one region. */
static void test_adjacent_regions_seam(void)
{
	struct lkvm_config cfg;
	struct kvm kvm;
	u8 *a = host_buf(RAM_SIZE), *b = host_buf(RAM_SIZE);

	config__defaults(&cfg, 1);
	vm_init(&kvm, &cfg);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, RAM_BASE, RAM_SIZE, a), 0);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, RAM_BASE + RAM_SIZE, RAM_SIZE, b), 0);
	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE + RAM_SIZE - 1, 1) == a + RAM_SIZE - 1, "a's end");
	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE + RAM_SIZE, 1) == b, "b's start");
	TEST_ASSERT(gmem__ptr(&kvm, RAM_BASE + RAM_SIZE - 1, 2) == NULL, "across the seam");
	free(a);
	free(b);
}

static void test_add_region_refusals(void)
{
	struct lkvm_config cfg;
	struct kvm kvm;
	u8 *host = host_buf(RAM_SIZE);

	config__defaults(&cfg, 1);
	vm_init(&kvm, &cfg);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, RAM_BASE, RAM_SIZE, host), 0);

	TEST_ASSERT_EQ(gmem__add_region(&kvm, RAM_BASE, RAM_SIZE, host), -EINVAL);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, RAM_BASE + 0x8000, RAM_SIZE, host), -EINVAL);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, RAM_BASE - 0x8000, RAM_SIZE, host), -EINVAL);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, RAM_BASE + 1, 1, host), -EINVAL);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, RAM_BASE - 1, RAM_SIZE + 2, host), -EINVAL);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, RAM_BASE + RAM_SIZE - 1, 1, host), -EINVAL);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, RAM_BASE - 1, 2, host), -EINVAL);
	/* Empty, and wrapping past 2^64. */
	TEST_ASSERT_EQ(gmem__add_region(&kvm, 0x1000, 0, host), -EINVAL);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, 0ULL - 0x1000, 0x2000, host), -EINVAL);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, 0x1000, UINT64_MAX, host), -EINVAL);
	TEST_ASSERT_EQ(kvm.nr_mem, 1);

	/* Touching either end is fine. */
	TEST_ASSERT_EQ(gmem__add_region(&kvm, RAM_BASE + RAM_SIZE, 0x1000, host), 0);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, RAM_BASE - 0x1000, 0x1000, host), 0);
	TEST_ASSERT_EQ(kvm.nr_mem, 3);
	free(host);
}

static void test_region_table_full(void)
{
	struct lkvm_config cfg;
	struct kvm kvm;
	u8 *host = host_buf(0x1000);

	config__defaults(&cfg, 1);
	vm_init(&kvm, &cfg);
	for (unsigned int i = 0; i < LKVM_MAX_MEM_REGIONS; i++)
		TEST_ASSERT_EQ(gmem__add_region(&kvm, RAM_BASE + i * 0x10000ULL, 0x1000, host), 0);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, 0x100000000ULL, 0x1000, host), -EINVAL);
	TEST_ASSERT_EQ(kvm.nr_mem, LKVM_MAX_MEM_REGIONS);
	free(host);
}

static void test_write(void)
{
	static const u8 msg[] = "hello, guest";
	struct lkvm_config cfg;
	struct kvm kvm;
	u8 *host = host_buf(RAM_SIZE);
	u8 before[sizeof(msg)];

	config__defaults(&cfg, 1);
	vm_init(&kvm, &cfg);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, RAM_BASE, RAM_SIZE, host), 0);

	TEST_ASSERT_EQ(gmem__write(&kvm, RAM_BASE + 0x100, msg, sizeof(msg)), 0);
	TEST_ASSERT(!memcmp(host + 0x100, msg, sizeof(msg)), "bytes landed");
	TEST_ASSERT_EQ(gmem__write(&kvm, RAM_BASE + RAM_SIZE - sizeof(msg), msg, sizeof(msg)), 0);

	/* Straddling the end: -EFAULT and nothing written. */
	memcpy(before, host + RAM_SIZE - 4, 4);
	TEST_ASSERT_EQ(gmem__write(&kvm, RAM_BASE + RAM_SIZE - 4, msg, sizeof(msg)), -EFAULT);
	TEST_ASSERT(!memcmp(before, host + RAM_SIZE - 4, 4), "untouched");
	TEST_ASSERT_EQ(gmem__write(&kvm, 0x1000, msg, sizeof(msg)), -EFAULT);
	TEST_ASSERT_EQ(gmem__write(&kvm, RAM_BASE, msg, 0), -EFAULT);
	free(host);
}

/* gmem__next() */

static void test_next_empty(void)
{
	struct lkvm_config cfg;
	struct kvm kvm;
	struct gmem_range r = { 1, 2, NULL };
	unsigned int it = 0;

	config__defaults(&cfg, 1);
	vm_init(&kvm, &cfg);
	TEST_ASSERT(!gmem__next(&kvm, &it, &r), "no RAM: no region");
	TEST_ASSERT(r.gpa == 1 && r.size == 2, "*out untouched at the end");
	TEST_ASSERT(!gmem__next(&kvm, &it, &r), "still none");
}

/* Added out of order (as a user's -m banks may be): handed out lowest first, each once. */
static void test_next_ascending(void)
{
	static const u64 base[] = { 0x200000000ULL, 0x80000000ULL, 0ULL - 0x4000, 0x1000 };
	static const unsigned int order[] = { 3, 1, 0, 2 };	/* base[] sorted */
	struct lkvm_config cfg;
	struct kvm kvm;
	struct gmem_range r;
	u8 *host[ARRAY_SIZE(base)];
	unsigned int it = 0, n = 0;

	config__defaults(&cfg, 1);
	vm_init(&kvm, &cfg);
	for (unsigned int i = 0; i < ARRAY_SIZE(base); i++) {
		host[i] = host_buf(0x1000 * (i + 1));
		TEST_ASSERT_EQ(gmem__add_region(&kvm, base[i], 0x1000 * (i + 1), host[i]), 0);
	}
	while (gmem__next(&kvm, &it, &r)) {
		unsigned int k;

		TEST_ASSERT(n < ARRAY_SIZE(base), "more regions than were added");
		k = order[n++];
		TEST_ASSERT_EQ(r.gpa, base[k]);
		TEST_ASSERT_EQ(r.size, 0x1000 * (k + 1));
		TEST_ASSERT(r.host == host[k], "region %u's host pointer", k);
	}
	TEST_ASSERT_EQ(n, ARRAY_SIZE(base));
	TEST_ASSERT(!gmem__next(&kvm, &it, &r), "a finished walk stays finished");
	/* A second walk from 0 sees the same. */
	it = 0;
	TEST_ASSERT(gmem__next(&kvm, &it, &r) && r.gpa == 0x1000, "restart");
	for (unsigned int i = 0; i < ARRAY_SIZE(base); i++)
		free(host[i]);
}

/* A full table, adjacent regions, a cursor that is garbage: each region once, no overrun. */
static void test_next_full_table(void)
{
	struct lkvm_config cfg;
	struct kvm kvm;
	struct gmem_range r;
	u8 *host = host_buf(0x1000);
	unsigned int it = 0, n = 0;
	u64 want;

	config__defaults(&cfg, 1);
	vm_init(&kvm, &cfg);
	/* Highest first, each touching the next: the reverse of address order. */
	for (unsigned int i = LKVM_MAX_MEM_REGIONS; i--;)
		TEST_ASSERT_EQ(gmem__add_region(&kvm, RAM_BASE + i * 0x1000ULL, 0x1000, host), 0);
	for (want = RAM_BASE; gmem__next(&kvm, &it, &r); want += 0x1000, n++)
		TEST_ASSERT_EQ(r.gpa, want);
	TEST_ASSERT_EQ(n, LKVM_MAX_MEM_REGIONS);
	it = LKVM_MAX_MEM_REGIONS + 5;
	TEST_ASSERT(!gmem__next(&kvm, &it, &r), "a cursor past the table ends the walk");
	it = ~0u;
	TEST_ASSERT(!gmem__next(&kvm, &it, &r), "cursor UINT_MAX ends the walk");
	free(host);
}

/* MMIO bus */

static void dummy_mmio(void *opaque, u64 offset, u8 *data, u32 len, bool is_write)
{
	(void)opaque;
	(void)offset;
	(void)is_write;
	memset(data, 0, len);
}

static void test_mmio_register_overlap(void)
{
	struct mmio_bus bus = { 0 };

	TEST_ASSERT_EQ(mmio__register(&bus, 0x1000, 0x100, dummy_mmio, NULL, "a"), 0);
	TEST_ASSERT_EQ(mmio__register(&bus, 0x1000, 0x100, dummy_mmio, NULL, "same"), -EEXIST);
	TEST_ASSERT_EQ(mmio__register(&bus, 0x10f0, 0x20, dummy_mmio, NULL, "tail"), -EEXIST);
	TEST_ASSERT_EQ(mmio__register(&bus, 0x0f00, 0x101, dummy_mmio, NULL, "head"), -EEXIST);
	TEST_ASSERT_EQ(mmio__register(&bus, 0x0f00, 0x400, dummy_mmio, NULL, "cover"), -EEXIST);
	TEST_ASSERT_EQ(mmio__register(&bus, 0x1080, 0x1, dummy_mmio, NULL, "inside"), -EEXIST);
	TEST_ASSERT_EQ(bus.nr, 1);

	/* Adjacent on both sides. */
	TEST_ASSERT_EQ(mmio__register(&bus, 0x1100, 0x100, dummy_mmio, NULL, "after"), 0);
	TEST_ASSERT_EQ(mmio__register(&bus, 0x0f00, 0x100, dummy_mmio, NULL, "before"), 0);
	TEST_ASSERT_EQ(bus.nr, 3);
	TEST_ASSERT_EQ(bus.ranges[0].base, 0x0f00);
	TEST_ASSERT_EQ(bus.ranges[1].base, 0x1000);
	TEST_ASSERT_EQ(bus.ranges[2].base, 0x1100);
	/* Overlapping the middle one from between: still refused. */
	TEST_ASSERT_EQ(mmio__register(&bus, 0x0fff, 0x2, dummy_mmio, NULL, "seam"), -EEXIST);

	TEST_ASSERT_EQ(mmio__register(&bus, 0x5000, 0, dummy_mmio, NULL, "empty"), -EINVAL);
	TEST_ASSERT_EQ(mmio__register(&bus, 0ULL - 0x100, 0x200, dummy_mmio, NULL, "wrap"),
		       -EINVAL);
	TEST_ASSERT_EQ(bus.nr, 3);
	mmio__free(&bus);
	TEST_ASSERT_EQ(bus.nr, 0);
	TEST_ASSERT(bus.ranges == NULL, "freed");
}

static void test_mmio_find(void)
{
	struct mmio_bus bus = { 0 };
	int tag_a, tag_b;
	const struct mmio_range *r;

	TEST_ASSERT(mmio__find(&bus, 0x1000, 4) == NULL, "empty bus");
	TEST_ASSERT_EQ(mmio__register(&bus, 0x1000, 0x100, dummy_mmio, &tag_a, "a"), 0);
	TEST_ASSERT_EQ(mmio__register(&bus, 0x1100, 0x100, dummy_mmio, &tag_b, "b"), 0);

	r = mmio__find(&bus, 0x1000, 4);
	TEST_ASSERT(r && r->opaque == &tag_a && r->fn == dummy_mmio, "a at its base");
	TEST_ASSERT_STR_EQ(r->name, "a");
	r = mmio__find(&bus, 0x10fc, 4);
	TEST_ASSERT(r && r->opaque == &tag_a, "a's last word");
	TEST_ASSERT(mmio__find(&bus, 0x10fd, 4) == NULL, "straddling a and b");
	TEST_ASSERT(mmio__find(&bus, 0x11fc, 8) == NULL, "straddling b's end");
	r = mmio__find(&bus, 0x11ff, 1);
	TEST_ASSERT(r && r->opaque == &tag_b, "b's last byte");
	TEST_ASSERT(mmio__find(&bus, 0x1200, 1) == NULL, "one past b");
	TEST_ASSERT(mmio__find(&bus, 0x0fff, 1) == NULL, "one before a");
	TEST_ASSERT(mmio__find(&bus, 0x0fff, 2) == NULL, "straddling a's start");
	TEST_ASSERT(mmio__find(&bus, 0x1000, 0) == NULL, "zero length");
	TEST_ASSERT(mmio__find(&bus, UINT64_MAX, 2) == NULL, "wrapping");
	mmio__free(&bus);
}

static void test_mmio_many_ranges(void)
{
	enum { N = 1000 };
	struct mmio_bus bus = { 0 };
	static unsigned int order[N];
	static int tags[N];

	/* Register in a scrambled order (a permutation: 7919 is prime to N). */
	for (unsigned int i = 0; i < N; i++)
		order[i] = (i * 7919u) % N;
	for (unsigned int i = 0; i < N; i++) {
		unsigned int k = order[i];

		TEST_ASSERT_EQ(mmio__register(&bus, 0x10000000ULL + k * 0x1000ULL, 0x200 + k,
					      dummy_mmio, &tags[k], "r"), 0);
	}
	TEST_ASSERT_EQ(bus.nr, N);
	for (unsigned int i = 1; i < N; i++)
		TEST_ASSERT(bus.ranges[i - 1].base < bus.ranges[i].base, "sorted at %u", i);
	for (unsigned int k = 0; k < N; k++) {
		u64 base = 0x10000000ULL + k * 0x1000ULL, size = 0x200 + k;
		const struct mmio_range *r;

		r = mmio__find(&bus, base, 1);
		TEST_ASSERT(r && r->opaque == &tags[k], "range %u at its base", k);
		r = mmio__find(&bus, base + size - 4, 4);
		TEST_ASSERT(r && r->opaque == &tags[k], "range %u at its end", k);
		TEST_ASSERT(mmio__find(&bus, base + size - 2, 4) == NULL, "range %u straddle", k);
		TEST_ASSERT(mmio__find(&bus, base + size, 1) == NULL, "gap after %u", k);
		TEST_ASSERT(mmio__find(&bus, base + 0xfff, 1) == NULL, "gap end after %u", k);
	}
	TEST_ASSERT(mmio__find(&bus, 0x0fffffff, 1) == NULL, "below all");
	TEST_ASSERT(mmio__find(&bus, 0x10000000ULL + N * 0x1000ULL, 1) == NULL, "above all");
	/* Anything overlapping any of them is refused. */
	for (unsigned int k = 0; k < N; k += 37)
		TEST_ASSERT_EQ(mmio__register(&bus, 0x10000000ULL + k * 0x1000ULL + 0x100, 0x2000,
					      dummy_mmio, NULL, "x"), -EEXIST);
	mmio__free(&bus);
}

static const struct test_case tests[] = {
	TEST_CASE(test_single_region_edges),
	TEST_CASE(test_wrap_around),
	TEST_CASE(test_two_regions_with_gap),
	TEST_CASE(test_adjacent_regions_seam),
	TEST_CASE(test_add_region_refusals),
	TEST_CASE(test_region_table_full),
	TEST_CASE(test_write),
	TEST_CASE(test_next_empty),
	TEST_CASE(test_next_ascending),
	TEST_CASE(test_next_full_table),
	TEST_CASE(test_mmio_register_overlap),
	TEST_CASE(test_mmio_find),
	TEST_CASE(test_mmio_many_ranges),
};

TEST_MAIN(tests)
