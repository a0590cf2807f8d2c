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

/*
 * MSI route i has GSI nr_pins + i.  A removed route leaves a hole (type 0)
 * that the next route fills, so the other routes keep their GSIs.
 */
struct irq_routes {
	pthread_mutex_t lock;
	unsigned int nr_pins;
	unsigned int nr_msi;		/* MSI slots, holes included */
	struct kvm_irq_routing_entry *msi;	/* [nr_msi] */
	struct kvm_irq_routing *table;	/* what goes to KVM: the pins, then the routes */
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

/* Sends the table to KVM; with r->lock held, r->table sized for every slot. */
static int commit(struct kvm *kvm, struct irq_routes *r)
{
	struct kvm_irq_routing *t = r->table;
	unsigned int n = 0;

	t->flags = 0;
	for (unsigned int i = 0; i < r->nr_pins; i++)
		t->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = i,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = 0, .pin = i },
		};
	for (unsigned int i = 0; i < r->nr_msi; i++)
		if (r->msi[i].type)
			t->entries[n++] = r->msi[i];
	t->nr = n;
	if (ioctl(kvm->vm_fd, KVM_SET_GSI_ROUTING, t) < 0)
		return -errno;
	return 0;
}

/* The MSI slot of @gsi, or NULL if @gsi is not a route of ours; with r->lock held. */
static struct kvm_irq_routing_entry *msi_slot(struct irq_routes *r, u32 gsi)
{
	if (gsi < r->nr_pins || gsi - r->nr_pins >= r->nr_msi || !r->msi[gsi - r->nr_pins].type)
		return NULL;
	return &r->msi[gsi - r->nr_pins];
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

/* Makes room for one more MSI slot (tables grow, never shrink); with r->lock held. */
static int grow(struct irq_routes *r)
{
	unsigned int n = r->nr_pins + r->nr_msi + 1;
	struct kvm_irq_routing_entry *msi;
	struct kvm_irq_routing *t;

	if (n > IRQ_MAX_ROUTES)
		return -ENOSPC;
	msi = realloc(r->msi, (r->nr_msi + 1) * sizeof(*msi));
	if (!msi)
		return -ENOMEM;
	r->msi = msi;
	t = realloc(r->table, sizeof(*t) + n * sizeof(t->entries[0]));
	if (!t)
		return -ENOMEM;
	r->table = t;
	r->msi[r->nr_msi++] = (struct kvm_irq_routing_entry){ 0 };
	return 0;
}

/* Drops the holes at the end of the MSI slots; with r->lock held. */
static void trim(struct irq_routes *r)
{
	while (r->nr_msi && !r->msi[r->nr_msi - 1].type)
		r->nr_msi--;
}

int irq__add_msi_route(struct kvm *kvm, u64 addr, u32 data, u32 devid, u32 *gsi)
{
	struct irq_routes *r = kvm->irq_routes;
	unsigned int i;
	int ret = 0;

	if (!r)
		return -ENOMEM;
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->nr_msi && r->msi[i].type; i++)
		;
	if (i == r->nr_msi)
		ret = grow(r);
	if (!ret) {
		*gsi = r->nr_pins + i;
		set_msi(&r->msi[i], *gsi, addr, data, devid);
		ret = commit(kvm, r);
		if (ret) {
			r->msi[i] = (struct kvm_irq_routing_entry){ 0 };
			trim(r);
		}
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int irq__update_msi_route(struct kvm *kvm, u32 gsi, u64 addr, u32 data, u32 devid)
{
	struct irq_routes *r = kvm->irq_routes;
	struct kvm_irq_routing_entry *e, old;
	int ret;

	if (!r)
		return -ENOMEM;
	pthread_mutex_lock(&r->lock);
	e = msi_slot(r, gsi);
	if (!e) {
		pthread_mutex_unlock(&r->lock);
		return -EINVAL;
	}
	old = *e;
	set_msi(e, gsi, addr, data, devid);
	ret = commit(kvm, r);
	if (ret)
		*e = old;	/* what KVM still has */
	pthread_mutex_unlock(&r->lock);
	return ret;
}

int irq__remove_msi_route(struct kvm *kvm, u32 gsi)
{
	struct irq_routes *r = kvm->irq_routes;
	struct kvm_irq_routing_entry *e;
	int ret;

	if (!r)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	e = msi_slot(r, gsi);
	if (!e) {
		pthread_mutex_unlock(&r->lock);
		return -EINVAL;
	}
	*e = (struct kvm_irq_routing_entry){ 0 };
	trim(r);
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
	free(r->msi);
	pthread_mutex_destroy(&r->lock);
	free(r);
	kvm->irq_routes = NULL;
}
