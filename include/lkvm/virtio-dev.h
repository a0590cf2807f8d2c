/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The device side of virtio (virtio 1.2): what a device (blk, rng,
 * console, net) implements and may call.  A device describes itself with
 * struct virtio_dev_ops, keeps its state in a struct virtio_dev, and is
 * put on the VM's transport by virtio__attach(); it never knows which
 * transport that is (lkvm/virtio-transport.h is the other side).  The
 * spec's constants and layouts come from Linux's UAPI headers, vendored
 * in include/uapi/ by scripts/update-uapi-headers.
 *
 * Threads: the transport serialises everything on one mutex per device.
 * vCPU threads take it for register accesses; the device's I/O thread
 * takes it while it runs the device's callbacks.  So a device callback
 * never runs concurrently with another callback of the same device, or
 * with a register access (a reset can drain in-flight work safely).
 * vCPU threads never run device work: queue notifications arrive through
 * KVM ioeventfds and interrupts leave through KVM irqfds.
 */
#ifndef LKVM_VIRTIO_DEV_H
#define LKVM_VIRTIO_DEV_H

#include <pthread.h>

#include <linux/virtio_balloon.h>	/* §5.5 VIRTIO_BALLOON_S_* statistics tags */
#include <linux/virtio_config.h>	/* §2.1 status bits, §6 reserved feature bits */
#include <linux/virtio_ids.h>		/* §5 device IDs */
#include <linux/virtio_net.h>		/* §5.1 feature bits, header, status */

#include "lkvm/config.h"
#include "lkvm/device.h"
#include "lkvm/disk.h"
#include "lkvm/log.h"
#include "lkvm/net.h"
#include "lkvm/virtqueue.h"

struct kvm;
struct vhost_dev;

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
	/*
	 * The I/O thread is about to pause ("lkvm pause"; NULL: nothing is
	 * ever in flight between two passes): complete the work in flight to
	 * the driver, as its completions would have.  On the I/O thread.
	 */
	void (*quiesce)(struct virtio_dev *d);
	/* Frees the device (after its I/O thread is gone). */
	void (*free)(struct virtio_dev *d);
	/*
	 * Snapshot (docs/snapshot.md; NULL: the device cannot be saved): the
	 * device's own state beyond what the transport saves (status,
	 * features, queues and their ring indices), written after the I/O
	 * thread paused (quiesce done).  @save may also make what the guest
	 * wrote durable (virtio-blk: the disk flushed).  @restore reads it
	 * back on a new, not started device.  0 or -errno with @err.
	 */
	int (*save)(struct virtio_dev *d, struct snap_writer *w, struct lkvm_err *err);
	int (*restore)(struct virtio_dev *d, struct snap_cursor *c, struct lkvm_err *err);
};

/* A device instance.  Devices embed it and find themselves with container_of. */
struct virtio_dev {
	const struct virtio_dev_ops *ops;
	struct kvm *kvm;
	u64 features;			/* the device's own offered bits (the transport adds its own) */
	u64 acked;			/* what the driver accepted: valid once FEATURES_OK */
	unsigned int nr_queues;		/* this instance's queues (0 at creation: ops->nr_queues) */
	unsigned int queue_max;		/* this instance's QueueNumMax (0 at creation: ops->queue_max) */
	struct virtqueue vq[VIRTIO_MAX_QUEUES];	/* configured by the transport */
	/*
	 * Set by the device's reset when it could not finish its in-flight
	 * work in time (a hung backing store), cleared once it has, both
	 * under the device lock.  Until then the reset is not complete: the
	 * device leaves its queues alone, and a transport should not read the
	 * device status as 0 (virtio 1.2 §2.4.1; a PCI driver waits for 0,
	 * §4.1.4.3.2).
	 */
	bool reset_pending;

	/* Set by the transport. */
	void *transport;
	/* Raises the used-buffer interrupt for queue @q (call after virtqueue__should_notify()). */
	void (*signal_used)(struct virtio_dev *d, unsigned int q);
	/*
	 * The driver broke a rule (a bad ring): sets DEVICE_NEEDS_RESET, sends a
	 * config-change interrupt and logs @why once per reset, rate-limited
	 * per device across resets.  The device stops using its queues until
	 * the driver resets it.
	 */
	void (*fail)(struct virtio_dev *d, const char *why);
	/*
	 * Whether the device failed (NEEDS_RESET) since the last reset:
	 * virtio_dev__failed().  A failed device gets no queue notifications,
	 * and must not keep a readable fd in its event_fd(), or the I/O thread
	 * spins on it.
	 */
	bool failed;
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
	/*
	 * The device changed its config space (virtio 1.2 §2.5.1): the
	 * configuration generation moves and, once the driver is up
	 * (DRIVER_OK), the config-change interrupt is raised.  Call with the
	 * device's lock held (from a device callback: another thread's news
	 * comes through the device's event fd).
	 */
	void (*config_changed)(struct virtio_dev *d);
};

#define virtio_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Whether @d failed and waits for a reset (any thread: event_fd() runs without the lock). */
static inline bool virtio_dev__failed(const struct virtio_dev *d)
{
	return __atomic_load_n(&d->failed, __ATOMIC_ACQUIRE);
}

/* Returns a queue's pending completions to the driver if it wants an interrupt. */
void virtio_dev__notify_if_needed(struct virtio_dev *d, unsigned int q);

/*
 * A device's queue loop takes its chains with this: the next available
 * chain of @vq into @chain.  Returns 1 with one; 0 when the ring is dry,
 * with avail_event re-armed (EVENT_IDX) and the ring looked at once more
 * after that (virtio 1.2 §2.7.10), every time it runs dry: a chain found
 * after a re-arm may be one whose driver read the old avail_event and
 * did not kick, so avail_event lags it until it is re-armed again; -1
 * when the ring is broken, after @d->fail().
 */
int virtio_dev__pop(struct virtio_dev *d, struct virtqueue *vq, struct vq_chain *chain);

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

/*
 * What a virtio-blk device did since it was made: the device's side of
 * each request (notifications, chains, interrupts) and its disk's
 * (disk_stats).  Logged at info when the device goes; for tests and the
 * benchmark.
 */
struct virtio_blk_stats {
	u64 kicks;		/* queue notifications served */
	u64 chains;		/* descriptor chains popped */
	u64 batches;		/* engine batches: passes that gave the disk at least one request */
	u64 irqs;		/* used-buffer interrupts raised */
	struct disk_stats disk;
};

/* Copies @d's counters (@d a virtio-blk device; with its lock held, or once idle). */
void virtio_blk__stats(struct virtio_dev *d, struct virtio_blk_stats *st);

/* ---- virtio-rng (virtio/rng.c) ------------------------------------------ */

/*
 * An entropy device (virtio 1.2 §5.4) fed by the host's getrandom(2).
 * Returns 0 with *@out set (free with ops->free, normally through the
 * transport), or -ENOMEM.
 */
int virtio_rng__new(struct kvm *kvm, struct virtio_dev **out, struct lkvm_err *err);

/* ---- virtio-console (virtio/console.c) ---------------------------------- */

struct outbuf;

/*
 * A single-port console (virtio 1.2 §5.3, no MULTIPORT) whose output is
 * queued on @ob (not owned; NULL: discarded) and whose input is what
 * virtio_console__input() queues.  Returns 0 with *@out set (free with
 * ops->free, normally through the transport), or -errno.
 */
int virtio_console__new(struct kvm *kvm, struct outbuf *ob, struct virtio_dev **out,
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

/* virtio 1.2 §5.1.6: VERSION_1 headers always carry num_buffers. */
#define VIRTIO_NET_HDR_LEN		sizeof(struct virtio_net_hdr_v1)

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

/* ---- virtio-9p (virtio/9p.c) ------------------------------------------ */

/*
 * A virtio-9p device sharing @sh->dir (opened now: an error names it) as
 * mount tag @sh->tag, read-only with @sh->ro; 9P2000.L served by
 * virtio/9p-fs.c on the device's I/O thread, confined to the directory.
 * Returns 0 with *@out set (free with ops->free, normally through the
 * transport), or -errno.
 */
int virtio_9p__new(struct kvm *kvm, const struct p9_share *sh, struct virtio_dev **out,
		   struct lkvm_err *err);

/* ---- virtio-balloon (virtio/balloon.c) --------------------------------- */

/* The balloon counts in 4 KiB pages (VIRTIO_BALLOON_PFN_SHIFT), whatever the guest's page size. */
#define VIRTIO_BALLOON_PAGES_PER_MIB	256

/* What the device did, since it was made. */
struct virtio_balloon_counts {
	u64 inflated;		/* page frames the driver put in the balloon (given back to the host) */
	u64 deflated;		/* page frames it took out again */
	u64 bad_pfns;		/* frames outside guest RAM or malformed: ignored */
	u64 reports;		/* free page reports (VIRTIO_BALLOON_F_REPORTING) */
	u64 reported_bytes;	/* guest memory they gave back to the host */
};

/* A snapshot for "lkvm stat --memory" (virtio_balloon__info). */
struct virtio_balloon_info {
	u32 target_pages;	/* num_pages: what the host asks the balloon to hold */
	u32 actual_pages;	/* what the driver says it holds */
	struct virtio_balloon_counts counts;
	bool stats_fresh;	/* the driver sent new statistics during the call */
	u64 stats_age_ms;	/* age of stats[] (0 with stats_valid 0: none ever) */
	u32 stats_valid;	/* bit t: stats[t] was sent (VIRTIO_BALLOON_S_*) */
	u64 stats[VIRTIO_BALLOON_S_NR];	/* bytes or counts, as virtio 1.2 §5.5.6.3 says */
};

/*
 * The VM's balloon (virtio 1.2 §5.5: inflate, deflate, memory statistics,
 * free page reporting unless !@report), empty (target 0) at start; it
 * becomes kvm->balloon.  Returns 0 with *@out set (free with ops->free,
 * normally through the transport), or -errno.
 */
int virtio_balloon__new(struct kvm *kvm, bool report, struct virtio_dev **out,
			struct lkvm_err *err);

/*
 * "lkvm balloon --inflate/--deflate": moves the balloon's target by
 * @delta_pages (negative: deflate), clamped to [0, guest RAM], and tells
 * the driver (config-change interrupt); the guest then inflates or
 * deflates at its pace.  The new target in *@target (may be NULL).  Any
 * thread, not concurrently with devices__free().  Returns 0, or -ENODEV
 * when the VM has no balloon (no --balloon).
 */
int virtio_balloon__adjust(struct kvm *kvm, s64 delta_pages, u32 *target);

/*
 * "lkvm stat --memory": the balloon's state and the guest's memory
 * statistics into *@out.  With @timeout_ms > 0 and a driver that sends
 * statistics, asks it for fresh ones and waits up to @timeout_ms for them
 * (out->stats_fresh says whether they came; otherwise the last ones,
 * out->stats_age_ms old).  Any thread, not concurrently with
 * devices__free().  Returns 0, or -ENODEV without a balloon.
 */
int virtio_balloon__info(struct kvm *kvm, int timeout_ms, struct virtio_balloon_info *out);

/* ---- virtio-vsock (virtio/vsock.c) ------------------------------------- */

/*
 * A virtio-vsock device (virtio 1.2 §5.10) with guest CID @cid, on the
 * open vhost-vsock @vhost (it takes the fd: @vhost holds nothing after,
 * even on failure).  Claims the CID now (VHOST_VSOCK_SET_GUEST_CID): a CID
 * another VM holds is -EADDRINUSE with @err saying so.  rx and tx go to
 * vhost at DRIVER_OK; the event queue stays with lkvm.  Returns 0 with
 * *@out set (free with ops->free, normally through the transport), or
 * -errno.
 */
int virtio_vsock__new(struct kvm *kvm, u64 cid, struct vhost_dev *vhost, struct virtio_dev **out,
		      struct lkvm_err *err);

/*
 * Puts @dev (ownership passes, even on failure) on the VM's configured
 * transport (--virtio-transport) at the transport's next place: a
 * virtio-mmio window with its own interrupt line, or the next slot of the
 * PCI bus (made on first use) with its BAR in the next slot of the PCI
 * window, MSI-X when the VM can deliver MSIs.  The device joins the VM's
 * device list.  Returns 0 or -errno with @err.
 */
int virtio__attach(struct kvm *kvm, struct virtio_dev *dev, struct lkvm_err *err);

#endif /* LKVM_VIRTIO_DEV_H */
