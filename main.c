// SPDX-License-Identifier: GPL-2.0-only
/*
 * lkvm's entry point: the subcommand table.  "lkvm IMAGE" and "lkvm -k
 * ..." are shorthands for "lkvm run ..." (as in kvmtool).
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lkvm/builtin.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/version.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "run", cmd_run, "boot a guest" },
	{ "check", cmd_check, "what this host's KVM offers (--nested: can it nest?)" },
	{ "cpu", cmd_cpu, "ID registers a vCPU gets, writable masks, fields by name" },
	{ "version", cmd_version, "print the version" },
	{ "help", cmd_help, "list commands" },
};

void die_msg(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "lkvm: %s\n", buf);
}

int cmd_version(int argc __attribute__((unused)), char **argv __attribute__((unused)))
{
	printf("lkvm %s\n", lkvm_version);
	return 0;
}

static int cmd_help(int argc __attribute__((unused)), char **argv __attribute__((unused)))
{
	printf("usage: lkvm COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		printf("  %-10s %s\n", commands[i].name, commands[i].help);
	printf("\n'lkvm COMMAND --help' describes each.\n");
	return 0;
}

int main(int argc, char **argv)
{
	/*
	 * The program's, not the library's: one disposition for the whole
	 * process, before any subcommand.  A write to a pipe or socket whose
	 * reader is gone (stdout piped into a pager that quit, the console's
	 * output, a socket standing in for a tap) must fail with EPIPE, which
	 * the writer handles, rather than kill the VMM and its guest.
	 */
	signal(SIGPIPE, SIG_IGN);
	/* vCPU threads are kicked out of KVM_RUN by a signal whose no-op handler is the program's. */
	if (kvm_cpu__setup_kick_signal() < 0) {
		die_msg("sigaction: %m");
		return 1;
	}
	if (argc < 2)
		return cmd_help(argc, argv);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(argc, argv);
	if (!strcmp(argv[1], "--version"))
		return cmd_version(argc, argv);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	/* kvmtool: "lkvm -k Image ..." or "lkvm Image" mean "lkvm run". */
	if (argv[1][0] == '-' || strchr(argv[1], '/') || strchr(argv[1], '.')) {
		argv[0] = "run";
		return cmd_run(argc, argv);
	}
	die_msg("unknown command '%s' (see lkvm help)", argv[1]);
	return 2;
}
