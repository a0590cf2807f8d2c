// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the libFuzzer harnesses (tests/fuzz/) found, one case per finding,
 * reduced to the accesses that trigger it, so that it stays fixed.  Each
 * case names the harness and what it reported.
 */
#include <endian.h>

#include "lkvm/kvm.h"
#include "lkvm/pci.h"
#include "lkvm/virtio-transport.h"
#include "test.h"

#define ECAM		0x10000000ULL
#define BAR		0x20000000U

/*
 * fuzz-transport, virtio-pci with MSI-X and a one-queue device (2
 * vectors): a 2-byte read of BAR0 0x42f0 (MSI-X table entry 47).  UBSan: "index 47
 * out of bounds for type 'struct msix_vec[17]'" in msix_table_access()
 * (virtio/pci.c), which forms &vec[v] before it checks v against the
 * vector count (issue 11 defect 7).  An entry the device doesn't have
 * reads as zero and ignores writes.
 */
static void test_msix_entry_beyond_the_vectors(void)
{
	struct lkvm_err err = { "" };
	struct virtio_dev *dev;
	struct virtio_core *c;
	struct pci_bus *bus;
	struct kvm kvm;
	u32 v = 0xffffffff, data = htole32(0x12345678);

	memset(&kvm, 0, sizeof(kvm));
	kvm.sys_fd = kvm.vm_fd = -1;
	TEST_ASSERT(virtio_rng__new(&kvm, &dev, &err) == 0, "rng: %s", err.msg);
	TEST_ASSERT(pci__new(&kvm, ECAM, &bus, &err) == 0, "pci: %s", err.msg);
	TEST_ASSERT(virtio_pci__new(&kvm, bus, dev, BAR, true, &c, &err) == 0, "%s", err.msg);
	virtio_pci__bar_access(c, 0x42f0, (u8 *)&v, 2, false);
	for (u32 entry = 2; entry < 256; entry++) {
		virtio_pci__bar_access(c, 0x4000 + 16 * entry, (u8 *)&v, 4, false);
		TEST_ASSERT_EQ(v, 0u);
		virtio_pci__bar_access(c, 0x4000 + 16 * entry + 8, (u8 *)&data, 4, true);
	}
	virtio_transport__free(c);
	pci__free(bus);
	mmio__free(&kvm.mmio);
}

static const struct test_case tests[] = {
	TEST_CASE(test_msix_entry_beyond_the_vectors),
};

TEST_MAIN(tests)
