// SPDX-License-Identifier: GPL-2.0-only
/*
 * arm64 snapshot state without KVM (see arm/include/arm/snapshot.h): a
 * vCPU's registers through an accessor table, and which vGICv3 and vITS
 * attributes hold the interrupt controller's state, in restore order.
 * Register offsets are the GICv3 architecture's (Arm IHI 0069, 12.9
 * distributor, 12.10-12.11 redistributor, 12.19 ITS; 12.2 the ICC and
 * ICH system registers), accessed the way arm-vgic-v3.rst says: the
 * distributor and redistributor 32 bits at a time (a 64-bit register as
 * two halves), the CPU interface 64 bits by system register encoding.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/kvm.h>

#include "arm/snapshot.h"

/* ---- vCPU registers --------------------------------------------------- */

unsigned int arm_snap__reg_size(u64 id)
{
	unsigned int shift = (unsigned int)((id & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT);

	return shift > 8 ? 0 : 1U << shift;
}

const char *arm_snap__reg_name(u64 id, char *buf, size_t len)
{
	u64 coproc = id & KVM_REG_ARM_COPROC_MASK;

	if (id == KVM_REG_ARM64_SVE_VLS)
		snprintf(buf, len, "sve-vls");
	else if (coproc == KVM_REG_ARM64_SYSREG)
		snprintf(buf, len, "S%u_%u_C%u_C%u_%u",
			 (unsigned int)((id & KVM_REG_ARM64_SYSREG_OP0_MASK) >>
					KVM_REG_ARM64_SYSREG_OP0_SHIFT),
			 (unsigned int)((id & KVM_REG_ARM64_SYSREG_OP1_MASK) >>
					KVM_REG_ARM64_SYSREG_OP1_SHIFT),
			 (unsigned int)((id & KVM_REG_ARM64_SYSREG_CRN_MASK) >>
					KVM_REG_ARM64_SYSREG_CRN_SHIFT),
			 (unsigned int)((id & KVM_REG_ARM64_SYSREG_CRM_MASK) >>
					KVM_REG_ARM64_SYSREG_CRM_SHIFT),
			 (unsigned int)((id & KVM_REG_ARM64_SYSREG_OP2_MASK) >>
					KVM_REG_ARM64_SYSREG_OP2_SHIFT));
	else if (coproc == KVM_REG_ARM_CORE)
		snprintf(buf, len, "core+%#llx", (unsigned long long)(id & 0xffff) * 4);
	else
		snprintf(buf, len, "%#llx", (unsigned long long)id);
	return buf;
}

/* KVM_GET_REG_LIST into a new array (*@ids, free() it). */
static int reg_list(const struct vcpu_regio *io, u64 **ids, u64 *n, struct lkvm_err *err)
{
	u64 want = 0;
	int r = io->reg_list(io->ctx, NULL, &want);

	*ids = NULL;
	*n = 0;
	if (r && r != -E2BIG) {
		seterr(err, -r, "KVM_GET_REG_LIST: %s", strerror(-r));
		return r;
	}
	if (want > SNAP_MAX_REGS) {
		seterr(err, E2BIG, "KVM_GET_REG_LIST: %llu registers, more than a snapshot holds "
		       "(%u)", (unsigned long long)want, SNAP_MAX_REGS);
		return -E2BIG;
	}
	*ids = calloc(want ? want : 1, sizeof(**ids));
	if (!*ids) {
		seterr(err, ENOMEM, "out of memory");
		return -ENOMEM;
	}
	r = io->reg_list(io->ctx, *ids, &want);
	if (r) {
		free(*ids);
		*ids = NULL;
		seterr(err, -r, "KVM_GET_REG_LIST: %s", strerror(-r));
		return r;
	}
	*n = want;
	return 0;
}

int arm_snap__save_vcpu(const struct vcpu_regio *io, u32 index, u32 mp_state,
			struct snap_writer *w, struct lkvm_err *err)
{
	struct snap_vcpu v = { .mp_state = mp_state };
	u8 *vals = NULL;
	u64 *ids, n;
	char name[40];
	int r = reg_list(io, &ids, &n, err);

	if (r)
		return r;
	v.regs = calloc(n ? n : 1, sizeof(*v.regs));
	vals = calloc(n ? n : 1, SNAP_MAX_REG_SIZE);
	if (!v.regs || !vals) {
		r = seterr(err, ENOMEM, "out of memory");
		goto out;
	}
	for (u64 i = 0; i < n; i++) {
		unsigned int size = arm_snap__reg_size(ids[i]);
		u8 *val = vals + i * SNAP_MAX_REG_SIZE;

		if (!size) {
			r = seterr(err, E2BIG, "vCPU %u: register %s is larger than a snapshot "
				   "holds", index, arm_snap__reg_name(ids[i], name, sizeof(name)));
			goto out;
		}
		r = io->get(io->ctx, ids[i], val);
		if (r) {
			r = seterr(err, -r, "vCPU %u: KVM_GET_ONE_REG %s: %s", index,
				   arm_snap__reg_name(ids[i], name, sizeof(name)), strerror(-r));
			goto out;
		}
		v.regs[i] = (struct snap_reg){ .id = ids[i], .size = size, .val = val };
	}
	v.nr_regs = (unsigned int)n;
	snapshot__put_vcpu(w, index, &v);
out:
	free(vals);
	free(v.regs);
	free(ids);
	return r;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static bool has_id(const u64 *sorted, u64 n, u64 id)
{
	return bsearch(&id, sorted, n, sizeof(*sorted), cmp_u64) != NULL;
}

int arm_snap__restore_vcpu(const struct vcpu_regio *io, u32 index, const struct snap_vcpu *v,
			   struct lkvm_err *err)
{
	u8 cur[SNAP_MAX_REG_SIZE];
	u64 *ids, *saved = NULL, n;
	char name[40];
	int r = reg_list(io, &ids, &n, err);

	if (r)
		return r;
	saved = calloc(v->nr_regs ? v->nr_regs : 1, sizeof(*saved));
	if (!saved) {
		r = seterr(err, ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned int i = 0; i < v->nr_regs; i++)
		saved[i] = v->regs[i].id;
	qsort(ids, n, sizeof(*ids), cmp_u64);
	qsort(saved, v->nr_regs, sizeof(*saved), cmp_u64);
	/* The same register set, both ways: other features or another KVM otherwise. */
	for (unsigned int i = 0; i < v->nr_regs; i++) {
		const struct snap_reg *reg = &v->regs[i];

		if (!has_id(ids, n, reg->id)) {
			r = seterr(err, EINVAL, "vCPU %u: the snapshot has register %s, which this "
				   "host's KVM does not give the vCPU (other vCPU features, or "
				   "another kernel)", index,
				   arm_snap__reg_name(reg->id, name, sizeof(name)));
			goto out;
		}
		if (reg->size != arm_snap__reg_size(reg->id)) {
			r = seterr(err, EINVAL, "vCPU %u: register %s saved with %u bytes, KVM's "
				   "has %u", index, arm_snap__reg_name(reg->id, name, sizeof(name)),
				   reg->size, arm_snap__reg_size(reg->id));
			goto out;
		}
	}
	for (u64 i = 0; i < n; i++)
		if (!has_id(saved, v->nr_regs, ids[i])) {
			r = seterr(err, EINVAL, "vCPU %u: this host's KVM gives the vCPU register %s, "
				   "which the snapshot lacks (other vCPU features, or another "
				   "kernel)", index, arm_snap__reg_name(ids[i], name, sizeof(name)));
			goto out;
		}
	/* In the saved order, which is KVM_GET_REG_LIST's. */
	for (unsigned int i = 0; i < v->nr_regs; i++) {
		const struct snap_reg *reg = &v->regs[i];
		int g;

		r = reg->id == KVM_REG_ARM64_SVE_VLS ? -EPERM : io->set(io->ctx, reg->id, reg->val);
		if (!r)
			continue;
		/* Refused: fine if it holds the saved value already (read-only, or fixed). */
		g = io->get(io->ctx, reg->id, cur);
		if (!g && !memcmp(cur, reg->val, reg->size)) {
			r = 0;
			continue;
		}
		if (reg->id == KVM_REG_ARM64_SVE_VLS)
			r = seterr(err, EINVAL, "vCPU %u: the snapshot's SVE vector lengths differ "
				   "from this host's", index);
		else
			r = seterr(err, -r, "vCPU %u: KVM_SET_ONE_REG %s: %s (this host cannot "
				   "take the saved value)", index,
				   arm_snap__reg_name(reg->id, name, sizeof(name)), strerror(-r));
		goto out;
	}
out:
	free(saved);
	free(ids);
	return r;
}

/* ---- the vGICv3 ----------------------------------------------------------- */

/* Distributor (IHI 0069 12.9), offsets from GICD_base. */
#define GICD_CTLR		0x0000
#define GICD_IGROUPR		0x0080
#define GICD_ISENABLER		0x0100
#define GICD_ISPENDR		0x0200
#define GICD_ISACTIVER		0x0300
#define GICD_IPRIORITYR		0x0400
#define GICD_ICFGR		0x0c00
#define GICD_IGRPMODR		0x0d00
#define GICD_IROUTER		0x6000

/* Redistributor (12.10, 12.11), offsets from RD_base; the SGI frame 64 KiB on. */
#define GICR_CTLR		0x0000
#define GICR_PROPBASER		0x0070
#define GICR_PENDBASER		0x0078
#define GICR_SGI		0x10000
#define GICR_IGROUPR0		(GICR_SGI + 0x0080)
#define GICR_ISENABLER0		(GICR_SGI + 0x0100)
#define GICR_ISPENDR0		(GICR_SGI + 0x0200)
#define GICR_ISACTIVER0		(GICR_SGI + 0x0300)
#define GICR_IPRIORITYR		(GICR_SGI + 0x0400)
#define GICR_ICFGR0		(GICR_SGI + 0x0c00)
#define GICR_IGRPMODR0		(GICR_SGI + 0x0d00)

/* The CPU_SYSREGS attr's encoding of a system register (arm-vgic-v3.rst). */
#define GIC_SYSREG(op0, op1, crn, crm, op2)					\
	((u64)(op0) << KVM_REG_ARM64_SYSREG_OP0_SHIFT |			\
	 (u64)(op1) << KVM_REG_ARM64_SYSREG_OP1_SHIFT |			\
	 (u64)(crn) << KVM_REG_ARM64_SYSREG_CRN_SHIFT |			\
	 (u64)(crm) << KVM_REG_ARM64_SYSREG_CRM_SHIFT |			\
	 (u64)(op2) << KVM_REG_ARM64_SYSREG_OP2_SHIFT)

/* ICC_SRE and ICC_CTLR first: they say how the others are laid out (PRIbits, ...). */
static const u64 icc_regs[] = {
	GIC_SYSREG(3, 0, 12, 12, 5),	/* ICC_SRE_EL1 */
	GIC_SYSREG(3, 0, 12, 12, 4),	/* ICC_CTLR_EL1 */
	GIC_SYSREG(3, 0, 4, 6, 0),	/* ICC_PMR_EL1 */
	GIC_SYSREG(3, 0, 12, 8, 3),	/* ICC_BPR0_EL1 */
	GIC_SYSREG(3, 0, 12, 12, 3),	/* ICC_BPR1_EL1 */
	GIC_SYSREG(3, 0, 12, 8, 4),	/* ICC_AP0R0_EL1 .. 3 */
	GIC_SYSREG(3, 0, 12, 8, 5),
	GIC_SYSREG(3, 0, 12, 8, 6),
	GIC_SYSREG(3, 0, 12, 8, 7),
	GIC_SYSREG(3, 0, 12, 9, 0),	/* ICC_AP1R0_EL1 .. 3 */
	GIC_SYSREG(3, 0, 12, 9, 1),
	GIC_SYSREG(3, 0, 12, 9, 2),
	GIC_SYSREG(3, 0, 12, 9, 3),
	GIC_SYSREG(3, 0, 12, 12, 6),	/* ICC_IGRPEN0_EL1 */
	GIC_SYSREG(3, 0, 12, 12, 7),	/* ICC_IGRPEN1_EL1 */
};

/* A guest hypervisor's virtual CPU interface (12.2, ICH_*_EL2). */
static const u64 ich_regs[] = {
	GIC_SYSREG(3, 4, 12, 11, 0),	/* ICH_HCR_EL2 */
	GIC_SYSREG(3, 4, 12, 11, 7),	/* ICH_VMCR_EL2 */
	GIC_SYSREG(3, 4, 12, 8, 0),	/* ICH_AP0R0_EL2 .. 3 */
	GIC_SYSREG(3, 4, 12, 8, 1),
	GIC_SYSREG(3, 4, 12, 8, 2),
	GIC_SYSREG(3, 4, 12, 8, 3),
	GIC_SYSREG(3, 4, 12, 9, 0),	/* ICH_AP1R0_EL2 .. 3 */
	GIC_SYSREG(3, 4, 12, 9, 1),
	GIC_SYSREG(3, 4, 12, 9, 2),
	GIC_SYSREG(3, 4, 12, 9, 3),
};

#define ICH_LR_EL2(n)	GIC_SYSREG(3, 4, 12, 12 + (n) / 8, (n) % 8)
#define NR_ICH_LRS	16

u64 arm_snap__gic_mpidr(u64 mpidr)
{
	return ((mpidr >> 32) & 0xff) << 24 | (mpidr & 0xffffff);
}

struct attr_list {
	struct snap_attr *a;
	unsigned int n, max;
};

static void add(struct attr_list *l, u32 group, u32 size, u64 attr)
{
	if (l->a && l->n < l->max)
		l->a[l->n] = (struct snap_attr){ .group = group, .size = size, .attr = attr };
	l->n++;
}

/* One 32-bit register per @per interrupts, for the interrupts [@from, @to). */
static void add_range(struct attr_list *l, u64 key, u32 base, unsigned int per,
		      unsigned int from, unsigned int to)
{
	for (unsigned int irq = from; irq < to; irq += per)
		add(l, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 4, key | (base + irq / per * 4));
}

unsigned int arm_snap__gic_attrs(const struct gic_layout *g, struct snap_attr *a, unsigned int max)
{
	struct attr_list l = { .a = a, .max = a ? max : 0 };
	const u32 level = KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO;
	const u32 rd = KVM_DEV_ARM_VGIC_GRP_REDIST_REGS;
	const u32 cpu = KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS;
	const u64 line = (u64)VGIC_LEVEL_INFO_LINE_LEVEL << KVM_DEV_ARM_VGIC_LINE_LEVEL_INFO_SHIFT;
	unsigned int spis = g->nr_irqs;

	/* The distributor: the SPIs' state (INTIDs 32 and up; 0-31 are each redistributor's). */
	add(&l, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 4, GICD_CTLR);
	add_range(&l, 0, GICD_IGROUPR, 32, 32, spis);
	add_range(&l, 0, GICD_IGRPMODR, 32, 32, spis);
	add_range(&l, 0, GICD_ICFGR, 16, 32, spis);
	add_range(&l, 0, GICD_IPRIORITYR, 4, 32, spis);
	for (unsigned int irq = 32; irq < spis; irq++) {
		add(&l, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 4, GICD_IROUTER + irq * 8);
		add(&l, KVM_DEV_ARM_VGIC_GRP_DIST_REGS, 4, GICD_IROUTER + irq * 8 + 4);
	}
	/* A level-sensitive SPI's line before its pending latch (arm-vgic-v3.rst, LEVEL_INFO). */
	for (unsigned int irq = 32; irq < spis; irq += 32)
		add(&l, level, 4, line | irq);
	add_range(&l, 0, GICD_ISPENDR, 32, 32, spis);
	add_range(&l, 0, GICD_ISACTIVER, 32, 32, spis);
	add_range(&l, 0, GICD_ISENABLER, 32, 32, spis);

	for (unsigned int c = 0; c < g->nr_cpus; c++) {
		u64 key = arm_snap__gic_mpidr(g->mpidr[c]) << KVM_DEV_ARM_VGIC_V3_MPIDR_SHIFT;

		/* LPI tables before GICR_CTLR.EnableLPIs (12.11.2: they are fixed once it is set). */
		add(&l, rd, 4, key | GICR_PROPBASER);
		add(&l, rd, 4, key | (GICR_PROPBASER + 4));
		add(&l, rd, 4, key | GICR_PENDBASER);
		add(&l, rd, 4, key | (GICR_PENDBASER + 4));
		add(&l, rd, 4, key | GICR_CTLR);
		add(&l, rd, 4, key | GICR_IGROUPR0);
		add(&l, rd, 4, key | GICR_IGRPMODR0);
		add(&l, rd, 4, key | GICR_ICFGR0);
		add(&l, rd, 4, key | (GICR_ICFGR0 + 4));
		for (unsigned int i = 0; i < 8; i++)
			add(&l, rd, 4, key | (GICR_IPRIORITYR + 4 * i));
		add(&l, level, 4, key | line | 0);
		add(&l, rd, 4, key | GICR_ISPENDR0);
		add(&l, rd, 4, key | GICR_ISACTIVER0);
		add(&l, rd, 4, key | GICR_ISENABLER0);

		for (unsigned int i = 0; i < ARRAY_SIZE(icc_regs); i++)
			add(&l, cpu, 8, key | icc_regs[i]);
		if (!g->nested)
			continue;
		for (unsigned int i = 0; i < ARRAY_SIZE(ich_regs); i++)
			add(&l, cpu, 8, key | ich_regs[i]);
		for (unsigned int i = 0; i < NR_ICH_LRS; i++)
			add(&l, cpu, 8, key | ICH_LR_EL2(i));
	}
	return a ? MIN(l.n, max) : l.n;
}

/* The vITS (12.19), offsets from GITS_base. */
#define GITS_CTLR		0x0000
#define GITS_IIDR		0x0004
#define GITS_CBASER		0x0080
#define GITS_CWRITER		0x0088
#define GITS_CREADR		0x0090
#define GITS_BASER		0x0100
#define NR_GITS_BASER		8

unsigned int arm_snap__its_attrs(struct snap_attr *a, unsigned int max, unsigned int *ctlr_at)
{
	struct attr_list l = { .a = a, .max = max };
	const u32 its = KVM_DEV_ARM_VGIC_GRP_ITS_REGS;

	/* arm-vgic-its.rst, restore order: GITS_CBASER, the other registers, tables, GITS_CTLR. */
	add(&l, its, 8, GITS_CBASER);
	add(&l, its, 8, GITS_IIDR);
	add(&l, its, 8, GITS_CREADR);
	add(&l, its, 8, GITS_CWRITER);
	for (unsigned int i = 0; i < NR_GITS_BASER; i++)
		add(&l, its, 8, GITS_BASER + 8 * i);
	*ctlr_at = l.n;
	add(&l, its, 8, GITS_CTLR);
	return MIN(l.n, max);
}
