// SPDX-License-Identifier: GPL-2.0-only
/*
 * The arm64 "lkvm run" options (kvmtool's names where kvmtool has them):
 * parsed into struct arch_config and checked once, with the rest of the
 * config, before /dev/kvm is opened.  That includes the ID register
 * assignments: --cpu-feature and --id-reg strings and the --cpu-features
 * file are parsed here (arm/idreg.c does the syntax and the names), so a
 * typo is a command-line error, not a failure to create the VM.  Whether
 * KVM lets a field be written, and to which values, is arm/cpufeat.c's
 * business once the VM exists.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/config.h"
#include "lkvm/file.h"

/* The largest --cpu-features file read; far more than ARM_MAX_ID_ASSIGNS lines need. */
#define CPU_FEATURES_MAX	SZ_MiB

enum {
	OPT_IRQCHIP = LKVM_OPT_ARCH_BASE,
	OPT_PMU,
	OPT_PMU_COUNTERS,
	OPT_NESTED,
	OPT_E2H0,
	OPT_KASLR_SEED,
	OPT_COUNTER_OFFSET,
	OPT_DISABLE_MTE,
	OPT_NO_PVTIME,
	OPT_CPU_FEATURE,
	OPT_CPU_FEATURES,
	OPT_ID_REG,
	OPT_DISABLE_SVE,
	OPT_DISABLE_PTRAUTH,
	/* kvmtool's arm64 options lkvm does not have: refused by name. */
	OPT_SVE_MAX_VL,
	OPT_VCPU_AFFINITY,
	OPT_AARCH32,
	OPT_PSCI,
	OPT_PROTECTED,
};

const struct option arch_config__options[] = {
	{ "irqchip",		required_argument, NULL, OPT_IRQCHIP },
	{ "pmu",		no_argument,	   NULL, OPT_PMU },
	{ "pmu-counters",	required_argument, NULL, OPT_PMU_COUNTERS },
	{ "nested",		no_argument,	   NULL, OPT_NESTED },
	{ "e2h0",		no_argument,	   NULL, OPT_E2H0 },
	{ "kaslr-seed",		required_argument, NULL, OPT_KASLR_SEED },
	{ "counter-offset",	required_argument, NULL, OPT_COUNTER_OFFSET },
	{ "disable-mte",	no_argument,	   NULL, OPT_DISABLE_MTE },
	{ "no-pvtime",		no_argument,	   NULL, OPT_NO_PVTIME },
	{ "cpu-feature",	required_argument, NULL, OPT_CPU_FEATURE },
	{ "cpu-features",	required_argument, NULL, OPT_CPU_FEATURES },
	{ "id-reg",		required_argument, NULL, OPT_ID_REG },
	{ "disable-sve",	no_argument,	   NULL, OPT_DISABLE_SVE },
	{ "disable-ptrauth",	no_argument,	   NULL, OPT_DISABLE_PTRAUTH },
	{ "sve-max-vl",		required_argument, NULL, OPT_SVE_MAX_VL },
	{ "vcpu-affinity",	required_argument, NULL, OPT_VCPU_AFFINITY },
	{ "aarch32",		no_argument,	   NULL, OPT_AARCH32 },
	{ "psci",		no_argument,	   NULL, OPT_PSCI },
	{ "protected",		no_argument,	   NULL, OPT_PROTECTED },
	{ NULL, 0, NULL, 0 },
};

void arch_config__usage(FILE *f)
{
	fputs("      --irqchip TYPE       gicv3-its, gicv3 or gicv2 (default: best the host has)\n"
	      "      --pmu                give the guest PMUv3\n"
	      "      --pmu-counters N     number of PMU event counters (with --pmu)\n"
	      "      --nested             vCPUs start at EL2: the guest can be a hypervisor\n"
	      "      --e2h0               with --nested: an EL2 without VHE (E2H RES0)\n"
	      "      --kaslr-seed N       /chosen/kaslr-seed (default: random)\n"
	      "      --counter-offset N   offset subtracted from the guest's counter\n"
	      "      --cpu-feature REG.FIELD=V[,...]  set ID register fields on every vCPU\n"
	      "                           (e.g. ID_AA64MMFR0_EL1.PARange=2); see lkvm cpu\n"
	      "      --cpu-features FILE  the same, one per line, # comments\n"
	      "      --id-reg REG=VALUE   set a whole ID register (raw 64-bit value)\n"
	      "      --disable-sve        no SVE for the guest (default: on where KVM has it)\n"
	      "      --disable-ptrauth    no pointer authentication (default: on where KVM has it)\n",
	      f);
}

void arch_config__defaults(struct arch_config *a)
{
	memset(a, 0, sizeof(*a));
	a->irqchip = IRQCHIP_AUTO;
	a->want_sve = true;
	a->want_ptrauth = true;
}

const char *arch_config__irqchip_name(enum irqchip_type t)
{
	switch (t) {
	case IRQCHIP_AUTO: return "auto";
	case IRQCHIP_GICV2: return "gicv2";
	case IRQCHIP_GICV3: return "gicv3";
	case IRQCHIP_GICV3_ITS: return "gicv3-its";
	}
	return "?";
}

static const char *option_name(int code)
{
	for (const struct option *o = arch_config__options; o->name; o++)
		if (o->val == code)
			return o->name;
	return "?";
}

static int parse_irqchip(struct arch_config *a, const char *arg, struct lkvm_err *err)
{
	if (!strcmp(arg, "gicv3-its"))
		a->irqchip = IRQCHIP_GICV3_ITS;
	else if (!strcmp(arg, "gicv3"))
		a->irqchip = IRQCHIP_GICV3;
	else if (!strcmp(arg, "gicv2"))
		a->irqchip = IRQCHIP_GICV2;
	else if (!strcmp(arg, "gicv2m"))
		return seterr(err, EINVAL,
			      "--irqchip gicv2m: lkvm has no GICv2m MSI frame; use gicv2, gicv3 "
			      "or gicv3-its");
	else
		return seterr(err, EINVAL, "--irqchip %s: use gicv3-its, gicv3 or gicv2", arg);
	return 0;
}

static int parse_num(int code, const char *arg, u64 max, u64 *out, struct lkvm_err *err)
{
	int r = parse_uint(arg, max, out);

	if (r == -ERANGE)
		return seterr(err, EINVAL, "--%s %s: at most %llu", option_name(code), arg,
			      (unsigned long long)max);
	if (r)
		return seterr(err, EINVAL, "--%s %s: expected a number", option_name(code), arg);
	return 0;
}

int arch_config__parse_opt(struct arch_config *a, int code, const char *arg,
			   struct lkvm_err *err)
{
	u64 v = 0;
	int r;

	switch (code) {
	case OPT_IRQCHIP: return parse_irqchip(a, arg, err);
	case OPT_PMU: a->pmu = true; return 0;
	case OPT_PMU_COUNTERS:
		a->has_pmu_counters = true;
		r = parse_num(code, arg, 31, &v, err);
		a->pmu_counters = (unsigned int)v;
		return r;
	case OPT_NESTED: a->nested = true; return 0;
	case OPT_E2H0: a->e2h0 = true; return 0;
	case OPT_KASLR_SEED:
		a->has_kaslr_seed = true;
		return parse_num(code, arg, UINT64_MAX, &a->kaslr_seed, err);
	case OPT_COUNTER_OFFSET:
		a->has_counter_offset = true;
		return parse_num(code, arg, UINT64_MAX, &a->counter_offset, err);
	case OPT_DISABLE_MTE:	/* lkvm never enables MTE: already so */
	case OPT_NO_PVTIME:	/* lkvm offers no stolen-time region: already so */
		return 0;
	case OPT_CPU_FEATURE:
		if (a->nr_cpu_feature == ARM_MAX_ID_ARGS)
			return seterr(err, EINVAL, "--cpu-feature: at most %d (use commas, or a file "
				      "with --cpu-features)", ARM_MAX_ID_ARGS);
		a->cpu_feature[a->nr_cpu_feature++] = arg;
		return 0;
	case OPT_CPU_FEATURES:
		if (a->cpu_features_file)
			return seterr(err, EINVAL, "--cpu-features %s: already given (%s); put "
				      "everything in one file, or add --cpu-feature", arg,
				      a->cpu_features_file);
		a->cpu_features_file = arg;
		return 0;
	case OPT_ID_REG:
		if (a->nr_id_reg == ARM_MAX_ID_ARGS)
			return seterr(err, EINVAL, "--id-reg: at most %d", ARM_MAX_ID_ARGS);
		a->id_reg[a->nr_id_reg++] = arg;
		return 0;
	case OPT_DISABLE_SVE: a->no_sve = true; return 0;
	case OPT_DISABLE_PTRAUTH: a->no_ptrauth = true; return 0;
	case OPT_SVE_MAX_VL:
	case OPT_VCPU_AFFINITY:
	case OPT_AARCH32:
	case OPT_PSCI:
	case OPT_PROTECTED:
		return seterr(err, EINVAL, "--%s: not supported by this lkvm", option_name(code));
	}
	return seterr(err, EINVAL, "unexpected arch option %#x", code);
}

/* Where the first NUL byte of @text (@len bytes) is, as a 1-based line number; 0 if none. */
static unsigned int nul_line(const char *text, u64 len)
{
	const char *nul = memchr(text, '\0', len);
	unsigned int line = 1;

	if (!nul)
		return 0;
	for (const char *p = text; p < nul; p++)
		line += *p == '\n';
	return line;
}

/* Reads and parses the --cpu-features file into the assignments. */
static int parse_file(struct arch_config *a, struct lkvm_err *err)
{
	const char *path = a->cpu_features_file;
	struct lkvm_err e2 = { "" };
	unsigned int n = 0, line;
	char *text;
	u8 *data;
	u64 len;
	bool gz;
	int r;

	r = file__read(path, CPU_FEATURES_MAX, false, &data, &len, &gz, &e2);
	if (r)
		return seterr(err, EINVAL, "--cpu-features: %s", e2.msg);
	/* idreg__parse_file_text() reads up to a NUL: one inside would hide the rest. */
	line = nul_line((const char *)data, len);
	if (line) {
		free(data);
		return seterr(err, EINVAL, "--cpu-features %s:%u: a NUL byte: this is not a text "
			      "file; give one assignment (REG.FIELD=VALUE[,...]) per line, # for "
			      "comments", path, line);
	}
	text = malloc(len + 1);
	if (!text) {
		free(data);
		return seterr(err, ENOMEM, "--cpu-features %s: out of memory", path);
	}
	memcpy(text, data, len);
	text[len] = '\0';
	free(data);
	r = idreg__parse_file_text(text, path, a->assigns, ARM_MAX_ID_ASSIGNS, &n, &e2);
	free(text);
	if (r)
		return seterr(err, EINVAL, "--cpu-features %s", e2.msg);
	a->nr_assigns += n;
	return 0;
}

/*
 * @arg as shown in a message: whole, or its first 60 characters and "..."
 * (a long list would push the reason out of the message).
 */
static const char *shown(const char *arg, char buf[64])
{
	if (strlen(arg) < 64)
		return arg;
	snprintf(buf, 64, "%.60s...", arg);
	return buf;
}

/* Every --cpu-feature and --id-reg string, after the file: later ones win. */
static int parse_args(struct arch_config *a, struct lkvm_err *err)
{
	struct lkvm_err e2 = { "" };
	unsigned int n;
	char buf[64];
	int r;

	for (unsigned int i = 0; i < a->nr_cpu_feature; i++) {
		r = idreg__parse_list(a->cpu_feature[i], a->assigns + a->nr_assigns,
				      ARM_MAX_ID_ASSIGNS - a->nr_assigns, &n, &e2);
		if (r == -E2BIG)
			snprintf(e2.msg, sizeof(e2.msg), "too many ID register assignments (at most "
				 "%d in all, --cpu-features file included)", ARM_MAX_ID_ASSIGNS);
		if (r)
			return seterr(err, EINVAL, "--cpu-feature %s: %s",
				      shown(a->cpu_feature[i], buf), e2.msg);
		a->nr_assigns += n;
	}
	for (unsigned int i = 0; i < a->nr_id_reg; i++) {
		struct idreg_assign *as = &a->assigns[a->nr_assigns];

		if (a->nr_assigns == ARM_MAX_ID_ASSIGNS)
			return seterr(err, EINVAL, "--id-reg %s: too many ID register assignments "
				      "(at most %d in all, --cpu-features file included)",
				      shown(a->id_reg[i], buf), ARM_MAX_ID_ASSIGNS);
		r = idreg__parse_assignment(a->id_reg[i], as, &e2);
		if (!r && as->field)
			r = seterr(&e2, EINVAL, "--id-reg takes REG=VALUE; for one field use "
				   "--cpu-feature %s", a->id_reg[i]);
		if (r)
			return seterr(err, EINVAL, "--id-reg %s: %s", shown(a->id_reg[i], buf), e2.msg);
		a->nr_assigns++;
	}
	return 0;
}

/* One ID register field whose value decides a vCPU feature bit. */
struct gate {
	const char *reg, *field;
	bool set;		/* some assignment sets it (by name or whole register) */
	u64 value;		/* its value after all of them */
};

/* What the assignments, applied in order, leave in @g's field. */
static void gate_eval(const struct arch_config *a, struct gate *g)
{
	const struct idreg_desc *d = idreg__find(g->reg);
	const struct idreg_field *f = d ? idreg__field(d, g->field) : NULL;
	u64 reg = 0;

	g->set = false;
	if (!f)
		return;
	for (unsigned int i = 0; i < a->nr_assigns; i++) {
		const struct idreg_assign *as = &a->assigns[i];

		if (as->reg != d || (as->field && as->field != f))
			continue;
		reg = idreg__apply(as, reg);
		g->set = true;
	}
	g->value = idreg__get_field(reg, f);
}

/*
 * Without its vCPU feature bit KVM shows a feature's ID register fields
 * as 0 and refuses to raise them, so a field set above 0 while the
 * feature is off is a contradiction the command line already shows.
 * @off_by names what turned it off.
 */
static int gate_conflict(const struct gate *g, unsigned int n, const char *off_by,
			 const char *what, struct lkvm_err *err)
{
	for (unsigned int i = 0; i < n; i++)
		if (g[i].set && g[i].value)
			return seterr(err, EINVAL, "%s.%s=%llu contradicts %s (no %s: KVM shows "
				      "the field as 0 and cannot raise it); drop one", g[i].reg,
				      g[i].field, (unsigned long long)g[i].value, off_by, what);
	return 0;
}

/*
 * SVE, pointer auth and the PMU are switched by vCPU feature bits, not by
 * ID register writes: an assignment that leaves their field 0 means "don't
 * ask for the feature", and one that sets it while the feature is off is
 * refused.  KVM enables address and generic pointer auth together, so any
 * of their fields at 0 turns both off.
 */
static int check_gates(struct arch_config *a, struct lkvm_err *err)
{
	struct gate sve = { "ID_AA64PFR0_EL1", "SVE", false, 0 };
	struct gate pmu = { "ID_AA64DFR0_EL1", "PMUVer", false, 0 };
	struct gate pauth[] = {
		{ "ID_AA64ISAR1_EL1", "APA", false, 0 }, { "ID_AA64ISAR1_EL1", "API", false, 0 },
		{ "ID_AA64ISAR1_EL1", "GPA", false, 0 }, { "ID_AA64ISAR1_EL1", "GPI", false, 0 },
		{ "ID_AA64ISAR2_EL1", "APA3", false, 0 }, { "ID_AA64ISAR2_EL1", "GPA3", false, 0 },
	};
	const struct gate *pauth_zero = NULL;
	int r;

	gate_eval(a, &sve);
	gate_eval(a, &pmu);
	for (unsigned int i = 0; i < ARRAY_SIZE(pauth); i++) {
		gate_eval(a, &pauth[i]);
		if (!pauth_zero && pauth[i].set && !pauth[i].value)
			pauth_zero = &pauth[i];
	}

	if (a->pmu && pmu.set && !pmu.value)
		return seterr(err, EINVAL, "--pmu and ID_AA64DFR0_EL1.PMUVer=0 contradict each other; "
			      "drop one");
	if (!a->pmu && pmu.set && pmu.value)
		return seterr(err, EINVAL, "ID_AA64DFR0_EL1.PMUVer=%llu needs --pmu (without it the "
			      "vCPU has no PMU and KVM shows PMUVer as 0); add --pmu",
			      (unsigned long long)pmu.value);

	a->want_sve = !a->no_sve && !(sve.set && !sve.value);
	if (a->no_sve) {
		r = gate_conflict(&sve, 1, "--disable-sve", "SVE", err);
		if (r)
			return r;
	}

	a->want_ptrauth = !a->no_ptrauth && !pauth_zero;
	if (!a->want_ptrauth) {
		char why[64];

		if (a->no_ptrauth)
			snprintf(why, sizeof(why), "--disable-ptrauth");
		else
			snprintf(why, sizeof(why), "%s.%s=0", pauth_zero->reg, pauth_zero->field);
		r = gate_conflict(pauth, ARRAY_SIZE(pauth), why, "pointer auth", err);
		if (r)
			return r;
	}
	return 0;
}

int arch_config__validate(struct lkvm_config *cfg, struct lkvm_err *err)
{
	struct arch_config *a = &cfg->arch;
	int r;

	if (a->e2h0 && !a->nested)
		return seterr(err, EINVAL, "--e2h0 only makes sense with --nested (it limits the "
			      "guest's EL2 to non-VHE); add --nested");
	if (a->nested && a->irqchip == IRQCHIP_GICV2)
		return seterr(err, EINVAL, "--nested with --irqchip gicv2: KVM's nested "
			      "virtualization needs a GICv3; use --irqchip gicv3 or gicv3-its");
	if (a->has_pmu_counters && !a->pmu)
		return seterr(err, EINVAL, "--pmu-counters needs --pmu");

	a->nr_assigns = 0;
	r = a->cpu_features_file ? parse_file(a, err) : 0;
	if (!r)
		r = parse_args(a, err);
	if (!r)
		r = check_gates(a, err);
	return r;
}
