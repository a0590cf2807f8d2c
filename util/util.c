// SPDX-License-Identifier: GPL-2.0-only
/*
 * Number parsing, error-message buffers and the clock: the small pieces
 * every other file leans on.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lkvm/util.h"

int seterr(struct lkvm_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -errnum;
}

/* Decimal, or hex after 0x: a leading zero is not octal (-m 0512 is 512). */
static int base_of(const char *s)
{
	return s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10;
}

int parse_uint(const char *s, u64 max, u64 *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base_of(s));
	if (errno == ERANGE || v > max)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_size(const char *s, u64 default_unit, u64 *out)
{
	unsigned long long v;
	u64 unit = default_unit;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base_of(s));
	if (errno == ERANGE)
		return -ERANGE;
	if (*end) {
		switch (toupper((unsigned char)*end)) {
		case 'B': unit = 1; break;
		case 'K': unit = SZ_KiB; break;
		case 'M': unit = SZ_MiB; break;
		case 'G': unit = SZ_GiB; break;
		case 'T': unit = SZ_GiB * 1024; break;
		case 'P': unit = SZ_GiB * 1024 * 1024; break;
		default: return -EINVAL;
		}
		end++;
		/* Accept "512MB", "1GiB" spellings, nothing else after the unit. */
		if (unit != 1 && (*end == 'i' || *end == 'I'))
			end++;
		if (unit != 1 && (*end == 'b' || *end == 'B'))
			end++;
		if (*end)
			return -EINVAL;
	}
	if (__builtin_mul_overflow((u64)v, unit, out))
		return -ERANGE;
	return 0;
}

u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}
