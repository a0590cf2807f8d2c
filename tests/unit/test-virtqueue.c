// SPDX-License-Identifier: GPL-2.0-only
/*
 * The split virtqueue (virtio/virtqueue.c) against a fake guest: malloc'd
 * RAM registered with gmem, rings laid out as a driver would lay them out,
 * then well-formed chains, the used ring and notification decisions, and
 * hostile rings one rule at a time.  Every RAM buffer is exactly its
 * region's size, so under ASan any access outside guest RAM fails the case.
 *
 * Guest-physical map of the fake VM:
 *
 *   0x80000000  A  1 MiB    rings at A+0 (desc), A+0x80000 (avail),
 *                           A+0x90000 (used), indirect tables at A+0xe0000
 *   0x80100000  C  64 KiB   adjacent to A: separate host buffer
 *   0x80110000  -  gap
 *   0x90000000  B  1 MiB    data buffers
 *   0x90100000  -  gap to 2^64
 */
#include <endian.h>

#include "lkvm/kvm.h"
#include "lkvm/virtqueue.h"
#include "test.h"
#include "guest-mem.h"

#define A_BASE		0x80000000ULL
#define A_SIZE		SZ_MiB
#define C_BASE		(A_BASE + A_SIZE)
#define C_SIZE		(64 * SZ_KiB)
#define B_BASE		0x90000000ULL
#define B_SIZE		SZ_MiB
#define GAP		0x88000000ULL

#define DESC_GPA	(A_BASE)
#define AVAIL_GPA	(A_BASE + 0x80000)
#define USED_GPA	(A_BASE + 0x90000)
#define TABLE_GPA	(A_BASE + 0xe0000)
#define DATA		(B_BASE)

struct fx {
	struct kvm kvm;
	u8 *a, *b, *c;
	struct virtqueue vq;
	struct vq_chain *chain;
	unsigned int num;
	u16 avail_idx;		/* the driver's */
};

static u8 *ram(u64 size)
{
	u8 *p = calloc(1, size);

	TEST_ASSERT(p, "calloc %llu", (unsigned long long)size);
	return p;
}

/* A zeroed VM with the three regions (what kvm__init() does, without KVM). */
static void fx_vm(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->kvm.sys_fd = -1;
	f->kvm.vm_fd = -1;
	f->a = ram(A_SIZE);
	f->b = ram(B_SIZE);
	f->c = ram(C_SIZE);
	TEST_ASSERT_EQ(gmem__add_region(&f->kvm, A_BASE, A_SIZE, f->a), 0);
	TEST_ASSERT_EQ(gmem__add_region(&f->kvm, C_BASE, C_SIZE, f->c), 0);
	TEST_ASSERT_EQ(gmem__add_region(&f->kvm, B_BASE, B_SIZE, f->b), 0);
	f->chain = malloc(sizeof(*f->chain));
	TEST_ASSERT(f->chain, "malloc chain");
}

static void fx_init(struct fx *f, unsigned int num, bool event_idx, bool indirect)
{
	fx_vm(f);
	f->num = num;
	TEST_ASSERT_EQ(virtqueue__init(&f->vq, &f->kvm, num, DESC_GPA, AVAIL_GPA, USED_GPA,
				       event_idx, indirect), 0);
}

static void fx_fini(struct fx *f)
{
	free(f->chain);
	free(f->a);
	free(f->b);
	free(f->c);
}

/* Writes descriptor @i of the table at @table. */
static void set_desc_at(struct fx *f, u64 table, unsigned int i, u64 addr, u32 len, u16 flags,
			u16 next)
{
	gm_set_desc(&f->kvm, table, i, addr, len, flags, next);
}

static void set_desc(struct fx *f, unsigned int i, u64 addr, u32 len, u16 flags, u16 next)
{
	set_desc_at(f, DESC_GPA, i, addr, len, flags, next);
}

static void set_avail_idx(struct fx *f, u16 idx)
{
	put16(f, AVAIL_GPA + 2, idx);
}

/* Makes chain @head available, as a driver would: entry, then idx. */
static void offer(struct fx *f, u16 head)
{
	put16(f, AVAIL_GPA + 4 + 2ULL * (f->avail_idx % f->num), head);
	f->avail_idx++;
	set_avail_idx(f, f->avail_idx);
}

static void assert_iov(struct fx *f, unsigned int k, u64 gpa, u64 len)
{
	TEST_ASSERT(k < f->chain->nr_out + f->chain->nr_in, "iov %u missing", k);
	TEST_ASSERT(f->chain->iov[k].iov_base == gp(f, gpa, len), "iov %u points to %p", k,
		    f->chain->iov[k].iov_base);
	TEST_ASSERT_EQ(f->chain->iov[k].iov_len, len);
}

/* Pops expecting -EIO, with a reason containing @why, and a queue that stays broken. */
static void expect_broken(struct fx *f, const char *why)
{
	TEST_ASSERT_EQ(virtqueue__pop(&f->vq, f->chain), -EIO);
	TEST_ASSERT(f->vq.broken, "queue not marked broken");
	TEST_ASSERT_STR_CONTAINS(f->vq.broken_why, why);
	TEST_ASSERT_EQ(f->vq.last_avail_idx, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f->vq, f->chain), -EIO);
}

/* init */

static void test_init_valid(void)
{
	static const unsigned int nums[] = { 1, 2, 8, 256, 1024, 32768 };
	struct fx f;

	fx_vm(&f);
	for (unsigned int i = 0; i < ARRAY_SIZE(nums); i++) {
		TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, nums[i], DESC_GPA, AVAIL_GPA,
					       USED_GPA, true, true), 0);
		TEST_ASSERT_EQ(f.vq.num, nums[i]);
		TEST_ASSERT(f.vq.desc == f.a && f.vq.avail == f.a + 0x80000 &&
			    f.vq.used == f.a + 0x90000, "host views");
		TEST_ASSERT(f.vq.event_idx && f.vq.indirect && !f.vq.broken, "flags");
		TEST_ASSERT_EQ(f.vq.last_avail_idx, 0);
		TEST_ASSERT_EQ(f.vq.used_idx, 0);
	}
	fx_fini(&f);
}

static void test_init_bad_num(void)
{
	static const unsigned int nums[] = { 0, 3, 6, 255, 32767, 32769, 65535, 65536, 65537,
					     0x80000000u, 0xffffffffu };
	/* Room for 65536 entries (1 MiB desc table in A), so only num can be the reason. */
	const u64 desc = A_BASE, avail = B_BASE, used = B_BASE + 0x40000;
	struct fx f;

	fx_vm(&f);
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 32768, desc, avail, used, false, false), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(nums); i++) {
		TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, nums[i], desc, avail, used, false,
					       false), -EINVAL);
		TEST_ASSERT_EQ(f.vq.num, 0);
	}
	/* Unconfigured: pop refuses, push and notify touch nothing. */
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), -EINVAL);
	virtqueue__push(&f.vq, 0, 0);
	TEST_ASSERT(!virtqueue__should_notify(&f.vq), "notify on unconfigured queue");
	virtqueue__set_avail_event(&f.vq);
	fx_fini(&f);
}

static void test_init_misaligned(void)
{
	struct fx f;

	fx_vm(&f);
	for (u64 off = 1; off < 16; off++)
		TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, DESC_GPA + off, AVAIL_GPA,
					       USED_GPA, false, false), -EINVAL);
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, DESC_GPA, AVAIL_GPA + 1, USED_GPA,
				       false, false), -EINVAL);
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, DESC_GPA, AVAIL_GPA, USED_GPA + 2,
				       false, false), -EINVAL);
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, DESC_GPA, AVAIL_GPA, USED_GPA + 1,
				       false, false), -EINVAL);
	/* The minimum alignments themselves are fine. */
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, DESC_GPA + 16, AVAIL_GPA + 2,
				       USED_GPA + 4, false, false), 0);
	fx_fini(&f);
}

/*
 * The guest-physical alignment is checked, not just the host pointer's: a
 * region whose host buffer is offset by 8 makes the two differ.  A host
 * mapping too misaligned for the ring atomics is refused as well.
 */
static void test_init_host_alignment(void)
{
	const u64 d_base = 0xa0000000ULL;
	struct fx f;
	u8 *buf;

	fx_vm(&f);
	buf = ram(0x10000 + 16);
	TEST_ASSERT_EQ(gmem__add_region(&f.kvm, d_base, 0x10000, buf + 8), 0);
	/* gpa 16-aligned, host 8 mod 16 */
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, d_base, AVAIL_GPA, USED_GPA, 0, 0),
		       -EINVAL);
	/* gpa 8 mod 16, host 16-aligned */
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, d_base + 8, AVAIL_GPA, USED_GPA, 0, 0),
		       -EINVAL);
	/* used: gpa 4-aligned + 8 is 4-aligned, host too: fine; gpa + 2 is not. */
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, DESC_GPA, AVAIL_GPA, d_base + 4, 0, 0),
		       0);
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, DESC_GPA, AVAIL_GPA, d_base + 2, 0, 0),
		       -EINVAL);
	free(buf);
	fx_fini(&f);
}

static void test_init_ring_outside_ram(void)
{
	const u64 b_end = B_BASE + B_SIZE, c_end = C_BASE + C_SIZE;
	struct fx f;

	fx_vm(&f);
	/* In the gap, or below all RAM. */
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, GAP, AVAIL_GPA, USED_GPA, 0, 0), -EINVAL);
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, DESC_GPA, GAP, USED_GPA, 0, 0), -EINVAL);
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, DESC_GPA, AVAIL_GPA, GAP, 0, 0), -EINVAL);
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, 0, AVAIL_GPA, USED_GPA, 0, 0), -EINVAL);

	/* Desc table: ending exactly at the end of RAM is fine, one entry more is not. */
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, b_end - 128, AVAIL_GPA, USED_GPA, 0, 0),
		       0);
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 16, b_end - 128, AVAIL_GPA, USED_GPA, 0, 0),
		       -EINVAL);
	/* Avail ring: 4 + 2 * 8 = 20 bytes, plus used_event with EVENT_IDX. */
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, DESC_GPA, b_end - 20, USED_GPA, 0, 0), 0);
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, DESC_GPA, b_end - 20, USED_GPA, 1, 0),
		       -EINVAL);
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, DESC_GPA, b_end - 22, USED_GPA, 1, 0), 0);
	/* Used ring: 4 + 8 * 8 = 68 bytes, plus avail_event with EVENT_IDX. */
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, DESC_GPA, AVAIL_GPA, b_end - 68, 0, 0), 0);
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, DESC_GPA, AVAIL_GPA, b_end - 68, 1, 0),
		       -EINVAL);
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, DESC_GPA, AVAIL_GPA, b_end - 64, 0, 0),
		       -EINVAL);
	/* Past the end of the small region C, into the gap. */
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, c_end - 64, AVAIL_GPA, USED_GPA, 0, 0),
		       -EINVAL);
	/* Across the seam of adjacent regions A and C: one ring must be one host mapping. */
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, C_BASE - 64, AVAIL_GPA, USED_GPA, 0, 0),
		       -EINVAL);
	/* At the top of the address space, wrapping. */
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, 0ULL - 64, AVAIL_GPA, USED_GPA, 0, 0),
		       -EINVAL);
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, DESC_GPA, 0ULL - 2, USED_GPA, 0, 0),
		       -EINVAL);
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, DESC_GPA, AVAIL_GPA, 0ULL - 4, 0, 0),
		       -EINVAL);
	/* A largest queue does not fit in C. */
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 32768, C_BASE, AVAIL_GPA, USED_GPA, 0, 0),
		       -EINVAL);
	TEST_ASSERT_EQ(f.vq.num, 0);
	fx_fini(&f);
}

/* Well-formed chains */

static void test_pop_empty(void)
{
	struct fx f;

	fx_init(&f, 8, false, false);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 0);
	TEST_ASSERT_EQ(f.vq.last_avail_idx, 0);
	TEST_ASSERT(!f.vq.broken, "empty is not broken");

	/* One offered, one taken, then empty again. */
	set_desc(&f, 3, DATA, 100, 0, 0);
	offer(&f, 3);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 0);
	TEST_ASSERT_EQ(f.vq.last_avail_idx, 1);
	fx_fini(&f);
}

static void test_pop_single(void)
{
	struct fx f;

	fx_init(&f, 8, false, false);
	set_desc(&f, 5, DATA + 0x100, 512, 0, 0);
	offer(&f, 5);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	TEST_ASSERT_EQ(f.chain->head, 5);
	TEST_ASSERT_EQ(f.chain->nr_out, 1);
	TEST_ASSERT_EQ(f.chain->nr_in, 0);
	TEST_ASSERT_EQ(f.chain->out_len, 512);
	TEST_ASSERT_EQ(f.chain->in_len, 0);
	assert_iov(&f, 0, DATA + 0x100, 512);
	fx_fini(&f);
}

static void test_pop_out_in(void)
{
	struct fx f;

	fx_init(&f, 8, false, false);
	/* A virtio-blk request: header, data (readable), status (writable). */
	set_desc(&f, 0, DATA, 16, VRING_DESC_F_NEXT, 6);
	set_desc(&f, 6, DATA + 0x1000, 4096, VRING_DESC_F_NEXT, 2);
	set_desc(&f, 2, DATA + 0x3000, 1, VRING_DESC_F_WRITE, 7);	/* next ignored */
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	TEST_ASSERT_EQ(f.chain->head, 0);
	TEST_ASSERT_EQ(f.chain->nr_out, 2);
	TEST_ASSERT_EQ(f.chain->nr_in, 1);
	TEST_ASSERT_EQ(f.chain->out_len, 16 + 4096);
	TEST_ASSERT_EQ(f.chain->in_len, 1);
	assert_iov(&f, 0, DATA, 16);
	assert_iov(&f, 1, DATA + 0x1000, 4096);
	assert_iov(&f, 2, DATA + 0x3000, 1);

	/* Several writable ones, and a second chain queued behind the first. */
	set_desc(&f, 1, DATA + 0x4000, 100, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	set_desc(&f, 3, DATA + 0x5000, 200, VRING_DESC_F_WRITE, 0);
	set_desc(&f, 4, DATA + 0x6000, 8, 0, 0);
	offer(&f, 1);
	offer(&f, 4);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	TEST_ASSERT_EQ(f.chain->head, 1);
	TEST_ASSERT_EQ(f.chain->nr_out, 0);
	TEST_ASSERT_EQ(f.chain->nr_in, 2);
	TEST_ASSERT_EQ(f.chain->in_len, 300);
	assert_iov(&f, 0, DATA + 0x4000, 100);
	assert_iov(&f, 1, DATA + 0x5000, 200);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	TEST_ASSERT_EQ(f.chain->head, 4);
	TEST_ASSERT_EQ(f.chain->nr_out, 1);
	assert_iov(&f, 0, DATA + 0x6000, 8);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 0);
	fx_fini(&f);
}

static void test_pop_indirect(void)
{
	struct fx f;

	fx_init(&f, 8, false, true);
	/* Table of 3: out, in, in, chained 0 -> 2 -> 1.  WRITE on the table descriptor is ignored. */
	set_desc_at(&f, TABLE_GPA, 0, DATA, 16, VRING_DESC_F_NEXT, 2);
	set_desc_at(&f, TABLE_GPA, 2, DATA + 0x100, 512, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc_at(&f, TABLE_GPA, 1, DATA + 0x400, 1, VRING_DESC_F_WRITE, 0);
	set_desc(&f, 7, TABLE_GPA, 3 * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	offer(&f, 7);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	TEST_ASSERT_EQ(f.chain->head, 7);
	TEST_ASSERT_EQ(f.chain->nr_out, 1);
	TEST_ASSERT_EQ(f.chain->nr_in, 2);
	TEST_ASSERT_EQ(f.chain->out_len, 16);
	TEST_ASSERT_EQ(f.chain->in_len, 513);
	assert_iov(&f, 0, DATA, 16);
	assert_iov(&f, 1, DATA + 0x100, 512);
	assert_iov(&f, 2, DATA + 0x400, 1);
	fx_fini(&f);
}

/* virtio 1.2 §2.7.5.3.2: direct descriptors, then one indirect one. */
static void test_pop_direct_then_indirect(void)
{
	struct fx f;

	fx_init(&f, 8, false, true);
	set_desc(&f, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(&f, 1, TABLE_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	set_desc_at(&f, TABLE_GPA, 0, DATA + 0x10, 32, VRING_DESC_F_NEXT, 1);
	set_desc_at(&f, TABLE_GPA, 1, DATA + 0x40, 64, VRING_DESC_F_WRITE, 0);
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	TEST_ASSERT_EQ(f.chain->nr_out, 2);
	TEST_ASSERT_EQ(f.chain->nr_in, 1);
	assert_iov(&f, 0, DATA, 16);
	assert_iov(&f, 1, DATA + 0x10, 32);
	assert_iov(&f, 2, DATA + 0x40, 64);
	fx_fini(&f);
}

/* Zero-length descriptors are legal and produce no buffer; their address is not looked at. */
static void test_pop_zero_length(void)
{
	struct fx f;

	fx_init(&f, 8, false, false);
	set_desc(&f, 0, DATA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(&f, 1, GAP, 0, VRING_DESC_F_NEXT, 2);
	set_desc(&f, 2, 0ULL - 1, 0, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	set_desc(&f, 3, DATA + 0x20, 4, VRING_DESC_F_WRITE, 0);
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	TEST_ASSERT_EQ(f.chain->nr_out, 1);
	TEST_ASSERT_EQ(f.chain->nr_in, 1);
	assert_iov(&f, 0, DATA, 8);
	assert_iov(&f, 1, DATA + 0x20, 4);

	/* A chain of nothing but one empty descriptor. */
	set_desc(&f, 4, 0, 0, 0, 0);
	offer(&f, 4);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	TEST_ASSERT_EQ(f.chain->head, 4);
	TEST_ASSERT_EQ(f.chain->nr_out + f.chain->nr_in, 0);
	fx_fini(&f);
}

/* A buffer across adjacent RAM regions becomes one iovec per region. */
static void test_pop_across_adjacent_regions(void)
{
	struct fx f;

	fx_init(&f, 8, false, false);
	set_desc(&f, 0, C_BASE - 0x100, 0x300, VRING_DESC_F_WRITE, 0);
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	TEST_ASSERT_EQ(f.chain->nr_in, 2);
	TEST_ASSERT_EQ(f.chain->in_len, 0x300);
	TEST_ASSERT(f.chain->iov[0].iov_base == f.a + A_SIZE - 0x100, "first piece in A");
	TEST_ASSERT_EQ(f.chain->iov[0].iov_len, 0x100);
	TEST_ASSERT(f.chain->iov[1].iov_base == f.c, "second piece in C");
	TEST_ASSERT_EQ(f.chain->iov[1].iov_len, 0x200);

	/* The whole of C and one byte beyond it, into the gap. */
	set_desc(&f, 1, C_BASE - 1, C_SIZE + 2, 0, 0);
	offer(&f, 1);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), -EIO);
	TEST_ASSERT_STR_CONTAINS(f.vq.broken_why, "not in guest RAM");
	fx_fini(&f);
}

/* Many chains: the u16 avail and used indices wrap, the ring slots cycle. */
static void test_pop_push_wrap(void)
{
	struct fx f;

	fx_init(&f, 4, false, false);
	for (unsigned int i = 0; i < 4; i++)
		set_desc(&f, i, DATA + 0x100 * i, 0x10 + i, VRING_DESC_F_WRITE, 0);
	for (unsigned int n = 0; n < 70000; n++) {
		u16 head = (u16)((n * 3) % 4);

		offer(&f, head);
		TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
		TEST_ASSERT_EQ(f.chain->head, head);
		TEST_ASSERT_EQ(f.chain->in_len, 0x10 + head);
		virtqueue__push(&f.vq, f.chain->head, f.chain->in_len);
		TEST_ASSERT_EQ(get16(&f, USED_GPA + 2), (u16)(n + 1));
		TEST_ASSERT_EQ(get32(&f, USED_GPA + 4 + 8ULL * (n % 4)), head);
		TEST_ASSERT_EQ(get32(&f, USED_GPA + 8 + 8ULL * (n % 4)), 0x10 + head);
		TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 0);
	}
	TEST_ASSERT_EQ(f.vq.last_avail_idx, (u16)70000);
	/* A full ring (idx exactly num ahead) is not an error. */
	for (unsigned int i = 0; i < 4; i++)
		offer(&f, (u16)i);
	for (unsigned int i = 0; i < 4; i++) {
		TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
		TEST_ASSERT_EQ(f.chain->head, i);
	}
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 0);
	fx_fini(&f);
}

/* used ring and notifications */

static void test_push_used_ring(void)
{
	struct fx f;

	fx_init(&f, 8, false, false);
	memset(f.a + 0x90000, 0xaa, 4 + 8 * 8);
	put16(&f, USED_GPA + 2, 0);
	virtqueue__push(&f.vq, 5, 1234);
	TEST_ASSERT_EQ(get16(&f, USED_GPA + 2), 1);
	TEST_ASSERT_EQ(get32(&f, USED_GPA + 4), 5);
	TEST_ASSERT_EQ(get32(&f, USED_GPA + 8), 1234);
	virtqueue__push(&f.vq, 7, 0);
	TEST_ASSERT_EQ(get16(&f, USED_GPA + 2), 2);
	TEST_ASSERT_EQ(get32(&f, USED_GPA + 12), 7);
	TEST_ASSERT_EQ(get32(&f, USED_GPA + 16), 0);
	/* The device does not touch used->flags, nor slots it has not reached. */
	TEST_ASSERT_EQ(get16(&f, USED_GPA), 0xaaaa);
	TEST_ASSERT_EQ(get32(&f, USED_GPA + 20), 0xaaaaaaaa);
	/* Slot 8 is slot 0 again. */
	for (unsigned int i = 2; i < 9; i++)
		virtqueue__push(&f.vq, (u16)i, i * 10);
	TEST_ASSERT_EQ(get16(&f, USED_GPA + 2), 9);
	TEST_ASSERT_EQ(get32(&f, USED_GPA + 4), 8);
	TEST_ASSERT_EQ(get32(&f, USED_GPA + 8), 80);
	fx_fini(&f);
}

static void test_notify_flags(void)
{
	struct fx f;

	fx_init(&f, 8, false, false);
	TEST_ASSERT(!virtqueue__should_notify(&f.vq), "nothing pushed yet");
	virtqueue__push(&f.vq, 0, 0);
	TEST_ASSERT(virtqueue__should_notify(&f.vq), "flags 0: notify");
	TEST_ASSERT(!virtqueue__should_notify(&f.vq), "nothing new since");

	put16(&f, AVAIL_GPA, VRING_AVAIL_F_NO_INTERRUPT);
	virtqueue__push(&f.vq, 1, 0);
	virtqueue__push(&f.vq, 2, 0);
	TEST_ASSERT(!virtqueue__should_notify(&f.vq), "NO_INTERRUPT set");

	put16(&f, AVAIL_GPA, 0);
	TEST_ASSERT(!virtqueue__should_notify(&f.vq), "those were already decided");
	virtqueue__push(&f.vq, 3, 0);
	TEST_ASSERT(virtqueue__should_notify(&f.vq), "flags cleared");

	/* Without EVENT_IDX, used_event is ignored (§2.7.7.2). */
	put16(&f, AVAIL_GPA + 4 + 2 * 8, 100);
	virtqueue__push(&f.vq, 4, 0);
	TEST_ASSERT(virtqueue__should_notify(&f.vq), "used_event ignored");
	fx_fini(&f);
}

static void test_notify_event_idx(void)
{
	const u64 used_event = AVAIL_GPA + 4 + 2 * 8;
	struct fx f;

	fx_init(&f, 8, true, false);
	/* The driver wants to hear when entry 0 is used. */
	put16(&f, used_event, 0);
	TEST_ASSERT(!virtqueue__should_notify(&f.vq), "nothing pushed");
	virtqueue__push(&f.vq, 0, 0);
	TEST_ASSERT(virtqueue__should_notify(&f.vq), "entry 0 used");

	/* Entries 1 and 2 while the driver waits for entry 3. */
	put16(&f, used_event, 3);
	virtqueue__push(&f.vq, 1, 0);
	virtqueue__push(&f.vq, 2, 0);
	TEST_ASSERT(!virtqueue__should_notify(&f.vq), "event 3 not reached by idx 3");
	virtqueue__push(&f.vq, 3, 0);
	virtqueue__push(&f.vq, 4, 0);
	TEST_ASSERT(virtqueue__should_notify(&f.vq), "event 3 inside batch [3, 5)");

	/* The flags field means nothing with EVENT_IDX. */
	put16(&f, AVAIL_GPA, VRING_AVAIL_F_NO_INTERRUPT);
	put16(&f, used_event, 5);
	virtqueue__push(&f.vq, 5, 0);
	TEST_ASSERT(virtqueue__should_notify(&f.vq), "flags ignored with EVENT_IDX");

	/* An event already behind: no interrupt. */
	put16(&f, used_event, 2);
	virtqueue__push(&f.vq, 6, 0);
	TEST_ASSERT(!virtqueue__should_notify(&f.vq), "stale event");

	/* Across the u16 wrap of the used index. */
	while (f.vq.used_idx != 65533)
		virtqueue__push(&f.vq, 0, 0);
	(void)virtqueue__should_notify(&f.vq);
	put16(&f, used_event, 65535);
	virtqueue__push(&f.vq, 0, 0);		/* 65533 */
	virtqueue__push(&f.vq, 0, 0);		/* 65534 */
	TEST_ASSERT(!virtqueue__should_notify(&f.vq), "65535 not yet used");
	virtqueue__push(&f.vq, 0, 0);		/* 65535 */
	virtqueue__push(&f.vq, 0, 0);		/* 0 */
	TEST_ASSERT_EQ(f.vq.used_idx, 1);
	TEST_ASSERT_EQ(get16(&f, USED_GPA + 2), 1);
	TEST_ASSERT(virtqueue__should_notify(&f.vq), "65535 used in a batch that wrapped");
	put16(&f, used_event, 1);
	virtqueue__push(&f.vq, 0, 0);		/* 1 */
	TEST_ASSERT(virtqueue__should_notify(&f.vq), "event 1 after the wrap");
	fx_fini(&f);
}

static void test_need_event(void)
{
	/* event in [old, new) */
	TEST_ASSERT(virtqueue__need_event(0, 1, 0), "[0,1) has 0");
	TEST_ASSERT(!virtqueue__need_event(1, 1, 0), "[0,1) lacks 1");
	TEST_ASSERT(virtqueue__need_event(4, 5, 3), "[3,5) has 4");
	TEST_ASSERT(virtqueue__need_event(3, 5, 3), "[3,5) has 3");
	TEST_ASSERT(!virtqueue__need_event(2, 5, 3), "[3,5) lacks 2");
	TEST_ASSERT(!virtqueue__need_event(5, 5, 3), "[3,5) lacks 5");
	TEST_ASSERT(!virtqueue__need_event(7, 7, 7), "empty batch");
	/* Across the wrap: [65534, 2) = { 65534, 65535, 0, 1 }. */
	TEST_ASSERT(virtqueue__need_event(65534, 2, 65534), "wrap: 65534");
	TEST_ASSERT(virtqueue__need_event(65535, 2, 65534), "wrap: 65535");
	TEST_ASSERT(virtqueue__need_event(0, 2, 65534), "wrap: 0");
	TEST_ASSERT(virtqueue__need_event(1, 2, 65534), "wrap: 1");
	TEST_ASSERT(!virtqueue__need_event(2, 2, 65534), "wrap: 2");
	TEST_ASSERT(!virtqueue__need_event(65533, 2, 65534), "wrap: 65533");
	TEST_ASSERT(!virtqueue__need_event(32768, 2, 65534), "wrap: far away");
}

static void test_set_avail_event(void)
{
	const u64 avail_event = USED_GPA + 4 + 8 * 8;
	struct fx f;

	fx_init(&f, 8, true, false);
	put16(&f, avail_event, 0xbeef);
	virtqueue__set_avail_event(&f.vq);
	TEST_ASSERT_EQ(get16(&f, avail_event), 0);
	set_desc(&f, 0, DATA, 1, 0, 0);
	offer(&f, 0);
	offer(&f, 0);
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	virtqueue__set_avail_event(&f.vq);
	TEST_ASSERT_EQ(get16(&f, avail_event), 2);
	fx_fini(&f);

	/* Without EVENT_IDX the field is not the device's to write. */
	fx_init(&f, 8, false, false);
	put16(&f, avail_event, 0xbeef);
	virtqueue__set_avail_event(&f.vq);
	TEST_ASSERT_EQ(get16(&f, avail_event), 0xbeef);
	fx_fini(&f);
}

/*
 * Each ring at the very end of a region's host buffer, so ASan sees any byte
 * beyond: the desc table ends with A, the avail ring (used_event last) with
 * C, the used ring 2 bytes short of B's end (6 + 8 * num is never a
 * multiple of its 4-byte alignment).
 */
static void test_rings_at_ram_end(void)
{
	const u64 desc = A_BASE + A_SIZE - 8 * 16;
	const u64 avail = C_BASE + C_SIZE - (4 + 2 * 8 + 2);
	const u64 used = B_BASE + B_SIZE - 72;
	struct fx f;

	fx_vm(&f);
	f.num = 8;
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, desc, avail, used, true, false), 0);
	for (unsigned int i = 0; i < 8; i++)
		set_desc_at(&f, desc, i, DATA + 16 * i, 16, i == 7 ? 0 : VRING_DESC_F_NEXT,
			    (u16)(i + 1));
	for (unsigned int n = 0; n < 20; n++) {
		put16(&f, avail + 4 + 2 * (n % 8), (u16)(7 - n % 8));
		put16(&f, avail + 2, (u16)(n + 1));
		TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
		TEST_ASSERT_EQ(f.chain->nr_out, 1 + n % 8);
		assert_iov(&f, n % 8, DATA + 16 * 7, 16);
		virtqueue__push(&f.vq, f.chain->head, 0);
		TEST_ASSERT_EQ(get32(&f, used + 4 + 8 * (n % 8)), 7 - n % 8);
		put16(&f, avail + 4 + 2 * 8, (u16)n);		/* used_event */
		TEST_ASSERT(virtqueue__should_notify(&f.vq), "push %u", n);
		virtqueue__set_avail_event(&f.vq);
		TEST_ASSERT_EQ(get16(&f, used + 4 + 8 * 8), (u16)(n + 1));
	}
	fx_fini(&f);
}

/* Hostile rings */

static void test_hostile_self_loop(void)
{
	struct fx f;

	fx_init(&f, 8, false, false);
	set_desc(&f, 2, DATA, 4, VRING_DESC_F_NEXT, 2);
	offer(&f, 2);
	expect_broken(&f, "loop");
	fx_fini(&f);

	/* The same loop of empty descriptors: nothing else bounds it. */
	fx_init(&f, 8, false, false);
	set_desc(&f, 2, 0, 0, VRING_DESC_F_NEXT, 2);
	offer(&f, 2);
	expect_broken(&f, "loop");
	fx_fini(&f);
}

static void test_hostile_two_cycle(void)
{
	struct fx f;

	fx_init(&f, 8, false, false);
	set_desc(&f, 0, DATA, 4, VRING_DESC_F_NEXT, 1);
	set_desc(&f, 1, DATA + 4, 4, VRING_DESC_F_NEXT, 0);
	offer(&f, 0);
	expect_broken(&f, "loop");
	fx_fini(&f);
}

static void test_hostile_next_out_of_range(void)
{
	static const u16 nexts[] = { 8, 9, 0x8000, 0xffff };

	for (unsigned int i = 0; i < ARRAY_SIZE(nexts); i++) {
		struct fx f;

		fx_init(&f, 8, false, false);
		set_desc(&f, 0, DATA, 4, VRING_DESC_F_NEXT, nexts[i]);
		offer(&f, 0);
		expect_broken(&f, "next index beyond the queue size");
		fx_fini(&f);
	}
}

static void test_hostile_head_out_of_range(void)
{
	static const u16 heads[] = { 8, 255, 0xffff };

	for (unsigned int i = 0; i < ARRAY_SIZE(heads); i++) {
		struct fx f;

		fx_init(&f, 8, false, false);
		offer(&f, heads[i]);
		expect_broken(&f, "available ring entry beyond");
		fx_fini(&f);
	}
}

static void test_hostile_avail_idx_jump(void)
{
	static const u16 idxs[] = { 9, 100, 0x8000, 0xffff /* backwards */ };

	for (unsigned int i = 0; i < ARRAY_SIZE(idxs); i++) {
		struct fx f;

		fx_init(&f, 8, false, false);
		set_desc(&f, 0, DATA, 4, 0, 0);
		set_avail_idx(&f, idxs[i]);
		expect_broken(&f, "available index moved");
		fx_fini(&f);
	}
}

/* A chain of exactly num descriptors is fine; num + 1 (through a loop) is not. */
static void test_hostile_chain_length(void)
{
	struct fx f;

	fx_init(&f, 8, false, false);
	for (unsigned int i = 0; i < 8; i++)
		set_desc(&f, i, DATA + 0x10 * i, 0x10, i < 7 ? VRING_DESC_F_NEXT : 0, (u16)(i + 1));
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	TEST_ASSERT_EQ(f.chain->nr_out, 8);
	TEST_ASSERT_EQ(f.chain->out_len, 0x80);

	/* Same descriptors, last one pointing back: the 9th visit is refused. */
	set_desc(&f, 7, DATA + 0x70, 0x10, VRING_DESC_F_NEXT, 0);
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), -EIO);
	TEST_ASSERT_STR_CONTAINS(f.vq.broken_why, "loop");
	TEST_ASSERT_EQ(f.vq.last_avail_idx, 1);
	fx_fini(&f);

	/*
	 * With num == VQ_MAX_IOV, a loop of one-byte buffers must be caught as
	 * a loop at visit num + 1, before it could hit the iovec limit.
	 */
	fx_init(&f, VQ_MAX_IOV, false, false);
	for (unsigned int i = 0; i < VQ_MAX_IOV; i++)
		set_desc(&f, i, DATA + i, 1, VRING_DESC_F_NEXT, (u16)((i + 1) % VQ_MAX_IOV));
	offer(&f, 0);
	expect_broken(&f, "chain longer than the queue size");
	fx_fini(&f);

	/* The largest queue: 32768 (empty) descriptors, then one more. */
	fx_init(&f, 32768, false, false);
	for (unsigned int i = 0; i < 32768; i++)
		set_desc(&f, i, 0, 0, i < 32767 ? VRING_DESC_F_NEXT : 0, (u16)(i + 1));
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	TEST_ASSERT_EQ(f.chain->nr_out + f.chain->nr_in, 0);
	set_desc(&f, 32767, 0, 0, VRING_DESC_F_NEXT, 0);
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), -EIO);
	TEST_ASSERT_STR_CONTAINS(f.vq.broken_why, "loop");
	fx_fini(&f);
}

static void test_hostile_indirect_length(void)
{
	static const struct {
		u32 len;
		const char *why;
	} cases[] = {
		{ 0, "not a non-zero multiple of 16" },
		{ 1, "not a non-zero multiple of 16" },
		{ 8, "not a non-zero multiple of 16" },
		{ 15, "not a non-zero multiple of 16" },
		{ 17, "not a non-zero multiple of 16" },
		{ 24, "not a non-zero multiple of 16" },
		{ 0xffffffff, "not a non-zero multiple of 16" },
		{ 16 * 32769, "longer than 32768" },
		{ 0xfffffff0, "longer than 32768" },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fx f;

		fx_init(&f, 8, false, true);
		set_desc(&f, 0, TABLE_GPA, cases[i].len, VRING_DESC_F_INDIRECT, 0);
		offer(&f, 0);
		expect_broken(&f, cases[i].why);
		fx_fini(&f);
	}
}

static void test_hostile_indirect_not_negotiated(void)
{
	struct fx f;

	fx_init(&f, 8, false, false);
	set_desc_at(&f, TABLE_GPA, 0, DATA, 4, 0, 0);
	set_desc(&f, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	offer(&f, 0);
	expect_broken(&f, "without VIRTIO_RING_F_INDIRECT_DESC");
	fx_fini(&f);
}

static void test_hostile_nested_indirect(void)
{
	struct fx f;

	fx_init(&f, 8, false, true);
	set_desc_at(&f, TABLE_GPA, 0, DATA, 4, VRING_DESC_F_NEXT, 1);
	set_desc_at(&f, TABLE_GPA, 1, TABLE_GPA + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc_at(&f, TABLE_GPA + 0x100, 0, DATA, 4, 0, 0);
	set_desc(&f, 0, TABLE_GPA, 32, VRING_DESC_F_INDIRECT, 0);
	offer(&f, 0);
	expect_broken(&f, "nested INDIRECT");
	fx_fini(&f);

	/* A table pointing at itself. */
	fx_init(&f, 8, false, true);
	set_desc_at(&f, TABLE_GPA, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(&f, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	offer(&f, 0);
	expect_broken(&f, "nested INDIRECT");
	fx_fini(&f);
}

static void test_hostile_indirect_with_next(void)
{
	struct fx f;

	fx_init(&f, 8, false, true);
	set_desc_at(&f, TABLE_GPA, 0, DATA, 4, 0, 0);
	set_desc(&f, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	set_desc(&f, 1, DATA, 4, 0, 0);
	offer(&f, 0);
	expect_broken(&f, "INDIRECT descriptor with NEXT");
	fx_fini(&f);
}

static void test_hostile_indirect_loops(void)
{
	struct fx f;

	/* Entry 1 points to itself. */
	fx_init(&f, 8, false, true);
	set_desc_at(&f, TABLE_GPA, 0, DATA, 4, VRING_DESC_F_NEXT, 1);
	set_desc_at(&f, TABLE_GPA, 1, DATA, 4, VRING_DESC_F_NEXT, 1);
	set_desc(&f, 0, TABLE_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	offer(&f, 0);
	expect_broken(&f, "indirect chain longer than its table");
	fx_fini(&f);

	/* next beyond the table's count (but inside the queue size). */
	fx_init(&f, 8, false, true);
	set_desc_at(&f, TABLE_GPA, 0, DATA, 4, VRING_DESC_F_NEXT, 2);
	set_desc_at(&f, TABLE_GPA, 1, DATA, 4, 0, 0);
	set_desc_at(&f, TABLE_GPA, 2, DATA, 4, 0, 0);
	set_desc(&f, 0, TABLE_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	offer(&f, 0);
	expect_broken(&f, "indirect next index beyond the table");
	fx_fini(&f);

	/* A table is walked for exactly its count (within the queue size: see below). */
	fx_init(&f, 32, false, true);
	for (unsigned int i = 0; i < 20; i++)
		set_desc_at(&f, TABLE_GPA, i, DATA + i, 1, i < 19 ? VRING_DESC_F_NEXT : 0,
			    (u16)(i + 1));
	set_desc(&f, 0, TABLE_GPA, 20 * 16, VRING_DESC_F_INDIRECT, 0);
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	TEST_ASSERT_EQ(f.chain->nr_out, 20);
	/* ... and its last entry pointing back to the first is one visit too many. */
	set_desc_at(&f, TABLE_GPA, 19, DATA + 19, 1, VRING_DESC_F_NEXT, 0);
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), -EIO);
	TEST_ASSERT_STR_CONTAINS(f.vq.broken_why, "indirect chain longer than its table");
	fx_fini(&f);

	/* A looping table of VQ_MAX_IOV one-byte entries: a loop, not an iovec overflow. */
	fx_init(&f, 2048, false, true);
	for (unsigned int i = 0; i < VQ_MAX_IOV; i++)
		set_desc_at(&f, TABLE_GPA, i, DATA + i, 1, VRING_DESC_F_NEXT,
			    (u16)((i + 1) % VQ_MAX_IOV));
	set_desc(&f, 0, TABLE_GPA, VQ_MAX_IOV * 16, VRING_DESC_F_INDIRECT, 0);
	offer(&f, 0);
	expect_broken(&f, "indirect chain longer than its table");
	fx_fini(&f);
}

/*
 * virtio 1.2 §2.7.5.3.1: "A driver MUST NOT create a descriptor chain
 * longer than the Queue Size of the device", indirect entries included.
 * Exactly the queue size is fine, one more is a ring error, however the
 * chain splits between the ring and the table; a 32768-entry table on a
 * 256-entry queue is refused without walking it all.
 */
static void test_hostile_indirect_chain_length(void)
{
	const unsigned int num = 256;
	struct fx f;

	fx_init(&f, num, false, true);
	for (unsigned int i = 0; i < num; i++)
		set_desc_at(&f, TABLE_GPA, i, DATA + i, 1, i < num - 1 ? VRING_DESC_F_NEXT : 0,
			    (u16)(i + 1));
	set_desc(&f, 0, TABLE_GPA, num * 16, VRING_DESC_F_INDIRECT, 0);
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	TEST_ASSERT_EQ(f.chain->nr_out, num);
	fx_fini(&f);

	/* num + 1 entries in the table. */
	fx_init(&f, num, false, true);
	for (unsigned int i = 0; i <= num; i++)
		set_desc_at(&f, TABLE_GPA, i, DATA + i, 1, i < num ? VRING_DESC_F_NEXT : 0,
			    (u16)(i + 1));
	set_desc(&f, 0, TABLE_GPA, (num + 1) * 16, VRING_DESC_F_INDIRECT, 0);
	offer(&f, 0);
	expect_broken(&f, "chain longer than the queue size");
	fx_fini(&f);

	/* One direct buffer, then a table of num - 1: num in all, fine... */
	fx_init(&f, num, false, true);
	set_desc(&f, 0, DATA + 0x1000, 16, VRING_DESC_F_NEXT, 1);
	set_desc(&f, 1, TABLE_GPA, (num - 1) * 16, VRING_DESC_F_INDIRECT, 0);
	for (unsigned int i = 0; i < num - 1; i++)
		set_desc_at(&f, TABLE_GPA, i, DATA + i, 1, i < num - 2 ? VRING_DESC_F_NEXT : 0,
			    (u16)(i + 1));
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	TEST_ASSERT_EQ(f.chain->nr_out, num);
	/* ...and with a table of num, one too many. */
	set_desc(&f, 1, TABLE_GPA, num * 16, VRING_DESC_F_INDIRECT, 0);
	set_desc_at(&f, TABLE_GPA, num - 2, DATA + num - 2, 1, VRING_DESC_F_NEXT, (u16)(num - 1));
	set_desc_at(&f, TABLE_GPA, num - 1, DATA + num - 1, 1, 0, 0);
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), -EIO);
	TEST_ASSERT_STR_CONTAINS(f.vq.broken_why, "chain longer than the queue size");
	fx_fini(&f);

	/* The audit's case: 32768 (empty) entries on a 256-entry queue. */
	fx_init(&f, num, false, true);
	for (unsigned int i = 0; i < VIRTQ_MAX_SIZE; i++)
		set_desc_at(&f, B_BASE, i, 0, 0, i < VIRTQ_MAX_SIZE - 1 ? VRING_DESC_F_NEXT : 0,
			    (u16)(i + 1));
	set_desc(&f, 0, B_BASE, VIRTQ_MAX_SIZE * 16, VRING_DESC_F_INDIRECT, 0);
	offer(&f, 0);
	expect_broken(&f, "chain longer than the queue size");
	fx_fini(&f);
}

static void test_hostile_indirect_outside_ram(void)
{
	static const u64 tables[] = {
		GAP,				/* in the gap */
		B_BASE + B_SIZE - 16,		/* straddling the end of RAM */
		C_BASE + C_SIZE - 16,		/* straddling C's end, into the gap */
		C_BASE - 16,			/* across A/C: one table, one mapping */
		0ULL - 16,			/* the top of the address space, wrapping */
		0,
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(tables); i++) {
		struct fx f;

		fx_init(&f, 8, false, true);
		set_desc(&f, 0, tables[i], 32, VRING_DESC_F_INDIRECT, 0);
		offer(&f, 0);
		expect_broken(&f, "indirect table is not in one guest RAM region");
		fx_fini(&f);
	}
}

static void test_hostile_buffer_outside_ram(void)
{
	static const struct {
		u64 addr;
		u32 len;
		const char *why;
	} bufs[] = {
		{ B_BASE + B_SIZE - 8, 16, "not in guest RAM" },	/* straddling the end */
		{ B_BASE + B_SIZE, 1, "not in guest RAM" },		/* one past the end */
		{ B_BASE - 1, 2, "not in guest RAM" },			/* straddling the start */
		{ GAP, 4096, "not in guest RAM" },			/* in the gap */
		{ 0, 1, "not in guest RAM" },
		{ 0ULL - 16, 16, "not in guest RAM" },			/* top, no RAM there */
		{ 0ULL - 16, 32, "wraps" },				/* wrapping */
		{ 0ULL - 1, 0xfffffff0, "wraps" },
		{ A_BASE, 0xfffffff0, "not in guest RAM" },		/* far too long */
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(bufs); i++) {
		struct fx f;

		/* Second in the chain, writable: the first one must not hide the check. */
		fx_init(&f, 8, false, false);
		set_desc(&f, 0, DATA, 4, VRING_DESC_F_NEXT, 1);
		set_desc(&f, 1, bufs[i].addr, bufs[i].len, VRING_DESC_F_WRITE, 0);
		offer(&f, 0);
		expect_broken(&f, bufs[i].why);
		fx_fini(&f);

		/* The same inside an indirect table. */
		fx_init(&f, 8, false, true);
		set_desc_at(&f, TABLE_GPA, 0, bufs[i].addr, bufs[i].len, 0, 0);
		set_desc(&f, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
		offer(&f, 0);
		expect_broken(&f, bufs[i].why);
		fx_fini(&f);
	}
}

static void test_hostile_out_after_in(void)
{
	struct fx f;

	fx_init(&f, 8, false, false);
	set_desc(&f, 0, DATA, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(&f, 1, DATA + 4, 4, 0, 0);
	offer(&f, 0);
	expect_broken(&f, "device-readable descriptor after a device-writable one");
	fx_fini(&f);

	/* Even a zero-length one. */
	fx_init(&f, 8, false, false);
	set_desc(&f, 0, DATA, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(&f, 1, DATA + 4, 0, 0, 0);
	offer(&f, 0);
	expect_broken(&f, "device-readable descriptor after a device-writable one");
	fx_fini(&f);

	/* Inside an indirect table. */
	fx_init(&f, 8, false, true);
	set_desc_at(&f, TABLE_GPA, 0, DATA, 4, VRING_DESC_F_NEXT, 1);
	set_desc_at(&f, TABLE_GPA, 1, DATA, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	set_desc_at(&f, TABLE_GPA, 2, DATA, 4, 0, 0);
	set_desc(&f, 0, TABLE_GPA, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	offer(&f, 0);
	expect_broken(&f, "device-readable descriptor after a device-writable one");
	fx_fini(&f);

	/* Across the boundary: writable direct descriptor, readable first table entry. */
	fx_init(&f, 8, false, true);
	set_desc(&f, 0, DATA, 4, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(&f, 1, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc_at(&f, TABLE_GPA, 0, DATA, 4, 0, 0);
	offer(&f, 0);
	expect_broken(&f, "device-readable descriptor after a device-writable one");
	fx_fini(&f);
}

static void test_hostile_too_many_iov(void)
{
	struct fx f;

	/* 1024 one-byte buffers fit; 1025 do not. */
	fx_init(&f, 2048, false, false);
	for (unsigned int i = 0; i < 1025; i++)
		set_desc(&f, i, DATA + i, 1, VRING_DESC_F_NEXT, (u16)(i + 1));
	set_desc(&f, 1023, DATA + 1023, 1, 0, 0);
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	TEST_ASSERT_EQ(f.chain->nr_out, VQ_MAX_IOV);
	assert_iov(&f, VQ_MAX_IOV - 1, DATA + 1023, 1);
	set_desc(&f, 1023, DATA + 1023, 1, VRING_DESC_F_NEXT, 1024);
	set_desc(&f, 1024, DATA + 1024, 1, 0, 0);
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), -EIO);
	TEST_ASSERT_STR_CONTAINS(f.vq.broken_why, "VQ_MAX_IOV");
	fx_fini(&f);

	/* Through an indirect table of 1025 (on a queue that allows such a chain). */
	fx_init(&f, 2048, false, true);
	for (unsigned int i = 0; i < 1025; i++)
		set_desc_at(&f, TABLE_GPA, i, DATA + i, 1, i < 1024 ? VRING_DESC_F_NEXT : 0,
			    (u16)(i + 1));
	set_desc(&f, 0, TABLE_GPA, 1025 * 16, VRING_DESC_F_INDIRECT, 0);
	offer(&f, 0);
	expect_broken(&f, "VQ_MAX_IOV");
	fx_fini(&f);

	/* A split buffer counts one per region: 1023 buffers, then one across A/C. */
	fx_init(&f, 2048, false, false);
	for (unsigned int i = 0; i < 1023; i++)
		set_desc(&f, i, DATA + i, 1, VRING_DESC_F_NEXT, (u16)(i + 1));
	set_desc(&f, 1023, C_BASE - 1, 2, 0, 0);
	offer(&f, 0);
	expect_broken(&f, "VQ_MAX_IOV");
	fx_fini(&f);
}

/* More than 2^32 - 1 bytes in one chain (virtio 1.2 §2.7.5.2), in a 256 MiB guest. */
static void test_hostile_total_length(void)
{
	const u64 big_base = 0x100000000ULL, big_size = 256 * SZ_MiB;
	struct fx f;
	u8 *big;

	big = mmap(NULL, big_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		   MAP_NORESERVE, -1, 0);
	TEST_ASSERT(big != MAP_FAILED, "mmap 256 MiB: %s", strerror(errno));
	fx_init(&f, 32, false, false);
	TEST_ASSERT_EQ(gmem__add_region(&f.kvm, big_base, big_size, big), 0);
	/* 15 x 256 MiB + (256 MiB - 1) = 2^32 - 1: fits. */
	for (unsigned int i = 0; i < 16; i++)
		set_desc(&f, i, big_base, i < 15 ? (u32)big_size : (u32)big_size - 1,
			 i < 15 ? VRING_DESC_F_NEXT : 0, (u16)(i + 1));
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	TEST_ASSERT_EQ(f.chain->out_len, 0xffffffffu);
	/* One byte more does not. */
	set_desc(&f, 15, big_base, (u32)big_size, 0, 0);
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), -EIO);
	TEST_ASSERT_STR_CONTAINS(f.vq.broken_why, "2^32");
	fx_fini(&f);
	munmap(big, big_size);
}

/* Once broken, a repaired ring is still refused, and nothing more is consumed. */
static void test_broken_is_sticky(void)
{
	struct fx f;

	fx_init(&f, 8, false, false);
	set_desc(&f, 0, DATA, 4, 0, 0);
	offer(&f, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	offer(&f, 9);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), -EIO);
	TEST_ASSERT_STR_CONTAINS(f.vq.broken_why, "entry beyond");
	TEST_ASSERT(!f.vq.broken_logged, "logging is the caller's");

	/* The driver "fixes" the entry and adds another: still broken, first reason kept. */
	put16(&f, AVAIL_GPA + 4 + 2 * 1, 0);
	offer(&f, 0);
	for (unsigned int i = 0; i < 3; i++)
		TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), -EIO);
	TEST_ASSERT_EQ(f.vq.last_avail_idx, 1);
	TEST_ASSERT_STR_CONTAINS(f.vq.broken_why, "entry beyond");

	/* A reset and re-init (what the transport does) starts clean. */
	TEST_ASSERT_EQ(virtqueue__init(&f.vq, &f.kvm, 8, DESC_GPA, AVAIL_GPA, USED_GPA, false,
				       false), 0);
	TEST_ASSERT(!f.vq.broken && !f.vq.broken_why, "re-init clears broken");
	set_avail_idx(&f, 1);
	put16(&f, AVAIL_GPA + 4, 0);
	TEST_ASSERT_EQ(virtqueue__pop(&f.vq, f.chain), 1);
	fx_fini(&f);
}

static const struct test_case tests[] = {
	TEST_CASE(test_init_valid),
	TEST_CASE(test_init_bad_num),
	TEST_CASE(test_init_misaligned),
	TEST_CASE(test_init_host_alignment),
	TEST_CASE(test_init_ring_outside_ram),
	TEST_CASE(test_pop_empty),
	TEST_CASE(test_pop_single),
	TEST_CASE(test_pop_out_in),
	TEST_CASE(test_pop_indirect),
	TEST_CASE(test_pop_direct_then_indirect),
	TEST_CASE(test_pop_zero_length),
	TEST_CASE(test_pop_across_adjacent_regions),
	TEST_CASE(test_pop_push_wrap),
	TEST_CASE(test_push_used_ring),
	TEST_CASE(test_notify_flags),
	TEST_CASE(test_notify_event_idx),
	TEST_CASE(test_need_event),
	TEST_CASE(test_set_avail_event),
	TEST_CASE(test_rings_at_ram_end),
	TEST_CASE(test_hostile_self_loop),
	TEST_CASE(test_hostile_two_cycle),
	TEST_CASE(test_hostile_next_out_of_range),
	TEST_CASE(test_hostile_head_out_of_range),
	TEST_CASE(test_hostile_avail_idx_jump),
	TEST_CASE(test_hostile_chain_length),
	TEST_CASE(test_hostile_indirect_length),
	TEST_CASE(test_hostile_indirect_not_negotiated),
	TEST_CASE(test_hostile_nested_indirect),
	TEST_CASE(test_hostile_indirect_with_next),
	TEST_CASE(test_hostile_indirect_loops),
	TEST_CASE(test_hostile_indirect_chain_length),
	TEST_CASE(test_hostile_indirect_outside_ram),
	TEST_CASE(test_hostile_buffer_outside_ram),
	TEST_CASE(test_hostile_out_after_in),
	TEST_CASE(test_hostile_too_many_iov),
	TEST_CASE(test_hostile_total_length),
	TEST_CASE(test_broken_is_sticky),
};

TEST_MAIN(tests)
