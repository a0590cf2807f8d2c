// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: what lkvm does with a boot image before the guest
 * runs, on fuzzed files and a fuzzed RAM layout: gzip inflating
 * (file__gunzip, and file__read on a temp file), probing the image
 * (kernel__probe: arm64 Image header, AArch64 ELF, flat payload, text),
 * walking the ELF's PT_LOADs (elf__for_each_load), placing kernel, initrd
 * and DTB (boot__layout), and loading it all into fake guest RAM the way
 * arm/boot.c's arm_boot__load() does.
 *
 * Input: u8 mode (bit 0 gunzip first, bit 1 through a temp file and
 * file__read, bit 2 as firmware: -f makes an Image a flat payload, bit 3
 * a load address), u8 RAM base (2 MiB units above 2 GiB), u8 RAM size
 * (2 MiB units, at least 2 MiB), u32 initrd size, u32 load address
 * offset, then the image file.
 *
 * Checked: a successful layout puts the DTB in the bank's last 2 MiB, the
 * initrd page-aligned below it, and when the whole image loads, nothing
 * loaded overlaps either (an ELF with a segment outside RAM fails to load,
 * so what its other segments overlap does not matter).
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "arm/boot.h"
#include "fuzz.h"
#include "lkvm/file.h"

#define BANK_MAX	(64 * SZ_MiB)
#define HIGH_BANK	(4 * SZ_GiB * 64)	/* a second bank, far above */
#define INFLATE_MAX	(16 * SZ_MiB)

static struct kvm kvm;
static u8 *bank, *high;
static char path[300];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Untouched pages cost nothing: the loader writes only where the image says. */
	bank = mmap(NULL, BANK_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_NORESERVE, -1, 0);
	high = mmap(NULL, 2 * SZ_MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_NORESERVE, -1, 0);
	if (bank == MAP_FAILED || high == MAP_FAILED)
		abort();
	snprintf(path, sizeof(path), "%s/kernel", fuzz_tmpdir());
	return 0;
}

struct load {
	u64 lo, hi;		/* the bank */
	u64 keep_lo, keep_hi;	/* initrd + DTB: [initrd_addr, dtb_addr + 2 MiB) */
	u64 bad, bad_len;	/* a segment over them (fatal only if the whole load succeeds) */
};

static bool overlaps(u64 a, u64 alen, u64 b, u64 bend)
{
	return alen && a < bend && b < a + alen;
}

/* arm/boot.c's load_segment(), plus the check that the segment spares initrd and DTB. */
static int load_segment(void *ctx, u64 paddr, const u8 *data, u64 filesz, u64 memsz)
{
	struct load *l = ctx;

	if (!gmem__ptr(&kvm, paddr, memsz))
		return -EFAULT;
	if (overlaps(paddr, memsz, l->keep_lo, l->keep_hi) && !l->bad_len) {
		l->bad = paddr;
		l->bad_len = memsz;
	}
	if (filesz)
		FUZZ_CHECK(gmem__write(&kvm, paddr, data, filesz) == 0, "segment write");
	return 0;
}

static void check_layout(const struct kernel_info *info, u64 klen, u64 ilen, u64 base, u64 size,
			 const struct boot_layout *lay)
{
	u64 end = base + size;

	FUZZ_CHECK(lay->dtb_addr == end - ARM_DTB_REGION, "DTB at %#llx",
		   (unsigned long long)lay->dtb_addr);
	FUZZ_CHECK(lay->initrd_size == ilen, "initrd size");
	FUZZ_CHECK(IS_ALIGNED(lay->initrd_addr, 4096), "initrd at %#llx",
		   (unsigned long long)lay->initrd_addr);
	FUZZ_CHECK(lay->initrd_addr >= base && lay->initrd_addr + ilen <= lay->dtb_addr,
		   "initrd %#llx+%#llx outside [%#llx, DTB %#llx)",
		   (unsigned long long)lay->initrd_addr, (unsigned long long)ilen,
		   (unsigned long long)base, (unsigned long long)lay->dtb_addr);
	if (info->kind == KERNEL_IMAGE)
		FUZZ_CHECK(lay->kernel_addr >= base && lay->kernel_end <= lay->initrd_addr &&
			   lay->kernel_end >= lay->kernel_addr + klen &&
			   IS_ALIGNED(lay->kernel_addr - info->text_offset, ARM_DTB_REGION),
			   "Image %#llx-%#llx in bank %#llx-%#llx, initrd at %#llx",
			   (unsigned long long)lay->kernel_addr, (unsigned long long)lay->kernel_end,
			   (unsigned long long)base, (unsigned long long)end,
			   (unsigned long long)lay->initrd_addr);
	if (info->kind == KERNEL_FLAT && lay->kernel_addr >= base && lay->kernel_addr < end)
		FUZZ_CHECK(lay->kernel_end <= lay->initrd_addr, "payload %#llx-%#llx over initrd at %#llx",
			   (unsigned long long)lay->kernel_addr, (unsigned long long)lay->kernel_end,
			   (unsigned long long)lay->initrd_addr);
}

static void boot(const u8 *img, u64 len, u8 mode, u64 base, u64 size, u64 ilen, u64 load)
{
	struct lkvm_err err = { "" };
	struct kernel_info info;
	struct boot_layout lay;
	struct load l;
	int r;

	if (kernel__probe(img, len, "kernel", &info, &err))
		return;
	if ((mode & 4) && info.kind == KERNEL_IMAGE)
		info.kind = KERNEL_FLAT;
	r = boot__layout(&info, len, ilen, base, size, mode & 8 ? &load : NULL, &lay, &err);
	if (r)
		return;
	check_layout(&info, len, ilen, base, size, &lay);
	l = (struct load){ base, base + size, ilen ? lay.initrd_addr : lay.dtb_addr,
			   lay.dtb_addr + ARM_DTB_REGION, 0, 0 };
	if (info.kind == KERNEL_ELF) {
		/* A segment outside RAM fails the boot, whatever the others overlap. */
		if (elf__for_each_load(img, len, load_segment, &l, &err))
			return;
		FUZZ_CHECK(!l.bad_len, "ELF segment %#llx+%#llx overlaps initrd/DTB %#llx-%#llx",
			   (unsigned long long)l.bad, (unsigned long long)l.bad_len,
			   (unsigned long long)l.keep_lo, (unsigned long long)l.keep_hi);
		return;
	}
	if (gmem__write(&kvm, lay.kernel_addr, img, len))
		return;
	FUZZ_CHECK(!overlaps(lay.kernel_addr, len, l.keep_lo, l.keep_hi),
		   "kernel %#llx+%#llx overlaps initrd/DTB", (unsigned long long)lay.kernel_addr,
		   (unsigned long long)len);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fz in = { data, size };
	u8 mode = fz_u8(&in);
	u64 base = 2 * SZ_GiB + 2 * SZ_MiB * fz_u8(&in);
	u64 bank_size = 2 * SZ_MiB * (1 + fz_u8(&in) % (BANK_MAX / (2 * SZ_MiB)));
	u64 ilen = fz_u32(&in), load = base - 4 * SZ_MiB + fz_u32(&in);
	struct lkvm_err err = { "" };
	u8 *buf = NULL;
	const u8 *img = in.p;
	u64 len = in.n;
	bool gz;

	fuzz_vm_init(&kvm, NULL);
	if (gmem__add_region(&kvm, base, bank_size, bank) ||
	    gmem__add_region(&kvm, HIGH_BANK, 2 * SZ_MiB, high))
		abort();
	if (mode & 2) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || write(fd, img, len) != (ssize_t)len)
			abort();
		close(fd);
		if (file__read(path, INFLATE_MAX, mode & 1, &buf, &len, &gz, &err))
			return 0;
		img = buf;
	} else if (mode & 1) {
		if (file__gunzip(img, len, INFLATE_MAX, "kernel", &buf, &len, &err))
			return 0;
		img = buf;
	}
	FUZZ_CHECK(len <= INFLATE_MAX || !(mode & 3), "read %llu bytes, limit %llu",
		   (unsigned long long)len, (unsigned long long)INFLATE_MAX);
	boot(img, len, mode, base, bank_size, ilen, load);
	free(buf);
	return 0;
}
