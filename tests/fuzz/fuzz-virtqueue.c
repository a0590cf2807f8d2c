// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: the split virtqueue walker (virtio/virtqueue.c) on a
 * fuzzed guest RAM and ring state.  The input sets up one queue (size,
 * ring addresses, EVENT_IDX, INDIRECT_DESC), then plays a driver and a
 * device against it: pops, pushes, interrupt decisions, avail_event
 * updates, and the driver adding entries and rewriting RAM between them.
 *
 * Input:  u8 log2(size), u8 flags, u32 desc, u32 avail, u32 used,
 *         u8 number of steps, 4 bytes per step (op, a, b16), then the
 *         guest RAM image.  Flags: bit 0 EVENT_IDX, bit 1 INDIRECT_DESC,
 *         bit 7 ring addresses taken as full 32-bit values (else the low
 *         16 bits: inside the 64 KiB RAM).
 *
 * Checked on every chain popped: every buffer lies in guest RAM (one
 * region per iovec), none is empty, at most VQ_MAX_IOV of them (and at
 * most two per descriptor the queue size allows), the
 * lengths add up to out_len/in_len, the head is below the queue size;
 * once broken, a queue stays broken until it is set up again.
 */
#include "fuzz.h"
#include "lkvm/virtqueue.h"

enum { OP_POP, OP_PUSH, OP_NOTIFY, OP_AVAIL_EVENT, OP_OFFER, OP_POKE, OP_REINIT, NR_OPS };


static struct fuzz_ram ram;
static struct kvm kvm;
static struct vq_chain *chain;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_ram_alloc(&ram);
	chain = malloc(sizeof(*chain));
	if (!chain)
		abort();
	return 0;
}

static void check_chain(const struct virtqueue *vq, const struct vq_chain *c)
{
	u64 out = 0, in = 0;

	FUZZ_CHECK(c->head < vq->num, "head %u, queue size %u", c->head, vq->num);
	FUZZ_CHECK(c->nr_out + c->nr_in <= VQ_MAX_IOV, "%u + %u iovecs", c->nr_out, c->nr_in);
	/* §2.7.5.3.1: at most num descriptors, indirect ones included; each at most 2 iovecs. */
	FUZZ_CHECK(c->nr_out + c->nr_in <= 2 * vq->num, "%u + %u iovecs on a queue of %u",
		   c->nr_out, c->nr_in, vq->num);
	for (unsigned int i = 0; i < c->nr_out + c->nr_in; i++) {
		const struct iovec *v = &c->iov[i];

		FUZZ_CHECK(v->iov_len > 0, "iovec %u is empty", i);
		FUZZ_CHECK(fuzz_ram_holds(&ram, v->iov_base, v->iov_len),
			   "iovec %u (%zu bytes) is not inside one RAM region", i, v->iov_len);
		if (i < c->nr_out)
			out += v->iov_len;
		else
			in += v->iov_len;
	}
	FUZZ_CHECK(out == c->out_len, "readable bytes %llu, out_len %u", (unsigned long long)out,
		   c->out_len);
	FUZZ_CHECK(in == c->in_len, "writable bytes %llu, in_len %u", (unsigned long long)in,
		   c->in_len);
}

/* The driver's view: little-endian 16-bit fields in guest RAM, if there is RAM there. */
static void put16(u64 gpa, u16 v)
{
	u8 *p = gmem__ptr(&kvm, gpa, 2);

	if (p) {
		p[0] = (u8)v;
		p[1] = (u8)(v >> 8);
	}
}

static u16 get16(u64 gpa)
{
	u8 *p = gmem__ptr(&kvm, gpa, 2);

	return p ? (u16)(p[0] | p[1] << 8) : 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fz in = { data, size };
	struct virtqueue vq;
	unsigned int num = 1U << (fz_u8(&in) & 15);
	u8 flags = fz_u8(&in);
	u64 desc = fz_u32(&in), avail = fz_u32(&in), used = fz_u32(&in);
	unsigned int nsteps = fz_u8(&in);
	u16 popped[64];
	unsigned int npopped = 0;
	bool ev = flags & 1, ind = flags & 2, broken = false, ready;
	size_t nsteps_bytes = MIN((size_t)nsteps * 4, in.n), got;
	struct fz steps = { in.p, nsteps_bytes };
	const u8 *img;

	if (!(flags & 0x80)) {
		desc &= 0xffff;
		avail &= 0xffff;
		used &= 0xffff;
	}
	in.p += nsteps_bytes;
	in.n -= nsteps_bytes;
	img = fz_bytes(&in, FUZZ_RAM_SIZE, &got);
	fuzz_ram_fill(&ram, img, got);
	fuzz_vm_init(&kvm, &ram);

	ready = virtqueue__init(&vq, &kvm, num, desc, avail, used, ev, ind) == 0;
	/* Init refused: the queue is unconfigured and says so. */
	if (!ready)
		FUZZ_CHECK(virtqueue__pop(&vq, chain) == -EINVAL, "pop on an unconfigured queue");

	while (steps.n) {
		u8 op = fz_u8(&steps) % NR_OPS, a = fz_u8(&steps);
		u16 b = fz_u16(&steps);
		int r;

		switch (op) {
		case OP_POP:
			r = virtqueue__pop(&vq, chain);
			if (!ready) {
				FUZZ_CHECK(r == -EINVAL, "pop on an unconfigured queue: %d", r);
				break;
			}
			if (broken) {
				FUZZ_CHECK(r == -EIO, "a broken queue popped again: %d", r);
				break;
			}
			FUZZ_CHECK(r == 1 || r == 0 || r == -EIO, "pop returned %d", r);
			if (r == -EIO) {
				FUZZ_CHECK(vq.broken && vq.broken_why, "-EIO without broken_why");
				broken = true;
			} else if (r == 1) {
				check_chain(&vq, chain);
				if (npopped < ARRAY_SIZE(popped))
					popped[npopped++] = chain->head;
			}
			break;
		case OP_PUSH:
			/* The device side: give back the oldest chain still out. */
			if (npopped) {
				virtqueue__push(&vq, popped[0], b);
				memmove(popped, popped + 1, --npopped * sizeof(popped[0]));
			} else if (a & 1) {
				virtqueue__push(&vq, (u16)(b % (ready ? vq.num : 1)), 0);
			}
			break;
		case OP_NOTIFY:
			(void)virtqueue__should_notify(&vq);
			break;
		case OP_AVAIL_EVENT:
			virtqueue__set_avail_event(&vq);
			break;
		case OP_OFFER: {
			/* The driver side: @a entries starting with head @b, then the new idx. */
			u16 idx = get16(avail + 2);

			for (unsigned int i = 0; i < (a & 7u) + 1; i++, idx++)
				put16(avail + 4 + 2ULL * (idx & (num - 1)), (u16)(b + i));
			put16(avail + 2, a & 0x80 ? (u16)(idx + (a >> 3)) : idx);
			break;
		}
		case OP_POKE:
			/* Anything in RAM changes between two device steps. */
			put16(b, (u16)(a * 0x0101u));
			break;
		case OP_REINIT:
			ready = virtqueue__init(&vq, &kvm, num, desc, avail, used, ev, ind) == 0;
			broken = false;
			npopped = 0;
			break;
		}
	}
	return 0;
}
