/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Entry point, stacks, exception vectors and SMCCC conduits of the lkvm
 * test payload.  Byte 0 of the image is _start: lkvm jumps there with the
 * state of arm64 booting.rst ("Call the kernel image"): MMU and D-cache
 * off, x0 = DTB address, at EL1h or, with --nested, at EL2h.
 *
 * Everything is reached with ADR (PC-relative, +-1 MiB, no 4 KiB page
 * assumption), so the image runs wherever it is loaded.  The only
 * alignment it needs from the loader is 2 KiB, for VBAR (its bits [10:0]
 * are RES0); any page-aligned RAM base satisfies that.
 */

#define CURRENTEL_EL2	(2 << 2)	/* CurrentEL.EL lives in bits [3:2] */

	.section .text.entry, "ax"
	.globl	_start
_start:
	mov	x19, x0			/* DTB address, callee-saved */
	msr	daifset, #0xf		/* booting.rst asks for this; be sure */
	msr	spsel, #1		/* run on SP_ELx, as the vectors assume */
	adr	x1, boot_stack_top
	mov	sp, x1

	/*
	 * Vectors first, so that even a fault while looking for the DTB or
	 * the UART ends in a PSCI power-off rather than a silent hang.
	 */
	adr	x1, vectors
	mrs	x2, CurrentEL
	cmp	x2, #CURRENTEL_EL2
	b.ne	1f
	msr	vbar_el2, x1
	b	2f
1:	msr	vbar_el1, x1
2:	isb

	mov	x0, x19
	bl	payload_main
3:	wfi
	b	3b

/*
 * Exception vector table: 16 entries of 0x80 bytes, 2 KiB aligned (Arm
 * ARM DDI 0487, "Exception vectors").  No entry ever returns, so each one
 * simply switches to the exception stack, which also copes with a fault
 * caused by a broken boot stack, and reports from C.
 */
	.section .text.vectors, "ax"
	.balign	2048
vectors:
	.rept	16
	.balign	128
	adr	x0, exc_stack_top
	mov	sp, x0
	bl	payload_exception
	b	.
	.endr

	.text
	.globl	smccc_hvc
smccc_hvc:
	hvc	#0
	ret

	.globl	smccc_smc
smccc_smc:
	smc	#0
	ret

/*
 * Stacks.  The linker script folds .bss into the loaded image (see
 * payload.ld), so these bytes are part of the file and a loader that only
 * knows the file size cannot put the DTB on top of them.
 */
	.section .bss.stacks, "aw", %nobits
	.balign	16
exc_stack:
	.space	4096
exc_stack_top:
boot_stack:
	.space	16384
boot_stack_top:
