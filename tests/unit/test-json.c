// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket's JSON (util/json.c): the writer (escapes, numbers,
 * its size and depth limits, unbalanced use), the checker against
 * malformed text (trailing commas, bad escapes and numbers, control
 * characters and NUL, nesting past the limit), member lookup (escapes and
 * surrogates unescaped, containers refused, short buffers), and the text
 * rendering people read.
 */
#include "lkvm/json.h"
#include "test.h"

static void test_json_writer(void)
{
	struct json j;

	json__init(&j, 4096);
	json__obj_begin(&j, NULL);
	json__str(&j, "s", "a\"b\\c\n\x01");
	json__u64(&j, "u", 18446744073709551615ULL);
	json__s64(&j, "i", -5);
	json__hex(&j, "h", 0xdeadULL);
	json__bool(&j, "t", true);
	json__fixed(&j, "f", 1.25, 1);
	json__arr_begin(&j, "a");
	json__u64(&j, NULL, 1);
	json__obj_begin(&j, NULL);
	json__obj_end(&j);
	json__arr_end(&j);
	json__obj_end(&j);
	TEST_ASSERT_STR_EQ(json__text(&j), "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"u\":18446744073709551615,"
			   "\"i\":-5,\"h\":\"0xdead\",\"t\":true,\"f\":1.2,\"a\":[1,{}]}");
	TEST_ASSERT_EQ(json__check(json__text(&j), strlen(json__text(&j))), 0);
	json__free(&j);

	/* Past its limit: failed, no text. */
	json__init(&j, 16);
	json__obj_begin(&j, NULL);
	json__str(&j, "key", "a value too long for sixteen bytes");
	json__obj_end(&j);
	TEST_ASSERT(j.failed && !json__text(&j), "over the limit");
	json__free(&j);

	/* Too deep; unbalanced. */
	json__init(&j, 4096);
	for (unsigned int i = 0; i <= JSON_MAX_DEPTH; i++)
		json__arr_begin(&j, NULL);
	TEST_ASSERT(j.failed, "too deep");
	json__free(&j);
	json__init(&j, 4096);
	json__obj_begin(&j, NULL);
	TEST_ASSERT(!json__text(&j), "an open object is no text");
	json__obj_end(&j);
	json__obj_end(&j);
	TEST_ASSERT(j.failed, "one end too many");
	json__free(&j);
}

static void test_json_check(void)
{
	static const char *const good[] = {
		"{}", "[]", "0", "-0", "1.5e+3", "\"\"", " { \"a\" : [ 1 , true , null ] } ",
		"\"\\u00e9\\ud83d\\ude00\"", "[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]",	/* 16 deep */
	};
	static const char *const bad[] = {
		"", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\"}", "{a:1}", "[1 2]", "01", "-",
		"1.", "1e", ".5", "+1", "\"abc", "\"\\x\"", "\"\\u12\"", "\"a\nb\"", "tru", "nul",
		"{} {}", "[]x", "[[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]]",	/* 17 deep */
		"\"\xff", "{\"a\":}",
	};
	static const char nul[] = "{\"a\":\"x\0y\"}";

	for (unsigned int i = 0; i < ARRAY_SIZE(good); i++)
		TEST_ASSERT(!json__check(good[i], strlen(good[i])), "'%s' is JSON", good[i]);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
		TEST_ASSERT(json__check(bad[i], strlen(bad[i])) == -EINVAL, "'%s' is not", bad[i]);
	TEST_ASSERT_EQ(json__check(nul, sizeof(nul) - 1), -EINVAL);
}

static void test_json_get(void)
{
	static const char doc[] = "{\"name\":\"g\\u00e9\\\"x\",\"n\":42,\"ok\":true,\"o\":{\"n\":1},"
				  "\"a\":[1],\"emoji\":\"\\ud83d\\ude00\",\"lone\":\"\\ud800x\","
				  "\"zero\":\"\\u0000\"}";
	char out[32], tiny[3];

	TEST_ASSERT_EQ(json__get(doc, strlen(doc), "name", out, sizeof(out)), 0);
	TEST_ASSERT_STR_EQ(out, "g\xc3\xa9\"x");
	TEST_ASSERT_EQ(json__get(doc, strlen(doc), "n", out, sizeof(out)), 0);
	TEST_ASSERT_STR_EQ(out, "42");
	TEST_ASSERT_EQ(json__get(doc, strlen(doc), "ok", out, sizeof(out)), 0);
	TEST_ASSERT_STR_EQ(out, "true");
	TEST_ASSERT_EQ(json__get(doc, strlen(doc), "emoji", out, sizeof(out)), 0);
	TEST_ASSERT_STR_EQ(out, "\xf0\x9f\x98\x80");
	TEST_ASSERT_EQ(json__get(doc, strlen(doc), "lone", out, sizeof(out)), 0);
	TEST_ASSERT_STR_EQ(out, "?x");
	TEST_ASSERT_EQ(json__get(doc, strlen(doc), "zero", out, sizeof(out)), 0);
	TEST_ASSERT_STR_EQ(out, "?");
	TEST_ASSERT_EQ(json__get(doc, strlen(doc), "o", out, sizeof(out)), -EINVAL);
	TEST_ASSERT_EQ(json__get(doc, strlen(doc), "a", out, sizeof(out)), -EINVAL);
	TEST_ASSERT_EQ(json__get(doc, strlen(doc), "missing", out, sizeof(out)), -ENOENT);
	TEST_ASSERT_EQ(json__get(doc, strlen(doc), "name", tiny, sizeof(tiny)), -ENOSPC);
	TEST_ASSERT_EQ(json__get("[1]", 3, "a", out, sizeof(out)), -EINVAL);
	TEST_ASSERT_EQ(json__get("{\"a\":1", 6, "a", out, sizeof(out)), -EINVAL);
}

static void test_json_text(void)
{
	static const char doc[] =
		"{\"name\":\"g\",\"state\":\"paused\",\"vcpus\":[{\"id\":0,\"core\":{\"pc\":\"0x10\","
		"\"x0\":\"0x1\"}},{\"id\":1}],\"devices\":[],\"tags\":[\"a\",\"b\"],\"e\":{},"
		"\"bad\":\"x\\u0007y\"}";
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	TEST_ASSERT(f, "open_memstream");
	TEST_ASSERT_EQ(json__print_text(doc, strlen(doc), f), 0);
	fclose(f);
	TEST_ASSERT_STR_EQ(buf,
			   "name=g state=paused bad=x?y\n"
			   "vcpus[0]:\n"
			   "  id=0\n"
			   "  core:\n"
			   "    pc=0x10 x0=0x1\n"
			   "vcpus[1]:\n"
			   "  id=1\n"
			   "devices: (none)\n"
			   "tags:\n"
			   "  a b\n"
			   "e:\n");
	free(buf);
	f = open_memstream(&buf, &len);
	TEST_ASSERT_EQ(json__print_text("{\"a\":", 5, f), -EINVAL);
	fclose(f);
	TEST_ASSERT_EQ(len, 0);
	free(buf);
}

/* Long runs of scalars wrap at 100 columns. */
static void test_json_text_wrap(void)
{
	struct json j;
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	unsigned int lines = 0;
	FILE *f;

	json__init(&j, 65536);
	json__obj_begin(&j, NULL);
	for (unsigned int i = 0; i < 31; i++) {
		char k[8];

		snprintf(k, sizeof(k), "x%u", i);
		json__hex(&j, k, 0xffff800080000000ULL + i);
	}
	json__obj_end(&j);
	f = open_memstream(&buf, &len);
	TEST_ASSERT_EQ(json__print_text(json__text(&j), strlen(json__text(&j)), f), 0);
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save), lines++)
		TEST_ASSERT(strlen(line) <= 100, "line %u is %zu columns", lines, strlen(line));
	TEST_ASSERT(lines >= 8, "31 registers take several lines (%u)", lines);
	free(buf);
	json__free(&j);
}

static const struct test_case tests[] = {
	TEST_CASE(test_json_writer),
	TEST_CASE(test_json_check),
	TEST_CASE(test_json_get),
	TEST_CASE(test_json_text),
	TEST_CASE(test_json_text_wrap),
};

TEST_MAIN(tests)
