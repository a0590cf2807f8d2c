// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-balloon (virtio/balloon.c) behind the virtio-mmio transport,
 * without KVM: a fake guest RAM of anonymous memory, a "driver" here, and
 * virtio_mmio__poll() for the I/O thread.  What the device gives back to
 * the host is seen with mincore(2): the pages leave lkvm's resident set.
 * Page-frame lists out of range and of odd length are ignored and counted.
 *
 * Fake guest-physical map (one 4 MiB region at RAM), per queue q:
 *   RAM + q*0x4000: descriptors, +0x1000 avail, +0x2000 used
 *   RAM + 0x10000: frame lists and stats buffers
 *   RAM + 0x100000..: pages to inflate and report
 */
#include <endian.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>

#include <linux/virtio_balloon.h>

#include "lkvm/kvm.h"
#include "lkvm/virtio-transport.h"
#include "test.h"
#include "guest-mem.h"
#include "mmio-driver.h"

#define RAM		0x80000000ULL
#define RAM_SIZE	(4 * SZ_MiB)
#define QBASE(q)	(RAM + 0x4000ULL * (q))
#define DESC(q)		QBASE(q)
#define AVAIL(q)	(QBASE(q) + 0x1000)
#define USED(q)		(QBASE(q) + 0x2000)
#define LIST		(RAM + 0x10000)
#define PAGES		(RAM + 0x100000)
#define QNUM		16
#define PG		4096ULL

#define F_VERSION_1	BIT(32)
#define F_STATS		BIT(VIRTIO_BALLOON_F_STATS_VQ)
#define F_REPORTING	BIT(VIRTIO_BALLOON_F_REPORTING)

#define INFLATEQ	0
#define DEFLATEQ	1

struct fx {
	struct kvm kvm;
	u8 *ram;
	struct virtio_mmio *vm;
	struct virtio_dev *dev;
	u16 avail_idx[4];
	u16 used_seen[4];
};

static void fx_init_report(struct fx *f, u64 features, unsigned int nq, bool report)
{
	struct lkvm_err err = { "" };

	memset(f, 0, sizeof(*f));
	f->kvm.sys_fd = f->kvm.vm_fd = -1;
	f->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(f->ram != MAP_FAILED, "mmap");
	/* 4 KiB pages, so that one guest page can leave on its own. */
	madvise(f->ram, RAM_SIZE, MADV_NOHUGEPAGE);
	TEST_ASSERT_EQ(gmem__add_region(&f->kvm, RAM, RAM_SIZE, f->ram), 0);
	TEST_ASSERT(virtio_balloon__new(&f->kvm, report, &f->dev, &err) == 0, "balloon: %s", err.msg);
	TEST_ASSERT(f->kvm.balloon == f->dev, "kvm->balloon");
	TEST_ASSERT(virtio_mmio__new(&f->kvm, f->dev, 0x02000000ULL, 16, &f->vm, &err) == 0, "%s",
		    err.msg);
	if (!nq)
		return;
	TEST_ASSERT(mmio_negotiate(f->vm, features), "FEATURES_OK");
	for (unsigned int q = 0; q < nq; q++)
		mmio_setup_queue(f->vm, q, QNUM, DESC(q), AVAIL(q), USED(q));
	mmio_driver_ok(f->vm);
	virtio_mmio__poll(f->vm, 0);
}

static void fx_init(struct fx *f, u64 features, unsigned int nq)
{
	fx_init_report(f, features, nq, true);
}

static void fx_fini(struct fx *f)
{
	virtio_mmio__free(f->vm);
	TEST_ASSERT(!f->kvm.balloon, "kvm->balloon cleared when the device goes");
	mmio__free(&f->kvm.mmio);
	munmap(f->ram, RAM_SIZE);
}

static u16 used_idx(struct fx *f, unsigned int q)
{
	return gm_get16(&f->kvm, USED(q) + 2);
}

static void offer(struct fx *f, unsigned int q, u16 head)
{
	gm_put16(&f->kvm, AVAIL(q) + 4 + 2ULL * (f->avail_idx[q] % QNUM), head);
	f->avail_idx[q]++;
	gm_put16(&f->kvm, AVAIL(q) + 2, f->avail_idx[q]);
}

static void kick_and_wait(struct fx *f, unsigned int q)
{
	mmio_wr(f->vm, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	for (int i = 0; i < 500 && used_idx(f, q) == f->used_seen[q]; i++)
		virtio_mmio__poll(f->vm, 10);
	TEST_ASSERT(used_idx(f, q) != f->used_seen[q], "no completion on queue %u", q);
	f->used_seen[q] = used_idx(f, q);
}

/* A frame list of @n le32 frame numbers (@bytes long), sent on queue @q. */
static void send_frames(struct fx *f, unsigned int q, const u32 *pfn, unsigned int n, u32 bytes)
{
	u8 *l = gm_ptr(&f->kvm, LIST, 4 * n + 4);

	for (unsigned int i = 0; i < n; i++) {
		u32 v = htole32(pfn[i]);

		memcpy(l + 4 * i, &v, 4);
	}
	gm_set_desc(&f->kvm, DESC(q), 0, LIST, bytes, 0, 0);
	offer(f, q, 0);
	kick_and_wait(f, q);
}

static u32 pfn_of(u64 gpa)
{
	return (u32)(gpa >> VIRTIO_BALLOON_PFN_SHIFT);
}

/* Whether the host page behind guest-physical @gpa is resident in lkvm. */
static bool resident(struct fx *f, u64 gpa)
{
	unsigned char v = 0;

	TEST_ASSERT_EQ(mincore(gm_ptr(&f->kvm, gpa, PG), PG, &v), 0);
	return v & 1;
}

static void touch(struct fx *f, u64 gpa, u64 len)
{
	memset(gm_ptr(&f->kvm, gpa, len), 0xa5, len);
}

static u32 cfg32(struct fx *f, u32 off)
{
	return mmio_rd(f->vm, VIRTIO_MMIO_CONFIG + off);
}

static bool irq_pending(struct fx *f)
{
	struct pollfd p = { .fd = virtio_mmio__irq_fd(f->vm), .events = POLLIN };
	u64 n;

	if (poll(&p, 1, 0) != 1)
		return false;
	TEST_ASSERT_EQ(read(p.fd, &n, sizeof(n)), (ssize_t)sizeof(n));
	return true;
}

static void test_identity(void)
{
	struct fx f;

	fx_init(&f, 0, 0);
	TEST_ASSERT_EQ(mmio_rd(f.vm, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BALLOON);
	mmio_wr(f.vm, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	TEST_ASSERT_EQ(mmio_rd(f.vm, VIRTIO_MMIO_DEVICE_FEATURES) & 0xff,
		       F_STATS | F_REPORTING);	/* not DEFLATE_ON_OOM: MemTotal shows the balloon */
	TEST_ASSERT_EQ(cfg32(&f, 0), 0);	/* num_pages: empty */
	TEST_ASSERT_EQ(cfg32(&f, 4), 0);	/* actual */
	/* The driver writes actual; num_pages is the device's. */
	mmio_wr(f.vm, VIRTIO_MMIO_CONFIG + 4, 77);
	mmio_wr(f.vm, VIRTIO_MMIO_CONFIG, 99);
	TEST_ASSERT_EQ(cfg32(&f, 4), 77);
	TEST_ASSERT_EQ(cfg32(&f, 0), 0);
	fx_fini(&f);
	/* --balloon=no-report: the same device without free page reporting. */
	fx_init_report(&f, 0, 0, false);
	mmio_wr(f.vm, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	TEST_ASSERT_EQ(mmio_rd(f.vm, VIRTIO_MMIO_DEVICE_FEATURES) & 0xff, F_STATS);
	fx_fini(&f);
}

/* Inflated frames leave lkvm's resident set and read back as zeros; adjacent ones go as one run. */
static void test_inflate_discards(void)
{
	u32 pfn[] = { pfn_of(PAGES), pfn_of(PAGES + PG), pfn_of(PAGES + 2 * PG),
		      pfn_of(PAGES + 10 * PG) };
	struct virtio_balloon_info info;
	struct fx f;

	fx_init(&f, F_VERSION_1, 2);
	touch(&f, PAGES, 16 * PG);
	for (unsigned int i = 0; i < 16; i++)
		TEST_ASSERT(resident(&f, PAGES + i * PG), "page %u touched", i);
	send_frames(&f, INFLATEQ, pfn, 4, sizeof(pfn));
	TEST_ASSERT(!resident(&f, PAGES) && !resident(&f, PAGES + PG) &&
		    !resident(&f, PAGES + 2 * PG) && !resident(&f, PAGES + 10 * PG),
		    "inflated pages given back");
	TEST_ASSERT(resident(&f, PAGES + 3 * PG) && resident(&f, PAGES + 9 * PG) &&
		    resident(&f, PAGES + 11 * PG), "the others kept");
	TEST_ASSERT_EQ(gm_ptr(&f.kvm, PAGES + PG, 1)[0], 0);
	TEST_ASSERT_EQ(gm_ptr(&f.kvm, PAGES + 3 * PG, 1)[0], 0xa5);
	/* Deflate: counted, nothing discarded. */
	send_frames(&f, DEFLATEQ, pfn + 3, 1, 4);
	TEST_ASSERT_EQ(virtio_balloon__info(&f.kvm, 0, &info), 0);
	TEST_ASSERT_EQ(info.counts.inflated, 4);
	TEST_ASSERT_EQ(info.counts.deflated, 1);
	TEST_ASSERT_EQ(info.counts.bad_pfns, 0);
	fx_fini(&f);
}

/* Frames outside guest RAM, and a list of odd length: ignored, counted, never fatal. */
static void test_frames_out_of_range(void)
{
	u32 pfn[] = { 0, pfn_of(RAM - PG), pfn_of(RAM + RAM_SIZE), 0xffffffffU,
		      pfn_of(PAGES + 5 * PG) };
	struct virtio_balloon_info info;
	struct fx f;

	fx_init(&f, F_VERSION_1, 2);
	touch(&f, PAGES, 8 * PG);
	send_frames(&f, INFLATEQ, pfn, 5, sizeof(pfn));
	TEST_ASSERT(!resident(&f, PAGES + 5 * PG), "the one good frame still handled");
	TEST_ASSERT(resident(&f, PAGES + 4 * PG), "nothing else");
	TEST_ASSERT_EQ(virtio_balloon__info(&f.kvm, 0, &info), 0);
	TEST_ASSERT_EQ(info.counts.inflated, 1);
	TEST_ASSERT_EQ(info.counts.bad_pfns, 4);
	/* 6 bytes: one frame and half of another. */
	pfn[0] = pfn_of(PAGES + 6 * PG);
	send_frames(&f, INFLATEQ, pfn, 2, 6);
	TEST_ASSERT(!resident(&f, PAGES + 6 * PG), "the whole frame handled");
	TEST_ASSERT_EQ(virtio_balloon__info(&f.kvm, 0, &info), 0);
	TEST_ASSERT_EQ(info.counts.inflated, 2);
	TEST_ASSERT_EQ(info.counts.bad_pfns, 5);
	/* An empty list, and a writable one (the frames are device-readable). */
	send_frames(&f, DEFLATEQ, pfn, 0, 0);
	gm_set_desc(&f.kvm, DESC(DEFLATEQ), 0, LIST, 8, VRING_DESC_F_WRITE, 0);
	offer(&f, DEFLATEQ, 0);
	kick_and_wait(&f, DEFLATEQ);
	TEST_ASSERT_EQ(virtio_balloon__info(&f.kvm, 0, &info), 0);
	TEST_ASSERT_EQ(info.counts.deflated, 0);
	TEST_ASSERT(!(mmio_rd(f.vm, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET),
		    "the device goes on");
	fx_fini(&f);
}

/* The host's target: in config space, with a config-change interrupt, clamped to guest RAM. */
static void test_adjust_target(void)
{
	struct kvm none = { .sys_fd = -1, .vm_fd = -1 };
	struct virtio_balloon_info info;
	struct fx f;
	u32 t = 1;

	TEST_ASSERT_EQ(virtio_balloon__adjust(&none, 1, &t), -ENODEV);
	TEST_ASSERT_EQ(virtio_balloon__info(&none, 0, &info), -ENODEV);
	fx_init(&f, F_VERSION_1, 2);
	irq_pending(&f);
	TEST_ASSERT_EQ(virtio_balloon__adjust(&f.kvm, 64 * VIRTIO_BALLOON_PAGES_PER_MIB / 64, &t),
		       0);
	TEST_ASSERT_EQ(t, 256);
	virtio_mmio__poll(f.vm, 100);	/* the I/O thread hears of it */
	TEST_ASSERT_EQ(cfg32(&f, 0), 256);
	TEST_ASSERT(irq_pending(&f), "config-change interrupt");
	TEST_ASSERT(mmio_rd(f.vm, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG,
		    "InterruptStatus: config");
	TEST_ASSERT_EQ(virtio_balloon__adjust(&f.kvm, -100, &t), 0);
	TEST_ASSERT_EQ(t, 156);
	TEST_ASSERT_EQ(virtio_balloon__adjust(&f.kvm, -1000, &t), 0);
	TEST_ASSERT_EQ(t, 0);
	TEST_ASSERT_EQ(virtio_balloon__adjust(&f.kvm, 1LL << 40, &t), 0);
	TEST_ASSERT_EQ(t, RAM_SIZE / PG);	/* at most all of guest RAM */
	virtio_mmio__poll(f.vm, 100);
	TEST_ASSERT_EQ(cfg32(&f, 0), RAM_SIZE / PG);
	TEST_ASSERT_EQ(virtio_balloon__info(&f.kvm, 0, &info), 0);
	TEST_ASSERT_EQ(info.target_pages, RAM_SIZE / PG);
	fx_fini(&f);
}

/* Stats: (tag, value) pairs; unknown tags skipped. */
static void put_stats(struct fx *f, u64 gpa, u64 memfree, u64 memtot, unsigned int *len)
{
	u8 *p = gm_ptr(&f->kvm, gpa, 30);
	const struct {
		u16 tag;
		u64 val;
	} s[] = { { VIRTIO_BALLOON_S_MEMFREE, memfree }, { 999, 1 },
		  { VIRTIO_BALLOON_S_MEMTOT, memtot } };

	for (unsigned int i = 0; i < ARRAY_SIZE(s); i++) {
		u16 t = htole16(s[i].tag);
		u64 v = htole64(s[i].val);

		memcpy(p + 10 * i, &t, 2);
		memcpy(p + 10 * i + 2, &v, 8);
	}
	*len = 30;
}

struct info_call {
	struct kvm *kvm;
	struct virtio_balloon_info info;
	int r;
};

static void *info_thread(void *arg)
{
	struct info_call *c = arg;

	c->r = virtio_balloon__info(c->kvm, 5000, &c->info);
	return NULL;
}

/*
 * §5.5.6.3: the driver's stats buffer is kept; asking for fresh figures
 * gives it back; the refilled buffer answers the waiting caller.
 */
static void test_stats(void)
{
	struct virtio_balloon_info info;
	struct info_call call;
	unsigned int len;
	pthread_t th;
	struct fx f;

	fx_init(&f, F_VERSION_1 | F_STATS, 3);
	put_stats(&f, LIST, 1000, 4000, &len);
	gm_set_desc(&f.kvm, DESC(2), 0, LIST, len, 0, 0);
	offer(&f, 2, 0);
	mmio_wr(f.vm, VIRTIO_MMIO_QUEUE_NOTIFY, 2);
	virtio_mmio__poll(f.vm, 100);
	TEST_ASSERT_EQ(used_idx(&f, 2), 0);	/* kept, not given back */
	TEST_ASSERT_EQ(virtio_balloon__info(&f.kvm, 0, &info), 0);
	TEST_ASSERT_EQ(info.stats_valid, BIT(VIRTIO_BALLOON_S_MEMFREE) | BIT(VIRTIO_BALLOON_S_MEMTOT));
	TEST_ASSERT_EQ(info.stats[VIRTIO_BALLOON_S_MEMFREE], 1000);
	TEST_ASSERT_EQ(info.stats[VIRTIO_BALLOON_S_MEMTOT], 4000);
	TEST_ASSERT(!info.stats_fresh, "no wait, nothing new");

	/* Another thread asks for fresh figures; this one plays the I/O thread and the driver. */
	call = (struct info_call){ .kvm = &f.kvm };
	TEST_ASSERT_EQ(pthread_create(&th, NULL, info_thread, &call), 0);
	for (int i = 0; i < 500 && used_idx(&f, 2) == 0; i++)
		virtio_mmio__poll(f.vm, 10);
	TEST_ASSERT_EQ(used_idx(&f, 2), 1);	/* given back: a request for an update */
	put_stats(&f, LIST, 1500, 4000, &len);
	offer(&f, 2, 0);
	mmio_wr(f.vm, VIRTIO_MMIO_QUEUE_NOTIFY, 2);
	virtio_mmio__poll(f.vm, 100);
	TEST_ASSERT_EQ(pthread_join(th, NULL), 0);
	TEST_ASSERT_EQ(call.r, 0);
	TEST_ASSERT(call.info.stats_fresh, "fresh figures");
	TEST_ASSERT_EQ(call.info.stats[VIRTIO_BALLOON_S_MEMFREE], 1500);
	fx_fini(&f);
}

/* Without a stats queue, asking for stats doesn't wait. */
static void test_stats_absent(void)
{
	struct virtio_balloon_info info;
	struct fx f;
	u64 t0;

	fx_init(&f, F_VERSION_1, 2);
	t0 = now_ns();
	TEST_ASSERT_EQ(virtio_balloon__info(&f.kvm, 5000, &info), 0);
	TEST_ASSERT(now_ns() - t0 < 1000000000ULL, "no wait for a driver that sends no stats");
	TEST_ASSERT(!info.stats_fresh && !info.stats_valid, "no stats");
	fx_fini(&f);
}

/*
 * §5.5.6.7: free page reporting.  The reported memory is discarded (whole
 * host pages only) and the buffer given back; with STATS_VQ not
 * negotiated, the reporting queue is number 2.
 */
static void test_free_page_reporting(void)
{
	struct virtio_balloon_info info;
	struct fx f;
	unsigned int rq = 2;

	fx_init(&f, F_VERSION_1 | F_REPORTING, 3);
	touch(&f, PAGES, 16 * PG);
	gm_set_desc(&f.kvm, DESC(rq), 0, PAGES, 4 * PG, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	/* Half a page on each side: only the whole page inside goes. */
	gm_set_desc(&f.kvm, DESC(rq), 1, PAGES + 8 * PG + PG / 2, 2 * PG, VRING_DESC_F_WRITE, 0);
	offer(&f, rq, 0);
	kick_and_wait(&f, rq);
	for (unsigned int i = 0; i < 4; i++)
		TEST_ASSERT(!resident(&f, PAGES + i * PG), "reported page %u given back", i);
	TEST_ASSERT(resident(&f, PAGES + 4 * PG), "page 4 kept");
	TEST_ASSERT(resident(&f, PAGES + 8 * PG), "page 8 (half reported) kept");
	TEST_ASSERT(!resident(&f, PAGES + 9 * PG), "page 9 (wholly reported) given back");
	TEST_ASSERT(resident(&f, PAGES + 10 * PG), "page 10 (half reported) kept");
	TEST_ASSERT_EQ(virtio_balloon__info(&f.kvm, 0, &info), 0);
	TEST_ASSERT_EQ(info.counts.reports, 1);
	TEST_ASSERT_EQ(info.counts.reported_bytes, 5 * PG);
	/* Outside guest RAM: a ring error (NEEDS_RESET), nothing discarded. */
	touch(&f, PAGES, PG);
	gm_set_desc(&f.kvm, DESC(rq), 0, RAM + RAM_SIZE - PG, 2 * PG, VRING_DESC_F_WRITE, 0);
	offer(&f, rq, 0);
	mmio_wr(f.vm, VIRTIO_MMIO_QUEUE_NOTIFY, rq);
	virtio_mmio__poll(f.vm, 100);
	TEST_ASSERT(mmio_rd(f.vm, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, "NEEDS_RESET");
	TEST_ASSERT(resident(&f, PAGES), "nothing discarded");
	fx_fini(&f);
}

static const struct test_case tests[] = {
	TEST_CASE(test_identity),
	TEST_CASE(test_inflate_discards),
	TEST_CASE(test_frames_out_of_range),
	TEST_CASE(test_adjust_target),
	TEST_CASE(test_stats),
	TEST_CASE(test_stats_absent),
	TEST_CASE(test_free_page_reporting),
};

TEST_MAIN(tests)
