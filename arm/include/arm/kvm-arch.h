/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * arm64 VM state private to arm/: the interrupt controller chosen, the
 * vCPU features requested, what KVM offers, and where the boot images
 * went.  Generic code sees only the opaque struct kvm_arch pointer.
 */
#ifndef LKVM_ARM_KVM_ARCH_H
#define LKVM_ARM_KVM_ARCH_H

#include <linux/kvm.h>

#include "arm/idreg.h"
#include "lkvm/kvm.h"

struct kvm_arch {
	enum irqchip_type gic;		/* resolved: never IRQCHIP_AUTO */
	int gic_fd;
	int its_fd;

	struct kvm_vcpu_init init;	/* target + features for every vCPU */
	bool sve;
	bool ptrauth;

	/* ID registers (arm/cpufeat.c; the assignments are in cfg->arch) */
	u64 masks[KVM_ARM_FEATURE_ID_RANGE_SIZE];
	bool have_masks;

	/*
	 * The VM-wide counter offset (KVM_ARM_SET_COUNTER_OFFSET), when KVM
	 * has it: set at VM creation, then moved on by every pause so that
	 * the guest's counters don't see the time it spent paused.
	 */
	bool counter_offset_set;
	u64 counter_offset;
	u64 paused_cnt;			/* the host's counter when the pause began */
	u64 paused_cycles;		/* taken out of the guest's counters so far */

	u64 entry;			/* boot vCPU's PC */
	u64 dtb_addr;
	u64 initrd_addr;
	u64 initrd_size;
};

/* Interrupt controller (arm/gic.c). */
int gic__create(struct kvm *kvm, struct lkvm_err *err);
int gic__init(struct kvm *kvm, struct lkvm_err *err);
void gic__close(struct kvm *kvm);

/* Boot images: kernel, initrd, device tree into RAM (arm/boot.c). */
int arm_boot__load(struct kvm *kvm, struct lkvm_err *err);

/* vCPU registers (arm/cpu.c). */
int arm_cpu__set_boot_regs(struct kvm_cpu *vcpu, struct lkvm_err *err);
int arm_cpu__finalize(struct kvm_cpu *vcpu, struct lkvm_err *err);

/*
 * ID registers (arm/cpufeat.c): cfg->arch.assigns (parsed with the config)
 * checked against KVM's masks and the host's values and written to every
 * vCPU, after vCPU init and before the first run.
 */
struct idreg_desc;
int arm_cpufeat__apply(struct kvm *kvm, struct lkvm_err *err);
u64 arm_cpufeat__mask(struct kvm *kvm, const struct idreg_desc *d);

/* The host's counter (CNTVCT_EL0 as user space reads it: KVM's physical counter). */
static inline u64 arm__host_counter(void)
{
	u64 v;

	__asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(v) : : "memory");
	return v;
}

/* KVM_{GET,SET}_ONE_REG of a 64-bit register. */
int arm_cpu__get_reg(struct kvm_cpu *vcpu, u64 id, u64 *val);
int arm_cpu__set_reg(struct kvm_cpu *vcpu, u64 id, u64 val);

#endif /* LKVM_ARM_KVM_ARCH_H */
