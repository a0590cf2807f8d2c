// SPDX-License-Identifier: GPL-2.0-only
/*
 * The generic device model (devices.c) with no KVM: the device set a
 * configuration asks for, each device's place and interrupt line under a
 * made-up placement, the areas running out, and the device tree that the
 * arch and the devices write together, compared with dtc's output of the
 * trees lkvm generated before the device model existed (tests/unit/dts/).
 */
#include <fcntl.h>
#include <libfdt.h>
#include <sys/socket.h>

#include "arm/boot.h"
#include "arm/layout.h"
#include "lkvm/pci.h"
#include "lkvm/virtio-transport.h"
#include "test.h"
#include "vm.h"

#define MAX_ARGS	64

struct fx {
	struct lkvm_config cfg;
	struct kvm kvm;
	struct kvm_arch arch;
	char *argv[MAX_ARGS];
	char disk[LKVM_MAX_DISKS][320];
	int argc;
};

static void add_arg(struct fx *f, const char *a)
{
	TEST_ASSERT(f->argc < MAX_ARGS - 1, "too many arguments");
	f->argv[f->argc++] = (char *)a;
}

/*
 * "lkvm run" with @extra (NULL-terminated) after the common arguments,
 * parsed and validated as lkvm does; with @max, every device lkvm can
 * have: 8 disks, virtio-rng, virtio-console and 4 NICs (on fake taps).
 */
static void fx_init(struct fx *f, enum irqchip_type gic, bool max, const char *const *extra)
{
	static const char *const nics[] = {
		"mode=tap,tapif=g0,vhost=off", "mode=tap,tapif=g1,vhost=off",
		"mode=tap,tapif=g2,vhost=off", "mode=tap,tapif=g3,vhost=off",
	};
	struct lkvm_err err = { "" };

	memset(f, 0, sizeof(*f));
	add_arg(f, "run");
	add_arg(f, "-k");
	add_arg(f, "payload.bin");
	add_arg(f, "-c");
	add_arg(f, "2");
	add_arg(f, "-m");
	add_arg(f, "256");
	if (max) {
		for (unsigned int i = 0; i < LKVM_MAX_DISKS; i++) {
			int fd;

			snprintf(f->disk[i], sizeof(f->disk[i]), "%s/d%u.img,engine=sync",
				 TEST_TMPDIR, i);
			*strchr(f->disk[i], ',') = '\0';
			fd = open(f->disk[i], O_RDWR | O_CREAT, 0644);
			TEST_ASSERT(fd >= 0 && ftruncate(fd, SZ_MiB) == 0, "disk %s", f->disk[i]);
			close(fd);
			f->disk[i][strlen(f->disk[i])] = ',';
			add_arg(f, "-d");
			add_arg(f, f->disk[i]);
		}
		add_arg(f, "--rng");
		add_arg(f, "--console");
		add_arg(f, "virtio");
		for (unsigned int i = 0; i < ARRAY_SIZE(nics); i++) {
			add_arg(f, "-n");
			add_arg(f, nics[i]);
		}
	}
	for (unsigned int i = 0; extra && extra[i]; i++)
		add_arg(f, extra[i]);
	config__defaults(&f->cfg, 2);
	TEST_ASSERT(config__parse_run(&f->cfg, f->argc, f->argv, &err) == 0, "parse: %s", err.msg);
	TEST_ASSERT(config__validate(&f->cfg, &err) == 0, "validate: %s", err.msg);
	test_vm_init(&f->kvm, &f->cfg, &f->arch, gic);
	for (unsigned int i = 0; i < f->cfg.nr_net; i++) {
		int sv[2];

		TEST_ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
					  sv), 0);
		close(sv[1]);
		f->kvm.net[i].tap_fd = sv[0];
		snprintf(f->kvm.net[i].ifname, sizeof(f->kvm.net[i].ifname), "g%u", i);
	}
}

static struct lkvm_device *dev_named(struct kvm *kvm, const char *name, unsigned int nth)
{
	for (unsigned int i = 0; i < kvm->nr_devices; i++)
		if (!strcmp(kvm->devices[i]->name, name) && nth-- == 0)
			return kvm->devices[i];
	TEST_ASSERT(false, "no %s #%u among %u devices", name, nth, kvm->nr_devices);
	return NULL;
}

/* Numbers no arch uses, so a device that ignores its placement shows. */
static const struct lkvm_placement fake = {
	.area = {
		[LKVM_AREA_UART] = { 0x1000, 0x100, 0, 3 },
		[LKVM_AREA_RTC] = { 0x3000, 0x1000, 0, 5 },
		[LKVM_AREA_VIRTIO_MMIO] = { 0x100000, 0x10000, 0x1000, 40 },
		[LKVM_AREA_PCI_CFG] = { 0x30000000, 0x10000000, 0, 20 },
		[LKVM_AREA_PCI_MMIO] = { 0x80000000, 0x10000000, 0x100000, LKVM_NO_IRQ },
	},
	.nr_irq_lines = 64,
	.msi = false,
};

static void create(struct fx *f, const struct lkvm_placement *p)
{
	struct lkvm_err err = { "" };

	TEST_ASSERT(devices__create(&f->kvm, p, &err) == 0, "devices__create: %s", err.msg);
}

/* The order of the table, and every device where the placement puts it. */
static void test_mmio_placement(void)
{
	static const char *const mmio[] = { "--virtio-transport", "mmio", NULL };
	static const char *const names[] = { "virtio-blk", "virtio-blk", "virtio-blk",
		"virtio-blk", "virtio-blk", "virtio-blk", "virtio-blk", "virtio-blk",
		"virtio-rng", "virtio-console", "virtio-net", "virtio-net", "virtio-net",
		"virtio-net" };
	struct fx f;

	fx_init(&f, IRQCHIP_GICV3_ITS, true, mmio);
	create(&f, &fake);
	TEST_ASSERT_EQ(f.kvm.nr_devices, 2 + ARRAY_SIZE(names));
	TEST_ASSERT_STR_EQ(f.kvm.devices[0]->name, "uart");
	TEST_ASSERT_EQ(f.kvm.devices[0]->base, 0x1000);
	TEST_ASSERT_EQ(f.kvm.devices[0]->size, 0x100);
	TEST_ASSERT_EQ(f.kvm.devices[0]->irq, 3);
	TEST_ASSERT_STR_EQ(f.kvm.devices[1]->name, "rtc");
	TEST_ASSERT_EQ(f.kvm.devices[1]->base, 0x3000);
	TEST_ASSERT_EQ(f.kvm.devices[1]->irq, 5);
	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++) {
		const struct lkvm_device *d = f.kvm.devices[2 + i];

		TEST_ASSERT_STR_EQ(d->name, names[i]);
		TEST_ASSERT_EQ(d->base, 0x100000 + i * 0x1000);
		TEST_ASSERT_EQ(d->size, VIRTIO_MMIO_SIZE);
		TEST_ASSERT_EQ(d->irq, 40 + i);
		TEST_ASSERT(!d->msi, "virtio-mmio device %u claims MSIs", i);
		/* The window answers at its place: the magic value. */
		{
			const struct mmio_range *m = mmio__find(&f.kvm.mmio, d->base, 4);
			u8 v[4];

			TEST_ASSERT(m && m->base == d->base, "no MMIO at %#llx",
				    (unsigned long long)d->base);
			m->fn(m->opaque, 0, v, 4, false);
			TEST_ASSERT_EQ(v[0] | v[1] << 8 | v[2] << 16 | (u32)v[3] << 24, VIRTIO_MMIO_MAGIC);
		}
	}
	/* --console virtio: the console device takes the host's input. */
	TEST_ASSERT(f.kvm.console.ctx != NULL, "no console sink");
	TEST_ASSERT(f.kvm.pci == NULL, "a PCI bus without PCI devices");
	test_vm_fini(&f.kvm);
}

/* On PCI: a bridge first, then a slot and a BAR per device, INTx swizzled from the bridge's line. */
static void test_pci_placement(void)
{
	struct lkvm_placement p = fake;
	struct fx f;

	for (int msi = 0; msi < 2; msi++) {
		p.msi = msi;
		fx_init(&f, IRQCHIP_GICV3_ITS, true, NULL);
		create(&f, &p);
		TEST_ASSERT_EQ(f.kvm.nr_devices, 2 + 1 + 14);
		TEST_ASSERT(f.kvm.pci != NULL, "no PCI bus");
		TEST_ASSERT(&f.kvm.pci->ldev == dev_named(&f.kvm, "pci", 0), "the bus is not a device");
		TEST_ASSERT_EQ(f.kvm.pci->ldev.base, 0x30000000);
		TEST_ASSERT_EQ(f.kvm.pci->nr_dev, 14);
		for (unsigned int i = 0; i < 14; i++) {
			const struct lkvm_device *d = f.kvm.devices[3 + i];

			TEST_ASSERT_EQ(f.kvm.pci->dev[i]->slot, i);
			TEST_ASSERT_EQ(f.kvm.pci->dev[i]->bar_addr, 0x80000000 + i * 0x100000);
			TEST_ASSERT_EQ(d->base, 0x80000000 + i * 0x100000);
			TEST_ASSERT_EQ(d->size, VIRTIO_PCI_BAR_SIZE);
			TEST_ASSERT_EQ(d->irq, 20 + i % 4);
			TEST_ASSERT_EQ(pci__intx_line(f.kvm.pci, i), 20 + i % 4);
			TEST_ASSERT_EQ(d->msi, (bool)msi);
		}
		TEST_ASSERT_STR_EQ(dev_named(&f.kvm, "virtio-console", 0)->name, "virtio-console");
		test_vm_fini(&f.kvm);
	}
}

/* An area that runs out refuses the next device by name, and the set stays freeable. */
static void test_area_full(void)
{
	static const char *const mmio[] = { "--virtio-transport", "mmio", NULL };
	struct lkvm_placement p = fake;
	struct lkvm_err err = { "" };
	struct fx f;
	int r;

	p.area[LKVM_AREA_VIRTIO_MMIO].size = 3 * 0x1000;
	fx_init(&f, IRQCHIP_GICV3_ITS, true, mmio);
	r = devices__create(&f.kvm, &p, &err);
	TEST_ASSERT_EQ(r, -ENOSPC);
	TEST_ASSERT(strstr(err.msg, "virtio-blk") && strstr(err.msg, "no room"), "message: %s",
		    err.msg);
	TEST_ASSERT_EQ(f.kvm.nr_devices, 2 + 3);
	test_vm_fini(&f.kvm);

	p = fake;
	p.nr_irq_lines = 42;	/* lines 40 and 41 only */
	fx_init(&f, IRQCHIP_GICV3_ITS, true, mmio);
	r = devices__create(&f.kvm, &p, &err);
	TEST_ASSERT_EQ(r, -ENOSPC);
	TEST_ASSERT(strstr(err.msg, "interrupt line"), "message: %s", err.msg);
	TEST_ASSERT_EQ(f.kvm.nr_devices, 2 + 2);
	test_vm_fini(&f.kvm);
}

/* ---- the device tree, against the committed one --------------------------- */

static const char *srcdir(void)
{
	const char *d = getenv("LKVM_SRCDIR");

	return d ? d : ".";
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	TEST_ASSERT(fp, "open %s: %s", path, strerror(errno));
	for (;;) {
		if (n + 4096 > cap) {
			cap = (cap + 4096) * 2;
			buf = realloc(buf, cap);
			TEST_ASSERT(buf, "realloc");
		}
		size_t got = fread(buf + n, 1, cap - n - 1, fp);

		if (!got)
			break;
		n += got;
	}
	fclose(fp);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* dtc's sorted decompile of @fdt, without the random /chosen/rng-seed line. */
static char *dtc_sorted(const void *fdt, const char *name)
{
	char dtb[400], dts[400], cmd[1000], *text, *line;
	size_t len;
	int fd;

	snprintf(dtb, sizeof(dtb), "%s/%s.dtb", TEST_TMPDIR, name);
	snprintf(dts, sizeof(dts), "%s/%s.dts", TEST_TMPDIR, name);
	fd = open(dtb, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	TEST_ASSERT(fd >= 0, "open %s", dtb);
	TEST_ASSERT(write(fd, fdt, fdt_totalsize(fdt)) == (ssize_t)fdt_totalsize(fdt), "write");
	close(fd);
	snprintf(cmd, sizeof(cmd), "dtc -s -q -I dtb -O dts -o %s %s", dts, dtb);
	TEST_ASSERT(system(cmd) == 0, "%s failed", cmd);
	text = slurp(dts, &len);
	line = strstr(text, "\t\trng-seed = <");
	if (line) {
		char *end = strchr(line, '\n');

		memmove(line, end + 1, strlen(end + 1) + 1);
	}
	return text;
}

static bool have_dtc(void)
{
	return system("command -v dtc >/dev/null 2>&1") == 0;
}

/* Builds the tree lkvm run builds for this config and compares it with tests/unit/dts/@name.dts. */
static void check_golden(const char *name, enum irqchip_type gic, bool max,
			 const char *const *extra)
{
	static const u64 mpidr[] = { 0, 1 };
	static u8 rng[56];
	struct mem_bank bank = { 256 * SZ_MiB, ARM_RAM_BASE, true };
	struct lkvm_err err = { "" };
	char path[400], *got, *want;
	size_t len;
	void *fdt;
	struct fx f;

	fx_init(&f, gic, max, extra);
	test_vm_devices(&f.kvm);
	fdt = calloc(1, ARM_FDT_MAX_SIZE);
	TEST_ASSERT(fdt, "calloc");
	TEST_ASSERT(fdt__build(&(struct fdt_desc){
			.banks = &bank, .nr_banks = 1, .mpidr = mpidr, .nr_cpus = 2,
			.gic = gic, .el2 = f.cfg.arch.nested, .pmu = f.cfg.arch.pmu,
			.bootargs = f.cfg.console == CONSOLE_VIRTIO ? "console=hvc0 lkvm.golden=1" :
								       "console=ttyS0 lkvm.golden=1",
			.kaslr_seed = 0x1234, .rng_seed = rng, .rng_seed_len = sizeof(rng),
			.kvm = &f.kvm,
		}, fdt, ARM_FDT_MAX_SIZE, &err) == 0, "fdt__build: %s", err.msg);
	got = dtc_sorted(fdt, name);
	snprintf(path, sizeof(path), "%s/tests/unit/dts/%s.dts", srcdir(), name);
	want = slurp(path, &len);
	if (strcmp(got, want)) {
		char cmd[1000];

		snprintf(cmd, sizeof(cmd), "diff -u %s %s/%s.dts | sed 's/^/# /' >&2", path,
			 TEST_TMPDIR, name);
		TEST_ASSERT(system(cmd) >= 0, "diff");
		TEST_ASSERT(false, "the device tree of %s differs from %s (diff above)", name, path);
	}
	free(got);
	free(want);
	free(fdt);
	test_vm_fini(&f.kvm);
}

static void test_golden_default(void)
{
	if (!have_dtc())
		TEST_SKIP("dtc not installed (apt-get install device-tree-compiler)");
	check_golden("default", IRQCHIP_GICV3_ITS, false, NULL);
}

static void test_golden_nested(void)
{
	static const char *const nested[] = { "--nested", NULL };

	if (!have_dtc())
		TEST_SKIP("dtc not installed (apt-get install device-tree-compiler)");
	check_golden("nested", IRQCHIP_GICV3_ITS, false, nested);
}

static void test_golden_max_pci_its(void)
{
	if (!have_dtc())
		TEST_SKIP("dtc not installed (apt-get install device-tree-compiler)");
	check_golden("max-pci-its", IRQCHIP_GICV3_ITS, true, NULL);
}

static void test_golden_max_pci_intx(void)
{
	static const char *const intx[] = { "--irqchip", "gicv3", NULL };

	if (!have_dtc())
		TEST_SKIP("dtc not installed (apt-get install device-tree-compiler)");
	check_golden("max-pci-intx", IRQCHIP_GICV3, true, intx);
}

static void test_golden_max_mmio(void)
{
	static const char *const mmio[] = { "--virtio-transport", "mmio", NULL };

	if (!have_dtc())
		TEST_SKIP("dtc not installed (apt-get install device-tree-compiler)");
	check_golden("max-mmio", IRQCHIP_GICV3_ITS, true, mmio);
}

/*
 * Each device's interrupt in the DT is the line it raises (hardening
 * defect 1: a full bus's interrupt-map once carried host stack bytes).
 */
static void test_dt_irq_is_raised_line(void)
{
	static const char *const intx[] = { "--irqchip", "gicv3", NULL };
	static const char *const mmio[] = { "--virtio-transport", "mmio", NULL };
	static const u64 mpidr[] = { 0, 1 };
	struct mem_bank bank = { 256 * SZ_MiB, ARM_RAM_BASE, true };
	struct lkvm_err err = { "" };
	const fdt32_t *map;
	struct fx f;
	void *fdt;
	int node, len;

	for (int pass = 0; pass < 2; pass++) {
		fx_init(&f, IRQCHIP_GICV3, true, pass ? mmio : intx);
		test_vm_devices(&f.kvm);
		fdt = calloc(1, ARM_FDT_MAX_SIZE);
		TEST_ASSERT(fdt__build(&(struct fdt_desc){
				.banks = &bank, .nr_banks = 1, .mpidr = mpidr, .nr_cpus = 2,
				.gic = IRQCHIP_GICV3, .bootargs = "", .kvm = &f.kvm,
			}, fdt, ARM_FDT_MAX_SIZE, &err) == 0, "fdt__build: %s", err.msg);
		if (!pass) {
			node = fdt_node_offset_by_compatible(fdt, -1, "pci-host-ecam-generic");
			TEST_ASSERT(node >= 0, "no PCI host bridge node");
			map = fdt_getprop(fdt, node, "interrupt-map", &len);
			TEST_ASSERT(map && len == (int)(f.kvm.pci->nr_dev * 10 * 4), "interrupt-map of %d bytes",
				    len);
			for (unsigned int i = 0; i < f.kvm.pci->nr_dev; i++) {
				const struct lkvm_device *d = f.kvm.devices[3 + i];

				TEST_ASSERT_EQ(fdt32_to_cpu(map[i * 10]), i << 11);
				TEST_ASSERT_EQ(fdt32_to_cpu(map[i * 10 + 3]), 1);	/* INTA */
				TEST_ASSERT_EQ(fdt32_to_cpu(map[i * 10 + 7]), ARM_FDT_GIC_SPI);
				TEST_ASSERT_EQ(fdt32_to_cpu(map[i * 10 + 8]), d->irq);
				TEST_ASSERT_EQ(fdt32_to_cpu(map[i * 10 + 8]), ARM_SPI_PCI_INTX + i % 4);
				TEST_ASSERT_EQ(fdt32_to_cpu(map[i * 10 + 9]), ARM_FDT_IRQ_EDGE_RISING);
			}
		} else {
			for (unsigned int i = 2; i < f.kvm.nr_devices; i++) {
				const struct lkvm_device *d = f.kvm.devices[i];
				char path[64];
				const fdt32_t *irq;

				snprintf(path, sizeof(path), "/virtio_mmio@%llx", (unsigned long long)d->base);
				node = fdt_path_offset(fdt, path);
				TEST_ASSERT(node >= 0, "no node %s", path);
				irq = fdt_getprop(fdt, node, "interrupts", &len);
				TEST_ASSERT(irq && len == 12, "%s: interrupts", path);
				TEST_ASSERT_EQ(fdt32_to_cpu(irq[1]), d->irq);
			}
		}
		free(fdt);
		test_vm_fini(&f.kvm);
	}
}

static const struct test_case tests[] = {
	TEST_CASE(test_mmio_placement),
	TEST_CASE(test_pci_placement),
	TEST_CASE(test_area_full),
	TEST_CASE(test_golden_default),
	TEST_CASE(test_golden_nested),
	TEST_CASE(test_golden_max_pci_its),
	TEST_CASE(test_golden_max_pci_intx),
	TEST_CASE(test_golden_max_mmio),
	TEST_CASE(test_dt_irq_is_raised_line),
};

TEST_MAIN(tests)
