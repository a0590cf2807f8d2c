/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The AArch64 ID registers a VMM may read and (within KVM's limits) lower:
 * one table of their names, encodings and fields, and the pure logic on top
 * of it -- field access, the Arm ARM's ordering of feature levels, parsing
 * "REG.FIELD=VALUE" from the command line or a file, checking a change
 * against what KVM reports (KVM_ARM_GET_REG_WRITABLE_MASKS and the host's
 * values), and describing a register field by field for "lkvm cpu".
 * No KVM in here: the caller does the ioctls and passes numbers in.
 *
 * Sources: Arm ARM (DDI 0487, 2024/2025 issues) D24.1.3 "Principles of the
 * ID scheme for fields in ID registers" and the D24.2 register
 * descriptions; KVM api.rst 4.139 (KVM_ARM_GET_REG_WRITABLE_MASKS) and
 * 7.37 (KVM_CAP_ARM_WRITABLE_IMP_ID_REGS).
 */
#ifndef LKVM_ARM_IDREG_H
#define LKVM_ARM_IDREG_H

#include <stddef.h>

#include "lkvm/util.h"

/*
 * How a field's values are ordered, which decides what "lowering" it means
 * (Arm ARM D24.1.3 and its alternative schemes D24.1.3.2-4).
 */
enum idreg_scheme {
	/* 0 = absent, each higher value adds to the one below. */
	IDREG_UNSIGNED,
	/* Two's complement: 0 = present, 0xf (-1) = absent, lower = less. */
	IDREG_SIGNED,
	/*
	 * ID_AA64DFR0_EL1.PMUVer (D24.1.3.2): 0xf = an IMPLEMENTATION DEFINED
	 * PMU, not Arm's; other values unsigned.  0xf is comparable only with
	 * itself and with 0 (no PMU), which is below everything.
	 */
	IDREG_PMU,
	/*
	 * ID_AA64MMFR0_EL1.TGran{4,16,64}_2 (D24.1.3.3): 0 = "as the stage 1
	 * field TGranN says", else 1 = not supported, 2 = supported, 3 = with
	 * 52-bit addresses.
	 */
	IDREG_STAGE2,
	/*
	 * ID_AA64SMFR0_EL1 and ID_AA64FPFR0_EL1 except SMEver (D24.1.3.4):
	 * each bit is a feature, so a lower value has a subset of the bits.
	 */
	IDREG_BITS,
	/* Identification, not a feature level (MIDR_EL1): any value goes. */
	IDREG_IDENT,
};

struct idreg_field {
	const char *name;	/* Arm ARM field name, e.g. "PARange" */
	u8 lsb, width;
	u8 scheme;		/* enum idreg_scheme */
};

struct idreg_desc {
	const char *name;	/* e.g. "ID_AA64PFR0_EL1" */
	u8 op0, op1, crn, crm, op2;
	/*
	 * MIDR_EL1, REVIDR_EL1, AIDR_EL1: KVM treats them as invariant unless
	 * the VM enabled KVM_CAP_ARM_WRITABLE_IMP_ID_REGS before creating
	 * vCPUs (api.rst 7.37), whatever the writable mask says.
	 */
	bool imp_id;
	const struct idreg_field *fields;	/* ordered from bit 63 down */
	unsigned int nr_fields;			/* 0: IMPLEMENTATION DEFINED whole */
};

/* An assignment parsed from "REG.FIELD=VALUE" or "REG=VALUE". */
struct idreg_assign {
	const struct idreg_desc *reg;
	const struct idreg_field *field;	/* NULL: the whole register */
	u64 value;				/* field value (not shifted), or raw */
};

/* The bits of @f within its register. */
static inline u64 idreg__field_mask(const struct idreg_field *f)
{
	return GENMASK(f->lsb + f->width - 1, f->lsb);
}

/* Number of registers in the table; idreg__at(0 .. count-1) walks it in encoding order. */
unsigned int idreg__count(void);
const struct idreg_desc *idreg__at(unsigned int i);

/*
 * The register called @name: case-insensitive, "_EL1" optional
 * ("id_aa64pfr0" finds ID_AA64PFR0_EL1), or the generic form
 * "S3_0_C0_C4_0".  NULL if the table has no such register.
 */
const struct idreg_desc *idreg__find(const char *name);

/* The register with this encoding, or NULL. */
const struct idreg_desc *idreg__by_encoding(u8 op0, u8 op1, u8 crn, u8 crm, u8 op2);

/* @d's field called @name (case-insensitive), or NULL. */
const struct idreg_field *idreg__field(const struct idreg_desc *d, const char *name);

/* The KVM_{GET,SET}_ONE_REG id: ARM64_SYS_REG(op0, op1, crn, crm, op2). */
u64 idreg__kvm_id(const struct idreg_desc *d);

/*
 * @d's index in the array KVM_ARM_GET_REG_WRITABLE_MASKS fills for
 * KVM_ARM_FEATURE_ID_RANGE (KVM_ARM_FEATURE_ID_RANGE_IDX), or -1 if @d
 * lies outside that range (op0 = 3, op1 in {0, 1, 3}, CRn = 0, CRm 0..7).
 * Every register in the table lies inside, including the imp_id ones
 * (CRm = 0); for those the mask only counts once the capability is on.
 */
int idreg__mask_index(const struct idreg_desc *d);

/* Field @f of register value @reg, unshifted. */
u64 idreg__get_field(u64 reg, const struct idreg_field *f);

/* @reg with field @f set to @v (bits of @v above the width are dropped). */
u64 idreg__set_field(u64 reg, const struct idreg_field *f, u64 v);

/* Field @f of @reg as a number: sign-extended for IDREG_SIGNED, else as is. */
s64 idreg__field_signed(u64 reg, const struct idreg_field *f);

/*
 * Whether feature level @a of field @f is no more than @b, per the field's
 * scheme, so that a VMM offering @a where the host offers @b lowers (or
 * keeps) the feature.  @a and @b are unshifted field values.  Unsigned:
 * a <= b.  Signed: compared sign-extended (0xf = -1 < 0 < 1).  PMU: see
 * IDREG_PMU.  Bits: a's bits are a subset of b's.  Ident: always true.
 * Stage 2: 1 is below everything, otherwise a 0 on either side needs the
 * stage 1 field to judge and compares as "no more" here;
 * idreg__check_assign() resolves it with the whole register.
 */
bool idreg__field_le(const struct idreg_field *f, u64 a, u64 b);

/* @reg after assignment @a: the field replaced, or the whole value. */
u64 idreg__apply(const struct idreg_assign *a, u64 reg);

/*
 * Parses one assignment: "REG.FIELD=VALUE" (VALUE decimal or 0x-hex, must
 * fit the field; a signed field also takes -1 .. -2^(width-1)) or
 * "REG=VALUE" (any 64-bit value).  Blanks around the parts are ignored.
 * Returns 0, -EINVAL (syntax), -ENOENT (no such register or field) or
 * -ERANGE (value too wide); @err names the register and field and lists
 * what would be accepted.
 */
int idreg__parse_assignment(const char *s, struct idreg_assign *out, struct lkvm_err *err);

/*
 * Parses a comma-separated list of assignments into @out[0 .. *n-1]
 * (at most @max; more is -E2BIG).  An empty item is -EINVAL.  Later
 * assignments are meant to be applied after earlier ones.
 */
int idreg__parse_list(const char *s, struct idreg_assign *out, unsigned int max,
		      unsigned int *n, struct lkvm_err *err);

/*
 * Parses the text of an assignment file: one assignment (or comma list)
 * per line, "#" to end of line is a comment, blank lines are skipped.
 * @filename only labels errors ("FILE:LINE: ...").  Same returns as
 * idreg__parse_list(); *n counts what was parsed.
 */
int idreg__parse_file_text(const char *text, const char *filename, struct idreg_assign *out,
			   unsigned int max, unsigned int *n, struct lkvm_err *err);

/*
 * Checks assignment @a against what KVM reported: @host is the register's
 * value before lkvm changed it (KVM refuses values above that), and
 * @writable_mask its KVM_ARM_GET_REG_WRITABLE_MASKS entry (for an imp_id
 * register: 0 unless the VM enabled KVM_CAP_ARM_WRITABLE_IMP_ID_REGS).
 * A field must be entirely writable and, unless unchanged, no higher
 * than the host's per idreg__field_le(); a raw write is checked field by
 * field for the fields it changes, and bits outside any field may only
 * change where writable.  Returns 0, -EPERM (not writable: @err lists
 * the writable fields) or -ERANGE (raises a feature: @err gives the
 * allowed values).
 */
int idreg__check_assign(const struct idreg_assign *a, u64 host, u64 writable_mask,
			struct lkvm_err *err);

/*
 * Calls @fn for each field of @d in @value, from bit 63 down, with the
 * field's value and whether @writable_mask covers all its bits; then, if
 * @d has no fields or some bits outside its fields are set, once with
 * f == NULL and the value of those bits.  Stops at the first non-zero
 * return and returns it; 0 otherwise.  For "lkvm cpu --json" and alike.
 */
typedef int (*idreg_field_fn)(const struct idreg_desc *d, const struct idreg_field *f,
			      u64 value, bool writable, void *opaque);
int idreg__for_each_field(const struct idreg_desc *d, u64 value, u64 writable_mask,
			  idreg_field_fn fn, void *opaque);

/*
 * Describes @value one field per line into @buf (always NUL-terminated):
 *   ID_AA64PFR0_EL1.SVE = 1 (writable)
 *   ID_AA64PFR0_EL1.FP = -1 (0xf) (fixed)
 *   ID_AA64DFR1_EL1.BRPs = 0x5 (fixed)      fields of 8+ bits in hex
 *   REVIDR_EL1 = 0x0 (fixed)                register without fields
 *   ID_AA64PFR2_EL1.<unnamed> = 0x10000000 (fixed)  bits no field names
 * Returns 0, or -ENOSPC if @len was too small (the output is truncated).
 */
int idreg__format_fields(const struct idreg_desc *d, u64 value, u64 writable_mask, char *buf,
			 size_t len);

#endif /* LKVM_ARM_IDREG_H */
