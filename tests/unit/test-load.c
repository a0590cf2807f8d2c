// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loading boot files into guest RAM (arm/load.c, util/file.c): Image,
 * ELF, flat payload, Image.gz and initrd land at their final addresses
 * byte for byte, a gzip stream that would overflow the bank or the
 * Image's image_size stops there, truncated and corrupt streams are
 * refused, trailing bytes after the last member are ignored, members are
 * concatenated.  Every allocation lkvm's code makes is counted (the test
 * binary wraps malloc, calloc and realloc): none may be as large as the
 * file, since each byte is copied once, from the page cache into RAM.
 */
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <zlib.h>

#include "arm/boot.h"
#include "lkvm/file.h"
#include "lkvm/gmem.h"
#include "lkvm/kvm.h"
#include "test.h"

#define RAM_BASE	0x80000000ULL
#define RAM_SIZE	(64 * SZ_MiB)

/* ---- the allocation counter ---------------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);

static size_t largest_alloc;

void *__wrap_malloc(size_t n)
{
	largest_alloc = MAX(largest_alloc, n);
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
	largest_alloc = MAX(largest_alloc, n * m);
	return __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
	largest_alloc = MAX(largest_alloc, n);
	return __real_realloc(p, n);
}

/* ---- fixtures -------------------------------------------------------------- */

struct fx {
	struct kvm kvm;
	u8 *ram;
};

static void fx_init(struct fx *f, u64 size)
{
	memset(f, 0, sizeof(*f));
	f->kvm.sys_fd = f->kvm.vm_fd = -1;
	f->ram = __real_malloc(size);
	TEST_ASSERT(f->ram, "RAM");
	memset(f->ram, 0xaa, size);	/* not fresh: .bss must be cleared by the loader */
	TEST_ASSERT_EQ(gmem__add_region(&f->kvm, RAM_BASE, size, f->ram), 0);
}

static char *tmp(const char *name)
{
	static char path[4][400];
	static unsigned int n;
	char *p = path[n++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", TEST_TMPDIR, name);
	return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	TEST_ASSERT(fd >= 0, "open %s", path);
	TEST_ASSERT(write(fd, data, len) == (ssize_t)len, "write %s", path);
	close(fd);
}

static void append_gz(const char *path, const char *mode, const void *data, size_t len)
{
	gzFile gz = gzopen(path, mode);
	const u8 *p = data;

	TEST_ASSERT(gz, "gzopen %s", path);
	while (len) {
		unsigned int n = (unsigned int)MIN(len, (size_t)SZ_MiB);

		TEST_ASSERT(gzwrite(gz, p, n) == (int)n, "gzwrite");
		p += n;
		len -= n;
	}
	TEST_ASSERT_EQ(gzclose(gz), Z_OK);
}

/* An arm64 Image (booting.rst header) of @len bytes with a non-text pattern. */
static u8 *make_image(u64 len, u64 text_offset, u64 image_size)
{
	u8 *b = __real_malloc(len);
	u64 x = 0x9e3779b97f4a7c15ULL;

	TEST_ASSERT(b, "image");
	for (u64 i = 0; i < len; i++) {	/* xorshift: gzip can't shrink it much */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b[i] = (u8)(i & 1 ? x : x >> 32) & (i & 0x1000 ? 0xff : 0x0f);
	}
	memset(b, 0, ARM64_IMAGE_HDR_SIZE);
	b[0] = 0x10; b[3] = 0x14;			/* code0: b +64 */
	for (int i = 0; i < 8; i++) {
		b[8 + i] = (u8)(text_offset >> (8 * i));
		b[16 + i] = (u8)(image_size >> (8 * i));
	}
	b[24] = 0x0a;					/* flags: LE, 4K pages */
	b[56] = 'A'; b[57] = 'R'; b[58] = 'M'; b[59] = 0x64;
	return b;
}

static int load(struct fx *f, const char *kernel, const char *initrd, bool firmware,
		struct boot_images *img, struct lkvm_err *err)
{
	largest_alloc = 0;
	return boot__load_images(&f->kvm, &(struct boot_request){
			.kernel = kernel, .initrd = initrd, .firmware = firmware,
			.ram_base = RAM_BASE, .ram_size = RAM_SIZE,
		}, img, err);
}

static void expect_ram(struct fx *f, u64 gpa, const u8 *want, u64 len)
{
	u8 *p = gmem__ptr(&f->kvm, gpa, len);

	TEST_ASSERT(p, "%#llx+%llu not RAM", (unsigned long long)gpa, (unsigned long long)len);
	for (u64 i = 0; i < len; i++)
		if (p[i] != want[i])
			TEST_ASSERT(false, "guest byte %#llx is %#x, the file's is %#x",
				    (unsigned long long)(gpa + i), p[i], want[i]);
}

/* ---- cases ----------------------------------------------------------------- */

static void test_image_and_initrd(void)
{
	const u64 len = 6 * SZ_MiB + 123, ilen = 3 * SZ_MiB + 5;
	u8 *image = make_image(len, 0x80000, 8 * SZ_MiB), *initrd = __real_malloc(ilen);
	struct lkvm_err err = { "" };
	struct boot_images img;
	struct fx f;

	for (u64 i = 0; i < ilen; i++)
		initrd[i] = (u8)(i ^ (i >> 9));
	write_file(tmp("Image"), image, len);
	write_file(tmp("initrd"), initrd, ilen);
	fx_init(&f, RAM_SIZE);
	TEST_ASSERT(load(&f, tmp("Image"), tmp("initrd"), false, &img, &err) == 0, "load: %s",
		    err.msg);
	TEST_ASSERT_EQ(img.info.kind, KERNEL_IMAGE);
	TEST_ASSERT_EQ(img.layout.kernel_addr, RAM_BASE + 0x80000);
	TEST_ASSERT_EQ(img.entry, RAM_BASE + 0x80000);
	TEST_ASSERT_EQ(img.kernel_len, len);
	expect_ram(&f, img.layout.kernel_addr, image, len);
	TEST_ASSERT_EQ(img.layout.initrd_size, ilen);
	expect_ram(&f, img.layout.initrd_addr, initrd, ilen);
	TEST_ASSERT(largest_alloc < SZ_MiB, "the loader allocated %zu bytes for %llu-byte files",
		    largest_alloc, (unsigned long long)len);
	free(image);
	free(initrd);
	free(f.ram);
}

static void test_image_gz(void)
{
	const u64 len = 12 * SZ_MiB + 4097;
	u8 *image = make_image(len, 0, 16 * SZ_MiB);
	struct lkvm_err err = { "" };
	struct boot_images img;
	struct stat st;
	struct fx f;

	append_gz(tmp("Image.gz"), "wb1", image, len);
	TEST_ASSERT_EQ(stat(tmp("Image.gz"), &st), 0);
	fx_init(&f, RAM_SIZE);
	TEST_ASSERT(load(&f, tmp("Image.gz"), NULL, false, &img, &err) == 0, "load: %s", err.msg);
	TEST_ASSERT(img.gz, "not seen as gzip");
	TEST_ASSERT_EQ(img.kernel_len, len);
	expect_ram(&f, RAM_BASE, image, len);
	/* The compressed input goes through a fixed chunk, the output straight to RAM. */
	TEST_ASSERT(st.st_size > 4 * (off_t)SZ_MiB, "test bug: %lld-byte Image.gz", (long long)st.st_size);
	TEST_ASSERT(largest_alloc < SZ_MiB,
		    "the loader allocated %zu bytes for a %lld-byte Image.gz (%llu inflated)",
		    largest_alloc, (long long)st.st_size, (unsigned long long)len);
	free(image);
	free(f.ram);
}

/* Two members back to back are one Image; bytes after the last member are ignored. */
static void test_gz_members_and_trailing_bytes(void)
{
	const u64 len = 3 * SZ_MiB, half = SZ_MiB + 77;
	u8 *image = make_image(len, 0, 4 * SZ_MiB);
	struct lkvm_err err = { "" };
	struct boot_images img;
	struct fx f;
	int fd;

	append_gz(tmp("multi.gz"), "wb6", image, half);
	append_gz(tmp("multi.gz"), "ab6", image + half, len - half);
	fd = open(tmp("multi.gz"), O_WRONLY | O_APPEND);
	TEST_ASSERT(fd >= 0 && write(fd, "\0\0\0\0garbage", 11) == 11, "append");
	close(fd);
	fx_init(&f, RAM_SIZE);
	TEST_ASSERT(load(&f, tmp("multi.gz"), NULL, false, &img, &err) == 0, "load: %s", err.msg);
	TEST_ASSERT_EQ(img.kernel_len, len);
	expect_ram(&f, RAM_BASE, image, len);
	free(image);
	free(f.ram);
}

/* A stream that inflates past the bank stops at the bank, whatever the file says. */
static void test_gz_bomb_stops_at_bank(void)
{
	const u64 bank = 16 * SZ_MiB;
	u8 *flat = calloc(1, 4 * SZ_MiB);
	struct lkvm_err err = { "" };
	struct boot_images img;
	gzFile gz;
	struct fx f;
	int r;

	TEST_ASSERT(flat, "calloc");
	flat[0] = 0xfe;		/* not text, not an Image, not an ELF: a flat payload */
	gz = gzopen(tmp("bomb.gz"), "wb9");
	TEST_ASSERT(gz, "gzopen");
	for (int i = 0; i < 16; i++)	/* 64 MiB of (almost) zeros */
		TEST_ASSERT(gzwrite(gz, flat, 4 * SZ_MiB) == 4 * (int)SZ_MiB, "gzwrite");
	TEST_ASSERT_EQ(gzclose(gz), Z_OK);
	fx_init(&f, bank);
	largest_alloc = 0;
	r = boot__load_images(&f.kvm, &(struct boot_request){
			.kernel = tmp("bomb.gz"), .ram_base = RAM_BASE, .ram_size = bank,
		}, &img, &err);
	TEST_ASSERT_EQ(r, -EFBIG);
	TEST_ASSERT(strstr(err.msg, "bomb.gz") && strstr(err.msg, "-m"), "message: %s", err.msg);
	TEST_ASSERT(largest_alloc < SZ_MiB, "allocated %zu", largest_alloc);
	free(flat);
	free(f.ram);
}

/* An Image.gz inflating past its header's image_size is refused at image_size. */
static void test_gz_past_image_size(void)
{
	const u64 len = 3 * SZ_MiB;
	u8 *image = make_image(len, 0, 2 * SZ_MiB);	/* claims less than it holds */
	struct lkvm_err err = { "" };
	struct boot_images img;
	struct fx f;

	append_gz(tmp("liar.gz"), "wb1", image, len);
	fx_init(&f, RAM_SIZE);
	TEST_ASSERT_EQ(load(&f, tmp("liar.gz"), NULL, false, &img, &err), -EFBIG);
	TEST_ASSERT(strstr(err.msg, "image_size"), "message: %s", err.msg);
	free(image);
	free(f.ram);
}

static void test_gz_truncated_and_corrupt(void)
{
	const u64 len = 2 * SZ_MiB;
	u8 *image = make_image(len, 0, 4 * SZ_MiB), *gzb;
	struct lkvm_err err = { "" };
	struct boot_images img;
	struct stat st;
	struct fx f;
	int fd;

	append_gz(tmp("whole.gz"), "wb6", image, len);
	TEST_ASSERT_EQ(stat(tmp("whole.gz"), &st), 0);
	gzb = __real_malloc((size_t)st.st_size);
	fd = open(tmp("whole.gz"), O_RDONLY);
	TEST_ASSERT(read(fd, gzb, (size_t)st.st_size) == st.st_size, "read");
	close(fd);
	fx_init(&f, RAM_SIZE);
	/* cut in the middle, and just before the trailer */
	write_file(tmp("cut.gz"), gzb, (size_t)st.st_size / 2);
	TEST_ASSERT_EQ(load(&f, tmp("cut.gz"), NULL, false, &img, &err), -EINVAL);
	TEST_ASSERT(strstr(err.msg, "truncated"), "message: %s", err.msg);
	write_file(tmp("cut.gz"), gzb, (size_t)st.st_size - 3);
	TEST_ASSERT_EQ(load(&f, tmp("cut.gz"), NULL, false, &img, &err), -EINVAL);
	/* a flipped byte in the deflate data: the CRC or the code catches it */
	gzb[st.st_size / 2] ^= 0x55;
	write_file(tmp("bad.gz"), gzb, (size_t)st.st_size);
	TEST_ASSERT_EQ(load(&f, tmp("bad.gz"), NULL, false, &img, &err), -EINVAL);
	TEST_ASSERT(strstr(err.msg, "bad.gz"), "message: %s", err.msg);
	free(gzb);
	free(image);
	free(f.ram);
}

static void test_flat_at_firmware_address(void)
{
	const u64 len = 700 * 1024 + 3, at = RAM_BASE + 0x200000;
	u8 *image = make_image(len, 0, SZ_MiB);
	struct lkvm_err err = { "" };
	struct boot_images img;
	struct fx f;

	write_file(tmp("fw.bin"), image, len);
	fx_init(&f, RAM_SIZE);
	largest_alloc = 0;
	TEST_ASSERT(boot__load_images(&f.kvm, &(struct boot_request){
			.kernel = tmp("fw.bin"), .firmware = true, .load_addr = &at,
			.ram_base = RAM_BASE, .ram_size = RAM_SIZE,
		}, &img, &err) == 0, "load: %s", err.msg);
	TEST_ASSERT_EQ(img.info.kind, KERNEL_FLAT);	/* -f: raw, even with an Image header */
	TEST_ASSERT_EQ(img.entry, at);
	expect_ram(&f, at, image, len);
	TEST_ASSERT(largest_alloc < 64 * 1024, "allocated %zu", largest_alloc);
	free(image);
	free(f.ram);
}

static void test_elf_segments(void)
{
	const u64 seg0 = RAM_BASE + 0x100000, seg1 = RAM_BASE + 0x400000;
	u8 *elf = calloc(1, 3 * 4096);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)(void *)elf;
	Elf64_Phdr *ph = (Elf64_Phdr *)(void *)(elf + sizeof(*eh));
	struct lkvm_err err = { "" };
	struct boot_images img;
	u8 zeros[4096] = { 0 };
	struct fx f;

	TEST_ASSERT(elf, "calloc");
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_AARCH64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = seg0 + 0x10;
	eh->e_phoff = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;
	eh->e_ehsize = sizeof(*eh);
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 4096, .p_paddr = seg0,
			      .p_vaddr = seg0, .p_filesz = 4096, .p_memsz = 4096, .p_align = 4096 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 8192, .p_paddr = seg1,
			      .p_vaddr = seg1, .p_filesz = 1000, .p_memsz = 4096, .p_align = 4096 };
	for (int i = 4096; i < 3 * 4096; i++)
		elf[i] = (u8)(i * 3 + 1);
	write_file(tmp("payload.elf"), elf, 8192 + 1000);
	fx_init(&f, RAM_SIZE);
	TEST_ASSERT(load(&f, tmp("payload.elf"), NULL, false, &img, &err) == 0, "load: %s",
		    err.msg);
	TEST_ASSERT_EQ(img.info.kind, KERNEL_ELF);
	TEST_ASSERT_EQ(img.entry, seg0 + 0x10);
	expect_ram(&f, seg0, elf + 4096, 4096);
	expect_ram(&f, seg1, elf + 8192, 1000);
	expect_ram(&f, seg1 + 1000, zeros, 4096 - 1000);	/* .bss cleared */
	/* gzip'd, it is refused with the fix */
	append_gz(tmp("payload.elf.gz"), "wb6", elf, 8192 + 1000);
	TEST_ASSERT_EQ(load(&f, tmp("payload.elf.gz"), NULL, false, &img, &err), -ENOEXEC);
	TEST_ASSERT(strstr(err.msg, "gunzip"), "message: %s", err.msg);
	free(elf);
	free(f.ram);
}

static void test_missing_files(void)
{
	struct lkvm_err err = { "" };
	struct boot_images img;
	struct fx f;
	u8 *image = make_image(SZ_MiB, 0, SZ_MiB);

	write_file(tmp("Image"), image, SZ_MiB);
	fx_init(&f, RAM_SIZE);
	TEST_ASSERT_EQ(load(&f, tmp("nope"), NULL, false, &img, &err), -ENOENT);
	TEST_ASSERT(strstr(err.msg, "nope"), "message: %s", err.msg);
	TEST_ASSERT_EQ(load(&f, tmp("Image"), tmp("no-initrd"), false, &img, &err), -ENOENT);
	TEST_ASSERT(strstr(err.msg, "no-initrd"), "message: %s", err.msg);
	TEST_ASSERT_EQ(load(&f, TEST_TMPDIR, NULL, false, &img, &err), -EINVAL);
	free(image);
	free(f.ram);
}

static const struct test_case tests[] = {
	TEST_CASE(test_image_and_initrd),
	TEST_CASE(test_image_gz),
	TEST_CASE(test_gz_members_and_trailing_bytes),
	TEST_CASE(test_gz_bomb_stops_at_bank),
	TEST_CASE(test_gz_past_image_size),
	TEST_CASE(test_gz_truncated_and_corrupt),
	TEST_CASE(test_flat_at_firmware_address),
	TEST_CASE(test_elf_segments),
	TEST_CASE(test_missing_files),
};

TEST_MAIN(tests)
