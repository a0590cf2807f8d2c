/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Logging for code that runs while a VM runs (vCPU exits, devices).
 * Every message goes through the VM's log level; guest-triggered messages
 * use the _once/_ratelimited forms so a hostile guest cannot flood the
 * host's log.  Messages are prefixed "lkvm: ".
 */
#ifndef LKVM_LOG_H
#define LKVM_LOG_H

#include "lkvm/util.h"

enum log_level {
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

struct kvm;

/* Prints "lkvm: " fmt to stderr if @level is enabled for @kvm (NULL: warnings and errors). */
void lkvm_log(const struct kvm *kvm, enum log_level level, const char *fmt, ...) __printf(3, 4);

/*
 * Like lkvm_log(), but at most 5 messages a second per @rl, then one line
 * saying how many were suppressed.  The caller owns @rl: one per device
 * (in the device's struct, kept across device resets, so a guest that
 * loops on resets is limited too) or a static per call site.
 */
struct log_ratelimit {
	u64 window_start_ns;
	unsigned int count;
	unsigned int suppressed;
};
void lkvm_log_ratelimited(const struct kvm *kvm, struct log_ratelimit *rl, enum log_level level,
			  const char *fmt, ...) __printf(4, 5);

#define pr_err(kvm, ...)	lkvm_log(kvm, LOG_ERROR, __VA_ARGS__)
#define pr_warn(kvm, ...)	lkvm_log(kvm, LOG_WARN, __VA_ARGS__)
#define pr_info(kvm, ...)	lkvm_log(kvm, LOG_INFO, __VA_ARGS__)
#define pr_debug(kvm, ...)	lkvm_log(kvm, LOG_DEBUG, __VA_ARGS__)

#endif /* LKVM_LOG_H */
