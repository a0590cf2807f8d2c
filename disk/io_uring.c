// SPDX-License-Identifier: GPL-2.0-only
/*
 * The io_uring engine: one ring per disk, sized to its queue depth, with
 * the disk's completion eventfd registered so that every CQE wakes the
 * I/O thread.  READ/WRITE are IORING_OP_READV/WRITEV, FLUSH is
 * IORING_OP_FSYNC with IORING_FSYNC_DATASYNC, and, where the kernel has
 * IORING_OP_FALLOCATE (5.6), DISCARD on files and WRITE_ZEROES are
 * fallocate too.  Block-device discard (BLKDISCARD is an ioctl) and all
 * fallbacks go to the pool.  The file is registered with the ring (fixed
 * file 0), and guest RAM, when the device offers it (disk__register_mem()),
 * as fixed buffers: a one-buffer READ/WRITE inside it is READ/WRITE_FIXED,
 * which skips pinning the pages per request.  Each request is submitted
 * at once, unless the disk is plugged (disk__plug()): then the SQEs pile
 * up in the ring and disk__unplug() submits them with one io_uring_enter().
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
	bool fixed_file;	/* d->fd is registered file 0 (IOSQE_FIXED_FILE) */
	struct iovec *bufs;	/* the registered buffers, by index */
	unsigned int nbufs;
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

	/*
	 * A registered file (5.1) spares each request the fd lookup and
	 * reference; without it (a seccomp filter, an old kernel), the fd.
	 */
	u->fixed_file = io_uring_register_files(&u->ring, &d->fd, 1) == 0;

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

	/*
	 * The ring's own reference to the file goes only when the kernel
	 * gets round to tearing the ring down, after io_uring_queue_exit()
	 * returns: unregister it first, so that the file (and its OFD lock)
	 * is gone when disk__close() is.
	 */
	if (u->fixed_file)
		io_uring_unregister_files(&u->ring);
	io_uring_queue_exit(&u->ring);
	free(u->bufs);
	free(u);
	d->engine = NULL;
}

/* The kernel's limit on one registered buffer (io_uring's io_buffer_validate()). */
#define URING_BUF_MAX		SZ_GiB
#define URING_MAX_BUFS		1024

static int uring_register_mem(struct disk *d, const struct iovec *mem, unsigned int n)
{
	struct disk_uring *u = d->engine;
	struct iovec *bufs;
	unsigned int nb = 0;
	int ret;

	bufs = calloc(URING_MAX_BUFS, sizeof(*bufs));
	if (!bufs)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		u8 *p = mem[i].iov_base;
		u64 left = mem[i].iov_len;

		while (left) {
			u64 piece = MIN(left, URING_BUF_MAX);

			if (nb == URING_MAX_BUFS) {
				free(bufs);
				return -E2BIG;
			}
			bufs[nb++] = (struct iovec){ .iov_base = p, .iov_len = piece };
			p += piece;
			left -= piece;
		}
	}
	ret = io_uring_register_buffers(&u->ring, bufs, nb);
	if (ret < 0) {
		free(bufs);
		return ret;
	}
	u->bufs = bufs;
	u->nbufs = nb;
	return 0;
}

/* The registered buffer that holds all of @iov, or -1. */
static int uring_buf_index(const struct disk_uring *u, const struct iovec *iov)
{
	uintptr_t p = (uintptr_t)iov->iov_base;

	for (unsigned int i = 0; i < u->nbufs; i++) {
		uintptr_t b = (uintptr_t)u->bufs[i].iov_base;

		if (p >= b && p - b <= u->bufs[i].iov_len &&
		    iov->iov_len <= u->bufs[i].iov_len - (p - b))
			return (int)i;
	}
	return -1;
}

static int uring_submit(struct disk *d, struct disk_slot *s)
{
	struct disk_uring *u = d->engine;
	const struct disk_req *r = s->req;
	struct io_uring_sqe *sqe;
	int fd = u->fixed_file ? 0 : d->fd, buf = -1;

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

	/* One buffer in registered memory (a 4 KiB guest request, typically): READ/WRITE_FIXED. */
	if ((r->op == DISK_OP_READ || r->op == DISK_OP_WRITE) && r->iovcnt == 1)
		buf = uring_buf_index(u, r->iov);
	switch (r->op) {
	case DISK_OP_READ:
		if (buf >= 0)
			io_uring_prep_read_fixed(sqe, fd, r->iov[0].iov_base,
						 (unsigned int)r->iov[0].iov_len, r->offset, buf);
		else
			io_uring_prep_readv(sqe, fd, r->iov, r->iovcnt, r->offset);
		break;
	case DISK_OP_WRITE:
		if (buf >= 0)
			io_uring_prep_write_fixed(sqe, fd, r->iov[0].iov_base,
						  (unsigned int)r->iov[0].iov_len, r->offset, buf);
		else
			io_uring_prep_writev(sqe, fd, r->iov, r->iovcnt, r->offset);
		break;
	case DISK_OP_FLUSH:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	case DISK_OP_DISCARD:
		io_uring_prep_fallocate(sqe, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					(off_t)r->offset, (off_t)s->len);
		break;
	case DISK_OP_WRITE_ZEROES:
		io_uring_prep_fallocate(sqe, fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
					(off_t)r->offset, (off_t)s->len);
		break;
	}
	if (u->fixed_file)
		sqe->flags |= IOSQE_FIXED_FILE;
	d->stats.fixed_buf_reqs += buf >= 0;
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
	.register_mem	= uring_register_mem,
};
