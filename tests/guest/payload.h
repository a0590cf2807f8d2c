/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The interface between the assembly half (start.S: entry, stacks,
 * exception vectors, SMCCC conduits) and the C half (payload.c) of the
 * lkvm test payload.
 */
#ifndef LKVM_GUEST_PAYLOAD_H
#define LKVM_GUEST_PAYLOAD_H

#include <stdint.h>

/*
 * C entry, called once by _start on the boot stack with the vector table
 * installed and the DTB address from x0 (arm64 booting.rst).  Never returns.
 */
void payload_main(uint64_t dtb) __attribute__((noreturn));

/*
 * Called from every vector table entry on the exception stack.  Reports
 * the exception and powers off; never returns.
 */
void payload_exception(void) __attribute__((noreturn));

/*
 * One SMC Calling Convention call (Arm DEN0028) through HVC #0 or SMC #0:
 * function id in @fn, result from x0.  The callee may clobber x0-x17,
 * which the AAPCS64 lets any call clobber anyway.
 */
uint64_t smccc_hvc(uint64_t fn);
uint64_t smccc_smc(uint64_t fn);

#endif /* LKVM_GUEST_PAYLOAD_H */
