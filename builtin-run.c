// SPDX-License-Identifier: GPL-2.0-only
/*
 * "lkvm run": parse and validate the configuration, create the VM, run it
 * and report.  The exit status is the guest's: 0 after it powers off.
 * Status 2 means the command line was wrong, 1 that the VM could not be
 * created, failed while running, or could not flush a disk at exit.
 */
#include <stdio.h>
#include <unistd.h>

#include "lkvm/builtin.h"
#include "lkvm/config.h"
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
	if (access(cfg.kernel ? cfg.kernel : cfg.firmware, R_OK) < 0) {
		die_msg("%s %s: %m", cfg.kernel ? "-k" : "-f", cfg.kernel ? cfg.kernel : cfg.firmware);
		return 2;
	}
	if (cfg.initrd && access(cfg.initrd, R_OK) < 0) {
		die_msg("-i %s: %m", cfg.initrd);
		return 2;
	}

	kvm__init(&kvm, &cfg);
	r = kvm__open(&kvm, &err);
	if (!r)
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
