// SPDX-License-Identifier: GPL-2.0-only
/*
 * A NIC's host side, opened before the VM exists: the tap device
 * (Linux Documentation/networking/tuntap.rst) with virtio-net headers on
 * its frames, and the optional vhost-net instance (Linux drivers/vhost,
 * include/uapi/linux/vhost.h) that the device hands its rings to, opened
 * with the generic vhost client (virtio/vhost.c).
 *
 * The tap: TUNSETIFF with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, so every
 * read and write carries one virtio_net_hdr in front of the frame, and
 * TUNSETVNETHDRSZ 12 makes it the virtio 1.x header (with num_buffers),
 * the one the guest's driver uses.  A name given with tapif= attaches to
 * an existing tap of that name or creates it; without one the kernel
 * picks "lkvmtap<N>".  Then, like kvmtool: the host_mac, the script, and
 * the interface is brought up (addresses are the script's or the
 * admin's business).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lkvm/net.h"
#include "lkvm/vhost.h"
#include "lkvm/virtio-dev.h"

#define TAP_DEFAULT_NAME	"lkvmtap%d"
#define VNET_HDR_LEN		12	/* struct virtio_net_hdr_v1 */

/* The ring features lkvm's virtio-net needs from vhost-net to hand it the rings. */
#define VHOST_NEEDED_FEATURES	(BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) | \
				 BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(VIRTIO_NET_F_MRG_RXBUF))

extern char **environ;

void net__backend_init(struct net_backend *be)
{
	memset(be, 0, sizeof(*be));
	be->tap_fd = -1;
	vhost__init(&be->vhost);
}

void net__close_backend(struct net_backend *be)
{
	vhost__close(&be->vhost);
	if (be->tap_fd >= 0)
		close(be->tap_fd);
	be->tap_fd = -1;
}

int net__tap_set_offload(int fd, unsigned int tun_flags)
{
	return ioctl(fd, TUNSETOFFLOAD, (unsigned long)tun_flags) < 0 ? -errno : 0;
}

/* What to say about an errno from /dev/net/tun or TUNSETIFF. */
static int tap_error(const char *what, const struct net_opts *o, int e, struct lkvm_err *err)
{
	const char *name = o->tapif[0] ? o->tapif : TAP_DEFAULT_NAME;

	switch (e) {
	case ENOENT:
	case ENODEV:
	case ENXIO:
		return seterr(err, e, "-n mode=tap: %s: %s: this host has no tun driver; load it "
			      "(modprobe tun) or create the node (mknod /dev/net/tun c 10 200)",
			      what, strerror(e));
	case EPERM:
	case EACCES:
		return seterr(err, e, "-n mode=tap: tap %s: %s: %s: creating or attaching a tap "
			      "needs CAP_NET_ADMIN (run lkvm as root), or a persistent tap this user "
			      "may use (ip tuntap add %s mode tap user $USER)", name, what,
			      strerror(e), o->tapif[0] ? o->tapif : "NAME");
	case EBUSY:
		return seterr(err, e, "-n tapif=%s: %s: the tap is in use by another process; "
			      "give another tapif=", name, strerror(e));
	case EINVAL:
		if (o->tapif[0])
			return seterr(err, e, "-n tapif=%s: %s: %s: an interface of that name exists "
				      "and is not a tap lkvm can attach to (IFF_TAP | IFF_NO_PI); give "
				      "another tapif=", name, what, strerror(e));
		break;
	}
	return seterr(err, e, "-n mode=tap: tap %s: %s: %s", name, what, strerror(e));
}

/* Runs @script with the tap's name as $1 and waits for it; non-zero exit is an error. */
static int run_script(const char *script, const char *ifname, struct lkvm_err *err)
{
	char *argv[] = { (char *)script, (char *)ifname, NULL };
	pid_t pid;
	int st, r;

	r = posix_spawn(&pid, script, NULL, NULL, argv, environ);
	if (r)
		return seterr(err, r, "-n script=%s: cannot run it: %s (give an executable, or "
			      "script=none)", script, strerror(r));
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return seterr(err, errno, "-n script=%s: waitpid: %s", script,
				      strerror(errno));
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		return seterr(err, EIO, "-n script=%s %s: exited with status %d", script, ifname,
			      WEXITSTATUS(st));
	return seterr(err, EIO, "-n script=%s %s: killed by signal %d", script, ifname,
		      WTERMSIG(st));
}

/* host_mac, the script, then IFF_UP, on the tap @be->ifname (through an inet socket). */
static int configure_tap(const struct net_opts *o, struct net_backend *be, struct lkvm_err *err)
{
	struct ifreq ifr;
	int s, r = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return seterr(err, errno, "-n mode=tap: socket(AF_INET): %s", strerror(errno));
	if (o->has_host_mac) {
		char mac[18];

		memset(&ifr, 0, sizeof(ifr));
		memcpy(ifr.ifr_name, be->ifname, sizeof(ifr.ifr_name));
		ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memcpy(ifr.ifr_hwaddr.sa_data, o->host_mac, ETH_ALEN_LKVM);
		if (ioctl(s, SIOCSIFHWADDR, &ifr) < 0) {
			r = seterr(err, errno, "-n host_mac=%s: setting it on tap %s (SIOCSIFHWADDR): %s",
				   net__mac_str(o->host_mac, mac), be->ifname, strerror(errno));
			goto out;
		}
	}
	if (o->script[0]) {
		r = run_script(o->script, be->ifname, err);
		if (r)
			goto out;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, be->ifname, sizeof(ifr.ifr_name));
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		r = seterr(err, errno, "-n mode=tap: tap %s: SIOCGIFFLAGS: %s", be->ifname,
			   strerror(errno));
		goto out;
	}
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			r = seterr(err, errno, "-n mode=tap: bringing tap %s up (SIOCSIFFLAGS): %s",
				   be->ifname, strerror(errno));
	}
out:
	close(s);
	return r;
}

static int open_tap(const struct net_opts *o, struct net_backend *be, struct lkvm_err *err)
{
	struct ifreq ifr;
	int hdr = VNET_HDR_LEN;

	be->tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (be->tap_fd < 0)
		return tap_error("/dev/net/tun", o, errno, err);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", o->tapif[0] ? o->tapif : TAP_DEFAULT_NAME);
	if (ioctl(be->tap_fd, TUNSETIFF, &ifr) < 0)
		return tap_error("TUNSETIFF", o, errno, err);
	memcpy(be->ifname, ifr.ifr_name, sizeof(be->ifname));
	be->ifname[sizeof(be->ifname) - 1] = '\0';
	if (ioctl(be->tap_fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return seterr(err, errno, "-n mode=tap: tap %s: TUNSETVNETHDRSZ %d: %s (the host's "
			      "tun driver is too old)", be->ifname, hdr, strerror(errno));
	/* A tap attached by name keeps its offloads: start from none, the guest sets them. */
	if (net__tap_set_offload(be->tap_fd, 0))
		return seterr(err, errno, "-n mode=tap: tap %s: TUNSETOFFLOAD: %s", be->ifname,
			      strerror(errno));
	return configure_tap(o, be, err);
}

/*
 * vhost-net as @o->vhost says.  With AUTO, a failure is no error: the
 * reason goes to why_userspace and the userspace datapath is used.
 */
static int open_vhost(const struct net_opts *o, struct net_backend *be, struct lkvm_err *err)
{
	struct lkvm_err why = { "" };
	int e;

	if (o->vhost == NET_VHOST_OFF) {
		snprintf(be->why_userspace, sizeof(be->why_userspace), "vhost=off");
		return 0;
	}
	e = -vhost__open(&be->vhost, "/dev/vhost-net", &why);
	if (!e && (be->vhost.features & VHOST_NEEDED_FEATURES) != VHOST_NEEDED_FEATURES) {
		vhost__close(&be->vhost);
		e = ENOTSUP;
		seterr(&why, e, "vhost-net lacks VERSION_1, EVENT_IDX, INDIRECT_DESC or MRG_RXBUF: "
		       "%s", strerror(e));
	}
	if (!e)
		return 0;
	if (o->vhost == NET_VHOST_ON)
		return seterr(err, e, "-n vhost=on: tap %s: %s; drop vhost=on to fall back to "
			      "the userspace datapath", be->ifname, why.msg);
	snprintf(be->why_userspace, sizeof(be->why_userspace), "%.*s",
		 (int)sizeof(be->why_userspace) - 1, why.msg);
	return 0;
}

int net__open_backend(const struct net_opts *o, struct net_backend *be, struct lkvm_err *err)
{
	int r;

	net__backend_init(be);
	r = open_tap(o, be, err);
	if (!r)
		r = open_vhost(o, be, err);
	if (r)
		net__close_backend(be);
	return r;
}
