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
 */
#include <stdio.h>
#include <unistd.h>

#include "lkvm/builtin.h"
#include "lkvm/config.h"
#include "lkvm/control.h"
#include "lkvm/kvm.h"

int cmd_run(int argc, char **argv)
{
	struct lkvm_config cfg;
	struct lkvm_err err = { "" };
	struct kvm kvm;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int r;

	config__defaults(&cfg, ncpu > 0 ? (unsigned int)ncpu : 1);
	r = config__parse_run(&cfg, argc, argv, &err);
	if (r == 1)
		return 0;
	if (!r)
		r = config__validate(&cfg, &err);
	if (r) {
		die_msg("%s", err.msg);
		return 2;
	}

	kvm__init(&kvm, &cfg);
	r = kvm__open(&kvm, &err);
	/* The name first: a guest of the same name running is refused before any work. */
	if (!r)
		r = kvm_control__start(&kvm, &err);
	if (!r)
		r = kvm__check_host(&kvm, &err);
	if (r) {
		die_msg("%s", err.msg);
		kvm__close(&kvm);
		return 1;
	}
	r = kvm__check_files(&kvm, &err);
	if (r) {
		die_msg("%s", err.msg);
		kvm__close(&kvm);
		return 2;
	}
	r = kvm__create_vm(&kvm, &err);
	if (r) {
		die_msg("%s", err.msg);
		kvm__close(&kvm);
		return 1;
	}
	r = kvm__run(&kvm);
	/* A disk that could not be flushed may have lost the guest's data: that is a failure. */
	if (kvm__close(&kvm) < 0)
		r = 1;
	return r;
}
