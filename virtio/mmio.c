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
 * (KVM_IRQFD) pulses the SPI.  The DT declares the SPI edge-triggered:
 * an irqfd raises and lowers the line at once, which a level-sensitive
 * SPI can lose before the guest takes it.
 *
 * Guest mistakes (a bad register access, a bad ring) never stop lkvm: a
 * bad ring sets DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2) and the device
 * stays quiet until the driver resets it.
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "lkvm/kvm.h"
#include "lkvm/virtio.h"

/* Feature bits the transport itself offers on top of the device's. */
#define TRANSPORT_FEATURES	(BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_F_EVENT_IDX) | \
				 BIT(VIRTIO_F_INDIRECT_DESC))

struct mmio_queue {
	u32 num;
	bool ready;
	u64 desc, driver, device;
};

struct virtio_mmio {
	struct kvm *kvm;
	struct virtio_dev *dev;
	u64 base;
	unsigned int spi;
	pthread_mutex_t lock;

	/* The register file (virtio 1.2 §4.2.2), under lock. */
	u32 status;
	u32 dev_features_sel;
	u32 drv_features_sel;
	u64 drv_features;
	u32 queue_sel;
	u32 isr;
	u32 config_gen;
	struct mmio_queue q[VIRTIO_MAX_QUEUES];

	int kick_fd[VIRTIO_MAX_QUEUES];
	int call_fd[VIRTIO_MAX_QUEUES];	/* offloaded queues' interrupt requests (-1: none yet) */
	bool offloaded[VIRTIO_MAX_QUEUES];	/* kicks go to another agent (vhost) */
	int irq_fd;
	int stop_fd;
	int wake_fd;		/* makes the I/O thread rebuild its poll set */
	bool ioeventfd[VIRTIO_MAX_QUEUES];
	bool irqfd;
	pthread_t thread;
	bool thread_started;

	u64 kicks;		/* queue notifications seen by the I/O thread */
	u64 slow_kicks;		/* of which came through an MMIO exit, not an ioeventfd */
	bool fail_logged;	/* NEEDS_RESET logged since the last reset */
	struct log_ratelimit rl;
};

/* Adds 1 to an eventfd; it cannot fail short of a programming error (or overflow, moot). */
static void efd_signal(int fd)
{
	u64 one = 1;
	ssize_t n __unused;

	n = write(fd, &one, sizeof(one));
}

static void signal_irq(struct virtio_mmio *vm, u32 bit)
{
	vm->isr |= bit;
	efd_signal(vm->irq_fd);
}

static void mmio_signal_used(struct virtio_dev *d, unsigned int q __unused)
{
	signal_irq(d->transport, VIRTIO_MMIO_INT_VRING);
}

static void mmio_fail(struct virtio_dev *d, const char *why)
{
	struct virtio_mmio *vm = d->transport;

	if (vm->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	vm->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (!vm->fail_logged) {
		vm->fail_logged = true;
		pr_warn(vm->kvm, "%s@%#llx: %s; device needs reset", d->ops->name,
			(unsigned long long)vm->base, why);
	}
	/* §2.1.2: NEEDS_RESET comes with a configuration change notification. */
	signal_irq(vm, VIRTIO_MMIO_INT_CONFIG);
}

static int mmio_offload_queue(struct virtio_dev *d, unsigned int q, int *kick, int *call)
{
	struct virtio_mmio *vm = d->transport;

	if (q >= d->ops->nr_queues || !vm->q[q].ready)
		return -EINVAL;
	/*
	 * virtio-mmio has one interrupt with a status register, so an agent's
	 * interrupt request comes through the I/O thread, which sets
	 * InterruptStatus before it raises the SPI.
	 */
	if (vm->call_fd[q] < 0) {
		vm->call_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vm->call_fd[q] < 0)
			return -errno;
	}
	vm->offloaded[q] = true;
	*kick = vm->kick_fd[q];
	*call = vm->call_fd[q];
	/* Wake the I/O thread so it stops watching the kick fd and starts on the call fd. */
	efd_signal(vm->wake_fd);
	return 0;
}

void virtio_dev__notify_if_needed(struct virtio_dev *d, unsigned int q)
{
	if (virtqueue__should_notify(&d->vq[q]))
		d->signal_used(d, q);
}

static u64 offered(const struct virtio_mmio *vm)
{
	return vm->dev->features | TRANSPORT_FEATURES;
}

static bool queue_live(const struct virtio_mmio *vm, unsigned int q)
{
	return q < vm->dev->ops->nr_queues && vm->q[q].ready &&
	       (vm->status & VIRTIO_STATUS_DRIVER_OK) && !(vm->status & VIRTIO_STATUS_NEEDS_RESET);
}

/* virtio 1.2 §2.4: back to the state after creation; in-flight work is dropped. */
static void device_reset(struct virtio_mmio *vm)
{
	struct virtio_dev *d = vm->dev;
	u64 junk;

	if (d->ops->reset)
		d->ops->reset(d);
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		memset(&d->vq[i], 0, sizeof(d->vq[i]));
		vm->q[i] = (struct mmio_queue){ 0 };
		/* Drop a notification that is still pending for the old queue. */
		if (vm->kick_fd[i] >= 0 && read(vm->kick_fd[i], &junk, sizeof(junk)) < 0) {
		}
	}
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (vm->offloaded[i])
			efd_signal(vm->wake_fd);	/* the I/O thread watches its kicks again */
		vm->offloaded[i] = false;
	}
	d->acked = 0;
	vm->status = 0;
	vm->dev_features_sel = vm->drv_features_sel = 0;
	vm->drv_features = 0;
	vm->queue_sel = 0;
	vm->isr = 0;
	vm->fail_logged = false;
}

/* FEATURES_OK (virtio 1.2 §2.2.2, §3.1.1): only a subset of ours, with VERSION_1. */
static bool features_acceptable(const struct virtio_mmio *vm)
{
	return !(vm->drv_features & ~offered(vm)) && (vm->drv_features & BIT(VIRTIO_F_VERSION_1));
}

static void write_status(struct virtio_mmio *vm, u32 val)
{
	u32 old = vm->status;

	if (val == 0) {
		device_reset(vm);
		return;
	}
	/* NEEDS_RESET is ours to set; the driver can only keep it. */
	val = (val & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET);
	if ((val & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		if (!features_acceptable(vm)) {
			/* §3.1.1: the driver re-reads the status and sees FEATURES_OK unset. */
			val &= ~(u32)VIRTIO_STATUS_FEATURES_OK;
		} else {
			vm->dev->acked = vm->drv_features;
		}
	}
	vm->status = val;
	if ((val & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (vm->dev->ops->driver_ok)
			vm->dev->ops->driver_ok(vm->dev);
		/* Anything made available before DRIVER_OK: look now. */
		for (unsigned int i = 0; i < vm->dev->ops->nr_queues; i++)
			if (vm->q[i].ready && !vm->offloaded[i])
				efd_signal(vm->kick_fd[i]);
	}
}

static void queue_ready(struct virtio_mmio *vm, struct mmio_queue *q, unsigned int idx)
{
	struct virtio_dev *d = vm->dev;
	int r;

	r = virtqueue__init(&d->vq[idx], d->kvm, q->num, q->desc, q->driver, q->device,
			    vm->drv_features & BIT(VIRTIO_F_EVENT_IDX),
			    vm->drv_features & BIT(VIRTIO_F_INDIRECT_DESC));
	if (r) {
		mmio_fail(d, "queue set ready with a bad size or rings outside guest RAM");
		return;
	}
	q->ready = true;
}

static void set_lo(u64 *v, u32 val)
{
	*v = (*v & ~0xffffffffULL) | val;
}

static void set_hi(u64 *v, u32 val)
{
	*v = (*v & 0xffffffffULL) | (u64)val << 32;
}

static u32 read_reg(struct virtio_mmio *vm, u64 off)
{
	const struct virtio_dev_ops *ops = vm->dev->ops;
	struct mmio_queue *q = vm->queue_sel < ops->nr_queues ? &vm->q[vm->queue_sel] : NULL;
	u64 f;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION_REG: return VIRTIO_MMIO_VERSION;
	case VIRTIO_MMIO_DEVICE_ID: return ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		f = offered(vm);
		return vm->dev_features_sel == 0 ? (u32)f : vm->dev_features_sel == 1 ? (u32)(f >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? ops->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_NUM: return q ? q->num : 0;
	case VIRTIO_MMIO_QUEUE_READY: return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return vm->isr;
	case VIRTIO_MMIO_STATUS: return vm->status;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: return q ? (u32)q->desc : 0;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: return q ? (u32)(q->desc >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: return q ? (u32)q->driver : 0;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: return q ? (u32)(q->driver >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: return q ? (u32)q->device : 0;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: return q ? (u32)(q->device >> 32) : 0;
	/* §4.2.2: a shared memory region that does not exist has length -1. */
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffff;
	case VIRTIO_MMIO_CONFIG_GENERATION: return vm->config_gen;
	}
	lkvm_log_ratelimited(vm->kvm, &vm->rl, LOG_WARN, "%s@%#llx: guest read of register %#llx",
			     ops->name, (unsigned long long)vm->base, (unsigned long long)off);
	return 0;
}

static void write_reg(struct virtio_mmio *vm, u64 off, u32 val)
{
	const struct virtio_dev_ops *ops = vm->dev->ops;
	struct mmio_queue *q = vm->queue_sel < ops->nr_queues ? &vm->q[vm->queue_sel] : NULL;
	bool q_setup = q && !q->ready;	/* §4.2.3.2: queue fields only while not ready */

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: vm->dev_features_sel = val; return;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: vm->drv_features_sel = val; return;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* Frozen once FEATURES_OK is set (§2.2.2). */
		if (vm->status & VIRTIO_STATUS_FEATURES_OK)
			return;
		if (vm->drv_features_sel == 0)
			set_lo(&vm->drv_features, val);
		else if (vm->drv_features_sel == 1)
			set_hi(&vm->drv_features, val);
		return;
	case VIRTIO_MMIO_QUEUE_SEL: vm->queue_sel = val; return;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (!q_setup)
			return;
		if (!val || val > ops->queue_max || (val & (val - 1))) {
			lkvm_log_ratelimited(vm->kvm, &vm->rl, LOG_WARN,
					     "%s@%#llx: QueueNum %u refused (a power of 2 up to %u)",
					     ops->name, (unsigned long long)vm->base, val,
					     ops->queue_max);
			return;
		}
		q->num = val;
		return;
	case VIRTIO_MMIO_QUEUE_READY:
		if (!q)
			return;
		if (!val) {
			/* §4.2.3.2 lets a driver take a queue down only by a reset; keep it simple. */
			q->ready = false;
			memset(&vm->dev->vq[vm->queue_sel], 0, sizeof(vm->dev->vq[0]));
		} else if (!q->ready && (vm->status & VIRTIO_STATUS_FEATURES_OK)) {
			queue_ready(vm, q, vm->queue_sel);
		}
		return;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Normally caught by the ioeventfd; this is the path without one. */
		if (val < ops->nr_queues) {
			vm->slow_kicks++;
			efd_signal(vm->kick_fd[val]);
		}
		return;
	case VIRTIO_MMIO_INTERRUPT_ACK: vm->isr &= ~val; return;
	case VIRTIO_MMIO_STATUS: write_status(vm, val); return;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: if (q_setup) set_lo(&q->desc, val); return;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: if (q_setup) set_hi(&q->desc, val); return;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: if (q_setup) set_lo(&q->driver, val); return;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: if (q_setup) set_hi(&q->driver, val); return;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: if (q_setup) set_lo(&q->device, val); return;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: if (q_setup) set_hi(&q->device, val); return;
	case VIRTIO_MMIO_SHM_SEL: return;
	}
	lkvm_log_ratelimited(vm->kvm, &vm->rl, LOG_WARN, "%s@%#llx: guest write of %#x to register %#llx",
			     ops->name, (unsigned long long)vm->base, val, (unsigned long long)off);
}

static void config_access(struct virtio_mmio *vm, u64 off, u8 *data, u32 len, bool is_write)
{
	struct virtio_dev *d = vm->dev;
	u64 end;

	if (!add_ok(off, len, &end) || end > d->ops->config_size) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (!is_write)
		d->ops->config_read(d, (u32)off, data, len);
	else if (d->ops->config_write)
		d->ops->config_write(d, (u32)off, data, len);
}

void virtio_mmio__access(void *opaque, u64 offset, u8 *data, u32 len, bool is_write)
{
	struct virtio_mmio *vm = opaque;
	u32 v;

	pthread_mutex_lock(&vm->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		config_access(vm, offset - VIRTIO_MMIO_CONFIG, data, len, is_write);
	} else if (len != 4 || offset % 4) {
		/* §4.2.2.2: registers are 32-bit, accessed as such. */
		lkvm_log_ratelimited(vm->kvm, &vm->rl, LOG_WARN,
				     "%s@%#llx: %u-byte guest %s of register %#llx ignored",
				     vm->dev->ops->name, (unsigned long long)vm->base, len,
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
	pthread_mutex_unlock(&vm->lock);
}

int virtio_mmio__new(struct kvm *kvm, struct virtio_dev *dev, u64 base, unsigned int spi,
		     struct virtio_mmio **out, struct lkvm_err *err)
{
	struct virtio_mmio *vm;
	int r;

	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		dev->ops->free(dev);
		return seterr(err, ENOMEM, "%s: out of memory", dev->ops->name);
	}
	vm->kvm = kvm;
	vm->dev = dev;
	vm->base = base;
	vm->spi = spi;
	pthread_mutex_init(&vm->lock, NULL);
	dev->kvm = kvm;
	dev->transport = vm;
	dev->signal_used = mmio_signal_used;
	dev->fail = mmio_fail;
	dev->offload_queue = mmio_offload_queue;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vm->kick_fd[i] = vm->call_fd[i] = -1;
	vm->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r = vm->irq_fd < 0 || vm->stop_fd < 0 || vm->wake_fd < 0 ? -errno : 0;
	for (unsigned int i = 0; !r && i < dev->ops->nr_queues; i++) {
		vm->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vm->kick_fd[i] < 0)
			r = -errno;
	}
	if (r) {
		seterr(err, -r, "%s: eventfd: %s", dev->ops->name, strerror(-r));
		goto fail;
	}
	r = mmio__register(&kvm->mmio, base, VIRTIO_MMIO_SIZE, virtio_mmio__access, vm,
			   dev->ops->name);
	if (r) {
		seterr(err, -r, "%s: registering MMIO %#llx: %s", dev->ops->name,
		       (unsigned long long)base, strerror(-r));
		goto fail;
	}
	*out = vm;
	return 0;
fail:
	virtio_mmio__free(vm);
	return r;
}

bool virtio_mmio__poll(struct virtio_mmio *vm, int timeout_ms)
{
	struct virtio_dev *d = vm->dev;
	unsigned int nq = d->ops->nr_queues, n = 0;
	struct pollfd p[2 * VIRTIO_MAX_QUEUES + 3];
	int efd = d->ops->event_fd ? d->ops->event_fd(d) : -1;
	bool off[VIRTIO_MAX_QUEUES];
	u64 junk;

	/* Offloaded queues: watch the agent's interrupt requests, not the kicks. */
	pthread_mutex_lock(&vm->lock);
	memcpy(off, vm->offloaded, sizeof(off));
	pthread_mutex_unlock(&vm->lock);
	for (unsigned int i = 0; i < nq; i++)
		p[n++] = (struct pollfd){ .fd = off[i] ? -1 : vm->kick_fd[i], .events = POLLIN };
	for (unsigned int i = 0; i < nq; i++)
		p[n++] = (struct pollfd){ .fd = off[i] ? vm->call_fd[i] : -1, .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = efd, .events = POLLIN };	/* fd -1 is skipped */
	p[n++] = (struct pollfd){ .fd = vm->wake_fd, .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = vm->stop_fd, .events = POLLIN };
	if (poll(p, n, timeout_ms) < 0)
		return errno == EINTR;
	if (p[n - 1].revents & POLLIN)
		return false;
	if ((p[n - 2].revents & POLLIN) && read(vm->wake_fd, &junk, sizeof(junk)) < 0) {
	}

	pthread_mutex_lock(&vm->lock);
	if (efd >= 0 && (p[2 * nq].revents & POLLIN))
		d->ops->event(d);
	for (unsigned int i = 0; i < nq; i++) {
		if (p[nq + i].revents & POLLIN) {
			if (read(vm->call_fd[i], &junk, sizeof(junk)) == sizeof(junk) &&
			    vm->offloaded[i])
				signal_irq(vm, VIRTIO_MMIO_INT_VRING);
		}
		if (!(p[i].revents & POLLIN))
			continue;
		/* Consumed before the ring is read: a later kick re-arms it. */
		if (read(vm->kick_fd[i], &junk, sizeof(junk)) == sizeof(junk))
			vm->kicks += junk;
		if (queue_live(vm, i) && !vm->offloaded[i])
			d->ops->queue_notify(d, i);
	}
	pthread_mutex_unlock(&vm->lock);
	return true;
}

static void *io_thread(void *arg)
{
	struct virtio_mmio *vm = arg;

	while (virtio_mmio__poll(vm, -1))
		;
	return NULL;
}

int virtio_mmio__start(struct virtio_mmio *vm, struct lkvm_err *err)
{
	const char *name = vm->dev->ops->name;
	struct kvm_irqfd irqfd = {
		.fd = (u32)vm->irq_fd,
		.gsi = vm->spi,		/* arm64 default routing: GSI n is SPI n (INTID 32 + n) */
	};
	sigset_t all, old;
	int r;

	for (unsigned int i = 0; i < vm->dev->ops->nr_queues; i++) {
		struct kvm_ioeventfd ioev = {
			.datamatch = i,
			.addr = vm->base + VIRTIO_MMIO_QUEUE_NOTIFY,
			.len = 4,
			.fd = vm->kick_fd[i],
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};

		if (ioctl(vm->kvm->vm_fd, KVM_IOEVENTFD, &ioev) < 0)
			return seterr(err, errno, "%s: KVM_IOEVENTFD at %#llx: %s", name,
				      (unsigned long long)ioev.addr, strerror(errno));
		vm->ioeventfd[i] = true;
	}
	if (ioctl(vm->kvm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return seterr(err, errno, "%s: KVM_IRQFD for SPI %u: %s", name, vm->spi,
			      strerror(errno));
	vm->irqfd = true;

	/* The I/O thread takes no signals: they belong to the main loop and vCPUs. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&vm->thread, NULL, io_thread, vm);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return seterr(err, r, "%s: cannot start its I/O thread: %s", name, strerror(r));
	vm->thread_started = true;
	return 0;
}

void virtio_mmio__free(struct virtio_mmio *vm)
{
	if (!vm)
		return;
	if (vm->thread_started) {
		efd_signal(vm->stop_fd);
		pthread_join(vm->thread, NULL);
		/* Notifications should never cost a vCPU exit to user space. */
		pr_info(vm->kvm, "%s@%#llx: %llu queue notifications, %llu of them by MMIO exit",
			vm->dev->ops->name, (unsigned long long)vm->base,
			(unsigned long long)vm->kicks, (unsigned long long)vm->slow_kicks);
	}
	/*
	 * The ioeventfds and the irqfd stay registered until the VM fd is
	 * closed, which releases them with the VM; deassigning each here
	 * would cost an SRCU grace period apiece.
	 */
	if (vm->dev)
		vm->dev->ops->free(vm->dev);
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (vm->kick_fd[i] >= 0)
			close(vm->kick_fd[i]);
		if (vm->call_fd[i] >= 0)
			close(vm->call_fd[i]);
	}
	if (vm->irq_fd >= 0)
		close(vm->irq_fd);
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	if (vm->wake_fd >= 0)
		close(vm->wake_fd);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

u64 virtio_mmio__base(const struct virtio_mmio *vm)
{
	return vm->base;
}

unsigned int virtio_mmio__spi(const struct virtio_mmio *vm)
{
	return vm->spi;
}

struct virtio_dev *virtio_mmio__dev(struct virtio_mmio *vm)
{
	return vm->dev;
}

int virtio_mmio__irq_fd(const struct virtio_mmio *vm)
{
	return vm->irq_fd;
}
