// SPDX-License-Identifier: GPL-2.0-only
/*
 * The disk layer's thread pool and its synchronous implementation of
 * every request: the whole of the "sync" engine, and the fallback the
 * io_uring and aio engines hand work to (discard on block devices, a
 * FLUSH the kernel's AIO refuses, the rest of a short transfer, a write-
 * zeroes the filesystem cannot fallocate).  Workers take slots from a
 * locked FIFO, run them to the end, queue them on a done list and bump
 * the disk's completion eventfd; disk__reap() collects them.  On a
 * memory-backed file (tmpfs, ramfs) the sync engine skips the pool and
 * runs each request inside disk__submit(), on the caller's thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "disk-priv.h"
#include "lkvm/log.h"
#include "lkvm/sandbox.h"

#define ZERO_CHUNK	(64 * SZ_KiB)

struct disk_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* work queued, or stop */
	struct disk_slot *head, **tail;	/* queued work, FIFO */
	struct disk_slot *done, **done_tail;
	bool stop;
	u64 syscalls;			/* the workers' (atomic: disk__stats() reads it) */
	unsigned int nthreads;
	pthread_t threads[];
};

/* One more system call made for a request (any thread). */
static void count_call(struct disk *d)
{
	__atomic_fetch_add(&d->pool->syscalls, 1, __ATOMIC_RELAXED);
}

/*
 * Writes into @out the part of @iov (@cnt entries) after its first @skip
 * bytes and returns how many entries that takes.
 */
static int iov_tail(const struct iovec *iov, unsigned int cnt, u64 skip, struct iovec *out)
{
	unsigned int i;
	int n = 0;

	for (i = 0; i < cnt; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		out[n].iov_base = (u8 *)iov[i].iov_base + skip;
		out[n].iov_len = iov[i].iov_len - skip;
		skip = 0;
		n++;
	}
	return n;
}

/* READ/WRITE from s->done to the end: a 0-byte transfer means EOF, -EIO. */
static int sync_rw(struct disk *d, struct disk_slot *s)
{
	const struct disk_req *r = s->req;
	struct iovec *tail = NULL;
	int ret = 0;

	while (s->done < s->len) {
		const struct iovec *iov = r->iov;
		int cnt = (int)r->iovcnt;
		off_t pos;
		ssize_t n;

		if (s->done) {
			if (!tail)
				tail = malloc(r->iovcnt * sizeof(*tail));
			if (!tail) {
				ret = -ENOMEM;
				break;
			}
			cnt = iov_tail(r->iov, r->iovcnt, s->done, tail);
			iov = tail;
		}
		pos = (off_t)(r->offset + s->done);
		count_call(d);
		if (r->op == DISK_OP_READ)
			n = preadv(d->fd, iov, cnt, pos);
		else
			n = pwritev(d->fd, iov, cnt, pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0) {
			ret = -EIO;
			break;
		}
		s->done += (u64)n;
	}
	free(tail);
	return ret ? ret : (int)s->len;
}

static int sync_discard(struct disk *d, u64 off, u64 len)
{
	if (!len)
		return 0;
	count_call(d);
	if (d->blockdev) {
		u64 range[2] = { off, len };

		return ioctl(d->fd, BLKDISCARD, range) ? -errno : 0;
	}
	if (fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len))
		return -errno;
	return 0;
}

/* The last resort for WRITE_ZEROES: write them (aligned, for O_DIRECT). */
static int write_zeroes(struct disk *d, u64 off, u64 len)
{
	void *buf;
	int ret = 0;

	if (posix_memalign(&buf, MAX(d->mem_align, 4096), ZERO_CHUNK))
		return -ENOMEM;
	memset(buf, 0, ZERO_CHUNK);
	while (len) {
		ssize_t n;

		count_call(d);
		n = pwrite(d->fd, buf, MIN(len, ZERO_CHUNK), (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0) {
			ret = -EIO;
			break;
		}
		off += (u64)n;
		len -= (u64)n;
	}
	free(buf);
	return ret;
}

static bool unsupported(int e)
{
	return e == EOPNOTSUPP || e == EINVAL || e == ENOTTY;
}

/*
 * ZERO_RANGE keeps the blocks allocated; a punched hole reads back as
 * zeroes too; writing zeroes works everywhere.  KEEP_SIZE: the range is
 * inside the disk, but never let a racing truncate make us grow it.
 */
static int sync_write_zeroes(struct disk *d, u64 off, u64 len)
{
	if (!len)
		return 0;
	count_call(d);
	if (!fallocate(d->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len))
		return 0;
	if (!unsupported(errno))
		return -errno;
	count_call(d);
	if (!d->blockdev &&
	    !fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len))
		return 0;
	if (!d->blockdev && !unsupported(errno))
		return -errno;
	return write_zeroes(d, off, len);
}

int disk_sync_run(struct disk *d, struct disk_slot *s)
{
	const struct disk_req *r = s->req;

	switch (r->op) {
	case DISK_OP_READ:
	case DISK_OP_WRITE:
		return sync_rw(d, s);
	case DISK_OP_FLUSH:
		count_call(d);
		return fdatasync(d->fd) ? -errno : 0;
	case DISK_OP_DISCARD:
		return sync_discard(d, r->offset, s->len);
	case DISK_OP_WRITE_ZEROES:
		return sync_write_zeroes(d, r->offset, s->len);
	}
	return -EINVAL;
}

static void *pool_worker(void *arg)
{
	struct disk *d = arg;
	struct disk_pool *p = d->pool;
	struct lkvm_err err = { "" };
	struct disk_slot *s;
	u64 one = 1;

	/* A worker that can't be confined serves nothing: the engine's requests wait, logged. */
	if (sandbox__enter(SANDBOX_DISK, &err)) {
		lkvm_log(NULL, LOG_ERROR, "disk: %s", err.msg);
		return NULL;
	}

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->head && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		s = p->head;
		if (!s)
			break;
		p->head = s->next;
		if (!p->head)
			p->tail = &p->head;
		pthread_mutex_unlock(&p->lock);

		s->result = disk_sync_run(d, s);

		pthread_mutex_lock(&p->lock);
		s->next = NULL;
		/* Atomic: disk_pool_take_done() peeks at an empty list without the lock. */
		__atomic_store_n(p->done_tail, s, __ATOMIC_RELEASE);
		p->done_tail = &s->next;
		pthread_mutex_unlock(&p->lock);
		/* Can only fail if the counter would overflow: it is readable then. */
		count_call(d);
		if (write(d->efd, &one, sizeof(one)) < 0) {
			/* nothing to add */
		}
		pthread_mutex_lock(&p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static void pool_join(struct disk_pool *p, unsigned int n)
{
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	while (n-- > 0)
		pthread_join(p->threads[n], NULL);
}

int disk_pool_start(struct disk *d, unsigned int nthreads, struct lkvm_err *err)
{
	struct disk_pool *p;
	sigset_t all, old;
	unsigned int i;
	int ret = 0;

	p = calloc(1, sizeof(*p) + nthreads * sizeof(p->threads[0]));
	if (!p)
		return seterr(err, ENOMEM, "disk: out of memory");
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->tail = &p->head;
	p->done_tail = &p->done;
	d->pool = p;

	/* Workers inherit a full mask: signals are for the VMM's own threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < nthreads; i++) {
		ret = pthread_create(&p->threads[i], NULL, pool_worker, d);
		if (ret)
			break;
		pthread_setname_np(p->threads[i], "lkvm-disk");
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	p->nthreads = i;
	if (ret) {
		pool_join(p, i);
		disk_pool_stop(d);
		return seterr(err, ret, "disk: creating I/O threads: %s", strerror(ret));
	}
	return 0;
}

void disk_pool_stop(struct disk *d)
{
	struct disk_pool *p = d->pool;

	if (!p)
		return;
	if (!p->stop)
		pool_join(p, p->nthreads);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
	d->pool = NULL;
}

void disk_pool_queue(struct disk *d, struct disk_slot *s)
{
	struct disk_pool *p = d->pool;

	d->stats.pool_handoffs++;
	s->next = NULL;
	if (d->plugged) {
		if (!d->pool_batch)
			d->pool_batch_tail = &d->pool_batch;
		*d->pool_batch_tail = s;
		d->pool_batch_tail = &s->next;
		return;
	}
	d->stats.engine_submits++;
	pthread_mutex_lock(&p->lock);
	*p->tail = s;
	p->tail = &s->next;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void disk_pool_commit(struct disk *d)
{
	struct disk_pool *p = d->pool;
	bool many;

	if (!d->pool_batch)
		return;
	many = d->pool_batch->next != NULL;
	d->stats.engine_submits++;
	pthread_mutex_lock(&p->lock);
	*p->tail = d->pool_batch;
	p->tail = d->pool_batch_tail;
	if (many)
		pthread_cond_broadcast(&p->cond);
	else
		pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	d->pool_batch = NULL;
	d->pool_batch_tail = &d->pool_batch;
}

u64 disk_pool_syscalls(const struct disk *d)
{
	return d->pool ? __atomic_load_n(&d->pool->syscalls, __ATOMIC_RELAXED) : 0;
}

struct disk_slot *disk_pool_take_done(struct disk *d)
{
	struct disk_pool *p = d->pool;
	struct disk_slot *list;

	/* Nothing done (the io_uring and aio engines, mostly): no lock round-trip. */
	if (!__atomic_load_n(&p->done, __ATOMIC_ACQUIRE))
		return NULL;
	pthread_mutex_lock(&p->lock);
	list = p->done;
	__atomic_store_n(&p->done, NULL, __ATOMIC_RELAXED);
	p->done_tail = &p->done;
	pthread_mutex_unlock(&p->lock);
	return list;
}

/*
 * On a memory-backed file a request is a memcpy in the kernel, cheaper
 * than handing it to a worker and being woken for its completion: run it
 * right here, on the queue's own thread (whose sandbox allows the calls).
 */
static int sync_inline_submit(struct disk *d, struct disk_slot *s)
{
	s->result = disk_sync_run(d, s);
	disk_slot_local(d, s);
	return 0;
}

static int sync_init(struct disk *d, struct lkvm_err *err)
{
	(void)err;
	d->native_ops = 0;	/* everything goes to the pool */
	if (d->memfs) {
		d->native_ops = BIT(DISK_OP_READ) | BIT(DISK_OP_WRITE) | BIT(DISK_OP_FLUSH) |
				BIT(DISK_OP_DISCARD) | BIT(DISK_OP_WRITE_ZEROES);
		d->inline_io = true;
	}
	return 0;
}

static void sync_exit(struct disk *d)
{
	(void)d;
}

const struct disk_engine_ops disk_sync_ops = {
	.name	= "sync",
	.init	= sync_init,
	.stop	= sync_exit,
	.submit	= sync_inline_submit,	/* only with native_ops: memory-backed files */
};
