// SPDX-License-Identifier: GPL-2.0-only
/*
 * Devices against their real threads.  The other device tests stand in
 * for the I/O thread with virtio_core__poll() on the test's own thread;
 * here each case starts the transport's I/O thread (what
 * virtio_mmio__start() and the PCI start do after their KVM
 * registrations), and the test plays the vCPU -- register accesses,
 * device resets -- and the host side from other threads: requests in
 * flight on the disk engine's pool while the driver resets the device,
 * frames arriving on the tap and console input arriving from the main
 * loop meanwhile, MSI-X masking against completions, the host resizing
 * the balloon and asking for its statistics.  Each case ends
 * with the device still working and every thread joined.
 *
 * "make check-tsan" builds this (and the other threaded device tests)
 * with ThreadSanitizer.  Guest RAM is shared with the guest by design
 * (the rings are ordered with fences, which TSan does not model), so it
 * is annotated as a benign race; everything else must be race-free.
 */
#include <endian.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>

#include <linux/virtio_balloon.h>

#include "lkvm/irq.h"
#include "lkvm/kvm.h"
#include "lkvm/pci.h"
#include "lkvm/virtio-transport.h"
#include "test.h"
#include "guest-mem.h"
#include "mmio-driver.h"

#define RAM		0x80000000ULL
#define RAM_SIZE	SZ_MiB
#define QBASE(q)	(RAM + 0x4000ULL * (q))
#define DESC(q)		(QBASE(q))
#define AVAIL(q)	(QBASE(q) + 0x1000)
#define USED(q)		(QBASE(q) + 0x2000)
#define HDR		(RAM + 0x10000)
#define STATUS		(RAM + 0x11000)
#define DATA		(RAM + 0x20000)
#define RXBUF		(RAM + 0x80000)
#define MMIO_BASE	0x02000000ULL
#define ECAM		0x10000000ULL
#define BAR		0x20000000U
#define QNUM		16
#define DISK_SIZE	(2 * SZ_MiB)
#ifndef ITERATIONS
#define ITERATIONS	150	/* -DITERATIONS=n for a longer storm */
#endif

#define F_VERSION_1	BIT(VIRTIO_F_VERSION_1)
#define F_EVENT_IDX	BIT(VIRTIO_RING_F_EVENT_IDX)
#define F_MRG		BIT(VIRTIO_NET_F_MRG_RXBUF)

/* ThreadSanitizer's annotation, if it is there (weak: absent in other builds). */
void AnnotateBenignRaceSized(const char *file, int line, const volatile void *mem,
			     unsigned long size, const char *desc) __attribute__((weak));

struct fx {
	struct kvm kvm;
	u8 *ram;
	struct virtio_mmio *vm;		/* virtio-mmio, or */
	struct pci_bus *bus;		/* virtio-pci */
	struct virtio_core *c;
	struct virtio_dev *dev;
	char path[300];
	int host;			/* net: the fake tap's host end */
	u16 avail_idx[4];
	bool stop;			/* for the host-side thread */
	u64 host_frames;
};

static void fx_vm(struct fx *f)
{
	static struct lkvm_config quiet;

	/* MSI-X vectors cannot be routed without KVM: keep those warnings out. */
	config__defaults(&quiet, 1);
	quiet.loglevel = LOG_ERROR;
	memset(f, 0, sizeof(*f));
	f->kvm.cfg = &quiet;
	f->kvm.sys_fd = f->kvm.vm_fd = -1;
	f->host = -1;
	f->ram = calloc(1, RAM_SIZE);
	TEST_ASSERT(f->ram, "calloc");
	if (AnnotateBenignRaceSized)
		AnnotateBenignRaceSized(__FILE__, __LINE__, f->ram, RAM_SIZE,
					"guest RAM: the driver's, ordered by the ring protocol");
	TEST_ASSERT_EQ(gmem__add_region(&f->kvm, RAM, RAM_SIZE, f->ram), 0);
}

static void fx_blk_dev(struct fx *f, const char *engine)
{
	struct lkvm_err err = { "" };
	struct disk_opts o;
	char arg[400];
	int fd;

	snprintf(f->path, sizeof(f->path), "%s/iothread.img", TEST_TMPDIR);
	fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	TEST_ASSERT(fd >= 0, "create %s", f->path);
	TEST_ASSERT_EQ(ftruncate(fd, DISK_SIZE), 0);
	close(fd);
	snprintf(arg, sizeof(arg), "%s,engine=%s", f->path, engine);
	TEST_ASSERT_EQ(disk__parse_opts(arg, &o, &err), 0);
	if (virtio_blk__new(&f->kvm, &o, 0, 1, &f->dev, &err)) {
		if (strcmp(engine, "sync"))
			TEST_SKIP("engine=%s: %.200s", engine, err.msg);
		TEST_FAIL("blk: %s", err.msg);
	}
}

static void fx_mmio(struct fx *f)
{
	struct lkvm_err err = { "" };

	TEST_ASSERT(virtio_mmio__new(&f->kvm, f->dev, MMIO_BASE, 16, &f->vm, &err) == 0,
		    "mmio: %s", err.msg);
	f->c = virtio_mmio__core(f->vm);
}

static void fx_start(struct fx *f)
{
	struct lkvm_err err = { "" };

	TEST_ASSERT(virtio_core__start_thread(f->c, &err) == 0, "%s", err.msg);
}

static void fx_fini(struct fx *f)
{
	/* Stops and joins the I/O thread, then frees (drains) the device. */
	virtio_transport__free(f->c);
	if (f->bus)
		pci__free(f->bus);
	mmio__free(&f->kvm.mmio);
	irq__free(&f->kvm);
	if (f->host >= 0)
		close(f->host);
	free(f->ram);
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

/* The driver's side of the rings: atomics, as a real driver's barriers make them. */
static void publish_avail(struct fx *f, unsigned int q)
{
	__atomic_store_n((u16 *)(void *)gp(f, AVAIL(q) + 2, 2), htole16(f->avail_idx[q]),
			 __ATOMIC_RELEASE);
}

static u16 used_idx(struct fx *f, unsigned int q)
{
	return le16toh(__atomic_load_n((u16 *)(void *)gp(f, USED(q) + 2, 2), __ATOMIC_ACQUIRE));
}

static void offer(struct fx *f, unsigned int q, u16 head)
{
	put16(f, AVAIL(q) + 4 + 2ULL * (f->avail_idx[q] % QNUM), head);
	f->avail_idx[q]++;
	publish_avail(f, q);
}

/* Waits (up to 10 s) for queue @q's used index to reach @want. */
static void wait_used(struct fx *f, unsigned int q, u16 want)
{
	for (int i = 0; i < 100000 && used_idx(f, q) != want; i++)
		sleep_us(100);
	TEST_ASSERT_EQ(used_idx(f, q), want);
}

/* ---- virtio-mmio driver ------------------------------------------------- */

static void mmio_up(struct fx *f, u64 features, unsigned int nq)
{
	memset(f->avail_idx, 0, sizeof(f->avail_idx));
	mmio_wr(f->vm, VIRTIO_MMIO_STATUS, 0);	/* the reset: drains the device */
	memset(f->ram, 0, 0x10000);
	TEST_ASSERT(mmio_negotiate(f->vm, features), "FEATURES_OK");
	for (unsigned int q = 0; q < nq; q++)
		mmio_setup_queue(f->vm, q, QNUM, DESC(q), AVAIL(q), USED(q));
	mmio_driver_ok(f->vm);
}

static void mmio_kick(struct fx *f, unsigned int q)
{
	mmio_wr(f->vm, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* ---- virtio-blk requests ------------------------------------------------- */

/* Request @i: 4 KiB IN or OUT at sector 8 * (i + @base), descriptors 3i..3i+2. */
static void blk_post(struct fx *f, unsigned int i, bool write, unsigned int base)
{
	u8 *h = gp(f, HDR + 16ULL * i, 16);
	u64 sector = htole64(8ULL * (i + base));
	u32 type = htole32(write ? 1 : 0);

	memset(h, 0, 16);
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	*gp(f, STATUS + i, 1) = 0xff;
	gm_set_desc(&f->kvm, DESC(0), 3 * i, HDR + 16ULL * i, 16, VRING_DESC_F_NEXT, (u16)(3 * i + 1));
	gm_set_desc(&f->kvm, DESC(0), 3 * i + 1, DATA + 4096ULL * i, 4096,
		    VRING_DESC_F_NEXT | (write ? 0 : VRING_DESC_F_WRITE), (u16)(3 * i + 2));
	gm_set_desc(&f->kvm, DESC(0), 3 * i + 2, STATUS + i, 1, VRING_DESC_F_WRITE, 0);
	offer(f, 0, (u16)(3 * i));
}

/*
 * The vCPU resets the device with up to 5 requests in flight, at every
 * moment: before the I/O thread took the kick, while it submits, while the
 * pool runs them, while the completions come back.  Then one write and
 * its read-back must still be right.
 */
static void blk_reset_storm(struct fx *f, void (*up)(struct fx *), void (*kick)(struct fx *))
{
	u8 *data = gp(f, DATA, 4096);

	for (unsigned int it = 0; it < ITERATIONS; it++) {
		unsigned int n = 1 + it % 5;

		up(f);
		for (unsigned int i = 0; i < n; i++)
			blk_post(f, i, (it + i) % 2, it % 7);
		kick(f);
		switch (it % 4) {
		case 0:
			wait_used(f, 0, (u16)n);
			for (unsigned int i = 0; i < n; i++)
				TEST_ASSERT_EQ(*gp(f, STATUS + i, 1), 0);
			break;
		case 1:
			sleep_us(it % 50);
			break;
		}
		/* the next up() resets the device */
	}
	up(f);
	for (unsigned int i = 0; i < 4096; i++)
		data[i] = (u8)(i * 13 + 5);
	blk_post(f, 0, true, 200);
	kick(f);
	wait_used(f, 0, 1);
	TEST_ASSERT_EQ(*gp(f, STATUS, 1), 0);
	memset(data, 0, 4096);
	blk_post(f, 1, false, 199);	/* sector 8 * 200 again, into DATA + 4096 */
	kick(f);
	wait_used(f, 0, 2);
	TEST_ASSERT_EQ(*gp(f, STATUS + 1, 1), 0);
	for (unsigned int i = 0; i < 4096; i++)
		TEST_ASSERT_EQ(*gp(f, DATA + 4096 + i, 1), (u8)(i * 13 + 5));
}

static void blk_mmio_up(struct fx *f)
{
	mmio_up(f, F_VERSION_1, 1);
}

static void blk_mmio_kick(struct fx *f)
{
	mmio_kick(f, 0);
}

static void blk_mmio_case(const char *engine)
{
	struct fx f;

	fx_vm(&f);
	fx_blk_dev(&f, engine);
	fx_mmio(&f);
	fx_start(&f);
	blk_reset_storm(&f, blk_mmio_up, blk_mmio_kick);
	fx_fini(&f);
}

static void test_blk_sync_reset_vs_io_thread(void)
{
	blk_mmio_case("sync");
}

static void test_blk_io_uring_reset_vs_io_thread(void)
{
	blk_mmio_case("io_uring");
}

/* ---- virtio-pci: the same, with MSI-X masking from the vCPU -------------- */

static u32 pci_common, pci_notify, pci_mult, pci_msix_cap, pci_table;

static u32 ecam_rd(struct fx *f, u32 reg, u32 len)
{
	u8 b[4] = { 0 };

	pci__ecam_access(f->bus, reg, b, len, false);
	return (u32)b[0] | (u32)b[1] << 8 | (u32)b[2] << 16 | (u32)b[3] << 24;
}

static void ecam_wr(struct fx *f, u32 reg, u32 val, u32 len)
{
	u8 b[4] = { (u8)val, (u8)(val >> 8), (u8)(val >> 16), (u8)(val >> 24) };

	pci__ecam_access(f->bus, reg, b, len, true);
}

static void bar_wr(struct fx *f, u32 off, u64 val, u32 len)
{
	u8 b[8];

	for (u32 i = 0; i < len; i++)
		b[i] = (u8)(val >> (8 * i));
	virtio_pci__bar_access(f->c, off, b, len, true);
}

static u32 bar_rd(struct fx *f, u32 off, u32 len)
{
	u8 b[4] = { 0 };

	virtio_pci__bar_access(f->c, off, b, len, false);
	return (u32)b[0] | (u32)b[1] << 8 | (u32)b[2] << 16 | (u32)b[3] << 24;
}

static void pci_find_caps(struct fx *f)
{
	for (u32 at = ecam_rd(f, PCI_CAPABILITY_LIST, 1); at; at = ecam_rd(f, at + 1, 1)) {
		if (ecam_rd(f, at, 1) == PCI_CAP_ID_MSIX) {
			pci_msix_cap = at;
			pci_table = ecam_rd(f, at + 4, 4) & ~7u;
		} else if (ecam_rd(f, at + 3, 1) == VIRTIO_PCI_CAP_COMMON_CFG) {
			pci_common = ecam_rd(f, at + 8, 4);
		} else if (ecam_rd(f, at + 3, 1) == VIRTIO_PCI_CAP_NOTIFY_CFG) {
			pci_notify = ecam_rd(f, at + 8, 4);
			pci_mult = ecam_rd(f, at + 16, 4);
		}
	}
	TEST_ASSERT(pci_msix_cap && pci_mult, "capabilities");
}

static void blk_pci_up(struct fx *f)
{
	const u32 s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	u32 c = pci_common;

	memset(f->avail_idx, 0, sizeof(f->avail_idx));
	bar_wr(f, c + VIRTIO_PCI_COMMON_STATUS, 0, 1);
	memset(f->ram, 0, 0x10000);
	bar_wr(f, c + VIRTIO_PCI_COMMON_STATUS, s, 1);
	bar_wr(f, c + VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	bar_wr(f, c + VIRTIO_PCI_COMMON_GF, F_VERSION_1 >> 32, 4);
	bar_wr(f, c + VIRTIO_PCI_COMMON_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK, 1);
	TEST_ASSERT(bar_rd(f, c + VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK,
		    "FEATURES_OK");
	bar_wr(f, c + VIRTIO_PCI_COMMON_MSIX, 0, 2);
	bar_wr(f, c + VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	bar_wr(f, c + VIRTIO_PCI_COMMON_Q_SIZE, QNUM, 2);
	bar_wr(f, c + VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
	bar_wr(f, c + VIRTIO_PCI_COMMON_Q_DESCLO, DESC(0), 8);
	bar_wr(f, c + VIRTIO_PCI_COMMON_Q_AVAILLO, AVAIL(0), 8);
	bar_wr(f, c + VIRTIO_PCI_COMMON_Q_USEDLO, USED(0), 8);
	bar_wr(f, c + VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	bar_wr(f, c + VIRTIO_PCI_COMMON_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK |
	       VIRTIO_CONFIG_S_DRIVER_OK, 1);
}

/* The kick, with the vCPU flipping MSI-X masks around it as a guest's irq code may. */
static void blk_pci_kick(struct fx *f)
{
	static unsigned int n;

	bar_wr(f, pci_notify, 0, 2);
	n++;
	ecam_wr(f, pci_msix_cap + 2, 0x8000 | (n & 1 ? 0x4000 : 0), 2);	/* enable, mask all */
	for (u32 v = 0; v < 2; v++) {
		bar_wr(f, pci_table + 16 * v, 0xfee00000 + v, 4);
		bar_wr(f, pci_table + 16 * v + 8, 0x40 + v, 4);
		bar_wr(f, pci_table + 16 * v + 12, n & 2 ? 1 : 0, 4);		/* vector mask */
	}
	(void)bar_rd(f, 0x1000, 1);	/* ISR */
}

static void test_blk_pci_msix_reset_vs_io_thread(void)
{
	struct lkvm_err err = { "" };
	struct fx f;

	fx_vm(&f);
	fx_blk_dev(&f, "sync");
	TEST_ASSERT(pci__new(&f.kvm, ECAM, &f.bus, &err) == 0, "pci: %s", err.msg);
	TEST_ASSERT(virtio_pci__new(&f.kvm, f.bus, f.dev, BAR, true, &f.c, &err) == 0,
		    "virtio-pci: %s", err.msg);
	pci_find_caps(&f);
	fx_start(&f);
	blk_reset_storm(&f, blk_pci_up, blk_pci_kick);
	fx_fini(&f);
}

/* ---- virtio-net: frames from the tap's thread meanwhile ------------------ */

static void *tap_host(void *arg)
{
	struct fx *f = arg;
	u8 frame[VIRTIO_NET_HDR_LEN + 256] = { 0 }, junk[2048];

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		frame[VIRTIO_NET_HDR_LEN] = (u8)f->host_frames;
		if (send(f->host, frame, sizeof(frame), MSG_DONTWAIT) > 0)
			f->host_frames++;
		else
			sleep_us(20);
		while (recv(f->host, junk, sizeof(junk), MSG_DONTWAIT) > 0)
			;	/* what the guest transmitted */
	}
	return NULL;
}

/* Receive buffers and one transmitted frame, then DRIVER_OK's kicks. */
static void net_up(struct fx *f, bool event_idx)
{
	mmio_up(f, F_VERSION_1 | F_MRG | (event_idx ? F_EVENT_IDX : 0), 2);
	for (unsigned int i = 0; i < 8; i++) {
		gm_set_desc(&f->kvm, DESC(0), i, RXBUF + 2048ULL * i, 2048, VRING_DESC_F_WRITE, 0);
		offer(f, 0, (u16)i);
	}
	memset(gp(f, DATA, 64), 0, 64);
	gm_set_desc(&f->kvm, DESC(1), 0, DATA, VIRTIO_NET_HDR_LEN + 50, 0, 0);
	offer(f, 1, 0);
	mmio_kick(f, 0);
	mmio_kick(f, 1);
}

static void test_net_reset_vs_io_thread_and_tap(void)
{
	struct lkvm_err err = { "" };
	struct net_backend be;
	struct net_opts o;
	bool none = true;
	pthread_t host;
	struct fx f;
	int sv[2];

	fx_vm(&f);
	TEST_ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	TEST_ASSERT_EQ(net__parse_opts("mode=tap", 0, &o, &none, &err), 0);
	net__backend_init(&be);
	be.tap_fd = sv[1];
	snprintf(be.ifname, sizeof(be.ifname), "faketap");
	f.host = sv[0];
	TEST_ASSERT(virtio_net__new(&f.kvm, &o, &be, &f.dev, &err) == 0, "net: %s", err.msg);
	fx_mmio(&f);
	fx_start(&f);
	TEST_ASSERT_EQ(pthread_create(&host, NULL, tap_host, &f), 0);
	for (unsigned int it = 0; it < ITERATIONS; it++) {
		net_up(&f, it & 1);
		sleep_us(it % 3 ? it % 100 : 1000);
	}
	net_up(&f, false);
	wait_used(&f, 1, 1);		/* the frame went out */
	for (int i = 0; i < 100000 && !used_idx(&f, 0); i++)
		sleep_us(100);
	TEST_ASSERT(used_idx(&f, 0) > 0, "no frame received after the resets");
	__atomic_store_n(&f.stop, true, __ATOMIC_RELEASE);
	pthread_join(host, NULL);
	fx_fini(&f);
}

/* ---- virtio-console: host input from the main loop meanwhile ------------- */

static void *console_host(void *arg)
{
	struct fx *f = arg;
	static const u8 text[] = "console input from the main loop\n";

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
		if (virtio_console__rx_space(f->dev) < sizeof(text) ||
		    !virtio_console__input(f->dev, text, sizeof(text)))
			sleep_us(20);
	}
	return NULL;
}

static void console_up(struct fx *f)
{
	mmio_up(f, F_VERSION_1, 2);
	for (unsigned int i = 0; i < 4; i++) {
		gm_set_desc(&f->kvm, DESC(0), i, RXBUF + 256ULL * i, 256, VRING_DESC_F_WRITE, 0);
		offer(f, 0, (u16)i);
	}
	memcpy(gp(f, DATA, 6), "hello\n", 6);
	gm_set_desc(&f->kvm, DESC(1), 0, DATA, 6, 0, 0);
	offer(f, 1, 0);
	mmio_kick(f, 0);
	mmio_kick(f, 1);
}

static void test_console_reset_vs_io_thread_and_input(void)
{
	struct lkvm_err err = { "" };
	pthread_t host;
	struct fx f;
	int out = open("/dev/null", O_WRONLY | O_CLOEXEC);

	TEST_ASSERT(out >= 0, "open /dev/null");
	fx_vm(&f);
	TEST_ASSERT(virtio_console__new(&f.kvm, NULL, &f.dev, &err) == 0, "console: %s", err.msg);
	fx_mmio(&f);
	fx_start(&f);
	TEST_ASSERT_EQ(pthread_create(&host, NULL, console_host, &f), 0);
	for (unsigned int it = 0; it < ITERATIONS; it++) {
		console_up(&f);
		sleep_us(it % 3 ? it % 100 : 1000);
	}
	console_up(&f);
	wait_used(&f, 1, 1);
	for (int i = 0; i < 100000 && !used_idx(&f, 0); i++)
		sleep_us(100);
	TEST_ASSERT(used_idx(&f, 0) > 0, "no console input delivered after the resets");
	__atomic_store_n(&f.stop, true, __ATOMIC_RELEASE);
	pthread_join(host, NULL);
	fx_fini(&f);
	close(out);
}

/* ---- virtio-balloon: the host's side (lkvm balloon/stat) meanwhile ------ */

static void *balloon_host(void *arg)
{
	struct fx *f = arg;
	struct virtio_balloon_info info;

	for (unsigned int n = 0; !__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE); n++) {
		TEST_ASSERT_EQ(virtio_balloon__adjust(&f->kvm, n & 1 ? -3 : 5, NULL), 0);
		TEST_ASSERT_EQ(virtio_balloon__info(&f->kvm, n % 4 ? 0 : 1, &info), 0);
	}
	return NULL;
}

/* Inflate frames 16..19 (the RAM past the rings), a statistics buffer, DRIVER_OK's kicks. */
static void balloon_up(struct fx *f)
{
	u8 *pfns = gp(f, DATA, 16), *stats = gp(f, DATA + 0x100, 20);

	mmio_up(f, F_VERSION_1 | BIT(VIRTIO_BALLOON_F_STATS_VQ), 3);
	for (u32 i = 0; i < 4; i++) {
		u32 pfn = htole32((u32)((RXBUF - RAM) >> 12) + 16 + i);

		memcpy(pfns + 4 * i, &pfn, 4);
	}
	gm_set_desc(&f->kvm, DESC(0), 0, DATA, 16, 0, 0);
	offer(f, 0, 0);
	memset(stats, 0, 20);
	gm_set_desc(&f->kvm, DESC(2), 0, DATA + 0x100, 20, 0, 0);
	offer(f, 2, 0);
	mmio_kick(f, 0);
	mmio_kick(f, 2);
}

static void test_balloon_reset_vs_io_thread_and_host(void)
{
	struct lkvm_err err = { "" };
	struct virtio_balloon_info info;
	pthread_t host;
	u32 target;
	struct fx f;

	fx_vm(&f);
	TEST_ASSERT(virtio_balloon__new(&f.kvm, true, &f.dev, &err) == 0, "balloon: %s", err.msg);
	fx_mmio(&f);
	fx_start(&f);
	TEST_ASSERT_EQ(pthread_create(&host, NULL, balloon_host, &f), 0);
	for (unsigned int it = 0; it < ITERATIONS; it++) {
		balloon_up(&f);
		sleep_us(it % 3 ? it % 100 : 1000);
	}
	__atomic_store_n(&f.stop, true, __ATOMIC_RELEASE);
	pthread_join(host, NULL);
	balloon_up(&f);
	wait_used(&f, 0, 1);		/* the frames went back to the host */
	TEST_ASSERT_EQ(virtio_balloon__adjust(&f.kvm, 1000000, &target), 0);
	TEST_ASSERT_EQ(target, (u32)(RAM_SIZE >> 12));	/* clamped to guest RAM */
	TEST_ASSERT_EQ(virtio_balloon__info(&f.kvm, 0, &info), 0);
	TEST_ASSERT_EQ(info.target_pages, target);
	fx_fini(&f);
}

static const struct test_case tests[] = {
	TEST_CASE(test_blk_sync_reset_vs_io_thread),
	TEST_CASE(test_blk_io_uring_reset_vs_io_thread),
	TEST_CASE(test_blk_pci_msix_reset_vs_io_thread),
	TEST_CASE(test_net_reset_vs_io_thread_and_tap),
	TEST_CASE(test_console_reset_vs_io_thread_and_input),
	TEST_CASE(test_balloon_reset_vs_io_thread_and_host),
};

TEST_MAIN(tests)
