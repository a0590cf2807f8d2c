// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest RAM backing (lkvm/ram.h): anonymous memory for transparent huge
 * pages, or a file on a hugetlbfs mount.  Mappings are made, never
 * touched: nothing here grows with the size of guest RAM.
 *
 * Why huge pages at all: KVM maps guest RAM at stage 2 with a block (2 MiB
 * or 1 GiB) only where the host backs it with a page at least that large
 * and the host and guest addresses agree modulo the block (KVM api.rst
 * 4.35: "the lower 21 bits of guest_phys_addr and userspace_addr" should
 * be identical, so that large guest pages get large host pages).
 * Otherwise every 4 KiB page is a stage-2 fault of its own and a TLB
 * entry of its own; for a nested guest, also an entry in every shadow
 * stage-2 the host builds for its L2s.  hugetlbfs gives those pages for
 * sure and up front; THP only when the host has them free at fault time.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "lkvm/ram.h"

#define THP_ALIGN	(2 * SZ_MiB)
#define HUGEPAGES_SYSFS	"/sys/kernel/mm/hugepages"

/* "2 MiB", "1 GiB", "64 KiB": a page or RAM size for messages. */
static const char *size_str(u64 bytes, char *buf, size_t len)
{
	if (bytes && IS_ALIGNED(bytes, SZ_GiB))
		snprintf(buf, len, "%llu GiB", (unsigned long long)(bytes / SZ_GiB));
	else if (bytes && IS_ALIGNED(bytes, SZ_MiB))
		snprintf(buf, len, "%llu MiB", (unsigned long long)(bytes / SZ_MiB));
	else
		snprintf(buf, len, "%llu KiB", (unsigned long long)(bytes / SZ_KiB));
	return buf;
}

/* The kernel's spelling of a huge page size on its command line: 2M, 1G, 64K. */
static const char *cmdline_size(u64 bytes, char *buf, size_t len)
{
	if (IS_ALIGNED(bytes, SZ_GiB))
		snprintf(buf, len, "%lluG", (unsigned long long)(bytes / SZ_GiB));
	else if (IS_ALIGNED(bytes, SZ_MiB))
		snprintf(buf, len, "%lluM", (unsigned long long)(bytes / SZ_MiB));
	else
		snprintf(buf, len, "%lluK", (unsigned long long)(bytes / SZ_KiB));
	return buf;
}

static bool read_u64(const char *dir, const char *name, u64 *out)
{
	char path[256], buf[32], *end;
	unsigned long long v;
	FILE *f;
	bool ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return false;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok)
		return false;
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n'))
		return false;
	*out = v;
	return true;
}

int ram__hugetlbfs_probe(const char *path, struct ram_hugetlbfs *h, struct lkvm_err *err)
{
	struct statfs st;
	char dir[128];

	memset(h, 0, sizeof(*h));
	if (statfs(path, &st) < 0)
		return seterr(err, errno, "--hugetlbfs %s: %s", path, strerror(errno));
	/* f_type is a signed long that holds a 32-bit magic: compare the low 32 bits. */
	if ((u32)st.f_type != (u32)HUGETLBFS_MAGIC)
		return seterr(err, EINVAL, "--hugetlbfs %s: not a hugetlbfs mount (its filesystem "
			      "type is %#x); mount one there: mount -t hugetlbfs none %s", path,
			      (u32)st.f_type, path);
	if (st.f_bsize <= 0)
		return seterr(err, EINVAL, "--hugetlbfs %s: statfs reports no page size", path);
	h->page_size = (u64)st.f_bsize;
	/*
	 * hugetlbfs reports its size= limit as f_blocks, and 0 or -1 when the
	 * mount has none (fs/hugetlbfs/inode.c, hugetlbfs_statfs()).
	 */
	if (st.f_blocks == 0 || st.f_blocks == (fsblkcnt_t)-1)
		h->mount_free = UINT64_MAX;
	else
		h->mount_free = (u64)st.f_bfree;
	snprintf(dir, sizeof(dir), HUGEPAGES_SYSFS "/hugepages-%llukB",
		 (unsigned long long)(h->page_size / SZ_KiB));
	h->pool_known = read_u64(dir, "nr_hugepages", &h->pool_nr) &&
			read_u64(dir, "free_hugepages", &h->pool_free) &&
			read_u64(dir, "resv_hugepages", &h->pool_resv) &&
			read_u64(dir, "nr_overcommit_hugepages", &h->pool_overcommit) &&
			read_u64(dir, "surplus_hugepages", &h->pool_surplus);
	return 0;
}

u64 ram__hugetlbfs_pages(const u64 *sizes, unsigned int n, u64 page_size)
{
	u64 pages = 0;

	for (unsigned int i = 0; i < n; i++)
		pages += (sizes[i] + page_size - 1) / page_size;
	return pages;
}

int ram__hugetlbfs_check(const char *path, const struct ram_hugetlbfs *h, const u64 *sizes,
			 unsigned int n, struct lkvm_err *err)
{
	char pg[24], ram[24], kcmd[24];
	u64 total = 0, need, avail;

	if (!h->page_size)
		return seterr(err, EINVAL, "--hugetlbfs %s: no huge page size", path);
	for (unsigned int i = 0; i < n; i++) {
		if (!IS_ALIGNED(sizes[i], h->page_size))
			return seterr(err, EINVAL, "--hugetlbfs %s: RAM bank %u (%s) is not a "
				      "multiple of the mount's %s pages; give -m in multiples of %s, "
				      "or use a mount of smaller pages (mount -t hugetlbfs -o "
				      "pagesize=2M none DIR)", path, i,
				      size_str(sizes[i], ram, sizeof(ram)),
				      size_str(h->page_size, pg, sizeof(pg)), pg);
		total += sizes[i];
	}
	need = ram__hugetlbfs_pages(sizes, n, h->page_size);
	size_str(h->page_size, pg, sizeof(pg));
	size_str(total, ram, sizeof(ram));
	if (need > h->mount_free)
		return seterr(err, ENOMEM, "--hugetlbfs %s: the guest's %s of RAM needs %llu pages "
			      "of %s and the mount's size= limit leaves %llu; raise the limit by "
			      "at least %llu MiB (mount -o remount,size=NEW %s)", path, ram,
			      (unsigned long long)need, pg, (unsigned long long)h->mount_free,
			      (unsigned long long)((need - h->mount_free) * h->page_size / SZ_MiB),
			      path);
	if (!h->pool_known)
		return 0;	/* the mmap's reservation still fails cleanly if they're short */
	avail = h->pool_free > h->pool_resv ? h->pool_free - h->pool_resv : 0;
	if (h->pool_overcommit > h->pool_surplus)
		avail += h->pool_overcommit - h->pool_surplus;
	if (need > avail) {
		u64 want = h->pool_nr + (need - avail);

		/* hugepagesz= too: a bare hugepages= means the default size, which varies. */
		return seterr(err, ENOMEM, "--hugetlbfs %s: the guest's %s of RAM needs %llu free "
			      "huge pages of %s and the host has %llu; reserve more: echo %llu > "
			      HUGEPAGES_SYSFS "/hugepages-%llukB/nr_hugepages (or boot the host with "
			      "hugepagesz=%s hugepages=%llu)", path, ram, (unsigned long long)need,
			      pg, (unsigned long long)avail, (unsigned long long)want,
			      (unsigned long long)(h->page_size / SZ_KiB),
			      cmdline_size(h->page_size, kcmd, sizeof(kcmd)), (unsigned long long)want);
	}
	return 0;
}

void *ram__map_anon(u64 size)
{
	u8 *raw, *host;

	/*
	 * Over-allocate by the alignment and unmap the slack: the kernel
	 * gives page alignment only.  MAP_NORESERVE: guest RAM the guest
	 * never touches costs nothing and must not count against overcommit.
	 */
	raw = mmap(NULL, size + THP_ALIGN, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (raw == MAP_FAILED)
		return MAP_FAILED;
	host = (u8 *)ALIGN_UP((uintptr_t)raw, THP_ALIGN);
	if (host > raw)
		munmap(raw, (size_t)(host - raw));
	if (raw + THP_ALIGN > host)
		munmap(host + size, (size_t)(raw + THP_ALIGN - host));
	/*
	 * Ask for THP even where the host's policy is "madvise" (enabled=
	 * madvise is common).  Measured in the emulated host (issue 10): with
	 * THP off, a 256 MiB quiet guest takes 22k stage-2 faults instead of
	 * 44 huge-page faults and needs 2-3x as long to reach init; with it,
	 * no fault fell back or stalled in compaction.
	 */
	madvise(host, size, MADV_HUGEPAGE);
	return host;
}

void *ram__map_file(int fd, u64 offset, u64 size)
{
	/* The aligned reservation, then the file over it. */
	u8 *host = ram__map_anon(size);
	void *file;

	if (host == MAP_FAILED)
		return MAP_FAILED;
	file = mmap(host, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd,
		    (off_t)offset);
	if (file == MAP_FAILED) {
		int e = errno;

		munmap(host, size);
		errno = e;
		return MAP_FAILED;
	}
	return file;	/* MAP_FIXED: host itself */
}

int ram__map_hugetlbfs(const char *path, u64 size, u64 page_size, void **host,
		       struct lkvm_err *err)
{
	char name[PATH_MAX], pg[24], ram[24];
	void *m;
	int fd, n, e;

	*host = MAP_FAILED;
	n = snprintf(name, sizeof(name), "%s/lkvm-ram-XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(name))
		return seterr(err, ENAMETOOLONG, "--hugetlbfs %s: path too long", path);
	fd = mkostemp(name, O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		return seterr(err, e, "--hugetlbfs %s: cannot create a file there: %s", path,
			      strerror(e));
	}
	/* Nobody else should ever open it; it goes when the mapping does. */
	unlink(name);
	if (ftruncate(fd, (off_t)size) < 0) {
		e = errno;
		close(fd);
		return seterr(err, e, "--hugetlbfs %s: cannot size a file there to %s: %s", path,
			      size_str(size, ram, sizeof(ram)), strerror(e));
	}
	/*
	 * Shared, and not MAP_NORESERVE: hugetlbfs reserves every page now,
	 * so a short pool is this error rather than a SIGBUS when the guest
	 * first touches the page that isn't there.
	 */
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	e = errno;
	close(fd);
	if (m == MAP_FAILED) {
		if (e == ENOMEM)
			return seterr(err, e, "--hugetlbfs %s: cannot reserve %llu huge pages of %s "
				      "for %s of guest RAM: the host's pool has too few free; raise "
				      HUGEPAGES_SYSFS "/hugepages-%llukB/nr_hugepages", path,
				      (unsigned long long)(size / page_size),
				      size_str(page_size, pg, sizeof(pg)),
				      size_str(size, ram, sizeof(ram)),
				      (unsigned long long)(page_size / SZ_KiB));
		return seterr(err, e, "--hugetlbfs %s: mmap of %s: %s", path,
			      size_str(size, ram, sizeof(ram)), strerror(e));
	}
	*host = m;
	return 0;
}

void ram__unmap(void *host, u64 size)
{
	munmap(host, (size_t)size);
}
