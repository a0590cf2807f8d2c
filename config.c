// SPDX-License-Identifier: GPL-2.0-only
/*
 * "lkvm run" options: kvmtool's names and meanings (shared/KVMTOOL-CLI.md),
 * parsed into struct lkvm_config and validated once.  The arch's options
 * (arch_config__options) join the table here and go to the arch's parser;
 * validation asks the arch about its part and about the memory map.  An
 * option lkvm does not implement is refused by name, never silently ignored.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lkvm/arch.h"
#include "lkvm/config.h"
#include "lkvm/control.h"

enum {
	OPT_NAME = 0x100,
	OPT_CONSOLE,
	OPT_NODEFAULTS,
	OPT_LOGLEVEL,
	OPT_DEBUG,
	OPT_DUMP_DTB,
	OPT_IPA_BITS,
	OPT_FIRMWARE_ADDR,
	OPT_VIRTIO_TRANSPORT,
	OPT_RNG,
	OPT_SANDBOX,
	OPT_9P,
	OPT_BALLOON,
	OPT_VSOCK,
	OPT_HUGETLBFS,
	OPT_UNSUPPORTED,	/* every option from here on is refused by name */
};

static const struct option run_options[] = {
	{ "kernel",		required_argument, NULL, 'k' },
	{ "initrd",		required_argument, NULL, 'i' },
	{ "params",		required_argument, NULL, 'p' },
	{ "firmware",		required_argument, NULL, 'f' },
	{ "firmware-address",	required_argument, NULL, OPT_FIRMWARE_ADDR },
	{ "cpus",		required_argument, NULL, 'c' },
	{ "mem",		required_argument, NULL, 'm' },
	{ "hugetlbfs",		required_argument, NULL, OPT_HUGETLBFS },
	{ "name",		required_argument, NULL, OPT_NAME },
	{ "network",		required_argument, NULL, 'n' },
	{ "console",		required_argument, NULL, OPT_CONSOLE },
	{ "nodefaults",		no_argument,	   NULL, OPT_NODEFAULTS },
	{ "loglevel",		required_argument, NULL, OPT_LOGLEVEL },
	{ "debug",		no_argument,	   NULL, OPT_DEBUG },
	{ "dump-dtb",		required_argument, NULL, OPT_DUMP_DTB },
	{ "ipa-bits",		required_argument, NULL, OPT_IPA_BITS },
	{ "virtio-transport",	required_argument, NULL, OPT_VIRTIO_TRANSPORT },
	{ "disk",		required_argument, NULL, 'd' },
	{ "rng",		no_argument,	   NULL, OPT_RNG },
	{ "sandbox",		required_argument, NULL, OPT_SANDBOX },
	{ "9p",			required_argument, NULL, OPT_9P },
	{ "balloon",		optional_argument, NULL, OPT_BALLOON },
	{ "vsock",		required_argument, NULL, OPT_VSOCK },
	{ "help",		no_argument,	   NULL, 'h' },
	/* kvmtool options lkvm does not have (yet): refused with a message. */
	{ "flash",		required_argument, NULL, OPT_UNSUPPORTED },
	{ "debug-mmio",		no_argument,	   NULL, OPT_UNSUPPORTED },
	{ "debug-ioport",	no_argument,	   NULL, OPT_UNSUPPORTED },
	{ "debug-single-step",	no_argument,	   NULL, OPT_UNSUPPORTED },
};

/* ":": report a missing value as ':'.  Options may follow the kernel (GNU order). */
static const char run_shortopts[] = ":k:i:p:f:c:m:n:d:F:h";

/* The combined table (config__run_options()) fits in LKVM_RUN_OPTIONS_MAX. */
_Static_assert(ARRAY_SIZE(run_options) + LKVM_MAX_ARCH_OPTIONS + 1 <= LKVM_RUN_OPTIONS_MAX,
	       "LKVM_RUN_OPTIONS_MAX too small");

void config__usage_run(void)
{
	fputs("usage: lkvm run [options] [kernel]\n"
	      "\n"
	      "Boot an arm64 Linux Image or Image.gz, or a bare-metal payload, on KVM.\n"
	      "\n"
	      "  -k, --kernel FILE        kernel (arm64 Image, Image.gz) or payload (ELF or flat)\n"
	      "  -i, --initrd FILE        initial RAM disk\n"
	      "  -p, --params STRING      kernel command line, appended to lkvm's defaults\n"
	      "  -f, --firmware FILE      flat firmware image instead of a kernel\n"
	      "      --firmware-address A where to load it (default: start of RAM)\n"
	      "  -c, --cpus N             vCPUs (default: host CPUs)\n"
	      "  -m, --mem SIZE[@ADDR]    RAM bank, unit MiB unless suffixed (B K M G T P);\n"
	      "                           repeat for more banks; default 256M at 2G\n"
	      "      --hugetlbfs DIR      guest RAM from huge pages: a file on the hugetlbfs\n"
	      "                           mounted at DIR\n"
	      "      --name NAME          guest name (default guest-PID): its control socket is\n"
	      "                           ~/.lkvm/NAME.sock, for lkvm list/stop/pause/debug\n"
	      "  -d, --disk PATH[,ro][,direct][,engine=io_uring|aio|sync]\n"
	      "                           virtio-blk disk (image file or block device);\n"
	      "                           repeat for more (up to 8); ro: read-only,\n"
	      "                           direct: O_DIRECT, engine: host I/O (default: best)\n"
	      "      --rng                virtio-rng: the guest's /dev/hwrng, fed by getrandom(2)\n"
	      "      --sandbox on|off|log seccomp allowlist per thread (default on); log: allow\n"
	      "                           but have the kernel log calls off the lists\n"
	      "      --9p DIR,TAG[,ro]    virtio-9p: share the host directory DIR, which the guest\n"
	      "                           mounts with mount -t 9p -o trans=virtio TAG /mnt; the\n"
	      "                           guest can't reach outside DIR; ro: read-only; repeat\n"
	      "                           for more (up to 4)\n"
	      "      --balloon[=no-report]  virtio-balloon: lkvm balloon inflates and deflates\n"
	      "                           it, lkvm stat --memory shows the guest's memory; freed\n"
	      "                           guest pages go back to the host (free page reporting,\n"
	      "                           unless no-report)\n"
	      "      --vsock CID          virtio-vsock (needs /dev/vhost-vsock): AF_VSOCK between\n"
	      "                           the guest (CID, 3 or more) and the host (CID 2)\n"
	      "      --virtio-transport pci|mmio  modern virtio-pci (default; MSI-X through\n"
	      "                           the ITS, INTx without one) or virtio-mmio\n"
	      "  -n, --network mode=tap[,tapif=NAME][,vhost=on|off][,guest_mac=MAC]\n"
	      "                [,host_mac=MAC][,script=PATH|none]\n"
	      "                           virtio-net on a tap (needs CAP_NET_ADMIN): tapif\n"
	      "                           attaches or creates that tap (default: a new\n"
	      "                           lkvmtapN); vhost-net unless vhost=off; guest MAC\n"
	      "                           default 52:54:00:12:34:5N for the Nth; script runs\n"
	      "                           with the tap's name; repeat for more NICs (up to 4)\n"
	      "  -n, --network mode=none  no network\n"
	      "      --console serial     8250 UART on stdin/stdout (default)\n"
	      "      --console virtio     virtio-console (hvc0) on stdin/stdout, console=hvc0;\n"
	      "                           the 8250 stays (its output also goes to stdout)\n"
	      "      --ipa-bits N         guest physical address size (default: what the map needs)\n",
	      stdout);
	arch_config__usage(stdout);
	fputs("      --dump-dtb FILE      write the generated device tree\n"
	      "      --nodefaults         no implicit console= (ttyS0 or hvc0) in the command line\n"
	      "      --loglevel LEVEL     error, warning, info or debug\n"
	      "      --debug              same as --loglevel debug\n"
	      "  -h, --help               this text\n"
	      "\n"
	      "-k, -i, -p, -f and --name given twice: the last one counts (as in kvmtool).\n"
	      "Checks, in order: the command line (exit status 2, before /dev/kvm is opened),\n"
	      "what this host can do (exit 1: \"this host cannot ...\"), the guest's files\n"
	      "(exit 2: \"Fatal: Unable to open kernel FILE\", ...), then the VM is built.\n"
	      "The guest powering off ends lkvm with status 0; Ctrl-A x quits from a terminal.\n",
	      stdout);
}

void config__defaults(struct lkvm_config *cfg, unsigned int host_cpus)
{
	memset(cfg, 0, sizeof(*cfg));
	/* A host with more CPUs than lkvm's limit gets the limit (KVM's is the host check's). */
	cfg->nr_cpus = host_cpus ? MIN(host_cpus, LKVM_MAX_CPUS) : 1;
	cfg->console = CONSOLE_SERIAL;
	cfg->loglevel = LOG_WARN;
	cfg->sandbox = SANDBOX_ON;	/* every system test runs with it */
	arch_config__defaults(&cfg->arch);
}

/* SIZE[@ADDR]: a bare number is MiB; a bare 0x address is bytes. */
static int parse_mem(struct lkvm_config *cfg, const char *arg, struct lkvm_err *err)
{
	char buf[128], *at;
	struct mem_bank *b;
	size_t alen;
	int r;

	if (cfg->nr_mem == LKVM_MAX_MEM_BANKS)
		return seterr(err, EINVAL, "-m: at most %d RAM banks", LKVM_MAX_MEM_BANKS);
	alen = strlen(arg);
	if (alen >= sizeof(buf))
		return seterr(err, EINVAL, "-m %s: too long", arg);
	memcpy(buf, arg, alen + 1);
	b = &cfg->mem[cfg->nr_mem];
	memset(b, 0, sizeof(*b));
	at = strchr(buf, '@');
	if (at)
		*at++ = '\0';
	r = parse_size(buf, SZ_MiB, &b->size);
	if (r == 0 && at) {
		bool hex = at[0] == '0' && (at[1] == 'x' || at[1] == 'X');

		/* A suffix wins; a bare hex address is in bytes, a bare decimal one in MiB. */
		r = parse_size(at, hex ? 1 : SZ_MiB, &b->addr);
		b->has_addr = true;
	}
	if (r == -ERANGE)
		return seterr(err, EINVAL, "-m %s: value too large", arg);
	if (r)
		return seterr(err, EINVAL,
			      "-m %s: expected SIZE[@ADDR], e.g. 512, 2G or 1G@0x100000000 "
			      "(unit MiB unless suffixed with B, K, M, G, T or P)", arg);
	if (b->size == 0)
		return seterr(err, EINVAL, "-m %s: RAM size must not be zero", arg);
	cfg->nr_mem++;
	return 0;
}

static int parse_loglevel(struct lkvm_config *cfg, const char *arg, struct lkvm_err *err)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(arg, names[i])) {
			cfg->loglevel = (enum log_level)i;
			return 0;
		}
	}
	return seterr(err, EINVAL, "--loglevel %s: use error, warning, info or debug", arg);
}

/* --9p DIR,TAG[,ro]: the tag is after the last comma (DIR may hold commas). */
static int parse_9p(struct lkvm_config *cfg, const char *arg, struct lkvm_err *err)
{
	struct p9_share *sh = &cfg->p9[cfg->nr_9p];
	size_t len = strlen(arg);
	const char *comma;

	if (cfg->nr_9p == LKVM_MAX_9P)
		return seterr(err, EINVAL, "--9p %s: at most %d shared directories", arg,
			      LKVM_MAX_9P);
	memset(sh, 0, sizeof(*sh));
	if (len > 3 && !strcmp(arg + len - 3, ",ro")) {
		sh->ro = true;
		len -= 3;
	}
	comma = memrchr(arg, ',', len);
	if (!comma || comma == arg || comma + 1 == arg + len)
		return seterr(err, EINVAL, "--9p %s: expected DIR,TAG[,ro], a host directory and "
			      "the guest's mount tag, e.g. --9p /srv/share,share", arg);
	if ((size_t)(arg + len - comma - 1) > LKVM_9P_TAG_MAX)
		return seterr(err, EINVAL, "--9p %s: the tag is longer than %d bytes", arg,
			      LKVM_9P_TAG_MAX);
	if ((size_t)(comma - arg) >= sizeof(sh->dir))
		return seterr(err, EINVAL, "--9p %s: the directory's name is too long", arg);
	memcpy(sh->dir, arg, (size_t)(comma - arg));
	memcpy(sh->tag, comma + 1, (size_t)(arg + len - comma - 1));
	for (const char *t = sh->tag; *t; t++)
		if (*t <= ' ' || *t > '~')
			return seterr(err, EINVAL, "--9p %s: the tag may hold only printable "
				      "characters, no spaces", arg);
	cfg->nr_9p++;
	return 0;
}

static int parse_num(const char *opt, const char *arg, u64 max, u64 *out, struct lkvm_err *err)
{
	int r = parse_uint(arg, max, out);

	if (r == -ERANGE)
		return seterr(err, EINVAL, "%s %s: at most %llu", opt, arg, (unsigned long long)max);
	if (r)
		return seterr(err, EINVAL, "%s %s: expected a number", opt, arg);
	return 0;
}

/*
 * -c beyond lkvm's own limit.  The host's limit, KVM_CAP_MAX_VCPUS, is
 * KVM's answer and checked with the host (kvm__check_host()).
 */
static int cpus_too_many(const char *arg, struct lkvm_err *err)
{
	return seterr(err, EINVAL, "-c %s: out of range: at most %d vCPUs (lkvm's limit); the "
		      "host's KVM may allow fewer (KVM_CAP_MAX_VCPUS, see lkvm check)", arg,
		      LKVM_MAX_CPUS);
}

static const char *option_name(const struct option *opts, int idx, int c, char *buf,
			       size_t len)
{
	if (idx >= 0)
		snprintf(buf, len, "--%s", opts[idx].name);
	else
		snprintf(buf, len, "-%c", c);
	return buf;
}

static int parse_one(struct lkvm_config *cfg, const struct option *opts, int c, int idx,
		     const char *arg, struct lkvm_err *err)
{
	char name[40];
	u64 v = 0;
	int r;

	switch (c) {
	case 'k': cfg->kernel = arg; return 0;
	case 'i': cfg->initrd = arg; return 0;
	case 'p': cfg->params = arg; return 0;
	case 'f': cfg->firmware = arg; return 0;
	case OPT_FIRMWARE_ADDR:
		cfg->has_firmware_addr = true;
		return parse_num("--firmware-address", arg, UINT64_MAX, &cfg->firmware_addr, err);
	case 'c':
		r = parse_uint(arg, LKVM_MAX_CPUS, &v);
		if (r == -ERANGE)
			return cpus_too_many(arg, err);
		if (r)
			return seterr(err, EINVAL, "-c %s: expected a number", arg);
		cfg->nr_cpus = (unsigned int)v;
		return 0;
	case 'm': return parse_mem(cfg, arg, err);
	case OPT_HUGETLBFS:
		/* Only the syntax here: what DIR is, and its free pages, are host facts. */
		if (!*arg)
			return seterr(err, EINVAL, "--hugetlbfs needs a directory on a hugetlbfs "
				      "mount, e.g. --hugetlbfs /dev/hugepages");
		cfg->hugetlbfs = arg;
		return 0;
	case OPT_NAME: cfg->name = arg; return 0;
	case 'n': {
		bool none = false;

		if (cfg->nr_net == LKVM_MAX_NICS)
			return seterr(err, EINVAL, "-n %s: at most %d network devices", arg,
				      LKVM_MAX_NICS);
		r = net__parse_opts(arg, cfg->nr_net, &cfg->net[cfg->nr_net], &none, err);
		if (!r && none)
			cfg->no_net = true;
		else if (!r)
			cfg->nr_net++;
		return r;
	}
	case 'd':
		if (cfg->nr_disk == LKVM_MAX_DISKS)
			return seterr(err, EINVAL, "-d %s: at most %d disks", arg, LKVM_MAX_DISKS);
		r = disk__parse_opts(arg, &cfg->disk[cfg->nr_disk], err);
		if (!r)
			cfg->nr_disk++;
		return r;
	case 'F':
		return seterr(err, EINVAL, "-F %s: lkvm has no CFI flash; load firmware with -f",
			      arg);
	case OPT_CONSOLE:
		if (!strcmp(arg, "serial")) {
			cfg->console = CONSOLE_SERIAL;
			return 0;
		}
		if (!strcmp(arg, "virtio")) {
			cfg->console = CONSOLE_VIRTIO;
			return 0;
		}
		if (!strcmp(arg, "hv"))
			return seterr(err, EINVAL, "--console hv: this lkvm has no hypervisor "
				      "console; use --console serial or virtio");
		return seterr(err, EINVAL, "--console %s: use serial or virtio", arg);
	case OPT_NODEFAULTS: cfg->nodefaults = true; return 0;
	case OPT_LOGLEVEL: return parse_loglevel(cfg, arg, err);
	case OPT_DEBUG: cfg->loglevel = LOG_DEBUG; return 0;
	case OPT_DUMP_DTB: cfg->dump_dtb = arg; return 0;
	case OPT_IPA_BITS:
		r = parse_num("--ipa-bits", arg, 64, &v, err);
		cfg->ipa_bits = (unsigned int)v;
		return r;
	case OPT_RNG: cfg->rng = true; return 0;
	case OPT_SANDBOX:
		if (!strcmp(arg, "on"))
			cfg->sandbox = SANDBOX_ON;
		else if (!strcmp(arg, "off"))
			cfg->sandbox = SANDBOX_OFF;
		else if (!strcmp(arg, "log"))
			cfg->sandbox = SANDBOX_LOG;
		else
			return seterr(err, EINVAL, "--sandbox %s: use on (the default), off or log",
				      arg);
		return 0;
	case OPT_9P: return parse_9p(cfg, arg, err);
	case OPT_BALLOON:
		cfg->balloon = true;
		if (!arg)
			return 0;
		if (strcmp(arg, "no-report") != 0)
			return seterr(err, EINVAL,
				      "--balloon=%s: the only value is no-report (no free page "
				      "reporting); --balloon alone reports", arg);
		cfg->balloon_no_report = true;
		return 0;
	case OPT_VSOCK:
		r = parse_num("--vsock", arg, UINT64_MAX, &cfg->vsock_cid, err);
		if (!r && (cfg->vsock_cid < LKVM_VSOCK_MIN_CID ||
			   cfg->vsock_cid > LKVM_VSOCK_MAX_CID))
			return seterr(err, EINVAL, "--vsock %s: a guest CID is %llu to %llu (0-2 "
				      "are the hypervisor, loopback and host; -1 means any)", arg,
				      LKVM_VSOCK_MIN_CID, LKVM_VSOCK_MAX_CID);
		return r;
	case OPT_VIRTIO_TRANSPORT:
		if (!strcmp(arg, "mmio")) {
			cfg->virtio_transport = VIRTIO_TRANSPORT_MMIO;
			return 0;
		}
		if (!strcmp(arg, "pci")) {
			cfg->virtio_transport = VIRTIO_TRANSPORT_PCI;
			return 0;
		}
		if (!strcmp(arg, "mmio-legacy") || !strcmp(arg, "pci-legacy"))
			return seterr(err, EINVAL, "--virtio-transport %s: lkvm has no legacy "
				      "virtio; use --virtio-transport %.*s", arg,
				      (int)(strchr(arg, '-') - arg), arg);
		return seterr(err, EINVAL, "--virtio-transport %s: use pci or mmio", arg);
	case OPT_UNSUPPORTED:
		return seterr(err, EINVAL, "%s: not supported by this lkvm",
			      option_name(opts, idx, c, name, sizeof(name)));
	}
	if (c >= LKVM_OPT_ARCH_BASE)
		return arch_config__parse_opt(&cfg->arch, c, arg, err);
	return seterr(err, EINVAL, "unexpected option");
}

int config__run_options(struct option *opts, unsigned int max)
{
	unsigned int n = 0;

	/* One table: the generic options, then the arch's, then the terminator. */
	for (unsigned int i = 0; i < ARRAY_SIZE(run_options); i++) {
		if (n + 1 >= max)
			return -E2BIG;
		opts[n++] = run_options[i];
	}
	for (const struct option *o = arch_config__options; o->name; o++) {
		if (n + 1 >= max)
			return -E2BIG;
		opts[n++] = *o;
	}
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
	return (int)n;
}

int config__parse_run(struct lkvm_config *cfg, int argc, char **argv, struct lkvm_err *err)
{
	struct option opts[LKVM_RUN_OPTIONS_MAX];
	int c, idx, r;

	if (config__run_options(opts, ARRAY_SIZE(opts)) < 0)
		return seterr(err, E2BIG, "internal: more than %d arch options",
			      LKVM_MAX_ARCH_OPTIONS);

	/* getopt keeps state in globals: reset it so several parses work (tests). */
	optind = 0;
	opterr = 0;
	for (;;) {
		int at = optind ? optind : 1;

		idx = -1;
		c = getopt_long(argc, argv, run_shortopts, opts, &idx);
		if (c == -1)
			break;
		if (c == 'h') {
			config__usage_run();
			return 1;
		}
		if (c == ':')
			return seterr(err, EINVAL, "%s needs a value (see lkvm run --help)",
				      argv[optind - 1]);
		if (c == '?') {
			/* In a cluster like -zk, optind has not moved past it yet. */
			if (at < argc && strncmp(argv[at], "--", 2) != 0 && optopt)
				return seterr(err, EINVAL, "unknown option '-%c' (see lkvm run --help)",
					      optopt);
			return seterr(err, EINVAL, "unknown option '%s' (see lkvm run --help)",
				      at < argc ? argv[at] : argv[optind - 1]);
		}
		r = parse_one(cfg, opts, c, idx, optarg, err);
		if (r)
			return r;
	}
	if (optind < argc) {
		if (cfg->kernel || optind + 1 < argc)
			return seterr(err, EINVAL, "unexpected argument '%s': give one kernel, with -k "
				      "or alone", argv[cfg->kernel ? optind : optind + 1]);
		cfg->kernel = argv[optind];
	}
	/* getopt permuted argv; leave it in a state a second parse can reuse. */
	return 0;
}

u64 config__ram_size(const struct lkvm_config *cfg)
{
	u64 total = 0;

	for (unsigned int i = 0; i < cfg->nr_mem; i++)
		total += cfg->mem[i].size;
	return cfg->nr_mem ? total : LKVM_DEFAULT_MEM;
}

int config__validate(struct lkvm_config *cfg, struct lkvm_err *err)
{
	if (!cfg->kernel && !cfg->firmware)
		return seterr(err, EINVAL, "no kernel: give one with -k FILE (or -f FILE for firmware)");
	if (cfg->kernel && cfg->firmware)
		return seterr(err, EINVAL, "-k and -f both given: boot either a kernel or firmware");
	if (cfg->initrd && !cfg->kernel)
		return seterr(err, EINVAL, "-i needs a kernel (-k) to hand the initrd to");
	if (cfg->has_firmware_addr && !cfg->firmware)
		return seterr(err, EINVAL, "--firmware-address needs -f FILE");
	if (cfg->name && control__check_name(cfg->name, err))
		return -EINVAL;
	return config__validate_machine(cfg, err);
}

/* Two -d naming one file or block device (any path to it)? */
static bool same_image(const struct disk_opts *a, const struct stat *sa, bool have_a,
		       const struct disk_opts *b, const struct stat *sb, bool have_b)
{
	if (!strcmp(a->path, b->path))
		return true;
	if (!have_a || !have_b)
		return false;
	if (S_ISBLK(sa->st_mode) && S_ISBLK(sb->st_mode))
		return sa->st_rdev == sb->st_rdev;
	return sa->st_dev == sb->st_dev && sa->st_ino == sb->st_ino;
}

/*
 * One image behind two virtio-blk devices is two writers with two page
 * caches of their own in the guest: it gets corrupted.  Refused unless
 * both are read-only.  Paths that don't exist (yet) are compared as
 * strings; kvm__check_files() reports them missing.
 */
static int check_disks(const struct lkvm_config *cfg, struct lkvm_err *err)
{
	struct stat st[LKVM_MAX_DISKS];
	bool have[LKVM_MAX_DISKS];

	for (unsigned int i = 0; i < cfg->nr_disk; i++) {
		have[i] = stat(cfg->disk[i].path, &st[i]) == 0;
		for (unsigned int j = 0; j < i; j++) {
			const struct disk_opts *a = &cfg->disk[j], *b = &cfg->disk[i];

			if (a->ro && b->ro)
				continue;
			if (same_image(a, &st[j], have[j], b, &st[i], have[i]))
				return seterr(err, EINVAL, "-d %s: the same image as disk %u (-d %s): "
					      "two devices writing one image corrupt it; give it once, "
					      "or add ,ro to both", b->path, j, a->path);
		}
	}
	return 0;
}

int config__validate_machine(struct lkvm_config *cfg, struct lkvm_err *err)
{
	struct mem_plan plan;
	int r;

	if (cfg->nr_cpus == 0)
		return seterr(err, EINVAL, "-c 0: a VM needs at least one vCPU");
	if (cfg->nr_cpus > LKVM_MAX_CPUS) {
		char n[16];

		snprintf(n, sizeof(n), "%u", cfg->nr_cpus);
		return cpus_too_many(n, err);
	}
	for (unsigned int i = 0; i < cfg->nr_mem; i++) {
		const struct mem_bank *b = &cfg->mem[i];

		if (!IS_ALIGNED(b->size, 2 * SZ_MiB))
			return seterr(err, EINVAL, "-m: RAM bank %u size %#llx is not a multiple of "
				      "2 MiB", i, (unsigned long long)b->size);
		if (b->has_addr && !IS_ALIGNED(b->addr, 2 * SZ_MiB))
			return seterr(err, EINVAL, "-m: RAM bank %u address %#llx is not 2 MiB "
				      "aligned", i, (unsigned long long)b->addr);
	}
	if (cfg->no_net && cfg->nr_net)
		return seterr(err, EINVAL, "-n mode=none with another -n: mode=none means no "
			      "network at all; drop one of them");
	for (unsigned int i = 0; i < cfg->nr_net; i++) {
		for (unsigned int j = 0; j < i; j++) {
			char mac[18];

			if (!memcmp(cfg->net[i].guest_mac, cfg->net[j].guest_mac, ETH_ALEN_LKVM))
				return seterr(err, EINVAL, "-n: NICs %u and %u both have guest MAC %s; "
					      "give each its own guest_mac=", j, i,
					      net__mac_str(cfg->net[i].guest_mac, mac));
			if (cfg->net[i].tapif[0] && !strcmp(cfg->net[i].tapif, cfg->net[j].tapif))
				return seterr(err, EINVAL, "-n: NICs %u and %u both use tapif=%s; a tap "
					      "serves one NIC", j, i, cfg->net[i].tapif);
		}
	}
	r = check_disks(cfg, err);
	if (r)
		return r;
	for (unsigned int i = 0; i < cfg->nr_9p; i++)
		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(cfg->p9[i].tag, cfg->p9[j].tag))
				return seterr(err, EINVAL, "--9p: %s and %s both have the tag %s; "
					      "the guest mounts a share by its tag: give each its own",
					      cfg->p9[j].dir, cfg->p9[i].dir, cfg->p9[i].tag);
	if (cfg->ipa_bits && (cfg->ipa_bits < LKVM_MIN_IPA_BITS || cfg->ipa_bits > LKVM_MAX_IPA_BITS))
		return seterr(err, EINVAL, "--ipa-bits %u: must be between %d and %d",
			      cfg->ipa_bits, LKVM_MIN_IPA_BITS, LKVM_MAX_IPA_BITS);
	r = arch_config__validate(cfg, err);
	if (r)
		return r;
	/* The map and the IPA size from the config alone; KVM's limit is checked later. */
	return arch__plan_memory(cfg, 0, &plan, err);
}

/* The errno of a failed call returning < 0, else 0. */
static int errno_of(int r)
{
	return r < 0 ? errno : 0;
}

/* Opens @path with @flags and fstat()s it into @st: 0, or the errno. */
static int open_stat(const char *path, int flags, struct stat *st)
{
	int fd = open(path, flags | O_CLOEXEC);
	int e;

	if (fd < 0)
		return errno;
	e = errno_of(fstat(fd, st));
	close(fd);
	return e;
}

/*
 * A boot image must open for reading and be a regular file (it is mapped
 * to be loaded).  The words are kvmtool's ("Fatal: Unable to open kernel
 * FILE"): kvm-unit-tests' runner recognises a runnable configuration by
 * them.
 */
static int check_boot_file(const char *what, const char *path, struct lkvm_err *err)
{
	struct stat st = { 0 };
	int e = open_stat(path, O_RDONLY, &st);

	if (!e && S_ISDIR(st.st_mode))
		e = EISDIR;
	if (e)
		return seterr(err, e, "Fatal: Unable to open %s %s: %s", what, path, strerror(e));
	if (!S_ISREG(st.st_mode))
		return seterr(err, EINVAL, "Fatal: Unable to open %s %s: not a regular file", what,
			      path);
	return 0;
}

/* A disk must open the way its device will open it (read-only, O_DIRECT). */
static int check_disk_file(const struct disk_opts *d, struct lkvm_err *err)
{
	struct stat st = { 0 };
	int e = open_stat(d->path, (d->ro ? O_RDONLY : O_RDWR) | (d->direct ? O_DIRECT : 0), &st);

	if (!e && S_ISDIR(st.st_mode))
		e = EISDIR;
	if (!e)
		return 0;
	if (e == EINVAL && d->direct)
		return seterr(err, e, "Fatal: Unable to open disk image %s: O_DIRECT refused (its "
			      "file system has no direct I/O, e.g. tmpfs); drop ,direct", d->path);
	if (e == EROFS || (e == EACCES && !d->ro))
		return seterr(err, e, "Fatal: Unable to open disk image %s: %s; add ,ro to give "
			      "it read-only", d->path, strerror(e));
	return seterr(err, e, "Fatal: Unable to open disk image %s: %s", d->path, strerror(e));
}

/*
 * A --9p share must be a directory that opens (O_PATH, as the device holds
 * it); whether the guest may write is the host's permissions' business.
 */
static int check_9p_dir(const struct p9_share *sh, struct lkvm_err *err)
{
	struct stat st = { 0 };
	int e = open_stat(sh->dir, O_PATH | O_DIRECTORY, &st);

	if (e)
		return seterr(err, e, "--9p %s: %s", sh->dir,
			      e == ENOTDIR ? "not a directory" : strerror(e));
	return 0;
}

/* --dump-dtb: writable if it exists, else its directory takes a new file. */
static int check_dump_path(const char *path, struct lkvm_err *err)
{
	char dir[PATH_MAX];
	struct stat st;
	int e;

	if (stat(path, &st) == 0)
		e = S_ISDIR(st.st_mode) ? EISDIR : errno_of(access(path, W_OK));
	else if (errno != ENOENT)
		e = errno;
	else if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		e = ENAMETOOLONG;
	else
		e = errno_of(access(dirname(dir), W_OK | X_OK));
	if (e)
		return seterr(err, e, "--dump-dtb %s: cannot write the device tree there: %s", path,
			      strerror(e));
	return 0;
}

int config__check_files(const struct lkvm_config *cfg, struct lkvm_err *err)
{
	int r = 0;

	if (cfg->kernel)
		r = check_boot_file("kernel", cfg->kernel, err);
	if (!r && cfg->firmware)
		r = check_boot_file("firmware", cfg->firmware, err);
	if (!r && cfg->initrd)
		r = check_boot_file("initrd", cfg->initrd, err);
	for (unsigned int i = 0; !r && i < cfg->nr_disk; i++)
		r = check_disk_file(&cfg->disk[i], err);
	for (unsigned int i = 0; !r && i < cfg->nr_9p; i++)
		r = check_9p_dir(&cfg->p9[i], err);
	if (!r && cfg->dump_dtb)
		r = check_dump_path(cfg->dump_dtb, err);
	return r;
}
