/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * JSON (RFC 8259) for the control socket: a writer that builds one value
 * in a growing, bounded buffer (what a guest's lkvm answers), and a small
 * reader for what the commands do with an answer (check it, pick a
 * top-level member, print it as indented text).  Nothing here knows the
 * protocol; lkvm/control.h does.
 */
#ifndef LKVM_JSON_H
#define LKVM_JSON_H

#include <stdbool.h>
#include <stdio.h>

#include "lkvm/util.h"

#define JSON_MAX_DEPTH		16	/* nesting the writer and the reader take */

/*
 * A value being written.  Members are written in order; the writer puts
 * the commas and the quotes.  Inside an object every call names its
 * member (@key non-NULL); inside an array, or for the top-level value,
 * @key is NULL.  A writer that runs out of memory, passes @max bytes or
 * nests too deep stops writing and sets @failed: the text is then not to
 * be used (json__text() returns NULL).
 */
struct json {
	char *buf;
	size_t len;
	size_t cap;
	size_t max;
	bool failed;
	unsigned int depth;
	bool more[JSON_MAX_DEPTH + 1];	/* a value was written at this depth: next needs a comma */
};

/* An empty writer holding at most @max bytes of text. */
void json__init(struct json *j, size_t max);
/* Frees the buffer; @j may be reused after json__init(). */
void json__free(struct json *j);
/* The text written (NUL-terminated), or NULL if the writer failed or wrote nothing. */
const char *json__text(const struct json *j);

void json__obj_begin(struct json *j, const char *key);
void json__obj_end(struct json *j);
void json__arr_begin(struct json *j, const char *key);
void json__arr_end(struct json *j);
/* A string, escaped as RFC 8259 §7 says; bytes >= 0x80 are passed through as they are. */
void json__str(struct json *j, const char *key, const char *s);
void json__u64(struct json *j, const char *key, u64 v);
void json__s64(struct json *j, const char *key, s64 v);
/* @v as a "0x..." string: registers and addresses, read by people. */
void json__hex(struct json *j, const char *key, u64 v);
void json__bool(struct json *j, const char *key, bool v);
/* A number with @decimals digits after the point (seconds, MiB). */
void json__fixed(struct json *j, const char *key, double v, unsigned int decimals);

/*
 * Whether @text[0, @len) is exactly one JSON value (whitespace around it
 * allowed), nested at most JSON_MAX_DEPTH deep, with no NUL byte.
 * Returns 0 or -EINVAL.
 */
int json__check(const char *text, size_t len);

/*
 * Finds member @key of the top-level object @text[0, @len) and copies its
 * value into @out (NUL-terminated): a string unescaped (\u escapes as
 * UTF-8, a NUL one as '?'), a number, true, false or null as written.
 * Returns 0; -ENOENT if there is no such member; -EINVAL if @text is not
 * an object or the member is an object or array; -ENOSPC if @out is too
 * small (it then holds a truncated value).
 */
int json__get(const char *text, size_t len, const char *key, char *out, size_t outlen);

/*
 * Prints the value @text[0, @len) for people onto @f: in each object its
 * scalar members come first, packed as "key=value" words in lines of at
 * most 100 columns, then each object or array member under a "key:"
 * heading, indented by two; an array of objects prints each element under
 * "key[i]:".  Strings are printed unquoted, control characters as '?'.
 * Returns 0, or -EINVAL (nothing printed) if @text is not valid JSON.
 */
int json__print_text(const char *text, size_t len, FILE *f);

#endif /* LKVM_JSON_H */
