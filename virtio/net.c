// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-net (virtio 1.2 §5.1) on a tap: receiveq 0 and transmitq 1, no
 * control queue, no multiqueue.  Every frame on the rings and on the tap
 * carries the 12-byte struct virtio_net_hdr of VERSION_1, so frames go
 * between the two with the header kept (the tap was opened with
 * IFF_VNET_HDR and TUNSETVNETHDRSZ 12, net/tap.c).
 *
 * Two datapaths.  With vhost-net (net/tap.c opened it), DRIVER_OK hands
 * both rings to the kernel through the generic vhost client
 * (virtio/vhost.c: features, the memory table, the rings, and the
 * transport's kick and call eventfds); then the tap goes in as backend
 * (VHOST_NET_SET_BACKEND, the one vhost-net ioctl, made here).  A reset
 * takes the backend away again (the rings belong to the next driver).
 * Otherwise the I/O thread moves the frames:
 *
 *   transmit  on a transmitq notification: each chain's header is copied
 *             out once and checked against the negotiated features, then
 *             header and frame go to the tap in one writev().
 *   receive   when the tap is readable: a receive chain is taken first,
 *             then one frame read into a bounce buffer and copied into
 *             it (with MRG_RXBUF into as many chains as it needs,
 *             num_buffers saying how many).  Without receive buffers the
 *             device stops watching the tap (event_fd -1) until the
 *             driver notifies the receiveq: frames wait in the tap's
 *             queue, the device neither spins nor drops them.  A failed
 *             device (NEEDS_RESET) does not watch the tap either, until
 *             its reset and the next receiveq notification.
 *
 * Guest offloads (GUEST_CSUM, GUEST_TSO4/6) are offered only on a real
 * tap, whose TUNSETOFFLOAD then says what the driver accepted, so the
 * kernel segments and checksums whatever the guest cannot take.  Host
 * offloads (CSUM, HOST_TSO4/6) are the tap's to do.
 */
#include <endian.h>
#include <errno.h>
#include <linux/if_tun.h>
#include <linux/vhost.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "lkvm/kvm.h"
#include "lkvm/vhost.h"
#include "lkvm/virtio-dev.h"

#define NET_QUEUE_MAX		256
#define NET_CFG_SIZE		10	/* mac, status, max_virtqueue_pairs (§5.1.4) */
/* The largest frame a tap hands over with GSO: 64 KiB of IP plus headers. */
#define NET_FRAME_MAX		(VIRTIO_NET_HDR_LEN + 65536 + 256)
#define NET_RX_BUDGET		64	/* frames per wakeup, so transmit gets its turn */

#define HDR_OFF_NUM_BUFFERS	10

#define GUEST_OFFLOADS		(BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4) | \
				 BIT(VIRTIO_NET_F_GUEST_TSO6))
#define HOST_OFFLOADS		(BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_HOST_TSO4) | \
				 BIT(VIRTIO_NET_F_HOST_TSO6))

struct net_hdr {
	u8 flags;
	u8 gso_type;
	u16 hdr_len;
	u16 gso_size;
	u16 csum_start;
	u16 csum_offset;
	u16 num_buffers;
} __attribute__((packed));

struct vnet {
	struct virtio_dev vdev;
	int tap_fd;
	struct vhost_dev vhost;	/* not open: userspace datapath */
	bool tap_offload;	/* TUNSETOFFLOAD works: guest offloads offered */
	char ifname[IFNAMSIZ];
	u8 mac[ETH_ALEN_LKVM];

	/* Read by event_fd() without the device lock: atomics. */
	bool rx_live;		/* the receiveq was notified since DRIVER_OK */
	bool rx_wait;		/* no receive buffers: the tap is not watched */
	bool vhost_running;	/* the rings are vhost-net's */
	bool tap_dead;		/* the tap failed for good (logged) */

	/* Receive state, on the I/O thread. */
	u8 *frame;		/* bounce buffer of NET_FRAME_MAX */
	size_t frame_len;	/* 0: no frame pending */
	size_t frame_off;	/* how much of it is in the guest's buffers */
	bool have_chain;	/* rx_chain is popped and unused */
	unsigned int nr_done;	/* chains the pending frame filled, not yet pushed */
	u16 done_head[NET_QUEUE_MAX];
	u32 done_len[NET_QUEUE_MAX];
	u8 *num_buffers[2];	/* where the frame's num_buffers landed in guest RAM */

	struct virtio_net_stats st;
	struct log_ratelimit rl;
	struct vq_chain rx_chain;	/* large: last */
	struct vq_chain tx_chain;
	struct iovec tx_iov[VQ_MAX_IOV + 1];
};

static struct vnet *to_vnet(struct virtio_dev *d)
{
	return virtio_container_of(d, struct vnet, vdev);
}

static bool flag_get(const bool *f)
{
	return __atomic_load_n(f, __ATOMIC_ACQUIRE);
}

static void flag_set(bool *f, bool v)
{
	__atomic_store_n(f, v, __ATOMIC_RELEASE);
}

static bool acked(const struct vnet *n, unsigned int bit)
{
	return n->vdev.acked & BIT(bit);
}

/* ---- transmit (§5.1.6.2) ------------------------------------------------ */

/* Copies the first @len readable bytes of @c into @dst; false if it has fewer. */
static bool gather(const struct vq_chain *c, void *dst, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < c->nr_out && done < len; i++) {
		size_t k = MIN(c->iov[i].iov_len, len - done);

		memcpy((u8 *)dst + done, c->iov[i].iov_base, k);
		done += k;
	}
	return done == len;
}

/* Whether the driver may send a header like @h, given what it negotiated (§5.1.6.2.1). */
static const char *tx_hdr_error(const struct vnet *n, const struct net_hdr *h)
{
	u8 gso = h->gso_type & (u8)~VIRTIO_NET_HDR_GSO_ECN;

	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !acked(n, VIRTIO_NET_F_CSUM))
		return "NEEDS_CSUM without VIRTIO_NET_F_CSUM";
	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return "unknown header flags";
	if (gso == VIRTIO_NET_HDR_GSO_NONE)
		return h->gso_type ? "ECN without GSO" : NULL;
	if (gso == VIRTIO_NET_HDR_GSO_TCPV4 && acked(n, VIRTIO_NET_F_HOST_TSO4))
		return (h->gso_type & VIRTIO_NET_HDR_GSO_ECN) ? "ECN without HOST_ECN" : NULL;
	if (gso == VIRTIO_NET_HDR_GSO_TCPV6 && acked(n, VIRTIO_NET_F_HOST_TSO6))
		return (h->gso_type & VIRTIO_NET_HDR_GSO_ECN) ? "ECN without HOST_ECN" : NULL;
	return "a GSO type that was not negotiated";
}

static void tx_drop(struct vnet *n, const char *why)
{
	n->st.tx_dropped++;
	lkvm_log_ratelimited(n->vdev.kvm, &n->rl, LOG_WARN, "virtio-net %s: transmitted frame "
			     "dropped: %s", n->ifname, why);
}

/* One chain to the tap: our checked copy of the header, then the frame from guest RAM. */
static void send_chain(struct vnet *n, const struct vq_chain *c)
{
	struct net_hdr h;
	unsigned int cnt = 0;
	size_t skip = sizeof(h);
	const char *why;
	ssize_t w;

	if (!gather(c, &h, sizeof(h))) {
		tx_drop(n, "shorter than the 12-byte virtio-net header");
		return;
	}
	why = tx_hdr_error(n, &h);
	if (why) {
		tx_drop(n, why);
		return;
	}
	h.num_buffers = 0;	/* §5.1.6.2: the driver's value means nothing */
	n->tx_iov[cnt++] = (struct iovec){ &h, sizeof(h) };
	for (unsigned int i = 0; i < c->nr_out; i++) {
		size_t len = c->iov[i].iov_len;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		n->tx_iov[cnt++] = (struct iovec){ (u8 *)c->iov[i].iov_base + skip, len - skip };
		skip = 0;
	}
	if (cnt > VQ_MAX_IOV) {
		tx_drop(n, "more than 1024 buffers");
		return;
	}
	do {
		w = writev(n->tap_fd, n->tx_iov, (int)cnt);
	} while (w < 0 && errno == EINTR);
	if (w < 0) {
		n->st.tx_dropped++;
		lkvm_log_ratelimited(n->vdev.kvm, &n->rl, errno == EAGAIN ? LOG_DEBUG : LOG_WARN,
				     "virtio-net %s: transmitted frame dropped: write to the tap: %s",
				     n->ifname, strerror(errno));
		return;
	}
	n->st.tx_frames++;
}

static void transmit(struct vnet *n)
{
	struct virtqueue *vq = &n->vdev.vq[VIRTIO_NET_TXQ];
	int r;

	while ((r = virtio_dev__pop(&n->vdev, vq, &n->tx_chain)) > 0) {
		send_chain(n, &n->tx_chain);
		/* Transmit buffers are device-readable: nothing written (§5.1.6.2). */
		virtqueue__push(vq, n->tx_chain.head, 0);
	}
	if (r == 0)
		virtio_dev__notify_if_needed(&n->vdev, VIRTIO_NET_TXQ);
}

/* ---- receive (§5.1.6.3, §5.1.6.4) -------------------------------------- */

/*
 * Fixes up a frame's header from the tap for the driver: §5.1.6.4.1 wants
 * flags 0 without GUEST_CSUM and no GSO type it did not negotiate.  A GSO
 * frame the driver can't take (one queued before TUNSETOFFLOAD changed)
 * can't be made right here: false, drop it.
 */
static bool rx_fix_header(struct vnet *n, struct net_hdr *h)
{
	u8 gso = h->gso_type & (u8)~VIRTIO_NET_HDR_GSO_ECN;

	if (!acked(n, VIRTIO_NET_F_GUEST_CSUM))
		h->flags = 0;
	h->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	if ((gso == VIRTIO_NET_HDR_GSO_TCPV4 && !acked(n, VIRTIO_NET_F_GUEST_TSO4)) ||
	    (gso == VIRTIO_NET_HDR_GSO_TCPV6 && !acked(n, VIRTIO_NET_F_GUEST_TSO6)) ||
	    (gso != VIRTIO_NET_HDR_GSO_NONE && gso != VIRTIO_NET_HDR_GSO_TCPV4 &&
	     gso != VIRTIO_NET_HDR_GSO_TCPV6) ||
	    (h->gso_type & VIRTIO_NET_HDR_GSO_ECN))
		return false;
	h->num_buffers = htole16(1);
	return true;
}

static void rx_drop(struct vnet *n, size_t len, const char *why)
{
	n->st.rx_dropped++;
	lkvm_log_ratelimited(n->vdev.kvm, &n->rl, LOG_WARN, "virtio-net %s: received frame of "
			     "%zu bytes dropped: %s", n->ifname, len, why);
}

/*
 * Copies what is left of the pending frame into rx_chain's writable
 * buffers, as much as fits; notes where the header's num_buffers lands.
 * Returns the bytes copied.
 */
static size_t fill_chain(struct vnet *n)
{
	const struct vq_chain *c = &n->rx_chain;
	size_t done = 0, left = n->frame_len - n->frame_off;

	for (unsigned int i = c->nr_out; i < c->nr_out + c->nr_in && done < left; i++) {
		size_t k = MIN(c->iov[i].iov_len, left - done);
		size_t at = n->frame_off + done;	/* frame offset of this piece */
		u8 *dst = c->iov[i].iov_base;

		memcpy(dst, n->frame + at, k);
		for (unsigned int b = 0; b < 2; b++)
			if (at <= HDR_OFF_NUM_BUFFERS + b && HDR_OFF_NUM_BUFFERS + b < at + k)
				n->num_buffers[b] = dst + (HDR_OFF_NUM_BUFFERS + b - at);
		done += k;
	}
	return done;
}

/*
 * Pops a receive chain into rx_chain (have_chain); returns 1, 0 (none) or
 * -1 (the ring, or the chain, failed the device).  §5.1.6.3.1: every
 * buffer is device-writable and holds a whole header (with MRG_RXBUF
 * only the first of a frame needs to, but the driver can't know which
 * will be first).
 */
static int take_rx_chain(struct vnet *n)
{
	int r = virtio_dev__pop(&n->vdev, &n->vdev.vq[VIRTIO_NET_RXQ], &n->rx_chain);

	if (r <= 0)
		return r;
	if (n->rx_chain.in_len < VIRTIO_NET_HDR_LEN) {
		n->vdev.fail(&n->vdev, "receive buffer not writable or smaller than the "
			     "virtio-net header");
		return -1;
	}
	n->have_chain = true;
	return 1;
}

/*
 * Places the pending frame in receive chains.  Returns 1 when it is done
 * with the frame (delivered, or dropped with a reason), 0 when it waits
 * for receive buffers, -1 when the ring failed the device.
 */
static int place_frame(struct vnet *n, bool *pushed)
{
	struct virtqueue *vq = &n->vdev.vq[VIRTIO_NET_RXQ];
	bool mrg = acked(n, VIRTIO_NET_F_MRG_RXBUF);

	while (n->frame_off < n->frame_len) {
		size_t k;

		if (!n->have_chain) {
			int r = take_rx_chain(n);

			if (r <= 0)
				return r;
		}
		if (!mrg && n->rx_chain.in_len < n->frame_len) {
			/* The chain stays ours for the next frame. */
			rx_drop(n, n->frame_len, "larger than the driver's receive buffer "
				"(and no MRG_RXBUF)");
			n->frame_len = 0;
			return 1;
		}
		k = fill_chain(n);
		n->frame_off += k;
		n->done_head[n->nr_done] = n->rx_chain.head;
		n->done_len[n->nr_done++] = (u32)k;
		n->have_chain = false;
		if (n->frame_off < n->frame_len && n->nr_done == ARRAY_SIZE(n->done_head)) {
			n->vdev.fail(&n->vdev, "receive buffers too small for one frame");
			return -1;
		}
	}
	/* §5.1.6.4: num_buffers says how many chains the frame took. */
	if (n->num_buffers[0] && n->num_buffers[1]) {
		*n->num_buffers[0] = (u8)n->nr_done;
		*n->num_buffers[1] = (u8)(n->nr_done >> 8);
	}
	for (unsigned int i = 0; i < n->nr_done; i++)
		virtqueue__push(vq, n->done_head[i], n->done_len[i]);
	n->nr_done = 0;
	n->frame_len = 0;
	n->st.rx_frames++;
	*pushed = true;
	return 1;
}

/* Reads one frame from the tap; returns 1, 0 (nothing there) or -1 (the tap failed). */
static int read_frame(struct vnet *n)
{
	ssize_t r;

	do {
		r = read(n->tap_fd, n->frame, NET_FRAME_MAX);
	} while (r < 0 && errno == EINTR);
	if (r < 0 && errno == EAGAIN)
		return 0;
	if (r <= 0) {
		pr_err(n->vdev.kvm, "virtio-net %s: reading the tap: %s; the guest receives nothing "
		       "more", n->ifname, r < 0 ? strerror(errno) : "end of file");
		flag_set(&n->tap_dead, true);
		return -1;
	}
	if (r < (ssize_t)sizeof(struct net_hdr)) {
		rx_drop(n, (size_t)r, "shorter than the 12-byte virtio-net header");
		return 1;
	}
	if (!rx_fix_header(n, (struct net_hdr *)(void *)n->frame)) {
		rx_drop(n, (size_t)r, "a GSO frame of a type the driver did not negotiate");
		return 1;
	}
	n->frame_len = (size_t)r;
	n->frame_off = 0;
	n->num_buffers[0] = n->num_buffers[1] = NULL;
	return 1;
}

static void receive(struct vnet *n)
{
	bool pushed = false;
	int r = 1;

	if (!flag_get(&n->rx_live) || flag_get(&n->vhost_running) || flag_get(&n->tap_dead) ||
	    virtio_dev__failed(&n->vdev))
		return;
	for (unsigned int budget = NET_RX_BUDGET; budget;) {
		if (!n->frame_len) {
			/* A buffer first: without one the frame stays in the tap's queue. */
			if (!n->have_chain) {
				r = take_rx_chain(n);
				if (r <= 0)
					break;
			}
			r = read_frame(n);
			if (r <= 0)
				break;
			budget--;
			if (!n->frame_len)
				continue;	/* dropped */
		}
		r = place_frame(n, &pushed);
		if (r <= 0)
			break;
	}
	/* No buffers: stop watching the tap until the driver adds some and notifies. */
	if (r == 0 && !n->have_chain)
		flag_set(&n->rx_wait, true);
	if (pushed)
		virtio_dev__notify_if_needed(&n->vdev, VIRTIO_NET_RXQ);
}

/* ---- vhost-net ---------------------------------------------------------- */

/* The queues vhost-net serves: both (vhost's ring index is the queue's). */
#define NET_VHOST_QUEUES	(BIT(VIRTIO_NET_RXQ) | BIT(VIRTIO_NET_TXQ))

/*
 * VHOST_NET_SET_BACKEND on both rings: the tap @fd (stopping at the first
 * refusal), or -1 to detach it from both (the kernel flushes the worker).
 */
static int vhost_net_backend(struct vnet *n, int fd, struct lkvm_err *err)
{
	int first = 0;

	for (unsigned int q = 0; q < 2; q++) {
		struct vhost_vring_file be = { .index = q, .fd = fd };
		int r = vhost__ioctl(&n->vhost, VHOST_NET_SET_BACKEND, &be);

		if (r && !first)
			first = seterr(err, -r, "VHOST_NET_SET_BACKEND (queue %u, fd %d): %s", q, fd,
				       strerror(-r));
		if (r && fd >= 0)
			break;
	}
	return first;
}

/* Takes the rings back from vhost-net: no backend, then no eventfds. */
static void vhost_stop(struct vnet *n)
{
	struct lkvm_err err = { "" };

	if (vhost_net_backend(n, -1, &err))
		lkvm_log_ratelimited(n->vdev.kvm, &n->rl, LOG_WARN, "virtio-net %s: %s", n->ifname,
				     err.msg);
	if (vhost__stop(&n->vhost, NET_VHOST_QUEUES, &err))
		lkvm_log_ratelimited(n->vdev.kvm, &n->rl, LOG_WARN, "virtio-net %s: %s", n->ifname,
				     err.msg);
	flag_set(&n->vhost_running, false);
}

/*
 * Hands both rings to vhost-net.  Returns 0; or -errno with @err before
 * any queue was offloaded (the userspace datapath takes over); after
 * that, a failure is logged and fails the device.
 */
static int vhost_start(struct vnet *n, struct lkvm_err *err)
{
	struct virtio_dev *d = &n->vdev;
	bool handed;
	int r;

	/* Before any queue leaves the transport: the userspace datapath stands aside. */
	flag_set(&n->vhost_running, true);
	r = vhost__start(&n->vhost, d, NET_VHOST_QUEUES, d->acked & n->vhost.features, &handed,
			 err);
	if (!r) {
		r = vhost_net_backend(n, n->tap_fd, err);
		if (!r)
			return 0;
		vhost_stop(n);
	} else {
		/* Not handed: lkvm serves the rings.  Handed: vhost__start() took them back. */
		flag_set(&n->vhost_running, false);
		if (!handed)
			return r;
	}
	lkvm_log_ratelimited(d->kvm, &n->rl, LOG_WARN, "virtio-net %s: %s", n->ifname, err->msg);
	d->fail(d, "vhost-net refused the rings");
	return 0;
}

/* ---- device ops --------------------------------------------------------- */

static void net_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct vnet *n = to_vnet(d);

	if (q == VIRTIO_NET_TXQ) {
		transmit(n);
		return;
	}
	flag_set(&n->rx_live, true);
	flag_set(&n->rx_wait, false);
	receive(n);
}

static int net_event_fd(struct virtio_dev *d)
{
	struct vnet *n = to_vnet(d);

	/*
	 * Only while frames can go somewhere: a readable tap the device won't
	 * read (no receive buffers, a failed device until its reset) would
	 * make the I/O thread spin.  A receiveq notification watches it again.
	 */
	if (!flag_get(&n->rx_live) || flag_get(&n->rx_wait) || flag_get(&n->vhost_running) ||
	    flag_get(&n->tap_dead) || virtio_dev__failed(d))
		return -1;
	return n->tap_fd;
}

static void net_event(struct virtio_dev *d)
{
	receive(to_vnet(d));
}

static void net_driver_ok(struct virtio_dev *d)
{
	struct vnet *n = to_vnet(d);
	struct lkvm_err err = { "" };
	unsigned int tun = 0;
	int r;

	if (n->tap_offload) {
		if (acked(n, VIRTIO_NET_F_GUEST_CSUM))
			tun |= TUN_F_CSUM;
		if (acked(n, VIRTIO_NET_F_GUEST_TSO4))
			tun |= TUN_F_TSO4;
		if (acked(n, VIRTIO_NET_F_GUEST_TSO6))
			tun |= TUN_F_TSO6;
		/* TSO without CSUM is refused by the tap (and by §5.1.3.1). */
		if (!(tun & TUN_F_CSUM))
			tun = 0;
		r = net__tap_set_offload(n->tap_fd, tun);
		if (r)
			lkvm_log_ratelimited(d->kvm, &n->rl, LOG_WARN, "virtio-net %s: TUNSETOFFLOAD "
					     "%#x: %s", n->ifname, tun, strerror(-r));
	}
	if (!vhost__is_open(&n->vhost))
		return;
	r = vhost_start(n, &err);
	if (r)
		lkvm_log_ratelimited(d->kvm, &n->rl, LOG_WARN, "virtio-net %s: vhost-net setup "
				     "failed (%s); the userspace datapath serves this driver",
				     n->ifname, err.msg);
}

static void net_reset(struct virtio_dev *d)
{
	struct vnet *n = to_vnet(d);

	if (flag_get(&n->vhost_running))
		vhost_stop(n);
	flag_set(&n->rx_live, false);
	flag_set(&n->rx_wait, false);
	/* Popped chains belong to the old rings: forget them. */
	n->have_chain = false;
	n->nr_done = 0;
	if (n->frame_len) {
		n->frame_len = 0;
		n->st.rx_dropped++;
	}
	if (n->tap_offload)
		net__tap_set_offload(n->tap_fd, 0);
}

static void net_config_read(struct virtio_dev *d, u32 off, u8 *buf, u32 len)
{
	struct vnet *n = to_vnet(d);
	u8 cfg[NET_CFG_SIZE];
	u16 status = htole16(VIRTIO_NET_S_LINK_UP), pairs = htole16(1);

	memcpy(cfg, n->mac, ETH_ALEN_LKVM);
	memcpy(cfg + 6, &status, 2);
	memcpy(cfg + 8, &pairs, 2);
	memcpy(buf, cfg + off, len);
}

static void net_free(struct virtio_dev *d)
{
	struct vnet *n = to_vnet(d);

	if (vhost__is_open(&n->vhost) && flag_get(&n->vhost_running))
		vhost_stop(n);
	if (!vhost__is_open(&n->vhost))
		pr_info(d->kvm, "virtio-net %s: %llu frames sent (%llu dropped), %llu received "
			"(%llu dropped)", n->ifname, (unsigned long long)n->st.tx_frames,
			(unsigned long long)n->st.tx_dropped, (unsigned long long)n->st.rx_frames,
			(unsigned long long)n->st.rx_dropped);
	vhost__close(&n->vhost);
	if (n->tap_fd >= 0)
		close(n->tap_fd);
	free(n->frame);
	free(n);
}

static const struct virtio_dev_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.nr_queues = 2,
	.queue_max = NET_QUEUE_MAX,
	.config_size = NET_CFG_SIZE,
	.config_read = net_config_read,
	.queue_notify = net_queue_notify,
	.event_fd = net_event_fd,
	.event = net_event,
	.driver_ok = net_driver_ok,
	.reset = net_reset,
	.free = net_free,
};

void virtio_net__stats(struct virtio_dev *d, struct virtio_net_stats *st)
{
	*st = to_vnet(d)->st;
}

int virtio_net__new(struct kvm *kvm, const struct net_opts *o, struct net_backend *be,
		    struct virtio_dev **out, struct lkvm_err *err)
{
	struct vnet *n = calloc(1, sizeof(*n));
	char mac[18];

	if (!n || !(n->frame = malloc(NET_FRAME_MAX))) {
		free(n);
		net__close_backend(be);
		return seterr(err, ENOMEM, "virtio-net: out of memory");
	}
	n->tap_fd = be->tap_fd;
	n->vhost = be->vhost;
	memcpy(n->ifname, be->ifname, sizeof(n->ifname));
	n->ifname[sizeof(n->ifname) - 1] = '\0';
	be->tap_fd = -1;
	vhost__init(&be->vhost);
	memcpy(n->mac, o->guest_mac, sizeof(n->mac));
	n->tap_offload = net__tap_set_offload(n->tap_fd, 0) == 0;

	n->vdev.ops = &net_ops;
	n->vdev.kvm = kvm;
	n->vdev.features = BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) |
			   BIT(VIRTIO_NET_F_MRG_RXBUF) | HOST_OFFLOADS |
			   (n->tap_offload ? GUEST_OFFLOADS : 0);
	if (vhost__is_open(&n->vhost))
		pr_info(kvm, "virtio-net: tap %s, guest MAC %s, vhost-net", n->ifname,
			net__mac_str(n->mac, mac));
	else
		pr_info(kvm, "virtio-net: tap %s, guest MAC %s, userspace datapath (%s)", n->ifname,
			net__mac_str(n->mac, mac), be->why_userspace[0] ? be->why_userspace : "no vhost");
	*out = &n->vdev;
	return 0;
}

static unsigned int net_count(const struct lkvm_config *cfg)
{
	return cfg->nr_net;
}

/* -n, in command-line order, each on the tap opened for it before the VM existed. */
static int net_create(struct kvm *kvm, unsigned int i, struct lkvm_err *err)
{
	struct virtio_dev *dev = NULL;
	int r = virtio_net__new(kvm, &kvm->cfg->net[i], &kvm->net[i], &dev, err);

	return r ? r : virtio__attach(kvm, dev, err);
}

const struct device_kind virtio_net_kind = { "virtio-net", net_count, net_create };
