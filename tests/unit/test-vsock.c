// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-vsock (virtio/vsock.c) behind virtio-mmio, without a kernel
 * vhost: a fake vhost-vsock (struct vhost_dev's fake_ioctl) records the
 * ioctls.  The guest CID in config space and claimed at creation (one in
 * use is a clear error), the features (SEQPACKET only if vhost has it),
 * rx and tx handed to vhost at DRIVER_OK and the event queue kept, a reset
 * taking them back; and /dev nodes that are no vhost-vsock failing cleanly.
 */
#include <fcntl.h>
#include <linux/vhost.h>

#include <linux/virtio_vsock.h>

#include "lkvm/kvm.h"
#include "lkvm/vhost.h"
#include "lkvm/virtio-transport.h"
#include "test.h"
#include "guest-mem.h"
#include "mmio-driver.h"

#define RAM		0x80000000ULL
#define RAM_SIZE	SZ_MiB
#define QBASE(q)	(RAM + 0x10000ULL * (q))
#define QNUM		16

#define F_VERSION_1	BIT(32)
#define F_EVENT_IDX	BIT(29)
#define F_SEQPACKET	BIT(VIRTIO_VSOCK_F_SEQPACKET)

static struct {
	unsigned long req[64];
	unsigned int index[64];
	s64 val[64];
	unsigned int n;
	int cid_error;		/* VHOST_VSOCK_SET_GUEST_CID fails with this (0: succeeds) */
	u64 cid;
	int running;
} fv;

static int fake_vhost(struct vhost_dev *v, unsigned long req, void *arg)
{
	unsigned int k = fv.n++;

	TEST_ASSERT(v->fd >= 0, "ioctl %#lx on a closed vhost", req);
	TEST_ASSERT(k < ARRAY_SIZE(fv.req), "too many ioctls");
	fv.req[k] = req;
	fv.index[k] = 0;
	fv.val[k] = 0;
	if (req == VHOST_VSOCK_SET_GUEST_CID) {
		fv.cid = *(u64 *)arg;
		return fv.cid_error ? -fv.cid_error : 0;
	}
	if (req == VHOST_VSOCK_SET_RUNNING) {
		fv.running = *(int *)arg;
		fv.val[k] = fv.running;
	} else if (req == VHOST_SET_FEATURES) {
		fv.val[k] = (s64)*(u64 *)arg;
	} else if (req == VHOST_SET_VRING_NUM || req == VHOST_SET_VRING_BASE ||
		   req == VHOST_GET_VRING_BASE) {
		fv.index[k] = ((struct vhost_vring_state *)arg)->index;
	} else if (req == VHOST_SET_VRING_ADDR) {
		fv.index[k] = ((struct vhost_vring_addr *)arg)->index;
	} else if (req == VHOST_SET_VRING_KICK || req == VHOST_SET_VRING_CALL) {
		fv.index[k] = ((struct vhost_vring_file *)arg)->index;
		fv.val[k] = ((struct vhost_vring_file *)arg)->fd;
	} else if (req != VHOST_SET_MEM_TABLE) {
		TEST_ASSERT(0, "unexpected vhost ioctl %#lx", req);
	}
	return 0;
}

/* A fake vhost-vsock, opened (on /dev/null) as vhost__open() would leave it. */
static void fake_open(struct vhost_dev *v, u64 features)
{
	vhost__init(v);
	v->fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	TEST_ASSERT(v->fd >= 0, "open /dev/null");
	v->node = "/dev/vhost-vsock (fake)";
	v->features = features;
	v->fake_ioctl = fake_vhost;
}

struct fx {
	struct kvm kvm;
	u8 *ram;
	struct virtio_mmio *vm;
};

static void fx_init(struct fx *f, u64 cid, u64 vhost_features)
{
	struct lkvm_err err = { "" };
	struct virtio_dev *dev;
	struct vhost_dev v;

	memset(f, 0, sizeof(*f));
	memset(&fv, 0, sizeof(fv));
	f->kvm.sys_fd = f->kvm.vm_fd = -1;
	f->ram = calloc(1, RAM_SIZE);
	TEST_ASSERT(f->ram, "calloc");
	TEST_ASSERT_EQ(gmem__add_region(&f->kvm, RAM, RAM_SIZE, f->ram), 0);
	fake_open(&v, vhost_features);
	TEST_ASSERT(virtio_vsock__new(&f->kvm, cid, &v, &dev, &err) == 0, "vsock: %s", err.msg);
	TEST_ASSERT(!vhost__is_open(&v), "the device took the vhost");
	TEST_ASSERT_EQ(fv.cid, cid);
	TEST_ASSERT(virtio_mmio__new(&f->kvm, dev, 0x02000000ULL, 16, &f->vm, &err) == 0, "%s",
		    err.msg);
}

static void fx_fini(struct fx *f)
{
	virtio_mmio__free(f->vm);
	mmio__free(&f->kvm.mmio);
	free(f->ram);
}

static void driver_up(struct fx *f, u64 features)
{
	TEST_ASSERT(mmio_negotiate(f->vm, features), "FEATURES_OK");
	for (unsigned int q = 0; q < 3; q++)
		mmio_setup_queue(f->vm, q, QNUM, QBASE(q), QBASE(q) + 0x1000, QBASE(q) + 0x2000);
	mmio_driver_ok(f->vm);
	virtio_mmio__poll(f->vm, 0);
}

static unsigned int count(unsigned long req, unsigned int index)
{
	unsigned int n = 0;

	for (unsigned int k = 0; k < fv.n; k++)
		n += fv.req[k] == req && fv.index[k] == index;
	return n;
}

static void test_config_and_features(void)
{
	struct fx f;
	u64 cid = 0;

	fx_init(&f, 0x12345678, F_VERSION_1 | F_EVENT_IDX | F_SEQPACKET);
	TEST_ASSERT_EQ(mmio_rd(f.vm, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_VSOCK);
	/* §5.10.4: guest_cid, le64. */
	cid = mmio_rd(f.vm, VIRTIO_MMIO_CONFIG) | (u64)mmio_rd(f.vm, VIRTIO_MMIO_CONFIG + 4) << 32;
	TEST_ASSERT_EQ(cid, 0x12345678);
	mmio_wr(f.vm, VIRTIO_MMIO_CONFIG, 99);	/* read-only */
	TEST_ASSERT_EQ(mmio_rd(f.vm, VIRTIO_MMIO_CONFIG), 0x12345678);
	mmio_wr(f.vm, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	TEST_ASSERT_EQ(mmio_rd(f.vm, VIRTIO_MMIO_DEVICE_FEATURES) & 0xffff, F_SEQPACKET);
	for (unsigned int q = 0; q < 4; q++) {
		mmio_wr(f.vm, VIRTIO_MMIO_QUEUE_SEL, q);
		TEST_ASSERT((mmio_rd(f.vm, VIRTIO_MMIO_QUEUE_NUM_MAX) != 0) == (q < 3), "queue %u", q);
	}
	fx_fini(&f);
	/* A vhost without SEQPACKET: not offered. */
	fx_init(&f, 3, F_VERSION_1 | F_EVENT_IDX);
	mmio_wr(f.vm, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	TEST_ASSERT_EQ(mmio_rd(f.vm, VIRTIO_MMIO_DEVICE_FEATURES) & 0xffff, 0);
	TEST_ASSERT(!mmio_negotiate(f.vm, F_VERSION_1 | F_SEQPACKET), "SEQPACKET refused");
	fx_fini(&f);
}

/* DRIVER_OK: rx and tx to vhost, then SET_RUNNING 1; the event queue stays; a reset undoes it. */
static void test_handover(void)
{
	const u64 acked = F_VERSION_1 | F_EVENT_IDX | F_SEQPACKET;
	struct fx f;

	fx_init(&f, 42, acked);
	fv.n = 0;
	driver_up(&f, acked);
	TEST_ASSERT_EQ(fv.req[0], VHOST_SET_FEATURES);
	TEST_ASSERT_EQ(fv.val[0], (s64)acked);
	for (unsigned int q = 0; q < 2; q++) {
		TEST_ASSERT(count(VHOST_SET_VRING_ADDR, q) == 1, "ring %u set", q);
		TEST_ASSERT(count(VHOST_SET_VRING_KICK, q) == 1, "ring %u kick", q);
		TEST_ASSERT(count(VHOST_SET_VRING_CALL, q) == 1, "ring %u call", q);
	}
	TEST_ASSERT_EQ(count(VHOST_SET_VRING_ADDR, 2), 0);	/* the event queue is lkvm's */
	TEST_ASSERT_EQ(fv.req[fv.n - 1], VHOST_VSOCK_SET_RUNNING);
	TEST_ASSERT_EQ(fv.running, 1);
	TEST_ASSERT(!(mmio_rd(f.vm, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET), "running");
	/* The event queue: notified, its buffers left alone. */
	gm_set_desc(&f.kvm, QBASE(2), 0, RAM + 0x80000, 4, VRING_DESC_F_WRITE, 0);
	gm_put16(&f.kvm, QBASE(2) + 0x1000 + 4, 0);
	gm_put16(&f.kvm, QBASE(2) + 0x1000 + 2, 1);
	mmio_wr(f.vm, VIRTIO_MMIO_QUEUE_NOTIFY, 2);
	virtio_mmio__poll(f.vm, 50);
	TEST_ASSERT_EQ(gm_get16(&f.kvm, QBASE(2) + 0x2000 + 2), 0);
	/* Reset: stopped, both rings back. */
	fv.n = 0;
	mmio_wr(f.vm, VIRTIO_MMIO_STATUS, 0);
	TEST_ASSERT_EQ(fv.req[0], VHOST_VSOCK_SET_RUNNING);
	TEST_ASSERT_EQ(fv.running, 0);
	TEST_ASSERT_EQ(count(VHOST_GET_VRING_BASE, 0) + count(VHOST_GET_VRING_BASE, 1), 2);
	/* And again for the next driver. */
	fv.n = 0;
	driver_up(&f, acked);
	TEST_ASSERT_EQ(fv.running, 1);
	fx_fini(&f);
	TEST_ASSERT_EQ(fv.running, 0);	/* stopped when freed */
}

/* A CID another VM holds: a clear error, the vhost closed. */
static void test_cid_in_use(void)
{
	struct lkvm_err err = { "" };
	struct virtio_dev *dev = NULL;
	struct vhost_dev v;
	struct kvm kvm;

	memset(&kvm, 0, sizeof(kvm));
	memset(&fv, 0, sizeof(fv));
	fake_open(&v, F_VERSION_1);
	fv.cid_error = EADDRINUSE;
	TEST_ASSERT_EQ(virtio_vsock__new(&kvm, 5, &v, &dev, &err), -EADDRINUSE);
	TEST_ASSERT_STR_CONTAINS(err.msg, "--vsock 5: another VM on this host has guest CID 5");
	TEST_ASSERT(!vhost__is_open(&v), "closed");
	TEST_ASSERT(!dev, "no device");
	fake_open(&v, F_VERSION_1);
	fv.cid_error = EINVAL;
	TEST_ASSERT_EQ(virtio_vsock__new(&kvm, 5, &v, &dev, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "VHOST_VSOCK_SET_GUEST_CID");
}

/* vhost refusing the rings: no datapath, so the device says so (NEEDS_RESET). */
static int refuse_mem(struct vhost_dev *v, unsigned long req, void *arg)
{
	if (req == VHOST_SET_MEM_TABLE)
		return -ENOMEM;
	return fake_vhost(v, req, arg);
}

static void test_vhost_refuses(void)
{
	struct lkvm_err err = { "" };
	struct virtio_dev *dev;
	struct vhost_dev v;
	struct fx f;

	memset(&f, 0, sizeof(f));
	memset(&fv, 0, sizeof(fv));
	f.kvm.sys_fd = f.kvm.vm_fd = -1;
	f.ram = calloc(1, RAM_SIZE);
	TEST_ASSERT_EQ(gmem__add_region(&f.kvm, RAM, RAM_SIZE, f.ram), 0);
	fake_open(&v, F_VERSION_1);
	v.fake_ioctl = refuse_mem;
	TEST_ASSERT(virtio_vsock__new(&f.kvm, 3, &v, &dev, &err) == 0, "%s", err.msg);
	TEST_ASSERT(virtio_mmio__new(&f.kvm, dev, 0x02000000ULL, 16, &f.vm, &err) == 0, "%s",
		    err.msg);
	driver_up(&f, F_VERSION_1);
	TEST_ASSERT(mmio_rd(f.vm, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_NEEDS_RESET, "NEEDS_RESET");
	TEST_ASSERT_EQ(fv.running, 0);
	fx_fini(&f);
}

/* Nodes that are not a vhost-vsock: missing (the module to load), or not vhost at all. */
static void test_fake_nodes(void)
{
	static char node[512];
	struct lkvm_err err = { "" };
	struct vhost_dev v;

	snprintf(node, sizeof(node), "%s/vhost-vsock", TEST_TMPDIR);
	TEST_ASSERT_EQ(vhost__open(&v, node, &err), -ENOENT);
	TEST_ASSERT_STR_CONTAINS(err.msg, "modprobe vhost_vsock");
	TEST_ASSERT(!vhost__is_open(&v), "closed");
	close(open(node, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));	/* a plain file */
	TEST_ASSERT_EQ(vhost__open(&v, node, &err), -ENOTTY);
	TEST_ASSERT_STR_CONTAINS(err.msg, "not a vhost device");
	TEST_ASSERT_EQ(vhost__open(&v, "/dev/null", &err), -ENOTTY);
	TEST_ASSERT(!vhost__is_open(&v), "closed");
}

static const struct test_case tests[] = {
	TEST_CASE(test_config_and_features),
	TEST_CASE(test_handover),
	TEST_CASE(test_cid_in_use),
	TEST_CASE(test_vhost_refuses),
	TEST_CASE(test_fake_nodes),
};

TEST_MAIN(tests)
