// SPDX-License-Identifier: GPL-2.0-only
/*
 * arm64 vCPUs: the feature set every vCPU is created with (PSCI 0.2, SVE
 * and pointer auth where KVM has them, PMUv3 with --pmu, EL2 with
 * --nested), per-vCPU timer and PMU interrupt wiring, boot registers, and
 * the register dump used when KVM_RUN fails and the one "lkvm debug"
 * shows.  KVM api.rst 4.82 (KVM_ARM_VCPU_INIT), 4.68 (KVM_GET_ONE_REG and
 * the arm64 register IDs), devices/vcpu.rst (PMU, timer attributes).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arm/kvm-arch.h"
#include "arm/layout.h"
#include "lkvm/arch.h"
#include "lkvm/json.h"
#include "lkvm/log.h"

#define CORE_REG(x)	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
			 KVM_REG_ARM_CORE_REG(x))
#define REG_MPIDR_EL1	ARM64_SYS_REG(3, 0, 0, 0, 5)
#define REG_ESR_EL1	ARM64_SYS_REG(3, 0, 5, 2, 0)
#define REG_FAR_EL1	ARM64_SYS_REG(3, 0, 6, 0, 0)
#define MPIDR_AFF_MASK	0xff00ffffffULL

int arm_cpu__get_reg(struct kvm_cpu *vcpu, u64 id, u64 *val)
{
	struct kvm_one_reg r = { .id = id, .addr = (u64)(uintptr_t)val };

	return ioctl(vcpu->fd, KVM_GET_ONE_REG, &r) < 0 ? -errno : 0;
}

int arm_cpu__set_reg(struct kvm_cpu *vcpu, u64 id, u64 val)
{
	struct kvm_one_reg r = { .id = id, .addr = (u64)(uintptr_t)&val };

	return ioctl(vcpu->fd, KVM_SET_ONE_REG, &r) < 0 ? -errno : 0;
}

static const char *feature_names(u32 features, char *buf, size_t len)
{
	static const char *const names[] = {
		"POWER_OFF", "EL1_32BIT", "PSCI_0_2", "PMU_V3", "SVE", "PTRAUTH_ADDRESS",
		"PTRAUTH_GENERIC", "HAS_EL2", "HAS_EL2_E2H0",
	};
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < ARRAY_SIZE(names) && off < len; i++)
		if (features & (1U << i))
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "," : "",
						names[i]);
	return buf;
}

int arch__init_vcpu(struct kvm_cpu *vcpu, struct lkvm_err *err)
{
	struct kvm_arch *a = vcpu->kvm->arch;
	struct kvm_vcpu_init init = a->init;
	char names[160];
	u64 mpidr;
	int r;

	if (vcpu->id)
		init.features[0] |= 1U << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(vcpu->fd, KVM_ARM_VCPU_INIT, &init) < 0)
		return seterr(err, errno, "KVM_ARM_VCPU_INIT (vCPU %u, target %u, features %s): %s",
			      vcpu->id, init.target,
			      feature_names(init.features[0], names, sizeof(names)),
			      strerror(errno));
	if (a->sve) {
		int feature = KVM_ARM_VCPU_SVE;

		if (ioctl(vcpu->fd, KVM_ARM_VCPU_FINALIZE, &feature) < 0)
			return seterr(err, errno, "KVM_ARM_VCPU_FINALIZE (SVE, vCPU %u): %s",
				      vcpu->id, strerror(errno));
	}
	r = arm_cpu__get_reg(vcpu, REG_MPIDR_EL1, &mpidr);
	if (r)
		return seterr(err, -r, "KVM_GET_ONE_REG MPIDR_EL1 (vCPU %u): %s", vcpu->id,
			      strerror(-r));
	vcpu->mpidr = mpidr & MPIDR_AFF_MASK;
	return 0;
}

static int vcpu_attr(struct kvm_cpu *vcpu, u32 group, u64 attr, const void *val, bool probe)
{
	struct kvm_device_attr a = { .group = group, .attr = attr, .addr = (u64)(uintptr_t)val };

	if (probe && ioctl(vcpu->fd, KVM_HAS_DEVICE_ATTR, &a) < 0)
		return -ENXIO;
	return ioctl(vcpu->fd, KVM_SET_DEVICE_ATTR, &a) < 0 ? -errno : 0;
}

/* The timer PPIs in KVM must match what the DT tells the guest. */
static int set_timer_irqs(struct kvm_cpu *vcpu, struct lkvm_err *err)
{
	static const struct {
		u64 attr;
		int ppi;
		bool el2;
		const char *name;
	} timers[] = {
		{ KVM_ARM_VCPU_TIMER_IRQ_VTIMER, ARM_PPI_TIMER_VIRT, false, "VTIMER" },
		{ KVM_ARM_VCPU_TIMER_IRQ_PTIMER, ARM_PPI_TIMER_PHYS, false, "PTIMER" },
		{ KVM_ARM_VCPU_TIMER_IRQ_HVTIMER, ARM_PPI_TIMER_HYP_VIRT, true, "HVTIMER" },
		{ KVM_ARM_VCPU_TIMER_IRQ_HPTIMER, ARM_PPI_TIMER_HYP, true, "HPTIMER" },
	};
	bool el2 = vcpu->kvm->cfg->arch.nested;

	for (unsigned int i = 0; i < ARRAY_SIZE(timers); i++) {
		int intid = ARM_PPI_INTID(timers[i].ppi);
		int r;

		if (timers[i].el2 && !el2)
			continue;
		r = vcpu_attr(vcpu, KVM_ARM_VCPU_TIMER_CTRL, timers[i].attr, &intid, true);
		if (r == -ENXIO && !timers[i].el2)
			continue;	/* older KVM: fixed defaults, which are these */
		if (r)
			return seterr(err, -r, "KVM_ARM_VCPU_TIMER_IRQ_%s = %d (vCPU %u): %s",
				      timers[i].name, intid, vcpu->id, strerror(-r));
	}
	return 0;
}

static int init_pmu(struct kvm_cpu *vcpu, struct lkvm_err *err)
{
	const struct lkvm_config *cfg = vcpu->kvm->cfg;
	int intid = ARM_PPI_INTID(ARM_PPI_PMU);
	int r;

	r = vcpu_attr(vcpu, KVM_ARM_VCPU_PMU_V3_CTRL, KVM_ARM_VCPU_PMU_V3_IRQ, &intid, false);
	if (r)
		return seterr(err, -r, "KVM_ARM_VCPU_PMU_V3_IRQ (vCPU %u): %s", vcpu->id,
			      strerror(-r));
	if (cfg->arch.has_pmu_counters) {
		unsigned int n = cfg->arch.pmu_counters;

		r = vcpu_attr(vcpu, KVM_ARM_VCPU_PMU_V3_CTRL, KVM_ARM_VCPU_PMU_V3_SET_NR_COUNTERS,
			      &n, true);
		if (r == -ENXIO)
			return seterr(err, ENOTSUP, "--pmu-counters: this host's KVM cannot set the "
				      "number of PMU counters (KVM_ARM_VCPU_PMU_V3_SET_NR_COUNTERS "
				      "needs Linux >= 6.15)");
		if (r)
			return seterr(err, -r, "--pmu-counters %u: KVM refused it (%s); the host's "
				      "PMU has fewer counters", n, strerror(-r));
	}
	r = vcpu_attr(vcpu, KVM_ARM_VCPU_PMU_V3_CTRL, KVM_ARM_VCPU_PMU_V3_INIT, NULL, false);
	if (r)
		return seterr(err, -r, "KVM_ARM_VCPU_PMU_V3_INIT (vCPU %u): %s", vcpu->id,
			      strerror(-r));
	return 0;
}

int arm_cpu__finalize(struct kvm_cpu *vcpu, struct lkvm_err *err)
{
	int r = set_timer_irqs(vcpu, err);

	if (!r && vcpu->kvm->cfg->arch.pmu)
		r = init_pmu(vcpu, err);
	return r;
}

int arm_cpu__set_boot_regs(struct kvm_cpu *vcpu, struct lkvm_err *err)
{
	struct kvm_arch *a = vcpu->kvm->arch;
	int r;

	/* Boot protocol: x0 = DTB, x1..x3 = 0 (reset state), PC = entry. */
	r = arm_cpu__set_reg(vcpu, CORE_REG(regs.regs[0]), a->dtb_addr);
	if (!r)
		r = arm_cpu__set_reg(vcpu, CORE_REG(regs.pc), a->entry);
	if (r)
		return seterr(err, -r, "KVM_SET_ONE_REG (boot registers): %s", strerror(-r));
	return 0;
}

void arch__dump_vcpu(struct kvm_cpu *vcpu)
{
	static const struct {
		const char *name;
		u64 id;
	} regs[] = {
		{ "pc", CORE_REG(regs.pc) },
		{ "pstate", CORE_REG(regs.pstate) },
		{ "sp_el1", CORE_REG(sp_el1) },
		{ "elr_el1", CORE_REG(elr_el1) },
		{ "esr_el1", REG_ESR_EL1 },
		{ "far_el1", REG_FAR_EL1 },
		{ "x30", CORE_REG(regs.regs[30]) },
		{ "elr_el2", ARM64_SYS_REG(3, 4, 4, 0, 1) },
		{ "esr_el2", ARM64_SYS_REG(3, 4, 5, 2, 0) },
		{ "far_el2", ARM64_SYS_REG(3, 4, 6, 0, 0) },
		{ "vbar_el2", ARM64_SYS_REG(3, 4, 12, 0, 0) },
		{ "hcr_el2", ARM64_SYS_REG(3, 4, 1, 1, 0) },
		{ "sctlr_el2", ARM64_SYS_REG(3, 4, 1, 0, 0) },
	};
	u64 v;

	for (unsigned int i = 0; i < ARRAY_SIZE(regs); i++)
		if (!arm_cpu__get_reg(vcpu, regs[i].id, &v))
			pr_err(vcpu->kvm, "vCPU %u %-7s %#018llx", vcpu->id, regs[i].name,
			       (unsigned long long)v);
}

struct reg_desc {
	const char *name;
	u64 id;
};

/* System registers by their Arm ARM encoding (op0, op1, CRn, CRm, op2). */
static const struct reg_desc sys_regs[] = {
	{ "sctlr_el1", ARM64_SYS_REG(3, 0, 1, 0, 0) },
	{ "cpacr_el1", ARM64_SYS_REG(3, 0, 1, 0, 2) },
	{ "ttbr0_el1", ARM64_SYS_REG(3, 0, 2, 0, 0) },
	{ "ttbr1_el1", ARM64_SYS_REG(3, 0, 2, 0, 1) },
	{ "tcr_el1", ARM64_SYS_REG(3, 0, 2, 0, 2) },
	{ "esr_el1", REG_ESR_EL1 },
	{ "far_el1", REG_FAR_EL1 },
	{ "par_el1", ARM64_SYS_REG(3, 0, 7, 4, 0) },
	{ "mair_el1", ARM64_SYS_REG(3, 0, 10, 2, 0) },
	{ "vbar_el1", ARM64_SYS_REG(3, 0, 12, 0, 0) },
	{ "contextidr_el1", ARM64_SYS_REG(3, 0, 13, 0, 1) },
	{ "tpidr_el1", ARM64_SYS_REG(3, 0, 13, 0, 4) },
	{ "tpidr_el0", ARM64_SYS_REG(3, 3, 13, 0, 2) },
	{ "cntkctl_el1", ARM64_SYS_REG(3, 0, 14, 1, 0) },
	{ "mpidr_el1", REG_MPIDR_EL1 },
};

/* The guest's virtual timer, through KVM's own IDs (api.rst: CNT and CVAL are swapped on purpose). */
static const struct reg_desc timer_regs[] = {
	{ "cntv_ctl", KVM_REG_ARM_TIMER_CTL },
	{ "cntv_cval", KVM_REG_ARM_TIMER_CVAL },
	{ "cntvct", KVM_REG_ARM_TIMER_CNT },
};

/* A nested vCPU's EL2 state (KVM_ARM_VCPU_HAS_EL2): the guest hypervisor's registers. */
static const struct reg_desc el2_regs[] = {
	{ "hcr_el2", ARM64_SYS_REG(3, 4, 1, 1, 0) },
	{ "sctlr_el2", ARM64_SYS_REG(3, 4, 1, 0, 0) },
	{ "mdcr_el2", ARM64_SYS_REG(3, 4, 1, 1, 1) },
	{ "cptr_el2", ARM64_SYS_REG(3, 4, 1, 1, 2) },
	{ "hstr_el2", ARM64_SYS_REG(3, 4, 1, 1, 3) },
	{ "ttbr0_el2", ARM64_SYS_REG(3, 4, 2, 0, 0) },
	{ "ttbr1_el2", ARM64_SYS_REG(3, 4, 2, 0, 1) },
	{ "tcr_el2", ARM64_SYS_REG(3, 4, 2, 0, 2) },
	{ "vttbr_el2", ARM64_SYS_REG(3, 4, 2, 1, 0) },
	{ "vtcr_el2", ARM64_SYS_REG(3, 4, 2, 1, 2) },
	{ "spsr_el2", ARM64_SYS_REG(3, 4, 4, 0, 0) },
	{ "elr_el2", ARM64_SYS_REG(3, 4, 4, 0, 1) },
	{ "sp_el2", ARM64_SYS_REG(3, 6, 4, 1, 0) },
	{ "esr_el2", ARM64_SYS_REG(3, 4, 5, 2, 0) },
	{ "far_el2", ARM64_SYS_REG(3, 4, 6, 0, 0) },
	{ "hpfar_el2", ARM64_SYS_REG(3, 4, 6, 0, 4) },
	{ "mair_el2", ARM64_SYS_REG(3, 4, 10, 2, 0) },
	{ "vbar_el2", ARM64_SYS_REG(3, 4, 12, 0, 0) },
	{ "tpidr_el2", ARM64_SYS_REG(3, 4, 13, 0, 2) },
	{ "cntvoff_el2", ARM64_SYS_REG(3, 4, 14, 0, 3) },
	{ "cnthctl_el2", ARM64_SYS_REG(3, 4, 14, 1, 0) },
	{ "vpidr_el2", ARM64_SYS_REG(3, 4, 0, 0, 0) },
	{ "vmpidr_el2", ARM64_SYS_REG(3, 4, 0, 0, 5) },
};

static void debug_regs(struct kvm_cpu *vcpu, struct json *j, const char *group,
		       const struct reg_desc *regs, unsigned int n)
{
	json__obj_begin(j, group);
	for (unsigned int i = 0; i < n; i++) {
		u64 v;

		if (!arm_cpu__get_reg(vcpu, regs[i].id, &v))
			json__hex(j, regs[i].name, v);
	}
	json__obj_end(j);
}

/* PSTATE.M as the Arm ARM writes it (C5.2.19, SPSR_ELx.M[3:0] in AArch64). */
static const char *pstate_mode(u64 pstate)
{
	static const char *const modes[16] = {
		[0x0] = "EL0t", [0x4] = "EL1t", [0x5] = "EL1h", [0x8] = "EL2t", [0x9] = "EL2h",
	};
	const char *m = pstate & 0x10 ? NULL : modes[pstate & 0xf];

	return m ? m : "?";
}

void arch__debug_vcpu(struct kvm_cpu *vcpu, struct json *j)
{
	static const struct reg_desc core[] = {
		{ "pc", CORE_REG(regs.pc) },
		{ "pstate", CORE_REG(regs.pstate) },
		{ "sp_el0", CORE_REG(regs.sp) },
		{ "sp_el1", CORE_REG(sp_el1) },
		{ "elr_el1", CORE_REG(elr_el1) },
		{ "spsr_el1", CORE_REG(spsr[KVM_SPSR_EL1]) },
	};
	u64 v;

	json__hex(j, "mpidr", vcpu->mpidr);
	if (!arm_cpu__get_reg(vcpu, CORE_REG(regs.pstate), &v))
		json__str(j, "mode", pstate_mode(v));
	json__obj_begin(j, "core");
	for (unsigned int i = 0; i < ARRAY_SIZE(core); i++)
		if (!arm_cpu__get_reg(vcpu, core[i].id, &v))
			json__hex(j, core[i].name, v);
	for (unsigned int i = 0; i < 31; i++) {
		char name[8];

		snprintf(name, sizeof(name), "x%u", i);
		if (!arm_cpu__get_reg(vcpu, CORE_REG(regs.regs[i]), &v))
			json__hex(j, name, v);
	}
	json__obj_end(j);
	debug_regs(vcpu, j, "sys", sys_regs, ARRAY_SIZE(sys_regs));
	debug_regs(vcpu, j, "timer", timer_regs, ARRAY_SIZE(timer_regs));
	if (vcpu->kvm->cfg->arch.nested)
		debug_regs(vcpu, j, "el2", el2_regs, ARRAY_SIZE(el2_regs));
}

bool arch__handle_exit(struct kvm_cpu *vcpu __unused)
{
	return false;
}
