/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A tiny TAP harness for lkvm's native unit tests (header-only: each
 * test-*.c is one program).  A test file lists its cases in a table and
 * ends with TEST_MAIN(table):
 *
 *	static void test_parse_512(void) { TEST_ASSERT_EQ(x, 512); }
 *	static const struct test_case tests[] = { TEST_CASE(test_parse_512), };
 *	TEST_MAIN(tests)
 *
 * Each case is one TAP point and runs in its own child process, so a
 * failed assertion (which ends the case at once, like TEST_ASSERT in the
 * kernel's KVM selftests), a sanitizer report or a crash fails only that
 * case, and the next case starts from a clean state.  Diagnostics go to
 * stdout as "# " lines; the plan ("1..N") comes at the end.  TEST_SKIP()
 * marks a case skipped (not failed) with a reason.  The exit status is 1
 * if any case failed.  TEST_TMPDIR is a directory private to this run,
 * removed at the end.
 */
#ifndef LKVM_TEST_H
#define LKVM_TEST_H

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lkvm/util.h"

struct test_case {
	const char *name;
	void (*fn)(void);
};

#define TEST_CASE(fn)	{ #fn, fn }

#define TEST_EXIT_SKIP	77
#define TEST_TIMEOUT	120	/* seconds per case: a hang fails the case, not the run */
#define TEST_EXIT_FAIL	70	/* an assertion failed (and said so) */

/* Shared with the child of each case: the skip reason crosses the fork here. */
struct test__shared {
	char skip_reason[256];
};

static struct test__shared *test__shared;
static char test__tmpdir[256];

#define TEST_TMPDIR	((const char *)test__tmpdir)

static inline void __attribute__((format(printf, 1, 2))) test_diag(const char *fmt, ...)
{
	char buf[2048], *line, *save = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		printf("# %s\n", line);
	fflush(stdout);
}

static inline void __attribute__((noreturn, format(printf, 4, 5)))
test__fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
	char msg[1024] = "";
	va_list ap;

	if (fmt && *fmt) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
	}
	test_diag("%s:%d: assertion failed: %s", file, line, expr);
	if (*msg)
		test_diag("  %s", msg);
	/* _exit: no leak report for what the abandoned case still held. */
	fflush(stdout);
	_exit(TEST_EXIT_FAIL);
}

#define TEST_ASSERT(cond, fmt, ...)						\
	do {									\
		if (!(cond))							\
			test__fail(__FILE__, __LINE__, #cond, fmt, ##__VA_ARGS__);	\
	} while (0)

#define TEST_FAIL(fmt, ...)	test__fail(__FILE__, __LINE__, "TEST_FAIL", fmt, ##__VA_ARGS__)

/* Whether an integer expression has a signed type, to print it the right way. */
#define test__is_signed(x)							\
	_Generic((x), signed char: 1, short: 1, int: 1, long: 1, long long: 1, default: 0)

static inline void test__fmt_val(char *buf, size_t len, unsigned long long v, int is_signed)
{
	if (is_signed)
		snprintf(buf, len, "%#llx (%lld)", v, (long long)v);
	else
		snprintf(buf, len, "%#llx (%llu)", v, v);
}

/*
 * Integer equality; on failure prints both expressions and both values in
 * hex and decimal.  The operands are compared as 64-bit values after the
 * usual conversion, so compare like with like (an int errno with -EINVAL,
 * a u64 size with a ULL constant).
 */
#define TEST_ASSERT_EQ(a, b)							\
	do {									\
		unsigned long long test__a = (unsigned long long)(a);		\
		unsigned long long test__b = (unsigned long long)(b);		\
		if (test__a != test__b) {					\
			char test__sa[64], test__sb[64];			\
			test__fmt_val(test__sa, sizeof(test__sa), test__a,	\
				      test__is_signed(a));			\
			test__fmt_val(test__sb, sizeof(test__sb), test__b,	\
				      test__is_signed(b));			\
			test__fail(__FILE__, __LINE__, #a " == " #b,		\
				   "%s is %s, expected %s", #a, test__sa, test__sb); \
		}								\
	} while (0)

#define TEST_ASSERT_NE(a, b)							\
	do {									\
		unsigned long long test__a = (unsigned long long)(a);		\
		unsigned long long test__b = (unsigned long long)(b);		\
		if (test__a == test__b) {					\
			char test__sa[64];					\
			test__fmt_val(test__sa, sizeof(test__sa), test__a,	\
				      test__is_signed(a));			\
			test__fail(__FILE__, __LINE__, #a " != " #b,		\
				   "both are %s", test__sa);			\
		}								\
	} while (0)

/* @hay contains @needle (for error messages: they must name the option, the fix...). */
#define TEST_ASSERT_STR_CONTAINS(hay, needle)					\
	do {									\
		const char *test__h = (hay), *test__n = (needle);		\
		if (!test__h || !strstr(test__h, test__n))			\
			test__fail(__FILE__, __LINE__,				\
				   "strstr(" #hay ", " #needle ")",		\
				   "\"%s\" does not contain \"%s\"",		\
				   test__h ? test__h : "(null)", test__n);	\
	} while (0)

#define TEST_ASSERT_STR_EQ(a, b)						\
	do {									\
		const char *test__sa = (a), *test__sb = (b);			\
		if (!test__sa || !test__sb || strcmp(test__sa, test__sb))	\
			test__fail(__FILE__, __LINE__, #a " == " #b,		\
				   "\"%s\" != \"%s\"",				\
				   test__sa ? test__sa : "(null)",		\
				   test__sb ? test__sb : "(null)");		\
	} while (0)

/* Ends the current case as skipped: a missing prerequisite, not a failure. */
#define TEST_SKIP(fmt, ...)							\
	do {									\
		snprintf(test__shared->skip_reason,				\
			 sizeof(test__shared->skip_reason), fmt, ##__VA_ARGS__); \
		fflush(stdout);							\
		_exit(TEST_EXIT_SKIP);						\
	} while (0)

/*
 * Captures what the case writes to stderr (lkvm's log: one line per
 * message) from test_stderr_begin() to test_stderr_end(), which puts
 * stderr back, prints the first lines as diagnostics and returns how many
 * lines there were.  A sanitizer report meanwhile goes to the capture:
 * keep captures short.
 */
struct test_stderr {
	int saved;
	FILE *f;
};

static inline void test_stderr_begin(struct test_stderr *c)
{
	fflush(stderr);
	c->f = tmpfile();
	c->saved = dup(STDERR_FILENO);
	if (!c->f || c->saved < 0 || dup2(fileno(c->f), STDERR_FILENO) < 0)
		test__fail(__FILE__, __LINE__, "test_stderr_begin", "%s", strerror(errno));
}

static inline unsigned int test_stderr_end(struct test_stderr *c, unsigned int show)
{
	unsigned int lines = 0;
	char line[1024];

	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	rewind(c->f);
	while (fgets(line, sizeof(line), c->f)) {
		if (lines++ < show)
			test_diag("stderr: %s", line);
	}
	fclose(c->f);
	return lines;
}

static inline int test__rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Runs one case in a child; returns 0 passed, 1 failed, 2 skipped. */
static inline int test__run_one(const struct test_case *tc)
{
	int status;
	pid_t pid;

	test__shared->skip_reason[0] = '\0';
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		test_diag("fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		alarm(TEST_TIMEOUT);
		tc->fn();
		fflush(stdout);
		exit(0);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			test_diag("waitpid: %s", strerror(errno));
			return 1;
		}
	}
	if (WIFSIGNALED(status)) {
		test_diag("%s: killed by signal %d (%s)", tc->name, WTERMSIG(status),
			  strsignal(WTERMSIG(status)));
		return 1;
	}
	if (WEXITSTATUS(status) == TEST_EXIT_SKIP)
		return 2;
	if (WEXITSTATUS(status) != 0) {
		if (WEXITSTATUS(status) != TEST_EXIT_FAIL)
			test_diag("%s: exited with status %d (sanitizer report on stderr?)",
				  tc->name, WEXITSTATUS(status));
		return 1;
	}
	return 0;
}

static inline int test__main(const struct test_case *tests, size_t n)
{
	unsigned int failed = 0, skipped = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	test__shared = mmap(NULL, sizeof(*test__shared), PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (test__shared == MAP_FAILED) {
		printf("Bail out! mmap: %s\n", strerror(errno));
		return 1;
	}
	snprintf(test__tmpdir, sizeof(test__tmpdir), "%s/lkvm-unit-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(test__tmpdir)) {
		printf("Bail out! mkdtemp %s: %s\n", test__tmpdir, strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		int r = test__run_one(&tests[i]);

		if (r == 2) {
			printf("ok %zu - %s # SKIP %s\n", i + 1, tests[i].name,
			       test__shared->skip_reason);
			skipped++;
		} else {
			printf("%sok %zu - %s\n", r ? "not " : "", i + 1, tests[i].name);
			failed += r;
		}
	}
	printf("1..%zu\n", n);
	if (failed || skipped)
		test_diag("%u of %zu failed, %u skipped", failed, n, skipped);
	nftw(test__tmpdir, test__rm, 16, FTW_DEPTH | FTW_PHYS);
	munmap(test__shared, sizeof(*test__shared));
	return failed ? 1 : 0;
}

#define TEST_MAIN(table)							\
	int main(void)								\
	{									\
		return test__main(table, ARRAY_SIZE(table));			\
	}

#endif /* LKVM_TEST_H */
