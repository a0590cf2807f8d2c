/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Virtio devices and their transports (virtio 1.2).  A device (blk, rng,
 * console, net) describes itself with struct virtio_dev_ops and keeps its
 * state in a struct virtio_dev; a transport (virtio-mmio, virtio-pci) owns
 * the register file and interrupts, on top of the shared struct
 * virtio_core (virtio/core.c): status, feature negotiation, the
 * virtqueues' configuration, notifications, and the I/O thread that calls
 * the device.
 *
 * Threads: the transport serialises everything on one mutex per device.
 * vCPU threads take it for register accesses; the device's I/O thread
 * takes it while it runs the device's callbacks.  So a device callback
 * never runs concurrently with another callback of the same device, or
 * with a register access (a reset can drain in-flight work safely).
 * vCPU threads never run device work: queue notifications arrive through
 * KVM ioeventfds and interrupts leave through KVM irqfds.
 */
#ifndef LKVM_VIRTIO_H
#define LKVM_VIRTIO_H

#include <pthread.h>

#include "lkvm/disk.h"
#include "lkvm/log.h"
#include "lkvm/net.h"
#include "lkvm/virtqueue.h"

struct kvm;

/* virtio 1.2 §2.1: device status bits. */
#define VIRTIO_STATUS_ACKNOWLEDGE	1
#define VIRTIO_STATUS_DRIVER		2
#define VIRTIO_STATUS_DRIVER_OK		4
#define VIRTIO_STATUS_FEATURES_OK	8
#define VIRTIO_STATUS_NEEDS_RESET	64
#define VIRTIO_STATUS_FAILED		128

/* virtio 1.2 §6: reserved (transport) feature bits. */
#define VIRTIO_F_INDIRECT_DESC		28
#define VIRTIO_F_EVENT_IDX		29
#define VIRTIO_F_VERSION_1		32

/* virtio 1.2 §5: device IDs. */
#define VIRTIO_ID_NET			1
#define VIRTIO_ID_BLOCK			2
#define VIRTIO_ID_CONSOLE		3
#define VIRTIO_ID_ENTROPY		4

#define VIRTIO_MAX_QUEUES		16

struct virtio_dev;

/*
 * What a device is.  Every callback runs with the device's lock held
 * (see the top of this file); queue_notify and event on the I/O thread,
 * config access and reset on a vCPU thread.
 */
struct virtio_dev_ops {
	const char *name;		/* "virtio-blk": for messages */
	u32 device_id;			/* VIRTIO_ID_* */
	unsigned int nr_queues;		/* 1..VIRTIO_MAX_QUEUES, unless the instance says */
	unsigned int queue_max;		/* QueueNumMax: a power of 2 <= 32768 */
	u32 config_size;		/* bytes of device config space */

	/* Reads [@off, @off + @len) of config space; the transport checked the bounds. */
	void (*config_read)(struct virtio_dev *d, u32 off, u8 *buf, u32 len);
	/* Writes to config space (NULL: read-only, writes ignored). */
	void (*config_write)(struct virtio_dev *d, u32 off, const u8 *buf, u32 len);
	/* The driver notified queue @q (DRIVER_OK set, queue ready, not failed). */
	void (*queue_notify)(struct virtio_dev *d, unsigned int q);
	/* An extra fd the I/O thread polls for the device (-1: none), and its handler. */
	int (*event_fd)(struct virtio_dev *d);
	void (*event)(struct virtio_dev *d);
	/*
	 * The driver set DRIVER_OK (NULL: nothing to do).  A device that hands
	 * its queues to another agent (vhost) does it here, with
	 * virtio_dev.offload_queue().  Runs on a vCPU thread.
	 */
	void (*driver_ok)(struct virtio_dev *d);
	/* Device reset (virtio 1.2 §2.4): finish or drop in-flight work, no pushes after. */
	void (*reset)(struct virtio_dev *d);
	/* Frees the device (after its I/O thread is gone). */
	void (*free)(struct virtio_dev *d);
};

/* A device instance.  Devices embed it and find themselves with container_of. */
struct virtio_dev {
	const struct virtio_dev_ops *ops;
	struct kvm *kvm;
	u64 features;			/* the device's own offered bits (the transport adds its own) */
	u64 acked;			/* what the driver accepted: valid once FEATURES_OK */
	unsigned int nr_queues;		/* this instance's queues (0 at creation: ops->nr_queues) */
	struct virtqueue vq[VIRTIO_MAX_QUEUES];	/* configured by the transport */

	/* Set by the transport. */
	void *transport;
	/* Raises the used-buffer interrupt for queue @q (call after virtqueue__should_notify()). */
	void (*signal_used)(struct virtio_dev *d, unsigned int q);
	/*
	 * The driver broke a rule (a bad ring): sets DEVICE_NEEDS_RESET, sends a
	 * config-change interrupt and logs @why once per reset.  The device
	 * stops using its queues until the driver resets it.
	 */
	void (*fail)(struct virtio_dev *d, const char *why);
	/*
	 * Hands queue @q to another agent (vhost): *@kick becomes the eventfd
	 * that the guest's notifications of @q signal (the transport stops
	 * watching it), and *@call an eventfd whose every write raises @q's
	 * used-buffer interrupt.  Both stay the transport's (don't close them)
	 * and are valid until the device is reset, after which the transport
	 * watches the queue again.  Call with the device's lock held (from
	 * driver_ok, say) on a ready queue.  Returns 0 or -errno.
	 */
	int (*offload_queue)(struct virtio_dev *d, unsigned int q, int *kick, int *call);
};

#define virtio_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Returns a queue's pending completions to the driver if it wants an interrupt. */
void virtio_dev__notify_if_needed(struct virtio_dev *d, unsigned int q);

/* ---- virtio-blk (virtio/blk.c) ------------------------------------------ */

/*
 * A virtio-blk device (virtio 1.2 §5.2) on the disk @o, the @index-th
 * (its serial is "lkvm-<index>"), with @nr_queues request queues (one per
 * vCPU; VIRTIO_BLK_F_MQ when more than one, at most VIRTIO_MAX_QUEUES).
 * Opens the disk; errors name the path.
 * Returns 0 with *@out set (free with ops->free, normally through the
 * transport), or -errno.
 */
int virtio_blk__new(struct kvm *kvm, const struct disk_opts *o, unsigned int index,
		    unsigned int nr_queues, struct virtio_dev **out, struct lkvm_err *err);

/* ---- virtio-rng (virtio/rng.c) ------------------------------------------ */

/*
 * An entropy device (virtio 1.2 §5.4) fed by the host's getrandom(2).
 * Returns 0 with *@out set (free with ops->free, normally through the
 * transport), or -ENOMEM.
 */
int virtio_rng__new(struct kvm *kvm, struct virtio_dev **out, struct lkvm_err *err);

/* ---- virtio-console (virtio/console.c) ---------------------------------- */

/*
 * A single-port console (virtio 1.2 §5.3, no MULTIPORT) whose output goes
 * to @out_fd (not owned) and whose input is what virtio_console__input()
 * queues.  Returns 0 with *@out set (free with ops->free, normally through
 * the transport), or -errno.
 */
int virtio_console__new(struct kvm *kvm, int out_fd, struct virtio_dev **out,
			struct lkvm_err *err);

/*
 * Queues host input for the guest (any thread; the device's I/O thread
 * delivers it when the driver has receive buffers).  Returns how many of
 * @len bytes fit: at most virtio_console__rx_space().
 */
size_t virtio_console__input(struct virtio_dev *d, const u8 *buf, size_t len);

/* Bytes virtio_console__input() would accept now. */
size_t virtio_console__rx_space(struct virtio_dev *d);

/* ---- virtio-net (virtio/net.c) ----------------------------------------- */

/* virtio 1.2 §5.1.3: the feature bits lkvm's virtio-net knows. */
#define VIRTIO_NET_F_CSUM		0	/* device takes partially checksummed frames */
#define VIRTIO_NET_F_GUEST_CSUM		1	/* driver takes partially checksummed frames */
#define VIRTIO_NET_F_MAC		5
#define VIRTIO_NET_F_GUEST_TSO4		7
#define VIRTIO_NET_F_GUEST_TSO6		8
#define VIRTIO_NET_F_GUEST_ECN		9
#define VIRTIO_NET_F_GUEST_UFO		10
#define VIRTIO_NET_F_HOST_TSO4		11
#define VIRTIO_NET_F_HOST_TSO6		12
#define VIRTIO_NET_F_HOST_ECN		13
#define VIRTIO_NET_F_HOST_UFO		14
#define VIRTIO_NET_F_MRG_RXBUF		15
#define VIRTIO_NET_F_STATUS		16
#define VIRTIO_NET_F_CTRL_VQ		17
#define VIRTIO_NET_F_MQ			22

/* virtio 1.2 §5.1.6: struct virtio_net_hdr (VERSION_1: always with num_buffers). */
#define VIRTIO_NET_HDR_LEN		12
#define VIRTIO_NET_HDR_F_NEEDS_CSUM	1
#define VIRTIO_NET_HDR_F_DATA_VALID	2
#define VIRTIO_NET_HDR_GSO_NONE		0
#define VIRTIO_NET_HDR_GSO_TCPV4	1
#define VIRTIO_NET_HDR_GSO_UDP		3
#define VIRTIO_NET_HDR_GSO_TCPV6	4
#define VIRTIO_NET_HDR_GSO_ECN		0x80

/* virtio 1.2 §5.1.4: config space status. */
#define VIRTIO_NET_S_LINK_UP		1

#define VIRTIO_NET_RXQ			0	/* receiveq1 */
#define VIRTIO_NET_TXQ			1	/* transmitq1 */

/*
 * A virtio-net device (virtio 1.2 §5.1: one queue pair, no control
 * queue) with guest MAC @o->guest_mac on the host side @be, whose fds it
 * takes (@be is left holding nothing, even on failure).  @be->tap_fd is
 * any non-blocking fd that reads and writes one frame, with its 12-byte
 * header, per call (a tap; unit tests use a SOCK_SEQPACKET socket); the
 * guest offloads are offered only if it takes TUNSETOFFLOAD.  With
 * @be->vhost open, the rings go to vhost-net at DRIVER_OK.  Logs the tap,
 * the MAC and the datapath at info level.  Returns 0 with *@out set (free
 * with ops->free, normally through the transport), or -errno.
 */
int virtio_net__new(struct kvm *kvm, const struct net_opts *o, struct net_backend *be,
		    struct virtio_dev **out, struct lkvm_err *err);

/* Frame counters of a virtio-net device (for tests and the exit log). */
struct virtio_net_stats {
	u64 tx_frames, tx_dropped;
	u64 rx_frames, rx_dropped;
};
void virtio_net__stats(struct virtio_dev *d, struct virtio_net_stats *st);

/* ---- the transports' shared core (virtio/core.c) ------------------------ */

#define VIRTIO_NO_VECTOR		0xffff	/* virtio 1.2 §4.1.4.3: no MSI-X vector */
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
};

struct virtio_queue_cfg {
	u32 num;
	bool ready;
	u64 desc, driver, device;
	u16 vector;			/* PCI: MSI-X vector (VIRTIO_NO_VECTOR: none) */
};

/* One device's transport state; transports embed it.  Fields under lock. */
struct virtio_core {
	const struct virtio_transport_ops *tops;
	struct kvm *kvm;
	struct virtio_dev *dev;
	char name[48];			/* "virtio-blk@0x2000000", "virtio-blk@00:02.0" */
	pthread_mutex_t lock;

	u32 status;
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

	u64 kicks;			/* queue notifications seen by the I/O thread */
	u64 slow_kicks;			/* of which came by a trap to lkvm, not an ioeventfd */
	bool fail_logged;		/* NEEDS_RESET logged since the last reset */
	struct log_ratelimit rl;
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

/* Any transport: start (KVM registrations, I/O thread) and free (NULL: no-op). */
int virtio_transport__start(struct virtio_core *c, struct lkvm_err *err);
void virtio_transport__free(struct virtio_core *c);

/* ---- virtio-mmio transport (virtio/mmio.c) ------------------------------- */

/* virtio 1.2 §4.2.2: one device's register window. */
#define VIRTIO_MMIO_MAGIC		0x74726976	/* "virt" */
#define VIRTIO_MMIO_VERSION		2
#define VIRTIO_MMIO_VENDOR		0x4d564b4c	/* "LKVM" */
#define VIRTIO_MMIO_CONFIG		0x100
#define VIRTIO_MMIO_SIZE		0x200

#define VIRTIO_MMIO_MAGIC_VALUE		0x000
#define VIRTIO_MMIO_VERSION_REG		0x004
#define VIRTIO_MMIO_DEVICE_ID		0x008
#define VIRTIO_MMIO_VENDOR_ID		0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL	0x014
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL	0x024
#define VIRTIO_MMIO_QUEUE_SEL		0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_QUEUE_NUM		0x038
#define VIRTIO_MMIO_QUEUE_READY		0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_STATUS		0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW	0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH	0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW	0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH	0x0a4
#define VIRTIO_MMIO_SHM_SEL		0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW		0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH	0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW	0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH	0x0bc
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc

#define VIRTIO_MMIO_INT_VRING		1	/* InterruptStatus: used buffer */
#define VIRTIO_MMIO_INT_CONFIG		2	/* InterruptStatus: config change */

struct virtio_mmio;

/*
 * Wraps @dev (ownership passes, even on failure) in a virtio-mmio register
 * window at guest-physical @base (VIRTIO_MMIO_SIZE bytes, claimed on
 * @kvm's MMIO bus) whose interrupt is SPI @spi.  Creates the eventfds but
 * touches no KVM state, so a transport works without KVM (unit tests):
 * until virtio_mmio__start(), QueueNotify writes only mark the queue's
 * eventfd and interrupts only mark the irq eventfd.  Returns 0 with *@out
 * set, or -errno.
 */
int virtio_mmio__new(struct kvm *kvm, struct virtio_dev *dev, u64 base, unsigned int spi,
		     struct virtio_mmio **out, struct lkvm_err *err);

/*
 * Registers the ioeventfds (QueueNotify, 4 bytes, datamatch on the queue
 * index: KVM api.rst KVM_IOEVENTFD) and the irqfd (KVM_IRQFD, GSI = @spi)
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

/* The transport-neutral view of @vm, and back (NULL if @c is not virtio-mmio). */
struct virtio_core *virtio_mmio__core(struct virtio_mmio *vm);
struct virtio_mmio *virtio_mmio__of(struct virtio_core *c);

u64 virtio_mmio__base(const struct virtio_mmio *vm);
unsigned int virtio_mmio__spi(const struct virtio_mmio *vm);
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
 * it).  @msix: offer MSI-X (the VM has a GICv3 ITS); otherwise INTA, on
 * SPI @intx_spi_base + slot % 4.  No KVM access until started.  Returns 0
 * with *@out set, or -errno.
 */
int virtio_pci__new(struct kvm *kvm, struct pci_bus *bus, struct virtio_dev *dev, u32 bar,
		    bool msix, unsigned int intx_spi_base, struct virtio_core **out,
		    struct lkvm_err *err);

/* @c as virtio-pci, or NULL if it is another transport. */
struct virtio_pci *virtio_pci__of(struct virtio_core *c);
unsigned int virtio_pci__slot(const struct virtio_pci *vp);
unsigned int virtio_pci__intx_spi(const struct virtio_pci *vp);

/* For unit tests: a BAR0 access, whether MSI-X is on, the INTx eventfd. */
void virtio_pci__bar_access(struct virtio_core *c, u64 off, u8 *data, u32 len, bool is_write);
bool virtio_pci__msix_enabled(struct virtio_core *c);
int virtio_pci__intx_fd(const struct virtio_core *c);

#endif /* LKVM_VIRTIO_H */
