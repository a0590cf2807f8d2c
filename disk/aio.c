// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Linux AIO engine (libaio): one context per disk, sized to its queue
 * depth, each iocb flagged IOCB_FLAG_RESFD so that completions bump the
 * disk's eventfd.  READ/WRITE are IOCB_CMD_PREADV/PWRITEV.  They are only
 * asynchronous on O_DIRECT disks: on a buffered file the kernel does the
 * copy inside io_submit(), which is correct but blocks the I/O thread,
 * hence AUTO never picks aio for a buffered disk.  FLUSH tries
 * IOCB_CMD_FDSYNC (Linux >= 4.18, and only where the file has an fsync
 * method); the first -EINVAL sends it, and every later FLUSH, to the pool,
 * which calls fdatasync().  AIO has no discard or write-zeroes: the pool
 * does them.  A submission the kernel refuses (-EAGAIN) goes to the pool.
 */
#include <errno.h>
#include <libaio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "disk-priv.h"

struct disk_aio {
	io_context_t ctx;
	struct iocb *iocbs;	/* one per slot, by slot index */
	struct io_event *events;
	struct iocb **batch;	/* prepared while plugged, for one io_submit() */
	unsigned int nbatch, max_batch;
};

static int kaio_init(struct disk *d, struct lkvm_err *err)
{
	struct disk_aio *a;
	int ret;

	a = calloc(1, sizeof(*a));
	if (!a)
		return seterr(err, ENOMEM, "out of memory");
	a->max_batch = MIN(d->depth, DISK_RING_MAX);
	a->iocbs = calloc(d->depth, sizeof(*a->iocbs));
	a->events = calloc(d->depth, sizeof(*a->events));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	a->batch = calloc(a->max_batch, sizeof(*a->batch));
	if (!a->iocbs || !a->events || !a->batch) {
		ret = seterr(err, ENOMEM, "out of memory");
		goto fail;
	}
	ret = io_setup((int)MIN(d->depth, DISK_RING_MAX), &a->ctx);
	if (ret < 0) {
		ret = seterr(err, -ret, "io_setup: %s%s; use engine=sync", strerror(-ret),
			     ret == -EAGAIN ? " (fs.aio-max-nr reached?)" : "");
		goto fail;
	}
	d->native_ops = BIT(DISK_OP_READ) | BIT(DISK_OP_WRITE) | BIT(DISK_OP_FLUSH);
	d->engine = a;
	return 0;

fail:
	free(a->batch);
	free(a->events);
	free(a->iocbs);
	free(a);
	return ret;
}

static void kaio_exit(struct disk *d)
{
	struct disk_aio *a = d->engine;

	io_destroy(a->ctx);
	free(a->batch);
	free(a->events);
	free(a->iocbs);
	free(a);
	d->engine = NULL;
}

/* The kernel refused @s's iocb with @ret (or took none of the batch it led). */
static void kaio_refused(struct disk *d, const struct disk_slot *s, int ret)
{
	if (s->req->op == DISK_OP_FLUSH && ret == -EINVAL)
		d->native_ops &= ~(unsigned int)BIT(DISK_OP_FLUSH);
}

/*
 * One io_submit() for the batch.  io_submit() stops at the first iocb it
 * cannot queue: that one goes to the pool, and the rest are tried again.
 */
static void kaio_commit(struct disk *d)
{
	struct disk_aio *a = d->engine;
	unsigned int off = 0, n = a->nbatch;

	a->nbatch = 0;
	while (off < n) {
		struct disk_slot *s;
		int ret;

		d->stats.engine_submits++;
		d->stats.syscalls++;
		ret = io_submit(a->ctx, (long)(n - off), a->batch + off);
		if (ret > 0) {
			off += (unsigned int)ret;
			continue;
		}
		s = a->batch[off]->data;
		kaio_refused(d, s, ret ? ret : -EAGAIN);
		/* Not plugged any more (disk__unplug() clears it first): straight to a worker. */
		disk_pool_queue(d, s);
		off++;
	}
}

static int kaio_submit(struct disk *d, struct disk_slot *s)
{
	struct disk_aio *a = d->engine;
	const struct disk_req *r = s->req;
	struct iocb *iocb = &a->iocbs[s->idx];
	int ret;

	switch (r->op) {
	case DISK_OP_READ:
		io_prep_preadv(iocb, d->fd, r->iov, (int)r->iovcnt, (long long)r->offset);
		break;
	case DISK_OP_WRITE:
		io_prep_pwritev(iocb, d->fd, r->iov, (int)r->iovcnt, (long long)r->offset);
		break;
	case DISK_OP_FLUSH:
		io_prep_fdsync(iocb, d->fd);
		break;
	default:
		return -EOPNOTSUPP;
	}
	io_set_eventfd(iocb, d->efd);
	iocb->data = s;

	if (d->plugged) {
		a->batch[a->nbatch++] = iocb;
		if (a->nbatch == a->max_batch)
			kaio_commit(d);
		return 0;
	}
	d->stats.engine_submits++;
	d->stats.syscalls++;
	ret = io_submit(a->ctx, 1, &iocb);
	if (ret == 1)
		return 0;
	kaio_refused(d, s, ret);
	return ret < 0 ? ret : -EAGAIN;
}

static void kaio_harvest(struct disk *d)
{
	struct disk_aio *a = d->engine;
	struct timespec zero = { 0, 0 };
	int i, n;

	do {
		d->stats.syscalls++;
		n = io_getevents(a->ctx, 0, (long)MIN(d->depth, DISK_RING_MAX), a->events, &zero);
		for (i = 0; i < n; i++)
			disk_slot_end(d, a->events[i].data, (long)a->events[i].res);
	} while (n == (int)MIN(d->depth, DISK_RING_MAX));
}

const struct disk_engine_ops disk_aio_ops = {
	.name		= "aio",
	.init		= kaio_init,
	.stop		= kaio_exit,
	.submit		= kaio_submit,
	.commit		= kaio_commit,
	.harvest	= kaio_harvest,
};
