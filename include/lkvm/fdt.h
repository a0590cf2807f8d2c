/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A device-tree writer over libfdt's sequential-write API, shared by the
 * arch (which writes the CPU, memory and interrupt-controller nodes) and
 * by each device (which writes its own node).  The writer remembers the
 * first libfdt error, so writers check once at the end.  How an interrupt
 * line is written is the arch's business: it fills in the interrupt
 * parent's phandle and an encoder before any device writes a node.
 * Bindings: the devicetree specification v0.4 and Linux's
 * Documentation/devicetree/bindings/.
 */
#ifndef LKVM_FDT_H
#define LKVM_FDT_H

#include "lkvm/util.h"

enum fdt_irq_trigger {
	FDT_IRQ_EDGE_RISING,
	FDT_IRQ_LEVEL_HIGH,
};

#define FDT_MAX_IRQ_CELLS	4

struct fdtw {
	void *fdt;
	int err;		/* the first libfdt error (0: none) */

	/* Set by the arch before devices write their nodes. */
	u32 irq_parent;			/* phandle of the interrupt controller */
	unsigned int irq_parent_addr_cells;	/* its #address-cells (for interrupt-map) */
	u32 msi_parent;			/* phandle of the MSI controller, 0: none */
	u32 apb_clock;			/* phandle of the AMBA peripheral clock, 0: none */
	/* Writes line @line's interrupt specifier into @cells; returns the cell count. */
	unsigned int (*irq_spec)(unsigned int line, enum fdt_irq_trigger t,
				 u32 cells[FDT_MAX_IRQ_CELLS]);
};

void fdtw__begin(struct fdtw *w, const char *name);
/* Begins node "@base@@addr" (hex unit address, as the specification wants). */
void fdtw__begin_at(struct fdtw *w, const char *base, u64 addr);
void fdtw__end(struct fdtw *w);
void fdtw__prop(struct fdtw *w, const char *name, const void *val, int len);
void fdtw__str(struct fdtw *w, const char *name, const char *s);
void fdtw__u32(struct fdtw *w, const char *name, u32 v);
void fdtw__u64(struct fdtw *w, const char *name, u64 v);
/* A property of @n big-endian cells, any length. */
void fdtw__cells(struct fdtw *w, const char *name, const u32 *cells, unsigned int n);
/* reg = <addr size>... for #address-cells = #size-cells = 2. */
void fdtw__reg64(struct fdtw *w, const u64 *pairs, unsigned int nr_pairs);
/* @name = line @line's interrupt specifier (the arch's encoding). */
void fdtw__irq(struct fdtw *w, const char *name, unsigned int line, enum fdt_irq_trigger t);

#endif /* LKVM_FDT_H */
