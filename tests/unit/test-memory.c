// SPDX-License-Identifier: GPL-2.0-only
/*
 * The memory plan (arm/memory.c): where RAM banks land in the map of
 * arm/include/arm/layout.h and the IPA size that covers it, against the
 * host's limit; and the arithmetic helpers underneath (util.h:
 * addr_bits, parse_size, parse_uint).
 */
#include "arm/layout.h"
#include "lkvm/arch.h"
#include "test.h"

static void cfg_init(struct lkvm_config *cfg)
{
	config__defaults(cfg, 1);
	cfg->kernel = "Image";
}

static void add_bank(struct lkvm_config *cfg, u64 size, u64 addr, bool has_addr)
{
	TEST_ASSERT(cfg->nr_mem < LKVM_MAX_MEM_BANKS, "too many banks");
	cfg->mem[cfg->nr_mem++] = (struct mem_bank){ size, addr, has_addr };
}

static int plan(const struct lkvm_config *cfg, unsigned int host_max, struct mem_plan *p,
		struct lkvm_err *err)
{
	memset(err, 0, sizeof(*err));
	return arch__plan_memory(cfg, host_max, p, err);
}

static void test_default(void)
{
	struct lkvm_config cfg;
	struct mem_plan p;
	struct lkvm_err err;

	cfg_init(&cfg);
	TEST_ASSERT_EQ(plan(&cfg, 40, &p, &err), 0);
	TEST_ASSERT_EQ(p.nr_bank, 1);
	TEST_ASSERT_EQ(p.bank[0].addr, 0x80000000ULL);
	TEST_ASSERT_EQ(p.bank[0].size, 256 * SZ_MiB);
	TEST_ASSERT(p.bank[0].has_addr, "placed");
	TEST_ASSERT_EQ(p.map_bits, 32);
	TEST_ASSERT_EQ(p.ipa_bits, 32);
	TEST_ASSERT_EQ(arch__vm_type(p.ipa_bits), 32);
}

static void test_sizes_at_default_base(void)
{
	static const struct {
		u64 size;
		unsigned int bits;
	} cases[] = {
		{ 2 * SZ_MiB, 32 },
		{ 2 * SZ_GiB, 32 },		/* ends exactly at 4 GiB */
		{ 2 * SZ_GiB + 2 * SZ_MiB, 33 },
		{ 3 * SZ_GiB, 33 },
		{ 6 * SZ_GiB, 33 },		/* ends at 8 GiB */
		{ 62 * SZ_GiB, 36 },
	};
	/* The VM's IPA is the map's size rounded up to what PARange can express. */
	static const unsigned int parange_step[] = { 32, 36, 40, 42, 44, 48, 52 };

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lkvm_config cfg;
		struct mem_plan p;
		struct lkvm_err err;
		int r;

		cfg_init(&cfg);
		add_bank(&cfg, cases[i].size, 0, false);
		r = plan(&cfg, 48, &p, &err);
		TEST_ASSERT(r == 0, "-m %llu MiB: %s", (unsigned long long)(cases[i].size / SZ_MiB),
			    err.msg);
		TEST_ASSERT_EQ(p.bank[0].addr, ARM_RAM_BASE);
		unsigned int want_ipa = 0;

		for (unsigned int j = 0; j < ARRAY_SIZE(parange_step) && !want_ipa; j++)
			if (parange_step[j] >= cases[i].bits)
				want_ipa = parange_step[j];
		TEST_ASSERT(p.map_bits == cases[i].bits && p.ipa_bits == want_ipa,
			    "-m %llu MiB: map %u ipa %u bits, expected %u and %u",
			    (unsigned long long)(cases[i].size / SZ_MiB), p.map_bits, p.ipa_bits,
			    cases[i].bits, want_ipa);
	}
}

static void test_high_bank(void)
{
	struct lkvm_config cfg;
	struct mem_plan p;
	struct lkvm_err err;

	cfg_init(&cfg);
	add_bank(&cfg, SZ_GiB, 1ULL << 40, true);
	TEST_ASSERT_EQ(plan(&cfg, 48, &p, &err), 0);
	TEST_ASSERT_EQ(p.nr_bank, 1);
	TEST_ASSERT_EQ(p.bank[0].addr, 1ULL << 40);
	TEST_ASSERT_EQ(p.map_bits, 41);
	TEST_ASSERT_EQ(p.ipa_bits, 42);	/* rounded up to a PARange size */
}

static void test_bank_at_2_48(void)
{
	struct lkvm_config cfg;
	struct mem_plan p;
	struct lkvm_err err;

	cfg_init(&cfg);
	add_bank(&cfg, SZ_GiB, 1ULL << 48, true);

	/* Asked for 52 bits and the host has them. */
	cfg.ipa_bits = 52;
	TEST_ASSERT_EQ(plan(&cfg, 52, &p, &err), 0);
	TEST_ASSERT_EQ(p.map_bits, 49);
	TEST_ASSERT_EQ(p.ipa_bits, 52);
	/* No host limit given: not checked here. */
	TEST_ASSERT_EQ(plan(&cfg, 0, &p, &err), 0);

	/* The host tops out at 48: refused, naming the capability. */
	TEST_ASSERT_EQ(plan(&cfg, 48, &p, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "KVM_CAP_ARM_VM_IPA_SIZE");
	TEST_ASSERT_STR_CONTAINS(err.msg, "--ipa-bits");
	TEST_ASSERT_STR_CONTAINS(err.msg, "at most 48");

	/* Without --ipa-bits: the map needs 49. */
	cfg.ipa_bits = 0;
	TEST_ASSERT_EQ(plan(&cfg, 48, &p, &err), -EINVAL);
	TEST_ASSERT_EQ(p.map_bits, 49);
	TEST_ASSERT_STR_CONTAINS(err.msg, "KVM_CAP_ARM_VM_IPA_SIZE");
	TEST_ASSERT_STR_CONTAINS(err.msg, "52-bit");	/* 49 rounded up to PARange */
	TEST_ASSERT_STR_CONTAINS(err.msg, "move RAM lower");
	TEST_ASSERT_EQ(plan(&cfg, 49, &p, &err), -EINVAL);
	TEST_ASSERT_EQ(plan(&cfg, 52, &p, &err), 0);
	TEST_ASSERT_EQ(p.ipa_bits, 52);
}

static void test_ipa_bits_too_small(void)
{
	struct lkvm_config cfg;
	struct mem_plan p;
	struct lkvm_err err;

	cfg_init(&cfg);
	add_bank(&cfg, 3 * SZ_GiB, 0, false);
	cfg.ipa_bits = 32;
	TEST_ASSERT_EQ(plan(&cfg, 48, &p, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "--ipa-bits 32");
	TEST_ASSERT_STR_CONTAINS(err.msg, "needs 33 bits");
	TEST_ASSERT_STR_CONTAINS(err.msg, "--ipa-bits 36 or more");

	/* Only sizes PARange can express. */
	cfg.ipa_bits = 33;
	TEST_ASSERT_EQ(plan(&cfg, 48, &p, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "32, 36, 40, 42, 44, 48 or 52");
	cfg.ipa_bits = 36;
	TEST_ASSERT_EQ(plan(&cfg, 48, &p, &err), 0);
	cfg.ipa_bits = 40;
	TEST_ASSERT_EQ(plan(&cfg, 48, &p, &err), 0);
	TEST_ASSERT_EQ(p.ipa_bits, 40);
	TEST_ASSERT_EQ(p.map_bits, 33);
}

static void test_device_region_overlap(void)
{
	static const struct {
		u64 size, addr;
		int expect;
	} cases[] = {
		{ 64 * SZ_MiB, 0x1000000, -EINVAL },	/* on the UART */
		{ 2 * SZ_MiB, 0x08000000, -EINVAL },	/* on the GIC */
		{ 256 * SZ_MiB, 0x70000000, -EINVAL },	/* PCI window up to RAM */
		{ 4 * SZ_MiB, 0x7fe00000, -EINVAL },	/* straddles RAM base */
		{ 16 * SZ_MiB, 0, 0 },			/* below the devices: allowed */
		{ 14 * SZ_MiB, 0x200000, 0 },		/* ends at ARM_PLAT_BASE */
		{ 18 * SZ_MiB, 0, -EINVAL },		/* one 2 MiB step into them */
		{ 2 * SZ_MiB, ARM_RAM_BASE, 0 },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lkvm_config cfg;
		struct mem_plan p;
		struct lkvm_err err;
		int r;

		cfg_init(&cfg);
		add_bank(&cfg, cases[i].size, cases[i].addr, true);
		r = plan(&cfg, 48, &p, &err);
		TEST_ASSERT(r == cases[i].expect, "%#llx@%#llx: %d, expected %d (%s)",
			    (unsigned long long)cases[i].size, (unsigned long long)cases[i].addr, r,
			    cases[i].expect, err.msg);
		if (r)
			TEST_ASSERT_STR_CONTAINS(err.msg, "overlaps the device region");
		else
			TEST_ASSERT_EQ(p.ipa_bits, 32);
	}
}

static void test_bank_overlap(void)
{
	struct lkvm_config cfg;
	struct mem_plan p;
	struct lkvm_err err;

	cfg_init(&cfg);
	add_bank(&cfg, SZ_GiB, 0x100000000ULL, true);
	add_bank(&cfg, SZ_GiB, 0x120000000ULL, true);
	TEST_ASSERT_EQ(plan(&cfg, 48, &p, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "overlap");
	TEST_ASSERT_STR_CONTAINS(err.msg, "0x100000000");
	TEST_ASSERT_STR_CONTAINS(err.msg, "0x120000000");

	/* Given in the other order: same answer. */
	cfg_init(&cfg);
	add_bank(&cfg, SZ_GiB, 0x120000000ULL, true);
	add_bank(&cfg, SZ_GiB, 0x100000000ULL, true);
	TEST_ASSERT_EQ(plan(&cfg, 48, &p, &err), -EINVAL);

	/* A bank without @addr that runs into a later explicit one. */
	cfg_init(&cfg);
	add_bank(&cfg, 3 * SZ_GiB, 0, false);
	add_bank(&cfg, SZ_GiB, 0x100000000ULL, true);
	TEST_ASSERT_EQ(plan(&cfg, 48, &p, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "overlap");

	/* Identical banks. */
	cfg_init(&cfg);
	add_bank(&cfg, SZ_GiB, 0x100000000ULL, true);
	add_bank(&cfg, SZ_GiB, 0x100000000ULL, true);
	TEST_ASSERT_EQ(plan(&cfg, 48, &p, &err), -EINVAL);

	/* Adjacent banks are fine. */
	cfg_init(&cfg);
	add_bank(&cfg, SZ_GiB, 0x100000000ULL, true);
	add_bank(&cfg, SZ_GiB, 0x140000000ULL, true);
	TEST_ASSERT_EQ(plan(&cfg, 48, &p, &err), 0);
	TEST_ASSERT_EQ(p.nr_bank, 2);
}

static void test_banks_follow_previous(void)
{
	struct lkvm_config cfg;
	struct mem_plan p;
	struct lkvm_err err;

	cfg_init(&cfg);
	add_bank(&cfg, 512 * SZ_MiB, 0, false);
	add_bank(&cfg, 512 * SZ_MiB, 0, false);
	TEST_ASSERT_EQ(plan(&cfg, 48, &p, &err), 0);
	TEST_ASSERT_EQ(p.nr_bank, 2);
	TEST_ASSERT_EQ(p.bank[0].addr, 0x80000000ULL);
	TEST_ASSERT_EQ(p.bank[1].addr, 0xa0000000ULL);
	TEST_ASSERT(p.bank[0].has_addr && p.bank[1].has_addr, "all placed");

	/* After an explicit bank, the next follows it; the plan comes out sorted. */
	cfg_init(&cfg);
	add_bank(&cfg, SZ_GiB, 0x100000000ULL, true);
	add_bank(&cfg, 512 * SZ_MiB, 0, false);
	add_bank(&cfg, 256 * SZ_MiB, 0x80000000ULL, true);
	TEST_ASSERT_EQ(plan(&cfg, 48, &p, &err), 0);
	TEST_ASSERT_EQ(p.nr_bank, 3);
	TEST_ASSERT_EQ(p.bank[0].addr, 0x80000000ULL);
	TEST_ASSERT_EQ(p.bank[0].size, 256 * SZ_MiB);
	TEST_ASSERT_EQ(p.bank[1].addr, 0x100000000ULL);
	TEST_ASSERT_EQ(p.bank[2].addr, 0x140000000ULL);
	TEST_ASSERT_EQ(p.bank[2].size, 512 * SZ_MiB);
	TEST_ASSERT_EQ(p.map_bits, 33);

	/* A bank below the devices, then one that follows it into them. */
	cfg_init(&cfg);
	add_bank(&cfg, 16 * SZ_MiB, 0, true);
	add_bank(&cfg, 64 * SZ_MiB, 0, false);
	TEST_ASSERT_EQ(plan(&cfg, 48, &p, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "device region");
}

static void test_beyond_max_ipa(void)
{
	struct lkvm_config cfg;
	struct mem_plan p;
	struct lkvm_err err;

	/* Ending exactly at 2^52 is the largest map there is. */
	cfg_init(&cfg);
	add_bank(&cfg, SZ_GiB, (1ULL << 52) - SZ_GiB, true);
	TEST_ASSERT_EQ(plan(&cfg, 52, &p, &err), 0);
	TEST_ASSERT_EQ(p.map_bits, 52);

	cfg_init(&cfg);
	add_bank(&cfg, SZ_GiB, 1ULL << 52, true);
	TEST_ASSERT_EQ(plan(&cfg, 0, &p, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "2^52");

	/* Size plus address wrapping past 2^64. */
	cfg_init(&cfg);
	add_bank(&cfg, 0x8000000000000000ULL, 0x8000000000000000ULL, true);
	TEST_ASSERT_EQ(plan(&cfg, 0, &p, &err), -EINVAL);
	cfg_init(&cfg);
	add_bank(&cfg, 2 * SZ_MiB, 0ULL - 2 * SZ_MiB, true);
	TEST_ASSERT_EQ(plan(&cfg, 0, &p, &err), -EINVAL);
}

/* Through the real command line: what lkvm run -m ... gets. */
static void test_from_command_line(void)
{
	char a0[] = "run", a1[] = "-m", a2[] = "1G@0x100000000", a3[] = "-m", a4[] = "512",
	     a5[] = "Image";
	char *argv[] = { a0, a1, a2, a3, a4, a5, NULL };
	struct lkvm_config cfg;
	struct mem_plan p;
	struct lkvm_err err = { "" };

	config__defaults(&cfg, 1);
	TEST_ASSERT(config__parse_run(&cfg, 6, argv, &err) == 0, "%s", err.msg);
	TEST_ASSERT(config__validate(&cfg, &err) == 0, "%s", err.msg);
	TEST_ASSERT_EQ(plan(&cfg, 40, &p, &err), 0);
	TEST_ASSERT_EQ(p.nr_bank, 2);
	TEST_ASSERT_EQ(p.bank[0].addr, 0x100000000ULL);
	TEST_ASSERT_EQ(p.bank[1].addr, 0x140000000ULL);
	TEST_ASSERT_EQ(p.bank[1].size, 512 * SZ_MiB);
	TEST_ASSERT_EQ(p.map_bits, 33);
}

/* util.h */

static void test_addr_bits(void)
{
	static const struct {
		u64 end;
		unsigned int bits;
	} cases[] = {
		{ 0, 1 }, { 1, 1 }, { 2, 1 }, { 3, 2 }, { 4, 2 }, { 5, 3 },
		{ 0x80000000ULL, 31 }, { 0x80000001ULL, 32 },
		{ 1ULL << 32, 32 }, { (1ULL << 32) + 1, 33 },
		{ 1ULL << 48, 48 }, { (1ULL << 48) + 1, 49 },
		{ 1ULL << 63, 63 }, { (1ULL << 63) + 1, 64 }, { UINT64_MAX, 64 },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++)
		TEST_ASSERT(addr_bits(cases[i].end) == cases[i].bits,
			    "addr_bits(%#llx) = %u, expected %u", (unsigned long long)cases[i].end,
			    addr_bits(cases[i].end), cases[i].bits);
}

static void test_parse_size(void)
{
	static const struct {
		const char *s;
		u64 unit;
		int r;
		u64 v;
	} cases[] = {
		{ "0", SZ_MiB, 0, 0 },
		{ "512", SZ_MiB, 0, 512 * SZ_MiB },
		{ "512", 1, 0, 512 },
		{ "0x10", 1, 0, 16 },
		{ "0x10", SZ_MiB, 0, 16 * SZ_MiB },
		{ "1B", SZ_MiB, 0, 1 },
		{ "1b", SZ_MiB, 0, 1 },
		{ "1K", 1, 0, SZ_KiB },
		{ "1k", 1, 0, SZ_KiB },
		{ "1KiB", 1, 0, SZ_KiB },
		{ "2m", 1, 0, 2 * SZ_MiB },
		{ "2MB", 1, 0, 2 * SZ_MiB },
		{ "1G", 1, 0, SZ_GiB },
		{ "1GiB", 1, 0, SZ_GiB },
		{ "1gib", 1, 0, SZ_GiB },
		{ "1Gi", 1, 0, SZ_GiB },
		{ "1T", 1, 0, 1024 * SZ_GiB },
		{ "1P", 1, 0, 1ULL << 50 },
		{ "16383P", 1, 0, 16383ULL << 50 },
		{ "18446744073709551615", 1, 0, UINT64_MAX },
		{ "0x1G", 1, 0, SZ_GiB },
		/* errors */
		{ "16384P", 1, -ERANGE, 0 },
		{ "18446744073709551616", 1, -ERANGE, 0 },
		{ "17592186044416", SZ_MiB, -ERANGE, 0 },
		{ "", 1, -EINVAL, 0 },
		{ " 1", 1, -EINVAL, 0 },
		{ "+1", 1, -EINVAL, 0 },
		{ "-1", 1, -EINVAL, 0 },
		{ "1 ", 1, -EINVAL, 0 },
		{ "1X", 1, -EINVAL, 0 },
		{ "1GG", 1, -EINVAL, 0 },
		{ "1Gx", 1, -EINVAL, 0 },
		{ "1BB", 1, -EINVAL, 0 },
		{ "1Bi", 1, -EINVAL, 0 },
		{ "1iB", 1, -EINVAL, 0 },
		{ "1GiBB", 1, -EINVAL, 0 },
		{ "0x", 1, -EINVAL, 0 },
		{ "G", 1, -EINVAL, 0 },
	};
	u64 v;

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		int r;

		v = 0xdead;
		r = parse_size(cases[i].s, cases[i].unit, &v);
		TEST_ASSERT(r == cases[i].r, "parse_size(\"%s\", %llu) = %d, expected %d",
			    cases[i].s, (unsigned long long)cases[i].unit, r, cases[i].r);
		if (!r)
			TEST_ASSERT(v == cases[i].v, "parse_size(\"%s\") = %#llx, expected %#llx",
				    cases[i].s, (unsigned long long)v,
				    (unsigned long long)cases[i].v);
	}
	TEST_ASSERT_EQ(parse_size(NULL, 1, &v), -EINVAL);
}

static void test_parse_uint(void)
{
	static const struct {
		const char *s;
		u64 max;
		int r;
		u64 v;
	} cases[] = {
		{ "0", 10, 0, 0 },
		{ "42", 100, 0, 42 },
		{ "0x2a", 100, 0, 42 },
		{ "0X2A", 100, 0, 42 },
		{ "31", 31, 0, 31 },
		{ "18446744073709551615", UINT64_MAX, 0, UINT64_MAX },
		{ "32", 31, -ERANGE, 0 },
		{ "0x20", 31, -ERANGE, 0 },
		{ "18446744073709551616", UINT64_MAX, -ERANGE, 0 },
		{ "4294967296", UINT32_MAX, -ERANGE, 0 },
		{ "", 10, -EINVAL, 0 },
		{ "-1", 10, -EINVAL, 0 },
		{ "+1", 10, -EINVAL, 0 },
		{ " 1", 10, -EINVAL, 0 },
		{ "1 ", 10, -EINVAL, 0 },
		{ "4x", 10, -EINVAL, 0 },
		{ "0x", 10, -EINVAL, 0 },
		{ "1K", 2000, -EINVAL, 0 },
	};
	u64 v;

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		int r;

		v = 0xdead;
		r = parse_uint(cases[i].s, cases[i].max, &v);
		TEST_ASSERT(r == cases[i].r, "parse_uint(\"%s\", %llu) = %d, expected %d",
			    cases[i].s, (unsigned long long)cases[i].max, r, cases[i].r);
		if (!r)
			TEST_ASSERT_EQ(v, cases[i].v);
		else
			TEST_ASSERT(v == 0xdead, "output written on error");
	}
	TEST_ASSERT_EQ(parse_uint(NULL, 10, &v), -EINVAL);
}

static void test_align_helpers(void)
{
	u64 s;

	TEST_ASSERT_EQ(ALIGN_UP(0x1001ULL, 0x1000), 0x2000);
	TEST_ASSERT_EQ(ALIGN_UP(0x1000ULL, 0x1000), 0x1000);
	TEST_ASSERT_EQ(ALIGN_DOWN(0x1fffULL, 0x1000), 0x1000);
	TEST_ASSERT(IS_ALIGNED(0x200000ULL, 2 * SZ_MiB), "aligned");
	TEST_ASSERT(!IS_ALIGNED(0x300000ULL, 2 * SZ_MiB), "not aligned");
	TEST_ASSERT_EQ(GENMASK(7, 4), 0xf0);
	TEST_ASSERT_EQ(GENMASK(63, 0), UINT64_MAX);
	TEST_ASSERT(add_ok(UINT64_MAX - 1, 1, &s) && s == UINT64_MAX, "no wrap");
	TEST_ASSERT(!add_ok(UINT64_MAX, 1, &s), "wraps");
}

static const struct test_case tests[] = {
	TEST_CASE(test_default),
	TEST_CASE(test_sizes_at_default_base),
	TEST_CASE(test_high_bank),
	TEST_CASE(test_bank_at_2_48),
	TEST_CASE(test_ipa_bits_too_small),
	TEST_CASE(test_device_region_overlap),
	TEST_CASE(test_bank_overlap),
	TEST_CASE(test_banks_follow_previous),
	TEST_CASE(test_beyond_max_ipa),
	TEST_CASE(test_from_command_line),
	TEST_CASE(test_addr_bits),
	TEST_CASE(test_parse_size),
	TEST_CASE(test_parse_uint),
	TEST_CASE(test_align_helpers),
};

TEST_MAIN(tests)
