// SPDX-License-Identifier: GPL-2.0-only
/*
 * "lkvm run": check the configuration, create the VM, run it and report.
 * The checks come in one order, each finished before the next starts, so
 * that scripts can rely on what a failure means (README, "Order of
 * checks"):
 *
 *   1. the command line alone (config.c): exit status 2, /dev/kvm untouched
 *   2. what this host can do for it (kvm__check_host()), the guest's name
 *      free (kvm_control__start(): no running guest has it): exit status 1
 *   3. the guest's files (kvm__check_files()): exit status 2, before guest
 *      RAM and vCPUs exist
 *
 * Then the VM is built (exit status 1 if that fails) and run: the exit
 * status is the guest's, 0 after it powers off or "lkvm stop"; 1 also
 * when a disk could not be flushed at exit.
 *
 * "lkvm run --restore DIR [--name N] [--loglevel L] [--debug] [--sandbox M]"
 * (docs/snapshot.md): the command line recorded in DIR's snapshot, with
 * those few overrides after it, in the same order of checks; a snapshot
 * that can't be read (missing, truncated, corrupt, another version) is
 * step 1's exit status 2, before /dev/kvm is opened; what this host can't
 * restore (no EL2 for a nested snapshot, another register set) is 1.
 * The guest's files are not looked at: its RAM and registers are the
 * snapshot's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lkvm/builtin.h"
#include "lkvm/config.h"
#include "lkvm/control.h"
#include "lkvm/kvm.h"
#include "lkvm/snapshot.h"

/* What a restore keeps alive while the VM runs: the state file and the argv built from it. */
struct restore {
	const char *dir;
	u8 *buf;
	size_t len;
	struct snap_reader rd;
	struct snap_config cfg;
	char **argv;
	int argc;
};

static void restore_free(struct restore *rs)
{
	free(rs->argv);
	snapshot__config_free(&rs->cfg);
	snapshot__reader_free(&rs->rd);
	free(rs->buf);
}

/* An option "--restore" may come with: it names or logs the guest, it does not change it. */
static int override_len(char **argv, int i, int argc)
{
	static const char *const with_value[] = { "--name", "--loglevel", "--sandbox" };
	const char *a = argv[i];

	if (!strcmp(a, "--debug"))
		return 1;
	for (unsigned int k = 0; k < ARRAY_SIZE(with_value); k++) {
		size_t n = strlen(with_value[k]);

		if (!strncmp(a, with_value[k], n) && a[n] == '=')
			return 1;
		if (!strcmp(a, with_value[k]))
			return i + 1 < argc ? 2 : -1;
	}
	return 0;
}

/*
 * "run --restore DIR [overrides]" (argv[1] is --restore): reads and checks
 * the snapshot and builds the argv to parse: the recorded one, then the
 * overrides (the last of an option counts).  Returns 0, or 2 with the
 * error printed.
 */
static int restore_open(struct restore *rs, int argc, char **argv)
{
	struct lkvm_err err = { "" };
	char path[4096];
	int first, r;

	memset(rs, 0, sizeof(*rs));
	if (!strncmp(argv[1], "--restore=", 10)) {
		rs->dir = argv[1] + 10;
		first = 2;
	} else if (argc > 2) {
		rs->dir = argv[2];
		first = 3;
	} else {
		die_msg("--restore needs a value: the snapshot's directory (see lkvm run --help)");
		return 2;
	}
	for (int i = first; i < argc;) {
		int n = override_len(argv, i, argc);

		if (n <= 0) {
			die_msg("--restore %s: %s: %s", rs->dir, argv[i], n < 0 ? "needs a value" :
				"a restored guest keeps its snapshot's configuration (only --name, "
				"--loglevel, --debug and --sandbox may be given with --restore)");
			return 2;
		}
		i += n;
	}
	snprintf(path, sizeof(path), "%s/%s", rs->dir, SNAP_STATE_FILE);
	r = snapshot__read_file(path, &rs->buf, &rs->len, &err);
	if (!r)
		r = snapshot__parse(&rs->rd, rs->buf, rs->len, &err);
	if (!r && !snapshot__find(&rs->rd, SNAP_SEC_CONFIG, 0))
		r = seterr(&err, EINVAL, "incomplete: no recorded command line");
	if (!r)
		r = snapshot__get_config(snapshot__find(&rs->rd, SNAP_SEC_CONFIG, 0), &rs->cfg, &err);
	if (!r && (rs->cfg.argc < 1 || strcmp(rs->cfg.argv[0], "run") != 0))
		r = seterr(&err, EINVAL, "the recorded command line is not an 'lkvm run' one");
	if (r) {
		die_msg("--restore %s: %s", rs->dir, err.msg);
		return 2;
	}
	rs->argc = (int)rs->cfg.argc + (argc - first);
	rs->argv = calloc((size_t)rs->argc + 1, sizeof(*rs->argv));
	if (!rs->argv) {
		die_msg("out of memory");
		return 2;
	}
	memcpy(rs->argv, rs->cfg.argv, rs->cfg.argc * sizeof(*rs->argv));
	memcpy(rs->argv + rs->cfg.argc, argv + first, (size_t)(argc - first) * sizeof(*argv));
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct lkvm_config cfg;
	struct lkvm_err err = { "" };
	struct restore rs = { 0 };
	bool restoring = argc > 1 && !strncmp(argv[1], "--restore", 9) &&
			 (argv[1][9] == '\0' || argv[1][9] == '=');
	struct kvm kvm;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int r;

	if (restoring) {
		r = restore_open(&rs, argc, argv);
		if (r) {
			restore_free(&rs);
			return r;
		}
		argc = rs.argc;
		argv = rs.argv;
	}
	config__defaults(&cfg, ncpu > 0 ? (unsigned int)ncpu : 1);
	r = config__parse_run(&cfg, argc, argv, &err);
	if (r == 1) {
		restore_free(&rs);
		return 0;
	}
	if (!r)
		r = config__validate(&cfg, &err);
	if (!r && restoring && cfg.hugetlbfs)
		r = seterr(&err, ENOTSUP, "--hugetlbfs: a guest on huge pages cannot be restored "
			   "yet");
	if (r) {
		if (restoring)
			die_msg("--restore %s: %s", rs.dir, err.msg);
		else
			die_msg("%s", err.msg);
		restore_free(&rs);
		return 2;
	}

	kvm__init(&kvm, &cfg);
	kvm.run_argc = argc;
	kvm.run_argv = argv;
	if (restoring) {
		kvm.restore = &rs.rd;
		kvm.restore_dir = rs.dir;
	}
	r = kvm__open(&kvm, &err);
	/* The name first: a guest of the same name running is refused before any work. */
	if (!r)
		r = kvm_control__start(&kvm, &err);
	if (!r)
		r = kvm__check_host(&kvm, &err);
	if (r) {
		if (restoring)
			die_msg("--restore %s: %s", rs.dir, err.msg);
		else
			die_msg("%s", err.msg);
		kvm__close(&kvm);
		restore_free(&rs);
		return 1;
	}
	r = restoring ? 0 : kvm__check_files(&kvm, &err);
	if (r) {
		die_msg("%s", err.msg);
		kvm__close(&kvm);
		restore_free(&rs);
		return 2;
	}
	r = kvm__create_vm(&kvm, &err);
	if (r) {
		if (restoring)
			die_msg("--restore %s: %s", rs.dir, err.msg);
		else
			die_msg("%s", err.msg);
		kvm__close(&kvm);
		restore_free(&rs);
		return 1;
	}
	/* Restored: the state file is not needed any more (the memory file stays mapped). */
	kvm.restore = NULL;
	r = kvm__run(&kvm);
	/* A disk that could not be flushed may have lost the guest's data: that is a failure. */
	if (kvm__close(&kvm) < 0)
		r = 1;
	restore_free(&rs);
	return r;
}
