// SPDX-License-Identifier: GPL-2.0-only
/*
 * The virtio-mmio transport, version 2 only (virtio 1.2 §4.2: no legacy
 * interface): one 512-byte register window per device, feature
 * negotiation (VIRTIO_F_VERSION_1 required), queue setup, reset, the
 * interrupt status, and the device's I/O thread.
 *
 * Notifications: each queue has an eventfd that KVM signals when the
 * guest writes the queue's index to QueueNotify (KVM_IOEVENTFD with
 * datamatch), so that write never leaves the kernel; the I/O thread polls
 * the eventfds, the device's own fd (disk completions) and a stop fd.
 * Interrupts: InterruptStatus is updated under the lock, then an irqfd
 * (KVM_IRQFD) pulses the interrupt line.  The DT declares it edge-triggered:
 * an irqfd raises and lowers the line at once, which a level-sensitive
 * line can lose before the guest takes it.
 *
 * Guest mistakes (a bad register access, a bad ring) never stop lkvm: a
 * bad ring sets DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2) and the device
 * stays quiet until the driver resets it.
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

#include "lkvm/fdt.h"
#include "lkvm/kvm.h"
#include "lkvm/snapshot.h"
#include "lkvm/virtio-transport.h"

struct virtio_mmio {
	struct virtio_core core;	/* first: a virtio_core * is a virtio_mmio * */
	u64 base;
	unsigned int irq;		/* interrupt line */

	/* The registers that are virtio-mmio's own (virtio 1.2 §4.2.2), under core.lock. */
	u32 dev_features_sel;
	u32 drv_features_sel;
	u32 queue_sel;
	u32 isr;

	int irq_fd;
	bool ioeventfd[VIRTIO_MAX_QUEUES];
	bool irqfd;
};

static const struct virtio_transport_ops mmio_tops;

static void mmio_raise(struct virtio_core *c, int q)
{
	struct virtio_mmio *vm = (struct virtio_mmio *)c;

	vm->isr |= q == VIRTIO_RAISE_CONFIG ? VIRTIO_MMIO_INT_CONFIG : VIRTIO_MMIO_INT_VRING;
	virtio_efd_signal(vm->irq_fd);
}

static void mmio_reset(struct virtio_core *c)
{
	struct virtio_mmio *vm = (struct virtio_mmio *)c;

	vm->dev_features_sel = vm->drv_features_sel = 0;
	vm->queue_sel = 0;
	vm->isr = 0;
}

static u32 read_reg(struct virtio_mmio *vm, u64 off)
{
	struct virtio_core *c = &vm->core;
	const struct virtio_dev_ops *ops = c->dev->ops;
	struct virtio_queue_cfg *q = virtio_core__queue(c, vm->queue_sel);

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return VIRTIO_MMIO_VERSION_MODERN;
	case VIRTIO_MMIO_DEVICE_ID: return ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES: return virtio_core__read_features(c, vm->dev_features_sel);
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? c->dev->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_NUM: return q ? q->num : 0;
	case VIRTIO_MMIO_QUEUE_READY: return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return vm->isr;
	case VIRTIO_MMIO_STATUS: return virtio_core__read_status(c);
	case VIRTIO_MMIO_QUEUE_DESC_LOW: return q ? (u32)q->desc : 0;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: return q ? (u32)(q->desc >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW: return q ? (u32)q->driver : 0;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH: return q ? (u32)(q->driver >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_USED_LOW: return q ? (u32)q->device : 0;
	case VIRTIO_MMIO_QUEUE_USED_HIGH: return q ? (u32)(q->device >> 32) : 0;
	/* §4.2.2: a shared memory region that does not exist has length -1. */
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffff;
	case VIRTIO_MMIO_CONFIG_GENERATION: return c->config_gen;
	}
	lkvm_log_ratelimited(c->kvm, &c->rl, LOG_WARN, "%s: guest read of register %#llx",
			     c->name, (unsigned long long)off);
	return 0;
}

static void set_lo(u64 *v, u32 val)
{
	*v = (*v & ~0xffffffffULL) | val;
}

static void set_hi(u64 *v, u32 val)
{
	*v = (*v & 0xffffffffULL) | (u64)val << 32;
}

static void write_reg(struct virtio_mmio *vm, u64 off, u32 val)
{
	struct virtio_core *c = &vm->core;
	struct virtio_queue_cfg *q = virtio_core__queue(c, vm->queue_sel);
	bool q_setup = q && !q->ready;	/* §4.2.3.2: queue fields only while not ready */

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: vm->dev_features_sel = val; return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: vm->drv_features_sel = val; return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		virtio_core__write_features(c, vm->drv_features_sel, val);
		return;
	case VIRTIO_MMIO_QUEUE_SEL: vm->queue_sel = val; return;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (q_setup)
			virtio_core__set_queue_num(c, q, val);
		return;
	case VIRTIO_MMIO_QUEUE_READY:
		if (q)
			virtio_core__queue_enable(c, vm->queue_sel, val != 0);
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Normally caught by the ioeventfd; this is the path without one. */
		virtio_core__slow_kick(c, val);
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK: vm->isr &= ~val; return;
	case VIRTIO_MMIO_STATUS: virtio_core__write_status(c, val); return;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: if (q_setup) set_lo(&q->desc, val); return;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: if (q_setup) set_hi(&q->desc, val); return;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW: if (q_setup) set_lo(&q->driver, val); return;
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH: if (q_setup) set_hi(&q->driver, val); return;
	case VIRTIO_MMIO_QUEUE_USED_LOW: if (q_setup) set_lo(&q->device, val); return;
	case VIRTIO_MMIO_QUEUE_USED_HIGH: if (q_setup) set_hi(&q->device, val); return;
	case VIRTIO_MMIO_SHM_SEL: return;
	}
	lkvm_log_ratelimited(c->kvm, &c->rl, LOG_WARN, "%s: guest write of %#x to register %#llx",
			     c->name, val, (unsigned long long)off);
}

void virtio_mmio__access(void *opaque, u64 offset, u8 *data, u32 len, bool is_write)
{
	struct virtio_mmio *vm = opaque;
	struct virtio_core *c = &vm->core;
	u32 v;

	pthread_mutex_lock(&c->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		virtio_core__config_access(c, offset - VIRTIO_MMIO_CONFIG, data, len, is_write);
	} else if (len != 4 || offset % 4) {
		/* §4.2.2.2: registers are 32-bit, accessed as such. */
		lkvm_log_ratelimited(c->kvm, &c->rl, LOG_WARN,
				     "%s: %u-byte guest %s of register %#llx ignored", c->name, len,
				     is_write ? "write" : "read", (unsigned long long)offset);
		if (!is_write)
			memset(data, 0, len);
	} else if (is_write) {
		memcpy(&v, data, 4);
		write_reg(vm, offset, le32toh(v));
	} else {
		v = htole32(read_reg(vm, offset));
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&c->lock);
}

int virtio_mmio__new(struct kvm *kvm, struct virtio_dev *dev, u64 base, unsigned int irq,
		     struct virtio_mmio **out, struct lkvm_err *err)
{
	struct virtio_mmio *vm;
	char where[24];
	int r;

	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		dev->ops->free(dev);
		return seterr(err, ENOMEM, "%s: out of memory", dev->ops->name);
	}
	vm->base = base;
	vm->irq = irq;
	vm->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	snprintf(where, sizeof(where), "%#llx", (unsigned long long)base);
	r = virtio_core__init(&vm->core, &mmio_tops, kvm, dev, where, err);
	vm->core.ldev.base = base;
	vm->core.ldev.size = VIRTIO_MMIO_SIZE;
	vm->core.ldev.irq = irq;
	if (!r && vm->irq_fd < 0)
		r = seterr(err, errno, "%s: eventfd: %s", dev->ops->name, strerror(errno));
	if (!r) {
		r = mmio__register(&kvm->mmio, base, VIRTIO_MMIO_SIZE, virtio_mmio__access, vm,
				   dev->ops->name);
		if (r)
			seterr(err, -r, "%s: registering MMIO %#llx: %s", dev->ops->name,
			       (unsigned long long)base, strerror(-r));
	}
	if (r) {
		virtio_mmio__free(vm);
		return r;
	}
	*out = vm;
	return 0;
}

bool virtio_mmio__poll(struct virtio_mmio *vm, int timeout_ms)
{
	return virtio_core__poll(&vm->core, timeout_ms);
}

int virtio_mmio__start(struct virtio_mmio *vm, struct lkvm_err *err)
{
	struct virtio_core *c = &vm->core;
	struct kvm_irqfd irqfd = {
		.fd = (u32)vm->irq_fd,
		.gsi = vm->irq,		/* KVM's default routing: GSI n is interrupt line n */
	};

	for (unsigned int i = 0; i < c->dev->nr_queues; i++) {
		struct kvm_ioeventfd ioev = {
			.datamatch = i,
			.addr = vm->base + VIRTIO_MMIO_QUEUE_NOTIFY,
			.len = 4,
			.fd = c->kick_fd[i],
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};

		if (ioctl(c->kvm->vm_fd, KVM_IOEVENTFD, &ioev) < 0)
			return seterr(err, errno, "%s: KVM_IOEVENTFD at %#llx: %s", c->name,
				      (unsigned long long)ioev.addr, strerror(errno));
		vm->ioeventfd[i] = true;
	}
	if (ioctl(c->kvm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return seterr(err, errno, "%s: KVM_IRQFD for line %u: %s", c->name, vm->irq,
			      strerror(errno));
	vm->irqfd = true;
	return virtio_core__start_thread(c, err);
}

void virtio_mmio__free(struct virtio_mmio *vm)
{
	if (!vm)
		return;
	virtio_core__destroy(&vm->core);
	if (vm->irq_fd >= 0)
		close(vm->irq_fd);
	free(vm);
}

static int mmio_start(struct virtio_core *c, struct lkvm_err *err)
{
	return virtio_mmio__start((struct virtio_mmio *)c, err);
}

static void mmio_free(struct virtio_core *c)
{
	virtio_mmio__free((struct virtio_mmio *)c);
}

/*
 * virtio/mmio.yaml.  Edge-triggered: the interrupt comes from a KVM irqfd,
 * which pulses the line; a level-sensitive line could drop the pulse.
 */
static void mmio_fdt(struct virtio_core *c, struct fdtw *w)
{
	struct virtio_mmio *vm = (struct virtio_mmio *)c;
	u64 reg[] = { vm->base, VIRTIO_MMIO_SIZE };

	fdtw__begin_at(w, "virtio_mmio", vm->base);
	fdtw__str(w, "compatible", "virtio,mmio");
	fdtw__reg64(w, reg, 1);
	fdtw__irq(w, "interrupts", vm->irq, FDT_IRQ_EDGE_RISING);
	fdtw__prop(w, "dma-coherent", NULL, 0);
	fdtw__end(w);
}

/* Snapshot: the selectors and InterruptStatus (virtio 1.2 §4.2.2), under core.lock. */
static int mmio_save(struct virtio_core *c, struct snap_writer *w)
{
	struct virtio_mmio *vm = (struct virtio_mmio *)c;

	snapshot__put_u32(w, vm->dev_features_sel);
	snapshot__put_u32(w, vm->drv_features_sel);
	snapshot__put_u32(w, vm->queue_sel);
	snapshot__put_u32(w, vm->isr);
	return 0;
}

static int mmio_restore(struct virtio_core *c, struct snap_cursor *cur)
{
	struct virtio_mmio *vm = (struct virtio_mmio *)c;
	u32 dsel = snapshot__get_u32(cur), dvsel = snapshot__get_u32(cur);
	u32 qsel = snapshot__get_u32(cur), isr = snapshot__get_u32(cur);

	if (cur->bad || isr & ~(u32)(VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG))
		return -EINVAL;
	vm->dev_features_sel = dsel;
	vm->drv_features_sel = dvsel;
	vm->queue_sel = qsel;
	vm->isr = isr;
	return 0;
}

static const struct virtio_transport_ops mmio_tops = {
	.raise = mmio_raise,
	.reset = mmio_reset,
	.start = mmio_start,
	.free = mmio_free,
	.fdt = mmio_fdt,
	.save = mmio_save,
	.restore = mmio_restore,
};

struct virtio_core *virtio_mmio__core(struct virtio_mmio *vm)
{
	return &vm->core;
}

struct virtio_dev *virtio_mmio__dev(struct virtio_mmio *vm)
{
	return vm->core.dev;
}

int virtio_mmio__irq_fd(const struct virtio_mmio *vm)
{
	return vm->irq_fd;
}
