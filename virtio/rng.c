// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-rng, the entropy device (virtio 1.2 §5.4): one request queue
 * whose device-writable buffers the device fills with random bytes from
 * the host's getrandom(2).  No features, no config space.
 *
 * Each request gets at most RNG_MAX_REQ bytes, and getrandom() is never
 * allowed to block: the I/O thread must stay responsive to resets and to
 * teardown even on a host whose entropy pool is not yet initialised.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "lkvm/kvm.h"
#include "lkvm/virtio-dev.h"

#define RNG_QUEUE_MAX		64
#define RNG_MAX_REQ		(64 * 1024)	/* bytes per request */

#ifndef GRND_INSECURE
#define GRND_INSECURE		0x0004		/* Linux >= 5.6 */
#endif

struct rng {
	struct virtio_dev vdev;
	struct log_ratelimit rl;
	struct vq_chain chain;	/* large: last */
};

static struct rng *to_rng(struct virtio_dev *d)
{
	return virtio_container_of(d, struct rng, vdev);
}

/*
 * Fills [@buf, @buf + @len) without ever blocking.  Before the host's pool
 * is initialised GRND_NONBLOCK fails with EAGAIN; GRND_INSECURE (what
 * /dev/urandom gives) is the fallback, where the kernel has it.  Returns
 * the bytes written (possibly fewer than @len), or -errno if none.
 */
static ssize_t fill_random(u8 *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom(buf + done, len - done, GRND_NONBLOCK);

		if (n < 0 && errno == EAGAIN)
			n = getrandom(buf + done, len - done, GRND_INSECURE);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return done ? (ssize_t)done : (n < 0 ? -errno : -EIO);
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* Fills a popped chain's writable buffers (up to RNG_MAX_REQ); returns the bytes written. */
static u32 fill_chain(struct rng *r, const struct vq_chain *c)
{
	u32 left = MIN(c->in_len, (u32)RNG_MAX_REQ), written = 0;

	for (unsigned int i = c->nr_out; i < c->nr_out + c->nr_in && left; i++) {
		size_t want = MIN(c->iov[i].iov_len, (size_t)left);
		ssize_t n = fill_random(c->iov[i].iov_base, want);

		if (n < 0) {
			lkvm_log_ratelimited(r->vdev.kvm, &r->rl, LOG_WARN,
					     "virtio-rng: getrandom: %s", strerror((int)-n));
			break;
		}
		written += (u32)n;
		left -= (u32)n;
		if ((size_t)n < want)
			break;
	}
	return written;
}

static void rng_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct rng *r = to_rng(d);
	struct virtqueue *vq = &d->vq[q];
	int n;

	while ((n = virtio_dev__pop(d, vq, &r->chain)) > 0) {
		/* §5.4.6: requests are device-writable; a readable-only one gets nothing. */
		if (!r->chain.nr_in)
			lkvm_log_ratelimited(d->kvm, &r->rl, LOG_WARN,
					     "virtio-rng: request without a writable buffer");
		virtqueue__push(vq, r->chain.head, r->chain.nr_in ? fill_chain(r, &r->chain) : 0);
	}
	if (n == 0)
		virtio_dev__notify_if_needed(d, q);
}

static void rng_config_read(struct virtio_dev *d __unused, u32 off __unused, u8 *buf __unused,
			    u32 len __unused)
{
	/* config_size is 0: the transport never calls this. */
}

static void rng_free(struct virtio_dev *d)
{
	free(to_rng(d));
}

/* Snapshot: the device keeps nothing between requests (virtio 1.2 §5.4). */
static int rng_save(struct virtio_dev *d, struct snap_writer *w, struct lkvm_err *err)
{
	(void)d;
	(void)w;
	(void)err;
	return 0;
}

static int rng_restore(struct virtio_dev *d, struct snap_cursor *c, struct lkvm_err *err)
{
	(void)d;
	(void)c;
	(void)err;
	return 0;
}

static const struct virtio_dev_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.queue_max = RNG_QUEUE_MAX,
	.config_size = 0,
	.config_read = rng_config_read,
	.queue_notify = rng_queue_notify,
	.free = rng_free,
	.save = rng_save,
	.restore = rng_restore,
};

int virtio_rng__new(struct kvm *kvm, struct virtio_dev **out, struct lkvm_err *err)
{
	struct rng *r = calloc(1, sizeof(*r));

	if (!r)
		return seterr(err, ENOMEM, "virtio-rng: out of memory");
	r->vdev.ops = &rng_ops;
	r->vdev.kvm = kvm;
	*out = &r->vdev;
	return 0;
}

static unsigned int rng_count(const struct lkvm_config *cfg)
{
	return cfg->rng ? 1 : 0;
}

static int rng_create(struct kvm *kvm, unsigned int i, struct lkvm_err *err)
{
	struct virtio_dev *dev = NULL;
	int r = virtio_rng__new(kvm, &dev, err);

	(void)i;
	return r ? r : virtio__attach(kvm, dev, err);
}

const struct device_kind virtio_rng_kind = { "virtio-rng", rng_count, rng_create };
