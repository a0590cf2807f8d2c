// SPDX-License-Identifier: GPL-2.0-only
/*
 * The snapshot format (util/snapshot.c, docs/snapshot.md): every section's
 * encode and decode round trip, the header's host facts, and refusals
 * with a typed reason: a file cut at every length, every byte flipped
 * (a CRC catches it or a field check does), another version, another
 * magic, out-of-range fields inside well-formed sections, and the atomic
 * file write and read.  Then the arm64 state on top of it (arm/snapstate.c):
 * a vCPU's registers saved from and restored into a fake vCPU (the
 * register set compared both ways, read-only registers, SVE's vector
 * lengths), and the vGICv3/vITS attribute lists and their order.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include <linux/kvm.h>

#include "arm/snapshot.h"
#include "lkvm/ram.h"
#include "lkvm/snapshot.h"
#include "lkvm/virtio-transport.h"
#include "test.h"
#include "vm.h"
#include "guest-mem.h"
#include "mmio-driver.h"

static const struct snap_host host = {
	.arch = SNAP_ARCH_ARM64, .page_size = 4096, .kvm_api = 12, .ipa_max = 40,
	.flags = SNAP_HOST_EL2, .created_ns = 1234567890123ULL,
};

static const u8 zreg[256] = { [0] = 0x11, [1] = 0x22, [255] = 0xff };

/* A file with one section of each kind. */
static void build_full(struct snap_writer *w)
{
	static char *const argv[] = { "run", "-k", "Image", "-p", "console=ttyS0 quiet", "" };
	u64 x0 = 0x1122334455667788ULL;
	u32 w32 = 0xcafe;
	struct snap_reg regs[] = {
		{ 0x6030000000100000ULL, 8, (const u8 *)&x0 },
		{ 0x6020000000110000ULL, 4, (const u8 *)&w32 },
		{ 0x6080000000150000ULL, 256, zreg },
	};
	struct snap_vcpu v = { .mp_state = 1, .nr_regs = ARRAY_SIZE(regs), .regs = regs };
	struct snap_attr at[] = {
		{ .group = 1, .size = 4, .attr = 0x100, .val = 0xdeadbeef },
		{ .group = 6, .size = 8, .attr = 0x0100000000c65a, .val = ~0ULL },
	};
	struct snap_attrs attrs = { .nr = ARRAY_SIZE(at), .a = at };
	struct snap_vm vm = {
		.nr_cpus = 2, .flags = SNAP_VM_NESTED | SNAP_VM_COUNTER, .ipa_bits = 40,
		.irqchip = 1, .counter = 0xabcdef0123ULL, .paused_ns = 42,
	};
	struct snap_memory m = {
		.page_size = 4096, .nr = 2, .file_size = 3 * SZ_MiB,
		.r = { { 0x80000000ULL, 2 * SZ_MiB, 0 }, { 0x100000000ULL, SZ_MiB, 2 * SZ_MiB } },
	};
	static const u8 state[] = { 1, 2, 3, 4, 5 };

	snapshot__writer_init(w, &host);
	snapshot__put_config(w, ARRAY_SIZE(argv), argv);
	snapshot__put_vm(w, &vm);
	snapshot__put_vcpu(w, 0, &v);
	v.mp_state = 0;
	snapshot__put_vcpu(w, 1, &v);
	snapshot__put_attrs(w, SNAP_KDEV_GIC, &attrs);
	snapshot__put_memory(w, &m);
	snapshot__put_device(w, 3, "virtio-blk", 7, state, sizeof(state));
	TEST_ASSERT_EQ(snapshot__writer_finish(w, NULL), 0);
}

static void test_snapshot_roundtrip(void)
{
	struct snap_writer w;
	struct snap_reader r;
	struct lkvm_err err = { "" };
	const struct snap_section *s;
	struct snap_config c;
	struct snap_vm vm;
	struct snap_vcpu v;
	struct snap_attrs a;
	struct snap_memory m;
	struct snap_device d;
	u64 x0;

	build_full(&w);
	TEST_ASSERT_EQ(w.len % 8, 0);
	TEST_ASSERT(snapshot__parse(&r, w.buf, w.len, &err) == 0, "%s", err.msg);
	TEST_ASSERT_EQ(r.version, SNAP_VERSION);
	TEST_ASSERT_EQ(r.nr_sec, 7);
	TEST_ASSERT_EQ(r.host.arch, SNAP_ARCH_ARM64);
	TEST_ASSERT_EQ(r.host.page_size, 4096);
	TEST_ASSERT_EQ(r.host.kvm_api, 12);
	TEST_ASSERT_EQ(r.host.ipa_max, 40);
	TEST_ASSERT_EQ(r.host.flags, SNAP_HOST_EL2);
	TEST_ASSERT_EQ(r.host.created_ns, 1234567890123ULL);
	TEST_ASSERT_EQ(snapshot__count(&r, SNAP_SEC_VCPU), 2);
	TEST_ASSERT(!snapshot__find(&r, SNAP_SEC_VCPU, 2), "no third vCPU");

	s = snapshot__find(&r, SNAP_SEC_CONFIG, 0);
	TEST_ASSERT(s && snapshot__get_config(s, &c, &err) == 0, "%s", err.msg);
	TEST_ASSERT_EQ(c.argc, 6);
	TEST_ASSERT_STR_EQ(c.argv[0], "run");
	TEST_ASSERT_STR_EQ(c.argv[4], "console=ttyS0 quiet");
	TEST_ASSERT_STR_EQ(c.argv[5], "");
	TEST_ASSERT(c.argv[6] == NULL, "argv ends with NULL");
	snapshot__config_free(&c);

	s = snapshot__find(&r, SNAP_SEC_VM, 0);
	TEST_ASSERT(s && snapshot__get_vm(s, &vm, &err) == 0, "%s", err.msg);
	TEST_ASSERT_EQ(vm.nr_cpus, 2);
	TEST_ASSERT_EQ(vm.flags, SNAP_VM_NESTED | SNAP_VM_COUNTER);
	TEST_ASSERT_EQ(vm.ipa_bits, 40);
	TEST_ASSERT_EQ(vm.irqchip, 1);
	TEST_ASSERT_EQ(vm.counter, 0xabcdef0123ULL);
	TEST_ASSERT_EQ(vm.paused_ns, 42);

	s = snapshot__find(&r, SNAP_SEC_VCPU, 1);
	TEST_ASSERT(s && snapshot__get_vcpu(s, &v, &err) == 0, "%s", err.msg);
	TEST_ASSERT_EQ(v.mp_state, 0);
	TEST_ASSERT_EQ(v.nr_regs, 3);
	TEST_ASSERT_EQ(v.regs[0].id, 0x6030000000100000ULL);
	TEST_ASSERT_EQ(v.regs[0].size, 8);
	memcpy(&x0, v.regs[0].val, 8);
	TEST_ASSERT_EQ(x0, 0x1122334455667788ULL);
	TEST_ASSERT_EQ(v.regs[1].size, 4);
	TEST_ASSERT_EQ(v.regs[2].size, 256);
	TEST_ASSERT(!memcmp(v.regs[2].val, zreg, 256), "the 2048-bit register");
	TEST_ASSERT_EQ(((uintptr_t)v.regs[2].val - (uintptr_t)w.buf) % 8, 0);
	snapshot__vcpu_free(&v);
	s = snapshot__find(&r, SNAP_SEC_VCPU, 0);
	TEST_ASSERT(s && snapshot__get_vcpu(s, &v, &err) == 0, "%s", err.msg);
	TEST_ASSERT_EQ(v.mp_state, 1);
	snapshot__vcpu_free(&v);

	s = snapshot__find(&r, SNAP_SEC_KVM_DEVICE, SNAP_KDEV_GIC);
	TEST_ASSERT(s && snapshot__get_attrs(s, &a, &err) == 0, "%s", err.msg);
	TEST_ASSERT_EQ(a.nr, 2);
	TEST_ASSERT_EQ(a.a[0].group, 1);
	TEST_ASSERT_EQ(a.a[0].size, 4);
	TEST_ASSERT_EQ(a.a[0].attr, 0x100);
	TEST_ASSERT_EQ(a.a[0].val, 0xdeadbeef);
	TEST_ASSERT_EQ(a.a[1].attr, 0x0100000000c65aULL);
	TEST_ASSERT_EQ(a.a[1].val, ~0ULL);
	snapshot__attrs_free(&a);

	s = snapshot__find(&r, SNAP_SEC_MEMORY, 0);
	TEST_ASSERT(s && snapshot__get_memory(s, &m, &err) == 0, "%s", err.msg);
	TEST_ASSERT_EQ(m.nr, 2);
	TEST_ASSERT_EQ(m.page_size, 4096);
	TEST_ASSERT_EQ(m.file_size, 3 * SZ_MiB);
	TEST_ASSERT_EQ(m.r[1].gpa, 0x100000000ULL);
	TEST_ASSERT_EQ(m.r[1].offset, 2 * SZ_MiB);

	s = snapshot__find(&r, SNAP_SEC_DEVICE, 3);
	TEST_ASSERT(s && snapshot__get_device(s, &d, &err) == 0, "%s", err.msg);
	TEST_ASSERT_STR_EQ(d.name, "virtio-blk");
	TEST_ASSERT_EQ(d.version, 7);
	TEST_ASSERT_EQ(d.len, 5);
	TEST_ASSERT_EQ(d.state[4], 5);

	/* A decoder given another section's type refuses it. */
	TEST_ASSERT_EQ(snapshot__get_vm(snapshot__find(&r, SNAP_SEC_DEVICE, 3), &vm, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "device section where a vm section");
	snapshot__reader_free(&r);
	snapshot__writer_free(&w);
}

/* Empty sections, an empty argv and a zero-length device state are fine. */
static void test_snapshot_empty(void)
{
	struct snap_writer w;
	struct snap_reader r;
	struct snap_vcpu v = { 0 };
	struct snap_attrs a = { 0 };
	struct snap_config c;
	struct snap_device d;

	snapshot__writer_init(&w, &host);
	TEST_ASSERT_EQ(snapshot__writer_finish(&w, NULL), 0);
	TEST_ASSERT_EQ(w.len, SNAP_HEADER_SIZE);
	TEST_ASSERT_EQ(snapshot__parse(&r, w.buf, w.len, NULL), 0);
	TEST_ASSERT_EQ(r.nr_sec, 0);
	snapshot__reader_free(&r);
	snapshot__writer_free(&w);

	snapshot__writer_init(&w, &host);
	snapshot__put_config(&w, 0, NULL);
	snapshot__put_vcpu(&w, 0, &v);
	snapshot__put_attrs(&w, SNAP_KDEV_ITS, &a);
	snapshot__put_device(&w, 0, "rtc", 1, NULL, 0);
	TEST_ASSERT_EQ(snapshot__writer_finish(&w, NULL), 0);
	TEST_ASSERT_EQ(snapshot__parse(&r, w.buf, w.len, NULL), 0);
	TEST_ASSERT_EQ(snapshot__get_config(snapshot__find(&r, SNAP_SEC_CONFIG, 0), &c, NULL), 0);
	TEST_ASSERT_EQ(c.argc, 0);
	TEST_ASSERT(c.argv && !c.argv[0], "an empty argv");
	snapshot__config_free(&c);
	TEST_ASSERT_EQ(snapshot__get_vcpu(snapshot__find(&r, SNAP_SEC_VCPU, 0), &v, NULL), 0);
	TEST_ASSERT_EQ(v.nr_regs, 0);
	snapshot__vcpu_free(&v);
	TEST_ASSERT_EQ(snapshot__get_attrs(snapshot__find(&r, SNAP_SEC_KVM_DEVICE, SNAP_KDEV_ITS),
					   &a, NULL), 0);
	TEST_ASSERT_EQ(a.nr, 0);
	snapshot__attrs_free(&a);
	TEST_ASSERT_EQ(snapshot__get_device(snapshot__find(&r, SNAP_SEC_DEVICE, 0), &d, NULL), 0);
	TEST_ASSERT_STR_EQ(d.name, "rtc");
	TEST_ASSERT_EQ(d.len, 0);
	snapshot__reader_free(&r);
	snapshot__writer_free(&w);
}

/* Decodes every section of a parsed file; returns how many decoders refused. */
static unsigned int decode_all(const struct snap_reader *r)
{
	unsigned int bad = 0;

	for (unsigned int i = 0; i < r->nr_sec; i++) {
		const struct snap_section *s = &r->sec[i];
		struct snap_config c;
		struct snap_vm vm;
		struct snap_vcpu v;
		struct snap_attrs a;
		struct snap_memory m;
		struct snap_device d;
		int rc = 0;

		switch (s->type) {
		case SNAP_SEC_CONFIG:
			rc = snapshot__get_config(s, &c, NULL);
			snapshot__config_free(&c);
			break;
		case SNAP_SEC_VM:
			rc = snapshot__get_vm(s, &vm, NULL);
			break;
		case SNAP_SEC_VCPU:
			rc = snapshot__get_vcpu(s, &v, NULL);
			snapshot__vcpu_free(&v);
			break;
		case SNAP_SEC_KVM_DEVICE:
			rc = snapshot__get_attrs(s, &a, NULL);
			snapshot__attrs_free(&a);
			break;
		case SNAP_SEC_MEMORY:
			rc = snapshot__get_memory(s, &m, NULL);
			break;
		case SNAP_SEC_DEVICE:
			rc = snapshot__get_device(s, &d, NULL);
			break;
		}
		bad += rc != 0;
	}
	return bad;
}

/* Every prefix of a good file is refused as truncated (a copy: ASan sees any overread). */
static void test_snapshot_truncated(void)
{
	struct snap_writer w;
	struct snap_reader r;
	struct lkvm_err err;

	build_full(&w);
	for (size_t len = 0; len < w.len; len++) {
		u8 *cut = malloc(len ? len : 1);

		memcpy(cut, w.buf, len);
		TEST_ASSERT_EQ(snapshot__parse(&r, cut, len, &err), -EINVAL);
		TEST_ASSERT(r.fault == SNAP_FAULT_TRUNCATED, "cut at %zu: fault %s (%s)", len,
			    snapshot__fault_name(r.fault), err.msg);
		if (len == 30)
			TEST_ASSERT_STR_CONTAINS(err.msg, "truncated: 30 bytes");
		else if (len > SNAP_HEADER_SIZE)
			TEST_ASSERT_STR_CONTAINS(err.msg, "bytes of the");
		snapshot__reader_free(&r);
		free(cut);
	}
	snapshot__writer_free(&w);
}

/* Every single-byte change is caught by the parser or by a section's decoder. */
static void test_snapshot_corrupt(void)
{
	struct snap_writer w;
	struct snap_reader r;

	build_full(&w);
	for (size_t i = 0; i < w.len; i++) {
		for (unsigned int bit = 0; bit < 8; bit += 3) {
			u8 *copy = malloc(w.len);
			int rc;

			memcpy(copy, w.buf, w.len);
			copy[i] ^= (u8)(1U << bit);
			/* The parser's CRCs and checks, else a decoder's. */
			rc = snapshot__parse(&r, copy, w.len, NULL);
			TEST_ASSERT(rc == -EINVAL ? r.fault != SNAP_OK : decode_all(&r) != 0,
				    "byte %zu bit %u: accepted (fault %s)", i, bit,
				    snapshot__fault_name(r.fault));
			snapshot__reader_free(&r);
			free(copy);
		}
	}
	snapshot__writer_free(&w);
}

static void test_snapshot_version_magic(void)
{
	struct snap_writer w;
	struct snap_reader r;
	struct lkvm_err err;
	u32 v2 = 2;

	build_full(&w);
	memcpy(w.buf + 8, &v2, 4);
	TEST_ASSERT_EQ(snapshot__parse(&r, w.buf, w.len, &err), -EINVAL);
	TEST_ASSERT_EQ(r.fault, SNAP_FAULT_VERSION);
	TEST_ASSERT_STR_CONTAINS(err.msg, "format version 2; this lkvm reads version 1");
	snapshot__reader_free(&r);
	/* The version is checked before the size: a short file of another version says so. */
	TEST_ASSERT_EQ(snapshot__parse(&r, w.buf, 20, &err), -EINVAL);
	TEST_ASSERT_EQ(r.fault, SNAP_FAULT_VERSION);
	snapshot__reader_free(&r);

	w.buf[0] = 'X';
	TEST_ASSERT_EQ(snapshot__parse(&r, w.buf, w.len, &err), -EINVAL);
	TEST_ASSERT_EQ(r.fault, SNAP_FAULT_MAGIC);
	TEST_ASSERT_STR_CONTAINS(err.msg, "not an lkvm snapshot");
	snapshot__reader_free(&r);
	TEST_ASSERT_EQ(snapshot__parse(&r, "ELF", 3, &err), -EINVAL);
	TEST_ASSERT_EQ(r.fault, SNAP_FAULT_MAGIC);
	snapshot__reader_free(&r);
	TEST_ASSERT_EQ(snapshot__parse(&r, "LKVM", 4, &err), -EINVAL);
	TEST_ASSERT_EQ(r.fault, SNAP_FAULT_TRUNCATED);
	snapshot__reader_free(&r);
	snapshot__writer_free(&w);

	TEST_ASSERT_STR_EQ(snapshot__fault_name(SNAP_FAULT_VERSION), "another version");
	TEST_ASSERT_STR_EQ(snapshot__fault_name(SNAP_NR_FAULTS), "?");
	for (int f = 0; f < SNAP_NR_FAULTS; f++)
		TEST_ASSERT(snapshot__fault_name(f) != NULL, "fault %d named", f);
}

/* Trailing bytes, an unknown section type, a duplicate section: malformed. */
static void test_snapshot_structure(void)
{
	struct snap_writer w;
	struct snap_reader r;
	struct lkvm_err err;
	struct snap_vm vm = { .nr_cpus = 1, .ipa_bits = 40 };
	u8 *big;

	build_full(&w);
	big = calloc(1, w.len + 8);
	memcpy(big, w.buf, w.len);
	TEST_ASSERT_EQ(snapshot__parse(&r, big, w.len + 8, &err), -EINVAL);
	TEST_ASSERT_EQ(r.fault, SNAP_FAULT_MALFORMED);
	TEST_ASSERT_STR_CONTAINS(err.msg, "more than the");
	snapshot__reader_free(&r);
	free(big);
	snapshot__writer_free(&w);

	snapshot__writer_init(&w, &host);
	snapshot__section_begin(&w, 99, 0);
	snapshot__put_u32(&w, 1);
	snapshot__section_end(&w);
	TEST_ASSERT_EQ(snapshot__writer_finish(&w, NULL), 0);
	TEST_ASSERT_EQ(snapshot__parse(&r, w.buf, w.len, &err), -EINVAL);
	TEST_ASSERT_EQ(r.fault, SNAP_FAULT_MALFORMED);
	TEST_ASSERT_STR_CONTAINS(err.msg, "unknown type 99");
	snapshot__reader_free(&r);
	snapshot__writer_free(&w);

	snapshot__writer_init(&w, &host);
	snapshot__put_vm(&w, &vm);
	snapshot__put_vm(&w, &vm);
	TEST_ASSERT_EQ(snapshot__writer_finish(&w, NULL), 0);
	TEST_ASSERT_EQ(snapshot__parse(&r, w.buf, w.len, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "a second vm section");
	snapshot__reader_free(&r);
	snapshot__writer_free(&w);

	/* A section left open is the writer's caller's bug: finish says so. */
	snapshot__writer_init(&w, &host);
	snapshot__section_begin(&w, SNAP_SEC_VM, 0);
	TEST_ASSERT_EQ(snapshot__writer_finish(&w, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "left open");
	snapshot__writer_free(&w);
}

/* Builds a file of one section whose payload is @p, and decodes it. */
static int decode_one(u32 type, const void *p, size_t len, struct lkvm_err *err)
{
	struct snap_writer w;
	struct snap_reader r;
	int rc;

	snapshot__writer_init(&w, &host);
	snapshot__section_begin(&w, type, 0);
	snapshot__put_bytes(&w, p, len);
	snapshot__section_end(&w);
	TEST_ASSERT_EQ(snapshot__writer_finish(&w, NULL), 0);
	TEST_ASSERT_EQ(snapshot__parse(&r, w.buf, w.len, NULL), 0);
	rc = decode_all(&r) ? -EINVAL : 0;
	if (rc && err) {
		/* Again, for the message. */
		const struct snap_section *s = &r.sec[0];
		struct snap_config c;
		struct snap_vm vm;
		struct snap_vcpu v;
		struct snap_attrs a;
		struct snap_memory m;
		struct snap_device d;

		switch (type) {
		case SNAP_SEC_CONFIG:
			snapshot__get_config(s, &c, err);
			snapshot__config_free(&c);
			break;
		case SNAP_SEC_VM:
			snapshot__get_vm(s, &vm, err);
			break;
		case SNAP_SEC_VCPU:
			snapshot__get_vcpu(s, &v, err);
			snapshot__vcpu_free(&v);
			break;
		case SNAP_SEC_KVM_DEVICE:
			snapshot__get_attrs(s, &a, err);
			snapshot__attrs_free(&a);
			break;
		case SNAP_SEC_MEMORY:
			snapshot__get_memory(s, &m, err);
			break;
		default:
			snapshot__get_device(s, &d, err);
			break;
		}
	}
	snapshot__reader_free(&r);
	snapshot__writer_free(&w);
	return rc;
}

/* Well-formed files with fields out of range: each decoder refuses, naming the field. */
static void test_snapshot_bad_fields(void)
{
	struct lkvm_err err;
	u32 vm[8] = { 2, 0, 40, 0, 0, 0, 0, 0 };
	u32 cfg_nul[4] = { 1, 3, 0x00610061, 0 };
	u32 cfg_many[2] = { 100000, 0 };
	u32 cfg_long[2] = { 1, 1000 };
	u32 vcpu_size[10] = { 0, 1, 0x10, 0, 3, 0 };	/* a 3-byte register */
	u32 vcpu_many[2] = { 0, 1000 };
	u32 attr[8] = { 1, 0, 1, 4, 0, 0, 0, 1 };	/* a 4-byte value with its high half set */
	u64 mem[5] = { 4096 | (1ULL << 32), 8192, 0x80000000ULL, 8192, 4096 };
	u32 dev[4] = { 40, 0, 0, 0 };

	TEST_ASSERT_EQ(decode_one(SNAP_SEC_VM, vm, sizeof(vm), &err), 0);
	vm[0] = 0;
	TEST_ASSERT_EQ(decode_one(SNAP_SEC_VM, vm, sizeof(vm), &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "0 vCPUs");
	vm[0] = 1;
	vm[1] = SNAP_VM_E2H0;
	TEST_ASSERT_EQ(decode_one(SNAP_SEC_VM, vm, sizeof(vm), &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "E2H0 without EL2");
	vm[1] = 0x80;
	TEST_ASSERT_EQ(decode_one(SNAP_SEC_VM, vm, sizeof(vm), &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "unknown flags");
	vm[1] = 0;
	vm[2] = 64;
	TEST_ASSERT_EQ(decode_one(SNAP_SEC_VM, vm, sizeof(vm), &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "IPA size 64");
	TEST_ASSERT_EQ(decode_one(SNAP_SEC_VM, vm, 12, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "shorter than its fields");

	TEST_ASSERT_EQ(decode_one(SNAP_SEC_CONFIG, cfg_nul, sizeof(cfg_nul), &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "NUL byte");
	TEST_ASSERT_EQ(decode_one(SNAP_SEC_CONFIG, cfg_many, sizeof(cfg_many), &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "100000 arguments");
	TEST_ASSERT_EQ(decode_one(SNAP_SEC_CONFIG, cfg_long, sizeof(cfg_long), &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "runs past the end");

	TEST_ASSERT_EQ(decode_one(SNAP_SEC_VCPU, vcpu_size, sizeof(vcpu_size), &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "of 3 bytes");
	TEST_ASSERT_EQ(decode_one(SNAP_SEC_VCPU, vcpu_many, sizeof(vcpu_many), &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "1000 registers");

	TEST_ASSERT_EQ(decode_one(SNAP_SEC_KVM_DEVICE, attr, sizeof(attr), &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "of 4 bytes");
	attr[0] = 2;
	TEST_ASSERT_EQ(decode_one(SNAP_SEC_KVM_DEVICE, attr, sizeof(attr), &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "2 attributes");

	TEST_ASSERT_EQ(decode_one(SNAP_SEC_MEMORY, mem, sizeof(mem), &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "ends past the file");
	mem[1] = 16384;
	TEST_ASSERT_EQ(decode_one(SNAP_SEC_MEMORY, mem, sizeof(mem), &err), 0);
	mem[4] = 100;
	TEST_ASSERT_EQ(decode_one(SNAP_SEC_MEMORY, mem, sizeof(mem), &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "not page aligned");
	mem[4] = 0;
	mem[0] = 1000 | (1ULL << 32);
	TEST_ASSERT_EQ(decode_one(SNAP_SEC_MEMORY, mem, sizeof(mem), &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "page size 1000");

	TEST_ASSERT_EQ(decode_one(SNAP_SEC_DEVICE, dev, sizeof(dev), &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "40-byte name");
	dev[0] = 0;
	dev[2] = 1;
	dev[3] = 4;
	TEST_ASSERT_EQ(decode_one(SNAP_SEC_DEVICE, dev, sizeof(dev), &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "run past the end");
}

static void test_snapshot_files(void)
{
	struct snap_writer w;
	struct lkvm_err err;
	char path[512], dir[512];
	struct stat st;
	size_t len;
	u8 *buf;

	build_full(&w);
	snprintf(path, sizeof(path), "%s/state", TEST_TMPDIR);
	TEST_ASSERT(snapshot__write_file(path, w.buf, w.len, &err) == 0, "%s", err.msg);
	TEST_ASSERT(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "mode 0600");
	snprintf(dir, sizeof(dir), "%s/state.tmp", TEST_TMPDIR);
	TEST_ASSERT(access(dir, F_OK) < 0, "no temporary left");
	TEST_ASSERT(snapshot__read_file(path, &buf, &len, &err) == 0, "%s", err.msg);
	TEST_ASSERT_EQ(len, w.len);
	TEST_ASSERT(!memcmp(buf, w.buf, len), "same bytes");
	free(buf);

	TEST_ASSERT_EQ(snapshot__read_file(TEST_TMPDIR, &buf, &len, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "not a regular file");
	snprintf(path, sizeof(path), "%s/nope/state", TEST_TMPDIR);
	TEST_ASSERT_EQ(snapshot__read_file(path, &buf, &len, &err), -ENOENT);
	TEST_ASSERT_STR_CONTAINS(err.msg, "nope/state");
	TEST_ASSERT_EQ(snapshot__write_file(path, w.buf, w.len, &err), -ENOENT);
	snapshot__writer_free(&w);
}

/* ---- arm64: a fake vCPU's registers ---------------------------------------- */

#define FAKE_REGS	8

struct fake_vcpu {
	unsigned int n;
	u64 id[FAKE_REGS];
	u8 val[FAKE_REGS][256];
	bool ro[FAKE_REGS];
	unsigned int sets;
};

#define SYSREG(op0, op1, crn, crm, op2)	ARM64_SYS_REG(op0, op1, crn, crm, op2)
#define CORE_X0		(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | 0)
#define SVE_Z0		KVM_REG_ARM64_SVE_ZREG(0, 0)
#define GIC_SYSREG_TEST(op0, op1, crn, crm, op2)					\
	((u64)(op0) << 14 | (u64)(op1) << 11 | (u64)(crn) << 7 | (u64)(crm) << 3 | (u64)(op2))

static int fake_list(void *ctx, u64 *ids, u64 *n)
{
	struct fake_vcpu *f = ctx;

	if (!ids || *n < f->n) {
		*n = f->n;
		return -E2BIG;
	}
	memcpy(ids, f->id, f->n * sizeof(u64));
	*n = f->n;
	return 0;
}

static int fake_find(struct fake_vcpu *f, u64 id)
{
	for (unsigned int i = 0; i < f->n; i++)
		if (f->id[i] == id)
			return (int)i;
	return -1;
}

static int fake_get(void *ctx, u64 id, void *val)
{
	struct fake_vcpu *f = ctx;
	int i = fake_find(f, id);

	if (i < 0)
		return -ENOENT;
	memcpy(val, f->val[i], arm_snap__reg_size(id));
	return 0;
}

static int fake_set(void *ctx, u64 id, const void *val)
{
	struct fake_vcpu *f = ctx;
	int i = fake_find(f, id);

	if (i < 0)
		return -ENOENT;
	if (f->ro[i] || id == KVM_REG_ARM64_SVE_VLS)
		return -EINVAL;
	memcpy(f->val[i], val, arm_snap__reg_size(id));
	f->sets++;
	return 0;
}

static void fake_init(struct fake_vcpu *f, u8 fill)
{
	static const u64 ids[] = {
		CORE_X0, SYSREG(3, 0, 1, 0, 0) /* SCTLR_EL1 */, SYSREG(3, 4, 1, 1, 0) /* HCR_EL2 */,
		SYSREG(3, 0, 0, 0, 5) /* MPIDR_EL1, read-only here */, KVM_REG_ARM_TIMER_CNT,
		KVM_REG_ARM64_SVE_VLS, SVE_Z0,
	};

	memset(f, 0, sizeof(*f));
	f->n = ARRAY_SIZE(ids);
	memcpy(f->id, ids, sizeof(ids));
	for (unsigned int i = 0; i < f->n; i++)
		memset(f->val[i], fill + (int)i, sizeof(f->val[i]));
	f->ro[3] = true;
	memset(f->val[3], 0x42, 8);	/* the same MPIDR on both */
	memset(f->val[5], 0x7, 64);	/* the same vector lengths */
}

static void vcpu_roundtrip(struct fake_vcpu *src, struct fake_vcpu *dst, struct lkvm_err *err,
			   int expect)
{
	struct vcpu_regio io = { .ctx = src, .reg_list = fake_list, .get = fake_get,
				 .set = fake_set };
	struct snap_writer w;
	struct snap_reader r;
	struct snap_vcpu v;

	snapshot__writer_init(&w, &host);
	TEST_ASSERT_EQ(arm_snap__save_vcpu(&io, 1, KVM_MP_STATE_STOPPED, &w, err), 0);
	TEST_ASSERT_EQ(snapshot__writer_finish(&w, NULL), 0);
	TEST_ASSERT_EQ(snapshot__parse(&r, w.buf, w.len, NULL), 0);
	TEST_ASSERT_EQ(snapshot__get_vcpu(snapshot__find(&r, SNAP_SEC_VCPU, 1), &v, err), 0);
	TEST_ASSERT_EQ(v.mp_state, KVM_MP_STATE_STOPPED);
	TEST_ASSERT_EQ(v.nr_regs, src->n);
	TEST_ASSERT_EQ(v.regs[6].size, 256);
	io.ctx = dst;
	TEST_ASSERT_EQ(arm_snap__restore_vcpu(&io, 1, &v, err), expect);
	snapshot__vcpu_free(&v);
	snapshot__reader_free(&r);
	snapshot__writer_free(&w);
}

static void test_arm_vcpu_regs(void)
{
	struct fake_vcpu a, b;
	struct lkvm_err err = { "" };

	fake_init(&a, 0x10);
	fake_init(&b, 0x80);
	vcpu_roundtrip(&a, &b, &err, 0);
	for (unsigned int i = 0; i < a.n; i++)
		TEST_ASSERT(!memcmp(a.val[i], b.val[i], arm_snap__reg_size(a.id[i])),
			    "register %u restored", i);
	TEST_ASSERT_EQ(b.sets, a.n - 2);	/* neither MPIDR (read-only) nor the VLS */

	/* A read-only register holding another value, other vector lengths: refused, named. */
	fake_init(&b, 0x80);
	memset(b.val[3], 0x43, 8);
	vcpu_roundtrip(&a, &b, &err, -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "vCPU 1: KVM_SET_ONE_REG S3_0_C0_C0_5");
	fake_init(&b, 0x80);
	b.val[5][0] = 0x3;
	vcpu_roundtrip(&a, &b, &err, -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "SVE vector lengths differ");

	/* Another register set, either way. */
	fake_init(&b, 0x80);
	b.id[b.n++] = SYSREG(3, 4, 2, 1, 0);	/* VTTBR_EL2 */
	vcpu_roundtrip(&a, &b, &err, -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "register S3_4_C2_C1_0, which the snapshot lacks");
	fake_init(&b, 0x80);
	b.n--;
	vcpu_roundtrip(&a, &b, &err, -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "the snapshot has register");
	TEST_ASSERT_EQ(b.sets, 0);	/* nothing written before the sets were compared */
}

static void test_arm_reg_names(void)
{
	char buf[40];

	TEST_ASSERT_EQ(arm_snap__reg_size(CORE_X0), 8);
	TEST_ASSERT_EQ(arm_snap__reg_size(SVE_Z0), 256);
	TEST_ASSERT_EQ(arm_snap__reg_size(KVM_REG_ARM64_SVE_VLS), 64);
	TEST_ASSERT_EQ(arm_snap__reg_size(KVM_REG_ARM64 | (9ULL << KVM_REG_SIZE_SHIFT)), 0);
	TEST_ASSERT_STR_EQ(arm_snap__reg_name(SYSREG(3, 4, 1, 1, 0), buf, sizeof(buf)),
			   "S3_4_C1_C1_0");
	TEST_ASSERT_STR_EQ(arm_snap__reg_name(KVM_REG_ARM64_SVE_VLS, buf, sizeof(buf)), "sve-vls");
	TEST_ASSERT_STR_EQ(arm_snap__reg_name(CORE_X0 + 2, buf, sizeof(buf)), "core+0x8");
}

/* ---- arm64: the vGICv3 and vITS attribute lists --------------------------- */

static int attr_index(const struct snap_attr *a, unsigned int n, u32 group, u64 attr)
{
	for (unsigned int i = 0; i < n; i++)
		if (a[i].group == group && a[i].attr == attr)
			return (int)i;
	return -1;
}

static void test_arm_gic_attrs(void)
{
	static const u64 mpidr[2] = { 0x0, 0x100000203ULL };
	struct gic_layout g = { .nr_cpus = 2, .mpidr = mpidr, .nr_irqs = 256 };
	const u32 dist = KVM_DEV_ARM_VGIC_GRP_DIST_REGS, rd = KVM_DEV_ARM_VGIC_GRP_REDIST_REGS;
	const u32 cpu = KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS, lvl = KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO;
	unsigned int n = arm_snap__gic_attrs(&g, NULL, 0), nn, ctlr_at;
	u64 key1 = 0x01000203ULL << 32;
	struct snap_attr *a = calloc(n + 64, sizeof(*a)), its[16];

	TEST_ASSERT_EQ(arm_snap__gic_mpidr(mpidr[1]), 0x01000203ULL);
	TEST_ASSERT_EQ(arm_snap__gic_attrs(&g, a, n), n);
	TEST_ASSERT_EQ(arm_snap__gic_attrs(&g, a, 5), 5);	/* bounded by max */
	arm_snap__gic_attrs(&g, a, n);
	TEST_ASSERT(a[0].group == dist && a[0].attr == 0, "GICD_CTLR first");
	/* SPIs 32-255: IROUTER32 at 0x6100, two halves; 224 SPIs of routing. */
	TEST_ASSERT(attr_index(a, n, dist, 0x6100) >= 0 && attr_index(a, n, dist, 0x6104) >= 0,
		    "IROUTER32 in two halves");
	TEST_ASSERT(attr_index(a, n, dist, 0x6000) < 0, "no IROUTER for private interrupts");
	TEST_ASSERT(attr_index(a, n, dist, 0x80) < 0 && attr_index(a, n, dist, 0x84) >= 0,
		    "IGROUPR from SPI 32");
	TEST_ASSERT(attr_index(a, n, dist, 0x7fc + 0x6000) >= 0, "IROUTER255's high half");
	TEST_ASSERT(attr_index(a, n, dist, 0x6800) < 0, "nothing past INTID 255");
	/* Line levels before the pending latches. */
	TEST_ASSERT(attr_index(a, n, lvl, 32) < attr_index(a, n, dist, 0x204), "SPI levels first");
	/* Redistributor of vCPU 1: LPI tables before GICR_CTLR, the PPI levels before pending. */
	TEST_ASSERT(attr_index(a, n, rd, key1 | 0x70) >= 0, "PROPBASER");
	TEST_ASSERT(attr_index(a, n, rd, key1 | 0x70) < attr_index(a, n, rd, key1 | 0x0),
		    "PROPBASER before GICR_CTLR");
	TEST_ASSERT(attr_index(a, n, lvl, key1) < attr_index(a, n, rd, key1 | 0x10200),
		    "PPI levels before GICR_ISPENDR0");
	/* CPU interface: ICC_SRE_EL1, then ICC_CTLR_EL1, first; no ICH without EL2. */
	TEST_ASSERT(attr_index(a, n, cpu, key1 | GIC_SYSREG_TEST(3, 0, 12, 12, 5)) + 1 ==
		    attr_index(a, n, cpu, key1 | GIC_SYSREG_TEST(3, 0, 12, 12, 4)), "SRE, CTLR");
	TEST_ASSERT(attr_index(a, n, cpu, key1 | GIC_SYSREG_TEST(3, 4, 12, 11, 0)) < 0, "no ICH");

	g.nested = true;
	nn = arm_snap__gic_attrs(&g, NULL, 0);
	TEST_ASSERT_EQ(nn, n + 2 * (10 + 16));
	arm_snap__gic_attrs(&g, a, nn);
	TEST_ASSERT(attr_index(a, nn, cpu, key1 | GIC_SYSREG_TEST(3, 4, 12, 11, 0)) >= 0,
		    "ICH_HCR_EL2");
	TEST_ASSERT(attr_index(a, nn, cpu, key1 | GIC_SYSREG_TEST(3, 4, 12, 13, 7)) >= 0,
		    "ICH_LR15_EL2");
	for (unsigned int i = 0; i < nn; i++)
		TEST_ASSERT(a[i].size == (a[i].group == cpu ? 8U : 4U), "attribute %u's size", i);
	free(a);

	n = arm_snap__its_attrs(its, ARRAY_SIZE(its), &ctlr_at);
	TEST_ASSERT_EQ(n, 13);
	TEST_ASSERT_EQ(its[0].attr, 0x80);	/* GITS_CBASER first */
	TEST_ASSERT_EQ(ctlr_at, n - 1);
	TEST_ASSERT_EQ(its[ctlr_at].attr, 0);	/* GITS_CTLR last */
	for (unsigned int i = 0; i < n; i++)
		TEST_ASSERT(its[i].group == KVM_DEV_ARM_VGIC_GRP_ITS_REGS && its[i].size == 8,
			    "ITS register %u", i);
	TEST_ASSERT_EQ(arm_snap__guest_counter(1000, 300), 700);
	TEST_ASSERT_EQ(arm_snap__offset_for(5000, 700), 4300);
}

/* ---- guest RAM: sparse out, copy-on-write back -------------------------- */

#define RAM_SIZE	(4 * SZ_MiB)

static u64 data_bytes(int fd, u64 size)
{
	u64 total = 0;
	off_t off = 0;

	for (;;) {
		off_t d = lseek(fd, off, SEEK_DATA), h;

		if (d < 0)
			break;
		h = lseek(fd, d, SEEK_HOLE);
		total += (u64)(h - d);
		off = h;
		if ((u64)off >= size)
			break;
	}
	return total;
}

static void test_snapshot_ram(void)
{
	long page = sysconf(_SC_PAGESIZE);
	struct lkvm_err err = { "" };
	char path[512], path2[512];
	u8 *ram, *back, *again;
	u64 written;
	int fd, fd2;

	ram = ram__map_anon(RAM_SIZE);
	TEST_ASSERT(ram != MAP_FAILED, "mmap");
	ram[3 * page] = 0xaa;
	ram[10 * page + 17] = 0xbb;
	ram[11 * page + page - 1] = 0xcc;	/* a run of two pages */
	ram[20 * page] = 0;			/* faulted in, but zero: a hole too */
	ram[RAM_SIZE - 1] = 0xdd;
	snprintf(path, sizeof(path), "%s/memory", TEST_TMPDIR);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	TEST_ASSERT(fd >= 0, "open %s", path);
	TEST_ASSERT(snapshot__write_ram(fd, (u64)page, ram, RAM_SIZE, (u32)page, -1, 0, &written,
					&err) == 0, "%s", err.msg);
	TEST_ASSERT_EQ(written, 4ULL * (u64)page);
	TEST_ASSERT_EQ(ftruncate(fd, (off_t)(page + RAM_SIZE)), 0);
	{
		struct stat st;

		TEST_ASSERT_EQ(fstat(fd, &st), 0);
		if ((u64)st.st_blocks * 512 >= RAM_SIZE)
			TEST_SKIP("the temporary directory keeps no holes");
	}
	TEST_ASSERT_EQ(data_bytes(fd, (u64)page + RAM_SIZE), 4ULL * (u64)page);

	/* Back copy-on-write: the same bytes, and the guest's writes stay out of the file. */
	back = ram__map_file(fd, (u64)page, RAM_SIZE);
	TEST_ASSERT(back != MAP_FAILED, "ram__map_file: %s", strerror(errno));
	TEST_ASSERT_EQ((uintptr_t)back % (2 * SZ_MiB), 0);
	TEST_ASSERT(!memcmp(back, ram, RAM_SIZE), "the same RAM");
	back[3 * page] = 0x11;
	back[30 * page] = 0x22;		/* a page the snapshot did not have */
	{
		u8 b = 0;

		TEST_ASSERT_EQ(pread(fd, &b, 1, page + 3 * page), 1);
		TEST_ASSERT_EQ(b, 0xaa);
	}

	/* A snapshot of the restored RAM: the old file's pages the guest never touched, too. */
	snprintf(path2, sizeof(path2), "%s/memory2", TEST_TMPDIR);
	fd2 = open(path2, O_RDWR | O_CREAT | O_TRUNC, 0600);
	TEST_ASSERT(fd2 >= 0, "open %s", path2);
	TEST_ASSERT(snapshot__write_ram(fd2, 0, back, RAM_SIZE, (u32)page, fd, (u64)page, &written,
					&err) == 0, "%s", err.msg);
	TEST_ASSERT_EQ(written, 5ULL * (u64)page);
	TEST_ASSERT_EQ(ftruncate(fd2, RAM_SIZE), 0);
	again = ram__map_file(fd2, 0, RAM_SIZE);
	TEST_ASSERT(again != MAP_FAILED, "ram__map_file");
	TEST_ASSERT(!memcmp(again, back, RAM_SIZE), "the restored guest's RAM, as it was");
	TEST_ASSERT_EQ(again[10 * page + 17], 0xbb);
	ram__unmap(again, RAM_SIZE);
	ram__unmap(back, RAM_SIZE);
	ram__unmap(ram, RAM_SIZE);
	close(fd2);
	close(fd);
}

/* ---- devices: the UART and the RTC through their save/restore ops -------- */

static struct lkvm_device *find_dev(struct kvm *kvm, const char *name)
{
	for (unsigned int i = 0; i < kvm->nr_devices; i++)
		if (!strcmp(kvm->devices[i]->name, name))
			return kvm->devices[i];
	TEST_FAIL("no %s device", name);
}

static u32 mmio(struct kvm *kvm, u64 addr, u32 len, bool write, u32 val)
{
	const struct mmio_range *r = mmio__find(&kvm->mmio, addr, len);
	u8 buf[4];

	TEST_ASSERT(r != NULL, "MMIO at %#llx", (unsigned long long)addr);
	memcpy(buf, &val, 4);
	r->fn(r->opaque, addr - r->base, buf, len, write);
	memcpy(&val, buf, 4);
	return len == 1 ? (u8)val : val;
}

static void test_snapshot_devices(void)
{
	struct lkvm_config cfg, cfg_rng;
	struct kvm a, b;
	struct kvm_arch aa, ab;
	struct lkvm_device *ua, *ra, *ub, *rb;
	struct snap_writer w;
	struct snap_reader r;
	struct lkvm_err err = { "" };

	config__defaults(&cfg, 1);
	test_vm_init(&a, &cfg, &aa, IRQCHIP_GICV3);
	test_vm_devices(&a);
	TEST_ASSERT_EQ(a.nr_devices, 2);	/* the UART and the RTC, which can be saved */
	ua = find_dev(&a, "uart");
	ra = find_dev(&a, "rtc");
	TEST_ASSERT(ua->ops->save && ua->ops->restore && ra->ops->save && ra->ops->restore,
		    "save/restore ops");
	mmio(&a, ua->base + 7, 1, true, 0x5a);		/* SCR */
	mmio(&a, ua->base + 3, 1, true, 0x83);		/* LCR: DLAB */
	mmio(&a, ua->base + 0, 1, true, 0x34);		/* DLL */
	mmio(&a, ua->base + 3, 1, true, 0x03);
	mmio(&a, ra->base + 0x08, 4, true, 1000);	/* RTC_LR: the guest sets its clock */

	snapshot__writer_init(&w, &host);
	for (unsigned int i = 0; i < a.nr_devices; i++) {
		struct lkvm_device *d = a.devices[i];
		struct snap_writer blob = { 0 };

		TEST_ASSERT_EQ(d->ops->save(d, &blob, &err), 0);
		snapshot__put_device(&w, i, d->name, d->ops->state_version, blob.buf, blob.len);
		snapshot__writer_free(&blob);
	}
	TEST_ASSERT_EQ(snapshot__writer_finish(&w, NULL), 0);
	TEST_ASSERT_EQ(snapshot__parse(&r, w.buf, w.len, NULL), 0);

	test_vm_init(&b, &cfg, &ab, IRQCHIP_GICV3);
	test_vm_devices(&b);
	for (unsigned int i = 0; i < b.nr_devices; i++) {
		struct lkvm_device *d = b.devices[i];
		struct snap_device sd;
		struct snap_section st;
		struct snap_cursor c;

		TEST_ASSERT_EQ(snapshot__get_device(snapshot__find(&r, SNAP_SEC_DEVICE, i), &sd,
						    &err), 0);
		TEST_ASSERT_STR_EQ(sd.name, d->name);
		st = (struct snap_section){ .type = SNAP_SEC_DEVICE, .data = sd.state, .len = sd.len };
		snapshot__cursor(&c, &st);
		TEST_ASSERT(d->ops->restore(d, sd.version, &c, &err) == 0, "%s: %s", d->name,
			    err.msg);
		/* Another version, or a state cut short: refused, naming the device. */
		snapshot__cursor(&c, &st);
		TEST_ASSERT_EQ(d->ops->restore(d, sd.version + 1, &c, &err), -EINVAL);
		TEST_ASSERT_STR_CONTAINS(err.msg, d->name);
		st.len--;
		snapshot__cursor(&c, &st);
		TEST_ASSERT_EQ(d->ops->restore(d, sd.version, &c, &err), -EINVAL);
		st.len++;
		snapshot__cursor(&c, &st);
		TEST_ASSERT_EQ(d->ops->restore(d, sd.version, &c, &err), 0);
	}
	ub = find_dev(&b, "uart");
	rb = find_dev(&b, "rtc");
	TEST_ASSERT_EQ(mmio(&b, ub->base + 7, 1, false, 0), 0x5a);
	TEST_ASSERT_EQ(mmio(&b, ub->base + 3, 1, false, 0), 0x03);
	mmio(&b, ub->base + 3, 1, true, 0x83);
	TEST_ASSERT_EQ(mmio(&b, ub->base + 0, 1, false, 0), 0x34);
	TEST_ASSERT_EQ(mmio(&b, rb->base + 0x08, 4, false, 0), 1000);
	{
		u32 dr = mmio(&b, rb->base + 0x00, 4, false, 0);

		TEST_ASSERT(dr >= 1000 && dr <= 1002, "the RTC goes on from the guest's setting: %u",
			    dr);
	}
	snapshot__reader_free(&r);
	snapshot__writer_free(&w);
	test_vm_fini(&b);
	test_vm_fini(&a);

	/* A virtio device on virtio-pci refuses, naming itself and the way that works. */
	config__defaults(&cfg_rng, 1);
	cfg_rng.rng = true;
	test_vm_init(&a, &cfg_rng, &aa, IRQCHIP_GICV3_ITS);
	test_vm_devices(&a);
	{
		struct lkvm_device *d = find_dev(&a, "virtio-rng");
		struct snap_writer blob = { 0 };

		TEST_ASSERT_EQ(d->ops->save(d, &blob, &err), -ENOTSUP);
		TEST_ASSERT_STR_CONTAINS(err.msg, "virtio-rng device on the virtio-pci transport, "
					 "which lkvm cannot snapshot yet");
		d = find_dev(&a, "pci");
		TEST_ASSERT_EQ(d->ops->save(d, &blob, &err), -ENOTSUP);
		snapshot__writer_free(&blob);
	}
	test_vm_fini(&a);
}

/* ---- virtio over virtio-mmio: the transport, its queues, a device ---------- */

#define VRAM		0x80000000ULL
#define VDESC		VRAM
#define VAVAIL		(VRAM + 0x1000)
#define VUSED		(VRAM + 0x2000)
#define VBUF		(VRAM + 0x8000)
#define VQNUM		8

struct vfx {
	struct kvm kvm;
	struct virtio_mmio *vm;
};

/* A VM whose RAM is @ram (shared by two of them: the restore sees the saved RAM). */
static void vfx_init(struct vfx *f, u8 *ram)
{
	struct lkvm_err err = { "" };
	struct virtio_dev *dev;

	memset(f, 0, sizeof(*f));
	f->kvm.sys_fd = f->kvm.vm_fd = -1;
	TEST_ASSERT_EQ(gmem__add_region(&f->kvm, VRAM, SZ_MiB, ram), 0);
	TEST_ASSERT(virtio_rng__new(&f->kvm, &dev, &err) == 0, "rng: %s", err.msg);
	TEST_ASSERT(virtio_mmio__new(&f->kvm, dev, 0x02000000ULL, 16, &f->vm, &err) == 0, "%s",
		    err.msg);
}

static void vfx_fini(struct vfx *f)
{
	virtio_mmio__free(f->vm);
	mmio__free(&f->kvm.mmio);
}

/* Offers descriptor @i (one writable buffer of 16 bytes) and kicks; returns the used idx after. */
static u16 vfx_request(struct vfx *f, u16 avail, unsigned int i)
{
	gm_set_desc(&f->kvm, VDESC, i, VBUF + 16ULL * i, 16, VRING_DESC_F_WRITE, 0);
	gm_put16(&f->kvm, VAVAIL + 4 + 2ULL * (avail % VQNUM), (u16)i);
	gm_put16(&f->kvm, VAVAIL + 2, (u16)(avail + 1));
	mmio_wr(f->vm, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	for (int k = 0; k < 100 && gm_get16(&f->kvm, VUSED + 2) == avail; k++)
		virtio_mmio__poll(f->vm, 10);
	return gm_get16(&f->kvm, VUSED + 2);
}

static void test_snapshot_virtio_mmio(void)
{
	u8 *ram = calloc(1, SZ_MiB);
	struct vfx a, b;
	struct snap_writer w = { 0 };
	struct snap_section st;
	struct snap_cursor c;
	struct lkvm_err err = { "" };
	struct virtio_core *ca, *cb;
	u16 used;

	TEST_ASSERT(ram != NULL, "calloc");
	vfx_init(&a, ram);
	ca = virtio_mmio__core(a.vm);
	TEST_ASSERT(mmio_negotiate(a.vm, BIT(32)), "FEATURES_OK");
	mmio_setup_queue(a.vm, 0, VQNUM, VDESC, VAVAIL, VUSED);
	mmio_driver_ok(a.vm);
	virtio_mmio__poll(a.vm, 0);
	for (unsigned int i = 0; i < 3; i++)
		TEST_ASSERT_EQ(vfx_request(&a, (u16)i, i), i + 1);
	/* A request queued and notified, the snapshot taken before the device looked. */
	gm_set_desc(&a.kvm, VDESC, 3, VBUF + 48, 16, VRING_DESC_F_WRITE, 0);
	gm_put16(&a.kvm, VAVAIL + 4 + 2 * 3, 3);
	gm_put16(&a.kvm, VAVAIL + 2, 4);
	TEST_ASSERT_EQ(ca->ldev.ops->save(&ca->ldev, &w, &err), 0);
	TEST_ASSERT(!w.nomem, "saved");

	/* A new device on the same RAM: the driver's setup is back, and the queue goes on. */
	vfx_init(&b, ram);
	cb = virtio_mmio__core(b.vm);
	st = (struct snap_section){ .type = SNAP_SEC_DEVICE, .data = w.buf, .len = w.len };
	snapshot__cursor(&c, &st);
	TEST_ASSERT(cb->ldev.ops->restore(&cb->ldev, ca->ldev.ops->state_version, &c, &err) == 0,
		    "restore: %s", err.msg);
	TEST_ASSERT_EQ(mmio_rd(b.vm, VIRTIO_MMIO_STATUS), mmio_rd(a.vm, VIRTIO_MMIO_STATUS));
	mmio_wr(b.vm, VIRTIO_MMIO_QUEUE_SEL, 0);
	TEST_ASSERT_EQ(mmio_rd(b.vm, VIRTIO_MMIO_QUEUE_READY), 1);
	TEST_ASSERT_EQ(mmio_rd(b.vm, VIRTIO_MMIO_QUEUE_NUM_MAX), mmio_rd(a.vm, VIRTIO_MMIO_QUEUE_NUM_MAX));
	/* The request queued before the snapshot is served without a new notification. */
	for (int k = 0; k < 100 && gm_get16(&b.kvm, VUSED + 2) == 3; k++)
		virtio_mmio__poll(b.vm, 10);
	TEST_ASSERT_EQ(gm_get16(&b.kvm, VUSED + 2), 4);
	used = vfx_request(&b, 4, 4);
	TEST_ASSERT_EQ(used, 5);
	TEST_ASSERT_EQ(gm_get32(&b.kvm, VUSED + 4 + 8 * 4), 4);	/* used ring slot 4: id 4 */

	/* Refusals: a state cut short, another version, another device's state. */
	vfx_fini(&b);
	vfx_init(&b, ram);
	cb = virtio_mmio__core(b.vm);
	st.len -= 4;
	snapshot__cursor(&c, &st);
	TEST_ASSERT_EQ(cb->ldev.ops->restore(&cb->ldev, 1, &c, &err), -EINVAL);
	st.len += 4;
	snapshot__cursor(&c, &st);
	TEST_ASSERT_EQ(cb->ldev.ops->restore(&cb->ldev, 2, &c, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "version 2");
	snapshot__writer_free(&w);
	vfx_fini(&b);
	vfx_fini(&a);
	free(ram);
}

static const struct test_case tests[] = {
	TEST_CASE(test_snapshot_roundtrip),
	TEST_CASE(test_snapshot_empty),
	TEST_CASE(test_snapshot_truncated),
	TEST_CASE(test_snapshot_corrupt),
	TEST_CASE(test_snapshot_version_magic),
	TEST_CASE(test_snapshot_structure),
	TEST_CASE(test_snapshot_bad_fields),
	TEST_CASE(test_snapshot_files),
	TEST_CASE(test_snapshot_ram),
	TEST_CASE(test_snapshot_devices),
	TEST_CASE(test_snapshot_virtio_mmio),
	TEST_CASE(test_arm_vcpu_regs),
	TEST_CASE(test_arm_reg_names),
	TEST_CASE(test_arm_gic_attrs),
};

TEST_MAIN(tests)
