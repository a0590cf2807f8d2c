/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The pure parts of booting an arm64 guest, with no KVM in them (so the
 * unit tests run them on any host): recognising what the user gave as a
 * kernel, placing kernel, initrd and device tree in RAM per the arm64
 * boot protocol (Documentation/arch/arm64/booting.rst), and building the
 * device tree from a description.
 */
#ifndef LKVM_ARM_BOOT_H
#define LKVM_ARM_BOOT_H

#include "lkvm/config.h"
#include "lkvm/fdt.h"
#include "lkvm/util.h"

#define ARM64_IMAGE_MAGIC	0x644d5241	/* "ARM\x64" */
#define ARM64_IMAGE_HDR_SIZE	64
#define ARM64_OLD_TEXT_OFFSET	0x80000ULL	/* image_size == 0: before v3.17 */
#define ARM_FDT_MAX_SIZE	(64 * 1024)
#define ARM_DTB_REGION		(2 * 1024 * 1024)	/* the DTB's own 2 MiB block */

enum kernel_kind {
	KERNEL_IMAGE,		/* arm64 Linux Image */
	KERNEL_ELF,		/* ELF64 AArch64 executable: PT_LOAD at p_paddr */
	KERNEL_FLAT,		/* raw payload, entry at its first byte */
};

struct kernel_info {
	enum kernel_kind kind;
	u64 text_offset;	/* Image */
	u64 image_size;		/* Image: bytes from load address incl. BSS */
	bool big_endian;	/* Image flags bit 0 */
	u64 entry;		/* ELF */
};

/*
 * Recognises @buf as an arm64 Image, an AArch64 ELF or a flat payload.
 * Refuses (-ENOEXEC, @err says why) a truncated or inconsistent Image
 * header, an ELF for another machine, an empty file and plain text (a
 * likely mistake: a script or config passed as the kernel).
 */
int kernel__probe(const u8 *buf, u64 len, const char *name, struct kernel_info *info,
		  struct lkvm_err *err);

/*
 * The ELF's loadable segments, checked: each PT_LOAD's file range lies in
 * @buf and p_filesz <= p_memsz.  @cb is called per segment; stops at the
 * first non-zero return and returns it.
 */
int elf__for_each_load(const u8 *buf, u64 len,
		       int (*cb)(void *ctx, u64 paddr, const u8 *data, u64 filesz, u64 memsz),
		       void *ctx, struct lkvm_err *err);

/* Where things go in the first RAM bank. */
struct boot_layout {
	u64 kernel_addr;	/* load address (Image: base + text_offset) */
	u64 kernel_end;		/* end of what the kernel may touch (Image: + image_size) */
	u64 initrd_addr;
	u64 initrd_size;	/* 0: none */
	u64 dtb_addr;
};

/*
 * Places the kernel (@kernel_len bytes; @info from kernel__probe), an
 * optional initrd and the DTB in RAM bank [@ram_base, @ram_base +
 * @ram_size): Image at the 2 MiB-aligned base + text_offset, flat payload
 * at @load_addr (or the base), DTB in the last 2 MiB, initrd page-aligned
 * just below it.  -ENOSPC with the minimum RAM size in @err when they
 * don't fit.
 */
int boot__layout(const struct kernel_info *info, u64 kernel_len, u64 initrd_len, u64 ram_base,
		 u64 ram_size, const u64 *load_addr, struct boot_layout *out, struct lkvm_err *err);

/* What to load, and where RAM is (the first bank gets the boot images). */
struct boot_request {
	const char *kernel;	/* -k (or -f with @firmware) */
	const char *initrd;	/* NULL: none */
	bool firmware;		/* -f: a flat image, even if it looks like an Image */
	const u64 *load_addr;	/* --firmware-address, NULL: the start of RAM */
	u64 ram_base, ram_size;	/* the first bank */
	u64 initrd_size;	/* set by boot__load_images() */
};

struct boot_images {
	struct kernel_info info;
	struct boot_layout layout;
	u64 kernel_len;		/* bytes loaded (Image.gz: inflated) */
	u64 entry;		/* the boot vCPU's PC */
	bool gz;
};

/*
 * Loads the kernel (Image, Image.gz, ELF or flat) and the initrd of @req
 * into @kvm's RAM at their final places (boot__layout), each byte once;
 * guest RAM must be zeroed only where it was never written (.bss of an
 * ELF is cleared here).  Errors name the file and the fix.  Returns 0 with
 * *@out filled, or -errno.
 */
int boot__load_images(struct kvm *kvm, const struct boot_request *req, struct boot_images *out,
		      struct lkvm_err *err);

/* GIC interrupt specifiers (arm,gic-v3.yaml): <type number flags>. */
#define ARM_FDT_GIC_SPI		0
#define ARM_FDT_GIC_PPI		1
#define ARM_FDT_IRQ_EDGE_RISING	1
#define ARM_FDT_IRQ_LEVEL_HIGH	4

struct kvm;

struct fdt_desc {
	const struct mem_bank *banks;
	unsigned int nr_banks;
	const u64 *mpidr;		/* per vCPU, affinity bits */
	unsigned int nr_cpus;
	enum irqchip_type gic;		/* resolved */
	bool el2;			/* guest is a hypervisor: maint IRQ, EL2 timers, SMC */
	bool pmu;
	const char *bootargs;
	u64 initrd_addr;
	u64 initrd_size;		/* 0: none */
	u64 kaslr_seed;
	const u8 *rng_seed;
	unsigned int rng_seed_len;
	struct kvm *kvm;		/* whose devices write their own nodes (NULL: none) */
};

/*
 * Builds the DTB into @buf (@size bytes): the arch's nodes from @d, then
 * every device of @d->kvm through its own hooks.  -ENOSPC or -EINVAL with
 * @err.
 */
int fdt__build(const struct fdt_desc *d, void *buf, unsigned int size, struct lkvm_err *err);

/* An SPI's interrupt specifier (struct fdtw's irq_spec): 3 cells. */
unsigned int arm_fdt__irq_spec(unsigned int line, enum fdt_irq_trigger t,
			       u32 cells[FDT_MAX_IRQ_CELLS]);

#endif /* LKVM_ARM_BOOT_H */
