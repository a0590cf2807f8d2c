// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host-side test of the payload's FDT reader (fdt.c) and bootargs helpers
 * (args.c), run by "make check-guest-fdt" on any host under ASan/UBSan.
 * Checks lookups against fdt-test.dts compiled by dtc, then corrupts the
 * blob one byte at a time and reruns every lookup: whatever the VMM under
 * test hands the payload, the reader must stay in bounds and terminate.
 * Output is TAP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "fdt.h"

static int failures, tests;

#define CHECK(cond) check(!!(cond), #cond, __FILE__, __LINE__)
#define CHECK_EQ(a, b) check_eq((unsigned long long)(a),		\
				(unsigned long long)(b), #a, #b,	\
				__FILE__, __LINE__)

static void check(int ok, const char *expr, const char *file, int line)
{
	tests++;
	if (ok) {
		printf("ok %d - %s\n", tests, expr);
		return;
	}
	failures++;
	printf("not ok %d - %s:%d: %s\n", tests, file, line, expr);
}

static void check_eq(unsigned long long a, unsigned long long b,
		     const char *ea, const char *eb, const char *file, int line)
{
	tests++;
	if (a == b) {
		printf("ok %d - %s == %s\n", tests, ea, eb);
		return;
	}
	failures++;
	printf("not ok %d - %s:%d: %s == %s: got 0x%llx, expected 0x%llx\n",
	       tests, file, line, ea, eb, a, b);
}

static void *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	void *buf;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0 ||
	    fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*size = (size_t)n;
	return buf;
}

static const char *name_of(const struct fdt *fdt, int node)
{
	const char *n = fdt_node_name(fdt, node);

	return n ? n : "(none)";
}

/* Every lookup the payload makes; results are ignored when fuzzing. */
static unsigned int exercise(const struct fdt *fdt)
{
	static const char *const compats[] = {
		"ns16550a", "arm,pl011", "arm,psci-0.2", "test,deep", "zzz",
	};
	const char *val, *pos, *end, *tok;
	uint64_t addr, size;
	uint32_t len;
	unsigned int sum = 0, i;
	size_t tlen;
	int node, parent, depth, root, chosen;

	for (i = 0; i < sizeof(compats) / sizeof(compats[0]); i++) {
		node = fdt_find_compatible(fdt, compats[i], &parent);
		if (node >= 0 && !fdt_get_reg(fdt, node, parent, 0, &addr,
					      &size))
			sum += (unsigned int)(addr + size);
		if (node >= 0 && fdt_getprop(fdt, node, "method", &len))
			sum += len;
	}
	root = fdt_next_node(fdt, -1, &depth);
	chosen = fdt_subnode(fdt, root, "chosen");
	val = fdt_getprop(fdt, chosen, "bootargs", &len);
	if (val) {
		pos = val;
		end = val + len;
		while ((tok = args_next(&pos, end, &tlen)))
			sum += (unsigned int)tlen;
	}
	for (node = -1, depth = 0; (node = fdt_next_node(fdt, node, &depth)) >= 0;)
		sum += (unsigned int)strlen(name_of(fdt, node));
	return sum;
}

static void test_lookups(const void *blob)
{
	struct fdt fdt;
	uint64_t addr, size;
	const char *val;
	uint32_t len;
	int node, parent, root, depth, chosen, count;

	CHECK_EQ(fdt_open(&fdt, blob), 0);

	root = fdt_next_node(&fdt, -1, &depth);
	CHECK_EQ(root, 0);
	CHECK_EQ(depth, 0);
	CHECK(!strcmp(name_of(&fdt, root), ""));

	/* Skips near-miss "ns16550" and the disabled uart, finds soc's. */
	node = fdt_find_compatible(&fdt, "ns16550a", &parent);
	CHECK(!strcmp(name_of(&fdt, node), "serial@3f8"));
	CHECK(!strcmp(name_of(&fdt, parent), "soc"));
	CHECK_EQ(fdt_get_reg(&fdt, node, parent, 0, &addr, &size), 0);
	CHECK_EQ(addr, 0x3f8);
	CHECK_EQ(size, 0x8);
	CHECK_EQ(fdt_get_reg(&fdt, node, parent, 1, &addr, &size), 0);
	CHECK_EQ(addr, 0x500);
	CHECK_EQ(size, 0x10);
	CHECK_EQ(fdt_get_reg(&fdt, node, parent, 2, &addr, &size), -1);
	CHECK_EQ(fdt_getprop_u32(&fdt, node, "reg-shift", 7), 7);

	node = fdt_find_compatible(&fdt, "arm,pl011", &parent);
	CHECK(!strcmp(name_of(&fdt, node), "pl011@9000000"));
	CHECK_EQ(parent, root);
	CHECK_EQ(fdt_get_reg(&fdt, node, parent, 0, &addr, &size), 0);
	CHECK_EQ(addr, 0x9000000);
	CHECK_EQ(size, 0x1000);

	node = fdt_find_compatible(&fdt, "arm,psci-0.2", &parent);
	CHECK(!strcmp(name_of(&fdt, node), "psci"));
	val = fdt_getprop(&fdt, node, "method", &len);
	CHECK(val && fdt_stringlist_contains(val, len, "hvc"));
	CHECK(val && !fdt_stringlist_contains(val, len, "smc"));
	CHECK(val && !fdt_stringlist_contains(val, len, "hv"));

	node = fdt_find_compatible(&fdt, "test,deep", &parent);
	CHECK(!strcmp(name_of(&fdt, node), "leaf@12345678"));
	CHECK(!strcmp(name_of(&fdt, parent), "d"));
	CHECK_EQ(fdt_get_reg(&fdt, node, parent, 0, &addr, &size), 0);
	CHECK_EQ(addr, 0x1200345678ull);
	CHECK_EQ(size, 0x10);

	node = fdt_find_compatible(&fdt, "test,three-cells", &parent);
	CHECK(node >= 0);
	CHECK_EQ(fdt_get_reg(&fdt, node, parent, 0, &addr, &size), -1);

	CHECK_EQ(fdt_find_compatible(&fdt, "arm,primecel", &parent), -1);
	CHECK_EQ(fdt_find_compatible(&fdt, "ns16550a-x", &parent), -1);

	chosen = fdt_subnode(&fdt, root, "chosen");
	CHECK(!strcmp(name_of(&fdt, chosen), "chosen"));
	CHECK(!strcmp(name_of(&fdt, fdt_subnode(&fdt, root, "uart-off")),
		      "uart-off@1000000"));
	CHECK_EQ(fdt_subnode(&fdt, root, "uart"), -1);
	CHECK_EQ(fdt_subnode(&fdt, root, "a"), -1);	/* grandchild only */
	CHECK_EQ(fdt_getprop(&fdt, chosen, "nope", &len), NULL);

	/* Walk: count nodes and check the deepest depth. */
	count = 0;
	for (node = -1, depth = 0;
	     (node = fdt_next_node(&fdt, node, &depth)) >= 0;) {
		count++;
		if (!strcmp(name_of(&fdt, node), "leaf@12345678"))
			CHECK_EQ(depth, 6);
	}
	CHECK_EQ(count, 17);
}

static void test_bootargs(const void *blob)
{
	static const char *const want_tok[] = {
		"console=ttyS0", "touch=0x80100000", "touch=0xdeadbeef",
		"touch=", "touch=0x1000000000008", "xtouch=0x8",
	};
	struct fdt fdt;
	const char *val, *pos, *tok;
	uint32_t len;
	size_t tlen, i = 0;
	int depth;

	fdt_open(&fdt, blob);
	val = fdt_getprop(&fdt, fdt_subnode(&fdt, fdt_next_node(&fdt, -1, &depth),
					    "chosen"), "bootargs", &len);
	CHECK(val != NULL);
	if (!val)
		return;
	pos = val;
	while ((tok = args_next(&pos, val + len, &tlen))) {
		CHECK(i < 6);
		if (i < 6)
			CHECK(tlen == strlen(want_tok[i]) &&
			      !memcmp(tok, want_tok[i], tlen));
		i++;
	}
	CHECK_EQ(i, 6);

	/* A value without a NUL stops at the end of the property. */
	pos = "touch=0x8 abc";
	tok = args_next(&pos, pos + 11, &tlen);
	tok = args_next(&pos, pos + 2, &tlen);
	CHECK(tok && tlen == 1 && tok[0] == 'a');
}

static void test_args(void)
{
	uint64_t v = 0;

	CHECK_EQ(args_prefix("touch=0x8", 9, "touch="), 6);
	CHECK_EQ(args_prefix("touch", 5, "touch="), 0);
	CHECK_EQ(args_prefix("xtouch=", 7, "touch="), 0);

	CHECK_EQ(args_parse_hex("0x80100000", 10, &v), 0);
	CHECK_EQ(v, 0x80100000);
	CHECK_EQ(args_parse_hex("0XFFFFFFFFFFFFFFF8", 18, &v), 0);
	CHECK_EQ(v, 0xfffffffffffffff8ull);
	CHECK_EQ(args_parse_hex("0x1FFFFFFFFFFFFFFF8", 19, &v), -1);
	CHECK_EQ(args_parse_hex("0x", 2, &v), -1);
	CHECK_EQ(args_parse_hex("80100000", 8, &v), -1);
	CHECK_EQ(args_parse_hex("0x8g", 4, &v), -1);
	CHECK_EQ(args_parse_hex("0x8 ", 3, &v), 0);	/* length rules */
	CHECK_EQ(v, 8);

	CHECK_EQ(args_parse_dec("1", 1, &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(args_parse_dec("4096 ", 4, &v), 0);	/* length rules */
	CHECK_EQ(v, 4096);
	CHECK_EQ(args_parse_dec("9999999999999999999", 19, &v), 0);
	CHECK_EQ(v, 9999999999999999999ull);
	CHECK_EQ(args_parse_dec("10000000000000000000", 20, &v), -1);
	CHECK_EQ(args_parse_dec("", 0, &v), -1);
	CHECK_EQ(args_parse_dec("-1", 2, &v), -1);
	CHECK_EQ(args_parse_dec("0x10", 4, &v), -1);
	CHECK_EQ(args_parse_dec("12a", 3, &v), -1);

	CHECK(fdt_stringlist_contains("a\0bc\0", 5, "bc"));
	CHECK(fdt_stringlist_contains("a\0bc", 4, "bc"));	/* no NUL */
	CHECK(!fdt_stringlist_contains("a\0bcd", 5, "bc"));
	CHECK(!fdt_stringlist_contains("a\0b", 3, "bc"));
	CHECK(!fdt_stringlist_contains("", 0, ""));
}

static void test_header(const unsigned char *blob, size_t size)
{
	unsigned char *copy = malloc(size + 8);
	struct fdt fdt;

	if (!copy)
		return;
	memcpy(copy, blob, size);
	CHECK_EQ(fdt_open(&fdt, NULL), -1);
	memmove(copy + 4, copy, size);
	CHECK_EQ(fdt_open(&fdt, copy + 4), -1);		/* misaligned */
	memmove(copy, copy + 4, size);
	copy[0] ^= 1;
	CHECK_EQ(fdt_open(&fdt, copy), -1);		/* magic */
	copy[0] ^= 1;
	copy[7] = 8;					/* totalsize < header */
	copy[6] = copy[5] = copy[4] = 0;
	CHECK_EQ(fdt_open(&fdt, copy), -1);
	free(copy);
}

/* Flip each byte of the blob (bar totalsize) and rerun every lookup. */
static void test_corruption(const unsigned char *blob, size_t size)
{
	static const unsigned char xors[] = { 0x01, 0x80, 0xff, 0x10 };
	unsigned char *copy;
	struct fdt fdt;
	size_t off, x, opened = 0;

	for (off = 0; off < size; off++) {
		if (off >= 4 && off < 8)
			continue;	/* the one field we must trust */
		for (x = 0; x < sizeof(xors); x++) {
			/* Exact-size heap copy so ASan sees any overread. */
			copy = malloc(size);
			if (!copy)
				return;
			memcpy(copy, blob, size);
			copy[off] ^= xors[x];
			if (!fdt_open(&fdt, copy)) {
				opened++;
				exercise(&fdt);
			}
			free(copy);
		}
	}
	CHECK(opened > 0);
}

int main(int argc, char **argv)
{
	unsigned char *blob;
	size_t size;

	if (argc != 2) {
		fprintf(stderr, "usage: %s fdt-test.dtb\n", argv[0]);
		return 2;
	}
	blob = read_file(argv[1], &size);
	if (!blob) {
		printf("Bail out! cannot read %s\n", argv[1]);
		return 1;
	}

	test_lookups(blob);
	test_bootargs(blob);
	test_args();
	test_header(blob, size);
	test_corruption(blob, size);
	free(blob);

	printf("1..%d\n", tests);
	printf("# %d of %d checks failed\n", failures, tests);
	return failures ? 1 : 0;
}
