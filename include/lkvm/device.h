/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VM's devices.  Generic code (devices.c) makes them from the
 * configuration, walking one table of device kinds in a fixed order; the
 * arch says only *where* they go: named MMIO areas and interrupt lines
 * (struct lkvm_placement, from arch__placement()).  Each device, and each
 * virtio transport, writes its own device-tree node through the generic
 * writer (lkvm/fdt.h), so no code ever asks what transport a device is on.
 *
 * Interrupts have one vocabulary here: an *interrupt line* is a wired
 * input of the VM's interrupt controller, numbered from 0 (KVM's default
 * GSI routing uses the same numbers).  Only the arch maps lines to its
 * controller's numbering (arm64: line n is SPI n, INTID 32 + n).
 *
 * Lifecycle, driven by kvm.c: devices__create() after the interrupt
 * controller exists (the arch knows then whether MSIs can be delivered),
 * devices__start() once it is initialised and the vCPUs exist (KVM takes
 * irqfds only then), devices__fdt*() while the arch writes the device
 * tree, devices__free() in reverse order of creation.
 */
#ifndef LKVM_DEVICE_H
#define LKVM_DEVICE_H

#include <stdbool.h>

#include "lkvm/config.h"
#include "lkvm/mmio.h"
#include "lkvm/util.h"

struct kvm;
struct fdtw;
struct json;
struct lkvm_device;
struct snap_writer;
struct snap_cursor;

#define LKVM_NO_IRQ		(~0U)	/* a device or area without an interrupt line */

/* The places the arch has for devices. */
enum lkvm_area_id {
	LKVM_AREA_UART,		/* the console UART's registers */
	LKVM_AREA_RTC,		/* the real-time clock's registers */
	LKVM_AREA_VIRTIO_MMIO,	/* virtio-mmio register windows, one per stride */
	LKVM_AREA_PCI_CFG,	/* the PCI host bridge's ECAM window; irq: INTA of slot 0 */
	LKVM_AREA_PCI_MMIO,	/* the PCI 32-bit memory window: one BAR slot per stride */
	LKVM_NR_AREAS,
};

/* One area: [base, base + size) in slots of @stride bytes (0: one slot). */
struct lkvm_area {
	u64 base;
	u64 size;
	u64 stride;
	unsigned int irq;	/* the first slot's interrupt line (slot n: irq + n), or LKVM_NO_IRQ */
};

struct lkvm_placement {
	struct lkvm_area area[LKVM_NR_AREAS];
	unsigned int nr_irq_lines;	/* wired lines; MSI routes take the GSIs after them */
	bool msi;			/* MSIs can be delivered (arm64: a GICv3 ITS) */
};

struct lkvm_device_ops {
	/* Adds the device's properties to /chosen (NULL: none). */
	void (*fdt_chosen)(struct lkvm_device *d, struct fdtw *w);
	/* Writes the device's node(s) under the root (NULL: none). */
	void (*fdt)(struct lkvm_device *d, struct fdtw *w);
	/* KVM registrations (irqfds, ioeventfds) and threads (NULL: nothing). */
	int (*start)(struct lkvm_device *d, struct lkvm_err *err);
	/* Stops the device's threads and frees it. */
	void (*free)(struct lkvm_device *d);
	/*
	 * "lkvm pause" (NULL: the device has no threads of its own).  With
	 * @pause, stops its threads between two passes once the work in
	 * flight is done (waiting up to @timeout_ms: -ETIMEDOUT, and the
	 * device goes on), so the guest's requests wait, unlost, in its queues; then
	 * with !@pause lets them go again.  Returns 0 or -errno.
	 */
	int (*pause)(struct lkvm_device *d, bool pause, int timeout_ms);
	/*
	 * "lkvm debug" (NULL: only what struct lkvm_device says): writes the
	 * device's state (registers, queues, counters) as members of the open
	 * JSON object @j (lkvm/json.h).  The VM is paused.
	 */
	void (*debug)(struct lkvm_device *d, struct json *j);
	/*
	 * Snapshot (docs/snapshot.md; NULL: the device cannot be saved, and
	 * "lkvm snapshot" refuses, naming it).  The VM is paused.  @save
	 * appends the device's state to @w with the snapshot__put_* calls
	 * (no section: the caller wraps it, with @state_version) and returns
	 * 0, or -errno with @err (-ENOTSUP: this instance can't be saved,
	 * saying why).  @restore, on a device made from the same config and
	 * not started, reads back what @save wrote for @version through @c;
	 * -EINVAL with @err for a version or a state it does not know.
	 */
	u32 state_version;
	int (*save)(struct lkvm_device *d, struct snap_writer *w, struct lkvm_err *err);
	int (*restore)(struct lkvm_device *d, u32 version, struct snap_cursor *c,
		       struct lkvm_err *err);
};

/* A device as the VM sees it.  Devices embed it and find themselves with container_of. */
struct lkvm_device {
	const struct lkvm_device_ops *ops;
	const char *name;	/* "uart", "virtio-blk", "pci": for messages and tests */
	u64 base;		/* its MMIO window (virtio-pci: BAR0), size 0: none */
	u64 size;
	unsigned int irq;	/* its interrupt line, or LKVM_NO_IRQ */
	bool msi;		/* it interrupts by MSI (irq then names its INTx fallback) */
};

#define lkvm_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/*
 * A kind of device the configuration can ask for: one line of the table
 * in devices.c.  @count says how many the config wants; @create makes the
 * @index-th and adds it to the VM (kvm__add_device, or through a
 * transport).  Returns 0 or -errno with @err naming the device and the fix.
 */
struct device_kind {
	const char *name;
	unsigned int (*count)(const struct lkvm_config *cfg);
	int (*create)(struct kvm *kvm, unsigned int index, struct lkvm_err *err);
};

/* Every kind lkvm has (each in its device's file). */
extern const struct device_kind uart_kind, rtc_kind, virtio_blk_kind, virtio_rng_kind,
	virtio_console_kind, virtio_net_kind, virtio_9p_kind, virtio_balloon_kind,
	virtio_vsock_kind;

/*
 * Makes every device the configuration asks for, in the table's order,
 * placed per @p (copied into @kvm).  No KVM access: a unit test can pass a
 * made-up placement.  On failure the devices made so far stay on @kvm
 * for devices__free().  Returns 0 or -errno with @err.
 */
int devices__create(struct kvm *kvm, const struct lkvm_placement *p, struct lkvm_err *err);

/* Starts every device (ops->start) in creation order; stops at the first error. */
int devices__start(struct kvm *kvm, struct lkvm_err *err);

/* Every device's /chosen properties, then (devices__fdt) its nodes. */
void devices__fdt_chosen(struct kvm *kvm, struct fdtw *w);
void devices__fdt(struct kvm *kvm, struct fdtw *w);

/* Frees every device, last made first.  Safe on a partly made set. */
void devices__free(struct kvm *kvm);

/* Adds @d (ownership passes: freed by devices__free) to the VM; -ENOSPC when full. */
int kvm__add_device(struct kvm *kvm, struct lkvm_device *d, struct lkvm_err *err);

/*
 * The next free slot of area @id: its address in *@base, its interrupt
 * line in *@irq (LKVM_NO_IRQ if the area has none).  -ENOSPC with @err
 * (naming @what) when the area or the interrupt lines are used up.
 */
int devices__place(struct kvm *kvm, enum lkvm_area_id id, const char *what, u64 *base,
		   unsigned int *irq, struct lkvm_err *err);

/*
 * For a device with one register window: places @d (ops and name set) in
 * the next slot of area @id (sets base, size, irq), adds it to the VM
 * (ownership passes, even on failure) and claims the window on the MMIO
 * bus for @fn(@opaque).  Returns 0 or -errno with @err.
 */
int devices__add_mmio(struct kvm *kvm, struct lkvm_device *d, enum lkvm_area_id id, mmio_fn fn,
		      void *opaque, struct lkvm_err *err);

#endif /* LKVM_DEVICE_H */
