// SPDX-License-Identifier: GPL-2.0-only
/*
 * Puts the boot images into guest RAM: the kernel (Image, Image.gz, ELF
 * or flat payload), the initrd and the device tree, and records the entry
 * point and DTB address for the boot vCPU.  Parsing and placement are in
 * arm/kernel.c and arm/fdt.c; this file does the I/O.
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

#define MAX_KERNEL	(1024 * SZ_MiB)
#define MAX_INITRD	(4 * SZ_GiB)

struct elf_load_ctx {
	struct kvm *kvm;
	struct lkvm_err *err;
};

static int load_segment(void *ctx, u64 paddr, const u8 *data, u64 filesz, u64 memsz)
{
	struct elf_load_ctx *c = ctx;

	if (!gmem__ptr(c->kvm, paddr, memsz))
		return seterr(c->err, EFAULT, "ELF segment %#llx-%#llx is not inside guest RAM "
			      "(place RAM there with -m SIZE@ADDR)", (unsigned long long)paddr,
			      (unsigned long long)(paddr + memsz));
	if (filesz)
		gmem__write(c->kvm, paddr, data, filesz);
	return 0;
}

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

	mpidr = calloc(kvm->nr_cpus, sizeof(*mpidr));
	fdt = calloc(1, ARM_FDT_MAX_SIZE);
	bootargs = make_bootargs(cfg);
	if (!mpidr || !fdt || !bootargs) {
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
	if (r)
		goto out;
	r = gmem__write(kvm, lay->dtb_addr, fdt, ARM_FDT_MAX_SIZE);
	if (r)
		r = seterr(err, EFAULT, "device tree at %#llx is outside RAM",
			   (unsigned long long)lay->dtb_addr);
	if (!r && cfg->dump_dtb)
		r = write_dtb_file(cfg->dump_dtb, fdt, fdt_totalsize(fdt), err);
	pr_debug(kvm, "bootargs: %s", bootargs);
out:
	free(bootargs);
	free(fdt);
	free(mpidr);
	return r;
}

int arm_boot__load(struct kvm *kvm, struct lkvm_err *err)
{
	const struct lkvm_config *cfg = kvm->cfg;
	const char *path = cfg->kernel ? cfg->kernel : cfg->firmware;
	struct kvm_arch *a = kvm->arch;
	struct gmem_range ram;
	unsigned int it = 0;
	u8 *kernel = NULL, *initrd = NULL;
	u64 klen, ilen = 0;
	struct kernel_info info;
	struct boot_layout lay;
	bool gz;
	int r;

	/* The boot images go in the lowest bank. */
	if (!gmem__next(kvm, &it, &ram))
		return seterr(err, EINVAL, "the VM has no RAM");
	r = file__read(path, MAX_KERNEL, true, &kernel, &klen, &gz, err);
	if (r)
		goto out;
	r = kernel__probe(kernel, klen, path, &info, err);
	if (r)
		goto out;
	if (cfg->firmware && info.kind == KERNEL_IMAGE)
		info.kind = KERNEL_FLAT;	/* -f: always raw, at --firmware-address */
	if (cfg->initrd) {
		r = file__read(cfg->initrd, MAX_INITRD, false, &initrd, &ilen, &gz, err);
		if (r)
			goto out;
	}
	kvm__mark(kvm, "read");
	r = boot__layout(&info, klen, ilen, ram.gpa, ram.size,
			 cfg->has_firmware_addr ? &cfg->firmware_addr : NULL, &lay, err);
	if (r)
		goto out;

	if (info.kind == KERNEL_ELF) {
		struct elf_load_ctx ctx = { kvm, err };

		r = elf__for_each_load(kernel, klen, load_segment, &ctx, err);
		a->entry = info.entry;
	} else {
		r = gmem__write(kvm, lay.kernel_addr, kernel, klen);
		if (r)
			r = seterr(err, EFAULT, "%s: %#llx-%#llx is not inside guest RAM", path,
				   (unsigned long long)lay.kernel_addr,
				   (unsigned long long)(lay.kernel_addr + klen));
		a->entry = lay.kernel_addr;
	}
	if (r)
		goto out;
	if (ilen)
		gmem__write(kvm, lay.initrd_addr, initrd, ilen);
	kvm__mark(kvm, "copy");
	a->initrd_addr = lay.initrd_addr;
	a->initrd_size = ilen;
	a->dtb_addr = lay.dtb_addr;
	pr_debug(kvm, "%s: %s at %#llx, entry %#llx; initrd %llu bytes at %#llx; DTB at %#llx",
		 path, info.kind == KERNEL_IMAGE ? "Image" : info.kind == KERNEL_ELF ? "ELF" :
		 "flat payload", (unsigned long long)lay.kernel_addr,
		 (unsigned long long)a->entry, (unsigned long long)ilen,
		 (unsigned long long)lay.initrd_addr, (unsigned long long)lay.dtb_addr);
	r = build_fdt(kvm, &lay, err);
out:
	free(kernel);
	free(initrd);
	return r;
}
