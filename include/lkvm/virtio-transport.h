/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The transport side of virtio (virtio 1.2 §4): the core that both
 * transports share (virtio/core.c: status, feature negotiation, queue
 * configuration, notifications and the device's I/O thread) and the two
 * transports on it, virtio-mmio (§4.2) and modern virtio-pci (§4.1).
 * Each transport is a VM device (lkvm/device.h) that writes its own
 * device-tree node, or lets its bus write it.  Devices use
 * lkvm/virtio-dev.h only; this header is for the transports and tests.
 */
#ifndef LKVM_VIRTIO_TRANSPORT_H
#define LKVM_VIRTIO_TRANSPORT_H

#include <linux/virtio_mmio.h>		/* §4.2.2 register offsets, interrupt bits */
#include <linux/virtio_pci.h>		/* §4.1.4 capabilities, common config */

#include "lkvm/device.h"
#include "lkvm/virtio-dev.h"

/* ---- the transports' shared core (virtio/core.c) ------------------------ */

#define VIRTIO_RAISE_CONFIG		(-1)	/* tops->raise(): the config-change interrupt */

struct virtio_core;

/* What a transport adds to the core. */
struct virtio_transport_ops {
	/* Raises queue @q's used-buffer interrupt, or the config change one (VIRTIO_RAISE_CONFIG). */
	void (*raise)(struct virtio_core *c, int q);
	/* Resets the transport's own registers (after the core's reset; NULL: none). */
	void (*reset)(struct virtio_core *c);
	/* Registers ioeventfds/irqfds with KVM and starts the I/O thread. */
	int (*start)(struct virtio_core *c, struct lkvm_err *err);
	/* Stops everything and frees the device and the transport. */
	void (*free)(struct virtio_core *c);
	/* Writes the transport's device-tree node (NULL: its bus writes it). */
	void (*fdt)(struct virtio_core *c, struct fdtw *w);
	/*
	 * Snapshot: the transport's own registers (NULL: this transport cannot
	 * be saved yet), under c->lock.  0, or -errno (restore: -EINVAL for a
	 * state it does not understand).
	 */
	int (*save)(struct virtio_core *c, struct snap_writer *w);
	int (*restore)(struct virtio_core *c, struct snap_cursor *cur);
};

struct virtio_queue_cfg {
	u32 num;
	bool ready;
	u64 desc, driver, device;
	u16 vector;			/* PCI: MSI-X vector (VIRTIO_MSI_NO_VECTOR: none) */
};

/* One device's transport state; transports embed it.  Fields under lock. */
struct virtio_core {
	struct lkvm_device ldev;	/* the VM's view: name, place, start/free/fdt by tops */
	const struct virtio_transport_ops *tops;
	struct kvm *kvm;
	struct virtio_dev *dev;
	char name[48];			/* "virtio-blk@0x2000000", "virtio-blk@00:02.0" */
	pthread_mutex_t lock;

	u32 status;
	u32 reset_from;			/* the last non-zero status a reset cleared */
	u64 drv_features;
	u32 config_gen;
	u16 config_vector;		/* PCI: MSI-X vector of config changes */
	struct virtio_queue_cfg q[VIRTIO_MAX_QUEUES];

	int kick_fd[VIRTIO_MAX_QUEUES];	/* the guest's notifications, by KVM ioeventfd */
	int call_fd[VIRTIO_MAX_QUEUES];	/* an offloaded queue's interrupt requests */
	bool offloaded[VIRTIO_MAX_QUEUES];	/* kicks go to another agent (vhost) */
	int stop_fd;
	int wake_fd;			/* makes the I/O thread rebuild its poll set */
	pthread_t thread;
	bool thread_started;

	/* "lkvm pause": the I/O thread parks between passes while pause_req is set. */
	pthread_cond_t pause_cond;
	bool pause_req;
	bool paused;

	u64 kicks;			/* queue notifications seen by the I/O thread */
	u64 q_kicks[VIRTIO_MAX_QUEUES];	/* the same, per queue */
	u64 slow_kicks;			/* of which came by a trap to lkvm, not an ioeventfd */
	struct log_ratelimit rl;	/* every guest-triggered message of the device; kept by reset */
};

/* Adds 1 to an eventfd. */
void virtio_efd_signal(int fd);

/*
 * Ties @dev (not yet owned: on failure the caller frees it through
 * virtio_core__destroy) to @c: the device's callbacks, per-queue kick
 * eventfds, stop and wake eventfds.  @where names the device's place in
 * messages.  No KVM access.  Returns 0 or -errno.
 */
int virtio_core__init(struct virtio_core *c, const struct virtio_transport_ops *tops,
		      struct kvm *kvm, struct virtio_dev *dev, const char *where,
		      struct lkvm_err *err);
/* Joins the I/O thread, frees the device, closes the eventfds (not @c itself). */
void virtio_core__destroy(struct virtio_core *c);
int virtio_core__start_thread(struct virtio_core *c, struct lkvm_err *err);

/* Register semantics shared by the transports; call with c->lock held. */
u64 virtio_core__offered(const struct virtio_core *c);
u32 virtio_core__read_features(const struct virtio_core *c, u32 sel);
void virtio_core__write_features(struct virtio_core *c, u32 sel, u32 val);
void virtio_core__write_status(struct virtio_core *c, u32 val);
/* The device status register: never 0 while the device's reset is pending. */
u32 virtio_core__read_status(const struct virtio_core *c);
void virtio_core__reset(struct virtio_core *c);
/* The queue @q's configuration, or NULL if the device has no such queue. */
struct virtio_queue_cfg *virtio_core__queue(struct virtio_core *c, u32 q);
bool virtio_core__queue_live(const struct virtio_core *c, unsigned int q);
/* Checks and sets a queue size; false (logged) if it is not a power of 2 <= queue_max. */
bool virtio_core__set_queue_num(struct virtio_core *c, struct virtio_queue_cfg *q, u32 val);
/* The driver enables (or disables) queue @idx: rings checked, NEEDS_RESET if bad. */
void virtio_core__queue_enable(struct virtio_core *c, unsigned int idx, bool on);
/* A notification that came by a trap rather than an ioeventfd. */
void virtio_core__slow_kick(struct virtio_core *c, u32 q);
/* Device config space access, bounds-checked (reads outside are zeros). */
void virtio_core__config_access(struct virtio_core *c, u64 off, u8 *data, u32 len,
				bool is_write);
/*
 * One pass of the I/O thread's work: waits up to @timeout_ms (0: not at
 * all, -1: forever) for a notification, a device event or the stop fd,
 * and handles what arrived.  Returns false once stopped.  Exposed for
 * unit tests, which drive a device without a thread.
 */
bool virtio_core__poll(struct virtio_core *c, int timeout_ms);

/*
 * "lkvm pause": asks the I/O thread to stop between two passes, once the
 * device has finished its work in flight (virtio_dev_ops.quiesce), and
 * waits up to @timeout_ms for it.  Queue notifications that come while it
 * is parked wait in their eventfds.  Returns 0 (at once without a thread),
 * or -ETIMEDOUT with the request withdrawn (the thread goes on).
 */
int virtio_core__pause(struct virtio_core *c, int timeout_ms);
/* Lets a paused I/O thread go again (no-op if not paused). */
void virtio_core__resume(struct virtio_core *c);

/*
 * "lkvm debug": the transport's view of the device as members of the open
 * JSON object @j: status, features, notification counters and, for each
 * queue, its size and the ring indices (ours and the guest's).  Takes c->lock.
 */
void virtio_core__debug(struct virtio_core *c, struct json *j);

/*
 * Snapshot (the VM paused, so the I/O thread is parked): the core's state
 * (status, features, each queue's configuration and ring indices), then
 * the transport's registers, then the device's own (virtio_dev_ops.save).
 * -ENOTSUP with @err when the transport or the device can't be saved.
 * Restore, on a new device made from the same config and not started:
 * the queues the driver had enabled are set up again on the same rings
 * (still in guest RAM) and go on from the saved indices; once started,
 * each is looked at once (a request the guest queued before the snapshot
 * is served).  -EINVAL with @err for a state that does not fit the device.
 */
int virtio_core__save(struct virtio_core *c, struct snap_writer *w, struct lkvm_err *err);
int virtio_core__restore(struct virtio_core *c, struct snap_cursor *cur, struct lkvm_err *err);

/* Any transport: frees device and transport (NULL: no-op). */
void virtio_transport__free(struct virtio_core *c);

/* ---- virtio-mmio transport (virtio/mmio.c) ------------------------------- */

/* virtio 1.2 §4.2.2: one device's register window. */
#define VIRTIO_MMIO_MAGIC		0x74726976	/* "virt" */
#define VIRTIO_MMIO_VERSION_MODERN	2		/* the Version register: no legacy */
#define VIRTIO_MMIO_VENDOR		0x4d564b4c	/* "LKVM" */
#define VIRTIO_MMIO_SIZE		0x200

struct virtio_mmio;

/*
 * Wraps @dev (ownership passes, even on failure) in a virtio-mmio register
 * window at guest-physical @base (VIRTIO_MMIO_SIZE bytes, claimed on
 * @kvm's MMIO bus) whose interrupt is line @irq.  Creates the eventfds but
 * touches no KVM state, so a transport works without KVM (unit tests):
 * until virtio_mmio__start(), QueueNotify writes only mark the queue's
 * eventfd and interrupts only mark the irq eventfd.  Returns 0 with *@out
 * set, or -errno.
 */
int virtio_mmio__new(struct kvm *kvm, struct virtio_dev *dev, u64 base, unsigned int irq,
		     struct virtio_mmio **out, struct lkvm_err *err);

/*
 * Registers the ioeventfds (QueueNotify, 4 bytes, datamatch on the queue
 * index: KVM api.rst KVM_IOEVENTFD) and the irqfd (KVM_IRQFD, GSI = the line)
 * with KVM and starts the I/O thread.  The interrupt controller must be
 * initialised (KVM refuses irqfds before).  Undo: virtio_mmio__free().
 */
int virtio_mmio__start(struct virtio_mmio *vm, struct lkvm_err *err);

/*
 * Stops and joins the I/O thread, then frees the device (draining its
 * in-flight work) and the transport.  KVM's ioeventfd/irqfd registrations
 * go with the VM fd; call this before guest RAM is unmapped.  NULL: no-op.
 */
void virtio_mmio__free(struct virtio_mmio *vm);

/* The register handler (an mmio_fn): offsets within the window. */
void virtio_mmio__access(void *opaque, u64 offset, u8 *data, u32 len, bool is_write);

/*
 * One pass of the I/O thread's work: waits up to @timeout_ms (0: not at
 * all, -1: forever) for a notification, a device event or the stop fd,
 * and handles what arrived.  Returns false once stopped.  Exposed for
 * unit tests, which drive the device without a thread.
 */
bool virtio_mmio__poll(struct virtio_mmio *vm, int timeout_ms);

/* The transport-neutral view of @vm, and its device. */
struct virtio_core *virtio_mmio__core(struct virtio_mmio *vm);
struct virtio_dev *virtio_mmio__dev(struct virtio_mmio *vm);

/* The irq eventfd: readable after an interrupt was raised (for tests). */
int virtio_mmio__irq_fd(const struct virtio_mmio *vm);

/* ---- virtio-pci transport (virtio/pci.c) -------------------------------- */

#define VIRTIO_PCI_VENDOR		0x1af4	/* virtio 1.2 §4.1.2 */
#define VIRTIO_PCI_BAR_SIZE		0x8000	/* BAR0: see the layout in virtio/pci.c */

struct pci_bus;
struct virtio_pci;

/*
 * Puts @dev (ownership passes, even on failure) in the next slot of @bus
 * with BAR0 at guest-physical @bar (VIRTIO_PCI_BAR_SIZE bytes, aligned to
 * it).  @msix: offer MSI-X (the VM can deliver MSIs); otherwise INTA, on
 * the line the bus swizzles for the slot (pci__intx_line).  The bus writes
 * the device-tree entry.  No KVM access until started.  Returns 0 with
 * *@out set, or -errno.
 */
int virtio_pci__new(struct kvm *kvm, struct pci_bus *bus, struct virtio_dev *dev, u32 bar,
		    bool msix, struct virtio_core **out, struct lkvm_err *err);

/* For unit tests: a BAR0 access, whether MSI-X is on, the INTx eventfd. */
void virtio_pci__bar_access(struct virtio_core *c, u64 off, u8 *data, u32 len, bool is_write);
bool virtio_pci__msix_enabled(struct virtio_core *c);
int virtio_pci__intx_fd(const struct virtio_core *c);

#endif /* LKVM_VIRTIO_TRANSPORT_H */
