/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host networking under virtio-net: what "-n mode=tap,..." says (parsed
 * with the rest of the configuration, before any VM exists), and the
 * backend it opens, also before the VM: a tap device (/dev/net/tun,
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, a 12-byte virtio_net_hdr_v1 in
 * front of every frame) and, where the host has it and it is not turned
 * off, a vhost-net instance that moves the frames in the kernel.
 *
 * Nothing here touches /dev/kvm.  vhost-net is opened here through the
 * generic vhost client (virtio/vhost.c, lkvm/vhost.h); the ioctls that
 * need the guest's rings are made by the device (virtio/net.c) once the
 * driver is ready.  Library code: errors come back as -errno with a
 * message saying what failed and what to do.
 */
#ifndef LKVM_NET_H
#define LKVM_NET_H

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>

#include "lkvm/util.h"
#include "lkvm/vhost.h"

#define LKVM_MAX_NICS		4
#define ETH_ALEN_LKVM		6

enum net_vhost {
	NET_VHOST_AUTO,		/* vhost-net if /dev/vhost-net works, else userspace (logged) */
	NET_VHOST_ON,		/* vhost-net or an error before the VM starts */
	NET_VHOST_OFF,		/* the userspace datapath */
};

/* One "-n mode=tap[,tapif=..][,vhost=..][,guest_mac=..][,host_mac=..][,script=..]". */
struct net_opts {
	char tapif[IFNAMSIZ];	/* empty: the kernel names a new tap (lkvmtap%d) */
	char script[PATH_MAX];	/* empty: none; else run with the tap's name as $1 */
	u8 guest_mac[ETH_ALEN_LKVM];
	u8 host_mac[ETH_ALEN_LKVM];
	bool has_host_mac;	/* else the kernel's random address stays */
	enum net_vhost vhost;
};

/*
 * What one -n argument asked for: a NIC (*@o filled in, fully
 * overwritten; the guest MAC defaults to 52:54:00:12:34:5<@index>), or
 * no networking at all ("none", "mode=none": *@none set, @o untouched).
 * Keys are kvmtool's; later ones override earlier ones.  Returns 0 or
 * -EINVAL with @err naming the word and the fix: an unknown key or mode,
 * mode=user (lkvm has no SLIRP), a bad MAC (six hex pairs with ':', not
 * multicast, not all zero), a vhost value other than on/off/1/0, an
 * interface name of IFNAMSIZ bytes or more.
 */
int net__parse_opts(const char *arg, unsigned int index, struct net_opts *o, bool *none,
		    struct lkvm_err *err);

/* Formats @mac as "xx:xx:xx:xx:xx:xx" into @buf (at least 18 bytes); returns @buf. */
char *net__mac_str(const u8 *mac, char *buf);

/*
 * A NIC's host side, opened before the VM exists and handed to
 * virtio_net__new(), which takes the fds.  tap_fd is non-blocking.
 */
struct net_backend {
	int tap_fd;		/* -1: not open */
	struct vhost_dev vhost;	/* /dev/vhost-net; not open: the userspace datapath */
	char ifname[IFNAMSIZ];	/* the tap's name, as the kernel has it */
	char why_userspace[256];	/* why vhost is not open (for the log) */
};

/* Sets @be to "nothing open", so net__close_backend() on it is a no-op. */
void net__backend_init(struct net_backend *be);

/*
 * Opens the tap of @o (TUNSETIFF: an existing tap of that name is
 * attached, else a new one created; the kernel names it when tapif is
 * empty), sets its vnet header to 12 bytes, its MAC (host_mac), runs the
 * script, brings the interface up, then opens vhost-net as @o->vhost
 * says: with AUTO, a /dev/vhost-net that can't be opened or lacks a ring
 * feature the device needs (VERSION_1, EVENT_IDX, INDIRECT_DESC,
 * MRG_RXBUF) leaves @be->vhost closed with the reason in why_userspace;
 * with ON, it is an error.  Returns 0, or -errno with @err naming the tap
 * (and, for EPERM or a missing /dev/net/tun or /dev/vhost-net, what the
 * host needs); @be holds nothing open then.  Undo: net__close_backend().
 */
int net__open_backend(const struct net_opts *o, struct net_backend *be, struct lkvm_err *err);

/* Closes what @be still holds (a tap lkvm created goes away with its fd). */
void net__close_backend(struct net_backend *be);

/*
 * TUNSETOFFLOAD: @tun_flags (TUN_F_*) is what the reader of @fd accepts
 * in frames from the host.  Returns 0 or -errno (-ENOTTY: not a tap).
 */
int net__tap_set_offload(int fd, unsigned int tun_flags);

#endif /* LKVM_NET_H */
