// SPDX-License-Identifier: GPL-2.0-only
/*
 * "-n, --network" arguments (kvmtool's keys, shared/KVMTOOL-CLI.md) into
 * struct net_opts.  Only mode=tap and mode=none exist here; kvmtool keys
 * that belong to what lkvm lacks (user-mode networking, multiqueue, other
 * transports) are refused by name.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lkvm/net.h"

#define NET_OPTS_HELP	"use -n mode=tap[,tapif=NAME][,vhost=on|off][,guest_mac=MAC]" \
			"[,host_mac=MAC][,script=PATH|none], or -n mode=none"

/* Whether the @n bytes at @p are exactly @word. */
static bool word_is(const char *p, size_t n, const char *word)
{
	return strlen(word) == n && !memcmp(p, word, n);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "xx:xx:xx:xx:xx:xx" (exactly, hex either case) of @n bytes at @p into @mac. */
static bool parse_mac(const char *p, size_t n, u8 *mac)
{
	if (n != 17)
		return false;
	for (unsigned int i = 0; i < ETH_ALEN_LKVM; i++) {
		int hi = hexval(p[3 * i]), lo = hexval(p[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && p[3 * i + 2] != ':'))
			return false;
		mac[i] = (u8)(hi << 4 | lo);
	}
	return true;
}

char *net__mac_str(const u8 *mac, char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	return buf;
}

/* A unicast, non-zero MAC from "KEY=VALUE" of @n bytes at @p (the key @klen long). */
static int mac_value(const char *arg, const char *p, size_t n, size_t klen, u8 *mac,
		     struct lkvm_err *err)
{
	static const u8 zero[ETH_ALEN_LKVM];

	if (!parse_mac(p + klen, n - klen, mac))
		return seterr(err, EINVAL, "-n %s: %.*s: expected a MAC address as six hex "
			      "pairs, e.g. %.*s52:54:00:12:34:56", arg, (int)n, p, (int)klen, p);
	if (mac[0] & 1)
		return seterr(err, EINVAL, "-n %s: %.*s is a multicast address (the low bit of "
			      "the first byte is set); use a unicast one such as 52:54:00:...",
			      arg, (int)n, p);
	if (!memcmp(mac, zero, sizeof(zero)))
		return seterr(err, EINVAL, "-n %s: %.*s: the all-zero MAC is not an address",
			      arg, (int)n, p);
	return 0;
}

/* Copies the value of "KEY=VALUE" (@n bytes at @p, key @klen long) into @dst of @size. */
static int str_value(const char *arg, const char *p, size_t n, size_t klen, char *dst,
		     size_t size, struct lkvm_err *err)
{
	if (n == klen)
		return seterr(err, EINVAL, "-n %s: %.*s needs a value; %s", arg, (int)n, p,
			      NET_OPTS_HELP);
	if (n - klen >= size)
		return seterr(err, EINVAL, "-n %s: %.*s: longer than %zu bytes", arg, (int)klen - 1,
			      p, size - 1);
	memcpy(dst, p + klen, n - klen);
	dst[n - klen] = '\0';
	return 0;
}

/* Keys of kvmtool's that lkvm knows but does not do: a word on why and what instead. */
static const struct {
	const char *key;
	const char *why;
} unsupported_keys[] = {
	{ "guest_ip", "guest_ip/host_ip configure kvmtool's user-mode network, which lkvm "
		      "does not have; with mode=tap, configure the guest inside it and the "
		      "host's side with script= or ip(8)" },
	{ "host_ip", "guest_ip/host_ip configure kvmtool's user-mode network, which lkvm "
		     "does not have; with mode=tap, configure the host's side with script= or ip(8)" },
	{ "mq", "lkvm's virtio-net has one queue pair (no VIRTIO_NET_F_MQ); drop mq=" },
	{ "trans", "lkvm puts every virtio device on --virtio-transport; drop trans=" },
	{ "fd", "lkvm opens the tap itself; name it with tapif= instead of fd=" },
	{ "downscript", "lkvm's tap goes away with lkvm; drop downscript=" },
};

static int parse_key(const char *arg, const char *p, size_t n, struct net_opts *o,
		     bool *tap, bool *none, struct lkvm_err *err)
{
	const char *eq = memchr(p, '=', n);
	size_t klen = eq ? (size_t)(eq - p) + 1 : n;

	if (word_is(p, n, "mode=tap")) {
		*tap = true;
		return 0;
	}
	if (word_is(p, n, "mode=none") || word_is(p, n, "none")) {
		*none = true;
		return 0;
	}
	if (word_is(p, n, "mode=user"))
		return seterr(err, EINVAL, "-n %s: lkvm has no user-mode (SLIRP) networking; use "
			      "mode=tap (needs CAP_NET_ADMIN; route or bridge the tap on the host) "
			      "or mode=none", arg);
	if (klen == 5 && !memcmp(p, "mode=", 5))
		return seterr(err, EINVAL, "-n %s: unknown mode '%.*s'; use mode=tap or mode=none",
			      arg, (int)(n - 5), p + 5);
	if (klen == 6 && !memcmp(p, "tapif=", 6))
		return str_value(arg, p, n, klen, o->tapif, sizeof(o->tapif), err);
	if (klen == 7 && !memcmp(p, "script=", 7)) {
		int r = str_value(arg, p, n, klen, o->script, sizeof(o->script), err);

		if (!r && !strcmp(o->script, "none"))
			o->script[0] = '\0';
		return r;
	}
	if (klen == 10 && !memcmp(p, "guest_mac=", 10))
		return mac_value(arg, p, n, klen, o->guest_mac, err);
	if (klen == 9 && !memcmp(p, "host_mac=", 9)) {
		o->has_host_mac = true;
		return mac_value(arg, p, n, klen, o->host_mac, err);
	}
	if (klen == 6 && !memcmp(p, "vhost=", 6)) {
		if (word_is(p + 6, n - 6, "on") || word_is(p + 6, n - 6, "1"))
			o->vhost = NET_VHOST_ON;
		else if (word_is(p + 6, n - 6, "off") || word_is(p + 6, n - 6, "0"))
			o->vhost = NET_VHOST_OFF;
		else
			return seterr(err, EINVAL, "-n %s: vhost=%.*s: use vhost=on (or 1), vhost=off "
				      "(or 0); without vhost=, lkvm uses vhost-net when the host has it",
				      arg, (int)(n - 6), p + 6);
		return 0;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(unsupported_keys); i++)
		if (eq && word_is(p, klen - 1, unsupported_keys[i].key))
			return seterr(err, EINVAL, "-n %s: %s", arg, unsupported_keys[i].why);
	return seterr(err, EINVAL, "-n %s: unknown option '%.*s'; %s", arg, (int)n, p,
		      NET_OPTS_HELP);
}

int net__parse_opts(const char *arg, unsigned int index, struct net_opts *o, bool *none,
		    struct lkvm_err *err)
{
	struct net_opts tmp;
	bool tap = false, no = false;
	const char *p, *end;

	memset(&tmp, 0, sizeof(tmp));
	/* QEMU's and kvmtool's locally administered prefix; one address per NIC. */
	memcpy(tmp.guest_mac, (const u8[]){ 0x52, 0x54, 0x00, 0x12, 0x34, 0x50 }, 6);
	tmp.guest_mac[5] = (u8)(0x50 + (index & 0xf));
	tmp.vhost = NET_VHOST_AUTO;
	if (!arg || !*arg)
		return seterr(err, EINVAL, "-n needs a value; %s", NET_OPTS_HELP);

	/* Every word between commas, the last one too: "mode=tap," has an empty one (as -d). */
	for (p = arg;; p = end + 1) {
		size_t n;
		int r;

		end = strchrnul(p, ',');
		n = (size_t)(end - p);
		if (!n)
			return seterr(err, EINVAL, "-n %s: empty option (stray comma?); %s", arg,
				      NET_OPTS_HELP);
		r = parse_key(arg, p, n, &tmp, &tap, &no, err);
		if (r)
			return r;
		if (!*end)
			break;
	}
	if (no && (tap || strchr(arg, ',')))
		return seterr(err, EINVAL, "-n %s: mode=none takes no other options", arg);
	if (!no && !tap)
		return seterr(err, EINVAL, "-n %s: no mode= (kvmtool's default is user-mode "
			      "networking, which lkvm does not have); add mode=tap, or use mode=none",
			      arg);
	*none = no;
	if (!no)
		*o = tmp;
	return 0;
}
