// SPDX-License-Identifier: GPL-2.0-only
/*
 * PL031 real-time clock (Arm PrimeCell RTC, DDI 0224): a seconds counter
 * following the host's wall clock, settable by the guest through the load
 * register.  The match interrupt is not modelled: its mask stays clear and
 * the raw status reads 0, which Linux's rtc-pl031 copes with.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lkvm/device.h"
#include "lkvm/fdt.h"
#include "lkvm/hw.h"
#include "lkvm/json.h"
#include "lkvm/kvm.h"
#include "lkvm/snapshot.h"

enum {
	RTC_DR = 0x00,
	RTC_MR = 0x04,
	RTC_LR = 0x08,
	RTC_CR = 0x0c,
	RTC_IMSC = 0x10,
	RTC_RIS = 0x14,
	RTC_MIS = 0x18,
	RTC_ICR = 0x1c,
	RTC_PERIPH_ID = 0xfe0,	/* 0xfe0..0xffc: peripheral and PrimeCell IDs */
};

static const u8 pl031_id[8] = { 0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

struct pl031 {
	pthread_mutex_t lock;
	s64 offset;		/* guest seconds - host seconds */
	u32 mr, lr, cr;
};

struct pl031 *pl031__new(void)
{
	struct pl031 *rtc = calloc(1, sizeof(*rtc));

	if (!rtc)
		return NULL;
	pthread_mutex_init(&rtc->lock, NULL);
	rtc->cr = 1;	/* counter enabled */
	return rtc;
}

void pl031__free(struct pl031 *rtc)
{
	if (!rtc)
		return;
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}

static u32 host_seconds(void)
{
	return (u32)time(NULL);
}

static u32 reg_read(struct pl031 *rtc, u64 offset)
{
	if (offset >= RTC_PERIPH_ID && offset < RTC_PERIPH_ID + 0x20)
		return pl031_id[(offset - RTC_PERIPH_ID) / 4];
	switch (offset) {
	case RTC_DR:
		return (u32)(host_seconds() + rtc->offset);
	case RTC_MR:
		return rtc->mr;
	case RTC_LR:
		return rtc->lr;
	case RTC_CR:
		return rtc->cr;
	default:
		return 0;
	}
}

static void reg_write(struct pl031 *rtc, u64 offset, u32 v)
{
	switch (offset) {
	case RTC_LR:
		rtc->lr = v;
		rtc->offset = (s64)v - (s64)host_seconds();
		break;
	case RTC_MR:
		rtc->mr = v;
		break;
	case RTC_CR:
		rtc->cr = v & 1;
		break;
	default:
		break;
	}
}

void pl031__mmio(void *opaque, u64 offset, u8 *data, u32 len, bool is_write)
{
	struct pl031 *rtc = opaque;
	u32 v = 0;

	pthread_mutex_lock(&rtc->lock);
	if (is_write) {
		memcpy(&v, data, MIN(len, sizeof(v)));
		if (len == 4 && IS_ALIGNED(offset, 4))
			reg_write(rtc, offset, v);
	} else {
		if (IS_ALIGNED(offset, 4))
			v = reg_read(rtc, offset);
		memset(data, 0, len);
		memcpy(data, &v, MIN(len, sizeof(v)));
	}
	pthread_mutex_unlock(&rtc->lock);
}

/* ---- the RTC as a VM device ------------------------------------------------ */

struct rtc_device {
	struct lkvm_device dev;
	struct pl031 *rtc;
};

/* rtc/arm,pl031.yaml: an AMBA PrimeCell, clocked by the platform's APB clock. */
static void rtc_fdt(struct lkvm_device *d, struct fdtw *w)
{
	static const char compat[] = "arm,pl031\0arm,primecell";
	u64 reg[] = { d->base, d->size };

	fdtw__begin_at(w, "rtc", d->base);
	fdtw__prop(w, "compatible", compat, sizeof(compat));
	fdtw__reg64(w, reg, 1);
	fdtw__irq(w, "interrupts", d->irq, FDT_IRQ_LEVEL_HIGH);
	if (w->apb_clock) {
		fdtw__u32(w, "clocks", w->apb_clock);
		fdtw__str(w, "clock-names", "apb_pclk");
	}
	fdtw__end(w);
}

static void rtc_free(struct lkvm_device *d)
{
	struct rtc_device *rd = lkvm_container_of(d, struct rtc_device, dev);

	pl031__free(rd->rtc);
	free(rd);
}

/* "lkvm debug": the guest's setting of the clock and its match and control registers. */
static void rtc_debug(struct lkvm_device *d, struct json *j)
{
	struct pl031 *rtc = lkvm_container_of(d, struct rtc_device, dev)->rtc;

	pthread_mutex_lock(&rtc->lock);
	json__s64(j, "offset_s", rtc->offset);
	json__hex(j, "mr", rtc->mr);
	json__hex(j, "cr", rtc->cr);
	pthread_mutex_unlock(&rtc->lock);
}

/*
 * Snapshot, state version 1: the offset from the host's clock (s64), MR,
 * LR, CR.  A real-time clock: restored, it tells the wall time the guest
 * set it to plus the real time since, not the time it was saved.
 */
static int rtc_save(struct lkvm_device *d, struct snap_writer *w, struct lkvm_err *err)
{
	(void)err;
	struct pl031 *rtc = lkvm_container_of(d, struct rtc_device, dev)->rtc;

	pthread_mutex_lock(&rtc->lock);
	snapshot__put_u64(w, (u64)rtc->offset);
	snapshot__put_u32(w, rtc->mr);
	snapshot__put_u32(w, rtc->lr);
	snapshot__put_u32(w, rtc->cr);
	pthread_mutex_unlock(&rtc->lock);
	return 0;
}

static int rtc_restore(struct lkvm_device *d, u32 version, struct snap_cursor *c,
		       struct lkvm_err *err)
{
	struct pl031 *rtc = lkvm_container_of(d, struct rtc_device, dev)->rtc;
	s64 offset = (s64)snapshot__get_u64(c);
	u32 mr = snapshot__get_u32(c), lr = snapshot__get_u32(c), cr = snapshot__get_u32(c);

	if (version != 1 || c->bad || c->n)
		return seterr(err, EINVAL, "rtc: state version %u not understood", version);
	pthread_mutex_lock(&rtc->lock);
	rtc->offset = offset;
	rtc->mr = mr;
	rtc->lr = lr;
	rtc->cr = cr;
	pthread_mutex_unlock(&rtc->lock);
	return 0;
}

static const struct lkvm_device_ops rtc_ops = {
	.fdt = rtc_fdt,
	.free = rtc_free,
	.debug = rtc_debug,
	.state_version = 1,
	.save = rtc_save,
	.restore = rtc_restore,
};

static unsigned int rtc_count(const struct lkvm_config *cfg)
{
	(void)cfg;
	return 1;
}

static int rtc_create(struct kvm *kvm, unsigned int index, struct lkvm_err *err)
{
	struct rtc_device *rd = calloc(1, sizeof(*rd));

	(void)index;
	if (rd)
		rd->rtc = pl031__new();
	if (!rd || !rd->rtc) {
		free(rd);
		return seterr(err, ENOMEM, "rtc: out of memory");
	}
	rd->dev = (struct lkvm_device){ .ops = &rtc_ops, .name = "rtc" };
	return devices__add_mmio(kvm, &rd->dev, LKVM_AREA_RTC, pl031__mmio, rd->rtc, err);
}

const struct device_kind rtc_kind = { "rtc", rtc_count, rtc_create };
