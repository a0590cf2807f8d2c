// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest's device tree, built with libfdt's sequential-write API from a
 * plain description (struct fdt_desc), so it can be built and checked
 * without KVM: the arch's nodes here (CPUs, memory, PSCI, timer, GIC and
 * ITS, the APB clock, the PMU), then each device's own (lkvm/device.h).
 * Bindings followed: Documentation/devicetree/bindings/
 * interrupt-controller/arm,gic{,-v3}.yaml, timer/arm,arch_timer.yaml,
 * arm/psci.yaml, clock/fixed-clock.yaml, and the devicetree specification
 * v0.4 for /chosen and /memory.
 */
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "arm/boot.h"
#include "arm/layout.h"
#include "lkvm/device.h"
#include "lkvm/fdt.h"

#define PHANDLE_GIC	1
#define PHANDLE_CLK	2
#define PHANDLE_ITS	3

#define GIC_SPI		ARM_FDT_GIC_SPI
#define GIC_PPI		ARM_FDT_GIC_PPI
#define IRQ_LEVEL_HIGH	ARM_FDT_IRQ_LEVEL_HIGH

static void add_chosen(struct fdtw *w, const struct fdt_desc *d)
{
	fdtw__begin(w, "chosen");
	fdtw__str(w, "bootargs", d->bootargs ? d->bootargs : "");
	if (d->initrd_size) {
		fdtw__u64(w, "linux,initrd-start", d->initrd_addr);
		fdtw__u64(w, "linux,initrd-end", d->initrd_addr + d->initrd_size);
	}
	fdtw__u64(w, "kaslr-seed", d->kaslr_seed);
	if (d->rng_seed_len)
		fdtw__prop(w, "rng-seed", d->rng_seed, (int)d->rng_seed_len);
	if (d->kvm)
		devices__fdt_chosen(d->kvm, w);	/* stdout-path, linux,pci-probe-only, ... */
	fdtw__end(w);
}

static void add_memory(struct fdtw *w, const struct fdt_desc *d)
{
	for (unsigned int i = 0; i < d->nr_banks; i++) {
		u64 reg[2] = { d->banks[i].addr, d->banks[i].size };

		fdtw__begin_at(w, "memory", reg[0]);
		fdtw__str(w, "device_type", "memory");
		fdtw__reg64(w, reg, 1);
		fdtw__end(w);
	}
}

static void add_cpus(struct fdtw *w, const struct fdt_desc *d)
{
	bool two_cells = false;
	for (unsigned int i = 0; i < d->nr_cpus; i++)
		two_cells |= (d->mpidr[i] >> 32) != 0;
	fdtw__begin(w, "cpus");
	fdtw__u32(w, "#address-cells", two_cells ? 2 : 1);
	fdtw__u32(w, "#size-cells", 0);
	for (unsigned int i = 0; i < d->nr_cpus; i++) {
		u64 mpidr = d->mpidr[i];

		fdtw__begin_at(w, "cpu", mpidr);
		fdtw__str(w, "device_type", "cpu");
		fdtw__str(w, "compatible", "arm,arm-v8");
		if (two_cells)
			fdtw__u64(w, "reg", mpidr);
		else
			fdtw__u32(w, "reg", (u32)mpidr);
		fdtw__str(w, "enable-method", "psci");
		fdtw__end(w);
	}
	fdtw__end(w);
}

static void add_psci(struct fdtw *w, const struct fdt_desc *d)
{
	static const char compat[] = "arm,psci-1.0\0arm,psci-0.2";

	fdtw__begin(w, "psci");
	fdtw__prop(w, "compatible", compat, sizeof(compat));
	/* A guest at EL2 owns HVC for its own guests: it calls firmware by SMC. */
	fdtw__str(w, "method", d->el2 ? "smc" : "hvc");
	fdtw__end(w);
}

/* PPI flags: GICv2 wants the CPU mask in bits [15:8] (at most 8 CPUs). */
static u32 ppi_flags(const struct fdt_desc *d)
{
	u32 flags = IRQ_LEVEL_HIGH;

	if (d->gic == IRQCHIP_GICV2)
		flags |= (u32)((1U << MIN(d->nr_cpus, 8U)) - 1) << 8;
	return flags;
}

static void add_timer(struct fdtw *w, const struct fdt_desc *d)
{
	/* Order per binding: secure phys, non-secure phys, virt, hyp phys, hyp virt. */
	static const u32 ppis[] = {
		ARM_PPI_TIMER_SEC, ARM_PPI_TIMER_PHYS, ARM_PPI_TIMER_VIRT,
		ARM_PPI_TIMER_HYP, ARM_PPI_TIMER_HYP_VIRT,
	};
	unsigned int n = d->el2 ? 5 : 4;
	u32 cells[15];

	for (unsigned int i = 0; i < n; i++) {
		cells[i * 3] = GIC_PPI;
		cells[i * 3 + 1] = ppis[i];
		cells[i * 3 + 2] = ppi_flags(d);
	}
	fdtw__begin(w, "timer");
	fdtw__str(w, "compatible", "arm,armv8-timer");
	fdtw__cells(w, "interrupts", cells, n * 3);
	fdtw__prop(w, "always-on", NULL, 0);
	fdtw__end(w);
}

static void add_gic(struct fdtw *w, const struct fdt_desc *d)
{
	fdtw__begin_at(w, "intc", ARM_GIC_DIST_BASE);
	fdtw__u32(w, "#interrupt-cells", 3);
	fdtw__prop(w, "interrupt-controller", NULL, 0);
	fdtw__u32(w, "#address-cells", 2);
	fdtw__u32(w, "#size-cells", 2);
	fdtw__prop(w, "ranges", NULL, 0);
	fdtw__u32(w, "phandle", PHANDLE_GIC);
	if (d->gic == IRQCHIP_GICV2) {
		u64 reg[] = { ARM_GIC_DIST_BASE, 0x1000, ARM_GIC_CPU_BASE, ARM_GIC_CPU_SIZE };

		fdtw__str(w, "compatible", "arm,cortex-a15-gic");
		fdtw__reg64(w, reg, 2);
	} else {
		u64 reg[] = { ARM_GIC_DIST_BASE, ARM_GIC_DIST_SIZE, ARM_GIC_REDIST_BASE,
			      (u64)d->nr_cpus * ARM_GIC_REDIST_STRIDE };

		fdtw__str(w, "compatible", "arm,gic-v3");
		fdtw__u32(w, "#redistributor-regions", 1);
		fdtw__reg64(w, reg, 2);
		if (d->el2) {
			u32 maint[] = { GIC_PPI, ARM_PPI_GIC_MAINT, IRQ_LEVEL_HIGH };

			fdtw__cells(w, "interrupts", maint, 3);
		}
		if (d->gic == IRQCHIP_GICV3_ITS) {
			u64 its[] = { ARM_GIC_ITS_BASE, ARM_GIC_ITS_SIZE };

			fdtw__begin_at(w, "msi-controller", ARM_GIC_ITS_BASE);
			fdtw__str(w, "compatible", "arm,gic-v3-its");
			fdtw__prop(w, "msi-controller", NULL, 0);
			fdtw__u32(w, "#msi-cells", 1);
			fdtw__u32(w, "phandle", PHANDLE_ITS);
			fdtw__reg64(w, its, 1);
			fdtw__end(w);
		}
	}
	fdtw__end(w);
}

/* The AMBA peripherals' clock (the PL031 names it), and the PMU. */
static void add_platform(struct fdtw *w, const struct fdt_desc *d)
{
	fdtw__begin(w, "apb-pclk");
	fdtw__str(w, "compatible", "fixed-clock");
	fdtw__u32(w, "#clock-cells", 0);
	fdtw__u32(w, "clock-frequency", 24000000);
	fdtw__str(w, "clock-output-names", "clk24mhz");
	fdtw__u32(w, "phandle", PHANDLE_CLK);
	fdtw__end(w);

	if (d->pmu) {
		u32 irq[] = { GIC_PPI, ARM_PPI_PMU, ppi_flags(d) };

		fdtw__begin(w, "pmu");
		fdtw__str(w, "compatible", "arm,armv8-pmuv3");
		fdtw__cells(w, "interrupts", irq, 3);
		fdtw__end(w);
	}
}

int fdt__build(const struct fdt_desc *d, void *buf, unsigned int size, struct lkvm_err *err)
{
	struct fdtw w = {
		.fdt = buf,
		.irq_parent = PHANDLE_GIC,
		.irq_parent_addr_cells = 2,	/* the GIC node's #address-cells */
		.msi_parent = d->gic == IRQCHIP_GICV3_ITS ? PHANDLE_ITS : 0,
		.apb_clock = PHANDLE_CLK,
		.irq_spec = arm_fdt__irq_spec,
	};

	if (d->gic == IRQCHIP_AUTO)
		return seterr(err, EINVAL, "device tree: interrupt controller not resolved");
	w.err = fdt_create(buf, (int)size);
	if (!w.err)
		w.err = fdt_finish_reservemap(buf);
	fdtw__begin(&w, "");
	fdtw__str(&w, "compatible", "linux,dummy-virt");
	fdtw__str(&w, "model", "lkvm");
	fdtw__u32(&w, "#address-cells", 2);
	fdtw__u32(&w, "#size-cells", 2);
	fdtw__u32(&w, "interrupt-parent", PHANDLE_GIC);
	add_chosen(&w, d);
	add_memory(&w, d);
	add_cpus(&w, d);
	add_psci(&w, d);
	add_timer(&w, d);
	add_gic(&w, d);
	add_platform(&w, d);
	if (d->kvm)
		devices__fdt(d->kvm, &w);
	fdtw__end(&w);
	if (!w.err)
		w.err = fdt_finish(buf);
	if (w.err == -FDT_ERR_NOSPACE)
		return seterr(err, ENOSPC, "device tree larger than %u bytes (command line too long?)",
			      size);
	if (w.err)
		return seterr(err, EINVAL, "device tree: %s", fdt_strerror(w.err));
	return 0;
}
