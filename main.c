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
#include "lkvm/util.h"
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
	{ "list", cmd_list, "the running guests: PID, name, state, vCPUs, memory, uptime" },
	{ "stop", cmd_stop, "shut a running guest down (-n NAME | --all)" },
	{ "pause", cmd_pause, "park a guest's vCPUs and devices, its clock stopped" },
	{ "resume", cmd_resume, "let a paused guest run again" },
	{ "debug", cmd_debug, "a guest's vCPU registers (EL2 too) and device state" },
	{ "balloon", cmd_balloon, "inflate or deflate a guest's balloon (--balloon)" },
	{ "stat", cmd_stat, "a guest's memory statistics (--memory)" },
	{ "snapshot", cmd_snapshot, "save a running guest to a directory (run --restore it)" },
	{ "version", cmd_version, "print the version" },
	{ "help", cmd_help, "list commands, or describe one (help COMMAND)" },
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

/* "lkvm help [COMMAND]": the command list, or that command's own --help. */
static int cmd_help(int argc, char **argv)
{
	if (argc > 1) {
		for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
			char name[16], opt[] = "--help";
			char *args[] = { name, opt, NULL };

			if (strcmp(argv[1], commands[i].name) != 0 || commands[i].fn == cmd_help)
				continue;
			snprintf(name, sizeof(name), "%s", commands[i].name);
			return commands[i].fn(2, args);
		}
		die_msg("help: unknown command '%s' (see lkvm help)", argv[1]);
		return 2;
	}
	printf("usage: lkvm [--version] [--help] COMMAND [options]\n\n");
	/*
	 * kvmtool's banner line, in its words: kvm-unit-tests' runner
	 * (scripts/arch-run.bash) takes a binary for a kvmtool when its
	 * --help says "The most commonly used".
	 */
	printf("The most commonly used lkvm commands are:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		printf("   %-10s %s\n", commands[i].name, commands[i].help);
	printf("\n'lkvm help COMMAND' or 'lkvm COMMAND --help' describes each;\n"
	       "'lkvm IMAGE' and 'lkvm -k IMAGE ...' mean 'lkvm run'.\n");
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
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(1, argv);
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
