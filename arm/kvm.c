// SPDX-License-Identifier: GPL-2.0-only
/*
 * The arm64 side of a VM: what the host's KVM must offer for the config,
 * the memory plan and IPA size (arm/include/arm/layout.h draws the map),
 * and VM-wide setup around the generic lifecycle in kvm.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arm/kvm-arch.h"
#include "arm/layout.h"
#include "lkvm/arch.h"
#include "lkvm/hw.h"
#include "lkvm/irq.h"
#include "lkvm/log.h"
#include "lkvm/pci.h"
#include "lkvm/virtio.h"

/*
 * Only asks KVM: the config was checked, ID register assignments and all,
 * by arch_config__validate() before /dev/kvm was opened.  The answers go
 * into kvm->arch, allocated here (freed by arch__close()).
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
		return seterr(err, ENOTSUP, "this host's KVM lacks KVM_CAP_ARM_VM_IPA_SIZE "
			      "(Linux >= 4.20 is needed)");
	if (cfg->nested) {
		struct lkvm_err why;
		int r = arch__diagnose_nested(kvm, cfg->e2h0, &why);

		if (r)
			return seterr(err, -r, "%s: %s", cfg->e2h0 ? "--nested --e2h0" : "--nested",
				      why.msg);
	}
	if (cfg->pmu && kvm__check_cap(kvm, KVM_CAP_ARM_PMU_V3) <= 0)
		return seterr(err, ENOTSUP, "--pmu: this host's KVM lacks KVM_CAP_ARM_PMU_V3 "
			      "(no PMU on the host CPU, or it is not exposed); drop --pmu");
	a->sve = cfg->want_sve && kvm__check_cap(kvm, KVM_CAP_ARM_SVE) > 0;
	a->ptrauth = cfg->want_ptrauth && kvm__check_cap(kvm, KVM_CAP_ARM_PTRAUTH_ADDRESS) > 0 &&
		     kvm__check_cap(kvm, KVM_CAP_ARM_PTRAUTH_GENERIC) > 0;
	return 0;
}

static void uart_irq(void *ctx, int level)
{
	arch__irq_line(ctx, ARM_SPI_UART, level);
}

/*
 * Puts @dev (ownership passes) on the configured transport: the next PCI
 * slot with its BAR in the next 64 KiB of the PCI window (MSI-X when
 * there is an ITS, INTx otherwise), or the next virtio-mmio slot with its
 * own SPI.
 */
static int add_virtio(struct kvm *kvm, struct virtio_dev *dev, struct lkvm_err *err)
{
	struct virtio_mmio *vm;
	int r;

	if (kvm->cfg->virtio_transport == VIRTIO_TRANSPORT_PCI) {
		bool msix = kvm->arch->gic == IRQCHIP_GICV3_ITS;

		if (!kvm->pci) {
			r = pci__new(kvm, ARM_PCI_CFG_BASE, &kvm->pci, err);
			if (r) {
				dev->ops->free(dev);
				return r;
			}
			if (msix)
				irq__set_wired_pins(kvm, ARM_GIC_NR_IRQS - 32);
		}
		r = virtio_pci__new(kvm, kvm->pci, dev,
				    (u32)(ARM_PCI_MMIO_BASE + kvm->pci->nr_dev * SZ_64K), msix,
				    ARM_SPI_PCI_INTX, &kvm->virtio[kvm->nr_virtio], err);
	} else {
		r = virtio_mmio__new(kvm, dev,
				     ARM_VIRTIO_MMIO_BASE + kvm->nr_virtio * ARM_VIRTIO_MMIO_SLOT,
				     ARM_SPI_VIRTIO_MMIO + kvm->nr_virtio, &vm, err);
		if (!r)
			kvm->virtio[kvm->nr_virtio] = virtio_mmio__core(vm);
	}
	if (!r)
		kvm->nr_virtio++;
	return r;
}

/* One virtio device each: disks in command-line order, rng, console, then the NICs. */
static int init_virtio(struct kvm *kvm, struct lkvm_err *err)
{
	const struct lkvm_config *cfg = kvm->cfg;
	struct virtio_dev *dev;
	int r;

	for (unsigned int i = 0; i < cfg->nr_disk; i++) {
		r = virtio_blk__new(kvm, &cfg->disk[i], i, cfg->nr_cpus, &dev, err);
		if (!r)
			r = add_virtio(kvm, dev, err);
		if (r)
			return r;
	}
	if (cfg->rng) {
		r = virtio_rng__new(kvm, &dev, err);
		if (!r)
			r = add_virtio(kvm, dev, err);
		if (r)
			return r;
	}
	if (cfg->console == CONSOLE_VIRTIO) {
		r = virtio_console__new(kvm, kvm->console_out, &dev, err);
		if (!r)
			r = add_virtio(kvm, dev, err);
		if (r)
			return r;
		kvm->vcon = dev;
	}
	for (unsigned int i = 0; i < cfg->nr_net; i++) {
		r = virtio_net__new(kvm, &cfg->net[i], &kvm->net[i], &dev, err);
		if (!r)
			r = add_virtio(kvm, dev, err);
		if (r)
			return r;
	}
	return 0;
}

static int init_devices(struct kvm *kvm, struct lkvm_err *err)
{
	int r;

	kvm->uart = serial8250__new(kvm->console_out, uart_irq, kvm);
	kvm->rtc = pl031__new();
	if (!kvm->uart || !kvm->rtc)
		return seterr(err, ENOMEM, "out of memory for devices");
	r = mmio__register(&kvm->mmio, ARM_UART_BASE, ARM_UART_SIZE, serial8250__mmio, kvm->uart,
			   "uart");
	if (!r)
		r = mmio__register(&kvm->mmio, ARM_RTC_BASE, ARM_RTC_SIZE, pl031__mmio, kvm->rtc,
				   "rtc");
	if (r)
		return seterr(err, -r, "registering platform devices: %s", strerror(-r));
	return init_virtio(kvm, err);
}

int arch__init_vm(struct kvm *kvm, struct lkvm_err *err)
{
	const struct lkvm_config *cfg = kvm->cfg;
	struct kvm_arch *a = kvm->arch;
	int r;

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

	if (cfg->arch.has_counter_offset) {
		struct kvm_arm_counter_offset off = { .counter_offset = cfg->arch.counter_offset };

		if (kvm__check_cap(kvm, KVM_CAP_COUNTER_OFFSET) <= 0)
			return seterr(err, ENOTSUP, "--counter-offset: this host's KVM lacks "
				      "KVM_CAP_COUNTER_OFFSET (Linux >= 6.4)");
		if (ioctl(kvm->vm_fd, KVM_ARM_SET_COUNTER_OFFSET, &off) < 0)
			return seterr(err, errno, "KVM_ARM_SET_COUNTER_OFFSET: %s", strerror(errno));
	}
	r = gic__create(kvm, err);
	if (r)
		return r;
	return init_devices(kvm, err);
}

int arch__finalize_vm(struct kvm *kvm, struct lkvm_err *err)
{
	int r = gic__init(kvm, err);

	/* irqfds need the initialised interrupt controller and its default routing. */
	for (unsigned int i = 0; !r && i < kvm->nr_virtio; i++)
		r = virtio_transport__start(kvm->virtio[i], err);
	for (unsigned int i = 0; !r && i < kvm->nr_cpus; i++)
		r = arm_cpu__finalize(&kvm->cpus[i], err);
	if (!r)
		r = arm_cpufeat__apply(kvm, err);
	/* "lkvm cpu" builds a VM only to look at its vCPUs: nothing to boot. */
	if (!kvm->cfg->kernel && !kvm->cfg->firmware)
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
