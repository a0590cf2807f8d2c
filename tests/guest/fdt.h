/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Minimal read-only flattened devicetree reader for the bare-metal test
 * payload.  It owns nothing but the parsing rules of the devicetree
 * specification v0.4 chapter 5 (header §5.2, structure block §5.4, strings
 * block §5.5); callers own the blob.  The same source is compiled into the
 * guest and into a host-side test, so it depends on <stdint.h>/<stddef.h>
 * only.
 *
 * Every field is read one byte at a time: in the guest the blob is read
 * with the MMU off, where all data accesses are Device-nGnRnE and an
 * unaligned wider access would fault.  Every offset is bounds-checked
 * against the header, because a broken DTB from the VMM under test must
 * give "not found", never a hang or a wild read.
 */
#ifndef LKVM_GUEST_FDT_H
#define LKVM_GUEST_FDT_H

#include <stddef.h>
#include <stdint.h>

#define FDT_MAGIC	0xd00dfeedu

struct fdt {
	const uint8_t *blob;
	uint32_t totalsize;
	const uint8_t *dt_struct;	/* start of the structure block */
	uint32_t struct_size;
	const uint8_t *dt_strings;	/* start of the strings block */
	uint32_t strings_size;
};

/* Big-endian 32-bit field at @p, read byte-wise (no alignment needed). */
uint32_t fdt_be32(const void *p);

/*
 * Validate the header at @blob and fill @fdt.  Returns 0 on success, -1 if
 * @blob is NULL, not 8-byte aligned, lacks the magic, or has blocks that
 * fall outside totalsize.  Only the first 4 bytes are read before the magic
 * has been checked.
 */
int fdt_open(struct fdt *fdt, const void *blob);

/*
 * Depth-first walk over nodes.  Pass @node < 0 to get the root.  On entry
 * *@depth must be the depth of @node (ignored when @node < 0); on return it
 * is the depth of the returned node (root = 0).  Returns the structure-block
 * offset of the next node, or -1 at the end of the tree or on a malformed
 * blob.
 */
int fdt_next_node(const struct fdt *fdt, int node, int *depth);

/* Name of @node ("" for the root); NULL if @node is not a node. */
const char *fdt_node_name(const struct fdt *fdt, int node);

/*
 * Property @name of @node.  Returns a pointer into the blob and stores the
 * value length in *@lenp, or NULL if absent.
 */
const void *fdt_getprop(const struct fdt *fdt, int node, const char *name,
			uint32_t *lenp);

/*
 * Child of @parent called @name, where "uart" also matches "uart@1000".
 * Returns the node offset or -1.
 */
int fdt_subnode(const struct fdt *fdt, int parent, const char *name);

/*
 * First node, in document order, whose "compatible" list has an entry equal
 * to @compat and whose "status" is absent, "okay" or "ok" (spec §2.3.1,
 * §2.3.4).  Stores its parent's offset in *@parent (needed to decode
 * "reg").  Returns the node offset or -1.
 */
int fdt_find_compatible(const struct fdt *fdt, const char *compat,
			int *parent);

/*
 * Integer property of @node such as "#address-cells"; @def if it is absent
 * or not exactly one cell.
 */
uint32_t fdt_getprop_u32(const struct fdt *fdt, int node, const char *name,
			 uint32_t def);

/*
 * Entry @index of the "reg" property of @node, decoded with its @parent's
 * #address-cells/#size-cells (defaults 2 and 1, spec §2.3.5; 1 or 2 address
 * cells and 0..2 size cells supported).  The address is the parent bus
 * address: "ranges" are not applied, which is right for nodes whose parents
 * have identity or empty ranges, as in lkvm's and QEMU's trees.  Returns 0,
 * or -1 if the property is missing, too short or uses unsupported cell
 * counts.
 */
int fdt_get_reg(const struct fdt *fdt, int node, int parent, uint32_t index,
		uint64_t *addr, uint64_t *size);

/*
 * Does the string-list property value @val of length @len contain an entry
 * equal to @str?  Entries are NUL-separated; a missing final NUL is
 * tolerated.
 */
int fdt_stringlist_contains(const char *val, uint32_t len, const char *str);

#endif /* LKVM_GUEST_FDT_H */
