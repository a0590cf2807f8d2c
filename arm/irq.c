// SPDX-License-Identifier: GPL-2.0-only
/*
 * The arm64 side of devices: where they go (the areas of the memory map
 * in arm/include/arm/layout.h, and their SPIs), how an interrupt line is
 * raised (KVM_IRQ_LINE on an SPI: KVM api.rst 4.25) and how it is written
 * in the device tree (arm,gic-v3.yaml / arm,gic.yaml: <type number flags>).
 * Pure apart from the one ioctl, so the device model is unit-testable.
 */
#include <errno.h>
#include <sys/ioctl.h>

#include "arm/boot.h"
#include "arm/kvm-arch.h"
#include "arm/layout.h"
#include "lkvm/arch.h"
#include "lkvm/device.h"

int arch__irq_line(struct kvm *kvm, unsigned int irq, int level)
{
	struct kvm_irq_level l = {
		.irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | ARM_SPI_INTID(irq),
		.level = level,
	};

	return ioctl(kvm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

void arch__placement(const struct kvm *kvm, struct lkvm_placement *p)
{
	*p = (struct lkvm_placement){
		.area = {
			[LKVM_AREA_UART] = { ARM_UART_BASE, ARM_UART_SIZE, 0, ARM_SPI_UART },
			[LKVM_AREA_RTC] = { ARM_RTC_BASE, ARM_RTC_SIZE, 0, ARM_SPI_RTC },
			[LKVM_AREA_VIRTIO_MMIO] = { ARM_VIRTIO_MMIO_BASE, ARM_VIRTIO_MMIO_SIZE,
						    ARM_VIRTIO_MMIO_SLOT, ARM_SPI_VIRTIO_MMIO },
			[LKVM_AREA_PCI_CFG] = { ARM_PCI_CFG_BASE, ARM_PCI_CFG_SIZE, 0,
						ARM_SPI_PCI_INTX },
			[LKVM_AREA_PCI_MMIO] = { ARM_PCI_MMIO_BASE, ARM_PCI_MMIO_SIZE, ARM_PCI_BAR_SLOT,
						 LKVM_NO_IRQ },
		},
		.nr_irq_lines = ARM_NR_SPIS,
		/* MSIs need the ITS: it turns the device's write into an LPI. */
		.msi = kvm->arch && kvm->arch->gic == IRQCHIP_GICV3_ITS,
	};
}

unsigned int arm_fdt__irq_spec(unsigned int line, enum fdt_irq_trigger t,
			       u32 cells[FDT_MAX_IRQ_CELLS])
{
	cells[0] = ARM_FDT_GIC_SPI;
	cells[1] = line;
	cells[2] = t == FDT_IRQ_EDGE_RISING ? ARM_FDT_IRQ_EDGE_RISING : ARM_FDT_IRQ_LEVEL_HIGH;
	return 3;
}
