/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Command-line helpers for the test payload: splitting /chosen/bootargs
 * into tokens and parsing the hex addresses of "touch=0xADDR" and the
 * decimal numbers of "exit-status=N" and "initrd-bytes=N".  Pure
 * functions over (pointer, length) pairs, because a bootargs property is
 * not guaranteed to be NUL-terminated; shared with the host-side test.
 */
#ifndef LKVM_GUEST_ARGS_H
#define LKVM_GUEST_ARGS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Next token of [*@pos, @end), tokens being separated by spaces, tabs or
 * newlines, and the string ending early at a NUL.  Returns its start and
 * stores its length in *@len, advancing *@pos past it; NULL when no token
 * is left.
 */
const char *args_next(const char **pos, const char *end, size_t *len);

/*
 * If token [@tok, @tok+@len) starts with @prefix, return the length of
 * @prefix, else 0.
 */
size_t args_prefix(const char *tok, size_t len, const char *prefix);

/*
 * Parse exactly [@s, @s+@len) as "0x" (or "0X") and 1 to 16 hex digits.
 * Returns 0 and stores the value, or -1 if anything else is there.
 */
int args_parse_hex(const char *s, size_t len, uint64_t *val);

/*
 * Parse exactly [@s, @s+@len) as 1 to 19 decimal digits (at most
 * 9999999999999999999, which fits 64 bits).  Returns 0 and stores the
 * value, or -1 if anything else is there.
 */
int args_parse_dec(const char *s, size_t len, uint64_t *val);

#endif /* LKVM_GUEST_ARGS_H */
