/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where guest RAM comes from: anonymous memory that the host may back
 * with transparent huge pages, or, with --hugetlbfs PATH, a file on a
 * hugetlbfs mount.  Either way the mapping is made and nothing in it is
 * touched: the host faults pages in as the boot files and the guest need
 * them, so creating a VM costs the same for 64 MiB as for 64 GiB.  No
 * KVM access (kvm.c registers the mappings as memory slots), so all of
 * it runs in the unit tests.
 */
#ifndef LKVM_RAM_H
#define LKVM_RAM_H

#include "lkvm/util.h"

/* What a hugetlbfs mount offers (ram__hugetlbfs_probe()). */
struct ram_hugetlbfs {
	u64 page_size;		/* the mount's huge page size: statfs f_bsize */
	u64 mount_free;		/* pages its size= limit still allows; UINT64_MAX: no limit */
	bool pool_known;	/* the pool's sysfs counters below were read */
	u64 pool_nr;		/* nr_hugepages: the pool of this page size */
	u64 pool_free;		/* free_hugepages, reserved ones included */
	u64 pool_resv;		/* resv_hugepages: promised to mappings, not yet faulted */
	u64 pool_overcommit;	/* nr_overcommit_hugepages: surplus pages allowed */
	u64 pool_surplus;	/* surplus_hugepages: surplus pages in use */
};

/*
 * Learns what the hugetlbfs mount at @path offers: statfs(2) for the
 * filesystem type, page size and size= limit, and the page size's pool in
 * /sys/kernel/mm/hugepages/ (pool_known false if that can't be read).
 * Returns 0, or -errno with @err naming @path: it does not exist, or it is
 * not on hugetlbfs (with how to mount one).
 */
int ram__hugetlbfs_probe(const char *path, struct ram_hugetlbfs *h, struct lkvm_err *err);

/* Huge pages of @page_size that guest RAM banks of @sizes (n of them) take. */
u64 ram__hugetlbfs_pages(const u64 *sizes, unsigned int n, u64 page_size);

/*
 * Whether @h can back RAM banks of @sizes (n of them): each bank a
 * multiple of the page size, and enough pages free under the mount's
 * size= limit and in the pool (free minus reserved, plus the overcommit
 * headroom).  Pure.  Returns 0, or -EINVAL / -ENOMEM with @err naming
 * @path, what the guest needs, what there is, and the fix (the
 * nr_hugepages to set, the hugepages= boot parameter, or a bigger size=).
 */
int ram__hugetlbfs_check(const char *path, const struct ram_hugetlbfs *h, const u64 *sizes,
			 unsigned int n, struct lkvm_err *err);

/*
 * @size bytes (a multiple of 2 MiB) of private anonymous memory at a
 * 2 MiB-aligned address, advised MADV_HUGEPAGE, nothing faulted in.
 * Returns the address or MAP_FAILED (errno set).  Undo: ram__unmap().
 */
void *ram__map_anon(u64 size);

/*
 * Sets *@host to @size bytes (a multiple of @page_size) backed by a new
 * file on the hugetlbfs mount at @path, unlinked at once so that it goes
 * away with the mapping: a shared mapping, so no copy-on-write can ever
 * need a second page (lkvm forks for a tap's script=).  The kernel
 * reserves the pages now and faults none in.  Returns 0, or -errno with
 * *@host MAP_FAILED and @err naming @path and the fix (-ENOMEM: the pool
 * is short).  Undo: ram__unmap().
 */
int ram__map_hugetlbfs(const char *path, u64 size, u64 page_size, void **host,
		       struct lkvm_err *err);

/*
 * @size bytes (a multiple of 2 MiB) of the file @fd from @offset (page
 * aligned), mapped MAP_PRIVATE at a 2 MiB-aligned address: the guest's
 * writes are copy-on-write and never reach the file, and nothing is read
 * until touched, so the cost does not grow with @size (a snapshot's
 * memory file on restore).  Returns the address or MAP_FAILED (errno
 * set).  Undo: ram__unmap().
 */
void *ram__map_file(int fd, u64 offset, u64 size);

/* Releases a mapping made by ram__map_anon(), ram__map_file() or ram__map_hugetlbfs(). */
void ram__unmap(void *host, u64 size);

#endif /* LKVM_RAM_H */
