// SPDX-License-Identifier: GPL-2.0-only
/*
 * The engine-independent half of the disk layer: parsing -d, opening and
 * sizing the file or block device, choosing and starting an engine,
 * validating requests, the request slots, and handing completions back
 * through disk__reap().  The engines (io_uring.c, aio.c) and the helper
 * thread pool (sync.c) only move bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "disk-priv.h"

#define DISK_OPTS_HELP	"valid options: ro, direct, engine=auto|io_uring|aio|sync, queue-size=N, fixed-buffers"

static const char *const engine_names[] = {
	[DISK_ENGINE_AUTO]	= "auto",
	[DISK_ENGINE_IO_URING]	= "io_uring",
	[DISK_ENGINE_AIO]	= "aio",
	[DISK_ENGINE_SYNC]	= "sync",
};

const char *disk__engine_str(enum disk_engine e)
{
	if ((unsigned int)e >= ARRAY_SIZE(engine_names))
		return "?";
	return engine_names[e];
}

/* Whether the @n bytes at @p are exactly the string @word. */
static bool word_is(const char *p, size_t n, const char *word)
{
	return strlen(word) == n && !memcmp(p, word, n);
}

/* Decimal digits only (no sign, no 0x), a power of two in range. */
static int parse_queue_size(const char *p, size_t n, unsigned int *out)
{
	unsigned int v = 0;
	size_t i;

	if (!n || n > 5)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(p[i] - '0');
	}
	if (v < DISK_QUEUE_SIZE_MIN || v > DISK_QUEUE_SIZE_MAX || (v & (v - 1)))
		return -EINVAL;
	*out = v;
	return 0;
}

int disk__parse_opts(const char *arg, struct disk_opts *o, struct lkvm_err *err)
{
	const char *p, *end;
	size_t n;

	memset(o, 0, sizeof(*o));
	o->engine = DISK_ENGINE_AUTO;
	if (!arg)
		arg = "";

	end = strchrnul(arg, ',');
	n = (size_t)(end - arg);
	if (!n)
		return seterr(err, EINVAL,
			      "-d '%s': empty path; use -d PATH[,ro][,direct][,engine=E][,queue-size=N]",
			      arg);
	if (n >= sizeof(o->path))
		return seterr(err, ENAMETOOLONG, "-d: path longer than %zu bytes",
			      sizeof(o->path) - 1);
	memcpy(o->path, arg, n);
	o->path[n] = '\0';

	for (p = end; *p; p = end) {
		p++;
		end = strchrnul(p, ',');
		n = (size_t)(end - p);
		if (!n)
			return seterr(err, EINVAL, "-d %s: empty option (stray comma?); %s", arg,
				      DISK_OPTS_HELP);
		if (word_is(p, n, "ro")) {
			o->ro = true;
		} else if (word_is(p, n, "direct")) {
			o->direct = true;
		} else if (word_is(p, n, "fixed-buffers")) {
			o->fixed_buffers = true;
		} else if (n >= 7 && !memcmp(p, "engine=", 7)) {
			unsigned int e;

			for (e = 0; e < ARRAY_SIZE(engine_names); e++)
				if (word_is(p + 7, n - 7, engine_names[e]))
					break;
			if (e == ARRAY_SIZE(engine_names))
				return seterr(err, EINVAL,
					      "-d %s: unknown engine '%.*s'; valid engines: auto, io_uring, aio, sync",
					      arg, (int)(n - 7), p + 7);
			o->engine = (enum disk_engine)e;
		} else if (n >= 11 && !memcmp(p, "queue-size=", 11)) {
			if (parse_queue_size(p + 11, n - 11, &o->queue_size))
				return seterr(err, EINVAL,
					      "-d %s: queue-size '%.*s' is not a power of two from %u to %u",
					      arg, (int)(n - 11), p + 11, DISK_QUEUE_SIZE_MIN,
					      DISK_QUEUE_SIZE_MAX);
		} else {
			return seterr(err, EINVAL, "-d %s: unknown option '%.*s'; %s", arg, (int)n,
				      p, DISK_OPTS_HELP);
		}
	}
	return 0;
}

static bool is_pow2(u64 x)
{
	return x && !(x & (x - 1));
}

/*
 * The kernel's O_DIRECT alignment for @fd (Linux >= 6.1 files, >= 6.11
 * block devices); zeroes when it does not say.
 */
static void dio_alignment(int fd, u32 *offset_align, u32 *mem_align)
{
	struct statx stx;

	*offset_align = 0;
	*mem_align = 0;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN)) {
		*offset_align = stx.stx_dio_offset_align;
		*mem_align = stx.stx_dio_mem_align;
	}
}

/* Which filesystem a regular file is on: memory-backed ones run the sync engine inline. */
static void disk_fs_type(struct disk *d)
{
	struct statfs sfs;

	d->fs_name = "a disk filesystem";
	if (fstatfs(d->fd, &sfs))
		return;
	switch ((unsigned long)sfs.f_type) {
	case TMPFS_MAGIC:
		d->fs_name = "tmpfs";
		d->memfs = true;
		break;
	case RAMFS_MAGIC:
		d->fs_name = "ramfs";
		d->memfs = true;
		break;
	}
}

/* Fills d->size, blksz, mem_align and blockdev from the open fd. */
static int disk_probe(struct disk *d, const char *path, struct lkvm_err *err)
{
	u32 dio_off, dio_mem;
	unsigned int pbs;
	struct stat st;
	int lbs;

	if (fstat(d->fd, &st) < 0)
		return seterr(err, errno, "disk %s: fstat: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return seterr(err, EISDIR,
			      "disk %s: is a directory; -d takes an image file or a block device",
			      path);

	dio_alignment(d->fd, &dio_off, &dio_mem);
	if (S_ISBLK(st.st_mode)) {
		d->blockdev = true;
		if (ioctl(d->fd, BLKGETSIZE64, &d->size) < 0)
			return seterr(err, errno, "disk %s: ioctl BLKGETSIZE64: %s", path,
				      strerror(errno));
		if (ioctl(d->fd, BLKSSZGET, &lbs) < 0)
			return seterr(err, errno, "disk %s: ioctl BLKSSZGET: %s", path,
				      strerror(errno));
		d->blksz = (u32)MAX(lbs, 512);
		if (d->direct && dio_off > d->blksz)
			d->blksz = dio_off;
		if (ioctl(d->fd, BLKPBSZGET, &pbs) == 0)
			d->pbsz = pbs;
	} else if (S_ISREG(st.st_mode)) {
		disk_fs_type(d);
		d->size = (u64)st.st_size;
		d->blksz = 512;
		/*
		 * Without STATX_DIOALIGN, the filesystem block size (capped at
		 * a page) is an O_DIRECT alignment every filesystem accepts.
		 */
		if (!dio_off)
			dio_off = st.st_blksize > 0 && st.st_blksize < 4096 ? (u32)st.st_blksize : 4096;
		if (d->direct)
			d->blksz = MAX(d->blksz, dio_off);
		d->pbsz = st.st_blksize > 0 ? (u32)MIN(st.st_blksize, (blksize_t)4096) : 0;
	} else {
		return seterr(err, EINVAL, "disk %s: not a regular file or a block device", path);
	}

	if (!is_pow2(d->blksz) || d->blksz > 64 * SZ_KiB)
		return seterr(err, EINVAL, "disk %s: unsupported logical block size %u", path,
			      d->blksz);
	/* Anything odd (not a power of two, below a logical block, huge): the logical block. */
	if (!is_pow2(d->pbsz) || d->pbsz < d->blksz || d->pbsz > 64 * SZ_KiB)
		d->pbsz = d->blksz;
	d->mem_align = 1;
	if (d->direct)
		d->mem_align = is_pow2(dio_mem) && dio_mem <= d->blksz ? dio_mem : d->blksz;
	return 0;
}

static int disk_open_fd(struct disk *d, const char *path, struct lkvm_err *err)
{
	int flags = (d->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK;

	/* O_NONBLOCK only so that a FIFO cannot hang the open; cleared below. */
	if (d->direct)
		flags |= O_DIRECT;
	d->fd = open(path, flags);
	if (d->fd < 0) {
		int e = errno;

		if (e == EISDIR)
			return seterr(err, e,
				      "disk %s: is a directory; -d takes an image file or a block device",
				      path);
		if ((e == EACCES || e == EROFS || e == EPERM) && !d->ro)
			return seterr(err, e, "disk %s: %s (add ,ro to use it read-only)", path,
				      strerror(e));
		if (e == EINVAL && d->direct)
			return seterr(err, e,
				      "disk %s: its filesystem does not support O_DIRECT (drop ,direct)",
				      path);
		return seterr(err, e, "disk %s: %s", path, strerror(e));
	}
	/* io_uring would fail -EAGAIN instead of waiting on an O_NONBLOCK file. */
	flags = fcntl(d->fd, F_GETFL);
	if (flags < 0 || fcntl(d->fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		return seterr(err, errno, "disk %s: fcntl: %s", path, strerror(errno));
	return 0;
}

/*
 * One writer, or any number of readers, per image (as QEMU does): an open
 * file description lock (fcntl(2) F_OFD_SETLK) on the whole file or
 * device node, exclusive for a writable disk, shared for ,ro.  Unlike a
 * POSIX lock it conflicts between two open()s in one process too, so
 * "-d x -d x" is refused like a second lkvm on x; it goes away with the
 * fd.  The lock is advisory: it binds lkvm, QEMU and whoever else asks.
 * A filesystem without locks (ENOLCK: NFS without lockd) leaves the disk
 * unlocked (disk__locked()).
 */
static int disk_lock(struct disk *d, const char *path, struct lkvm_err *err)
{
	struct flock fl = { .l_type = d->ro ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };
	struct flock who = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int e;

	if (!fcntl(d->fd, F_OFD_SETLK, &fl)) {
		d->locked = true;
		return 0;
	}
	e = errno;
	if (e == ENOLCK || e == EOPNOTSUPP || e == ENOSYS || e == EINVAL)
		return 0;	/* EINVAL: a kernel before OFD locks (3.15) */
	if (e != EAGAIN && e != EACCES)
		return seterr(err, e, "disk %s: fcntl(F_OFD_SETLK): %s", path, strerror(e));
	/* Who is in the way?  OFD locks have no pid: the type is all we learn. */
	if (!fcntl(d->fd, F_OFD_GETLK, &who) && who.l_type == F_RDLCK)
		return seterr(err, EBUSY,
			      "disk %s: another process (or another -d of this VM) has it open "
			      "read-only, and a writable disk must be its only user: add ,ro "
			      "here too, or stop the other VM", path);
	return seterr(err, EBUSY,
		      "disk %s: another process (or another -d of this VM) has it open for "
		      "writing: use ,ro on both, or stop the other VM", path);
}

static int try_engine(struct disk *d, const struct disk_engine_ops *ops, const char *path,
		      struct lkvm_err *err)
{
	struct lkvm_err e = { "" };
	int ret;

	d->native_ops = 0;
	ret = ops->init(d, &e);
	if (ret)
		return seterr(err, -ret, "disk %s: engine=%s: %s", path, ops->name,
			      e.msg[0] ? e.msg : strerror(-ret));
	d->ops = ops;
	return 0;
}

/*
 * AUTO, by what the disk is.  A file on tmpfs/ramfs: the sync engine,
 * inline -- each request is a memory copy, cheaper done at once on the
 * queue's thread than handed to any engine and waited for.  A block
 * device or a file on a disk: io_uring wherever the kernel lets us have a
 * ring, for requests in flight while the device works; Linux AIO only for
 * O_DIRECT, since buffered io_submit() does the I/O before returning and
 * would stall the I/O thread; else the thread pool.
 */
static int start_engine(struct disk *d, enum disk_engine engine, const char *path,
			struct lkvm_err *err)
{
	const char *what = d->blockdev ? "a block device" : "an image file";
	int r;

	switch (engine) {
	case DISK_ENGINE_IO_URING:
		r = try_engine(d, &disk_io_uring_ops, path, err);
		break;
	case DISK_ENGINE_AIO:
		r = try_engine(d, &disk_aio_ops, path, err);
		break;
	case DISK_ENGINE_SYNC:
		r = try_engine(d, &disk_sync_ops, path, err);
		break;
	case DISK_ENGINE_AUTO:
		if (d->memfs && !try_engine(d, &disk_sync_ops, path, NULL)) {
			snprintf(d->why, sizeof(d->why),
				 "auto: the image is on %s (memory): I/O inline on the queue's thread",
				 d->fs_name);
			return 0;
		}
		if (!try_engine(d, &disk_io_uring_ops, path, NULL)) {
			snprintf(d->why, sizeof(d->why), "auto: %s%s%s: asynchronous, in flight at once",
				 what, d->blockdev ? "" : " on ", d->blockdev ? "" : d->fs_name);
			return 0;
		}
		if (d->direct && !try_engine(d, &disk_aio_ops, path, NULL)) {
			snprintf(d->why, sizeof(d->why), "auto: %s, direct, and no io_uring here", what);
			return 0;
		}
		r = try_engine(d, &disk_sync_ops, path, err);
		if (!r)
			snprintf(d->why, sizeof(d->why),
				 "auto: %s, no io_uring here%s: a thread pool", what,
				 d->direct ? " nor Linux AIO" : " and buffered");
		return r;
	default:
		return seterr(err, EINVAL, "disk %s: unknown engine %d", path, (int)engine);
	}
	if (!r)
		snprintf(d->why, sizeof(d->why), "engine=%s%s", d->ops->name,
			 d->inline_io ? ", inline: the image is in memory" : "");
	return r;
}

int disk__open(const struct disk_opts *o, unsigned int queue_depth, struct disk **out,
	       struct lkvm_err *err)
{
	struct disk *d;
	unsigned int i;
	int ret;

	if (!o->path[0])
		return seterr(err, EINVAL, "disk: empty path");
	if (queue_depth < 1 || queue_depth > DISK_MAX_DEPTH)
		return seterr(err, EINVAL, "disk %s: queue depth %u is not in 1..%u", o->path,
			      queue_depth, DISK_MAX_DEPTH);

	d = calloc(1, sizeof(*d));
	if (!d)
		return seterr(err, ENOMEM, "disk %s: out of memory", o->path);
	d->fd = -1;
	d->efd = -1;
	d->ro = o->ro;
	d->direct = o->direct;
	d->depth = queue_depth;

	ret = disk_open_fd(d, o->path, err);
	if (ret)
		goto fail;
	ret = disk_probe(d, o->path, err);
	if (ret)
		goto fail;
	ret = disk_lock(d, o->path, err);
	if (ret)
		goto fail;

	d->pool_batch_tail = &d->pool_batch;
	d->local_tail = &d->local;
	d->slots = calloc(queue_depth, sizeof(*d->slots));
	/* An array of pointers: a pointer's size is meant. */
	/* NOLINTNEXTLINE(bugprone-sizeof-expression) */
	d->reaped = calloc(queue_depth, sizeof(*d->reaped));
	if (!d->slots || !d->reaped) {
		ret = seterr(err, ENOMEM, "disk %s: out of memory", o->path);
		goto fail;
	}
	for (i = queue_depth; i-- > 0;) {
		d->slots[i].idx = i;
		d->slots[i].next = d->free;
		d->free = &d->slots[i];
	}

	d->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->efd < 0) {
		ret = seterr(err, errno, "disk %s: eventfd: %s", o->path, strerror(errno));
		goto fail;
	}

	ret = start_engine(d, o->engine, o->path, err);
	if (ret)
		goto fail;
	ret = disk_pool_start(d, MIN(queue_depth, d->ops == &disk_sync_ops ?
					 DISK_POOL_THREADS : DISK_HELPER_THREADS), err);
	if (ret) {
		d->ops->stop(d);
		goto fail;
	}
	*out = d;
	return 0;

fail:
	if (d->efd >= 0)
		close(d->efd);
	if (d->fd >= 0)
		close(d->fd);
	free(d->reaped);
	free(d->slots);
	free(d);
	return ret;
}

void disk__plug(struct disk *d)
{
	d->plugged = true;
}

/* Makes the completion eventfd readable (once until the next reap reads it). */
static void disk_wake(struct disk *d)
{
	u64 one = 1;

	if (d->woken)
		return;
	d->woken = true;
	d->stats.syscalls++;
	if (write(d->efd, &one, sizeof(one)) < 0) {
		/* The counter is full: it is readable anyway. */
	}
}

void disk_slot_local(struct disk *d, struct disk_slot *s)
{
	s->next = NULL;
	*d->local_tail = s;
	d->local_tail = &s->next;
	if (!d->plugged && !d->reaping)
		disk_wake(d);
}

void disk__unplug(struct disk *d)
{
	if (!d->plugged)
		return;
	d->plugged = false;
	if (d->ops->commit)
		d->ops->commit(d);
	disk_pool_commit(d);
	/* Finished inline and not taken with disk__reap_local(): the reap is the eventfd's. */
	if (d->local && !d->reaping)
		disk_wake(d);
}

void disk__close(struct disk *d)
{
	if (!d)
		return;
	disk__drain(d, NULL, NULL);
	disk_pool_stop(d);
	d->ops->stop(d);
	close(d->efd);
	close(d->fd);
	free(d->reaped);
	free(d->slots);
	free(d);
}

/* Checks @r against @d; on success *@len is its length in bytes. */
static int disk_validate(const struct disk *d, const struct disk_req *r, u64 *len)
{
	u64 n = 0, end;
	unsigned int i;

	switch (r->op) {
	case DISK_OP_READ:
	case DISK_OP_WRITE:
		if (r->iovcnt > IOV_MAX || (r->iovcnt && !r->iov))
			return -EINVAL;
		for (i = 0; i < r->iovcnt; i++) {
			if (!add_ok(n, r->iov[i].iov_len, &n) || n > INT_MAX)
				return -EINVAL;
			if (d->direct && (!IS_ALIGNED((uintptr_t)r->iov[i].iov_base, d->mem_align) ||
					  !IS_ALIGNED(r->iov[i].iov_len, d->blksz)))
				return -EINVAL;
		}
		break;
	case DISK_OP_FLUSH:
		*len = 0;
		return 0;
	case DISK_OP_DISCARD:
	case DISK_OP_WRITE_ZEROES:
		n = r->len;
		break;
	default:
		return -EINVAL;
	}
	if (d->ro && r->op != DISK_OP_READ)
		return -EROFS;
	if (!add_ok(r->offset, n, &end) || end > d->size)
		return -ERANGE;
	if (d->direct && (!IS_ALIGNED(r->offset, d->blksz) || !IS_ALIGNED(n, d->blksz)))
		return -EINVAL;
	*len = n;
	return 0;
}

int disk__submit(struct disk *d, struct disk_req *r)
{
	struct disk_slot *s;
	u64 len;
	int ret;

	ret = disk_validate(d, r, &len);
	if (!ret && !d->free)
		ret = -EAGAIN;
	r->result = ret;
	if (ret)
		return ret;

	s = d->free;
	d->free = s->next;
	s->next = NULL;
	s->req = r;
	s->len = len;
	s->done = 0;
	s->result = 0;
	d->inflight++;
	d->stats.requests++;

	/* Zero-length transfers are no-ops the kernel might still refuse. */
	if ((len || r->op == DISK_OP_FLUSH) && (d->native_ops & BIT(r->op)) &&
	    !d->ops->submit(d, s))
		return 0;
	disk_pool_queue(d, s);
	return 0;
}

static void slot_finish(struct disk *d, struct disk_slot *s, int result)
{
	struct disk_req *r = s->req;

	if (r->op == DISK_OP_FLUSH) {
		d->stats.flushes++;
		d->stats.flush_errors += result < 0;
	}
	r->result = result;
	d->stats.completions++;
	d->reaped[d->nreaped++] = r;
	s->req = NULL;
	s->next = d->free;
	d->free = s;
	d->inflight--;
}

void disk_slot_end(struct disk *d, struct disk_slot *s, long res)
{
	enum disk_op op = s->req->op;

	if (res == -EAGAIN || res == -EINTR)
		goto retry;
	if ((op == DISK_OP_READ || op == DISK_OP_WRITE) && res >= 0) {
		/* Short: the pool continues, and calls a 0-byte read EOF (-EIO). */
		if ((u64)res < s->len - s->done) {
			s->done += (u64)res;
			goto retry;
		}
		s->done = s->len;
		res = (long)s->len;
	}
	if (op == DISK_OP_WRITE_ZEROES && (res == -EOPNOTSUPP || res == -EINVAL)) {
		/* The pool knows the fallbacks; stop asking the engine. */
		d->native_ops &= ~(unsigned int)BIT(DISK_OP_WRITE_ZEROES);
		goto retry;
	}
	slot_finish(d, s, (int)res);
	return;
retry:
	disk_pool_queue(d, s);
}

int disk__completion_fd(const struct disk *d)
{
	return d->efd;
}

/*
 * Hands d->reaped, and what finished inline, to @done -- again while the
 * callbacks' own submissions finish inline -- and returns how many.
 */
static unsigned int reap_finished(struct disk *d, void (*done)(struct disk_req *r, void *ctx),
				  void *ctx)
{
	unsigned int i, cnt, n = 0;

	d->reaping = true;
	do {
		struct disk_slot *s = d->local, *next;

		d->local = NULL;
		d->local_tail = &d->local;
		for (; s; s = next) {
			next = s->next;
			slot_finish(d, s, s->result);
		}
		cnt = d->nreaped;
		for (i = 0; i < cnt; i++)
			if (done)
				done(d->reaped[i], ctx);
		d->nreaped = 0;
		n += cnt;
	} while (d->local);
	d->reaping = false;
	d->stats.reaps += n > 0;
	return n;
}

unsigned int disk__reap(struct disk *d, void (*done)(struct disk_req *r, void *ctx), void *ctx)
{
	struct disk_slot *s, *next;
	u64 count;

	d->reaping = true;	/* what the unplug finishes inline is reaped here */
	disk__unplug(d);
	/* Consume the wakeup first, so a completion racing with us re-arms it. */
	d->stats.syscalls++;
	if (read(d->efd, &count, sizeof(count)) < 0) {
		/* EAGAIN: no new wakeup, but a previous pass may have left work. */
	}
	d->woken = false;
	if (d->ops->harvest)
		d->ops->harvest(d);
	for (s = disk_pool_take_done(d); s; s = next) {
		next = s->next;
		slot_finish(d, s, s->result);
	}
	return reap_finished(d, done, ctx);
}

unsigned int disk__reap_local(struct disk *d, void (*done)(struct disk_req *r, void *ctx),
			      void *ctx)
{
	if (!d->local)
		return 0;
	return reap_finished(d, done, ctx);
}

int disk__drain_until(struct disk *d, u64 deadline_ns,
		      void (*done)(struct disk_req *r, void *ctx), void *ctx)
{
	struct pollfd pfd = { .fd = d->efd, .events = POLLIN };

	for (;;) {
		u64 now;

		disk__reap(d, done, ctx);
		disk__unplug(d);	/* what done() submitted */
		if (!d->inflight)
			return 0;
		now = now_ns();
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		/* At most 100 ms: an io_uring submission may be waiting for a retry. */
		poll(&pfd, 1, (int)MIN((deadline_ns - now + 999999) / 1000000, 100ULL));
	}
}

unsigned int disk__drain(struct disk *d, void (*done)(struct disk_req *r, void *ctx), void *ctx)
{
	struct pollfd pfd = { .fd = d->efd, .events = POLLIN };
	unsigned int n = 0;

	for (;;) {
		n += disk__reap(d, done, ctx);
		disk__unplug(d);	/* what done() submitted */
		if (!d->inflight)
			return n;
		/* Bounded: an io_uring submission may be waiting for a retry. */
		poll(&pfd, 1, 100);
	}
}

unsigned int disk__inflight(const struct disk *d)
{
	return d->inflight;
}

int disk__flush(struct disk *d)
{
	int r = 0;

	if (d->ro)
		return 0;
	d->stats.flushes++;
	d->stats.syscalls++;
	if (fdatasync(d->fd)) {
		r = -errno;
		d->stats.flush_errors++;
	}
	return r;
}

void disk__stats(const struct disk *d, struct disk_stats *st)
{
	*st = d->stats;
	st->syscalls += disk_pool_syscalls(d);
}

int disk__register_mem(struct disk *d, const struct iovec *mem, unsigned int n)
{
	int r;

	if (!d->ops->register_mem)
		return -EOPNOTSUPP;
	if (d->mem_registered || d->inflight || !n)
		return -EINVAL;
	r = d->ops->register_mem(d, mem, n);
	d->mem_registered = !r;
	return r;
}

bool disk__mem_registered(const struct disk *d)
{
	return d->mem_registered;
}

const char *disk__engine_name(const struct disk *d)
{
	return d->ops->name;
}

const char *disk__engine_why(const struct disk *d)
{
	return d->why;
}

bool disk__inline(const struct disk *d)
{
	return d->inline_io;
}

u64 disk__size(const struct disk *d)
{
	return d->size;
}

u32 disk__block_size(const struct disk *d)
{
	return d->blksz;
}

u32 disk__phys_block_size(const struct disk *d)
{
	return d->pbsz;
}

u32 disk__mem_align(const struct disk *d)
{
	return d->mem_align;
}

bool disk__readonly(const struct disk *d)
{
	return d->ro;
}

bool disk__is_blockdev(const struct disk *d)
{
	return d->blockdev;
}

bool disk__locked(const struct disk *d)
{
	return d->locked;
}
