// SPDX-License-Identifier: GPL-2.0-only
/*
 * Split virtqueue, device side (virtio 1.2 §2.7).  This file owns every
 * read of a driver-written ring and the rules a chain must follow before a
 * device sees it: bounded length (no loops), in-range indices, at most one
 * level of indirection, readable before writable, every buffer in guest
 * RAM.  The rings themselves are mapped once, whole, by virtqueue__init();
 * indirect tables and buffers are mapped through gmem__ptr() as they are
 * met.  Each guest field is read exactly once into a local, then checked,
 * then used, so a guest rewriting the ring concurrently gains nothing.
 *
 * Ring layout (virtio 1.2 §2.7, little-endian):
 *
 *   desc:  struct { le64 addr; le32 len; le16 flags; le16 next; } [num]
 *   avail: le16 flags; le16 idx; le16 ring[num]; le16 used_event
 *   used:  le16 flags; le16 idx; struct { le32 id; le32 len; } ring[num];
 *          le16 avail_event
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "lkvm/gmem.h"
#include "lkvm/kvm.h"
#include "lkvm/virtqueue.h"

#define DESC_SIZE		16
#define RING_HDR		4	/* flags + idx, before ring[] */
#define AVAIL_FLAGS		0
#define AVAIL_IDX		2
#define USED_IDX		2
#define USED_ELEM_SIZE		8

/* A descriptor, copied out of guest memory and byte-swapped. */
struct vq_desc {
	u64 addr;
	u32 len;
	u16 flags;
	u16 next;
};

/* State carried across one chain walk, direct part and indirect table alike. */
struct vq_walk {
	struct vq_chain *chain;
	bool seen_in;		/* a device-writable descriptor has been met */
	u64 total;		/* bytes over all descriptors, readable and writable */
};

/*
 * Copies one descriptor out of guest memory.  The compiler barrier makes the
 * copy final: the compiler may not re-read @src for a field after it, so a
 * value checked is the value used.  memcpy because an indirect table has no
 * alignment requirement.
 */
static void desc_read(const u8 *src, struct vq_desc *d)
{
	u8 raw[DESC_SIZE];
	u64 addr;
	u32 len;
	u16 flags, next;

	memcpy(raw, src, sizeof(raw));
	__asm__ __volatile__("" : : : "memory");
	memcpy(&addr, raw, 8);
	memcpy(&len, raw + 8, 4);
	memcpy(&flags, raw + 12, 2);
	memcpy(&next, raw + 14, 2);
	d->addr = le64toh(addr);
	d->len = le32toh(len);
	d->flags = le16toh(flags);
	d->next = le16toh(next);
}

/* Ring fields are naturally aligned (init checked the host alignment too). */
static u16 ring_load16(const u8 *p)
{
	return le16toh(__atomic_load_n((const u16 *)p, __ATOMIC_RELAXED));
}

static void ring_store16(u8 *p, u16 v)
{
	__atomic_store_n((u16 *)p, htole16(v), __ATOMIC_RELAXED);
}

static void ring_store32(u8 *p, u32 v)
{
	__atomic_store_n((u32 *)p, htole32(v), __ATOMIC_RELAXED);
}

/* Maps one ring whole; NULL unless it is inside one RAM region and the host view is aligned. */
static u8 *map_ring(const struct kvm *kvm, u64 gpa, u64 size, u64 align)
{
	u8 *p;

	if (!IS_ALIGNED(gpa, align))
		return NULL;
	p = gmem__ptr(kvm, gpa, size);
	/* RAM is page-aligned mmap(); this only guards the atomics against an odd region table. */
	if (!p || !IS_ALIGNED((uintptr_t)p, align))
		return NULL;
	return p;
}

int virtqueue__init(struct virtqueue *vq, struct kvm *kvm, unsigned int num, u64 desc,
		    u64 avail, u64 used, bool event_idx, bool indirect)
{
	u64 event = event_idx ? 2 : 0;
	u8 *d, *a, *u;

	memset(vq, 0, sizeof(*vq));
	if (num == 0 || num > VIRTQ_MAX_SIZE || (num & (num - 1)))
		return -EINVAL;
	d = map_ring(kvm, desc, (u64)DESC_SIZE * num, 16);
	a = map_ring(kvm, avail, RING_HDR + 2ULL * num + event, 2);
	u = map_ring(kvm, used, RING_HDR + (u64)USED_ELEM_SIZE * num + event, 4);
	if (!d || !a || !u)
		return -EINVAL;

	*vq = (struct virtqueue){
		.kvm = kvm,
		.num = num,
		.desc_gpa = desc,
		.avail_gpa = avail,
		.used_gpa = used,
		.event_idx = event_idx,
		.indirect = indirect,
		.desc = d,
		.avail = a,
		.used = u,
	};
	return 0;
}

static int vq_fail(struct virtqueue *vq, const char *why)
{
	if (!vq->broken) {
		vq->broken = true;
		vq->broken_why = why;
	}
	return -EIO;
}

static const char *add_iov(struct vq_chain *c, void *p, u64 len, bool in)
{
	if (c->nr_out + c->nr_in == VQ_MAX_IOV)
		return "chain needs more than VQ_MAX_IOV buffers";
	c->iov[c->nr_out + c->nr_in] = (struct iovec){ .iov_base = p, .iov_len = len };
	if (in) {
		c->nr_in++;
		c->in_len += (u32)len;
	} else {
		c->nr_out++;
		c->out_len += (u32)len;
	}
	return NULL;
}

/*
 * The length of the longest prefix of [gpa, gpa + len) inside one RAM
 * region, 0 if gpa is not RAM: a bisection over gmem__ptr(), whose accepted
 * lengths are downward closed, so nothing here knows the region table.
 */
static u64 ram_prefix(const struct kvm *kvm, u64 gpa, u64 len)
{
	u64 ok = 0, bad = len;

	if (gmem__ptr(kvm, gpa, len))
		return len;
	while (bad - ok > 1) {
		u64 mid = ok + (bad - ok) / 2;

		if (gmem__ptr(kvm, gpa, mid))
			ok = mid;
		else
			bad = mid;
	}
	return ok;
}

/*
 * Maps buffer [gpa, gpa + len) into iovecs.  Guest RAM banks may be adjacent
 * in guest-physical space yet separate host mappings, and a driver may hand
 * over a buffer across the seam (Linux merges physically contiguous pages),
 * so a buffer is split at region ends, one iovec per region.  Any byte
 * outside RAM fails the whole buffer.
 */
static const char *map_buffer(const struct kvm *kvm, struct vq_chain *c, u64 gpa, u64 len,
			      bool in)
{
	u64 last;

	/* len > 0 here; a buffer ending exactly at 2^64 is merely not RAM. */
	if (!add_ok(gpa, len - 1, &last))
		return "buffer wraps past the end of the address space";
	while (len) {
		u64 piece = ram_prefix(kvm, gpa, len);
		const char *why;

		if (!piece)
			return "buffer is not in guest RAM";
		why = add_iov(c, gmem__ptr(kvm, gpa, piece), piece, in);
		if (why)
			return why;
		gpa += piece;
		len -= piece;
	}
	return NULL;
}

/* One non-indirect descriptor: ordering, length budget, then the buffer. */
static const char *add_desc(const struct virtqueue *vq, struct vq_walk *w,
			    const struct vq_desc *d)
{
	bool in = d->flags & VRING_DESC_F_WRITE;

	/* virtio 1.2 §2.7.4.2: device-writable elements after device-readable ones. */
	if (!in && w->seen_in)
		return "device-readable descriptor after a device-writable one";
	w->seen_in |= in;
	/* virtio 1.2 §2.7.5.2: a chain is at most 2^32 bytes; ours must also fit the u32 sums. */
	w->total += d->len;
	if (w->total > UINT32_MAX)
		return "chain longer than 2^32 - 1 bytes";
	/* Zero length is not forbidden; it carries no data, so its address is never used. */
	if (!d->len)
		return NULL;
	return map_buffer(vq->kvm, w->chain, d->addr, d->len, in);
}

/*
 * Walks the indirect table @ind refers to (virtio 1.2 §2.7.5.3): entries
 * chained from index 0 by next, each next below the table's count, at most
 * count entries visited, none of them indirect again.  @direct buffers
 * came before the table in the ring: §2.7.5.3.1 bounds the whole chain,
 * table entries included, by the Queue Size, which also bounds the time a
 * hostile table can take (without it, 32768 entries on any queue).
 */
static const char *walk_indirect(const struct virtqueue *vq, struct vq_walk *w,
				 const struct vq_desc *ind, unsigned int direct)
{
	unsigned int n, i = 0, visited = 0;
	const u8 *table;

	if (!vq->indirect)
		return "INDIRECT descriptor without VIRTIO_RING_F_INDIRECT_DESC";
	/* §2.7.5.3.1: the table descriptor ends the chain. */
	if (ind->flags & VRING_DESC_F_NEXT)
		return "INDIRECT descriptor with NEXT";
	if (ind->len == 0 || ind->len % DESC_SIZE)
		return "indirect table length is not a non-zero multiple of 16";
	n = ind->len / DESC_SIZE;
	if (n > VIRTQ_MAX_SIZE)
		return "indirect table longer than 32768 descriptors";
	table = gmem__ptr(vq->kvm, ind->addr, ind->len);
	if (!table)
		return "indirect table is not in one guest RAM region";

	for (;;) {
		struct vq_desc d;
		const char *why;

		if (++visited > n)
			return "indirect chain longer than its table (a loop)";
		if (direct + visited > vq->num)
			return "chain longer than the queue size (with its indirect table)";
		desc_read(table + (size_t)i * DESC_SIZE, &d);
		/* §2.7.5.3.1: one level of indirection only. */
		if (d.flags & VRING_DESC_F_INDIRECT)
			return "nested INDIRECT descriptor";
		why = add_desc(vq, w, &d);
		if (why)
			return why;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return NULL;
		if (d.next >= n)
			return "indirect next index beyond the table";
		i = d.next;
	}
}

/*
 * Walks the chain starting at @head in the descriptor table: zero or more
 * direct descriptors, optionally ending with one indirect descriptor
 * (virtio 1.2 §2.7.5.3.2).  At most num descriptors are visited, direct
 * and indirect ones together, the table descriptor not counted (§2.7.5.3.1:
 * no chain is longer than the Queue Size), which bounds a loop.
 */
static const char *walk_chain(const struct virtqueue *vq, u16 head, struct vq_chain *c)
{
	struct vq_walk w = { .chain = c };
	unsigned int i = head, visited = 0;

	c->head = head;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	for (;;) {
		struct vq_desc d;
		const char *why;

		if (++visited > vq->num)
			return "chain longer than the queue size (a loop)";
		desc_read(vq->desc + (size_t)i * DESC_SIZE, &d);
		/* §2.7.5.3.2: the WRITE flag of a table descriptor is ignored. */
		if (d.flags & VRING_DESC_F_INDIRECT)
			return walk_indirect(vq, &w, &d, visited - 1);
		why = add_desc(vq, &w, &d);
		if (why)
			return why;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return NULL;
		if (d.next >= vq->num)
			return "next index beyond the queue size";
		i = d.next;
	}
}

int virtqueue__pop(struct virtqueue *vq, struct vq_chain *chain)
{
	const char *why;
	u16 head;

	if (!vq->num)
		return -EINVAL;
	if (vq->broken)
		return -EIO;
	if (vq->last_avail_idx == vq->avail_idx) {
		u16 idx = ring_load16(vq->avail + AVAIL_IDX);

		/* At most num entries can be outstanding (virtio 1.2 §2.7.6). */
		if ((u16)(idx - vq->last_avail_idx) > vq->num)
			return vq_fail(vq, "available index moved by more than the queue size");
		if (idx == vq->last_avail_idx)
			return 0;
		vq->avail_idx = idx;
		/* The entries and descriptors behind idx were written before it. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	}
	head = ring_load16(vq->avail + RING_HDR + 2 * (vq->last_avail_idx & (vq->num - 1)));
	if (head >= vq->num)
		return vq_fail(vq, "available ring entry beyond the queue size");
	why = walk_chain(vq, head, chain);
	if (why)
		return vq_fail(vq, why);
	vq->last_avail_idx++;
	return 1;
}

void virtqueue__push(struct virtqueue *vq, u16 head, u32 written)
{
	u8 *elem;

	if (!vq->num)
		return;
	elem = vq->used + RING_HDR + USED_ELEM_SIZE * (vq->used_idx & (vq->num - 1));
	ring_store32(elem, head);
	ring_store32(elem + 4, written);
	vq->used_idx++;
	/* virtio 1.2 §2.7.8.2: the element is visible before the idx that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	ring_store16(vq->used + USED_IDX, vq->used_idx);
}

bool virtqueue__should_notify(struct virtqueue *vq)
{
	u16 old = vq->signalled_used, now = vq->used_idx;

	if (!vq->num)
		return false;
	vq->signalled_used = now;
	/*
	 * Store-load: our used->idx store must be visible before we read the
	 * driver's suppression field, as the driver writes that field before
	 * re-reading used->idx; otherwise both sides can miss each other.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx)
		return virtqueue__need_event(ring_load16(vq->avail + RING_HDR + 2 * vq->num),
					     now, old);
	if (now == old)
		return false;
	return !(ring_load16(vq->avail + AVAIL_FLAGS) & VRING_AVAIL_F_NO_INTERRUPT);
}

void virtqueue__set_avail_event(struct virtqueue *vq)
{
	if (!vq->num || !vq->event_idx)
		return;
	ring_store16(vq->used + RING_HDR + USED_ELEM_SIZE * vq->num, vq->last_avail_idx);
	/* Store-load again: avail_event is out before the caller re-reads avail->idx. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}
