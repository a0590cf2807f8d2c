/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The sandbox: once the VM is built, each of lkvm's threads runs under a
 * seccomp allowlist of the system calls its role needs (libseccomp), as
 * Firecracker and crosvm do.  A filter applies to the thread that
 * installs it (and to threads it creates later, which then must pass
 * both), so every thread enters its role first thing, and the main
 * thread last, after it has started the others.  A call outside the list
 * does not die silently: the SIGSYS handler prints the call's name and the
 * thread's role, then lkvm exits with status 128 + SIGSYS (159).
 */
#ifndef LKVM_SANDBOX_H
#define LKVM_SANDBOX_H

#include "lkvm/util.h"

enum sandbox_mode {
	SANDBOX_ON,		/* default: a call outside the list ends lkvm, reported */
	SANDBOX_OFF,		/* --sandbox off: for debugging */
	SANDBOX_LOG,		/* --sandbox log: allowed, but the kernel logs it (audit) */
};

enum sandbox_role {
	SANDBOX_MAIN,		/* the main loop: console, signals, control, teardown */
	SANDBOX_VCPU,		/* KVM_RUN and the MMIO exits it handles */
	SANDBOX_IO,		/* a virtio device's I/O thread */
	SANDBOX_DISK,		/* a disk engine's helper thread */
	SANDBOX_NR_ROLES,
};

/*
 * Prepares the process (once, before any thread enters): the SIGSYS
 * reporter and the names of the system calls.  Returns 0 or -errno with
 * @err.  A no-op with SANDBOX_OFF.
 */
int sandbox__init(enum sandbox_mode mode, struct lkvm_err *err);

/*
 * Confines the calling thread to @role's allowlist (mode from
 * sandbox__init()).  Returns 0 or -errno with @err (libseccomp's).
 */
int sandbox__enter(enum sandbox_role role, struct lkvm_err *err);

/* The number of system calls @role's list allows (for the README and tests). */
unsigned int sandbox__list_size(enum sandbox_role role);

/* "main", "vCPU", "I/O", "disk". */
const char *sandbox__role_name(enum sandbox_role role);

/* Whether @name (a system call) is in @role's list. */
bool sandbox__allows(enum sandbox_role role, const char *name);

#endif /* LKVM_SANDBOX_H */
