// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-net (virtio/net.c) without KVM and without a tap: the device sits
 * behind the virtio-mmio transport on a fake guest RAM, and one end of a
 * socketpair(AF_UNIX, SOCK_SEQPACKET) stands in for the tap fd (a frame
 * per read or write, header included, like a tap with IFF_VNET_HDR).  The
 * test is both the driver (rings in guest RAM, register writes) and the
 * host network (the socket's other end); virtio_mmio__poll() stands in
 * for the I/O thread.  The vhost-net hand-over runs against a fake vhost
 * (struct vhost_dev's fake_ioctl) that records every ioctl.
 *
 * Fake guest-physical map (one 1 MiB region at RAM), per queue q:
 *   RAM + q*0x10000 + 0x0000 descriptors, +0x1000 avail, +0x2000 used
 *   RAM + 0x80000.. buffers
 */
#include <endian.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "lkvm/gmem.h"
#include "lkvm/kvm.h"
#include "lkvm/vhost.h"
#include "lkvm/virtio-transport.h"
#include "test.h"
#include "guest-mem.h"
#include "mmio-driver.h"

#define RAM		0x80000000ULL
#define RAM_SIZE	SZ_MiB
#define QBASE(q)	(RAM + 0x10000ULL * (q))
#define DESC(q)		(QBASE(q))
#define AVAIL(q)	(QBASE(q) + 0x1000)
#define USED(q)		(QBASE(q) + 0x2000)
#define BUF		(RAM + 0x80000)
#define MMIO_BASE	0x02000000ULL
#define QNUM		16

#define RXQ		VIRTIO_NET_RXQ
#define TXQ		VIRTIO_NET_TXQ
#define HDR		VIRTIO_NET_HDR_LEN

#define F_VERSION_1	BIT(VIRTIO_F_VERSION_1)
#define F_EVENT_IDX	BIT(VIRTIO_RING_F_EVENT_IDX)
#define F_MRG		BIT(VIRTIO_NET_F_MRG_RXBUF)
#define F_MAC		BIT(VIRTIO_NET_F_MAC)
#define F_CSUM		BIT(VIRTIO_NET_F_CSUM)

struct fx {
	struct kvm kvm;
	u8 *ram;
	struct virtio_mmio *vm;
	struct virtio_dev *dev;
	int host;		/* the "host network" end of the fake tap */
	int tap;		/* the device's end (the device owns it) */
	int tap_peek;		/* a dup of the device's end, to see what waits in it */
	u16 avail_idx[2];
	u16 used_seen[2];
};

#define rd(f, off)		mmio_rd((f)->vm, (off))
#define wr(f, off, val)		mmio_wr((f)->vm, (off), (val))

static int fake_vhost(struct vhost_dev *v, unsigned long req, void *arg);

/* @vhost: the device gets a fake vhost-net (fake_vhost()) as if net/tap.c had opened one. */
static void fx_setup(struct fx *f, const char *mac, bool vhost)
{
	struct lkvm_err err = { "" };
	struct net_backend be;
	struct net_opts o;
	bool none = true;
	int sv[2];

	memset(f, 0, sizeof(*f));
	f->kvm.sys_fd = f->kvm.vm_fd = -1;
	f->ram = calloc(1, RAM_SIZE);
	TEST_ASSERT(f->ram, "calloc");
	TEST_ASSERT_EQ(gmem__add_region(&f->kvm, RAM, RAM_SIZE, f->ram), 0);

	TEST_ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	f->host = sv[0];
	f->tap_peek = dup(sv[1]);
	TEST_ASSERT(f->tap_peek >= 0, "dup");
	TEST_ASSERT_EQ(net__parse_opts(mac, 0, &o, &none, &err), 0);
	TEST_ASSERT(!none, "a NIC");
	net__backend_init(&be);
	be.tap_fd = sv[1];
	snprintf(be.ifname, sizeof(be.ifname), "faketap");
	snprintf(be.why_userspace, sizeof(be.why_userspace), "unit test");
	f->tap = sv[1];
	if (vhost) {
		be.vhost.fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		TEST_ASSERT(be.vhost.fd >= 0, "open /dev/null");
		be.vhost.node = "/dev/vhost-net (fake)";
		be.vhost.features = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) |
				    BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_NET_F_MRG_RXBUF) |
				    BIT(VHOST_F_LOG_ALL);
		be.vhost.fake_ioctl = fake_vhost;
	}
	TEST_ASSERT(virtio_net__new(&f->kvm, &o, &be, &f->dev, &err) == 0, "net: %s", err.msg);
	TEST_ASSERT_EQ(be.tap_fd, -1);	/* the device took it */
	TEST_ASSERT(!vhost__is_open(&be.vhost), "the device took the vhost");
	TEST_ASSERT(virtio_mmio__new(&f->kvm, f->dev, MMIO_BASE, 16, &f->vm, &err) == 0, "mmio: %s",
		    err.msg);
}

static void fx_init(struct fx *f, const char *mac)
{
	fx_setup(f, mac, false);
}

static void fx_fini(struct fx *f)
{
	virtio_mmio__free(f->vm);
	mmio__free(&f->kvm.mmio);
	close(f->host);
	close(f->tap_peek);
	free(f->ram);
}

/* §3.1.1: negotiation, both queues of QNUM, DRIVER_OK. */
static void driver_up(struct fx *f, u64 features)
{
	wr(f, VIRTIO_MMIO_STATUS, 0);
	memset(f->avail_idx, 0, sizeof(f->avail_idx));
	memset(f->used_seen, 0, sizeof(f->used_seen));
	memset(f->ram, 0, 0x30000);
	TEST_ASSERT(mmio_negotiate(f->vm, features), "FEATURES_OK");
	for (unsigned int q = 0; q < 2; q++) {
		mmio_setup_queue(f->vm, q, QNUM, DESC(q), AVAIL(q), USED(q));
		TEST_ASSERT_EQ(rd(f, VIRTIO_MMIO_QUEUE_READY), 1);
	}
	mmio_driver_ok(f->vm);
	/* DRIVER_OK makes the transport look at every ready queue once. */
	virtio_mmio__poll(f->vm, 0);
}

static void set_desc(struct fx *f, unsigned int q, unsigned int i, u64 addr, u32 len, u16 flags,
		     u16 next)
{
	gm_set_desc(&f->kvm, DESC(q), i, addr, len, flags, next);
}

static void offer(struct fx *f, unsigned int q, u16 head)
{
	put16(f, AVAIL(q) + 4 + 2ULL * (f->avail_idx[q] % QNUM), head);
	f->avail_idx[q]++;
	put16(f, AVAIL(q) + 2, f->avail_idx[q]);
}

static u16 used_idx(struct fx *f, unsigned int q)
{
	return get16(f, USED(q) + 2);
}

/* The @k-th used element ever on queue @q: its id and length. */
static u32 used_id_at(struct fx *f, unsigned int q, unsigned int k)
{
	return get32(f, USED(q) + 4 + 8ULL * (k % QNUM));
}

static u32 used_len_at(struct fx *f, unsigned int q, unsigned int k)
{
	return get32(f, USED(q) + 4 + 8ULL * (k % QNUM) + 4);
}

/* Runs the I/O loop until queue @q's used ring reaches @want entries (or fails). */
static void wait_used(struct fx *f, unsigned int q, u16 want)
{
	for (int i = 0; i < 300 && used_idx(f, q) != want; i++)
		virtio_mmio__poll(f->vm, 10);
	TEST_ASSERT_EQ(used_idx(f, q), want);
	f->used_seen[q] = want;
}

static void kick(struct fx *f, unsigned int q)
{
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static bool needs_reset(struct fx *f)
{
	return rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET;
}

static void pattern(u8 *p, size_t len, u8 seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (u8)(seed + i * 7);
}

/* Sends a frame of @len payload bytes (after a zero header) from the host side. */
static void host_send(struct fx *f, size_t len, u8 seed)
{
	static u8 buf[70000];

	TEST_ASSERT(HDR + len <= sizeof(buf), "test bug");
	memset(buf, 0, HDR);
	buf[0] = 0xff;	/* flags the device must clear without GUEST_CSUM */
	pattern(buf + HDR, len, seed);
	TEST_ASSERT_EQ(send(f->host, buf, HDR + len, 0), (ssize_t)(HDR + len));
}

/* Bytes of frames waiting in the fake tap for the device to read. */
static int tap_pending(struct fx *f)
{
	int n = -1;

	TEST_ASSERT_EQ(ioctl(f->tap_peek, FIONREAD, &n), 0);
	return n;
}

static struct virtio_net_stats stats(struct fx *f)
{
	struct virtio_net_stats st;

	virtio_net__stats(f->dev, &st);
	return st;
}

/* ---- identity ----------------------------------------------------------- */

static void test_identity(void)
{
	struct fx f;
	u64 feat;

	fx_init(&f, "mode=tap,guest_mac=02:11:22:33:44:55");
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_NET);
	wr(&f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	feat = rd(&f, VIRTIO_MMIO_DEVICE_FEATURES);
	wr(&f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	feat |= (u64)rd(&f, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	TEST_ASSERT((feat & (F_MAC | F_MRG | F_VERSION_1 | BIT(VIRTIO_NET_F_STATUS))) ==
		    (F_MAC | F_MRG | F_VERSION_1 | BIT(VIRTIO_NET_F_STATUS)), "features %#llx",
		    (unsigned long long)feat);
	TEST_ASSERT(feat & F_CSUM, "the tap checksums what the guest sends");
	/* Not a tap (no TUNSETOFFLOAD): no guest offloads, no control queue, no MQ. */
	TEST_ASSERT(!(feat & (BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4) |
			      BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_MQ))),
		    "features %#llx", (unsigned long long)feat);
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 2);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	/* §5.1.4: mac, then status with LINK_UP, then max_virtqueue_pairs 1. */
	{
		u8 cfg[10];

		for (unsigned int i = 0; i < sizeof(cfg); i++)
			virtio_mmio__access(f.vm, VIRTIO_MMIO_CONFIG + i, &cfg[i], 1, false);
		TEST_ASSERT(!memcmp(cfg, "\x02\x11\x22\x33\x44\x55", 6), "config MAC");
		TEST_ASSERT_EQ(cfg[6] | cfg[7] << 8, VIRTIO_NET_S_LINK_UP);
		TEST_ASSERT_EQ(cfg[8] | cfg[9] << 8, 1);
	}
	fx_fini(&f);
}

/* ---- transmit ------------------------------------------------------------ */

/* §5.1.6.2: header and frame, in any descriptor layout, reach the tap as one frame. */
static void test_transmit(void)
{
	static u8 got[4096];
	struct fx f;
	u8 *p;

	fx_init(&f, "mode=tap");
	driver_up(&f, F_VERSION_1 | F_MAC);
	/* Header in its own descriptor, the frame in two. */
	p = gp(&f, BUF, HDR);
	memset(p, 0, HDR);
	pattern(gp(&f, BUF + 0x1000, 100), 100, 1);
	pattern(gp(&f, BUF + 0x2000, 200), 200, 101);
	set_desc(&f, TXQ, 0, BUF, HDR, VRING_DESC_F_NEXT, 1);
	set_desc(&f, TXQ, 1, BUF + 0x1000, 100, VRING_DESC_F_NEXT, 2);
	set_desc(&f, TXQ, 2, BUF + 0x2000, 200, 0, 0);
	offer(&f, TXQ, 0);
	kick(&f, TXQ);
	wait_used(&f, TXQ, 1);
	TEST_ASSERT_EQ(used_id_at(&f, TXQ, 0), 0);
	TEST_ASSERT_EQ(used_len_at(&f, TXQ, 0), 0);
	TEST_ASSERT_EQ(recv(f.host, got, sizeof(got), 0), (ssize_t)(HDR + 300));
	TEST_ASSERT(!memcmp(got + HDR, gp(&f, BUF + 0x1000, 100), 100), "first part");
	TEST_ASSERT(!memcmp(got + HDR + 100, gp(&f, BUF + 0x2000, 200), 200), "second part");

	/* Header split 5 + 7 with the frame's start in the second descriptor. */
	p = gp(&f, BUF + 0x3000, 64);
	memset(p, 0, 64);
	pattern(p + HDR, 52, 9);
	set_desc(&f, TXQ, 3, BUF + 0x3000, 5, VRING_DESC_F_NEXT, 4);
	set_desc(&f, TXQ, 4, BUF + 0x3005, 59, 0, 0);
	offer(&f, TXQ, 3);
	kick(&f, TXQ);
	wait_used(&f, TXQ, 2);
	TEST_ASSERT_EQ(used_id_at(&f, TXQ, 1), 3);
	TEST_ASSERT_EQ(recv(f.host, got, sizeof(got), 0), 64);
	TEST_ASSERT(!memcmp(got, p, 64), "split header");
	TEST_ASSERT_EQ(stats(&f).tx_frames, 2);
	TEST_ASSERT_EQ(stats(&f).tx_dropped, 0);
	fx_fini(&f);
}

/*
 * A header that breaks the negotiated features, or a chain shorter than a
 * header, is dropped and counted; the chain still completes, and the
 * device goes on.
 */
static void test_transmit_bad_header(void)
{
	static u8 got[256];
	struct fx f;
	u8 *p;

	fx_init(&f, "mode=tap");
	driver_up(&f, F_VERSION_1);	/* no CSUM, no HOST_TSO */
	p = gp(&f, BUF, 64);
	memset(p, 0, 64);
	p[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	set_desc(&f, TXQ, 0, BUF, 64, 0, 0);
	offer(&f, TXQ, 0);
	p = gp(&f, BUF + 0x100, 64);
	memset(p, 0, 64);
	p[1] = VIRTIO_NET_HDR_GSO_TCPV4;
	set_desc(&f, TXQ, 1, BUF + 0x100, 64, 0, 0);
	offer(&f, TXQ, 1);
	set_desc(&f, TXQ, 2, BUF + 0x200, HDR - 1, 0, 0);
	offer(&f, TXQ, 2);
	kick(&f, TXQ);
	wait_used(&f, TXQ, 3);
	TEST_ASSERT_EQ(recv(f.host, got, sizeof(got), 0), -1);
	TEST_ASSERT_EQ(errno, EAGAIN);
	TEST_ASSERT_EQ(stats(&f).tx_dropped, 3);
	TEST_ASSERT(!needs_reset(&f), "a bad frame is not a bad ring");
	/* A good one after them goes out. */
	p = gp(&f, BUF + 0x300, 40);
	memset(p, 0, 40);
	set_desc(&f, TXQ, 3, BUF + 0x300, 40, 0, 0);
	offer(&f, TXQ, 3);
	kick(&f, TXQ);
	wait_used(&f, TXQ, 4);
	TEST_ASSERT_EQ(recv(f.host, got, sizeof(got), 0), 40);
	TEST_ASSERT_EQ(stats(&f).tx_frames, 1);
	fx_fini(&f);
}

/* ---- receive ------------------------------------------------------------- */

static void rx_buffer(struct fx *f, unsigned int d, u64 gpa, u32 len)
{
	set_desc(f, RXQ, d, gpa, len, VRING_DESC_F_WRITE, 0);
	offer(f, RXQ, (u16)d);
}

/* §5.1.6.3/4 without MRG_RXBUF: one frame per buffer, num_buffers 1, flags cleared. */
static void test_receive(void)
{
	u8 want[100];
	struct fx f;
	u8 *p;

	fx_init(&f, "mode=tap");
	driver_up(&f, F_VERSION_1);
	rx_buffer(&f, 0, BUF, 1526);
	rx_buffer(&f, 1, BUF + 0x1000, 1526);
	kick(&f, RXQ);
	virtio_mmio__poll(f.vm, 0);
	host_send(&f, 60, 3);
	host_send(&f, 100, 4);
	wait_used(&f, RXQ, 2);
	TEST_ASSERT_EQ(used_id_at(&f, RXQ, 0), 0);
	TEST_ASSERT_EQ(used_len_at(&f, RXQ, 0), HDR + 60);
	TEST_ASSERT_EQ(used_id_at(&f, RXQ, 1), 1);
	TEST_ASSERT_EQ(used_len_at(&f, RXQ, 1), HDR + 100);
	p = gp(&f, BUF + 0x1000, HDR + 100);
	TEST_ASSERT_EQ(p[0], 0);			/* flags: no GUEST_CSUM */
	TEST_ASSERT_EQ(p[10] | p[11] << 8, 1);		/* num_buffers */
	pattern(want, 100, 4);
	TEST_ASSERT(!memcmp(p + HDR, want, 100), "frame content");
	TEST_ASSERT_EQ(stats(&f).rx_frames, 2);
	fx_fini(&f);
}

/* MRG_RXBUF: a frame larger than one buffer spans several, num_buffers counts them. */
static void test_receive_mergeable(void)
{
	static u8 want[700];
	struct fx f;

	fx_init(&f, "mode=tap");
	driver_up(&f, F_VERSION_1 | F_MRG | F_EVENT_IDX);
	for (unsigned int i = 0; i < 4; i++)
		rx_buffer(&f, i, BUF + 0x1000ULL * i, 256);
	kick(&f, RXQ);
	virtio_mmio__poll(f.vm, 0);
	host_send(&f, 700 - HDR, 7);
	wait_used(&f, RXQ, 3);
	TEST_ASSERT_EQ(used_len_at(&f, RXQ, 0), 256);
	TEST_ASSERT_EQ(used_len_at(&f, RXQ, 1), 256);
	TEST_ASSERT_EQ(used_len_at(&f, RXQ, 2), 700 - 512);
	for (unsigned int i = 0; i < 3; i++)
		TEST_ASSERT_EQ(used_id_at(&f, RXQ, i), i);
	TEST_ASSERT_EQ(get16(&f, BUF + 10), 3);		/* num_buffers in the first */
	pattern(want + HDR, 700 - HDR, 7);
	TEST_ASSERT(!memcmp(gp(&f, BUF + HDR, 256 - HDR), want + HDR, 256 - HDR), "first piece");
	TEST_ASSERT(!memcmp(gp(&f, BUF + 0x1000, 256), want + 256, 256), "second piece");
	TEST_ASSERT(!memcmp(gp(&f, BUF + 0x2000, 188), want + 512, 188), "third piece");

	/*
	 * A frame that needs more buffers than there are: the device fills
	 * what it has, waits, and finishes it when more arrive; nothing is
	 * pushed (the driver sees no partial frame) until then.
	 */
	host_send(&f, 600 - HDR, 8);
	for (int i = 0; i < 5; i++)
		virtio_mmio__poll(f.vm, 10);
	TEST_ASSERT_EQ(used_idx(&f, RXQ), 3);
	rx_buffer(&f, 4, BUF + 0x4000, 256);
	rx_buffer(&f, 5, BUF + 0x5000, 256);
	kick(&f, RXQ);
	wait_used(&f, RXQ, 6);
	TEST_ASSERT_EQ(used_id_at(&f, RXQ, 3), 3);
	TEST_ASSERT_EQ(used_id_at(&f, RXQ, 5), 5);
	TEST_ASSERT_EQ(used_len_at(&f, RXQ, 5), 600 - 512);
	TEST_ASSERT_EQ(get16(&f, BUF + 0x3000 + 10), 3);
	TEST_ASSERT_EQ(stats(&f).rx_dropped, 0);
	fx_fini(&f);
}

/*
 * No receive buffers: the frame stays in the tap (not read, not dropped)
 * and the device does not watch the tap, so the I/O loop sleeps instead
 * of spinning; buffers and a notification bring the frame in.
 */
static void test_receive_waits_for_buffers(void)
{
	struct fx f;
	u64 t0, ms;

	fx_init(&f, "mode=tap");
	driver_up(&f, F_VERSION_1 | F_MRG | F_EVENT_IDX);
	host_send(&f, 80, 5);
	virtio_mmio__poll(f.vm, 0);
	TEST_ASSERT_EQ(tap_pending(&f), HDR + 80);
	t0 = now_ns();
	virtio_mmio__poll(f.vm, 200);
	ms = (now_ns() - t0) / 1000000;
	TEST_ASSERT(ms >= 150, "the I/O loop woke after %llu ms with no buffers (spinning on the "
		    "tap)", (unsigned long long)ms);
	TEST_ASSERT_EQ(tap_pending(&f), HDR + 80);
	TEST_ASSERT_EQ(stats(&f).rx_dropped, 0);

	rx_buffer(&f, 0, BUF, 2048);
	kick(&f, RXQ);
	wait_used(&f, RXQ, 1);
	TEST_ASSERT_EQ(used_len_at(&f, RXQ, 0), HDR + 80);
	TEST_ASSERT_EQ(tap_pending(&f), 0);
	TEST_ASSERT_EQ(stats(&f).rx_frames, 1);
	fx_fini(&f);
}

/* Without MRG_RXBUF a frame larger than the buffer is dropped and counted; the buffer is reused. */
static void test_receive_too_big(void)
{
	struct fx f;

	fx_init(&f, "mode=tap");
	driver_up(&f, F_VERSION_1);
	rx_buffer(&f, 0, BUF, 128);
	kick(&f, RXQ);
	virtio_mmio__poll(f.vm, 0);
	host_send(&f, 500, 1);
	host_send(&f, 50, 2);
	wait_used(&f, RXQ, 1);
	TEST_ASSERT_EQ(used_id_at(&f, RXQ, 0), 0);
	TEST_ASSERT_EQ(used_len_at(&f, RXQ, 0), HDR + 50);
	TEST_ASSERT_EQ(stats(&f).rx_dropped, 1);
	TEST_ASSERT_EQ(stats(&f).rx_frames, 1);
	TEST_ASSERT(!needs_reset(&f), "a big frame is not the driver's fault");
	fx_fini(&f);
}

/* ---- hostile rings -------------------------------------------------------- */

/* Each kind of broken ring sets NEEDS_RESET without harm; a reset brings the device back. */
static void test_hostile_rings(void)
{
	struct fx f;

	fx_init(&f, "mode=tap");

	/* A receive buffer outside guest RAM. */
	driver_up(&f, F_VERSION_1);
	rx_buffer(&f, 0, 0x1000, 2048);
	kick(&f, RXQ);
	host_send(&f, 60, 1);
	for (int i = 0; i < 5 && !needs_reset(&f); i++)
		virtio_mmio__poll(f.vm, 10);
	TEST_ASSERT(needs_reset(&f), "rx buffer outside RAM");
	TEST_ASSERT_EQ(used_idx(&f, RXQ), 0);

	/* A receive buffer smaller than the header. */
	driver_up(&f, F_VERSION_1 | F_MRG);
	rx_buffer(&f, 0, BUF, 4);
	kick(&f, RXQ);
	for (int i = 0; i < 5 && !needs_reset(&f); i++)
		virtio_mmio__poll(f.vm, 10);
	TEST_ASSERT(needs_reset(&f), "rx buffer smaller than the header");
	TEST_ASSERT_EQ(used_idx(&f, RXQ), 0);

	/* A receive chain that is device-readable only. */
	driver_up(&f, F_VERSION_1);
	set_desc(&f, RXQ, 0, BUF, 2048, 0, 0);
	offer(&f, RXQ, 0);
	kick(&f, RXQ);
	for (int i = 0; i < 5 && !needs_reset(&f); i++)
		virtio_mmio__poll(f.vm, 10);
	TEST_ASSERT(needs_reset(&f), "rx chain with no writable buffer");

	/* A transmit chain with a next index past the ring, and a loop. */
	driver_up(&f, F_VERSION_1);
	set_desc(&f, TXQ, 0, BUF, 64, VRING_DESC_F_NEXT, QNUM + 3);
	offer(&f, TXQ, 0);
	kick(&f, TXQ);
	virtio_mmio__poll(f.vm, 10);
	TEST_ASSERT(needs_reset(&f), "tx next out of range");
	driver_up(&f, F_VERSION_1);
	set_desc(&f, TXQ, 0, BUF, 64, VRING_DESC_F_NEXT, 1);
	set_desc(&f, TXQ, 1, BUF, 64, VRING_DESC_F_NEXT, 0);
	offer(&f, TXQ, 0);
	kick(&f, TXQ);
	virtio_mmio__poll(f.vm, 10);
	TEST_ASSERT(needs_reset(&f), "tx descriptor loop");
	/* An avail index far ahead of the ring. */
	driver_up(&f, F_VERSION_1);
	put16(&f, AVAIL(TXQ) + 2, 1000);
	kick(&f, TXQ);
	virtio_mmio__poll(f.vm, 10);
	TEST_ASSERT(needs_reset(&f), "avail idx ahead by more than the queue size");
	TEST_ASSERT_EQ(recv(f.host, (u8[16]){ 0 }, 16, 0), -1);	/* nothing went out */

	/* After all that, a reset and a well-behaved driver get service. */
	while (recv(f.host, (u8[16]){ 0 }, 16, 0) > 0)
		;
	while (tap_pending(&f) > 0)
		TEST_ASSERT(recv(f.tap_peek, (u8[128]){ 0 }, 128, 0) > 0, "drain");
	driver_up(&f, F_VERSION_1 | F_MRG);
	TEST_ASSERT(!needs_reset(&f), "reset clears NEEDS_RESET");
	rx_buffer(&f, 0, BUF, 2048);
	kick(&f, RXQ);
	virtio_mmio__poll(f.vm, 0);
	host_send(&f, 70, 2);
	wait_used(&f, RXQ, 1);
	TEST_ASSERT_EQ(used_len_at(&f, RXQ, 0), HDR + 70);
	fx_fini(&f);
}

/* Runs @n I/O loop passes of @ms each; returns how long they took, in ms. */
static u64 idle_passes(struct fx *f, int n, int ms)
{
	u64 t0 = now_ns();

	for (int i = 0; i < n; i++)
		virtio_mmio__poll(f->vm, ms);
	return (now_ns() - t0) / 1000000;
}

/*
 * A failed device (NEEDS_RESET) does not watch the tap: with a frame
 * waiting there the I/O loop sleeps instead of spinning on the readable
 * fd, and the frame is neither read nor delivered, whether the receive
 * ring or another ring failed.  A reset and a receiveq notification watch
 * it again.
 */
static void test_failed_device_ignores_tap(void)
{
	struct fx f;
	u64 ms;

	/* The receive ring fails (a buffer outside RAM) before any frame. */
	fx_init(&f, "mode=tap");
	driver_up(&f, F_VERSION_1);
	rx_buffer(&f, 0, 0x1000, 2048);
	kick(&f, RXQ);
	virtio_mmio__poll(f.vm, 0);
	TEST_ASSERT(needs_reset(&f), "rx buffer outside RAM");
	host_send(&f, 60, 1);
	ms = idle_passes(&f, 5, 60);
	TEST_ASSERT(ms >= 250, "5 I/O loop passes of 60 ms took %llu ms: spinning on the tap of a "
		    "failed device", (unsigned long long)ms);
	TEST_ASSERT_EQ(tap_pending(&f), HDR + 60);

	/* Reset: the frame waited for the next driver. */
	driver_up(&f, F_VERSION_1);
	rx_buffer(&f, 0, BUF, 2048);
	kick(&f, RXQ);
	wait_used(&f, RXQ, 1);
	TEST_ASSERT_EQ(used_len_at(&f, RXQ, 0), HDR + 60);
	TEST_ASSERT_EQ(tap_pending(&f), 0);

	/* The transmit ring fails while the receiveq has a buffer and watches the tap. */
	driver_up(&f, F_VERSION_1);
	rx_buffer(&f, 0, BUF, 2048);
	kick(&f, RXQ);
	virtio_mmio__poll(f.vm, 0);
	set_desc(&f, TXQ, 0, BUF + 0x1000, 64, VRING_DESC_F_NEXT, QNUM + 3);
	offer(&f, TXQ, 0);
	kick(&f, TXQ);
	virtio_mmio__poll(f.vm, 0);
	TEST_ASSERT(needs_reset(&f), "tx next out of range");
	host_send(&f, 70, 2);
	ms = idle_passes(&f, 5, 60);
	TEST_ASSERT(ms >= 250, "5 I/O loop passes of 60 ms took %llu ms after the device failed",
		    (unsigned long long)ms);
	TEST_ASSERT_EQ(used_idx(&f, RXQ), 0);		/* nothing delivered after NEEDS_RESET */
	TEST_ASSERT_EQ(tap_pending(&f), HDR + 70);
	driver_up(&f, F_VERSION_1);
	TEST_ASSERT(!needs_reset(&f), "reset clears NEEDS_RESET");
	rx_buffer(&f, 0, BUF, 2048);
	kick(&f, RXQ);
	wait_used(&f, RXQ, 1);
	TEST_ASSERT_EQ(used_len_at(&f, RXQ, 0), HDR + 70);
	fx_fini(&f);
}

/* A reset in the middle of a frame spread over buffers forgets the frame and the buffers. */
static void test_reset_mid_frame(void)
{
	struct fx f;

	fx_init(&f, "mode=tap");
	driver_up(&f, F_VERSION_1 | F_MRG);
	rx_buffer(&f, 0, BUF, 256);
	kick(&f, RXQ);
	virtio_mmio__poll(f.vm, 0);
	host_send(&f, 1000, 1);		/* needs 4 buffers; there is 1 */
	for (int i = 0; i < 5; i++)
		virtio_mmio__poll(f.vm, 10);
	TEST_ASSERT_EQ(used_idx(&f, RXQ), 0);
	TEST_ASSERT_EQ(tap_pending(&f), 0);
	driver_up(&f, F_VERSION_1 | F_MRG);	/* resets first */
	TEST_ASSERT_EQ(stats(&f).rx_dropped, 1);
	rx_buffer(&f, 0, BUF, 2048);
	kick(&f, RXQ);
	virtio_mmio__poll(f.vm, 0);
	host_send(&f, 30, 2);
	wait_used(&f, RXQ, 1);
	TEST_ASSERT_EQ(used_id_at(&f, RXQ, 0), 0);
	TEST_ASSERT_EQ(used_len_at(&f, RXQ, 0), HDR + 30);
	TEST_ASSERT_EQ(get16(&f, BUF + 10), 1);
	fx_fini(&f);
}

/* ---- vhost-net, against a fake vhost -------------------------------------- */

/* One ioctl the device made on its vhost, with what it passed. */
struct vcall {
	unsigned long req;
	unsigned int index;
	s64 val;		/* features, num, or fd */
	u64 desc, avail, used;	/* VHOST_SET_VRING_ADDR */
};

static struct {
	struct vcall c[128];
	unsigned int n;
	struct vhost_memory_region mem[4];
	unsigned int nr_mem;
	unsigned long fail_req;	/* this ioctl on fail_index fails once with EIO (0: none) */
	unsigned int fail_index;
} fv;

static int fake_vhost(struct vhost_dev *v, unsigned long req, void *arg)
{
	struct vcall *c = &fv.c[fv.n];

	TEST_ASSERT(v->fd >= 0, "ioctl %#lx on a closed vhost", req);
	TEST_ASSERT(fv.n < ARRAY_SIZE(fv.c), "too many vhost ioctls");
	fv.n++;
	memset(c, 0, sizeof(*c));
	c->req = req;
	if (req == VHOST_SET_FEATURES) {
		c->val = (s64)*(u64 *)arg;
	} else if (req == VHOST_SET_MEM_TABLE) {
		const struct vhost_memory *m = arg;

		TEST_ASSERT(m->nregions <= ARRAY_SIZE(fv.mem), "%u regions", m->nregions);
		fv.nr_mem = m->nregions;
		memcpy(fv.mem, m->regions, m->nregions * sizeof(m->regions[0]));
	} else if (req == VHOST_SET_VRING_NUM || req == VHOST_SET_VRING_BASE ||
		   req == VHOST_GET_VRING_BASE) {
		struct vhost_vring_state *st = arg;

		c->index = st->index;
		c->val = st->num;
		if (req == VHOST_GET_VRING_BASE)
			st->num = 7;
	} else if (req == VHOST_SET_VRING_ADDR) {
		const struct vhost_vring_addr *a = arg;

		c->index = a->index;
		c->val = a->flags;
		c->desc = a->desc_user_addr;
		c->avail = a->avail_user_addr;
		c->used = a->used_user_addr;
	} else if (req == VHOST_SET_VRING_KICK || req == VHOST_SET_VRING_CALL ||
		   req == VHOST_NET_SET_BACKEND) {
		const struct vhost_vring_file *fl = arg;

		c->index = fl->index;
		c->val = fl->fd;
	} else {
		TEST_ASSERT(0, "unexpected vhost ioctl %#lx", req);
	}
	if (fv.fail_req == req && fv.fail_index == c->index) {
		fv.fail_req = 0;
		return -EIO;
	}
	return 0;
}

static void fx_init_vhost(struct fx *f)
{
	memset(&fv, 0, sizeof(fv));
	fx_setup(f, "mode=tap", true);
}

/* Checks ioctl @k of the record; returns it. */
static const struct vcall *vc(unsigned int k, unsigned long req, unsigned int index)
{
	const struct vcall *c = &fv.c[k];

	TEST_ASSERT(k < fv.n, "ioctl %u (%#lx) missing: only %u made", k, req, fv.n);
	TEST_ASSERT(c->req == req && c->index == index, "ioctl %u: %#lx on ring %u, expected "
		    "%#lx on ring %u", k, c->req, c->index, req, index);
	return c;
}

/* How many recorded ioctls are @req with an fd >= 0 (attach) or -1 (detach). */
static unsigned int count(unsigned long req, bool attach)
{
	unsigned int n = 0;

	for (unsigned int k = 0; k < fv.n; k++)
		if (fv.c[k].req == req && (fv.c[k].val >= 0) == attach)
			n++;
	return n;
}

/* The detach sequence from ioctl @k on: backend off both rings, then each ring back. */
static void check_stop(unsigned int k, bool backend)
{
	if (backend) {
		TEST_ASSERT_EQ(vc(k++, VHOST_NET_SET_BACKEND, 0)->val, -1);
		TEST_ASSERT_EQ(vc(k++, VHOST_NET_SET_BACKEND, 1)->val, -1);
	}
	for (unsigned int q = 0; q < 2; q++) {
		vc(k++, VHOST_GET_VRING_BASE, q);
		TEST_ASSERT_EQ(vc(k++, VHOST_SET_VRING_KICK, q)->val, -1);
		TEST_ASSERT_EQ(vc(k++, VHOST_SET_VRING_CALL, q)->val, -1);
	}
	TEST_ASSERT_EQ(fv.n, k);
}

/* A transmit chain the userspace datapath would send at once. */
static void tx_frame(struct fx *f, u16 d)
{
	memset(gp(f, BUF + 0x800ULL * d, 64), 0, 64);
	set_desc(f, TXQ, d, BUF + 0x800ULL * d, 64, 0, 0);
	offer(f, TXQ, d);
	kick(f, TXQ);
}

/*
 * DRIVER_OK hands both rings over: features (what the driver took that
 * vhost offers), guest RAM, each ring's size, start and host addresses,
 * the transport's kick and call eventfds, then the tap.  lkvm then moves
 * nothing; the guest's kicks reach vhost's kick fd and vhost's calls
 * raise the interrupt.  A reset takes it all back, and the next
 * DRIVER_OK hands it over again.
 */
static void test_vhost_handover(void)
{
	const u64 acked = F_VERSION_1 | F_MRG | F_EVENT_IDX;
	struct fx f;
	int kick[2], call[2];
	unsigned int k = 0;
	u64 cnt;

	fx_init_vhost(&f);
	driver_up(&f, acked | F_MAC | F_CSUM);
	TEST_ASSERT_EQ(vc(k++, VHOST_SET_FEATURES, 0)->val, acked);
	vc(k++, VHOST_SET_MEM_TABLE, 0);
	TEST_ASSERT_EQ(fv.nr_mem, 1);
	TEST_ASSERT_EQ(fv.mem[0].guest_phys_addr, RAM);
	TEST_ASSERT_EQ(fv.mem[0].memory_size, RAM_SIZE);
	TEST_ASSERT_EQ(fv.mem[0].userspace_addr, (u64)(uintptr_t)f.ram);
	for (unsigned int q = 0; q < 2; q++) {
		const struct vcall *a;

		TEST_ASSERT_EQ(vc(k++, VHOST_SET_VRING_NUM, q)->val, QNUM);
		TEST_ASSERT_EQ(vc(k++, VHOST_SET_VRING_BASE, q)->val, 0);
		a = vc(k++, VHOST_SET_VRING_ADDR, q);
		TEST_ASSERT_EQ(a->val, 0);	/* no logging */
		TEST_ASSERT_EQ(a->desc, (u64)(uintptr_t)gp(&f, DESC(q), 1));
		TEST_ASSERT_EQ(a->avail, (u64)(uintptr_t)gp(&f, AVAIL(q), 1));
		TEST_ASSERT_EQ(a->used, (u64)(uintptr_t)gp(&f, USED(q), 1));
	}
	for (unsigned int q = 0; q < 2; q++) {
		kick[q] = (int)vc(k++, VHOST_SET_VRING_KICK, q)->val;
		call[q] = (int)vc(k++, VHOST_SET_VRING_CALL, q)->val;
		TEST_ASSERT(kick[q] >= 0 && call[q] >= 0, "ring %u: kick %d call %d", q, kick[q],
			    call[q]);
	}
	TEST_ASSERT_EQ(vc(k++, VHOST_NET_SET_BACKEND, 0)->val, f.tap);
	TEST_ASSERT_EQ(vc(k++, VHOST_NET_SET_BACKEND, 1)->val, f.tap);
	TEST_ASSERT_EQ(fv.n, k);
	TEST_ASSERT(!needs_reset(&f), "vhost took the rings");

	/* The rings are vhost's: a transmitted frame is not lkvm's to send. */
	tx_frame(&f, 0);
	for (int i = 0; i < 5; i++)
		virtio_mmio__poll(f.vm, 10);
	TEST_ASSERT_EQ(used_idx(&f, TXQ), 0);
	TEST_ASSERT_EQ(recv(f.host, (u8[128]){ 0 }, 128, 0), -1);
	TEST_ASSERT_EQ(read(kick[TXQ], &cnt, sizeof(cnt)), (ssize_t)sizeof(cnt));
	TEST_ASSERT(cnt >= 1, "the guest's kick reached vhost's kick fd");
	/* Nor is the tap lkvm's to read. */
	host_send(&f, 60, 1);
	for (int i = 0; i < 5; i++)
		virtio_mmio__poll(f.vm, 10);
	TEST_ASSERT_EQ(tap_pending(&f), HDR + 60);
	/* vhost's call: the transport raises the queue's interrupt. */
	cnt = 1;
	TEST_ASSERT_EQ(write(call[RXQ], &cnt, sizeof(cnt)), (ssize_t)sizeof(cnt));
	for (int i = 0; i < 5 && !(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);
	     i++)
		virtio_mmio__poll(f.vm, 10);
	TEST_ASSERT(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING,
		    "a write to the call fd raised the used-buffer interrupt");

	/* Reset: the tap off both rings, then each ring back with its eventfds detached. */
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	check_stop(k, true);

	/* The next driver gets vhost again, with the rings it sets up. */
	fv.n = 0;
	driver_up(&f, acked);
	TEST_ASSERT_EQ(count(VHOST_NET_SET_BACKEND, true), 2);
	TEST_ASSERT_EQ(count(VHOST_SET_VRING_KICK, true), 2);
	TEST_ASSERT(!needs_reset(&f), "second hand-over");
	fx_fini(&f);
}

/* vhost refuses a ring before any queue left the transport: lkvm's datapath serves the driver. */
static void test_vhost_fallback(void)
{
	static const unsigned long reqs[] = { VHOST_SET_FEATURES, VHOST_SET_MEM_TABLE,
					      VHOST_SET_VRING_NUM, VHOST_SET_VRING_ADDR };

	for (unsigned int i = 0; i < ARRAY_SIZE(reqs); i++) {
		struct fx f;

		fx_init_vhost(&f);
		fv.fail_req = reqs[i];
		fv.fail_index = reqs[i] == VHOST_SET_VRING_ADDR ? 1 : 0;
		driver_up(&f, F_VERSION_1 | F_MRG);
		TEST_ASSERT(fv.fail_req == 0, "case %u: the failing ioctl was made", i);
		TEST_ASSERT_EQ(count(VHOST_SET_VRING_KICK, true), 0);
		TEST_ASSERT_EQ(count(VHOST_NET_SET_BACKEND, true), 0);
		TEST_ASSERT(!needs_reset(&f), "case %u: a fallback is no failure", i);
		tx_frame(&f, 0);
		wait_used(&f, TXQ, 1);
		TEST_ASSERT_EQ(recv(f.host, (u8[128]){ 0 }, 128, 0), 64);
		rx_buffer(&f, 0, BUF + 0x4000, 2048);
		kick(&f, RXQ);
		virtio_mmio__poll(f.vm, 0);
		host_send(&f, 50, 3);
		wait_used(&f, RXQ, 1);
		TEST_ASSERT_EQ(used_len_at(&f, RXQ, 0), HDR + 50);
		/* A reset with the userspace datapath in charge: no vhost ioctl. */
		fv.n = 0;
		wr(&f, VIRTIO_MMIO_STATUS, 0);
		TEST_ASSERT_EQ(fv.n, 0);
		fx_fini(&f);
	}
}

/* vhost refuses a ring's eventfd after the hand-over began: the rings come back, the device fails. */
static void test_vhost_refused_after_handover(void)
{
	struct fx f;
	unsigned int k;

	fx_init_vhost(&f);
	fv.fail_req = VHOST_SET_VRING_CALL;
	fv.fail_index = 1;
	driver_up(&f, F_VERSION_1 | F_MRG);
	TEST_ASSERT(needs_reset(&f), "the device failed");
	TEST_ASSERT_EQ(count(VHOST_NET_SET_BACKEND, true), 0);
	/* SET_FEATURES, MEM_TABLE, 3 per ring, KICK+CALL ring 0, KICK+CALL(refused) ring 1. */
	k = 2 + 3 * 2 + 4;
	vc(k - 1, VHOST_SET_VRING_CALL, 1);
	check_stop(k, false);
	/* The reset that follows makes no further vhost ioctl; the next driver gets vhost. */
	fv.n = 0;
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	TEST_ASSERT_EQ(fv.n, 0);
	driver_up(&f, F_VERSION_1 | F_MRG);
	TEST_ASSERT(!needs_reset(&f), "a reset brings it back");
	TEST_ASSERT_EQ(count(VHOST_NET_SET_BACKEND, true), 2);
	fx_fini(&f);
}

/* vhost-net refuses the tap: the backend comes off again, the rings come back, the device fails. */
static void test_vhost_backend_refused(void)
{
	struct fx f;
	unsigned int k;

	fx_init_vhost(&f);
	fv.fail_req = VHOST_NET_SET_BACKEND;
	fv.fail_index = 0;
	driver_up(&f, F_VERSION_1 | F_MRG);
	TEST_ASSERT(needs_reset(&f), "the device failed");
	k = 2 + 3 * 2 + 4 + 1;
	TEST_ASSERT_EQ(vc(k - 1, VHOST_NET_SET_BACKEND, 0)->val, f.tap);
	check_stop(k, true);
	fx_fini(&f);
}

/*
 * A guest that loops on reset and DRIVER_OK while vhost-net refuses (a
 * fallback to the userspace datapath, or a failed device) cannot flood
 * the log: each message is rate-limited per device, across resets.
 */
static void test_vhost_log_is_rate_limited(void)
{
	const unsigned int cycles = 10000;
	struct test_stderr cap;
	unsigned int lines, i;
	struct fx f;
	u64 t0, ms;

	fx_init_vhost(&f);
	t0 = now_ns();
	test_stderr_begin(&cap);
	for (i = 0; i < cycles; i++) {
		fv.n = 0;
		fv.fail_req = i % 2 ? VHOST_SET_FEATURES : VHOST_NET_SET_BACKEND;
		fv.fail_index = 0;
		driver_up(&f, F_VERSION_1 | F_MRG);
		if (fv.fail_req || needs_reset(&f) != !(i % 2))
			break;
	}
	lines = test_stderr_end(&cap, 3);
	ms = (now_ns() - t0) / 1000000;
	TEST_ASSERT_EQ(i, cycles);
	TEST_ASSERT(lines >= 1, "the first refusal is logged");
	/* Two rate limits (the device's and its transport's): 5 a second each, plus "suppressed". */
	TEST_ASSERT(lines <= 12 * (ms / 1000 + 2), "%u log lines in %llu ms of a looping guest",
		    lines, (unsigned long long)ms);
	fx_fini(&f);
}

static const struct test_case tests[] = {
	TEST_CASE(test_identity),
	TEST_CASE(test_transmit),
	TEST_CASE(test_transmit_bad_header),
	TEST_CASE(test_receive),
	TEST_CASE(test_receive_mergeable),
	TEST_CASE(test_receive_waits_for_buffers),
	TEST_CASE(test_receive_too_big),
	TEST_CASE(test_hostile_rings),
	TEST_CASE(test_failed_device_ignores_tap),
	TEST_CASE(test_reset_mid_frame),
	TEST_CASE(test_vhost_handover),
	TEST_CASE(test_vhost_fallback),
	TEST_CASE(test_vhost_refused_after_handover),
	TEST_CASE(test_vhost_backend_refused),
	TEST_CASE(test_vhost_log_is_rate_limited),
};

TEST_MAIN(tests)
