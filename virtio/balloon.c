// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-balloon, the traditional memory balloon (virtio 1.2 §5.5), with
 * memory statistics (VIRTIO_BALLOON_F_STATS_VQ) and free page reporting
 * (VIRTIO_BALLOON_F_REPORTING).  Not DEFLATE_ON_OOM: without it Linux's
 * driver takes the balloon's pages out of the guest's MemTotal, so the
 * guest (and whoever watches it) sees the memory go, and the host's target
 * holds even under the guest's memory pressure, as QEMU's default does.
 *
 *   inflateq, deflateq (§5.5.6.1)  arrays of le32 page frame numbers, in
 *       4 KiB units (VIRTIO_BALLOON_PFN_SHIFT) whatever the guest's page
 *       size.  Each frame is looked up with gmem__ptr(); one that is not
 *       guest RAM is ignored and counted (a rate-limited warning).  An
 *       inflated frame goes back to the host: MADV_DONTNEED on lkvm's
 *       private anonymous mapping of it, runs of adjacent frames in one
 *       call, trimmed to whole host pages, so lkvm's RSS falls; the guest
 *       reads zeros if it ever touches it again.  Deflated frames need
 *       nothing (no MUST_TELL_HOST): they are counted.
 *   statsq (§5.5.6.3)  the driver's buffer of (le16 tag, le64 value)
 *       pairs.  The device keeps the last buffer; to ask for fresh
 *       figures it gives the buffer back, and the driver refills it.
 *   reporting_vq (§5.5.6.7)  buffers that name free guest memory, each
 *       discarded like an inflated frame and given back at once.
 *
 * Queue numbers follow the features the driver accepted: inflateq 0,
 * deflateq 1, then statsq if STATS_VQ, then (FREE_PAGE_HINT, never
 * offered) reporting_vq if REPORTING, as Linux numbers them.
 *
 * The host side (lkvm balloon/stat, over the control socket) runs on
 * other threads: virtio_balloon__adjust() and __info() take the balloon's
 * own mutex and wake the device's I/O thread through an eventfd, which
 * raises the config-change interrupt (§5.5.6: the driver rereads
 * num_pages) or hands the stats buffer back, with the device lock held as
 * every device callback is.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_balloon.h>

#include "lkvm/gmem.h"
#include "lkvm/kvm.h"
#include "lkvm/virtio-dev.h"

#define BALLOON_QUEUE_MAX	256
#define BALLOON_CFG_SIZE	16	/* num_pages, actual, free_page_hint_cmd_id, poison_val */
#define BALLOON_CFG_ACTUAL	4
#define BALLOON_PAGE		(1ULL << VIRTIO_BALLOON_PFN_SHIFT)
/* Frames handled per chain; Linux sends at most 256 (VIRTIO_BALLOON_ARRAY_PFNS_MAX). */
#define BALLOON_MAX_PFNS	4096
#define BALLOON_STAT_SIZE	10	/* le16 tag, le64 val: packed */

enum balloon_role { ROLE_INFLATE, ROLE_DEFLATE, ROLE_STATS, ROLE_REPORT, ROLE_NONE };

struct balloon {
	struct virtio_dev vdev;
	size_t host_page;
	int wake_fd;		/* another thread wants the I/O thread: a target, stats */

	/* Shared with the host-side callers: under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* new stats arrived (stats_seq moved) */
	u32 target;		/* num_pages: what the host wants the balloon to hold */
	u32 notified_target;	/* the target the driver was last told of */
	bool stats_wanted;	/* give the stats buffer back for fresh figures */
	bool stats_live;	/* the driver negotiated STATS_VQ and is running */
	u64 stats_seq;		/* stats buffers received */
	u64 stats_ns;		/* when the last arrived */
	u32 stats_valid;
	u64 stats[VIRTIO_BALLOON_S_NR];
	u32 actual;		/* the driver's "actual" */
	struct virtio_balloon_counts n;

	/* The I/O thread's, under the device lock. */
	bool holding_stats;	/* a stats chain popped and not given back */
	u16 stats_head;
	u32 pfn[BALLOON_MAX_PFNS];
	struct log_ratelimit rl;
	struct vq_chain chain;	/* large: last */
};

static struct balloon *to_balloon(struct virtio_dev *d)
{
	return virtio_container_of(d, struct balloon, vdev);
}

static bool acked(const struct balloon *b, unsigned int bit)
{
	return b->vdev.acked & BIT(bit);
}

static enum balloon_role role_of(const struct balloon *b, unsigned int q)
{
	unsigned int next = 2;

	if (q < 2)
		return q == 0 ? ROLE_INFLATE : ROLE_DEFLATE;
	if (acked(b, VIRTIO_BALLOON_F_STATS_VQ) && q == next++)
		return ROLE_STATS;
	if (acked(b, VIRTIO_BALLOON_F_REPORTING) && q == next)
		return ROLE_REPORT;
	return ROLE_NONE;
}

/*
 * Gives [@host, @host + @len) back to the host: MADV_DONTNEED of the
 * whole host pages inside it (a guest page smaller than the host's can't
 * go alone).  Returns the bytes discarded.
 */
static u64 discard(struct balloon *b, u8 *host, u64 len)
{
	uintptr_t start = ALIGN_UP((uintptr_t)host, b->host_page);
	uintptr_t end = ALIGN_DOWN((uintptr_t)host + len, b->host_page);

	if (end <= start)
		return 0;
	if (madvise((void *)start, end - start, MADV_DONTNEED) < 0) {
		lkvm_log_ratelimited(b->vdev.kvm, &b->rl, LOG_WARN, "virtio-balloon: madvise of "
				     "%#lx bytes: %s", (unsigned long)(end - start), strerror(errno));
		return 0;
	}
	return end - start;
}

/* One chain of page frames: each checked; inflated ones discarded in runs. */
static void frames(struct balloon *b, const struct vq_chain *c, bool inflate)
{
	u64 valid = 0, bad = 0, extra;
	size_t nb = 0;
	u8 *run = NULL;
	u64 run_len = 0;
	u8 *bytes = (u8 *)b->pfn;

	/* The frame numbers, copied once out of guest RAM. */
	for (unsigned int i = 0; i < c->nr_out && nb < sizeof(b->pfn); i++) {
		size_t k = MIN(c->iov[i].iov_len, sizeof(b->pfn) - nb);

		memcpy(bytes + nb, c->iov[i].iov_base, k);
		nb += k;
	}
	/* Beyond the frames handled, and a partial frame at the end: ignored, counted. */
	extra = (c->out_len - nb / 4 * 4 + 3) / 4;
	for (size_t i = 0; i < nb / 4; i++) {
		u64 gpa = (u64)le32toh(b->pfn[i]) << VIRTIO_BALLOON_PFN_SHIFT;
		u8 *host = gmem__ptr(b->vdev.kvm, gpa, BALLOON_PAGE);

		if (!host) {
			bad++;
			lkvm_log_ratelimited(b->vdev.kvm, &b->rl, LOG_WARN,
					     "virtio-balloon: %s frame %#llx is not guest RAM; ignored",
					     inflate ? "inflated" : "deflated",
					     (unsigned long long)(gpa >> VIRTIO_BALLOON_PFN_SHIFT));
			continue;
		}
		valid++;
		if (!inflate)
			continue;
		if (run && host == run + run_len) {
			run_len += BALLOON_PAGE;
			continue;
		}
		if (run)
			discard(b, run, run_len);
		run = host;
		run_len = BALLOON_PAGE;
	}
	if (run)
		discard(b, run, run_len);
	if (extra)
		lkvm_log_ratelimited(b->vdev.kvm, &b->rl, LOG_WARN, "virtio-balloon: %llu bytes "
				     "past the frames handled (at most %d whole frames a chain) "
				     "ignored", (unsigned long long)(c->out_len - nb / 4 * 4),
				     BALLOON_MAX_PFNS);
	pthread_mutex_lock(&b->mu);
	if (inflate)
		b->n.inflated += valid;
	else
		b->n.deflated += valid;
	b->n.bad_pfns += bad + extra;
	pthread_mutex_unlock(&b->mu);
}

/* A stats buffer: (tag, value) pairs, unknown tags skipped (§5.5.6.3.1). */
static void stats_in(struct balloon *b, const struct vq_chain *c)
{
	u8 buf[BALLOON_STAT_SIZE * 64];
	size_t nb = 0;
	u32 valid = 0;
	u64 val[VIRTIO_BALLOON_S_NR] = { 0 };
	struct timespec ts;

	for (unsigned int i = 0; i < c->nr_out && nb < sizeof(buf); i++) {
		size_t k = MIN(c->iov[i].iov_len, sizeof(buf) - nb);

		memcpy(buf + nb, c->iov[i].iov_base, k);
		nb += k;
	}
	for (size_t o = 0; o + BALLOON_STAT_SIZE <= nb; o += BALLOON_STAT_SIZE) {
		u16 tag;
		u64 v;

		memcpy(&tag, buf + o, 2);
		memcpy(&v, buf + o + 2, 8);
		tag = le16toh(tag);
		if (tag < VIRTIO_BALLOON_S_NR) {
			val[tag] = le64toh(v);
			valid |= 1U << tag;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&b->mu);
	memcpy(b->stats, val, sizeof(val));
	b->stats_valid = valid;
	b->stats_seq++;
	b->stats_ns = (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* A free page report: every buffer discarded, the chain given back. */
static void report(struct balloon *b, const struct vq_chain *c)
{
	u64 bytes = 0;

	for (unsigned int i = 0; i < c->nr_out + c->nr_in; i++)
		bytes += discard(b, c->iov[i].iov_base, c->iov[i].iov_len);
	pthread_mutex_lock(&b->mu);
	b->n.reported_bytes += bytes;
	b->n.reports++;
	pthread_mutex_unlock(&b->mu);
}

static void balloon_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct balloon *b = to_balloon(d);
	struct virtqueue *vq = &d->vq[q];
	enum balloon_role role = role_of(b, q);
	bool pushed = false;
	int n;

	if (role == ROLE_NONE)
		return;
	while ((n = virtio_dev__pop(d, vq, &b->chain)) > 0) {
		switch (role) {
		case ROLE_INFLATE:
		case ROLE_DEFLATE:
			frames(b, &b->chain, role == ROLE_INFLATE);
			break;
		case ROLE_STATS:
			/* Keep this one; an older one (never, with Linux) goes back. */
			if (b->holding_stats) {
				virtqueue__push(vq, b->stats_head, 0);
				pushed = true;
			}
			stats_in(b, &b->chain);
			b->holding_stats = true;
			b->stats_head = b->chain.head;
			continue;
		case ROLE_REPORT:
			report(b, &b->chain);
			break;
		case ROLE_NONE:
			break;
		}
		virtqueue__push(vq, b->chain.head, 0);
		pushed = true;
	}
	if (n == 0 && pushed)
		virtio_dev__notify_if_needed(d, q);
}

static int balloon_event_fd(struct virtio_dev *d)
{
	return to_balloon(d)->wake_fd;
}

/* Another thread changed the target or wants stats: the I/O thread tells the driver. */
static void balloon_event(struct virtio_dev *d)
{
	struct balloon *b = to_balloon(d);
	bool changed, give_back;
	u64 v;

	if (read(b->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&b->mu);
	changed = b->target != b->notified_target;
	b->notified_target = b->target;
	give_back = b->stats_wanted && b->holding_stats;
	if (give_back)
		b->stats_wanted = false;
	pthread_mutex_unlock(&b->mu);
	if (changed)
		d->config_changed(d);
	if (give_back) {
		unsigned int q = 2;

		b->holding_stats = false;
		virtqueue__push(&d->vq[q], b->stats_head, 0);
		virtio_dev__notify_if_needed(d, q);
	}
}

static void balloon_driver_ok(struct virtio_dev *d)
{
	struct balloon *b = to_balloon(d);

	pthread_mutex_lock(&b->mu);
	b->stats_live = acked(b, VIRTIO_BALLOON_F_STATS_VQ);
	pthread_mutex_unlock(&b->mu);
}

static void balloon_reset(struct virtio_dev *d)
{
	struct balloon *b = to_balloon(d);

	/* The held stats chain belongs to the old rings; the balloon is empty again. */
	b->holding_stats = false;
	pthread_mutex_lock(&b->mu);
	b->stats_live = false;
	b->stats_wanted = false;
	b->actual = 0;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

static void balloon_config_read(struct virtio_dev *d, u32 off, u8 *buf, u32 len)
{
	struct balloon *b = to_balloon(d);
	u8 cfg[BALLOON_CFG_SIZE] = { 0 };
	u32 np, act;

	pthread_mutex_lock(&b->mu);
	np = htole32(b->target);
	act = htole32(b->actual);
	pthread_mutex_unlock(&b->mu);
	memcpy(cfg, &np, 4);
	memcpy(cfg + BALLOON_CFG_ACTUAL, &act, 4);
	memcpy(buf, cfg + off, len);
}

/* §5.5.4: the driver writes only "actual" (any part of it); the rest is read-only. */
static void balloon_config_write(struct virtio_dev *d, u32 off, const u8 *buf, u32 len)
{
	struct balloon *b = to_balloon(d);
	u8 act[4];
	u32 v;

	pthread_mutex_lock(&b->mu);
	v = htole32(b->actual);
	memcpy(act, &v, 4);
	for (u32 i = 0; i < len; i++)
		if (off + i >= BALLOON_CFG_ACTUAL && off + i < BALLOON_CFG_ACTUAL + 4)
			act[off + i - BALLOON_CFG_ACTUAL] = buf[i];
	memcpy(&v, act, 4);
	b->actual = le32toh(v);
	pthread_mutex_unlock(&b->mu);
}

static void balloon_free(struct virtio_dev *d)
{
	struct balloon *b = to_balloon(d);

	if (d->kvm && d->kvm->balloon == d)
		d->kvm->balloon = NULL;
	pr_info(d->kvm, "virtio-balloon: %llu frames inflated, %llu deflated, %llu ignored; "
		"%llu free page reports (%llu MiB)", (unsigned long long)b->n.inflated,
		(unsigned long long)b->n.deflated, (unsigned long long)b->n.bad_pfns,
		(unsigned long long)b->n.reports,
		(unsigned long long)(b->n.reported_bytes / SZ_MiB));
	close(b->wake_fd);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

static const struct virtio_dev_ops balloon_ops = {
	.name = "virtio-balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.nr_queues = 4,		/* inflateq, deflateq, statsq, reporting_vq at most */
	.queue_max = BALLOON_QUEUE_MAX,
	.config_size = BALLOON_CFG_SIZE,
	.config_read = balloon_config_read,
	.config_write = balloon_config_write,
	.queue_notify = balloon_queue_notify,
	.event_fd = balloon_event_fd,
	.event = balloon_event,
	.driver_ok = balloon_driver_ok,
	.reset = balloon_reset,
	.free = balloon_free,
};

int virtio_balloon__new(struct kvm *kvm, bool report, struct virtio_dev **out,
			struct lkvm_err *err)
{
	struct balloon *b = calloc(1, sizeof(*b));
	pthread_condattr_t ca;
	long ps = sysconf(_SC_PAGESIZE);

	if (!b)
		return seterr(err, ENOMEM, "virtio-balloon: out of memory");
	b->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->wake_fd < 0) {
		int e = errno;

		free(b);
		return seterr(err, e, "virtio-balloon: eventfd: %s", strerror(e));
	}
	b->host_page = ps > 0 ? (size_t)ps : 4096;
	pthread_mutex_init(&b->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cv, &ca);
	pthread_condattr_destroy(&ca);
	b->vdev.ops = &balloon_ops;
	b->vdev.kvm = kvm;
	b->vdev.features = BIT(VIRTIO_BALLOON_F_STATS_VQ);
	if (report)
		b->vdev.features |= BIT(VIRTIO_BALLOON_F_REPORTING);
	kvm->balloon = &b->vdev;
	*out = &b->vdev;
	return 0;
}

/* The VM's guest RAM in balloon pages: the most the balloon may hold. */
static u64 ram_pages(const struct kvm *kvm)
{
	struct gmem_range g;
	u64 n = 0;

	for (unsigned int it = 0; gmem__next(kvm, &it, &g);)
		n += g.size / BALLOON_PAGE;
	return n;
}

int virtio_balloon__adjust(struct kvm *kvm, s64 delta_pages, u32 *target)
{
	struct balloon *b;
	u64 max, t;
	ssize_t w __unused;
	u64 one = 1;

	if (!kvm->balloon)
		return -ENODEV;
	b = to_balloon(kvm->balloon);
	max = MIN(ram_pages(kvm), (u64)UINT32_MAX);
	pthread_mutex_lock(&b->mu);
	if (delta_pages < 0)
		t = (u64)-delta_pages >= b->target ? 0 : b->target - (u64)-delta_pages;
	else
		t = MIN((u64)b->target + (u64)delta_pages, max);
	b->target = (u32)t;
	if (target)
		*target = b->target;
	pthread_mutex_unlock(&b->mu);
	w = write(b->wake_fd, &one, sizeof(one));
	return 0;
}

int virtio_balloon__info(struct kvm *kvm, int timeout_ms, struct virtio_balloon_info *out)
{
	struct balloon *b;
	struct timespec now, until;
	ssize_t w __unused;
	u64 one = 1, seq;

	if (!kvm->balloon)
		return -ENODEV;
	b = to_balloon(kvm->balloon);
	memset(out, 0, sizeof(*out));
	clock_gettime(CLOCK_MONOTONIC, &now);
	until = now;
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&b->mu);
	seq = b->stats_seq;
	if (timeout_ms > 0 && b->stats_live) {
		b->stats_wanted = true;
		w = write(b->wake_fd, &one, sizeof(one));
		while (b->stats_seq == seq && b->stats_live &&
		       pthread_cond_timedwait(&b->cv, &b->mu, &until) == 0)
			;
	}
	out->target_pages = b->target;
	out->actual_pages = b->actual;
	out->counts = b->n;
	out->stats_fresh = b->stats_seq != seq;
	out->stats_valid = b->stats_valid;
	memcpy(out->stats, b->stats, sizeof(out->stats));
	if (b->stats_seq) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		out->stats_age_ms = ((u64)now.tv_sec * 1000000000ULL + (u64)now.tv_nsec -
				     b->stats_ns) / 1000000ULL;
	}
	pthread_mutex_unlock(&b->mu);
	return 0;
}

static unsigned int balloon_count(const struct lkvm_config *cfg)
{
	return cfg->balloon ? 1 : 0;
}

static int balloon_create(struct kvm *kvm, unsigned int i, struct lkvm_err *err)
{
	struct virtio_dev *dev = NULL;
	int r = virtio_balloon__new(kvm, !kvm->cfg->balloon_no_report, &dev, err);

	(void)i;
	return r ? r : virtio__attach(kvm, dev, err);
}

const struct device_kind virtio_balloon_kind = { "virtio-balloon", balloon_count, balloon_create };
