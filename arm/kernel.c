// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the user gave as a kernel, and where it goes: the arm64 Image
 * header (Documentation/arch/arm64/booting.rst, "Call the kernel image"),
 * AArch64 ELF executables (ELF-64 Object File Format; Arm IHI 0056 for
 * EM_AARCH64) and flat payloads, plus the RAM placement of kernel, initrd
 * and device tree.  Everything here is pure and bounds-checked: the input
 * file is untrusted.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "arm/boot.h"

static u64 le64(const u8 *p)
{
	u64 v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static u32 le32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static bool looks_like_text(const u8 *buf, u64 len)
{
	u64 n = MIN(len, 4096);

	for (u64 i = 0; i < n; i++) {
		u8 c = buf[i];

		if (c != '\n' && c != '\r' && c != '\t' && (c < 0x20 || c > 0x7e))
			return false;
	}
	return true;
}

static int probe_image(const u8 *buf, u64 len, const char *name, struct kernel_info *info,
		       struct lkvm_err *err)
{
	u64 flags;

	if (len < ARM64_IMAGE_HDR_SIZE)
		return seterr(err, ENOEXEC, "%s: truncated arm64 Image (%llu bytes, the header "
			      "alone is %d)", name, (unsigned long long)len, ARM64_IMAGE_HDR_SIZE);
	info->kind = KERNEL_IMAGE;
	info->text_offset = le64(buf + 8);
	info->image_size = le64(buf + 16);
	flags = le64(buf + 24);
	info->big_endian = flags & 1;
	if (info->image_size == 0) {
		/* Kernels before v3.17: fixed offset, size unknown beyond the file. */
		info->text_offset = ARM64_OLD_TEXT_OFFSET;
		info->image_size = len;
	}
	if (info->text_offset >= ARM_DTB_REGION || !IS_ALIGNED(info->text_offset, 4096))
		return seterr(err, ENOEXEC, "%s: corrupt arm64 Image header: text_offset %#llx "
			      "(expected a page-aligned offset below 2 MiB)", name,
			      (unsigned long long)info->text_offset);
	if (info->image_size > 4 * SZ_GiB)
		return seterr(err, ENOEXEC, "%s: corrupt arm64 Image header: image_size %#llx",
			      name, (unsigned long long)info->image_size);
	if (info->image_size < len)
		return seterr(err, ENOEXEC, "%s: corrupt arm64 Image header: image_size %llu is "
			      "smaller than the file (%llu bytes)", name,
			      (unsigned long long)info->image_size, (unsigned long long)len);
	if (flags >> 4)
		return seterr(err, ENOEXEC, "%s: corrupt arm64 Image header: reserved flag bits "
			      "set (%#llx)", name, (unsigned long long)flags);
	return 0;
}

int elf__for_each_load(const u8 *buf, u64 len,
		       int (*cb)(void *ctx, u64 paddr, const u8 *data, u64 filesz, u64 memsz),
		       void *ctx, struct lkvm_err *err)
{
	Elf64_Ehdr ehdr, *eh = &ehdr;
	u64 ph_end;
	int r;

	/* Copied out: the buffer need not be aligned for Elf64_Ehdr. */
	if (len < sizeof(ehdr))
		return seterr(err, ENOEXEC, "not a little-endian ELF64 file");
	memcpy(&ehdr, buf, sizeof(ehdr));
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return seterr(err, ENOEXEC, "not a little-endian ELF64 file");
	if (eh->e_machine != EM_AARCH64)
		return seterr(err, ENOEXEC, "ELF machine %u is not AArch64 (%u)", eh->e_machine,
			      EM_AARCH64);
	if (eh->e_type != ET_EXEC)
		return seterr(err, ENOEXEC, "ELF type %u: only executables (ET_EXEC) can be booted",
			      eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 ||
	    !add_ok(eh->e_phoff, (u64)eh->e_phnum * sizeof(Elf64_Phdr), &ph_end) || ph_end > len)
		return seterr(err, ENOEXEC, "ELF program headers out of the file");
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;
		u64 fend;

		memcpy(&ph, buf + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz || !add_ok(ph.p_offset, ph.p_filesz, &fend) ||
		    fend > len)
			return seterr(err, ENOEXEC, "ELF segment %u: file range out of the file", i);
		if (!add_ok(ph.p_paddr, ph.p_memsz, &fend))
			return seterr(err, ENOEXEC, "ELF segment %u: address range wraps", i);
		if (cb) {
			r = cb(ctx, ph.p_paddr, buf + ph.p_offset, ph.p_filesz, ph.p_memsz);
			if (r)
				return r;
		}
	}
	return 0;
}

struct extent {
	u64 lo, hi;
	unsigned int n;
};

static int elf_extent(void *ctx, u64 paddr, const u8 *data __unused, u64 filesz __unused,
		      u64 memsz)
{
	struct extent *e = ctx;

	e->lo = e->n ? MIN(e->lo, paddr) : paddr;
	e->hi = e->n ? MAX(e->hi, paddr + memsz) : paddr + memsz;
	e->n++;
	return 0;
}

int kernel__probe(const u8 *buf, u64 len, const char *name, struct kernel_info *info,
		  struct lkvm_err *err)
{
	struct lkvm_err e2;

	memset(info, 0, sizeof(*info));
	if (len == 0)
		return seterr(err, ENOEXEC, "%s: empty file", name);
	if (len >= 60 && le32(buf + 56) == ARM64_IMAGE_MAGIC)
		return probe_image(buf, len, name, info, err);
	if (len >= SELFMAG && !memcmp(buf, ELFMAG, SELFMAG)) {
		struct extent ext = { 0 };
		int r = elf__for_each_load(buf, len, elf_extent, &ext, &e2);

		if (r)
			return seterr(err, ENOEXEC, "%s: %s", name, e2.msg);
		if (!ext.n)
			return seterr(err, ENOEXEC, "%s: ELF has no loadable segment", name);
		Elf64_Ehdr eh;

		memcpy(&eh, buf, sizeof(eh));
		info->kind = KERNEL_ELF;
		info->entry = eh.e_entry;
		info->text_offset = ext.lo;	/* lowest load address */
		info->image_size = ext.hi - ext.lo;
		return 0;
	}
	if (looks_like_text(buf, len))
		return seterr(err, ENOEXEC, "%s: this is a text file, not a kernel (expected an "
			      "arm64 Image, Image.gz, an ELF or a raw binary payload)", name);
	info->kind = KERNEL_FLAT;
	info->image_size = len;
	return 0;
}

int boot__layout(const struct kernel_info *info, u64 kernel_len, u64 initrd_len, u64 ram_base,
		 u64 ram_size, const u64 *load_addr, struct boot_layout *out, struct lkvm_err *err)
{
	u64 ram_end = ram_base + ram_size, need, floor;

	memset(out, 0, sizeof(*out));
	switch (info->kind) {
	case KERNEL_IMAGE:
		out->kernel_addr = ALIGN_DOWN(ram_base, ARM_DTB_REGION) + info->text_offset;
		if (out->kernel_addr < ram_base)
			out->kernel_addr += ARM_DTB_REGION;
		out->kernel_end = out->kernel_addr + MAX(info->image_size, kernel_len);
		break;
	case KERNEL_ELF:
		out->kernel_addr = info->text_offset;
		out->kernel_end = info->text_offset + info->image_size;
		break;
	case KERNEL_FLAT:
		out->kernel_addr = load_addr ? *load_addr : ram_base;
		if (!add_ok(out->kernel_addr, kernel_len, &out->kernel_end))
			return seterr(err, EINVAL, "load address %#llx + payload size wraps",
				      (unsigned long long)out->kernel_addr);
		break;
	}
	if (ram_size < ARM_DTB_REGION)
		return seterr(err, ENOSPC, "-m: the first RAM bank needs at least 2 MiB");
	out->dtb_addr = ram_end - ARM_DTB_REGION;
	out->initrd_size = initrd_len;
	out->initrd_addr = ALIGN_DOWN(out->dtb_addr - MIN(initrd_len, out->dtb_addr), 4096);

	/* Only what lands in the first bank can collide with initrd and DTB. */
	floor = ram_base;
	if (out->kernel_addr >= ram_base && out->kernel_addr < ram_end)
		floor = out->kernel_end;
	if (initrd_len > out->dtb_addr - ram_base || out->initrd_addr < floor) {
		need = (floor - ram_base) + ALIGN_UP(initrd_len, 4096) + ARM_DTB_REGION;
		return seterr(err, ENOSPC, "-m: %llu MiB of RAM is too small for the kernel "
			      "(%llu MiB with its BSS), initrd (%llu MiB) and device tree; give at "
			      "least -m %llu", (unsigned long long)(ram_size / SZ_MiB),
			      (unsigned long long)((floor - ram_base) / SZ_MiB),
			      (unsigned long long)(initrd_len / SZ_MiB),
			      (unsigned long long)ALIGN_UP(need, 2 * SZ_MiB) / SZ_MiB);
	}
	if (info->kind == KERNEL_IMAGE && out->kernel_end > out->initrd_addr)
		return seterr(err, ENOSPC, "the kernel (%#llx-%#llx) does not fit in RAM "
			      "%#llx-%#llx below the initrd and device tree",
			      (unsigned long long)out->kernel_addr,
			      (unsigned long long)out->kernel_end, (unsigned long long)ram_base,
			      (unsigned long long)ram_end);
	return 0;
}
