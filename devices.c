// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VM's device set, made from the configuration: one table of device
 * kinds, walked in a fixed order, so the guest sees the same devices at
 * the same places for the same command line.  Adding a device is its
 * own file (which exports a struct device_kind) plus one line here.  The
 * arch says where devices go (struct lkvm_placement); this file hands
 * out the slots of each area.  See include/lkvm/device.h.
 */
#include <errno.h>
#include <string.h>

#include "lkvm/device.h"
#include "lkvm/kvm.h"

/* The order is the guest's: it fixes every device's address and interrupt line. */
static const struct device_kind *const device_table[] = {
	&uart_kind,
	&rtc_kind,
	&virtio_blk_kind,
	&virtio_rng_kind,
	&virtio_console_kind,
	&virtio_net_kind,
	&virtio_9p_kind,
	&virtio_balloon_kind,
	&virtio_vsock_kind,
};

int kvm__add_device(struct kvm *kvm, struct lkvm_device *d, struct lkvm_err *err)
{
	if (kvm->nr_devices == LKVM_MAX_DEVICES) {
		d->ops->free(d);
		return seterr(err, ENOSPC, "%s: more than %u devices", d->name, LKVM_MAX_DEVICES);
	}
	kvm->devices[kvm->nr_devices++] = d;
	return 0;
}

int devices__place(struct kvm *kvm, enum lkvm_area_id id, const char *what, u64 *base,
		   unsigned int *irq, struct lkvm_err *err)
{
	const struct lkvm_area *a = &kvm->place.area[id];
	unsigned int n = kvm->place_used[id];
	u64 stride = a->stride ? a->stride : a->size;

	if (!a->size || !stride || n >= a->size / stride)
		return seterr(err, ENOSPC, "%s: no room left for it on this machine (%u in use)",
			      what, n);
	if (a->irq != LKVM_NO_IRQ && a->irq + n >= kvm->place.nr_irq_lines)
		return seterr(err, ENOSPC, "%s: no interrupt line left (%u wired lines)", what,
			      kvm->place.nr_irq_lines);
	*base = a->base + n * stride;
	*irq = a->irq == LKVM_NO_IRQ ? LKVM_NO_IRQ : a->irq + n;
	kvm->place_used[id]++;
	return 0;
}

int devices__add_mmio(struct kvm *kvm, struct lkvm_device *d, enum lkvm_area_id id, mmio_fn fn,
		      void *opaque, struct lkvm_err *err)
{
	int r = devices__place(kvm, id, d->name, &d->base, &d->irq, err);

	if (r) {
		d->ops->free(d);
		return r;
	}
	d->size = kvm->place.area[id].stride ? kvm->place.area[id].stride : kvm->place.area[id].size;
	r = kvm__add_device(kvm, d, err);
	if (r)
		return r;
	r = mmio__register(&kvm->mmio, d->base, d->size, fn, opaque, d->name);
	if (r)
		return seterr(err, -r, "%s: registering MMIO %#llx: %s", d->name,
			      (unsigned long long)d->base, strerror(-r));
	return 0;
}

int devices__create(struct kvm *kvm, const struct lkvm_placement *p, struct lkvm_err *err)
{
	kvm->place = *p;
	for (unsigned int k = 0; k < ARRAY_SIZE(device_table); k++) {
		const struct device_kind *kind = device_table[k];
		unsigned int n = kind->count(kvm->cfg);

		for (unsigned int i = 0; i < n; i++) {
			int r = kind->create(kvm, i, err);

			if (r)
				return r;
		}
	}
	return 0;
}

int devices__start(struct kvm *kvm, struct lkvm_err *err)
{
	for (unsigned int i = 0; i < kvm->nr_devices; i++) {
		struct lkvm_device *d = kvm->devices[i];
		int r = d->ops->start ? d->ops->start(d, err) : 0;

		if (r)
			return r;
	}
	return 0;
}

void devices__fdt_chosen(struct kvm *kvm, struct fdtw *w)
{
	for (unsigned int i = 0; i < kvm->nr_devices; i++)
		if (kvm->devices[i]->ops->fdt_chosen)
			kvm->devices[i]->ops->fdt_chosen(kvm->devices[i], w);
}

void devices__fdt(struct kvm *kvm, struct fdtw *w)
{
	for (unsigned int i = 0; i < kvm->nr_devices; i++)
		if (kvm->devices[i]->ops->fdt)
			kvm->devices[i]->ops->fdt(kvm->devices[i], w);
}

void devices__free(struct kvm *kvm)
{
	while (kvm->nr_devices) {
		struct lkvm_device *d = kvm->devices[--kvm->nr_devices];

		d->ops->free(d);
	}
	for (unsigned int i = 0; i < LKVM_NR_AREAS; i++)
		kvm->place_used[i] = 0;
}
