// SPDX-License-Identifier: GPL-2.0-only
/*
 * The GSI routing table: the wired pins, then MSI routes.  See
 * include/lkvm/irq.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include "lkvm/irq.h"
#include "lkvm/kvm.h"

/* KVM's limit on entries (KVM_MAX_IRQ_ROUTES in the kernel). */
#define IRQ_MAX_ROUTES		4096

struct irq_routes {
	pthread_mutex_t lock;
	unsigned int nr_pins;
	unsigned int nr_msi;
	struct kvm_irq_routing *table;	/* nr_pins wired entries + nr_msi MSI entries */
};

void irq__set_wired_pins(struct kvm *kvm, unsigned int nr_pins)
{
	struct irq_routes *r = kvm->irq_routes;

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return;		/* MSI routes then fail with -ENOMEM */
		pthread_mutex_init(&r->lock, NULL);
		kvm->irq_routes = r;
	}
	if (!r->nr_msi)
		r->nr_pins = nr_pins;
}

/* Sends the table to KVM; with r->lock held. */
static int commit(struct kvm *kvm, struct irq_routes *r)
{
	struct kvm_irq_routing *t = r->table;

	t->nr = r->nr_pins + r->nr_msi;
	t->flags = 0;
	for (unsigned int i = 0; i < r->nr_pins; i++)
		t->entries[i] = (struct kvm_irq_routing_entry){
			.gsi = i,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = 0, .pin = i },
		};
	if (ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, t) < 0)
		return -errno;
	return 0;
}

static void set_msi(struct kvm_irq_routing_entry *e, u32 gsi, u64 addr, u32 data, u32 devid)
{
	*e = (struct kvm_irq_routing_entry){
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_MSI,
		.flags = KVM_MSI_VALID_DEVID,
		.u.msi = {
			.address_lo = (u32)addr,
			.address_hi = (u32)(addr >> 32),
			.data = data,
			.devid = devid,
		},
	};
}

int irq__add_msi_route(struct kvm *kvm, u64 addr, u32 data, u32 devid, u32 *gsi)
{
	struct irq_routes *r = kvm->irq_routes;
	struct kvm_irq_routing *t;
	unsigned int n;
	int ret;

	if (!r)
		return -ENOMEM;
	pthread_mutex_lock(&r->lock);
	n = r->nr_pins + r->nr_msi + 1;
	if (n > IRQ_MAX_ROUTES) {
		pthread_mutex_unlock(&r->lock);
		return -ENOSPC;
	}
	t = realloc(r->table, sizeof(*t) + n * sizeof(t->entries[0]));
	if (!t) {
		pthread_mutex_unlock(&r->lock);
		return -ENOMEM;
	}
	r->table = t;
	*gsi = n - 1;
	set_msi(&t->entries[n - 1], *gsi, addr, data, devid);
	r->nr_msi++;
	ret = commit(kvm, r);
	if (ret)
		r->nr_msi--;
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int irq__update_msi_route(struct kvm *kvm, u32 gsi, u64 addr, u32 data, u32 devid)
{
	struct irq_routes *r = kvm->irq_routes;
	int ret;

	if (!r)
		return -ENOMEM;
	pthread_mutex_lock(&r->lock);
	if (gsi < r->nr_pins || gsi >= r->nr_pins + r->nr_msi) {
		pthread_mutex_unlock(&r->lock);
		return -EINVAL;
	}
	set_msi(&r->table->entries[gsi], gsi, addr, data, devid);
	ret = commit(kvm, r);
	pthread_mutex_unlock(&r->lock);
	return ret;
}

void irq__free(struct kvm *kvm)
{
	struct irq_routes *r = kvm->irq_routes;

	if (!r)
		return;
	free(r->table);
	pthread_mutex_destroy(&r->lock);
	free(r);
	kvm->irq_routes = NULL;
}
