// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-9p (device ID 9): a host directory (--9p DIR,TAG[,ro]) shared with
 * the guest over 9P2000.L, the transport Linux's 9pnet_virtio speaks.  No
 * virtio spec section describes it; its config space (include/uapi/linux/
 * virtio_9p.h) is the mount tag, tag_len (le16) then the tag's bytes, offered
 * with feature bit VIRTIO_9P_MOUNT_TAG, and it has one request queue.  Each
 * chain is one request: the device-readable buffers hold the T-message,
 * the device-writable ones receive the R-message (with zero-copy reads the
 * header buffer first, then the guest's pages: the reply is one byte stream
 * across them).
 *
 * The message is copied out of guest RAM once, whole, into the device's
 * own buffer before it is parsed (the guest can't change it under the
 * parser), and the reply is built in another and copied in; both are
 * P9_MAX_MSIZE bytes, the largest msize the server grants.  The server
 * (virtio/9p-fs.c) runs each request synchronously on the device's I/O
 * thread, in ring order.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_9p.h>

#include "lkvm/9p.h"
#include "lkvm/kvm.h"
#include "lkvm/virtio-dev.h"

#define P9_QUEUE_MAX		128

struct v9p {
	struct virtio_dev vdev;
	struct p9_server srv;
	char tag[LKVM_9P_TAG_MAX + 1];
	u16 tag_len;
	u8 *req;		/* P9_MAX_MSIZE bytes each */
	u8 *rep;
	u64 unanswered;		/* chains pushed back without a reply */
	u64 busy_ns;		/* time spent serving requests */
	u64 slowest_ns;		/* the longest request */
	struct log_ratelimit rl;
	struct vq_chain chain;	/* large: last */
};

static struct v9p *to_v9p(struct virtio_dev *d)
{
	return virtio_container_of(d, struct v9p, vdev);
}

/* The first @cap readable bytes of @c into @dst; returns how many there were. */
static size_t gather(const struct vq_chain *c, u8 *dst, size_t cap)
{
	size_t done = 0;

	for (unsigned int i = 0; i < c->nr_out && done < cap; i++) {
		size_t k = MIN(c->iov[i].iov_len, cap - done);

		memcpy(dst + done, c->iov[i].iov_base, k);
		done += k;
	}
	return done;
}

/* [@src, @src + @len) into @c's writable buffers, in order (@len <= c->in_len). */
static void scatter(const struct vq_chain *c, const u8 *src, size_t len)
{
	size_t done = 0;

	for (unsigned int i = c->nr_out; i < c->nr_out + c->nr_in && done < len; i++) {
		size_t k = MIN(c->iov[i].iov_len, len - done);

		memcpy(c->iov[i].iov_base, src + done, k);
		done += k;
	}
}

static void serve(struct v9p *p, const struct vq_chain *c)
{
	u64 t0 = now_ns(), dt;
	size_t len = gather(c, p->req, P9_MAX_MSIZE);
	size_t n = p9_server__handle(&p->srv, p->req, len, p->rep, MIN((size_t)c->in_len,
								     (size_t)P9_MAX_MSIZE));

	if (!n) {
		/* No tag to answer, or no room for an Rlerror: the driver gets the chain back empty. */
		p->unanswered++;
		lkvm_log_ratelimited(p->vdev.kvm, &p->rl, LOG_WARN,
				     "virtio-9p %s: request of %zu bytes with %u bytes for the reply "
				     "dropped", p->tag, len, c->in_len);
	}
	scatter(c, p->rep, n);
	virtqueue__push(&p->vdev.vq[0], c->head, (u32)n);
	dt = now_ns() - t0;
	p->busy_ns += dt;
	p->slowest_ns = MAX(p->slowest_ns, dt);
}

static void p9_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct v9p *p = to_v9p(d);
	struct virtqueue *vq = &d->vq[q];

	/* (Linux's 9p client, one request at a time, is why re-arming each time matters.) */
	while (virtio_dev__pop(d, vq, &p->chain) > 0) {
		serve(p, &p->chain);
		/* Each reply as soon as it is there: requests can take a while. */
		virtio_dev__notify_if_needed(d, q);
	}
}

static void p9_config_read(struct virtio_dev *d, u32 off, u8 *buf, u32 len)
{
	struct v9p *p = to_v9p(d);
	u8 cfg[2 + LKVM_9P_TAG_MAX] = { 0 };
	u16 tl = htole16(p->tag_len);

	memcpy(cfg, &tl, 2);
	memcpy(cfg + 2, p->tag, p->tag_len);
	memcpy(buf, cfg + off, len);
}

static void p9_reset(struct virtio_dev *d)
{
	/* A new driver starts a new session: the old one's fids are gone. */
	p9_server__reset(&to_v9p(d)->srv);
}

static void p9_free(struct virtio_dev *d)
{
	struct v9p *p = to_v9p(d);
	const struct p9_stats *st = &p->srv.st;

	pr_info(d->kvm, "virtio-9p %s: %llu requests (%llu errors, %llu malformed, %llu "
		"unanswered), %llu bytes read, %llu written; %.3f s serving them, the "
		"slowest %.3f s", p->tag, (unsigned long long)st->requests,
		(unsigned long long)st->errors, (unsigned long long)st->malformed,
		(unsigned long long)p->unanswered, (unsigned long long)st->bytes_read,
		(unsigned long long)st->bytes_written, (double)p->busy_ns / 1e9,
		(double)p->slowest_ns / 1e9);
	p9_server__fini(&p->srv);
	free(p->req);
	free(p->rep);
	free(p);
}

static const struct virtio_dev_ops p9_ops = {
	.name = "virtio-9p",
	.device_id = VIRTIO_ID_9P,
	.nr_queues = 1,
	.queue_max = P9_QUEUE_MAX,
	/* tag_len, then room for the longest tag (zeros after this one's). */
	.config_size = 2 + LKVM_9P_TAG_MAX,
	.config_read = p9_config_read,
	.queue_notify = p9_queue_notify,
	.reset = p9_reset,
	.free = p9_free,
};

int virtio_9p__new(struct kvm *kvm, const struct p9_share *sh, struct virtio_dev **out,
		   struct lkvm_err *err)
{
	size_t tl = strlen(sh->tag);
	struct v9p *p;
	int r;

	if (!tl || tl > LKVM_9P_TAG_MAX)
		return seterr(err, EINVAL, "--9p %s: the tag must be 1 to %d bytes", sh->dir,
			      LKVM_9P_TAG_MAX);
	p = calloc(1, sizeof(*p));
	if (!p)
		return seterr(err, ENOMEM, "virtio-9p: out of memory");
	p->req = malloc(P9_MAX_MSIZE);
	p->rep = malloc(P9_MAX_MSIZE);
	if (!p->req || !p->rep) {
		r = seterr(err, ENOMEM, "virtio-9p: out of memory for its buffers");
		goto fail;
	}
	r = p9_server__init(&p->srv, sh->dir, sh->ro, err);
	if (r)
		goto fail;
	memcpy(p->tag, sh->tag, tl + 1);
	p->tag_len = (u16)tl;
	p->vdev.ops = &p9_ops;
	p->vdev.kvm = kvm;
	p->vdev.features = BIT(VIRTIO_9P_MOUNT_TAG);
	pr_info(kvm, "virtio-9p: %s as tag %s%s", sh->dir, sh->tag, sh->ro ? ", read-only" : "");
	*out = &p->vdev;
	return 0;
fail:
	free(p->req);
	free(p->rep);
	free(p);
	return r;
}

static unsigned int p9_count(const struct lkvm_config *cfg)
{
	return cfg->nr_9p;
}

/* --9p, in command-line order. */
static int p9_create(struct kvm *kvm, unsigned int i, struct lkvm_err *err)
{
	struct virtio_dev *dev = NULL;
	int r = virtio_9p__new(kvm, &kvm->cfg->p9[i], &dev, err);

	return r ? r : virtio__attach(kvm, dev, err);
}

const struct device_kind virtio_9p_kind = { "virtio-9p", p9_count, p9_create };
