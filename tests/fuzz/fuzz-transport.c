// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: both virtio transports with every device behind
 * them, driven the way a guest drives them, by a fuzzed sequence of
 * register accesses, with I/O-thread passes (virtio_core__poll(c, 0)) in
 * between: virtio-mmio (its register window), and virtio-pci (ECAM config
 * space, BAR0: common config, ISR, device config, notifications, the
 * MSI-X table and PBA, and the PCI-config access window), with and
 * without MSI-X.  Accesses go through the VM's MMIO bus, as a vCPU's MMIO
 * exits do (kvm_cpu__handle_mmio), so the bus's bounds are in play too.
 *
 * Devices: virtio-blk on a temp file (engine=sync; io_uring when the host
 * has it; a read-only disk), virtio-rng, virtio-console (output to
 * /dev/null, input from the fuzzer), virtio-net on a fake tap (a
 * SOCK_SEQPACKET socketpair: the fuzzer injects frames, transmitted ones
 * land on the other end) with lkvm's own datapath, virtio-net handing
 * its rings to a fake vhost-net, virtio-9p on a small directory tree
 * (fresh for each input; requests run with nobody's filesystem uid, as
 * in fuzz-9p.c), virtio-balloon (inflating gives guest RAM back to the
 * host: MADV_DONTNEED on the fake RAM's mapping; the host side moves the
 * target and asks for statistics), and virtio-vsock on a fake vhost-vsock.
 *
 * Speed: a disk starts its engine's thread pool when it opens, so each
 * virtio-blk device is made once per process and handed from input to
 * input (its free op is a no-op here; a device reset through the
 * transport drains it, and the image file is rewritten); everything else
 * -- the VM, the RAM, the transport, the other devices -- is made afresh
 * for each input.
 *
 * Input: u8 fixture (transport x device), u8 number of records, 16 bytes
 * per record { u8 op, u8 len, u16 aux, u32 off, u64 val }, then the guest
 * RAM image (64 KiB at guest address 0, two regions).  Besides raw
 * accesses, records can bring a driver up the way Linux does (SETUP, with
 * queues laid out at QBASE(q)), write descriptors and offer them (DESC,
 * OFFER), kick a queue, inject a frame or console input, and reset.
 */
#include <endian.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <linux/vhost.h>
#include <linux/virtio_vsock.h>

#include "fuzz.h"
#include "lkvm/irq.h"
#include "lkvm/pci.h"
#include "lkvm/vhost.h"
#include "lkvm/virtio-transport.h"

#define MMIO_BASE	0x02000000ULL
#define MMIO_IRQ	5
#define ECAM_BASE	0x10000000ULL
#define BAR_BASE	0x20000000U
#define DISK_SIZE	(64 * SZ_KiB)

/* The SETUP layout: queue q's rings at QBASE(q), at most QMAX entries each. */
#define QBASE(q)	(0x400ULL * (q))
#define QDESC(q)	(QBASE(q))
#define QAVAIL(q)	(QBASE(q) + 0x100)
#define QUSED(q)	(QBASE(q) + 0x200)
#define QMAX		16

enum transport { T_MMIO, T_PCI_MSIX, T_PCI_INTX, NR_TRANSPORTS };
enum devkind {
	D_BLK, D_BLK_URING, D_BLK_RO, D_RNG, D_CONSOLE, D_NET, D_NET_VHOST, D_9P, D_BALLOON,
	D_VSOCK, NR_DEVS
};

enum {
	OP_WRITE,	/* a register write: mmio window, or BAR0 */
	OP_READ,
	OP_CFG_WRITE,	/* PCI: ECAM (aux bit 0: anywhere on the bus); mmio: device config */
	OP_CFG_READ,
	OP_PCFG,	/* PCI: an access through the VIRTIO_PCI_CAP_PCI_CFG window */
	OP_RAM,		/* guest RAM: 1..8 bytes of val at off */
	OP_POLL,	/* an I/O-thread pass */
	OP_SETUP,	/* bring the driver up: features val, queue sizes off */
	OP_KICK,	/* notify queue off, then an I/O-thread pass (len bit 6: a short one) */
	OP_DESC,	/* descriptor aux>>4 of queue aux&15: addr off, len/flags/next in val */
	OP_OFFER,	/* offer head val on queue aux, kick, pass (len bit 6: a short one) */
	OP_INPUT,	/* net: a frame from the tap; console: host input (bytes from the RAM image) */
	OP_RESET,	/* status 0 */
	OP_MSIX,	/* PCI: enable MSI-X, program vector off with val, mask with len bit 0 */
	OP_VHOST_FAIL,	/* the fake vhost fails its val-th ioctl from now on */
	OP_VHOST_CALL,	/* the fake vhost raises queue off's interrupt (its call eventfd) */
	OP_HOST,	/* balloon: the host moves the target by (s32)val pages, or asks for stats */
	NR_OPS
};

struct rec {
	u8 op, len;
	u16 aux;
	u32 off;
	u64 val;
};

struct fx {
	struct kvm kvm;
	enum transport t;
	enum devkind d;
	struct virtio_core *c;
	struct virtio_mmio *vm;
	struct pci_bus *bus;
	struct virtio_dev *dev;
	int net_host;		/* the fake tap's other end */
	const u8 *img;		/* the input's RAM image, for OP_INPUT */
	size_t img_len;
	unsigned int qnum[VIRTIO_MAX_QUEUES];	/* queue sizes SETUP gave */
	/* virtio-pci, found by walking the capabilities as a driver does */
	u32 common, notify, notify_mult, devcfg;
	u8 msix_cap, pcfg_cap;
	u32 msix_table, msix_pba;
};

static struct fuzz_ram ram;
static struct fx fx;
static int null_fd = -1;
static char disk_path[3][300];	/* one image per disk: a writable one is locked */
static u8 disk_pattern[DISK_SIZE];

/* The disks' devices, made once; their ops with a no-op free, so a transport can let go. */
struct blk_slot {
	struct virtio_dev *dev;
	struct virtio_dev_ops ops;	/* the device's own, but free */
	bool tried;
	bool dirty;		/* the image may have been written since it was restored */
	int img;		/* its image: D_BLK, D_BLK_URING, D_BLK_RO - D_BLK */
};
static struct blk_slot blk_slots[3];	/* D_BLK, D_BLK_URING, D_BLK_RO */

static unsigned int vhost_fail_at, vhost_calls;
static char share[320];


static void keep_free(struct virtio_dev *d)
{
	(void)d;
}

static void write_image(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0 || pwrite(fd, disk_pattern, DISK_SIZE, 0) != DISK_SIZE ||
	    ftruncate(fd, DISK_SIZE) < 0) {
		fprintf(stderr, "fuzz-transport: %s: %s\n", path, strerror(errno));
		abort();
	}
	close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_ram_alloc(&ram);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		abort();
	for (unsigned int i = 0; i < DISK_SIZE; i++)
		disk_pattern[i] = (u8)(i * 7 + i / 512);
	for (int i = 0; i < 3; i++) {
		snprintf(disk_path[i], sizeof(disk_path[i]), "%s/disk%d.img", fuzz_tmpdir(), i);
		write_image(disk_path[i]);
	}
	snprintf(share, sizeof(share), "%s/share", fuzz_tmpdir());
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The virtio-9p share, as each input finds it: a file and a directory (fuzz_share_uid()'s). */
static void make_share(void)
{
	char p[400];
	int fd;

	nftw(share, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(p, sizeof(p), "%s/dir", share);
	if (mkdir(share, 0755) || chown(share, fuzz_share_uid(), fuzz_share_gid()) ||
	    mkdir(p, 0755) || chown(p, fuzz_share_uid(), fuzz_share_gid()))
		abort();
	snprintf(p, sizeof(p), "%s/file", share);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "hello, 9p\n", 10) != 10 || fchown(fd, fuzz_share_uid(), fuzz_share_gid()))
		abort();
	close(fd);
}

/* The persistent virtio-blk of @d (NULL if its engine is missing here). */
static struct virtio_dev *blk_get(enum devkind d)
{
	static const char *const opts[] = { "engine=sync", "engine=io_uring", "ro,engine=sync" };
	struct blk_slot *s = &blk_slots[d - D_BLK];
	struct lkvm_err err = { "" };
	struct disk_opts o;
	char arg[400];

	if (!s->tried) {
		s->tried = true;
		s->img = d - D_BLK;
		snprintf(arg, sizeof(arg), "%s,%s", disk_path[s->img], opts[d - D_BLK]);
		if (disk__parse_opts(arg, &o, &err))
			abort();
		/* Two queues on the read-write disks: VIRTIO_BLK_F_MQ. */
		if (virtio_blk__new(&fx.kvm, &o, 0, d == D_BLK_RO ? 1 : 2, &s->dev, &err)) {
			if (d != D_BLK_URING) {
				fprintf(stderr, "fuzz-transport: %s\n", err.msg);
				abort();
			}
			s->dev = NULL;
			return NULL;
		}
		s->ops = *s->dev->ops;
		s->ops.free = keep_free;
		s->dev->ops = &s->ops;
	}
	if (s->dev && s->dirty) {
		write_image(disk_path[s->img]);
		s->dirty = false;
	}
	if (s->dev)
		s->dirty = d != D_BLK_RO;
	return s->dev;
}

/* The fake vhost-net: every ioctl succeeds until the fuzzer says otherwise. */
static int fake_vhost(struct vhost_dev *v, unsigned long req, void *arg)
{
	(void)v;
	if (vhost_fail_at && ++vhost_calls >= vhost_fail_at)
		return -EINVAL;
	if (req == VHOST_GET_VRING_BASE)
		((struct vhost_vring_state *)arg)->num = 0;
	return 0;
}

static struct virtio_dev *make_dev(enum devkind d)
{
	struct lkvm_err err = { "" };
	struct virtio_dev *dev = NULL;
	struct net_backend be;
	struct net_opts o;
	bool none;
	int sv[2], r;

	switch (d) {
	case D_BLK:
	case D_BLK_URING:
	case D_BLK_RO:
		return blk_get(d);
	case D_RNG:
		r = virtio_rng__new(&fx.kvm, &dev, &err);
		break;
	case D_CONSOLE:
		r = virtio_console__new(&fx.kvm, NULL, &dev, &err);
		break;
	case D_9P: {
		struct p9_share sh = { .ro = false };

		make_share();
		snprintf(sh.dir, sizeof(sh.dir), "%s", share);
		snprintf(sh.tag, sizeof(sh.tag), "fuzz");
		r = virtio_9p__new(&fx.kvm, &sh, &dev, &err);
		break;
	}
	case D_BALLOON:
		r = virtio_balloon__new(&fx.kvm, true, &dev, &err);
		break;
	case D_VSOCK: {
		struct vhost_dev v;

		vhost__init(&v);
		v.fd = dup(null_fd);
		v.node = "/dev/vhost-vsock (fake)";
		v.features = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) |
			     BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_VSOCK_F_SEQPACKET);
		v.fake_ioctl = fake_vhost;
		r = virtio_vsock__new(&fx.kvm, 3, &v, &dev, &err);
		break;
	}
	case D_NET:
	case D_NET_VHOST:
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
			abort();
		if (net__parse_opts("mode=tap", 0, &o, &none, &err))
			abort();
		net__backend_init(&be);
		be.tap_fd = sv[1];
		snprintf(be.ifname, sizeof(be.ifname), "fuzztap");
		if (d == D_NET_VHOST) {
			be.vhost.fd = dup(null_fd);
			be.vhost.node = "/dev/vhost-net (fake)";
			be.vhost.features = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) |
					    BIT(VIRTIO_RING_F_INDIRECT_DESC) |
					    BIT(VIRTIO_NET_F_MRG_RXBUF);
			be.vhost.fake_ioctl = fake_vhost;
		}
		fx.net_host = sv[0];
		r = virtio_net__new(&fx.kvm, &o, &be, &dev, &err);
		break;
	default:
		abort();
	}
	if (r) {
		fprintf(stderr, "fuzz-transport: %s\n", err.msg);
		abort();
	}
	return dev;
}

static bool is_pci(void)
{
	return fx.t != T_MMIO;
}

/* One vCPU access to guest-physical @addr, dispatched as kvm_cpu__handle_mmio() does. */
static void vcpu_access(u64 addr, u8 *data, u32 len, bool is_write)
{
	const struct mmio_range *r = mmio__find(&fx.kvm.mmio, addr, len);

	if (r)
		r->fn(r->opaque, addr - r->base, data, len, is_write);
	else if (!is_write)
		memset(data, 0, len);
}

static u64 rd(u64 addr, u32 len)
{
	u8 b[8] = { 0 };
	u64 v = 0;

	vcpu_access(addr, b, len, false);
	for (u32 i = 0; i < len; i++)
		v |= (u64)b[i] << (8 * i);
	return v;
}

static void wr(u64 addr, u64 val, u32 len)
{
	u8 b[8];

	for (u32 i = 0; i < len; i++)
		b[i] = (u8)(val >> (8 * i));
	vcpu_access(addr, b, len, true);
}

/* Register addresses of the device's transport. */
static u64 reg_base(void)
{
	return is_pci() ? BAR_BASE : MMIO_BASE;
}

static u64 cfg_rd(u32 reg, u32 len)
{
	return rd(ECAM_BASE + reg, len);
}

static void cfg_wr(u32 reg, u64 val, u32 len)
{
	wr(ECAM_BASE + reg, val, len);
}

static void find_caps(void)
{
	unsigned int guard = 0;

	for (u32 at = (u32)cfg_rd(PCI_CAPABILITY_LIST, 1); at && ++guard < 48;
	     at = (u32)cfg_rd(at + 1, 1)) {
		if (cfg_rd(at, 1) == PCI_CAP_ID_MSIX) {
			fx.msix_cap = (u8)at;
			fx.msix_table = (u32)cfg_rd(at + 4, 4) & ~7u;
			fx.msix_pba = (u32)cfg_rd(at + 8, 4) & ~7u;
			continue;
		}
		switch (cfg_rd(at + 3, 1)) {
		case VIRTIO_PCI_CAP_COMMON_CFG: fx.common = (u32)cfg_rd(at + 8, 4); break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			fx.notify = (u32)cfg_rd(at + 8, 4);
			fx.notify_mult = (u32)cfg_rd(at + 16, 4);
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG: fx.devcfg = (u32)cfg_rd(at + 8, 4); break;
		case VIRTIO_PCI_CAP_PCI_CFG: fx.pcfg_cap = (u8)at; break;
		}
	}
}

static void fx_up(const u8 *sel)
{
	struct lkvm_err err = { "" };
	int r;

	fx.t = (enum transport)(sel[0] % NR_TRANSPORTS);
	fx.d = (enum devkind)((sel[0] / NR_TRANSPORTS) % NR_DEVS);
	fuzz_vm_init(&fx.kvm, &ram);
	fx.net_host = -1;
	if (fx.t == T_PCI_MSIX)
		irq__set_wired_pins(&fx.kvm, 32);
	fx.dev = make_dev(fx.d);
	if (!fx.dev && fx.d == D_BLK_URING) {
		fx.d = D_BLK;
		fx.dev = make_dev(fx.d);
	}
	if (fx.t == T_MMIO) {
		r = virtio_mmio__new(&fx.kvm, fx.dev, MMIO_BASE, MMIO_IRQ, &fx.vm, &err);
		fx.c = r ? NULL : virtio_mmio__core(fx.vm);
	} else {
		r = pci__new(&fx.kvm, ECAM_BASE, &fx.bus, &err);
		if (!r) {
			fx.bus->intx_line = 8;
			r = virtio_pci__new(&fx.kvm, fx.bus, fx.dev, BAR_BASE, fx.t == T_PCI_MSIX,
					    &fx.c, &err);
		}
	}
	if (r) {
		fprintf(stderr, "fuzz-transport: %s\n", err.msg);
		abort();
	}
	/* A device handed over from the last input starts from a reset, as after a reboot. */
	if (fx.d <= D_BLK_RO) {
		pthread_mutex_lock(&fx.c->lock);
		virtio_core__reset(fx.c);
		pthread_mutex_unlock(&fx.c->lock);
	}
	if (is_pci())
		find_caps();
	/* 9P requests act on the share as nobody: a way out of it could not do harm. */
	if (fx.d == D_9P)
		fuzz_fs_identity(true);
}

static void fx_down(void)
{
	if (fx.d == D_9P)
		fuzz_fs_identity(false);
	/* The persistent disks: in-flight I/O drained while the RAM is still this input's. */
	if (fx.d <= D_BLK_RO) {
		pthread_mutex_lock(&fx.c->lock);
		virtio_core__reset(fx.c);
		pthread_mutex_unlock(&fx.c->lock);
	}
	virtio_transport__free(fx.c);
	if (fx.bus)
		pci__free(fx.bus);
	mmio__free(&fx.kvm.mmio);
	irq__free(&fx.kvm);
	if (fx.net_host >= 0)
		close(fx.net_host);
	memset(&fx, 0, sizeof(fx));
	vhost_fail_at = vhost_calls = 0;
}

/*
 * Chains popped but not yet answered (each popped chain is pushed once),
 * over the queues where that count makes sense; *@odd is set if a queue's
 * used index ran ahead of what it took (a queue disabled and set up again
 * while requests were in flight: their answers land in the new ring).
 */
static unsigned int in_flight(bool *odd)
{
	struct virtio_dev *d = fx.c->dev;
	unsigned int n = 0;

	*odd = false;
	for (unsigned int q = 0; q < d->nr_queues; q++) {
		u16 k = (u16)(d->vq[q].last_avail_idx - d->vq[q].used_idx);

		if (k > d->vq[q].num)
			*odd = true;
		else
			n += k;
	}
	return n;
}

/*
 * What the I/O thread would do by now: a few passes, then, for a disk,
 * passes until every request it took is answered (the disk's threads
 * complete them in microseconds; one that never completes is a finding).
 */
static void io_pass(void)
{
	u64 t0;
	bool odd;

	for (int i = 0; i < 3; i++)
		virtio_core__poll(fx.c, 0);
	if (fx.d > D_BLK_RO)
		return;
	t0 = now_ns();
	while (in_flight(&odd) || odd) {
		u64 waited = now_ns() - t0;

		/* Counts off: give the disk a moment, then go on. */
		if (!in_flight(&odd) && waited > 20 * 1000000ULL)
			break;
		FUZZ_CHECK(waited < 10 * 1000000000ULL,
			   "virtio-blk: %u requests still in flight after 10 s", in_flight(&odd));
		virtio_core__poll(fx.c, 10);
	}
}

static u32 access_len(u8 len)
{
	return 1U << (len & 3);
}

/* ---- a driver, as Linux's virtio_mmio / virtio_pci_modern bring one up --- */

static void common_wr(u32 field, u64 val, u32 len)
{
	wr(BAR_BASE + fx.common + field, val, len);
}

static u64 common_rd(u32 field, u32 len)
{
	return rd(BAR_BASE + fx.common + field, len);
}

static void set_status(u32 s)
{
	if (is_pci())
		common_wr(VIRTIO_PCI_COMMON_STATUS, s, 1);
	else
		wr(MMIO_BASE + VIRTIO_MMIO_STATUS, s, 4);
}

static u64 offered(void)
{
	u64 f;

	if (is_pci()) {
		common_wr(VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
		f = common_rd(VIRTIO_PCI_COMMON_DF, 4);
		common_wr(VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
		return f | common_rd(VIRTIO_PCI_COMMON_DF, 4) << 32;
	}
	wr(MMIO_BASE + VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0, 4);
	f = rd(MMIO_BASE + VIRTIO_MMIO_DEVICE_FEATURES, 4);
	wr(MMIO_BASE + VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1, 4);
	return f | rd(MMIO_BASE + VIRTIO_MMIO_DEVICE_FEATURES, 4) << 32;
}

static void set_features(u64 f)
{
	for (u32 sel = 0; sel < 2; sel++) {
		if (is_pci()) {
			common_wr(VIRTIO_PCI_COMMON_GFSELECT, sel, 4);
			common_wr(VIRTIO_PCI_COMMON_GF, (u32)(f >> (32 * sel)), 4);
		} else {
			wr(MMIO_BASE + VIRTIO_MMIO_DRIVER_FEATURES_SEL, sel, 4);
			wr(MMIO_BASE + VIRTIO_MMIO_DRIVER_FEATURES, (u32)(f >> (32 * sel)), 4);
		}
	}
}

/* Queue @q of @num entries with its rings at @base + (0, 0x100, 0x200). */
static void setup_queue(unsigned int q, unsigned int num, u16 vector, u64 base)
{
	u64 desc = base, avail = base + 0x100, used = base + 0x200;

	if (is_pci()) {
		common_wr(VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
		common_wr(VIRTIO_PCI_COMMON_Q_SIZE, num, 2);
		common_wr(VIRTIO_PCI_COMMON_Q_MSIX, vector, 2);
		common_wr(VIRTIO_PCI_COMMON_Q_DESCLO, desc, 8);
		common_wr(VIRTIO_PCI_COMMON_Q_AVAILLO, (u32)avail, 4);
		common_wr(VIRTIO_PCI_COMMON_Q_AVAILHI, avail >> 32, 4);
		common_wr(VIRTIO_PCI_COMMON_Q_USEDLO, used, 8);
		common_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
		return;
	}
	wr(MMIO_BASE + VIRTIO_MMIO_QUEUE_SEL, q, 4);
	wr(MMIO_BASE + VIRTIO_MMIO_QUEUE_NUM, num, 4);
	wr(MMIO_BASE + VIRTIO_MMIO_QUEUE_DESC_LOW, (u32)desc, 4);
	wr(MMIO_BASE + VIRTIO_MMIO_QUEUE_DESC_HIGH, desc >> 32, 4);
	wr(MMIO_BASE + VIRTIO_MMIO_QUEUE_AVAIL_LOW, (u32)avail, 4);
	wr(MMIO_BASE + VIRTIO_MMIO_QUEUE_AVAIL_HIGH, avail >> 32, 4);
	wr(MMIO_BASE + VIRTIO_MMIO_QUEUE_USED_LOW, (u32)used, 4);
	wr(MMIO_BASE + VIRTIO_MMIO_QUEUE_USED_HIGH, used >> 32, 4);
	wr(MMIO_BASE + VIRTIO_MMIO_QUEUE_READY, 1, 4);
}

/*
 * virtio 1.2 §3.1.1: reset, ACKNOWLEDGE, DRIVER, the features the device
 * offers masked by @val (VERSION_1 kept unless len bit 0), FEATURES_OK,
 * the queues (sizes 2^0..2^4 from @off, 4 bits each; with len bit 2 queue
 * aux%16 has its rings at (aux >> 4) * 4 KiB instead: often not RAM),
 * MSI-X vectors on PCI, then DRIVER_OK (unless len bit 1), and an
 * I/O-thread pass.
 */
static void op_setup(const struct rec *r)
{
	const u32 s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	unsigned int nq = fx.c->dev->nr_queues;
	u64 f;

	set_status(0);
	set_status(VIRTIO_CONFIG_S_ACKNOWLEDGE);
	set_status(s);
	f = offered() & (r->val | (r->len & 1 ? 0 : BIT(VIRTIO_F_VERSION_1)));
	set_features(f);
	set_status(s | VIRTIO_CONFIG_S_FEATURES_OK);
	if (is_pci())
		common_wr(VIRTIO_PCI_COMMON_MSIX, 0, 2);
	for (unsigned int q = 0; q < nq && q < 8; q++) {
		bool moved = (r->len & 4) && q == r->aux % nq;

		fx.qnum[q] = 1U << (((r->off >> (4 * q)) & 15) % 5);
		setup_queue(q, fx.qnum[q], (u16)(q + 1),
			    moved ? (u64)(r->aux >> 4) << 12 : QBASE(q));
	}
	if (!(r->len & 2))
		set_status(s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	io_pass();
}

/* Notifies queue @q; the I/O thread then takes it, and the disk's answers unless @quick. */
static void kick(unsigned int q, bool quick)
{
	if (is_pci())
		wr(BAR_BASE + fx.notify + q * fx.notify_mult, q, 2);
	else
		wr(MMIO_BASE + VIRTIO_MMIO_QUEUE_NOTIFY, q, 4);
	if (quick)
		virtio_core__poll(fx.c, 0);
	else
		io_pass();
}

static void ram_put(u64 gpa, u64 val, u32 len)
{
	u8 *p = gmem__ptr(&fx.kvm, gpa, len);

	for (u32 i = 0; p && i < len; i++)
		p[i] = (u8)(val >> (8 * i));
}

static u16 ram_get16(u64 gpa)
{
	u8 *p = gmem__ptr(&fx.kvm, gpa, 2);

	return p ? (u16)(p[0] | p[1] << 8) : 0;
}

static void op_desc(const struct rec *r)
{
	unsigned int q = r->aux & 15, i = (r->aux >> 4) % QMAX;

	ram_put(QDESC(q) + 16ULL * i, r->off, 8);
	ram_put(QDESC(q) + 16ULL * i + 8, r->val, 8);	/* len, flags, next */
}

static void op_offer(const struct rec *r)
{
	unsigned int q = r->aux % VIRTIO_MAX_QUEUES, num = fx.qnum[q] ? fx.qnum[q] : QMAX;
	u16 idx = ram_get16(QAVAIL(q) + 2);

	ram_put(QAVAIL(q) + 4 + 2ULL * (idx % num), r->val, 2);
	ram_put(QAVAIL(q) + 2, (u16)(idx + 1), 2);
	kick(q, r->len & 0x40);
}

static void op_input(const struct rec *r)
{
	size_t len = (r->val & 0xffff) + (r->len & 1 ? 0x10000 : 0), at;
	static u8 frame[0x20000];

	if (!fx.img_len)
		return;
	/* The frame's bytes: the RAM image from @off on, repeated. */
	at = r->off % fx.img_len;
	for (size_t i = 0; i < len; i++)
		frame[i] = fx.img[(at + i) % fx.img_len];
	if (fx.d == D_CONSOLE) {
		virtio_console__input(fx.c->dev, frame, MIN(len, 8192));
	} else if (fx.net_host >= 0) {
		if (send(fx.net_host, frame, len, MSG_DONTWAIT) < 0) {
			/* The tap's queue is full: the frame is lost, as on a real tap. */
		}
	}
	io_pass();
}

static void op_msix(const struct rec *r)
{
	unsigned int nvec = fx.c->dev->nr_queues + 1, v = r->off % nvec;
	u64 e = BAR_BASE + fx.msix_table + 16ULL * v;

	if (!fx.msix_cap)
		return;
	cfg_wr(fx.msix_cap + 2, (r->len & 2 ? 0x4000 : 0) | 0x8000, 2);
	wr(e, (u32)r->val, 4);
	wr(e + 4, (u32)(r->val >> 32) & 0xff, 4);
	wr(e + 8, r->aux, 4);
	wr(e + 12, r->len & 1, 4);
	io_pass();
}

static void op_pcfg(const struct rec *r)
{
	u32 len = r->len & 4 ? r->len >> 3 : access_len(r->len);

	if (!fx.pcfg_cap)
		return;
	cfg_wr(fx.pcfg_cap + 4, r->aux & 0x100 ? r->aux & 0xff : 0, 1);	/* bar */
	cfg_wr(fx.pcfg_cap + 8, r->off, 4);				/* offset */
	cfg_wr(fx.pcfg_cap + 12, len, 4);				/* length */
	if (r->aux & 1)
		cfg_wr(fx.pcfg_cap + 16, r->val, 4);
	else
		(void)cfg_rd(fx.pcfg_cap + 16, 4);
}

static void run(const struct rec *r)
{
	u32 len = access_len(r->len);

	switch (r->op % NR_OPS) {
	case OP_WRITE:
		/* Mostly inside the window; sometimes across or past its end. */
		wr(reg_base() + (r->len & 0x80 ? r->off & 0xffff : r->off % (is_pci() ?
		   VIRTIO_PCI_BAR_SIZE : VIRTIO_MMIO_SIZE)), r->val, len);
		break;
	case OP_READ:
		(void)rd(reg_base() + (r->len & 0x80 ? r->off & 0xffff : r->off % (is_pci() ?
			 VIRTIO_PCI_BAR_SIZE : VIRTIO_MMIO_SIZE)), len);
		break;
	case OP_CFG_WRITE:
		if (!is_pci())
			wr(MMIO_BASE + VIRTIO_MMIO_CONFIG + (r->off & 0xff), r->val, len);
		else
			cfg_wr(r->aux & 1 ? r->off % PCI_ECAM_BUS_SIZE : r->off % PCI_CFG_SIZE,
			       r->val, len);
		break;
	case OP_CFG_READ:
		if (!is_pci())
			(void)rd(MMIO_BASE + VIRTIO_MMIO_CONFIG + (r->off & 0xff), len);
		else
			(void)cfg_rd(r->aux & 1 ? r->off % PCI_ECAM_BUS_SIZE : r->off % PCI_CFG_SIZE,
				     len);
		break;
	case OP_PCFG:
		if (is_pci())
			op_pcfg(r);
		break;
	case OP_RAM:
		ram_put(r->off % FUZZ_RAM_SIZE, r->val, (r->len & 7) + 1);
		break;
	case OP_POLL:
		io_pass();
		break;
	case OP_SETUP:
		op_setup(r);
		break;
	case OP_KICK:
		/* Quick: a reset or a queue change can come with the disk's requests in flight. */
		kick(r->off % (VIRTIO_MAX_QUEUES + 1), r->len & 0x40);
		break;
	case OP_DESC:
		op_desc(r);
		break;
	case OP_OFFER:
		op_offer(r);
		break;
	case OP_INPUT:
		op_input(r);
		break;
	case OP_RESET:
		set_status(0);
		break;
	case OP_MSIX:
		op_msix(r);
		break;
	case OP_VHOST_FAIL:
		vhost_fail_at = (unsigned int)(r->val % 64);
		vhost_calls = 0;
		break;
	case OP_HOST:
		if (fx.d == D_BALLOON) {
			struct virtio_balloon_info info;

			if (r->len & 1)
				(void)virtio_balloon__info(&fx.kvm, 0, &info);
			else
				(void)virtio_balloon__adjust(&fx.kvm, (int32_t)r->val, NULL);
		}
		io_pass();
		break;
	case OP_VHOST_CALL:
		if (fx.c->call_fd[r->off % VIRTIO_MAX_QUEUES] >= 0)
			virtio_efd_signal(fx.c->call_fd[r->off % VIRTIO_MAX_QUEUES]);
		io_pass();
		break;
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fz in = { data, size };
	u8 sel = fz_u8(&in);
	unsigned int nrec = fz_u8(&in);
	size_t rec_bytes = MIN((size_t)nrec * 16, in.n), got;
	struct fz recs = { in.p, rec_bytes };

	in.p += rec_bytes;
	in.n -= rec_bytes;
	fx.img = fz_bytes(&in, FUZZ_RAM_SIZE, &got);
	fx.img_len = got;
	fuzz_ram_fill(&ram, fx.img, got);
	fx_up(&sel);
	while (recs.n) {
		struct rec r;

		r.op = fz_u8(&recs);
		r.len = fz_u8(&recs);
		r.aux = fz_u16(&recs);
		r.off = fz_u32(&recs);
		r.val = fz_u64(&recs);
		run(&r);
	}
	io_pass();
	fx_down();
	return 0;
}
