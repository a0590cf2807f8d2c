// SPDX-License-Identifier: GPL-2.0-only
/*
 * The console's output ring and its writer thread (see lkvm/outbuf.h for
 * the policy).  The ring holds [head, head + len) modulo size; producers
 * append after it under the lock, the writer writes from head without the
 * lock (producers never touch those bytes) and only then advances head.
 * So a write(2) that blocks holds nothing anyone else needs.
 *
 * Messages about the output (stalled, flowing again, failed) are written
 * by the writer thread, never by a producer and never under the lock:
 * stderr may be the very pipe that stalled (2>&1), and a vCPU must not
 * wait for it either.
 *
 * The writer waits for POLLOUT before each write(2), and writes no more
 * than a writable pipe or terminal takes without blocking (a pipe has a
 * free page; a tty fewer than 256 bytes queued), so "no progress" means
 * "the fd has not been writable", however slowly its reader reads, and
 * the writer can be stopped through its eventfd.  A write(2) that blocks
 * all the same (another writer filled the pipe first) is what the wake
 * signal is for.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lkvm/log.h"
#include "lkvm/outbuf.h"
#include "lkvm/sandbox.h"

/* At most this much per write(2): what a writable pipe (a page) or tty takes at once. */
#define OUTBUF_CHUNK		4096
#define OUTBUF_CHUNK_TTY	256
#define NS_PER_MS		1000000ULL

/* What the writer has to tell (outbuf.report). */
#define REPORT_STALLED		BIT(0)
#define REPORT_FLOWING		BIT(1)
#define REPORT_FAILED		BIT(2)

struct outbuf {
	pthread_mutex_t lock;
	pthread_cond_t data;		/* for the writer: bytes queued, or stop */
	pthread_cond_t progress;	/* for producers, flush, free: the writer moved */
	int fd;
	size_t chunk;
	int wake_efd;		/* stop: wakes the writer's poll */
	int wake_sig;
	const struct kvm *kvm;
	char name[32];

	u8 *ring;
	size_t size, head, len;
	u64 progress_ns;	/* the writer's last completed write, or when work arrived */
	u64 stall_ns;
	bool stalled;
	unsigned int report;	/* REPORT_*: for the writer to log */
	bool stop, exited;
	int error;
	u64 written, dropped, wait_ns;
	pthread_t thread;
	struct log_ratelimit rl;
};

static void wait_until(pthread_cond_t *c, pthread_mutex_t *m, u64 deadline_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ns / 1000000000ULL),
		.tv_nsec = (long)(deadline_ns % 1000000000ULL),
	};

	pthread_cond_timedwait(c, m, &ts);
}

/* Marks @n bytes at the head written; under the lock. */
static void advance(struct outbuf *ob, size_t n)
{
	ob->head = (ob->head + n) % ob->size;
	ob->len -= n;
	ob->written += n;
	ob->progress_ns = now_ns();
	if (ob->stalled) {
		ob->stalled = false;
		ob->report |= REPORT_FLOWING;
	}
	pthread_cond_broadcast(&ob->progress);
}

/* The fd failed: nothing will be written any more; under the lock. */
static void fail(struct outbuf *ob, int e)
{
	ob->error = e;
	ob->dropped += ob->len;
	ob->len = 0;
	ob->report |= REPORT_FAILED;
	pthread_cond_broadcast(&ob->progress);
}

/* Logs what ob->report says; called with the lock held, drops it meanwhile. */
static void report(struct outbuf *ob)
{
	unsigned int what = ob->report;
	unsigned long long dropped = ob->dropped;
	int e = ob->error;

	ob->report = 0;
	pthread_mutex_unlock(&ob->lock);
	if (what & REPORT_STALLED)
		lkvm_log_ratelimited(ob->kvm, &ob->rl, LOG_WARN,
				     "%s: output not read for %llu ms: what does not fit in %zu KiB "
				     "is dropped", ob->name,
				     (unsigned long long)(ob->stall_ns / NS_PER_MS), ob->size / 1024);
	if (what & REPORT_FLOWING)
		lkvm_log_ratelimited(ob->kvm, &ob->rl, LOG_INFO,
				     "%s: output is read again (%llu bytes dropped so far)", ob->name,
				     dropped);
	if (what & REPORT_FAILED)
		lkvm_log(ob->kvm, LOG_WARN, "%s: %s; its output is dropped from now on", ob->name,
			 strerror(e));
	pthread_mutex_lock(&ob->lock);
}

/* Interrupts the writer's wait for the fd (an eventfd write: never blocks). */
static void wake_writer(struct outbuf *ob)
{
	u64 one = 1;
	ssize_t n __unused = write(ob->wake_efd, &one, sizeof(one));
}

/* Waits for @fd to take output, or for the wake eventfd; true if writable (or failed). */
static bool wait_writable(struct outbuf *ob)
{
	struct pollfd p[2] = {
		{ .fd = ob->fd, .events = POLLOUT },
		{ .fd = ob->wake_efd, .events = POLLIN },
	};

	if (poll(p, 2, -1) < 0)
		return false;
	if (p[1].revents & POLLIN) {
		u64 v;
		ssize_t n __unused = read(ob->wake_efd, &v, sizeof(v));

		return false;
	}
	/* POLLERR/POLLHUP/POLLNVAL: the write says what is wrong. */
	return p[0].revents != 0;
}

static void *writer(void *arg)
{
	struct outbuf *ob = arg;
	struct lkvm_err err = { "" };
	int denied;

	/* Polls, writes, its eventfd: what an I/O thread may do.  Unconfined, it writes nothing. */
	denied = sandbox__enter(SANDBOX_IO, &err);
	if (denied)
		lkvm_log(ob->kvm, LOG_ERROR, "%s: %s", ob->name, err.msg);
	pthread_mutex_lock(&ob->lock);
	if (denied)
		fail(ob, -denied);
	while (!ob->stop) {
		const u8 *p;
		size_t n;
		ssize_t r;
		int e;

		if (ob->report) {
			report(ob);
			continue;
		}
		if (!ob->len || ob->error) {
			pthread_cond_wait(&ob->data, &ob->lock);
			continue;
		}
		p = ob->ring + ob->head;
		n = MIN(MIN(ob->len, ob->size - ob->head), ob->chunk);
		pthread_mutex_unlock(&ob->lock);
		if (!wait_writable(ob)) {
			pthread_mutex_lock(&ob->lock);
			continue;
		}
		r = write(ob->fd, p, n);
		e = errno;
		pthread_mutex_lock(&ob->lock);
		if (r > 0)
			advance(ob, (size_t)r);
		else if (!r)
			fail(ob, EIO);
		else if (e != EINTR && e != EAGAIN)
			fail(ob, e);
		/* EINTR: outbuf__free() wants us to look at ->stop; EAGAIN: a non-blocking fd. */
	}
	ob->exited = true;
	pthread_cond_broadcast(&ob->progress);
	pthread_mutex_unlock(&ob->lock);
	return NULL;
}

int outbuf__new(int fd, size_t size, unsigned int stall_ms, int wake_sig, const struct kvm *kvm,
		const char *name, struct outbuf **out)
{
	struct outbuf *ob;
	pthread_condattr_t ca;
	sigset_t mask, old;
	struct stat st;
	int r;

	if (!size || !stall_ms)
		return -EINVAL;
	ob = calloc(1, sizeof(*ob));
	if (!ob)
		return -ENOMEM;
	ob->ring = malloc(size);
	if (!ob->ring) {
		free(ob);
		return -ENOMEM;
	}
	ob->wake_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ob->wake_efd < 0) {
		r = -errno;
		free(ob->ring);
		free(ob);
		return r;
	}
	ob->fd = fd;
	ob->chunk = fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) ? OUTBUF_CHUNK_TTY : OUTBUF_CHUNK;
	ob->size = size;
	ob->stall_ns = stall_ms * NS_PER_MS;
	ob->wake_sig = wake_sig;
	ob->kvm = kvm;
	snprintf(ob->name, sizeof(ob->name), "%s", name);
	pthread_mutex_init(&ob->lock, NULL);
	/* Deadlines are CLOCK_MONOTONIC, like now_ns(). */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ob->data, &ca);
	pthread_cond_init(&ob->progress, &ca);
	pthread_condattr_destroy(&ca);

	/* Signals belong to the main loop and the vCPUs; the writer takes only its wakeup. */
	sigfillset(&mask);
	if (wake_sig)
		sigdelset(&mask, wake_sig);
	pthread_sigmask(SIG_SETMASK, &mask, &old);
	r = pthread_create(&ob->thread, NULL, writer, ob);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		pthread_cond_destroy(&ob->progress);
		pthread_cond_destroy(&ob->data);
		pthread_mutex_destroy(&ob->lock);
		close(ob->wake_efd);
		free(ob->ring);
		free(ob);
		return -r;
	}
	*out = ob;
	return 0;
}

void outbuf__write(struct outbuf *ob, const void *buf, size_t len)
{
	const u8 *p = buf;

	if (!ob || !len)
		return;
	pthread_mutex_lock(&ob->lock);
	while (len && !ob->error && !ob->stop) {
		size_t room = ob->size - ob->len, tail, n;
		u64 now;

		if (room) {
			if (!ob->len)
				ob->progress_ns = now_ns();	/* the writer starts on it now */
			tail = (ob->head + ob->len) % ob->size;
			n = MIN(MIN(room, len), ob->size - tail);
			memcpy(ob->ring + tail, p, n);
			ob->len += n;
			p += n;
			len -= n;
			pthread_cond_signal(&ob->data);
			continue;
		}
		if (ob->stalled)
			break;
		now = now_ns();
		if (now - ob->progress_ns >= ob->stall_ns) {
			ob->stalled = true;
			ob->report |= REPORT_STALLED;
			wake_writer(ob);	/* it says so: we must not write to stderr */
			break;
		}
		wait_until(&ob->progress, &ob->lock, ob->progress_ns + ob->stall_ns);
		ob->wait_ns += now_ns() - now;
	}
	ob->dropped += len;
	pthread_mutex_unlock(&ob->lock);
}

int outbuf__flush(struct outbuf *ob, unsigned int idle_ms, unsigned int max_ms)
{
	u64 start = now_ns(), end = start + max_ms * NS_PER_MS;
	int r = 0;

	if (!ob)
		return 0;
	pthread_mutex_lock(&ob->lock);
	while (ob->len && !ob->error) {
		/* Idle time before the flush counts only against a stalled fd. */
		u64 base = ob->stalled ? ob->progress_ns : MAX(ob->progress_ns, start);
		u64 idle_end = base + idle_ms * NS_PER_MS;
		u64 deadline = MIN(idle_end, end);

		if (now_ns() >= deadline) {
			if (now_ns() >= idle_end)
				ob->stalled = true;
			r = -ETIMEDOUT;
			break;
		}
		wait_until(&ob->progress, &ob->lock, deadline);
	}
	if (ob->error)
		r = -ob->error;
	pthread_mutex_unlock(&ob->lock);
	return r;
}

static void fill_stats(const struct outbuf *ob, struct outbuf_stats *st)
{
	*st = (struct outbuf_stats){
		.written = ob->written,
		.dropped = ob->dropped,
		.wait_ns = ob->wait_ns,
		.queued = ob->len,
		.stalled = ob->stalled,
		.error = ob->error,
	};
}

void outbuf__stats(struct outbuf *ob, struct outbuf_stats *st)
{
	pthread_mutex_lock(&ob->lock);
	fill_stats(ob, st);
	pthread_mutex_unlock(&ob->lock);
}

void outbuf__free(struct outbuf *ob, struct outbuf_stats *st)
{
	u64 give_up = now_ns() + 1000 * NS_PER_MS;
	bool exited;

	if (!ob)
		return;
	pthread_mutex_lock(&ob->lock);
	ob->stop = true;
	pthread_cond_broadcast(&ob->data);
	wake_writer(ob);
	/*
	 * A blocked write(2) returns EINTR (or a short count) on a signal with
	 * a handler; resent, since one may land just before the writer blocks.
	 */
	while (!ob->exited && now_ns() < give_up) {
		pthread_mutex_unlock(&ob->lock);
		if (ob->wake_sig)
			pthread_kill(ob->thread, ob->wake_sig);
		pthread_mutex_lock(&ob->lock);
		if (!ob->exited)
			wait_until(&ob->progress, &ob->lock, now_ns() + 10 * NS_PER_MS);
	}
	exited = ob->exited;
	if (st) {
		fill_stats(ob, st);
		st->dropped += ob->len;
		st->queued = 0;
	}
	pthread_mutex_unlock(&ob->lock);
	if (!exited) {
		/* Still in write(2): it may read the ring, so the ring stays. */
		pthread_detach(ob->thread);
		return;
	}
	pthread_join(ob->thread, NULL);
	close(ob->wake_efd);
	pthread_cond_destroy(&ob->progress);
	pthread_cond_destroy(&ob->data);
	pthread_mutex_destroy(&ob->lock);
	free(ob->ring);
	free(ob);
}
