// SPDX-License-Identifier: GPL-2.0-only
/*
 * What every virtio transport shares (virtio 1.2 §2, §3): the device
 * status and its reset, feature negotiation, the queues' configuration,
 * the queue notification eventfds, queue offloading to another agent
 * (vhost), the device's I/O thread (and its pause point, for "lkvm
 * pause"), and the device's state for "lkvm debug".  A transport (virtio/mmio.c,
 * virtio/pci.c) embeds a struct virtio_core, maps its own register layout
 * onto these calls, and raises interrupts its own way through tops->raise.
 * The core is also the transport's face as a VM device (struct
 * lkvm_device: start, free, its DT node), and virtio__attach() puts a new
 * device on the configured transport at the arch's next place for it.
 *
 * Locking: c->lock serialises register accesses (vCPU threads) with the
 * device's callbacks (the I/O thread); see include/lkvm/virtio-dev.h.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/json.h"
#include "lkvm/kvm.h"
#include "lkvm/pci.h"
#include "lkvm/sandbox.h"
#include "lkvm/snapshot.h"
#include "lkvm/virtio-transport.h"

static const struct lkvm_device_ops core_dev_ops;

/* Feature bits the transports themselves offer on top of the device's. */
#define TRANSPORT_FEATURES	(BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) | \
				 BIT(VIRTIO_RING_F_INDIRECT_DESC))

void virtio_efd_signal(int fd)
{
	u64 one = 1;
	ssize_t n __unused;

	n = write(fd, &one, sizeof(one));
}

static u64 efd_drain(int fd)
{
	u64 v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static void core_signal_used(struct virtio_dev *d, unsigned int q)
{
	struct virtio_core *c = d->transport;

	c->tops->raise(c, (int)q);
}

static void core_fail(struct virtio_dev *d, const char *why)
{
	struct virtio_core *c = d->transport;

	if (c->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	c->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	__atomic_store_n(&d->failed, true, __ATOMIC_RELEASE);
	/* Once per reset, and the device's limit holds across resets: a guest can loop on them. */
	lkvm_log_ratelimited(c->kvm, &c->rl, LOG_WARN, "%s: %s; device needs reset", c->name, why);
	/* §2.1.2: NEEDS_RESET comes with a configuration change notification. */
	c->config_gen++;
	c->tops->raise(c, VIRTIO_RAISE_CONFIG);
}

static void core_config_changed(struct virtio_dev *d)
{
	struct virtio_core *c = d->transport;

	c->config_gen++;
	if ((c->status & VIRTIO_CONFIG_S_DRIVER_OK) && !(c->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		c->tops->raise(c, VIRTIO_RAISE_CONFIG);
}

static int core_offload_queue(struct virtio_dev *d, unsigned int q, int *kick, int *call)
{
	struct virtio_core *c = d->transport;

	if (q >= d->nr_queues || !c->q[q].ready)
		return -EINVAL;
	/*
	 * The agent's interrupt requests come through the I/O thread, which
	 * raises the queue's interrupt the transport's way (InterruptStatus
	 * for virtio-mmio, the queue's MSI-X vector with masking for PCI).
	 */
	if (c->call_fd[q] < 0) {
		c->call_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (c->call_fd[q] < 0)
			return -errno;
	}
	c->offloaded[q] = true;
	*kick = c->kick_fd[q];
	*call = c->call_fd[q];
	/* The I/O thread stops watching the kick fd and starts on the call fd. */
	virtio_efd_signal(c->wake_fd);
	return 0;
}

void virtio_dev__notify_if_needed(struct virtio_dev *d, unsigned int q)
{
	if (virtqueue__should_notify(&d->vq[q]))
		d->signal_used(d, q);
}

int virtio_dev__pop(struct virtio_dev *d, struct virtqueue *vq, struct vq_chain *chain)
{
	bool rearmed = false;

	for (;;) {
		int n = virtqueue__pop(vq, chain);

		if (n < 0) {
			d->fail(d, vq->broken_why ? vq->broken_why : "bad ring");
			return -1;
		}
		if (n > 0)
			return 1;
		if (!vq->event_idx || rearmed)
			return 0;
		virtqueue__set_avail_event(vq);
		rearmed = true;
	}
}

int virtio_core__init(struct virtio_core *c, const struct virtio_transport_ops *tops,
		      struct kvm *kvm, struct virtio_dev *dev, const char *where,
		      struct lkvm_err *err)
{
	int r = 0;

	c->ldev.ops = &core_dev_ops;
	c->ldev.name = dev->ops->name;
	c->ldev.irq = LKVM_NO_IRQ;
	c->tops = tops;
	c->kvm = kvm;
	c->dev = dev;
	snprintf(c->name, sizeof(c->name), "%s@%s", dev->ops->name, where);
	pthread_mutex_init(&c->lock, NULL);
	dev->kvm = kvm;
	dev->transport = c;
	dev->signal_used = core_signal_used;
	dev->fail = core_fail;
	dev->offload_queue = core_offload_queue;
	dev->config_changed = core_config_changed;
	if (!dev->nr_queues)
		dev->nr_queues = dev->ops->nr_queues;
	if (!dev->queue_max)
		dev->queue_max = dev->ops->queue_max;
	c->config_vector = VIRTIO_MSI_NO_VECTOR;
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&c->pause_cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		c->kick_fd[i] = c->call_fd[i] = -1;
		c->q[i].vector = VIRTIO_MSI_NO_VECTOR;
	}
	c->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->stop_fd < 0 || c->wake_fd < 0)
		r = -errno;
	for (unsigned int i = 0; !r && i < dev->nr_queues; i++) {
		c->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (c->kick_fd[i] < 0)
			r = -errno;
	}
	if (r)
		return seterr(err, -r, "%s: eventfd: %s", dev->ops->name, strerror(-r));
	return 0;
}

u64 virtio_core__offered(const struct virtio_core *c)
{
	return c->dev->features | TRANSPORT_FEATURES;
}

bool virtio_core__queue_live(const struct virtio_core *c, unsigned int q)
{
	return q < c->dev->nr_queues && c->q[q].ready &&
	       (c->status & VIRTIO_CONFIG_S_DRIVER_OK) && !(c->status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

struct virtio_queue_cfg *virtio_core__queue(struct virtio_core *c, u32 q)
{
	return q < c->dev->nr_queues ? &c->q[q] : NULL;
}

void virtio_core__reset(struct virtio_core *c)
{
	struct virtio_dev *d = c->dev;

	if (c->status)
		c->reset_from = c->status;
	if (d->ops->reset)
		d->ops->reset(d);
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		memset(&d->vq[i], 0, sizeof(d->vq[i]));
		c->q[i] = (struct virtio_queue_cfg){ .vector = VIRTIO_MSI_NO_VECTOR };
		/* Drop a notification that is still pending for the old queue. */
		if (c->kick_fd[i] >= 0)
			efd_drain(c->kick_fd[i]);
		if (c->offloaded[i])
			virtio_efd_signal(c->wake_fd);	/* the I/O thread watches its kicks again */
		c->offloaded[i] = false;
	}
	d->acked = 0;
	c->status = 0;
	__atomic_store_n(&d->failed, false, __ATOMIC_RELEASE);
	c->drv_features = 0;
	c->config_vector = VIRTIO_MSI_NO_VECTOR;
	if (c->tops->reset)
		c->tops->reset(c);
}

u32 virtio_core__read_status(const struct virtio_core *c)
{
	/*
	 * §2.4.1: the device says its reset is complete by reading 0; one
	 * still finishing in-flight work (dev->reset_pending) reads as the
	 * status it was reset from, which a PCI driver waits out (§4.1.4.3.2).
	 */
	if (!c->status && c->dev->reset_pending)
		return c->reset_from ? c->reset_from : VIRTIO_CONFIG_S_ACKNOWLEDGE;
	return c->status;
}

void virtio_core__write_features(struct virtio_core *c, u32 sel, u32 val)
{
	/* Frozen once FEATURES_OK is set (§2.2.2). */
	if (c->status & VIRTIO_CONFIG_S_FEATURES_OK)
		return;
	if (sel == 0)
		c->drv_features = (c->drv_features & ~0xffffffffULL) | val;
	else if (sel == 1)
		c->drv_features = (c->drv_features & 0xffffffffULL) | (u64)val << 32;
}

u32 virtio_core__read_features(const struct virtio_core *c, u32 sel)
{
	u64 f = virtio_core__offered(c);

	return sel == 0 ? (u32)f : sel == 1 ? (u32)(f >> 32) : 0;
}

/* FEATURES_OK (virtio 1.2 §2.2.2, §3.1.1): only a subset of ours, with VERSION_1. */
static bool features_acceptable(const struct virtio_core *c)
{
	return !(c->drv_features & ~virtio_core__offered(c)) &&
	       (c->drv_features & BIT(VIRTIO_F_VERSION_1));
}

/*
 * The device status (virtio 1.2 §2.1): 0 resets; otherwise the driver
 * only adds bits (§2.1.1: "The driver MUST NOT clear a device status
 * bit"), in §3.1.1's order.  A write that would clear a bit is ignored
 * whole, so the device never sees DRIVER_OK twice in one reset cycle
 * (vhost would be handed rings it already owns) nor features changed
 * under a running driver.  FEATURES_OK sticks only for features we accept
 * (§2.2.2), DRIVER_OK only with FEATURES_OK (§3.1.1 step 8 comes after 5
 * and 6).  Refused bits read back unset, which is how a driver learns of
 * the refusal.
 */
void virtio_core__write_status(struct virtio_core *c, u32 val)
{
	struct virtio_dev *d = c->dev;
	u32 old = c->status, wrote = val;

	if (val == 0) {
		virtio_core__reset(c);
		return;
	}
	/* NEEDS_RESET is ours to set; the driver can only keep it. */
	val = (val & ~VIRTIO_CONFIG_S_NEEDS_RESET) | (old & VIRTIO_CONFIG_S_NEEDS_RESET);
	if (old & ~val) {
		lkvm_log_ratelimited(c->kvm, &c->rl, LOG_WARN, "%s: guest status write %#x would "
				     "clear bits of %#x without a reset; ignored", c->name, wrote, old);
		return;
	}
	if ((val & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK)) {
		if (!features_acceptable(c))
			/* §3.1.1: the driver re-reads the status and sees FEATURES_OK unset. */
			val &= ~(u32)VIRTIO_CONFIG_S_FEATURES_OK;
		else
			d->acked = c->drv_features;
	}
	if ((val & VIRTIO_CONFIG_S_DRIVER_OK) && !(val & VIRTIO_CONFIG_S_FEATURES_OK)) {
		lkvm_log_ratelimited(c->kvm, &c->rl, LOG_WARN, "%s: guest set DRIVER_OK without "
				     "FEATURES_OK; refused", c->name);
		val &= ~(u32)VIRTIO_CONFIG_S_DRIVER_OK;
	}
	c->status = val;
	if ((val & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK)) {
		if (d->ops->driver_ok)
			d->ops->driver_ok(d);
		/* Anything made available before DRIVER_OK: look now. */
		for (unsigned int i = 0; i < d->nr_queues; i++)
			if (c->q[i].ready && !c->offloaded[i])
				virtio_efd_signal(c->kick_fd[i]);
	}
}

bool virtio_core__set_queue_num(struct virtio_core *c, struct virtio_queue_cfg *q, u32 val)
{
	unsigned int max = c->dev->queue_max;

	if (!val || val > max || (val & (val - 1))) {
		lkvm_log_ratelimited(c->kvm, &c->rl, LOG_WARN,
				     "%s: queue size %u refused (a power of 2 up to %u)",
				     c->name, val, max);
		return false;
	}
	q->num = val;
	return true;
}

void virtio_core__queue_enable(struct virtio_core *c, unsigned int idx, bool on)
{
	struct virtio_dev *d = c->dev;
	struct virtio_queue_cfg *q = &c->q[idx];
	int r;

	if (idx >= d->nr_queues)
		return;
	if (!on) {
		/* Taking a queue down is for a reset; keep it simple. */
		q->ready = false;
		memset(&d->vq[idx], 0, sizeof(d->vq[idx]));
		return;
	}
	if (q->ready || !(c->status & VIRTIO_CONFIG_S_FEATURES_OK))
		return;
	r = virtqueue__init(&d->vq[idx], d->kvm, q->num, q->desc, q->driver, q->device,
			    c->drv_features & BIT(VIRTIO_RING_F_EVENT_IDX),
			    c->drv_features & BIT(VIRTIO_RING_F_INDIRECT_DESC));
	if (r) {
		core_fail(d, "queue enabled with a bad size or rings outside guest RAM");
		return;
	}
	q->ready = true;
}

void virtio_core__slow_kick(struct virtio_core *c, u32 q)
{
	if (q < c->dev->nr_queues) {
		c->slow_kicks++;
		virtio_efd_signal(c->kick_fd[q]);
	}
}

void virtio_core__config_access(struct virtio_core *c, u64 off, u8 *data, u32 len,
				bool is_write)
{
	struct virtio_dev *d = c->dev;
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

bool virtio_core__poll(struct virtio_core *c, int timeout_ms)
{
	struct virtio_dev *d = c->dev;
	unsigned int nq = d->nr_queues, n = 0;
	struct pollfd p[2 * VIRTIO_MAX_QUEUES + 3];
	int efd = d->ops->event_fd ? d->ops->event_fd(d) : -1;
	bool off[VIRTIO_MAX_QUEUES];

	/* Offloaded queues: watch the agent's interrupt requests, not the kicks. */
	pthread_mutex_lock(&c->lock);
	memcpy(off, c->offloaded, sizeof(off));
	pthread_mutex_unlock(&c->lock);
	for (unsigned int i = 0; i < nq; i++)
		p[n++] = (struct pollfd){ .fd = off[i] ? -1 : c->kick_fd[i], .events = POLLIN };
	for (unsigned int i = 0; i < nq; i++)
		p[n++] = (struct pollfd){ .fd = off[i] ? c->call_fd[i] : -1, .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = efd, .events = POLLIN };	/* fd -1 is skipped */
	p[n++] = (struct pollfd){ .fd = c->wake_fd, .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = c->stop_fd, .events = POLLIN };
	if (poll(p, n, timeout_ms) < 0)
		return errno == EINTR;
	if (p[n - 1].revents & POLLIN)
		return false;
	if (p[n - 2].revents & POLLIN)
		efd_drain(c->wake_fd);

	pthread_mutex_lock(&c->lock);
	if (efd >= 0 && (p[2 * nq].revents & POLLIN))
		d->ops->event(d);
	for (unsigned int i = 0; i < nq; i++) {
		if ((p[nq + i].revents & POLLIN) && efd_drain(c->call_fd[i]) && c->offloaded[i])
			c->tops->raise(c, (int)i);
		if (!(p[i].revents & POLLIN))
			continue;
		/* Consumed before the ring is read: a later kick re-arms it. */
		{
			u64 k = efd_drain(c->kick_fd[i]);

			c->kicks += k;
			c->q_kicks[i] += k;
		}
		if (virtio_core__queue_live(c, i) && !c->offloaded[i])
			d->ops->queue_notify(d, i);
	}
	pthread_mutex_unlock(&c->lock);
	return true;
}

/* Between two passes: park while a pause is asked for, the device's work in flight done first. */
static void pause_point(struct virtio_core *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->pause_req) {
		if (c->dev->ops->quiesce)
			c->dev->ops->quiesce(c->dev);
		c->paused = true;
		pthread_cond_broadcast(&c->pause_cond);
		while (c->pause_req)
			pthread_cond_wait(&c->pause_cond, &c->lock);
		c->paused = false;
	}
	pthread_mutex_unlock(&c->lock);
}

static void *io_thread(void *arg)
{
	struct virtio_core *c = arg;
	struct lkvm_err err = { "" };

	/* Unconfined, it serves nothing: the device's queues stay unanswered, logged. */
	if (sandbox__enter(SANDBOX_IO, &err)) {
		pr_err(c->kvm, "%s: %s", c->name, err.msg);
		return NULL;
	}
	while (virtio_core__poll(c, -1))
		pause_point(c);
	return NULL;
}

int virtio_core__pause(struct virtio_core *c, int timeout_ms)
{
	struct timespec ts;
	bool ok;
	int r = 0;

	if (!c->thread_started)
		return 0;
	pthread_mutex_lock(&c->lock);
	c->pause_req = true;
	pthread_mutex_unlock(&c->lock);
	virtio_efd_signal(c->wake_fd);		/* out of poll(), to the pause point */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->lock);
	while (!c->paused && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&c->pause_cond, &c->lock, &ts);
	ok = c->paused;
	if (!ok)
		c->pause_req = false;
	pthread_mutex_unlock(&c->lock);
	return ok ? 0 : -ETIMEDOUT;
}

void virtio_core__resume(struct virtio_core *c)
{
	pthread_mutex_lock(&c->lock);
	c->pause_req = false;
	pthread_cond_broadcast(&c->pause_cond);
	pthread_mutex_unlock(&c->lock);
}

/* A ring's idx field (virtio 1.2 §2.7.6, §2.7.8: a le16 at offset 2), as the guest left it. */
static u16 ring_idx(const u8 *ring)
{
	u16 v;

	memcpy(&v, ring + 2, sizeof(v));
	return le16toh(v);
}

void virtio_core__debug(struct virtio_core *c, struct json *j)
{
	static const struct {
		u32 bit;
		const char *name;
	} bits[] = {
		{ VIRTIO_CONFIG_S_ACKNOWLEDGE, "ACKNOWLEDGE" }, { VIRTIO_CONFIG_S_DRIVER, "DRIVER" },
		{ VIRTIO_CONFIG_S_FEATURES_OK, "FEATURES_OK" }, { VIRTIO_CONFIG_S_DRIVER_OK, "DRIVER_OK" },
		{ VIRTIO_CONFIG_S_NEEDS_RESET, "NEEDS_RESET" }, { VIRTIO_CONFIG_S_FAILED, "FAILED" },
	};
	struct virtio_dev *d = c->dev;
	char st[96] = "";
	size_t n = 0;

	pthread_mutex_lock(&c->lock);
	for (unsigned int i = 0; i < ARRAY_SIZE(bits) && n < sizeof(st); i++)
		if (c->status & bits[i].bit)
			n += (size_t)snprintf(st + n, sizeof(st) - n, "%s%s", n ? "|" : "", bits[i].name);
	json__str(j, "transport", c->name);
	json__u64(j, "device_id", d->ops->device_id);
	json__hex(j, "status", c->status);
	json__str(j, "status_bits", st);
	json__hex(j, "device_features", virtio_core__offered(c));
	json__hex(j, "driver_features", c->drv_features);
	json__u64(j, "config_generation", c->config_gen);
	json__u64(j, "kicks", c->kicks);
	json__u64(j, "slow_kicks", c->slow_kicks);
	json__arr_begin(j, "queues");
	for (unsigned int q = 0; q < d->nr_queues; q++) {
		const struct virtqueue *vq = &d->vq[q];

		json__obj_begin(j, NULL);
		json__u64(j, "index", q);
		json__u64(j, "size", c->q[q].num);
		json__bool(j, "ready", c->q[q].ready);
		json__bool(j, "offloaded", c->offloaded[q]);
		json__u64(j, "kicks", c->q_kicks[q]);
		if (c->q[q].vector != VIRTIO_MSI_NO_VECTOR)
			json__u64(j, "msix_vector", c->q[q].vector);
		if (vq->num && vq->avail && vq->used) {
			/* Ours (stale when vhost has the queue), then the guest's rings'. */
			json__u64(j, "last_avail", vq->last_avail_idx);
			json__u64(j, "used", vq->used_idx);
			json__u64(j, "ring_avail", ring_idx(vq->avail));
			json__u64(j, "ring_used", ring_idx(vq->used));
			if (vq->broken)
				json__str(j, "broken", vq->broken_why ? vq->broken_why : "yes");
		}
		json__obj_end(j);
	}
	json__arr_end(j);
	pthread_mutex_unlock(&c->lock);
}

int virtio_core__start_thread(struct virtio_core *c, struct lkvm_err *err)
{
	sigset_t all, old;
	int r;

	/* The I/O thread takes no signals: they belong to the main loop and vCPUs. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&c->thread, NULL, io_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		return seterr(err, r, "%s: cannot start its I/O thread: %s", c->name, strerror(r));
	c->thread_started = true;
	return 0;
}

void virtio_core__destroy(struct virtio_core *c)
{
	if (c->thread_started) {
		virtio_core__resume(c);		/* a paused thread must see the stop */
		virtio_efd_signal(c->stop_fd);
		pthread_join(c->thread, NULL);
		c->thread_started = false;
		/* Notifications should never cost a vCPU exit to user space. */
		pr_info(c->kvm, "%s: %llu queue notifications, %llu of them by a trap to lkvm",
			c->name, (unsigned long long)c->kicks, (unsigned long long)c->slow_kicks);
	}
	/*
	 * The ioeventfds and irqfds stay registered until the VM fd is
	 * closed, which releases them with the VM; deassigning each here
	 * would cost an SRCU grace period apiece.
	 */
	if (c->dev)
		c->dev->ops->free(c->dev);
	c->dev = NULL;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (c->kick_fd[i] >= 0)
			close(c->kick_fd[i]);
		if (c->call_fd[i] >= 0)
			close(c->call_fd[i]);
	}
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	pthread_cond_destroy(&c->pause_cond);
	pthread_mutex_destroy(&c->lock);
}

void virtio_transport__free(struct virtio_core *c)
{
	if (c)
		c->tops->free(c);
}

/* ---- snapshot --------------------------------------------------------------
 * State version 1: u32 status, u32 reset_from, u64 drv_features, u64 acked,
 * u32 config_gen, u32 config_vector, u32 nr_queues, u32 failed; per queue
 * u32 num, u32 ready, u64 desc, u64 driver, u64 device, u32 vector, u16
 * last_avail_idx, u16 avail_idx, u16 used_idx, u16 signalled_used, u32 0;
 * then the transport's registers, then the device's own state.
 */
int virtio_core__save(struct virtio_core *c, struct snap_writer *w, struct lkvm_err *err)
{
	struct virtio_dev *d = c->dev;
	int r;

	if (!c->tops->save)
		return seterr(err, ENOTSUP, "the guest has a %s device on the virtio-pci transport, "
			      "which lkvm cannot snapshot yet (virtio-mmio can: --virtio-transport "
			      "mmio)", d->ops->name);
	if (!d->ops->save || !d->ops->restore)
		return seterr(err, ENOTSUP, "the guest has a %s device, which lkvm cannot snapshot "
			      "yet", d->ops->name);
	for (unsigned int q = 0; q < d->nr_queues; q++)
		if (c->offloaded[q])
			return seterr(err, ENOTSUP, "%s: queue %u is served by vhost, which lkvm cannot "
				      "snapshot yet", c->name, q);
	pthread_mutex_lock(&c->lock);
	snapshot__put_u32(w, c->status);
	snapshot__put_u32(w, c->reset_from);
	snapshot__put_u64(w, c->drv_features);
	snapshot__put_u64(w, d->acked);
	snapshot__put_u32(w, c->config_gen);
	snapshot__put_u32(w, c->config_vector);
	snapshot__put_u32(w, d->nr_queues);
	snapshot__put_u32(w, d->failed);
	for (unsigned int i = 0; i < d->nr_queues; i++) {
		const struct virtio_queue_cfg *q = &c->q[i];
		const struct virtqueue *vq = &d->vq[i];

		snapshot__put_u32(w, q->num);
		snapshot__put_u32(w, q->ready);
		snapshot__put_u64(w, q->desc);
		snapshot__put_u64(w, q->driver);
		snapshot__put_u64(w, q->device);
		snapshot__put_u32(w, q->vector);
		snapshot__put_u64(w, (u64)vq->last_avail_idx | (u64)vq->avail_idx << 16 |
				  (u64)vq->used_idx << 32 | (u64)vq->signalled_used << 48);
		snapshot__put_u32(w, 0);
	}
	r = c->tops->save(c, w);
	pthread_mutex_unlock(&c->lock);
	if (!r)
		r = d->ops->save(d, w, err);
	else
		seterr(err, -r, "%s: saving the transport: %s", c->name, strerror(-r));
	return r;
}

int virtio_core__restore(struct virtio_core *c, struct snap_cursor *cur, struct lkvm_err *err)
{
	struct virtio_dev *d = c->dev;
	u32 status, reset_from, gen, cvec, nq, failed;
	u64 drv, acked;
	int r = 0;

	if (!c->tops->restore || !d->ops->restore)
		return seterr(err, ENOTSUP, "%s: lkvm cannot restore this device", c->name);
	pthread_mutex_lock(&c->lock);
	status = snapshot__get_u32(cur);
	reset_from = snapshot__get_u32(cur);
	drv = snapshot__get_u64(cur);
	acked = snapshot__get_u64(cur);
	gen = snapshot__get_u32(cur);
	cvec = snapshot__get_u32(cur);
	nq = snapshot__get_u32(cur);
	failed = snapshot__get_u32(cur);
	if (cur->bad || nq != d->nr_queues || failed > 1 || cvec > 0xffff ||
	    (drv & ~virtio_core__offered(c))) {
		r = seterr(err, EINVAL, "%s: the saved state (%u queues, features %#llx) does not "
			   "fit this device (%u queues, offered %#llx)", c->name, nq,
			   (unsigned long long)drv, d->nr_queues,
			   (unsigned long long)virtio_core__offered(c));
		pthread_mutex_unlock(&c->lock);
		return r;
	}
	c->status = status;
	c->reset_from = reset_from;
	c->drv_features = drv;
	d->acked = acked;
	c->config_gen = gen;
	c->config_vector = (u16)cvec;
	d->failed = failed;
	for (unsigned int i = 0; i < nq && !r; i++) {
		struct virtio_queue_cfg *q = &c->q[i];
		struct virtqueue *vq = &d->vq[i];
		u32 num = snapshot__get_u32(cur), ready = snapshot__get_u32(cur);
		u64 desc = snapshot__get_u64(cur), drvr = snapshot__get_u64(cur);
		u64 dev = snapshot__get_u64(cur);
		u32 vec = snapshot__get_u32(cur);
		u64 idx = snapshot__get_u64(cur);

		(void)snapshot__get_u32(cur);
		if (cur->bad || ready > 1 || vec > 0xffff ||
		    (num && !virtio_core__set_queue_num(c, q, num))) {
			r = seterr(err, EINVAL, "%s: queue %u's saved state does not fit", c->name, i);
			break;
		}
		q->desc = desc;
		q->driver = drvr;
		q->device = dev;
		q->vector = (u16)vec;
		q->ready = false;
		if (!ready)
			continue;
		/* The same rings, in the restored guest RAM: checked again as on QueueReady. */
		r = virtqueue__init(vq, d->kvm, q->num, q->desc, q->driver, q->device,
				    drv & BIT(VIRTIO_RING_F_EVENT_IDX),
				    drv & BIT(VIRTIO_RING_F_INDIRECT_DESC));
		if (r) {
			r = seterr(err, EINVAL, "%s: queue %u's saved rings are not in guest RAM",
				   c->name, i);
			break;
		}
		vq->last_avail_idx = (u16)idx;
		vq->avail_idx = (u16)(idx >> 16);
		vq->used_idx = (u16)(idx >> 32);
		vq->signalled_used = (u16)(idx >> 48);
		q->ready = true;
	}
	if (!r && c->tops->restore(c, cur))
		r = seterr(err, EINVAL, "%s: the saved transport registers do not fit", c->name);
	pthread_mutex_unlock(&c->lock);
	if (!r)
		r = d->ops->restore(d, cur, err);
	if (!r && cur->n)
		r = seterr(err, EINVAL, "%s: %zu bytes of saved state left over", c->name, cur->n);
	if (r)
		return r;
	if ((status & VIRTIO_CONFIG_S_DRIVER_OK) && d->ops->driver_ok)
		d->ops->driver_ok(d);
	/* What the guest queued before the snapshot and nobody was told of: a look at each queue. */
	for (unsigned int i = 0; i < nq; i++)
		if (c->q[i].ready)
			virtio_efd_signal(c->kick_fd[i]);
	return 0;
}

/* ---- the transport as a VM device ----------------------------------------- */

static struct virtio_core *core_of(struct lkvm_device *d)
{
	return lkvm_container_of(d, struct virtio_core, ldev);
}

static int core_dev_start(struct lkvm_device *d, struct lkvm_err *err)
{
	return core_of(d)->tops->start(core_of(d), err);
}

static void core_dev_free(struct lkvm_device *d)
{
	virtio_transport__free(core_of(d));
}

static void core_dev_fdt(struct lkvm_device *d, struct fdtw *w)
{
	struct virtio_core *c = core_of(d);

	if (c->tops->fdt)
		c->tops->fdt(c, w);
}

static int core_dev_pause(struct lkvm_device *d, bool pause, int timeout_ms)
{
	if (pause)
		return virtio_core__pause(core_of(d), timeout_ms);
	virtio_core__resume(core_of(d));
	return 0;
}

static void core_dev_debug(struct lkvm_device *d, struct json *j)
{
	virtio_core__debug(core_of(d), j);
}

static int core_dev_save(struct lkvm_device *d, struct snap_writer *w, struct lkvm_err *err)
{
	return virtio_core__save(core_of(d), w, err);
}

static int core_dev_restore(struct lkvm_device *d, u32 version, struct snap_cursor *c,
			    struct lkvm_err *err)
{
	if (version != 1)
		return seterr(err, EINVAL, "%s: saved state version %u not understood",
			      core_of(d)->name, version);
	return virtio_core__restore(core_of(d), c, err);
}

static const struct lkvm_device_ops core_dev_ops = {
	.fdt = core_dev_fdt,
	.start = core_dev_start,
	.free = core_dev_free,
	.pause = core_dev_pause,
	.debug = core_dev_debug,
	.state_version = 1,
	.save = core_dev_save,
	.restore = core_dev_restore,
};

static int attach_mmio(struct kvm *kvm, struct virtio_dev *dev, struct virtio_core **out,
		       struct lkvm_err *err)
{
	struct virtio_mmio *vm;
	unsigned int irq;
	u64 base;
	int r;

	r = devices__place(kvm, LKVM_AREA_VIRTIO_MMIO, dev->ops->name, &base, &irq, err);
	if (r) {
		dev->ops->free(dev);
		return r;
	}
	r = virtio_mmio__new(kvm, dev, base, irq, &vm, err);
	if (!r)
		*out = virtio_mmio__core(vm);
	return r;
}

static int attach_pci(struct kvm *kvm, struct virtio_dev *dev, struct virtio_core **out,
		      struct lkvm_err *err)
{
	unsigned int irq;
	u64 bar;
	int r;

	if (!kvm->pci) {
		r = pci__create(kvm, err);
		if (r) {
			dev->ops->free(dev);
			return r;
		}
	}
	r = devices__place(kvm, LKVM_AREA_PCI_MMIO, dev->ops->name, &bar, &irq, err);
	if (r) {
		dev->ops->free(dev);
		return r;
	}
	return virtio_pci__new(kvm, kvm->pci, dev, (u32)bar, kvm->place.msi, out, err);
}

int virtio__attach(struct kvm *kvm, struct virtio_dev *dev, struct lkvm_err *err)
{
	struct virtio_core *c = NULL;
	int r;

	if (kvm->cfg->virtio_transport == VIRTIO_TRANSPORT_PCI)
		r = attach_pci(kvm, dev, &c, err);
	else
		r = attach_mmio(kvm, dev, &c, err);
	if (r)
		return r;
	r = kvm__add_device(kvm, &c->ldev, err);
	if (r)
		virtio_transport__free(c);
	return r;
}
