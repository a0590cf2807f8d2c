// SPDX-License-Identifier: GPL-2.0-only
/*
 * vm-cost: the host kernel's bare cost of creating and destroying a VM,
 * without lkvm.  It creates a VM like the one lkvm made (IPA size, one
 * RAM slot, N vCPUs, optionally with KVM_ARM_VCPU_HAS_EL2, an in-kernel
 * GICv3), optionally runs a two-instruction guest that powers off by
 * PSCI, then closes everything and reports the time for each step as
 *   create=<s> run=<s> destroy=<s>
 * The system tests compare lkvm's exit time after a nested guest's
 * poweroff against this "destroy" figure.
 *
 *   vm-cost [--el2] [--run] [--ipa BITS] [--mem MIB] [--cpus N]
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#define RAM_BASE	0x80000000ULL
#define GICD_BASE	0x08000000ULL
#define GICR_BASE	0x08100000ULL

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int xioctl(int fd, unsigned long req, void *arg, const char *what)
{
	int r = ioctl(fd, req, arg);

	if (r < 0) {
		fprintf(stderr, "vm-cost: %s: %s\n", what, strerror(errno));
		exit(1);
	}
	return r;
}

static void set_attr(int fd, unsigned int group, unsigned long long attr, void *val,
		     const char *what)
{
	struct kvm_device_attr a = { .group = group, .attr = attr, .addr = (unsigned long)val };

	xioctl(fd, KVM_SET_DEVICE_ATTR, &a, what);
}

int main(int argc, char **argv)
{
	unsigned long long mem = 256, ipa = 32, cpus = 1;
	int el2 = 0, run = 0, sys, vm, gic, vcpu[64];
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	struct kvm_vcpu_init init;
	unsigned long long addr;
	double t0, t1, t2, t3;
	unsigned char *ram;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--el2"))
			el2 = 1;
		else if (!strcmp(argv[i], "--run"))
			run = 1;
		else if (!strcmp(argv[i], "--ipa") && i + 1 < argc)
			ipa = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--mem") && i + 1 < argc)
			mem = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--cpus") && i + 1 < argc)
			cpus = strtoull(argv[++i], NULL, 0);
		else {
			fprintf(stderr, "usage: vm-cost [--el2] [--run] [--ipa BITS] [--mem MIB] "
				"[--cpus N]\n");
			return 2;
		}
	}
	if (cpus < 1 || cpus > 64)
		return 2;
	t0 = now();
	sys = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (sys < 0) {
		perror("vm-cost: /dev/kvm");
		return 1;
	}
	vm = xioctl(sys, KVM_CREATE_VM, (void *)(unsigned long)KVM_VM_TYPE_ARM_IPA_SIZE(ipa),
		    "KVM_CREATE_VM");
	ram = mmap(NULL, mem << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		return 1;
	/* Guest: x0 = PSCI SYSTEM_OFF; hvc #0 (EL1) or smc #0 (EL2). */
	{
		unsigned int code[] = { 0xd2800100, 0xf2b08000, el2 ? 0xd4000003 : 0xd4000002 };

		memcpy(ram, code, sizeof(code));
	}
	{
		struct kvm_userspace_memory_region r = {
			.slot = 0, .guest_phys_addr = RAM_BASE, .memory_size = mem << 20,
			.userspace_addr = (unsigned long)ram,
		};

		xioctl(vm, KVM_SET_USER_MEMORY_REGION, &r, "KVM_SET_USER_MEMORY_REGION");
	}
	xioctl(vm, KVM_CREATE_DEVICE, &cd, "KVM_CREATE_DEVICE GICv3");
	gic = (int)cd.fd;
	addr = GICD_BASE;
	set_attr(gic, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &addr, "GICD");
	addr = GICR_BASE;
	set_attr(gic, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, &addr, "GICR");
	if (el2) {
		unsigned int maint = 25;

		set_attr(gic, KVM_DEV_ARM_VGIC_GRP_MAINT_IRQ, 0, &maint, "MAINT_IRQ");
	}
	xioctl(vm, KVM_ARM_PREFERRED_TARGET, &init, "KVM_ARM_PREFERRED_TARGET");
	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	if (el2)
		init.features[0] |= 1U << KVM_ARM_VCPU_HAS_EL2;
	for (unsigned int i = 0; i < cpus; i++) {
		struct kvm_vcpu_init vi = init;

		if (i)
			vi.features[0] |= 1U << KVM_ARM_VCPU_POWER_OFF;
		vcpu[i] = xioctl(vm, KVM_CREATE_VCPU, (void *)(unsigned long)i, "KVM_CREATE_VCPU");
		xioctl(vcpu[i], KVM_ARM_VCPU_INIT, &vi, "KVM_ARM_VCPU_INIT");
	}
	set_attr(gic, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL, "VGIC init");
	{
		unsigned long long pc = RAM_BASE;
		struct kvm_one_reg reg = {
			.id = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
			      KVM_REG_ARM_CORE_REG(regs.pc),
			.addr = (unsigned long)&pc,
		};

		xioctl(vcpu[0], KVM_SET_ONE_REG, &reg, "KVM_SET_ONE_REG pc");
	}
	t1 = now();
	if (run) {
		int sz = ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
		struct kvm_run *kr = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED,
					  vcpu[0], 0);

		xioctl(vcpu[0], KVM_RUN, NULL, "KVM_RUN");
		if (kr->exit_reason != KVM_EXIT_SYSTEM_EVENT)
			fprintf(stderr, "vm-cost: unexpected exit %u\n", kr->exit_reason);
		munmap(kr, (size_t)sz);
	}
	t2 = now();
	for (unsigned int i = 0; i < cpus; i++)
		close(vcpu[i]);
	close(gic);
	close(vm);
	munmap(ram, mem << 20);
	close(sys);
	t3 = now();
	printf("create=%.3f run=%.3f destroy=%.3f\n", t1 - t0, t2 - t1, t3 - t2);
	return 0;
}
