// SPDX-License-Identifier: GPL-2.0-only
/*
 * The snapshot file format (docs/snapshot.md; the layout is in
 * lkvm/snapshot.h): the writer that builds a state file in memory, the
 * parser that checks one before any of it is used, each section's encode
 * and decode, and the atomic file write.  Pure: no KVM.  The CRC is
 * zlib's CRC-32 (ISO-HDLC, as gzip's), over each payload and the header.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "lkvm/snapshot.h"

/* Header field offsets (docs/snapshot.md, "Header"). */
#define H_MAGIC		0
#define H_VERSION	8
#define H_HDR_SIZE	12
#define H_ARCH		16
#define H_PAGE_SIZE	20
#define H_KVM_API	24
#define H_IPA_MAX	28
#define H_FLAGS		32
#define H_NR_SEC	36
#define H_TOTAL		40
#define H_CREATED	48
#define H_CRC		56
#define H_RESERVED	60

/* Section header offsets. */
#define S_TYPE		0
#define S_ID		4
#define S_LEN		8
#define S_CRC		16
#define S_RESERVED	20

static const char *const fault_names[SNAP_NR_FAULTS] = {
	[SNAP_OK] = "ok",
	[SNAP_FAULT_TRUNCATED] = "truncated",
	[SNAP_FAULT_MAGIC] = "not an lkvm snapshot",
	[SNAP_FAULT_VERSION] = "another version",
	[SNAP_FAULT_CORRUPT] = "corrupt",
	[SNAP_FAULT_MALFORMED] = "malformed",
	[SNAP_FAULT_MISSING] = "incomplete",
	[SNAP_FAULT_HOST] = "another kind of host",
	[SNAP_FAULT_IO] = "unreadable",
};

static const char *const section_names[SNAP_SEC_MAX + 1] = {
	[SNAP_SEC_CONFIG] = "config",
	[SNAP_SEC_VM] = "vm",
	[SNAP_SEC_VCPU] = "vcpu",
	[SNAP_SEC_KVM_DEVICE] = "kvm-device",
	[SNAP_SEC_MEMORY] = "memory",
	[SNAP_SEC_DEVICE] = "device",
};

const char *snapshot__fault_name(enum snap_fault f)
{
	return (unsigned int)f < SNAP_NR_FAULTS ? fault_names[f] : "?";
}

static const char *sec_name(u32 type)
{
	return type && type <= SNAP_SEC_MAX ? section_names[type] : "unknown";
}

static u32 rd32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static u64 rd64(const u8 *p)
{
	return (u64)rd32(p) | (u64)rd32(p + 4) << 32;
}

static void wr32(u8 *p, u32 v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (u8)(v >> (8 * i));
}

static void wr64(u8 *p, u64 v)
{
	wr32(p, (u32)v);
	wr32(p + 4, (u32)(v >> 32));
}

/* zlib's crc32 (continuing from @crc) takes a uInt length: feed it in pieces. */
static u32 crc_more(uLong crc, const u8 *p, size_t len)
{
	while (len) {
		uInt n = len > (size_t)UINT_MAX ? UINT_MAX : (uInt)len;

		crc = crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return (u32)crc;
}

static u32 crc_of(const u8 *p, size_t len)
{
	return crc_more(crc32(0L, Z_NULL, 0), p, len);
}

/* A section's CRC: over its header's type, id and length, then its payload. */
static u32 section_crc(const u8 *h, size_t len)
{
	return crc_more(crc32(0L, h, S_CRC), h + SNAP_SECTION_HDR_SIZE, len);
}

/* The header's CRC: over its 64 bytes with the CRC field taken as zero. */
static u32 header_crc(const u8 *h)
{
	u8 tmp[SNAP_HEADER_SIZE];

	memcpy(tmp, h, sizeof(tmp));
	wr32(tmp + H_CRC, 0);
	return crc_of(tmp, sizeof(tmp));
}

/* ---- writing ----------------------------------------------------------- */

static u8 *grow(struct snap_writer *w, size_t n)
{
	u8 *p;

	if (w->nomem)
		return NULL;
	if (n > SIZE_MAX - w->len) {
		w->nomem = true;
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		u8 *nb;

		while (cap < w->len + n)
			cap = cap > SIZE_MAX / 2 ? w->len + n : cap * 2;
		nb = realloc(w->buf, cap);
		if (!nb) {
			w->nomem = true;
			return NULL;
		}
		w->buf = nb;
		w->cap = cap;
	}
	p = w->buf + w->len;
	w->len += n;
	return p;
}

void snapshot__writer_init(struct snap_writer *w, const struct snap_host *host)
{
	u8 *h;

	memset(w, 0, sizeof(*w));
	h = grow(w, SNAP_HEADER_SIZE);
	if (!h)
		return;
	memset(h, 0, SNAP_HEADER_SIZE);
	memcpy(h + H_MAGIC, SNAP_MAGIC, 8);
	wr32(h + H_VERSION, SNAP_VERSION);
	wr32(h + H_HDR_SIZE, SNAP_HEADER_SIZE);
	wr32(h + H_ARCH, host->arch);
	wr32(h + H_PAGE_SIZE, host->page_size);
	wr32(h + H_KVM_API, host->kvm_api);
	wr32(h + H_IPA_MAX, host->ipa_max);
	wr32(h + H_FLAGS, host->flags);
	wr64(h + H_CREATED, host->created_ns);
}

void snapshot__section_begin(struct snap_writer *w, u32 type, u32 id)
{
	u8 *h;

	if (w->in_section) {
		w->nomem = true;	/* a programmer's error: finish reports it */
		return;
	}
	w->sec_start = w->len;
	w->in_section = true;
	h = grow(w, SNAP_SECTION_HDR_SIZE);
	if (!h)
		return;
	memset(h, 0, SNAP_SECTION_HDR_SIZE);
	wr32(h + S_TYPE, type);
	wr32(h + S_ID, id);
}

void snapshot__put_u32(struct snap_writer *w, u32 v)
{
	u8 *p = grow(w, 4);

	if (p)
		wr32(p, v);
}

void snapshot__put_u64(struct snap_writer *w, u64 v)
{
	u8 *p = grow(w, 8);

	if (p)
		wr64(p, v);
}

void snapshot__put_bytes(struct snap_writer *w, const void *src, size_t len)
{
	u8 *p = len ? grow(w, len) : NULL;

	if (p)
		memcpy(p, src, len);
}

void snapshot__put_align(struct snap_writer *w)
{
	size_t off = w->len - w->sec_start - SNAP_SECTION_HDR_SIZE;
	size_t pad = (size_t)(ALIGN_UP(off, 8) - off);
	u8 *p = pad ? grow(w, pad) : NULL;

	if (p)
		memset(p, 0, pad);
}

void snapshot__section_end(struct snap_writer *w)
{
	size_t len;

	if (!w->in_section || w->nomem) {
		w->in_section = false;
		return;
	}
	len = w->len - w->sec_start - SNAP_SECTION_HDR_SIZE;
	wr64(w->buf + w->sec_start + S_LEN, len);
	wr32(w->buf + w->sec_start + S_CRC, section_crc(w->buf + w->sec_start, len));
	snapshot__put_align(w);
	w->in_section = false;
	w->nr_sections++;
}

int snapshot__writer_finish(struct snap_writer *w, struct lkvm_err *err)
{
	if (w->in_section)
		return seterr(err, EINVAL, "snapshot: a section was left open");
	if (w->nomem || !w->buf)
		return seterr(err, ENOMEM, "snapshot: out of memory building the state file");
	wr32(w->buf + H_NR_SEC, w->nr_sections);
	wr64(w->buf + H_TOTAL, w->len);
	wr32(w->buf + H_CRC, header_crc(w->buf));
	return 0;
}

void snapshot__writer_free(struct snap_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

/* ---- reading ----------------------------------------------------------- */

static int refuse(struct snap_reader *r, enum snap_fault f, struct lkvm_err *err,
		  const char *fmt, ...) __printf(4, 5);

static int refuse(struct snap_reader *r, enum snap_fault f, struct lkvm_err *err,
		  const char *fmt, ...)
{
	va_list ap;

	r->fault = f;
	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int snapshot__parse(struct snap_reader *r, const void *buf, size_t len, struct lkvm_err *err)
{
	const u8 *b = buf;
	u32 version, hdr_size, nr;
	u64 total, off;

	memset(r, 0, sizeof(*r));
	if (!len)
		return refuse(r, SNAP_FAULT_TRUNCATED, err, "truncated: an empty file");
	if (memcmp(b + H_MAGIC, SNAP_MAGIC, MIN(len, 8)) != 0)
		return refuse(r, SNAP_FAULT_MAGIC, err, "not an lkvm snapshot (no \"%s\" at its "
			      "start)", SNAP_MAGIC);
	if (len < H_VERSION + 4)
		return refuse(r, SNAP_FAULT_TRUNCATED, err, "truncated: %zu bytes, shorter than "
			      "the %u-byte header", len, SNAP_HEADER_SIZE);
	version = rd32(b + H_VERSION);
	if (version != SNAP_VERSION)
		return refuse(r, SNAP_FAULT_VERSION, err, "format version %u; this lkvm reads "
			      "version %u only (take the snapshot again with this lkvm)", version,
			      SNAP_VERSION);
	if (len < SNAP_HEADER_SIZE)
		return refuse(r, SNAP_FAULT_TRUNCATED, err, "truncated: %zu bytes, shorter than "
			      "the %u-byte header", len, SNAP_HEADER_SIZE);
	hdr_size = rd32(b + H_HDR_SIZE);
	if (hdr_size != SNAP_HEADER_SIZE || rd32(b + H_RESERVED))
		return refuse(r, SNAP_FAULT_MALFORMED, err, "malformed header (size %u, expected "
			      "%u; reserved field %#x)", hdr_size, SNAP_HEADER_SIZE,
			      rd32(b + H_RESERVED));
	if (rd32(b + H_CRC) != header_crc(b))
		return refuse(r, SNAP_FAULT_CORRUPT, err, "corrupt: the header's CRC does not match");
	total = rd64(b + H_TOTAL);
	if (total > len)
		return refuse(r, SNAP_FAULT_TRUNCATED, err, "truncated: %zu bytes of the %llu "
			      "the header says", len, (unsigned long long)total);
	if (total < len)
		return refuse(r, SNAP_FAULT_MALFORMED, err, "%zu bytes, more than the %llu the "
			      "header says", len, (unsigned long long)total);
	nr = rd32(b + H_NR_SEC);
	if (nr > SNAP_MAX_SECTIONS)
		return refuse(r, SNAP_FAULT_MALFORMED, err, "%u sections, more than the %u a "
			      "snapshot may have", nr, SNAP_MAX_SECTIONS);
	r->version = version;
	r->host = (struct snap_host){
		.arch = rd32(b + H_ARCH), .page_size = rd32(b + H_PAGE_SIZE),
		.kvm_api = rd32(b + H_KVM_API), .ipa_max = rd32(b + H_IPA_MAX),
		.flags = rd32(b + H_FLAGS), .created_ns = rd64(b + H_CREATED),
	};
	r->sec = calloc(nr ? nr : 1, sizeof(*r->sec));
	if (!r->sec)
		return seterr(err, ENOMEM, "out of memory");

	off = SNAP_HEADER_SIZE;
	for (u32 i = 0; i < nr; i++) {
		const u8 *h = b + off;
		u64 slen, padded;
		u32 type;

		if (len - off < SNAP_SECTION_HDR_SIZE)
			return refuse(r, SNAP_FAULT_MALFORMED, err, "section %u at offset %llu: its "
				      "header runs past the end", i, (unsigned long long)off);
		type = rd32(h + S_TYPE);
		slen = rd64(h + S_LEN);
		if (!type || type > SNAP_SEC_MAX)
			return refuse(r, SNAP_FAULT_MALFORMED, err, "section %u at offset %llu: "
				      "unknown type %u", i, (unsigned long long)off, type);
		if (rd32(h + S_RESERVED))
			return refuse(r, SNAP_FAULT_MALFORMED, err, "section %u (%s): reserved field "
				      "%#x", i, sec_name(type), rd32(h + S_RESERVED));
		off += SNAP_SECTION_HDR_SIZE;
		if (slen > len - off)
			return refuse(r, SNAP_FAULT_MALFORMED, err, "section %u (%s) at offset %llu: "
				      "%llu bytes, past the end", i, sec_name(type),
				      (unsigned long long)off, (unsigned long long)slen);
		padded = ALIGN_UP(slen, 8);
		if (padded > len - off)
			return refuse(r, SNAP_FAULT_MALFORMED, err, "section %u (%s): its padding "
				      "runs past the end", i, sec_name(type));
		if (rd32(h + S_CRC) != section_crc(h, (size_t)slen))
			return refuse(r, SNAP_FAULT_CORRUPT, err, "corrupt: section %u (%s, at "
				      "offset %llu): its CRC does not match", i, sec_name(type),
				      (unsigned long long)off);
		for (u64 p = slen; p < padded; p++)
			if (b[off + p])
				return refuse(r, SNAP_FAULT_MALFORMED, err, "section %u (%s): "
					      "non-zero padding", i, sec_name(type));
		for (u32 j = 0; j < i; j++)
			if (r->sec[j].type == type && r->sec[j].id == rd32(h + S_ID))
				return refuse(r, SNAP_FAULT_MALFORMED, err, "section %u: a second "
					      "%s section %u", i, sec_name(type), rd32(h + S_ID));
		r->sec[i] = (struct snap_section){
			.type = type, .id = rd32(h + S_ID), .data = b + off, .len = (size_t)slen,
		};
		r->nr_sec = i + 1;
		off += padded;
	}
	if (off != total)
		return refuse(r, SNAP_FAULT_MALFORMED, err, "%llu bytes after the last of %u "
			      "sections", (unsigned long long)(total - off), nr);
	return 0;
}

void snapshot__reader_free(struct snap_reader *r)
{
	free(r->sec);
	r->sec = NULL;
	r->nr_sec = 0;
}

const struct snap_section *snapshot__find(const struct snap_reader *r, u32 type, u32 id)
{
	for (unsigned int i = 0; i < r->nr_sec; i++)
		if (r->sec[i].type == type && r->sec[i].id == id)
			return &r->sec[i];
	return NULL;
}

unsigned int snapshot__count(const struct snap_reader *r, u32 type)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < r->nr_sec; i++)
		n += r->sec[i].type == type;
	return n;
}

void snapshot__cursor(struct snap_cursor *c, const struct snap_section *s)
{
	c->p = s->data;
	c->n = s->len;
	c->bad = false;
}

const u8 *snapshot__get_bytes(struct snap_cursor *c, size_t len)
{
	const u8 *p = c->p;

	if (c->bad || len > c->n) {
		c->bad = true;
		return NULL;
	}
	c->p += len;
	c->n -= len;
	return p;
}

u32 snapshot__get_u32(struct snap_cursor *c)
{
	const u8 *p = snapshot__get_bytes(c, 4);

	return p ? rd32(p) : 0;
}

u64 snapshot__get_u64(struct snap_cursor *c)
{
	const u8 *p = snapshot__get_bytes(c, 8);

	return p ? rd64(p) : 0;
}

void snapshot__get_align(struct snap_cursor *c, const struct snap_section *s)
{
	size_t off = (size_t)(c->p - s->data), pad = (size_t)(ALIGN_UP(off, 8) - off);

	/* The file's padding after the payload is checked by parse: not ours to read. */
	if (pad > c->n)
		pad = c->n;
	(void)snapshot__get_bytes(c, pad);
}

/* The common ending of a get: everything read, nothing left over. */
static int get_done(const struct snap_cursor *c, const struct snap_section *s,
		    struct lkvm_err *err)
{
	if (c->bad)
		return seterr(err, EINVAL, "malformed %s section %u: %zu bytes, shorter than its "
			      "fields", sec_name(s->type), s->id, s->len);
	if (c->n)
		return seterr(err, EINVAL, "malformed %s section %u: %zu bytes after its fields",
			      sec_name(s->type), s->id, c->n);
	return 0;
}

static int wrong_type(const struct snap_section *s, u32 type, struct lkvm_err *err)
{
	if (s->type == type)
		return 0;
	return seterr(err, EINVAL, "a %s section where a %s section was expected",
		      sec_name(s->type), sec_name(type));
}

/* ---- SNAP_SEC_CONFIG -------------------------------------------------------
 * u32 argc, then argc times { u32 len, len bytes (no NUL), padding to 8 }.
 */
void snapshot__put_config(struct snap_writer *w, unsigned int argc, char *const argv[])
{
	snapshot__section_begin(w, SNAP_SEC_CONFIG, 0);
	snapshot__put_u32(w, argc);
	for (unsigned int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);

		snapshot__put_u32(w, (u32)n);
		snapshot__put_bytes(w, argv[i], n);
		snapshot__put_align(w);
	}
	snapshot__section_end(w);
}

int snapshot__get_config(const struct snap_section *s, struct snap_config *c,
			 struct lkvm_err *err)
{
	struct snap_cursor cur;
	u32 argc;
	int r = wrong_type(s, SNAP_SEC_CONFIG, err);

	memset(c, 0, sizeof(*c));
	if (r)
		return r;
	snapshot__cursor(&cur, s);
	argc = snapshot__get_u32(&cur);
	if (argc > SNAP_MAX_ARGS || argc > cur.n / 4)
		return seterr(err, EINVAL, "malformed config section: %u arguments", argc);
	c->argv = calloc((size_t)argc + 1, sizeof(*c->argv));
	if (!c->argv)
		return seterr(err, ENOMEM, "out of memory");
	for (u32 i = 0; i < argc; i++) {
		u32 n = snapshot__get_u32(&cur);
		const u8 *p = n <= SNAP_MAX_ARG_LEN ? snapshot__get_bytes(&cur, n) : NULL;

		if (!p)
			return seterr(err, EINVAL, "malformed config section: argument %u of %u "
				      "bytes runs past the end", i, n);
		if (memchr(p, '\0', n))
			return seterr(err, EINVAL, "malformed config section: argument %u has a "
				      "NUL byte", i);
		c->argv[i] = strndup((const char *)p, n);
		if (!c->argv[i])
			return seterr(err, ENOMEM, "out of memory");
		c->argc = i + 1;
		snapshot__get_align(&cur, s);
	}
	return get_done(&cur, s, err);
}

void snapshot__config_free(struct snap_config *c)
{
	if (c->argv)
		for (unsigned int i = 0; i < c->argc; i++)
			free(c->argv[i]);
	free(c->argv);
	memset(c, 0, sizeof(*c));
}

/* ---- SNAP_SEC_VM -----------------------------------------------------------
 * u32 nr_cpus, u32 flags, u32 ipa_bits, u32 irqchip, u64 counter, u64 paused_ns.
 */
void snapshot__put_vm(struct snap_writer *w, const struct snap_vm *vm)
{
	snapshot__section_begin(w, SNAP_SEC_VM, 0);
	snapshot__put_u32(w, vm->nr_cpus);
	snapshot__put_u32(w, vm->flags);
	snapshot__put_u32(w, vm->ipa_bits);
	snapshot__put_u32(w, vm->irqchip);
	snapshot__put_u64(w, vm->counter);
	snapshot__put_u64(w, vm->paused_ns);
	snapshot__section_end(w);
}

int snapshot__get_vm(const struct snap_section *s, struct snap_vm *vm, struct lkvm_err *err)
{
	struct snap_cursor c;
	int r = wrong_type(s, SNAP_SEC_VM, err);

	memset(vm, 0, sizeof(*vm));
	if (r)
		return r;
	snapshot__cursor(&c, s);
	vm->nr_cpus = snapshot__get_u32(&c);
	vm->flags = snapshot__get_u32(&c);
	vm->ipa_bits = snapshot__get_u32(&c);
	vm->irqchip = snapshot__get_u32(&c);
	vm->counter = snapshot__get_u64(&c);
	vm->paused_ns = snapshot__get_u64(&c);
	r = get_done(&c, s, err);
	if (r)
		return r;
	if (!vm->nr_cpus || vm->nr_cpus > SNAP_MAX_SECTIONS)
		return seterr(err, EINVAL, "malformed vm section: %u vCPUs", vm->nr_cpus);
	if (vm->flags & ~SNAP_VM_FLAGS)
		return seterr(err, EINVAL, "malformed vm section: unknown flags %#x",
			      vm->flags & ~(u32)SNAP_VM_FLAGS);
	if ((vm->flags & SNAP_VM_E2H0) && !(vm->flags & SNAP_VM_NESTED))
		return seterr(err, EINVAL, "malformed vm section: E2H0 without EL2");
	if (vm->ipa_bits < 32 || vm->ipa_bits > 52)
		return seterr(err, EINVAL, "malformed vm section: IPA size %u bits", vm->ipa_bits);
	return 0;
}

/* ---- SNAP_SEC_VCPU ---------------------------------------------------------
 * u32 mp_state, u32 nr_regs, then nr_regs times
 * { u64 id, u32 size, u32 0, size bytes, padding to 8 }.
 */
void snapshot__put_vcpu(struct snap_writer *w, u32 index, const struct snap_vcpu *v)
{
	snapshot__section_begin(w, SNAP_SEC_VCPU, index);
	snapshot__put_u32(w, v->mp_state);
	snapshot__put_u32(w, v->nr_regs);
	for (unsigned int i = 0; i < v->nr_regs; i++) {
		snapshot__put_u64(w, v->regs[i].id);
		snapshot__put_u32(w, v->regs[i].size);
		snapshot__put_u32(w, 0);
		snapshot__put_bytes(w, v->regs[i].val, v->regs[i].size);
		snapshot__put_align(w);
	}
	snapshot__section_end(w);
}

int snapshot__get_vcpu(const struct snap_section *s, struct snap_vcpu *v, struct lkvm_err *err)
{
	struct snap_cursor c;
	u32 nr;
	int r = wrong_type(s, SNAP_SEC_VCPU, err);

	memset(v, 0, sizeof(*v));
	if (r)
		return r;
	snapshot__cursor(&c, s);
	v->mp_state = snapshot__get_u32(&c);
	nr = snapshot__get_u32(&c);
	/* Each register takes at least 24 bytes: a count the payload can't hold is a lie. */
	if (nr > SNAP_MAX_REGS || nr > c.n / 24)
		return seterr(err, EINVAL, "malformed vcpu section %u: %u registers in %zu bytes",
			      s->id, nr, s->len);
	v->regs = calloc(nr ? nr : 1, sizeof(*v->regs));
	if (!v->regs)
		return seterr(err, ENOMEM, "out of memory");
	for (u32 i = 0; i < nr; i++) {
		struct snap_reg *reg = &v->regs[i];

		reg->id = snapshot__get_u64(&c);
		reg->size = snapshot__get_u32(&c);
		if (snapshot__get_u32(&c) && !c.bad)
			return seterr(err, EINVAL, "malformed vcpu section %u: register %#llx: "
				      "reserved field set", s->id, (unsigned long long)reg->id);
		if (!reg->size || reg->size > SNAP_MAX_REG_SIZE || (reg->size & (reg->size - 1)))
			return seterr(err, EINVAL, "malformed vcpu section %u: register %#llx of "
				      "%u bytes", s->id, (unsigned long long)reg->id, reg->size);
		reg->val = snapshot__get_bytes(&c, reg->size);
		if (!reg->val)
			return seterr(err, EINVAL, "malformed vcpu section %u: register %u of %u "
				      "runs past the end", s->id, i, nr);
		snapshot__get_align(&c, s);
		v->nr_regs = i + 1;
	}
	return get_done(&c, s, err);
}

void snapshot__vcpu_free(struct snap_vcpu *v)
{
	free(v->regs);
	memset(v, 0, sizeof(*v));
}

/* ---- SNAP_SEC_KVM_DEVICE ----------------------------------------------------
 * u32 nr, u32 0, then nr times { u32 group, u32 size, u64 attr, u64 value }
 * (a 32-bit value in the low half, the high half zero).
 */
void snapshot__put_attrs(struct snap_writer *w, u32 id, const struct snap_attrs *a)
{
	snapshot__section_begin(w, SNAP_SEC_KVM_DEVICE, id);
	snapshot__put_u32(w, a->nr);
	snapshot__put_u32(w, 0);
	for (unsigned int i = 0; i < a->nr; i++) {
		snapshot__put_u32(w, a->a[i].group);
		snapshot__put_u32(w, a->a[i].size);
		snapshot__put_u64(w, a->a[i].attr);
		snapshot__put_u64(w, a->a[i].size == 4 ? (u32)a->a[i].val : a->a[i].val);
	}
	snapshot__section_end(w);
}

int snapshot__get_attrs(const struct snap_section *s, struct snap_attrs *a, struct lkvm_err *err)
{
	struct snap_cursor c;
	u32 nr;
	int r = wrong_type(s, SNAP_SEC_KVM_DEVICE, err);

	memset(a, 0, sizeof(*a));
	if (r)
		return r;
	snapshot__cursor(&c, s);
	nr = snapshot__get_u32(&c);
	if (snapshot__get_u32(&c))
		return seterr(err, EINVAL, "malformed kvm-device section %u: reserved field set",
			      s->id);
	if (nr > SNAP_MAX_ATTRS || nr != c.n / 24 || c.n % 24)
		return seterr(err, EINVAL, "malformed kvm-device section %u: %u attributes in %zu "
			      "bytes", s->id, nr, s->len);
	a->a = calloc(nr ? nr : 1, sizeof(*a->a));
	if (!a->a)
		return seterr(err, ENOMEM, "out of memory");
	for (u32 i = 0; i < nr; i++) {
		struct snap_attr *t = &a->a[i];

		t->group = snapshot__get_u32(&c);
		t->size = snapshot__get_u32(&c);
		t->attr = snapshot__get_u64(&c);
		t->val = snapshot__get_u64(&c);
		if ((t->size != 4 && t->size != 8) || (t->size == 4 && t->val >> 32))
			return seterr(err, EINVAL, "malformed kvm-device section %u: attribute %u "
				      "(group %u) of %u bytes, value %#llx", s->id, i, t->group,
				      t->size, (unsigned long long)t->val);
		a->nr = i + 1;
	}
	return get_done(&c, s, err);
}

void snapshot__attrs_free(struct snap_attrs *a)
{
	free(a->a);
	memset(a, 0, sizeof(*a));
}

/* ---- SNAP_SEC_MEMORY -------------------------------------------------------
 * u32 page_size, u32 nr, u64 file_size, then nr times { u64 gpa, u64 size, u64 offset }.
 */
void snapshot__put_memory(struct snap_writer *w, const struct snap_memory *m)
{
	snapshot__section_begin(w, SNAP_SEC_MEMORY, 0);
	snapshot__put_u32(w, m->page_size);
	snapshot__put_u32(w, m->nr);
	snapshot__put_u64(w, m->file_size);
	for (unsigned int i = 0; i < m->nr && i < SNAP_MAX_MEM_REGIONS; i++) {
		snapshot__put_u64(w, m->r[i].gpa);
		snapshot__put_u64(w, m->r[i].size);
		snapshot__put_u64(w, m->r[i].offset);
	}
	snapshot__section_end(w);
}

int snapshot__get_memory(const struct snap_section *s, struct snap_memory *m,
			 struct lkvm_err *err)
{
	struct snap_cursor c;
	u64 file_end = 0;
	int r = wrong_type(s, SNAP_SEC_MEMORY, err);

	memset(m, 0, sizeof(*m));
	if (r)
		return r;
	snapshot__cursor(&c, s);
	m->page_size = snapshot__get_u32(&c);
	m->nr = snapshot__get_u32(&c);
	m->file_size = snapshot__get_u64(&c);
	if (m->page_size < 4096 || (m->page_size & (m->page_size - 1)))
		return seterr(err, EINVAL, "malformed memory section: page size %u", m->page_size);
	if (!m->nr || m->nr > SNAP_MAX_MEM_REGIONS)
		return seterr(err, EINVAL, "malformed memory section: %u RAM regions", m->nr);
	for (unsigned int i = 0; i < m->nr; i++) {
		struct snap_mem_region *g = &m->r[i];
		u64 gend, fend;

		g->gpa = snapshot__get_u64(&c);
		g->size = snapshot__get_u64(&c);
		g->offset = snapshot__get_u64(&c);
		if (c.bad)
			break;
		if (!g->size || !IS_ALIGNED(g->gpa | g->size | g->offset, m->page_size) ||
		    !add_ok(g->gpa, g->size, &gend) || !add_ok(g->offset, g->size, &fend))
			return seterr(err, EINVAL, "malformed memory section: region %u "
				      "(%#llx+%#llx at file offset %#llx) not page aligned or "
				      "wrapping", i, (unsigned long long)g->gpa,
				      (unsigned long long)g->size, (unsigned long long)g->offset);
		if (g->offset < file_end || fend > m->file_size)
			return seterr(err, EINVAL, "malformed memory section: region %u at file "
				      "offset %#llx overlaps another or ends past the file's %llu "
				      "bytes", i, (unsigned long long)g->offset,
				      (unsigned long long)m->file_size);
		for (unsigned int j = 0; j < i; j++)
			if (g->gpa < m->r[j].gpa + m->r[j].size && m->r[j].gpa < gend)
				return seterr(err, EINVAL, "malformed memory section: regions %u "
					      "and %u overlap in guest memory", j, i);
		file_end = fend;
	}
	return get_done(&c, s, err);
}

/* ---- SNAP_SEC_DEVICE -------------------------------------------------------
 * u32 name_len, name (no NUL), padding to 8, u32 version, u32 state_len,
 * state, padding to 8.
 */
void snapshot__put_device(struct snap_writer *w, u32 index, const char *name, u32 version,
			  const void *state, size_t len)
{
	size_t n = strnlen(name, SNAP_DEVICE_NAME_MAX - 1);

	snapshot__section_begin(w, SNAP_SEC_DEVICE, index);
	snapshot__put_u32(w, (u32)n);
	snapshot__put_bytes(w, name, n);
	snapshot__put_align(w);
	snapshot__put_u32(w, version);
	snapshot__put_u32(w, (u32)len);
	snapshot__put_bytes(w, state, len);
	snapshot__put_align(w);
	snapshot__section_end(w);
}

int snapshot__get_device(const struct snap_section *s, struct snap_device *d,
			 struct lkvm_err *err)
{
	struct snap_cursor c;
	const u8 *name;
	u32 n;
	int r = wrong_type(s, SNAP_SEC_DEVICE, err);

	memset(d, 0, sizeof(*d));
	if (r)
		return r;
	snapshot__cursor(&c, s);
	n = snapshot__get_u32(&c);
	if (n >= SNAP_DEVICE_NAME_MAX)
		return seterr(err, EINVAL, "malformed device section %u: a %u-byte name", s->id, n);
	name = snapshot__get_bytes(&c, n);
	if (!name || memchr(name, '\0', n))
		return seterr(err, EINVAL, "malformed device section %u: bad name", s->id);
	memcpy(d->name, name, n);
	snapshot__get_align(&c, s);
	d->version = snapshot__get_u32(&c);
	n = snapshot__get_u32(&c);
	d->state = snapshot__get_bytes(&c, n);
	d->len = n;
	if (!d->state)
		return seterr(err, EINVAL, "malformed device section %u (%s): %u bytes of state "
			      "run past the end", s->id, d->name, n);
	snapshot__get_align(&c, s);
	return get_done(&c, s, err);
}

/* ---- files --------------------------------------------------------------- */

static int write_all(int fd, const u8 *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int snapshot__write_file(const char *path, const void *buf, size_t len, struct lkvm_err *err)
{
	char tmp[4096];
	int fd, r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return seterr(err, ENAMETOOLONG, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return seterr(err, errno, "%s: %s", tmp, strerror(errno));
	r = write_all(fd, buf, len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r) {
		unlink(tmp);
		return seterr(err, -r, "%s: %s", path, strerror(-r));
	}
	return 0;
}

int snapshot__read_file(const char *path, u8 **buf, size_t *len, struct lkvm_err *err)
{
	struct stat st;
	size_t got = 0;
	u8 *b;
	int fd, r = 0;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return seterr(err, errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (u64)st.st_size > SNAP_MAX_FILE) {
		r = fstat(fd, &st) < 0 ? errno : S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		close(fd);
		return seterr(err, r, "%s: %s", path, r == EFBIG ? "larger than a snapshot's state "
			      "file can be" : r == EINVAL ? "not a regular file" : strerror(r));
	}
	b = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!b) {
		close(fd);
		return seterr(err, ENOMEM, "out of memory");
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? errno : 0;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (r) {
		free(b);
		return seterr(err, r, "%s: %s", path, strerror(r));
	}
	*buf = b;
	*len = got;
	return 0;
}

/* ---- guest RAM ------------------------------------------------------------ */

#define PM_PRESENT	BIT(63)		/* Documentation/admin-guide/mm/pagemap.rst */
#define PM_SWAPPED	BIT(62)
#define PM_BATCH	512U

static bool all_zero(const u8 *p, size_t len)
{
	const u64 *q = (const u64 *)(const void *)p;

	for (size_t i = 0; i < len / 8; i++)
		if (q[i])
			return false;
	return true;
}

/*
 * Whether [off, off + len) of @fd has data (not only a hole).  One lseek
 * pair answers a whole hole and the data extent after it: *@ext caches
 * [hole start, data start, data end) of the last answer, so a walk in
 * order costs two calls per extent, not per page.
 */
static bool backing_data(int fd, u64 off, u64 len, u64 ext[3])
{
	off_t d, h;

	if (off >= ext[0] && off < ext[2])
		return off + len > ext[1];
	d = lseek(fd, (off_t)off, SEEK_DATA);
	if (d < 0) {
		if (errno != ENXIO)
			return true;	/* can't tell: read it */
		ext[0] = off;		/* only holes from @off on */
		ext[1] = ext[2] = UINT64_MAX;
		return false;
	}
	h = lseek(fd, d, SEEK_HOLE);
	ext[0] = off;
	ext[1] = (u64)d;
	ext[2] = h < 0 ? UINT64_MAX : (u64)h;
	return off + len > ext[1];
}

static int pwrite_all(int fd, const u8 *p, size_t len, u64 off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (u64)n;
		len -= (size_t)n;
	}
	return 0;
}

int snapshot__write_ram(int fd, u64 file_off, const void *host, u64 size, u32 page_size,
			int backing_fd, u64 backing_off, u64 *written, struct lkvm_err *err)
{
	const u8 *base = host;
	u64 pages = size / page_size, ext[3] = { 1, 1, 0 }, run = 0, run_start = 0;
	u64 pm[PM_BATCH];
	int pm_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC), r = 0;

	*written = 0;
	for (u64 i = 0; i < pages && !r; i += PM_BATCH) {
		u64 n = MIN(PM_BATCH, pages - i);
		bool have_pm = false;

		if (pm_fd >= 0) {
			off_t at = (off_t)(((uintptr_t)base / page_size + i) * sizeof(u64));
			ssize_t got = pread(pm_fd, pm, n * sizeof(u64), at);

			have_pm = got == (ssize_t)(n * sizeof(u64));
		}
		for (u64 j = 0; j < n; j++) {
			u64 pg = i + j;
			const u8 *p = base + pg * page_size;
			bool used = !have_pm || (pm[j] & (PM_PRESENT | PM_SWAPPED)) ||
				    (backing_fd >= 0 &&
				     backing_data(backing_fd, backing_off + pg * page_size, page_size,
						  ext));

			if (used && !all_zero(p, page_size)) {
				if (!run)
					run_start = pg;
				run++;
				continue;
			}
			if (run) {
				r = pwrite_all(fd, base + run_start * page_size,
					       (size_t)(run * page_size), file_off + run_start * page_size);
				*written += run * page_size;
				run = 0;
				if (r)
					break;
			}
		}
	}
	if (!r && run) {
		r = pwrite_all(fd, base + run_start * page_size, (size_t)(run * page_size),
			       file_off + run_start * page_size);
		*written += run * page_size;
	}
	if (pm_fd >= 0)
		close(pm_fd);
	if (r)
		return seterr(err, -r, "writing guest RAM: %s", strerror(-r));
	return 0;
}
