// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ID register table and its logic (arm/idreg.c): the table's own
 * consistency and its agreement with the KVM uapi macros, field access and
 * sign extension, the Arm ARM orderings (D24.1.3) behind "may the user
 * lower this", parsing assignments from strings, lists and files, checking
 * them against writable masks and host values, and the "lkvm cpu" text.
 */
#include <linux/kvm.h>

#include "arm/idreg.h"
#include "test.h"

static const struct idreg_desc *reg(const char *name)
{
	const struct idreg_desc *d = idreg__find(name);

	TEST_ASSERT(d, "no register %s in the table", name);
	return d;
}

static const struct idreg_field *fld(const char *rname, const char *fname)
{
	const struct idreg_field *f = idreg__field(reg(rname), fname);

	TEST_ASSERT(f, "no field %s.%s in the table", rname, fname);
	return f;
}

/* Parses @s, expecting success. */
static struct idreg_assign parse_ok(const char *s)
{
	struct idreg_assign a;
	struct lkvm_err err = { "" };
	int r = idreg__parse_assignment(s, &a, &err);

	TEST_ASSERT(r == 0, "'%s': %d %s", s, r, err.msg);
	return a;
}

/* Parses @s, expecting error @errnum; returns the message. */
static const char *parse_bad(const char *s, int errnum)
{
	static struct lkvm_err err;
	struct idreg_assign a;
	int r;

	err.msg[0] = '\0';
	r = idreg__parse_assignment(s, &a, &err);
	TEST_ASSERT(r == -errnum, "'%s': returned %d, expected %d (%s)", s, r, -errnum, err.msg);
	TEST_ASSERT(err.msg[0], "'%s': no error message", s);
	return err.msg;
}

static int check(const char *s, u64 host, u64 mask, struct lkvm_err *err)
{
	struct idreg_assign a = parse_ok(s);

	err->msg[0] = '\0';
	return idreg__check_assign(&a, host, mask, err);
}

static void test_table_sanity(void)
{
	TEST_ASSERT(idreg__count() >= 19, "only %u registers", idreg__count());
	TEST_ASSERT(idreg__at(idreg__count()) == NULL, "idreg__at past the end");

	for (unsigned int i = 0; i < idreg__count(); i++) {
		const struct idreg_desc *d = idreg__at(i);
		u64 used = 0;

		TEST_ASSERT(d && d->name, "register %u", i);
		TEST_ASSERT(d->op0 == 3 && d->crn == 0 && d->crm <= 7 && d->op2 <= 7 &&
			    d->op1 <= 1, "%s: encoding outside the ID space", d->name);
		TEST_ASSERT(idreg__find(d->name) == d, "%s: find", d->name);
		TEST_ASSERT(idreg__by_encoding(d->op0, d->op1, d->crn, d->crm, d->op2) == d,
			    "%s: encoding not unique", d->name);
		if (i > 0) {
			const struct idreg_desc *p = idreg__at(i - 1);
			unsigned int ep = p->op1 << 6 | p->crm << 3 | p->op2;
			unsigned int ed = d->op1 << 6 | d->crm << 3 | d->op2;

			TEST_ASSERT(ep < ed, "%s after %s: not in encoding order", d->name, p->name);
		}
		for (unsigned int j = 0; j < idreg__count(); j++)
			TEST_ASSERT(j == i || strcasecmp(d->name, idreg__at(j)->name),
				    "%s: name twice", d->name);
		TEST_ASSERT(d->nr_fields == 0 || d->fields, "%s: fields", d->name);

		for (unsigned int k = 0; k < d->nr_fields; k++) {
			const struct idreg_field *f = &d->fields[k];
			u64 m;

			TEST_ASSERT(f->name && *f->name, "%s: field %u unnamed", d->name, k);
			TEST_ASSERT(f->width >= 1 && f->width <= 16 && f->lsb + f->width <= 64,
				    "%s.%s: bits [%u+%u] outside the register", d->name, f->name,
				    f->lsb, f->width);
			TEST_ASSERT(f->scheme <= IDREG_IDENT, "%s.%s: scheme %u", d->name, f->name,
				    f->scheme);
			m = idreg__field_mask(f);
			TEST_ASSERT(!(used & m), "%s.%s overlaps another field", d->name, f->name);
			used |= m;
			TEST_ASSERT(k == 0 || f->lsb < d->fields[k - 1].lsb,
				    "%s.%s: fields not ordered from bit 63 down", d->name, f->name);
			TEST_ASSERT(idreg__field(d, f->name) == f, "%s.%s: name not unique",
				    d->name, f->name);
			if (f->scheme == IDREG_SIGNED || f->scheme == IDREG_PMU ||
			    f->scheme == IDREG_STAGE2)
				TEST_ASSERT(f->width == 4, "%s.%s: 4-bit scheme", d->name, f->name);
			if (f->scheme == IDREG_STAGE2) {
				char s1[16];

				snprintf(s1, sizeof(s1), "%.*s", (int)strlen(f->name) - 2, f->name);
				TEST_ASSERT(!strcmp(f->name + strlen(s1), "_2") && idreg__field(d, s1),
					    "%s.%s: no stage 1 partner", d->name, f->name);
			}
		}
	}
}

static void test_table_has_required_registers(void)
{
	static const char *const names[] = {
		"ID_AA64PFR0_EL1", "ID_AA64PFR1_EL1", "ID_AA64PFR2_EL1", "ID_AA64ZFR0_EL1",
		"ID_AA64SMFR0_EL1", "ID_AA64DFR0_EL1", "ID_AA64DFR1_EL1", "ID_AA64ISAR0_EL1",
		"ID_AA64ISAR1_EL1", "ID_AA64ISAR2_EL1", "ID_AA64ISAR3_EL1", "ID_AA64MMFR0_EL1",
		"ID_AA64MMFR1_EL1", "ID_AA64MMFR2_EL1", "ID_AA64MMFR3_EL1", "ID_AA64MMFR4_EL1",
		"MIDR_EL1", "REVIDR_EL1", "AIDR_EL1",
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++)
		reg(names[i]);
	TEST_ASSERT(reg("MIDR_EL1")->imp_id && reg("REVIDR_EL1")->imp_id &&
		    reg("AIDR_EL1")->imp_id && !reg("ID_AA64PFR0_EL1")->imp_id, "imp_id");
}

/* A few facts checked against the Arm ARM by hand, so a table slip shows. */
static void test_table_spot_checks(void)
{
	static const struct {
		const char *reg, *field;
		unsigned int lsb, width, scheme;
	} facts[] = {
		{ "ID_AA64PFR0_EL1", "SVE", 32, 4, IDREG_UNSIGNED },
		{ "ID_AA64PFR0_EL1", "FP", 16, 4, IDREG_SIGNED },
		{ "ID_AA64PFR0_EL1", "AdvSIMD", 20, 4, IDREG_SIGNED },
		{ "ID_AA64PFR0_EL1", "EL3", 12, 4, IDREG_UNSIGNED },
		{ "ID_AA64PFR1_EL1", "MTE_frac", 40, 4, IDREG_SIGNED },
		{ "ID_AA64PFR2_EL1", "FPMR", 32, 4, IDREG_UNSIGNED },
		{ "ID_AA64MMFR0_EL1", "PARange", 0, 4, IDREG_UNSIGNED },
		{ "ID_AA64MMFR0_EL1", "TGran4", 28, 4, IDREG_SIGNED },
		{ "ID_AA64MMFR0_EL1", "TGran64", 24, 4, IDREG_SIGNED },
		{ "ID_AA64MMFR0_EL1", "TGran16", 20, 4, IDREG_UNSIGNED },
		{ "ID_AA64MMFR0_EL1", "TGran4_2", 40, 4, IDREG_STAGE2 },
		{ "ID_AA64MMFR2_EL1", "NV", 24, 4, IDREG_UNSIGNED },
		{ "ID_AA64MMFR4_EL1", "E2H0", 24, 4, IDREG_SIGNED },
		{ "ID_AA64DFR0_EL1", "PMUVer", 8, 4, IDREG_PMU },
		{ "ID_AA64DFR0_EL1", "DebugVer", 0, 4, IDREG_UNSIGNED },
		{ "ID_AA64DFR0_EL1", "DoubleLock", 36, 4, IDREG_SIGNED },
		{ "ID_AA64DFR1_EL1", "ABL_CMPs", 56, 8, IDREG_UNSIGNED },
		{ "ID_AA64ISAR1_EL1", "APA", 4, 4, IDREG_UNSIGNED },
		{ "ID_AA64ISAR1_EL1", "GPI", 28, 4, IDREG_UNSIGNED },
		{ "ID_AA64ISAR2_EL1", "APA3", 12, 4, IDREG_UNSIGNED },
		{ "ID_AA64SMFR0_EL1", "FA64", 63, 1, IDREG_BITS },
		{ "ID_AA64SMFR0_EL1", "SMEver", 56, 4, IDREG_UNSIGNED },
		{ "ID_AA64SMFR0_EL1", "I16I64", 52, 4, IDREG_BITS },
		{ "ID_AA64ZFR0_EL1", "SVEver", 0, 4, IDREG_UNSIGNED },
		{ "MIDR_EL1", "PartNum", 4, 12, IDREG_IDENT },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(facts); i++) {
		const struct idreg_field *f = fld(facts[i].reg, facts[i].field);

		TEST_ASSERT(f->lsb == facts[i].lsb && f->width == facts[i].width &&
			    f->scheme == facts[i].scheme, "%s.%s: lsb %u width %u scheme %u",
			    facts[i].reg, facts[i].field, f->lsb, f->width, f->scheme);
	}
	TEST_ASSERT_EQ(reg("REVIDR_EL1")->nr_fields, 0);
	TEST_ASSERT_EQ(reg("ID_AA64PFR0_EL1")->nr_fields, 16);
}

static void test_mask_index_matches_uapi(void)
{
	for (unsigned int i = 0; i < idreg__count(); i++) {
		const struct idreg_desc *d = idreg__at(i);
		int idx = idreg__mask_index(d);

		TEST_ASSERT(idx >= 0 && idx < KVM_ARM_FEATURE_ID_RANGE_SIZE, "%s: index %d",
			    d->name, idx);
		TEST_ASSERT_EQ(idx, (int)KVM_ARM_FEATURE_ID_RANGE_IDX(d->op0, d->op1, d->crn,
								      d->crm, d->op2));
		for (unsigned int j = 0; j < i; j++)
			TEST_ASSERT(idreg__mask_index(idreg__at(j)) != idx, "%s: index %d twice",
				    d->name, idx);
	}
	TEST_ASSERT_EQ(idreg__mask_index(reg("ID_AA64PFR0_EL1")), 32);
	TEST_ASSERT_EQ(idreg__mask_index(reg("ID_AA64MMFR4_EL1")), 7 * 8 + 4);
	TEST_ASSERT_EQ(idreg__mask_index(reg("MIDR_EL1")), 0);
	TEST_ASSERT_EQ(idreg__mask_index(reg("AIDR_EL1")), 64 + 7);

	/* Outside the range: op1 2, CRn != 0. */
	struct idreg_desc out = { .name = "X", .op0 = 3, .op1 = 2 };

	TEST_ASSERT_EQ(idreg__mask_index(&out), -1);
	out.op1 = 0;
	out.crn = 1;
	TEST_ASSERT_EQ(idreg__mask_index(&out), -1);
	out.crn = 0;
	out.op1 = 3;
	out.crm = 7;
	TEST_ASSERT_EQ(idreg__mask_index(&out), 2 * 64 + 7 * 8);
}

static void test_kvm_id(void)
{
	TEST_ASSERT_EQ(idreg__kvm_id(reg("ID_AA64PFR0_EL1")), 0x603000000013c020ULL);
	TEST_ASSERT_EQ(idreg__kvm_id(reg("ID_AA64PFR0_EL1")), ARM64_SYS_REG(3, 0, 0, 4, 0));
	TEST_ASSERT_EQ(idreg__kvm_id(reg("ID_AA64MMFR2_EL1")), ARM64_SYS_REG(3, 0, 0, 7, 2));
	TEST_ASSERT_EQ(idreg__kvm_id(reg("AIDR_EL1")), ARM64_SYS_REG(3, 1, 0, 0, 7));
}

static void test_find(void)
{
	const struct idreg_desc *pfr0 = reg("ID_AA64PFR0_EL1");

	TEST_ASSERT(idreg__find("id_aa64pfr0_el1") == pfr0, "lower case");
	TEST_ASSERT(idreg__find("ID_AA64PFR0") == pfr0, "without _EL1");
	TEST_ASSERT(idreg__find("Id_Aa64Pfr0") == pfr0, "mixed case without _EL1");
	TEST_ASSERT(idreg__find("S3_0_C0_C4_0") == pfr0, "generic name");
	TEST_ASSERT(idreg__find("s3_0_c0_c4_0") == pfr0, "generic name, lower case");
	TEST_ASSERT(idreg__find("midr") == reg("MIDR_EL1"), "midr");
	TEST_ASSERT(idreg__find("ID_AA64PFR0_EL") == NULL, "partial suffix");
	TEST_ASSERT(idreg__find("ID_AA64PFR0_EL1_EL1") == NULL, "double suffix");
	TEST_ASSERT(idreg__find("ID_AA64PFR") == NULL, "prefix");
	TEST_ASSERT(idreg__find("") == NULL, "empty");
	TEST_ASSERT(idreg__find(NULL) == NULL, "NULL");
	TEST_ASSERT(idreg__find("S3_0_C0_C4_3") == NULL, "unknown encoding");
	TEST_ASSERT(idreg__find("S3_0_C0_C4") == NULL, "short generic name");
	TEST_ASSERT(idreg__find("S3_0_C0_C4_0x") == NULL, "trailing junk");
	TEST_ASSERT(idreg__by_encoding(3, 0, 0, 7, 0) == reg("ID_AA64MMFR0_EL1"), "by encoding");
	TEST_ASSERT(idreg__by_encoding(3, 0, 0, 1, 0) == NULL, "AArch32 regs not in table");
}

static void test_field_lookup(void)
{
	const struct idreg_desc *mmfr0 = reg("ID_AA64MMFR0_EL1");

	TEST_ASSERT(idreg__field(mmfr0, "PARange") == idreg__field(mmfr0, "parange"),
		    "case-insensitive");
	TEST_ASSERT(idreg__field(mmfr0, "PARANGE") != NULL, "upper case");
	TEST_ASSERT(idreg__field(mmfr0, "PARang") == NULL, "prefix");
	TEST_ASSERT(idreg__field(mmfr0, "SVE") == NULL, "other register's field");
	TEST_ASSERT(idreg__field(reg("REVIDR_EL1"), "X") == NULL, "no fields");
	TEST_ASSERT(idreg__field(NULL, "SVE") == NULL, "NULL register");
}

static void test_get_set(void)
{
	const struct idreg_field *sve = fld("ID_AA64PFR0_EL1", "SVE");
	const struct idreg_field *fa64 = fld("ID_AA64SMFR0_EL1", "FA64");
	const struct idreg_field *brps = fld("ID_AA64DFR1_EL1", "BRPs");

	TEST_ASSERT_EQ(idreg__set_field(0, sve, 1), 1ULL << 32);
	TEST_ASSERT_EQ(idreg__get_field(1ULL << 32, sve), 1);
	TEST_ASSERT_EQ(idreg__set_field(~0ULL, sve, 0), ~(0xfULL << 32));
	TEST_ASSERT_EQ(idreg__set_field(0, sve, 0x1f), 0xfULL << 32);	/* too wide: cut */
	TEST_ASSERT_EQ(idreg__get_field(0x0123456789abcdefULL, sve), 0x7);
	TEST_ASSERT_EQ(idreg__set_field(0, fa64, 1), 1ULL << 63);
	TEST_ASSERT_EQ(idreg__get_field(~0ULL, fa64), 1);
	TEST_ASSERT_EQ(idreg__set_field(0, brps, 0xa5), 0xa500ULL);
	TEST_ASSERT_EQ(idreg__get_field(0xa500ULL, brps), 0xa5);

	struct idreg_assign raw = { reg("ID_AA64PFR0_EL1"), NULL, 0x42 };
	struct idreg_assign one = { reg("ID_AA64PFR0_EL1"), sve, 2 };

	TEST_ASSERT_EQ(idreg__apply(&raw, ~0ULL), 0x42);
	TEST_ASSERT_EQ(idreg__apply(&one, 0x11), 0x11 | 2ULL << 32);
}

/* Every field of every register: the whole width round-trips, by value and by name. */
static void test_every_field_round_trips(void)
{
	for (unsigned int i = 0; i < idreg__count(); i++) {
		const struct idreg_desc *d = idreg__at(i);

		for (unsigned int k = 0; k < d->nr_fields; k++) {
			const struct idreg_field *f = &d->fields[k];
			u64 max = GENMASK(f->width - 1, 0);
			char s[128];
			struct idreg_assign a;

			TEST_ASSERT_EQ(idreg__get_field(idreg__set_field(0, f, max), f), max);
			TEST_ASSERT_EQ(idreg__set_field(~0ULL, f, 0), ~idreg__field_mask(f));
			snprintf(s, sizeof(s), "%s.%s=%llu", d->name, f->name,
				 (unsigned long long)max);
			a = parse_ok(s);
			TEST_ASSERT(a.reg == d && a.field == f && a.value == max, "%s", s);
		}
	}
}

static void test_sign_extension(void)
{
	const struct idreg_field *fp = fld("ID_AA64PFR0_EL1", "FP");
	const struct idreg_field *e2h0 = fld("ID_AA64MMFR4_EL1", "E2H0");
	const struct idreg_field *sve = fld("ID_AA64PFR0_EL1", "SVE");

	TEST_ASSERT_EQ(idreg__field_signed(0xfULL << 16, fp), -1LL);
	TEST_ASSERT_EQ(idreg__field_signed(0x1ULL << 16, fp), 1LL);
	TEST_ASSERT_EQ(idreg__field_signed(0x8ULL << 16, fp), -8LL);
	TEST_ASSERT_EQ(idreg__field_signed(0x7ULL << 16, fp), 7LL);
	TEST_ASSERT_EQ(idreg__field_signed(~0ULL, fp), -1LL);
	TEST_ASSERT_EQ(idreg__field_signed(0xeULL << 24, e2h0), -2LL);
	TEST_ASSERT_EQ(idreg__field_signed(0xfULL << 32, sve), 15LL);
}

static void test_field_le_signed(void)
{
	const struct idreg_field *fp = fld("ID_AA64PFR0_EL1", "FP");
	const struct idreg_field *e2h0 = fld("ID_AA64MMFR4_EL1", "E2H0");

	/* 0xf (-1, not implemented) < 0 (implemented) < 1 (FP16). */
	TEST_ASSERT(idreg__field_le(fp, 0xf, 0), "0xf <= 0");
	TEST_ASSERT(!idreg__field_le(fp, 0, 0xf), "0 > 0xf");
	TEST_ASSERT(idreg__field_le(fp, 0, 1), "0 <= 1");
	TEST_ASSERT(!idreg__field_le(fp, 1, 0), "1 > 0");
	TEST_ASSERT(idreg__field_le(fp, 0xf, 1), "0xf <= 1");
	TEST_ASSERT(idreg__field_le(fp, 0xf, 0xf), "equal");
	/* E2H0: 0xe (no E2H0, no NV1) < 0xf (no E2H0) < 0. */
	TEST_ASSERT(idreg__field_le(e2h0, 0xe, 0xf), "0xe <= 0xf");
	TEST_ASSERT(!idreg__field_le(e2h0, 0xf, 0xe), "0xf > 0xe");
}

static void test_field_le_unsigned(void)
{
	const struct idreg_field *pa = fld("ID_AA64MMFR0_EL1", "PARange");
	const struct idreg_field *brps = fld("ID_AA64DFR1_EL1", "BRPs");

	TEST_ASSERT(idreg__field_le(pa, 5, 7), "5 <= 7");
	TEST_ASSERT(idreg__field_le(pa, 5, 5), "5 <= 5");
	TEST_ASSERT(!idreg__field_le(pa, 7, 5), "7 > 5");
	TEST_ASSERT(!idreg__field_le(pa, 0xf, 0), "0xf > 0 unsigned");
	TEST_ASSERT(idreg__field_le(brps, 0x10, 0xff), "8-bit");
	TEST_ASSERT(!idreg__field_le(brps, 0xff, 0x10), "8-bit");
}

static void test_field_le_other_schemes(void)
{
	const struct idreg_field *pmu = fld("ID_AA64DFR0_EL1", "PMUVer");
	const struct idreg_field *s2 = fld("ID_AA64MMFR0_EL1", "TGran4_2");
	const struct idreg_field *i16i32 = fld("ID_AA64SMFR0_EL1", "I16I32");
	const struct idreg_field *i16i64 = fld("ID_AA64SMFR0_EL1", "I16I64");
	const struct idreg_field *impl = fld("MIDR_EL1", "Implementer");

	/* PMUVer: 0 below all, 0xf (IMPDEF PMU) only equal to itself. */
	TEST_ASSERT(idreg__field_le(pmu, 0, 0xf), "0 <= IMPDEF");
	TEST_ASSERT(idreg__field_le(pmu, 0, 8), "0 <= 8");
	TEST_ASSERT(idreg__field_le(pmu, 4, 8), "4 <= 8");
	TEST_ASSERT(!idreg__field_le(pmu, 8, 4), "8 > 4");
	TEST_ASSERT(!idreg__field_le(pmu, 0xf, 8), "IMPDEF not below 8");
	TEST_ASSERT(!idreg__field_le(pmu, 1, 0xf), "1 not below IMPDEF");
	TEST_ASSERT(!idreg__field_le(pmu, 0xf, 0), "IMPDEF not below 0");
	TEST_ASSERT(idreg__field_le(pmu, 0xf, 0xf), "equal");
	/* Stage 2: 1 = none is the floor; 0 needs the stage 1 field. */
	TEST_ASSERT(idreg__field_le(s2, 1, 3), "1 <= 3");
	TEST_ASSERT(idreg__field_le(s2, 2, 3), "2 <= 3");
	TEST_ASSERT(!idreg__field_le(s2, 3, 2), "3 > 2");
	TEST_ASSERT(idreg__field_le(s2, 1, 0), "none <= anything");
	TEST_ASSERT(idreg__field_le(s2, 0, 2) && idreg__field_le(s2, 2, 0),
		    "0 cannot be judged field-locally");
	/* SME groups: subset of bits. */
	TEST_ASSERT(idreg__field_le(i16i32, 0, 5), "0 <= 5");
	TEST_ASSERT(!idreg__field_le(i16i32, 5, 0), "5 > 0");
	TEST_ASSERT(!idreg__field_le(i16i32, 2, 5), "bit 1 not in 0b0101");
	TEST_ASSERT(idreg__field_le(i16i32, 4, 5), "bit 2 in 0b0101");
	TEST_ASSERT(!idreg__field_le(i16i64, 0xf, 0), "0xf > 0");
	/* Identification: anything. */
	TEST_ASSERT(idreg__field_le(impl, 0xff, 0x41), "MIDR has no order");
}

static void test_parse_good(void)
{
	struct idreg_assign a;

	a = parse_ok("ID_AA64PFR0_EL1.SVE=0");
	TEST_ASSERT(a.reg == reg("ID_AA64PFR0_EL1") && a.field == fld("ID_AA64PFR0_EL1", "SVE") &&
		    a.value == 0, "SVE=0");
	a = parse_ok("  id_aa64pfr0 . sve =  0x1  ");
	TEST_ASSERT(a.field == fld("ID_AA64PFR0_EL1", "SVE") && a.value == 1, "blanks, case");
	a = parse_ok("ID_AA64MMFR0_EL1=0x1122");
	TEST_ASSERT(a.reg == reg("ID_AA64MMFR0_EL1") && !a.field && a.value == 0x1122, "raw");
	a = parse_ok("ID_AA64MMFR0_EL1=18446744073709551615");
	TEST_ASSERT_EQ(a.value, ~0ULL);
	a = parse_ok("ID_AA64PFR0_EL1.FP=-1");
	TEST_ASSERT_EQ(a.value, 0xf);
	a = parse_ok("ID_AA64PFR0_EL1.FP=-8");
	TEST_ASSERT_EQ(a.value, 0x8);
	a = parse_ok("ID_AA64MMFR4_EL1.E2H0=-2");
	TEST_ASSERT_EQ(a.value, 0xe);
	a = parse_ok("S3_0_C0_C4_0.SVE=1");
	TEST_ASSERT(a.reg == reg("ID_AA64PFR0_EL1") && a.value == 1, "generic name");
	a = parse_ok("ID_AA64DFR1_EL1.BRPs=0xff");
	TEST_ASSERT_EQ(a.value, 0xff);
	a = parse_ok("ID_AA64SMFR0_EL1.FA64=1");
	TEST_ASSERT_EQ(a.value, 1);
	a = parse_ok("MIDR_EL1.Implementer=0x41");
	TEST_ASSERT_EQ(a.value, 0x41);
	a = parse_ok("REVIDR_EL1=7");
	TEST_ASSERT(!a.field && a.value == 7, "field-less register");
	a = parse_ok("ID_AA64MMFR0_EL1.PARange=010");	/* leading zero is not octal */
	TEST_ASSERT_EQ(a.value, 10);
}

static void test_parse_bad(void)
{
	const char *m;

	m = parse_bad("ID_AA64PFR0_EL1.SVE", EINVAL);
	TEST_ASSERT_STR_CONTAINS(m, "expected REG.FIELD=VALUE or REG=VALUE");
	parse_bad("ID_AA64PFR0_EL1.SVE=", EINVAL);
	parse_bad("=1", EINVAL);
	parse_bad("ID_AA64PFR0_EL1.=1", EINVAL);
	parse_bad("", EINVAL);

	m = parse_bad("ID_AA64PFR9_EL1.SVE=0", ENOENT);
	TEST_ASSERT_STR_CONTAINS(m, "unknown ID register 'ID_AA64PFR9_EL1'");
	TEST_ASSERT_STR_CONTAINS(m, "ID_AA64PFR0_EL1");
	TEST_ASSERT_STR_CONTAINS(m, "lkvm cpu");
	m = parse_bad("ID_AA64MMFR=0", ENOENT);
	TEST_ASSERT_STR_CONTAINS(m, "closest: ID_AA64MMFR0_EL1, ID_AA64MMFR1_EL1, ID_AA64MMFR2_EL1");
	m = parse_bad("PFR0.SVE=0", ENOENT);
	TEST_ASSERT_STR_CONTAINS(m, "closest: ID_AA64PFR0_EL1, ");	/* then FPFR0, PFR1 */
	m = parse_bad("ID_AA64ISRA1.APA=0", ENOENT);
	TEST_ASSERT_STR_CONTAINS(m, "closest: ID_AA64ISAR1_EL1");

	m = parse_bad("ID_AA64PFR0_EL1.SVEE=0", ENOENT);
	TEST_ASSERT_STR_CONTAINS(m, "ID_AA64PFR0_EL1 has no field 'SVEE'");
	TEST_ASSERT_STR_CONTAINS(m, "its fields: CSV3, CSV2, RME, DIT, AMU, MPAM, SEL2, SVE, RAS, GIC, AdvSIMD, FP, EL3, EL2, EL1, EL0");
	m = parse_bad("REVIDR_EL1.X=0", ENOENT);
	TEST_ASSERT_STR_CONTAINS(m, "REVIDR_EL1 has no named fields");
	TEST_ASSERT_STR_CONTAINS(m, "REVIDR_EL1=VALUE");

	m = parse_bad("ID_AA64PFR0_EL1.SVE=16", ERANGE);
	TEST_ASSERT_STR_CONTAINS(m, "ID_AA64PFR0_EL1.SVE");
	TEST_ASSERT_STR_CONTAINS(m, "is 4 bits: 0..15");
	m = parse_bad("ID_AA64PFR0_EL1.SVE=-1", ERANGE);
	TEST_ASSERT_STR_CONTAINS(m, "0..15");
	m = parse_bad("ID_AA64PFR0_EL1.FP=-9", ERANGE);
	TEST_ASSERT_STR_CONTAINS(m, "-8..-1 (signed)");
	parse_bad("ID_AA64PFR0_EL1.FP=-0", ERANGE);
	m = parse_bad("ID_AA64SMFR0_EL1.FA64=2", ERANGE);
	TEST_ASSERT_STR_CONTAINS(m, "is 1 bit: 0..1");
	m = parse_bad("ID_AA64DFR1_EL1.BRPs=256", ERANGE);
	TEST_ASSERT_STR_CONTAINS(m, "is 8 bits: 0..255");
	parse_bad("ID_AA64PFR0_EL1=0x1ffffffffffffffff", ERANGE);
	m = parse_bad("ID_AA64PFR0_EL1.SVE=on", EINVAL);
	TEST_ASSERT_STR_CONTAINS(m, "expected a number");
	parse_bad("ID_AA64PFR0_EL1=12abc", EINVAL);
	parse_bad("ID_AA64PFR0_EL1.SVE=1 2", EINVAL);

	char longs[400];

	memset(longs, 'A', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	parse_bad(longs, EINVAL);
}

static void test_parse_list(void)
{
	struct idreg_assign a[4];
	struct lkvm_err err = { "" };
	unsigned int n = 99;
	int r;

	r = idreg__parse_list("ID_AA64PFR0_EL1.SVE=0, ID_AA64ISAR1_EL1.APA=0,ID_AA64MMFR0_EL1=5",
			      a, ARRAY_SIZE(a), &n, &err);
	TEST_ASSERT(r == 0, "%s", err.msg);
	TEST_ASSERT_EQ(n, 3);
	TEST_ASSERT(a[1].field == fld("ID_AA64ISAR1_EL1", "APA") && !a[2].field &&
		    a[2].value == 5, "items");

	r = idreg__parse_list("ID_AA64PFR0_EL1.SVE=0", a, ARRAY_SIZE(a), &n, &err);
	TEST_ASSERT(r == 0 && n == 1, "single item");

	r = idreg__parse_list("ID_AA64PFR0_EL1.SVE=0,,ID_AA64PFR0_EL1.SVE=0", a, ARRAY_SIZE(a),
			      &n, &err);
	TEST_ASSERT_EQ(r, -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "empty item");
	r = idreg__parse_list("ID_AA64PFR0_EL1.SVE=0,", a, ARRAY_SIZE(a), &n, &err);
	TEST_ASSERT_EQ(r, -EINVAL);
	r = idreg__parse_list("  ", a, ARRAY_SIZE(a), &n, &err);
	TEST_ASSERT_EQ(r, -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "empty list");

	r = idreg__parse_list("MIDR_EL1=0,MIDR_EL1=0,MIDR_EL1=0", a, 2, &n, &err);
	TEST_ASSERT_EQ(r, -E2BIG);
	TEST_ASSERT_STR_CONTAINS(err.msg, "at most 2");

	r = idreg__parse_list("ID_AA64PFR0_EL1.SVE=0,ID_AA64PFR0_EL1.NOPE=1", a, ARRAY_SIZE(a),
			      &n, &err);
	TEST_ASSERT_EQ(r, -ENOENT);
	TEST_ASSERT_STR_CONTAINS(err.msg, "no field 'NOPE'");
}

static void test_parse_file(void)
{
	static const char text[] =
		"# lower what the guest sees\n"
		"\n"
		"ID_AA64PFR0_EL1.SVE = 0   # no SVE\n"
		"   \t\n"
		"id_aa64isar1.apa=0, ID_AA64ISAR1_EL1.API=0\r\n"
		"#ID_AA64PFR0_EL1.SVE=junk\n"
		"ID_AA64MMFR0_EL1.PARange = 0x2";	/* no final newline */
	struct idreg_assign a[8];
	struct lkvm_err err = { "" };
	unsigned int n = 99;
	int r;

	r = idreg__parse_file_text(text, "cpu.conf", a, ARRAY_SIZE(a), &n, &err);
	TEST_ASSERT(r == 0, "%s", err.msg);
	TEST_ASSERT_EQ(n, 4);
	TEST_ASSERT(a[0].field == fld("ID_AA64PFR0_EL1", "SVE") && a[0].value == 0, "line 3");
	TEST_ASSERT(a[2].field == fld("ID_AA64ISAR1_EL1", "API"), "line 5");
	TEST_ASSERT(a[3].field == fld("ID_AA64MMFR0_EL1", "PARange") && a[3].value == 2,
		    "last line");

	r = idreg__parse_file_text("", "empty.conf", a, ARRAY_SIZE(a), &n, &err);
	TEST_ASSERT(r == 0 && n == 0, "empty file");
	r = idreg__parse_file_text("# only\n\n#comments\n", "c.conf", a, ARRAY_SIZE(a), &n, &err);
	TEST_ASSERT(r == 0 && n == 0, "comments only");

	r = idreg__parse_file_text("# ok\nID_AA64PFR0_EL1.SVE=0\n\nID_AA64PFR0_EL1.SVE=99\n",
				   "cpu.conf", a, ARRAY_SIZE(a), &n, &err);
	TEST_ASSERT_EQ(r, -ERANGE);
	TEST_ASSERT_STR_CONTAINS(err.msg, "cpu.conf:4: ");
	TEST_ASSERT_STR_CONTAINS(err.msg, "ID_AA64PFR0_EL1.SVE");
	TEST_ASSERT_STR_CONTAINS(err.msg, "0..15");

	r = idreg__parse_file_text("\nBOGUS_EL1=1\n", "x.conf", a, ARRAY_SIZE(a), &n, &err);
	TEST_ASSERT_EQ(r, -ENOENT);
	TEST_ASSERT_STR_CONTAINS(err.msg, "x.conf:2: unknown ID register 'BOGUS_EL1'");

	r = idreg__parse_file_text("MIDR_EL1=0\nMIDR_EL1=0\n", "m.conf", a, 1, &n, &err);
	TEST_ASSERT_EQ(r, -E2BIG);
	TEST_ASSERT_STR_CONTAINS(err.msg, "m.conf:2:");

	char big[700];

	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r = idreg__parse_file_text(big, "long.conf", a, ARRAY_SIZE(a), &n, &err);
	TEST_ASSERT_EQ(r, -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "long.conf:1: line too long");
}

/* A host ID_AA64PFR0_EL1: EL0-3 AArch64, FP/AdvSIMD present, GIC 1, SVE 1, CSV2 1. */
#define HOST_PFR0	0x0100000101001111ULL
/* KVM's writable mask for it here: SVE, CSV2, FP, AdvSIMD, EL1, EL0. */
#define MASK_PFR0	(GENMASK(35, 32) | GENMASK(59, 56) | GENMASK(23, 16) | GENMASK(7, 0))

static void test_check_writable(void)
{
	struct lkvm_err err;
	int r;

	TEST_ASSERT_EQ(check("ID_AA64PFR0_EL1.SVE=0", HOST_PFR0, MASK_PFR0, &err), 0);
	r = check("ID_AA64PFR0_EL1.EL3=0", HOST_PFR0, MASK_PFR0, &err);
	TEST_ASSERT_EQ(r, -EPERM);
	TEST_ASSERT_STR_CONTAINS(err.msg, "ID_AA64PFR0_EL1.EL3 is not writable on this host (KVM_ARM_GET_REG_WRITABLE_MASKS)");
	TEST_ASSERT_STR_CONTAINS(err.msg, "writable fields of ID_AA64PFR0_EL1: CSV2, SVE, AdvSIMD, FP, EL1, EL0");
	/* Unchanged is fine even where not writable. */
	TEST_ASSERT_EQ(check("ID_AA64PFR0_EL1.EL3=0", HOST_PFR0 & ~GENMASK(15, 12), MASK_PFR0,
			     &err), 0);
	/* Partly writable counts as not writable. */
	r = check("ID_AA64PFR0_EL1.SVE=0", HOST_PFR0, BIT(32), &err);
	TEST_ASSERT_EQ(r, -EPERM);
	TEST_ASSERT_STR_CONTAINS(err.msg, "writable fields of ID_AA64PFR0_EL1: none");
}

static void test_check_levels(void)
{
	const u64 mmfr0 = 0x0000000000001125ULL;	/* PARange 5 (48 bits) */
	struct lkvm_err err;
	int r;

	r = check("ID_AA64MMFR0_EL1.PARange=7", mmfr0, ~0ULL, &err);
	TEST_ASSERT_EQ(r, -ERANGE);
	TEST_ASSERT_STR_EQ(err.msg, "ID_AA64MMFR0_EL1.PARange = 7 is above this host's 5; allowed: 0..5");
	TEST_ASSERT_EQ(check("ID_AA64MMFR0_EL1.PARange=2", mmfr0, ~0ULL, &err), 0);
	TEST_ASSERT_EQ(check("ID_AA64MMFR0_EL1.PARange=5", mmfr0, ~0ULL, &err), 0);

	/* SVE: lowering fine, raising not. */
	TEST_ASSERT_EQ(check("ID_AA64PFR0_EL1.SVE=0", HOST_PFR0, MASK_PFR0, &err), 0);
	r = check("ID_AA64PFR0_EL1.SVE=2", HOST_PFR0, MASK_PFR0, &err);
	TEST_ASSERT_EQ(r, -ERANGE);
	TEST_ASSERT_STR_CONTAINS(err.msg, "ID_AA64PFR0_EL1.SVE = 2 is above this host's 1; allowed: 0..1");

	/* Signed FP: 0xf lowers, 1 raises; said in signed terms. */
	TEST_ASSERT_EQ(check("ID_AA64PFR0_EL1.FP=0xf", HOST_PFR0, MASK_PFR0, &err), 0);
	TEST_ASSERT_EQ(check("ID_AA64PFR0_EL1.FP=-1", HOST_PFR0, MASK_PFR0, &err), 0);
	r = check("ID_AA64PFR0_EL1.FP=1", HOST_PFR0, MASK_PFR0, &err);
	TEST_ASSERT_EQ(r, -ERANGE);
	TEST_ASSERT_STR_CONTAINS(err.msg, "ID_AA64PFR0_EL1.FP = 1 is above this host's 0; allowed: -8..0 (signed field: 0xf is -1, not implemented)");
	r = check("ID_AA64PFR0_EL1.FP=0", HOST_PFR0 | 0xfULL << 16, MASK_PFR0, &err);
	TEST_ASSERT_EQ(r, -ERANGE);
	TEST_ASSERT_STR_CONTAINS(err.msg, "FP = 0 is above this host's -1 (0xf); allowed: -8..-1");

	/* SME feature bits: only a subset. */
	const u64 smfr0 = 0x5ULL << 44 | BIT(63);

	TEST_ASSERT_EQ(check("ID_AA64SMFR0_EL1.FA64=0", smfr0, ~0ULL, &err), 0);
	TEST_ASSERT_EQ(check("ID_AA64SMFR0_EL1.I16I32=0", smfr0, ~0ULL, &err), 0);
	r = check("ID_AA64SMFR0_EL1.I16I32=0x2", smfr0, ~0ULL, &err);
	TEST_ASSERT_EQ(r, -ERANGE);
	TEST_ASSERT_STR_CONTAINS(err.msg, "bits are all set in 0x5");
	r = check("ID_AA64SMFR0_EL1.F64F64=1", smfr0, ~0ULL, &err);
	TEST_ASSERT_EQ(r, -ERANGE);
}

static void test_check_pmu(void)
{
	const u64 impdef = 0xfULL << 8, v3p5 = 0x6ULL << 8;
	struct lkvm_err err;
	int r;

	TEST_ASSERT_EQ(check("ID_AA64DFR0_EL1.PMUVer=0", impdef, ~0ULL, &err), 0);
	r = check("ID_AA64DFR0_EL1.PMUVer=1", impdef, ~0ULL, &err);
	TEST_ASSERT_EQ(r, -ERANGE);
	TEST_ASSERT_STR_CONTAINS(err.msg, "allowed: 0 or 15");
	TEST_ASSERT_EQ(check("ID_AA64DFR0_EL1.PMUVer=4", v3p5, ~0ULL, &err), 0);
	r = check("ID_AA64DFR0_EL1.PMUVer=0xf", v3p5, ~0ULL, &err);
	TEST_ASSERT_EQ(r, -ERANGE);
	TEST_ASSERT_STR_CONTAINS(err.msg, "allowed: 0..6");
}

static void test_check_stage2(void)
{
	/* TGran4 0 (supported), TGran4_2 0 (as TGran4: level 2). */
	const u64 host = 0;
	/* TGran4 0xf (none), TGran4_2 0: level 1. */
	const u64 no4k = 0xfULL << 28;
	/* TGran4_2 2 explicit. */
	const u64 explicit2 = 2ULL << 40;
	struct lkvm_err err;
	int r;

	TEST_ASSERT_EQ(check("ID_AA64MMFR0_EL1.TGran4_2=1", host, ~0ULL, &err), 0);
	TEST_ASSERT_EQ(check("ID_AA64MMFR0_EL1.TGran4_2=2", host, ~0ULL, &err), 0);
	r = check("ID_AA64MMFR0_EL1.TGran4_2=3", host, ~0ULL, &err);
	TEST_ASSERT_EQ(r, -ERANGE);
	TEST_ASSERT_STR_CONTAINS(err.msg, "ID_AA64MMFR0_EL1.TGran4_2 = 3 is above this host's 0");
	TEST_ASSERT_STR_CONTAINS(err.msg, "level 3 > 2");
	TEST_ASSERT_STR_CONTAINS(err.msg, "0 = as TGran4 says");
	r = check("ID_AA64MMFR0_EL1.TGran4_2=2", no4k, ~0ULL, &err);
	TEST_ASSERT_EQ(r, -ERANGE);
	TEST_ASSERT_EQ(check("ID_AA64MMFR0_EL1.TGran4_2=1", no4k, ~0ULL, &err), 0);
	/* Back to "as TGran4": fine when TGran4 says supported, not when 52-bit. */
	TEST_ASSERT_EQ(check("ID_AA64MMFR0_EL1.TGran4_2=0", explicit2, ~0ULL, &err), 0);
	r = check("ID_AA64MMFR0_EL1.TGran4_2=0", explicit2 | 1ULL << 28, ~0ULL, &err);
	TEST_ASSERT_EQ(r, -ERANGE);
	/* TGran16 is unsigned: 0 none, so TGran16_2 = 0 there means none. */
	r = check("ID_AA64MMFR0_EL1.TGran16_2=2", 0, ~0ULL, &err);
	TEST_ASSERT_EQ(r, -ERANGE);
	TEST_ASSERT_EQ(check("ID_AA64MMFR0_EL1.TGran16_2=2", 1ULL << 20, ~0ULL, &err), 0);
}

static void test_check_raw(void)
{
	struct lkvm_err err;
	char s[64];
	int r;

	/* Lowering SVE only, everything else as the host has it. */
	snprintf(s, sizeof(s), "ID_AA64PFR0_EL1=0x%llx", HOST_PFR0 & ~GENMASK(35, 32));
	TEST_ASSERT_EQ(check(s, HOST_PFR0, MASK_PFR0, &err), 0);
	/* Same value: nothing changes, nothing to refuse. */
	snprintf(s, sizeof(s), "ID_AA64PFR0_EL1=0x%llx", HOST_PFR0);
	TEST_ASSERT_EQ(check(s, HOST_PFR0, 0, &err), 0);
	/* Touching EL3. */
	snprintf(s, sizeof(s), "ID_AA64PFR0_EL1=0x%llx", HOST_PFR0 & ~GENMASK(15, 12));
	r = check(s, HOST_PFR0, MASK_PFR0, &err);
	TEST_ASSERT_EQ(r, -EPERM);
	TEST_ASSERT_STR_CONTAINS(err.msg, "changes ID_AA64PFR0_EL1.EL3, which is not writable");
	TEST_ASSERT_STR_CONTAINS(err.msg, "writable fields of ID_AA64PFR0_EL1: CSV2, SVE");
	/* Raising SVE through a raw write. */
	snprintf(s, sizeof(s), "ID_AA64PFR0_EL1=0x%llx", HOST_PFR0 + (1ULL << 32));
	r = check(s, HOST_PFR0, MASK_PFR0, &err);
	TEST_ASSERT_EQ(r, -ERANGE);
	TEST_ASSERT_STR_CONTAINS(err.msg, "ID_AA64PFR0_EL1.SVE = 2 is above this host's 1");
	/* Bits no field names (ID_AA64PFR2_EL1[31:20] are RES0). */
	r = check("ID_AA64PFR2_EL1=0x100000", 0, ~GENMASK(31, 20), &err);
	TEST_ASSERT_EQ(r, -EPERM);
	TEST_ASSERT_STR_CONTAINS(err.msg, "changes bits 0x100000 no field names");
	TEST_ASSERT_EQ(check("ID_AA64PFR2_EL1=0x100000", 0, ~0ULL, &err), 0);
}

static void test_check_imp_id(void)
{
	struct lkvm_err err;
	int r;

	r = check("MIDR_EL1.Implementer=0x41", 0x410fd490, 0, &err);
	TEST_ASSERT_EQ(r, 0);	/* unchanged */
	r = check("MIDR_EL1.Implementer=0x61", 0x410fd490, 0, &err);
	TEST_ASSERT_EQ(r, -EPERM);
	TEST_ASSERT_STR_CONTAINS(err.msg, "MIDR_EL1.Implementer is not writable");
	TEST_ASSERT_STR_CONTAINS(err.msg, "KVM_CAP_ARM_WRITABLE_IMP_ID_REGS");
	/* With the capability on, any identity goes, within KVM's mask. */
	TEST_ASSERT_EQ(check("MIDR_EL1.Implementer=0x61", 0x410fd490, GENMASK(31, 0), &err), 0);
	TEST_ASSERT_EQ(check("MIDR_EL1=0x610f0000", 0x410fd490, GENMASK(31, 0), &err), 0);
	r = check("MIDR_EL1=0x10000000000", 0x0, GENMASK(31, 0), &err);
	TEST_ASSERT_EQ(r, -EPERM);
	TEST_ASSERT_STR_CONTAINS(err.msg, "no field names");
	r = check("REVIDR_EL1=1", 0, 0, &err);
	TEST_ASSERT_EQ(r, -EPERM);
	TEST_ASSERT_STR_CONTAINS(err.msg, "REVIDR_EL1 is not writable: KVM lets a VMM set it only after enabling KVM_CAP_ARM_WRITABLE_IMP_ID_REGS");
	TEST_ASSERT_EQ(check("REVIDR_EL1=1", 0, ~0ULL, &err), 0);
	TEST_ASSERT_EQ(check("AIDR_EL1=0x1234", 0, ~0ULL, &err), 0);
}

static void test_format(void)
{
	const u64 v = HOST_PFR0 | 0xfULL << 16;		/* FP not implemented */
	char buf[2048];
	unsigned int lines = 0;

	TEST_ASSERT_EQ(idreg__format_fields(reg("ID_AA64PFR0_EL1"), v, MASK_PFR0, buf,
					    sizeof(buf)), 0);
	for (const char *p = buf; (p = strchr(p, '\n')); p++)
		lines++;
	TEST_ASSERT_EQ(lines, 16);
	TEST_ASSERT(!strncmp(buf, "ID_AA64PFR0_EL1.CSV3 = 0 (fixed)\n", 33), "first line: %s",
		    buf);
	TEST_ASSERT_STR_CONTAINS(buf, "\nID_AA64PFR0_EL1.SVE = 1 (writable)\n");
	TEST_ASSERT_STR_CONTAINS(buf, "\nID_AA64PFR0_EL1.FP = -1 (0xf) (writable)\n");
	TEST_ASSERT_STR_CONTAINS(buf, "\nID_AA64PFR0_EL1.EL3 = 1 (fixed)\n");
	TEST_ASSERT_STR_CONTAINS(buf, "\nID_AA64PFR0_EL1.EL0 = 1 (writable)\n");

	TEST_ASSERT_EQ(idreg__format_fields(reg("REVIDR_EL1"), 0, 0, buf, sizeof(buf)), 0);
	TEST_ASSERT_STR_EQ(buf, "REVIDR_EL1 = 0x0 (fixed)\n");

	TEST_ASSERT_EQ(idreg__format_fields(reg("ID_AA64DFR1_EL1"), 0x0300, 0, buf, sizeof(buf)),
		       0);
	TEST_ASSERT_STR_CONTAINS(buf, "ID_AA64DFR1_EL1.BRPs = 0x3 (fixed)\n");

	TEST_ASSERT_EQ(idreg__format_fields(reg("ID_AA64PFR2_EL1"), BIT(28) | 1, ~0ULL, buf,
					    sizeof(buf)), 0);
	TEST_ASSERT_STR_CONTAINS(buf, "ID_AA64PFR2_EL1.MTEPERM = 1 (writable)\n");
	TEST_ASSERT_STR_CONTAINS(buf, "ID_AA64PFR2_EL1.<unnamed> = 0x10000000 (writable)\n");

	/* Too small: -ENOSPC, still a string. */
	memset(buf, 'x', sizeof(buf));
	TEST_ASSERT_EQ(idreg__format_fields(reg("ID_AA64PFR0_EL1"), v, 0, buf, 40), -ENOSPC);
	TEST_ASSERT(strlen(buf) < 40, "truncated output is NUL-terminated");
	TEST_ASSERT_EQ(idreg__format_fields(reg("ID_AA64PFR0_EL1"), v, 0, buf, 0), -ENOSPC);
}

struct count_ctx {
	unsigned int calls, stop_at;
	bool saw_null;
};

static int count_fields(const struct idreg_desc *d, const struct idreg_field *f, u64 value,
			bool writable, void *opaque)
{
	struct count_ctx *c = opaque;

	(void)d;
	(void)value;
	(void)writable;
	c->calls++;
	if (!f)
		c->saw_null = true;
	return c->calls == c->stop_at ? 7 : 0;
}

static void test_for_each_field(void)
{
	struct count_ctx c = { 0 };

	TEST_ASSERT_EQ(idreg__for_each_field(reg("ID_AA64ISAR3_EL1"), 0, 0, count_fields, &c), 0);
	TEST_ASSERT(c.calls == 8 && !c.saw_null, "calls %u", c.calls);
	c = (struct count_ctx){ .stop_at = 3 };
	TEST_ASSERT_EQ(idreg__for_each_field(reg("ID_AA64ISAR3_EL1"), 0, 0, count_fields, &c), 7);
	TEST_ASSERT_EQ(c.calls, 3);
	c = (struct count_ctx){ 0 };
	TEST_ASSERT_EQ(idreg__for_each_field(reg("AIDR_EL1"), 5, 0, count_fields, &c), 0);
	TEST_ASSERT(c.calls == 1 && c.saw_null, "field-less register: one call with NULL");
}

static const struct test_case tests[] = {
	TEST_CASE(test_table_sanity),
	TEST_CASE(test_table_has_required_registers),
	TEST_CASE(test_table_spot_checks),
	TEST_CASE(test_mask_index_matches_uapi),
	TEST_CASE(test_kvm_id),
	TEST_CASE(test_find),
	TEST_CASE(test_field_lookup),
	TEST_CASE(test_get_set),
	TEST_CASE(test_every_field_round_trips),
	TEST_CASE(test_sign_extension),
	TEST_CASE(test_field_le_signed),
	TEST_CASE(test_field_le_unsigned),
	TEST_CASE(test_field_le_other_schemes),
	TEST_CASE(test_parse_good),
	TEST_CASE(test_parse_bad),
	TEST_CASE(test_parse_list),
	TEST_CASE(test_parse_file),
	TEST_CASE(test_check_writable),
	TEST_CASE(test_check_levels),
	TEST_CASE(test_check_pmu),
	TEST_CASE(test_check_stage2),
	TEST_CASE(test_check_raw),
	TEST_CASE(test_check_imp_id),
	TEST_CASE(test_format),
	TEST_CASE(test_for_each_field),
};

TEST_MAIN(tests)
