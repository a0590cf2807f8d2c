// SPDX-License-Identifier: GPL-2.0-only
/*
 * Flattened devicetree reader for the test payload: header validation,
 * token walking and the few lookups the payload needs (first compatible
 * node, a child by name, a property, "reg" decoding).  Written against the
 * devicetree specification v0.4 chapter 5; see fdt.h for the contract.
 *
 * Offsets handed to callers are byte offsets into the structure block.
 * Every token read goes through fdt_token(), which is the one place that
 * checks bounds, so the lookups above it stay simple.
 */
#include "fdt.h"

/* Structure block tokens, spec §5.4.1. */
#define FDT_BEGIN_NODE	0x1
#define FDT_END_NODE	0x2
#define FDT_PROP	0x3
#define FDT_NOP		0x4
#define FDT_END		0x9

/* Header field offsets, spec §5.2 (struct fdt_header). */
#define HDR_MAGIC		0
#define HDR_TOTALSIZE		4
#define HDR_OFF_DT_STRUCT	8
#define HDR_OFF_DT_STRINGS	12
#define HDR_VERSION		20
#define HDR_LAST_COMP_VERSION	24
#define HDR_SIZE_DT_STRINGS	32
#define HDR_SIZE_DT_STRUCT	36
#define HDR_LEN_V17		40

/* A walk never goes deeper than this; real trees are 4 or 5 deep. */
#define FDT_MAX_DEPTH	32

uint32_t fdt_be32(const void *p)
{
	const uint8_t *b = p;

	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* Bounded equality: @a may lack a NUL within @max bytes. */
static int streq_bounded(const char *a, uint32_t max, const char *b)
{
	uint32_t i;

	for (i = 0; i < max; i++) {
		if (a[i] != b[i])
			return 0;
		if (!a[i])
			return 1;
	}
	return 0;
}

/* Does block [off, off+size) lie inside a blob of @total bytes? */
static int block_ok(uint32_t off, uint32_t size, uint32_t total)
{
	return (uint64_t)off + size <= total;
}

int fdt_open(struct fdt *fdt, const void *blob)
{
	const uint8_t *b = blob;
	uint32_t total, off_struct, off_strings, size_struct, size_strings;

	/* booting.rst and spec §5.6 both require 8-byte alignment. */
	if (!b || ((uintptr_t)b & 7))
		return -1;
	if (fdt_be32(b + HDR_MAGIC) != FDT_MAGIC)
		return -1;

	total = fdt_be32(b + HDR_TOTALSIZE);
	if (total < HDR_LEN_V17)
		return -1;
	/* Version 17 is the one the spec describes; 16 lacks size_dt_struct. */
	if (fdt_be32(b + HDR_VERSION) < 17 ||
	    fdt_be32(b + HDR_LAST_COMP_VERSION) > 17)
		return -1;

	off_struct = fdt_be32(b + HDR_OFF_DT_STRUCT);
	size_struct = fdt_be32(b + HDR_SIZE_DT_STRUCT);
	off_strings = fdt_be32(b + HDR_OFF_DT_STRINGS);
	size_strings = fdt_be32(b + HDR_SIZE_DT_STRINGS);
	if (!block_ok(off_struct, size_struct, total) ||
	    !block_ok(off_strings, size_strings, total))
		return -1;
	/* Offsets are handed out as int; tokens are 4-byte aligned (§5.4). */
	if (size_struct > 0x7fffffffu || (off_struct & 3))
		return -1;

	fdt->blob = b;
	fdt->totalsize = total;
	fdt->dt_struct = b + off_struct;
	fdt->struct_size = size_struct;
	fdt->dt_strings = b + off_strings;
	fdt->strings_size = size_strings;
	return 0;
}

/*
 * Decode the token at @off and store the offset of the token after it in
 * *@next.  Returns the token, or -1 if it or its payload leaves the
 * structure block.  *@next > @off always, so walks terminate.
 */
static int fdt_token(const struct fdt *fdt, uint32_t off, uint32_t *next)
{
	const uint8_t *s = fdt->dt_struct;
	uint32_t size = fdt->struct_size;
	uint32_t tag, len, n;

	if ((off & 3) || size < 4 || off > size - 4)
		return -1;
	tag = fdt_be32(s + off);
	off += 4;

	switch (tag) {
	case FDT_BEGIN_NODE:
		/* Inline NUL-terminated name, padded to 4 bytes. */
		for (n = off; n < size && s[n]; n++)
			;
		if (n >= size)
			return -1;
		off = n + 1;
		break;
	case FDT_PROP:
		/* struct { be32 len; be32 nameoff; } then the value. */
		if (size - off < 8)
			return -1;
		len = fdt_be32(s + off);
		if (len > size - off - 8)
			return -1;
		off += 8 + len;
		break;
	case FDT_END_NODE:
	case FDT_NOP:
	case FDT_END:
		break;
	default:
		return -1;
	}
	*next = (off + 3) & ~3u;
	return (int)tag;
}

int fdt_next_node(const struct fdt *fdt, int node, int *depth)
{
	uint32_t off, next;
	int tag;

	if (node < 0) {
		off = 0;
		*depth = -1;
	} else {
		if (fdt_token(fdt, (uint32_t)node, &off) != FDT_BEGIN_NODE)
			return -1;
	}

	for (;;) {
		tag = fdt_token(fdt, off, &next);
		switch (tag) {
		case FDT_BEGIN_NODE:
			if (++*depth >= FDT_MAX_DEPTH)
				return -1;
			return (int)off;
		case FDT_END_NODE:
			/* Closing the root means the tree is over. */
			if (--*depth < 0)
				return -1;
			break;
		case FDT_PROP:
		case FDT_NOP:
			break;
		default:
			return -1;
		}
		off = next;
	}
}

const char *fdt_node_name(const struct fdt *fdt, int node)
{
	uint32_t next;

	if (node < 0 || fdt_token(fdt, (uint32_t)node, &next) != FDT_BEGIN_NODE)
		return NULL;
	/* fdt_token() checked that the name is NUL-terminated in bounds. */
	return (const char *)fdt->dt_struct + node + 4;
}

const void *fdt_getprop(const struct fdt *fdt, int node, const char *name,
			uint32_t *lenp)
{
	const uint8_t *s = fdt->dt_struct;
	uint32_t off, next, nameoff;
	int tag;

	if (node < 0 || fdt_token(fdt, (uint32_t)node, &off) != FDT_BEGIN_NODE)
		return NULL;

	/* Properties precede subnodes (§5.4.2), so stop at the first node. */
	for (;;) {
		tag = fdt_token(fdt, off, &next);
		if (tag == FDT_PROP) {
			nameoff = fdt_be32(s + off + 8);
			if (nameoff < fdt->strings_size &&
			    streq_bounded((const char *)fdt->dt_strings + nameoff,
					  fdt->strings_size - nameoff, name)) {
				*lenp = fdt_be32(s + off + 4);
				return s + off + 12;
			}
		} else if (tag != FDT_NOP) {
			return NULL;
		}
		off = next;
	}
}

int fdt_subnode(const struct fdt *fdt, int parent, const char *name)
{
	const char *n;
	int depth = 0, node = parent;
	size_t i;

	if (parent < 0)
		return -1;
	for (;;) {
		node = fdt_next_node(fdt, node, &depth);
		if (node < 0 || depth <= 0)
			return -1;
		if (depth != 1)
			continue;
		n = fdt_node_name(fdt, node);
		for (i = 0; name[i] && n[i] == name[i]; i++)
			;
		if (!name[i] && (n[i] == '\0' || n[i] == '@'))
			return node;
	}
}

int fdt_stringlist_contains(const char *val, uint32_t len, const char *str)
{
	uint32_t i = 0, j;

	while (i < len) {
		/* Compare one entry, which ends at a NUL or at @len. */
		for (j = 0; i + j < len && val[i + j] && str[j] &&
			    val[i + j] == str[j]; j++)
			;
		if (!str[j] && (i + j == len || !val[i + j]))
			return 1;
		while (i < len && val[i])
			i++;
		i++;
	}
	return 0;
}

static int fdt_node_enabled(const struct fdt *fdt, int node)
{
	const char *status;
	uint32_t len;

	status = fdt_getprop(fdt, node, "status", &len);
	if (!status)
		return 1;
	return fdt_stringlist_contains(status, len, "okay") ||
	       fdt_stringlist_contains(status, len, "ok");
}

int fdt_find_compatible(const struct fdt *fdt, const char *compat,
			int *parent)
{
	int stack[FDT_MAX_DEPTH];
	const char *val;
	uint32_t len;
	int node = -1, depth = 0;

	for (;;) {
		node = fdt_next_node(fdt, node, &depth);
		if (node < 0)
			return -1;
		/* fdt_next_node() keeps depth below FDT_MAX_DEPTH. */
		stack[depth] = node;
		val = fdt_getprop(fdt, node, "compatible", &len);
		if (val && fdt_stringlist_contains(val, len, compat) &&
		    fdt_node_enabled(fdt, node)) {
			*parent = depth ? stack[depth - 1] : -1;
			return node;
		}
	}
}

uint32_t fdt_getprop_u32(const struct fdt *fdt, int node, const char *name,
			 uint32_t def)
{
	const void *val;
	uint32_t len;

	val = fdt_getprop(fdt, node, name, &len);
	if (!val || len != 4)
		return def;
	return fdt_be32(val);
}

static uint64_t read_cells(const uint8_t *p, uint32_t cells)
{
	uint64_t v = 0;

	while (cells--) {
		v = v << 32 | fdt_be32(p);
		p += 4;
	}
	return v;
}

int fdt_get_reg(const struct fdt *fdt, int node, int parent, uint32_t index,
		uint64_t *addr, uint64_t *size)
{
	uint32_t ac = 2, sc = 1, len, stride;
	const uint8_t *reg;

	/* The root's reg, if any, is decoded with the defaults of §2.3.5. */
	if (parent >= 0) {
		ac = fdt_getprop_u32(fdt, parent, "#address-cells", 2);
		sc = fdt_getprop_u32(fdt, parent, "#size-cells", 1);
	}
	if (ac < 1 || ac > 2 || sc > 2)
		return -1;

	reg = fdt_getprop(fdt, node, "reg", &len);
	if (!reg)
		return -1;
	stride = 4 * (ac + sc);
	if (index >= len / stride)
		return -1;
	reg += index * stride;
	*addr = read_cells(reg, ac);
	*size = read_cells(reg + 4 * ac, sc);
	return 0;
}
