/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The arm64 guest-physical memory map, drawn once.  Every address below is
 * derived from its neighbour; nothing else in lkvm hard-codes a guest
 * address.
 *
 *  0x0000_0000 +------------------------------+
 *              | unmapped (reserved: flash)   | 16 MiB
 *  0x0100_0000 +------------------------------+ ARM_PLAT_BASE
 *              | 8250 UART        4 KiB  SPI0 |
 *  0x0100_1000 | PL031 RTC        4 KiB  SPI1 |
 *              | ...                          |
 *  0x0200_0000 +------------------------------+ ARM_VIRTIO_MMIO_BASE
 *              | virtio-mmio slots, 512 B each| 16 MiB
 *  0x0300_0000 +------------------------------+
 *              | unmapped                     |
 *  0x0800_0000 +------------------------------+ ARM_GIC_BASE
 *              | GIC distributor     64 KiB   |
 *  0x0801_0000 | GICv2 CPU interface  8 KiB   | (GICv2 only)
 *  0x0802_0000 | GICv3 ITS          128 KiB   |
 *  0x0810_0000 | GICv3 redistributors         | 128 KiB per vCPU
 *  0x1000_0000 +------------------------------+ ARM_PCI_CFG_BASE
 *              | PCI ECAM config space 256 MiB|
 *  0x2000_0000 +------------------------------+ ARM_PCI_MMIO_BASE
 *              | PCI 32-bit MMIO window 1.5 GiB|
 *  0x8000_0000 +------------------------------+ ARM_RAM_BASE (default)
 *              | RAM (-m SIZE)                |
 *              | ...  kernel at RAM base +    |
 *              |      text_offset, initrd and |
 *              |      DTB at the top of the   |
 *              |      first bank              |
 *  2^32        +------------------------------+
 *              | more RAM banks (-m SIZE@ADDR)|  anywhere below 2^ipa_bits:
 *              |   ...                        |  2^36, 2^40, 2^42, 2^44,
 *              |   ...                        |  2^48 (4 KiB pages), 2^52
 *  2^ipa_bits  +------------------------------+  (LPA2 hosts)
 *
 * The VM's IPA size is the smallest size ID_AA64MMFR0_EL1.PARange can
 * express (32, 36, 40, 42, 44, 48, 52 bits) that covers the last byte of
 * the map, or --ipa-bits; the guest's PARange is set to say exactly that
 * (arm/cpufeat.c).  32 bits already covers 2 GiB of RAM at the default base.
 */
#ifndef LKVM_ARM_LAYOUT_H
#define LKVM_ARM_LAYOUT_H

#define SZ_4K			0x1000ULL
#define SZ_64K			0x10000ULL
#define SZ_128K			0x20000ULL
#define SZ_1M			0x100000ULL
#define SZ_2M			0x200000ULL
#define SZ_16M			0x1000000ULL
#define SZ_256M			0x10000000ULL
#define SZ_1G			0x40000000ULL

#define ARM_LOW_RESERVED	SZ_16M

#define ARM_PLAT_BASE		ARM_LOW_RESERVED
#define ARM_UART_BASE		ARM_PLAT_BASE
#define ARM_UART_SIZE		SZ_4K
#define ARM_RTC_BASE		(ARM_UART_BASE + ARM_UART_SIZE)
#define ARM_RTC_SIZE		SZ_4K

#define ARM_VIRTIO_MMIO_BASE	(ARM_PLAT_BASE + SZ_16M)
#define ARM_VIRTIO_MMIO_SLOT	0x200ULL
#define ARM_VIRTIO_MMIO_SIZE	SZ_16M

#define ARM_GIC_BASE		(8 * SZ_16M)
#define ARM_GIC_DIST_BASE	ARM_GIC_BASE
#define ARM_GIC_DIST_SIZE	SZ_64K
#define ARM_GIC_CPU_BASE	(ARM_GIC_DIST_BASE + ARM_GIC_DIST_SIZE)
#define ARM_GIC_CPU_SIZE	0x2000ULL
#define ARM_GIC_ITS_BASE	(ARM_GIC_CPU_BASE + SZ_64K)
#define ARM_GIC_ITS_SIZE	SZ_128K
#define ARM_GIC_REDIST_BASE	(ARM_GIC_BASE + SZ_1M)
#define ARM_GIC_REDIST_STRIDE	SZ_128K
#define ARM_GIC_END		ARM_PCI_CFG_BASE
#define ARM_GIC_MAX_REDIST	((ARM_GIC_END - ARM_GIC_REDIST_BASE) / ARM_GIC_REDIST_STRIDE)

#define ARM_PCI_CFG_BASE	SZ_256M
#define ARM_PCI_CFG_SIZE	SZ_256M
#define ARM_PCI_MMIO_BASE	(ARM_PCI_CFG_BASE + ARM_PCI_CFG_SIZE)
#define ARM_PCI_MMIO_SIZE	(ARM_RAM_BASE - ARM_PCI_MMIO_BASE)
#define ARM_PCI_BAR_SLOT	SZ_64K	/* slot n's BAR0 at ARM_PCI_MMIO_BASE + n * 64 KiB */

#define ARM_RAM_BASE		(2 * SZ_1G)
/* Everything below RAM is devices; RAM placed with @addr must not be. */
#define ARM_MMIO_END		ARM_RAM_BASE

/*
 * Interrupts.  Generic code's interrupt lines are the GIC's SPIs, numbered
 * from 0 (KVM's default GSI routing numbers them the same way); PPIs are
 * numbered from 0 too.  The GIC's own numbering (INTIDs: SGIs 0-15, PPIs
 * 16-31, SPIs from 32) appears only through these two macros.
 */
#define ARM_PPI_INTID(ppi)	(16 + (ppi))
#define ARM_SPI_INTID(spi)	(32 + (spi))

#define ARM_SPI_UART		0
#define ARM_SPI_RTC		1
#define ARM_SPI_PCI_INTX	8	/* INTA..INTD: 8..11 */
#define ARM_SPI_VIRTIO_MMIO	16	/* one per slot from here */
#define ARM_GIC_NR_IRQS		256	/* INTIDs the vGIC has: SGIs+PPIs+SPIs, multiple of 32 */
#define ARM_NR_SPIS		(ARM_GIC_NR_IRQS - ARM_SPI_INTID(0))

#define ARM_PPI_PMU		7	/* INTID 23 */
#define ARM_PPI_GIC_MAINT	9	/* INTID 25 */
#define ARM_PPI_TIMER_HYP	10	/* INTID 26 */
#define ARM_PPI_TIMER_VIRT	11	/* INTID 27 */
#define ARM_PPI_TIMER_HYP_VIRT	12	/* INTID 28 */
#define ARM_PPI_TIMER_SEC	13	/* INTID 29 */
#define ARM_PPI_TIMER_PHYS	14	/* INTID 30 */

#endif /* LKVM_ARM_LAYOUT_H */
