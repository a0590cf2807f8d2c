// SPDX-License-Identifier: GPL-2.0-only
/*
 * JSON for the control socket (RFC 8259): the writer a guest's lkvm
 * answers with, and the reader the commands use on those answers.  The
 * reader is a recursive descent over the text with a depth limit; it
 * builds nothing, so a hostile answer costs at most one pass per use.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/json.h"

#define TEXT_COLUMNS	100	/* json__print_text() packs scalars into lines this wide */
#define WORD_MAX	256	/* a scalar longer than this is printed cut */

/* ---- the writer ---------------------------------------------------------- */

void json__init(struct json *j, size_t max)
{
	memset(j, 0, sizeof(*j));
	j->max = max;
}

void json__free(struct json *j)
{
	free(j->buf);
	j->buf = NULL;
	j->len = j->cap = 0;
}

const char *json__text(const struct json *j)
{
	return j->failed || !j->len || j->depth ? NULL : j->buf;
}

static void put(struct json *j, const char *s, size_t n)
{
	size_t need;

	if (j->failed)
		return;
	if (!add_ok(j->len, n + 1, &need) || need > j->max) {
		j->failed = true;
		return;
	}
	if (need > j->cap) {
		size_t cap = MAX(MAX(j->cap * 2, need), (size_t)256);
		char *nb;

		cap = MIN(cap, j->max);
		nb = realloc(j->buf, cap);
		if (!nb) {
			j->failed = true;
			return;
		}
		j->buf = nb;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

static void puts_(struct json *j, const char *s)
{
	put(j, s, strlen(s));
}

static void put_string(struct json *j, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	put(j, "\"", 1);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		char esc[7] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15], 0 };

		switch (ch) {
		case '"': puts_(j, "\\\""); break;
		case '\\': puts_(j, "\\\\"); break;
		case '\n': puts_(j, "\\n"); break;
		case '\r': puts_(j, "\\r"); break;
		case '\t': puts_(j, "\\t"); break;
		default:
			if (ch < 0x20)
				puts_(j, esc);
			else
				put(j, s, 1);
			break;
		}
	}
	put(j, "\"", 1);
}

/* The comma before a value and, inside an object, its member name. */
static void member(struct json *j, const char *key)
{
	if (j->more[j->depth])
		put(j, ",", 1);
	j->more[j->depth] = true;
	if (key) {
		put_string(j, key);
		put(j, ":", 1);
	}
}

static void open_(struct json *j, const char *key, const char *bracket)
{
	member(j, key);
	if (j->depth == JSON_MAX_DEPTH) {
		j->failed = true;
		return;
	}
	puts_(j, bracket);
	j->more[++j->depth] = false;
}

static void close_(struct json *j, const char *bracket)
{
	if (!j->depth) {
		j->failed = true;
		return;
	}
	puts_(j, bracket);
	j->depth--;
}

void json__obj_begin(struct json *j, const char *key)
{
	open_(j, key, "{");
}

void json__obj_end(struct json *j)
{
	close_(j, "}");
}

void json__arr_begin(struct json *j, const char *key)
{
	open_(j, key, "[");
}

void json__arr_end(struct json *j)
{
	close_(j, "]");
}

void json__str(struct json *j, const char *key, const char *s)
{
	member(j, key);
	put_string(j, s ? s : "");
}

static void __printf(3, 4) putf(struct json *j, const char *key, const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	member(j, key);
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	puts_(j, buf);
}

void json__u64(struct json *j, const char *key, u64 v)
{
	putf(j, key, "%llu", (unsigned long long)v);
}

void json__s64(struct json *j, const char *key, s64 v)
{
	putf(j, key, "%lld", (long long)v);
}

void json__hex(struct json *j, const char *key, u64 v)
{
	putf(j, key, "\"0x%llx\"", (unsigned long long)v);
}

void json__bool(struct json *j, const char *key, bool v)
{
	member(j, key);
	puts_(j, v ? "true" : "false");
}

void json__fixed(struct json *j, const char *key, double v, unsigned int decimals)
{
	if (!isfinite(v)) {
		member(j, key);
		puts_(j, "null");
		return;
	}
	putf(j, key, "%.*f", (int)MIN(decimals, 9U), v);
}

/* ---- the reader ---------------------------------------------------------- */

struct cur {
	const char *p;
	const char *end;
	unsigned int depth;
};

enum kind { K_BAD, K_OBJ, K_ARR, K_STR, K_NUM, K_LIT };

static void ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static enum kind peek(struct cur *c)
{
	ws(c);
	if (c->p >= c->end)
		return K_BAD;
	switch (*c->p) {
	case '{': return K_OBJ;
	case '[': return K_ARR;
	case '"': return K_STR;
	case 't': case 'f': case 'n': return K_LIT;
	default:
		return *c->p == '-' || (*c->p >= '0' && *c->p <= '9') ? K_NUM : K_BAD;
	}
}

/* Appends a byte to a bounded output (which stays NUL-terminated); false once full. */
struct out {
	char *buf;
	size_t cap;
	size_t len;
	bool full;
};

static void out_byte(struct out *o, char ch)
{
	if (!o || !o->buf)
		return;
	if (o->len + 1 >= o->cap) {
		o->full = true;
		return;
	}
	o->buf[o->len++] = ch;
	o->buf[o->len] = '\0';
}

static void out_utf8(struct out *o, unsigned long cp)
{
	if (cp == 0) {
		out_byte(o, '?');
	} else if (cp < 0x80) {
		out_byte(o, (char)cp);
	} else if (cp < 0x800) {
		out_byte(o, (char)(0xc0 | (cp >> 6)));
		out_byte(o, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		out_byte(o, (char)(0xe0 | (cp >> 12)));
		out_byte(o, (char)(0x80 | ((cp >> 6) & 0x3f)));
		out_byte(o, (char)(0x80 | (cp & 0x3f)));
	} else {
		out_byte(o, (char)(0xf0 | (cp >> 18)));
		out_byte(o, (char)(0x80 | ((cp >> 12) & 0x3f)));
		out_byte(o, (char)(0x80 | ((cp >> 6) & 0x3f)));
		out_byte(o, (char)(0x80 | (cp & 0x3f)));
	}
}

static int hex4(struct cur *c, unsigned long *v)
{
	*v = 0;
	if (c->end - c->p < 4)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		char h = *c->p++;

		*v <<= 4;
		if (h >= '0' && h <= '9')
			*v |= (unsigned long)(h - '0');
		else if (h >= 'a' && h <= 'f')
			*v |= (unsigned long)(h - 'a' + 10);
		else if (h >= 'A' && h <= 'F')
			*v |= (unsigned long)(h - 'A' + 10);
		else
			return -EINVAL;
	}
	return 0;
}

/* A string (RFC 8259 §7), unescaped into @o (NULL: just checked). */
static int string(struct cur *c, struct out *o)
{
	c->p++;		/* the opening quote, seen by peek() */
	while (c->p < c->end) {
		unsigned char ch = (unsigned char)*c->p++;
		unsigned long cp, lo;

		if (ch == '"')
			return 0;
		if (ch < 0x20)
			return -EINVAL;		/* control characters (NUL too) must be escaped */
		if (ch != '\\') {
			out_byte(o, (char)ch);
			continue;
		}
		if (c->p >= c->end)
			return -EINVAL;
		switch (*c->p++) {
		case '"': out_byte(o, '"'); break;
		case '\\': out_byte(o, '\\'); break;
		case '/': out_byte(o, '/'); break;
		case 'b': out_byte(o, '\b'); break;
		case 'f': out_byte(o, '\f'); break;
		case 'n': out_byte(o, '\n'); break;
		case 'r': out_byte(o, '\r'); break;
		case 't': out_byte(o, '\t'); break;
		case 'u':
			if (hex4(c, &cp))
				return -EINVAL;
			/* A surrogate pair is one code point; a lone half is shown as '?'. */
			if (cp >= 0xd800 && cp < 0xdc00 && c->end - c->p >= 6 && c->p[0] == '\\' &&
			    c->p[1] == 'u') {
				struct cur save = *c;

				c->p += 2;
				if (hex4(c, &lo))
					return -EINVAL;
				if (lo >= 0xdc00 && lo < 0xe000)
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				else
					*c = save;
			}
			out_utf8(o, cp >= 0xd800 && cp < 0xe000 ? 0 : cp);
			break;
		default:
			return -EINVAL;
		}
	}
	return -EINVAL;
}

static bool digit(const struct cur *c)
{
	return c->p < c->end && *c->p >= '0' && *c->p <= '9';
}

/* A number (RFC 8259 §6), copied as written into @o. */
static int number(struct cur *c, struct out *o)
{
	const char *start = c->p;

	if (*c->p == '-')
		c->p++;
	if (!digit(c))
		return -EINVAL;
	if (*c->p == '0')
		c->p++;
	else
		while (digit(c))
			c->p++;
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		if (!digit(c))
			return -EINVAL;
		while (digit(c))
			c->p++;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (!digit(c))
			return -EINVAL;
		while (digit(c))
			c->p++;
	}
	for (const char *s = start; s < c->p; s++)
		out_byte(o, *s);
	return 0;
}

static int literal(struct cur *c, struct out *o)
{
	static const char *const words[] = { "true", "false", "null" };

	for (unsigned int i = 0; i < ARRAY_SIZE(words); i++) {
		size_t n = strlen(words[i]);

		if ((size_t)(c->end - c->p) >= n && !memcmp(c->p, words[i], n)) {
			c->p += n;
			for (size_t k = 0; k < n; k++)
				out_byte(o, words[i][k]);
			return 0;
		}
	}
	return -EINVAL;
}

/* A scalar into @o. */
static int scalar(struct cur *c, struct out *o)
{
	switch (peek(c)) {
	case K_STR: return string(c, o);
	case K_NUM: return number(c, o);
	case K_LIT: return literal(c, o);
	default: return -EINVAL;
	}
}

static int value(struct cur *c); /* NOLINT(misc-no-recursion) */

/*
 * Steps over the next member of an object, or element of an array, with
 * the comma or the closing bracket after it.  *@done is set at the end.
 * For an object the member's name goes into @key (NULL: dropped).
 */
static int next_item(struct cur *c, bool obj, bool first, struct out *key, bool *done)
{
	*done = false;
	ws(c);
	if (c->p >= c->end)
		return -EINVAL;
	if (*c->p == (obj ? '}' : ']')) {
		if (!first)
			return -EINVAL;		/* a trailing comma */
		c->p++;
		*done = true;
		return 0;
	}
	if (obj) {
		if (peek(c) != K_STR || string(c, key))
			return -EINVAL;
		ws(c);
		if (c->p >= c->end || *c->p != ':')
			return -EINVAL;
		c->p++;
	}
	return 0;
}

/* After an item's value: a comma (more follow) or the closing bracket (*@done). */
static int after_item(struct cur *c, bool obj, bool *done)
{
	ws(c);
	if (c->p >= c->end)
		return -EINVAL;
	if (*c->p == ',') {
		c->p++;
		*done = false;
		return 0;
	}
	if (*c->p != (obj ? '}' : ']'))
		return -EINVAL;
	c->p++;
	*done = true;
	return 0;
}

/* Recursion is bounded: c->depth stops at JSON_MAX_DEPTH. */
static int container(struct cur *c, bool obj) /* NOLINT(misc-no-recursion) */
{
	bool done = false, first = true;
	int r;

	if (++c->depth > JSON_MAX_DEPTH)
		return -EINVAL;
	c->p++;
	for (;;) {
		r = next_item(c, obj, first, NULL, &done);
		if (r || done)
			break;
		r = value(c);
		if (!r)
			r = after_item(c, obj, &done);
		if (r || done)
			break;
		first = false;
	}
	c->depth--;
	return r;
}

static int value(struct cur *c) /* NOLINT(misc-no-recursion): as container() */
{
	switch (peek(c)) {
	case K_OBJ: return container(c, true);
	case K_ARR: return container(c, false);
	case K_BAD: return -EINVAL;
	default: return scalar(c, NULL);
	}
}

int json__check(const char *text, size_t len)
{
	struct cur c;

	if (!text || memchr(text, '\0', len))
		return -EINVAL;
	c = (struct cur){ text, text + len, 0 };
	if (value(&c))
		return -EINVAL;
	ws(&c);
	return c.p == c.end ? 0 : -EINVAL;
}

int json__get(const char *text, size_t len, const char *key, char *out, size_t outlen)
{
	struct cur c = { text, text + len, 1 };
	bool done = false, first = true;
	char name[128];

	if (json__check(text, len) || peek(&c) != K_OBJ || !outlen)
		return -EINVAL;
	c.p++;
	for (;;) {
		struct out k = { name, sizeof(name), 0, false };

		name[0] = '\0';
		if (next_item(&c, true, first, &k, &done) || done)
			return -ENOENT;
		if (!k.full && !strcmp(name, key)) {
			struct out o = { out, outlen, 0, false };

			out[0] = '\0';
			if (peek(&c) == K_OBJ || peek(&c) == K_ARR || scalar(&c, &o))
				return -EINVAL;
			return o.full ? -ENOSPC : 0;
		}
		if (value(&c) || after_item(&c, true, &done) || done)
			return -ENOENT;
		first = false;
	}
}

/* ---- text for people ------------------------------------------------------ */

struct pack {
	FILE *f;
	unsigned int indent;
	size_t col;
};

static void pack_word(struct pack *pk, const char *w)
{
	size_t n = strlen(w);

	if (pk->col && pk->col + 1 + n > TEXT_COLUMNS) {
		fputc('\n', pk->f);
		pk->col = 0;
	}
	if (!pk->col) {
		fprintf(pk->f, "%*s", (int)pk->indent, "");
		pk->col = pk->indent;
	} else {
		fputc(' ', pk->f);
		pk->col++;
	}
	for (const char *s = w; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, pk->f);
	pk->col += n;
}

static void pack_end(struct pack *pk)
{
	if (pk->col)
		fputc('\n', pk->f);
	pk->col = 0;
}

static void heading(FILE *f, unsigned int indent, const char *label, const char *rest)
{
	fprintf(f, "%*s%s:%s\n", (int)indent, "", label, rest);
}

/*
 * One object or array, cursor on its bracket.  An object under @label
 * prints "label:" and its members one level in: the scalars packed, then
 * each container under its name.  An array prints its scalars packed
 * under "label:", and each container element at the array's own level as
 * "label[i]".
 */
/* NOLINTNEXTLINE(misc-no-recursion): the text was checked by json__check(), depth and all */
static int print_container(struct cur *c, FILE *f, unsigned int indent, const char *label)
{
	bool obj = peek(c) == K_OBJ, done = false, first;
	unsigned int inner = label ? indent + 2 : indent, idx, items = 0, scalars = 0;
	struct pack pk = { f, inner, 0 };
	struct cur start;

	if (obj && label)
		heading(f, indent, label, "");
	c->p++;
	start = *c;
	/* Pass 1: scalars. */
	for (first = true;; first = false) {
		char key[128] = "", val[WORD_MAX] = "", word[sizeof(key) + WORD_MAX + 1];
		struct out k = { key, sizeof(key), 0, false };
		struct out v = { val, sizeof(val), 0, false };
		enum kind kd;

		if (next_item(c, obj, first, &k, &done) || done)
			break;
		items++;
		kd = peek(c);
		if (kd == K_OBJ || kd == K_ARR) {
			if (value(c))
				return -EINVAL;
		} else {
			if (scalar(c, &v))
				return -EINVAL;
			if (!scalars++ && label && !obj)
				heading(f, indent, label, "");
			if (obj)
				snprintf(word, sizeof(word), "%s=%s", key, val);
			else
				snprintf(word, sizeof(word), "%s", val);
			pack_word(&pk, word);
		}
		if (after_item(c, obj, &done) || done)
			break;
	}
	pack_end(&pk);
	if (!items && label && !obj)
		heading(f, indent, label, " (none)");
	/* Pass 2: containers. */
	*c = start;
	for (first = true, idx = 0;; first = false, idx++) {
		char key[128] = "", sub[160];
		struct out k = { key, sizeof(key), 0, false };
		enum kind kd;

		if (next_item(c, obj, first, &k, &done) || done)
			break;
		kd = peek(c);
		if (kd == K_OBJ || kd == K_ARR) {
			int r;

			if (obj)
				snprintf(sub, sizeof(sub), "%s", key);
			else
				snprintf(sub, sizeof(sub), "%s[%u]", label ? label : "", idx);
			r = print_container(c, f, obj ? inner : indent, sub);
			if (r)
				return r;
		} else if (scalar(c, NULL)) {
			return -EINVAL;
		}
		if (after_item(c, obj, &done) || done)
			break;
	}
	return 0;
}

int json__print_text(const char *text, size_t len, FILE *f)
{
	struct cur c = { text, text + len, 0 };
	char val[WORD_MAX] = "";
	struct out v = { val, sizeof(val), 0, false };
	struct pack pk = { f, 0, 0 };

	if (json__check(text, len))
		return -EINVAL;
	if (peek(&c) == K_OBJ || peek(&c) == K_ARR)
		return print_container(&c, f, 0, NULL);
	if (scalar(&c, &v))
		return -EINVAL;
	pack_word(&pk, val);
	pack_end(&pk);
	return 0;
}
