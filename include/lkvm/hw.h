/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Platform devices: the 16550A UART (the console) and the PL031 RTC.
 * Both are plain register models: they are told how to raise their
 * interrupt line and where to send output, so they are unit-testable
 * without KVM.  Each serialises its own state with a mutex, since vCPU
 * threads and the main loop touch them concurrently.  Their files also
 * hold their VM device glue (uart_kind, rtc_kind: lkvm/device.h), which
 * places them, raises their line and writes their device-tree node.
 */
#ifndef LKVM_HW_H
#define LKVM_HW_H

#include <stddef.h>

#include "lkvm/mmio.h"
#include "lkvm/util.h"

/* Drives a device's interrupt line (level-triggered). */
typedef void (*irq_fn)(void *ctx, int level);

struct serial8250;
struct outbuf;

/*
 * A 16550A whose transmitter queues its bytes on @out (not owned; NULL:
 * output is discarded) and whose interrupt goes through @irq(@irq_ctx,
 * level).  Returns NULL on allocation failure.
 */
struct serial8250 *serial8250__new(struct outbuf *out, irq_fn irq, void *irq_ctx);
void serial8250__free(struct serial8250 *u);

/* MMIO handler for the UART's registers (one byte each, stride 1). */
void serial8250__mmio(void *opaque, u64 offset, u8 *data, u32 len, bool is_write);

/* Queues host input for the guest; returns how many bytes were accepted (FIFO space). */
size_t serial8250__input(struct serial8250 *u, const u8 *buf, size_t len);

/* Free space in the receive FIFO. */
size_t serial8250__rx_space(struct serial8250 *u);

struct pl031;

/* A PL031 real-time clock counting host wall-clock seconds. */
struct pl031 *pl031__new(void);
void pl031__free(struct pl031 *rtc);
void pl031__mmio(void *opaque, u64 offset, u8 *data, u32 len, bool is_write);

#endif /* LKVM_HW_H */
