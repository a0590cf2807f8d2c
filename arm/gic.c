// SPDX-License-Identifier: GPL-2.0-only
/*
 * The in-kernel interrupt controller: GICv3 (with ITS when asked or
 * available), or GICv2.  Created with the VM, before RAM and vCPUs (the
 * one host check that needs a VM: which GICs KVM can emulate, answered
 * by KVM_CREATE_DEVICE_TEST), initialised after the vCPUs
 * (KVM Documentation/virt/kvm/devices/arm-vgic-v3.rst, arm-vgic-its.rst,
 * arm-vgic.rst).  With --nested the maintenance interrupt is wired to
 * PPI 9 so the guest hypervisor can run its own vGIC.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arm/kvm-arch.h"
#include "arm/layout.h"
#include "lkvm/arch.h"
#include "lkvm/log.h"

static int create_device(struct kvm *kvm, u32 type, bool test)
{
	struct kvm_create_device cd = { .type = type, .flags = test ? KVM_CREATE_DEVICE_TEST : 0 };

	if (ioctl(kvm->vm_fd, KVM_CREATE_DEVICE, &cd) < 0)
		return -errno;
	return test ? 0 : (int)cd.fd;
}

static int set_attr(int fd, u32 group, u64 attr, const void *val)
{
	struct kvm_device_attr a = {
		.group = group, .attr = attr, .addr = (u64)(uintptr_t)val,
	};

	return ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0 ? -errno : 0;
}

static const char *gic_why(int r)
{
	return r == -ENODEV ? "this host's KVM cannot emulate it" : strerror(-r);
}

static int resolve(struct kvm *kvm, struct lkvm_err *err)
{
	struct kvm_arch *a = kvm->arch;
	bool v3 = create_device(kvm, KVM_DEV_TYPE_ARM_VGIC_V3, true) == 0;
	bool its = v3 && create_device(kvm, KVM_DEV_TYPE_ARM_VGIC_ITS, true) == 0;
	bool v2 = create_device(kvm, KVM_DEV_TYPE_ARM_VGIC_V2, true) == 0;
	const struct lkvm_config *cfg = kvm->cfg;

	switch (cfg->arch.irqchip) {
	case IRQCHIP_AUTO:
		a->gic = its ? IRQCHIP_GICV3_ITS : v3 ? IRQCHIP_GICV3 : IRQCHIP_GICV2;
		if (!v3 && !v2)
			return seterr(err, ENODEV, "this host cannot give the guest an interrupt "
				      "controller because its KVM can create neither a GICv3 nor a "
				      "GICv2 (KVM_CREATE_DEVICE)");
		break;
	case IRQCHIP_GICV3_ITS:
		if (!its)
			return seterr(err, ENODEV, "--irqchip gicv3-its: this host cannot give the "
				      "guest a GICv3 ITS because its KVM %s; use --irqchip %s",
				      v3 ? "has no ITS emulation" : "cannot create a GICv3",
				      v3 ? "gicv3" : "gicv2");
		a->gic = IRQCHIP_GICV3_ITS;
		break;
	case IRQCHIP_GICV3:
		if (!v3)
			return seterr(err, ENODEV, "--irqchip gicv3: this host cannot give the guest a "
				      "GICv3 because its KVM cannot create one (a GICv2-only host); use "
				      "--irqchip gicv2");
		a->gic = IRQCHIP_GICV3;
		break;
	case IRQCHIP_GICV2:
		if (!v2)
			return seterr(err, ENODEV, "--irqchip gicv2: this host cannot give the guest a "
				      "GICv2 because its KVM cannot create one (a GICv3 host without "
				      "the GICv2 compatibility interface); use --irqchip gicv3");
		a->gic = IRQCHIP_GICV2;
		break;
	}
	if (cfg->arch.nested && a->gic == IRQCHIP_GICV2)
		return seterr(err, ENODEV, "--nested: this host cannot run a guest hypervisor because "
			      "its KVM has no GICv3, which KVM's nested virtualization needs");
	return 0;
}

int gic__create(struct kvm *kvm, struct lkvm_err *err)
{
	struct kvm_arch *a = kvm->arch;
	u32 nr_irqs = ARM_GIC_NR_IRQS;
	u64 addr;
	int r;

	r = resolve(kvm, err);
	if (r)
		return r;
	if (a->gic == IRQCHIP_GICV2) {
		r = create_device(kvm, KVM_DEV_TYPE_ARM_VGIC_V2, false);
		if (r < 0)
			return seterr(err, -r, "GICv2: %s", gic_why(r));
		a->gic_fd = r;
		addr = ARM_GIC_DIST_BASE;
		r = set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_DIST, &addr);
		addr = ARM_GIC_CPU_BASE;
		if (!r)
			r = set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V2_ADDR_TYPE_CPU,
				     &addr);
	} else {
		if (kvm->cfg->nr_cpus > ARM_GIC_MAX_REDIST)
			return seterr(err, EINVAL, "-c %u: the GICv3 redistributor region holds at "
				      "most %llu vCPUs", kvm->cfg->nr_cpus, ARM_GIC_MAX_REDIST);
		r = create_device(kvm, KVM_DEV_TYPE_ARM_VGIC_V3, false);
		if (r < 0)
			return seterr(err, -r, "GICv3: %s", gic_why(r));
		a->gic_fd = r;
		addr = ARM_GIC_DIST_BASE;
		r = set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &addr);
		addr = ARM_GIC_REDIST_BASE;
		if (!r)
			r = set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST,
				     &addr);
	}
	if (r)
		return seterr(err, -r, "KVM_SET_DEVICE_ATTR (GIC addresses): %s", strerror(-r));
	r = set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs);
	if (r)
		return seterr(err, -r, "KVM_DEV_ARM_VGIC_GRP_NR_IRQS: %s", strerror(-r));
	if (kvm->cfg->arch.nested) {
		u32 intid = ARM_PPI_INTID(ARM_PPI_GIC_MAINT);

		r = set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ, 0, &intid);
		if (r)
			return seterr(err, -r, "KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ (INTID %u): %s", intid,
				      strerror(-r));
	}
	if (a->gic == IRQCHIP_GICV3_ITS) {
		r = create_device(kvm, KVM_DEV_TYPE_ARM_VGIC_ITS, false);
		if (r < 0)
			return seterr(err, -r, "GICv3 ITS: %s", gic_why(r));
		a->its_fd = r;
		addr = ARM_GIC_ITS_BASE;
		r = set_attr(a->its_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, &addr);
		if (r)
			return seterr(err, -r, "KVM_SET_DEVICE_ATTR (ITS address): %s", strerror(-r));
	}
	return 0;
}

int gic__init(struct kvm *kvm, struct lkvm_err *err)
{
	struct kvm_arch *a = kvm->arch;
	int r;

	r = set_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);
	if (r)
		return seterr(err, -r, "KVM_DEV_ARM_VGIC_CTRL_INIT (GIC): %s", strerror(-r));
	if (a->its_fd >= 0) {
		r = set_attr(a->its_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);
		if (r)
			return seterr(err, -r, "KVM_DEV_ARM_VGIC_CTRL_INIT (ITS): %s", strerror(-r));
	}
	return 0;
}

void gic__close(struct kvm *kvm)
{
	struct kvm_arch *a = kvm->arch;

	if (a->its_fd >= 0)
		close(a->its_fd);
	if (a->gic_fd >= 0)
		close(a->gic_fd);
	a->its_fd = a->gic_fd = -1;
}

