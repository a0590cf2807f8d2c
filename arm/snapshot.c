// SPDX-License-Identifier: GPL-2.0-only
/*
 * arm64 snapshot and restore against KVM: the VM-wide facts and the
 * guest's counter, every vCPU (KVM_GET_REG_LIST registers through the
 * ONE_REG ioctls, KVM_{GET,SET}_MP_STATE), the vGICv3 and vITS
 * (KVM_{GET,SET}_DEVICE_ATTR, KVM_DEV_ARM_ITS_SAVE_TABLES and
 * KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES into guest RAM before it is
 * written, KVM_DEV_ARM_ITS_RESTORE_TABLES after it is mapped back).  The
 * lists and the register logic are in arm/snapstate.c.  KVM api.rst 4.38
 * (MP state), 4.68 (ONE_REG), 4.84 (REG_LIST), 4.139 (counter offset);
 * devices/arm-vgic-v3.rst, devices/arm-vgic-its.rst.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arm/kvm-arch.h"
#include "arm/layout.h"
#include "arm/snapshot.h"
#include "lkvm/arch.h"
#include "lkvm/log.h"

/* ---- vCPUs ------------------------------------------------------------ */

static int kvm_reg_list(void *ctx, u64 *ids, u64 *n)
{
	struct kvm_cpu *vcpu = ctx;
	struct kvm_reg_list *l;
	int r = 0;

	l = calloc(1, sizeof(*l) + (ids ? *n : 0) * sizeof(u64));
	if (!l)
		return -ENOMEM;
	l->n = ids ? *n : 0;
	if (ioctl(vcpu->fd, KVM_GET_REG_LIST, l) < 0)
		r = -errno;
	*n = l->n;
	if (!r && ids)
		memcpy(ids, l->reg, l->n * sizeof(u64));
	free(l);
	return r;
}

static int kvm_get(void *ctx, u64 id, void *val)
{
	struct kvm_cpu *vcpu = ctx;
	struct kvm_one_reg r = { .id = id, .addr = (u64)(uintptr_t)val };

	return ioctl(vcpu->fd, KVM_GET_ONE_REG, &r) < 0 ? -errno : 0;
}

static int kvm_set(void *ctx, u64 id, const void *val)
{
	struct kvm_cpu *vcpu = ctx;
	struct kvm_one_reg r = { .id = id, .addr = (u64)(uintptr_t)val };

	return ioctl(vcpu->fd, KVM_SET_ONE_REG, &r) < 0 ? -errno : 0;
}

static struct vcpu_regio regio(struct kvm_cpu *vcpu)
{
	return (struct vcpu_regio){ .ctx = vcpu, .reg_list = kvm_reg_list, .get = kvm_get,
				    .set = kvm_set };
}

/* ---- device attributes ---------------------------------------------------- */

static int attr_io(int fd, unsigned long req, const struct snap_attr *t, void *val)
{
	struct kvm_device_attr a = { .group = t->group, .attr = t->attr,
				     .addr = (u64)(uintptr_t)val };

	return ioctl(fd, req, &a) < 0 ? -errno : 0;
}

static int ctrl(int fd, u64 attr)
{
	struct snap_attr t = { .group = KVM_DEV_ARM_VGIC_GRP_CTRL, .attr = attr };

	return attr_io(fd, KVM_SET_DEVICE_ATTR, &t, NULL);
}

/*
 * Reads @t[0..n) from the device @fd into a new list of the ones it has:
 * an attribute KVM_HAS_DEVICE_ATTR denies is left out (a register this
 * host's GIC does not implement), and so is a CPU-interface register it
 * lists but will not read (ICC_AP{0,1}Rn beyond the priority bits).
 */
static int read_attrs(int fd, const char *what, struct snap_attr *t, unsigned int n,
		      struct snap_attrs *out, struct lkvm_err *err)
{
	out->a = t;
	out->nr = 0;
	for (unsigned int i = 0; i < n; i++) {
		u64 v64 = 0;
		u32 v32 = 0;
		int r;

		if (attr_io(fd, KVM_HAS_DEVICE_ATTR, &t[i], NULL))
			continue;
		r = attr_io(fd, KVM_GET_DEVICE_ATTR, &t[i], t[i].size == 4 ? (void *)&v32 :
			    (void *)&v64);
		if (r && t[i].group == KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS)
			continue;
		if (r)
			return seterr(err, -r, "%s: KVM_GET_DEVICE_ATTR group %u attr %#llx: %s", what,
				      t[i].group, (unsigned long long)t[i].attr, strerror(-r));
		t[out->nr] = t[i];
		t[out->nr].val = t[i].size == 4 ? v32 : v64;
		out->nr++;
	}
	return 0;
}

static int write_attrs(int fd, const char *what, const struct snap_attr *t, unsigned int from,
		       unsigned int to, struct lkvm_err *err)
{
	for (unsigned int i = from; i < to; i++) {
		u64 v64 = t[i].val;
		u32 v32 = (u32)t[i].val;
		int r = attr_io(fd, KVM_SET_DEVICE_ATTR, &t[i], t[i].size == 4 ? (void *)&v32 :
				(void *)&v64);

		if (r)
			return seterr(err, -r, "%s: KVM_SET_DEVICE_ATTR group %u attr %#llx = %#llx: "
				      "%s (this host's GIC cannot take the saved state)", what,
				      t[i].group, (unsigned long long)t[i].attr,
				      (unsigned long long)t[i].val, strerror(-r));
	}
	return 0;
}

static int save_gic(struct kvm *kvm, struct snap_writer *w, struct lkvm_err *err)
{
	struct kvm_arch *a = kvm->arch;
	struct gic_layout g = { .nr_cpus = kvm->nr_cpus, .nr_irqs = ARM_GIC_NR_IRQS,
				.nested = kvm->cfg->arch.nested };
	struct snap_attr its[16];
	struct snap_attrs out;
	struct snap_attr *t;
	unsigned int n, ctlr_at;
	u64 *mpidr;
	int r;

	mpidr = calloc(kvm->nr_cpus ? kvm->nr_cpus : 1, sizeof(*mpidr));
	if (!mpidr)
		return seterr(err, ENOMEM, "out of memory");
	for (unsigned int i = 0; i < kvm->nr_cpus; i++)
		mpidr[i] = kvm->cpus[i].mpidr;
	g.mpidr = mpidr;
	n = arm_snap__gic_attrs(&g, NULL, 0);
	t = calloc(n, sizeof(*t));
	if (!t) {
		free(mpidr);
		return seterr(err, ENOMEM, "out of memory");
	}
	arm_snap__gic_attrs(&g, t, n);
	r = read_attrs(a->gic_fd, "vGICv3", t, n, &out, err);
	if (!r)
		snapshot__put_attrs(w, SNAP_KDEV_GIC, &out);
	free(t);
	free(mpidr);
	if (r || a->its_fd < 0)
		return r;
	n = arm_snap__its_attrs(its, ARRAY_SIZE(its), &ctlr_at);
	r = read_attrs(a->its_fd, "vITS", its, n, &out, err);
	if (!r)
		snapshot__put_attrs(w, SNAP_KDEV_ITS, &out);
	return r;
}

int arch__snapshot_prepare(struct kvm *kvm, struct lkvm_err *err)
{
	struct kvm_arch *a = kvm->arch;
	int r;

	if (a->gic == IRQCHIP_GICV2)
		return seterr(err, ENOTSUP, "a guest with a GICv2 cannot be snapshotted (lkvm saves "
			      "the GICv3 only); run it with --irqchip gicv3 or gicv3-its");
	if (a->its_fd < 0)
		return 0;
	/* The ITS's tables and the LPIs' pending bits into guest RAM, which is saved next. */
	r = ctrl(a->its_fd, KVM_DEV_ARM_ITS_SAVE_TABLES);
	if (r)
		return seterr(err, -r, "KVM_DEV_ARM_ITS_SAVE_TABLES: %s", strerror(-r));
	r = ctrl(a->gic_fd, KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES);
	if (r)
		return seterr(err, -r, "KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES: %s", strerror(-r));
	return 0;
}

int arch__snapshot_save(struct kvm *kvm, struct snap_writer *w, struct lkvm_err *err)
{
	const struct lkvm_config *cfg = kvm->cfg;
	struct kvm_arch *a = kvm->arch;
	struct snap_vm vm = {
		.nr_cpus = kvm->nr_cpus, .ipa_bits = kvm->ipa_bits, .irqchip = a->gic,
		.paused_ns = kvm__paused_ns(kvm),
	};
	int r;

	if (cfg->arch.nested)
		vm.flags |= SNAP_VM_NESTED;
	if (cfg->arch.e2h0)
		vm.flags |= SNAP_VM_E2H0;
	if (a->counter_offset_set) {
		/* Paused: the guest's counter stopped at the host's count when the pause began. */
		vm.flags |= SNAP_VM_COUNTER;
		vm.counter = arm_snap__guest_counter(a->paused_cnt, a->counter_offset);
	}
	snapshot__put_vm(w, &vm);
	for (unsigned int i = 0; i < kvm->nr_cpus; i++) {
		struct kvm_cpu *vcpu = &kvm->cpus[i];
		struct vcpu_regio io = regio(vcpu);
		struct kvm_mp_state mp;

		if (ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) < 0)
			return seterr(err, errno, "vCPU %u: KVM_GET_MP_STATE: %s", i, strerror(errno));
		r = arm_snap__save_vcpu(&io, i, mp.mp_state, w, err);
		if (r)
			return r;
	}
	return save_gic(kvm, w, err);
}

int arch__snapshot_check(struct kvm *kvm, const struct snap_reader *rd, struct lkvm_err *err)
{
	const struct snap_section *s = snapshot__find(rd, SNAP_SEC_VM, 0);
	const struct lkvm_config *cfg = kvm->cfg;
	struct snap_vm vm;
	int r;

	if (rd->host.arch != SNAP_ARCH_ARM64)
		return seterr(err, EINVAL, "the snapshot was taken on another architecture "
			      "(ELF machine %u)", rd->host.arch);
	if (rd->host.page_size != (u32)sysconf(_SC_PAGESIZE))
		return seterr(err, EINVAL, "the snapshot was taken on a host with %u-byte pages, "
			      "this one has %ld", rd->host.page_size, sysconf(_SC_PAGESIZE));
	if (!s)
		return seterr(err, EINVAL, "incomplete: the snapshot has no vm section");
	r = snapshot__get_vm(s, &vm, err);
	if (r)
		return r;
	if ((vm.flags & SNAP_VM_NESTED) != (cfg->arch.nested ? SNAP_VM_NESTED : 0) ||
	    (vm.flags & SNAP_VM_E2H0) != (cfg->arch.e2h0 ? SNAP_VM_E2H0 : 0))
		return seterr(err, EINVAL, "the snapshot's vCPUs %s EL2%s, its recorded command "
			      "line says otherwise", vm.flags & SNAP_VM_NESTED ? "have" : "lack",
			      vm.flags & SNAP_VM_E2H0 ? " without VHE" : "");
	if (vm.nr_cpus != cfg->nr_cpus)
		return seterr(err, EINVAL, "the snapshot has %u vCPUs, its command line %u",
			      vm.nr_cpus, cfg->nr_cpus);
	return 0;
}

/* After the RAM is mapped back: the ITS finds its tables there. */
static int restore_gic(struct kvm *kvm, const struct snap_reader *rd, struct lkvm_err *err)
{
	const struct snap_section *s = snapshot__find(rd, SNAP_SEC_KVM_DEVICE, SNAP_KDEV_GIC);
	struct kvm_arch *a = kvm->arch;
	struct snap_attrs at;
	int r;

	if (!s)
		return seterr(err, EINVAL, "incomplete: the snapshot has no vGIC state");
	r = snapshot__get_attrs(s, &at, err);
	if (!r)
		r = write_attrs(a->gic_fd, "vGICv3", at.a, 0, at.nr, err);
	snapshot__attrs_free(&at);
	if (r)
		return r;
	s = snapshot__find(rd, SNAP_SEC_KVM_DEVICE, SNAP_KDEV_ITS);
	if (!s != (a->its_fd < 0))
		return seterr(err, EINVAL, "the snapshot %s an ITS, this VM %s", s ? "has" : "lacks",
			      a->its_fd < 0 ? "has none" : "has one");
	if (!s)
		return 0;
	r = snapshot__get_attrs(s, &at, err);
	if (r) {
		snapshot__attrs_free(&at);
		return r;
	}
	/* arm-vgic-its.rst: every register but GITS_CTLR, the tables, then GITS_CTLR. */
	{
		unsigned int ctlr = at.nr;

		for (unsigned int i = 0; i < at.nr; i++)
			if (at.a[i].attr == 0) {	/* GITS_CTLR */
				ctlr = i;
				break;
			}
		r = write_attrs(a->its_fd, "vITS", at.a, 0, ctlr, err);
		if (!r) {
			r = ctrl(a->its_fd, KVM_DEV_ARM_ITS_RESTORE_TABLES);
			if (r)
				r = seterr(err, -r, "KVM_DEV_ARM_ITS_RESTORE_TABLES: %s (the ITS "
					   "tables in the snapshot's RAM are not this KVM's)",
					   strerror(-r));
		}
		if (!r)
			r = write_attrs(a->its_fd, "vITS", at.a, ctlr, at.nr, err);
	}
	snapshot__attrs_free(&at);
	return r;
}

int arch__snapshot_restore(struct kvm *kvm, const struct snap_reader *rd, struct lkvm_err *err)
{
	struct kvm_arch *a = kvm->arch;
	struct snap_vm vm;
	int r = snapshot__get_vm(snapshot__find(rd, SNAP_SEC_VM, 0), &vm, err);

	if (r)
		return r;
	if (vm.irqchip != (u32)a->gic)
		return seterr(err, EINVAL, "the snapshot's interrupt controller is %s, this VM's "
			      "%s", arch_config__irqchip_name(vm.irqchip),
			      arch_config__irqchip_name(a->gic));
	/*
	 * The guest's counter goes on from the saved value: the VM-wide offset
	 * first (api.rst 4.139: KVM then ignores the vCPUs' counter registers
	 * set below), while no vCPU has run.
	 */
	if ((vm.flags & SNAP_VM_COUNTER) && a->counter_offset_set) {
		struct kvm_arm_counter_offset off = {
			.counter_offset = arm_snap__offset_for(arm__host_counter(), vm.counter),
		};

		if (ioctl(kvm->vm_fd, KVM_ARM_SET_COUNTER_OFFSET, &off) < 0)
			return seterr(err, errno, "KVM_ARM_SET_COUNTER_OFFSET: %s", strerror(errno));
		a->counter_offset = off.counter_offset;
	} else if (vm.flags & SNAP_VM_COUNTER) {
		pr_warn(kvm, "restore: this VM has no counter offset (KVM_CAP_COUNTER_OFFSET); the "
			"guest's clock follows its vCPUs' saved counters");
	}
	for (unsigned int i = 0; i < kvm->nr_cpus; i++) {
		const struct snap_section *s = snapshot__find(rd, SNAP_SEC_VCPU, i);
		struct kvm_cpu *vcpu = &kvm->cpus[i];
		struct vcpu_regio io = regio(vcpu);
		struct kvm_mp_state mp;
		struct snap_vcpu v;

		if (!s)
			return seterr(err, EINVAL, "incomplete: the snapshot has no state for vCPU %u",
				      i);
		r = snapshot__get_vcpu(s, &v, err);
		if (!r)
			r = arm_snap__restore_vcpu(&io, i, &v, err);
		mp.mp_state = v.mp_state;
		snapshot__vcpu_free(&v);
		if (r)
			return r;
		if (ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0)
			return seterr(err, errno, "vCPU %u: KVM_SET_MP_STATE %u: %s", i, mp.mp_state,
				      strerror(errno));
	}
	return restore_gic(kvm, rd, err);
}
