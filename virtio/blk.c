// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-blk (virtio 1.2 §5.2) over the disk layer (lkvm/disk.h): one
 * request queue, requests IN, OUT, FLUSH, GET_ID, DISCARD and
 * WRITE_ZEROES.  Requests go to the disk asynchronously and complete from
 * the disk's completion fd, all on the device's I/O thread: every chain a
 * notification finds goes to the disk as one batch (disk__plug()), and
 * the completions of one pass are answered with one interrupt decision
 * per queue.  An inline engine (the sync engine on tmpfs) has finished a
 * batch by the time it is submitted: it is answered in the same pass.
 *
 * Every request comes from the guest: its header is copied out once, its
 * range checked against the capacity, and a malformed one completes with
 * VIRTIO_BLK_S_IOERR or S_UNSUPP.  A FLUSH completes only once the disk
 * layer reports its fdatasync() done, so data the guest saw flushed
 * survives lkvm being killed; when lkvm stops, every writable disk is
 * flushed once more, after its last requests.
 *
 * A device reset (on a vCPU thread, under the device lock) waits for the
 * requests in flight at most BLK_RESET_WAIT_MS: a hung backing store must
 * not hang the vCPU.  Requests still out then are finished by the I/O
 * thread, their answers dropped; until the last one is back the reset is
 * pending (virtio_dev.reset_pending: the status does not read 0) and
 * notifications of the new driver wait.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_blk.h>	/* virtio 1.2 §5.2: features, request types, status */

#include "lkvm/gmem.h"
#include "lkvm/kvm.h"
#include "lkvm/virtio-dev.h"

#define SECTOR				512ULL
#define BLK_HDR_SIZE			16
#define BLK_SEG_SIZE			16
#define BLK_MAX_RANGE_SECTORS		(1U << 22)	/* 2 GiB per discard/write-zeroes */
#define BLK_RESET_WAIT_MS		100	/* a reset's wait for in-flight I/O on its vCPU */

/*
 * Request geometry.  A guest's 1 MiB request is, at worst, 256 separate
 * 4 KiB pages plus a header and a status descriptor: 258 descriptors in
 * one chain, which virtio 1.2 §2.7.5.3.1 bounds by the Queue Size (with
 * an indirect table too).  So the default queue is 512 and seg_max is
 * the queue size less those two: one guest request is one device request,
 * never split by the guest for lack of segments.  A chain must also fit
 * VQ_MAX_IOV host buffers, where a buffer that straddles two RAM regions
 * takes two: BLK_IOV_SPARE of them are kept for that.  size_max bounds a
 * segment, so that a request (seg_max * size_max bytes at most, whatever
 * max_sectors_kb the guest sets) stays below the disk layer's INT_MAX.
 * Topology says the physical block; it claims no optimal I/O size, which
 * a guest's mkfs would take for a RAID stripe.
 */
#define BLK_QUEUE_DEFAULT		512
#define BLK_IOV_SPARE			8
#define BLK_SIZE_MAX			SZ_MiB
/*
 * Registering guest RAM as fixed buffers pins it, which faults all of it
 * in at start: fine for the small guests that do I/O at memory speed
 * (CI), not for a big one on a host that counts on overcommit.
 */
#define BLK_PIN_RAM_MAX			(2 * SZ_GiB)

/* Config space (virtio 1.2 §5.2.4), up to write_zeroes_may_unmap; unoffered fields read 0. */
#define CFG(field)			offsetof(struct virtio_blk_config, field)
#define CFG_SIZE			CFG(max_secure_erase_sectors)

struct blk_req {
	struct blk *blk;
	struct disk_req dr;
	u8 *status;		/* the last device-writable byte of the chain */
	u32 data_len;		/* bytes written to the guest on success (IN, GET_ID) */
	unsigned int q;		/* the queue it came on, and goes back to */
	struct blk_req *next_free;
	struct vq_chain chain;	/* large: last */
};

struct blk {
	struct virtio_dev vdev;
	struct disk *disk;
	unsigned int index;
	u64 capacity;		/* sectors */
	u8 config[CFG_SIZE];
	unsigned int queue_size;	/* QueueNumMax, for every queue */
	struct blk_req *free;
	u32 done_queues;	/* queues with completions pushed since the last interrupt check */
	bool draining;		/* a reset left requests in flight: they are dropped when back */
	u32 deferred_queues;	/* notified while draining: looked at once it is over */
	struct virtio_blk_stats st;	/* .disk filled in by virtio_blk__stats() */
	struct log_ratelimit rl;
};

static struct blk *to_blk(struct virtio_dev *d)
{
	return virtio_container_of(d, struct blk, vdev);
}

static void put_le16(u8 *p, u16 v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static void put_le32(u8 *p, u32 v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put_le64(u8 *p, u64 v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static struct blk_req *req_get(struct blk *b)
{
	struct blk_req *r = b->free;

	if (r) {
		b->free = r->next_free;
		return r;
	}
	r = malloc(sizeof(*r));
	if (r)
		r->blk = b;
	return r;
}

static void req_put(struct blk *b, struct blk_req *r)
{
	r->next_free = b->free;
	b->free = r;
}

/* virtio_dev__notify_if_needed(), counted. */
static void blk_notify(struct blk *b, unsigned int q)
{
	if (virtqueue__should_notify(&b->vdev.vq[q])) {
		b->st.irqs++;
		b->vdev.signal_used(&b->vdev, q);
	}
}

/* Returns @r to the driver with @status; the request is over. */
static void req_complete(struct blk *b, struct blk_req *r, u8 status)
{
	u32 written = 1 + (status == VIRTIO_BLK_S_OK ? r->data_len : 0);

	*r->status = status;
	virtqueue__push(&b->vdev.vq[r->q], r->chain.head, written);
	b->done_queues |= 1U << r->q;
	req_put(b, r);
}

/* Copies @len bytes at @skip into the iovecs to @dst; false if they hold fewer. */
static bool iov_read(const struct iovec *iov, unsigned int cnt, u64 skip, void *dst, u64 len)
{
	u8 *out = dst;

	for (unsigned int i = 0; i < cnt && len; i++) {
		u64 n;

		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		n = MIN(iov[i].iov_len - skip, len);
		memcpy(out, (u8 *)iov[i].iov_base + skip, n);
		out += n;
		len -= n;
		skip = 0;
	}
	return len == 0;
}

/* Writes @len bytes from @src to the iovecs (as many as fit). */
static void iov_write(const struct iovec *iov, unsigned int cnt, const void *src, u64 len)
{
	const u8 *in = src;

	for (unsigned int i = 0; i < cnt && len; i++) {
		u64 n = MIN(iov[i].iov_len, len);

		memcpy(iov[i].iov_base, in, n);
		in += n;
		len -= n;
	}
}

/* Drops the first @skip bytes of iov[0..*cnt) in place; returns the new first entry. */
static struct iovec *iov_skip(struct iovec *iov, unsigned int *cnt, u64 skip)
{
	while (*cnt && skip >= iov->iov_len) {
		skip -= iov->iov_len;
		iov++;
		(*cnt)--;
	}
	if (*cnt && skip) {
		iov->iov_base = (u8 *)iov->iov_base + skip;
		iov->iov_len -= skip;
	}
	return iov;
}

/* [sector, sector + bytes/512) lies within the disk. */
static bool in_range(const struct blk *b, u64 sector, u64 bytes)
{
	u64 end;

	return sector <= b->capacity && !(bytes % SECTOR) &&
	       add_ok(sector, bytes / SECTOR, &end) && end <= b->capacity;
}

/*
 * DISCARD / WRITE_ZEROES: exactly one segment (we offer max_*_seg = 1).
 * Returns a VIRTIO_BLK_S_* to fail with, or -1 with r->dr filled in.
 */
static int parse_range(struct blk *b, struct blk_req *r, u32 type, struct iovec *iov,
		       unsigned int cnt, u64 len)
{
	u8 seg[BLK_SEG_SIZE];
	u64 sector;
	u32 nsec, flags;

	if (len != BLK_SEG_SIZE)
		return len && !(len % BLK_SEG_SIZE) ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;
	if (!iov_read(iov, cnt, 0, seg, sizeof(seg)))
		return VIRTIO_BLK_S_IOERR;
	memcpy(&sector, seg, 8);
	memcpy(&nsec, seg + 8, 4);
	memcpy(&flags, seg + 12, 4);
	sector = le64toh(sector);
	nsec = le32toh(nsec);
	flags = le32toh(flags);
	/* §5.2.6.2: unmap is meaningless for DISCARD; other flag bits are reserved. */
	if ((flags & ~(u32)VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) ||
	    (type == VIRTIO_BLK_T_DISCARD && (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)))
		return VIRTIO_BLK_S_UNSUPP;
	if (nsec > BLK_MAX_RANGE_SECTORS || !in_range(b, sector, (u64)nsec * SECTOR))
		return VIRTIO_BLK_S_IOERR;
	r->dr.op = type == VIRTIO_BLK_T_DISCARD ? DISK_OP_DISCARD : DISK_OP_WRITE_ZEROES;
	r->dr.offset = sector * SECTOR;
	r->dr.len = (u64)nsec * SECTOR;
	return -1;
}

/*
 * Turns a popped chain into a disk request.  Returns a VIRTIO_BLK_S_* to
 * complete with at once, or -1 with r->dr ready to submit.
 */
static int parse_req(struct blk *b, struct blk_req *r)
{
	struct vq_chain *c = &r->chain;
	struct iovec *out = c->iov, *in = c->iov + c->nr_out;
	unsigned int nout = c->nr_out, nin = c->nr_in;
	u8 hdr[BLK_HDR_SIZE];
	char id[VIRTIO_BLK_ID_BYTES];
	u64 sector, len;
	u32 type;

	if (c->out_len < BLK_HDR_SIZE || !iov_read(out, nout, 0, hdr, sizeof(hdr)))
		return VIRTIO_BLK_S_IOERR;
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	type = le32toh(type);
	sector = le64toh(sector);
	out = iov_skip(out, &nout, BLK_HDR_SIZE);
	len = c->out_len - BLK_HDR_SIZE;

	memset(&r->dr, 0, sizeof(r->dr));
	r->dr.opaque = r;
	switch (type) {
	case VIRTIO_BLK_T_IN:
		if (!in_range(b, sector, c->in_len - 1ULL))
			return VIRTIO_BLK_S_IOERR;
		r->dr.op = DISK_OP_READ;
		r->dr.offset = sector * SECTOR;
		r->dr.iov = in;
		r->dr.iovcnt = nin;
		r->data_len = c->in_len - 1;
		return -1;
	case VIRTIO_BLK_T_OUT:
		if (disk__readonly(b->disk) || !in_range(b, sector, len))
			return VIRTIO_BLK_S_IOERR;
		r->dr.op = DISK_OP_WRITE;
		r->dr.offset = sector * SECTOR;
		r->dr.iov = out;
		r->dr.iovcnt = nout;
		return -1;
	case VIRTIO_BLK_T_FLUSH:
		r->dr.op = DISK_OP_FLUSH;
		return -1;
	case VIRTIO_BLK_T_GET_ID:
		memset(id, 0, sizeof(id));
		snprintf(id, sizeof(id), "lkvm-%u", b->index);
		r->data_len = (u32)MIN(sizeof(id), c->in_len - 1ULL);
		iov_write(in, nin, id, r->data_len);
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (disk__readonly(b->disk))
			return VIRTIO_BLK_S_IOERR;
		return parse_range(b, r, type, out, nout, len);
	}
	return VIRTIO_BLK_S_UNSUPP;
}

/* Answers or submits one popped chain; true if it went to the disk. */
static bool handle_chain(struct blk *b, struct blk_req *r)
{
	struct vq_chain *c = &r->chain;
	struct iovec *last;
	int st;

	r->data_len = 0;
	/* §5.2.6: the status byte ends the chain; without one there is no way to answer. */
	if (!c->nr_in) {
		lkvm_log_ratelimited(b->vdev.kvm, &b->rl, LOG_WARN,
				     "virtio-blk %u: request without a status byte", b->index);
		virtqueue__push(&b->vdev.vq[r->q], c->head, 0);
		req_put(b, r);
		return false;
	}
	last = &c->iov[c->nr_out + c->nr_in - 1];
	r->status = (u8 *)last->iov_base + last->iov_len - 1;
	if (!--last->iov_len)
		c->nr_in--;

	st = parse_req(b, r);
	if (st >= 0) {
		req_complete(b, r, (u8)st);
		return false;
	}
	if (disk__submit(b->disk, &r->dr) < 0) {
		req_complete(b, r, r->dr.result == -EOPNOTSUPP ? VIRTIO_BLK_S_UNSUPP :
			     VIRTIO_BLK_S_IOERR);
		return false;
	}
	return true;
}

static void blk_done(struct disk_req *dr, void *ctx);

/* One interrupt decision per queue that got completions: the batch's. */
static void blk_notify_done(struct blk *b)
{
	for (unsigned int q = 0; b->done_queues; q++) {
		if (b->done_queues & (1U << q))
			blk_notify(b, q);
		b->done_queues &= ~(1U << q);
	}
}

static void blk_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct blk *b = to_blk(d);
	struct virtqueue *vq = &d->vq[q];
	bool rearmed = false, submitted = false;

	/* The old driver's requests are still out: the new one's wait. */
	if (b->draining) {
		b->deferred_queues |= 1U << q;
		return;
	}
	b->st.kicks++;
	/* Every chain available now, then one submission for them all. */
	disk__plug(b->disk);

	for (;;) {
		struct blk_req *r = req_get(b);
		int n;

		if (!r) {
			/* Out of memory: leave the rest for the next notification. */
			lkvm_log_ratelimited(d->kvm, &b->rl, LOG_WARN,
					     "virtio-blk %u: out of memory for requests", b->index);
			break;
		}
		n = virtqueue__pop(vq, &r->chain);
		if (n <= 0) {
			req_put(b, r);
			if (n < 0) {
				/* What was popped before the bad entry still goes to the disk. */
				disk__reap_local(b->disk, blk_done, b);
				disk__unplug(b->disk);
				d->fail(d, vq->broken_why ? vq->broken_why : "bad ring");
				return;
			}
			/* §2.7.10: ask for the next kick, then look once more for a racing one. */
			if (vq->event_idx && !rearmed) {
				virtqueue__set_avail_event(vq);
				rearmed = true;
				continue;
			}
			break;
		}
		/*
		 * Its own loop, not virtio_dev__pop(): a broken ring must reap and
		 * unplug before the device fails.  Re-armed each time it runs dry,
		 * as there (a chain found after a re-arm leaves avail_event lagging).
		 */
		rearmed = false;
		r->q = q;
		b->st.chains++;
		submitted |= handle_chain(b, r);
	}
	/* An inline engine (tmpfs) has already done them: answer now, no wake-up. */
	disk__reap_local(b->disk, blk_done, b);
	disk__unplug(b->disk);
	b->st.batches += submitted;
	b->done_queues |= 1U << q;
	blk_notify_done(b);
}

static void blk_done(struct disk_req *dr, void *ctx)
{
	struct blk *b = ctx;
	struct blk_req *r = dr->opaque;

	/*
	 * A driver that did not take VIRTIO_BLK_F_FLUSH cannot ask for
	 * durability and assumes no write-back cache (Linux's virtio_blk
	 * does), so the device is write-through (virtio 1.2 §5.2.6): a write
	 * completes once it is on stable storage.
	 */
	if (dr->op == DISK_OP_WRITE && dr->result >= 0 &&
	    !(b->vdev.acked & BIT(VIRTIO_BLK_F_FLUSH))) {
		dr->op = DISK_OP_FLUSH;
		/* The flushes of one reap go as one batch (blk_event() unplugs). */
		disk__plug(b->disk);
		if (!disk__submit(b->disk, dr))
			return;
	}
	req_complete(b, r, dr->result < 0 ? (dr->result == -EOPNOTSUPP ? VIRTIO_BLK_S_UNSUPP :
					      VIRTIO_BLK_S_IOERR) : VIRTIO_BLK_S_OK);
}

static int blk_event_fd(struct virtio_dev *d)
{
	return disk__completion_fd(to_blk(d)->disk);
}

static void blk_drop(struct disk_req *dr, void *ctx)
{
	req_put(ctx, dr->opaque);
}

/* The last request from before a reset is back: the reset is complete. */
static void drain_done(struct blk *b)
{
	struct virtio_dev *d = &b->vdev;
	u32 deferred = b->deferred_queues;

	b->draining = false;
	b->deferred_queues = 0;
	d->reset_pending = false;
	lkvm_log_ratelimited(d->kvm, &b->rl, LOG_INFO,
			     "virtio-blk %u: the requests from before the reset are back; reset done",
			     b->index);
	/* What the new driver made available meanwhile (its queue still set up). */
	for (unsigned int q = 0; q < d->nr_queues; q++)
		if ((deferred & (1U << q)) && d->vq[q].num)
			blk_queue_notify(d, q);
}

static void blk_event(struct virtio_dev *d)
{
	struct blk *b = to_blk(d);

	if (b->draining) {
		disk__reap(b->disk, blk_drop, b);
		if (!disk__inflight(b->disk))
			drain_done(b);
		return;
	}
	disk__reap(b->disk, blk_done, b);
	disk__reap_local(b->disk, blk_done, b);
	disk__unplug(b->disk);
	blk_notify_done(b);
}

/*
 * "lkvm pause": every request in flight finishes first and goes back to
 * the driver, as blk_event() would have given it back; a drain left by a
 * reset completes first (the new driver's deferred requests then go too).
 */
static void blk_quiesce(struct virtio_dev *d)
{
	struct blk *b = to_blk(d);

	if (b->draining) {
		disk__drain(b->disk, blk_drop, b);
		drain_done(b);
	}
	disk__drain(b->disk, blk_done, b);
	blk_notify_done(b);
}

static void blk_reset(struct virtio_dev *d)
{
	struct blk *b = to_blk(d);
	u64 deadline = now_ns() + BLK_RESET_WAIT_MS * 1000000ULL;

	/* The rings are going away: finish the disk I/O, answer nobody. */
	b->done_queues = 0;
	b->deferred_queues = 0;
	if (!disk__drain_until(b->disk, deadline, blk_drop, b)) {
		if (b->draining)
			drain_done(b);
		return;
	}
	/* Bounded: the I/O thread (blk_event) finishes it; §2.4.1: not reset yet. */
	if (!b->draining)
		lkvm_log_ratelimited(d->kvm, &b->rl, LOG_WARN,
				     "virtio-blk %u: reset: %u requests still in flight after %u ms; "
				     "the reset completes when they are back", b->index,
				     disk__inflight(b->disk), BLK_RESET_WAIT_MS);
	b->draining = true;
	d->reset_pending = true;
}

static void blk_config_read(struct virtio_dev *d, u32 off, u8 *buf, u32 len)
{
	memcpy(buf, to_blk(d)->config + off, len);
}

/*
 * At exit the guest can no longer ask, so flush for it (as QEMU does when
 * it stops): the writes it completed without a FLUSH reach stable storage
 * too.  A failure is counted on the VM, for lkvm's exit status.
 */
static void flush_at_exit(struct blk *b)
{
	struct kvm *kvm = b->vdev.kvm;
	u64 t0 = now_ns();
	int r;

	if (disk__readonly(b->disk))
		return;
	r = disk__flush(b->disk);
	kvm->disks_flushed++;
	if (r) {
		kvm->disk_flush_errors++;
		pr_err(kvm, "virtio-blk %u: flush at exit: %s", b->index, strerror(-r));
		return;
	}
	pr_debug(kvm, "virtio-blk %u: flushed at exit in %.3f ms", b->index,
		 (double)(now_ns() - t0) / 1e6);
}

void virtio_blk__stats(struct virtio_dev *d, struct virtio_blk_stats *st)
{
	struct blk *b = to_blk(d);

	*st = b->st;
	disk__stats(b->disk, &st->disk);
}

/* The counters, one line at info: where the time per request went. */
static void log_stats(struct blk *b)
{
	struct virtio_blk_stats st;

	virtio_blk__stats(&b->vdev, &st);
	pr_info(b->vdev.kvm, "virtio-blk %u: counters: kicks=%llu chains=%llu batches=%llu irqs=%llu "
		"requests=%llu completions=%llu reaps=%llu engine_submits=%llu pool_handoffs=%llu "
		"syscalls=%llu fixed_bufs=%llu flushes=%llu", b->index, (unsigned long long)st.kicks,
		(unsigned long long)st.chains, (unsigned long long)st.batches,
		(unsigned long long)st.irqs, (unsigned long long)st.disk.requests,
		(unsigned long long)st.disk.completions, (unsigned long long)st.disk.reaps,
		(unsigned long long)st.disk.engine_submits,
		(unsigned long long)st.disk.pool_handoffs, (unsigned long long)st.disk.syscalls,
		(unsigned long long)st.disk.fixed_buf_reqs, (unsigned long long)st.disk.flushes);
}

static void blk_free(struct virtio_dev *d)
{
	struct blk *b = to_blk(d);

	if (b->disk) {
		/* Unbounded: the writes still out must be done before the flush. */
		disk__drain(b->disk, blk_drop, b);
		flush_at_exit(b);
		log_stats(b);
	}
	disk__close(b->disk);
	while (b->free) {
		struct blk_req *r = b->free;

		b->free = r->next_free;
		free(r);
	}
	free(b);
}

/*
 * Snapshot: quiesce has completed every request to the driver; what was
 * written is made durable, so the disk holds everything the guest saw
 * completed when the snapshot was taken.  The disk itself is reopened by
 * path on restore (-d in the recorded command line): no state of its own.
 */
static int blk_save(struct virtio_dev *d, struct snap_writer *w, struct lkvm_err *err)
{
	struct blk *b = to_blk(d);
	int r;

	(void)w;
	if (disk__inflight(b->disk))
		return seterr(err, EBUSY, "virtio-blk %u: requests still in flight", b->index);
	r = disk__flush(b->disk);
	if (r)
		return seterr(err, -r, "virtio-blk %u: flush: %s", b->index, strerror(-r));
	return 0;
}

static int blk_restore(struct virtio_dev *d, struct snap_cursor *c, struct lkvm_err *err)
{
	(void)d;
	(void)c;
	(void)err;
	return 0;
}

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,		/* or one per vCPU: virtio_blk__new() */
	.queue_max = BLK_QUEUE_DEFAULT,	/* or -d ...,queue-size=N: vdev.queue_max */
	.config_size = CFG_SIZE,
	.config_read = blk_config_read,
	.queue_notify = blk_queue_notify,
	.event_fd = blk_event_fd,
	.event = blk_event,
	.reset = blk_reset,
	.quiesce = blk_quiesce,
	.free = blk_free,
	.save = blk_save,
	.restore = blk_restore,
};

/* Data segments per request on queues of @qs: all but header and status, within VQ_MAX_IOV. */
static u32 blk_seg_max(unsigned int qs)
{
	return MIN(qs, VQ_MAX_IOV - BLK_IOV_SPARE) - 2;
}

/*
 * The config space's request geometry (virtio 1.2 §5.2.4): what the queue
 * size lets a chain hold and the disk layer can do in one request.
 */
static void blk_geometry(struct blk *b)
{
	u32 bs = disk__block_size(b->disk), pbs = disk__phys_block_size(b->disk);
	u8 *c = b->config;

	put_le64(c + CFG(capacity), b->capacity);
	put_le32(c + CFG(size_max), BLK_SIZE_MAX);
	put_le32(c + CFG(seg_max), blk_seg_max(b->queue_size));
	put_le32(c + CFG(blk_size), bs);
	/* Topology: physical blocks of 2^exp logical ones, aligned at 0. */
	c[CFG(physical_block_exp)] = (u8)(__builtin_ctz(pbs) - __builtin_ctz(bs));
	c[CFG(alignment_offset)] = 0;
	put_le16(c + CFG(min_io_size), (u16)(pbs / bs));
	put_le32(c + CFG(opt_io_size), 0);
	put_le32(c + CFG(max_discard_sectors), BLK_MAX_RANGE_SECTORS);
	put_le32(c + CFG(max_discard_seg), 1);
	put_le32(c + CFG(discard_sector_alignment), bs / (u32)SECTOR);
	put_le32(c + CFG(max_write_zeroes_sectors), BLK_MAX_RANGE_SECTORS);
	put_le32(c + CFG(max_write_zeroes_seg), 1);
	/* Zeroes may be a hole (fallocate PUNCH/ZERO_RANGE): reads back as zeroes either way. */
	c[CFG(write_zeroes_may_unmap)] = 1;
}

/*
 * -d ...,fixed-buffers: guest RAM as the engine's fixed buffers
 * (io_uring), so a one-segment request skips the kernel's per-request
 * page pinning.  Opt-in: the pin faults all of guest RAM in at start
 * (3-5 s for 256 MiB in the emulated host), and in the issue-16
 * benchmark two io_uring cells hung with it, cause not found.  Not with
 * a balloon: it gives pages back to the host (MADV_DONTNEED), and the
 * pins would keep the old pages, not the ones the guest then uses; not
 * above BLK_PIN_RAM_MAX of RAM.
 */
static void blk_register_ram(struct blk *b, struct kvm *kvm)
{
	struct iovec mem[LKVM_MAX_MEM_REGIONS];
	struct gmem_range g;
	unsigned int n = 0;
	u64 total = 0;
	int r;

	if (kvm->cfg && kvm->cfg->balloon)
		return;
	for (unsigned int it = 0; n < ARRAY_SIZE(mem) && gmem__next(kvm, &it, &g);) {
		mem[n++] = (struct iovec){ .iov_base = g.host, .iov_len = g.size };
		total += g.size;
	}
	if (!n || total > BLK_PIN_RAM_MAX)
		return;
	r = disk__register_mem(b->disk, mem, n);
	if (r && r != -EOPNOTSUPP)
		pr_debug(kvm, "virtio-blk %u: guest RAM not registered with the engine: %s",
			 b->index, strerror(-r));
}

int virtio_blk__new(struct kvm *kvm, const struct disk_opts *o, unsigned int index,
		    unsigned int nr_queues, struct virtio_dev **out, struct lkvm_err *err)
{
	struct blk *b;
	u32 bs;
	int r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return seterr(err, ENOMEM, "disk %s: out of memory", o->path);
	nr_queues = MAX(1U, MIN(nr_queues, (unsigned int)VIRTIO_MAX_QUEUES));
	b->queue_size = o->queue_size ? o->queue_size : BLK_QUEUE_DEFAULT;
	/* Every queue can have all its requests in flight at once. */
	r = disk__open(o, b->queue_size * nr_queues, &b->disk, err);
	if (r) {
		free(b);
		return r;
	}
	b->index = index;
	b->capacity = disk__size(b->disk) / SECTOR;
	bs = disk__block_size(b->disk);
	b->vdev.ops = &blk_ops;
	b->vdev.kvm = kvm;
	b->vdev.nr_queues = nr_queues;
	b->vdev.queue_max = b->queue_size;
	b->vdev.features = BIT(VIRTIO_BLK_F_SIZE_MAX) | BIT(VIRTIO_BLK_F_SEG_MAX) |
			   BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_TOPOLOGY) |
			   BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_DISCARD) |
			   BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	if (disk__readonly(b->disk))
		b->vdev.features |= BIT(VIRTIO_BLK_F_RO);
	/* §5.2.3: one request queue per vCPU, so vCPUs never share a ring. */
	if (nr_queues > 1) {
		b->vdev.features |= BIT(VIRTIO_BLK_F_MQ);
		put_le16(b->config + CFG(num_queues), (u16)nr_queues);
	}
	blk_geometry(b);
	if (o->fixed_buffers)
		blk_register_ram(b, kvm);
	pr_info(kvm, "virtio-blk %u: %s, %llu sectors, block size %u, engine %s, %u queue%s of %u, "
		"%u segments of %u KiB per request%s", index, o->path,
		(unsigned long long)b->capacity, bs, disk__engine_name(b->disk), nr_queues,
		nr_queues > 1 ? "s" : "", b->queue_size, blk_seg_max(b->queue_size),
		(unsigned int)(BLK_SIZE_MAX / SZ_KiB), disk__readonly(b->disk) ? ", read-only" : "");
	pr_info(kvm, "virtio-blk %u: engine %s: %s%s", index, disk__engine_name(b->disk),
		disk__engine_why(b->disk),
		disk__mem_registered(b->disk) ? "; guest RAM registered as fixed buffers" : "");
	if (!disk__locked(b->disk))
		pr_warn(kvm, "virtio-blk %u: %s: not locked (its filesystem has no locks): "
			"nothing keeps another VM from writing it too", index, o->path);
	*out = &b->vdev;
	return 0;
}

static unsigned int blk_count(const struct lkvm_config *cfg)
{
	return cfg->nr_disk;
}

/* -d, in command-line order: disk i is /dev/vda + i, serial lkvm-<i>, a queue per vCPU. */
static int blk_create(struct kvm *kvm, unsigned int i, struct lkvm_err *err)
{
	struct virtio_dev *dev = NULL;
	int r = virtio_blk__new(kvm, &kvm->cfg->disk[i], i, kvm->cfg->nr_cpus, &dev, err);

	return r ? r : virtio__attach(kvm, dev, err);
}

const struct device_kind virtio_blk_kind = { "virtio-blk", blk_count, blk_create };
