/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The "driver side" of unit tests that drive a device through the
 * virtio-mmio transport's register handler (virtio 1.2 §4.2.3), as
 * Linux's virtio_mmio does: 32-bit little-endian register accesses,
 * feature negotiation and queue setup.
 */
#ifndef LKVM_TEST_MMIO_DRIVER_H
#define LKVM_TEST_MMIO_DRIVER_H

#include <endian.h>

#include "lkvm/virtio-transport.h"

static inline u32 mmio_rd(struct virtio_mmio *vm, u64 off)
{
	u32 v;

	virtio_mmio__access(vm, off, (u8 *)&v, 4, false);
	return le32toh(v);
}

static inline void mmio_wr(struct virtio_mmio *vm, u64 off, u32 val)
{
	u32 v = htole32(val);

	virtio_mmio__access(vm, off, (u8 *)&v, 4, true);
}

/* §3.1.1 steps 1-6: reset, ACKNOWLEDGE, DRIVER, @features; whether FEATURES_OK stuck. */
static inline bool mmio_negotiate(struct virtio_mmio *vm, u64 features)
{
	const u32 s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	mmio_wr(vm, VIRTIO_MMIO_STATUS, 0);
	mmio_wr(vm, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	mmio_wr(vm, VIRTIO_MMIO_STATUS, s);
	mmio_wr(vm, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_wr(vm, VIRTIO_MMIO_DRIVER_FEATURES, (u32)features);
	mmio_wr(vm, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_wr(vm, VIRTIO_MMIO_DRIVER_FEATURES, (u32)(features >> 32));
	mmio_wr(vm, VIRTIO_MMIO_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK);
	return mmio_rd(vm, VIRTIO_MMIO_STATUS) & VIRTIO_CONFIG_S_FEATURES_OK;
}

/* §4.2.3.2: queue @q with @num entries and its three rings, then QueueReady. */
static inline void mmio_setup_queue(struct virtio_mmio *vm, u32 q, u32 num, u64 desc, u64 avail,
				    u64 used)
{
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_SEL, q);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_NUM, num);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_DESC_LOW, (u32)desc);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_DESC_HIGH, (u32)(desc >> 32));
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (u32)avail);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (u32)(avail >> 32));
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_USED_LOW, (u32)used);
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_USED_HIGH, (u32)(used >> 32));
	mmio_wr(vm, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* The driver is done setting up: DRIVER_OK on top of a successful negotiation. */
static inline void mmio_driver_ok(struct virtio_mmio *vm)
{
	mmio_wr(vm, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

#endif /* LKVM_TEST_MMIO_DRIVER_H */
