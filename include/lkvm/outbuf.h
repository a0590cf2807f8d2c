/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Console output that never blocks the guest: a bounded ring drained to a
 * host fd (lkvm's stdout) by a writer thread of its own.  The 8250 (on a
 * vCPU thread) and the virtio-console (on its I/O thread, under the
 * device lock) only copy bytes into the ring; only the writer thread ever
 * calls write(2) on the fd, so a reader that stops reading stalls that
 * thread and nothing else.  The fd is left as it is (no O_NONBLOCK: the
 * file description may be shared with a terminal or a parent shell).
 *
 * Policy:
 *   - While the reader reads, nothing is lost: a producer that finds the
 *     ring full waits for the writer (back-pressure, as a real UART's
 *     flow control would give), in order.
 *   - When the writer has made no progress for a while (the stall time,
 *     OUTBUF_STALL_MS for lkvm's console: the reader stopped reading), the
 *     output is "stalled": producers stop waiting and what does not fit in
 *     the ring is dropped and counted, until the writer gets something
 *     through again.  A producer so waits at most the stall time per
 *     stall, never longer.
 *   - If the fd fails (EPIPE: the reader is gone), everything from then on
 *     is dropped and counted.
 *   - outbuf__flush() waits for the ring to empty, giving up once the fd
 *     has taken nothing for a while; outbuf__free() then stops the writer,
 *     interrupting a write(2) still blocked with the wake signal.
 *
 * Threads: outbuf__write() and the accessors from any thread;
 * outbuf__flush() and outbuf__free() from the owner, once producers have
 * stopped.
 */
#ifndef LKVM_OUTBUF_H
#define LKVM_OUTBUF_H

#include <stddef.h>

#include "lkvm/util.h"

struct kvm;
struct outbuf;

/* lkvm's console: without progress for this long, the output counts as stalled. */
#define OUTBUF_STALL_MS		50
/* lkvm's console: 256 KiB of output waits for a slow reader. */
#define OUTBUF_CONSOLE_SIZE	(256 * SZ_KiB)

/*
 * A ring of @size bytes (> 0) drained to @fd (not owned, kept blocking or
 * not as it is) by a new writer thread, which blocks every signal but
 * @wake_sig.  The output counts as stalled after @stall_ms (> 0) without
 * progress (lkvm: OUTBUF_STALL_MS).  @wake_sig (0: none) must have a handler installed without
 * SA_RESTART (lkvm's vCPU kick signal): outbuf__free() sends it to
 * interrupt a write(2) the reader never lets finish.  Messages (a stall,
 * a failing fd) go through @kvm's log (may be NULL), prefixed "@name: ".
 * Returns 0 with *@out set, or -errno (no memory, no thread).
 */
int outbuf__new(int fd, size_t size, unsigned int stall_ms, int wake_sig, const struct kvm *kvm,
		const char *name, struct outbuf **out);

/*
 * Queues @len bytes at @buf for the fd, in order, and returns without
 * writing: at once if they fit in the ring, else after waiting for the
 * writer at most the stall time (and not at all while stalled); what
 * does not fit then is dropped and counted.  @ob NULL: discarded.
 */
void outbuf__write(struct outbuf *ob, const void *buf, size_t len);

/*
 * Waits until everything queued has been written, the fd has failed, the
 * fd has taken nothing for @idle_ms, or @max_ms have passed.  Returns 0
 * when the ring is empty, -EPIPE (or the fd's error) when it failed,
 * -ETIMEDOUT otherwise.
 */
int outbuf__flush(struct outbuf *ob, unsigned int idle_ms, unsigned int max_ms);

struct outbuf_stats {
	u64 written;		/* bytes the fd took */
	u64 dropped;		/* bytes lost: no room while stalled, a failed fd, left at free */
	u64 wait_ns;		/* time producers spent waiting for room (back-pressure) */
	size_t queued;		/* bytes in the ring (including a write in progress) */
	bool stalled;		/* no progress for the stall time with a full ring (or a flush) */
	int error;		/* the fd's errno once a write failed (EPIPE, ...), else 0 */
};

void outbuf__stats(struct outbuf *ob, struct outbuf_stats *st);

/*
 * Stops the writer (whatever is still queued is dropped: outbuf__flush()
 * first), joins it and frees @ob; the final counts go to *@st if not
 * NULL.  A writer blocked in write(2) is interrupted with the wake signal,
 * resent until it returns; one that cannot be interrupted within a second
 * is left behind with its ring (the process is exiting).  NULL: no-op.
 */
void outbuf__free(struct outbuf *ob, struct outbuf_stats *st);

#endif /* LKVM_OUTBUF_H */
