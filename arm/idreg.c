// SPDX-License-Identifier: GPL-2.0-only
/*
 * The ID register table and the pure logic on it: lookups, field access,
 * the Arm ARM's ordering of feature levels, parsing assignments, checking
 * them against KVM's writable masks and the host's values, and describing
 * a register field by field.  See arm/include/arm/idreg.h.
 *
 * Field layouts are from the Arm ARM (DDI 0487, 2024/2025 issues) D24.2
 * register descriptions; RES0 bits have no entry.  Orderings are from
 * D24.1.3: fields are unsigned unless 0 means "implemented" and 0xf "not
 * implemented", which makes them signed; the few exceptions are named by
 * their scheme in the table.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <linux/kvm.h>

#include "arm/idreg.h"

#define FLD(n, l, w, s)	{ .name = (n), .lsb = (l), .width = (w), .scheme = (s) }
#define U(n, l)		FLD(n, l, 4, IDREG_UNSIGNED)
#define S(n, l)		FLD(n, l, 4, IDREG_SIGNED)
#define U8(n, l)	FLD(n, l, 8, IDREG_UNSIGNED)
#define BIT1(n, l)	FLD(n, l, 1, IDREG_BITS)
#define BITS4(n, l)	FLD(n, l, 4, IDREG_BITS)
#define S2(n, l)	FLD(n, l, 4, IDREG_STAGE2)

/* D24.2: MIDR_EL1. */
static const struct idreg_field midr_fields[] = {
	FLD("Implementer", 24, 8, IDREG_IDENT),
	FLD("Variant", 20, 4, IDREG_IDENT),
	FLD("Architecture", 16, 4, IDREG_IDENT),
	FLD("PartNum", 4, 12, IDREG_IDENT),
	FLD("Revision", 0, 4, IDREG_IDENT),
};

static const struct idreg_field pfr0_fields[] = {
	U("CSV3", 60), U("CSV2", 56), U("RME", 52), U("DIT", 48),
	U("AMU", 44), U("MPAM", 40), U("SEL2", 36), U("SVE", 32),
	U("RAS", 28), U("GIC", 24),
	S("AdvSIMD", 20), S("FP", 16),		/* 0xf: not implemented */
	U("EL3", 12), U("EL2", 8), U("EL1", 4), U("EL0", 0),
};

static const struct idreg_field pfr1_fields[] = {
	U("PFAR", 60), U("DF2", 56), U("MTEX", 52), U("THE", 48),
	U("GCS", 44),
	S("MTE_frac", 40),			/* 0: async TCF, 0xf: none */
	U("NMI", 36), U("CSV2_frac", 32), U("RNDR_trap", 28), U("SME", 24),
	U("MPAM_frac", 16), U("RAS_frac", 12), U("MTE", 8), U("SSBS", 4),
	U("BT", 0),
};

static const struct idreg_field pfr2_fields[] = {
	U("FPMR", 32), U("UINJ", 16),
	U("GCIE", 12),				/* GICv5 CPU interface, 2025 */
	U("MTEFAR", 8), U("MTESTOREONLY", 4), U("MTEPERM", 0),
};

static const struct idreg_field zfr0_fields[] = {
	U("F64MM", 56), U("F32MM", 52), U("F16MM", 48), U("I8MM", 44),
	U("SM4", 40), U("SHA3", 32), U("B16B16", 24), U("BF16", 20),
	U("BitPerm", 16), U("EltPerm", 12), U("AES", 4), U("SVEver", 0),
};

/* D24.1.3.4: one bit (or one 4-bit group) per feature, SMEver aside. */
static const struct idreg_field smfr0_fields[] = {
	BIT1("FA64", 63), BIT1("LUTv2", 60),
	U("SMEver", 56),
	BITS4("I16I64", 52), BIT1("F64F64", 48), BITS4("I16I32", 44),
	BIT1("B16B16", 43), BIT1("F16F16", 42), BIT1("F8F16", 41),
	BIT1("F8F32", 40), BITS4("I8I32", 36), BIT1("F16F32", 35),
	BIT1("B16F32", 34), BIT1("BI32I32", 33), BIT1("F32F32", 32),
	BIT1("SF8FMA", 30), BIT1("SF8DP4", 29), BIT1("SF8DP2", 28),
	BIT1("SF8MM8", 27), BIT1("SF8MM4", 26), BIT1("SBitPerm", 25),
	BIT1("AES", 24), BIT1("SFEXPA", 23), BIT1("STMOP", 16),
	BIT1("SMOP4", 0),
};

static const struct idreg_field fpfr0_fields[] = {
	BIT1("F8CVT", 31), BIT1("F8FMA", 30), BIT1("F8DP4", 29),
	BIT1("F8DP2", 28), BIT1("F8MM8", 27), BIT1("F8MM4", 26),
	BIT1("F8E4M3", 1), BIT1("F8E5M2", 0),
};

static const struct idreg_field dfr0_fields[] = {
	U("HPMN0", 60), U("ExtTrcBuff", 56), U("BRBE", 52),
	S("MTPMU", 48),				/* 0xf: not implemented, MT RES0 */
	U("TraceBuffer", 44), U("TraceFilt", 40),
	S("DoubleLock", 36),			/* 0: implemented, 0xf: not */
	U("PMSVer", 32), U("CTX_CMPs", 28), U("SEBEP", 24), U("WRPs", 20),
	U("PMSS", 16), U("BRPs", 12),
	FLD("PMUVer", 8, 4, IDREG_PMU),
	U("TraceVer", 4), U("DebugVer", 0),
};

static const struct idreg_field dfr1_fields[] = {
	U8("ABL_CMPs", 56), U("DPFZS", 52), U("EBEP", 48), U("ITE", 44),
	U("ABLE", 40), U("PMICNTR", 36), U("SPMU", 32), U8("CTX_CMPs", 24),
	U8("WRPs", 16), U8("BRPs", 8), U8("SYSPMUID", 0),
};

static const struct idreg_field dfr2_fields[] = {
	U("TRBE_EXC", 24), U("SPE_nVM", 20), U("SPE_EXC", 16), U("BWE", 4),
	U("STEP", 0),
};

static const struct idreg_field isar0_fields[] = {
	U("RNDR", 60), U("TLB", 56), U("TS", 52), U("FHM", 48),
	U("DP", 44), U("SM4", 40), U("SM3", 36), U("SHA3", 32),
	U("RDM", 28), U("TME", 24), U("Atomic", 20), U("CRC32", 16),
	U("SHA2", 12), U("SHA1", 8), U("AES", 4),
};

static const struct idreg_field isar1_fields[] = {
	U("LS64", 60), U("XS", 56), U("I8MM", 52), U("DGH", 48),
	U("BF16", 44), U("SPECRES", 40), U("SB", 36), U("FRINTTS", 32),
	U("GPI", 28), U("GPA", 24), U("LRCPC", 20), U("FCMA", 16),
	U("JSCVT", 12), U("API", 8), U("APA", 4), U("DPB", 0),
};

static const struct idreg_field isar2_fields[] = {
	U("ATS1A", 60), U("LUT", 56), U("CSSC", 52), U("RPRFM", 48),
	U("PCDPHINT", 44), U("PRFMSLC", 40), U("SYSINSTR_128", 36),
	U("SYSREG_128", 32), U("CLRBHB", 28), U("PAC_frac", 24), U("BC", 20),
	U("MOPS", 16), U("APA3", 12), U("GPA3", 8), U("RPRES", 4),
	U("WFxT", 0),
};

static const struct idreg_field isar3_fields[] = {
	U("FPRCVT", 28), U("LSUI", 24), U("OCCMO", 20), U("LSFE", 16),
	U("PACM", 12), U("TLBIW", 8), U("FAMINMAX", 4), U("CPA", 0),
};

static const struct idreg_field mmfr0_fields[] = {
	U("ECV", 60), U("FGT", 56), U("ExS", 44),
	S2("TGran4_2", 40), S2("TGran64_2", 36), S2("TGran16_2", 32),
	S("TGran4", 28), S("TGran64", 24),	/* 0: supported, 0xf: not */
	U("TGran16", 20),			/* 0: not supported */
	U("BigEndEL0", 16), U("SNSMem", 12), U("BigEnd", 8), U("ASIDBits", 4),
	U("PARange", 0),
};

static const struct idreg_field mmfr1_fields[] = {
	U("ECBHB", 60), U("CMOW", 56), U("TIDCP1", 52), U("nTLBPA", 48),
	U("AFP", 44), U("HCX", 40), U("ETS", 36), U("TWED", 32),
	U("XNX", 28), U("SpecSEI", 24), U("PAN", 20), U("LO", 16),
	U("HPDS", 12), U("VH", 8), U("VMIDBits", 4), U("HAFDBS", 0),
};

static const struct idreg_field mmfr2_fields[] = {
	U("E0PD", 60), U("EVT", 56), U("BBM", 52), U("TTL", 48),
	U("FWB", 40), U("IDS", 36), U("AT", 32), U("ST", 28),
	U("NV", 24), U("CCIDX", 20), U("VARange", 16), U("IESB", 12),
	U("LSM", 8), U("UAO", 4), U("CnP", 0),
};

static const struct idreg_field mmfr3_fields[] = {
	U("Spec_FPACC", 60), U("ADERR", 56), U("SDERR", 52), U("ANERR", 44),
	U("SNERR", 40), U("D128_2", 36), U("D128", 32), U("MEC", 28),
	U("AIE", 24), U("S2POE", 20), U("S1POE", 16), U("S2PIE", 12),
	U("S1PIE", 8), U("SCTLRX", 4), U("TCRX", 0),
};

static const struct idreg_field mmfr4_fields[] = {
	U("SRMASK", 44), U("E3DSE", 36), U("RMEGDI", 28),
	S("E2H0", 24),				/* 0xe: no E2H0, NV1 RES0 too */
	U("NV_frac", 20), U("FGWTE3", 16), U("HACDBS", 12), U("ASID2", 8),
	S("EIESB", 4),				/* 0xf: may be after the exception */
	U("PoPS", 0),
};

#define REG(n, o0, o1, n_, m, o2, f)						\
	{ .name = (n), .op0 = (o0), .op1 = (o1), .crn = (n_), .crm = (m),	\
	  .op2 = (o2), .fields = (f), .nr_fields = ARRAY_SIZE(f) }
#define IMPREG(n, o0, o1, n_, m, o2)						\
	{ .name = (n), .op0 = (o0), .op1 = (o1), .crn = (n_), .crm = (m),	\
	  .op2 = (o2), .imp_id = true }

/* In encoding order. */
static const struct idreg_desc idregs[] = {
	{ .name = "MIDR_EL1", .op0 = 3, .op1 = 0, .crn = 0, .crm = 0, .op2 = 0,
	  .imp_id = true, .fields = midr_fields, .nr_fields = ARRAY_SIZE(midr_fields) },
	IMPREG("REVIDR_EL1", 3, 0, 0, 0, 6),
	REG("ID_AA64PFR0_EL1", 3, 0, 0, 4, 0, pfr0_fields),
	REG("ID_AA64PFR1_EL1", 3, 0, 0, 4, 1, pfr1_fields),
	REG("ID_AA64PFR2_EL1", 3, 0, 0, 4, 2, pfr2_fields),
	REG("ID_AA64ZFR0_EL1", 3, 0, 0, 4, 4, zfr0_fields),
	REG("ID_AA64SMFR0_EL1", 3, 0, 0, 4, 5, smfr0_fields),
	REG("ID_AA64FPFR0_EL1", 3, 0, 0, 4, 7, fpfr0_fields),
	REG("ID_AA64DFR0_EL1", 3, 0, 0, 5, 0, dfr0_fields),
	REG("ID_AA64DFR1_EL1", 3, 0, 0, 5, 1, dfr1_fields),
	REG("ID_AA64DFR2_EL1", 3, 0, 0, 5, 2, dfr2_fields),
	REG("ID_AA64ISAR0_EL1", 3, 0, 0, 6, 0, isar0_fields),
	REG("ID_AA64ISAR1_EL1", 3, 0, 0, 6, 1, isar1_fields),
	REG("ID_AA64ISAR2_EL1", 3, 0, 0, 6, 2, isar2_fields),
	REG("ID_AA64ISAR3_EL1", 3, 0, 0, 6, 3, isar3_fields),
	REG("ID_AA64MMFR0_EL1", 3, 0, 0, 7, 0, mmfr0_fields),
	REG("ID_AA64MMFR1_EL1", 3, 0, 0, 7, 1, mmfr1_fields),
	REG("ID_AA64MMFR2_EL1", 3, 0, 0, 7, 2, mmfr2_fields),
	REG("ID_AA64MMFR3_EL1", 3, 0, 0, 7, 3, mmfr3_fields),
	REG("ID_AA64MMFR4_EL1", 3, 0, 0, 7, 4, mmfr4_fields),
	IMPREG("AIDR_EL1", 3, 1, 0, 0, 7),
};

unsigned int idreg__count(void)
{
	return ARRAY_SIZE(idregs);
}

const struct idreg_desc *idreg__at(unsigned int i)
{
	return i < ARRAY_SIZE(idregs) ? &idregs[i] : NULL;
}

/* "S3_0_C0_C4_0", the name assemblers accept for any system register. */
static bool parse_generic_name(const char *s, unsigned long enc[5])
{
	static const char *const lead[5] = { "s", "_", "_c", "_c", "_" };
	char *end;

	for (int i = 0; i < 5; i++) {
		size_t n = strlen(lead[i]);

		if (strncasecmp(s, lead[i], n) != 0 || !isdigit((unsigned char)s[n]))
			return false;
		enc[i] = strtoul(s + n, &end, 10);
		if (enc[i] > 15)
			return false;
		s = end;
	}
	return *s == '\0';
}

const struct idreg_desc *idreg__find(const char *name)
{
	unsigned long enc[5];
	size_t len;

	if (!name)
		return NULL;
	if (parse_generic_name(name, enc))
		return idreg__by_encoding(enc[0], enc[1], enc[2], enc[3], enc[4]);
	len = strlen(name);
	for (unsigned int i = 0; i < ARRAY_SIZE(idregs); i++) {
		const char *full = idregs[i].name;
		size_t flen = strlen(full);

		if (!strcasecmp(full, name))
			return &idregs[i];
		/* Without the "_EL1" every name in the table ends with. */
		if (len + 4 == flen && !strncasecmp(full, name, len) &&
		    !strcmp(full + len, "_EL1"))
			return &idregs[i];
	}
	return NULL;
}

const struct idreg_desc *idreg__by_encoding(u8 op0, u8 op1, u8 crn, u8 crm, u8 op2)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(idregs); i++) {
		const struct idreg_desc *d = &idregs[i];

		if (d->op0 == op0 && d->op1 == op1 && d->crn == crn && d->crm == crm &&
		    d->op2 == op2)
			return d;
	}
	return NULL;
}

const struct idreg_field *idreg__field(const struct idreg_desc *d, const char *name)
{
	if (!d || !name)
		return NULL;
	for (unsigned int i = 0; i < d->nr_fields; i++) {
		if (!strcasecmp(d->fields[i].name, name))
			return &d->fields[i];
	}
	return NULL;
}

u64 idreg__kvm_id(const struct idreg_desc *d)
{
	return ARM64_SYS_REG(d->op0, d->op1, d->crn, d->crm, d->op2);
}

int idreg__mask_index(const struct idreg_desc *d)
{
	/* api.rst 4.139: op0 == 3, op1 == {0, 1, 3}, CRn == 0, CRm == {0-7}. */
	if (d->op0 != 3 || d->op1 == 2 || d->op1 > 3 || d->crn != 0 || d->crm > 7 ||
	    d->op2 > 7)
		return -1;
	return (int)KVM_ARM_FEATURE_ID_RANGE_IDX(d->op0, d->op1, d->crn, d->crm, d->op2);
}

u64 idreg__get_field(u64 reg, const struct idreg_field *f)
{
	return (reg & idreg__field_mask(f)) >> f->lsb;
}

u64 idreg__set_field(u64 reg, const struct idreg_field *f, u64 v)
{
	u64 mask = idreg__field_mask(f);

	return (reg & ~mask) | ((v << f->lsb) & mask);
}

/* @v (a @width-bit field value) as a two's complement number. */
static s64 sext(u64 v, unsigned int width)
{
	u64 sign = 1ULL << (width - 1);

	v &= GENMASK(width - 1, 0);
	return (s64)(v ^ sign) - (s64)sign;
}

s64 idreg__field_signed(u64 reg, const struct idreg_field *f)
{
	u64 v = idreg__get_field(reg, f);

	return f->scheme == IDREG_SIGNED ? sext(v, f->width) : (s64)v;
}

bool idreg__field_le(const struct idreg_field *f, u64 a, u64 b)
{
	u64 all = GENMASK(f->width - 1, 0);

	a &= all;
	b &= all;
	switch (f->scheme) {
	case IDREG_SIGNED:
		return sext(a, f->width) <= sext(b, f->width);
	case IDREG_PMU:
		/* 0xf is an IMPLEMENTATION DEFINED PMU: no Arm version to order. */
		if (a == b || a == 0)
			return true;
		if (a == all || b == all)
			return false;
		return a <= b;
	case IDREG_STAGE2:
		return a == 1 || a == 0 || b == 0 || a <= b;
	case IDREG_BITS:
		return (a & ~b) == 0;
	case IDREG_IDENT:
		return true;
	default:
		return a <= b;
	}
}

u64 idreg__apply(const struct idreg_assign *a, u64 reg)
{
	return a->field ? idreg__set_field(reg, a->field, a->value) : a->value;
}

/* ---- Parsing ---------------------------------------------------------- */

/* Returns @s without leading and trailing blanks, in place. */
static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/*
 * Edit distance from @a to @b, case-insensitive, on at most 63 characters
 * of each; with @in_b, to the closest substring of @b (so "PFR0" is near
 * "ID_AA64PFR0" and "MMFR" near every ID_AA64MMFRn).
 */
static unsigned int edit_distance(const char *a, const char *b, bool in_b)
{
	unsigned int row[64], la = MIN(strlen(a), 63), lb = MIN(strlen(b), 63), best;

	for (unsigned int j = 0; j <= lb; j++)
		row[j] = in_b ? 0 : j;
	for (unsigned int i = 1; i <= la; i++) {
		unsigned int diag = row[0];

		row[0] = i;
		for (unsigned int j = 1; j <= lb; j++) {
			unsigned int up = row[j];
			unsigned int cost = toupper((unsigned char)a[i - 1]) !=
					    toupper((unsigned char)b[j - 1]);

			row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), diag + cost);
			diag = up;
		}
	}
	if (!in_b)
		return row[lb];
	best = row[0];
	for (unsigned int j = 1; j <= lb; j++)
		best = MIN(best, row[j]);
	return best;
}

/*
 * How far what the user typed is from register name @full ("_EL1"
 * optional); a near-substring counts one more than a near-whole match.
 */
static unsigned int name_distance(const char *typed, const char *full)
{
	unsigned int d = MIN(edit_distance(typed, full, false), edit_distance(typed, full, true) + 1);
	char bare[64];
	size_t n = strlen(full);

	if (n > 4 && n - 4 < sizeof(bare) && !strcmp(full + n - 4, "_EL1")) {
		memcpy(bare, full, n - 4);
		bare[n - 4] = '\0';
		d = MIN(d, edit_distance(typed, bare, false));
	}
	return d;
}

static int unknown_register(const char *name, struct lkvm_err *err)
{
	const struct idreg_desc *best[3] = { NULL, NULL, NULL };
	unsigned int dist[3] = { ~0U, ~0U, ~0U };

	/* Keep the three closest, ties in table order. */
	for (unsigned int i = 0; i < ARRAY_SIZE(idregs); i++) {
		unsigned int d = name_distance(name, idregs[i].name);

		for (int k = 0; k < 3; k++) {
			if (d < dist[k]) {
				for (int m = 2; m > k; m--) {
					dist[m] = dist[m - 1];
					best[m] = best[m - 1];
				}
				dist[k] = d;
				best[k] = &idregs[i];
				break;
			}
		}
	}
	return seterr(err, ENOENT,
		      "unknown ID register '%s'; closest: %s, %s, %s (\"lkvm cpu\" lists them all)",
		      name, best[0]->name, best[1]->name, best[2]->name);
}

/* "A, B, C" into @buf: every field of @d, or only those @mask covers entirely. */
static void list_fields(const struct idreg_desc *d, bool only_writable, u64 mask, char *buf,
			size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < d->nr_fields; i++) {
		const struct idreg_field *f = &d->fields[i];
		int r;

		if (only_writable && (mask & idreg__field_mask(f)) != idreg__field_mask(f))
			continue;
		r = snprintf(buf + used, len - used, "%s%s", used ? ", " : "", f->name);
		if (r < 0 || (size_t)r >= len - used)
			break;
		used += r;
	}
	if (!used)
		snprintf(buf, len, "none");
}

static int field_value_range_err(const struct idreg_desc *d, const struct idreg_field *f,
				 const char *v, struct lkvm_err *err)
{
	u64 max = GENMASK(f->width - 1, 0);

	if (f->scheme == IDREG_SIGNED)
		return seterr(err, ERANGE,
			      "%s.%s = %s: the field is %u bits: 0..%llu, or -%llu..-1 (signed)",
			      d->name, f->name, v, f->width, (unsigned long long)max,
			      (unsigned long long)(max / 2 + 1));
	return seterr(err, ERANGE, "%s.%s = %s: the field is %u bit%s: 0..%llu", d->name, f->name,
		      v, f->width, f->width == 1 ? "" : "s", (unsigned long long)max);
}

static int parse_field_value(const struct idreg_desc *d, const struct idreg_field *f,
			     const char *v, u64 *out, struct lkvm_err *err)
{
	u64 max = GENMASK(f->width - 1, 0), x;
	bool neg = v[0] == '-';
	int r;

	if (neg && f->scheme != IDREG_SIGNED)
		return field_value_range_err(d, f, v, err);
	r = parse_uint(v + neg, ~0ULL, &x);
	if (r == -EINVAL)
		return seterr(err, EINVAL, "%s.%s = '%s': expected a number (decimal or 0x-hex)",
			      d->name, f->name, v);
	if (r || (!neg && x > max) || (neg && (x == 0 || x > max / 2 + 1)))
		return field_value_range_err(d, f, v, err);
	*out = neg ? (0 - x) & max : x;
	return 0;
}

int idreg__parse_assignment(const char *s, struct idreg_assign *out, struct lkvm_err *err)
{
	char whole[256], buf[256], *lhs, *rhs, *eq, *dot, *shown;
	const struct idreg_desc *d;
	size_t len = strlen(s);

	if (len >= sizeof(buf))
		return seterr(err, EINVAL, "'%.40s...': too long for an ID register assignment", s);
	memcpy(whole, s, len + 1);
	shown = trim(whole);
	memcpy(buf, shown, strlen(shown) + 1);
	eq = strchr(buf, '=');
	if (!eq)
		return seterr(err, EINVAL, "'%s': expected REG.FIELD=VALUE or REG=VALUE", shown);
	*eq = '\0';
	rhs = trim(eq + 1);
	dot = strchr(buf, '.');
	if (dot) {
		*dot = '\0';
		dot = trim(dot + 1);
	}
	lhs = trim(buf);
	if (!*lhs || !*rhs || (dot && !*dot))
		return seterr(err, EINVAL, "'%s': expected REG.FIELD=VALUE or REG=VALUE", shown);

	d = idreg__find(lhs);
	if (!d)
		return unknown_register(lhs, err);
	out->reg = d;
	out->field = NULL;
	if (!dot) {
		int r = parse_uint(rhs, ~0ULL, &out->value);

		if (r)
			return seterr(err, r == -ERANGE ? ERANGE : EINVAL,
				      "%s = '%s': expected a 64-bit number (decimal or 0x-hex)",
				      d->name, rhs);
		return 0;
	}

	out->field = idreg__field(d, dot);
	if (!out->field) {
		char names[400];

		if (!d->nr_fields)
			return seterr(err, ENOENT,
				      "%s has no named fields (IMPLEMENTATION DEFINED); assign it whole: %s=VALUE",
				      d->name, d->name);
		list_fields(d, false, 0, names, sizeof(names));
		return seterr(err, ENOENT, "%s has no field '%s'; its fields: %s", d->name, dot,
			      names);
	}
	return parse_field_value(d, out->field, rhs, &out->value, err);
}

/* Parses the comma-separated items of @s (modified) and appends them to @out. */
static int parse_items(char *s, struct idreg_assign *out, unsigned int max, unsigned int *n,
		       struct lkvm_err *err)
{
	char *item, *next;

	if (!*trim(s))
		return seterr(err, EINVAL, "empty list of ID register assignments");
	/* Not strtok_r: it would skip empty items ("a,,b"), which are likely typos. */
	for (item = s; item; item = next) {
		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		item = trim(item);
		if (!*item)
			return seterr(err, EINVAL,
				      "empty item in a list of ID register assignments (stray comma?)");
		if (*n >= max)
			return seterr(err, E2BIG, "too many ID register assignments (at most %u)",
				      max);
		int r = idreg__parse_assignment(item, &out[*n], err);

		if (r)
			return r;
		(*n)++;
	}
	return 0;
}

int idreg__parse_list(const char *s, struct idreg_assign *out, unsigned int max,
		      unsigned int *n, struct lkvm_err *err)
{
	char buf[4096];
	size_t len = strlen(s);

	*n = 0;
	if (len >= sizeof(buf))
		return seterr(err, EINVAL, "list of ID register assignments too long (max %zu bytes)",
			      sizeof(buf) - 1);
	memcpy(buf, s, len + 1);
	return parse_items(buf, out, max, n, err);
}

int idreg__parse_file_text(const char *text, const char *filename, struct idreg_assign *out,
			   unsigned int max, unsigned int *n, struct lkvm_err *err)
{
	unsigned int lineno = 0;
	const char *p = text;

	*n = 0;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[512], *hash, *body;
		struct lkvm_err inner;
		int r;

		lineno++;
		if (len >= sizeof(line))
			return seterr(err, EINVAL, "%s:%u: line too long (max %zu characters)",
				      filename, lineno, sizeof(line) - 1);
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (nl ? 1 : 0);

		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		body = trim(line);
		if (!*body)
			continue;
		inner.msg[0] = '\0';
		r = parse_items(body, out, max, n, &inner);
		if (r)
			return seterr(err, -r, "%s:%u: %s", filename, lineno, inner.msg);
	}
	return 0;
}

/* ---- Checking against KVM ---------------------------------------------- */

/*
 * The stage 2 support level field @f (TGranN_2) describes in @reg:
 * 1 = none, 2 = supported, 3 = with 52-bit addresses.  0 in the field
 * defers to TGranN (D24.1.3.3), whose own scheme gives the same levels.
 */
static unsigned int stage2_level(const struct idreg_desc *d, const struct idreg_field *f,
				 u64 reg)
{
	u64 v = idreg__get_field(reg, f);
	const struct idreg_field *s1;
	char name[16];
	s64 s;

	if (v)
		return v;
	snprintf(name, sizeof(name), "%.*s", (int)strlen(f->name) - 2, f->name);
	s1 = idreg__field(d, name);
	if (!s1)
		return 1;
	s = idreg__field_signed(reg, s1);
	if (s1->scheme == IDREG_SIGNED)		/* TGran4, TGran64: 0 = supported */
		return s < 0 ? 1 : 2 + s;
	return s == 0 ? 1 : 1 + s;		/* TGran16: 1 = supported */
}

static int not_writable(const struct idreg_desc *d, const char *what, u64 mask,
			struct lkvm_err *err)
{
	char names[400];

	if (d->imp_id && !mask)
		return seterr(err, EPERM,
			      "%s is not writable: KVM lets a VMM set it only after enabling KVM_CAP_ARM_WRITABLE_IMP_ID_REGS, before creating vCPUs (api.rst 7.37)",
			      what);
	if (!d->nr_fields)
		return seterr(err, EPERM,
			      "%s is not writable on this host (KVM_ARM_GET_REG_WRITABLE_MASKS: writable bits 0x%llx)",
			      what, (unsigned long long)mask);
	list_fields(d, true, mask, names, sizeof(names));
	return seterr(err, EPERM,
		      "%s is not writable on this host (KVM_ARM_GET_REG_WRITABLE_MASKS); writable fields of %s: %s",
		      what, d->name, names);
}

/* Refuses @new in field @f if it is above @host's; the registers give TGranN_2 its context. */
static int check_level(const struct idreg_desc *d, const struct idreg_field *f, u64 new_reg,
		       u64 host_reg, struct lkvm_err *err)
{
	u64 a = idreg__get_field(new_reg, f), b = idreg__get_field(host_reg, f);
	s64 sa = idreg__field_signed(new_reg, f), sb = idreg__field_signed(host_reg, f);
	unsigned long long ua = a, ub = b, max = GENMASK(f->width - 1, 0);
	char hex[24];

	if (a == b)
		return 0;
	switch (f->scheme) {
	case IDREG_STAGE2: {
		unsigned int la = stage2_level(d, f, new_reg), lb = stage2_level(d, f, host_reg);

		if (la <= lb)
			return 0;
		return seterr(err, ERANGE,
			      "%s.%s = %llu is above this host's %llu: stage 2 support level %u > %u (1 none, 2 supported, 3 52-bit; 0 = as %.*s says)",
			      d->name, f->name, ua, ub, la, lb, (int)strlen(f->name) - 2, f->name);
	}
	case IDREG_SIGNED:
		if (sa <= sb)
			return 0;
		hex[0] = '\0';
		if (sb < 0)
			snprintf(hex, sizeof(hex), " (0x%llx)", ub);
		return seterr(err, ERANGE,
			      "%s.%s = %lld is above this host's %lld%s; allowed: %lld..%lld (signed field: 0xf is -1, not implemented)",
			      d->name, f->name, (long long)sa, (long long)sb, hex,
			      -(long long)(max / 2 + 1), (long long)sb);
	case IDREG_PMU:
		if (idreg__field_le(f, a, b))
			return 0;
		if (b == max)
			return seterr(err, ERANGE,
				      "%s.%s = %llu is above this host's 0x%llx (an IMPLEMENTATION DEFINED PMU); allowed: 0 or %llu",
				      d->name, f->name, ua, ub, max);
		return seterr(err, ERANGE,
			      "%s.%s = %llu is above this host's %llu; allowed: 0..%llu (0x%llx means an IMPLEMENTATION DEFINED PMU, not below any Arm version)",
			      d->name, f->name, ua, ub, ub, max);
	case IDREG_BITS:
		if (idreg__field_le(f, a, b))
			return 0;
		return seterr(err, ERANGE,
			      "%s.%s = 0x%llx is above this host's 0x%llx; allowed: values whose bits are all set in 0x%llx",
			      d->name, f->name, ua, ub, ub);
	case IDREG_IDENT:
		return 0;
	default:
		if (a <= b)
			return 0;
		return seterr(err, ERANGE, "%s.%s = %llu is above this host's %llu; allowed: 0..%llu",
			      d->name, f->name, ua, ub, ub);
	}
}

int idreg__check_assign(const struct idreg_assign *a, u64 host, u64 writable_mask,
			struct lkvm_err *err)
{
	const struct idreg_desc *d = a->reg;
	u64 new_reg = idreg__apply(a, host), changed = new_reg ^ host, covered = 0;
	char what[96];
	int r;

	if (a->field) {
		u64 fm = idreg__field_mask(a->field);

		snprintf(what, sizeof(what), "%s.%s", d->name, a->field->name);
		if ((writable_mask & fm) != fm && (changed & fm))
			return not_writable(d, what, writable_mask, err);
		return check_level(d, a->field, new_reg, host, err);
	}

	for (unsigned int i = 0; i < d->nr_fields; i++) {
		const struct idreg_field *f = &d->fields[i];
		u64 fm = idreg__field_mask(f);

		covered |= fm;
		if (!(changed & fm))
			continue;
		if ((writable_mask & fm) != fm) {
			snprintf(what, sizeof(what), "%s = 0x%llx changes %s.%s, which", d->name,
				 (unsigned long long)a->value, d->name, f->name);
			return not_writable(d, what, writable_mask, err);
		}
		r = check_level(d, f, new_reg, host, err);
		if (r)
			return r;
	}
	if (changed & ~covered & ~writable_mask) {
		if (d->nr_fields)
			snprintf(what, sizeof(what), "%s = 0x%llx changes bits 0x%llx no field names, which",
				 d->name, (unsigned long long)a->value,
				 (unsigned long long)(changed & ~covered));
		else
			snprintf(what, sizeof(what), "%s", d->name);
		return not_writable(d, what, writable_mask, err);
	}
	return 0;
}

/* ---- Describing ------------------------------------------------------- */

int idreg__for_each_field(const struct idreg_desc *d, u64 value, u64 writable_mask,
			  idreg_field_fn fn, void *opaque)
{
	u64 covered = 0;

	for (unsigned int i = 0; i < d->nr_fields; i++) {
		const struct idreg_field *f = &d->fields[i];
		u64 fm = idreg__field_mask(f);
		int r;

		covered |= fm;
		r = fn(d, f, idreg__get_field(value, f), (writable_mask & fm) == fm, opaque);
		if (r)
			return r;
	}
	if (!d->nr_fields || (value & ~covered))
		return fn(d, NULL, value & ~covered,
			  (writable_mask & ~covered) == ~covered, opaque);
	return 0;
}

struct format_ctx {
	char *buf;
	size_t len, used;
};

static int format_one(const struct idreg_desc *d, const struct idreg_field *f, u64 v,
		      bool writable, void *opaque)
{
	struct format_ctx *c = opaque;
	const char *tag = writable ? "writable" : "fixed";
	unsigned long long uv = v;
	size_t room = c->len - c->used;
	int r;

	if (!f && !d->nr_fields)
		r = snprintf(c->buf + c->used, room, "%s = 0x%llx (%s)\n", d->name, uv, tag);
	else if (!f)
		r = snprintf(c->buf + c->used, room, "%s.<unnamed> = 0x%llx (%s)\n", d->name, uv,
			     tag);
	else if (f->scheme == IDREG_SIGNED && sext(v, f->width) < 0)
		r = snprintf(c->buf + c->used, room, "%s.%s = %lld (0x%llx) (%s)\n", d->name,
			     f->name, (long long)sext(v, f->width), uv, tag);
	else if (f->width >= 8)
		r = snprintf(c->buf + c->used, room, "%s.%s = 0x%llx (%s)\n", d->name, f->name, uv,
			     tag);
	else
		r = snprintf(c->buf + c->used, room, "%s.%s = %llu (%s)\n", d->name, f->name, uv,
			     tag);
	if (r < 0 || (size_t)r >= room) {
		c->used = c->len - 1;
		return -ENOSPC;
	}
	c->used += r;
	return 0;
}

int idreg__format_fields(const struct idreg_desc *d, u64 value, u64 writable_mask, char *buf,
			 size_t len)
{
	struct format_ctx c = { .buf = buf, .len = len };

	if (!len)
		return -ENOSPC;
	buf[0] = '\0';
	return idreg__for_each_field(d, value, writable_mask, format_one, &c);
}
