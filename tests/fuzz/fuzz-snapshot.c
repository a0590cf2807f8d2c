// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: the snapshot parser and every section's decoder
 * (util/snapshot.c), which read what "lkvm run --restore" is given: a
 * state file anybody could have written or cut short.
 *
 * Input: byte 0 picks the mode.  Even: the rest is a whole state file,
 * parsed, then each section decoded.  Odd: the rest is a list of sections
 * { u8 type, u16 len, len bytes of payload } that the harness seals into
 * a file with the right CRCs (random bytes would almost never get past
 * them), so the decoders see hostile payloads; byte 0's upper bits pick
 * the truncation of the sealed file (none, or a cut at a fuzzed length).
 *
 * Checked: parse and decode either succeed or fail with -EINVAL/-ENOMEM
 * and a fault or a message; a successful parse indexes only sections that
 * lie inside the input; every decoded pointer points into the input.
 */
#include "fuzz.h"
#include "lkvm/snapshot.h"

static bool inside(const u8 *buf, size_t len, const void *p, size_t n)
{
	const u8 *q = p;

	return q >= buf && n <= len && (size_t)(q - buf) <= len - n;
}

static void decode(const struct snap_reader *r, const u8 *buf, size_t len)
{
	for (unsigned int i = 0; i < r->nr_sec; i++) {
		const struct snap_section *s = &r->sec[i];
		struct lkvm_err err = { "" };
		struct snap_config c;
		struct snap_vm vm;
		struct snap_vcpu v;
		struct snap_attrs a;
		struct snap_memory m;
		struct snap_device d;
		int rc = 0;

		FUZZ_CHECK(inside(buf, len, s->data, s->len), "section %u outside the input", i);
		switch (s->type) {
		case SNAP_SEC_CONFIG:
			rc = snapshot__get_config(s, &c, &err);
			for (unsigned int j = 0; !rc && j < c.argc; j++)
				FUZZ_CHECK(c.argv[j] && strlen(c.argv[j]) <= SNAP_MAX_ARG_LEN,
					   "argument %u", j);
			FUZZ_CHECK(rc || !c.argv[c.argc], "argv not NULL-terminated");
			snapshot__config_free(&c);
			break;
		case SNAP_SEC_VM:
			rc = snapshot__get_vm(s, &vm, &err);
			break;
		case SNAP_SEC_VCPU:
			rc = snapshot__get_vcpu(s, &v, &err);
			for (unsigned int j = 0; !rc && j < v.nr_regs; j++)
				FUZZ_CHECK(inside(buf, len, v.regs[j].val, v.regs[j].size) &&
					   v.regs[j].size <= SNAP_MAX_REG_SIZE, "register %u", j);
			snapshot__vcpu_free(&v);
			break;
		case SNAP_SEC_KVM_DEVICE:
			rc = snapshot__get_attrs(s, &a, &err);
			snapshot__attrs_free(&a);
			break;
		case SNAP_SEC_MEMORY:
			rc = snapshot__get_memory(s, &m, &err);
			FUZZ_CHECK(rc || (m.nr && m.nr <= SNAP_MAX_MEM_REGIONS), "%u regions", m.nr);
			break;
		case SNAP_SEC_DEVICE:
			rc = snapshot__get_device(s, &d, &err);
			FUZZ_CHECK(rc || inside(buf, len, d.state, d.len) || !d.len, "device state");
			FUZZ_CHECK(strnlen(d.name, sizeof(d.name)) < sizeof(d.name), "device name");
			break;
		default:
			FUZZ_CHECK(false, "parse indexed a section of type %u", s->type);
		}
		FUZZ_CHECK(rc == 0 || ((rc == -EINVAL || rc == -ENOMEM) && err.msg[0]),
			   "decode returned %d, message '%s'", rc, err.msg);
	}
}

static void parse(const u8 *buf, size_t len)
{
	struct lkvm_err err = { "" };
	struct snap_reader r;
	int rc = snapshot__parse(&r, buf, len, &err);

	FUZZ_CHECK(rc == 0 || ((rc == -EINVAL && r.fault != SNAP_OK) || rc == -ENOMEM),
		   "parse returned %d, fault %d", rc, r.fault);
	FUZZ_CHECK(rc || r.nr_sec <= SNAP_MAX_SECTIONS, "%u sections", r.nr_sec);
	if (!rc)
		decode(&r, buf, len);
	snapshot__reader_free(&r);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fz in = { data, size };
	static const struct snap_host host = { .arch = SNAP_ARCH_ARM64, .page_size = 4096 };
	struct snap_writer w;
	u8 mode = fz_u8(&in);
	u8 *copy;

	if (!(mode & 1)) {
		/* A heap copy of exactly the input's size: ASan sees any read past it. */
		copy = malloc(in.n ? in.n : 1);
		if (!copy)
			abort();
		memcpy(copy, in.p, in.n);
		parse(copy, in.n);
		free(copy);
		return 0;
	}
	snapshot__writer_init(&w, &host);
	while (in.n) {
		u8 type = fz_u8(&in);
		u16 len = fz_u16(&in);
		size_t got;
		const u8 *p = fz_bytes(&in, len, &got);

		snapshot__section_begin(&w, type % (SNAP_SEC_MAX + 1), fz_u8(&in) & 3);
		snapshot__put_bytes(&w, p, got);
		snapshot__section_end(&w);
	}
	if (snapshot__writer_finish(&w, NULL) == 0) {
		size_t len = w.len;

		if (mode & 2)
			len = (size_t)(((u64)mode * 2654435761U) % (w.len + 1));
		copy = malloc(len ? len : 1);
		if (!copy)
			abort();
		memcpy(copy, w.buf, len);
		parse(copy, len);
		free(copy);
	}
	snapshot__writer_free(&w);
	return 0;
}
