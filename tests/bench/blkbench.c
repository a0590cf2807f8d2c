// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkbench: the guest half of lkvm's virtio-blk benchmark (make bench).
 * Runs inside an lkvm guest on a block device opened with O_DIRECT, so
 * every request reaches the virtio-blk device, and measures, one
 * time-bounded phase after another: 4 KiB random reads and writes (IOPS)
 * and sequential reads and writes of --seq-bs requests (MB/s, 10^6 B/s).
 *
 * Queue depth comes from Linux AIO (io_setup/io_submit/io_getevents, raw
 * syscalls): on an O_DIRECT block device it is truly asynchronous, a
 * single thread keeps exactly N requests in flight, and it costs the guest
 * far less CPU per request than N threads blocking in pread() would on a
 * one-vCPU guest (no context switch per request).  That matters because
 * the guest's own CPU shows up on the host as lkvm's vCPU thread: the
 * less of it, the more clearly the host side's cost per request stands
 * out.  It needs no library, unlike io_uring (liburing), and no setup the
 * guest kernel might forbid (io_uring_disabled).
 *
 * Output, on stdout (the guest console), one line each:
 *   BENCH: start dev=D size=BYTES secs=S qd=N seq_qd=N seq_bs=BYTES
 *   BENCH: begin phase=P
 *   BENCH: end phase=P bs=B qd=N ops=N bytes=N nsecs=N reqs=N irqs=N iops=X mbps=X
 *   BENCH: done
 *   BENCH: error phase=P what=... (and exit status 1)
 * The begin and end lines are markers: the host samples lkvm's CPU time
 * when it reads them.  Each is drained out of the UART (tcdrain) and
 * followed by --pause-ms of idle before the next I/O, so that the host's
 * window covers the phase.  ops counts this program's requests; reqs
 * counts the requests the device completed (/sys/block/NAME/stat: the
 * block layer splits big requests at the device's limits); irqs counts the
 * guest's virtio interrupts (/proc/interrupts lines naming virtio).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "blkbench.h"

struct bench {
	const struct bench_opts *o;
	int fd;
	unsigned long long size;	/* bytes, a multiple of 4096 */
	char statpath[128];		/* /sys/block/NAME/stat, or "" */
	aio_context_t ctx;
	unsigned int nslots;
	struct iocb *iocbs;
	struct iocb **iocbp;
	struct io_event *events;
	unsigned char *bufs;		/* nslots buffers of the biggest request */
	unsigned long long rng;
};

/* Completed reads + writes of the device, or 0 without a stat file. */
static unsigned long long dev_requests(const struct bench *b)
{
	unsigned long long f[8] = { 0 };
	FILE *f_stat;
	int n;

	if (!b->statpath[0])
		return 0;
	f_stat = fopen(b->statpath, "r");
	if (!f_stat)
		return 0;
	/* Documentation/block/stat.rst: reads completed is field 1, writes field 5. */
	n = fscanf(f_stat, "%llu %llu %llu %llu %llu", &f[0], &f[1], &f[2], &f[3], &f[4]);
	fclose(f_stat);
	return n == 5 ? f[0] + f[4] : 0;
}

/* The sum of every CPU's count on the /proc/interrupts lines naming virtio. */
static unsigned long long virtio_irqs(void)
{
	unsigned long long sum = 0;
	char line[1024];
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':'), *end;
		unsigned long long v;

		if (!p || !strstr(line, "virtio"))
			continue;
		for (p++;; p = end) {
			v = strtoull(p, &end, 10);
			if (end == p)
				break;
			sum += v;
		}
	}
	fclose(f);
	return sum;
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec;
}

/* A marker line, pushed out of the UART before we go on, then idle. */
static void marker(const struct bench *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void marker(const struct bench *b, const char *fmt, ...)
{
	struct timespec pause = {
		.tv_sec = b->o->pause_ms / 1000,
		.tv_nsec = (long)(b->o->pause_ms % 1000) * 1000000L,
	};
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	tcdrain(STDOUT_FILENO);	/* not a tty (a test on a file): nothing to wait for */
	while (nanosleep(&pause, &pause) && errno == EINTR)
		;
}

/* xorshift64*: fast, and good enough to spread offsets uniformly. */
static unsigned long long rnd(struct bench *b)
{
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return b->rng * 2685821657736338717ULL;
}

static int phase_error(enum bench_phase p, const char *what, long long res)
{
	printf("BENCH: error phase=%s what=%s res=%lld (%s)\n", bench__phase_name(p), what, res,
	       res < 0 ? strerror((int)-res) : "short transfer");
	fflush(stdout);
	return -1;
}

/*
 * Runs phase @p for --secs seconds: keeps qd requests in flight, stops
 * submitting at the deadline and waits for the rest.  Prints the end line.
 */
static int run_phase(struct bench *b, enum bench_phase p)
{
	const struct bench_opts *o = b->o;
	int seq = bench__phase_seq(p), rd = bench__phase_reads(p);
	unsigned int bs = seq ? o->seq_bs : BENCH_RAND_BS;
	unsigned int qd = seq ? o->seq_qd : o->qd;
	unsigned long long nblocks = b->size / bs, next_seq = 0;
	unsigned long long ops = 0, t0, t1, deadline, reqs0, reqs1, irq0, irq1;
	unsigned int inflight = 0, i;
	double secs;
	long r;

	if (!nblocks)
		return phase_error(p, "device-smaller-than-request", -EINVAL);
	if (qd > nblocks && seq)
		qd = (unsigned int)nblocks;

	marker(b, "BENCH: begin phase=%s\n", bench__phase_name(p));
	reqs0 = dev_requests(b);
	irq0 = virtio_irqs();
	t0 = now_ns();
	deadline = t0 + (unsigned long long)o->secs * 1000000000ULL;

	for (i = 0; i < qd; i++) {
		struct iocb *cb = &b->iocbs[i];

		memset(cb, 0, sizeof(*cb));
		cb->aio_data = i;
		cb->aio_fildes = (unsigned int)b->fd;
		cb->aio_lio_opcode = rd ? IOCB_CMD_PREAD : IOCB_CMD_PWRITE;
		cb->aio_buf = (unsigned long)(b->bufs + (size_t)i * o->seq_bs);
		cb->aio_nbytes = bs;
	}
	/* Each pass: (re)submit the free slots, then reap at least one. */
	unsigned int nfree = qd, *freelist = calloc(qd, sizeof(*freelist));

	if (!freelist)
		return phase_error(p, "calloc", -ENOMEM);
	for (i = 0; i < qd; i++)
		freelist[i] = i;
	for (;;) {
		int stopping = now_ns() >= deadline;

		if (!stopping && nfree) {
			for (i = 0; i < nfree; i++) {
				struct iocb *cb = &b->iocbs[freelist[i]];

				if (seq) {
					cb->aio_offset = (long long)(next_seq * bs);
					next_seq = (next_seq + 1) % nblocks;
				} else {
					cb->aio_offset = (long long)((rnd(b) % nblocks) * bs);
				}
				b->iocbp[i] = cb;
			}
			r = syscall(SYS_io_submit, b->ctx, (long)nfree, b->iocbp);
			if (r < 0 && errno != EAGAIN && errno != EINTR) {
				free(freelist);
				return phase_error(p, "io_submit", -errno);
			}
			if (r > 0) {
				/* Whatever was not taken goes back to the front of the list. */
				memmove(freelist, freelist + r, (nfree - (unsigned int)r) * sizeof(*freelist));
				nfree -= (unsigned int)r;
				inflight += (unsigned int)r;
			}
		}
		if (!inflight) {
			if (stopping)
				break;
			continue;
		}
		r = syscall(SYS_io_getevents, b->ctx, 1L, (long)inflight, b->events, NULL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			free(freelist);
			return phase_error(p, "io_getevents", -errno);
		}
		for (i = 0; i < (unsigned int)r; i++) {
			struct io_event *ev = &b->events[i];

			if (ev->res != (long long)bs) {
				free(freelist);
				return phase_error(p, rd ? "read" : "write", ev->res);
			}
			freelist[nfree++] = (unsigned int)ev->data;
			ops++;
		}
		inflight -= (unsigned int)r;
	}
	free(freelist);
	t1 = now_ns();
	reqs1 = dev_requests(b);
	irq1 = virtio_irqs();
	secs = (double)(t1 - t0) / 1e9;
	marker(b,
	       "BENCH: end phase=%s bs=%u qd=%u ops=%llu bytes=%llu nsecs=%llu reqs=%llu irqs=%llu "
	       "iops=%.0f mbps=%.2f\n",
	       bench__phase_name(p), bs, qd, ops, ops * bs, t1 - t0,
	       b->statpath[0] ? reqs1 - reqs0 : ops, irq1 - irq0, (double)ops / secs,
	       (double)ops * bs / secs / 1e6);
	return ops ? 0 : phase_error(p, "no-request-completed", 0);
}

static int setup(struct bench *b, const struct bench_opts *o)
{
	unsigned int maxqd = o->qd > o->seq_qd ? o->qd : o->seq_qd;
	const char *base;
	struct stat st;
	void *mem;

	b->o = o;
	b->rng = o->seed * 2 + 1;	/* xorshift must not start at 0 */
	b->fd = open(o->dev, O_RDWR | O_DIRECT);
	if (b->fd < 0) {
		printf("BENCH: error phase=setup what=open %s: %s\n", o->dev, strerror(errno));
		return -1;
	}
	if (fstat(b->fd, &st)) {
		printf("BENCH: error phase=setup what=fstat %s: %s\n", o->dev, strerror(errno));
		return -1;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(b->fd, BLKGETSIZE64, &b->size)) {
			printf("BENCH: error phase=setup what=BLKGETSIZE64 %s: %s\n", o->dev,
			       strerror(errno));
			return -1;
		}
		base = strrchr(o->dev, '/');
		base = base ? base + 1 : o->dev;
		snprintf(b->statpath, sizeof(b->statpath), "/sys/block/%s/stat", base);
		if (access(b->statpath, R_OK))
			b->statpath[0] = '\0';
	} else {
		b->size = (unsigned long long)st.st_size;
	}
	b->size &= ~(unsigned long long)(BENCH_RAND_BS - 1);

	/* Linux AIO: io_setup(2); aio_context_t must start at 0. */
	if (syscall(SYS_io_setup, (long)maxqd, &b->ctx)) {
		printf("BENCH: error phase=setup what=io_setup: %s\n", strerror(errno));
		return -1;
	}
	b->nslots = maxqd;
	b->iocbs = calloc(maxqd, sizeof(*b->iocbs));
	b->iocbp = calloc(maxqd, sizeof(*b->iocbp));
	b->events = calloc(maxqd, sizeof(*b->events));
	if (!b->iocbs || !b->iocbp || !b->events ||
	    posix_memalign(&mem, 4096, (size_t)maxqd * o->seq_bs)) {
		printf("BENCH: error phase=setup what=out-of-memory\n");
		return -1;
	}
	b->bufs = mem;
	/* Incompressible, non-zero data: nothing on the way can shortcut it. */
	for (size_t i = 0; i < (size_t)maxqd * o->seq_bs; i += 8) {
		unsigned long long v = rnd(b);

		memcpy(b->bufs + i, &v, 8);
	}
	return 0;
}

int main(int argc, char *argv[])
{
	struct bench_opts o;
	struct bench b = { .fd = -1 };
	char err[256];
	unsigned int i;
	int r;

	r = bench__parse(&o, argc, argv, err, sizeof(err));
	if (r) {
		fprintf(r < 0 ? stderr : stdout, "%s%s%s", r < 0 ? "blkbench: " : "",
			r < 0 ? err : "", r < 0 ? "\n" : "");
		fputs(bench__usage, r < 0 ? stderr : stdout);
		return r < 0 ? 2 : 0;
	}
	if (setup(&b, &o)) {
		fflush(stdout);
		return 1;
	}
	printf("BENCH: start dev=%s size=%llu secs=%u qd=%u seq_qd=%u seq_bs=%u\n", o.dev, b.size,
	       o.secs, o.qd, o.seq_qd, o.seq_bs);
	for (i = 0; i < o.nphases; i++)
		if (run_phase(&b, o.phases[i]))
			return 1;
	printf("BENCH: done\n");
	fflush(stdout);
	syscall(SYS_io_destroy, b.ctx);
	close(b.fd);
	return 0;
}
