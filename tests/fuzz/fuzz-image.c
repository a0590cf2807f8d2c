// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: what lkvm does with the boot files before the guest
 * runs, on a fuzzed kernel file and a fuzzed RAM layout: boot__load_images()
 * (arm/load.c), as arm/boot.c calls it -- the file opened and mapped,
 * probed (kernel__probe: arm64 Image header, AArch64 ELF, flat payload,
 * text), an Image.gz inflated as it streams into guest RAM, placed with the
 * initrd and the DTB (boot__layout), ELF PT_LOADs copied and their .bss
 * cleared, the initrd read in -- into fake RAM of two banks.  Besides, the
 * buffer inflater file__gunzip() and boot__layout() alone.
 *
 * Input: u8 mode (bit 0 -f: an Image is a flat payload; bit 1
 * --firmware-address; bit 2 an initrd; bit 3 only file__gunzip and
 * kernel__probe on the bytes), u8 RAM base (2 MiB units above 2 GiB), u8
 * RAM size (2 MiB units, at least 2 MiB), u32 initrd size (at most 2 MiB
 * used), u32 load address offset, then the kernel file.
 *
 * Checked when the load succeeds: the DTB in the bank's last 2 MiB, the
 * initrd page-aligned below it, nothing loaded overlapping either, guest
 * RAM holding the file (or the ELF's segments, .bss zero) and the initrd
 * byte for byte (an ELF's segments unless two overlap: the later one
 * wins); an Image.gz inflated into RAM equal to what the buffer
 * inflater makes of the same file, when both take it whole.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "arm/boot.h"
#include "fuzz.h"
#include "lkvm/file.h"

#define BANK_MAX	(16 * SZ_MiB)	/* small: a bomb inflates at most this much */
#define HIGH_BANK	(4 * SZ_GiB * 64)	/* a second bank, far above */
#define INITRD_MAX	(2 * SZ_MiB)
#define INFLATE_MAX	BANK_MAX
#define INITRD_BYTE	0x5a

static struct kvm kvm;
static u8 *bank, *high;
static char kpath[300], ipath[300];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Untouched pages cost nothing: the loader writes only where the image goes. */
	bank = mmap(NULL, BANK_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_NORESERVE, -1, 0);
	high = mmap(NULL, 2 * SZ_MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		    MAP_NORESERVE, -1, 0);
	if (bank == MAP_FAILED || high == MAP_FAILED)
		abort();
	snprintf(kpath, sizeof(kpath), "%s/kernel", fuzz_tmpdir());
	snprintf(ipath, sizeof(ipath), "%s/initrd", fuzz_tmpdir());
	return 0;
}

static void write_file(const char *path, const u8 *data, u64 len, u64 size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len) || ftruncate(fd, (off_t)size))
		abort();
	close(fd);
}

static bool overlaps(u64 a, u64 alen, u64 b, u64 bend)
{
	return alen && a < bend && b < a + alen;
}

struct keep {
	u64 lo, hi;		/* initrd + DTB: [initrd_addr, dtb_addr + 2 MiB) */
	u64 seg[16][2];		/* the segments seen so far */
	unsigned int nseg;
	bool overlap;		/* two segments overlap: the later one wins, content unchecked */
};

static int note_segment(void *ctx, u64 paddr, const u8 *data, u64 filesz, u64 memsz)
{
	struct keep *k = ctx;

	(void)data;
	(void)filesz;
	for (unsigned int i = 0; i < k->nseg; i++)
		k->overlap |= overlaps(paddr, memsz, k->seg[i][0], k->seg[i][1]);
	if (k->nseg < ARRAY_SIZE(k->seg)) {
		k->seg[k->nseg][0] = paddr;
		k->seg[k->nseg++][1] = paddr + memsz;
	} else {
		k->overlap = true;	/* too many to tell */
	}
	return 0;
}

/* Each ELF segment loaded: in RAM as the file has it, .bss zero, clear of initrd and DTB. */
static int check_segment(void *ctx, u64 paddr, const u8 *data, u64 filesz, u64 memsz)
{
	const struct keep *k = ctx;
	const u8 *p = gmem__ptr(&kvm, paddr, memsz);

	FUZZ_CHECK(p, "ELF segment %#llx+%#llx loaded but not RAM", (unsigned long long)paddr,
		   (unsigned long long)memsz);
	FUZZ_CHECK(!overlaps(paddr, memsz, k->lo, k->hi),
		   "ELF segment %#llx+%#llx overlaps initrd/DTB %#llx-%#llx",
		   (unsigned long long)paddr, (unsigned long long)memsz,
		   (unsigned long long)k->lo, (unsigned long long)k->hi);
	if (k->overlap)
		return 0;
	FUZZ_CHECK(!memcmp(p, data, filesz), "ELF segment %#llx differs from the file",
		   (unsigned long long)paddr);
	for (u64 i = filesz; i < memsz; i++)
		FUZZ_CHECK(!p[i], ".bss byte %#llx is %#x", (unsigned long long)(paddr + i), p[i]);
	return 0;
}

static void check_layout(const struct boot_images *img, u64 ilen, u64 base, u64 size)
{
	const struct boot_layout *lay = &img->layout;
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
	if (img->info.kind == KERNEL_IMAGE)
		FUZZ_CHECK(lay->kernel_addr >= base && lay->kernel_end <= lay->initrd_addr &&
			   lay->kernel_end >= lay->kernel_addr + img->kernel_len &&
			   IS_ALIGNED(lay->kernel_addr - img->info.text_offset, ARM_DTB_REGION),
			   "Image %#llx-%#llx in bank %#llx-%#llx, initrd at %#llx",
			   (unsigned long long)lay->kernel_addr, (unsigned long long)lay->kernel_end,
			   (unsigned long long)base, (unsigned long long)end,
			   (unsigned long long)lay->initrd_addr);
}

/* After a successful load: what is in guest RAM. */
static void check_ram(const struct boot_images *img, const u8 *file, u64 flen, u64 ilen)
{
	const struct boot_layout *lay = &img->layout;
	struct keep k = { .lo = ilen ? lay->initrd_addr : lay->dtb_addr,
			  .hi = lay->dtb_addr + ARM_DTB_REGION };
	struct lkvm_err err = { "" };
	const u8 *p;

	if (img->info.kind == KERNEL_ELF) {
		FUZZ_CHECK(!img->gz, "a gzip'd ELF was loaded");
		(void)elf__for_each_load(file, flen, note_segment, &k, &err);
		FUZZ_CHECK(elf__for_each_load(file, flen, check_segment, &k, &err) == 0, "%s",
			   err.msg);
	} else {
		p = gmem__ptr(&kvm, lay->kernel_addr, img->kernel_len);
		FUZZ_CHECK(p, "kernel %#llx+%#llx loaded but not RAM",
			   (unsigned long long)lay->kernel_addr, (unsigned long long)img->kernel_len);
		FUZZ_CHECK(!overlaps(lay->kernel_addr, img->kernel_len, k.lo, k.hi),
			   "kernel %#llx+%#llx overlaps initrd/DTB %#llx-%#llx",
			   (unsigned long long)lay->kernel_addr, (unsigned long long)img->kernel_len,
			   (unsigned long long)k.lo, (unsigned long long)k.hi);
		if (!img->gz) {
			FUZZ_CHECK(img->kernel_len == flen && !memcmp(p, file, flen),
				   "kernel in RAM differs from the file");
		} else {
			u8 *ref = NULL;
			u64 rlen = 0;

			/* The streaming inflater against the buffer one. */
			if (!file__gunzip(file, flen, INFLATE_MAX, "kernel", &ref, &rlen, &err)) {
				FUZZ_CHECK(rlen != img->kernel_len || !memcmp(p, ref, rlen),
					   "Image.gz inflated into RAM differs from file__gunzip()");
				free(ref);
			}
		}
	}
	if (ilen) {
		p = gmem__ptr(&kvm, lay->initrd_addr, ilen);
		FUZZ_CHECK(p && p[0] == INITRD_BYTE && p[ilen - 1] == (ilen > 1 ? 0 : INITRD_BYTE),
			   "initrd not in RAM at %#llx", (unsigned long long)lay->initrd_addr);
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fz in = { data, size };
	u8 mode = fz_u8(&in);
	u64 base = 2 * SZ_GiB + 2 * SZ_MiB * fz_u8(&in);
	u64 bank_size = 2 * SZ_MiB * (1 + fz_u8(&in) % (BANK_MAX / (2 * SZ_MiB)));
	u32 iraw = fz_u32(&in);
	u64 ilen = mode & 4 ? iraw % (INITRD_MAX + 1) : 0;
	u64 load = base - 4 * SZ_MiB + fz_u32(&in);
	struct lkvm_err err = { "" };
	struct boot_images img;
	struct kernel_info info;
	u8 *buf = NULL;
	u64 len;

	if (mode & 8) {
		/* The bytes alone: the buffer inflater and the probe, as for a --cpu-features file. */
		if (!file__gunzip(in.p, in.n, INFLATE_MAX, "kernel", &buf, &len, &err)) {
			FUZZ_CHECK(len <= INFLATE_MAX, "inflated %llu bytes", (unsigned long long)len);
			(void)kernel__probe(buf, len, "kernel", &info, &err);
			free(buf);
		}
		(void)kernel__probe(in.p, in.n, "kernel", &info, &err);
		return 0;
	}
	fuzz_vm_init(&kvm, NULL);
	if (gmem__add_region(&kvm, base, bank_size, bank) ||
	    gmem__add_region(&kvm, HIGH_BANK, 2 * SZ_MiB, high))
		abort();
	write_file(kpath, in.p, in.n, in.n);
	if (ilen) {
		/* One marked byte, then a hole: reads as zeros, costs no disk. */
		u8 b = INITRD_BYTE;

		write_file(ipath, &b, 1, ilen);
	}
	if (boot__load_images(&kvm, &(struct boot_request){
			.kernel = kpath, .initrd = ilen ? ipath : NULL, .firmware = mode & 1,
			.load_addr = mode & 2 ? &load : NULL,
			.ram_base = base, .ram_size = bank_size,
		}, &img, &err))
		return 0;
	check_layout(&img, ilen, base, bank_size);
	check_ram(&img, in.p, in.n, ilen);
	return 0;
}
