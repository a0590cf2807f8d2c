// SPDX-License-Identifier: GPL-2.0-only
/*
 * The small virtio devices behind the virtio-mmio transport, without KVM:
 * virtio-rng (virtio/rng.c) and virtio-console (virtio/console.c), whose
 * output goes through the console's ring (util/outbuf.c) into a pipe that
 * a reader drains, or never reads; and virtio-blk (virtio/blk.c) on a
 * backing store that hangs (userfaultfd memory) across a device reset, and
 * its flush when lkvm stops.  A fake guest RAM registered with gmem, a
 * "driver" in the test that sets up queues and rings through the register
 * handler, and virtio_mmio__poll() standing in for the I/O thread.
 *
 * Fake guest-physical map (one 1 MiB region at RAM), per queue q:
 *   RAM + q*0x10000 + 0x0000 descriptors, +0x1000 avail, +0x2000 used
 *   RAM + 0x80000.. buffers
 */
#include <endian.h>
#include <fcntl.h>
#include <poll.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <liburing.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <linux/virtio_blk.h>

#include "lkvm/kvm.h"
#include "lkvm/outbuf.h"
#include "lkvm/virtio-transport.h"
#include "test.h"
#include "guest-mem.h"
#include "mmio-driver.h"
#include "slow-mem.h"

#define RAM		0x80000000ULL
#define RAM_SIZE	SZ_MiB
#define QBASE(q)	(RAM + 0x10000ULL * (q))
#define DESC(q)		(QBASE(q))
#define AVAIL(q)	(QBASE(q) + 0x1000)
#define USED(q)		(QBASE(q) + 0x2000)
#define BUF		(RAM + 0x80000)
#define MMIO_BASE	0x02000000ULL
#define QNUM		16

#define F_VERSION_1	BIT(32)
#define F_EVENT_IDX	BIT(29)

struct fx {
	struct kvm kvm;
	u8 *ram;
	struct virtio_mmio *vm;
	u16 avail_idx[2];
	u16 used_seen[2];
};

#define rd(f, off)		mmio_rd((f)->vm, (off))
#define wr(f, off, val)		mmio_wr((f)->vm, (off), (val))

static void fx_ram(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->kvm.sys_fd = f->kvm.vm_fd = -1;
	f->ram = calloc(1, RAM_SIZE);
	TEST_ASSERT(f->ram, "calloc");
	TEST_ASSERT_EQ(gmem__add_region(&f->kvm, RAM, RAM_SIZE, f->ram), 0);
}

static void fx_wrap(struct fx *f, struct virtio_dev *dev)
{
	struct lkvm_err err = { "" };

	TEST_ASSERT(virtio_mmio__new(&f->kvm, dev, MMIO_BASE, 16, &f->vm, &err) == 0, "mmio: %s",
		    err.msg);
}

static void fx_fini(struct fx *f)
{
	virtio_mmio__free(f->vm);
	mmio__free(&f->kvm.mmio);
	free(f->ram);
}

/* §3.1.1: negotiation, @nq queues of QNUM, DRIVER_OK. */
static void driver_up(struct fx *f, u64 features, unsigned int nq)
{
	TEST_ASSERT(mmio_negotiate(f->vm, features), "FEATURES_OK");
	for (unsigned int q = 0; q < nq; q++) {
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

/* Notifies queue @q and runs the I/O loop until its used ring moves (or fails). */
static void kick_and_wait(struct fx *f, unsigned int q)
{
	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	for (int i = 0; i < 500 && used_idx(f, q) == f->used_seen[q]; i++)
		virtio_mmio__poll(f->vm, 10);
	TEST_ASSERT(used_idx(f, q) != f->used_seen[q], "no completion on queue %u", q);
	f->used_seen[q]++;
	TEST_ASSERT_EQ(used_idx(f, q), f->used_seen[q]);
}

/* The last completion's used element on queue @q: its id and length. */
static u32 used_id(struct fx *f, unsigned int q)
{
	return get32(f, USED(q) + 4 + 8ULL * ((f->used_seen[q] - 1) % QNUM));
}

static u32 used_len(struct fx *f, unsigned int q)
{
	return get32(f, USED(q) + 4 + 8ULL * ((f->used_seen[q] - 1) % QNUM) + 4);
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

static bool all_zero(const u8 *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* ---- virtio-rng ------------------------------------------------------- */

static void rng_init(struct fx *f)
{
	struct lkvm_err err = { "" };
	struct virtio_dev *dev;

	fx_ram(f);
	TEST_ASSERT(virtio_rng__new(&f->kvm, &dev, &err) == 0, "rng: %s", err.msg);
	fx_wrap(f, dev);
}

static void test_rng_identity(void)
{
	struct fx f;

	rng_init(&f);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_DEVICE_ID), 4);
	wr(&f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_DEVICE_FEATURES) & 0xffffff, 0);	/* no device bits */
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 0);
	TEST_ASSERT_NE(rd(&f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 1);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);	/* one requestq only */
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_CONFIG), 0);		/* no config space */
	fx_fini(&f);
}

static void test_rng_fills_buffers(void)
{
	struct fx f;
	u8 *a, *b;

	rng_init(&f);
	driver_up(&f, F_VERSION_1, 1);
	/* One buffer of 512 bytes. */
	a = gp(&f, BUF, 512);
	set_desc(&f, 0, 0, BUF, 512, VRING_DESC_F_WRITE, 0);
	offer(&f, 0, 0);
	kick_and_wait(&f, 0);
	TEST_ASSERT_EQ(used_id(&f, 0), 0);
	TEST_ASSERT_EQ(used_len(&f, 0), 512);
	TEST_ASSERT(!all_zero(a, 512), "512 random bytes are not all zero");
	TEST_ASSERT(irq_pending(&f), "used-buffer interrupt");

	/* A chain of two writable buffers: both filled, the length is the sum. */
	memset(f.ram + 0x80000, 0, 0x10000);
	b = gp(&f, BUF + 0x8000, 100);
	set_desc(&f, 0, 3, BUF, 64, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 4);
	set_desc(&f, 0, 4, BUF + 0x8000, 100, VRING_DESC_F_WRITE, 0);
	offer(&f, 0, 3);
	kick_and_wait(&f, 0);
	TEST_ASSERT_EQ(used_id(&f, 0), 3);
	TEST_ASSERT_EQ(used_len(&f, 0), 164);
	TEST_ASSERT(!all_zero(a, 64) && !all_zero(b, 100), "both buffers filled");
	TEST_ASSERT(all_zero(a + 64, 512 - 64), "nothing past the first buffer");
	fx_fini(&f);
}

/* A request larger than the per-request bound gets the bound, not more. */
static void test_rng_bounded(void)
{
	struct fx f;
	u32 len;

	rng_init(&f);
	driver_up(&f, F_VERSION_1, 1);
	set_desc(&f, 0, 0, RAM + 0x40000, 0x80000, VRING_DESC_F_WRITE, 0);	/* 512 KiB */
	offer(&f, 0, 0);
	kick_and_wait(&f, 0);
	len = used_len(&f, 0);
	TEST_ASSERT(len > 0 && len <= 64 * 1024, "used length %u not in (0, 64 KiB]", len);
	TEST_ASSERT(all_zero(f.ram + 0x40000 + len, 0x80000 - len), "bytes past the used length");
	fx_fini(&f);
}

/* §5.4.6: a device-readable-only request gets nothing, and the device goes on. */
static void test_rng_readable_only(void)
{
	struct fx f;
	u8 *a;

	rng_init(&f);
	driver_up(&f, F_VERSION_1, 1);
	a = gp(&f, BUF, 256);
	set_desc(&f, 0, 0, BUF, 256, 0, 0);
	offer(&f, 0, 0);
	kick_and_wait(&f, 0);
	TEST_ASSERT_EQ(used_len(&f, 0), 0);
	TEST_ASSERT(all_zero(a, 256), "a readable buffer was written");
	TEST_ASSERT(!(rd(&f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET), "no NEEDS_RESET");
	/* Readable then writable: only the writable part is filled. */
	set_desc(&f, 0, 1, BUF, 16, VRING_DESC_F_NEXT, 2);
	set_desc(&f, 0, 2, BUF + 0x1000, 32, VRING_DESC_F_WRITE, 0);
	offer(&f, 0, 1);
	kick_and_wait(&f, 0);
	TEST_ASSERT_EQ(used_len(&f, 0), 32);
	TEST_ASSERT(all_zero(a, 256), "the readable part was written");
	/* And a plain request still works. */
	set_desc(&f, 0, 3, BUF + 0x2000, 8, VRING_DESC_F_WRITE, 0);
	offer(&f, 0, 3);
	kick_and_wait(&f, 0);
	TEST_ASSERT_EQ(used_len(&f, 0), 8);
	fx_fini(&f);
}

static void test_rng_bad_ring_needs_reset(void)
{
	struct fx f;

	rng_init(&f);
	driver_up(&f, F_VERSION_1 | F_EVENT_IDX, 1);
	set_desc(&f, 0, 0, 0x1000, 16, VRING_DESC_F_WRITE, 0);	/* not guest RAM */
	offer(&f, 0, 0);
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio_mmio__poll(f.vm, 1000);
	TEST_ASSERT(rd(&f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, "NEEDS_RESET");
	TEST_ASSERT_EQ(used_idx(&f, 0), 0);
	fx_fini(&f);
}

/* ---- virtio-console --------------------------------------------------- */

#define RXQ	0
#define TXQ	1

static int con_pipe[2];		/* stdout: a blocking write end, like a shell's pipe */
static struct outbuf *con_ob;

static void wake_handler(int sig __unused)
{
}

static void con_init_ring(struct fx *f, size_t ring, unsigned int stall_ms)
{
	struct sigaction sa = { .sa_handler = wake_handler };
	struct lkvm_err err = { "" };
	struct virtio_dev *dev;

	fx_ram(f);
	sigemptyset(&sa.sa_mask);
	TEST_ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	TEST_ASSERT_EQ(pipe2(con_pipe, 0), 0);
	TEST_ASSERT_EQ(fcntl(con_pipe[0], F_SETFL, O_NONBLOCK), 0);
	TEST_ASSERT_EQ(outbuf__new(con_pipe[1], ring, stall_ms, SIGUSR1, NULL, "console", &con_ob),
		       0);
	TEST_ASSERT(virtio_console__new(&f->kvm, con_ob, &dev, &err) == 0, "console: %s",
		    err.msg);
	fx_wrap(f, dev);
}

static void con_init(struct fx *f)
{
	con_init_ring(f, OUTBUF_CONSOLE_SIZE, OUTBUF_STALL_MS);
}

static void con_fini(struct fx *f)
{
	fx_fini(f);
	outbuf__free(con_ob, NULL);
	close(con_pipe[0]);
	close(con_pipe[1]);
}

/* What the guest transmitted so far, once the ring has written it. */
static ssize_t con_read(void *buf, size_t len)
{
	TEST_ASSERT_EQ(outbuf__flush(con_ob, 1000, 1000), 0);
	return read(con_pipe[0], buf, len);
}

/* Runs the I/O loop until queue @q's used ring moves (no kick: input-driven). */
static void wait_used(struct fx *f, unsigned int q)
{
	for (int i = 0; i < 500 && used_idx(f, q) == f->used_seen[q]; i++)
		virtio_mmio__poll(f->vm, 10);
	TEST_ASSERT(used_idx(f, q) != f->used_seen[q], "no completion on queue %u", q);
	f->used_seen[q]++;
}

/* Offers one writable receive buffer of @len at @gpa as descriptor @d. */
static void rx_buffer(struct fx *f, unsigned int d, u64 gpa, u32 len)
{
	set_desc(f, RXQ, d, gpa, len, VRING_DESC_F_WRITE, 0);
	offer(f, RXQ, (u16)d);
}

static void test_console_identity(void)
{
	struct fx f;

	con_init(&f);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_DEVICE_ID), 3);
	wr(&f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	/* No SIZE (0), MULTIPORT (1) or EMERG_WRITE (2). */
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_DEVICE_FEATURES) & 7, 0);
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, RXQ);
	TEST_ASSERT_NE(rd(&f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, TXQ);
	TEST_ASSERT_NE(rd(&f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 2);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);	/* no control queues */
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_CONFIG), 0);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_CONFIG + 8), 0);
	con_fini(&f);
}

/* §5.3.6.1: transmit writes exactly the chain's readable bytes, in order. */
static void test_console_transmit(void)
{
	char got[64];
	struct fx f;
	ssize_t n;

	con_init(&f);
	driver_up(&f, F_VERSION_1, 2);
	memcpy(gp(&f, BUF, 6), "hello ", 6);
	memcpy(gp(&f, BUF + 0x100, 6), "world\n", 6);
	set_desc(&f, TXQ, 0, BUF, 6, VRING_DESC_F_NEXT, 1);
	set_desc(&f, TXQ, 1, BUF + 0x100, 6, 0, 0);
	offer(&f, TXQ, 0);
	kick_and_wait(&f, TXQ);
	TEST_ASSERT_EQ(used_id(&f, TXQ), 0);
	TEST_ASSERT_EQ(used_len(&f, TXQ), 0);
	n = con_read(got, sizeof(got));
	TEST_ASSERT_EQ(n, 12);
	TEST_ASSERT(!memcmp(got, "hello world\n", 12), "output '%.*s'", (int)n, got);
	TEST_ASSERT(irq_pending(&f), "used-buffer interrupt");

	/* A second chain, and nothing else: exactly its bytes follow. */
	memcpy(gp(&f, BUF, 3), "abc", 3);
	set_desc(&f, TXQ, 2, BUF, 3, 0, 0);
	offer(&f, TXQ, 2);
	kick_and_wait(&f, TXQ);
	n = con_read(got, sizeof(got));
	TEST_ASSERT_EQ(n, 3);
	TEST_ASSERT(!memcmp(got, "abc", 3), "output '%.*s'", (int)n, got);
	con_fini(&f);
}

#define TX_TOTAL	SZ_MiB
#define TX_CHAIN	(64 * SZ_KiB)

static u8 tx_pattern(size_t i)
{
	return (u8)(i * 7 + i / 251);
}

/* Transmits @total bytes of tx_pattern in chains of TX_CHAIN; returns how long that took. */
static u64 con_transmit(struct fx *f, size_t total)
{
	u8 *buf = gp(f, BUF, TX_CHAIN);
	u64 t0 = now_ns();

	for (size_t off = 0; off < total; off += TX_CHAIN) {
		unsigned int d = (unsigned int)(off / TX_CHAIN) % QNUM;

		for (size_t i = 0; i < TX_CHAIN; i++)
			buf[i] = tx_pattern(off + i);
		set_desc(f, TXQ, d, BUF, TX_CHAIN, 0, 0);
		offer(f, TXQ, (u16)d);
		kick_and_wait(f, TXQ);
		TEST_ASSERT_EQ(used_id(f, TXQ), d);
	}
	return now_ns() - t0;
}

/*
 * Nobody reads stdout (issue 11 #4): the device's I/O thread, which holds
 * the device lock while it transmits, returns every chain of 1 MiB
 * promptly; the output that did not fit is dropped and counted.
 */
struct con_tx_job {
	struct fx *f;
	u64 ns;
	bool done;
};

static void *con_tx_thread(void *arg)
{
	struct con_tx_job *j = arg;

	j->ns = con_transmit(j->f, TX_TOTAL);
	__atomic_store_n(&j->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static void test_console_stalled_reader(void)
{
	struct con_tx_job j = { 0 };
	struct outbuf_stats st;
	pthread_t t;
	struct fx f;
	u64 ns;

	con_init_ring(&f, 64 * SZ_KiB, OUTBUF_STALL_MS);
	driver_up(&f, F_VERSION_1, 2);
	/* The I/O thread's work on a thread of its own: if it blocks, fail, don't hang. */
	j.f = &f;
	TEST_ASSERT_EQ(pthread_create(&t, NULL, con_tx_thread, &j), 0);
	for (int i = 0; i < 10000 && !__atomic_load_n(&j.done, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	TEST_ASSERT(__atomic_load_n(&j.done, __ATOMIC_ACQUIRE),
		    "transmitting 1 MiB not done after 10 s: the I/O thread is blocked on stdout");
	pthread_join(t, NULL);
	ns = j.ns;
	outbuf__stats(con_ob, &st);
	test_diag("1 MiB transmitted into a stalled pipe in %.1f ms (%.1f ms waiting for the ring)",
		  (double)ns / 1e6, (double)st.wait_ns / 1e6);
	/* Loose on the wall clock (a loaded machine); the ring accounts for its waits. */
	TEST_ASSERT(st.wait_ns < 100 * 1000000ULL, "the I/O thread waited %llu ms for the ring",
		    (unsigned long long)(st.wait_ns / 1000000));
	TEST_ASSERT(ns < 1000 * 1000000ULL, "transmitting took %llu ms",
		    (unsigned long long)(ns / 1000000));
	TEST_ASSERT(st.stalled, "stalled");
	TEST_ASSERT(st.dropped > 0, "nothing dropped");
	TEST_ASSERT_EQ(st.written + st.queued + st.dropped, (u64)TX_TOTAL);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, 0);
	con_fini(&f);
}

struct con_reader {
	int fd;
	size_t got;
	bool in_order;
};

static void *con_reader_thread(void *arg)
{
	struct con_reader *r = arg;
	struct pollfd p = { .fd = r->fd, .events = POLLIN };
	u8 buf[8192];
	ssize_t n;

	r->in_order = true;
	for (;;) {
		n = read(r->fd, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN) {
			poll(&p, 1, 100);
			continue;
		}
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != tx_pattern(r->got + (size_t)i))
				r->in_order = false;
		r->got += (size_t)n;
		usleep(200);	/* slower than the device */
	}
	return NULL;
}

/* With a reader, all of it arrives, in order, however small the ring (a stall time for a loaded machine). */
static void test_console_reading_reader_gets_all(void)
{
	struct con_reader r = { 0 };
	struct outbuf_stats st;
	pthread_t t;
	struct fx f;

	con_init_ring(&f, 16 * SZ_KiB, 5000);
	r.fd = con_pipe[0];
	TEST_ASSERT_EQ(pthread_create(&t, NULL, con_reader_thread, &r), 0);
	driver_up(&f, F_VERSION_1, 2);
	con_transmit(&f, TX_TOTAL);
	TEST_ASSERT_EQ(outbuf__flush(con_ob, 1000, 10000), 0);
	fx_fini(&f);
	outbuf__free(con_ob, &st);
	close(con_pipe[1]);
	pthread_join(t, NULL);
	close(con_pipe[0]);
	TEST_ASSERT_EQ(st.dropped, 0);
	TEST_ASSERT_EQ(r.got, (size_t)TX_TOTAL);
	TEST_ASSERT(r.in_order, "bytes out of order");
}

/* §5.3.6.2: queued input fills receive buffers, split across them as needed. */
static void test_console_receive(void)
{
	struct virtio_dev *d;
	struct fx f;
	static u8 big[5000];

	con_init(&f);
	d = virtio_mmio__dev(f.vm);
	/* Input before the driver is up waits for it. */
	TEST_ASSERT_EQ(virtio_console__input(d, (const u8 *)"pi", 2), 2);
	virtio_mmio__poll(f.vm, 0);
	driver_up(&f, F_VERSION_1, 2);
	TEST_ASSERT_EQ(used_idx(&f, RXQ), 0);
	TEST_ASSERT_EQ(virtio_console__input(d, (const u8 *)"ng\n", 3), 3);
	rx_buffer(&f, 0, BUF, 3);
	kick_and_wait(&f, RXQ);
	TEST_ASSERT_EQ(used_len(&f, RXQ), 3);
	TEST_ASSERT(!memcmp(gp(&f, BUF, 3), "pin", 3), "first buffer");
	rx_buffer(&f, 1, BUF + 0x100, 16);
	kick_and_wait(&f, RXQ);
	TEST_ASSERT_EQ(used_id(&f, RXQ), 1);
	TEST_ASSERT_EQ(used_len(&f, RXQ), 2);
	TEST_ASSERT(!memcmp(gp(&f, BUF + 0x100, 2), "g\n", 2), "second buffer");

	/* A buffer already waiting gets input as soon as it arrives (no kick). */
	rx_buffer(&f, 2, BUF + 0x200, 16);
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, RXQ);
	virtio_mmio__poll(f.vm, 10);
	TEST_ASSERT_EQ(used_idx(&f, RXQ), f.used_seen[RXQ]);	/* nothing to give yet */
	TEST_ASSERT_EQ(virtio_console__input(d, (const u8 *)"x", 1), 1);
	wait_used(&f, RXQ);
	TEST_ASSERT_EQ(used_len(&f, RXQ), 1);
	TEST_ASSERT_EQ(*(u8 *)gp(&f, BUF + 0x200, 1), 'x');

	/* The buffer is bounded; space says so. */
	TEST_ASSERT_EQ(virtio_console__rx_space(d), 4096);
	TEST_ASSERT_EQ(virtio_console__input(d, big, sizeof(big)), 4096);
	TEST_ASSERT_EQ(virtio_console__rx_space(d), 0);
	TEST_ASSERT_EQ(virtio_console__input(d, big, 1), 0);
	con_fini(&f);
}

/* A reset stops delivery until the next driver; queued input is kept for it. */
static void test_console_reset_keeps_input(void)
{
	struct virtio_dev *d;
	struct fx f;

	con_init(&f);
	d = virtio_mmio__dev(f.vm);
	driver_up(&f, F_VERSION_1 | F_EVENT_IDX, 2);
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	TEST_ASSERT_EQ(virtio_console__input(d, (const u8 *)"ok", 2), 2);
	virtio_mmio__poll(f.vm, 10);
	memset(f.ram, 0, 0x20000);
	f.avail_idx[RXQ] = f.used_seen[RXQ] = 0;
	driver_up(&f, F_VERSION_1 | F_EVENT_IDX, 2);
	rx_buffer(&f, 0, BUF, 8);
	kick_and_wait(&f, RXQ);
	TEST_ASSERT_EQ(used_len(&f, RXQ), 2);
	TEST_ASSERT(!memcmp(gp(&f, BUF, 2), "ok", 2), "input after reset");
	con_fini(&f);
}

/* ---- virtio-blk: a reset while the backing store hangs; flush at exit ---- */

#define SLOW_RAM	0xa0000000ULL	/* a second RAM region: userfaultfd memory */
#define BLK_HDR		(BUF)
#define BLK_STATUS	(BUF + 0x100)
#define BLK_DATA	(BUF + 0x1000)
#define T_IN		0
#define T_OUT		1

static char blk_path[PATH_MAX];
static char blk_shm[64];	/* a tmpfs directory for the image, or "" (TEST_TMPDIR) */
static const struct lkvm_config *blk_cfg;	/* the VM's config for blk_init_opts(), or NULL */

static void blk_shm_cleanup(void)
{
	if (blk_shm[0]) {
		unlink(blk_path);
		rmdir(blk_shm);
	}
}

/* virtio-blk on a 4 MiB image of byte (offset % 251), with -d options @opts. */
static struct virtio_dev *blk_init_opts(struct fx *f, const char *opts)
{
	struct lkvm_err err = { "" };
	struct disk_opts o;
	struct virtio_dev *dev;
	static u8 img[4 * SZ_MiB];
	char arg[PATH_MAX + 64];
	int fd;

	fx_ram(f);
	f->kvm.cfg = blk_cfg;
	for (size_t i = 0; i < sizeof(img); i++)
		img[i] = (u8)(i % 251);
	snprintf(blk_path, sizeof(blk_path), "%s/blk.img", blk_shm[0] ? blk_shm : TEST_TMPDIR);
	fd = open(blk_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	TEST_ASSERT(fd >= 0, "create %s", blk_path);
	TEST_ASSERT_EQ(write(fd, img, sizeof(img)), (ssize_t)sizeof(img));
	close(fd);
	snprintf(arg, sizeof(arg), "%s%s", blk_path, opts);
	TEST_ASSERT_EQ(disk__parse_opts(arg, &o, &err), 0);
	TEST_ASSERT(virtio_blk__new(&f->kvm, &o, 0, 1, &dev, &err) == 0, "blk: %s", err.msg);
	fx_wrap(f, dev);
	return dev;
}

/* The sync engine; @ro: ",ro". */
static struct virtio_dev *blk_init(struct fx *f, bool ro)
{
	return blk_init_opts(f, ro ? ",engine=sync,ro" : ",engine=sync");
}

/* Offers a request of @type on sector @sector with @len data bytes at @data as chain @d..@d+2. */
static void blk_offer(struct fx *f, unsigned int d, u32 type, u64 sector, u64 data, u32 len)
{
	u8 *h = gp(f, BLK_HDR + 32ULL * d, 16);
	u32 t = htole32(type);
	u64 s = htole64(sector);

	memset(h, 0, 16);
	memcpy(h, &t, 4);
	memcpy(h + 8, &s, 8);
	*(u8 *)gp(f, BLK_STATUS + d, 1) = 0xee;
	set_desc(f, 0, d, BLK_HDR + 32ULL * d, 16, VRING_DESC_F_NEXT, (u16)(d + 1));
	set_desc(f, 0, d + 1, data, len,
		 (type == T_IN ? VRING_DESC_F_WRITE : 0) | VRING_DESC_F_NEXT, (u16)(d + 2));
	set_desc(f, 0, d + 2, BLK_STATUS + d, 1, VRING_DESC_F_WRITE, 0);
	offer(f, 0, (u16)d);
}

/*
 * Issue 11 #12: a reset (on a vCPU, under the device lock) while a READ
 * hangs in the backing store returns within its bound instead of waiting
 * for the store; the device says the reset is still pending, answers
 * neither the old driver (its status byte untouched) nor, until the hung
 * request is back, the new one -- whose request then completes.  Before
 * the fix the reset waits for the store (here: the 3 s watchdog).
 */
static void test_blk_reset_with_hung_io(void)
{
	struct slow_mem sm;
	struct virtio_dev *dev;
	struct fx f;
	u64 t0, ns;
	u8 *data;

	slow_mem_init(&sm, 4096);
	dev = blk_init(&f, false);
	TEST_ASSERT_EQ(gmem__add_region(&f.kvm, SLOW_RAM, 4096, sm.p), 0);
	driver_up(&f, F_VERSION_1, 1);
	blk_offer(&f, 0, T_IN, 8, SLOW_RAM, 4096);
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio_mmio__poll(f.vm, 0);
	slow_mem_wait_blocked(&sm, 5000);	/* the disk's worker is stuck in preadv() */
	slow_mem_watchdog(&sm, 3000);

	t0 = now_ns();
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	ns = now_ns() - t0;
	test_diag("reset with a hung request returned after %.1f ms", (double)ns / 1e6);
	TEST_ASSERT(ns < 1000 * 1000000ULL, "the reset took %llu ms: the vCPU waited for the store",
		    (unsigned long long)(ns / 1000000));
	TEST_ASSERT(dev->reset_pending, "the device says its reset is still pending");
	/* §2.4.1: not complete, so the status does not read 0 (a PCI driver waits for 0). */
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_STATUS), VIRTIO_CONFIG_S_ACKNOWLEDGE |
		       VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	for (int i = 0; i < 10; i++)
		virtio_mmio__poll(f.vm, 10);
	TEST_ASSERT_NE(rd(&f, VIRTIO_MMIO_STATUS), 0);

	/* A driver that does not wait (Linux's virtio_mmio) sets the device up again. */
	memset(f.ram, 0, 0x10000);
	f.avail_idx[0] = f.used_seen[0] = 0;
	driver_up(&f, F_VERSION_1, 1);
	TEST_ASSERT(dev->reset_pending, "still pending: the hung request is not back");
	blk_offer(&f, 3, T_IN, 0, BLK_DATA, 512);
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (int i = 0; i < 10; i++)
		virtio_mmio__poll(f.vm, 10);
	TEST_ASSERT_EQ(used_idx(&f, 0), 0);	/* the new driver's request waits */

	slow_mem_release_now(&sm);
	for (int i = 0; i < 500 && dev->reset_pending; i++)
		virtio_mmio__poll(f.vm, 10);
	TEST_ASSERT(!dev->reset_pending, "the reset completes once the hung request is back");
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_STATUS), VIRTIO_CONFIG_S_ACKNOWLEDGE |
		       VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	/* Then the waiting request is served, and only it: the old one got no answer. */
	for (int i = 0; i < 500 && used_idx(&f, 0) == 0; i++)
		virtio_mmio__poll(f.vm, 10);
	TEST_ASSERT_EQ(used_idx(&f, 0), 1);
	f.used_seen[0] = 1;
	TEST_ASSERT_EQ(used_id(&f, 0), 3);
	TEST_ASSERT_EQ(*(u8 *)gp(&f, BLK_STATUS + 3, 1), 0);	/* VIRTIO_BLK_S_OK */
	data = gp(&f, BLK_DATA, 512);
	for (unsigned int i = 0; i < 512; i++)
		TEST_ASSERT(data[i] == (u8)(i % 251), "byte %u of sector 0 is %#x", i, data[i]);
	TEST_ASSERT_EQ(*(u8 *)gp(&f, BLK_STATUS + 0, 1), 0xee);	/* the old driver's: untouched */
	fx_fini(&f);
	slow_mem_fini(&sm);
}

/* A reset with nothing hung is immediate and complete. */
static void test_blk_reset_idle(void)
{
	struct virtio_dev *dev;
	struct fx f;

	dev = blk_init(&f, false);
	driver_up(&f, F_VERSION_1, 1);
	blk_offer(&f, 0, T_IN, 0, BLK_DATA, 512);
	kick_and_wait(&f, 0);
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	TEST_ASSERT(!dev->reset_pending, "no reset pending");
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_STATUS), 0);
	fx_fini(&f);
}

/*
 * Issue 11 #12: when lkvm stops, a writable disk is flushed (fdatasync)
 * after its last requests, even if the guest never asked; a read-only one
 * is not; a flush that fails is counted for the exit status.
 */
static void test_blk_flush_at_exit(void)
{
	struct fx f;

	blk_init(&f, false);
	driver_up(&f, F_VERSION_1, 1);
	memset(gp(&f, BLK_DATA, 512), 0x5a, 512);
	blk_offer(&f, 0, T_OUT, 1, BLK_DATA, 512);
	kick_and_wait(&f, 0);
	fx_fini(&f);
	TEST_ASSERT_EQ(f.kvm.disks_flushed, 1);
	TEST_ASSERT_EQ(f.kvm.disk_flush_errors, 0);

	blk_init(&f, true);
	fx_fini(&f);
	TEST_ASSERT_EQ(f.kvm.disks_flushed, 0);
}

/* Makes syscall @nr fail with @errnum in this (forked) test process. */
static void deny_syscall(long nr, int errnum)
{
	struct sock_filter flt[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (u32)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((u32)errnum & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(flt), .filter = flt };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0))
		TEST_SKIP("seccomp filter: %s", strerror(errno));
}

static void test_blk_flush_at_exit_fails(void)
{
	struct fx f;

	blk_init(&f, false);
	deny_syscall(__NR_fdatasync, EIO);
	fx_fini(&f);
	TEST_ASSERT_EQ(f.kvm.disks_flushed, 1);
	TEST_ASSERT_EQ(f.kvm.disk_flush_errors, 1);
}

/* ---- virtio-blk request geometry and batching ---------------------------- */

#define F_BLK_SIZE_MAX	BIT(VIRTIO_BLK_F_SIZE_MAX)
#define F_BLK_SEG_MAX	BIT(VIRTIO_BLK_F_SEG_MAX)
#define F_BLK_BLK_SIZE	BIT(VIRTIO_BLK_F_BLK_SIZE)
#define F_BLK_TOPOLOGY	BIT(VIRTIO_BLK_F_TOPOLOGY)
#define F_BLK_FLUSH	BIT(VIRTIO_BLK_F_FLUSH)
#define BCFG(field)	(VIRTIO_MMIO_CONFIG + offsetof(struct virtio_blk_config, field))

static u64 dev_features(struct fx *f)
{
	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	u64 hi = rd(f, VIRTIO_MMIO_DEVICE_FEATURES);

	wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return hi << 32 | rd(f, VIRTIO_MMIO_DEVICE_FEATURES);
}

/*
 * Issue 16: the config space's geometry against the queue size the
 * transport offers and what the disk layer takes in one request.
 */
static void check_geometry(const char *opts, u32 want_qmax)
{
	u32 qmax, seg_max, size_max, blk_size, topo, min_io, opt_io, dalign;
	unsigned int exp;
	struct fx f;
	u64 feat;

	blk_init_opts(&f, opts);
	feat = dev_features(&f);
	TEST_ASSERT((feat & (F_BLK_SIZE_MAX | F_BLK_SEG_MAX | F_BLK_BLK_SIZE | F_BLK_TOPOLOGY)) ==
		    (F_BLK_SIZE_MAX | F_BLK_SEG_MAX | F_BLK_BLK_SIZE | F_BLK_TOPOLOGY),
		    "%s: features %#llx offer SIZE_MAX, SEG_MAX, BLK_SIZE, TOPOLOGY", opts,
		    (unsigned long long)feat);
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 0);
	qmax = rd(&f, VIRTIO_MMIO_QUEUE_NUM_MAX);
	seg_max = rd(&f, BCFG(seg_max));
	size_max = rd(&f, BCFG(size_max));
	blk_size = rd(&f, BCFG(blk_size));
	topo = rd(&f, BCFG(physical_block_exp));
	opt_io = rd(&f, BCFG(opt_io_size));
	dalign = rd(&f, BCFG(discard_sector_alignment));
	exp = topo & 0xff;
	min_io = topo >> 16;
	test_diag("%s: QueueNumMax %u, seg_max %u, size_max %u, blk_size %u, exp %u, min_io %u, opt_io %u",
		  opts, qmax, seg_max, size_max, blk_size, exp, min_io, opt_io);
	TEST_ASSERT_EQ(qmax, want_qmax);
	/* §2.7.5.3.1: header + seg_max segments + status fit one chain of the Queue Size. */
	TEST_ASSERT(seg_max >= 1 && seg_max + 2 <= qmax, "seg_max %u + 2 within queue %u", seg_max,
		    qmax);
	TEST_ASSERT(seg_max + 2 <= VQ_MAX_IOV, "a chain fits VQ_MAX_IOV host buffers");
	/* The largest request the guest may build is one the disk layer takes (INT_MAX). */
	TEST_ASSERT((u64)seg_max * size_max <= INT_MAX, "%u segments of %u bytes", seg_max,
		    size_max);
	TEST_ASSERT(size_max >= 64 * SZ_KiB, "size_max %u holds a 64 KiB guest page", size_max);
	TEST_ASSERT_EQ(blk_size, 512);	/* a buffered image */
	TEST_ASSERT((blk_size << exp) <= 64 * SZ_KiB, "physical block %u", blk_size << exp);
	TEST_ASSERT_EQ(min_io, 1U << exp);
	TEST_ASSERT_EQ(opt_io, 0);	/* no claim: mkfs would take it for a stripe */
	TEST_ASSERT_EQ(dalign * 512 % blk_size, 0);
	if (qmax >= 258)
		TEST_ASSERT(seg_max >= 256, "a 1 MiB request of 4 KiB pages is one request");
	/* The driver may take the whole queue, not one more (a power of 2 up to QueueNumMax). */
	mmio_negotiate(f.vm, F_VERSION_1);
	mmio_setup_queue(f.vm, 0, qmax * 2, RAM, RAM + 0x8000, RAM + 0xa000);
	TEST_ASSERT_EQ(rd(&f, VIRTIO_MMIO_QUEUE_NUM), 0);
	fx_fini(&f);
}

static void test_blk_geometry(void)
{
	check_geometry(",engine=sync", 512);
	check_geometry(",engine=sync,queue-size=4", 4);
	check_geometry(",engine=sync,queue-size=256", 256);
	check_geometry(",engine=sync,queue-size=1024", 1024);
}

/* A 512-entry queue 0 laid out past the small tests' rings; 1 MiB of data in a second region. */
#define BQ_DESC		RAM
#define BQ_AVAIL	(RAM + 0x2000)
#define BQ_USED		(RAM + 0x3000)
#define BQ_HDR		(RAM + 0x5000)	/* 32 bytes per request */
#define BQ_STATUS	(RAM + 0x6000)
#define BQ_DATA		0x100000000ULL
#define BQ_NUM		512

struct bq {
	struct fx f;
	u8 *data;
	u16 avail, used_seen;
	unsigned int next_desc;
};

static void bq_init(struct bq *q, const char *opts, u64 features)
{
	memset(q, 0, sizeof(*q));
	blk_init_opts(&q->f, opts);
	q->data = calloc(1, SZ_MiB);
	TEST_ASSERT(q->data, "calloc");
	TEST_ASSERT_EQ(gmem__add_region(&q->f.kvm, BQ_DATA, SZ_MiB, q->data), 0);
	TEST_ASSERT(mmio_negotiate(q->f.vm, F_VERSION_1 | F_BLK_FLUSH | features), "FEATURES_OK");
	mmio_setup_queue(q->f.vm, 0, BQ_NUM, BQ_DESC, BQ_AVAIL, BQ_USED);
	TEST_ASSERT_EQ(rd(&q->f, VIRTIO_MMIO_QUEUE_READY), 1);
	mmio_driver_ok(q->f.vm);
	virtio_mmio__poll(q->f.vm, 0);
}

static void bq_fini(struct bq *q)
{
	fx_fini(&q->f);
	free(q->data);
}

/*
 * Request @r (header and status slot @r) of @type on @sector over @nseg
 * segments of @seg bytes from BQ_DATA + @off, as one direct chain; made
 * available (avail->idx published) only if @publish.
 */
static void bq_req(struct bq *q, unsigned int r, u32 type, u64 sector, u64 off, unsigned int nseg,
		   u32 seg, bool publish)
{
	struct fx *f = &q->f;
	unsigned int head = q->next_desc, d = head;
	u8 *h = gp(f, BQ_HDR + 32ULL * r, 16);
	u32 t = htole32(type);
	u64 sec = htole64(sector);
	u16 wflag = type == T_IN ? VRING_DESC_F_WRITE : 0;

	TEST_ASSERT(head + nseg + 2 <= BQ_NUM, "room in the descriptor table");
	memset(h, 0, 16);
	memcpy(h, &t, 4);
	memcpy(h + 8, &sec, 8);
	*(u8 *)gp(f, BQ_STATUS + r, 1) = 0xee;
	gm_set_desc(&f->kvm, BQ_DESC, d, BQ_HDR + 32ULL * r, 16, VRING_DESC_F_NEXT, (u16)(d + 1));
	d++;
	for (unsigned int i = 0; i < nseg; i++, d++)
		gm_set_desc(&f->kvm, BQ_DESC, d, BQ_DATA + off + (u64)i * seg, seg,
			    wflag | VRING_DESC_F_NEXT, (u16)(d + 1));
	gm_set_desc(&f->kvm, BQ_DESC, d, BQ_STATUS + r, 1, VRING_DESC_F_WRITE, 0);
	q->next_desc = d + 1;
	put16(f, BQ_AVAIL + 4 + 2ULL * (q->avail % BQ_NUM), (u16)head);
	q->avail++;
	if (publish)
		put16(f, BQ_AVAIL + 2, q->avail);
}

/* Kicks queue 0 and runs the I/O loop until @n more requests are used. */
static void bq_kick_wait(struct bq *q, unsigned int n)
{
	struct fx *f = &q->f;

	wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (int i = 0; i < 500 && (u16)(get16(f, BQ_USED + 2) - q->used_seen) < n; i++)
		virtio_mmio__poll(f->vm, 10);
	TEST_ASSERT_EQ((u16)(get16(f, BQ_USED + 2) - q->used_seen), n);
	q->used_seen = (u16)(q->used_seen + n);
	q->next_desc = 0;
}

static bool have_io_uring(void)
{
	struct io_uring ring;

	if (io_uring_queue_init(8, &ring, 0))
		return false;
	io_uring_queue_exit(&ring);
	return true;
}

/*
 * Issue 16: a 1 MiB guest request in one chain (256 separate 4 KiB
 * segments, as the default geometry allows) is one disk request and one
 * engine submission (one io_uring_enter; for sync, one hand-off), both
 * ways, and the bytes are right.
 */
static void check_1mib_one_submission(const char *opts, bool uring)
{
	struct virtio_blk_stats st0, st;
	struct bq q;

	bq_init(&q, opts, 0);
	virtio_blk__stats(virtio_mmio__dev(q.f.vm), &st0);
	for (size_t i = 0; i < SZ_MiB; i++)
		q.data[i] = (u8)(i * 7 + 3);
	bq_req(&q, 0, T_OUT, 2048, 0, 256, 4096, true);	/* sectors 2048.. = byte 1 MiB */
	bq_kick_wait(&q, 1);
	TEST_ASSERT_EQ(*(u8 *)gp(&q.f, BQ_STATUS, 1), 0);
	virtio_blk__stats(virtio_mmio__dev(q.f.vm), &st);
	TEST_ASSERT_EQ(st.chains - st0.chains, 1);
	TEST_ASSERT_EQ(st.disk.requests - st0.disk.requests, 1);
	TEST_ASSERT_EQ(st.disk.engine_submits - st0.disk.engine_submits, 1);
	TEST_ASSERT_EQ(st.disk.pool_handoffs - st0.disk.pool_handoffs, uring ? 0 : 1);

	memset(q.data, 0, SZ_MiB);
	st0 = st;
	bq_req(&q, 1, T_IN, 2048, 0, 256, 4096, true);
	bq_kick_wait(&q, 1);
	TEST_ASSERT_EQ(*(u8 *)gp(&q.f, BQ_STATUS + 1, 1), 0);
	TEST_ASSERT_EQ(get32(&q.f, BQ_USED + 4 + 8ULL * 1 + 4), SZ_MiB + 1);
	for (size_t i = 0; i < SZ_MiB; i++)
		TEST_ASSERT(q.data[i] == (u8)(i * 7 + 3), "byte %zu read back", i);
	virtio_blk__stats(virtio_mmio__dev(q.f.vm), &st);
	TEST_ASSERT_EQ(st.disk.requests - st0.disk.requests, 1);
	TEST_ASSERT_EQ(st.disk.engine_submits - st0.disk.engine_submits, 1);
	TEST_ASSERT_EQ(st.disk.pool_handoffs - st0.disk.pool_handoffs, uring ? 0 : 1);
	bq_fini(&q);
}

static void test_blk_1mib_one_submission_sync(void)
{
	check_1mib_one_submission(",engine=sync", false);
}

static void test_blk_1mib_one_submission_io_uring(void)
{
	if (!have_io_uring())
		TEST_SKIP("this kernel refuses io_uring");
	check_1mib_one_submission(",engine=io_uring", true);
}

/*
 * Issue 16: N chains made available together and one kick are one batch:
 * one engine submission for all of them, and -- their completions reaped
 * together -- one interrupt.
 */
enum batch_engine { BATCH_POOL, BATCH_URING, BATCH_INLINE };

static void check_batch(const char *opts, enum batch_engine how, bool event_idx)
{
	struct virtio_blk_stats st0, st;
	const unsigned int n = 8;
	struct bq q;

	bq_init(&q, opts, event_idx ? F_EVENT_IDX : 0);
	virtio_blk__stats(virtio_mmio__dev(q.f.vm), &st0);
	for (unsigned int i = 0; i < n; i++)
		bq_req(&q, i, T_IN, 8ULL * i, 4096ULL * i, 1, 4096, i == n - 1);
	if (event_idx)
		put16(&q.f, BQ_AVAIL + 4 + 2ULL * BQ_NUM, (u16)(n - 1));	/* used_event: the last */
	wr(&q.f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	virtio_mmio__poll(q.f.vm, 0);	/* the kick: all n popped and submitted */
	virtio_blk__stats(virtio_mmio__dev(q.f.vm), &st);
	TEST_ASSERT_EQ(st.kicks - st0.kicks, 1);
	TEST_ASSERT_EQ(st.chains - st0.chains, n);
	TEST_ASSERT_EQ(st.batches - st0.batches, 1);
	TEST_ASSERT_EQ(st.disk.requests - st0.disk.requests, n);
	TEST_ASSERT_EQ(st.disk.engine_submits - st0.disk.engine_submits, how == BATCH_INLINE ? 0 : 1);
	if (how == BATCH_URING)
		TEST_ASSERT_EQ(st.disk.syscalls - st0.disk.syscalls, 1);	/* one io_uring_enter */
	if (how == BATCH_INLINE) {
		/* Done in that pass: n preadv()s, no wake-up, answered with one interrupt. */
		TEST_ASSERT_EQ(st.disk.syscalls - st0.disk.syscalls, n);
		TEST_ASSERT_EQ(st.disk.completions - st0.disk.completions, n);
		TEST_ASSERT_EQ((u16)(get16(&q.f, BQ_USED + 2) - q.used_seen), n);
		TEST_ASSERT_EQ(st.irqs - st0.irqs, 1);
		TEST_ASSERT_EQ(st.disk.pool_handoffs - st0.disk.pool_handoffs, 0);
	}
	/* Let every request finish, then one I/O loop pass reaps them all. */
	usleep(100 * 1000);
	for (int i = 0; i < 500 && (u16)(get16(&q.f, BQ_USED + 2) - q.used_seen) < n; i++)
		virtio_mmio__poll(q.f.vm, 10);
	TEST_ASSERT_EQ((u16)(get16(&q.f, BQ_USED + 2) - q.used_seen), n);
	virtio_blk__stats(virtio_mmio__dev(q.f.vm), &st);
	TEST_ASSERT_EQ(st.disk.completions - st0.disk.completions, n);
	TEST_ASSERT_EQ(st.irqs - st0.irqs, 1);
	for (unsigned int i = 0; i < n; i++) {
		TEST_ASSERT_EQ(*(u8 *)gp(&q.f, BQ_STATUS + i, 1), 0);
		TEST_ASSERT(q.data[4096 * i] == (u8)((4096 * i) % 251), "request %u's data", i);
	}
	bq_fini(&q);
}

static void test_blk_batch_sync(void)
{
	check_batch(",engine=sync", BATCH_POOL, false);
	check_batch(",engine=sync", BATCH_POOL, true);
}

/* On tmpfs the default (sync, inline) answers the whole batch within the kick's pass. */
static void test_blk_batch_inline(void)
{
	struct statfs sfs;

	if (statfs("/dev/shm", &sfs) || (unsigned long)sfs.f_type != TMPFS_MAGIC)
		TEST_SKIP("no tmpfs at /dev/shm");
	snprintf(blk_shm, sizeof(blk_shm), "/dev/shm/lkvm-unit-XXXXXX");
	TEST_ASSERT(mkdtemp(blk_shm), "mkdtemp: %s", strerror(errno));
	atexit(blk_shm_cleanup);
	check_batch("", BATCH_INLINE, false);
	check_batch(",engine=sync", BATCH_INLINE, true);
}

static void test_blk_batch_io_uring(void)
{
	if (!have_io_uring())
		TEST_SKIP("this kernel refuses io_uring");
	check_batch(",engine=io_uring", BATCH_URING, false);
	check_batch(",engine=io_uring", BATCH_URING, true);
}

/*
 * Issue 16: with -d ...,fixed-buffers, io_uring reads a one-segment
 * request straight into guest RAM registered as fixed buffers -- unless
 * the VM has a balloon, whose page returns the pins would not follow.
 * Without the option nothing is registered.
 */
static void check_fixed_buffers(bool balloon, bool asked)
{
	static struct lkvm_config cfg;
	struct virtio_blk_stats st0, st;
	struct virtio_dev *dev;
	struct fx f;
	u8 *data;

	cfg.balloon = balloon;
	blk_cfg = &cfg;
	dev = blk_init_opts(&f, asked ? ",engine=io_uring,fixed-buffers" : ",engine=io_uring");
	driver_up(&f, F_VERSION_1 | F_BLK_FLUSH, 1);
	virtio_blk__stats(dev, &st0);
	blk_offer(&f, 0, T_IN, 8, BLK_DATA, 4096);
	kick_and_wait(&f, 0);
	TEST_ASSERT_EQ(*(u8 *)gp(&f, BLK_STATUS, 1), 0);
	data = gp(&f, BLK_DATA, 4096);
	for (unsigned int i = 0; i < 4096; i++)
		TEST_ASSERT(data[i] == (u8)((8 * 512 + i) % 251), "byte %u", i);
	virtio_blk__stats(dev, &st);
	test_diag("fixed-buffers %d, balloon %d: %llu fixed-buffer request(s)", asked, balloon,
		  (unsigned long long)(st.disk.fixed_buf_reqs - st0.disk.fixed_buf_reqs));
	if (balloon || !asked)
		TEST_ASSERT_EQ(st.disk.fixed_buf_reqs - st0.disk.fixed_buf_reqs, 0);
	else
		TEST_ASSERT_EQ(st.disk.fixed_buf_reqs - st0.disk.fixed_buf_reqs, 1);
	fx_fini(&f);
	blk_cfg = NULL;
}

/* Whether this process may pin 1 MiB as io_uring buffers (RLIMIT_MEMLOCK, say). */
static bool can_register_buffers(void)
{
	struct io_uring ring;
	struct iovec iov = { .iov_len = SZ_MiB };
	bool ok;

	iov.iov_base = calloc(1, SZ_MiB);
	if (!iov.iov_base || io_uring_queue_init(8, &ring, 0)) {
		free(iov.iov_base);
		return false;
	}
	ok = io_uring_register_buffers(&ring, &iov, 1) == 0;
	io_uring_queue_exit(&ring);
	free(iov.iov_base);
	return ok;
}

static void test_blk_fixed_buffers(void)
{
	if (!have_io_uring())
		TEST_SKIP("this kernel refuses io_uring");
	if (!can_register_buffers())
		TEST_SKIP("io_uring_register_buffers refused (RLIMIT_MEMLOCK?)");
	check_fixed_buffers(false, false);	/* opt-in */
	check_fixed_buffers(false, true);
	check_fixed_buffers(true, true);
}

static const struct test_case tests[] = {
	TEST_CASE(test_rng_identity),
	TEST_CASE(test_rng_fills_buffers),
	TEST_CASE(test_rng_bounded),
	TEST_CASE(test_rng_readable_only),
	TEST_CASE(test_rng_bad_ring_needs_reset),
	TEST_CASE(test_console_identity),
	TEST_CASE(test_console_transmit),
	TEST_CASE(test_console_stalled_reader),
	TEST_CASE(test_console_reading_reader_gets_all),
	TEST_CASE(test_console_receive),
	TEST_CASE(test_console_reset_keeps_input),
	TEST_CASE(test_blk_reset_with_hung_io),
	TEST_CASE(test_blk_reset_idle),
	TEST_CASE(test_blk_flush_at_exit),
	TEST_CASE(test_blk_flush_at_exit_fails),
	TEST_CASE(test_blk_geometry),
	TEST_CASE(test_blk_1mib_one_submission_sync),
	TEST_CASE(test_blk_1mib_one_submission_io_uring),
	TEST_CASE(test_blk_batch_sync),
	TEST_CASE(test_blk_batch_io_uring),
	TEST_CASE(test_blk_batch_inline),
	TEST_CASE(test_blk_fixed_buffers),
};

TEST_MAIN(tests)
