// SPDX-License-Identifier: GPL-2.0-only
/*
 * blkbench's command-line parsing (see blkbench.h), kept apart from the
 * I/O so the native unit tests can run it without a block device.  No
 * getopt: it keeps state between calls, and the tests parse many times in
 * one process.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blkbench.h"

const char bench__usage[] =
	"usage: blkbench [options] DEVICE\n"
	"  --secs S         seconds per phase (default 3, at most 600)\n"
	"  --qd N           requests in flight in the 4 KiB random phases (default 16)\n"
	"  --seq-qd N       requests in flight in the sequential phases (default 4)\n"
	"  --seq-bs SIZE    sequential request size, a multiple of 4K, at most 16M (default 1M)\n"
	"  --phases LIST    comma-separated, in order: randread,randwrite,seqread,seqwrite\n"
	"  --pause-ms N     idle time after each BENCH marker line (default 100)\n"
	"  --seed N         seed of the random offsets (default 1)\n";

static const char *const phase_names[PHASE_COUNT] = {
	[PHASE_RANDREAD] = "randread",
	[PHASE_RANDWRITE] = "randwrite",
	[PHASE_SEQREAD] = "seqread",
	[PHASE_SEQWRITE] = "seqwrite",
};

const char *bench__phase_name(enum bench_phase p)
{
	return (unsigned int)p < PHASE_COUNT ? phase_names[p] : NULL;
}

int bench__phase_reads(enum bench_phase p)
{
	return p == PHASE_RANDREAD || p == PHASE_SEQREAD;
}

int bench__phase_seq(enum bench_phase p)
{
	return p == PHASE_SEQREAD || p == PHASE_SEQWRITE;
}

static int __attribute__((format(printf, 3, 4))) fail(char *err, size_t errlen,
							 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * A decimal number with an optional K or M (binary) suffix into *out,
 * which must lie in [lo, hi].  Refuses signs, hex, empty strings and
 * overflow.
 */
static int parse_num(const char *opt, const char *s, int suffix_ok, unsigned long long lo,
		     unsigned long long hi, unsigned long long *out, char *err, size_t errlen)
{
	unsigned long long v, mult = 1;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return fail(err, errlen, "%s: '%s' is not a number", opt, s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return fail(err, errlen, "%s: '%s' is out of range [%llu, %llu]", opt, s, lo, hi);
	if (suffix_ok && (*end == 'K' || *end == 'k')) {
		mult = 1024;
		end++;
	} else if (suffix_ok && (*end == 'M' || *end == 'm')) {
		mult = 1024 * 1024;
		end++;
	}
	if (*end)
		return fail(err, errlen, "%s: '%s' is not a number%s", opt, s,
			    suffix_ok ? " (suffixes: K, M)" : "");
	if (v > hi / mult || v * mult < lo || v * mult > hi)
		return fail(err, errlen, "%s: '%s' is out of range [%llu, %llu]", opt, s, lo, hi);
	*out = v * mult;
	return 0;
}

static int parse_phases(struct bench_opts *o, const char *s, char *err, size_t errlen)
{
	const char *p = s, *comma;
	unsigned int i, n = 0;
	size_t len;

	if (!*s)
		return fail(err, errlen, "--phases: empty list");
	for (;;) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		for (i = 0; i < PHASE_COUNT; i++)
			if (strlen(phase_names[i]) == len && !memcmp(p, phase_names[i], len))
				break;
		if (i == PHASE_COUNT)
			return fail(err, errlen,
				    "--phases: unknown phase '%.*s' (randread, randwrite, seqread, seqwrite)",
				    (int)len, p);
		for (unsigned int j = 0; j < n; j++)
			if (o->phases[j] == (enum bench_phase)i)
				return fail(err, errlen, "--phases: '%s' given twice", phase_names[i]);
		o->phases[n++] = (enum bench_phase)i;
		if (!comma)
			break;
		p = comma + 1;
	}
	o->nphases = n;
	return 0;
}

int bench__parse(struct bench_opts *o, int argc, char *const argv[], char *err, size_t errlen)
{
	static const struct {
		const char *name;
		int suffix_ok;
		unsigned long long lo, hi;
	} nums[] = {
		{ "--secs", 0, 1, BENCH_MAX_SECS },
		{ "--qd", 0, 1, BENCH_MAX_QD },
		{ "--seq-qd", 0, 1, BENCH_MAX_QD },
		{ "--seq-bs", 1, BENCH_RAND_BS, BENCH_MAX_SEQ_BS },
		{ "--pause-ms", 0, 0, BENCH_MAX_PAUSE_MS },
		{ "--seed", 0, 0, ~0ULL },
	};
	unsigned long long v = 0;
	int i;

	memset(o, 0, sizeof(*o));
	o->secs = 3;
	o->qd = 16;
	o->seq_qd = 4;
	o->seq_bs = 1U << 20;
	o->pause_ms = 100;
	o->seed = 1;
	for (o->nphases = 0; o->nphases < PHASE_COUNT; o->nphases++)
		o->phases[o->nphases] = (enum bench_phase)o->nphases;
	if (errlen)
		err[0] = '\0';

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		size_t namelen;
		unsigned int k;

		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return 1;
		if (strncmp(a, "--", 2) || !a[2]) {
			if (a[0] == '-' && a[1])
				return fail(err, errlen, "unknown option '%s'", a);
			if (o->dev)
				return fail(err, errlen, "more than one device ('%s', '%s')", o->dev, a);
			o->dev = a;
			continue;
		}
		eq = strchr(a, '=');
		namelen = eq ? (size_t)(eq - a) : strlen(a);
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			return fail(err, errlen, "%s needs a value", a);
		}
		if (namelen == 8 && !memcmp(a, "--phases", 8)) {
			if (parse_phases(o, val, err, errlen))
				return -1;
			continue;
		}
		for (k = 0; k < sizeof(nums) / sizeof(nums[0]); k++)
			if (strlen(nums[k].name) == namelen && !memcmp(a, nums[k].name, namelen))
				break;
		if (k == sizeof(nums) / sizeof(nums[0]))
			return fail(err, errlen, "unknown option '%.*s'", (int)namelen, a);
		if (parse_num(nums[k].name, val, nums[k].suffix_ok, nums[k].lo, nums[k].hi, &v,
			      err, errlen))
			return -1;
		switch (k) {
		case 0: o->secs = (unsigned int)v; break;
		case 1: o->qd = (unsigned int)v; break;
		case 2: o->seq_qd = (unsigned int)v; break;
		case 3:
			if (v % BENCH_RAND_BS)
				return fail(err, errlen, "--seq-bs: %llu is not a multiple of 4096", v);
			o->seq_bs = (unsigned int)v;
			break;
		case 4: o->pause_ms = (unsigned int)v; break;
		default: o->seed = v; break;
		}
	}
	if (!o->dev)
		return fail(err, errlen, "no device given (e.g. blkbench /dev/vda)");
	return 0;
}
