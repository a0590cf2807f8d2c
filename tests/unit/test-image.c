// SPDX-License-Identifier: GPL-2.0-only
/*
 * What lkvm accepts as a kernel (arm/kernel.c: arm64 Image header, AArch64
 * ELF, flat payload, and the mistakes it refuses), where boot__layout()
 * puts kernel, initrd and DTB, and reading boot files, plain or gzip,
 * from the host (util/file.c).  Images are synthesised in memory.
 */
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <zlib.h>

#include "arm/boot.h"
#include "lkvm/file.h"
#include "test.h"

#define RAM_BASE	0x80000000ULL

static void put_le32(u8 *p, u32 v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (u8)(v >> (8 * i));
}

static void put_le64(u8 *p, u64 v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (u8)(v >> (8 * i));
}

/* An arm64 Image header (booting.rst) followed by non-text filler. */
static u8 *make_image(u64 len, u64 text_offset, u64 image_size, u64 flags)
{
	u8 *buf = calloc(1, len);

	TEST_ASSERT(buf, "calloc");
	for (u64 i = ARM64_IMAGE_HDR_SIZE; i < len; i++)
		buf[i] = (u8)(i * 7);
	if (len >= 4)
		put_le32(buf, 0x14000010);	/* b +64: code0 */
	if (len >= 32) {
		put_le64(buf + 8, text_offset);
		put_le64(buf + 16, image_size);
		put_le64(buf + 24, flags);
	}
	if (len >= 60)
		put_le32(buf + 56, ARM64_IMAGE_MAGIC);
	return buf;
}

static void test_image_valid(void)
{
	struct kernel_info info;
	struct lkvm_err err = { "" };
	u8 *img = make_image(4096, 0, 0x200000, 0xa);	/* LE, 4K pages, anywhere */

	TEST_ASSERT_EQ(kernel__probe(img, 4096, "Image", &info, &err), 0);
	TEST_ASSERT_EQ(info.kind, KERNEL_IMAGE);
	TEST_ASSERT_EQ(info.text_offset, 0);
	TEST_ASSERT_EQ(info.image_size, 0x200000);
	TEST_ASSERT(!info.big_endian, "little-endian kernel");
	free(img);

	img = make_image(4096, 0x1ff000, 0x200000, 0x1);
	TEST_ASSERT_EQ(kernel__probe(img, 4096, "Image", &info, &err), 0);
	TEST_ASSERT_EQ(info.text_offset, 0x1ff000);
	TEST_ASSERT(info.big_endian, "flags bit 0: big-endian");
	free(img);

	/* image_size may equal the file size exactly. */
	img = make_image(8192, 0x80000, 8192, 0);
	TEST_ASSERT_EQ(kernel__probe(img, 8192, "Image", &info, &err), 0);
	TEST_ASSERT_EQ(info.text_offset, 0x80000);
	free(img);
}

static void test_image_truncated(void)
{
	struct kernel_info info;
	struct lkvm_err err = { "" };
	u8 *img = make_image(64, 0, 0x200000, 0);

	for (u64 len = 60; len < 64; len++) {
		TEST_ASSERT_EQ(kernel__probe(img, len, "Image", &info, &err), -ENOEXEC);
		TEST_ASSERT_STR_CONTAINS(err.msg, "truncated");
		TEST_ASSERT_STR_CONTAINS(err.msg, "Image");
	}
	TEST_ASSERT_EQ(kernel__probe(img, 64, "Image", &info, &err), 0);
	free(img);
}

static void test_image_bad_text_offset(void)
{
	static const u64 bad[] = { 0x1001, 0x800, 0x200000, 0x400000, UINT64_MAX };
	struct kernel_info info;
	struct lkvm_err err = { "" };

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		u8 *img = make_image(4096, bad[i], 0x200000, 0);

		TEST_ASSERT(kernel__probe(img, 4096, "Image", &info, &err) == -ENOEXEC,
			    "text_offset %#llx accepted", (unsigned long long)bad[i]);
		TEST_ASSERT_STR_CONTAINS(err.msg, "text_offset");
		free(img);
	}
}

static void test_image_size_smaller_than_file(void)
{
	struct kernel_info info;
	struct lkvm_err err = { "" };
	u8 *img = make_image(8192, 0, 4096, 0);

	TEST_ASSERT_EQ(kernel__probe(img, 8192, "Image", &info, &err), -ENOEXEC);
	TEST_ASSERT_STR_CONTAINS(err.msg, "image_size");
	TEST_ASSERT_STR_CONTAINS(err.msg, "smaller than the file");
	free(img);

	img = make_image(4096, 0, 5 * SZ_GiB, 0);
	TEST_ASSERT_EQ(kernel__probe(img, 4096, "Image", &info, &err), -ENOEXEC);
	TEST_ASSERT_STR_CONTAINS(err.msg, "image_size");
	free(img);
}

static void test_image_reserved_flags(void)
{
	static const u64 bad[] = { 0x10, 0x80, 1ULL << 63 };
	struct kernel_info info;
	struct lkvm_err err = { "" };

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		u8 *img = make_image(4096, 0, 0x200000, bad[i] | 0xa);

		TEST_ASSERT(kernel__probe(img, 4096, "Image", &info, &err) == -ENOEXEC,
			    "flags %#llx accepted", (unsigned long long)bad[i]);
		TEST_ASSERT_STR_CONTAINS(err.msg, "reserved flag");
		free(img);
	}
}

/* image_size 0: a kernel before v3.17, loaded at the old fixed text_offset. */
static void test_image_old_kernel(void)
{
	struct kernel_info info;
	struct lkvm_err err = { "" };
	u8 *img = make_image(12288, 0x1234, 0, 0);

	TEST_ASSERT_EQ(kernel__probe(img, 12288, "Image", &info, &err), 0);
	TEST_ASSERT_EQ(info.kind, KERNEL_IMAGE);
	TEST_ASSERT_EQ(info.text_offset, ARM64_OLD_TEXT_OFFSET);
	TEST_ASSERT_EQ(info.image_size, 12288);
	free(img);
}

/* ELF */

struct elf_seg {
	u32 type;
	u64 offset, paddr, filesz, memsz;
};

#define ELF_FILE_SIZE	0x3000

/* An ELF64 image at @buf (need not be aligned) with the given program headers. */
static void make_elf(u8 *buf, u16 type, u16 machine, const struct elf_seg *segs,
		     unsigned int n)
{
	Elf64_Ehdr eh = { 0 };

	memset(buf, 0, ELF_FILE_SIZE);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = type;
	eh.e_machine = machine;
	eh.e_version = EV_CURRENT;
	eh.e_entry = RAM_BASE + 0x40;
	eh.e_phoff = sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = (u16)n;
	memcpy(buf, &eh, sizeof(eh));
	for (unsigned int i = 0; i < n; i++) {
		Elf64_Phdr ph = {
			.p_type = segs[i].type, .p_flags = PF_R | PF_X,
			.p_offset = segs[i].offset, .p_vaddr = segs[i].paddr,
			.p_paddr = segs[i].paddr, .p_filesz = segs[i].filesz,
			.p_memsz = segs[i].memsz, .p_align = 0x1000,
		};

		memcpy(buf + sizeof(eh) + i * sizeof(ph), &ph, sizeof(ph));
	}
	for (unsigned int i = 0x1000; i < ELF_FILE_SIZE; i++)
		buf[i] = (u8)(i ^ 0x5a);
}

static const struct elf_seg good_segs[] = {
	{ PT_LOAD, 0x1000, RAM_BASE, 0x100, 0x2000 },
	{ PT_NOTE, 0x1100, 0, 0x10, 0x10 },
	{ PT_LOAD, 0x2000, RAM_BASE + 0x100000, 0x800, 0x800 },
	{ PT_LOAD, 0x2800, RAM_BASE + 0x200000, 0, 0 },	/* empty: skipped */
};

struct seen {
	unsigned int n;
	u64 paddr[4], filesz[4], memsz[4];
	const u8 *data[4];
};

static int record_seg(void *ctx, u64 paddr, const u8 *data, u64 filesz, u64 memsz)
{
	struct seen *s = ctx;

	if (s->n < 4) {
		s->paddr[s->n] = paddr;
		s->data[s->n] = data;
		s->filesz[s->n] = filesz;
		s->memsz[s->n] = memsz;
	}
	s->n++;
	return 0;
}

static void test_elf_valid(void)
{
	u8 *buf = malloc(ELF_FILE_SIZE);
	struct kernel_info info;
	struct lkvm_err err = { "" };
	struct seen s = { 0 };

	make_elf(buf, ET_EXEC, EM_AARCH64, good_segs, ARRAY_SIZE(good_segs));
	TEST_ASSERT(kernel__probe(buf, ELF_FILE_SIZE, "vmlinux", &info, &err) == 0, "%s",
		    err.msg);
	TEST_ASSERT_EQ(info.kind, KERNEL_ELF);
	TEST_ASSERT_EQ(info.entry, RAM_BASE + 0x40);
	TEST_ASSERT_EQ(info.text_offset, RAM_BASE);
	TEST_ASSERT_EQ(info.image_size, 0x100800);

	TEST_ASSERT_EQ(elf__for_each_load(buf, ELF_FILE_SIZE, record_seg, &s, &err), 0);
	TEST_ASSERT_EQ(s.n, 2);
	TEST_ASSERT_EQ(s.paddr[0], RAM_BASE);
	TEST_ASSERT(s.data[0] == buf + 0x1000, "segment 0 data points into the file");
	TEST_ASSERT_EQ(s.filesz[0], 0x100);
	TEST_ASSERT_EQ(s.memsz[0], 0x2000);
	TEST_ASSERT_EQ(s.paddr[1], RAM_BASE + 0x100000);
	TEST_ASSERT(s.data[1] == buf + 0x2000, "segment 1 data");
	free(buf);
}

static int stop_at_second(void *ctx, u64 paddr, const u8 *data, u64 filesz, u64 memsz)
{
	unsigned int *n = ctx;

	(void)paddr;
	(void)data;
	(void)filesz;
	(void)memsz;
	return ++*n == 2 ? -EFAULT : 0;
}

static void test_elf_callback_stops(void)
{
	u8 *buf = malloc(ELF_FILE_SIZE);
	struct lkvm_err err = { "" };
	unsigned int n = 0;

	make_elf(buf, ET_EXEC, EM_AARCH64, good_segs, ARRAY_SIZE(good_segs));
	TEST_ASSERT_EQ(elf__for_each_load(buf, ELF_FILE_SIZE, stop_at_second, &n, &err), -EFAULT);
	TEST_ASSERT_EQ(n, 2);
	free(buf);
}

static void expect_elf_refused(const struct elf_seg *segs, unsigned int n, u16 type,
			       u16 machine, const char *why)
{
	u8 *buf = malloc(ELF_FILE_SIZE);
	struct kernel_info info;
	struct lkvm_err err = { "" };
	int r;

	make_elf(buf, type, machine, segs, n);
	r = kernel__probe(buf, ELF_FILE_SIZE, "payload.elf", &info, &err);
	TEST_ASSERT(r == -ENOEXEC, "%s: accepted (%d)", why, r);
	TEST_ASSERT_STR_CONTAINS(err.msg, "payload.elf");
	TEST_ASSERT_STR_CONTAINS(err.msg, why);
	free(buf);
}

static void test_elf_wrong_machine(void)
{
	expect_elf_refused(good_segs, ARRAY_SIZE(good_segs), ET_EXEC, EM_X86_64, "not AArch64");
}

static void test_elf_segment_beyond_file(void)
{
	const struct elf_seg segs[] = { { PT_LOAD, 0x2f00, RAM_BASE, 0x200, 0x200 } };
	const struct elf_seg huge[] = { { PT_LOAD, 0x1000, RAM_BASE, UINT64_MAX, UINT64_MAX } };
	const struct elf_seg wrap[] = { { PT_LOAD, UINT64_MAX - 8, RAM_BASE, 0x10, 0x10 } };

	expect_elf_refused(segs, 1, ET_EXEC, EM_AARCH64, "out of the file");
	expect_elf_refused(huge, 1, ET_EXEC, EM_AARCH64, "out of the file");
	expect_elf_refused(wrap, 1, ET_EXEC, EM_AARCH64, "out of the file");
}

static void test_elf_filesz_over_memsz(void)
{
	const struct elf_seg segs[] = { { PT_LOAD, 0x1000, RAM_BASE, 0x200, 0x100 } };

	expect_elf_refused(segs, 1, ET_EXEC, EM_AARCH64, "segment 0");
}

static void test_elf_address_wraps(void)
{
	const struct elf_seg segs[] = { { PT_LOAD, 0x1000, UINT64_MAX - 0xff, 0x100, 0x200 } };

	expect_elf_refused(segs, 1, ET_EXEC, EM_AARCH64, "wraps");
}

static void test_elf_dyn_refused(void)
{
	expect_elf_refused(good_segs, ARRAY_SIZE(good_segs), ET_DYN, EM_AARCH64, "ET_EXEC");
}

static void test_elf_no_load(void)
{
	const struct elf_seg segs[] = { { PT_NOTE, 0x1000, 0, 0x10, 0x10 } };

	expect_elf_refused(segs, 1, ET_EXEC, EM_AARCH64, "no loadable segment");
}

static void test_elf_bad_headers(void)
{
	u8 *buf = malloc(ELF_FILE_SIZE);
	struct kernel_info info;
	struct lkvm_err err = { "" };
	Elf64_Ehdr eh;

	/* Program headers beyond the file. */
	make_elf(buf, ET_EXEC, EM_AARCH64, good_segs, ARRAY_SIZE(good_segs));
	memcpy(&eh, buf, sizeof(eh));
	eh.e_phoff = ELF_FILE_SIZE - 8;
	memcpy(buf, &eh, sizeof(eh));
	TEST_ASSERT_EQ(kernel__probe(buf, ELF_FILE_SIZE, "k", &info, &err), -ENOEXEC);
	TEST_ASSERT_STR_CONTAINS(err.msg, "program headers");
	eh.e_phoff = UINT64_MAX - 8;
	memcpy(buf, &eh, sizeof(eh));
	TEST_ASSERT_EQ(kernel__probe(buf, ELF_FILE_SIZE, "k", &info, &err), -ENOEXEC);

	/* ELF32, big-endian, and a file cut inside the ELF header. */
	make_elf(buf, ET_EXEC, EM_AARCH64, good_segs, ARRAY_SIZE(good_segs));
	buf[EI_CLASS] = ELFCLASS32;
	TEST_ASSERT_EQ(kernel__probe(buf, ELF_FILE_SIZE, "k", &info, &err), -ENOEXEC);
	TEST_ASSERT_STR_CONTAINS(err.msg, "ELF64");
	buf[EI_CLASS] = ELFCLASS64;
	buf[EI_DATA] = ELFDATA2MSB;
	TEST_ASSERT_EQ(kernel__probe(buf, ELF_FILE_SIZE, "k", &info, &err), -ENOEXEC);
	buf[EI_DATA] = ELFDATA2LSB;
	TEST_ASSERT_EQ(kernel__probe(buf, 40, "k", &info, &err), -ENOEXEC);
	free(buf);
}

/*
 * kernel__probe() takes a byte buffer: it must not assume the buffer is
 * aligned for Elf64_Ehdr (UBSan's alignment check would abort here).
 */
static void test_elf_unaligned_buffer(void)
{
	u8 *mem = malloc(ELF_FILE_SIZE + 1);
	struct kernel_info info;
	struct lkvm_err err = { "" };

	make_elf(mem + 1, ET_EXEC, EM_AARCH64, good_segs, ARRAY_SIZE(good_segs));
	TEST_ASSERT(kernel__probe(mem + 1, ELF_FILE_SIZE, "vmlinux", &info, &err) == 0, "%s",
		    err.msg);
	TEST_ASSERT_EQ(info.kind, KERNEL_ELF);
	TEST_ASSERT_EQ(info.entry, RAM_BASE + 0x40);
	free(mem);
}

/* Other inputs */

static void test_text_refused(void)
{
	static const char script[] = "#!/bin/sh\n# not a kernel\necho hello\tworld\r\n";
	struct kernel_info info;
	struct lkvm_err err = { "" };

	TEST_ASSERT_EQ(kernel__probe((const u8 *)script, strlen(script), "boot.sh", &info, &err),
		       -ENOEXEC);
	TEST_ASSERT_STR_CONTAINS(err.msg, "boot.sh");
	TEST_ASSERT_STR_CONTAINS(err.msg, "text file");
}

static void test_empty_refused(void)
{
	struct kernel_info info;
	struct lkvm_err err = { "" };
	u8 byte = 0;

	TEST_ASSERT_EQ(kernel__probe(&byte, 0, "empty", &info, &err), -ENOEXEC);
	TEST_ASSERT_STR_CONTAINS(err.msg, "empty");
}

static void test_binary_is_flat(void)
{
	static const u8 insn[] = { 0x00, 0x00, 0x00, 0x14 };	/* b . */
	struct kernel_info info;
	struct lkvm_err err = { "" };
	u8 *buf = malloc(10000);
	u32 x = 12345;

	for (unsigned int i = 0; i < 10000; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (u8)(x >> 16);
	}
	buf[0] = 0x00;
	TEST_ASSERT_EQ(kernel__probe(buf, 10000, "payload.bin", &info, &err), 0);
	TEST_ASSERT_EQ(info.kind, KERNEL_FLAT);
	TEST_ASSERT_EQ(info.image_size, 10000);

	TEST_ASSERT_EQ(kernel__probe(insn, sizeof(insn), "b.bin", &info, &err), 0);
	TEST_ASSERT_EQ(info.kind, KERNEL_FLAT);

	/* Too short for the Image magic: a flat payload, not a truncated Image. */
	free(buf);
	buf = make_image(59, 0, 0x200000, 0);
	TEST_ASSERT_EQ(kernel__probe(buf, 59, "short", &info, &err), 0);
	TEST_ASSERT_EQ(info.kind, KERNEL_FLAT);
	free(buf);
}

/* boot__layout */

static void probe_image_info(struct kernel_info *info, u64 text_offset, u64 image_size)
{
	struct lkvm_err err = { "" };
	u8 *img = make_image(4096, text_offset, image_size, 0xa);

	TEST_ASSERT(kernel__probe(img, 4096, "Image", info, &err) == 0, "%s", err.msg);
	free(img);
}

static void test_layout_image(void)
{
	struct kernel_info info;
	struct boot_layout lay;
	struct lkvm_err err = { "" };
	const u64 ram_size = 256 * SZ_MiB, initrd = 4 * SZ_MiB + 123;

	probe_image_info(&info, 0, 16 * SZ_MiB);
	TEST_ASSERT_EQ(boot__layout(&info, 10 * SZ_MiB, initrd, RAM_BASE, ram_size, NULL, &lay,
				    &err), 0);
	TEST_ASSERT_EQ(lay.kernel_addr, RAM_BASE);
	TEST_ASSERT_EQ(lay.kernel_end, RAM_BASE + 16 * SZ_MiB);
	TEST_ASSERT_EQ(lay.dtb_addr, RAM_BASE + ram_size - ARM_DTB_REGION);
	TEST_ASSERT(IS_ALIGNED(lay.dtb_addr, ARM_DTB_REGION), "DTB in its own 2 MiB block");
	TEST_ASSERT_EQ(lay.initrd_size, initrd);
	TEST_ASSERT(IS_ALIGNED(lay.initrd_addr, 4096), "initrd page aligned: %#llx",
		    (unsigned long long)lay.initrd_addr);
	TEST_ASSERT(lay.initrd_addr + initrd <= lay.dtb_addr, "initrd below the DTB");
	TEST_ASSERT(lay.dtb_addr - (lay.initrd_addr + initrd) < 4096, "initrd just below it");
	TEST_ASSERT(lay.initrd_addr >= lay.kernel_end, "initrd above the kernel");

	probe_image_info(&info, 0x80000, 16 * SZ_MiB);
	TEST_ASSERT_EQ(boot__layout(&info, 4096, 0, RAM_BASE, ram_size, NULL, &lay, &err), 0);
	TEST_ASSERT_EQ(lay.kernel_addr, RAM_BASE + 0x80000);
	TEST_ASSERT_EQ(lay.kernel_end, RAM_BASE + 0x80000 + 16 * SZ_MiB);
	TEST_ASSERT_EQ(lay.initrd_size, 0);

	/* Another bank base: the kernel follows RAM. */
	TEST_ASSERT_EQ(boot__layout(&info, 4096, 0, 0x100000000ULL, ram_size, NULL, &lay, &err),
		       0);
	TEST_ASSERT_EQ(lay.kernel_addr, 0x100000000ULL + 0x80000);
	TEST_ASSERT_EQ(lay.dtb_addr, 0x100000000ULL + ram_size - ARM_DTB_REGION);
}

static u64 suggested_mib(const char *msg)
{
	const char *p = strstr(msg, "give at least -m ");

	TEST_ASSERT(p, "no suggestion in '%s'", msg);
	return strtoull(p + strlen("give at least -m "), NULL, 10);
}

static void test_layout_too_small(void)
{
	static const struct {
		u64 text_offset, image_size, initrd, ram;
	} cases[] = {
		{ 0, 30 * SZ_MiB, 0, 16 * SZ_MiB },
		{ 0, 3 * SZ_MiB, 0, 4 * SZ_MiB },
		{ 0x80000, 20 * SZ_MiB, 5 * SZ_MiB + 1, 24 * SZ_MiB },
		{ 0, 8 * SZ_MiB, 300 * SZ_MiB, 256 * SZ_MiB },
		{ 0x1ff000, 1 * SZ_MiB, 123, 4 * SZ_MiB },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct kernel_info info;
		struct boot_layout lay;
		struct lkvm_err err = { "" };
		u64 need;
		int r;

		probe_image_info(&info, cases[i].text_offset, cases[i].image_size);
		r = boot__layout(&info, 4096, cases[i].initrd, RAM_BASE, cases[i].ram, NULL, &lay,
				 &err);
		TEST_ASSERT(r == -ENOSPC, "case %u: %d", i, r);
		TEST_ASSERT_STR_CONTAINS(err.msg, "give at least -m");
		/* The suggestion is right: it fits, and 2 MiB less does not. */
		need = suggested_mib(err.msg);
		TEST_ASSERT(need > cases[i].ram / SZ_MiB, "case %u: suggests %llu MiB", i,
			    (unsigned long long)need);
		r = boot__layout(&info, 4096, cases[i].initrd, RAM_BASE, need * SZ_MiB, NULL, &lay,
				 &err);
		TEST_ASSERT(r == 0, "case %u: -m %llu does not fit: %s", i,
			    (unsigned long long)need, err.msg);
		r = boot__layout(&info, 4096, cases[i].initrd, RAM_BASE, (need - 2) * SZ_MiB, NULL,
				 &lay, &err);
		TEST_ASSERT(r == -ENOSPC, "case %u: -m %llu fits too", i,
			    (unsigned long long)need - 2);
	}
}

static void test_layout_under_dtb_region(void)
{
	struct kernel_info info;
	struct boot_layout lay;
	struct lkvm_err err = { "" };

	probe_image_info(&info, 0, 0x100000);
	TEST_ASSERT_EQ(boot__layout(&info, 4096, 0, RAM_BASE, SZ_MiB, NULL, &lay, &err), -ENOSPC);
}

static void test_layout_flat(void)
{
	struct kernel_info info = { .kind = KERNEL_FLAT, .image_size = 0x3000 };
	struct boot_layout lay;
	struct lkvm_err err = { "" };
	u64 at = RAM_BASE + 0x200000, high = 0x100000000ULL, wrap = UINT64_MAX - 0x1000;

	TEST_ASSERT_EQ(boot__layout(&info, 0x3000, 0, RAM_BASE, 64 * SZ_MiB, NULL, &lay, &err), 0);
	TEST_ASSERT_EQ(lay.kernel_addr, RAM_BASE);
	TEST_ASSERT_EQ(lay.kernel_end, RAM_BASE + 0x3000);

	TEST_ASSERT_EQ(boot__layout(&info, 0x3000, 0x1000, RAM_BASE, 64 * SZ_MiB, &at, &lay, &err),
		       0);
	TEST_ASSERT_EQ(lay.kernel_addr, at);
	TEST_ASSERT_EQ(lay.kernel_end, at + 0x3000);
	TEST_ASSERT(lay.initrd_addr >= lay.kernel_end, "initrd above the payload");

	/* Outside the first bank: does not constrain initrd and DTB. */
	TEST_ASSERT_EQ(boot__layout(&info, 0x3000, 0, RAM_BASE, 4 * SZ_MiB, &high, &lay, &err), 0);
	TEST_ASSERT_EQ(lay.kernel_addr, high);

	TEST_ASSERT_EQ(boot__layout(&info, 0x3000, 0, RAM_BASE, 64 * SZ_MiB, &wrap, &lay, &err),
		       -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "wraps");
}

static void test_layout_elf(void)
{
	struct kernel_info info = {
		.kind = KERNEL_ELF, .text_offset = RAM_BASE + 0x1000, .image_size = 0x5000,
		.entry = RAM_BASE + 0x1000,
	};
	struct boot_layout lay;
	struct lkvm_err err = { "" };

	TEST_ASSERT_EQ(boot__layout(&info, 0x9000, SZ_MiB, RAM_BASE, 64 * SZ_MiB, NULL, &lay, &err),
		       0);
	TEST_ASSERT_EQ(lay.kernel_addr, RAM_BASE + 0x1000);
	TEST_ASSERT_EQ(lay.kernel_end, RAM_BASE + 0x6000);
	TEST_ASSERT_EQ(lay.initrd_size, SZ_MiB);
}

/* util/file.c */

static char *tmp_path(const char *name)
{
	static char paths[8][512];
	static unsigned int n;
	char *p = paths[n++ % 8];

	snprintf(p, sizeof(paths[0]), "%s/%s", TEST_TMPDIR, name);
	return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	TEST_ASSERT(fd >= 0, "open %s: %s", path, strerror(errno));
	TEST_ASSERT(write(fd, data, len) == (ssize_t)len, "write %s", path);
	close(fd);
}

static void write_gz(const char *path, const void *data, size_t len)
{
	gzFile gz = gzopen(path, "wb9");

	TEST_ASSERT(gz, "gzopen %s", path);
	TEST_ASSERT(len == 0 || gzwrite(gz, data, (unsigned int)len) == (int)len, "gzwrite");
	TEST_ASSERT_EQ(gzclose(gz), Z_OK);
}

static u8 *read_raw(const char *path, size_t *len)
{
	struct stat st;
	u8 *buf;
	int fd = open(path, O_RDONLY);

	TEST_ASSERT(fd >= 0 && fstat(fd, &st) == 0, "open %s", path);
	buf = malloc((size_t)st.st_size + 1);
	TEST_ASSERT(read(fd, buf, (size_t)st.st_size) == st.st_size, "read %s", path);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static u8 *pattern(size_t len)
{
	u8 *p = malloc(len);

	for (size_t i = 0; i < len; i++)
		p[i] = (u8)((i * 131) ^ (i >> 9));
	return p;
}

static void test_file_plain(void)
{
	const char *path = tmp_path("plain.bin");
	u8 *data = pattern(100000), *buf = NULL;
	struct lkvm_err err = { "" };
	bool gz = true;
	u64 len = 0;

	write_file(path, data, 100000);
	TEST_ASSERT_EQ(file__read(path, SZ_MiB, true, &buf, &len, &gz, &err), 0);
	TEST_ASSERT_EQ(len, 100000);
	TEST_ASSERT(!gz, "not gzip");
	TEST_ASSERT(!memcmp(buf, data, 100000), "same bytes");
	free(buf);

	/* Exactly at the limit, and one byte over. */
	TEST_ASSERT_EQ(file__read(path, 100000, false, &buf, &len, &gz, &err), 0);
	free(buf);
	TEST_ASSERT_EQ(file__read(path, 99999, false, &buf, &len, &gz, &err), -EFBIG);
	TEST_ASSERT_STR_CONTAINS(err.msg, path);
	TEST_ASSERT_EQ(file__read(path, 99999, true, &buf, &len, &gz, &err), -EFBIG);
	free(data);
}

static void test_file_empty(void)
{
	const char *path = tmp_path("empty");
	struct lkvm_err err = { "" };
	u8 *buf = NULL;
	bool gz;
	u64 len = 1;

	write_file(path, "", 0);
	TEST_ASSERT_EQ(file__read(path, SZ_MiB, true, &buf, &len, &gz, &err), 0);
	TEST_ASSERT_EQ(len, 0);
	free(buf);
}

static void test_file_gzip(void)
{
	const char *path = tmp_path("Image.gz");
	const size_t n = 3 * 1024 * 1024 + 17;
	u8 *data = pattern(n), *buf = NULL;
	struct lkvm_err err = { "" };
	size_t rawlen;
	u8 *raw;
	bool gz = false;
	u64 len = 0;

	write_gz(path, data, n);
	TEST_ASSERT_EQ(file__read(path, 64 * SZ_MiB, true, &buf, &len, &gz, &err), 0);
	TEST_ASSERT(gz, "gzip detected");
	TEST_ASSERT_EQ(len, n);
	TEST_ASSERT(!memcmp(buf, data, n), "inflated bytes match");
	free(buf);

	/* Without inflate: the compressed bytes as they are. */
	raw = read_raw(path, &rawlen);
	TEST_ASSERT_EQ(file__read(path, 64 * SZ_MiB, false, &buf, &len, &gz, &err), 0);
	TEST_ASSERT(!gz, "not inflated");
	TEST_ASSERT_EQ(len, rawlen);
	TEST_ASSERT(!memcmp(buf, raw, rawlen), "raw bytes");
	free(buf);

	/* Exactly at the limit inflates; one byte less is -EFBIG. */
	TEST_ASSERT_EQ(file__read(path, n, true, &buf, &len, &gz, &err), 0);
	TEST_ASSERT_EQ(len, n);
	free(buf);
	TEST_ASSERT_EQ(file__read(path, n - 1, true, &buf, &len, &gz, &err), -EFBIG);
	free(raw);
	free(data);
}

static void test_file_gzip_empty_payload(void)
{
	const char *path = tmp_path("empty.gz");
	struct lkvm_err err = { "" };
	u8 *buf = NULL;
	bool gz = false;
	u64 len = 1;

	write_gz(path, "", 0);
	TEST_ASSERT_EQ(file__read(path, SZ_MiB, true, &buf, &len, &gz, &err), 0);
	TEST_ASSERT(gz, "gzip");
	TEST_ASSERT_EQ(len, 0);
	free(buf);
}

static void test_file_gzip_bomb(void)
{
	const char *path = tmp_path("bomb.gz");
	const size_t n = 16 * 1024 * 1024;
	u8 *zeros = calloc(1, n), *buf = NULL;
	struct lkvm_err err = { "" };
	bool gz;
	u64 len;

	write_gz(path, zeros, n);
	TEST_ASSERT_EQ(file__read(path, SZ_MiB, true, &buf, &len, &gz, &err), -EFBIG);
	TEST_ASSERT_STR_CONTAINS(err.msg, path);
	TEST_ASSERT_STR_CONTAINS(err.msg, "more than 1 MiB");
	free(zeros);
}

static void test_file_gzip_truncated(void)
{
	const char *full = tmp_path("full.gz"), *cut = tmp_path("cut.gz");
	const size_t n = 256 * 1024;
	u8 *data = pattern(n), *raw, *buf = NULL;
	struct lkvm_err err = { "" };
	size_t rawlen;
	bool gz;
	u64 len;

	write_gz(full, data, n);
	raw = read_raw(full, &rawlen);
	TEST_ASSERT(rawlen > 100, "compressed size %zu", rawlen);

	/* Cut in the middle of the deflate stream, and just before the trailer. */
	write_file(cut, raw, rawlen / 2);
	TEST_ASSERT_EQ(file__read(cut, 16 * SZ_MiB, true, &buf, &len, &gz, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, cut);
	TEST_ASSERT_STR_CONTAINS(err.msg, "corrupt or truncated");

	write_file(cut, raw, rawlen - 4);
	TEST_ASSERT_EQ(file__read(cut, 16 * SZ_MiB, true, &buf, &len, &gz, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "corrupt or truncated");

	write_file(cut, raw, 2);	/* magic only */
	TEST_ASSERT_EQ(file__read(cut, 16 * SZ_MiB, true, &buf, &len, &gz, &err), -EINVAL);

	/* Corrupted in the middle: the CRC or the stream catches it. */
	raw[rawlen / 2] ^= 0xff;
	raw[rawlen / 2 + 1] ^= 0x55;
	write_file(cut, raw, rawlen);
	TEST_ASSERT_EQ(file__read(cut, 16 * SZ_MiB, true, &buf, &len, &gz, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "corrupt or truncated");
	free(raw);
	free(data);
}

/*
 * RFC 1952 2.2: a gzip file is a series of members ("cat a.gz b.gz" is
 * valid and gzip -d inflates it to both).  A multi-member file must
 * inflate whole, not silently stop after the first member.
 */
static void test_file_gzip_multi_member(void)
{
	const char *a = tmp_path("a.gz"), *b = tmp_path("b.gz"), *ab = tmp_path("ab.gz");
	const size_t na = 200000, nb = 1000;
	u8 *data = pattern(na + nb), *ra, *rb, *cat, *buf = NULL;
	struct lkvm_err err = { "" };
	size_t la, lb;
	bool gz;
	u64 len = 0;
	int r;

	write_gz(a, data, na);
	write_gz(b, data + na, nb);
	ra = read_raw(a, &la);
	rb = read_raw(b, &lb);
	cat = malloc(la + lb);
	memcpy(cat, ra, la);
	memcpy(cat + la, rb, lb);
	write_file(ab, cat, la + lb);

	r = file__read(ab, 16 * SZ_MiB, true, &buf, &len, &gz, &err);
	TEST_ASSERT(r == 0, "%d: %s", r, err.msg);
	TEST_ASSERT_EQ(len, na + nb);
	TEST_ASSERT(!memcmp(buf, data, na + nb), "both members' bytes");
	free(buf);
	free(cat);
	free(ra);
	free(rb);
	free(data);
}

static void test_file_missing_and_dir(void)
{
	const char *missing = tmp_path("no-such-file");
	struct lkvm_err err = { "" };
	u8 *buf = NULL;
	bool gz;
	u64 len;

	TEST_ASSERT_EQ(file__read(missing, SZ_MiB, true, &buf, &len, &gz, &err), -ENOENT);
	TEST_ASSERT_STR_CONTAINS(err.msg, missing);
	TEST_ASSERT_STR_CONTAINS(err.msg, "No such file");

	TEST_ASSERT_EQ(file__read(TEST_TMPDIR, SZ_MiB, true, &buf, &len, &gz, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, TEST_TMPDIR);
	TEST_ASSERT_STR_CONTAINS(err.msg, "not a regular file");
}

static void test_gunzip_buffer(void)
{
	static const u8 not_gz[] = { 0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
				     0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0 };
	struct lkvm_err err = { "" };
	u8 *buf = NULL;
	u64 len;

	TEST_ASSERT_EQ(file__gunzip(not_gz, sizeof(not_gz), SZ_MiB, "blob", &buf, &len, &err),
		       -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "blob");
	/* A limit above 4 GiB is clamped, not refused: the corrupt data is still the error. */
	TEST_ASSERT_EQ(file__gunzip(not_gz, sizeof(not_gz), 8 * SZ_GiB, "big", &buf, &len, &err),
		       -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "corrupt");
}

/* A gzip stream of @len bytes built in memory; *@out_len is its size. */
static u8 *gzip_buf(const void *data, size_t len, size_t *out_len)
{
	z_stream zs = { 0 };
	size_t cap = len + len / 2 + 128;
	u8 *out = malloc(cap);

	TEST_ASSERT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
		       Z_OK);
	zs.next_in = (Bytef *)(uintptr_t)data;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	TEST_ASSERT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
	*out_len = zs.total_out;
	deflateEnd(&zs);
	return out;
}

/*
 * The largest limit file__gunzip() accepts is UINT32_MAX.  With it, a
 * (corrupt or hostile) ISIZE trailer near 4 GiB makes the first output
 * buffer exactly 2^32 bytes; zlib's 32-bit avail_out must not become 0
 * (inflate could then never make progress).  Must fail, not hang.
 */
static void test_gunzip_max_limit_isize(void)
{
	static const char text[] = "a short payload, not 4 GiB at all";
	struct lkvm_err err = { "" };
	u8 *gz, *buf = NULL;
	size_t gz_len;
	u64 len;
	int r;

	gz = gzip_buf(text, sizeof(text), &gz_len);
	TEST_ASSERT_EQ(file__gunzip(gz, gz_len, UINT32_MAX, "ok.gz", &buf, &len, &err), 0);
	TEST_ASSERT_EQ(len, sizeof(text));
	free(buf);

	put_le32(gz + gz_len - 4, 0xffffffff);	/* ISIZE: "4 GiB - 1" */
	alarm(5);	/* it takes milliseconds; a hang spins */
	r = file__gunzip(gz, gz_len, UINT32_MAX, "isize.gz", &buf, &len, &err);
	alarm(0);
	TEST_ASSERT(r == -EINVAL || r == -EFBIG, "%d: %s", r, err.msg);
	free(gz);
}

static const struct test_case tests[] = {
	TEST_CASE(test_image_valid),
	TEST_CASE(test_image_truncated),
	TEST_CASE(test_image_bad_text_offset),
	TEST_CASE(test_image_size_smaller_than_file),
	TEST_CASE(test_image_reserved_flags),
	TEST_CASE(test_image_old_kernel),
	TEST_CASE(test_elf_valid),
	TEST_CASE(test_elf_callback_stops),
	TEST_CASE(test_elf_wrong_machine),
	TEST_CASE(test_elf_segment_beyond_file),
	TEST_CASE(test_elf_filesz_over_memsz),
	TEST_CASE(test_elf_address_wraps),
	TEST_CASE(test_elf_dyn_refused),
	TEST_CASE(test_elf_no_load),
	TEST_CASE(test_elf_bad_headers),
	TEST_CASE(test_elf_unaligned_buffer),
	TEST_CASE(test_text_refused),
	TEST_CASE(test_empty_refused),
	TEST_CASE(test_binary_is_flat),
	TEST_CASE(test_layout_image),
	TEST_CASE(test_layout_too_small),
	TEST_CASE(test_layout_under_dtb_region),
	TEST_CASE(test_layout_flat),
	TEST_CASE(test_layout_elf),
	TEST_CASE(test_file_plain),
	TEST_CASE(test_file_empty),
	TEST_CASE(test_file_gzip),
	TEST_CASE(test_file_gzip_empty_payload),
	TEST_CASE(test_file_gzip_bomb),
	TEST_CASE(test_file_gzip_truncated),
	TEST_CASE(test_file_gzip_multi_member),
	TEST_CASE(test_file_missing_and_dir),
	TEST_CASE(test_gunzip_buffer),
	TEST_CASE(test_gunzip_max_limit_isize),
};

TEST_MAIN(tests)
