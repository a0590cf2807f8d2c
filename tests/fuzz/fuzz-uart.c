// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: the other guest-facing register models, the 16550A
 * UART (hw/serial8250.c: the console, output to /dev/null here) and the
 * PL031 RTC (hw/pl031.c), driven by fuzzed register accesses through the
 * VM's MMIO bus as a vCPU's MMIO exits reach them, with host console
 * input arriving in between.
 *
 * Input: 8 bytes per step { u8 op, u8 len, u16 off, u32 val }: op 0/1
 * UART write/read, 2/3 RTC write/read, 4 console input (len bytes of a
 * pattern from val).
 *
 * Checked: the UART's interrupt line only ever goes to 0 or 1.
 */
#include <fcntl.h>

#include "fuzz.h"
#include "lkvm/hw.h"

#define UART_BASE	0x01000000ULL
#define RTC_BASE	0x01010000ULL
#define WINDOW		0x1000

static struct kvm kvm;
static int null_fd = -1;
static int irq_level;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null_fd < 0)
		abort();
	return 0;
}

static void uart_irq(void *ctx, int level)
{
	(void)ctx;
	FUZZ_CHECK(level == 0 || level == 1, "UART interrupt level %d", level);
	irq_level = level;
}

static void vcpu_access(u64 addr, u8 *data, u32 len, bool is_write)
{
	const struct mmio_range *r = mmio__find(&kvm.mmio, addr, len);

	if (r)
		r->fn(r->opaque, addr - r->base, data, len, is_write);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fz in = { data, size };
	struct serial8250 *uart;
	struct pl031 *rtc;

	fuzz_vm_init(&kvm, NULL);
	uart = serial8250__new(NULL, uart_irq, NULL);
	rtc = pl031__new();
	if (!uart || !rtc || mmio__register(&kvm.mmio, UART_BASE, WINDOW, serial8250__mmio, uart,
					     "uart") ||
	    mmio__register(&kvm.mmio, RTC_BASE, WINDOW, pl031__mmio, rtc, "rtc"))
		abort();
	while (in.n) {
		u8 op = fz_u8(&in) % 5, l = fz_u8(&in);
		u16 off = fz_u16(&in);
		u32 val = fz_u32(&in), len = 1U << (l & 3);
		u8 buf[256];

		switch (op) {
		case 0:
		case 1:
		case 2:
		case 3:
			memcpy(buf, &val, 4);
			memset(buf + 4, (u8)val, 4);
			vcpu_access((op < 2 ? UART_BASE : RTC_BASE) + (l & 0x80 ? off : off % 0x40), buf,
			       len, !(op & 1));
			break;
		case 4:
			for (unsigned int i = 0; i < l; i++)
				buf[i] = (u8)(val + i);
			(void)serial8250__input(uart, buf, l);
			(void)serial8250__rx_space(uart);
			break;
		}
	}
	mmio__free(&kvm.mmio);
	serial8250__free(uart);
	pl031__free(rtc);
	return 0;
}
