// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-vsock (virtio 1.2 §5.10) through the host kernel's vhost-vsock:
 * the guest's AF_VSOCK streams reach the host's AF_VSOCK sockets (CID 2
 * from the guest, the guest's CID from the host) without lkvm touching a
 * packet.  --vsock CID names the guest; the CID is claimed from
 * /dev/vhost-vsock when the device is made (VHOST_VSOCK_SET_GUEST_CID),
 * so a CID another VM holds is an error at start, not a silent failure.
 *
 * Three queues (§5.10.2): rx 0 and tx 1 go to vhost at DRIVER_OK through
 * the generic vhost client (virtio/vhost.c), then VHOST_VSOCK_SET_RUNNING
 * lets it run; a reset stops it and takes them back.  The event queue 2
 * stays with lkvm: the driver fills it with buffers the device would use
 * for VIRTIO_VSOCK_EVENT_TRANSPORT_RESET (after a migration, which lkvm
 * doesn't do), so the device leaves them there, ring valid and untouched.
 * Without vhost there is no datapath: if vhost refuses the rings, the
 * device fails (NEEDS_RESET) rather than pretend.
 */
#include <endian.h>
#include <errno.h>
#include <linux/vhost.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_vsock.h>

#include "lkvm/kvm.h"
#include "lkvm/vhost.h"
#include "lkvm/virtio-dev.h"

#define VSOCK_QUEUE_MAX		256
#define VSOCK_RXQ		0
#define VSOCK_TXQ		1
#define VSOCK_EVENTQ		2
#define VSOCK_VHOST_QUEUES	(BIT(VSOCK_RXQ) | BIT(VSOCK_TXQ))

/* What lkvm offers of vhost-vsock's own features (the transport adds the ring ones). */
#define VSOCK_FEATURES		BIT(VIRTIO_VSOCK_F_SEQPACKET)

struct vsock {
	struct virtio_dev vdev;
	struct vhost_dev vhost;
	u64 cid;
	bool running;		/* the rings are vhost's */
};

static struct vsock *to_vsock(struct virtio_dev *d)
{
	return virtio_container_of(d, struct vsock, vdev);
}

static int set_running(struct vsock *v, int on, struct lkvm_err *err)
{
	int r = vhost__ioctl(&v->vhost, VHOST_VSOCK_SET_RUNNING, &on);

	if (r)
		return seterr(err, -r, "VHOST_VSOCK_SET_RUNNING %d: %s", on, strerror(-r));
	return 0;
}

static void vsock_stop(struct vsock *v)
{
	struct lkvm_err err = { "" };

	if (set_running(v, 0, &err))
		pr_warn(v->vdev.kvm, "virtio-vsock %llu: %s", (unsigned long long)v->cid, err.msg);
	if (vhost__stop(&v->vhost, VSOCK_VHOST_QUEUES, &err))
		pr_warn(v->vdev.kvm, "virtio-vsock %llu: %s", (unsigned long long)v->cid, err.msg);
	v->running = false;
}

static void vsock_driver_ok(struct virtio_dev *d)
{
	struct vsock *v = to_vsock(d);
	struct lkvm_err err = { "" };
	bool handed;
	int r;

	r = vhost__start(&v->vhost, d, VSOCK_VHOST_QUEUES, d->acked & v->vhost.features, &handed,
			 &err);
	if (!r) {
		r = set_running(v, 1, &err);
		if (!r) {
			v->running = true;
			return;
		}
		vsock_stop(v);
	}
	pr_warn(d->kvm, "virtio-vsock %llu: %s", (unsigned long long)v->cid, err.msg);
	/* No datapath but vhost's: the driver is told, the guest gets no sockets. */
	d->fail(d, "vhost-vsock refused the rings");
}

static void vsock_reset(struct virtio_dev *d)
{
	struct vsock *v = to_vsock(d);

	if (v->running)
		vsock_stop(v);
}

static void vsock_queue_notify(struct virtio_dev *d __unused, unsigned int q __unused)
{
	/*
	 * Only the event queue (and, if vhost failed, nothing) reaches lkvm:
	 * its buffers wait for an event that lkvm never sends.
	 */
}

static void vsock_config_read(struct virtio_dev *d, u32 off, u8 *buf, u32 len)
{
	u64 cid = htole64(to_vsock(d)->cid);	/* §5.10.4: guest_cid, le64 */

	memcpy(buf, (u8 *)&cid + off, len);
}

static void vsock_free(struct virtio_dev *d)
{
	struct vsock *v = to_vsock(d);

	if (v->running)
		vsock_stop(v);
	vhost__close(&v->vhost);
	free(v);
}

static const struct virtio_dev_ops vsock_ops = {
	.name = "virtio-vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.nr_queues = 3,
	.queue_max = VSOCK_QUEUE_MAX,
	.config_size = sizeof(struct virtio_vsock_config),
	.config_read = vsock_config_read,
	.queue_notify = vsock_queue_notify,
	.driver_ok = vsock_driver_ok,
	.reset = vsock_reset,
	.free = vsock_free,
};

int virtio_vsock__new(struct kvm *kvm, u64 cid, struct vhost_dev *vhost, struct virtio_dev **out,
		      struct lkvm_err *err)
{
	struct vsock *v;
	u64 c = cid;
	int r;

	if (!vhost__is_open(vhost))
		return seterr(err, EBADF, "virtio-vsock: no vhost-vsock");
	r = vhost__ioctl(vhost, VHOST_VSOCK_SET_GUEST_CID, &c);
	if (r) {
		if (r == -EADDRINUSE)
			seterr(err, EADDRINUSE, "--vsock %llu: another VM on this host has guest CID "
			       "%llu; give each guest its own", (unsigned long long)cid,
			       (unsigned long long)cid);
		else
			seterr(err, -r, "--vsock %llu: VHOST_VSOCK_SET_GUEST_CID: %s",
			       (unsigned long long)cid, strerror(-r));
		vhost__close(vhost);
		return r;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		vhost__close(vhost);
		return seterr(err, ENOMEM, "virtio-vsock: out of memory");
	}
	v->vhost = *vhost;
	vhost__init(vhost);
	v->cid = cid;
	v->vdev.ops = &vsock_ops;
	v->vdev.kvm = kvm;
	v->vdev.features = v->vhost.features & VSOCK_FEATURES;
	pr_info(kvm, "virtio-vsock: guest CID %llu, vhost-vsock", (unsigned long long)cid);
	*out = &v->vdev;
	return 0;
}

static unsigned int vsock_count(const struct lkvm_config *cfg)
{
	return cfg->vsock_cid ? 1 : 0;
}

static int vsock_create(struct kvm *kvm, unsigned int i, struct lkvm_err *err)
{
	u64 cid = kvm->cfg->vsock_cid;
	struct virtio_dev *dev = NULL;
	struct vhost_dev vh;
	int r;

	(void)i;
	r = vhost__open(&vh, "/dev/vhost-vsock", err);
	if (r) {
		char msg[sizeof(err->msg)];

		snprintf(msg, sizeof(msg), "%s", err->msg);
		return seterr(err, -r, "--vsock %llu: %s", (unsigned long long)cid, msg);
	}
	r = virtio_vsock__new(kvm, cid, &vh, &dev, err);
	return r ? r : virtio__attach(kvm, dev, err);
}

const struct device_kind virtio_vsock_kind = { "virtio-vsock", vsock_count, vsock_create };
