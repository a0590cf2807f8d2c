// SPDX-License-Identifier: GPL-2.0-only
/*
 * What this host's KVM offers an arm64 guest, for "lkvm check", and the
 * diagnosis of why nested virtualization is (not) available, shared by
 * "lkvm check --nested" and "lkvm run --nested".  Capabilities per KVM
 * api.rst section 8; the nested requirements per
 * Documentation/virt/kvm/arm/nested.rst (FEAT_NV2, VHE, kvm-arm.mode=nested).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "arm/kvm-arch.h"
#include "lkvm/arch.h"

#define NV_MIN_MAJOR	6
#define NV_MIN_MINOR	16

/* A throwaway VM (32-bit IPA: cheap to make) to ask VM-level questions. */
static int probe_vm(struct kvm *kvm)
{
	return ioctl(kvm->sys_fd, KVM_CREATE_VM, KVM_VM_TYPE_ARM_IPA_SIZE(32));
}

static bool can_create(int vm_fd, u32 type)
{
	struct kvm_create_device cd = { .type = type, .flags = KVM_CREATE_DEVICE_TEST };

	return vm_fd >= 0 && ioctl(vm_fd, KVM_CREATE_DEVICE, &cd) == 0;
}

static void gic_versions(struct kvm *kvm, char *buf, size_t len)
{
	int vm = probe_vm(kvm);
	bool v3 = can_create(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
	bool its = can_create(vm, KVM_DEV_TYPE_ARM_VGIC_ITS);
	bool v2 = can_create(vm, KVM_DEV_TYPE_ARM_VGIC_V2);

	snprintf(buf, len, "%s%s%s%s", v3 ? "gicv3" : "", its ? " gicv3-its" : "",
		 v2 ? (v3 ? " gicv2" : "gicv2") : "", !v3 && !v2 ? "none" : "");
	if (vm >= 0)
		close(vm);
}

static int cap(struct kvm *kvm, long c)
{
	return kvm__check_cap(kvm, c);
}

unsigned int arch__host_facts(struct kvm *kvm, struct host_fact *f, unsigned int max)
{
	static const struct {
		const char *key, *label;
		long cap;
	} caps[] = {
		{ "max_ipa_bits", "max IPA bits (KVM_CAP_ARM_VM_IPA_SIZE)", KVM_CAP_ARM_VM_IPA_SIZE },
		{ "el2", "nested EL2 (KVM_CAP_ARM_EL2)", KVM_CAP_ARM_EL2 },
		{ "el2_e2h0", "non-VHE EL2 (KVM_CAP_ARM_EL2_E2H0)", KVM_CAP_ARM_EL2_E2H0 },
		{ "pmu_v3", "PMUv3 (KVM_CAP_ARM_PMU_V3)", KVM_CAP_ARM_PMU_V3 },
		{ "sve", "SVE (KVM_CAP_ARM_SVE)", KVM_CAP_ARM_SVE },
		{ "ptrauth_address", "pointer auth, address (KVM_CAP_ARM_PTRAUTH_ADDRESS)",
		  KVM_CAP_ARM_PTRAUTH_ADDRESS },
		{ "ptrauth_generic", "pointer auth, generic (KVM_CAP_ARM_PTRAUTH_GENERIC)",
		  KVM_CAP_ARM_PTRAUTH_GENERIC },
		{ "mte", "MTE (KVM_CAP_ARM_MTE)", KVM_CAP_ARM_MTE },
		{ "id_reg_mask_ranges", "writable ID register ranges "
		  "(KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES)", KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES },
		{ "writable_imp_id_regs", "writable implementation ID registers "
		  "(KVM_CAP_ARM_WRITABLE_IMP_ID_REGS)", KVM_CAP_ARM_WRITABLE_IMP_ID_REGS },
		{ "counter_offset", "counter offset (KVM_CAP_COUNTER_OFFSET)", KVM_CAP_COUNTER_OFFSET },
		{ "max_vcpus", "max vCPUs (KVM_CAP_MAX_VCPUS)", KVM_CAP_MAX_VCPUS },
		{ "nr_vcpus", "recommended vCPUs (KVM_CAP_NR_VCPUS)", KVM_CAP_NR_VCPUS },
	};
	struct utsname u;
	unsigned int n = 0;

	if (n < max) {
		f[n] = (struct host_fact){ "api_version", "KVM API version", kvm->api_version, "" };
		n++;
	}
	if (n < max && uname(&u) == 0) {
		f[n] = (struct host_fact){ "kernel", "host kernel", -1, "" };
		snprintf(f[n].text, sizeof(f[n].text), "%.63s", u.release);
		n++;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(caps) && n < max; i++, n++)
		f[n] = (struct host_fact){ caps[i].key, caps[i].label, cap(kvm, caps[i].cap), "" };
	if (n < max) {
		f[n] = (struct host_fact){ "gic", "interrupt controllers", -1, "" };
		gic_versions(kvm, f[n].text, sizeof(f[n].text));
		n++;
	}
	return n;
}

static bool kernel_at_least(int major, int minor, char *rel, size_t len)
{
	struct utsname u;
	char *dot, *end;
	long ma, mi;

	if (uname(&u) < 0)
		return true;
	snprintf(rel, len, "%s", u.release);
	/* "MAJOR.MINOR[...]"; anything else is not ours to judge. */
	ma = strtol(u.release, &dot, 10);
	if (dot == u.release || *dot != '.')
		return true;
	mi = strtol(dot + 1, &end, 10);
	if (end == dot + 1)
		return true;
	return ma > major || (ma == major && mi >= minor);
}

static bool cmdline_has(const char *word)
{
	char buf[4096];
	ssize_t n;
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, word) != NULL;
}

int arch__diagnose_nested(struct kvm *kvm, bool e2h0, struct lkvm_err *err)
{
	char rel[128] = "";
	char gics[64];
	int vm;
	bool v3;

	vm = probe_vm(kvm);
	v3 = can_create(vm, KVM_DEV_TYPE_ARM_VGIC_V3);
	if (vm >= 0)
		close(vm);
	gic_versions(kvm, gics, sizeof(gics));

	if (cap(kvm, KVM_CAP_ARM_EL2) <= 0) {
		if (!kernel_at_least(NV_MIN_MAJOR, NV_MIN_MINOR, rel, sizeof(rel)))
			return seterr(err, EOPNOTSUPP, "this host's KVM lacks KVM_CAP_ARM_EL2: the "
				      "host kernel %s is older than %d.%d, the first with nested "
				      "virtualization for arm64; boot Linux >= %d.%d with "
				      "kvm-arm.mode=nested", rel, NV_MIN_MAJOR, NV_MIN_MINOR,
				      NV_MIN_MAJOR, NV_MIN_MINOR);
		if (!cmdline_has("kvm-arm.mode=nested"))
			return seterr(err, EOPNOTSUPP, "this host's KVM lacks KVM_CAP_ARM_EL2: the "
				      "host kernel (%s) was not booted with kvm-arm.mode=nested; add "
				      "it to the host's kernel command line and reboot", rel);
		if (!v3)
			return seterr(err, EOPNOTSUPP, "this host's KVM lacks KVM_CAP_ARM_EL2 and "
				      "cannot create a GICv3 (it has: %s); nested virtualization "
				      "needs a GICv3 host", gics);
		return seterr(err, EOPNOTSUPP, "this host's KVM lacks KVM_CAP_ARM_EL2 although "
			      "kernel %s was booted with kvm-arm.mode=nested: the CPU lacks "
			      "FEAT_NV2, or the kernel did not boot at EL2 with VHE (check the "
			      "host's boot log for 'VHE+NV2 mode initialized'); under QEMU use "
			      "-M virt,virtualization=on -cpu max", rel);
	}
	if (!v3)
		return seterr(err, EOPNOTSUPP, "this host's KVM cannot create a GICv3 (it has: %s), "
			      "which a guest hypervisor needs", gics);
	if (e2h0 && cap(kvm, KVM_CAP_ARM_EL2_E2H0) <= 0)
		return seterr(err, EOPNOTSUPP, "this host's KVM offers EL2 but lacks "
			      "KVM_CAP_ARM_EL2_E2H0: the CPU cannot run a non-VHE guest "
			      "hypervisor (FEAT_E2H0 absent); drop --e2h0");
	return 0;
}
