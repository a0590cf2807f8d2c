/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Subcommands.  Each builtin-<cmd>.c implements one; main.c holds the
 * table.  A builtin returns the process exit status and is the only kind
 * of code (with main.c) that prints user-facing errors.
 */
#ifndef LKVM_BUILTIN_H
#define LKVM_BUILTIN_H

int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_cpu(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* Prints "lkvm: <msg>" to stderr. */
void die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* LKVM_BUILTIN_H */
