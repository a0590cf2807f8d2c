// SPDX-License-Identifier: GPL-2.0-only
/*
 * Bootargs tokenising and number parsing for the test payload; see args.h.
 * Strings are only ever read byte by byte: in the guest they sit in the
 * DTB, read with the MMU off (Device memory, no unaligned accesses).
 */
#include "args.h"

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

const char *args_next(const char **pos, const char *end, size_t *len)
{
	const char *p = *pos, *start;

	while (p < end && *p && is_space(*p))
		p++;
	if (p >= end || !*p) {
		*pos = p;
		return NULL;
	}
	start = p;
	while (p < end && *p && !is_space(*p))
		p++;
	*pos = p;
	*len = (size_t)(p - start);
	return start;
}

size_t args_prefix(const char *tok, size_t len, const char *prefix)
{
	size_t i;

	for (i = 0; prefix[i]; i++)
		if (i >= len || tok[i] != prefix[i])
			return 0;
	return i;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int args_parse_hex(const char *s, size_t len, uint64_t *val)
{
	uint64_t v = 0;
	size_t i;
	int d;

	if (len < 3 || len > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return -1;
	for (i = 2; i < len; i++) {
		d = hex_digit(s[i]);
		if (d < 0)
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*val = v;
	return 0;
}

int args_parse_dec(const char *s, size_t len, uint64_t *val)
{
	uint64_t v = 0;
	size_t i;

	if (len < 1 || len > 19)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*val = v;
	return 0;
}
