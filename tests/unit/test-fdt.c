// SPDX-License-Identifier: GPL-2.0-only
/*
 * The generated device tree (arm/fdt.c), parsed back with libfdt and
 * checked against the bindings the guest kernel relies on: /chosen,
 * memory, CPUs and their MPIDRs, PSCI conduit, timer and GIC interrupts
 * (with the EL2 extras for a nested guest), and a clean `dtc` decompile
 * (no warnings) of every variant.
 */
#include <fcntl.h>
#include <libfdt.h>
#include <spawn.h>
#include <sys/stat.h>

#include "arm/boot.h"
#include "arm/layout.h"
#include "test.h"
#include "vm.h"

extern char **environ;

#define FDT_BUF_SIZE	ARM_FDT_MAX_SIZE

static const struct mem_bank one_bank[] = { { 256 * SZ_MiB, ARM_RAM_BASE, true } };
static const struct mem_bank two_banks[] = {
	{ 256 * SZ_MiB, ARM_RAM_BASE, true },
	{ SZ_GiB, 0x100000000ULL, true },
};
static const u64 mpidr_4[] = { 0, 1, 2, 3 };
static const u8 rng_seed[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static struct fdt_desc desc_v3its(void)
{
	return (struct fdt_desc){
		.banks = one_bank, .nr_banks = 1,
		.mpidr = mpidr_4, .nr_cpus = 2,
		.gic = IRQCHIP_GICV3_ITS,
		.bootargs = "console=ttyS0 earlycon root=/dev/ram0",
		.initrd_addr = 0x8f000000, .initrd_size = 0x123456,
		.kaslr_seed = 0x0123456789abcdefULL,
		.rng_seed = rng_seed, .rng_seed_len = sizeof(rng_seed),
	};
}

static struct fdt_desc desc_v2(void)
{
	return (struct fdt_desc){
		.banks = one_bank, .nr_banks = 1,
		.mpidr = mpidr_4, .nr_cpus = 1,
		.gic = IRQCHIP_GICV2,
		.bootargs = "console=ttyS0",
	};
}

static struct fdt_desc desc_el2_pmu(void)
{
	return (struct fdt_desc){
		.banks = two_banks, .nr_banks = 2,
		.mpidr = mpidr_4, .nr_cpus = 4,
		.gic = IRQCHIP_GICV3,
		.el2 = true, .pmu = true,
		.bootargs = "console=ttyS0 kvm-arm.mode=nested",
		.initrd_addr = 0x8c000000, .initrd_size = 0x1000,
	};
}

/*
 * The tree of @d with the platform devices every VM has (the UART and the
 * RTC), made by the generic device model with the arm64 placement, no
 * KVM.  Virtio devices and the PCI bridge: tests/unit/test-devices.c.
 */
static void *build(const struct fdt_desc *desc)
{
	struct lkvm_err err = { "" };
	void *fdt = calloc(1, FDT_BUF_SIZE);
	struct lkvm_config cfg;
	struct kvm_arch arch;
	struct fdt_desc d = *desc;
	struct kvm kvm;
	int r;

	TEST_ASSERT(fdt, "calloc");
	config__defaults(&cfg, d.nr_cpus);
	test_vm_init(&kvm, &cfg, &arch, d.gic);
	test_vm_devices(&kvm);
	d.kvm = &kvm;
	r = fdt__build(&d, fdt, FDT_BUF_SIZE, &err);
	test_vm_fini(&kvm);
	TEST_ASSERT(r == 0, "fdt__build: %d %s", r, err.msg);
	TEST_ASSERT_EQ(fdt_check_header(fdt), 0);
	TEST_ASSERT(fdt_totalsize(fdt) <= FDT_BUF_SIZE, "size");
	return fdt;
}

static const void *prop(const void *fdt, int node, const char *name, int *len)
{
	const void *p = fdt_getprop(fdt, node, name, len);

	TEST_ASSERT(p, "property %s missing: %s", name, fdt_strerror(*len));
	return p;
}

static u32 cell(const void *p, unsigned int i)
{
	fdt32_t v;

	memcpy(&v, (const u8 *)p + 4 * i, 4);
	return fdt32_to_cpu(v);
}

static u64 prop_u64(const void *fdt, int node, const char *name)
{
	int len;
	const void *p = prop(fdt, node, name, &len);

	TEST_ASSERT_EQ(len, 8);
	return (u64)cell(p, 0) << 32 | cell(p, 1);
}

static int node_by_compat(const void *fdt, const char *compat)
{
	return fdt_node_offset_by_compatible(fdt, -1, compat);
}

static void check_chosen(const void *fdt, const struct fdt_desc *d)
{
	int chosen = fdt_path_offset(fdt, "/chosen"), len, uart;
	const char *s;

	TEST_ASSERT(chosen >= 0, "/chosen: %s", fdt_strerror(chosen));
	s = prop(fdt, chosen, "bootargs", &len);
	TEST_ASSERT_STR_EQ(s, d->bootargs);
	s = prop(fdt, chosen, "stdout-path", &len);
	uart = fdt_path_offset(fdt, s);
	TEST_ASSERT(uart >= 0, "stdout-path %s does not resolve", s);
	TEST_ASSERT(fdt_node_check_compatible(fdt, uart, "ns16550a") == 0,
		    "stdout-path %s is not a 16550", s);
	TEST_ASSERT_EQ(prop_u64(fdt, chosen, "kaslr-seed"), d->kaslr_seed);
	if (d->initrd_size) {
		TEST_ASSERT_EQ(prop_u64(fdt, chosen, "linux,initrd-start"), d->initrd_addr);
		TEST_ASSERT_EQ(prop_u64(fdt, chosen, "linux,initrd-end"),
			       d->initrd_addr + d->initrd_size);
	} else {
		TEST_ASSERT(!fdt_getprop(fdt, chosen, "linux,initrd-start", NULL), "no initrd");
		TEST_ASSERT(!fdt_getprop(fdt, chosen, "linux,initrd-end", NULL), "no initrd");
	}
	if (d->rng_seed_len) {
		const void *seed = prop(fdt, chosen, "rng-seed", &len);

		TEST_ASSERT_EQ(len, d->rng_seed_len);
		TEST_ASSERT(!memcmp(seed, d->rng_seed, d->rng_seed_len), "rng-seed bytes");
	} else {
		TEST_ASSERT(!fdt_getprop(fdt, chosen, "rng-seed", NULL), "no rng-seed");
	}
}

static void check_memory(const void *fdt, const struct fdt_desc *d)
{
	unsigned int n = 0;
	int node = -1;

	TEST_ASSERT_EQ(fdt_address_cells(fdt, 0), 2);
	TEST_ASSERT_EQ(fdt_size_cells(fdt, 0), 2);
	for (;;) {
		const void *reg;
		int len;
		u64 addr, size;

		node = fdt_node_offset_by_prop_value(fdt, node, "device_type", "memory",
						     sizeof("memory"));
		if (node < 0)
			break;
		TEST_ASSERT(n < d->nr_banks, "more memory nodes than banks");
		reg = prop(fdt, node, "reg", &len);
		TEST_ASSERT_EQ(len, 16);
		addr = (u64)cell(reg, 0) << 32 | cell(reg, 1);
		size = (u64)cell(reg, 2) << 32 | cell(reg, 3);
		TEST_ASSERT_EQ(addr, d->banks[n].addr);
		TEST_ASSERT_EQ(size, d->banks[n].size);
		n++;
	}
	TEST_ASSERT_EQ(n, d->nr_banks);
}

static void check_cpus(const void *fdt, const struct fdt_desc *d)
{
	int cpus = fdt_path_offset(fdt, "/cpus"), node, ac;
	unsigned int n = 0;

	TEST_ASSERT(cpus >= 0, "/cpus");
	ac = fdt_address_cells(fdt, cpus);
	TEST_ASSERT(ac == 1 || ac == 2, "#address-cells %d", ac);
	TEST_ASSERT_EQ(fdt_size_cells(fdt, cpus), 0);
	fdt_for_each_subnode(node, fdt, cpus) {
		const void *reg;
		int len;
		u64 mpidr;

		TEST_ASSERT(n < d->nr_cpus, "more cpu nodes than vCPUs");
		TEST_ASSERT_STR_EQ(prop(fdt, node, "device_type", &len), "cpu");
		TEST_ASSERT_STR_EQ(prop(fdt, node, "enable-method", &len), "psci");
		reg = prop(fdt, node, "reg", &len);
		TEST_ASSERT_EQ(len, 4 * ac);
		mpidr = ac == 2 ? (u64)cell(reg, 0) << 32 | cell(reg, 1) : cell(reg, 0);
		TEST_ASSERT_EQ(mpidr, d->mpidr[n]);
		n++;
	}
	TEST_ASSERT_EQ(n, d->nr_cpus);
}

static void check_psci(const void *fdt, const struct fdt_desc *d)
{
	int psci = node_by_compat(fdt, "arm,psci-0.2"), len;

	TEST_ASSERT(psci >= 0, "psci node");
	TEST_ASSERT_EQ(fdt_node_check_compatible(fdt, psci, "arm,psci-1.0"), 0);
	TEST_ASSERT_STR_EQ(prop(fdt, psci, "method", &len), d->el2 ? "smc" : "hvc");
}

static u32 expected_ppi_flags(const struct fdt_desc *d)
{
	u32 flags = 4;	/* level high */

	if (d->gic == IRQCHIP_GICV2)
		flags |= ((1u << (d->nr_cpus < 8 ? d->nr_cpus : 8)) - 1) << 8;
	return flags;
}

static void check_timer(const void *fdt, const struct fdt_desc *d)
{
	static const u32 ppis[] = { 13, 14, 11, 10, 12 };
	int timer = node_by_compat(fdt, "arm,armv8-timer"), len;
	const void *irqs;
	unsigned int n = d->el2 ? 5 : 4;

	TEST_ASSERT(timer >= 0, "timer node");
	irqs = prop(fdt, timer, "interrupts", &len);
	TEST_ASSERT_EQ(len, n * 12);
	for (unsigned int i = 0; i < n; i++) {
		TEST_ASSERT_EQ(cell(irqs, 3 * i), 1);	/* PPI */
		TEST_ASSERT_EQ(cell(irqs, 3 * i + 1), ppis[i]);
		TEST_ASSERT_EQ(cell(irqs, 3 * i + 2), expected_ppi_flags(d));
	}
}

static void check_gic(const void *fdt, const struct fdt_desc *d)
{
	int gic, its, len, root = fdt_path_offset(fdt, "/");
	const void *p;

	if (d->gic == IRQCHIP_GICV2) {
		gic = node_by_compat(fdt, "arm,cortex-a15-gic");
		TEST_ASSERT(gic >= 0, "GICv2 node");
		TEST_ASSERT(node_by_compat(fdt, "arm,gic-v3") < 0, "no GICv3 node");
		p = prop(fdt, gic, "reg", &len);
		TEST_ASSERT_EQ(len, 32);
		TEST_ASSERT_EQ(cell(p, 1), ARM_GIC_DIST_BASE);
		TEST_ASSERT_EQ(cell(p, 5), ARM_GIC_CPU_BASE);
	} else {
		gic = node_by_compat(fdt, "arm,gic-v3");
		TEST_ASSERT(gic >= 0, "GICv3 node");
		p = prop(fdt, gic, "reg", &len);
		TEST_ASSERT_EQ(len, 32);
		TEST_ASSERT_EQ(cell(p, 1), ARM_GIC_DIST_BASE);
		TEST_ASSERT_EQ(cell(p, 5), ARM_GIC_REDIST_BASE);
		TEST_ASSERT_EQ(cell(p, 7), d->nr_cpus * ARM_GIC_REDIST_STRIDE);
	}
	TEST_ASSERT(fdt_getprop(fdt, gic, "interrupt-controller", NULL), "interrupt-controller");
	p = prop(fdt, gic, "#interrupt-cells", &len);
	TEST_ASSERT_EQ(cell(p, 0), 3);

	/* The root's interrupt-parent is this GIC. */
	p = prop(fdt, root, "interrupt-parent", &len);
	TEST_ASSERT_EQ(fdt_node_offset_by_phandle(fdt, cell(p, 0)), gic);

	/* Maintenance interrupt only for a guest hypervisor. */
	p = fdt_getprop(fdt, gic, "interrupts", &len);
	if (d->el2) {
		TEST_ASSERT(p, "GIC maintenance interrupt missing with el2");
		TEST_ASSERT_EQ(len, 12);
		TEST_ASSERT_EQ(cell(p, 0), 1);
		TEST_ASSERT_EQ(cell(p, 1), 9);
		TEST_ASSERT_EQ(cell(p, 2), 4);
	} else {
		TEST_ASSERT(!p, "GIC has interrupts without el2");
	}

	its = node_by_compat(fdt, "arm,gic-v3-its");
	if (d->gic == IRQCHIP_GICV3_ITS) {
		TEST_ASSERT(its >= 0, "ITS node missing");
		TEST_ASSERT_EQ(fdt_parent_offset(fdt, its), gic);
		TEST_ASSERT(fdt_getprop(fdt, its, "msi-controller", NULL), "msi-controller");
		p = prop(fdt, its, "reg", &len);
		TEST_ASSERT_EQ(len, 16);
		TEST_ASSERT_EQ(cell(p, 1), ARM_GIC_ITS_BASE);
	} else {
		TEST_ASSERT(its < 0, "ITS node without ITS");
	}
}

static void check_devices(const void *fdt, const struct fdt_desc *d)
{
	int uart = node_by_compat(fdt, "ns16550a"), rtc = node_by_compat(fdt, "arm,pl031");
	int pmu = node_by_compat(fdt, "arm,armv8-pmuv3"), len;
	const void *p;

	TEST_ASSERT(uart >= 0 && rtc >= 0, "uart and rtc nodes");
	p = prop(fdt, uart, "reg", &len);
	TEST_ASSERT_EQ(cell(p, 1), ARM_UART_BASE);
	p = prop(fdt, uart, "interrupts", &len);
	TEST_ASSERT_EQ(cell(p, 0), 0);		/* SPI */
	TEST_ASSERT_EQ(cell(p, 1), ARM_SPI_UART);
	p = prop(fdt, rtc, "reg", &len);
	TEST_ASSERT_EQ(cell(p, 1), ARM_RTC_BASE);
	TEST_ASSERT_EQ(fdt_node_check_compatible(fdt, rtc, "arm,primecell"), 0);
	if (d->pmu) {
		TEST_ASSERT(pmu >= 0, "pmu node");
		p = prop(fdt, pmu, "interrupts", &len);
		TEST_ASSERT_EQ(len, 12);
		TEST_ASSERT_EQ(cell(p, 0), 1);
		TEST_ASSERT_EQ(cell(p, 1), ARM_PPI_PMU);
		TEST_ASSERT_EQ(cell(p, 2), expected_ppi_flags(d));
	} else {
		TEST_ASSERT(pmu < 0, "pmu node without pmu");
	}
}

static void check_all(const struct fdt_desc *d)
{
	void *fdt = build(d);

	check_chosen(fdt, d);
	check_memory(fdt, d);
	check_cpus(fdt, d);
	check_psci(fdt, d);
	check_timer(fdt, d);
	check_gic(fdt, d);
	check_devices(fdt, d);
	free(fdt);
}

static void test_gicv3_its_2cpus(void)
{
	struct fdt_desc d = desc_v3its();

	check_all(&d);
}

static void test_gicv2_1cpu(void)
{
	struct fdt_desc d = desc_v2();

	check_all(&d);
}

static void test_el2_pmu_2banks(void)
{
	struct fdt_desc d = desc_el2_pmu();

	check_all(&d);
}

static void test_initrd_absent(void)
{
	struct fdt_desc d = desc_v3its();

	d.initrd_size = 0;
	d.rng_seed_len = 0;
	d.bootargs = NULL;	/* becomes "" */
	{
		void *fdt = build(&d);
		int chosen = fdt_path_offset(fdt, "/chosen"), len;

		TEST_ASSERT_STR_EQ(prop(fdt, chosen, "bootargs", &len), "");
		free(fdt);
	}
	d.bootargs = "";
	check_all(&d);
}

static void test_mpidr_aff3(void)
{
	static const u64 mpidr[] = { 0, 0x100000000ULL, 0x100000001ULL };
	struct fdt_desc d = desc_v3its();
	void *fdt;

	d.mpidr = mpidr;
	d.nr_cpus = 3;
	check_all(&d);
	fdt = build(&d);
	TEST_ASSERT_EQ(fdt_address_cells(fdt, fdt_path_offset(fdt, "/cpus")), 2);
	free(fdt);
}

/* lkvm accepts -c up to LKVM_MAX_CPUS: the tree for that many must fit the DTB buffer. */
static void test_max_cpus_fit(void)
{
	static u64 mpidr[LKVM_MAX_CPUS];
	struct fdt_desc d = desc_el2_pmu();

	for (unsigned int i = 0; i < LKVM_MAX_CPUS; i++)	/* KVM's reset MPIDR layout */
		mpidr[i] = (i & 0xf) | ((u64)(i >> 4) << 8);
	d.mpidr = mpidr;
	d.nr_cpus = LKVM_MAX_CPUS;
	check_all(&d);
}

static void test_too_small_buffer(void)
{
	struct fdt_desc d = desc_v3its();
	struct lkvm_err err = { "" };
	char *big;
	void *fdt = calloc(1, FDT_BUF_SIZE);

	TEST_ASSERT_EQ(fdt__build(&d, fdt, 256, &err), -ENOSPC);
	TEST_ASSERT_STR_CONTAINS(err.msg, "256 bytes");

	big = malloc(FDT_BUF_SIZE + 1);
	memset(big, 'x', FDT_BUF_SIZE);
	big[FDT_BUF_SIZE] = '\0';
	d.bootargs = big;
	TEST_ASSERT_EQ(fdt__build(&d, fdt, FDT_BUF_SIZE, &err), -ENOSPC);
	TEST_ASSERT_STR_CONTAINS(err.msg, "command line");
	free(big);
	free(fdt);
}

static void test_unresolved_gic(void)
{
	struct fdt_desc d = desc_v3its();
	struct lkvm_err err = { "" };
	void *fdt = calloc(1, FDT_BUF_SIZE);

	d.gic = IRQCHIP_AUTO;
	TEST_ASSERT_EQ(fdt__build(&d, fdt, FDT_BUF_SIZE, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "interrupt controller");
	free(fdt);
}

/* dtc */

static void read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	TEST_ASSERT(fd >= 0, "open %s", path);
	n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
}

static bool have_dtc(void)
{
	static const char *const dirs[] = { "/usr/bin", "/usr/local/bin", "/bin" };
	char p[64];

	for (unsigned int i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(p, sizeof(p), "%s/dtc", dirs[i]);
		if (access(p, X_OK) == 0)
			return true;
	}
	return false;
}

/* Decompiles @d's tree with dtc; it must succeed without a single warning. */
static void dtc_clean(const struct fdt_desc *d, const char *name)
{
	char dtb[512], log[512], out[8192];
	char *argv[] = { "dtc", "-I", "dtb", "-O", "dts", "-o", "/dev/null", dtb, NULL };
	posix_spawn_file_actions_t fa;
	void *fdt = build(d);
	int fd, status, r;
	pid_t pid;

	snprintf(dtb, sizeof(dtb), "%s/%s.dtb", TEST_TMPDIR, name);
	snprintf(log, sizeof(log), "%s/%s.log", TEST_TMPDIR, name);
	fd = open(dtb, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	TEST_ASSERT(fd >= 0, "open %s", dtb);
	TEST_ASSERT(write(fd, fdt, fdt_totalsize(fdt)) == (ssize_t)fdt_totalsize(fdt), "write");
	close(fd);

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, log, O_WRONLY | O_CREAT | O_TRUNC,
					 0644);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	r = posix_spawnp(&pid, "dtc", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	TEST_ASSERT(r == 0, "spawn dtc: %s", strerror(r));
	TEST_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	read_text(log, out, sizeof(out));
	TEST_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "dtc %s failed (%#x): %s", name,
		    status, out);
	TEST_ASSERT(out[0] == '\0', "dtc warnings for %s:\n%s", name, out);
	free(fdt);
}

static void test_dtc_no_warnings(void)
{
	static u64 mpidr[64];
	struct fdt_desc d;

	if (!have_dtc())
		TEST_SKIP("dtc not installed (apt-get install device-tree-compiler)");
	d = desc_v3its();
	dtc_clean(&d, "v3its");
	d.initrd_size = 0;
	dtc_clean(&d, "v3its-noinitrd");
	d = desc_v2();
	dtc_clean(&d, "v2");
	d = desc_el2_pmu();
	dtc_clean(&d, "el2-pmu");
	d.gic = IRQCHIP_GICV3_ITS;
	dtc_clean(&d, "el2-its");
	d = desc_v2();
	d.pmu = true;
	d.mpidr = mpidr_4;
	d.nr_cpus = 4;
	dtc_clean(&d, "v2-pmu-4");
	for (unsigned int i = 0; i < ARRAY_SIZE(mpidr); i++)
		mpidr[i] = (i & 0xf) | ((u64)(i >> 4) << 8);
	d = desc_v3its();
	d.mpidr = mpidr;
	d.nr_cpus = ARRAY_SIZE(mpidr);
	dtc_clean(&d, "v3its-64");
}

static const struct test_case tests[] = {
	TEST_CASE(test_gicv3_its_2cpus),
	TEST_CASE(test_gicv2_1cpu),
	TEST_CASE(test_el2_pmu_2banks),
	TEST_CASE(test_initrd_absent),
	TEST_CASE(test_mpidr_aff3),
	TEST_CASE(test_max_cpus_fit),
	TEST_CASE(test_too_small_buffer),
	TEST_CASE(test_unresolved_gic),
	TEST_CASE(test_dtc_no_warnings),
};

TEST_MAIN(tests)
