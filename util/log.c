// SPDX-License-Identifier: GPL-2.0-only
/*
 * Log output for a running VM, filtered by the VM's configured level and,
 * for messages a guest can trigger, rate-limited per call site.
 */
#include <stdarg.h>
#include <stdio.h>

#include "lkvm/kvm.h"
#include "lkvm/log.h"

static bool enabled(const struct kvm *kvm, enum log_level level)
{
	enum log_level max = kvm && kvm->cfg ? kvm->cfg->loglevel : LOG_WARN;

	return level <= max;
}

static void vlog(enum log_level level, const char *fmt, va_list ap)
{
	static const char *const tag[] = { "error: ", "warning: ", "", "" };
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* One write per message, so lines from vCPU threads don't interleave. */
	fprintf(stderr, "lkvm: %s%s\n", tag[level], buf);
}

void lkvm_log(const struct kvm *kvm, enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (!enabled(kvm, level))
		return;
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

void lkvm_log_ratelimited(const struct kvm *kvm, struct log_ratelimit *rl, enum log_level level,
			  const char *fmt, ...)
{
	const unsigned int burst = 5;
	u64 now = now_ns();
	va_list ap;

	if (!enabled(kvm, level))
		return;
	/* Racy across threads by design: an extra line or two is harmless. */
	if (now - rl->window_start_ns > 1000000000ULL) {
		if (rl->suppressed)
			lkvm_log(kvm, level, "(%u similar messages suppressed)", rl->suppressed);
		rl->window_start_ns = now;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count++ >= burst) {
		rl->suppressed++;
		return;
	}
	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}
