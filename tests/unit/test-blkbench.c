// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkbench's command line (tests/bench/blkbench-opts.c): the defaults the
 * benchmark's numbers depend on, every option in both spellings, sizes
 * with suffixes, and the refusals (ranges, unknown phases, duplicates,
 * a missing or second device) with messages that name the culprit.
 */
#include "blkbench.h"
#include "test.h"

#define PARSE(o, ...)								\
	({									\
		char *const test__argv[] = { "blkbench", __VA_ARGS__, NULL };	\
		bench__parse((o), (int)ARRAY_SIZE(test__argv) - 1, test__argv,	\
			     errbuf, sizeof(errbuf));				\
	})

static char errbuf[256];

static void test_defaults(void)
{
	struct bench_opts o;

	TEST_ASSERT_EQ(PARSE(&o, "/dev/vda"), 0);
	TEST_ASSERT_STR_EQ(o.dev, "/dev/vda");
	TEST_ASSERT_EQ(o.secs, 3U);
	TEST_ASSERT_EQ(o.qd, 16U);
	TEST_ASSERT_EQ(o.seq_qd, 4U);
	TEST_ASSERT_EQ(o.seq_bs, 1U << 20);
	TEST_ASSERT_EQ(o.pause_ms, 100U);
	TEST_ASSERT_EQ(o.nphases, 4U);
	TEST_ASSERT_EQ(o.phases[0], PHASE_RANDREAD);
	TEST_ASSERT_EQ(o.phases[1], PHASE_RANDWRITE);
	TEST_ASSERT_EQ(o.phases[2], PHASE_SEQREAD);
	TEST_ASSERT_EQ(o.phases[3], PHASE_SEQWRITE);
}

static void test_both_spellings(void)
{
	struct bench_opts o;

	TEST_ASSERT_EQ(PARSE(&o, "--secs", "5", "--qd=32", "--seq-qd", "2", "--seq-bs=256K",
			     "--pause-ms", "0", "--seed=7", "/dev/vdb"), 0);
	TEST_ASSERT_EQ(o.secs, 5U);
	TEST_ASSERT_EQ(o.qd, 32U);
	TEST_ASSERT_EQ(o.seq_qd, 2U);
	TEST_ASSERT_EQ(o.seq_bs, 256U * 1024);
	TEST_ASSERT_EQ(o.pause_ms, 0U);
	TEST_ASSERT_EQ(o.seed, 7ULL);
	TEST_ASSERT_STR_EQ(o.dev, "/dev/vdb");
}

static void test_sizes(void)
{
	struct bench_opts o;

	TEST_ASSERT_EQ(PARSE(&o, "--seq-bs", "2M", "d"), 0);
	TEST_ASSERT_EQ(o.seq_bs, 2U << 20);
	TEST_ASSERT_EQ(PARSE(&o, "--seq-bs", "8192", "d"), 0);
	TEST_ASSERT_EQ(o.seq_bs, 8192U);
	TEST_ASSERT_EQ(PARSE(&o, "--seq-bs", "16M", "d"), 0);
	TEST_ASSERT_EQ(PARSE(&o, "--seq-bs", "17M", "d"), -1);
	TEST_ASSERT_STR_CONTAINS(errbuf, "out of range");
	TEST_ASSERT_EQ(PARSE(&o, "--seq-bs", "6000", "d"), -1);
	TEST_ASSERT_STR_CONTAINS(errbuf, "not a multiple of 4096");
	TEST_ASSERT_EQ(PARSE(&o, "--seq-bs", "1G", "d"), -1);
	TEST_ASSERT_STR_CONTAINS(errbuf, "not a number");
	/* A suffix on a plain count is not a number either. */
	TEST_ASSERT_EQ(PARSE(&o, "--qd", "1K", "d"), -1);
	TEST_ASSERT_STR_CONTAINS(errbuf, "--qd: '1K' is not a number");
}

static void test_ranges(void)
{
	struct bench_opts o;

	TEST_ASSERT_EQ(PARSE(&o, "--qd", "0", "d"), -1);
	TEST_ASSERT_STR_CONTAINS(errbuf, "--qd: '0' is out of range [1, 256]");
	TEST_ASSERT_EQ(PARSE(&o, "--qd", "257", "d"), -1);
	TEST_ASSERT_EQ(PARSE(&o, "--qd", "256", "d"), 0);
	TEST_ASSERT_EQ(PARSE(&o, "--secs", "601", "d"), -1);
	TEST_ASSERT_EQ(PARSE(&o, "--secs", "-1", "d"), -1);
	TEST_ASSERT_STR_CONTAINS(errbuf, "not a number");
	TEST_ASSERT_EQ(PARSE(&o, "--secs", "", "d"), -1);
	TEST_ASSERT_EQ(PARSE(&o, "--secs", "0x3", "d"), -1);
	TEST_ASSERT_EQ(PARSE(&o, "--seed", "99999999999999999999999", "d"), -1);
	TEST_ASSERT_STR_CONTAINS(errbuf, "out of range");
}

static void test_phases(void)
{
	struct bench_opts o;

	TEST_ASSERT_EQ(PARSE(&o, "--phases", "seqwrite,randread", "d"), 0);
	TEST_ASSERT_EQ(o.nphases, 2U);
	TEST_ASSERT_EQ(o.phases[0], PHASE_SEQWRITE);
	TEST_ASSERT_EQ(o.phases[1], PHASE_RANDREAD);
	TEST_ASSERT_EQ(PARSE(&o, "--phases=randwrite", "d"), 0);
	TEST_ASSERT_EQ(o.nphases, 1U);
	TEST_ASSERT_EQ(PARSE(&o, "--phases", "randread,bogus", "d"), -1);
	TEST_ASSERT_STR_CONTAINS(errbuf, "unknown phase 'bogus'");
	TEST_ASSERT_EQ(PARSE(&o, "--phases", "randread,randread", "d"), -1);
	TEST_ASSERT_STR_CONTAINS(errbuf, "'randread' given twice");
	TEST_ASSERT_EQ(PARSE(&o, "--phases", "", "d"), -1);
	TEST_ASSERT_EQ(PARSE(&o, "--phases", "randread,", "d"), -1);
	TEST_ASSERT_STR_CONTAINS(errbuf, "unknown phase ''");
	TEST_ASSERT_STR_EQ(bench__phase_name(PHASE_SEQREAD), "seqread");
	TEST_ASSERT(bench__phase_name(PHASE_COUNT) == NULL, "out-of-range phase has a name");
	TEST_ASSERT(bench__phase_reads(PHASE_SEQREAD) && !bench__phase_reads(PHASE_RANDWRITE),
		    "read/write classification");
	TEST_ASSERT(bench__phase_seq(PHASE_SEQWRITE) && !bench__phase_seq(PHASE_RANDREAD),
		    "sequential classification");
}

static void test_refusals(void)
{
	struct bench_opts o;

	TEST_ASSERT_EQ(PARSE(&o, "--secs", "3"), -1);
	TEST_ASSERT_STR_CONTAINS(errbuf, "no device given");
	TEST_ASSERT_EQ(PARSE(&o, "a", "b"), -1);
	TEST_ASSERT_STR_CONTAINS(errbuf, "more than one device ('a', 'b')");
	TEST_ASSERT_EQ(PARSE(&o, "--bogus=1", "d"), -1);
	TEST_ASSERT_STR_CONTAINS(errbuf, "unknown option '--bogus'");
	TEST_ASSERT_EQ(PARSE(&o, "-q", "d"), -1);
	TEST_ASSERT_STR_CONTAINS(errbuf, "unknown option '-q'");
	TEST_ASSERT_EQ(PARSE(&o, "d", "--qd"), -1);
	TEST_ASSERT_STR_CONTAINS(errbuf, "--qd needs a value");
	TEST_ASSERT_EQ(PARSE(&o, "d", "--help"), 1);
	TEST_ASSERT_STR_CONTAINS(bench__usage, "--phases LIST");
}

static const struct test_case tests[] = {
	TEST_CASE(test_defaults),
	TEST_CASE(test_both_spellings),
	TEST_CASE(test_sizes),
	TEST_CASE(test_ranges),
	TEST_CASE(test_phases),
	TEST_CASE(test_refusals),
};

TEST_MAIN(tests)
