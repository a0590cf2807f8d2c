/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The disk layer under virtio-blk: a raw image file or a host block device
 * behind one of three I/O engines, chosen per disk:
 *
 *   io_uring   one ring per disk (liburing); the default for block devices
 *              and files on disk filesystems where the kernel allows it (not
 *              blocked by seccomp or kernel.io_uring_disabled)
 *   aio        Linux AIO (libaio); only asynchronous with O_DIRECT, so AUTO
 *              picks it only for ",direct" disks when io_uring is missing
 *   sync       a small pool of threads doing preadv/pwritev/fdatasync/fallocate;
 *              on a file in tmpfs/ramfs (the default there) no pool: each
 *              request runs inside disk__submit(), a memory copy
 *
 * Requests are queued with disk__submit() and finish asynchronously: the
 * disk's completion eventfd becomes readable and disk__reap() hands each
 * finished request to a callback on the reaping thread.  Whatever an engine
 * cannot do natively (discard on a block device, a FLUSH the kernel's AIO
 * refuses, the rest of a short transfer) runs on a helper thread, so the
 * caller never blocks on I/O -- except with engine=aio on a buffered disk,
 * where the kernel itself performs io_submit() synchronously.
 *
 * Threads: disk__submit(), disk__reap(), disk__drain() and disk__close()
 * touch unlocked per-disk state (the ring, the request slots) and must not
 * run concurrently for one disk -- call them from one I/O thread, or
 * serialize them.  done() callbacks run on that thread and may call
 * disk__submit() and disk__plug() (not disk__reap(), disk__drain() or
 * disk__close()).  The
 * accessors and disk__completion_fd() may be called from any thread.
 * Different disks are independent.  The helper threads block all signals.
 */
#ifndef LKVM_DISK_H
#define LKVM_DISK_H

#include <limits.h>
#include <stdbool.h>
#include <sys/uio.h>

#include "lkvm/util.h"

enum disk_engine {
	DISK_ENGINE_AUTO,	/* io_uring, else aio (direct disks only), else sync */
	DISK_ENGINE_IO_URING,
	DISK_ENGINE_AIO,
	DISK_ENGINE_SYNC,
};

/* "-d PATH,queue-size=N": the bounds of N (virtio-blk's Queue Size). */
#define DISK_QUEUE_SIZE_MIN	4	/* header, one data segment, status, and a spare */
#define DISK_QUEUE_SIZE_MAX	1024	/* Linux's UIO_MAXIOV: one chain, one preadv() */

/*
 * What "-d PATH[,ro][,direct][,engine=auto|io_uring|aio|sync][,queue-size=N]
 * [,fixed-buffers]" says.  The path is copied in, so the options own no
 * memory and may be copied.
 */
struct disk_opts {
	char path[PATH_MAX];
	bool ro;		/* open O_RDONLY; writes, discards fail with -EROFS */
	bool direct;		/* O_DIRECT: bypass the host page cache */
	enum disk_engine engine;
	unsigned int queue_size;	/* 0: the device's default; else a power of 2 in MIN..MAX */
	bool fixed_buffers;	/* offer guest RAM to the engine (disk__register_mem()) */
};

/*
 * Parses the argument of -d into *@o (fully overwritten: defaults are
 * read-write, buffered, AUTO, default queue size).  The first
 * comma-separated word is the path (so a path cannot contain a comma); the
 * rest are options, later ones overriding earlier ones.  Returns 0, or
 * -EINVAL for an empty path, an empty, unknown or malformed option, an
 * unknown engine or a queue size that is not a power of two in
 * DISK_QUEUE_SIZE_MIN..DISK_QUEUE_SIZE_MAX (the message names the word
 * and lists the valid ones), -ENAMETOOLONG for a path of PATH_MAX bytes or
 * more.
 */
int disk__parse_opts(const char *arg, struct disk_opts *o, struct lkvm_err *err);

/* "auto", "io_uring", "aio", "sync"; "?" for a value out of range. */
const char *disk__engine_str(enum disk_engine e);

/* The virtio-blk request types (virtio 1.2 §5.2.6) this layer serves. */
enum disk_op {
	DISK_OP_READ,		/* into iov, at offset */
	DISK_OP_WRITE,		/* from iov, at offset */
	DISK_OP_FLUSH,		/* fdatasync: earlier completed writes are durable */
	DISK_OP_DISCARD,	/* [offset, offset + len) may read back as anything */
	DISK_OP_WRITE_ZEROES,	/* [offset, offset + len) reads back as zeroes */
};

/*
 * One request, owned by the caller, which must keep it, its iovec array
 * and the buffers that describes alive and untouched from a successful
 * disk__submit() until done() is called for it (a short transfer is
 * continued from the iovec array later).  The disk layer writes only
 * ->result.
 */
struct disk_req {
	enum disk_op op;
	u64 offset;		/* bytes; READ/WRITE/DISCARD/WRITE_ZEROES */
	u64 len;		/* bytes; DISCARD/WRITE_ZEROES only (READ/WRITE use iov) */
	struct iovec *iov;	/* READ/WRITE: at most IOV_MAX entries */
	unsigned int iovcnt;
	void *opaque;		/* the caller's, untouched */
	int result;		/* on completion: bytes (READ/WRITE), 0, or -errno */
};

struct disk;

/*
 * Opens and sizes the image or device @o->path and starts its engine, with
 * room for @queue_depth (1..16384) requests in flight.  The path must be a
 * regular file or a block device; the messages for a missing file, a
 * directory, a permission problem, a filesystem without O_DIRECT or an
 * engine the host lacks name the path and say what to change.  An
 * explicitly chosen engine that fails to start is an error; AUTO falls
 * back (io_uring -> aio if direct -> sync).
 *
 * The disk holds an OFD lock on @o->path until disk__close(): exclusive
 * if writable, shared if ro.  Another holder that conflicts -- another
 * process, or another disk__open() of the same file in this one -- makes
 * it fail with -EBUSY and a message that says what to do.
 *
 * Returns 0 with *@out set, or -errno with *@out untouched.
 */
int disk__open(const struct disk_opts *o, unsigned int queue_depth, struct disk **out,
	       struct lkvm_err *err);

/*
 * Waits for every request in flight to finish (without calling anyone
 * back: use disk__drain() first to see them), then closes the file and
 * frees @d.  Writes that completed are in the host's page cache; only a
 * FLUSH makes them durable.  NULL is a no-op.
 */
void disk__close(struct disk *d);

/*
 * Validates and queues @r.  Returns 0 if queued -- then done() will be
 * called exactly once for it from disk__reap() or disk__drain() -- or
 * -errno if not (r->result is set to the same value and there will be no
 * completion):
 *   -EINVAL  unknown op; iov NULL or more than IOV_MAX entries; a READ
 *            or WRITE above INT_MAX bytes; on a direct disk, an offset,
 *            length or segment length that is not a multiple of
 *            disk__block_size(), or a buffer not aligned to
 *            disk__mem_align()
 *   -ERANGE  [offset, offset + length) wraps around or ends past
 *            disk__size() (the file is not touched)
 *   -EROFS   WRITE, DISCARD or WRITE_ZEROES on a read-only disk
 *   -EAGAIN  queue_depth requests already in flight: reap some first
 * Zero-length requests are valid and complete with result 0.
 *
 * On completion r->result is the byte count for READ/WRITE (always the
 * full length: short transfers are continued until done), 0 for the
 * others, or -errno: -EIO if the file shrank below a read, -EOPNOTSUPP
 * for a DISCARD the filesystem or device cannot do (WRITE_ZEROES falls
 * back to writing zeroes instead), or whatever the host kernel said.
 */
int disk__submit(struct disk *d, struct disk_req *r);

/*
 * Batching: between disk__plug() and disk__unplug(), disk__submit()
 * validates and queues requests but tells the kernel (or the helper
 * threads) nothing; disk__unplug() hands over everything queued since in
 * one go -- one io_uring_enter(), one io_submit(), one locked append to
 * the pool.  Unplugged (the default), each disk__submit() goes at once.
 * Plugs do not nest.  disk__reap() unplugs first (a plug a done()
 * callback makes lasts until the caller's disk__unplug()); disk__drain()
 * and disk__drain_until() also unplug after each pass.  Same thread rules
 * as disk__submit().
 */
void disk__plug(struct disk *d);
void disk__unplug(struct disk *d);

/*
 * An eventfd (non-blocking) that is readable when disk__reap() may have
 * work; poll it, then call disk__reap(), which consumes it.  Owned by @d.
 */
int disk__completion_fd(const struct disk *d);

/*
 * Calls @done(r, @ctx) for each request that finished since the last
 * call, without blocking, and returns how many.  @done may be NULL to
 * drop them.
 */
unsigned int disk__reap(struct disk *d, void (*done)(struct disk_req *r, void *ctx), void *ctx);

/*
 * Blocks until no request is in flight, calling @done as disk__reap()
 * does (before disk__close()).  Returns how many.
 */
unsigned int disk__drain(struct disk *d, void (*done)(struct disk_req *r, void *ctx), void *ctx);

/*
 * disk__drain() that gives up at @deadline_ns (now_ns() time): for a
 * device reset, which must not hang its vCPU on a backing store that
 * hangs.  Returns 0 once nothing is in flight, -ETIMEDOUT if requests
 * still are at the deadline (reap the rest later: disk__reap()).
 */
int disk__drain_until(struct disk *d, u64 deadline_ns,
		      void (*done)(struct disk_req *r, void *ctx), void *ctx);

/*
 * disk__reap() for the requests that finished inside disk__submit() on
 * this thread (disk__inline() engines), without a system call: call it
 * after a batch of submissions and before disk__unplug(), which would
 * otherwise make the completion fd readable for them.  Returns how many.
 */
unsigned int disk__reap_local(struct disk *d, void (*done)(struct disk_req *r, void *ctx),
			      void *ctx);

/* Requests submitted and not yet reaped. */
unsigned int disk__inflight(const struct disk *d);

/*
 * fdatasync() now, on the calling thread: the writes that completed are
 * on stable storage when it returns 0 (for teardown: after disk__drain(),
 * before disk__close()).  A read-only disk returns 0 without a call.
 * Returns 0 or -errno (-EIO: the host lost writes).
 */
int disk__flush(struct disk *d);

/*
 * What a disk did, for tests and the exit report: where the time per
 * request goes (lkvm's own counters, no perf needed).
 */
struct disk_stats {
	u64 flushes;		/* fdatasyncs: FLUSH requests completed, disk__flush() calls */
	u64 flush_errors;	/* of which failed */
	u64 requests;		/* accepted by disk__submit() */
	u64 completions;	/* handed back by disk__reap()/disk__drain() */
	u64 reaps;		/* disk__reap() passes that handed back at least one */
	u64 engine_submits;	/* batches handed over: io_uring_enter, io_submit, a pool append */
	u64 pool_handoffs;	/* requests (or their rest) queued to the helper threads */
	u64 syscalls;		/* system calls the disk layer made for requests, all its threads */
	u64 fixed_buf_reqs;	/* READ/WRITEs that went with registered buffers (io_uring) */
};

/* Copies @d's counters (from the reaping thread, or once it is gone). */
void disk__stats(const struct disk *d, struct disk_stats *st);

/*
 * Offers the engine the host memory that request buffers will lie in
 * (guest RAM): io_uring registers it as fixed buffers (pinned once,
 * IORING_REGISTER_BUFFERS, in pieces of at most 1 GiB), so that a
 * single-buffer READ/WRITE inside it skips the per-request page pinning.
 * The memory must stay mapped, with the same pages, until disk__close():
 * a caller that gives pages back to the host (a balloon's MADV_DONTNEED)
 * must not register them.  Call before the first disk__submit().
 * Returns 0, or -errno with nothing registered (-EOPNOTSUPP: the engine
 * has no such thing; -ENOMEM: RLIMIT_MEMLOCK, say): the disk works as
 * before either way.
 */
int disk__register_mem(struct disk *d, const struct iovec *mem, unsigned int n);

/* Whether disk__register_mem() succeeded. */
bool disk__mem_registered(const struct disk *d);

/* "io_uring", "aio" or "sync": the engine that actually runs. */
const char *disk__engine_name(const struct disk *d);

/*
 * Why that engine, for the log: "engine=E" when asked for, else what AUTO
 * saw ("auto: the image is on tmpfs (memory): ...", "auto: a block
 * device: ...").  Owned by @d.
 */
const char *disk__engine_why(const struct disk *d);

/*
 * The engine does each request inside disk__submit(), on the calling
 * thread: the sync engine on a file in tmpfs or ramfs, where I/O is a
 * memory copy.  Its completions wait for disk__reap_local()/disk__reap().
 */
bool disk__inline(const struct disk *d);

/* Size in bytes (a partial last sector is the caller's to round off). */
u64 disk__size(const struct disk *d);

/*
 * Logical block size to advertise: BLKSSZGET for a block device, the
 * O_DIRECT offset alignment for a direct file, else 512.  A power of two.
 */
u32 disk__block_size(const struct disk *d);

/*
 * The unit the backing store writes without a read-modify-write, a power
 * of two >= disk__block_size() and <= 64 KiB: BLKPBSZGET for a block
 * device, the file's st_blksize (at most a page) for an image.
 */
u32 disk__phys_block_size(const struct disk *d);

/* Alignment that buffers need in memory: 1 unless the disk is direct. */
u32 disk__mem_align(const struct disk *d);

bool disk__readonly(const struct disk *d);

/* A host block device rather than a regular file. */
bool disk__is_blockdev(const struct disk *d);

/* Holds its lock (false only where the filesystem has no locks, e.g. NFS without lockd). */
bool disk__locked(const struct disk *d);

#endif /* LKVM_DISK_H */
