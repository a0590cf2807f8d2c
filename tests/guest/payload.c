// SPDX-License-Identifier: GPL-2.0-only
/*
 * The C half of the lkvm test payload: find the DTB and, from it, the
 * console UART and the PSCI conduit; print the "PAYLOAD: ..." report
 * (CurrentEL, ID registers, bootargs, results of touch=0xADDR memory
 * probes, the initrd's first bytes with initrd-bytes=N, kvm-unit-tests'
 * "EXIT: STATUS=N" line with exit-status=N); report any exception; power
 * off with PSCI SYSTEM_OFF.  The
 * report format is what lkvm's system tests grep for, so it is part of
 * this file's contract: change it only together with those tests.
 *
 * Constraints that shape the code: the MMU is off, so every data access
 * is Device-nGnRnE (no unaligned accesses, hence byte-wise string and DTB
 * handling and -mstrict-align); there is no FP/SIMD (-mgeneral-regs-only);
 * code must be position independent (no absolute addresses in data).
 */
#include <stddef.h>
#include <stdint.h>

#include "args.h"
#include "fdt.h"
#include "payload.h"

/* PSCI (Arm DEN0022) SYSTEM_OFF, SMC32 function id. */
#define PSCI_SYSTEM_OFF		0x84000008u

/*
 * QEMU's virt board puts RAM at 0x40000000 and, for an ELF given with
 * -kernel, the DTB at the start of RAM with x0 = 0.  Only used when x0
 * does not point at a DTB; lkvm always passes x0.
 */
#define QEMU_VIRT_DTB		0x40000000ul

/* 16550A registers (TI PC16550D data sheet), byte-wide, offset << reg-shift. */
#define UART8250_THR		0
#define UART8250_LCR		3
#define UART8250_LSR		5
#define UART8250_LCR_8N1	0x03	/* 8 data bits, no parity, DLAB=0 */
#define UART8250_LSR_THRE	0x20

/* PL011 (Arm DDI 0183), only for smoke tests under QEMU's virt board. */
#define PL011_DR		0x00
#define PL011_FR		0x18
#define PL011_FR_TXFF		0x20

/* Give up waiting for a stuck transmitter and write anyway. */
#define UART_SPIN_LIMIT		100000

enum console { CON_NONE, CON_8250, CON_PL011 };
enum conduit { CONDUIT_HVC, CONDUIT_SMC };

/* All mutable state of the payload; zeroed because it lives in .bss. */
static struct {
	enum console con;
	uintptr_t con_base;
	unsigned int con_shift;
	enum conduit conduit;
	unsigned int exception_depth;
	unsigned int off_attempts;	/* PSCI SYSTEM_OFF calls made */
	int mid_line;		/* last byte sent was not '\n' */
} state;

#define read_sysreg(reg) ({						\
	uint64_t __val;							\
	asm volatile("mrs %0, " #reg : "=r" (__val));			\
	__val;								\
})

/*
 * MMIO and probe accesses are single load/store instructions without
 * writeback, written in asm so the compiler cannot pick another form:
 * only those give KVM a valid syndrome (ESR_EL2.ISV) to hand the access
 * to the VMM when it hits an emulated device.
 */
static inline uint8_t mmio_read8(uintptr_t addr)
{
	uint8_t val;

	asm volatile("ldrb %w0, [%1]" : "=r" (val) : "r" (addr) : "memory");
	return val;
}

static inline void mmio_write8(uintptr_t addr, uint8_t val)
{
	asm volatile("strb %w0, [%1]" : : "rZ" (val), "r" (addr) : "memory");
}

static inline uint32_t mmio_read32(uintptr_t addr)
{
	uint32_t val;

	asm volatile("ldr %w0, [%1]" : "=r" (val) : "r" (addr) : "memory");
	return val;
}

static inline void mmio_write32(uintptr_t addr, uint32_t val)
{
	asm volatile("str %w0, [%1]" : : "rZ" (val), "r" (addr) : "memory");
}

static inline uint64_t mmio_read64(uintptr_t addr)
{
	uint64_t val;

	asm volatile("ldr %0, [%1]" : "=r" (val) : "r" (addr) : "memory");
	return val;
}

static inline void mmio_write64(uintptr_t addr, uint64_t val)
{
	asm volatile("str %x0, [%1]" : : "rZ" (val), "r" (addr) : "memory");
}

static unsigned int current_el(void)
{
	return (read_sysreg(CurrentEL) >> 2) & 3;
}

/*
 * At EL1 the hypervisor (KVM) is one HVC away.  At EL2 we are the
 * hypervisor, an HVC would trap to our own vectors, and PSCI is reached
 * with SMC, which KVM handles for a nested guest.
 */
static enum conduit default_conduit(void)
{
	return current_el() == 2 ? CONDUIT_SMC : CONDUIT_HVC;
}

static void con_putc(char c)
{
	unsigned int spin;
	uintptr_t base = state.con_base;

	switch (state.con) {
	case CON_8250:
		for (spin = 0; spin < UART_SPIN_LIMIT; spin++)
			if (mmio_read8(base + (UART8250_LSR << state.con_shift)) &
			    UART8250_LSR_THRE)
				break;
		mmio_write8(base + (UART8250_THR << state.con_shift),
			    (uint8_t)c);
		break;
	case CON_PL011:
		for (spin = 0; spin < UART_SPIN_LIMIT; spin++)
			if (!(mmio_read32(base + PL011_FR) & PL011_FR_TXFF))
				break;
		mmio_write32(base + PL011_DR, (uint8_t)c);
		break;
	case CON_NONE:
		break;
	}
	state.mid_line = c != '\n';
}

/* Print at most @len bytes of @s, stopping early at a NUL. */
static void put_strn(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && s[i]; i++) {
		if (s[i] == '\n')
			con_putc('\r');
		con_putc(s[i]);
	}
}

static void put_str(const char *s)
{
	put_strn(s, SIZE_MAX);
}

/* Exactly 16 lower-case hex digits, the width tests parse. */
static void put_hex64(uint64_t v)
{
	int shift;
	unsigned int d;

	for (shift = 60; shift >= 0; shift -= 4) {
		d = (v >> shift) & 0xf;
		con_putc((char)(d < 10 ? '0' + d : 'a' + d - 10));
	}
}

static void put_reg(const char *name, uint64_t val)
{
	put_str("PAYLOAD: ");
	put_str(name);
	put_str("=0x");
	put_hex64(val);
	put_str("\n");
}

static void __attribute__((noreturn)) halt(void)
{
	for (;;)
		asm volatile("wfi");
}

static void __attribute__((noreturn)) power_off(enum conduit conduit)
{
	state.off_attempts++;
	if (conduit == CONDUIT_SMC)
		smccc_smc(PSCI_SYSTEM_OFF);
	else
		smccc_hvc(PSCI_SYSTEM_OFF);
	put_str("PAYLOAD: SYSTEM_OFF returned\n");
	halt();
}

void payload_exception(void)
{
	unsigned int depth = ++state.exception_depth;
	uint64_t esr, elr, far;

	/*
	 * A third exception means reporting or powering off keeps faulting
	 * (bad UART address, no PSCI at all): give up quietly rather than
	 * loop.
	 */
	if (depth > 2)
		halt();

	if (current_el() == 2) {
		esr = read_sysreg(esr_el2);
		elr = read_sysreg(elr_el2);
		far = read_sysreg(far_el2);
	} else {
		esr = read_sysreg(esr_el1);
		elr = read_sysreg(elr_el1);
		far = read_sysreg(far_el1);
	}
	/* Tests match the report at the start of a line. */
	if (state.mid_line)
		put_str("\n");
	put_str("PAYLOAD: exception ESR=0x");
	put_hex64(esr);
	put_str(" ELR=0x");
	put_hex64(elr);
	put_str(" FAR=0x");
	put_hex64(far);
	put_str("\n");

	/*
	 * If SYSTEM_OFF was already tried, it is likely what faulted (a DTB
	 * naming the wrong conduit raises UNDEFINED): fall back to the
	 * architectural choice.
	 */
	power_off(state.off_attempts ? default_conduit() : state.conduit);
}

static int find_dtb(struct fdt *fdt, uint64_t x0)
{
	if (x0 && fdt_open(fdt, (const void *)(uintptr_t)x0) == 0)
		return 0;
	return fdt_open(fdt, (const void *)QEMU_VIRT_DTB);
}

static void console_init(const struct fdt *fdt)
{
	uint64_t addr, size;
	uint32_t shift;
	int node, parent;

	node = fdt_find_compatible(fdt, "ns16550a", &parent);
	if (node >= 0 && !fdt_get_reg(fdt, node, parent, 0, &addr, &size)) {
		/* Optional binding property; lkvm's UART has byte stride. */
		shift = fdt_getprop_u32(fdt, node, "reg-shift", 0);
		state.con_shift = shift <= 2 ? shift : 0;
		state.con_base = (uintptr_t)addr;
		state.con = CON_8250;
		/* Make offset 0 the THR (DLAB=0) whatever state we inherit. */
		mmio_write8(state.con_base +
			    (UART8250_LCR << state.con_shift),
			    UART8250_LCR_8N1);
		return;
	}

	node = fdt_find_compatible(fdt, "arm,pl011", &parent);
	if (node >= 0 && !fdt_get_reg(fdt, node, parent, 0, &addr, &size)) {
		state.con_base = (uintptr_t)addr;
		state.con = CON_PL011;
	}
}

/*
 * The PSCI binding's "method" names the conduit; trust it, except that
 * HVC at EL2 can only reach ourselves (see default_conduit()).
 */
static void conduit_init(const struct fdt *fdt)
{
	const char *method;
	uint32_t len;
	int node, parent;

	node = fdt_find_compatible(fdt, "arm,psci-0.2", &parent);
	if (node < 0)
		node = fdt_find_compatible(fdt, "arm,psci", &parent);
	if (node < 0)
		return;
	method = fdt_getprop(fdt, node, "method", &len);
	if (!method)
		return;
	if (fdt_stringlist_contains(method, len, "smc"))
		state.conduit = CONDUIT_SMC;
	else if (fdt_stringlist_contains(method, len, "hvc") &&
		 current_el() != 2)
		state.conduit = CONDUIT_HVC;
}

static void print_id_regs(void)
{
	/* Encodings for names older assemblers lack: Arm ARM DDI 0487. */
	put_reg("ID_AA64PFR0_EL1", read_sysreg(id_aa64pfr0_el1));
	put_reg("ID_AA64PFR1_EL1", read_sysreg(id_aa64pfr1_el1));
	put_reg("ID_AA64DFR0_EL1", read_sysreg(id_aa64dfr0_el1));
	put_reg("ID_AA64ISAR0_EL1", read_sysreg(id_aa64isar0_el1));
	put_reg("ID_AA64ISAR1_EL1", read_sysreg(id_aa64isar1_el1));
	put_reg("ID_AA64ISAR2_EL1", read_sysreg(S3_0_C0_C6_2));
	put_reg("ID_AA64MMFR0_EL1", read_sysreg(id_aa64mmfr0_el1));
	put_reg("ID_AA64MMFR1_EL1", read_sysreg(id_aa64mmfr1_el1));
	put_reg("ID_AA64MMFR2_EL1", read_sysreg(S3_0_C0_C7_2));
	put_reg("ID_AA64ZFR0_EL1", read_sysreg(S3_0_C0_C4_4));
	put_reg("MIDR_EL1", read_sysreg(midr_el1));
	put_reg("MPIDR_EL1", read_sysreg(mpidr_el1));
}

/*
 * touch=0xADDR: store a pattern derived from ADDR and read it back, to
 * show from inside the guest that ADDR is (or is not) backed by RAM.  An
 * address outside RAM either reads back wrong or faults, and the fault is
 * reported by payload_exception().
 */
static void touch(const char *arg, size_t len)
{
	uint64_t addr, pattern, got;

	put_str("PAYLOAD: touch ");
	put_strn(arg, len);
	/* Device memory: an unaligned access would fault, not test RAM. */
	if (args_parse_hex(arg, len, &addr) || (addr & 7)) {
		put_str(" invalid (want 0x<hex>, 8-byte aligned)\n");
		return;
	}
	pattern = addr ^ 0x5a5a5a5a5a5a5a5aull;
	mmio_write64((uintptr_t)addr, pattern);
	got = mmio_read64((uintptr_t)addr);
	if (got == pattern) {
		put_str(" ok\n");
	} else {
		put_str(" MISMATCH got 0x");
		put_hex64(got);
		put_str("\n");
	}
}

/* A /chosen address property: one or two cells (linux,initrd-start/-end). */
static int chosen_addr(const struct fdt *fdt, int chosen, const char *name, uint64_t *out)
{
	const uint8_t *p;
	uint32_t len;

	p = fdt_getprop(fdt, chosen, name, &len);
	if (!p || (len != 4 && len != 8))
		return -1;
	*out = len == 4 ? fdt_be32(p) : (uint64_t)fdt_be32(p) << 32 | fdt_be32(p + 4);
	return 0;
}

/*
 * initrd-bytes=N: the initrd as the guest sees it, from /chosen's
 * linux,initrd-start/-end (Documentation/devicetree/bindings/chosen.txt):
 * its size, then its first N bytes, printable ASCII as is and everything
 * else escaped (\n, \\, \xHH), so any file shows on one line.
 */
static void print_initrd(const struct fdt *fdt, int chosen, const char *arg, size_t len)
{
	uint64_t start, end, want, n;

	if (args_parse_dec(arg, len, &want)) {
		put_str("PAYLOAD: initrd-bytes invalid (want a decimal count)\n");
		return;
	}
	if (chosen < 0 || chosen_addr(fdt, chosen, "linux,initrd-start", &start) ||
	    chosen_addr(fdt, chosen, "linux,initrd-end", &end) || end < start) {
		put_str("PAYLOAD: initrd none\n");
		return;
	}
	put_reg("initrd-size", end - start);
	n = end - start < want ? end - start : want;
	put_str("PAYLOAD: initrd=");
	for (uint64_t i = 0; i < n; i++) {
		uint8_t c = mmio_read8((uintptr_t)(start + i));

		if (c == '\n') {
			put_str("\\n");
		} else if (c == '\\') {
			put_str("\\\\");
		} else if (c >= 0x20 && c < 0x7f) {
			con_putc((char)c);
		} else {
			put_str("\\x");
			con_putc("0123456789abcdef"[c >> 4]);
			con_putc("0123456789abcdef"[c & 15]);
		}
	}
	put_str("\n");
}

/*
 * Reads the bootargs, prints them, and does what they ask: touch=0xADDR
 * and initrd-bytes=N now, in order; returns the exit-status=N asked for
 * (-1: none), printed last, just before powering off.
 */
static int64_t handle_bootargs(const struct fdt *fdt)
{
	const char *args = NULL, *pos, *end, *tok;
	size_t len, plen;
	uint32_t args_len;
	int root, depth, chosen;
	int64_t status = -1;
	uint64_t v;

	root = fdt_next_node(fdt, -1, &depth);
	chosen = fdt_subnode(fdt, root, "chosen");
	if (chosen >= 0)
		args = fdt_getprop(fdt, chosen, "bootargs", &args_len);
	if (!args) {
		args = "";
		args_len = 0;
	}

	put_str("PAYLOAD: bootargs=");
	put_strn(args, args_len);
	put_str("\n");

	pos = args;
	end = args + args_len;
	while ((tok = args_next(&pos, end, &len))) {
		plen = args_prefix(tok, len, "touch=");
		if (plen)
			touch(tok + plen, len - plen);
		plen = args_prefix(tok, len, "initrd-bytes=");
		if (plen)
			print_initrd(fdt, chosen, tok + plen, len - plen);
		plen = args_prefix(tok, len, "exit-status=");
		if (plen && !args_parse_dec(tok + plen, len - plen, &v) && v <= 255)
			status = (int64_t)v;
		else if (plen)
			put_str("PAYLOAD: exit-status invalid (want 0..255)\n");
	}
	return status;
}

/* kvm-unit-tests' last line (lib/report.c via exit()), which its runner reads. */
static void put_exit_status(unsigned int status)
{
	char d[3];
	int n = 0;

	do {
		d[n++] = (char)('0' + status % 10);
		status /= 10;
	} while (status && n < 3);
	put_str("EXIT: STATUS=");
	while (n)
		con_putc(d[--n]);
	put_str("\n");
}

void payload_main(uint64_t x0)
{
	struct fdt fdt;
	int64_t status;

	state.conduit = default_conduit();
	/* Nowhere to report to without a DTB: just stop the VM. */
	if (find_dtb(&fdt, x0))
		power_off(state.conduit);
	console_init(&fdt);
	conduit_init(&fdt);

	put_str("PAYLOAD: hello\n");
	put_str("PAYLOAD: CurrentEL=");
	con_putc((char)('0' + current_el()));
	put_str("\n");
	put_reg("x0", x0);
	put_reg("dtb", (uintptr_t)fdt.blob);
	print_id_regs();
	status = handle_bootargs(&fdt);
	put_str("PAYLOAD: done\n");
	if (status >= 0)
		put_exit_status((unsigned int)status);
	power_off(state.conduit);
}
