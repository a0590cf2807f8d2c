// SPDX-License-Identifier: GPL-2.0-only
/*
 * "lkvm cpu": the ID registers a new vCPU gets on this host, each with
 * KVM's writable mask and its fields decoded by Arm ARM name, as text or
 * JSON.  It takes the arch options of "lkvm run" (the same table and
 * parser), so --nested shows the EL2 vCPU's view and --cpu-feature and
 * friends the view after those changes: what "lkvm run" would give.
 * Like "lkvm run", a bad option exits 2 before /dev/kvm is opened.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "lkvm/arch.h"
#include "lkvm/builtin.h"
#include "lkvm/kvm.h"

enum {
	OPT_JSON = 0x100,
	OPT_IPA_BITS,
};

static const struct option cpu_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "ipa-bits", required_argument, NULL, OPT_IPA_BITS },
	{ "help", no_argument, NULL, 'h' },
};

static void usage(void)
{
	fputs("usage: lkvm cpu [--json] [--ipa-bits N] [--nested [--e2h0]]\n"
	      "                [--cpu-feature REG.FIELD=V[,...]] [--cpu-features FILE]\n"
	      "                [--id-reg REG=VALUE] [other arch options of lkvm run]\n"
	      "\n"
	      "List the ID registers a vCPU gets here: value, KVM's writable mask, and\n"
	      "every field by its Arm ARM name, e.g. ID_AA64PFR0_EL1.SVE = 1 (writable),\n"
	      "for a vCPU made as lkvm run would make it with these options:\n"
	      "\n"
	      "      --json               one JSON object on stdout\n"
	      "      --ipa-bits N         guest physical address size\n", stdout);
	arch_config__usage(stdout);
}

static int parse(struct lkvm_config *cfg, bool *json, int argc, char **argv,
		 struct lkvm_err *err)
{
	struct option opts[ARRAY_SIZE(cpu_options) + LKVM_MAX_ARCH_OPTIONS + 1];
	unsigned int n = 0;
	u64 v;
	int c, r;

	for (unsigned int i = 0; i < ARRAY_SIZE(cpu_options); i++)
		opts[n++] = cpu_options[i];
	for (const struct option *o = arch_config__options; o->name; o++) {
		if (n == ARRAY_SIZE(cpu_options) + LKVM_MAX_ARCH_OPTIONS)
			return seterr(err, E2BIG, "internal: more than %d arch options",
				      LKVM_MAX_ARCH_OPTIONS);
		opts[n++] = *o;
	}
	opts[n] = (struct option){ NULL, 0, NULL, 0 };

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: *json = true; break;
		case OPT_IPA_BITS:
			if (parse_uint(optarg, 64, &v))
				return seterr(err, EINVAL, "cpu: --ipa-bits %s: expected a number",
					      optarg);
			cfg->ipa_bits = (unsigned int)v;
			break;
		case 'h': usage(); return 1;
		case ':':
			return seterr(err, EINVAL, "cpu: %s needs a value (see lkvm cpu --help)",
				      argv[optind - 1]);
		case '?':
			return seterr(err, EINVAL, "cpu: unknown option '%s' (see lkvm cpu --help)",
				      argv[optind - 1]);
		default:
			r = arch_config__parse_opt(&cfg->arch, c, optarg, err);
			if (r)
				return r;
		}
	}
	if (optind < argc)
		return seterr(err, EINVAL, "cpu: unexpected argument '%s' (see lkvm cpu --help)",
			      argv[optind]);
	return config__validate_machine(cfg, err);
}

int cmd_cpu(int argc, char **argv)
{
	struct lkvm_config cfg;
	struct lkvm_err err = { "" };
	bool json = false;
	struct kvm kvm;
	int r;

	config__defaults(&cfg, 1);
	r = parse(&cfg, &json, argc, argv, &err);
	if (r == 1)
		return 0;
	if (r) {
		die_msg("%s", err.msg);
		return 2;
	}
	kvm__init(&kvm, &cfg);
	r = kvm__open(&kvm, &err);
	if (!r)
		r = kvm__check_host(&kvm, &err);
	if (!r)
		r = kvm__create_vm(&kvm, &err);
	if (!r)
		r = arch__cpu_report(&kvm, json, &err);
	if (r)
		die_msg("%s", err.msg);
	kvm__close(&kvm);
	return r ? 1 : 0;
}
