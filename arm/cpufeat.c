// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest's view of the CPU's ID registers: what the user asked for
 * (--cpu-feature, --cpu-features FILE, --id-reg: parsed and checked for
 * syntax and names with the config, arm/config.c, into cfg->arch.assigns)
 * and what lkvm keeps consistent by itself (PARange follows the VM's IPA
 * size), written to every vCPU before the first KVM_RUN and read back.
 * Writability comes from KVM_ARM_GET_REG_WRITABLE_MASKS (KVM api.rst
 * 4.139), and only lowering a feature is allowed (KVM refuses raising
 * with EINVAL).  Features KVM gates by vCPU feature bits (SVE, pointer
 * auth, PMU) are hidden by not requesting the bit, through the same
 * syntax (decided with the config: cfg->arch.want_sve, want_ptrauth).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arm/idreg.h"
#include "arm/kvm-arch.h"
#include "lkvm/arch.h"
#include "lkvm/log.h"

static int get_masks(struct kvm *kvm, struct lkvm_err *err)
{
	struct kvm_arch *a = kvm->arch;
	struct reg_mask_range range = { .range = KVM_ARM_FEATURE_ID_RANGE };

	if (a->have_masks)
		return 0;
	if (!(kvm__check_cap(kvm, KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES) &
	      (1 << KVM_ARM_FEATURE_ID_RANGE)))
		return seterr(err, ENOTSUP, "this host's KVM cannot report which ID register fields "
			      "are writable (KVM_CAP_ARM_SUPPORTED_REG_MASK_RANGES; Linux >= 6.7)");
	range.addr = (u64)(uintptr_t)a->masks;
	if (ioctl(kvm->vm_fd, KVM_ARM_GET_REG_WRITABLE_MASKS, &range) < 0)
		return seterr(err, errno, "KVM_ARM_GET_REG_WRITABLE_MASKS: %s", strerror(errno));
	a->have_masks = true;
	return 0;
}

u64 arm_cpufeat__mask(struct kvm *kvm, const struct idreg_desc *d)
{
	int idx = idreg__mask_index(d);

	/* Implementation ID registers are writable only with a cap lkvm doesn't enable. */
	if (idx < 0 || d->imp_id || !kvm->arch->have_masks)
		return 0;
	return kvm->arch->masks[idx];
}

/* One register's planned value: what KVM gave (host) and what we write. */
struct reg_plan {
	const struct idreg_desc *d;
	u64 host, value;
};

static struct reg_plan *plan_of(struct reg_plan *p, unsigned int *n, const struct idreg_desc *d,
				struct kvm_cpu *vcpu, struct lkvm_err *err)
{
	u64 v;
	int r;

	for (unsigned int i = 0; i < *n; i++)
		if (p[i].d == d)
			return &p[i];
	r = arm_cpu__get_reg(vcpu, idreg__kvm_id(d), &v);
	if (r) {
		seterr(err, -r, "KVM_GET_ONE_REG %s: %s (this host's KVM does not expose it)",
		       d->name, strerror(-r));
		return NULL;
	}
	p[*n] = (struct reg_plan){ d, v, v };
	return &p[(*n)++];
}

int arm_cpufeat__apply(struct kvm *kvm, struct lkvm_err *err)
{
	const struct arch_config *a = &kvm->cfg->arch;
	struct kvm_cpu *vcpu0 = &kvm->cpus[0];
	const struct idreg_desc *mmfr0 = idreg__find("ID_AA64MMFR0_EL1");
	const struct idreg_field *pa = idreg__field(mmfr0, "PARange");
	struct reg_plan plan[ARM_MAX_ID_ASSIGNS + 1] = { 0 };
	unsigned int nplan = 0;
	struct reg_plan *p;
	int want = arch__parange_of(kvm->ipa_bits);
	u64 cur;
	int r;

	/* PARange follows the VM's IPA size, unless the user sets it. */
	p = plan_of(plan, &nplan, mmfr0, vcpu0, err);
	if (!p)
		return -EIO;
	cur = idreg__get_field(p->host, pa);
	if (arch__parange_bits((unsigned int)cur) < kvm->ipa_bits)
		return seterr(err, EINVAL, "the VM's IPA is %u bits but the vCPU's PARange is %u bits"
			      "%s; use --ipa-bits %u or less (or move RAM lower)", kvm->ipa_bits,
			      arch__parange_bits((unsigned int)cur),
			      a->nested ? " (KVM caps PARange for --nested guests)" : "",
			      arch__parange_bits((unsigned int)cur));
	if (want >= 0 && cur > (u64)want)
		p->value = idreg__set_field(p->value, pa, (u64)want);

	if (a->nr_assigns || p->value != p->host) {
		r = get_masks(kvm, err);
		if (r)
			return r;
	}
	for (unsigned int i = 0; i < a->nr_assigns; i++) {
		const struct idreg_assign *as = &a->assigns[i];

		p = plan_of(plan, &nplan, as->reg, vcpu0, err);
		if (!p)
			return -EIO;
		r = idreg__check_assign(as, p->host, arm_cpufeat__mask(kvm, as->reg), err);
		if (r)
			return r;
		p->value = idreg__apply(as, p->value);
	}
	for (unsigned int i = 0; i < nplan; i++) {
		p = &plan[i];
		if (p->value == p->host)
			continue;
		for (unsigned int c = 0; c < kvm->nr_cpus; c++) {
			u64 back = 0;

			r = arm_cpu__set_reg(&kvm->cpus[c], idreg__kvm_id(p->d), p->value);
			if (r)
				return seterr(err, -r, "KVM_SET_ONE_REG %s = %#llx (vCPU %u): %s",
					      p->d->name, (unsigned long long)p->value, c, strerror(-r));
			r = arm_cpu__get_reg(&kvm->cpus[c], idreg__kvm_id(p->d), &back);
			if (r || back != p->value)
				return seterr(err, EIO, "%s: wrote %#llx to vCPU %u but it reads back "
					      "%#llx", p->d->name, (unsigned long long)p->value, c,
					      (unsigned long long)back);
		}
		pr_info(kvm, "%s: %#llx -> %#llx", p->d->name, (unsigned long long)p->host,
			(unsigned long long)p->value);
	}
	return 0;
}

struct report_ctx {
	bool json;
	bool first;
};

static int report_field(const struct idreg_desc *d, const struct idreg_field *f, u64 value,
			bool writable, void *opaque)
{
	struct report_ctx *c = opaque;

	if (!f)
		return 0;
	if (c->json) {
		printf("%s\"%s\":{\"value\":%llu,\"writable\":%s}", c->first ? "" : ",", f->name,
		       (unsigned long long)value, writable ? "true" : "false");
		c->first = false;
	} else {
		printf("  %s.%s = %llu%s\n", d->name, f->name, (unsigned long long)value,
		       writable ? " (writable)" : "");
	}
	return 0;
}

int arch__cpu_report(struct kvm *kvm, bool json, struct lkvm_err *err)
{
	struct kvm_cpu *vcpu = &kvm->cpus[0];
	bool first = true;
	int r = get_masks(kvm, err);

	if (r)
		return r;
	if (json)
		printf("{\"el2\":%s,\"registers\":[", kvm->cfg->arch.nested ? "true" : "false");
	for (unsigned int i = 0; i < idreg__count(); i++) {
		const struct idreg_desc *d = idreg__at(i);
		struct report_ctx c = { json, true };
		u64 mask = arm_cpufeat__mask(kvm, d), v;

		if (arm_cpu__get_reg(vcpu, idreg__kvm_id(d), &v))
			continue;	/* not exposed by this KVM */
		if (json) {
			printf("%s{\"name\":\"%s\",\"value\":\"%#llx\",\"writable_mask\":\"%#llx\","
			       "\"fields\":{", first ? "" : ",", d->name, (unsigned long long)v,
			       (unsigned long long)mask);
			first = false;
		} else {
			printf("%s = %#018llx  writable mask %#018llx\n", d->name,
			       (unsigned long long)v, (unsigned long long)mask);
		}
		idreg__for_each_field(d, v, mask, report_field, &c);
		if (json)
			printf("}}");
	}
	if (json)
		printf("]}\n");
	return 0;
}
