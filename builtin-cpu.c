// SPDX-License-Identifier: GPL-2.0-only
/*
 * "lkvm cpu": the ID registers a new vCPU gets on this host, each with
 * KVM's writable mask and its fields decoded by Arm ARM name, as text or
 * JSON.  With --nested, the EL2 vCPU's view; with --cpu-feature and
 * friends, the view after those changes (what "lkvm run" would give).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "lkvm/arch.h"
#include "lkvm/builtin.h"
#include "lkvm/kvm.h"

static void usage(void)
{
	fputs("usage: lkvm cpu [--nested [--e2h0]] [--json] [--cpu-feature REG.FIELD=V[,...]]\n"
	      "                [--cpu-features FILE] [--id-reg REG=VALUE] [--ipa-bits N]\n"
	      "\n"
	      "List the ID registers a vCPU gets here: value, KVM's writable mask, and\n"
	      "every field by its Arm ARM name, e.g. ID_AA64PFR0_EL1.SVE = 1 (writable).\n", stdout);
}

int cmd_cpu(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "nested", no_argument, NULL, 'n' },
		{ "e2h0", no_argument, NULL, 'e' },
		{ "cpu-feature", required_argument, NULL, 'f' },
		{ "cpu-features", required_argument, NULL, 'F' },
		{ "id-reg", required_argument, NULL, 'r' },
		{ "ipa-bits", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lkvm_config cfg;
	struct lkvm_err err = { "" };
	bool json = false;
	struct kvm kvm;
	u64 v;
	int c, r;

	config__defaults(&cfg, 1);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'n': cfg.nested = true; break;
		case 'e': cfg.e2h0 = true; break;
		case 'f':
			if (cfg.nr_cpu_feature < LKVM_MAX_ID_ARGS)
				cfg.cpu_feature[cfg.nr_cpu_feature++] = optarg;
			break;
		case 'F': cfg.cpu_features_file = optarg; break;
		case 'r':
			if (cfg.nr_id_reg < LKVM_MAX_ID_ARGS)
				cfg.id_reg[cfg.nr_id_reg++] = optarg;
			break;
		case 'i':
			if (parse_uint(optarg, 64, &v)) {
				die_msg("cpu: --ipa-bits %s: expected a number", optarg);
				return 2;
			}
			cfg.ipa_bits = (unsigned int)v;
			break;
		case 'h': usage(); return 0;
		default:
			die_msg("cpu: unknown option or missing value '%s' (see lkvm cpu --help)",
				argv[optind - 1]);
			return 2;
		}
	}
	if (cfg.e2h0 && !cfg.nested) {
		die_msg("cpu: --e2h0 goes with --nested");
		return 2;
	}
	kvm__init(&kvm, &cfg);
	r = kvm__open(&kvm, &err);
	if (!r)
		r = kvm__create_vm(&kvm, &err);
	if (!r)
		r = arch__cpu_report(&kvm, json, &err);
	if (r)
		die_msg("%s", err.msg);
	kvm__close(&kvm);
	return r ? 1 : 0;
}
