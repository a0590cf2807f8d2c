// SPDX-License-Identifier: GPL-2.0-only
/*
 * The PCI host bridge: ECAM config space for one bus.  See
 * include/lkvm/pci.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/kvm.h"
#include "lkvm/log.h"
#include "lkvm/pci.h"

void pci__init_dev(struct pci_dev *pd, u16 vendor, u16 device, u32 class, u8 revision,
		   u16 subsys_vendor, u16 subsys_id, u32 bar_addr, u32 bar_size, bool intx)
{
	memset(pd->cfg, 0, sizeof(pd->cfg));
	memset(pd->wmask, 0, sizeof(pd->wmask));
	pci_put16(pd->cfg + PCI_VENDOR_ID, vendor);
	pci_put16(pd->cfg + PCI_DEVICE_ID, device);
	pd->cfg[PCI_REVISION_ID] = revision;
	pd->cfg[PCI_CLASS_PROG] = (u8)class;
	pci_put16(pd->cfg + PCI_CLASS_PROG + 1, (u16)(class >> 8));
	pd->cfg[PCI_HEADER_TYPE] = 0;
	pci_put16(pd->cfg + PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
	pci_put16(pd->cfg + PCI_SUBSYSTEM_ID, subsys_id);
	pci_put16(pd->wmask + PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
		  PCI_COMMAND_INTX_DISABLE);
	pd->bar_addr = bar_addr;
	pd->bar_size = bar_size;
	if (bar_size) {
		/* A 32-bit, non-prefetchable memory BAR: type bits 0. */
		pci_put32(pd->cfg + PCI_BAR0, bar_addr);
		pci_put32(pd->wmask + PCI_BAR0, ~(bar_size - 1));
	}
	pd->wmask[PCI_INTERRUPT_LINE] = 0xff;
	pd->cfg[PCI_INTERRUPT_PIN] = intx ? 1 : 0;
	pd->next_cap = PCI_CAP_FIRST;
	pd->last_cap = 0;
}

u8 pci__add_cap(struct pci_dev *pd, const void *cap, const void *wmask, u8 len)
{
	u8 at = pd->next_cap;

	/* Capabilities live in the first 256 bytes, dword-aligned (PCI 3.0 §6.7). */
	if (len < 2 || at + len > 0x100)
		return 0;
	memcpy(pd->cfg + at, cap, len);
	if (wmask)
		memcpy(pd->wmask + at, wmask, len);
	pd->wmask[at] = pd->wmask[at + 1] = 0;
	pd->cfg[at + 1] = 0;
	if (pd->last_cap)
		pd->cfg[pd->last_cap + 1] = at;
	else
		pd->cfg[PCI_CAPABILITY_LIST] = at;
	pci_put16(pd->cfg + PCI_STATUS, pci_get16(pd->cfg + PCI_STATUS) | PCI_STATUS_CAP_LIST);
	pd->last_cap = at;
	pd->next_cap = (u8)((at + len + 3) & ~3);
	return at;
}

int pci__new(struct kvm *kvm, u64 ecam_base, struct pci_bus **out, struct lkvm_err *err)
{
	struct pci_bus *bus = calloc(1, sizeof(*bus));
	int r;

	if (!bus)
		return seterr(err, ENOMEM, "PCI: out of memory");
	bus->kvm = kvm;
	bus->ecam_base = ecam_base;
	r = mmio__register(&kvm->mmio, ecam_base, PCI_ECAM_BUS_SIZE, pci__ecam_access, bus,
			   "pci-ecam");
	if (r) {
		free(bus);
		return seterr(err, -r, "PCI: registering ECAM at %#llx: %s",
			      (unsigned long long)ecam_base, strerror(-r));
	}
	*out = bus;
	return 0;
}

int pci__add(struct pci_bus *bus, struct pci_dev *pd, struct lkvm_err *err)
{
	if (bus->nr_dev >= PCI_MAX_DEVS)
		return seterr(err, ENOSPC, "PCI: all %d slots are taken; use fewer devices "
			      "or --virtio-transport mmio", PCI_MAX_DEVS);
	pd->slot = (u8)bus->nr_dev;
	bus->dev[bus->nr_dev++] = pd;
	return 0;
}

/* A write to BAR0 that neither probes the size nor restores the address: undo it. */
static void keep_bar(struct pci_bus *bus, struct pci_dev *pd)
{
	u32 v = pci_get32(pd->cfg + PCI_BAR0);

	if (!pd->bar_size || v == pd->bar_addr || v == (u32)~(pd->bar_size - 1))
		return;
	if (!pd->moved_logged) {
		pd->moved_logged = true;
		pr_warn(bus->kvm, "PCI 00:%02x.0: the guest moved BAR0 to %#x; lkvm keeps it at "
			"%#x (boot the guest with the DT's linux,pci-probe-only)", pd->slot, v,
			pd->bar_addr);
	}
	pci_put32(pd->cfg + PCI_BAR0, pd->bar_addr);
}

void pci__ecam_access(void *opaque, u64 offset, u8 *data, u32 len, bool is_write)
{
	struct pci_bus *bus = opaque;
	unsigned int slot = (unsigned int)(offset >> 15) & 31, fn = (unsigned int)(offset >> 12) & 7;
	u32 reg = (u32)(offset & (PCI_CFG_SIZE - 1));
	struct pci_dev *pd = slot < bus->nr_dev && fn == 0 && offset < PCI_ECAM_BUS_SIZE ?
			     bus->dev[slot] : NULL;

	/* Absent functions read as all ones (a vendor ID of 0xffff); bad sizes too. */
	if (!pd || (len != 1 && len != 2 && len != 4) || reg % len) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	if (pd->lock)
		pthread_mutex_lock(pd->lock);
	if (is_write) {
		for (u32 i = 0; i < len; i++)
			pd->cfg[reg + i] = (u8)((pd->cfg[reg + i] & ~pd->wmask[reg + i]) |
						(data[i] & pd->wmask[reg + i]));
		if (reg < PCI_BAR0 + 4 && reg + len > PCI_BAR0)
			keep_bar(bus, pd);
		if (pd->cfg_access)
			pd->cfg_access(pd, reg, len, true);
	} else {
		if (pd->cfg_access)
			pd->cfg_access(pd, reg, len, false);
		memcpy(data, pd->cfg + reg, len);
	}
	if (pd->lock)
		pthread_mutex_unlock(pd->lock);
}

void pci__free(struct pci_bus *bus)
{
	free(bus);
}
