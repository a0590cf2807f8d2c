// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-blk (virtio 1.2 §5.2) over the disk layer (lkvm/disk.h): one
 * request queue, requests IN, OUT, FLUSH, GET_ID, DISCARD and
 * WRITE_ZEROES.  Requests go to the disk asynchronously and complete from
 * the disk's completion fd, all on the device's I/O thread.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_blk.h>	/* virtio 1.2 §5.2: features, request types, status */

#include "lkvm/kvm.h"
#include "lkvm/virtio-dev.h"

#define SECTOR				512ULL
#define BLK_QUEUE_MAX			256
#define BLK_HDR_SIZE			16
#define BLK_SEG_SIZE			16
/* Data segments per request: header and status take two more descriptors. */
#define BLK_SEG_MAX			(BLK_QUEUE_MAX / 2 - 2)
#define BLK_MAX_RANGE_SECTORS		(1U << 22)	/* 2 GiB per discard/write-zeroes */
#define BLK_RESET_WAIT_MS		100	/* a reset's wait for in-flight I/O on its vCPU */

/*
 * Config space (virtio 1.2 §5.2.4), up to write_zeroes_may_unmap; the
 * fields of features we do not offer read as zero.
 */
#define CFG_CAPACITY			0
#define CFG_SEG_MAX			12
#define CFG_BLK_SIZE			20
#define CFG_NUM_QUEUES			34
#define CFG_MAX_DISCARD_SECTORS		36
#define CFG_MAX_DISCARD_SEG		40
#define CFG_DISCARD_ALIGN		44
#define CFG_MAX_WZ_SECTORS		48
#define CFG_MAX_WZ_SEG			52
#define CFG_WZ_MAY_UNMAP		56
#define CFG_SIZE			60

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
	struct blk_req *free;
	u32 done_queues;	/* queues with completions pushed since the last interrupt check */
	bool draining;		/* a reset left requests in flight: they are dropped when back */
	u32 deferred_queues;	/* notified while draining: looked at once it is over */
	struct log_ratelimit rl;
};

static struct blk *to_blk(struct virtio_dev *d)
{
	return virtio_container_of(d, struct blk, vdev);
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

static void handle_chain(struct blk *b, struct blk_req *r)
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
		return;
	}
	last = &c->iov[c->nr_out + c->nr_in - 1];
	r->status = (u8 *)last->iov_base + last->iov_len - 1;
	if (!--last->iov_len)
		c->nr_in--;

	st = parse_req(b, r);
	if (st >= 0) {
		req_complete(b, r, (u8)st);
		return;
	}
	if (disk__submit(b->disk, &r->dr) < 0)
		req_complete(b, r, r->dr.result == -EOPNOTSUPP ? VIRTIO_BLK_S_UNSUPP :
			     VIRTIO_BLK_S_IOERR);
}

static void blk_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct blk *b = to_blk(d);
	struct virtqueue *vq = &d->vq[q];
	bool rearmed = false;

	/* The old driver's requests are still out: the new one's wait. */
	if (b->draining) {
		b->deferred_queues |= 1U << q;
		return;
	}

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
		r->q = q;
		handle_chain(b, r);
	}
	b->done_queues &= ~(1U << q);
	virtio_dev__notify_if_needed(d, q);
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
	for (unsigned int q = 0; b->done_queues; q++) {
		if (b->done_queues & (1U << q))
			virtio_dev__notify_if_needed(d, q);
		b->done_queues &= ~(1U << q);
	}
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
	for (unsigned int q = 0; b->done_queues; q++) {
		if (b->done_queues & (1U << q))
			virtio_dev__notify_if_needed(d, q);
		b->done_queues &= ~(1U << q);
	}
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

static void blk_free(struct virtio_dev *d)
{
	struct blk *b = to_blk(d);

	if (b->disk) {
		/* Unbounded: the writes still out must be done before the flush. */
		disk__drain(b->disk, blk_drop, b);
		flush_at_exit(b);
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
	.queue_max = BLK_QUEUE_MAX,
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
	/* Every queue can have all its requests in flight at once. */
	r = disk__open(o, BLK_QUEUE_MAX * nr_queues, &b->disk, err);
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
	b->vdev.features = BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_BLK_SIZE) |
			   BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_DISCARD) |
			   BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	if (disk__readonly(b->disk))
		b->vdev.features |= BIT(VIRTIO_BLK_F_RO);
	/* §5.2.3: one request queue per vCPU, so vCPUs never share a ring. */
	if (nr_queues > 1) {
		b->vdev.features |= BIT(VIRTIO_BLK_F_MQ);
		b->config[CFG_NUM_QUEUES] = (u8)nr_queues;
		b->config[CFG_NUM_QUEUES + 1] = (u8)(nr_queues >> 8);
	}

	put_le64(b->config + CFG_CAPACITY, b->capacity);
	put_le32(b->config + CFG_SEG_MAX, BLK_SEG_MAX);
	put_le32(b->config + CFG_BLK_SIZE, bs);
	put_le32(b->config + CFG_MAX_DISCARD_SECTORS, BLK_MAX_RANGE_SECTORS);
	put_le32(b->config + CFG_MAX_DISCARD_SEG, 1);
	put_le32(b->config + CFG_DISCARD_ALIGN, bs / (u32)SECTOR);
	put_le32(b->config + CFG_MAX_WZ_SECTORS, BLK_MAX_RANGE_SECTORS);
	put_le32(b->config + CFG_MAX_WZ_SEG, 1);
	/* Zeroes may be a hole (fallocate PUNCH/ZERO_RANGE): reads back as zeroes either way. */
	b->config[CFG_WZ_MAY_UNMAP] = 1;
	pr_info(kvm, "virtio-blk %u: %s, %llu sectors, block size %u, engine %s, %u queue%s%s",
		index, o->path, (unsigned long long)b->capacity, bs, disk__engine_name(b->disk),
		nr_queues, nr_queues > 1 ? "s" : "", disk__readonly(b->disk) ? ", read-only" : "");
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
