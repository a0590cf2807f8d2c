// SPDX-License-Identifier: GPL-2.0-only
/*
 * "lkvm check": the host's KVM facts, as text to paste into a bug report
 * or as JSON for scripts, and with --nested a verdict on whether a guest
 * hypervisor can run here (exit status 1 and the reason if not).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "lkvm/arch.h"
#include "lkvm/builtin.h"
#include "lkvm/kvm.h"

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void usage(void)
{
	fputs("usage: lkvm check [--nested [--e2h0]] [--json]\n"
	      "\n"
	      "Print what this host's KVM offers a guest.\n"
	      "  --nested   also decide whether 'lkvm run --nested' can work here;\n"
	      "             exit status 1, with the reason and the fix, if not\n"
	      "  --e2h0     with --nested: the same for a non-VHE guest hypervisor\n"
	      "  --json     one JSON object on stdout\n", stdout);
}

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "nested", no_argument, NULL, 'n' },
		{ "e2h0", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct host_fact facts[32];
	struct lkvm_config cfg;
	struct lkvm_err err = { "" }, why = { "" };
	bool json = false, nested = false, e2h0 = false;
	unsigned int n;
	struct kvm kvm;
	int c, r, nested_r = 0;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'n': nested = true; break;
		case 'e': e2h0 = true; break;
		case 'h': usage(); return 0;
		default:
			die_msg("check: unknown option '%s' (see lkvm check --help)", argv[optind - 1]);
			return 2;
		}
	}
	if (e2h0 && !nested) {
		die_msg("check: --e2h0 goes with --nested");
		return 2;
	}
	config__defaults(&cfg, 1);
	kvm__init(&kvm, &cfg);
	r = kvm__open(&kvm, &err);
	if (r) {
		if (json) {
			printf("{\"kvm\":false,\"error\":");
			json_string(err.msg);
			printf("}\n");
		}
		die_msg("%s", err.msg);
		kvm__close(&kvm);
		return 1;
	}
	n = arch__host_facts(&kvm, facts, 32);
	if (nested)
		nested_r = arch__diagnose_nested(&kvm, e2h0, &why);
	if (json) {
		printf("{\"kvm\":true");
		for (unsigned int i = 0; i < n; i++) {
			printf(",\"%s\":", facts[i].key);
			if (facts[i].value == -1)
				json_string(facts[i].text);
			else
				printf("%lld", facts[i].value);
		}
		if (nested) {
			printf(",\"nested\":{\"available\":%s,\"reason\":", nested_r ? "false" : "true");
			json_string(why.msg);
			printf("}");
		}
		printf("}\n");
	} else {
		for (unsigned int i = 0; i < n; i++) {
			if (facts[i].value == -1)
				printf("%-58s %s\n", facts[i].label, facts[i].text);
			else
				printf("%-58s %lld\n", facts[i].label, facts[i].value);
		}
		if (nested)
			printf("%-58s %s\n", e2h0 ? "nested (--nested --e2h0)" : "nested (--nested)",
			       nested_r ? "NOT AVAILABLE" : "available");
	}
	kvm__close(&kvm);
	if (nested_r) {
		die_msg("%s: %s", e2h0 ? "--nested --e2h0" : "--nested", why.msg);
		return 1;
	}
	return 0;
}
