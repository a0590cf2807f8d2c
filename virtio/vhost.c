// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vhost client any virtio device uses to hand its queues to the
 * kernel (Linux drivers/vhost, include/uapi/linux/vhost.h): opening and
 * owning a /dev/vhost-* node, features, the memory table, and each
 * queue's ring and eventfds, in and out.  The order of the ioctls is the
 * one the kernel needs: the owner first (vhost refuses every other ioctl
 * from a process that is not the owner), then features, memory table
 * and rings, and only then the device's backend, which lets the worker
 * run: vhost checks the rings' addresses against their size when the
 * backend goes in, and refuses to resize a ring that has one.
 *
 * Two kinds of address reach vhost.  The rings' are this process's own
 * pointers, the ones the virtqueue checked against guest RAM when the
 * driver set the queue up (virtio/virtqueue.c).  The buffers' are
 * guest-physical, in the descriptors, and vhost translates them through
 * the memory table, which comes from gmem.c's iterator: nothing here
 * reads the RAM table itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lkvm/gmem.h"
#include "lkvm/vhost.h"
#include "lkvm/virtio-dev.h"

void vhost__init(struct vhost_dev *v)
{
	memset(v, 0, sizeof(*v));
	v->fd = -1;
}

void vhost__close(struct vhost_dev *v)
{
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
}

int vhost__ioctl(struct vhost_dev *v, unsigned long req, void *arg)
{
	if (v->fake_ioctl)
		return v->fake_ioctl(v, req, arg);
	return ioctl(v->fd, req, arg) < 0 ? -errno : 0;
}

/* The module that provides @node: "/dev/vhost-net" is vhost_net's. */
static void node_module(const char *node, char *buf, size_t size)
{
	const char *base = strrchr(node, '/');

	snprintf(buf, size, "%s", base ? base + 1 : node);
	for (char *p = buf; *p; p++)
		if (*p == '-')
			*p = '_';
}

/* What to say about an errno from open(@node). */
static int open_error(const char *node, int e, struct lkvm_err *err)
{
	char mod[64];

	switch (e) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		node_module(node, mod, sizeof(mod));
		return seterr(err, e, "%s: %s (load the %s module: modprobe %s)", node, strerror(e),
			      mod, mod);
	case EACCES:
	case EPERM:
		return seterr(err, e, "%s: %s (run lkvm as root, or give this user read-write "
			      "access to %s)", node, strerror(e), node);
	}
	return seterr(err, e, "%s: %s", node, strerror(e));
}

int vhost__open(struct vhost_dev *v, const char *node, struct lkvm_err *err)
{
	int r;

	vhost__init(v);
	v->fd = open(node, O_RDWR | O_CLOEXEC);
	if (v->fd < 0)
		return open_error(node, errno, err);
	v->node = node;
	r = vhost__ioctl(v, VHOST_SET_OWNER, NULL);
	if (r) {
		seterr(err, -r, "%s: VHOST_SET_OWNER: %s%s", node, strerror(-r),
		       r == -ENOTTY ? " (not a vhost device)" : "");
		goto fail;
	}
	r = vhost__ioctl(v, VHOST_GET_FEATURES, &v->features);
	if (r) {
		seterr(err, -r, "%s: VHOST_GET_FEATURES: %s", node, strerror(-r));
		goto fail;
	}
	return 0;
fail:
	vhost__close(v);
	return r;
}

int vhost__mem_table(const struct kvm *kvm, struct vhost_memory **out)
{
	struct vhost_memory *m;
	struct gmem_range g;
	unsigned int n = 0;

	for (unsigned int it = 0; gmem__next(kvm, &it, &g);)
		n++;
	m = calloc(1, sizeof(*m) + n * sizeof(m->regions[0]));
	if (!m)
		return -ENOMEM;
	for (unsigned int it = 0; m->nregions < n && gmem__next(kvm, &it, &g);)
		m->regions[m->nregions++] = (struct vhost_memory_region){
			.guest_phys_addr = g.gpa,
			.memory_size = g.size,
			.userspace_addr = (u64)(uintptr_t)g.host,
		};
	*out = m;
	return 0;
}

static int set_mem_table(struct vhost_dev *v, const struct kvm *kvm, struct lkvm_err *err)
{
	struct vhost_memory *m;
	int r;

	r = vhost__mem_table(kvm, &m);
	if (r)
		return seterr(err, -r, "%s: the memory table: %s", v->node, strerror(-r));
	/* The kernel caps the regions (vhost's max_mem_regions, 64 by default): E2BIG. */
	r = vhost__ioctl(v, VHOST_SET_MEM_TABLE, m);
	if (r)
		seterr(err, -r, "%s: VHOST_SET_MEM_TABLE (%u RAM regions): %s", v->node, m->nregions,
		       strerror(-r));
	free(m);
	return r;
}

/* Ring @q from @vq: its size, where vhost starts in the avail ring, the three parts. */
static int set_vring(struct vhost_dev *v, unsigned int q, const struct virtqueue *vq,
		     struct lkvm_err *err)
{
	struct vhost_vring_state num = { .index = q, .num = vq->num };
	struct vhost_vring_state base = { .index = q, .num = vq->last_avail_idx };
	struct vhost_vring_addr addr = {
		.index = q,
		.desc_user_addr = (u64)(uintptr_t)vq->desc,
		.avail_user_addr = (u64)(uintptr_t)vq->avail,
		.used_user_addr = (u64)(uintptr_t)vq->used,
	};
	const char *what;
	int r;

	if (!vq->num)
		return seterr(err, EINVAL, "%s: queue %u is not set up", v->node, q);
	what = "VHOST_SET_VRING_NUM";
	r = vhost__ioctl(v, VHOST_SET_VRING_NUM, &num);
	if (!r) {
		what = "VHOST_SET_VRING_BASE";
		r = vhost__ioctl(v, VHOST_SET_VRING_BASE, &base);
	}
	if (!r) {
		what = "VHOST_SET_VRING_ADDR";
		r = vhost__ioctl(v, VHOST_SET_VRING_ADDR, &addr);
	}
	if (r)
		return seterr(err, -r, "%s: %s (queue %u): %s", v->node, what, q, strerror(-r));
	return 0;
}

/* Ring @q's eventfds: vhost polls @kick for the guest's notifications, writes @call for interrupts. */
static int set_vring_fds(struct vhost_dev *v, unsigned int q, int kick, int call,
			 struct lkvm_err *err)
{
	struct vhost_vring_file k = { .index = q, .fd = kick };
	struct vhost_vring_file c = { .index = q, .fd = call };
	int r;

	r = vhost__ioctl(v, VHOST_SET_VRING_KICK, &k);
	if (r)
		return seterr(err, -r, "%s: VHOST_SET_VRING_KICK (queue %u, fd %d): %s", v->node, q,
			      kick, strerror(-r));
	r = vhost__ioctl(v, VHOST_SET_VRING_CALL, &c);
	if (r)
		return seterr(err, -r, "%s: VHOST_SET_VRING_CALL (queue %u, fd %d): %s", v->node, q,
			      call, strerror(-r));
	return 0;
}

/* Ring @q back: where vhost got to, and both eventfds detached (fd -1 unbinds). */
static int stop_vring(struct vhost_dev *v, unsigned int q, struct lkvm_err *err)
{
	static const struct {
		unsigned long req;
		const char *name;
	} unbind[] = {
		{ VHOST_SET_VRING_KICK, "VHOST_SET_VRING_KICK" },
		{ VHOST_SET_VRING_CALL, "VHOST_SET_VRING_CALL" },
	};
	struct vhost_vring_state s = { .index = q };
	int r, first;

	first = vhost__ioctl(v, VHOST_GET_VRING_BASE, &s);
	if (first)
		seterr(err, -first, "%s: VHOST_GET_VRING_BASE (queue %u): %s", v->node, q,
		       strerror(-first));
	/* Both, whatever failed before: a bound kick fd would take the guest's notifications. */
	for (unsigned int i = 0; i < ARRAY_SIZE(unbind); i++) {
		struct vhost_vring_file f = { .index = q, .fd = -1 };

		r = vhost__ioctl(v, unbind[i].req, &f);
		if (r && !first)
			first = seterr(err, -r, "%s: %s -1 (queue %u): %s", v->node, unbind[i].name,
				       q, strerror(-r));
	}
	return first;
}

int vhost__stop(struct vhost_dev *v, u32 queues, struct lkvm_err *err)
{
	int first = 0;

	for (unsigned int q = 0; q < 32; q++) {
		int r;

		if (!(queues & (1u << q)))
			continue;
		r = stop_vring(v, q, first ? NULL : err);
		if (r && !first)
			first = r;
	}
	return first;
}

int vhost__start(struct vhost_dev *v, struct virtio_dev *d, u32 queues, u64 features,
		 bool *handed, struct lkvm_err *err)
{
	int r;

	*handed = false;
	if (v->fd < 0)
		return seterr(err, EBADF, "vhost is not open");
	if (features & ~v->features)
		return seterr(err, EINVAL, "%s: features %#llx asked for, it offers %#llx", v->node,
			      (unsigned long long)features, (unsigned long long)v->features);
	if (!queues || ((u64)queues >> d->nr_queues))
		return seterr(err, EINVAL, "%s: queues %#x, the device has %u", v->node, queues,
			      d->nr_queues);

	r = vhost__ioctl(v, VHOST_SET_FEATURES, &features);
	if (r)
		return seterr(err, -r, "%s: VHOST_SET_FEATURES %#llx: %s", v->node,
			      (unsigned long long)features, strerror(-r));
	r = set_mem_table(v, d->kvm, err);
	if (r)
		return r;
	for (unsigned int q = 0; q < d->nr_queues; q++) {
		if (!(queues & (1u << q)))
			continue;
		r = set_vring(v, q, &d->vq[q], err);
		if (r)
			return r;
	}

	/*
	 * Only now the queues leave the transport: up to here a failure
	 * leaves them all with it, and the device can serve them itself.
	 */
	for (unsigned int q = 0; q < d->nr_queues; q++) {
		int kick, call;

		if (!(queues & (1u << q)))
			continue;
		r = d->offload_queue(d, q, &kick, &call);
		if (r) {
			seterr(err, -r, "%s: queue %u: the transport kept it: %s", v->node, q,
			       strerror(-r));
			break;
		}
		*handed = true;
		r = set_vring_fds(v, q, kick, call, err);
		if (r)
			break;
	}
	if (r && *handed)
		vhost__stop(v, queues, NULL);
	return r;
}
