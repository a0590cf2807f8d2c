/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The architecture boundary.  Generic code (kvm.c, kvm-cpu.c, builtin-*.c)
 * calls only these; each arch implements them in its own folder and the
 * Makefile picks the folder.  Users of this header need no other arch
 * header.  Called in this order, each with an undo in arch__close():
 *
 *   arch__plan_memory   pure: RAM banks and IPA size from the config
 *   arch__check_host    KVM's caps for the config (before the VM)
 *   arch__init_vm       VM exists, no RAM yet: interrupt controller
 *   arch__check_files   the kernel recognised from its header (no RAM yet)
 *   arch__placement     where devices go (generic code makes them)
 *   arch__init_vcpu     per vCPU: KVM_ARM_VCPU_INIT and friends
 *   arch__finalize_vm   all vCPUs exist: irqchip init, timers, PMU,
 *                       kernel + device tree into RAM, boot registers
 *                       (then generic code starts the devices)
 */
#ifndef LKVM_ARCH_H
#define LKVM_ARCH_H

#include "lkvm/config.h"
#include "lkvm/util.h"

struct kvm;
struct kvm_cpu;

/* The memory plan: where RAM goes and the IPA size the whole map needs. */
struct mem_plan {
	struct mem_bank bank[LKVM_MAX_MEM_BANKS];	/* all with has_addr set, sorted */
	unsigned int nr_bank;
	unsigned int map_bits;		/* bits needed to cover the map */
	unsigned int ipa_bits;		/* chosen: map_bits rounded up to a PARange size,
					   or --ipa-bits */
};

/*
 * Places RAM banks (those without @addr go after the previous bank, the
 * first at the arch's default base) and computes the IPA size.  Checks
 * alignment, overlap with each other and with device MMIO, and that an
 * explicit --ipa-bits covers the map.  Pure; no KVM.  @host_ipa_max is
 * KVM_CAP_ARM_VM_IPA_SIZE (0: not checked here).
 */
int arch__plan_memory(const struct lkvm_config *cfg, unsigned int host_ipa_max,
		      struct mem_plan *plan, struct lkvm_err *err);

/* The PARange encoding of an IPA size, or -1 if PARange cannot express it. */
int arch__parange_of(unsigned int ipa_bits);

/* The IPA size of a PARange encoding (0 for reserved encodings). */
unsigned int arch__parange_bits(unsigned int parange);

/* The value for KVM_CREATE_VM's type argument for this IPA size. */
unsigned long arch__vm_type(unsigned int ipa_bits);

/* Checks what the host must offer for this config (caps); -EOPNOTSUPP + why. */
int arch__check_host(struct kvm *kvm, struct lkvm_err *err);

/*
 * The VM exists, with no RAM and no vCPU: vCPU features, counter offset,
 * the interrupt controller (the host check for --irqchip).  -errno + why.
 */
int arch__init_vm(struct kvm *kvm, struct lkvm_err *err);

/*
 * After config__check_files() found the guest's files openable, before
 * RAM and vCPUs exist: whether the kernel is one the arch can boot, from
 * its header (not reading it whole: arch__finalize_vm() loads it straight
 * into RAM).  -errno with @err naming the file (a text file, a broken
 * Image header, an ELF for another machine).
 */
int arch__check_files(struct kvm *kvm, struct lkvm_err *err);
int arch__init_vcpu(struct kvm_cpu *vcpu, struct lkvm_err *err);
int arch__finalize_vm(struct kvm *kvm, struct lkvm_err *err);

/* Drives interrupt line @irq (see lkvm/device.h: arm64, SPI @irq) to @level. */
int arch__irq_line(struct kvm *kvm, unsigned int irq, int level);

/*
 * Where devices go: the named MMIO areas and their interrupt lines, and
 * whether MSIs can be delivered (after arch__init_vm: the interrupt
 * controller is chosen).  Pure; devices.c hands out the slots.
 */
struct lkvm_placement;
void arch__placement(const struct kvm *kvm, struct lkvm_placement *p);

/* Called on exits generic code does not know; returns true if handled. */
bool arch__handle_exit(struct kvm_cpu *vcpu);

/* Logs the vCPU's registers at error level (after a failed KVM_RUN). */
void arch__dump_vcpu(struct kvm_cpu *vcpu);

struct json;

/*
 * "lkvm debug": the vCPU's registers as members of the open JSON object
 * @j (arm64: "core", "sys", "timer" and, for a vCPU with EL2, "el2"), read
 * with KVM_GET_ONE_REG; a register KVM refuses is left out.  The vCPU is
 * parked (kvm_cpu__park_all).
 */
void arch__debug_vcpu(struct kvm_cpu *vcpu, struct json *j);

/* The VM's arch facts as members of @j: "nested" for "lkvm list", the counter, the GIC. */
void arch__debug_vm(struct kvm *kvm, struct json *j);

/*
 * Pause and resume (kvm__pause): called with every vCPU parked.  The
 * guest's clock stops at arch__vm_paused() and goes on from the same
 * value at arch__vm_resume(), so that its timers don't all fire at once
 * (arm64: KVM_ARM_SET_COUNTER_OFFSET, api.rst 4.139, where KVM has
 * KVM_CAP_COUNTER_OFFSET).  arch__vm_resume() returns 0, or -errno with
 * @err when the clock could not be held (it then jumps).
 */
void arch__vm_paused(struct kvm *kvm);
int arch__vm_resume(struct kvm *kvm, struct lkvm_err *err);

/* Whether a pause stops the guest's clock on this VM (arm64: KVM_CAP_COUNTER_OFFSET). */
bool arch__pause_holds_clock(const struct kvm *kvm);

/*
 * Snapshot and restore (docs/snapshot.md), the arch's part: the vCPUs,
 * the interrupt controller and the guest's counter.
 *
 * arch__snapshot_prepare(): the VM is paused; puts what the interrupt
 * controller keeps in guest RAM there (arm64: the ITS tables, the LPIs'
 * pending bits), before the RAM is written.  -ENOTSUP + why for a VM
 * that cannot be saved (a GICv2).  arch__snapshot_save(): still paused,
 * writes the vm, vcpu and kvm-device sections.
 *
 * arch__snapshot_check(): the snapshot's host facts and vm section
 * against this host and the (recorded) config, before the VM is made.
 * arch__snapshot_restore(): the VM made from the recorded config, guest
 * RAM mapped back, no vCPU run yet, devices not started: the counter
 * offset, every vCPU's registers and MP state, the GIC and ITS.  Each
 * returns 0 or -errno with @err naming what this host cannot restore.
 */
struct snap_writer;
struct snap_reader;
int arch__snapshot_prepare(struct kvm *kvm, struct lkvm_err *err);
int arch__snapshot_save(struct kvm *kvm, struct snap_writer *w, struct lkvm_err *err);
int arch__snapshot_check(struct kvm *kvm, const struct snap_reader *r, struct lkvm_err *err);
int arch__snapshot_restore(struct kvm *kvm, const struct snap_reader *r, struct lkvm_err *err);

void arch__close(struct kvm *kvm);

/*
 * Prints (text or JSON) every ID register a vCPU of this VM has, its
 * writable mask and its fields by Arm ARM name.  The VM must exist with
 * its vCPUs initialised (kvm__create_vm() with no kernel to load).
 */
int arch__cpu_report(struct kvm *kvm, bool json, struct lkvm_err *err);

/* One fact about the host's KVM, for "lkvm check" (text and JSON). */
struct host_fact {
	const char *key;	/* JSON key, snake_case */
	const char *label;	/* human label */
	long long value;	/* number, or -1 when @text is set */
	char text[64];
};

/* Collects up to @max facts about an opened (not yet created) VM's host; returns the count. */
unsigned int arch__host_facts(struct kvm *kvm, struct host_fact *facts, unsigned int max);

/*
 * Whether this host can run --nested (and, with @e2h0, --e2h0) guests:
 * 0, or -EOPNOTSUPP with @err saying exactly what is missing and how to
 * fix it (kernel version, kvm-arm.mode=nested, CPU features, GICv3).
 */
int arch__diagnose_nested(struct kvm *kvm, bool e2h0, struct lkvm_err *err);

#endif /* LKVM_ARCH_H */
