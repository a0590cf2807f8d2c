// SPDX-License-Identifier: GPL-2.0-only
/*
 * The PCI host bridge (hw/pci.c) and the virtio-pci transport
 * (virtio/pci.c), with virtio-blk behind it, without KVM: config space
 * through the ECAM handler as Linux's pci-host-generic reads it, the BAR
 * through the transport's handler, a fake guest RAM, the sync disk engine
 * on a temp file, and virtio_core__poll() standing in for the I/O thread.
 */
#include <dirent.h>
#include <endian.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <linux/kvm.h>

#include "lkvm/irq.h"
#include "lkvm/kvm.h"
#include "lkvm/pci.h"
#include "lkvm/virtio-transport.h"
#include "test.h"
#include "guest-mem.h"
#include "count-dev.h"

#define RAM		0x80000000ULL
#define RAM_SIZE	SZ_MiB
#define DESC		(RAM)
#define AVAIL		(RAM + 0x1000)
#define USED		(RAM + 0x2000)
#define HDR		(RAM + 0x10000)
#define DATA		(RAM + 0x20000)
#define STATUS		(RAM + 0x40000)
#define ECAM		0x10000000ULL
#define BAR		0x20000000U
#define QNUM		16

/* virtio 1.2 §4.1.4.3 common configuration offsets. */

#define F_VERSION_1	BIT(32)

struct fx {
	struct kvm kvm;
	u8 *ram;
	struct pci_bus *bus;
	struct virtio_core *c;
	char path[300];
	/* found by walking the capability list */
	u32 common, notify, isr, devcfg, notify_mult;
	u8 pcfg_cap, msix_cap;
};

/* ---- config space, as a driver sees it -------------------------------- */

static u32 cfg_rd(struct fx *f, unsigned int slot, u32 reg, u32 len)
{
	u8 b[4] = { 0 };

	pci__ecam_access(f->bus, (u64)slot << 15 | reg, b, len, false);
	return (u32)b[0] | (u32)b[1] << 8 | (u32)b[2] << 16 | (u32)b[3] << 24;
}

static void cfg_wr(struct fx *f, u32 reg, u32 val, u32 len)
{
	u8 b[4] = { (u8)val, (u8)(val >> 8), (u8)(val >> 16), (u8)(val >> 24) };

	pci__ecam_access(f->bus, reg, b, len, true);
}

static u64 bar_rd(struct fx *f, u32 off, u32 len)
{
	u8 b[8] = { 0 };
	u64 v = 0;

	virtio_pci__bar_access(f->c, off, b, len, false);
	for (u32 i = 0; i < len; i++)
		v |= (u64)b[i] << (8 * i);
	return v;
}

static void bar_wr(struct fx *f, u32 off, u64 val, u32 len)
{
	u8 b[8];

	for (u32 i = 0; i < len; i++)
		b[i] = (u8)(val >> (8 * i));
	virtio_pci__bar_access(f->c, off, b, len, true);
}

/* Walks the capability list as Linux's virtio_pci_modern does. */
static void find_caps(struct fx *f)
{
	unsigned int guard = 0;

	TEST_ASSERT(cfg_rd(f, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, "no capability list");
	for (u32 at = cfg_rd(f, 0, PCI_CAPABILITY_LIST, 1); at; at = cfg_rd(f, 0, at + 1, 1)) {
		TEST_ASSERT(++guard < 32 && at >= 0x40 && at % 4 == 0, "bad cap pointer %#x", at);
		if (cfg_rd(f, 0, at, 1) == PCI_CAP_ID_MSIX) {
			f->msix_cap = (u8)at;
			continue;
		}
		TEST_ASSERT_EQ(cfg_rd(f, 0, at, 1), PCI_CAP_ID_VNDR);
		TEST_ASSERT_EQ(cfg_rd(f, 0, at + 4, 1), 0u);	/* BAR0 */
		switch (cfg_rd(f, 0, at + 3, 1)) {
		case 1: f->common = cfg_rd(f, 0, at + 8, 4); break;
		case 2:
			f->notify = cfg_rd(f, 0, at + 8, 4);
			f->notify_mult = cfg_rd(f, 0, at + 16, 4);
			break;
		case 3: f->isr = cfg_rd(f, 0, at + 8, 4); break;
		case 4: f->devcfg = cfg_rd(f, 0, at + 8, 4); break;
		case 5: f->pcfg_cap = (u8)at; break;
		default: TEST_FAIL("unknown virtio cap type %u", cfg_rd(f, 0, at + 3, 1));
		}
	}
}

static void make_disk(struct fx *f)
{
	u8 buf[4096];
	int fd;

	snprintf(f->path, sizeof(f->path), "%s/pci-disk.img", TEST_TMPDIR);
	fd = open(f->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	TEST_ASSERT(fd >= 0, "create %s", f->path);
	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = (u8)(i * 5 + 1);
	for (int i = 0; i < 64; i++)
		TEST_ASSERT_EQ(pwrite(fd, buf, sizeof(buf), (off_t)i * 4096), (ssize_t)sizeof(buf));
	close(fd);
}

static void fx_init_nq(struct fx *f, bool msix, unsigned int nq)
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
	make_disk(f);
	snprintf(arg, sizeof(arg), "%s,engine=sync", f->path);
	TEST_ASSERT_EQ(disk__parse_opts(arg, &o, &err), 0);
	TEST_ASSERT(virtio_blk__new(&f->kvm, &o, 0, nq, &dev, &err) == 0, "blk: %s", err.msg);
	TEST_ASSERT(pci__new(&f->kvm, ECAM, &f->bus, &err) == 0, "pci: %s", err.msg);
	f->bus->intx_line = 8;
	TEST_ASSERT(virtio_pci__new(&f->kvm, f->bus, dev, BAR, msix, &f->c, &err) == 0,
		    "virtio-pci: %s", err.msg);
	find_caps(f);
}

static void fx_init(struct fx *f, bool msix)
{
	fx_init_nq(f, msix, 1);
}

static void fx_fini(struct fx *f)
{
	virtio_transport__free(f->c);
	pci__free(f->bus);
	mmio__free(&f->kvm.mmio);
	free(f->ram);
}

/* The fixture with a counting device (tests/unit/count-dev.h) instead of virtio-blk, INTx. */
static void fx_init_count(struct fx *f, struct count_dev_counts *n)
{
	struct lkvm_err err = { "" };

	memset(f, 0, sizeof(*f));
	f->kvm.sys_fd = f->kvm.vm_fd = -1;
	f->ram = calloc(1, RAM_SIZE);
	TEST_ASSERT(f->ram, "calloc");
	TEST_ASSERT_EQ(gmem__add_region(&f->kvm, RAM, RAM_SIZE, f->ram), 0);
	TEST_ASSERT(pci__new(&f->kvm, ECAM, &f->bus, &err) == 0, "pci: %s", err.msg);
	f->bus->intx_line = 8;
	TEST_ASSERT(virtio_pci__new(&f->kvm, f->bus, count_dev__new(&f->kvm, n), BAR, false, &f->c,
				    &err) == 0, "virtio-pci: %s", err.msg);
	find_caps(f);
}

static void driver_up(struct fx *f)
{
	bar_wr(f, f->common + VIRTIO_PCI_COMMON_STATUS, 0, 1);
	bar_wr(f, f->common + VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
	bar_wr(f, f->common + VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	bar_wr(f, f->common + VIRTIO_PCI_COMMON_GF, F_VERSION_1 >> 32, 4);
	bar_wr(f, f->common + VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
	       VIRTIO_CONFIG_S_FEATURES_OK, 1);
	TEST_ASSERT(bar_rd(f, f->common + VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK,
		    "FEATURES_OK refused");
	bar_wr(f, f->common + VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	bar_wr(f, f->common + VIRTIO_PCI_COMMON_Q_SIZE, QNUM, 2);
	/* The 64-bit addresses as two 32-bit halves, as Linux writes them. */
	bar_wr(f, f->common + VIRTIO_PCI_COMMON_Q_DESCLO, (u32)DESC, 4);
	bar_wr(f, f->common + VIRTIO_PCI_COMMON_Q_DESCLO + 4, DESC >> 32, 4);
	bar_wr(f, f->common + VIRTIO_PCI_COMMON_Q_AVAILLO, (u32)AVAIL, 4);
	bar_wr(f, f->common + VIRTIO_PCI_COMMON_Q_AVAILLO + 4, AVAIL >> 32, 4);
	bar_wr(f, f->common + VIRTIO_PCI_COMMON_Q_USEDLO, USED, 8);
	bar_wr(f, f->common + VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
	TEST_ASSERT_EQ(bar_rd(f, f->common + VIRTIO_PCI_COMMON_Q_ENABLE, 2), 1u);
	bar_wr(f, f->common + VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
	       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK, 1);
}

static void set_desc(struct fx *f, unsigned int i, u64 addr, u32 len, u16 flags, u16 next)
{
	gm_set_desc(&f->kvm, DESC, i, addr, len, flags, next);
}

/* One 4 KiB read of sector 8, notified through the notify window (a trap: no ioeventfd). */
static void read_request(struct fx *f)
{
	u8 *h = gp(f, HDR, 16);

	memset(h, 0, 16);
	h[8] = 8;	/* sector 8, type 0 (IN) */
	set_desc(f, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
	set_desc(f, 1, DATA, 4096, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	set_desc(f, 2, STATUS, 1, VRING_DESC_F_WRITE, 0);
	*gp(f, STATUS, 1) = 0xff;
	put16(f, AVAIL + 4, 0);
	put16(f, AVAIL + 2, (u16)(get16(f, AVAIL + 2) + 1));
	bar_wr(f, f->notify + 0 * f->notify_mult, 0, 2);
	for (int i = 0; i < 100 && get16(f, USED + 2) == 0; i++)
		virtio_core__poll(f->c, 10);
}

static bool fd_pending(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	u64 n;

	if (poll(&p, 1, 0) != 1)
		return false;
	TEST_ASSERT_EQ(read(fd, &n, sizeof(n)), (ssize_t)sizeof(n));
	return true;
}

/*
 * A fake VM fd for the MSI routes: this program's ioctl() answers the
 * routing and irqfd ioctls on fake_kvm.fd itself (recording what lkvm
 * sent) and passes every other call to the kernel.  KVM_SET_GSI_ROUTING
 * always succeeds; KVM_IRQFD fails with EINVAL unless irqfd_ok.
 */
static struct {
	int fd;
	bool irqfd_ok;
	unsigned int irqfds;		/* KVM_IRQFD calls */
	unsigned int nr_routes;		/* entries in the last KVM_SET_GSI_ROUTING */
	unsigned int max_routes;
	u32 last_msi_gsi;		/* the highest MSI GSI in the last table */
} fake_kvm = { .fd = -1 };

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd < 0 || fd != fake_kvm.fd)
		return (int)syscall(SYS_ioctl, fd, req, arg);
	if (req == KVM_SET_GSI_ROUTING) {
		const struct kvm_irq_routing *t = arg;

		fake_kvm.nr_routes = t->nr;
		fake_kvm.max_routes = MAX(fake_kvm.max_routes, t->nr);
		fake_kvm.last_msi_gsi = 0;
		for (unsigned int i = 0; i < t->nr; i++)
			if (t->entries[i].type == KVM_IRQ_ROUTING_MSI)
				fake_kvm.last_msi_gsi = MAX(fake_kvm.last_msi_gsi, t->entries[i].gsi);
		return 0;
	}
	if (req == KVM_IRQFD) {
		fake_kvm.irqfds++;
		if (fake_kvm.irqfd_ok)
			return 0;
		errno = EINVAL;
		return -1;
	}
	errno = ENOTTY;
	return -1;
}

static unsigned int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	TEST_ASSERT(d, "opendir /proc/self/fd");
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* One read request notified through the notify window, run to completion. */
static void one_request(struct fx *f)
{
	u16 idx = get16(f, AVAIL + 2), used = get16(f, USED + 2);

	put16(f, AVAIL + 4 + 2 * (idx % QNUM), 0);
	put16(f, AVAIL + 2, (u16)(idx + 1));
	bar_wr(f, f->notify, 0, 2);
	for (int i = 0; i < 100 && get16(f, USED + 2) == used; i++)
		virtio_core__poll(f->c, 10);
	TEST_ASSERT_EQ(get16(f, USED + 2), (u16)(used + 1));
}

/* ---- tests --------------------------------------------------------------- */

static void test_config_header(void)
{
	struct fx f;

	fx_init(&f, true);
	TEST_ASSERT_EQ(cfg_rd(&f, 0, PCI_VENDOR_ID, 2), 0x1af4u);
	TEST_ASSERT_EQ(cfg_rd(&f, 0, PCI_DEVICE_ID, 2), 0x1042u);	/* 0x1040 + block */
	TEST_ASSERT_EQ(cfg_rd(&f, 0, PCI_REVISION_ID, 1), 1u);
	TEST_ASSERT_EQ(cfg_rd(&f, 0, PCI_REVISION_ID, 4) >> 8, 0x018000u);
	TEST_ASSERT(cfg_rd(&f, 0, PCI_SUBSYSTEM_ID, 2) >= 0x40, "subsystem ID < 0x40");
	TEST_ASSERT_EQ(cfg_rd(&f, 0, PCI_HEADER_TYPE, 1), 0u);
	/* Absent slots and functions read as all ones; so do unaligned accesses. */
	TEST_ASSERT_EQ(cfg_rd(&f, 1, PCI_VENDOR_ID, 2), 0xffffu);
	TEST_ASSERT_EQ(cfg_rd(&f, 0, 1 << 12 | PCI_VENDOR_ID, 2), 0xffffu);
	TEST_ASSERT_EQ(cfg_rd(&f, 0, PCI_VENDOR_ID + 1, 2), 0xffffu);
	/* Every capability the spec requires, in BAR0, and MSI-X with an ITS. */
	TEST_ASSERT_EQ(f.common, 0x0000u);
	TEST_ASSERT_EQ(f.isr, 0x1000u);
	TEST_ASSERT_EQ(f.devcfg, 0x2000u);
	TEST_ASSERT_EQ(f.notify, 0x3000u);
	TEST_ASSERT_EQ(f.notify_mult, 4u);
	TEST_ASSERT(f.pcfg_cap != 0, "no VIRTIO_PCI_CAP_PCI_CFG");
	TEST_ASSERT(f.msix_cap != 0, "no MSI-X capability");
	TEST_ASSERT_EQ(cfg_rd(&f, 0, f.msix_cap + 2, 2) & 0x7ff, 1u);	/* 2 vectors */
	TEST_ASSERT_EQ(cfg_rd(&f, 0, PCI_INTERRUPT_PIN, 1), 0u);
	/* Read-only fields stay so. */
	cfg_wr(&f, PCI_VENDOR_ID, 0x1234, 2);
	TEST_ASSERT_EQ(cfg_rd(&f, 0, PCI_VENDOR_ID, 2), 0x1af4u);
	fx_fini(&f);

	fx_init(&f, false);
	TEST_ASSERT(f.msix_cap == 0, "MSI-X offered without an ITS");
	TEST_ASSERT_EQ(cfg_rd(&f, 0, PCI_INTERRUPT_PIN, 1), 1u);	/* INTA */
	fx_fini(&f);
}

static void test_bar_sizing(void)
{
	struct fx f;

	fx_init(&f, true);
	TEST_ASSERT_EQ(cfg_rd(&f, 0, PCI_BAR0, 4), BAR);
	cfg_wr(&f, PCI_BAR0, 0xffffffff, 4);
	TEST_ASSERT_EQ(cfg_rd(&f, 0, PCI_BAR0, 4), (u32)~(VIRTIO_PCI_BAR_SIZE - 1));
	cfg_wr(&f, PCI_BAR0, BAR, 4);
	TEST_ASSERT_EQ(cfg_rd(&f, 0, PCI_BAR0, 4), BAR);
	/* A move is undone: the BAR is where lkvm put it. */
	cfg_wr(&f, PCI_BAR0, BAR + 0x100000, 4);
	TEST_ASSERT_EQ(cfg_rd(&f, 0, PCI_BAR0, 4), BAR);
	cfg_wr(&f, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	TEST_ASSERT_EQ(cfg_rd(&f, 0, PCI_COMMAND, 2), (u32)(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER));
	fx_fini(&f);
}

static void test_common_config(void)
{
	struct fx f;

	fx_init(&f, true);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_NUMQ, 2), 1u);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_Q_SIZE, 2), 512u);	/* the maximum, after reset */
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
	TEST_ASSERT(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_DF, 4) & 1, "VERSION_1 not offered");
	/* Without VERSION_1, FEATURES_OK does not stick. */
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
	       VIRTIO_CONFIG_S_FEATURES_OK, 1);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK, 0u);
	driver_up(&f);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_Q_DESCLO, 8), DESC);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_Q_USEDLO + 4, 4), USED >> 32);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_Q_NOFF, 2), 0u);
	/* Queue fields are frozen while the queue is enabled. */
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_Q_SIZE, 8, 2);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_Q_SIZE, 2), (u64)QNUM);
	/* A queue that does not exist reads as size 0. */
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_Q_SELECT, 5, 2);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_Q_SIZE, 2), 0u);
	/* Vectors: valid ones stick, others read back as NO_VECTOR. */
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_MSIX, 0, 2);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_MSIX, 2), 0u);
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_MSIX, 7, 2);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_MSIX, 2), (u64)VIRTIO_MSI_NO_VECTOR);
	/* Wrong-sized and unknown accesses are ignored and read as zero. */
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_NUMQ, 4), 0u);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + 0x37, 1), 0u);
	/* Reset: status 0, queue size back to the maximum, vectors none. */
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_STATUS, 0, 1);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_STATUS, 1), 0u);
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_Q_SIZE, 2), 512u);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0u);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_MSIX, 2), (u64)VIRTIO_MSI_NO_VECTOR);
	fx_fini(&f);
}

static void test_intx_request(void)
{
	struct fx f;

	fx_init(&f, false);
	driver_up(&f);
	/* Without MSI-X a vector write reads back NO_VECTOR. */
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_Q_MSIX, 0, 2);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_Q_MSIX, 2), (u64)VIRTIO_MSI_NO_VECTOR);
	read_request(&f);
	TEST_ASSERT_EQ(get16(&f, USED + 2), 1u);
	TEST_ASSERT_EQ(*gp(&f, STATUS, 1), 0u);
	TEST_ASSERT_EQ(*gp(&f, DATA, 1), (u8)1);		/* byte 4096*1 of the pattern: i*5+1, i=0 */
	TEST_ASSERT_EQ(*gp(&f, DATA + 3, 1), (u8)16);
	TEST_ASSERT(fd_pending(virtio_pci__intx_fd(f.c)), "no INTx pulse");
	/* The ISR says "queue", and reading it clears it. */
	TEST_ASSERT_EQ(bar_rd(&f, f.isr, 1), 1u);
	TEST_ASSERT_EQ(bar_rd(&f, f.isr, 1), 0u);
	fx_fini(&f);
}

static void test_pci_cfg_window(void)
{
	struct fx f;

	fx_init(&f, true);
	/* §4.1.4.9: bar 0, offset of num_queues, length 2, then read the data. */
	cfg_wr(&f, f.pcfg_cap + 4, 0, 1);
	cfg_wr(&f, f.pcfg_cap + 8, f.common + VIRTIO_PCI_COMMON_NUMQ, 4);
	cfg_wr(&f, f.pcfg_cap + 12, 2, 4);
	TEST_ASSERT_EQ(cfg_rd(&f, 0, f.pcfg_cap + 16, 2), 1u);
	/* And a write through it: select queue 0's size... */
	cfg_wr(&f, f.pcfg_cap + 8, f.common + VIRTIO_PCI_COMMON_Q_SIZE, 4);
	cfg_wr(&f, f.pcfg_cap + 16, 32, 2);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_Q_SIZE, 2), 32u);
	/* An offset outside the BAR does nothing. */
	cfg_wr(&f, f.pcfg_cap + 8, 0x10000000, 4);
	cfg_wr(&f, f.pcfg_cap + 16, 0, 2);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_Q_SIZE, 2), 32u);
	fx_fini(&f);
}

static void test_msix_masking(void)
{
	struct fx f;
	u32 table = 0x4000, pba = 0x5000;

	fx_init(&f, true);
	driver_up(&f);
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_Q_MSIX, 2), 1u);
	/* Entries start masked; the driver writes vector 1 and enables MSI-X. */
	TEST_ASSERT_EQ(bar_rd(&f, table + 16 + 12, 4), 1u);
	bar_wr(&f, table + 16, 0x08030040, 4);
	bar_wr(&f, table + 16 + 4, 0, 4);
	bar_wr(&f, table + 16 + 8, 33, 4);
	TEST_ASSERT_EQ(bar_rd(&f, table + 16 + 8, 4), 33u);
	cfg_wr(&f, f.msix_cap + 2, 0x8000 | (cfg_rd(&f, 0, f.msix_cap + 2, 2) & 0x7ff), 2);
	TEST_ASSERT(virtio_pci__msix_enabled(f.c), "MSI-X enable did not stick");
	/* A completion on a masked vector is pending, not lost... */
	read_request(&f);
	TEST_ASSERT_EQ(get16(&f, USED + 2), 1u);
	TEST_ASSERT_EQ(bar_rd(&f, pba, 8), 2u);
	/* ...and unmasking delivers it (no KVM here: the route fails, logged, no crash). */
	bar_wr(&f, table + 16 + 12, 0, 4);
	TEST_ASSERT_EQ(bar_rd(&f, pba, 8), 0u);
	/* Table accesses that are not aligned dwords are ignored. */
	TEST_ASSERT_EQ(bar_rd(&f, table + 16 + 1, 2), 0u);
	TEST_ASSERT_EQ(bar_rd(&f, table + 16 * 5, 4), 0u);	/* past the last vector */
	fx_fini(&f);
}

/*
 * An irqfd KVM refuses: the vector's MSI route is taken back out of the
 * routing table and its eventfd closed, and the vector is not routed
 * again on every interrupt, only once the driver rewrites its entry; a
 * later route reuses the freed GSI.
 */
static void test_msix_irqfd_refused(void)
{
	const u32 table = 0x4000, nr_pins = 32;
	unsigned int fds;
	struct fx f;

	fx_init(&f, true);
	fake_kvm.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	TEST_ASSERT(fake_kvm.fd >= 0, "open /dev/null");
	f.kvm.vm_fd = fake_kvm.fd;
	irq__set_wired_pins(&f.kvm, nr_pins);
	driver_up(&f);
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
	bar_wr(&f, table + 16, 0x08030040, 4);
	bar_wr(&f, table + 16 + 4, 0, 4);
	bar_wr(&f, table + 16 + 8, 33, 4);
	bar_wr(&f, table + 16 + 12, 0, 4);
	cfg_wr(&f, f.msix_cap + 2, 0x8000 | (cfg_rd(&f, 0, f.msix_cap + 2, 2) & 0x7ff), 2);
	TEST_ASSERT(virtio_pci__msix_enabled(f.c), "MSI-X enable did not stick");
	set_desc(&f, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
	set_desc(&f, 1, DATA, 4096, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	set_desc(&f, 2, STATUS, 1, VRING_DESC_F_WRITE, 0);
	memset(gp(&f, HDR, 16), 0, 16);

	fds = open_fds();
	for (int i = 0; i < 50; i++)
		one_request(&f);
	TEST_ASSERT_EQ(fake_kvm.irqfds, 1u);		/* tried once, not per interrupt */
	TEST_ASSERT_EQ(fake_kvm.nr_routes, nr_pins);	/* the route went again */
	TEST_ASSERT_EQ(fake_kvm.max_routes, nr_pins + 1);
	TEST_ASSERT_EQ(open_fds(), fds);		/* and its eventfd */

	/* The driver rewrites the entry: one more try, at the next interrupt. */
	bar_wr(&f, table + 16 + 8, 34, 4);
	for (int i = 0; i < 10; i++)
		one_request(&f);
	TEST_ASSERT_EQ(fake_kvm.irqfds, 2u);
	TEST_ASSERT_EQ(fake_kvm.nr_routes, nr_pins);
	TEST_ASSERT_EQ(open_fds(), fds);

	/* Now KVM takes it: routed on the freed GSI, with one eventfd, once. */
	fake_kvm.irqfd_ok = true;
	bar_wr(&f, table + 16 + 8, 35, 4);
	for (int i = 0; i < 10; i++)
		one_request(&f);
	TEST_ASSERT_EQ(fake_kvm.irqfds, 3u);
	TEST_ASSERT_EQ(fake_kvm.nr_routes, nr_pins + 1);
	TEST_ASSERT_EQ(fake_kvm.last_msi_gsi, nr_pins);
	TEST_ASSERT_EQ(open_fds(), fds + 1);
	fx_fini(&f);
	irq__free(&f.kvm);
	close(fake_kvm.fd);
}

/* irq.c's table: a removed route leaves a hole the next one fills; the others keep their GSIs. */
static void test_irq_route_removal(void)
{
	struct kvm kvm;
	u32 g[4];

	memset(&kvm, 0, sizeof(kvm));
	kvm.sys_fd = -1;
	fake_kvm.fd = kvm.vm_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	TEST_ASSERT(kvm.vm_fd >= 0, "open /dev/null");
	irq__set_wired_pins(&kvm, 8);
	for (unsigned int i = 0; i < 3; i++) {
		TEST_ASSERT_EQ(irq__add_msi_route(&kvm, 0x1000, i, 0, &g[i]), 0);
		TEST_ASSERT_EQ(g[i], 8 + i);
	}
	TEST_ASSERT_EQ(fake_kvm.nr_routes, 11u);
	TEST_ASSERT_EQ(irq__remove_msi_route(&kvm, g[1]), 0);
	TEST_ASSERT_EQ(fake_kvm.nr_routes, 10u);
	TEST_ASSERT_EQ(fake_kvm.last_msi_gsi, 10u);
	TEST_ASSERT_EQ(irq__remove_msi_route(&kvm, g[1]), -EINVAL);	/* gone already */
	TEST_ASSERT_EQ(irq__update_msi_route(&kvm, g[1], 0x1000, 7, 0), -EINVAL);
	TEST_ASSERT_EQ(irq__remove_msi_route(&kvm, 3), -EINVAL);	/* a wired pin */
	TEST_ASSERT_EQ(irq__update_msi_route(&kvm, g[2], 0x2000, 9, 0), 0);
	TEST_ASSERT_EQ(irq__add_msi_route(&kvm, 0x1000, 5, 0, &g[3]), 0);
	TEST_ASSERT_EQ(g[3], 9u);
	TEST_ASSERT_EQ(fake_kvm.nr_routes, 11u);
	/* Removing the last ones shrinks the table back to the pins. */
	for (unsigned int i = 0; i < 4; i++)
		if (i != 1)
			TEST_ASSERT_EQ(irq__remove_msi_route(&kvm, g[i]), 0);
	TEST_ASSERT_EQ(fake_kvm.nr_routes, 8u);
	TEST_ASSERT_EQ(irq__add_msi_route(&kvm, 0x1000, 1, 0, &g[0]), 0);
	TEST_ASSERT_EQ(g[0], 8u);
	irq__free(&kvm);
	close(kvm.vm_fd);
}

/*
 * The MSI-X table window is 4 KiB (256 entries) but the device has
 * nr_queues + 1 vectors: every entry past the last one, up to the end of
 * the window, reads as zeros and ignores writes, without an out-of-bounds
 * pointer (UBSan's bounds check fails the case if one is formed).
 */
static void test_msix_table_out_of_range(void)
{
	const u32 table = 0x4000, pba = 0x5000;
	static const unsigned int vecs[] = { 2, 16, 17, 18, 100, 255 };
	struct fx f;

	fx_init(&f, true);
	for (unsigned int i = 0; i < ARRAY_SIZE(vecs); i++) {
		u32 e = table + 16 * vecs[i];

		for (u32 field = 0; field < 16; field += 4) {
			bar_wr(&f, e + field, 0xffffffff, 4);
			TEST_ASSERT_EQ(bar_rd(&f, e + field, 4), 0u);
		}
		bar_wr(&f, e, ~0ULL, 8);
		TEST_ASSERT_EQ(bar_rd(&f, e + 8, 8), 0u);
	}
	/* The real entries are untouched: masked, address and data 0. */
	for (unsigned int v = 0; v < 2; v++) {
		TEST_ASSERT_EQ(bar_rd(&f, table + 16 * v, 8), 0u);
		TEST_ASSERT_EQ(bar_rd(&f, table + 16 * v + 8, 4), 0u);
		TEST_ASSERT_EQ(bar_rd(&f, table + 16 * v + 12, 4), 1u);
	}
	TEST_ASSERT_EQ(bar_rd(&f, pba, 8), 0u);
	fx_fini(&f);
}

#define S_A	VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_D	VIRTIO_CONFIG_S_DRIVER
#define S_FO	VIRTIO_CONFIG_S_FEATURES_OK
#define S_DO	VIRTIO_CONFIG_S_DRIVER_OK

static void status_wr(struct fx *f, u32 v)
{
	bar_wr(f, f->common + VIRTIO_PCI_COMMON_STATUS, v, 1);
}

static u32 status_rd(struct fx *f)
{
	return (u32)bar_rd(f, f->common + VIRTIO_PCI_COMMON_STATUS, 1);
}

/*
 * The device status state machine (virtio 1.2 §2.1, §3.1.1) through
 * device_status: only 0 resets, a write that would clear a set bit
 * changes nothing (driver_ok once per reset cycle), DRIVER_OK needs
 * FEATURES_OK.
 */
static void test_status_state_machine(void)
{
	struct count_dev_counts n;
	struct fx f;

	fx_init_count(&f, &n);
	status_wr(&f, 0);
	status_wr(&f, S_A | S_D);
	status_wr(&f, S_A | S_D | S_DO);
	TEST_ASSERT_EQ(status_rd(&f), S_A | S_D);
	TEST_ASSERT_EQ(n.driver_ok, 0u);

	driver_up(&f);
	TEST_ASSERT_EQ(status_rd(&f), S_A | S_D | S_FO | S_DO);
	TEST_ASSERT_EQ(n.driver_ok, 1u);
	status_wr(&f, S_A | S_D | S_FO);
	TEST_ASSERT_EQ(status_rd(&f), S_A | S_D | S_FO | S_DO);
	status_wr(&f, S_A | S_D | S_FO | S_DO);
	status_wr(&f, S_A | S_D);
	TEST_ASSERT_EQ(status_rd(&f), S_A | S_D | S_FO | S_DO);
	/* The features stay frozen, */
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_GF, 0, 4);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_GF, 4), F_VERSION_1 >> 32);
	status_wr(&f, S_A | S_D | S_FO | S_DO);
	status_wr(&f, S_A | S_D | S_DO);
	status_wr(&f, S_A | S_D | S_FO | S_DO);
	/* ...and driver_ok ran once. */
	TEST_ASSERT_EQ(status_rd(&f), S_A | S_D | S_FO | S_DO);
	TEST_ASSERT_EQ(n.driver_ok, 1u);
	/* The queue still works. */
	bar_wr(&f, f.notify, 0, 2);
	virtio_core__poll(f.c, 0);
	TEST_ASSERT(n.notifies >= 1, "the queue is live");

	/* A reset starts a new cycle: driver_ok once more. */
	driver_up(&f);
	TEST_ASSERT_EQ(n.driver_ok, 2u);
	status_wr(&f, 0);
	TEST_ASSERT_EQ(status_rd(&f), 0u);
	fx_fini(&f);
}

/* One request queue per vCPU: num_queues, VIRTIO_BLK_F_MQ, a vector each. */
static void test_blk_multiqueue(void)
{
	struct fx f;

	fx_init_nq(&f, true, 4);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_NUMQ, 2), 4u);
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	TEST_ASSERT(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_DF, 4) & (1u << 12), "VIRTIO_BLK_F_MQ not offered");
	TEST_ASSERT_EQ(bar_rd(&f, f.devcfg + 34, 2), 4u);		/* config num_queues */
	TEST_ASSERT_EQ(cfg_rd(&f, 0, f.msix_cap + 2, 2) & 0x7ff, 4u);	/* 5 vectors */
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_Q_SELECT, 3, 2);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_Q_NOFF, 2), 3u);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_Q_SIZE, 2), 512u);
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_Q_SELECT, 4, 2);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_Q_SIZE, 2), 0u);
	fx_fini(&f);
	/* One queue: no MQ feature. */
	fx_init_nq(&f, true, 1);
	bar_wr(&f, f.common + VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
	TEST_ASSERT_EQ(bar_rd(&f, f.common + VIRTIO_PCI_COMMON_DF, 4) & (1u << 12), 0u);
	fx_fini(&f);
}

static const struct test_case tests[] = {
	TEST_CASE(test_config_header),
	TEST_CASE(test_bar_sizing),
	TEST_CASE(test_common_config),
	TEST_CASE(test_status_state_machine),
	TEST_CASE(test_intx_request),
	TEST_CASE(test_pci_cfg_window),
	TEST_CASE(test_msix_masking),
	TEST_CASE(test_msix_table_out_of_range),
	TEST_CASE(test_msix_irqfd_refused),
	TEST_CASE(test_irq_route_removal),
	TEST_CASE(test_blk_multiqueue),
};

TEST_MAIN(tests)
