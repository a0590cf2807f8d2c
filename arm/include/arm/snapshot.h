/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * arm64 snapshot state, the part with no KVM in it (arm/snapstate.c): a
 * vCPU's registers saved and restored through an accessor table (KVM's
 * ONE_REG ioctls in arm/snapshot.c, a fake in the unit tests), and the
 * list of vGICv3/vITS attributes to save, in the order they are to be set
 * back.  Sources: KVM api.rst 4.68 (KVM_{GET,SET}_ONE_REG, the arm64 id
 * layout), 4.84 (KVM_GET_REG_LIST), 4.82 and "KVM_ARM_VCPU_FINALIZE"
 * (SVE: KVM_REG_ARM64_SVE_VLS only before finalizing); devices/
 * arm-vgic-v3.rst (groups DIST_REGS, REDIST_REGS, CPU_SYSREGS, LEVEL_INFO)
 * and arm-vgic-its.rst (ITS_REGS, SAVE/RESTORE_TABLES, the restore order).
 */
#ifndef LKVM_ARM_SNAPSHOT_H
#define LKVM_ARM_SNAPSHOT_H

#include "lkvm/snapshot.h"
#include "lkvm/util.h"

/* One vCPU's registers, as KVM gives them (or a test fakes them). */
struct vcpu_regio {
	void *ctx;
	/*
	 * KVM_GET_REG_LIST: up to *@n ids into @ids; -E2BIG with *@n set to
	 * the count when @ids is too short.  0 or -errno.
	 */
	int (*reg_list)(void *ctx, u64 *ids, u64 *n);
	/* KVM_GET_ONE_REG / KVM_SET_ONE_REG: @val holds KVM_REG_SIZE(id) bytes.  0 or -errno. */
	int (*get)(void *ctx, u64 id, void *val);
	int (*set)(void *ctx, u64 id, const void *val);
};

/* Bytes of register @id (KVM_REG_SIZE), or 0 if it is larger than a snapshot holds. */
unsigned int arm_snap__reg_size(u64 id);

/* "S3_4_C1_C1_0", "core+0x100", "sve-vls", or the raw id: for messages. */
const char *arm_snap__reg_name(u64 id, char *buf, size_t len);

/*
 * Saves every register of KVM_GET_REG_LIST and @mp_state as the vcpu
 * section @index of @w.  Returns 0, or -errno with @err naming the
 * register KVM would not read.
 */
int arm_snap__save_vcpu(const struct vcpu_regio *io, u32 index, u32 mp_state,
			struct snap_writer *w, struct lkvm_err *err);

/*
 * Sets the registers of @v (a decoded vcpu section) on a new vCPU made
 * the same way (vCPU init, SVE finalized) and not yet run.  Refuses,
 * naming the register, a snapshot whose register set differs from the
 * new vCPU's (another KVM, other features) and a register KVM will not
 * take, unless it already holds the saved value (a read-only register).
 * KVM_REG_ARM64_SVE_VLS is compared, not set: it was fixed at finalize.
 * Returns 0 or -errno with @err.
 */
int arm_snap__restore_vcpu(const struct vcpu_regio *io, u32 index, const struct snap_vcpu *v,
			   struct lkvm_err *err);

/* ---- the vGICv3 and the vITS ---------------------------------------------- */

/* KVM's redistributor/CPU-interface key of a vCPU: MPIDR affinity as Aff3.Aff2.Aff1.Aff0. */
u64 arm_snap__gic_mpidr(u64 mpidr);

struct gic_layout {
	unsigned int nr_cpus;
	const u64 *mpidr;	/* each vCPU's MPIDR_EL1 (affinity bits) */
	unsigned int nr_irqs;	/* KVM_DEV_ARM_VGIC_GRP_NR_IRQS: SGIs, PPIs and SPIs */
	bool nested;		/* vCPUs with EL2: the ICH_*_EL2 state too */
};

/*
 * The vGICv3 attributes to save, in restore order (value fields zero):
 * the distributor (GICD_CTLR first, then per SPI group, enable, config,
 * priority, routing, the line levels, then pending and active), each
 * redistributor (PROPBASER/PENDBASER before GICR_CTLR, then its SGI/PPI
 * frame and PPI line levels), each CPU interface (ICC_CTLR_EL1 and
 * ICC_SRE_EL1 first, then the rest; ICH_*_EL2 for nested vCPUs).  Some
 * (ICC_AP{0,1}R{1,2,3}, ICH_*) exist only on some hosts: the caller skips
 * what KVM_HAS_DEVICE_ATTR denies.  Returns how many it wrote into @a
 * (at most @max), or the count it needs if @a is NULL.
 */
unsigned int arm_snap__gic_attrs(const struct gic_layout *g, struct snap_attr *a, unsigned int max);

/*
 * The vITS registers (group ITS_REGS, 64-bit each) in restore order as
 * arm-vgic-its.rst has it: GITS_IIDR, GITS_CBASER, GITS_CWRITER,
 * GITS_CREADR, GITS_BASER<n>; GITS_CTLR last, after the tables are
 * restored (the caller does KVM_DEV_ARM_ITS_RESTORE_TABLES before the
 * entry marked by *@ctlr_at).  Returns the count (at most @max).
 */
unsigned int arm_snap__its_attrs(struct snap_attr *a, unsigned int max, unsigned int *ctlr_at);

/* The guest's counter at @host_cnt with VM offset @offset, and the offset that continues it. */
static inline u64 arm_snap__guest_counter(u64 host_cnt, u64 offset)
{
	return host_cnt - offset;
}

static inline u64 arm_snap__offset_for(u64 host_cnt, u64 guest_cnt)
{
	return host_cnt - guest_cnt;
}

#endif /* LKVM_ARM_SNAPSHOT_H */
