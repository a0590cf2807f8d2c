// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-console (virtio 1.2 §5.3), a single port without
 * VIRTIO_CONSOLE_F_MULTIPORT: receiveq 0 carries the host's console input
 * to the guest, transmitq 1 the guest's output to a host fd (lkvm's
 * stdout).  No features, so the config space reads as zeroes.
 *
 * Input arrives from the main loop (another thread) through
 * virtio_console__input(): it is buffered here, under a lock of its own,
 * and an eventfd wakes the device's I/O thread, which moves it into
 * receive buffers the driver has made available.  Bytes wait in the
 * buffer while the driver has none; the main loop stops reading its input
 * while the buffer is full (virtio_console__rx_space()).
 *
 * Transmit copies each chain's device-readable bytes to the console's
 * output ring (lkvm/outbuf.h) before the chain is returned; only the
 * ring's writer thread writes to stdout, so a reader that stops reading
 * never blocks this I/O thread while it holds the device lock: the output
 * that does not fit is dropped and counted there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lkvm/kvm.h"
#include "lkvm/outbuf.h"
#include "lkvm/virtio-dev.h"

#define CON_QUEUE_MAX		64
#define CON_RXQ			0	/* receiveq (port 0) */
#define CON_TXQ			1	/* transmitq (port 0) */
#define CON_IN_BUF		4096	/* host input waiting for receive buffers */
/* §5.3.4: cols, rows, max_nr_ports, emerg_wr; meaningless without their features. */
#define CON_CFG_SIZE		12

struct vcon {
	struct virtio_dev vdev;
	struct outbuf *out;
	int in_efd;		/* input was queued: wakes the I/O thread */
	bool rx_live;		/* the transport has delivered a receiveq notify since reset */

	pthread_mutex_t in_lock;	/* in_buf, in_len: shared with the main loop */
	u8 in_buf[CON_IN_BUF];
	size_t in_len;

	struct log_ratelimit rl;
	struct vq_chain chain;	/* large: last */
};

static struct vcon *to_vcon(struct virtio_dev *d)
{
	return virtio_container_of(d, struct vcon, vdev);
}

/* §5.3.6.1: the guest's output, in order, to out_fd. */
static void transmit(struct vcon *c)
{
	struct virtio_dev *d = &c->vdev;
	struct virtqueue *vq = &d->vq[CON_TXQ];
	int n;

	while ((n = virtio_dev__pop(d, vq, &c->chain)) > 0) {
		for (unsigned int i = 0; i < c->chain.nr_out; i++)
			outbuf__write(c->out, c->chain.iov[i].iov_base, c->chain.iov[i].iov_len);
		virtqueue__push(vq, c->chain.head, 0);
	}
	if (n >= 0)
		virtio_dev__notify_if_needed(d, CON_TXQ);
}

/* Copies up to @len queued bytes into the chain's writable buffers; returns how many. */
static u32 fill_chain(struct vcon *c, size_t len)
{
	const struct vq_chain *ch = &c->chain;
	size_t done = 0;

	for (unsigned int i = ch->nr_out; i < ch->nr_out + ch->nr_in && done < len; i++) {
		size_t n = MIN(ch->iov[i].iov_len, len - done);

		memcpy(ch->iov[i].iov_base, c->in_buf + done, n);
		done += n;
	}
	return (u32)done;
}

/* §5.3.6.2: queued input into the receive buffers the driver has given us. */
static void receive(struct vcon *c)
{
	struct virtio_dev *d = &c->vdev;
	struct virtqueue *vq = &d->vq[CON_RXQ];
	bool pushed = false;

	/* Not before DRIVER_OK: the transport's first receiveq notify says it is live. */
	if (!c->rx_live)
		return;
	pthread_mutex_lock(&c->in_lock);
	while (c->in_len) {
		u32 n;

		if (virtio_dev__pop(&c->vdev, vq, &c->chain) <= 0)
			break;
		if (!c->chain.nr_in)
			lkvm_log_ratelimited(d->kvm, &c->rl, LOG_WARN,
					     "virtio-console: receive buffer not device-writable");
		n = fill_chain(c, c->in_len);
		c->in_len -= n;
		memmove(c->in_buf, c->in_buf + n, c->in_len);
		virtqueue__push(vq, c->chain.head, n);
		pushed = true;
	}
	pthread_mutex_unlock(&c->in_lock);
	if (pushed)
		virtio_dev__notify_if_needed(d, CON_RXQ);
}

static void con_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct vcon *c = to_vcon(d);

	if (q == CON_TXQ) {
		transmit(c);
		return;
	}
	c->rx_live = true;
	receive(c);
}

static int con_event_fd(struct virtio_dev *d)
{
	return to_vcon(d)->in_efd;
}

static void con_event(struct virtio_dev *d)
{
	struct vcon *c = to_vcon(d);
	u64 junk;

	if (read(c->in_efd, &junk, sizeof(junk)) < 0) {
		/* EAGAIN: already consumed; the buffer is what counts. */
	}
	receive(c);
}

static void con_reset(struct virtio_dev *d)
{
	/* Input already queued stays for the next driver. */
	to_vcon(d)->rx_live = false;
}

static void con_config_read(struct virtio_dev *d __unused, u32 off __unused, u8 *buf, u32 len)
{
	memset(buf, 0, len);
}

static void con_free(struct virtio_dev *d)
{
	struct vcon *c = to_vcon(d);

	if (c->in_efd >= 0)
		close(c->in_efd);
	pthread_mutex_destroy(&c->in_lock);
	free(c);
}

static const struct virtio_dev_ops con_ops = {
	.name = "virtio-console",
	.device_id = VIRTIO_ID_CONSOLE,
	.nr_queues = 2,
	.queue_max = CON_QUEUE_MAX,
	.config_size = CON_CFG_SIZE,
	.config_read = con_config_read,
	.queue_notify = con_queue_notify,
	.event_fd = con_event_fd,
	.event = con_event,
	.reset = con_reset,
	.free = con_free,
};

int virtio_console__new(struct kvm *kvm, struct outbuf *ob, struct virtio_dev **out,
			struct lkvm_err *err)
{
	struct vcon *c = calloc(1, sizeof(*c));

	if (!c)
		return seterr(err, ENOMEM, "virtio-console: out of memory");
	c->in_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->in_efd < 0) {
		int e = errno;

		free(c);
		return seterr(err, e, "virtio-console: eventfd: %s", strerror(e));
	}
	pthread_mutex_init(&c->in_lock, NULL);
	c->out = ob;
	c->vdev.ops = &con_ops;
	c->vdev.kvm = kvm;
	*out = &c->vdev;
	return 0;
}

size_t virtio_console__input(struct virtio_dev *d, const u8 *buf, size_t len)
{
	struct vcon *c = to_vcon(d);
	u64 one = 1;
	size_t n;

	pthread_mutex_lock(&c->in_lock);
	n = MIN(len, sizeof(c->in_buf) - c->in_len);
	memcpy(c->in_buf + c->in_len, buf, n);
	c->in_len += n;
	pthread_mutex_unlock(&c->in_lock);
	if (n && write(c->in_efd, &one, sizeof(one)) < 0) {
		/* Only an overflowing counter fails, and then a wakeup is pending anyway. */
	}
	return n;
}

size_t virtio_console__rx_space(struct virtio_dev *d)
{
	struct vcon *c = to_vcon(d);
	size_t n;

	pthread_mutex_lock(&c->in_lock);
	n = sizeof(c->in_buf) - c->in_len;
	pthread_mutex_unlock(&c->in_lock);
	return n;
}

static unsigned int vcon_count(const struct lkvm_config *cfg)
{
	return cfg->console == CONSOLE_VIRTIO ? 1 : 0;
}

static size_t vcon_space(void *ctx)
{
	return virtio_console__rx_space(ctx);
}

static size_t vcon_input(void *ctx, const u8 *buf, size_t len)
{
	return virtio_console__input(ctx, buf, len);
}

/* --console virtio: the guest's hvc0 is the console, and takes the host's input. */
static int vcon_create(struct kvm *kvm, unsigned int i, struct lkvm_err *err)
{
	struct virtio_dev *dev = NULL;
	int r = virtio_console__new(kvm, kvm->console_ob, &dev, err);

	(void)i;
	if (!r)
		r = virtio__attach(kvm, dev, err);
	if (!r)
		kvm->console = (struct console_sink){ vcon_space, vcon_input, dev };
	return r;
}

const struct device_kind virtio_console_kind = { "virtio-console", vcon_count, vcon_create };
