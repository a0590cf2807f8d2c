// SPDX-License-Identifier: GPL-2.0-only
/*
 * The arm64 side of a VM: what the host's KVM must offer for the config,
 * the memory plan and IPA size (arm/include/arm/layout.h draws the map),
 * and VM-wide setup around the generic lifecycle in kvm.c.  Devices are
 * made by generic code (devices.c); arm/irq.c says where they go.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arm/boot.h"
#include "arm/kvm-arch.h"
#include "arm/layout.h"
#include "lkvm/arch.h"
#include "lkvm/file.h"
#include "lkvm/json.h"
#include "lkvm/log.h"

/*
 * Step 2's caps, before the VM exists (the GIC follows in arch__init_vm(),
 * which needs a VM to ask).  Only asks KVM: the config was checked, ID
 * register assignments and all, by arch_config__validate() before
 * /dev/kvm was opened.  Each refusal says "this host cannot ... because
 * ...".  The answers go into kvm->arch, allocated here (freed by
 * arch__close()).
 */
int arch__check_host(struct kvm *kvm, struct lkvm_err *err)
{
	const struct arch_config *cfg = &kvm->cfg->arch;
	struct kvm_arch *a;

	a = calloc(1, sizeof(*a));
	if (!a)
		return seterr(err, ENOMEM, "out of memory");
	a->gic_fd = a->its_fd = -1;
	kvm->arch = a;

	kvm->host_ipa_max = (unsigned int)kvm__check_cap(kvm, KVM_CAP_ARM_VM_IPA_SIZE);
	if (!kvm->host_ipa_max)
		return seterr(err, ENOTSUP, "this host cannot run lkvm's guests because its KVM lacks "
			      "KVM_CAP_ARM_VM_IPA_SIZE (Linux >= 4.20 is needed)");
	if (cfg->nested) {
		struct lkvm_err why;
		int r = arch__diagnose_nested(kvm, cfg->e2h0, &why);

		if (r)
			return seterr(err, -r, "%s: this host cannot run the guest at EL2%s, because %s",
				      cfg->e2h0 ? "--nested --e2h0" : "--nested",
				      cfg->e2h0 ? " without VHE" : "", why.msg);
	}
	if (cfg->pmu && kvm__check_cap(kvm, KVM_CAP_ARM_PMU_V3) <= 0)
		return seterr(err, ENOTSUP, "--pmu: this host cannot give the guest a PMU because its "
			      "KVM lacks KVM_CAP_ARM_PMU_V3 (no PMU on the host CPU, or not exposed "
			      "to KVM); drop --pmu");
	if (cfg->has_counter_offset && kvm__check_cap(kvm, KVM_CAP_COUNTER_OFFSET) <= 0)
		return seterr(err, ENOTSUP, "--counter-offset: this host cannot offset the guest's "
			      "counter because its KVM lacks KVM_CAP_COUNTER_OFFSET (Linux >= 6.4); "
			      "drop --counter-offset");
	if (cfg->nr_assigns && !(kvm__check_cap(kvm, KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES) &
				 (1 << KVM_ARM_FEATURE_ID_RANGE)))
		return seterr(err, ENOTSUP, "--cpu-feature/--id-reg: this host cannot change the "
			      "guest's ID registers because its KVM cannot say which fields are "
			      "writable (KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES; Linux >= 6.7)");
	a->sve = cfg->want_sve && kvm__check_cap(kvm, KVM_CAP_ARM_SVE) > 0;
	a->ptrauth = cfg->want_ptrauth && kvm__check_cap(kvm, KVM_CAP_ARM_PTRAUTH_ADDRESS) > 0 &&
		     kvm__check_cap(kvm, KVM_CAP_ARM_PTRAUTH_GENERIC) > 0;
	return 0;
}

/*
 * The kernel's format, from its header: an Image's, an ELF's program
 * headers, or (for a flat payload) its first 4 KiB, which must not be
 * text.  An Image.gz is recognised as it is inflated into RAM.  Firmware
 * (-f) is any flat image.
 */
int arch__check_files(struct kvm *kvm, struct lkvm_err *err)
{
	struct kernel_info info;
	struct guest_file f;
	int r;

	r = file__open_guest(kvm->cfg->kernel, &f, err);
	if (r)
		return r;
	r = f.gz ? 0 : kernel__probe(f.map, f.size, f.path, &info, err);
	file__close_guest(&f);
	return r;
}

int arch__init_vm(struct kvm *kvm, struct lkvm_err *err)
{
	const struct lkvm_config *cfg = kvm->cfg;
	struct kvm_arch *a = kvm->arch;

	if (ioctl(kvm->vm_fd, KVM_ARM_PREFERRED_TARGET, &a->init) < 0)
		return seterr(err, errno, "KVM_ARM_PREFERRED_TARGET: %s", strerror(errno));
	a->init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	if (cfg->arch.pmu)
		a->init.features[0] |= 1U << KVM_ARM_VCPU_PMU_V3;
	if (a->sve)
		a->init.features[0] |= 1U << KVM_ARM_VCPU_SVE;
	if (a->ptrauth)
		a->init.features[0] |= 1U << KVM_ARM_VCPU_PTRAUTH_ADDRESS |
				       1U << KVM_ARM_VCPU_PTRAUTH_GENERIC;
	if (cfg->arch.nested)
		a->init.features[0] |= 1U << KVM_ARM_VCPU_HAS_EL2;
	if (cfg->arch.e2h0)
		a->init.features[0] |= 1U << KVM_ARM_VCPU_HAS_EL2_E2H0;

	if (cfg->arch.has_counter_offset && kvm__check_cap(kvm, KVM_CAP_COUNTER_OFFSET) <= 0)
		return seterr(err, ENOTSUP, "--counter-offset: this host's KVM lacks "
			      "KVM_CAP_COUNTER_OFFSET (Linux >= 6.4)");
	/*
	 * One VM-wide offset for both counters from the start, so that a
	 * pause can move it on (arch__vm_resume) with both counters going on
	 * from where they stopped.  Without --counter-offset it is 0: the
	 * guest's counters read the host's.  KVM's default would start the
	 * virtual counter near zero, and the first offset a resume sets would
	 * make it jump.  Not a nonzero one either: where the CPU can't offset
	 * the physical counter itself (FEAT_ECV's CNTPOFF), KVM emulates the
	 * physical counter and timer for a VM with one, and a guest on them
	 * (a guest hypervisor is) pays for each access: on the emulated host
	 * kvm-unit-tests' ptimer test timed out with one, and passes with 0
	 * as it does under kvmtool.  A resume sets one, so only a guest that
	 * was paused pays.
	 */
	/*
	 * Not for an E2H0 guest hypervisor unless asked: with a VM-wide offset
	 * from the start, an nVHE L1 on the emulated host (Linux 7.3) never
	 * got past its first KVM_RUN (seen in the e2h0 system profile); a
	 * pause then lets its clock run on (arch__vm_resume warns).
	 */
	if (kvm__check_cap(kvm, KVM_CAP_COUNTER_OFFSET) > 0 &&
	    (!cfg->arch.e2h0 || cfg->arch.has_counter_offset)) {
		struct kvm_arm_counter_offset off = {
			.counter_offset = cfg->arch.has_counter_offset ? cfg->arch.counter_offset : 0,
		};

		if (ioctl(kvm->vm_fd, KVM_ARM_SET_COUNTER_OFFSET, &off) == 0) {
			a->counter_offset_set = true;
			a->counter_offset = off.counter_offset;
		} else if (cfg->arch.has_counter_offset) {
			return seterr(err, errno, "KVM_ARM_SET_COUNTER_OFFSET: %s", strerror(errno));
		} else {
			/* Only the pause needed it: the guest's clock will run on through one. */
			pr_warn(kvm, "KVM_ARM_SET_COUNTER_OFFSET: %s; a paused guest's clock runs on",
				strerror(errno));
		}
	}
	return gic__create(kvm, err);
}

void arch__vm_paused(struct kvm *kvm)
{
	kvm->arch->paused_cnt = arm__host_counter();
}

int arch__vm_resume(struct kvm *kvm, struct lkvm_err *err)
{
	struct kvm_arch *a = kvm->arch;
	struct kvm_arm_counter_offset off;
	u64 delta = arm__host_counter() - a->paused_cnt;

	if (!a->counter_offset_set)
		return seterr(err, ENOTSUP, "this host's KVM lacks KVM_CAP_COUNTER_OFFSET (Linux >= "
			      "6.4): the guest's clock ran on while it was paused");
	/* api.rst 4.139: both counters, every vCPU; -EBUSY while any vCPU is in an ioctl. */
	off = (struct kvm_arm_counter_offset){ .counter_offset = a->counter_offset + delta };
	if (ioctl(kvm->vm_fd, KVM_ARM_SET_COUNTER_OFFSET, &off) < 0)
		return seterr(err, errno, "KVM_ARM_SET_COUNTER_OFFSET: %s: the guest's clock ran on "
			      "while it was paused", strerror(errno));
	a->counter_offset = off.counter_offset;
	a->paused_cycles += delta;
	return 0;
}

bool arch__pause_holds_clock(const struct kvm *kvm)
{
	return kvm->arch && kvm->arch->counter_offset_set;
}

void arch__debug_vm(struct kvm *kvm, struct json *j)
{
	const struct kvm_arch *a = kvm->arch;

	json__bool(j, "nested", kvm->cfg->arch.nested);
	json__bool(j, "e2h0", kvm->cfg->arch.e2h0);
	if (!a)
		return;
	json__str(j, "gic", arch_config__irqchip_name(a->gic));
	json__obj_begin(j, "counter");
	json__bool(j, "pause_holds_clock", a->counter_offset_set);
	if (a->counter_offset_set)
		json__hex(j, "offset", a->counter_offset);
	json__u64(j, "paused_cycles", a->paused_cycles);
	json__obj_end(j);
}

int arch__finalize_vm(struct kvm *kvm, struct lkvm_err *err)
{
	int r = gic__init(kvm, err);

	for (unsigned int i = 0; !r && i < kvm->nr_cpus; i++)
		r = arm_cpu__finalize(&kvm->cpus[i], err);
	if (!r)
		r = arm_cpufeat__apply(kvm, err);
	/*
	 * "lkvm cpu" builds a VM only to look at its vCPUs: nothing to boot;
	 * --restore has its RAM and registers from the snapshot.
	 */
	if ((!kvm->cfg->kernel && !kvm->cfg->firmware) || kvm->restore)
		return r;
	if (!r)
		r = arm_boot__load(kvm, err);
	if (!r)
		r = arm_cpu__set_boot_regs(&kvm->cpus[0], err);
	return r;
}

void arch__close(struct kvm *kvm)
{
	if (!kvm->arch)
		return;
	gic__close(kvm);
	free(kvm->arch);
	kvm->arch = NULL;
}
