// SPDX-License-Identifier: GPL-2.0-only
/*
 * "lkvm run" options: kvmtool's names and meanings (shared/KVMTOOL-CLI.md),
 * parsed into struct lkvm_config and validated once.  An option lkvm does
 * not implement is refused by name, never silently ignored.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "lkvm/config.h"

enum {
	OPT_NAME = 0x100,
	OPT_CONSOLE,
	OPT_NODEFAULTS,
	OPT_LOGLEVEL,
	OPT_DEBUG,
	OPT_IRQCHIP,
	OPT_PMU,
	OPT_PMU_COUNTERS,
	OPT_NESTED,
	OPT_E2H0,
	OPT_DUMP_DTB,
	OPT_KASLR_SEED,
	OPT_COUNTER_OFFSET,
	OPT_IPA_BITS,
	OPT_FIRMWARE_ADDR,
	OPT_DISABLE_MTE,
	OPT_NO_PVTIME,
	OPT_VIRTIO_TRANSPORT,
	OPT_CPU_FEATURE,
	OPT_CPU_FEATURES,
	OPT_ID_REG,
	OPT_DISABLE_SVE,
	OPT_DISABLE_PTRAUTH,
	OPT_RNG,
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
	{ "name",		required_argument, NULL, OPT_NAME },
	{ "network",		required_argument, NULL, 'n' },
	{ "console",		required_argument, NULL, OPT_CONSOLE },
	{ "nodefaults",		no_argument,	   NULL, OPT_NODEFAULTS },
	{ "loglevel",		required_argument, NULL, OPT_LOGLEVEL },
	{ "debug",		no_argument,	   NULL, OPT_DEBUG },
	{ "irqchip",		required_argument, NULL, OPT_IRQCHIP },
	{ "pmu",		no_argument,	   NULL, OPT_PMU },
	{ "pmu-counters",	required_argument, NULL, OPT_PMU_COUNTERS },
	{ "nested",		no_argument,	   NULL, OPT_NESTED },
	{ "e2h0",		no_argument,	   NULL, OPT_E2H0 },
	{ "dump-dtb",		required_argument, NULL, OPT_DUMP_DTB },
	{ "kaslr-seed",		required_argument, NULL, OPT_KASLR_SEED },
	{ "counter-offset",	required_argument, NULL, OPT_COUNTER_OFFSET },
	{ "ipa-bits",		required_argument, NULL, OPT_IPA_BITS },
	{ "disable-mte",	no_argument,	   NULL, OPT_DISABLE_MTE },
	{ "no-pvtime",		no_argument,	   NULL, OPT_NO_PVTIME },
	{ "virtio-transport",	required_argument, NULL, OPT_VIRTIO_TRANSPORT },
	{ "cpu-feature",	required_argument, NULL, OPT_CPU_FEATURE },
	{ "cpu-features",	required_argument, NULL, OPT_CPU_FEATURES },
	{ "id-reg",		required_argument, NULL, OPT_ID_REG },
	{ "disable-sve",	no_argument,	   NULL, OPT_DISABLE_SVE },
	{ "disable-ptrauth",	no_argument,	   NULL, OPT_DISABLE_PTRAUTH },
	{ "disk",		required_argument, NULL, 'd' },
	{ "rng",		no_argument,	   NULL, OPT_RNG },
	{ "help",		no_argument,	   NULL, 'h' },
	/* kvmtool options lkvm does not have (yet): refused with a message. */
	{ "flash",		required_argument, NULL, OPT_UNSUPPORTED },
	{ "balloon",		no_argument,	   NULL, OPT_UNSUPPORTED },
	{ "9p",			required_argument, NULL, OPT_UNSUPPORTED },
	{ "vsock",		required_argument, NULL, OPT_UNSUPPORTED },
	{ "debug-mmio",		no_argument,	   NULL, OPT_UNSUPPORTED },
	{ "debug-ioport",	no_argument,	   NULL, OPT_UNSUPPORTED },
	{ "debug-single-step",	no_argument,	   NULL, OPT_UNSUPPORTED },
	{ "sve-max-vl",		required_argument, NULL, OPT_UNSUPPORTED },
	{ "vcpu-affinity",	required_argument, NULL, OPT_UNSUPPORTED },
	{ "aarch32",		no_argument,	   NULL, OPT_UNSUPPORTED },
	{ "psci",		no_argument,	   NULL, OPT_UNSUPPORTED },
	{ "protected",		no_argument,	   NULL, OPT_UNSUPPORTED },
	{ NULL, 0, NULL, 0 },
};

/* ":": report a missing value as ':'.  Options may follow the kernel (GNU order). */
static const char run_shortopts[] = ":k:i:p:f:c:m:n:d:F:h";

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
	      "      --name NAME          guest name\n"
	      "  -d, --disk PATH[,ro][,direct][,engine=io_uring|aio|sync]\n"
	      "                           virtio-blk disk (image file or block device);\n"
	      "                           repeat for more (up to 8); ro: read-only,\n"
	      "                           direct: O_DIRECT, engine: host I/O (default: best)\n"
	      "      --rng                virtio-rng: the guest's /dev/hwrng, fed by getrandom(2)\n"
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
	      "      --irqchip TYPE       gicv3-its, gicv3 or gicv2 (default: best the host has)\n"
	      "      --pmu                give the guest PMUv3\n"
	      "      --pmu-counters N     number of PMU event counters (with --pmu)\n"
	      "      --nested             vCPUs start at EL2: the guest can be a hypervisor\n"
	      "      --e2h0               with --nested: an EL2 without VHE (E2H RES0)\n"
	      "      --ipa-bits N         guest physical address size (default: what the map needs)\n"
	      "      --kaslr-seed N       /chosen/kaslr-seed (default: random)\n"
	      "      --counter-offset N   offset subtracted from the guest's counter\n"
	      "      --cpu-feature REG.FIELD=V[,...]  set ID register fields on every vCPU\n"
	      "                           (e.g. ID_AA64MMFR0_EL1.PARange=2); see lkvm cpu\n"
	      "      --cpu-features FILE  the same, one per line, # comments\n"
	      "      --id-reg REG=VALUE   set a whole ID register (raw 64-bit value)\n"
	      "      --disable-sve        no SVE for the guest (default: on where KVM has it)\n"
	      "      --disable-ptrauth    no pointer authentication (default: on where KVM has it)\n"
	      "      --dump-dtb FILE      write the generated device tree\n"
	      "      --nodefaults         no implicit console= (ttyS0 or hvc0) in the command line\n"
	      "      --loglevel LEVEL     error, warning, info or debug\n"
	      "      --debug              same as --loglevel debug\n"
	      "  -h, --help               this text\n"
	      "\n"
	      "The guest powering off ends lkvm with status 0; Ctrl-A x quits from a terminal.\n",
	      stdout);
}

void config__defaults(struct lkvm_config *cfg, unsigned int host_cpus)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nr_cpus = host_cpus ? host_cpus : 1;
	cfg->irqchip = IRQCHIP_AUTO;
	cfg->console = CONSOLE_SERIAL;
	cfg->loglevel = LOG_WARN;
}

const char *irqchip_name(enum irqchip_type t)
{
	switch (t) {
	case IRQCHIP_AUTO: return "auto";
	case IRQCHIP_GICV2: return "gicv2";
	case IRQCHIP_GICV3: return "gicv3";
	case IRQCHIP_GICV3_ITS: return "gicv3-its";
	}
	return "?";
}

/* SIZE[@ADDR]: a bare number is MiB; a bare 0x address is bytes. */
static int parse_mem(struct lkvm_config *cfg, const char *arg, struct lkvm_err *err)
{
	char buf[128], *at;
	struct mem_bank *b;
	int r;

	if (cfg->nr_mem == LKVM_MAX_MEM_BANKS)
		return seterr(err, EINVAL, "-m: at most %d RAM banks", LKVM_MAX_MEM_BANKS);
	if (strlen(arg) >= sizeof(buf))
		return seterr(err, EINVAL, "-m %s: too long", arg);
	strcpy(buf, arg);
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

static int parse_irqchip(struct lkvm_config *cfg, const char *arg, struct lkvm_err *err)
{
	if (!strcmp(arg, "gicv3-its"))
		cfg->irqchip = IRQCHIP_GICV3_ITS;
	else if (!strcmp(arg, "gicv3"))
		cfg->irqchip = IRQCHIP_GICV3;
	else if (!strcmp(arg, "gicv2"))
		cfg->irqchip = IRQCHIP_GICV2;
	else if (!strcmp(arg, "gicv2m"))
		return seterr(err, EINVAL,
			      "--irqchip gicv2m: lkvm has no GICv2m MSI frame; use gicv2, gicv3 "
			      "or gicv3-its");
	else
		return seterr(err, EINVAL, "--irqchip %s: use gicv3-its, gicv3 or gicv2", arg);
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

static const char *option_name(int idx, int c, char *buf, size_t len)
{
	if (idx >= 0)
		snprintf(buf, len, "--%s", run_options[idx].name);
	else
		snprintf(buf, len, "-%c", c);
	return buf;
}

static int parse_one(struct lkvm_config *cfg, int c, int idx, const char *arg,
		     struct lkvm_err *err)
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
		r = parse_num("-c", arg, UINT32_MAX, &v, err);
		cfg->nr_cpus = (unsigned int)v;
		return r;
	case 'm': return parse_mem(cfg, arg, err);
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
	case OPT_IRQCHIP: return parse_irqchip(cfg, arg, err);
	case OPT_PMU: cfg->pmu = true; return 0;
	case OPT_PMU_COUNTERS:
		cfg->has_pmu_counters = true;
		r = parse_num("--pmu-counters", arg, 31, &v, err);
		cfg->pmu_counters = (unsigned int)v;
		return r;
	case OPT_NESTED: cfg->nested = true; return 0;
	case OPT_E2H0: cfg->e2h0 = true; return 0;
	case OPT_DUMP_DTB: cfg->dump_dtb = arg; return 0;
	case OPT_KASLR_SEED:
		cfg->has_kaslr_seed = true;
		return parse_num("--kaslr-seed", arg, UINT64_MAX, &cfg->kaslr_seed, err);
	case OPT_COUNTER_OFFSET:
		cfg->has_counter_offset = true;
		return parse_num("--counter-offset", arg, UINT64_MAX, &cfg->counter_offset, err);
	case OPT_IPA_BITS:
		r = parse_num("--ipa-bits", arg, 64, &v, err);
		cfg->ipa_bits = (unsigned int)v;
		return r;
	case OPT_CPU_FEATURE:
		if (cfg->nr_cpu_feature == LKVM_MAX_ID_ARGS)
			return seterr(err, EINVAL, "--cpu-feature: at most %d (use commas, or a file "
				      "with --cpu-features)", LKVM_MAX_ID_ARGS);
		cfg->cpu_feature[cfg->nr_cpu_feature++] = arg;
		return 0;
	case OPT_CPU_FEATURES: cfg->cpu_features_file = arg; return 0;
	case OPT_ID_REG:
		if (cfg->nr_id_reg == LKVM_MAX_ID_ARGS)
			return seterr(err, EINVAL, "--id-reg: at most %d", LKVM_MAX_ID_ARGS);
		cfg->id_reg[cfg->nr_id_reg++] = arg;
		return 0;
	case OPT_RNG: cfg->rng = true; return 0;
	case OPT_DISABLE_SVE: cfg->no_sve = true; return 0;
	case OPT_DISABLE_PTRAUTH: cfg->no_ptrauth = true; return 0;
	case OPT_DISABLE_MTE:	/* lkvm never enables MTE: already so */
	case OPT_NO_PVTIME:	/* lkvm offers no stolen-time region: already so */
		return 0;
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
			      option_name(idx, c, name, sizeof(name)));
	}
	return seterr(err, EINVAL, "unexpected option");
}

int config__parse_run(struct lkvm_config *cfg, int argc, char **argv, struct lkvm_err *err)
{
	int c, idx, r;

	/* getopt keeps state in globals: reset it so several parses work (tests). */
	optind = 0;
	opterr = 0;
	for (;;) {
		int at = optind ? optind : 1;

		idx = -1;
		c = getopt_long(argc, argv, run_shortopts, run_options, &idx);
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
			if (at < argc && strncmp(argv[at], "--", 2) && optopt)
				return seterr(err, EINVAL, "unknown option '-%c' (see lkvm run --help)",
					      optopt);
			return seterr(err, EINVAL, "unknown option '%s' (see lkvm run --help)",
				      at < argc ? argv[at] : argv[optind - 1]);
		}
		r = parse_one(cfg, c, idx, optarg, err);
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

int config__validate(const struct lkvm_config *cfg, struct lkvm_err *err)
{
	if (!cfg->kernel && !cfg->firmware)
		return seterr(err, EINVAL, "no kernel: give one with -k FILE (or -f FILE for firmware)");
	if (cfg->kernel && cfg->firmware)
		return seterr(err, EINVAL, "-k and -f both given: boot either a kernel or firmware");
	if (cfg->initrd && !cfg->kernel)
		return seterr(err, EINVAL, "-i needs a kernel (-k) to hand the initrd to");
	if (cfg->has_firmware_addr && !cfg->firmware)
		return seterr(err, EINVAL, "--firmware-address needs -f FILE");
	if (cfg->nr_cpus == 0)
		return seterr(err, EINVAL, "-c 0: a VM needs at least one vCPU");
	if (cfg->nr_cpus > LKVM_MAX_CPUS)
		return seterr(err, EINVAL, "-c %u: lkvm supports at most %d vCPUs", cfg->nr_cpus,
			      LKVM_MAX_CPUS);
	for (unsigned int i = 0; i < cfg->nr_mem; i++) {
		const struct mem_bank *b = &cfg->mem[i];

		if (!IS_ALIGNED(b->size, 2 * SZ_MiB))
			return seterr(err, EINVAL, "-m: RAM bank %u size %#llx is not a multiple of "
				      "2 MiB", i, (unsigned long long)b->size);
		if (b->has_addr && !IS_ALIGNED(b->addr, 2 * SZ_MiB))
			return seterr(err, EINVAL, "-m: RAM bank %u address %#llx is not 2 MiB "
				      "aligned", i, (unsigned long long)b->addr);
	}
	if (cfg->e2h0 && !cfg->nested)
		return seterr(err, EINVAL, "--e2h0 only makes sense with --nested (it limits the "
			      "guest's EL2 to non-VHE); add --nested");
	if (cfg->nested && cfg->irqchip == IRQCHIP_GICV2)
		return seterr(err, EINVAL, "--nested with --irqchip gicv2: KVM's nested "
			      "virtualization needs a GICv3; use --irqchip gicv3 or gicv3-its");
	if (cfg->has_pmu_counters && !cfg->pmu)
		return seterr(err, EINVAL, "--pmu-counters needs --pmu");
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
	if (cfg->ipa_bits && (cfg->ipa_bits < LKVM_MIN_IPA_BITS || cfg->ipa_bits > LKVM_MAX_IPA_BITS))
		return seterr(err, EINVAL, "--ipa-bits %u: must be between %d and %d",
			      cfg->ipa_bits, LKVM_MIN_IPA_BITS, LKVM_MAX_IPA_BITS);
	return 0;
}
