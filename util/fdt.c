// SPDX-License-Identifier: GPL-2.0-only
/*
 * The device-tree writer (lkvm/fdt.h): thin wrappers over libfdt's
 * sequential-write calls that stop at the first error.
 */
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "lkvm/fdt.h"

void fdtw__begin(struct fdtw *w, const char *name)
{
	if (!w->err)
		w->err = fdt_begin_node(w->fdt, name);
}

void fdtw__begin_at(struct fdtw *w, const char *base, u64 addr)
{
	char name[64];

	snprintf(name, sizeof(name), "%s@%llx", base, (unsigned long long)addr);
	fdtw__begin(w, name);
}

void fdtw__end(struct fdtw *w)
{
	if (!w->err)
		w->err = fdt_end_node(w->fdt);
}

void fdtw__prop(struct fdtw *w, const char *name, const void *val, int len)
{
	if (!w->err)
		w->err = fdt_property(w->fdt, name, val, len);
}

void fdtw__str(struct fdtw *w, const char *name, const char *s)
{
	fdtw__prop(w, name, s, (int)strlen(s) + 1);
}

void fdtw__u32(struct fdtw *w, const char *name, u32 v)
{
	if (!w->err)
		w->err = fdt_property_u32(w->fdt, name, v);
}

void fdtw__u64(struct fdtw *w, const char *name, u64 v)
{
	if (!w->err)
		w->err = fdt_property_u64(w->fdt, name, v);
}

/*
 * Converted straight into the tree's own buffer (fdt_property_placeholder),
 * so a property of any length is written whole: no bounce buffer that a
 * long interrupt-map could outgrow.
 */
void fdtw__cells(struct fdtw *w, const char *name, const u32 *cells, unsigned int n)
{
	fdt32_t *be;

	if (w->err)
		return;
	w->err = fdt_property_placeholder(w->fdt, name, (int)(n * sizeof(fdt32_t)), (void **)&be);
	for (unsigned int i = 0; !w->err && i < n; i++)
		be[i] = cpu_to_fdt32(cells[i]);
}

void fdtw__reg64(struct fdtw *w, const u64 *pairs, unsigned int nr_pairs)
{
	fdt32_t *be;

	if (w->err)
		return;
	w->err = fdt_property_placeholder(w->fdt, "reg", (int)(nr_pairs * 4 * sizeof(fdt32_t)),
					  (void **)&be);
	for (unsigned int i = 0; !w->err && i < nr_pairs * 2; i++) {
		be[2 * i] = cpu_to_fdt32((u32)(pairs[i] >> 32));
		be[2 * i + 1] = cpu_to_fdt32((u32)pairs[i]);
	}
}

void fdtw__irq(struct fdtw *w, const char *name, unsigned int line, enum fdt_irq_trigger t)
{
	u32 cells[FDT_MAX_IRQ_CELLS];

	if (!w->irq_spec) {
		if (!w->err)
			w->err = -FDT_ERR_INTERNAL;
		return;
	}
	fdtw__cells(w, name, cells, w->irq_spec(line, t, cells));
}
