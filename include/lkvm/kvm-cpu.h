/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vCPUs: one thread each, looping on KVM_RUN and dispatching exits (MMIO
 * to the bus, system events to the VM's stop request, the rest to the
 * arch).  A vCPU is stopped by kvm_cpu__kick(): immediate_exit plus a
 * signal, so a kick can never be lost between a check and KVM_RUN
 * (KVM api.rst, "immediate_exit").
 */
#ifndef LKVM_KVM_CPU_H
#define LKVM_KVM_CPU_H

#include <signal.h>

#include "lkvm/kvm.h"

/* Kicks vCPUs out of KVM_RUN; also interrupts the console's writer at exit (lkvm/outbuf.h). */
#define KICK_SIGNAL	SIGUSR1

/* KVM_CREATE_VCPU, the shared kvm_run page, arch init.  Undo: kvm_cpu__destroy(). */
int kvm_cpu__create(struct kvm *kvm, unsigned int id, struct kvm_cpu *vcpu, struct lkvm_err *err);

/*
 * Installs the (no-op) handler of the kick signal; once per process, by
 * the program (main.c): library code installs no signal dispositions.
 */
int kvm_cpu__setup_kick_signal(void);

/* Starts the vCPU's thread (named "vcpuN"); -1 with errno on failure. */
int kvm_cpu__start(struct kvm_cpu *vcpu);
void kvm_cpu__kick(struct kvm_cpu *vcpu);

/*
 * Asks every started vCPU thread to leave KVM_RUN and park (between two
 * runs: an exit being handled is finished first) and waits up to
 * @timeout_ms for all of them.  Returns 0 once all are parked; -ETIMEDOUT
 * or -ECANCELED (the VM is stopping), having let them all go again.
 */
int kvm_cpu__park_all(struct kvm *kvm, int timeout_ms);

/* Lets every parked vCPU thread go back into KVM_RUN. */
void kvm_cpu__unpark_all(struct kvm *kvm);
void kvm_cpu__join(struct kvm_cpu *vcpu);
void kvm_cpu__destroy(struct kvm_cpu *vcpu);

/* Handles one KVM_EXIT_MMIO against the bus (exported for tests). */
void kvm_cpu__handle_mmio(struct kvm *kvm, u64 addr, u8 *data, u32 len, bool is_write);

#endif /* LKVM_KVM_CPU_H */
