// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest RAM backing (ram.c) and its option: --hugetlbfs parsing (an empty
 * DIR is a command-line error), the hugetlbfs page arithmetic and the
 * free-page check with the fix each refusal names (the nr_hugepages to
 * set, the boot parameter, a bigger size=), a directory that is not on
 * hugetlbfs, and the anonymous mapping: 2 MiB aligned, and nothing in it
 * faulted in, whatever its size.  A real hugetlbfs mapping is tried only
 * where this host has one with free pages.
 */
#include <sys/statfs.h>

#include <linux/magic.h>

#include "lkvm/config.h"
#include "lkvm/ram.h"
#include "test.h"

static int parse(struct lkvm_config *cfg, struct lkvm_err *err, const char *a1, const char *a2)
{
	static char s0[] = "run", s1[64], s2[64];
	char *argv[4] = { s0, s1, s2, NULL };

	snprintf(s1, sizeof(s1), "%s", a1);
	snprintf(s2, sizeof(s2), "%s", a2 ? a2 : "");
	config__defaults(cfg, 1);
	memset(err, 0, sizeof(*err));
	return config__parse_run(cfg, a2 ? 3 : 2, argv, err);
}

static void test_option(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(parse(&cfg, &err, "--hugetlbfs", "/dev/hugepages"), 0);
	TEST_ASSERT_STR_EQ(cfg.hugetlbfs, "/dev/hugepages");
	TEST_ASSERT_EQ(parse(&cfg, &err, "--hugetlbfs=/mnt/huge", NULL), 0);
	TEST_ASSERT_STR_EQ(cfg.hugetlbfs, "/mnt/huge");
	/* Not given: anonymous memory. */
	TEST_ASSERT_EQ(parse(&cfg, &err, "-m", "512"), 0);
	TEST_ASSERT(cfg.hugetlbfs == NULL, "no --hugetlbfs, yet %s", cfg.hugetlbfs);
}

/* An empty DIR is the command line's mistake (lkvm run exits 2 for a parse error). */
static void test_option_empty(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(parse(&cfg, &err, "--hugetlbfs", ""), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "--hugetlbfs needs a directory");
	TEST_ASSERT_EQ(parse(&cfg, &err, "--hugetlbfs=", NULL), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "--hugetlbfs");
	TEST_ASSERT_EQ(parse(&cfg, &err, "--hugetlbfs", NULL), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "needs a value");
}

static void test_pages(void)
{
	const u64 two[] = { 256 * SZ_MiB, 64 * SZ_MiB };
	const u64 gib[] = { SZ_GiB, 3 * SZ_GiB };

	TEST_ASSERT_EQ(ram__hugetlbfs_pages(two, 2, 2 * SZ_MiB), 160ULL);
	TEST_ASSERT_EQ(ram__hugetlbfs_pages(gib, 2, SZ_GiB), 4ULL);
	TEST_ASSERT_EQ(ram__hugetlbfs_pages(two, 1, SZ_GiB), 1ULL);	/* rounded up */
	TEST_ASSERT_EQ(ram__hugetlbfs_pages(two, 0, 2 * SZ_MiB), 0ULL);
}

/* A pool of 2 MiB pages with @free free (none reserved), no mount limit. */
static struct ram_hugetlbfs pool(u64 nr, u64 free)
{
	return (struct ram_hugetlbfs){
		.page_size = 2 * SZ_MiB, .mount_free = UINT64_MAX, .pool_known = true,
		.pool_nr = nr, .pool_free = free,
	};
}

static void test_check_enough(void)
{
	const u64 ram[] = { 256 * SZ_MiB };
	struct ram_hugetlbfs h = pool(300, 128);
	struct lkvm_err err = { "" };

	TEST_ASSERT_EQ(ram__hugetlbfs_check("/dev/hugepages", &h, ram, 1, &err), 0);
	/* Surplus pages the host may still make count too. */
	h = pool(0, 0);
	h.pool_overcommit = 200;
	h.pool_surplus = 50;
	TEST_ASSERT_EQ(ram__hugetlbfs_check("/dev/hugepages", &h, ram, 1, &err), 0);
	/* No sysfs counters: the mmap's reservation is the check. */
	h = pool(0, 0);
	h.pool_known = false;
	TEST_ASSERT_EQ(ram__hugetlbfs_check("/dev/hugepages", &h, ram, 1, &err), 0);
}

/* Too few: the message names the path, the need, what there is, and both fixes. */
static void test_check_too_few(void)
{
	const u64 ram[] = { 256 * SZ_MiB, 64 * SZ_MiB };
	struct ram_hugetlbfs h = pool(100, 100);
	struct lkvm_err err = { "" };

	h.pool_resv = 10;	/* promised to another mapping: not ours */
	TEST_ASSERT_EQ(ram__hugetlbfs_check("/mnt/huge", &h, ram, 2, &err), -ENOMEM);
	TEST_ASSERT_STR_CONTAINS(err.msg, "--hugetlbfs /mnt/huge:");
	TEST_ASSERT_STR_CONTAINS(err.msg, "320 MiB of RAM needs 160 free huge pages of 2 MiB");
	TEST_ASSERT_STR_CONTAINS(err.msg, "the host has 90");
	TEST_ASSERT_STR_CONTAINS(err.msg,
		"echo 170 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages");
	TEST_ASSERT_STR_CONTAINS(err.msg, "hugepagesz=2M hugepages=170");
	/* One page short is short. */
	h = pool(159, 159);
	TEST_ASSERT_EQ(ram__hugetlbfs_check("/mnt/huge", &h, ram, 2, &err), -ENOMEM);
	TEST_ASSERT_STR_CONTAINS(err.msg, "echo 160 >");
	h = pool(160, 160);
	TEST_ASSERT_EQ(ram__hugetlbfs_check("/mnt/huge", &h, ram, 2, &err), 0);
}

static void test_check_gigantic(void)
{
	const u64 ram[] = { 2 * SZ_GiB };
	const u64 odd[] = { SZ_GiB, 256 * SZ_MiB };
	struct ram_hugetlbfs h = pool(1, 1);
	struct lkvm_err err = { "" };

	h.page_size = SZ_GiB;
	TEST_ASSERT_EQ(ram__hugetlbfs_check("/mnt/1g", &h, ram, 1, &err), -ENOMEM);
	TEST_ASSERT_STR_CONTAINS(err.msg, "needs 2 free huge pages of 1 GiB");
	TEST_ASSERT_STR_CONTAINS(err.msg, "hugepages-1048576kB/nr_hugepages");
	TEST_ASSERT_STR_CONTAINS(err.msg, "hugepagesz=1G hugepages=2");
	/* A bank that is not a whole number of pages: refused, with the bank named. */
	h.pool_free = h.pool_nr = 8;
	TEST_ASSERT_EQ(ram__hugetlbfs_check("/mnt/1g", &h, odd, 2, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "RAM bank 1 (256 MiB) is not a multiple of the mount's "
				 "1 GiB pages");
}

static void test_check_mount_limit(void)
{
	const u64 ram[] = { 256 * SZ_MiB };
	struct ram_hugetlbfs h = pool(1000, 1000);
	struct lkvm_err err = { "" };

	h.mount_free = 100;
	TEST_ASSERT_EQ(ram__hugetlbfs_check("/mnt/small", &h, ram, 1, &err), -ENOMEM);
	TEST_ASSERT_STR_CONTAINS(err.msg, "size= limit leaves 100");
	TEST_ASSERT_STR_CONTAINS(err.msg, "by at least 56 MiB");
	TEST_ASSERT_STR_CONTAINS(err.msg, "mount -o remount,size=NEW /mnt/small");
}

static void test_probe_not_hugetlbfs(void)
{
	struct ram_hugetlbfs h;
	struct lkvm_err err = { "" };
	struct statfs st;

	TEST_ASSERT_EQ(statfs(TEST_TMPDIR, &st), 0);
	if ((u32)st.f_type == (u32)HUGETLBFS_MAGIC)
		TEST_SKIP("the test directory is on hugetlbfs");
	TEST_ASSERT_EQ(ram__hugetlbfs_probe(TEST_TMPDIR, &h, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, TEST_TMPDIR);
	TEST_ASSERT_STR_CONTAINS(err.msg, "not a hugetlbfs mount");
	TEST_ASSERT_STR_CONTAINS(err.msg, "mount -t hugetlbfs none");
}

static void test_probe_missing(void)
{
	struct ram_hugetlbfs h;
	struct lkvm_err err = { "" };
	char path[300];

	snprintf(path, sizeof(path), "%s/no-such-dir", TEST_TMPDIR);
	TEST_ASSERT_EQ(ram__hugetlbfs_probe(path, &h, &err), -ENOENT);
	TEST_ASSERT_STR_CONTAINS(err.msg, path);
}

/* Resident pages of [p, p + len), by mincore(2). */
static u64 resident(void *p, u64 len)
{
	long pg = sysconf(_SC_PAGESIZE);
	u64 n = len / (u64)pg, in = 0;
	unsigned char *vec = malloc(n);

	TEST_ASSERT(vec, "malloc");
	TEST_ASSERT_EQ(mincore(p, len, vec), 0);
	for (u64 i = 0; i < n; i++)
		in += vec[i] & 1;
	free(vec);
	return in;
}

/*
 * The anonymous mapping is 2 MiB aligned (stage-2 blocks need host and
 * guest addresses congruent modulo 2 MiB) and costs nothing up front:
 * no page of it is resident until touched, at 64 MiB as at 16 GiB.
 */
static void test_map_anon(void)
{
	const u64 sizes[] = { 64 * SZ_MiB, 16 * SZ_GiB };

	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
		u8 *p = ram__map_anon(sizes[i]);

		TEST_ASSERT(p != MAP_FAILED, "ram__map_anon(%llu MiB): %s",
			    (unsigned long long)(sizes[i] / SZ_MiB), strerror(errno));
		TEST_ASSERT_EQ((uintptr_t)p % (2 * SZ_MiB), 0ULL);
		TEST_ASSERT_EQ(resident(p, sizes[i]), 0ULL);
		p[0] = 1;
		p[sizes[i] - 1] = 2;
		TEST_ASSERT_EQ(p[0] + p[sizes[i] - 1], 3);
		TEST_ASSERT(resident(p, sizes[i]) <= 2 * 512, "two touches faulted in %llu pages",
			    (unsigned long long)resident(p, sizes[i]));
		ram__unmap(p, sizes[i]);
	}
}

/* On a host with a hugetlbfs mount and free pages: a real mapping, reserved, not faulted. */
static void test_map_hugetlbfs(void)
{
	const char *path = "/dev/hugepages";
	struct ram_hugetlbfs h, after;
	struct lkvm_err err = { "" };
	u64 size;
	void *p;

	if (ram__hugetlbfs_probe(path, &h, &err))
		TEST_SKIP("no hugetlbfs mounted at /dev/hugepages");
	if (!h.pool_known || h.pool_free <= h.pool_resv)
		TEST_SKIP("no free huge pages on this host");
	size = h.page_size;
	TEST_ASSERT_EQ(ram__hugetlbfs_check(path, &h, &size, 1, &err), 0);
	TEST_ASSERT_EQ(ram__map_hugetlbfs(path, size, h.page_size, &p, &err), 0);
	TEST_ASSERT_EQ((uintptr_t)p % h.page_size, 0ULL);
	TEST_ASSERT_EQ(ram__hugetlbfs_probe(path, &after, &err), 0);
	TEST_ASSERT_EQ(after.pool_resv, h.pool_resv + 1);	/* reserved, not yet faulted */
	((volatile u8 *)p)[0] = 1;
	ram__unmap(p, size);
}

static const struct test_case tests[] = {
	TEST_CASE(test_option),
	TEST_CASE(test_option_empty),
	TEST_CASE(test_pages),
	TEST_CASE(test_check_enough),
	TEST_CASE(test_check_too_few),
	TEST_CASE(test_check_gigantic),
	TEST_CASE(test_check_mount_limit),
	TEST_CASE(test_probe_not_hugetlbfs),
	TEST_CASE(test_probe_missing),
	TEST_CASE(test_map_anon),
	TEST_CASE(test_map_hugetlbfs),
};

TEST_MAIN(tests)
