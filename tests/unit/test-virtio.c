// SPDX-License-Identifier: GPL-2.0-only
/*
 * The virtio-mmio transport (virtio/mmio.c) driven through its register
 * handler, and virtio-blk (virtio/blk.c) behind it, without KVM: a fake
 * guest RAM registered with gmem, a "driver" in the test that writes
 * registers and rings as Linux's virtio_mmio and virtio_blk do, the sync
 * disk engine on a temp file, and virtio_mmio__poll() standing in for the
 * I/O thread.
 *
 * Fake guest-physical map (one 1 MiB region at RAM):
 *   RAM+0x00000 descriptors   RAM+0x01000 avail   RAM+0x02000 used
 *   RAM+0x10000 request header  RAM+0x20000 data (64 KiB)  RAM+0x40000 status
 */
#include <endian.h>
#include <fcntl.h>
#include <poll.h>

#include "lkvm/kvm.h"
#include "lkvm/virtio-transport.h"
#include "test.h"
#include "guest-mem.h"
#include "mmio-driver.h"
#include "count-dev.h"

#define RAM		0x80000000ULL
#define RAM_SIZE	SZ_MiB
#define DESC		(RAM)
#define AVAIL		(RAM + 0x1000)
#define USED		(RAM + 0x2000)
#define HDR		(RAM + 0x10000)
#define DATA		(RAM + 0x20000)
#define STATUS		(RAM + 0x40000)
#define MMIO_BASE	0x02000000ULL
#define QNUM		16
#define DISK_SIZE	(1 * SZ_MiB)

#define F_VERSION_1	BIT(32)
#define F_EVENT_IDX	BIT(29)
#define F_INDIRECT	BIT(28)
#define BLK_F_RO	BIT(5)
#define BLK_F_FLUSH	BIT(9)

#define T_IN		0
#define T_OUT		1
#define T_FLUSH		4
#define T_GET_ID	8
#define T_DISCARD	11
#define T_WRITE_ZEROES	13

struct fx {
	struct kvm kvm;
	u8 *ram;
	struct virtio_mmio *vm;
	char path[300];
	u16 avail_idx;
	u16 used_seen;
};

/* ---- fake VM and driver ----------------------------------------------- */

#define rd(f, off)		mmio_rd((f)->vm, (off))
#define wr(f, off, val)		mmio_wr((f)->vm, (off), (val))

static void make_disk(struct fx *f, const char *name, u64 size)
{
	u8 buf[4096];
	int fd;

	snprintf(f->path, sizeof(f->path), "%s/%s", TEST_TMPDIR, name);
	fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	TEST_ASSERT(fd >= 0, "create %s", f->path);
	for (u64 off = 0; off < size; off += sizeof(buf)) {
		for (unsigned int i = 0; i < sizeof(buf); i++)
			buf[i] = (u8)((off + i) * 7 + 3);
		TEST_ASSERT_EQ(pwrite(fd, buf, sizeof(buf), (off_t)off), (ssize_t)sizeof(buf));
	}
	close(fd);
}

/* A VM with one virtio-blk device on a fresh image (sync engine). */
static void fx_init_opts(struct fx *f, bool ro)
{
	struct lkvm_err err = { "" };
	struct disk_opts o;
	struct virtio_dev *dev;
	char arg[400];

	memset(f, 0, sizeof(*f));
	f->kvm.sys_fd = f->kvm.vm_fd = -1;
	f->ram = calloc(1, RAM_SIZE);
	TEST_ASSERT(f->ram, "calloc");
	TEST_ASSERT_EQ(gmem__add_region(&f->kvm, RAM, RAM_SIZE, f->ram), 0);
	make_disk(f, "disk.img", DISK_SIZE);
	snprintf(arg, sizeof(arg), "%s,engine=sync%s", f->path, ro ? ",ro" : "");
	TEST_ASSERT_EQ(disk__parse_opts(arg, &o, &err), 0);
	TEST_ASSERT(virtio_blk__new(&f->kvm, &o, 0, 1, &dev, &err) == 0, "blk: %s", err.msg);
	TEST_ASSERT(virtio_mmio__new(&f->kvm, dev, MMIO_BASE, 16, &f->vm, &err) == 0, "mmio: %s",
		    err.msg);
}

static void fx_init(struct fx *f)
{
	fx_init_opts(f, false);
}

static void fx_fini(struct fx *f)
{
	virtio_mmio__free(f->vm);
	mmio__free(&f->kvm.mmio);
	free(f->ram);
}

static u64 device_features(struct fx *f)
{
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	u64 lo = rd(f, VIRTIO_MMIO_DEVICE_FEATURES);

	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	return lo | (u64)rd(f, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
}

static bool negotiate(struct fx *f, u64 features)
{
	return mmio_negotiate(f->vm, features);
}

static void setup_queue(struct fx *f, u32 num, u64 desc, u64 avail, u64 used)
{
	mmio_setup_queue(f->vm, 0, num, desc, avail, used);
}

/* A driver that got as far as DRIVER_OK with one queue of QNUM. */
static void driver_up(struct fx *f, u64 features)
{
	TEST_ASSERT(negotiate(f, features), "FEATURES_OK refused for %#llx",
		    (unsigned long long)features);
	setup_queue(f, QNUM, DESC, AVAIL, USED);
	TEST_ASSERT_EQ(rd(f, VIRTIO_MMIO_QUEUE_READY), 1);
	mmio_driver_ok(f->vm);
	f->avail_idx = 0;
	f->used_seen = 0;
}

static void set_desc(struct fx *f, unsigned int i, u64 addr, u32 len, u16 flags, u16 next)
{
	gm_set_desc(&f->kvm, DESC, i, addr, len, flags, next);
}

static void offer(struct fx *f, u16 head)
{
	put16(f, AVAIL + 4 + 2ULL * (f->avail_idx % QNUM), head);
	f->avail_idx++;
	put16(f, AVAIL + 2, f->avail_idx);
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

/* Notifies queue 0 and runs the I/O thread's loop until the used ring moves. */
static void kick_and_wait(struct fx *f)
{
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (int i = 0; i < 500 && get16(f, USED + 2) == f->used_seen; i++)
		virtio_mmio__poll(f->vm, 10);
	TEST_ASSERT(get16(f, USED + 2) != f->used_seen, "no completion");
	f->used_seen++;
	TEST_ASSERT_EQ(get16(f, USED + 2), f->used_seen);
}

/* The used element of the last completion: its length. */
static u32 used_len(struct fx *f)
{
	return get32(f, USED + 4 + 8ULL * ((f->used_seen - 1) % QNUM) + 4);
}

static void put_hdr(struct fx *f, u32 type, u64 sector)
{
	u8 *h = gp(f, HDR, 16);
	u32 t = htole32(type), z = 0;
	u64 s = htole64(sector);

	memcpy(h, &t, 4);
	memcpy(h + 4, &z, 4);
	memcpy(h + 8, &s, 8);
}

/*
 * One request: header, optional data (@data_len bytes at DATA, writable
 * by the device if @data_in), status byte.  Returns the status.
 */
static u8 blk_req(struct fx *f, u32 type, u64 sector, u32 data_len, bool data_in)
{
	unsigned int n = 0;

	put_hdr(f, type, sector);
	*(u8 *)gp(f, STATUS, 1) = 0xee;
	set_desc(f, n, HDR, 16, VRING_DESC_F_NEXT, (u16)(n + 1));
	n++;
	if (data_len) {
		set_desc(f, n, DATA, data_len, VRING_DESC_F_NEXT |
			 (data_in ? VRING_DESC_F_WRITE : 0), (u16)(n + 1));
		n++;
	}
	set_desc(f, n, STATUS, 1, VRING_DESC_F_WRITE, 0);
	offer(f, 0);
	kick_and_wait(f);
	return *(u8 *)gp(f, STATUS, 1);
}

static void file_read(struct fx *f, u64 off, void *buf, size_t len)
{
	int fd = open(f->path, O_RDONLY);

	TEST_ASSERT(fd >= 0, "open %s", f->path);
	TEST_ASSERT_EQ(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* ---- transport ---------------------------------------------------------- */

static void test_identity_and_features(void)
{
	struct fx f;
	u64 feat;
	u32 cap_lo, cap_hi;
	u8 b;

	fx_init(&f);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_VERSION), 2);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_DEVICE_ID), 2);
	TEST_ASSERT_NE(rd(&f, VIRTIO_MMIO_VENDOR_ID), 0);
	feat = device_features(&f);
	TEST_ASSERT(feat & F_VERSION_1, "VERSION_1 offered");
	TEST_ASSERT(feat & F_EVENT_IDX, "EVENT_IDX offered");
	TEST_ASSERT(feat & F_INDIRECT, "INDIRECT_DESC offered");
	TEST_ASSERT(feat & BLK_F_FLUSH, "FLUSH offered");
	TEST_ASSERT(!(feat & BLK_F_RO), "RO not offered for a rw disk");
	wr(&f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	/* Capacity in 512-byte sectors, 64-bit as two 32-bit reads, and bytewise. */
	cap_lo = rd(&f, VIRTIO_MMIO_CONFIG);
	cap_hi = rd(&f, VIRTIO_MMIO_CONFIG + 4);
	TEST_ASSERT_EQ((u64)cap_hi << 32 | cap_lo, DISK_SIZE / 512);
	virtio_mmio__access(f.vm, VIRTIO_MMIO_CONFIG + 1, &b, 1, false);
	TEST_ASSERT_EQ(b, (DISK_SIZE / 512) >> 8);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_CONFIG + 20), 512);	/* blk_size */
	/* Past the config space: zeroes; a 2-byte register read: zeroes. */
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_CONFIG + 0xfc), 0);
	{
		u16 h = 0xffff;

		virtio_mmio__access(f.vm, VIRTIO_MMIO_MAGIC_VALUE, (u8 *)&h, 2, false);
		TEST_ASSERT_EQ(h, 0);
	}
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff);
	fx_fini(&f);
}

static void test_ro_disk_offers_ro(void)
{
	struct fx f;

	fx_init_opts(&f, true);
	TEST_ASSERT(device_features(&f) & BLK_F_RO, "RO offered for ,ro");
	fx_fini(&f);
}

static void test_feature_negotiation(void)
{
	struct fx f;

	fx_init(&f);
	/* No VERSION_1: this is a modern-only device (§4.2.2: Version 2). */
	TEST_ASSERT(!negotiate(&f, BLK_F_FLUSH), "FEATURES_OK without VERSION_1");
	/* A bit we did not offer. */
	TEST_ASSERT(!negotiate(&f, F_VERSION_1 | BIT(40)), "FEATURES_OK with an unoffered bit");
	TEST_ASSERT(!negotiate(&f, F_VERSION_1 | BIT(0)), "FEATURES_OK with SIZE_MAX (not offered)");
	TEST_ASSERT(negotiate(&f, F_VERSION_1 | F_EVENT_IDX | BLK_F_FLUSH), "valid set refused");
	TEST_ASSERT_EQ(virtio_mmio__dev(f.vm)->acked, F_VERSION_1 | F_EVENT_IDX | BLK_F_FLUSH);
	/* Frozen after FEATURES_OK. */
	wr(&f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(&f, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	TEST_ASSERT_EQ(virtio_mmio__dev(f.vm)->acked, F_VERSION_1 | F_EVENT_IDX | BLK_F_FLUSH);
	/* The driver cannot set NEEDS_RESET itself. */
	wr(&f, VIRTIO_MMIO_STATUS, 0x7f);
	TEST_ASSERT(!(rd(&f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET), "driver set NEEDS_RESET");
	fx_fini(&f);
}

#define S_A	VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_D	VIRTIO_CONFIG_S_DRIVER
#define S_FO	VIRTIO_CONFIG_S_FEATURES_OK
#define S_DO	VIRTIO_CONFIG_S_DRIVER_OK

/*
 * The device status state machine (virtio 1.2 §2.1, §3.1.1): the driver
 * only sets bits, and only 0 resets; a write that would clear a set bit
 * changes nothing, so driver_ok runs once per reset cycle; DRIVER_OK
 * needs FEATURES_OK.  Behind a device that counts the calls.
 */
static void test_status_state_machine(void)
{
	struct lkvm_err err = { "" };
	struct count_dev_counts n;
	struct fx f;

	memset(&f, 0, sizeof(f));
	f.kvm.sys_fd = f.kvm.vm_fd = -1;
	f.ram = calloc(1, RAM_SIZE);
	TEST_ASSERT(f.ram, "calloc");
	TEST_ASSERT_EQ(gmem__add_region(&f.kvm, RAM, RAM_SIZE, f.ram), 0);
	TEST_ASSERT(virtio_mmio__new(&f.kvm, count_dev__new(&f.kvm, &n), MMIO_BASE, 16, &f.vm,
				     &err) == 0, "mmio: %s", err.msg);

	/* DRIVER_OK without FEATURES_OK does not stick, and the device hears nothing. */
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	wr(&f, VIRTIO_MMIO_STATUS, S_A);
	wr(&f, VIRTIO_MMIO_STATUS, S_A | S_D);
	wr(&f, VIRTIO_MMIO_STATUS, S_A | S_D | S_DO);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_STATUS), S_A | S_D);
	TEST_ASSERT_EQ(n.driver_ok, 0u);

	TEST_ASSERT(negotiate(&f, F_VERSION_1), "negotiate");
	setup_queue(&f, QNUM, DESC, AVAIL, USED);
	mmio_driver_ok(f.vm);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_STATUS), S_A | S_D | S_FO | S_DO);
	TEST_ASSERT_EQ(n.driver_ok, 1u);

	/* Clearing DRIVER_OK, or FEATURES_OK, or both, without a reset: ignored. */
	wr(&f, VIRTIO_MMIO_STATUS, S_A | S_D | S_FO);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_STATUS), S_A | S_D | S_FO | S_DO);
	mmio_driver_ok(f.vm);
	wr(&f, VIRTIO_MMIO_STATUS, S_A | S_D);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_STATUS), S_A | S_D | S_FO | S_DO);
	/* ...so the features stay frozen, */
	wr(&f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(&f, VIRTIO_MMIO_DRIVER_FEATURES, 0);
	TEST_ASSERT_EQ(virtio_mmio__dev(f.vm)->acked, F_VERSION_1);
	mmio_driver_ok(f.vm);
	wr(&f, VIRTIO_MMIO_STATUS, S_A | S_D | S_DO);
	mmio_driver_ok(f.vm);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_STATUS), S_A | S_D | S_FO | S_DO);
	/* ...and driver_ok ran once. */
	TEST_ASSERT_EQ(n.driver_ok, 1u);
	/* Setting another bit is fine; the queue still works. */
	wr(&f, VIRTIO_MMIO_STATUS, S_A | S_D | S_FO | S_DO | VIRTIO_CONFIG_S_FAILED);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_STATUS), S_A | S_D | S_FO | S_DO | VIRTIO_CONFIG_S_FAILED);
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio_mmio__poll(f.vm, 0);
	TEST_ASSERT(n.notifies >= 1, "the queue is live");

	/* A reset starts a new cycle: driver_ok once more. */
	TEST_ASSERT(negotiate(&f, F_VERSION_1), "negotiate again");
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_STATUS), S_A | S_D | S_FO);
	setup_queue(&f, QNUM, DESC, AVAIL, USED);
	mmio_driver_ok(f.vm);
	TEST_ASSERT_EQ(n.driver_ok, 2u);
	TEST_ASSERT(n.resets >= 2, "resets seen: %u", n.resets);
	fx_fini(&f);
}

/* At most this many log lines in @ms of a looping guest: lkvm_log_ratelimited()'s 5 a second, plus its "suppressed" line. */
static unsigned int log_bound(u64 ms)
{
	return 6 * (unsigned int)(ms / 1000 + 2);
}

/*
 * A guest that loops on reset, a queue with rings outside RAM (NEEDS_RESET)
 * and status writes the device ignores cannot flood the log: every
 * message it triggers is rate-limited per device, across resets.
 */
static void test_guest_log_is_rate_limited(void)
{
	struct lkvm_err err = { "" };
	struct count_dev_counts n;
	struct test_stderr cap;
	unsigned int lines;
	struct fx f;
	u64 t0, ms;

	memset(&f, 0, sizeof(f));
	f.kvm.sys_fd = f.kvm.vm_fd = -1;
	f.ram = calloc(1, RAM_SIZE);
	TEST_ASSERT(f.ram, "calloc");
	TEST_ASSERT_EQ(gmem__add_region(&f.kvm, RAM, RAM_SIZE, f.ram), 0);
	TEST_ASSERT(virtio_mmio__new(&f.kvm, count_dev__new(&f.kvm, &n), MMIO_BASE, 16, &f.vm,
				     &err) == 0, "mmio: %s", err.msg);
	t0 = now_ns();
	test_stderr_begin(&cap);
	for (int i = 0; i < 10000; i++) {
		if (!negotiate(&f, F_VERSION_1))
			break;
		setup_queue(&f, QNUM, 0x1000, AVAIL, USED);	/* descriptors not in RAM */
		if (!(rd(&f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET))
			break;
		wr(&f, VIRTIO_MMIO_STATUS, S_A);		/* clears bits: ignored */
		wr(&f, VIRTIO_MMIO_STATUS, 0);
		wr(&f, VIRTIO_MMIO_STATUS, S_A | S_D | S_DO);	/* without FEATURES_OK */
	}
	lines = test_stderr_end(&cap, 3);
	ms = (now_ns() - t0) / 1000000;
	TEST_ASSERT(n.resets >= 20000, "the loop stopped early after %u resets", n.resets);
	TEST_ASSERT(lines >= 1, "the first failure is logged");
	TEST_ASSERT(lines <= log_bound(ms), "%u log lines in %llu ms of a looping guest", lines,
		    (unsigned long long)ms);
	fx_fini(&f);
}

static void test_queue_setup_and_reset(void)
{
	struct fx f;

	fx_init(&f);
	TEST_ASSERT(negotiate(&f, F_VERSION_1), "negotiate");
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 0);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_NUM_MAX), 512);	/* virtio-blk's default */
	/* Bad sizes are refused: not a power of 2, zero, above the maximum. */
	wr(&f, VIRTIO_MMIO_QUEUE_NUM, 64);
	wr(&f, VIRTIO_MMIO_QUEUE_NUM, 3);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_NUM), 64);
	wr(&f, VIRTIO_MMIO_QUEUE_NUM, 0);
	wr(&f, VIRTIO_MMIO_QUEUE_NUM, 1024);
	wr(&f, VIRTIO_MMIO_QUEUE_NUM, 0x80000000);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_NUM), 64);
	setup_queue(&f, QNUM, DESC, AVAIL, USED);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_READY), 1);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_NUM), QNUM);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_DESC_LOW), (u32)DESC);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_AVAIL_LOW), (u32)AVAIL);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_USED_LOW), (u32)USED);
	/* A ready queue's fields are frozen (§4.2.3.2). */
	wr(&f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1000);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_DESC_LOW), (u32)DESC);
	/* A queue index the device does not have. */
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 1);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	wr(&f, VIRTIO_MMIO_QUEUE_READY, 1);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_READY), 0);

	/* Reset (§2.4, §4.2.3.1): everything back to the initial state. */
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_STATUS), 0);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 0);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_READY), 0);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_NUM), 0);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_DESC_LOW), 0);
	TEST_ASSERT_EQ(virtio_mmio__dev(f.vm)->acked, 0);
	TEST_ASSERT_EQ(virtio_mmio__dev(f.vm)->vq[0].num, 0);

	/* QueueReady before FEATURES_OK is ignored. */
	wr(&f, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	setup_queue(&f, QNUM, DESC, AVAIL, USED);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_READY), 0);
	fx_fini(&f);
}

static void test_queue_outside_ram_needs_reset(void)
{
	struct fx f;

	fx_init(&f);
	TEST_ASSERT(negotiate(&f, F_VERSION_1), "negotiate");
	setup_queue(&f, QNUM, 0x1000, AVAIL, USED);	/* descriptors not in RAM */
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_READY), 0);
	TEST_ASSERT(rd(&f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, "NEEDS_RESET");
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	TEST_ASSERT(irq_pending(&f), "config interrupt");
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_STATUS), 0);
	fx_fini(&f);
}

static void test_bad_ring_needs_reset(void)
{
	struct fx f;

	fx_init(&f);
	driver_up(&f, F_VERSION_1);
	/* An available index that moved by more than the queue size. */
	put16(&f, AVAIL + 2, QNUM + 5);
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio_mmio__poll(f.vm, 1000);
	TEST_ASSERT(rd(&f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, "NEEDS_RESET");
	TEST_ASSERT(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG, "config irq");
	TEST_ASSERT(irq_pending(&f), "interrupt signalled");
	wr(&f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* Further kicks do nothing. */
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio_mmio__poll(f.vm, 0);
	TEST_ASSERT_EQ(get16(&f, USED + 2), 0);

	/* After a reset the device works again. */
	memset(f.ram, 0, 0x3000);
	driver_up(&f, F_VERSION_1);
	TEST_ASSERT(!(rd(&f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET), "cleared");
	TEST_ASSERT_EQ(blk_req(&f, T_FLUSH, 0, 0, false), 0);

	/* A descriptor loop is a bad ring too. */
	set_desc(&f, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
	set_desc(&f, 1, DATA, 16, VRING_DESC_F_NEXT, 0);
	offer(&f, 0);
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio_mmio__poll(f.vm, 1000);
	TEST_ASSERT(rd(&f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, "loop: NEEDS_RESET");
	fx_fini(&f);
}

/* ---- virtio-blk ------------------------------------------------------- */

static void test_blk_read_write_flush(void)
{
	u8 expect[4096], got[4096];
	struct fx f;
	u8 *data;

	fx_init(&f);
	driver_up(&f, F_VERSION_1 | BLK_F_FLUSH);
	data = gp(&f, DATA, 4096);

	/* IN: the image's bytes, used length = data + status. */
	TEST_ASSERT_EQ(blk_req(&f, T_IN, 8, 4096, true), 0);
	TEST_ASSERT_EQ(used_len(&f), 4097);
	file_read(&f, 8 * 512, expect, sizeof(expect));
	TEST_ASSERT(!memcmp(data, expect, 4096), "IN data");
	TEST_ASSERT(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING, "vring irq");
	TEST_ASSERT(irq_pending(&f), "interrupt signalled");
	wr(&f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);

	/* OUT, then the file has it; used length = status only. */
	for (unsigned int i = 0; i < 4096; i++)
		data[i] = (u8)(i ^ 0x5a);
	memcpy(expect, data, 4096);
	TEST_ASSERT_EQ(blk_req(&f, T_OUT, 100, 4096, false), 0);
	TEST_ASSERT_EQ(used_len(&f), 1);
	file_read(&f, 100 * 512, got, sizeof(got));
	TEST_ASSERT(!memcmp(got, expect, 4096), "OUT data reached the file");

	/* The last sector is reachable. */
	TEST_ASSERT_EQ(blk_req(&f, T_IN, DISK_SIZE / 512 - 1, 512, true), 0);
	TEST_ASSERT_EQ(blk_req(&f, T_FLUSH, 0, 0, false), 0);

	TEST_ASSERT_EQ(blk_req(&f, T_GET_ID, 0, 20, true), 0);
	TEST_ASSERT(!memcmp(data, "lkvm-0\0", 7), "GET_ID serial '%.20s'", (char *)data);
	fx_fini(&f);
}

static void test_blk_discard_write_zeroes(void)
{
	u8 got[4096], zero[4096] = { 0 };
	struct fx f;
	u8 *seg;

	fx_init(&f);
	driver_up(&f, F_VERSION_1);
	seg = gp(&f, DATA, 16);
	/* WRITE_ZEROES 8 sectors at 16. */
	memset(seg, 0, 16);
	seg[0] = 16;
	seg[8] = 8;
	TEST_ASSERT_EQ(blk_req(&f, T_WRITE_ZEROES, 0, 16, false), 0);
	file_read(&f, 16 * 512, got, sizeof(got));
	TEST_ASSERT(!memcmp(got, zero, 4096), "zeroes");
	/* DISCARD may do anything to the data but succeeds (or says unsupported). */
	TEST_ASSERT(blk_req(&f, T_DISCARD, 0, 16, false) != 1, "discard failed");
	/* DISCARD with the unmap flag is UNSUPP (§5.2.6.2). */
	seg[12] = 1;
	TEST_ASSERT_EQ(blk_req(&f, T_DISCARD, 0, 16, false), 2);
	/* Reserved flag bits: UNSUPP. */
	seg[12] = 2;
	TEST_ASSERT_EQ(blk_req(&f, T_WRITE_ZEROES, 0, 16, false), 2);
	/* A range past the end: IOERR. */
	seg[12] = 0;
	seg[0] = 0;
	seg[1] = (DISK_SIZE / 512) >> 8;	/* sector = capacity */
	TEST_ASSERT_EQ(blk_req(&f, T_WRITE_ZEROES, 0, 16, false), 1);
	/* Two segments (we offer one): UNSUPP; a partial one: IOERR. */
	TEST_ASSERT_EQ(blk_req(&f, T_DISCARD, 0, 32, false), 2);
	TEST_ASSERT_EQ(blk_req(&f, T_DISCARD, 0, 8, false), 1);
	fx_fini(&f);
}

static void test_blk_bad_requests(void)
{
	struct fx f;

	fx_init(&f);
	driver_up(&f, F_VERSION_1);
	/* Past the end, straddling the end, a length that is not whole sectors: IOERR. */
	TEST_ASSERT_EQ(blk_req(&f, T_IN, DISK_SIZE / 512, 512, true), 1);
	TEST_ASSERT_EQ(blk_req(&f, T_OUT, DISK_SIZE / 512 - 1, 1024, false), 1);
	TEST_ASSERT_EQ(blk_req(&f, T_IN, ~0ULL, 512, true), 1);
	TEST_ASSERT_EQ(blk_req(&f, T_IN, 0, 100, true), 1);
	/* Unknown type: UNSUPP. */
	TEST_ASSERT_EQ(blk_req(&f, 77, 0, 0, false), 2);
	/* A short header: IOERR. */
	put_hdr(&f, T_IN, 0);
	set_desc(&f, 0, HDR, 8, VRING_DESC_F_NEXT, 1);
	set_desc(&f, 1, STATUS, 1, VRING_DESC_F_WRITE, 0);
	offer(&f, 0);
	kick_and_wait(&f);
	TEST_ASSERT_EQ(*(u8 *)gp(&f, STATUS, 1), 1);
	/* No device-writable status at all: completed with nothing written. */
	set_desc(&f, 0, HDR, 16, 0, 0);
	offer(&f, 0);
	kick_and_wait(&f);
	TEST_ASSERT_EQ(used_len(&f), 0);
	/* The device still works. */
	TEST_ASSERT_EQ(blk_req(&f, T_IN, 0, 512, true), 0);
	TEST_ASSERT(!(rd(&f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET), "no NEEDS_RESET");
	fx_fini(&f);
}

static void test_blk_read_only(void)
{
	u8 before[512], after[512];
	struct fx f;

	fx_init_opts(&f, true);
	driver_up(&f, F_VERSION_1 | BLK_F_RO);
	file_read(&f, 0, before, sizeof(before));
	memset(gp(&f, DATA, 512), 0xab, 512);
	TEST_ASSERT_EQ(blk_req(&f, T_OUT, 0, 512, false), 1);
	memset(gp(&f, DATA, 16), 0, 16);
	*(u8 *)gp(&f, DATA + 8, 1) = 1;
	TEST_ASSERT_EQ(blk_req(&f, T_WRITE_ZEROES, 0, 16, false), 1);
	TEST_ASSERT_EQ(blk_req(&f, T_DISCARD, 0, 16, false), 1);
	file_read(&f, 0, after, sizeof(after));
	TEST_ASSERT(!memcmp(before, after, 512), "read-only disk changed");
	TEST_ASSERT_EQ(blk_req(&f, T_IN, 0, 512, true), 0);
	TEST_ASSERT_EQ(blk_req(&f, T_FLUSH, 0, 0, false), 0);
	fx_fini(&f);
}

/* Without FLUSH negotiated, writes go through a flush before they complete. */
static void test_blk_write_through(void)
{
	u8 got[1024];
	struct fx f;

	fx_init(&f);
	driver_up(&f, F_VERSION_1);
	memset(gp(&f, DATA, 1024), 0x77, 1024);
	TEST_ASSERT_EQ(blk_req(&f, T_OUT, 2, 1024, false), 0);
	TEST_ASSERT_EQ(used_len(&f), 1);
	file_read(&f, 1024, got, sizeof(got));
	TEST_ASSERT(!memcmp(got, gp(&f, DATA, 1024), 1024), "written");
	/* The next request completes normally: the flush was not left in flight. */
	TEST_ASSERT_EQ(blk_req(&f, T_IN, 0, 512, true), 0);
	fx_fini(&f);
}

/* With EVENT_IDX the device asks for the next kick by writing avail_event. */
static void test_blk_event_idx(void)
{
	struct fx f;

	fx_init(&f);
	driver_up(&f, F_VERSION_1 | F_EVENT_IDX);
	put16(&f, AVAIL + 4 + 2 * QNUM, 0);	/* used_event: interrupt after the first */
	TEST_ASSERT_EQ(blk_req(&f, T_FLUSH, 0, 0, false), 0);
	TEST_ASSERT_EQ(get16(&f, USED + 4 + 8 * QNUM), 1);	/* avail_event */
	TEST_ASSERT(irq_pending(&f), "interrupt for used_event 0");
	/* used_event far ahead: no interrupt for the next one. */
	put16(&f, AVAIL + 4 + 2 * QNUM, 100);
	TEST_ASSERT_EQ(blk_req(&f, T_FLUSH, 0, 0, false), 0);
	TEST_ASSERT(!irq_pending(&f), "interrupt despite used_event");
	fx_fini(&f);
}

static const struct test_case tests[] = {
	TEST_CASE(test_identity_and_features),
	TEST_CASE(test_ro_disk_offers_ro),
	TEST_CASE(test_feature_negotiation),
	TEST_CASE(test_status_state_machine),
	TEST_CASE(test_guest_log_is_rate_limited),
	TEST_CASE(test_queue_setup_and_reset),
	TEST_CASE(test_queue_outside_ram_needs_reset),
	TEST_CASE(test_bad_ring_needs_reset),
	TEST_CASE(test_blk_read_write_flush),
	TEST_CASE(test_blk_discard_write_zeroes),
	TEST_CASE(test_blk_bad_requests),
	TEST_CASE(test_blk_read_only),
	TEST_CASE(test_blk_write_through),
	TEST_CASE(test_blk_event_idx),
};

TEST_MAIN(tests)
