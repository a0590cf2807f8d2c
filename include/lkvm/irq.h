/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VM's GSI routing table (KVM api.rst KVM_SET_GSI_ROUTING), for MSIs
 * delivered through irqfds.  Setting a table replaces KVM's default
 * routing, so the table always starts with the interrupt controller's
 * wired pins (GSI n = pin n, as the default had them) and MSI routes take
 * the GSIs after those.  Every change re-sends the whole table.
 */
#ifndef LKVM_IRQ_H
#define LKVM_IRQ_H

#include "lkvm/util.h"

struct kvm;

/*
 * Creates the table, with @nr_pins pins of the interrupt controller kept
 * routed as by default (arm64: the SPIs).  Call during VM setup, before
 * any MSI route; without it MSI routes fail with -ENOMEM.
 */
void irq__set_wired_pins(struct kvm *kvm, unsigned int nr_pins);

/*
 * Adds an MSI route (@addr, @data; @devid is the requester ID the GICv3
 * ITS needs, KVM_MSI_VALID_DEVID) and returns its GSI in *@gsi.  Returns
 * 0 or -errno (KVM's).  Any thread.
 */
int irq__add_msi_route(struct kvm *kvm, u64 addr, u32 data, u32 devid, u32 *gsi);

/*
 * Changes the MSI route @gsi.  Returns 0 or -errno: -EINVAL if @gsi is not
 * an MSI route, KVM's error if it refused the new table (the route is
 * then as before, here and in KVM).
 */
int irq__update_msi_route(struct kvm *kvm, u32 gsi, u64 addr, u32 data, u32 devid);

/*
 * Removes the MSI route @gsi (whose irqfd the caller no longer has, or
 * never got); a later irq__add_msi_route() may reuse the GSI, the other
 * routes keep theirs.  Returns 0, -EINVAL if @gsi is not an MSI route, or
 * KVM's error if it refused the smaller table: the GSI is free here all
 * the same, and KVM drops the route with the next table it takes.
 */
int irq__remove_msi_route(struct kvm *kvm, u32 gsi);

/* Frees the table (KVM's copy goes with the VM). */
void irq__free(struct kvm *kvm);

#endif /* LKVM_IRQ_H */
