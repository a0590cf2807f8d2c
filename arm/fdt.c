// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest's device tree, built with libfdt's sequential-write API from a
 * plain description (struct fdt_desc), so it can be built and checked
 * without KVM.  Bindings followed: Documentation/devicetree/bindings/
 * interrupt-controller/arm,gic{,-v3}.yaml, timer/arm,arch_timer.yaml,
 * arm/psci.yaml, serial/8250.yaml, rtc/arm,pl031.yaml, virtio/mmio.yaml, and the
 * devicetree specification v0.4 for /chosen and /memory.
 */
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "arm/boot.h"
#include "arm/layout.h"
#include "lkvm/pci.h"

#define PHANDLE_GIC	1
#define PHANDLE_CLK	2
#define PHANDLE_ITS	3

#define GIC_SPI		0
#define GIC_PPI		1
#define IRQ_EDGE_RISING	1
#define IRQ_LEVEL_HIGH	4

/* A libfdt writer that remembers the first error, so callers check once. */
struct fdtw {
	void *fdt;
	int err;
};

static void w_begin(struct fdtw *w, const char *name)
{
	if (!w->err)
		w->err = fdt_begin_node(w->fdt, name);
}

static void w_end(struct fdtw *w)
{
	if (!w->err)
		w->err = fdt_end_node(w->fdt);
}

static void w_prop(struct fdtw *w, const char *name, const void *val, int len)
{
	if (!w->err)
		w->err = fdt_property(w->fdt, name, val, len);
}

static void w_str(struct fdtw *w, const char *name, const char *s)
{
	w_prop(w, name, s, (int)strlen(s) + 1);
}

static void w_u32(struct fdtw *w, const char *name, u32 v)
{
	if (!w->err)
		w->err = fdt_property_u32(w->fdt, name, v);
}

static void w_u64(struct fdtw *w, const char *name, u64 v)
{
	if (!w->err)
		w->err = fdt_property_u64(w->fdt, name, v);
}

/*
 * A property of @n big-endian cells, converted straight into the tree's
 * own buffer (fdt_property_placeholder), so a property of any length is
 * written whole: no bounce buffer that a long interrupt-map could outgrow.
 */
static void w_cells(struct fdtw *w, const char *name, const u32 *cells, unsigned int n)
{
	fdt32_t *be;

	if (w->err)
		return;
	w->err = fdt_property_placeholder(w->fdt, name, (int)(n * sizeof(fdt32_t)),
					  (void **)&be);
	for (unsigned int i = 0; !w->err && i < n; i++)
		be[i] = cpu_to_fdt32(cells[i]);
}

/* reg = <addr-hi addr-lo size-hi size-lo>... for #address-cells = #size-cells = 2. */
static void w_reg64(struct fdtw *w, const u64 *pairs, unsigned int nr_pairs)
{
	u32 cells[16];
	unsigned int n = 0;

	for (unsigned int i = 0; i < nr_pairs * 2 && n + 2 <= ARRAY_SIZE(cells); i++) {
		cells[n++] = (u32)(pairs[i] >> 32);
		cells[n++] = (u32)pairs[i];
	}
	w_cells(w, "reg", cells, n);
}

static void node_name(char *buf, size_t len, const char *base, u64 addr)
{
	snprintf(buf, len, "%s@%llx", base, (unsigned long long)addr);
}

static void add_chosen(struct fdtw *w, const struct fdt_desc *d)
{
	char path[64];

	w_begin(w, "chosen");
	w_str(w, "bootargs", d->bootargs ? d->bootargs : "");
	node_name(path, sizeof(path), "/uart", ARM_UART_BASE);
	w_str(w, "stdout-path", path);
	if (d->initrd_size) {
		w_u64(w, "linux,initrd-start", d->initrd_addr);
		w_u64(w, "linux,initrd-end", d->initrd_addr + d->initrd_size);
	}
	w_u64(w, "kaslr-seed", d->kaslr_seed);
	if (d->rng_seed_len)
		w_prop(w, "rng-seed", d->rng_seed, (int)d->rng_seed_len);
	/* lkvm placed the BARs and never moves them: the guest must not either. */
	if (d->nr_pci)
		w_u32(w, "linux,pci-probe-only", 1);
	w_end(w);
}

static void add_memory(struct fdtw *w, const struct fdt_desc *d)
{
	char name[48];

	for (unsigned int i = 0; i < d->nr_banks; i++) {
		u64 reg[2] = { d->banks[i].addr, d->banks[i].size };

		node_name(name, sizeof(name), "memory", reg[0]);
		w_begin(w, name);
		w_str(w, "device_type", "memory");
		w_reg64(w, reg, 1);
		w_end(w);
	}
}

static void add_cpus(struct fdtw *w, const struct fdt_desc *d)
{
	bool two_cells = false;
	char name[48];

	for (unsigned int i = 0; i < d->nr_cpus; i++)
		two_cells |= (d->mpidr[i] >> 32) != 0;
	w_begin(w, "cpus");
	w_u32(w, "#address-cells", two_cells ? 2 : 1);
	w_u32(w, "#size-cells", 0);
	for (unsigned int i = 0; i < d->nr_cpus; i++) {
		u64 mpidr = d->mpidr[i];

		node_name(name, sizeof(name), "cpu", mpidr);
		w_begin(w, name);
		w_str(w, "device_type", "cpu");
		w_str(w, "compatible", "arm,arm-v8");
		if (two_cells)
			w_u64(w, "reg", mpidr);
		else
			w_u32(w, "reg", (u32)mpidr);
		w_str(w, "enable-method", "psci");
		w_end(w);
	}
	w_end(w);
}

static void add_psci(struct fdtw *w, const struct fdt_desc *d)
{
	static const char compat[] = "arm,psci-1.0\0arm,psci-0.2";

	w_begin(w, "psci");
	w_prop(w, "compatible", compat, sizeof(compat));
	/* A guest at EL2 owns HVC for its own guests: it calls firmware by SMC. */
	w_str(w, "method", d->el2 ? "smc" : "hvc");
	w_end(w);
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
	w_begin(w, "timer");
	w_str(w, "compatible", "arm,armv8-timer");
	w_cells(w, "interrupts", cells, n * 3);
	w_prop(w, "always-on", NULL, 0);
	w_end(w);
}

static void add_gic(struct fdtw *w, const struct fdt_desc *d)
{
	char name[48];

	node_name(name, sizeof(name), "intc", ARM_GIC_DIST_BASE);
	w_begin(w, name);
	w_u32(w, "#interrupt-cells", 3);
	w_prop(w, "interrupt-controller", NULL, 0);
	w_u32(w, "#address-cells", 2);
	w_u32(w, "#size-cells", 2);
	w_prop(w, "ranges", NULL, 0);
	w_u32(w, "phandle", PHANDLE_GIC);
	if (d->gic == IRQCHIP_GICV2) {
		u64 reg[] = { ARM_GIC_DIST_BASE, 0x1000, ARM_GIC_CPU_BASE, ARM_GIC_CPU_SIZE };

		w_str(w, "compatible", "arm,cortex-a15-gic");
		w_reg64(w, reg, 2);
	} else {
		u64 reg[] = { ARM_GIC_DIST_BASE, ARM_GIC_DIST_SIZE, ARM_GIC_REDIST_BASE,
			      (u64)d->nr_cpus * ARM_GIC_REDIST_STRIDE };

		w_str(w, "compatible", "arm,gic-v3");
		w_u32(w, "#redistributor-regions", 1);
		w_reg64(w, reg, 2);
		if (d->el2) {
			u32 maint[] = { GIC_PPI, ARM_PPI_GIC_MAINT, IRQ_LEVEL_HIGH };

			w_cells(w, "interrupts", maint, 3);
		}
		if (d->gic == IRQCHIP_GICV3_ITS) {
			u64 its[] = { ARM_GIC_ITS_BASE, ARM_GIC_ITS_SIZE };

			node_name(name, sizeof(name), "msi-controller", ARM_GIC_ITS_BASE);
			w_begin(w, name);
			w_str(w, "compatible", "arm,gic-v3-its");
			w_prop(w, "msi-controller", NULL, 0);
			w_u32(w, "#msi-cells", 1);
			w_u32(w, "phandle", PHANDLE_ITS);
			w_reg64(w, its, 1);
			w_end(w);
		}
	}
	w_end(w);
}

static void add_platform(struct fdtw *w, const struct fdt_desc *d)
{
	static const char rtc_compat[] = "arm,pl031\0arm,primecell";
	u64 uart_reg[] = { ARM_UART_BASE, ARM_UART_SIZE };
	u64 rtc_reg[] = { ARM_RTC_BASE, ARM_RTC_SIZE };
	u32 uart_irq[] = { GIC_SPI, ARM_SPI_UART, IRQ_LEVEL_HIGH };
	u32 rtc_irq[] = { GIC_SPI, ARM_SPI_RTC, IRQ_LEVEL_HIGH };
	char name[48];

	w_begin(w, "apb-pclk");
	w_str(w, "compatible", "fixed-clock");
	w_u32(w, "#clock-cells", 0);
	w_u32(w, "clock-frequency", 24000000);
	w_str(w, "clock-output-names", "clk24mhz");
	w_u32(w, "phandle", PHANDLE_CLK);
	w_end(w);

	node_name(name, sizeof(name), "uart", ARM_UART_BASE);
	w_begin(w, name);
	w_str(w, "compatible", "ns16550a");
	w_reg64(w, uart_reg, 1);
	w_cells(w, "interrupts", uart_irq, 3);
	w_u32(w, "clock-frequency", 1843200);
	w_end(w);

	node_name(name, sizeof(name), "rtc", ARM_RTC_BASE);
	w_begin(w, name);
	w_prop(w, "compatible", rtc_compat, sizeof(rtc_compat));
	w_reg64(w, rtc_reg, 1);
	w_cells(w, "interrupts", rtc_irq, 3);
	w_u32(w, "clocks", PHANDLE_CLK);
	w_str(w, "clock-names", "apb_pclk");
	w_end(w);

	if (d->pmu) {
		u32 irq[] = { GIC_PPI, ARM_PPI_PMU, ppi_flags(d) };

		w_begin(w, "pmu");
		w_str(w, "compatible", "arm,armv8-pmuv3");
		w_cells(w, "interrupts", irq, 3);
		w_end(w);
	}
}

/*
 * virtio/mmio.yaml.  Edge-triggered: the interrupt comes from a KVM irqfd,
 * which pulses the line; a level-sensitive SPI could drop the pulse.
 */
static void add_virtio(struct fdtw *w, const struct fdt_desc *d)
{
	char name[48];

	for (unsigned int i = 0; i < d->nr_virtio; i++) {
		u64 reg[] = { d->virtio[i].addr, ARM_VIRTIO_MMIO_SLOT };
		u32 irq[] = { GIC_SPI, d->virtio[i].spi, IRQ_EDGE_RISING };

		node_name(name, sizeof(name), "virtio_mmio", reg[0]);
		w_begin(w, name);
		w_str(w, "compatible", "virtio,mmio");
		w_reg64(w, reg, 1);
		w_cells(w, "interrupts", irq, 3);
		w_prop(w, "dma-coherent", NULL, 0);
		w_end(w);
	}
}

/*
 * pci/host-generic-pci.yaml: an ECAM bridge for bus 0 with a 32-bit
 * memory window.  MSIs go to the ITS (msi-map: requester ID = ITS device
 * ID); INTA of each slot is wired by interrupt-map, edge-triggered like
 * virtio-mmio's (an irqfd pulses the line).
 */
static void add_pci(struct fdtw *w, const struct fdt_desc *d)
{
	u64 reg[] = { ARM_PCI_CFG_BASE, PCI_ECAM_BUS_SIZE };
	u32 bus_range[] = { 0, 0 };
	/* (phys.hi: 32-bit memory space, phys.mid, phys.lo), CPU address, size */
	u32 ranges[] = { 0x02000000, 0, (u32)ARM_PCI_MMIO_BASE, 0, (u32)ARM_PCI_MMIO_BASE,
			 0, (u32)ARM_PCI_MMIO_SIZE };
	u32 mask[] = { 0xf800, 0, 0, 7 };
	u32 map[PCI_MAX_DEVS * 10];
	u32 msi[] = { 0, PHANDLE_ITS, 0, 0x10000 };
	unsigned int n = 0;
	char name[48];

	if (!d->nr_pci)
		return;
	for (unsigned int i = 0; i < d->nr_pci && i < PCI_MAX_DEVS; i++) {
		/* child unit address (3 cells), INTA, the GIC (#address-cells 2), its SPI */
		u32 e[10] = { d->pci[i].slot << 11, 0, 0, 1, PHANDLE_GIC, 0, 0,
			      GIC_SPI, d->pci[i].spi, IRQ_EDGE_RISING };

		memcpy(map + n, e, sizeof(e));
		n += 10;
	}
	node_name(name, sizeof(name), "pci", ARM_PCI_CFG_BASE);
	w_begin(w, name);
	w_str(w, "compatible", "pci-host-ecam-generic");
	w_str(w, "device_type", "pci");
	w_u32(w, "#address-cells", 3);
	w_u32(w, "#size-cells", 2);
	w_u32(w, "#interrupt-cells", 1);
	w_reg64(w, reg, 1);
	w_cells(w, "bus-range", bus_range, 2);
	w_cells(w, "ranges", ranges, ARRAY_SIZE(ranges));
	w_cells(w, "interrupt-map-mask", mask, 4);
	w_cells(w, "interrupt-map", map, n);
	if (d->gic == IRQCHIP_GICV3_ITS)
		w_cells(w, "msi-map", msi, 4);
	w_prop(w, "dma-coherent", NULL, 0);
	w_end(w);
}

int fdt__build(const struct fdt_desc *d, void *buf, unsigned int size, struct lkvm_err *err)
{
	struct fdtw w = { .fdt = buf };

	if (d->gic == IRQCHIP_AUTO)
		return seterr(err, EINVAL, "device tree: interrupt controller not resolved");
	w.err = fdt_create(buf, (int)size);
	if (!w.err)
		w.err = fdt_finish_reservemap(buf);
	w_begin(&w, "");
	w_str(&w, "compatible", "linux,dummy-virt");
	w_str(&w, "model", "lkvm");
	w_u32(&w, "#address-cells", 2);
	w_u32(&w, "#size-cells", 2);
	w_u32(&w, "interrupt-parent", PHANDLE_GIC);
	add_chosen(&w, d);
	add_memory(&w, d);
	add_cpus(&w, d);
	add_psci(&w, d);
	add_timer(&w, d);
	add_gic(&w, d);
	add_platform(&w, d);
	add_virtio(&w, d);
	add_pci(&w, d);
	w_end(&w);
	if (!w.err)
		w.err = fdt_finish(buf);
	if (w.err == -FDT_ERR_NOSPACE)
		return seterr(err, ENOSPC, "device tree larger than %u bytes (command line too long?)",
			      size);
	if (w.err)
		return seterr(err, EINVAL, "device tree: %s", fdt_strerror(w.err));
	return 0;
}
