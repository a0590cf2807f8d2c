// SPDX-License-Identifier: GPL-2.0-only
/*
 * The virtio-pci transport, modern only (virtio 1.2 §4.1: no legacy I/O
 * BAR).  Each device is function 0 of a slot on lkvm's PCI bus
 * (hw/pci.c) with one 32 KiB memory BAR:
 *
 *   0x0000  common configuration  (§4.1.4.3)
 *   0x1000  ISR status, read to clear (§4.1.4.5)
 *   0x2000  device configuration  (§4.1.4.6)
 *   0x3000  notifications: queue n at 0x3000 + 4n (notify_off_multiplier 4)
 *   0x4000  MSI-X table, one vector per queue plus one for config changes
 *   0x5000  MSI-X pending bits
 *
 * and the vendor capabilities that point there, plus the PCI
 * configuration access capability (§4.1.4.9).
 *
 * Notifications: a KVM ioeventfd per queue on its notify address (2-byte
 * writes), polled by the device's I/O thread (virtio/core.c).
 *
 * Interrupts: with a GICv3 ITS the device offers MSI-X.  Each vector
 * becomes a KVM MSI route (GSI routing, with the requester ID as the
 * ITS device ID) with an irqfd, set up when the vector is first raised
 * after the driver wrote its entry (if KVM refuses, nothing of it stays
 * and the vector waits for the driver to write the entry again); a masked
 * vector sets its pending bit and fires on unmask (PCI 3.0 §6.8.3.4).  Without an ITS there is no
 * MSI-X capability and the device uses INTA: the ISR bit is set and an
 * irqfd pulses the swizzled interrupt line, declared edge-triggered in the DT's
 * interrupt-map for the same reason as virtio-mmio's.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>
#include <linux/virtio_pci.h>	/* virtio 1.2 §4.1.4: capabilities, common config layout */

#include "lkvm/irq.h"
#include "lkvm/kvm.h"
#include "lkvm/pci.h"
#include "lkvm/virtio-transport.h"

#define VPCI_COMMON		0x0000
#define VPCI_ISR		0x1000
#define VPCI_DEVCFG		0x2000
#define VPCI_NOTIFY		0x3000
#define VPCI_NOTIFY_MULT	4
#define VPCI_MSIX_TABLE		0x4000
#define VPCI_MSIX_PBA		0x5000

/* PCI 3.0 §6.8.2: MSI-X capability and table. */
#define MSIX_CTRL_ENABLE	0x8000
#define MSIX_CTRL_MASKALL	0x4000
#define MSIX_ENTRY_SIZE		16
#define MSIX_ENTRY_MASKED	1

/* virtio 1.2 §4.1.4.9: struct virtio_pci_cfg_cap's fields, from the capability. */
#define PCFG_BAR		4
#define PCFG_OFFSET		8
#define PCFG_LENGTH		12
#define PCFG_DATA		16

struct msix_vec {
	u64 addr;
	u32 data;
	bool masked;
	bool pending;
	bool routed;			/* has a GSI and an irqfd */
	bool stale;			/* the entry changed since it was routed */
	bool refused;			/* KVM refused this entry: not retried until rewritten */
	u32 gsi;
	int fd;				/* irqfd, -1 until routed */
};

struct virtio_pci {
	struct virtio_core core;	/* first: a virtio_core * is a virtio_pci * */
	struct pci_dev pci;
	struct pci_bus *bus;
	u32 bar;			/* BAR0's guest address */
	unsigned int intx_line;	/* INTA: the line the bus swizzled for the slot */
	bool msix;			/* offers MSI-X (there is an ITS) */
	u8 msix_cap, cfg_cap;		/* capability offsets */
	unsigned int nr_vec;

	/* The device's own registers, under core.lock. */
	u32 dfselect, gfselect;
	u16 queue_sel;
	u8 isr;
	struct msix_vec vec[VIRTIO_MAX_QUEUES + 1];

	int intx_fd;
	bool ioeventfd[VIRTIO_MAX_QUEUES];
	bool intx_irqfd;
};

static const struct virtio_transport_ops pci_tops;

static u16 msix_ctrl(const struct virtio_pci *vp)
{
	return vp->msix ? pci_get16(vp->pci.cfg + vp->msix_cap + 2) : 0;
}

static bool msix_on(const struct virtio_pci *vp)
{
	return msix_ctrl(vp) & MSIX_CTRL_ENABLE;
}

/* A new route for vector @m: a GSI, an eventfd, the irqfd; all or nothing.  Returns 0 or -errno. */
static int add_route(struct virtio_pci *vp, struct msix_vec *m, u32 rid)
{
	struct kvm *kvm = vp->core.kvm;
	struct kvm_irqfd irqfd = { 0 };
	int r;

	r = irq__add_msi_route(kvm, m->addr, m->data, rid, &m->gsi);
	if (r)
		return r;
	m->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	irqfd.fd = (u32)m->fd;
	irqfd.gsi = m->gsi;
	r = m->fd < 0 ? -errno : ioctl(kvm->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
	if (r) {
		/* Nothing of it stays: KVM has 4096 routes for the whole VM. */
		if (m->fd >= 0)
			close(m->fd);
		m->fd = -1;
		irq__remove_msi_route(kvm, m->gsi);
	}
	return r;
}

/*
 * Routes vector @v (KVM GSI + irqfd) or refreshes a stale route; false if
 * KVM refused.  A refusal is remembered: the vector's interrupts are lost
 * (logged) until the driver rewrites its entry, rather than costing a
 * route and an ioctl each.
 */
static bool route_vector(struct virtio_pci *vp, unsigned int v)
{
	struct virtio_core *c = &vp->core;
	struct msix_vec *m = &vp->vec[v];
	u32 rid = (u32)vp->pci.slot << 3;	/* bus 0, function 0 */
	int r;

	if (m->routed && !m->stale)
		return true;
	if (m->refused)
		return false;
	if (!m->routed)
		r = add_route(vp, m, rid);
	else
		r = irq__update_msi_route(c->kvm, m->gsi, m->addr, m->data, rid);
	if (r) {
		m->refused = true;
		lkvm_log_ratelimited(c->kvm, &c->rl, LOG_WARN,
				     "%s: MSI-X vector %u (address %#llx, data %#x): %s; its "
				     "interrupts are lost until the guest rewrites the entry", c->name,
				     v, (unsigned long long)m->addr, m->data, strerror(-r));
		return false;
	}
	m->routed = true;
	m->stale = false;
	return true;
}

static void fire_vector(struct virtio_pci *vp, unsigned int v)
{
	struct msix_vec *m = &vp->vec[v];

	if (m->masked || (msix_ctrl(vp) & MSIX_CTRL_MASKALL)) {
		m->pending = true;
		return;
	}
	m->pending = false;
	if (route_vector(vp, v))
		virtio_efd_signal(m->fd);
}

/* After an unmask: deliver what became pending meanwhile. */
static void flush_pending(struct virtio_pci *vp)
{
	if (!msix_on(vp) || (msix_ctrl(vp) & MSIX_CTRL_MASKALL))
		return;
	for (unsigned int v = 0; v < vp->nr_vec; v++)
		if (vp->vec[v].pending && !vp->vec[v].masked)
			fire_vector(vp, v);
}

static void pci_raise(struct virtio_core *c, int q)
{
	struct virtio_pci *vp = (struct virtio_pci *)c;
	u16 v = q == VIRTIO_RAISE_CONFIG ? c->config_vector : c->q[q].vector;

	if (msix_on(vp)) {
		if (v < vp->nr_vec)
			fire_vector(vp, v);
		return;
	}
	/* INTx (virtio 1.2 §4.1.4.5): the ISR says why, reading it clears it. */
	vp->isr |= q == VIRTIO_RAISE_CONFIG ? 2 : 1;
	if (!(pci_get16(vp->pci.cfg + PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE))
		virtio_efd_signal(vp->intx_fd);
}

static void pci_reset(struct virtio_core *c)
{
	struct virtio_pci *vp = (struct virtio_pci *)c;
	vp->dfselect = vp->gfselect = 0;
	vp->queue_sel = 0;
	vp->isr = 0;
	/* §4.1.4.3.2: queue_size starts as the maximum the device supports. */
	for (unsigned int i = 0; i < c->dev->nr_queues; i++)
		c->q[i].num = c->dev->queue_max;
}

/* ---- common configuration ------------------------------------------------ */

static u64 common_read(struct virtio_pci *vp, u32 off)
{
	struct virtio_core *c = &vp->core;
	struct virtio_queue_cfg *q = virtio_core__queue(c, vp->queue_sel);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: return vp->dfselect;
	case VIRTIO_PCI_COMMON_DF: return virtio_core__read_features(c, vp->dfselect);
	case VIRTIO_PCI_COMMON_GFSELECT: return vp->gfselect;
	case VIRTIO_PCI_COMMON_GF:
		return vp->gfselect == 0 ? (u32)c->drv_features :
		       vp->gfselect == 1 ? (u32)(c->drv_features >> 32) : 0;
	case VIRTIO_PCI_COMMON_MSIX: return c->config_vector;
	case VIRTIO_PCI_COMMON_NUMQ: return c->dev->nr_queues;
	case VIRTIO_PCI_COMMON_STATUS: return virtio_core__read_status(c);
	case VIRTIO_PCI_COMMON_CFGGENERATION: return (u8)c->config_gen;
	case VIRTIO_PCI_COMMON_Q_SELECT: return vp->queue_sel;
	case VIRTIO_PCI_COMMON_Q_SIZE: return q ? q->num : 0;
	case VIRTIO_PCI_COMMON_Q_MSIX: return q ? q->vector : VIRTIO_MSI_NO_VECTOR;
	case VIRTIO_PCI_COMMON_Q_ENABLE: return q ? q->ready : 0;
	case VIRTIO_PCI_COMMON_Q_NOFF: return q ? vp->queue_sel : 0;
	case VIRTIO_PCI_COMMON_Q_DESCLO: return q ? q->desc : 0;
	case VIRTIO_PCI_COMMON_Q_AVAILLO: return q ? q->driver : 0;
	case VIRTIO_PCI_COMMON_Q_USEDLO: return q ? q->device : 0;
	}
	return 0;
}

static u16 valid_vector(const struct virtio_pci *vp, u64 val)
{
	return vp->msix && val < vp->nr_vec ? (u16)val : VIRTIO_MSI_NO_VECTOR;
}

static void common_write(struct virtio_pci *vp, u32 off, u64 val, u64 mask)
{
	struct virtio_core *c = &vp->core;
	struct virtio_queue_cfg *q = virtio_core__queue(c, vp->queue_sel);
	bool q_setup = q && !q->ready;	/* §4.1.4.3.2: queue fields only while disabled */

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: vp->dfselect = (u32)val; return;
	case VIRTIO_PCI_COMMON_GFSELECT: vp->gfselect = (u32)val; return;
	case VIRTIO_PCI_COMMON_GF: virtio_core__write_features(c, vp->gfselect, (u32)val); return;
	case VIRTIO_PCI_COMMON_MSIX: c->config_vector = valid_vector(vp, val); return;
	case VIRTIO_PCI_COMMON_STATUS: virtio_core__write_status(c, (u32)val); return;
	case VIRTIO_PCI_COMMON_Q_SELECT: vp->queue_sel = (u16)val; return;
	case VIRTIO_PCI_COMMON_Q_SIZE: if (q_setup) virtio_core__set_queue_num(c, q, (u32)val); return;
	case VIRTIO_PCI_COMMON_Q_MSIX: if (q) q->vector = valid_vector(vp, val); return;
	/* §4.1.4.3.2: the driver MUST NOT write 0 to queue_enable. */
	case VIRTIO_PCI_COMMON_Q_ENABLE: if (q && val == 1) virtio_core__queue_enable(c, vp->queue_sel, true); return;
	case VIRTIO_PCI_COMMON_Q_DESCLO: if (q_setup) q->desc = (q->desc & ~mask) | (val & mask); return;
	case VIRTIO_PCI_COMMON_Q_AVAILLO: if (q_setup) q->driver = (q->driver & ~mask) | (val & mask); return;
	case VIRTIO_PCI_COMMON_Q_USEDLO: if (q_setup) q->device = (q->device & ~mask) | (val & mask); return;
	}
}

/* The field at [@off, @off + @len) starts at *@start; false if no field is accessed so. */
static bool common_field(u32 off, u32 len, u32 *start)
{
	static const u8 sizes[VIRTIO_PCI_COMMON_Q_DESCLO] = {
		[VIRTIO_PCI_COMMON_DFSELECT] = 4, [VIRTIO_PCI_COMMON_DF] = 4, [VIRTIO_PCI_COMMON_GFSELECT] = 4, [VIRTIO_PCI_COMMON_GF] = 4, [VIRTIO_PCI_COMMON_MSIX] = 2,
		[VIRTIO_PCI_COMMON_NUMQ] = 2, [VIRTIO_PCI_COMMON_STATUS] = 1, [VIRTIO_PCI_COMMON_CFGGENERATION] = 1, [VIRTIO_PCI_COMMON_Q_SELECT] = 2,
		[VIRTIO_PCI_COMMON_Q_SIZE] = 2, [VIRTIO_PCI_COMMON_Q_MSIX] = 2, [VIRTIO_PCI_COMMON_Q_ENABLE] = 2, [VIRTIO_PCI_COMMON_Q_NOFF] = 2,
	};

	if (off >= VIRTIO_PCI_COMMON_Q_DESCLO) {
		/* The 64-bit fields, whole or as two 32-bit halves (§4.1.3.1). */
		*start = off & ~7u;
		return off < sizeof(struct virtio_pci_common_cfg) && (len == 8 ? off == *start : len == 4 && off % 4 == 0);
	}
	*start = off;
	return sizes[off] && len == sizes[off];
}

static void common_access(struct virtio_pci *vp, u32 off, u8 *data, u32 len, bool is_write)
{
	struct virtio_core *c = &vp->core;
	u32 f, shift;
	u64 val = 0, mask;

	if (!common_field(off, len, &f)) {
		lkvm_log_ratelimited(c->kvm, &c->rl, LOG_WARN,
				     "%s: %u-byte guest %s at common config %#x ignored", c->name,
				     len, is_write ? "write" : "read", off);
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	shift = (off - f) * 8;
	mask = len == 8 ? ~0ULL : ((1ULL << (len * 8)) - 1) << shift;
	if (is_write) {
		for (u32 i = 0; i < len; i++)
			val |= (u64)data[i] << (8 * i);
		common_write(vp, f, val << shift, mask);
	} else {
		val = common_read(vp, f) >> shift;
		for (u32 i = 0; i < len; i++)
			data[i] = (u8)(val >> (8 * i));
	}
}

/* ---- MSI-X table and pending bits ---------------------------------------- */

static void msix_table_access(struct virtio_pci *vp, u32 off, u8 *data, u32 len, bool is_write)
{
	unsigned int v = off / MSIX_ENTRY_SIZE, field = off % MSIX_ENTRY_SIZE;
	struct msix_vec *m;
	u32 cur;

	/*
	 * PCI 3.0 §6.8.2: entries are accessed as aligned dwords (or qwords).
	 * The window has room for 256 entries, the device fewer: check @v
	 * before anything points into vec[].
	 */
	if (v >= vp->nr_vec || (len != 4 && len != 8) || off % len) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	m = &vp->vec[v];
	for (u32 done = 0; done < len; done += 4, field += 4) {
		switch (field) {
		case 0: cur = (u32)m->addr; break;
		case 4: cur = (u32)(m->addr >> 32); break;
		case 8: cur = m->data; break;
		default: cur = m->masked ? MSIX_ENTRY_MASKED : 0; break;
		}
		if (!is_write) {
			cur = htole32(cur);
			memcpy(data + done, &cur, 4);
			continue;
		}
		memcpy(&cur, data + done, 4);
		cur = le32toh(cur);
		switch (field) {
		case 0: m->addr = (m->addr & ~0xffffffffULL) | cur; m->stale = true; break;
		case 4: m->addr = (m->addr & 0xffffffffULL) | (u64)cur << 32; m->stale = true; break;
		case 8: m->data = cur; m->stale = true; break;
		default: m->masked = cur & MSIX_ENTRY_MASKED; break;
		}
		if (field < 12)
			m->refused = false;	/* a new entry: worth another try */
	}
	if (is_write)
		flush_pending(vp);
}

static void msix_pba_read(struct virtio_pci *vp, u32 off, u8 *data, u32 len)
{
	u64 bits = 0;

	for (unsigned int v = 0; v < vp->nr_vec; v++)
		if (vp->vec[v].pending)
			bits |= 1ULL << v;
	for (u32 i = 0; i < len; i++)
		data[i] = off + i < 8 ? (u8)(bits >> (8 * (off + i))) : 0;
}

/* ---- the BAR ------------------------------------------------------------- */

/* One access to BAR0 at @off, with core.lock held. */
static void bar_access(struct virtio_pci *vp, u64 off, u8 *data, u32 len, bool is_write)
{
	struct virtio_core *c = &vp->core;

	if (off < VPCI_COMMON + sizeof(struct virtio_pci_common_cfg)) {
		common_access(vp, (u32)off, data, len, is_write);
	} else if (off >= VPCI_ISR && off < VPCI_ISR + 4) {
		if (!is_write) {
			memset(data, 0, len);
			if (off == VPCI_ISR) {
				data[0] = vp->isr;
				vp->isr = 0;
			}
		}
	} else if (off >= VPCI_DEVCFG && off < VPCI_NOTIFY) {
		virtio_core__config_access(c, off - VPCI_DEVCFG, data, len, is_write);
	} else if (off >= VPCI_NOTIFY && off < VPCI_MSIX_TABLE) {
		/* Normally caught by the ioeventfd; this is the path without one. */
		if (is_write)
			virtio_core__slow_kick(c, (u32)(off - VPCI_NOTIFY) / VPCI_NOTIFY_MULT);
		else
			memset(data, 0, len);
	} else if (vp->msix && off >= VPCI_MSIX_TABLE && off < VPCI_MSIX_PBA) {
		msix_table_access(vp, (u32)(off - VPCI_MSIX_TABLE), data, len, is_write);
	} else if (vp->msix && off >= VPCI_MSIX_PBA && off < VPCI_MSIX_PBA + 8) {
		if (!is_write)
			msix_pba_read(vp, (u32)(off - VPCI_MSIX_PBA), data, len);
	} else if (!is_write) {
		memset(data, 0, len);
	}
}

static void bar_mmio(void *opaque, u64 offset, u8 *data, u32 len, bool is_write)
{
	struct virtio_pci *vp = opaque;

	pthread_mutex_lock(&vp->core.lock);
	bar_access(vp, offset, data, len, is_write);
	pthread_mutex_unlock(&vp->core.lock);
}

/* ---- config space -------------------------------------------------------- */

/* §4.1.4.9: pci_cfg_data is a window on the BAR at the capability's offset. */
static void cfg_window(struct virtio_pci *vp, bool is_write)
{
	u8 *cap = vp->pci.cfg + vp->cfg_cap;
	u32 off = pci_get32(cap + PCFG_OFFSET), len = pci_get32(cap + PCFG_LENGTH);

	if (cap[PCFG_BAR] != 0 || (len != 1 && len != 2 && len != 4) || off % len ||
	    off >= VIRTIO_PCI_BAR_SIZE)
		return;
	bar_access(vp, off, cap + PCFG_DATA, len, is_write);
}

static void cfg_hook(struct pci_dev *pd, u32 off, u32 len, bool is_write)
{
	struct virtio_pci *vp = pd->opaque;
	u32 data = vp->cfg_cap + PCFG_DATA;

	if (off < data + 4 && off + len > data)
		cfg_window(vp, is_write);
	if (is_write && vp->msix && off < vp->msix_cap + 4u && off + len > vp->msix_cap + 2u)
		flush_pending(vp);
}

/* ---- capabilities --------------------------------------------------------- */

static void add_vcap(struct virtio_pci *vp, u8 type, u32 offset, u32 length, u32 extra,
		     bool has_extra)
{
	u8 cap[20] = { PCI_CAP_ID_VNDR, 0, has_extra ? 20 : 16, type, 0 /* BAR0 */ };

	pci_put32(cap + 8, offset);
	pci_put32(cap + 12, length);
	if (has_extra)
		pci_put32(cap + 16, extra);
	pci__add_cap(&vp->pci, cap, NULL, cap[2]);
}

/* PCI class codes (PCI Code and ID Assignment spec) by virtio device type. */
static u32 class_of(u32 device_id)
{
	switch (device_id) {
	case VIRTIO_ID_BLOCK: return 0x018000;		/* mass storage, other */
	case VIRTIO_ID_NET: return 0x020000;		/* Ethernet */
	case VIRTIO_ID_CONSOLE: return 0x078000;	/* communication, other */
	default: return 0xff0000;			/* unassigned class */
	}
}

static void build_config_space(struct virtio_pci *vp)
{
	const struct virtio_dev_ops *ops = vp->core.dev->ops;
	unsigned int nq = vp->core.dev->nr_queues;
	u8 pcfg[20] = { PCI_CAP_ID_VNDR, 0, 20, VIRTIO_PCI_CAP_PCI_CFG };
	u8 pcfg_w[20] = { 0 };

	/* §4.1.2: device ID 0x1040 + type, revision 1, subsystem ID >= 0x40. */
	pci__init_dev(&vp->pci, VIRTIO_PCI_VENDOR, (u16)(0x1040 + ops->device_id),
		      class_of(ops->device_id), 1, VIRTIO_PCI_VENDOR, 0x40, vp->bar,
		      VIRTIO_PCI_BAR_SIZE, !vp->msix);
	add_vcap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON, sizeof(struct virtio_pci_common_cfg), 0, false);
	add_vcap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY, nq * VPCI_NOTIFY_MULT,
		 VPCI_NOTIFY_MULT, true);
	add_vcap(vp, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR, 1, 0, false);
	if (ops->config_size)
		add_vcap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VPCI_DEVCFG, ops->config_size, 0, false);
	/* bar, offset, length and data are the driver's to write. */
	pcfg_w[PCFG_BAR] = 0xff;
	memset(pcfg_w + PCFG_OFFSET, 0xff, 12);
	vp->cfg_cap = pci__add_cap(&vp->pci, pcfg, pcfg_w, sizeof(pcfg));
	if (vp->msix) {
		u8 cap[12] = { PCI_CAP_ID_MSIX }, w[12] = { 0 };

		pci_put16(cap + 2, (u16)(vp->nr_vec - 1));
		pci_put32(cap + 4, VPCI_MSIX_TABLE);	/* BIR 0 */
		pci_put32(cap + 8, VPCI_MSIX_PBA);
		pci_put16(w + 2, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
		vp->msix_cap = pci__add_cap(&vp->pci, cap, w, sizeof(cap));
	}
}

int virtio_pci__new(struct kvm *kvm, struct pci_bus *bus, struct virtio_dev *dev, u32 bar,
		    bool msix, struct virtio_core **out, struct lkvm_err *err)
{
	struct virtio_pci *vp;
	char where[16];
	int r;

	vp = calloc(1, sizeof(*vp));
	if (!vp) {
		dev->ops->free(dev);
		return seterr(err, ENOMEM, "%s: out of memory", dev->ops->name);
	}
	vp->bus = bus;
	vp->bar = bar;
	vp->msix = msix;
	vp->intx_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (unsigned int v = 0; v < ARRAY_SIZE(vp->vec); v++)
		vp->vec[v] = (struct msix_vec){ .masked = true, .fd = -1 };
	snprintf(where, sizeof(where), "00:%02x.0", bus->nr_dev);
	r = virtio_core__init(&vp->core, &pci_tops, kvm, dev, where, err);
	if (!r && vp->intx_fd < 0)
		r = seterr(err, errno, "%s: eventfd: %s", dev->ops->name, strerror(errno));
	if (r)
		goto fail;
	vp->nr_vec = dev->nr_queues + 1;
	pci_reset(&vp->core);
	build_config_space(vp);
	vp->pci.lock = &vp->core.lock;
	vp->pci.cfg_access = cfg_hook;
	vp->pci.opaque = vp;
	r = pci__add(bus, &vp->pci, err);
	if (r)
		goto fail;
	vp->intx_line = pci__intx_line(bus, vp->pci.slot);
	vp->core.ldev.base = bar;
	vp->core.ldev.size = VIRTIO_PCI_BAR_SIZE;
	vp->core.ldev.irq = vp->intx_line;
	vp->core.ldev.msi = msix;
	r = mmio__register(&kvm->mmio, bar, VIRTIO_PCI_BAR_SIZE, bar_mmio, vp, dev->ops->name);
	if (r) {
		seterr(err, -r, "%s: registering BAR %#x: %s", vp->core.name, bar, strerror(-r));
		goto fail;
	}
	*out = &vp->core;
	return 0;
fail:
	pci_tops.free(&vp->core);
	return r;
}

static int pci_start(struct virtio_core *c, struct lkvm_err *err)
{
	struct virtio_pci *vp = (struct virtio_pci *)c;

	for (unsigned int i = 0; i < c->dev->nr_queues; i++) {
		struct kvm_ioeventfd ioev = {
			.addr = vp->bar + VPCI_NOTIFY + i * VPCI_NOTIFY_MULT,
			.len = 2,	/* the driver writes the queue index as 16 bits */
			.fd = c->kick_fd[i],
		};

		if (ioctl(c->kvm->vm_fd, KVM_IOEVENTFD, &ioev) < 0)
			return seterr(err, errno, "%s: KVM_IOEVENTFD at %#llx: %s", c->name,
				      (unsigned long long)ioev.addr, strerror(errno));
		vp->ioeventfd[i] = true;
	}
	if (!vp->msix) {
		struct kvm_irqfd irqfd = { .fd = (u32)vp->intx_fd, .gsi = vp->intx_line };

		if (ioctl(c->kvm->vm_fd, KVM_IRQFD, &irqfd) < 0)
			return seterr(err, errno, "%s: KVM_IRQFD for line %u: %s", c->name,
				      vp->intx_line, strerror(errno));
		vp->intx_irqfd = true;
	}
	return virtio_core__start_thread(c, err);
}

static void pci_free(struct virtio_core *c)
{
	struct virtio_pci *vp = (struct virtio_pci *)c;

	virtio_core__destroy(c);
	for (unsigned int v = 0; v < ARRAY_SIZE(vp->vec); v++)
		if (vp->vec[v].fd >= 0)
			close(vp->vec[v].fd);
	if (vp->intx_fd >= 0)
		close(vp->intx_fd);
	free(vp);
}

static const struct virtio_transport_ops pci_tops = {
	.raise = pci_raise,
	.reset = pci_reset,
	.start = pci_start,
	.free = pci_free,
};

void virtio_pci__bar_access(struct virtio_core *c, u64 off, u8 *data, u32 len, bool is_write)
{
	bar_mmio(c, off, data, len, is_write);
}

bool virtio_pci__msix_enabled(struct virtio_core *c)
{
	struct virtio_pci *vp = (struct virtio_pci *)c;
	bool on;

	pthread_mutex_lock(&c->lock);
	on = msix_on(vp);
	pthread_mutex_unlock(&c->lock);
	return on;
}

int virtio_pci__intx_fd(const struct virtio_core *c)
{
	return ((const struct virtio_pci *)c)->intx_fd;
}
