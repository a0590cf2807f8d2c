/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A virtio device for transport tests that does nothing but count the
 * calls the transport makes into it (driver_ok, reset, queue_notify), so
 * a test can check the transport's side of the contract in
 * lkvm/virtio-dev.h: driver_ok once per reset cycle, notifications only
 * for live queues.  One queue of up to 16 entries, 4 bytes of zero config.
 */
#ifndef LKVM_TEST_COUNT_DEV_H
#define LKVM_TEST_COUNT_DEV_H

#include <stdlib.h>
#include <string.h>

#include "lkvm/virtio-dev.h"
#include "test.h"

struct count_dev_counts {
	unsigned int driver_ok, resets, notifies;
};

struct count_dev {
	struct virtio_dev vdev;
	struct count_dev_counts *n;	/* the test's: outlives the device, which the transport frees */
};

static inline struct count_dev *count_dev__of(struct virtio_dev *d)
{
	return virtio_container_of(d, struct count_dev, vdev);
}

static inline void count_dev__config_read(struct virtio_dev *d __unused, u32 off __unused,
					  u8 *buf, u32 len)
{
	memset(buf, 0, len);
}

static inline void count_dev__queue_notify(struct virtio_dev *d, unsigned int q __unused)
{
	count_dev__of(d)->n->notifies++;
}

static inline void count_dev__driver_ok(struct virtio_dev *d)
{
	count_dev__of(d)->n->driver_ok++;
}

static inline void count_dev__reset(struct virtio_dev *d)
{
	count_dev__of(d)->n->resets++;
}

static inline void count_dev__free(struct virtio_dev *d)
{
	free(count_dev__of(d));
}

static const struct virtio_dev_ops count_dev_ops = {
	.name = "virtio-count",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.queue_max = 16,
	.config_size = 4,
	.config_read = count_dev__config_read,
	.queue_notify = count_dev__queue_notify,
	.driver_ok = count_dev__driver_ok,
	.reset = count_dev__reset,
	.free = count_dev__free,
};

/* A new counting device on @kvm whose calls add up in @n (zeroed here). */
static inline struct virtio_dev *count_dev__new(struct kvm *kvm, struct count_dev_counts *n)
{
	struct count_dev *cd = calloc(1, sizeof(*cd));

	TEST_ASSERT(cd, "calloc");
	memset(n, 0, sizeof(*n));
	cd->vdev.ops = &count_dev_ops;
	cd->vdev.kvm = kvm;
	cd->n = n;
	return &cd->vdev;
}

#endif /* LKVM_TEST_COUNT_DEV_H */
