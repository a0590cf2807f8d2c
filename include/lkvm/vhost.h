/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A vhost client: the generic half of handing a virtio device's queues to
 * a kernel worker that serves them straight from guest RAM (Linux
 * drivers/vhost; the ioctls are in include/uapi/linux/vhost.h).  Any
 * /dev/vhost-* node works the same way up to its backend: vhost-net
 * today, vhost-vsock next.  What is the device's own stays in the device,
 * made through vhost__ioctl(): VHOST_NET_SET_BACKEND (virtio/net.c),
 * VHOST_VSOCK_SET_GUEST_CID and VHOST_VSOCK_SET_RUNNING.
 *
 * Lifecycle, and who calls what:
 *
 *   vhost__init()    nothing open (vhost__close() is then a no-op)
 *   vhost__open()    the node, VHOST_SET_OWNER, VHOST_GET_FEATURES; may
 *                    run before the VM exists (net/tap.c does)  (undo: vhost__close)
 *   vhost__start()   at DRIVER_OK, once RAM and the rings exist:
 *                    VHOST_SET_FEATURES, VHOST_SET_MEM_TABLE, each queue's
 *                    ring, then the transport's kick and call eventfds
 *                                                                (undo: vhost__stop)
 *   device           attaches its backend (VHOST_NET_SET_BACKEND fd)
 *   ...              vhost serves the queues; lkvm does not touch them
 *   device           at reset: detaches its backend (fd -1)
 *   vhost__stop()    each queue: VHOST_GET_VRING_BASE, eventfds detached
 *   vhost__close()
 *
 * vhost__start() and vhost__stop() may repeat on one open vhost (each
 * driver reset and DRIVER_OK).  Library code: errors are -errno with a
 * message in a struct lkvm_err naming the ioctl and the queue; nothing is
 * printed here.  Calls on one struct vhost_dev are serialised by the
 * caller (a device makes them under its lock).
 */
#ifndef LKVM_VHOST_H
#define LKVM_VHOST_H

#include <stdbool.h>

#include "lkvm/util.h"

struct kvm;
struct virtio_dev;
struct vhost_memory;

/*
 * One open vhost instance.  Plain data: it may be moved by assignment
 * (a device takes its backend's this way), after which the source must
 * be vhost__init()ed again so only one copy owns the fd.
 */
struct vhost_dev {
	int fd;			/* -1: not open */
	u64 features;		/* VHOST_GET_FEATURES, once open */
	const char *node;	/* "/dev/vhost-net": for messages (NULL until opened) */
	/*
	 * For unit tests: when set, every ioctl on @fd goes here instead
	 * (returns 0 or -errno), so the hand-over can be driven without a
	 * kernel vhost.  NULL in lkvm.
	 */
	int (*fake_ioctl)(struct vhost_dev *v, unsigned long req, void *arg);
};

/* Sets @v to "nothing open". */
void vhost__init(struct vhost_dev *v);

/* Whether @v holds an open vhost instance. */
static inline bool vhost__is_open(const struct vhost_dev *v)
{
	return v->fd >= 0;
}

/*
 * Opens the vhost node @node (say "/dev/vhost-net"; the string must
 * outlive @v: a literal) into @v (overwritten), makes this process its owner (VHOST_SET_OWNER:
 * the owner's address space is the one vhost reads the rings and buffers
 * through, and it must come before any other vhost ioctl) and reads what
 * it offers (VHOST_GET_FEATURES into @v->features).  No VM is needed.
 *
 * Returns 0 with @v open, or -errno with @v closed and @err naming @node,
 * what failed and the fix: no such node (the module is not loaded:
 * "modprobe vhost_net" for /dev/vhost-net, the node's name with '_' for
 * '-'), no permission (root, or read-write access to the node), or a file
 * that is no vhost device (VHOST_SET_OWNER refused).  @err's message is
 * "<node>: ..." without a prefix, so callers can put theirs in front.
 * Undo: vhost__close().
 */
int vhost__open(struct vhost_dev *v, const char *node, struct lkvm_err *err);

/* Closes @v's fd if it is open (the kernel stops whatever still runs); @v is then closed. */
void vhost__close(struct vhost_dev *v);

/*
 * One ioctl on @v (the device's own: VHOST_NET_SET_BACKEND and the like).
 * Returns 0 or -errno.  @v must be open.
 */
int vhost__ioctl(struct vhost_dev *v, unsigned long req, void *arg);

/*
 * Builds vhost's view of guest RAM (struct vhost_memory, include/uapi/
 * linux/vhost_types.h): one region per RAM region of @kvm, from
 * gmem__next(), so in ascending guest-physical order: guest_phys_addr,
 * memory_size, and userspace_addr, where this process has it mapped.
 * No ioctl: pure, for vhost__start() and for tests.  Returns 0 with *@out
 * set (free() it), or -ENOMEM.  A VM without RAM gives an empty table.
 */
int vhost__mem_table(const struct kvm *kvm, struct vhost_memory **out);

/*
 * Hands queues @queues (bit q for d->vq[q]; vhost's ring index is the
 * queue's index) of @d to @v, for a device whose driver has just set
 * DRIVER_OK (call it from ops->driver_ok, with the device's lock held):
 *
 *   1. VHOST_SET_FEATURES @features: what vhost is to do; a subset of
 *      @v->features, normally d->acked & v->features;
 *   2. VHOST_SET_MEM_TABLE from vhost__mem_table(d->kvm);
 *   3. each queue's ring from its virtqueue (vq.num, vq.last_avail_idx
 *      and the host addresses of its three parts): VHOST_SET_VRING_NUM,
 *      _BASE, _ADDR; every queue must be set up (vq.num != 0);
 *   4. each queue to vhost for good: d->offload_queue() gives the
 *      transport's kick eventfd (the guest's notifications, which the
 *      transport stops watching) and call eventfd (each write raises the
 *      queue's interrupt), set with VHOST_SET_VRING_KICK and _CALL.
 *
 * The device attaches its backend afterwards; vhost does nothing before.
 *
 * Returns 0 once every queue is vhost's.  On failure, -errno with @err
 * naming the ioctl and queue, and *@handed says what the device can do:
 * false, nothing was handed over (steps 1-3 failed, or the transport
 * refused the first queue's offload) and the transport still watches
 * every queue, so the device may serve them itself; true, some queue was
 * offloaded and only a device reset gives it back: vhost__start() has
 * already stopped the queues (vhost__stop), the device should fail itself
 * (d->fail).
 */
int vhost__start(struct vhost_dev *v, struct virtio_dev *d, u32 queues, u64 features,
		 bool *handed, struct lkvm_err *err);

/*
 * Takes queues @queues back from @v, after the device detached its
 * backend (vhost-net: VHOST_NET_SET_BACKEND -1, which flushes the
 * worker): for each, VHOST_GET_VRING_BASE (where vhost got to in the
 * avail ring; lkvm's next driver starts its rings afresh, so it is only
 * read) and VHOST_SET_VRING_KICK / _CALL -1, so vhost neither polls the
 * kick eventfd the transport watches again nor signals the call eventfd.
 * Every queue is tried even after a failure.  Returns 0, or the first
 * -errno with @err naming the ioctl and queue.
 */
int vhost__stop(struct vhost_dev *v, u32 queues, struct lkvm_err *err);

#endif /* LKVM_VHOST_H */
