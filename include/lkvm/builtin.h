/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Subcommands.  Each builtin-<cmd>.c implements one; main.c holds the
 * table.  A builtin returns the process exit status and is the only kind
 * of code (with main.c) that prints user-facing errors.
 */
#ifndef LKVM_BUILTIN_H
#define LKVM_BUILTIN_H

#include <stdbool.h>
#include <stddef.h>

#include "lkvm/control.h"
#include "lkvm/util.h"

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_cpu(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_debug(int argc, char **argv);
int cmd_balloon(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);

/* ---- the control commands' shared parts (builtin-control.c) ---- */

/* What ctl__parse() allows a command (-n/--name and --help always). */
#define CTL_ALL		0x01	/* -a, --all */
#define CTL_JSON	0x02	/* --json */
#define CTL_MEMORY	0x04	/* -m, --memory (stat) */
#define CTL_BALLOON	0x08	/* -i, --inflate / -d, --deflate MiB (balloon) */
#define CTL_DEBUG	0x10	/* --dump; kvmtool's --nmi, --sysrq refused by name */
#define CTL_NEED_TARGET	0x20	/* -n NAME (or --all, if allowed) is required */

struct ctl_args {
	const char *name;
	bool all;
	bool json;
	bool memory;
	bool has_mib;
	bool inflate;
	u64 mib;
};

/*
 * Parses the options of "lkvm @cmd" (argv[0] is the command).  Returns 0,
 * 1 after printing @usage for --help, or 2 after printing the error.
 */
int ctl__parse(int argc, char **argv, const char *cmd, unsigned int allow, const char *usage,
	       struct ctl_args *a);
/* The socket directory into @dir; 0, or 1 with the error printed. */
int ctl__dir(char *dir, size_t len);
/*
 * One request to guest @name: 0 with an "ok" answer in *@resp (free it
 * with control__resp_free), or 1 with the reason printed.
 */
int ctl__call(const char *dir, const char *name, const struct control_req *req,
	      struct control_resp *resp);
/* "lkvm stop|pause|resume -n NAME | --all": the whole command; returns the exit status. */
int ctl__simple(int argc, char **argv, enum control_cmd cmd, const char *usage);

/* Prints "lkvm: <msg>" to stderr. */
void die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* LKVM_BUILTIN_H */
