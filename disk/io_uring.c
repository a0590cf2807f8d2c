// SPDX-License-Identifier: GPL-2.0-only
/*
 * The io_uring engine: one ring per disk, sized to its queue depth, with
 * the disk's completion eventfd registered so that every CQE wakes the
 * I/O thread.  READ/WRITE are IORING_OP_READV/WRITEV, FLUSH is
 * IORING_OP_FSYNC with IORING_FSYNC_DATASYNC, and, where the kernel has
 * IORING_OP_FALLOCATE (5.6), DISCARD on files and WRITE_ZEROES are
 * fallocate too.  Block-device discard (BLKDISCARD is an ioctl) and all
 * fallbacks go to the pool.  Each request is submitted at once, unless
 * the disk is plugged (disk__plug()): then the SQEs pile up in the ring
 * and disk__unplug() submits them with one io_uring_enter().
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disk-priv.h"

struct disk_uring {
	struct io_uring ring;
	/*
	 * io_uring_submit() failed (-EAGAIN, -ENOMEM, -EBUSY) or left SQEs
	 * behind after liburing had already published them to the kernel:
	 * they cannot be taken back, so they stay queued and harvest retries
	 * the io_uring_enter().
	 */
	bool pending;
	/* SQEs given out and not yet reaped: at most cq_entries, so no CQE can overflow. */
	unsigned int inflight;
};

/*
 * Submits what the ring holds.  What stays behind is retried by the next
 * harvest, which the completion eventfd is poked to bring about: when
 * nothing else is in flight, no CQE would ever wake the I/O thread, and
 * the guest would wait for a request that was never started.  A failure
 * that persists (the kernel out of memory) is retried at the I/O thread's
 * pace until it clears.
 */
static void uring_push(struct disk *d, struct disk_uring *u)
{
	u64 one = 1;

	if (io_uring_sq_ready(&u->ring)) {
		d->stats.engine_submits++;
		d->stats.syscalls++;
	}
	u->pending = io_uring_submit(&u->ring) < 0 || io_uring_sq_ready(&u->ring) > 0;
	d->stats.syscalls += u->pending;
	if (u->pending && write(d->efd, &one, sizeof(one)) < 0) {
		/* The counter is full: a wakeup is already pending. */
	}
}

static int uring_init(struct disk *d, struct lkvm_err *err)
{
	struct io_uring_probe *probe;
	struct disk_uring *u;
	int ret;

	u = calloc(1, sizeof(*u));
	if (!u)
		return seterr(err, ENOMEM, "out of memory");
	ret = io_uring_queue_init(MIN(d->depth, DISK_RING_MAX), &u->ring, 0);
	if (ret < 0) {
		free(u);
		return seterr(err, -ret,
			      "io_uring_queue_init: %s (kernel.io_uring_disabled, or a seccomp filter?); use engine=aio or engine=sync",
			      strerror(-ret));
	}
	ret = io_uring_register_eventfd(&u->ring, d->efd);
	if (ret < 0) {
		io_uring_queue_exit(&u->ring);
		free(u);
		return seterr(err, -ret, "io_uring_register_eventfd: %s", strerror(-ret));
	}

	/* READV, WRITEV and FSYNC date from 5.1, the probe from 5.6. */
	d->native_ops = BIT(DISK_OP_READ) | BIT(DISK_OP_WRITE) | BIT(DISK_OP_FLUSH);
	probe = io_uring_get_probe_ring(&u->ring);
	if (probe) {
		if (io_uring_opcode_supported(probe, IORING_OP_FALLOCATE)) {
			d->native_ops |= BIT(DISK_OP_WRITE_ZEROES);
			if (!d->blockdev)
				d->native_ops |= BIT(DISK_OP_DISCARD);
		}
		io_uring_free_probe(probe);
	}
	d->engine = u;
	return 0;
}

static void uring_exit(struct disk *d)
{
	struct disk_uring *u = d->engine;

	io_uring_queue_exit(&u->ring);
	free(u);
	d->engine = NULL;
}

static int uring_submit(struct disk *d, struct disk_slot *s)
{
	struct disk_uring *u = d->engine;
	const struct disk_req *r = s->req;
	struct io_uring_sqe *sqe;

	if (r->op > DISK_OP_WRITE_ZEROES)
		return -EINVAL;
	if (u->inflight >= u->ring.cq.ring_entries)
		return -EBUSY;	/* the pool takes it: a deeper disk than our ring */
	sqe = io_uring_get_sqe(&u->ring);
	if (!sqe && d->plugged) {
		/* A batch bigger than the SQ ring: hand over what it holds. */
		uring_push(d, u);
		sqe = io_uring_get_sqe(&u->ring);
	}
	if (!sqe)
		return -EBUSY;	/* only while earlier SQEs wait in the ring */
	u->inflight++;

	switch (r->op) {
	case DISK_OP_READ:
		io_uring_prep_readv(sqe, d->fd, r->iov, r->iovcnt, r->offset);
		break;
	case DISK_OP_WRITE:
		io_uring_prep_writev(sqe, d->fd, r->iov, r->iovcnt, r->offset);
		break;
	case DISK_OP_FLUSH:
		io_uring_prep_fsync(sqe, d->fd, IORING_FSYNC_DATASYNC);
		break;
	case DISK_OP_DISCARD:
		io_uring_prep_fallocate(sqe, d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					(off_t)r->offset, (off_t)s->len);
		break;
	case DISK_OP_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, d->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
					(off_t)r->offset, (off_t)s->len);
		break;
	}
	io_uring_sqe_set_data(sqe, s);
	if (!d->plugged)
		uring_push(d, u);
	return 0;
}

/* The batch: one io_uring_enter() for every SQE queued while plugged. */
static void uring_commit(struct disk *d)
{
	struct disk_uring *u = d->engine;

	if (io_uring_sq_ready(&u->ring))
		uring_push(d, u);
}

static void uring_harvest(struct disk *d)
{
	struct disk_uring *u = d->engine;
	struct io_uring_cqe *cqe;
	unsigned int head, n = 0;

	if (u->pending)
		uring_push(d, u);
	/* disk_slot_end() never touches the ring, so it may run in the loop. */
	io_uring_for_each_cqe(&u->ring, head, cqe) {
		disk_slot_end(d, io_uring_cqe_get_data(cqe), cqe->res);
		n++;
	}
	io_uring_cq_advance(&u->ring, n);
	u->inflight -= n;
}

const struct disk_engine_ops disk_io_uring_ops = {
	.name		= "io_uring",
	.init		= uring_init,
	.stop		= uring_exit,
	.submit		= uring_submit,
	.commit		= uring_commit,
	.harvest	= uring_harvest,
};
