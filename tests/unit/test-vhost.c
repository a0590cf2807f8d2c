// SPDX-License-Identifier: GPL-2.0-only
/*
 * The generic vhost client (virtio/vhost.c) without a kernel vhost: the
 * memory table it builds from gmem's iterator (pure), and what
 * vhost__open() says about a node that is missing or is no vhost device.
 * The hand-over of a device's rings is tested through virtio-net with a
 * fake vhost (tests/unit/test-net.c).
 */
#include <fcntl.h>
#include <linux/vhost.h>

#include "lkvm/gmem.h"
#include "lkvm/kvm.h"
#include "lkvm/vhost.h"
#include "lkvm/virtio-transport.h"
#include "test.h"

static void vm_init(struct kvm *kvm)
{
	memset(kvm, 0, sizeof(*kvm));
	kvm->sys_fd = kvm->vm_fd = -1;
}

/* One region per RAM region, lowest guest address first, whatever the order they were added in. */
static void test_mem_table(void)
{
	static u8 a[0x2000], b[0x1000], c[0x3000];
	struct vhost_memory *m = NULL;
	struct kvm kvm;

	vm_init(&kvm);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, 0x100000000ULL, sizeof(a), a), 0);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, 0x80000000ULL, sizeof(b), b), 0);
	TEST_ASSERT_EQ(gmem__add_region(&kvm, 0x40000000ULL, sizeof(c), c), 0);
	TEST_ASSERT_EQ(vhost__mem_table(&kvm, &m), 0);
	TEST_ASSERT(m, "a table");
	TEST_ASSERT_EQ(m->nregions, 3);
	TEST_ASSERT_EQ(m->padding, 0);
	TEST_ASSERT_EQ(m->regions[0].guest_phys_addr, 0x40000000ULL);
	TEST_ASSERT_EQ(m->regions[0].memory_size, sizeof(c));
	TEST_ASSERT_EQ(m->regions[0].userspace_addr, (u64)(uintptr_t)c);
	TEST_ASSERT_EQ(m->regions[1].guest_phys_addr, 0x80000000ULL);
	TEST_ASSERT_EQ(m->regions[1].memory_size, sizeof(b));
	TEST_ASSERT_EQ(m->regions[1].userspace_addr, (u64)(uintptr_t)b);
	TEST_ASSERT_EQ(m->regions[2].guest_phys_addr, 0x100000000ULL);
	TEST_ASSERT_EQ(m->regions[2].memory_size, sizeof(a));
	TEST_ASSERT_EQ(m->regions[2].userspace_addr, (u64)(uintptr_t)a);
	for (unsigned int i = 0; i < 3; i++)
		TEST_ASSERT_EQ(m->regions[i].flags_padding, 0);
	free(m);
}

/* A full table: every region, none twice (the allocation is exact: ASan sees an overrun). */
static void test_mem_table_full(void)
{
	static u8 ram[0x1000];
	struct vhost_memory *m = NULL;
	struct kvm kvm;

	vm_init(&kvm);
	for (unsigned int i = LKVM_MAX_MEM_REGIONS; i--;)
		TEST_ASSERT_EQ(gmem__add_region(&kvm, 0x1000ULL * (2 * i + 1), sizeof(ram), ram), 0);
	TEST_ASSERT_EQ(vhost__mem_table(&kvm, &m), 0);
	TEST_ASSERT_EQ(m->nregions, LKVM_MAX_MEM_REGIONS);
	for (unsigned int i = 0; i < LKVM_MAX_MEM_REGIONS; i++)
		TEST_ASSERT_EQ(m->regions[i].guest_phys_addr, 0x1000ULL * (2 * i + 1));
	free(m);
}

static void test_mem_table_empty(void)
{
	struct vhost_memory *m = NULL;
	struct kvm kvm;

	vm_init(&kvm);
	TEST_ASSERT_EQ(vhost__mem_table(&kvm, &m), 0);
	TEST_ASSERT(m, "an empty table is still a table");
	TEST_ASSERT_EQ(m->nregions, 0);
	free(m);
}

/* The lowest free fd: a failed open that leaked its fd would move it. */
static int lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	TEST_ASSERT(fd >= 0, "open /dev/null");
	close(fd);
	return fd;
}

/* No such node: the error names it and the module that provides it. */
static void test_open_missing_node(void)
{
	static char node[512];
	struct lkvm_err err = { "" };
	struct vhost_dev v;
	int before = lowest_free_fd();

	snprintf(node, sizeof(node), "%s/vhost-net", TEST_TMPDIR);
	TEST_ASSERT_EQ(vhost__open(&v, node, &err), -ENOENT);
	TEST_ASSERT(!vhost__is_open(&v), "closed after a failed open");
	TEST_ASSERT(strstr(err.msg, node) == err.msg, "names the node first: %s", err.msg);
	TEST_ASSERT(strstr(err.msg, strerror(ENOENT)), "says why: %s", err.msg);
	TEST_ASSERT(strstr(err.msg, "modprobe vhost_net"), "says the fix: %s", err.msg);
	TEST_ASSERT_EQ(lowest_free_fd(), before);
	vhost__close(&v);	/* a no-op, twice */
	vhost__close(&v);

	snprintf(node, sizeof(node), "%s/vhost-vsock", TEST_TMPDIR);
	TEST_ASSERT_EQ(vhost__open(&v, node, &err), -ENOENT);
	TEST_ASSERT(strstr(err.msg, "modprobe vhost_vsock"), "the vsock module: %s", err.msg);
}

/* A file that opens but is no vhost device: VHOST_SET_OWNER is refused, the fd is closed. */
static void test_open_not_vhost(void)
{
	struct lkvm_err err = { "" };
	struct vhost_dev v;
	int before = lowest_free_fd();

	TEST_ASSERT_EQ(vhost__open(&v, "/dev/null", &err), -ENOTTY);
	TEST_ASSERT(!vhost__is_open(&v), "closed after a failed open");
	TEST_ASSERT(strstr(err.msg, "/dev/null: VHOST_SET_OWNER: ") == err.msg, "%s", err.msg);
	TEST_ASSERT(strstr(err.msg, "not a vhost device"), "%s", err.msg);
	TEST_ASSERT_EQ(lowest_free_fd(), before);
}

/* vhost__start() checks its arguments before any ioctl. */
static int no_ioctl(struct vhost_dev *v __unused, unsigned long req, void *arg __unused)
{
	TEST_ASSERT(0, "ioctl %#lx made", req);
	return -EIO;
}

static void test_start_refuses_bad_arguments(void)
{
	struct lkvm_err err = { "" };
	struct virtio_dev d;
	struct vhost_dev v;
	struct kvm kvm;
	bool handed = true;

	vm_init(&kvm);
	memset(&d, 0, sizeof(d));
	d.kvm = &kvm;
	d.nr_queues = 2;
	vhost__init(&v);
	TEST_ASSERT_EQ(vhost__start(&v, &d, 3, 0, &handed, &err), -EBADF);
	TEST_ASSERT(!handed, "nothing handed over");
	v.fd = 1000;	/* "open", never used: every ioctl goes to no_ioctl */
	v.node = "/dev/vhost-test";
	v.features = BIT(32);
	v.fake_ioctl = no_ioctl;
	handed = true;
	TEST_ASSERT_EQ(vhost__start(&v, &d, 3, BIT(32) | BIT(29), &handed, &err), -EINVAL);
	TEST_ASSERT(!handed, "nothing handed over");
	TEST_ASSERT(strstr(err.msg, "features"), "%s", err.msg);
	TEST_ASSERT_EQ(vhost__start(&v, &d, 4, BIT(32), &handed, &err), -EINVAL);
	TEST_ASSERT(strstr(err.msg, "queues"), "%s", err.msg);
	TEST_ASSERT_EQ(vhost__start(&v, &d, 0, BIT(32), &handed, &err), -EINVAL);
	TEST_ASSERT(!handed, "nothing handed over");
}

static const struct test_case tests[] = {
	TEST_CASE(test_mem_table),
	TEST_CASE(test_mem_table_full),
	TEST_CASE(test_mem_table_empty),
	TEST_CASE(test_open_missing_node),
	TEST_CASE(test_open_not_vhost),
	TEST_CASE(test_start_refuses_bad_arguments),
};

TEST_MAIN(tests)
