/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The device side of a split virtqueue (virtio 1.2 §2.7): taking descriptor
 * chains the driver made available, returning them through the used ring,
 * and deciding when the driver wants an interrupt.  Transport-agnostic: the
 * transport (virtio-mmio) hands over the ring addresses and the negotiated
 * features; devices (blk, net, console...) pop chains and push results.
 *
 * Everything in the rings is written by the guest and treated as hostile.
 * A ring that breaks the rules marks the queue broken: every later pop
 * fails with -EIO, and the caller must set DEVICE_NEEDS_RESET (virtio 1.2
 * §2.1.2) and stop using the queue until the driver resets the device.
 *
 * One queue is used by one thread at a time; nothing here locks.
 */
#ifndef LKVM_VIRTQUEUE_H
#define LKVM_VIRTQUEUE_H

#include <stdbool.h>
#include <sys/uio.h>

#include <linux/virtio_ring.h>	/* VRING_DESC_F_*, VRING_{AVAIL,USED}_F_*, VIRTIO_RING_F_* */

#include "lkvm/util.h"

struct kvm;

/* virtio 1.2 §2.7: the Queue Size is a power of 2, at most 32768. */
#define VIRTQ_MAX_SIZE			32768

/*
 * At most this many host buffers per chain; a chain that needs more is a
 * ring error (-EIO), not truncated, so a device never acts on part of a
 * request.  1024 is Linux's UIO_MAXIOV, so a chain can always go to one
 * readv()/writev().  Zero-length descriptors take no slot; a buffer that
 * spans two adjacent RAM regions takes one per region.
 */
#define VQ_MAX_IOV			1024

/*
 * One descriptor chain, as host buffers: iov[0 .. nr_out) are
 * device-readable, iov[nr_out .. nr_out + nr_in) device-writable (virtio
 * 1.2 §2.7.4.2 guarantees that order, and virtqueue__pop() enforces it).
 * The pointers stay valid while the VM's RAM is mapped; the guest can still
 * write to them concurrently, so a device reads each header field once.
 * About 16 KiB: allocate it, don't put it on a small stack.
 */
struct vq_chain {
	u16 head;		/* descriptor index to give back to virtqueue__push() */
	unsigned int nr_out;
	unsigned int nr_in;
	u32 out_len;		/* sum of the readable lengths */
	u32 in_len;		/* sum of the writable lengths: the most push may report */
	struct iovec iov[VQ_MAX_IOV];
};

struct virtqueue {
	struct kvm *kvm;
	unsigned int num;	/* Queue Size; 0 until virtqueue__init() succeeds */
	u64 desc_gpa;
	u64 avail_gpa;
	u64 used_gpa;
	bool event_idx;		/* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;		/* VIRTIO_RING_F_INDIRECT_DESC negotiated */

	/* Host views of the three rings, each checked whole by gmem__ptr() at init. */
	u8 *desc;
	u8 *avail;
	u8 *used;

	u16 last_avail_idx;	/* next avail->ring slot to consume */
	u16 avail_idx;		/* the last avail->idx read (validated) */
	u16 used_idx;		/* our used->idx: the next used->ring slot */
	u16 signalled_used;	/* used_idx when should_notify last decided */

	/*
	 * Set on the first ring error, with a static string saying which rule
	 * was broken.  Library code never prints: the caller logs broken_why
	 * once (using and setting broken_logged) and sets NEEDS_RESET.
	 */
	bool broken;
	bool broken_logged;
	const char *broken_why;
};

/*
 * Configures @vq for a queue the driver has set up (QueueReady written):
 * @num descriptors, rings at guest-physical @desc, @avail and @used.  The
 * indices start at 0 (virtio 1.2 §2.7.6, §2.7.8).  @num is taken wide so
 * that a transport can pass a 32-bit register without truncating it.
 *
 * Returns 0, or -EINVAL if @num is not a power of 2 in 1..32768, a ring is
 * misaligned (desc 16, avail 2, used 4: virtio 1.2 §2.7), or a ring does
 * not lie wholly inside one guest RAM region (its size per §2.7, counting
 * used_event/avail_event only when @event_idx).  On failure @vq is left
 * unconfigured (num 0: pop returns -EINVAL, push and notify do nothing).
 */
int virtqueue__init(struct virtqueue *vq, struct kvm *kvm, unsigned int num, u64 desc,
		    u64 avail, u64 used, bool event_idx, bool indirect);

/*
 * Takes the next available chain and resolves it into host buffers in
 * @chain (caller-owned, any previous content overwritten).
 *
 * Returns 1 with @chain filled in, 0 if nothing is available, -EINVAL if
 * @vq is not configured, or -EIO if the ring breaks a rule of virtio 1.2
 * §2.7 (then and ever after, until virtqueue__init() again: vq->broken,
 * vq->broken_why).  On -EIO, @chain is garbage and nothing was consumed.
 * With event_idx, call virtqueue__set_avail_event() and pop once more
 * before waiting for the next notification.
 */
int virtqueue__pop(struct virtqueue *vq, struct vq_chain *chain);

/*
 * Returns chain @head (from virtqueue__pop()) to the driver, having written
 * @written bytes to its device-writable buffers (at most chain->in_len:
 * virtio 1.2 §2.7.8.2).  The used element is visible to the driver before
 * the new used->idx.  Each popped chain is pushed exactly once; call
 * virtqueue__should_notify() after a batch.
 */
void virtqueue__push(struct virtqueue *vq, u16 head, u32 written);

/*
 * Whether the driver wants an interrupt for what was pushed since the last
 * call (virtio 1.2 §2.7.7, §2.7.10): with event_idx, if used_event falls in
 * that batch; without, unless the driver set VRING_AVAIL_F_NO_INTERRUPT.
 * Nothing pushed since the last call: false.  Call it at least once per
 * 65535 pushes, since the batch is measured in u16 indices.
 */
bool virtqueue__should_notify(struct virtqueue *vq);

/*
 * With event_idx, asks the driver to notify once it makes available the
 * entry after those consumed so far (avail_event = last_avail_idx, virtio
 * 1.2 §2.7.10), with a full barrier after it, so that a pop right after
 * this sees any entry the driver added without notifying.  Without
 * event_idx it does nothing.
 */
void virtqueue__set_avail_event(struct virtqueue *vq);

/*
 * vring_need_event semantics (virtio 1.2 §2.7.7.2): true if @event is one
 * of the indices in [@old_idx, @new_idx), i.e. the producer moved its index
 * from @old_idx to @new_idx past the point the consumer asked about.  All
 * arithmetic is modulo 2^16, so it holds across wrap-around.
 */
static inline bool virtqueue__need_event(u16 event, u16 new_idx, u16 old_idx)
{
	return (u16)(new_idx - event - 1) < (u16)(new_idx - old_idx);
}

#endif /* LKVM_VIRTQUEUE_H */
