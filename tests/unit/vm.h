/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A VM with no KVM for unit tests: what kvm__init() does (kvm.c is
 * outside the pure library), and a device set made by the generic device
 * model with the arm64 placement for a given interrupt controller.
 */
#ifndef LKVM_TEST_VM_H
#define LKVM_TEST_VM_H

#include "arm/kvm-arch.h"
#include "lkvm/arch.h"
#include "lkvm/device.h"
#include "lkvm/irq.h"
#include "lkvm/kvm.h"
#include "test.h"

static inline void test_vm_init(struct kvm *kvm, const struct lkvm_config *cfg,
				struct kvm_arch *arch, enum irqchip_type gic)
{
	memset(kvm, 0, sizeof(*kvm));
	memset(arch, 0, sizeof(*arch));
	kvm->cfg = cfg;
	kvm->sys_fd = kvm->vm_fd = kvm->stop_fd = -1;
	kvm->console_in = -1;
	kvm->console_out = -1;
	for (unsigned int i = 0; i < LKVM_MAX_NICS; i++)
		net__backend_init(&kvm->net[i]);
	arch->gic = gic;
	arch->gic_fd = arch->its_fd = -1;
	kvm->arch = arch;
}

/* The devices @cfg asks for, placed as arm64 places them. */
static inline void test_vm_devices(struct kvm *kvm)
{
	struct lkvm_err err = { "" };
	struct lkvm_placement place;
	int r;

	arch__placement(kvm, &place);
	r = devices__create(kvm, &place, &err);
	TEST_ASSERT(r == 0, "devices__create: %s", err.msg);
}

static inline void test_vm_fini(struct kvm *kvm)
{
	devices__free(kvm);
	for (unsigned int i = 0; i < LKVM_MAX_NICS; i++)
		net__close_backend(&kvm->net[i]);
	irq__free(kvm);
	mmio__free(&kvm->mmio);
}

#endif /* LKVM_TEST_VM_H */
