/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The arm64 part of the VM's configuration (struct arch_config, embedded
 * in struct lkvm_config as cfg->arch) and the pure hooks generic config
 * code calls to fill and check it: defaults, the arch's "lkvm run"
 * options and their usage lines, and validation.  Like the generic
 * config, nothing here touches /dev/kvm: every mistake that the command
 * line alone shows (a bad value, a typo in an ID register name, a
 * --cpu-features file that doesn't parse, options that contradict each
 * other) is found here, before any host is asked.  What only KVM can
 * answer (caps, writable ID register fields, the host's feature levels)
 * is checked later, in arch__check_host() and arm/cpufeat.c.
 *
 * The Makefile's -Iarm/include makes this the "lkvm/arch-config.h" that
 * include/lkvm/config.h includes; generic code never names arm/.
 */
#ifndef LKVM_ARCH_CONFIG_H
#define LKVM_ARCH_CONFIG_H

#include <getopt.h>
#include <stdio.h>

#include "arm/idreg.h"
#include "lkvm/util.h"

/* Repeats of --cpu-feature and of --id-reg, each. */
#define ARM_MAX_ID_ARGS		16
/* ID register assignments from all of them and the --cpu-features file together. */
#define ARM_MAX_ID_ASSIGNS	128

enum irqchip_type {
	IRQCHIP_AUTO,		/* best the host has: gicv3-its, gicv3, gicv2 */
	IRQCHIP_GICV2,
	IRQCHIP_GICV3,
	IRQCHIP_GICV3_ITS,
};

struct arch_config {
	/* As given on the command line. */
	enum irqchip_type irqchip;
	bool pmu;
	unsigned int pmu_counters;	/* 0: KVM's default */
	bool has_pmu_counters;
	bool nested;
	bool e2h0;
	bool no_sve;
	bool no_ptrauth;
	u64 kaslr_seed;
	bool has_kaslr_seed;
	u64 counter_offset;
	bool has_counter_offset;

	/* ID registers: "REG.FIELD=VALUE[,...]" lists, a file of them, raw "REG=VALUE". */
	const char *cpu_feature[ARM_MAX_ID_ARGS];
	unsigned int nr_cpu_feature;
	const char *cpu_features_file;
	const char *id_reg[ARM_MAX_ID_ARGS];
	unsigned int nr_id_reg;

	/*
	 * Derived by arch_config__validate(), read-only afterwards: the
	 * assignments above, parsed, in the order they are applied (the
	 * file, then each --cpu-feature, then each --id-reg), and whether
	 * to ask KVM for SVE and pointer auth at all (not when disabled by
	 * option or hidden by an assignment that leaves their fields 0).
	 */
	struct idreg_assign assigns[ARM_MAX_ID_ASSIGNS];
	unsigned int nr_assigns;
	bool want_sve;
	bool want_ptrauth;
};

struct lkvm_config;

/* Sets every arch default (no KVM, no host facts). */
void arch_config__defaults(struct arch_config *a);

/*
 * The arch's "lkvm run" options, NULL-terminated, for generic code to
 * append to its getopt_long() table.  Every val is an arch option code,
 * at least LKVM_OPT_ARCH_BASE (include/lkvm/config.h), and there are at
 * most LKVM_MAX_ARCH_OPTIONS; none has a short form.  Options kvmtool has on arm64 and lkvm does not are in the table
 * too, so that they are refused by name.
 */
extern const struct option arch_config__options[];

/*
 * Handles one arch option: @code is the val of its arch_config__options
 * entry and @arg its value (NULL for options without one).  Strings in
 * @a point into @arg's storage.  Returns 0, or -EINVAL with @err naming
 * the option and the fix.
 */
int arch_config__parse_opt(struct arch_config *a, int code, const char *arg,
			   struct lkvm_err *err);

/*
 * Checks cfg->arch against itself and the rest of @cfg, host-independent:
 * combinations that make no sense, and every ID register assignment
 * (--cpu-feature, --id-reg, and the --cpu-features file, read here) for
 * syntax, register and field names, and values that fit their fields.
 * Fills the derived part of cfg->arch; nothing else of @cfg is changed.
 * Can be called again on the same config (it starts over).  Returns 0
 * or -EINVAL with @err saying what is wrong and what to do instead
 * (-ENOMEM if the file's text cannot be copied).
 */
int arch_config__validate(struct lkvm_config *cfg, struct lkvm_err *err);

/* Writes the usage lines of arch_config__options to @f, in "lkvm run --help" form. */
void arch_config__usage(FILE *f);

/* The --irqchip name of @t ("auto" for IRQCHIP_AUTO). */
const char *arch_config__irqchip_name(enum irqchip_type t);

#endif /* LKVM_ARCH_CONFIG_H */
