/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What lkvm's libFuzzer harnesses (tests/fuzz/fuzz-*.c) share: a cursor
 * that reads the fuzzer's input as little-endian integers and byte runs
 * (reading past the end gives zeroes, so every input is valid), a fake
 * guest RAM of two adjacent regions with separate host buffers (a buffer
 * across the seam must be split, as on real multi-bank RAM), a VM with no
 * KVM whose log is quiet, and a private temporary directory.
 *
 * A harness aborts (a "crash" to libFuzzer) only for a sanitizer report
 * or for a broken invariant that it checks itself with FUZZ_CHECK; the
 * message says which.  Set LKVM_FUZZ_VERBOSE=1 to see lkvm's log lines.
 */
#ifndef LKVM_FUZZ_H
#define LKVM_FUZZ_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lkvm/config.h"
#include "lkvm/gmem.h"
#include "lkvm/kvm.h"
#include "lkvm/util.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* ---- the input --------------------------------------------------------- */

struct fz {
	const u8 *p;
	size_t n;
};

static inline u8 fz_u8(struct fz *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline u64 fz_uint(struct fz *f, unsigned int bytes)
{
	u64 v = 0;

	for (unsigned int i = 0; i < bytes; i++)
		v |= (u64)fz_u8(f) << (8 * i);
	return v;
}

#define fz_u16(f)	((u16)fz_uint((f), 2))
#define fz_u32(f)	((u32)fz_uint((f), 4))
#define fz_u64(f)	fz_uint((f), 8)

/* Up to @len bytes from the input (*@got says how many; the rest stays unread). */
static inline const u8 *fz_bytes(struct fz *f, size_t len, size_t *got)
{
	const u8 *p = f->p;

	*got = MIN(len, f->n);
	f->p += *got;
	f->n -= *got;
	return p;
}

/* A harness's own invariant: a broken one is a finding, reported like a sanitizer's. */
#define FUZZ_CHECK(cond, fmt, ...)						\
	do {									\
		if (!(cond)) {							\
			fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s: " fmt "\n", \
				__FILE__, __LINE__, #cond, ##__VA_ARGS__);	\
			abort();						\
		}								\
	} while (0)

/* ---- a VM without KVM -------------------------------------------------- */

/*
 * Fake guest RAM: [FUZZ_RAM_BASE, + FUZZ_RAM_SIZE) in two adjacent regions
 * of FUZZ_RAM_SIZE / 2, each its own page-aligned host buffer.  Guest
 * address 0 is RAM so that small numbers from the fuzzer are addresses.
 */
#define FUZZ_RAM_BASE		0x0ULL
#define FUZZ_RAM_SIZE		(64 * SZ_KiB)

struct fuzz_ram {
	u8 *half[2];
};

/* Private anonymous mappings, as lkvm's RAM is (virtio-balloon gives pages back with madvise). */
static inline void fuzz_ram_alloc(struct fuzz_ram *r)
{
	for (int i = 0; i < 2; i++) {
		r->half[i] = mmap(NULL, FUZZ_RAM_SIZE / 2, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (r->half[i] == MAP_FAILED)
			abort();
	}
}

/* Zeroes the RAM, then copies @len bytes of @img (at most the RAM's size) to its start. */
static inline void fuzz_ram_fill(struct fuzz_ram *r, const u8 *img, size_t len)
{
	size_t h = FUZZ_RAM_SIZE / 2, n0 = MIN(len, h), n1 = len > h ? MIN(len - h, h) : 0;

	memcpy(r->half[0], img, n0);
	memset(r->half[0] + n0, 0, h - n0);
	memcpy(r->half[1], img + n0, n1);
	memset(r->half[1] + n1, 0, h - n1);
}

/* Whether [p, p + len) lies inside one of the RAM's host buffers. */
static inline bool fuzz_ram_holds(const struct fuzz_ram *r, const void *p, size_t len)
{
	for (int i = 0; i < 2; i++) {
		const u8 *lo = r->half[i], *hi = lo + FUZZ_RAM_SIZE / 2;

		if ((const u8 *)p >= lo && len <= (size_t)(hi - (const u8 *)p))
			return true;
	}
	return false;
}

/* The quiet configuration every fuzzed VM points at (LKVM_FUZZ_VERBOSE: everything). */
static inline const struct lkvm_config *fuzz_cfg(void)
{
	static struct lkvm_config cfg;
	static bool done;

	if (!done) {
		config__defaults(&cfg, 1);
		cfg.loglevel = getenv("LKVM_FUZZ_VERBOSE") ? LOG_DEBUG : LOG_ERROR;
		done = true;
	}
	return &cfg;
}

/* @kvm as kvm__init() leaves it, without KVM, with @r as its RAM. */
static inline void fuzz_vm_init(struct kvm *kvm, struct fuzz_ram *r)
{
	memset(kvm, 0, sizeof(*kvm));
	kvm->cfg = fuzz_cfg();
	kvm->sys_fd = kvm->vm_fd = kvm->stop_fd = -1;
	kvm->console_in = kvm->console_out = -1;
	for (unsigned int i = 0; i < LKVM_MAX_NICS; i++)
		net__backend_init(&kvm->net[i]);
	if (r) {
		if (gmem__add_region(kvm, FUZZ_RAM_BASE, FUZZ_RAM_SIZE / 2, r->half[0]) ||
		    gmem__add_region(kvm, FUZZ_RAM_BASE + FUZZ_RAM_SIZE / 2, FUZZ_RAM_SIZE / 2,
				     r->half[1]))
			abort();
	}
}

/* ---- a private directory ------------------------------------------------ */

static char fuzz__tmpdir[256];

static inline int fuzz__rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void fuzz__rm_tmpdir(void)
{
	if (fuzz__tmpdir[0])
		nftw(fuzz__tmpdir, fuzz__rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* A directory of this process's own (on tmpfs if there is one), removed at exit. */
static inline const char *fuzz_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	if (fuzz__tmpdir[0])
		return fuzz__tmpdir;
	if (!base)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(fuzz__tmpdir, sizeof(fuzz__tmpdir), "%s/lkvm-fuzz-XXXXXX", base);
	if (!mkdtemp(fuzz__tmpdir)) {
		fprintf(stderr, "lkvm fuzz: mkdtemp %s: %s\n", fuzz__tmpdir, strerror(errno));
		abort();
	}
	atexit(fuzz__rm_tmpdir);
	return fuzz__tmpdir;
}

#endif /* LKVM_FUZZ_H */
