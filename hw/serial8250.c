// SPDX-License-Identifier: GPL-2.0-only
/*
 * A 16550A UART: the guest console.  Transmit is immediate (the holding
 * register is always empty again by the time the guest looks): the byte
 * goes to the console's output ring (lkvm/outbuf.h), never to a write(2)
 * that a stalled reader could block on this vCPU thread.  Receive has a
 * FIFO fed by the main loop from the host's stdin.  The interrupt
 * is level-triggered and recomputed after every register access, per the
 * 16550 priority order (TI PC16550D datasheet, table 4 "Interrupt Control
 * Functions"): line status, received data, transmitter empty, modem status.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lkvm/arch.h"
#include "lkvm/device.h"
#include "lkvm/fdt.h"
#include "lkvm/hw.h"
#include "lkvm/json.h"
#include "lkvm/kvm.h"
#include "lkvm/outbuf.h"
#include "lkvm/snapshot.h"

#define RX_FIFO_SIZE	1024

enum {
	UART_RBR_THR = 0,	/* DLL when LCR.DLAB */
	UART_IER = 1,		/* DLM when LCR.DLAB */
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IER_RLSI	0x04
#define IER_MSI		0x08

#define IIR_NO_INT	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_FIFO_ON	0xc0

#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02

#define LCR_DLAB	0x80

#define MCR_LOOP	0x10

#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40

#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_DCD		0x80

struct serial8250 {
	pthread_mutex_t lock;
	struct outbuf *out;
	irq_fn irq;
	void *irq_ctx;
	int irq_level;

	u8 ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thri_pending;	/* THR-empty interrupt not yet acknowledged */

	u8 rx[RX_FIFO_SIZE];
	size_t rx_head, rx_count;
};

struct serial8250 *serial8250__new(struct outbuf *out, irq_fn irq, void *irq_ctx)
{
	struct serial8250 *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	pthread_mutex_init(&u->lock, NULL);
	u->out = out;
	u->irq = irq;
	u->irq_ctx = irq_ctx;
	u->dll = 12;	/* 9600 baud at 1.8432 MHz: a plausible reset value */
	return u;
}

void serial8250__free(struct serial8250 *u)
{
	if (!u)
		return;
	pthread_mutex_destroy(&u->lock);
	free(u);
}

static void update_irq(struct serial8250 *u)
{
	int level = (u->rx_count && (u->ier & IER_RDI)) ||
		    (u->thri_pending && (u->ier & IER_THRI));

	if (level != u->irq_level) {
		u->irq_level = level;
		if (u->irq)
			u->irq(u->irq_ctx, level);
	}
}

static void transmit(struct serial8250 *u, u8 c)
{
	if (u->mcr & MCR_LOOP) {
		if (u->rx_count < RX_FIFO_SIZE) {
			u->rx[(u->rx_head + u->rx_count) % RX_FIFO_SIZE] = c;
			u->rx_count++;
		}
		return;
	}
	/* Never blocks for long: a stalled stdout loses output, not the vCPU. */
	outbuf__write(u->out, &c, 1);
}

static u8 rx_pop(struct serial8250 *u)
{
	u8 c;

	if (!u->rx_count)
		return 0;
	c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % RX_FIFO_SIZE;
	u->rx_count--;
	return c;
}

static u8 read_iir(struct serial8250 *u)
{
	u8 fifo = (u->fcr & FCR_ENABLE) ? IIR_FIFO_ON : 0;

	if (u->rx_count && (u->ier & IER_RDI))
		return fifo | IIR_RDI;
	if (u->thri_pending && (u->ier & IER_THRI)) {
		/* Reading IIR while it reports THRE acknowledges it. */
		u->thri_pending = false;
		return fifo | IIR_THRI;
	}
	return fifo | IIR_NO_INT;
}

static u8 read_msr(struct serial8250 *u)
{
	if (u->mcr & MCR_LOOP) {
		/* Loopback: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
		return (u8)(((u->mcr & 0x01) << 5) | ((u->mcr & 0x02) << 3) |
			    ((u->mcr & 0x04) << 4) | ((u->mcr & 0x08) << 4));
	}
	return MSR_DCD | MSR_DSR | MSR_CTS;
}

static u8 reg_read(struct serial8250 *u, unsigned int reg)
{
	switch (reg) {
	case UART_RBR_THR:
		return (u->lcr & LCR_DLAB) ? u->dll : rx_pop(u);
	case UART_IER:
		return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case UART_IIR_FCR:
		return read_iir(u);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		return (u->rx_count ? LSR_DR : 0) | LSR_THRE | LSR_TEMT;
	case UART_MSR:
		return read_msr(u);
	case UART_SCR:
		return u->scr;
	}
	return 0;
}

static void reg_write(struct serial8250 *u, unsigned int reg, u8 v)
{
	switch (reg) {
	case UART_RBR_THR:
		if (u->lcr & LCR_DLAB) {
			u->dll = v;
		} else {
			transmit(u, v);
			u->thri_pending = true;
		}
		break;
	case UART_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
		} else {
			/* Enabling THRI with an empty THR raises it at once. */
			if ((v & IER_THRI) && !(u->ier & IER_THRI))
				u->thri_pending = true;
			u->ier = v & 0x0f;
		}
		break;
	case UART_IIR_FCR:
		u->fcr = v & 0xc9;
		if (v & FCR_CLEAR_RX) {
			u->rx_head = 0;
			u->rx_count = 0;
		}
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & 0x1f;
		break;
	case UART_SCR:
		u->scr = v;
		break;
	default:	/* LSR, MSR: read-only */
		break;
	}
}

void serial8250__mmio(void *opaque, u64 offset, u8 *data, u32 len, bool is_write)
{
	struct serial8250 *u = opaque;

	pthread_mutex_lock(&u->lock);
	if (offset > UART_SCR) {
		if (!is_write)
			memset(data, 0, len);
	} else if (is_write) {
		reg_write(u, (unsigned int)offset, data[0]);
	} else {
		memset(data, 0, len);
		data[0] = reg_read(u, (unsigned int)offset);
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

size_t serial8250__input(struct serial8250 *u, const u8 *buf, size_t len)
{
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = MIN(len, RX_FIFO_SIZE - u->rx_count);
	for (size_t i = 0; i < n; i++)
		u->rx[(u->rx_head + u->rx_count + i) % RX_FIFO_SIZE] = buf[i];
	u->rx_count += n;
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

size_t serial8250__rx_space(struct serial8250 *u)
{
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = RX_FIFO_SIZE - u->rx_count;
	pthread_mutex_unlock(&u->lock);
	return n;
}

/* ---- the console UART as a VM device -------------------------------------- */

struct uart_device {
	struct lkvm_device dev;
	struct kvm *kvm;
	struct serial8250 *u;
};

static void uart_irq(void *ctx, int level)
{
	struct uart_device *ud = ctx;

	arch__irq_line(ud->kvm, ud->dev.irq, level);
}

static size_t uart_space(void *ctx)
{
	return serial8250__rx_space(ctx);
}

static size_t uart_input(void *ctx, const u8 *buf, size_t len)
{
	return serial8250__input(ctx, buf, len);
}

/* The console's node: the kernel finds its earlycon and console here. */
static void uart_fdt_chosen(struct lkvm_device *d, struct fdtw *w)
{
	char path[48];

	snprintf(path, sizeof(path), "/uart@%llx", (unsigned long long)d->base);
	fdtw__str(w, "stdout-path", path);
}

/* serial/8250.yaml */
static void uart_fdt(struct lkvm_device *d, struct fdtw *w)
{
	u64 reg[] = { d->base, d->size };

	fdtw__begin_at(w, "uart", d->base);
	fdtw__str(w, "compatible", "ns16550a");
	fdtw__reg64(w, reg, 1);
	fdtw__irq(w, "interrupts", d->irq, FDT_IRQ_LEVEL_HIGH);
	fdtw__u32(w, "clock-frequency", 1843200);
	fdtw__end(w);
}

static void uart_free(struct lkvm_device *d)
{
	struct uart_device *ud = lkvm_container_of(d, struct uart_device, dev);

	serial8250__free(ud->u);
	free(ud);
}

/* "lkvm debug": the registers the guest set, and what waits in the receive FIFO. */
static void uart_debug(struct lkvm_device *d, struct json *j)
{
	struct serial8250 *u = lkvm_container_of(d, struct uart_device, dev)->u;

	pthread_mutex_lock(&u->lock);
	json__hex(j, "ier", u->ier);
	json__hex(j, "lcr", u->lcr);
	json__hex(j, "mcr", u->mcr);
	json__hex(j, "fcr", u->fcr);
	json__u64(j, "divisor", (u64)u->dlm << 8 | u->dll);
	json__u64(j, "rx_pending", u->rx_count);
	json__bool(j, "thri_pending", u->thri_pending);
	json__u64(j, "irq_level", (u64)u->irq_level);
	pthread_mutex_unlock(&u->lock);
}

/*
 * Snapshot, state version 1: ier lcr mcr scr dll dlm fcr thri_pending
 * irq_level (one byte each, in a u64 and a u32), the receive FIFO's count
 * and its bytes in order.
 */
static int uart_save(struct lkvm_device *d, struct snap_writer *w, struct lkvm_err *err)
{
	(void)err;
	struct serial8250 *u = lkvm_container_of(d, struct uart_device, dev)->u;

	pthread_mutex_lock(&u->lock);
	snapshot__put_u64(w, (u64)u->ier | (u64)u->lcr << 8 | (u64)u->mcr << 16 |
			  (u64)u->scr << 24 | (u64)u->dll << 32 | (u64)u->dlm << 40 |
			  (u64)u->fcr << 48 | (u64)u->thri_pending << 56);
	snapshot__put_u32(w, (u32)u->irq_level);
	snapshot__put_u32(w, (u32)u->rx_count);
	for (size_t i = 0; i < u->rx_count; i++) {
		u8 c = u->rx[(u->rx_head + i) % RX_FIFO_SIZE];

		snapshot__put_bytes(w, &c, 1);
	}
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static int uart_restore(struct lkvm_device *d, u32 version, struct snap_cursor *c,
			struct lkvm_err *err)
{
	struct serial8250 *u = lkvm_container_of(d, struct uart_device, dev)->u;
	u64 regs = snapshot__get_u64(c);
	u32 level = snapshot__get_u32(c), n = snapshot__get_u32(c);
	const u8 *rx = n <= RX_FIFO_SIZE ? snapshot__get_bytes(c, n) : NULL;

	if (version != 1 || c->bad || !rx || c->n || level > 1 || (regs >> 56) > 1)
		return seterr(err, EINVAL, "uart: state version %u of %zu bytes not understood",
			      version, c->n);
	pthread_mutex_lock(&u->lock);
	u->ier = (u8)regs;
	u->lcr = (u8)(regs >> 8);
	u->mcr = (u8)(regs >> 16);
	u->scr = (u8)(regs >> 24);
	u->dll = (u8)(regs >> 32);
	u->dlm = (u8)(regs >> 40);
	u->fcr = (u8)(regs >> 48);
	u->thri_pending = regs >> 56;
	memcpy(u->rx, rx, n);
	u->rx_head = 0;
	u->rx_count = n;
	/* The line as it was (the GIC's copy of it is restored too), then as the state says. */
	u->irq_level = (int)level;
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static const struct lkvm_device_ops uart_ops = {
	.fdt_chosen = uart_fdt_chosen,
	.fdt = uart_fdt,
	.free = uart_free,
	.debug = uart_debug,
	.state_version = 1,
	.save = uart_save,
	.restore = uart_restore,
};

static unsigned int uart_count(const struct lkvm_config *cfg)
{
	(void)cfg;
	return 1;	/* always: earlycon, and the console unless --console virtio */
}

static int uart_create(struct kvm *kvm, unsigned int index, struct lkvm_err *err)
{
	struct uart_device *ud = calloc(1, sizeof(*ud));
	int r;

	(void)index;
	if (ud)
		ud->u = serial8250__new(kvm->console_ob, uart_irq, ud);
	if (!ud || !ud->u) {
		free(ud);
		return seterr(err, ENOMEM, "uart: out of memory");
	}
	ud->kvm = kvm;
	ud->dev = (struct lkvm_device){ .ops = &uart_ops, .name = "uart" };
	r = devices__add_mmio(kvm, &ud->dev, LKVM_AREA_UART, serial8250__mmio, ud->u, err);
	if (!r && kvm->cfg->console != CONSOLE_VIRTIO)
		kvm->console = (struct console_sink){ uart_space, uart_input, ud->u };
	return r;
}

const struct device_kind uart_kind = { "uart", uart_count, uart_create };
