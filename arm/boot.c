// SPDX-License-Identifier: GPL-2.0-only
/*
 * Puts the boot images into guest RAM: the kernel (Image, Image.gz, ELF
 * or flat payload) and the initrd (arm/load.c: each byte once, straight to
 * its place), and the device tree, written in place at the top of the
 * first bank; records the entry point and DTB address for the boot vCPU.
 * Parsing and placement are in arm/kernel.c, the tree in arm/fdt.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <libfdt.h>

#include "arm/boot.h"
#include "arm/kvm-arch.h"
#include "lkvm/file.h"
#include "lkvm/gmem.h"
#include "lkvm/log.h"

static char *make_bootargs(const struct lkvm_config *cfg)
{
	const char *user = cfg->params ? cfg->params : "";
	const char *dflt = "";
	char *s;

	if (!cfg->nodefaults && !strstr(user, "console="))
		dflt = cfg->console == CONSOLE_VIRTIO ? "console=hvc0" : "console=ttyS0";
	if (asprintf(&s, "%s%s%s", dflt, *dflt && *user ? " " : "", user) < 0)
		return NULL;
	return s;
}

static int write_dtb_file(const char *path, const void *fdt, size_t len, struct lkvm_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ssize_t n;

	if (fd < 0)
		return seterr(err, errno, "--dump-dtb %s: %s", path, strerror(errno));
	n = write(fd, fdt, len);
	if (n != (ssize_t)len || close(fd) < 0)
		return seterr(err, errno ? errno : EIO, "--dump-dtb %s: write failed", path);
	return 0;
}

static int build_fdt(struct kvm *kvm, const struct boot_layout *lay, struct lkvm_err *err)
{
	const struct lkvm_config *cfg = kvm->cfg;
	struct mem_bank banks[LKVM_MAX_MEM_REGIONS];
	unsigned int nr_banks = 0;
	struct gmem_range range;
	u8 rng[64];
	u64 *mpidr, seed;
	void *fdt;
	char *bootargs;
	int r;

	/* Written where the guest finds it: the DTB's own region at the top of the bank. */
	fdt = gmem__ptr(kvm, lay->dtb_addr, ARM_FDT_MAX_SIZE);
	if (!fdt)
		return seterr(err, EFAULT, "device tree at %#llx is outside RAM",
			      (unsigned long long)lay->dtb_addr);
	mpidr = calloc(kvm->nr_cpus, sizeof(*mpidr));
	bootargs = make_bootargs(cfg);
	if (!mpidr || !bootargs) {
		r = seterr(err, ENOMEM, "out of memory for the device tree");
		goto out;
	}
	for (unsigned int i = 0; i < kvm->nr_cpus; i++)
		mpidr[i] = kvm->cpus[i].mpidr;
	for (unsigned int it = 0; nr_banks < ARRAY_SIZE(banks) && gmem__next(kvm, &it, &range);)
		banks[nr_banks++] = (struct mem_bank){ range.size, range.gpa, true };
	if (getrandom(rng, sizeof(rng), 0) != sizeof(rng))
		memset(rng, 0, sizeof(rng));
	seed = cfg->arch.has_kaslr_seed ? cfg->arch.kaslr_seed : *(u64 *)(void *)rng;
	r = fdt__build(&(struct fdt_desc){
			.banks = banks, .nr_banks = nr_banks,
			.mpidr = mpidr, .nr_cpus = kvm->nr_cpus,
			.gic = kvm->arch->gic, .el2 = cfg->arch.nested, .pmu = cfg->arch.pmu,
			.bootargs = bootargs,
			.initrd_addr = lay->initrd_addr, .initrd_size = lay->initrd_size,
			.kaslr_seed = seed, .rng_seed = rng + 8, .rng_seed_len = sizeof(rng) - 8,
			.kvm = kvm,
		}, fdt, ARM_FDT_MAX_SIZE, err);
	if (!r && cfg->dump_dtb)
		r = write_dtb_file(cfg->dump_dtb, fdt, fdt_totalsize(fdt), err);
	pr_debug(kvm, "bootargs: %s", bootargs);
out:
	free(bootargs);
	free(mpidr);
	return r;
}

int arm_boot__load(struct kvm *kvm, struct lkvm_err *err)
{
	const struct lkvm_config *cfg = kvm->cfg;
	struct kvm_arch *a = kvm->arch;
	struct boot_images img;
	struct gmem_range ram;
	unsigned int it = 0;
	int r;

	/* The boot images go in the lowest bank. */
	if (!gmem__next(kvm, &it, &ram))
		return seterr(err, EINVAL, "the VM has no RAM");
	r = boot__load_images(kvm, &(struct boot_request){
			.kernel = cfg->kernel ? cfg->kernel : cfg->firmware,
			.initrd = cfg->initrd,
			.firmware = !cfg->kernel,
			.load_addr = cfg->has_firmware_addr ? &cfg->firmware_addr : NULL,
			.ram_base = ram.gpa, .ram_size = ram.size,
		}, &img, err);
	if (r)
		return r;
	kvm__mark(kvm, "load");
	a->entry = img.entry;
	a->initrd_addr = img.layout.initrd_addr;
	a->initrd_size = img.layout.initrd_size;
	a->dtb_addr = img.layout.dtb_addr;
	pr_debug(kvm, "%s: %s%s, %llu bytes at %#llx, entry %#llx; initrd %llu bytes at %#llx; "
		 "DTB at %#llx", cfg->kernel ? cfg->kernel : cfg->firmware,
		 img.info.kind == KERNEL_IMAGE ? "Image" : img.info.kind == KERNEL_ELF ? "ELF" :
		 "flat payload", img.gz ? " (gzip)" : "", (unsigned long long)img.kernel_len,
		 (unsigned long long)img.layout.kernel_addr, (unsigned long long)a->entry,
		 (unsigned long long)a->initrd_size, (unsigned long long)a->initrd_addr,
		 (unsigned long long)a->dtb_addr);
	return build_fdt(kvm, &img.layout, err);
}
