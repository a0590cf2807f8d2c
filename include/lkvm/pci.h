/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A PCI host bridge with an ECAM config window (PCI Express Base spec,
 * "Enhanced Configuration Access Mechanism"; DT binding
 * pci/host-generic-pci.yaml), one bus, function 0 of up to 32 devices.
 *
 * Config space is a 4 KiB array per device plus a mask of the bits the
 * guest may write; the bus applies writes through the mask and then tells
 * the device.  BARs are placed by lkvm and never move: the DT asks the
 * guest not to reassign them (linux,pci-probe-only), a BAR still answers
 * the size probe (all ones written, the size mask read back) through its
 * write mask, and an attempt to move it is logged and undone.
 */
#ifndef LKVM_PCI_H
#define LKVM_PCI_H

#include <pthread.h>
#include <stdbool.h>

#include "lkvm/device.h"
#include "lkvm/util.h"

struct kvm;

#define PCI_CFG_SIZE		4096
#define PCI_MAX_DEVS		32
#define PCI_ECAM_BUS_SIZE	0x100000ULL	/* one bus: 32 devices x 8 functions x 4 KiB */

/* Type 0 header offsets (PCI Local Bus spec 3.0 §6.1). */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define PCI_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d

#define PCI_COMMAND_MEMORY	0x2
#define PCI_COMMAND_MASTER	0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS_CAP_LIST	0x10

#define PCI_CAP_ID_MSIX		0x11
#define PCI_CAP_ID_VNDR		0x09
#define PCI_CAP_FIRST		0x40

struct pci_dev {
	u8 cfg[PCI_CFG_SIZE];
	u8 wmask[PCI_CFG_SIZE];
	u32 bar_addr;			/* BAR0: 32-bit memory, fixed */
	u32 bar_size;			/* a power of 2 >= 4 KiB; 0: none */
	u8 slot;			/* set by pci__add() */
	u8 next_cap;			/* where pci__add_cap() puts the next one */
	u8 last_cap;
	bool moved_logged;
	pthread_mutex_t *lock;		/* taken around config accesses (the device's) */
	/*
	 * Config space hook (NULL: none), called with *lock held: before a
	 * read is served (is_write false: the device may refresh cfg[]) and
	 * after a write landed in cfg[].  [@off, @off + @len) is the access.
	 */
	void (*cfg_access)(struct pci_dev *pd, u32 off, u32 len, bool is_write);
	void *opaque;
};

struct pci_bus {
	struct lkvm_device ldev;	/* the bridge as a VM device (pci__create) */
	struct kvm *kvm;
	u64 ecam_base;
	u64 mem_base, mem_size;		/* the 32-bit memory window, for the DT */
	unsigned int intx_line;		/* INTA of slot 0 (LKVM_NO_IRQ: none) */
	bool msi;			/* devices interrupt by MSI-X */
	struct pci_dev *dev[PCI_MAX_DEVS];
	unsigned int nr_dev;
};

/*
 * Fills @pd's header: IDs, class (24 bits), BAR0 at @bar_addr of
 * @bar_size bytes (0: none), INTA when @intx.  Capabilities come next.
 */
void pci__init_dev(struct pci_dev *pd, u16 vendor, u16 device, u32 class, u8 revision,
		   u16 subsys_vendor, u16 subsys_id, u32 bar_addr, u32 bar_size, bool intx);

/*
 * Appends a capability (@len bytes from @cap; its ID first, its next
 * pointer filled in here) to @pd's list and returns its offset in config
 * space, or 0 when config space is full.  @wmask (NULL: read-only) gives
 * the guest-writable bits of the capability, byte for byte.
 */
u8 pci__add_cap(struct pci_dev *pd, const void *cap, const void *wmask, u8 len);

/* Creates a bus whose ECAM window (PCI_ECAM_BUS_SIZE) is at @ecam_base on @kvm's MMIO bus. */
int pci__new(struct kvm *kvm, u64 ecam_base, struct pci_bus **out, struct lkvm_err *err);

/* Puts @pd (not owned) in the next free slot; -ENOSPC when all 32 are taken. */
int pci__add(struct pci_bus *bus, struct pci_dev *pd, struct lkvm_err *err);

/* The ECAM handler (an mmio_fn); public for unit tests. */
void pci__ecam_access(void *opaque, u64 offset, u8 *data, u32 len, bool is_write);

void pci__free(struct pci_bus *bus);

/*
 * Makes the VM's bus (kvm->pci) where the placement's PCI areas say, as a
 * device (the DT's host bridge node and /chosen/linux,pci-probe-only),
 * with INTx lines from the ECAM area's line and MSIs if the VM has them.
 * Returns 0 or -errno with @err.
 */
int pci__create(struct kvm *kvm, struct lkvm_err *err);

/* The interrupt line slot @slot's INTA is wired to (LKVM_NO_IRQ: none). */
unsigned int pci__intx_line(const struct pci_bus *bus, unsigned int slot);

/* Little-endian config space accessors. */
static inline void pci_put16(u8 *p, u16 v)
{
	p[0] = (u8)v;
	p[1] = (u8)(v >> 8);
}

static inline void pci_put32(u8 *p, u32 v)
{
	pci_put16(p, (u16)v);
	pci_put16(p + 2, (u16)(v >> 16));
}

static inline u16 pci_get16(const u8 *p)
{
	return (u16)(p[0] | p[1] << 8);
}

static inline u32 pci_get32(const u8 *p)
{
	return pci_get16(p) | (u32)pci_get16(p + 2) << 16;
}

#endif /* LKVM_PCI_H */
