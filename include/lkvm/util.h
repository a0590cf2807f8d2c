/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Small shared helpers: fixed-width types, alignment and overflow
 * arithmetic, and the error-message buffer that library code fills in
 * instead of printing (only builtin-*.c and main.c talk to the user).
 */
#ifndef LKVM_UTIL_H
#define LKVM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)		(((x) + ((a) - 1)) & ~((u64)(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((u64)(a) - 1))
#define IS_ALIGNED(x, a)	(((x) & ((u64)(a) - 1)) == 0)
#define MIN(a, b)		((a) < (b) ? (a) : (b))
#define MAX(a, b)		((a) > (b) ? (a) : (b))
#define BIT(n)			(1ULL << (n))
#define GENMASK(h, l)		((~0ULL << (l)) & (~0ULL >> (63 - (h))))

#define SZ_KiB			1024ULL
#define SZ_MiB			(1024ULL * SZ_KiB)
#define SZ_GiB			(1024ULL * SZ_MiB)

/*
 * The kernel's shorthands.  Reserved names, but neither glibc nor the
 * vendored UAPI headers define them as macros, hence the NOLINT.
 */
/* NOLINTBEGIN(bugprone-reserved-identifier, cert-dcl37-c, cert-dcl51-cpp) */
#define __printf(a, b)		__attribute__((format(printf, a, b)))
#define __unused		__attribute__((unused))
/* NOLINTEND(bugprone-reserved-identifier, cert-dcl37-c, cert-dcl51-cpp) */

/*
 * An error description filled in by library code alongside its -errno
 * return, so that the caller can show the user what failed and how to fix
 * it.  An empty message means the errno says it all.
 */
struct lkvm_err {
	char msg[512];
};

/* Sets err->msg (if err is non-NULL) and returns -errnum, for "return seterr(...)". */
int seterr(struct lkvm_err *err, int errnum, const char *fmt, ...) __printf(3, 4);

/* Overflow-checked a + b; returns false if it wraps. */
static inline bool add_ok(u64 a, u64 b, u64 *sum)
{
	return !__builtin_add_overflow(a, b, sum);
}

/* Number of bits needed to address [0, end): the position of the top bit of end - 1, plus one. */
static inline unsigned int addr_bits(u64 end)
{
	if (end <= 1)
		return 1;
	return 64 - (unsigned int)__builtin_clzll(end - 1);
}

/*
 * Parses a size like "512", "512M", "1G", "0x1000" with binary suffixes
 * B K M G T P (case-insensitive).  A bare number is multiplied by
 * @default_unit.  Returns 0, or -EINVAL for malformed input and -ERANGE
 * when the value does not fit in 64 bits.
 */
int parse_size(const char *s, u64 default_unit, u64 *out);

/* Parses an unsigned decimal or 0x-hex integer no larger than @max. */
int parse_uint(const char *s, u64 max, u64 *out);

/* Monotonic time in nanoseconds. */
u64 now_ns(void);

#endif /* LKVM_UTIL_H */
