/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the disk core (disk/core.c) shares with its engines (io_uring.c,
 * aio.c) and the helper thread pool (sync.c); nothing outside disk/
 * includes this.
 *
 * A request in flight occupies a slot.  The core picks a route for it: the
 * engine, if the engine does that op natively (a bit in d->native_ops),
 * else the pool.  An engine that fails to queue a slot, or that finishes
 * one short, hands it back through disk_slot_end(), which sends it to the
 * pool to be retried or continued synchronously, so every engine gets the
 * same "full length or an error" result.  Slots, the free list and the
 * reaped array belong to the submitting/reaping thread; the pool's queues
 * are under its own lock.
 */
#ifndef LKVM_DISK_PRIV_H
#define LKVM_DISK_PRIV_H

#include <pthread.h>

#include "lkvm/disk.h"

#define DISK_MAX_DEPTH		16384	/* 16 queues of 1024 */
#define DISK_RING_MAX		4096	/* an engine's kernel queue; the pool takes the overflow */
#define DISK_POOL_THREADS	8	/* the sync engine's workers (at most) */
#define DISK_HELPER_THREADS	2	/* the other engines' helpers */

struct disk_slot {
	struct disk_req *req;
	u64 len;		/* bytes to move (READ/WRITE) or range length */
	u64 done;		/* bytes already moved: where a retry resumes */
	int result;		/* the pool's verdict */
	unsigned int idx;	/* index into d->slots, for engine arrays */
	struct disk_slot *next;	/* free list, pool queue or pool done list */
};

struct disk_engine_ops {
	const char *name;
	/* Starts the engine and sets the native_ops bits it can serve. */
	int (*init)(struct disk *d, struct lkvm_err *err);
	/* Stops it; nothing is in flight any more. */
	void (*stop)(struct disk *d);
	/*
	 * Queues @s (s->done == 0); 0, or -errno and the pool takes it.
	 * While d->plugged, it may keep @s to itself until commit().
	 */
	int (*submit)(struct disk *d, struct disk_slot *s);
	/*
	 * Hands the kernel what submit() kept back (NULL: submit() never
	 * keeps anything); what the kernel refuses goes to the pool.
	 */
	void (*commit)(struct disk *d);
	/* Passes each finished slot to disk_slot_end(); never blocks. */
	void (*harvest)(struct disk *d);
	/* disk__register_mem() (NULL: -EOPNOTSUPP). */
	int (*register_mem)(struct disk *d, const struct iovec *mem, unsigned int n);
};

struct disk_pool;

struct disk {
	int fd;
	int efd;		/* completion eventfd */
	u64 size;
	u32 blksz;
	u32 pbsz;		/* disk__phys_block_size() */
	u32 mem_align;
	bool ro, direct, blockdev;
	bool locked;		/* holds its OFD lock (shared if ro) */
	bool mem_registered;	/* disk__register_mem() */
	bool memfs;		/* a regular file on tmpfs or ramfs: its I/O is a memory copy */
	bool inline_io;		/* the engine runs requests inside disk__submit() */
	const char *fs_name;	/* "tmpfs", "ext4"...: for the engine's reason */
	char why[128];		/* disk__engine_why() */

	const struct disk_engine_ops *ops;
	void *engine;		/* the engine's own state */
	unsigned int native_ops;	/* BIT(DISK_OP_*) the engine does itself */
	struct disk_pool *pool;

	unsigned int depth;
	unsigned int inflight;
	bool plugged;			/* disk__plug(): engine and pool hold their hand-offs */
	bool reaping;			/* inside disk__reap()/disk__reap_local(): no wake-ups */
	bool woken;			/* we poked efd ourselves, and no reap has read it since */
	struct disk_slot *local, **local_tail;	/* finished inline, not yet reaped */
	struct disk_slot *pool_batch, **pool_batch_tail;	/* for the pool at unplug */
	struct disk_slot *slots;
	struct disk_slot *free;
	struct disk_req **reaped;	/* finished in this disk__reap() pass */
	unsigned int nreaped;
	struct disk_stats stats;	/* the reaping thread's */
};

extern const struct disk_engine_ops disk_io_uring_ops;
extern const struct disk_engine_ops disk_aio_ops;
extern const struct disk_engine_ops disk_sync_ops;

/*
 * An engine's result for @s: bytes moved (READ/WRITE) or 0, or -errno.
 * Finishes the request, or sends it to the pool when it came up short,
 * was refused with -EAGAIN/-EINTR, or was a WRITE_ZEROES the engine's
 * fallocate cannot do.  Only from harvest(), on the reaping thread.
 */
void disk_slot_end(struct disk *d, struct disk_slot *s, long res);

/*
 * An inline engine finished @s (s->result set) on the submitting thread:
 * it waits on d->local for the next reap.  Pokes the eventfd only if no
 * reap is under way or bound to follow (disk__unplug() pokes otherwise).
 */
void disk_slot_local(struct disk *d, struct disk_slot *s);

/* Runs @s to the end on the calling thread (the pool's body): its result. */
int disk_sync_run(struct disk *d, struct disk_slot *s);

/* Starts @nthreads workers (signals blocked) for @d. */
int disk_pool_start(struct disk *d, unsigned int nthreads, struct lkvm_err *err);

/* Joins the workers; the pool must be idle. */
void disk_pool_stop(struct disk *d);

/*
 * Runs @s (from s->done on) on a worker; the eventfd fires when done.
 * While d->plugged, @s waits on d->pool_batch for disk_pool_commit().
 */
void disk_pool_queue(struct disk *d, struct disk_slot *s);

/* Hands d->pool_batch to the workers: one lock, one wake-up. */
void disk_pool_commit(struct disk *d);

/* Takes the list of slots the workers finished (s->result set). */
struct disk_slot *disk_pool_take_done(struct disk *d);

/* System calls the workers made so far (any thread). */
u64 disk_pool_syscalls(const struct disk *d);

#endif /* LKVM_DISK_PRIV_H */
