// SPDX-License-Identifier: GPL-2.0-only
/*
 * The memory plan: where RAM banks go in the guest-physical map drawn in
 * arm/include/arm/layout.h, and the IPA size that covers it.  Pure
 * arithmetic, unit-tested natively.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/kvm.h>

#include "arm/layout.h"
#include "lkvm/arch.h"

/*
 * The sizes ID_AA64MMFR0_EL1.PARange can express (Arm ARM D19.2,
 * ID_AA64MMFR0_EL1): the VM's IPA size is always one of them, so the
 * guest's PARange can say exactly how much address space it has.
 */
static const unsigned int parange_bits[] = { 32, 36, 40, 42, 44, 48, 52 };

int arch__parange_of(unsigned int ipa_bits)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(parange_bits); i++)
		if (parange_bits[i] == ipa_bits)
			return (int)i;
	return -1;
}

unsigned int arch__parange_bits(unsigned int parange)
{
	return parange < ARRAY_SIZE(parange_bits) ? parange_bits[parange] : 0;
}

static unsigned int round_to_parange(unsigned int bits)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(parange_bits); i++)
		if (parange_bits[i] >= bits)
			return parange_bits[i];
	return 0;
}

static int cmp_bank(const void *a, const void *b)
{
	const struct mem_bank *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int arch__plan_memory(const struct lkvm_config *cfg, unsigned int host_ipa_max,
		      struct mem_plan *plan, struct lkvm_err *err)
{
	u64 next = ARM_RAM_BASE, map_end = ARM_MMIO_END;

	memset(plan, 0, sizeof(*plan));
	if (cfg->nr_mem == 0) {
		plan->bank[0] = (struct mem_bank){ LKVM_DEFAULT_MEM, ARM_RAM_BASE, true };
		plan->nr_bank = 1;
	}
	for (unsigned int i = 0; i < cfg->nr_mem; i++) {
		struct mem_bank b = cfg->mem[i];
		u64 end;

		if (!b.has_addr) {
			b.addr = next;
			b.has_addr = true;
		}
		if (!add_ok(b.addr, b.size, &end) || addr_bits(end) > LKVM_MAX_IPA_BITS)
			return seterr(err, EINVAL, "-m: RAM bank %#llx+%#llx ends beyond the largest "
				      "guest physical address (2^%d)", (unsigned long long)b.addr,
				      (unsigned long long)b.size, LKVM_MAX_IPA_BITS);
		if (b.addr < ARM_MMIO_END && end > ARM_PLAT_BASE)
			return seterr(err, EINVAL, "-m: RAM bank %#llx-%#llx overlaps the device "
				      "region %#llx-%#llx; place RAM at or above %#llx (or below "
				      "%#llx)", (unsigned long long)b.addr, (unsigned long long)end,
				      ARM_PLAT_BASE, ARM_MMIO_END, ARM_MMIO_END, ARM_PLAT_BASE);
		plan->bank[plan->nr_bank++] = b;
		next = end;
	}
	qsort(plan->bank, plan->nr_bank, sizeof(plan->bank[0]), cmp_bank);
	for (unsigned int i = 0; i < plan->nr_bank; i++) {
		const struct mem_bank *b = &plan->bank[i];

		if (i && b->addr < plan->bank[i - 1].addr + plan->bank[i - 1].size)
			return seterr(err, EINVAL, "-m: RAM banks at %#llx and %#llx overlap",
				      (unsigned long long)plan->bank[i - 1].addr,
				      (unsigned long long)b->addr);
		map_end = MAX(map_end, b->addr + b->size);
	}
	plan->map_bits = addr_bits(map_end);
	if (cfg->ipa_bits && arch__parange_of(cfg->ipa_bits) < 0)
		return seterr(err, EINVAL, "--ipa-bits %u: use 32, 36, 40, 42, 44, 48 or 52 (the sizes "
			      "ID_AA64MMFR0_EL1.PARange can express, so the guest's view matches)",
			      cfg->ipa_bits);
	plan->ipa_bits = cfg->ipa_bits ? cfg->ipa_bits : round_to_parange(plan->map_bits);
	if (plan->ipa_bits < plan->map_bits)
		return seterr(err, EINVAL, "--ipa-bits %u: the memory map ends at %#llx and needs %u "
			      "bits; give --ipa-bits %u or more, or move RAM lower", cfg->ipa_bits,
			      (unsigned long long)map_end, plan->map_bits,
			      round_to_parange(plan->map_bits));
	if (host_ipa_max && plan->ipa_bits > host_ipa_max)
		return seterr(err, EINVAL, "%s%u-bit guest physical addresses: this host's KVM "
			      "offers at most %u (KVM_CAP_ARM_VM_IPA_SIZE)%s",
			      cfg->ipa_bits ? "--ipa-bits: " : "-m: the memory map needs ",
			      plan->ipa_bits, host_ipa_max,
			      cfg->ipa_bits ? "" : "; move RAM lower");
	return 0;
}

unsigned long arch__vm_type(unsigned int ipa_bits)
{
	return KVM_VM_TYPE_ARM_IPA_SIZE(ipa_bits);
}

