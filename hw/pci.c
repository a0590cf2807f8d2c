// SPDX-License-Identifier: GPL-2.0-only
/*
 * The PCI host bridge: ECAM config space for one bus, and the bridge as a
 * VM device that writes its own device-tree node.  See include/lkvm/pci.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/device.h"
#include "lkvm/fdt.h"
#include "lkvm/irq.h"
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

	if (!bus) {
		seterr(err, ENOMEM, "PCI: out of memory");
		return -ENOMEM;
	}
	bus->kvm = kvm;
	bus->ecam_base = ecam_base;
	bus->intx_line = LKVM_NO_IRQ;
	r = mmio__register(&kvm->mmio, ecam_base, PCI_ECAM_BUS_SIZE, pci__ecam_access, bus,
			   "pci-ecam");
	if (r) {
		free(bus);
		seterr(err, -r, "PCI: registering ECAM at %#llx: %s", (unsigned long long)ecam_base,
		       strerror(-r));
		return r;
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

unsigned int pci__intx_line(const struct pci_bus *bus, unsigned int slot)
{
	/* The standard swizzle on bus 0: INTA of slot s is the bridge's INTx line s mod 4. */
	return bus->intx_line == LKVM_NO_IRQ ? LKVM_NO_IRQ : bus->intx_line + slot % 4;
}

/* ---- the bridge as a VM device ------------------------------------------- */

static struct pci_bus *bus_of(struct lkvm_device *d)
{
	return lkvm_container_of(d, struct pci_bus, ldev);
}

/* lkvm placed the BARs and never moves them: the guest must not either. */
static void bridge_fdt_chosen(struct lkvm_device *d, struct fdtw *w)
{
	(void)d;
	fdtw__u32(w, "linux,pci-probe-only", 1);
}

/*
 * pci/host-generic-pci.yaml: an ECAM bridge for bus 0 with a 32-bit
 * memory window.  MSIs go to the MSI controller (msi-map: requester ID =
 * its device ID); INTA of each slot is wired by interrupt-map,
 * edge-triggered like virtio-mmio's (an irqfd pulses the line).
 */
static void bridge_fdt(struct lkvm_device *d, struct fdtw *w)
{
	struct pci_bus *bus = bus_of(d);
	u64 reg[] = { bus->ecam_base, PCI_ECAM_BUS_SIZE };
	u32 bus_range[] = { 0, 0 };
	/* (phys.hi: 32-bit memory space, phys.mid, phys.lo), CPU address, size */
	u32 ranges[] = { 0x02000000, 0, (u32)bus->mem_base, (u32)(bus->mem_base >> 32),
			 (u32)bus->mem_base, (u32)(bus->mem_size >> 32), (u32)bus->mem_size };
	u32 mask[] = { 0xf800, 0, 0, 7 };
	u32 msi[] = { 0, w->msi_parent, 0, 0x10000 };
	/* per slot: child unit address (3), INTA (1), parent phandle, its address, its specifier */
	u32 map[PCI_MAX_DEVS * (5 + 4 + FDT_MAX_IRQ_CELLS)];
	unsigned int n = 0;

	for (unsigned int i = 0; i < bus->nr_dev; i++) {
		unsigned int slot = bus->dev[i]->slot;

		map[n++] = slot << 11;
		map[n++] = 0;
		map[n++] = 0;
		map[n++] = 1;		/* INTA */
		map[n++] = w->irq_parent;
		for (unsigned int a = 0; a < w->irq_parent_addr_cells && a < 4; a++)
			map[n++] = 0;
		n += w->irq_spec(pci__intx_line(bus, slot), FDT_IRQ_EDGE_RISING, map + n);
	}
	fdtw__begin_at(w, "pci", bus->ecam_base);
	fdtw__str(w, "compatible", "pci-host-ecam-generic");
	fdtw__str(w, "device_type", "pci");
	fdtw__u32(w, "#address-cells", 3);
	fdtw__u32(w, "#size-cells", 2);
	fdtw__u32(w, "#interrupt-cells", 1);
	fdtw__reg64(w, reg, 1);
	fdtw__cells(w, "bus-range", bus_range, 2);
	fdtw__cells(w, "ranges", ranges, ARRAY_SIZE(ranges));
	fdtw__cells(w, "interrupt-map-mask", mask, 4);
	fdtw__cells(w, "interrupt-map", map, n);
	if (w->msi_parent && bus->msi)
		fdtw__cells(w, "msi-map", msi, 4);
	fdtw__prop(w, "dma-coherent", NULL, 0);
	fdtw__end(w);
}

static void bridge_free(struct lkvm_device *d)
{
	struct pci_bus *bus = bus_of(d);

	if (bus->kvm->pci == bus)
		bus->kvm->pci = NULL;
	pci__free(bus);
}

/* Snapshot: the config space of the devices behind it is not saved yet. */
static int bridge_save(struct lkvm_device *d, struct snap_writer *w, struct lkvm_err *err)
{
	(void)d;
	(void)w;
	return seterr(err, ENOTSUP, "the guest's devices are on the virtio-pci transport, which "
		      "lkvm cannot snapshot yet (virtio-mmio can: --virtio-transport mmio)");
}

static const struct lkvm_device_ops bridge_ops = {
	.fdt_chosen = bridge_fdt_chosen,
	.fdt = bridge_fdt,
	.free = bridge_free,
	.save = bridge_save,
};

int pci__create(struct kvm *kvm, struct lkvm_err *err)
{
	const struct lkvm_area *cfg = &kvm->place.area[LKVM_AREA_PCI_CFG];
	const struct lkvm_area *mem = &kvm->place.area[LKVM_AREA_PCI_MMIO];
	struct pci_bus *bus;
	int r;

	if (!cfg->size || !mem->size)
		return seterr(err, ENOTSUP, "this machine has no PCI host bridge; "
			      "use --virtio-transport mmio");
	r = pci__new(kvm, cfg->base, &bus, err);
	if (r)
		return r;
	bus->intx_line = cfg->irq;
	bus->mem_base = mem->base;
	bus->mem_size = mem->size;
	bus->msi = kvm->place.msi;
	bus->ldev = (struct lkvm_device){
		.ops = &bridge_ops, .name = "pci", .base = cfg->base, .size = PCI_ECAM_BUS_SIZE,
		.irq = cfg->irq, .msi = bus->msi,
	};
	r = kvm__add_device(kvm, &bus->ldev, err);
	if (r) {
		pci__free(bus);
		return r;
	}
	/* MSI routes replace KVM's default routing: keep the wired lines routed. */
	if (bus->msi)
		irq__set_wired_pins(kvm, kvm->place.nr_irq_lines);
	kvm->pci = bus;
	return 0;
}
