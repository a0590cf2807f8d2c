// SPDX-License-Identifier: GPL-2.0-only
/*
 * "lkvm run" option parsing and validation (config.c, and arm/config.c
 * for the arch's options): every -m form, counts, option combinations
 * that make no sense, kvmtool options lkvm refuses by name, ID register
 * assignments and --cpu-features files, and the error messages that tell
 * the user the fix.  All of it without /dev/kvm: a command-line mistake
 * must be found before any host is asked.  And "lkvm run"'s order of
 * checks and exit statuses (builtin-run.c, with the VM stubbed): every
 * refusal of the option table exits 2, a host refusal 1 before the guest's
 * files are looked at, a missing file 2 in kvmtool's words.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "lkvm/config.h"
#include "test.h"

/*
 * "lkvm run" itself (builtin-run.c, VMM code otherwise built only for
 * arm64) is compiled into this test, with the VM lifecycle below it
 * stubbed, so that its exit statuses and its order of checks are checked
 * natively: a bad command line exits 2 with /dev/kvm never opened
 * (kvm__open() not even called), a host refusal exits 1 before any guest
 * file is looked at, an unopenable guest file exits 2 before the VM is
 * built.  The stubs act as a host without KVM unless a case says else.
 */
#include "../../builtin-run.c"

static char run_msg[1024];	/* the last "lkvm: ..." message cmd_run printed */
static bool run_opened_kvm;

/* How the stubbed host behaves, and what cmd_run() asked of it, in order. */
static struct {
	bool has_kvm;			/* kvm__open() succeeds */
	const char *host_refusal;	/* kvm__check_host() refuses with this message */
	bool create_fails;		/* kvm__create_vm() fails */
	bool name_taken;		/* kvm_control__start() finds the --name in use */
	char calls[128];		/* "open host files create run close", as called */
} host;

static void host_call(const char *what)
{
	size_t n = strlen(host.calls);

	snprintf(host.calls + n, sizeof(host.calls) - n, "%s%s", n ? " " : "", what);
}

void die_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(run_msg, sizeof(run_msg), fmt, ap);
	va_end(ap);
}

void kvm__init(struct kvm *kvm, const struct lkvm_config *cfg)
{
	memset(kvm, 0, sizeof(*kvm));
	kvm->cfg = cfg;
}

/* What a host without KVM answers, unless host.has_kvm. */
int kvm__open(struct kvm *kvm, struct lkvm_err *err)
{
	(void)kvm;
	run_opened_kvm = true;
	host_call("open");
	if (host.has_kvm)
		return 0;
	return seterr(err, ENOENT, "/dev/kvm: no such device (test stub)");
}

int kvm__check_host(struct kvm *kvm, struct lkvm_err *err)
{
	(void)kvm;
	host_call("host");
	if (!host.has_kvm)
		TEST_FAIL("kvm__check_host() after a failed kvm__open()");
	if (host.host_refusal)
		return seterr(err, ENODEV, "%s", host.host_refusal);
	return 0;
}

/* The generic part of the real one (the arch's reading of the images needs arm64). */
int kvm__check_files(struct kvm *kvm, struct lkvm_err *err)
{
	host_call("files");
	return config__check_files(kvm->cfg, err);
}

int kvm__create_vm(struct kvm *kvm, struct lkvm_err *err)
{
	(void)kvm;
	host_call("create");
	if (host.create_fails)
		return seterr(err, ENOMEM, "mmap of guest RAM: out of memory (test stub)");
	return 0;
}

/* The guest powers off at once. */
int kvm__run(struct kvm *kvm)
{
	(void)kvm;
	host_call("run");
	return 0;
}

/* The control socket: free unless host.name_taken (not in host.calls: the tests' order is KVM's). */
int kvm_control__start(struct kvm *kvm, struct lkvm_err *err)
{
	(void)kvm;
	if (!host.has_kvm)
		TEST_FAIL("kvm_control__start() after a failed kvm__open()");
	if (host.name_taken)
		return seterr(err, EADDRINUSE, "--name %s: a guest of that name is running (lkvm pid "
			      "42, ~/.lkvm/%s.sock); choose another name, or stop it with 'lkvm stop "
			      "-n %s'", kvm->cfg->name, kvm->cfg->name, kvm->cfg->name);
	return 0;
}

int kvm__close(struct kvm *kvm)
{
	(void)kvm;
	host_call("close");
	return 0;
}

/*
 * config__parse_run() keeps pointers into argv and getopt may write to it,
 * so the arguments are copied into static, mutable storage that lives as
 * long as the test case (each case is its own process).
 */
static char arg_store[64 * 1024];
static size_t arg_used;
static char *argv_store[160][80];
static unsigned int argv_used;

static char *arg_dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	TEST_ASSERT(arg_used + n <= sizeof(arg_store), "argument store full");
	p = memcpy(arg_store + arg_used, s, n);
	arg_used += n;
	return p;
}

static int parse_args(struct lkvm_config *cfg, struct lkvm_err *err, const char *const *args)
{
	char **argv;
	int argc = 0;

	TEST_ASSERT(argv_used < ARRAY_SIZE(argv_store), "too many parses in one case");
	argv = argv_store[argv_used++];
	argv[argc++] = arg_dup("run");
	for (; *args; args++) {
		TEST_ASSERT(argc + 1 < (int)ARRAY_SIZE(argv_store[0]), "too many arguments");
		argv[argc++] = arg_dup(*args);
	}
	argv[argc] = NULL;
	config__defaults(cfg, 4);
	memset(err, 0, sizeof(*err));
	return config__parse_run(cfg, argc, argv, err);
}

/* Runs cmd_run() on "lkvm run @args..." (NULL-terminated); returns its exit status. */
static int run_args(const char *const *args)
{
	char **argv;
	int argc = 0;

	TEST_ASSERT(argv_used < ARRAY_SIZE(argv_store), "too many parses in one case");
	argv = argv_store[argv_used++];
	argv[argc++] = arg_dup("run");
	for (; *args; args++) {
		TEST_ASSERT(argc + 1 < (int)ARRAY_SIZE(argv_store[0]), "too many arguments");
		argv[argc++] = arg_dup(*args);
	}
	argv[argc] = NULL;
	run_msg[0] = '\0';
	run_opened_kvm = false;
	host.calls[0] = '\0';
	return cmd_run(argc, argv);
}

/* PARSE(&cfg, &err, "-m", "512") parses "lkvm run -m 512"; PARSE(&cfg, &err, NULL): no options. */
#define PARSE(cfg, err, ...) parse_args(cfg, err, (const char *const[]){ __VA_ARGS__, NULL })

/* Parses and validates; returns the first error. */
#define PARSE_VALIDATE(cfg, err, ...)						\
	({									\
		int pv__r = PARSE(cfg, err, __VA_ARGS__);			\
		pv__r ? pv__r : config__validate(cfg, err);			\
	})

static void test_defaults(void)
{
	struct lkvm_config cfg;

	config__defaults(&cfg, 0);
	TEST_ASSERT_EQ(cfg.nr_cpus, 1);
	config__defaults(&cfg, 6);
	TEST_ASSERT_EQ(cfg.nr_cpus, 6);
	TEST_ASSERT_EQ(cfg.arch.irqchip, IRQCHIP_AUTO);
	TEST_ASSERT_EQ(cfg.console, CONSOLE_SERIAL);
	TEST_ASSERT_EQ(cfg.loglevel, LOG_WARN);
	TEST_ASSERT_EQ(cfg.nr_mem, 0);
	TEST_ASSERT_EQ(cfg.ipa_bits, 0);
	TEST_ASSERT_EQ(config__ram_size(&cfg), LKVM_DEFAULT_MEM);
	TEST_ASSERT_STR_EQ(arch_config__irqchip_name(IRQCHIP_GICV3_ITS), "gicv3-its");
	TEST_ASSERT_STR_EQ(arch_config__irqchip_name(IRQCHIP_GICV2), "gicv2");
}

static void test_mem_bare_number_is_mib(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-m", "512"), 0);
	TEST_ASSERT_EQ(cfg.nr_mem, 1);
	TEST_ASSERT_EQ(cfg.mem[0].size, 512 * SZ_MiB);
	TEST_ASSERT(!cfg.mem[0].has_addr, "-m 512 has no @addr");
	TEST_ASSERT_EQ(config__ram_size(&cfg), 512 * SZ_MiB);
}

static void test_mem_suffixes(void)
{
	static const struct {
		const char *arg;
		u64 size;
	} cases[] = {
		{ "512M", 512 * SZ_MiB },
		{ "512m", 512 * SZ_MiB },
		{ "1G", SZ_GiB },
		{ "1GiB", SZ_GiB },
		{ "2GB", 2 * SZ_GiB },
		{ "4096K", 4 * SZ_MiB },
		{ "2097152B", 2 * SZ_MiB },
		{ "1T", 1024 * SZ_GiB },
		{ "--mem=1G", SZ_GiB },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lkvm_config cfg;
		struct lkvm_err err;
		int r;

		if (!strncmp(cases[i].arg, "--", 2))
			r = PARSE_VALIDATE(&cfg, &err, "-k", "Image", cases[i].arg);
		else
			r = PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-m", cases[i].arg);
		TEST_ASSERT(r == 0, "-m %s: %d %s", cases[i].arg, r, err.msg);
		TEST_ASSERT_EQ(cfg.nr_mem, 1);
		TEST_ASSERT(cfg.mem[0].size == cases[i].size, "-m %s: size %#llx, expected %#llx",
			    cases[i].arg, (unsigned long long)cfg.mem[0].size,
			    (unsigned long long)cases[i].size);
	}
}

static void test_mem_at_hex_address(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-m", "1G@0x100000000"), 0);
	TEST_ASSERT_EQ(cfg.nr_mem, 1);
	TEST_ASSERT_EQ(cfg.mem[0].size, SZ_GiB);
	TEST_ASSERT(cfg.mem[0].has_addr, "@ADDR given");
	TEST_ASSERT_EQ(cfg.mem[0].addr, 0x100000000ULL);
}

static void test_mem_at_suffixed_address(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-m", "2G@4G"), 0);
	TEST_ASSERT_EQ(cfg.mem[0].size, 2 * SZ_GiB);
	TEST_ASSERT_EQ(cfg.mem[0].addr, 4 * SZ_GiB);

	/* A bare decimal address is MiB, like a bare size. */
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-m", "512@4096"), 0);
	TEST_ASSERT_EQ(cfg.mem[0].addr, 4 * SZ_GiB);
}

/*
 * "a bare 0x address is bytes" (config.c), whatever its last hex digit:
 * 0x8000000a is an unaligned byte address and must be refused, not read
 * as 0x8000000a MiB (which happens to be 2 MiB aligned).
 */
static void test_mem_hex_address_ending_in_letter(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;
	int r;

	r = PARSE(&cfg, &err, "-k", "Image", "-m", "512@0x8000000a");
	TEST_ASSERT(r == 0, "%s", err.msg);
	TEST_ASSERT_EQ(cfg.mem[0].addr, 0x8000000aULL);
	TEST_ASSERT_EQ(config__validate(&cfg, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "not 2 MiB aligned");

	r = PARSE(&cfg, &err, "-k", "Image", "-m", "2M@0xc0000000");
	TEST_ASSERT(r == 0, "%s", err.msg);
	TEST_ASSERT_EQ(cfg.mem[0].addr, 0xc0000000ULL);
}

static void test_mem_bad_forms(void)
{
	static const char *const bad[] = {
		"512X", "1Gx", "G", "", "-1", "1 G", "1G@", "1G@0x", "1G@zz", "@0x80000000",
		"1G@@2G", "0x1000Q",
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		struct lkvm_config cfg;
		struct lkvm_err err;
		int r = PARSE(&cfg, &err, "-m", bad[i]);

		TEST_ASSERT(r == -EINVAL, "-m '%s' gave %d, expected -EINVAL", bad[i], r);
		TEST_ASSERT(strstr(err.msg, "-m"), "-m '%s': message '%s' should name -m", bad[i],
			    err.msg);
		TEST_ASSERT_EQ(cfg.nr_mem, 0);
	}
	{
		struct lkvm_config cfg;
		struct lkvm_err err;

		TEST_ASSERT_EQ(PARSE(&cfg, &err, "-m", "512X"), -EINVAL);
		TEST_ASSERT_STR_CONTAINS(err.msg, "-m 512X");
		TEST_ASSERT_STR_CONTAINS(err.msg, "SIZE[@ADDR]");
	}
}

static void test_mem_zero(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-m", "0"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "zero");
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-m", "0G@4G"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "zero");
}

static void test_mem_overflow(void)
{
	static const char *const big[] = {
		"99999999999999999999",		/* strtoull ERANGE */
		"17592186044416",		/* 2^44 MiB = 2^64 bytes */
		"16384P",
		"1G@99999999999999999999",
		"1G@17592186044416G",
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(big); i++) {
		struct lkvm_config cfg;
		struct lkvm_err err;
		int r = PARSE(&cfg, &err, "-m", big[i]);

		TEST_ASSERT(r == -EINVAL, "-m %s gave %d", big[i], r);
		TEST_ASSERT(strstr(err.msg, "too large"), "-m %s: '%s'", big[i], err.msg);
	}
}

static void test_mem_too_long(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;
	char arg[200];

	memset(arg, '1', sizeof(arg) - 1);
	arg[sizeof(arg) - 1] = '\0';
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-m", arg), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "too long");
}

static void test_mem_bank_limit(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-m", "64", "-m", "64", "-m",
				      "64", "-m", "64", "-m", "64", "-m", "64", "-m", "64", "-m",
				      "64"), 0);
	TEST_ASSERT_EQ(cfg.nr_mem, LKVM_MAX_MEM_BANKS);
	TEST_ASSERT_EQ(config__ram_size(&cfg), 8 * 64 * SZ_MiB);

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-m", "64", "-m", "64", "-m", "64", "-m", "64", "-m",
			     "64", "-m", "64", "-m", "64", "-m", "64", "-m", "64"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "at most 8");
}

static void test_mem_unaligned(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "-m", "3"), 0);
	TEST_ASSERT_EQ(config__validate(&cfg, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "multiple of 2 MiB");

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "-m", "1000K"), 0);
	TEST_ASSERT_EQ(config__validate(&cfg, &err), -EINVAL);

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "-m", "2M@0x80100000"), 0);
	TEST_ASSERT_EQ(config__validate(&cfg, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "0x80100000");
	TEST_ASSERT_STR_CONTAINS(err.msg, "2 MiB aligned");

	/* The smallest good bank. */
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-m", "2M@0x80200000"), 0);
}

static void test_cpus(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-c", "1"), 0);
	TEST_ASSERT_EQ(cfg.nr_cpus, 1);
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--cpus=512"), 0);
	TEST_ASSERT_EQ(cfg.nr_cpus, 512);
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-c", "0x10"), 0);
	TEST_ASSERT_EQ(cfg.nr_cpus, 16);

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "-c", "0"), 0);
	TEST_ASSERT_EQ(config__validate(&cfg, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "-c 0");

	/*
	 * Beyond lkvm's limit, 32 bits or 64 bits: refused while parsing (not
	 * truncated), naming the limit that counts and the host's, which is
	 * checked with the host.
	 */
	static const char *const too_many[] = { "513", "4294967296", "99999999999999999999999" };

	for (unsigned int i = 0; i < ARRAY_SIZE(too_many); i++) {
		TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "-c", too_many[i]), -EINVAL);
		TEST_ASSERT_STR_CONTAINS(err.msg, too_many[i]);
		TEST_ASSERT_STR_CONTAINS(err.msg, "out of range: at most 512 vCPUs (lkvm's limit)");
		TEST_ASSERT_STR_CONTAINS(err.msg, "KVM_CAP_MAX_VCPUS");
		TEST_ASSERT(!strstr(err.msg, "4294967295"), "names the type's limit: %s", err.msg);
	}
	/* A host with more CPUs than lkvm's limit: the default is the limit. */
	config__defaults(&cfg, 600);
	TEST_ASSERT_EQ(cfg.nr_cpus, 512);
	/* Set some other way than -c, validate() says the same as the parser. */
	cfg.nr_cpus = 600;
	cfg.kernel = "Image";
	TEST_ASSERT_EQ(config__validate(&cfg, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "-c 600: out of range: at most 512 vCPUs");

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-c", "two"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "expected a number");
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-c", "-1"), -EINVAL);
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-c", "4cpus"), -EINVAL);
}

static void test_unknown_option(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "--frobnicate"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "unknown option");
	TEST_ASSERT_STR_CONTAINS(err.msg, "--frobnicate");

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-z"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "'-z'");

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "--frob=1"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "--frob");
}

/* An unknown letter inside a cluster ("-zk Image") must be named, not argv[0] ("run"). */
static void test_unknown_option_in_cluster(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-zk", "Image"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "unknown option");
	TEST_ASSERT(!strstr(err.msg, "'run'"), "names argv[0]: %s", err.msg);
	TEST_ASSERT_STR_CONTAINS(err.msg, "-z");
}

static void test_missing_value(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "-m"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "-m needs a value");

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "--irqchip"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "--irqchip needs a value");

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "-k needs a value");
}

static void test_kernel_positional_or_k(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "Image"), 0);
	TEST_ASSERT_STR_EQ(cfg.kernel, "Image");

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-c", "2", "-m", "1G", "Image.gz"), 0);
	TEST_ASSERT_STR_EQ(cfg.kernel, "Image.gz");
	TEST_ASSERT_EQ(cfg.nr_cpus, 2);

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "vmlinux"), 0);
	TEST_ASSERT_STR_EQ(cfg.kernel, "vmlinux");

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "--kernel=Image", "-i", "initrd.cpio", "-p",
				      "quiet loglevel=3"), 0);
	TEST_ASSERT_STR_EQ(cfg.kernel, "Image");
	TEST_ASSERT_STR_EQ(cfg.initrd, "initrd.cpio");
	TEST_ASSERT_STR_EQ(cfg.params, "quiet loglevel=3");
}

static void test_two_kernels(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "Image", "Other"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "unexpected argument 'Other'");

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "Other"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "unexpected argument 'Other'");
}

static void test_validate_boot_source(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-m", "512"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "-k FILE");

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-f", "fw.bin"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "-k and -f");

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-f", "fw.bin", "-i", "rd"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "-i needs a kernel");

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--firmware-address",
				      "0x80000000"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "--firmware-address needs -f");

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-f", "fw.bin", "--firmware-address",
				      "0x80200000"), 0);
	TEST_ASSERT(cfg.has_firmware_addr, "firmware address recorded");
	TEST_ASSERT_EQ(cfg.firmware_addr, 0x80200000ULL);
}

static void test_e2h0_needs_nested(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--e2h0"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "--e2h0");
	TEST_ASSERT_STR_CONTAINS(err.msg, "--nested");

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--nested", "--e2h0"), 0);
	TEST_ASSERT(cfg.arch.nested && cfg.arch.e2h0, "both set");
}

static void test_nested_gicv2(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--nested", "--irqchip",
				      "gicv2"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "gicv2");
	TEST_ASSERT_STR_CONTAINS(err.msg, "gicv3");

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--nested", "--irqchip=gicv3"),
		       0);
	TEST_ASSERT_EQ(cfg.arch.irqchip, IRQCHIP_GICV3);
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--nested"), 0);
	TEST_ASSERT_EQ(cfg.arch.irqchip, IRQCHIP_AUTO);
}

static void test_irqchip_values(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "--irqchip", "gicv3-its"), 0);
	TEST_ASSERT_EQ(cfg.arch.irqchip, IRQCHIP_GICV3_ITS);
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "--irqchip", "gicv2"), 0);
	TEST_ASSERT_EQ(cfg.arch.irqchip, IRQCHIP_GICV2);
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "--irqchip", "gicv2m"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "gicv2m");
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "--irqchip", "gicv4"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "--irqchip gicv4");
}

static void test_pmu_counters(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--pmu-counters", "4"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "--pmu-counters needs --pmu");

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--pmu", "--pmu-counters", "4"),
		       0);
	TEST_ASSERT(cfg.arch.pmu && cfg.arch.has_pmu_counters, "flags set");
	TEST_ASSERT_EQ(cfg.arch.pmu_counters, 4);

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--pmu", "--pmu-counters", "0"),
		       0);
	TEST_ASSERT_EQ(cfg.arch.pmu_counters, 0);

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "--pmu", "--pmu-counters", "32"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "at most 31");
}

static void test_ipa_bits(void)
{
	static const char range[] = "between 32 and 52";
	static const char parange[] = "use 32, 36, 40, 42, 44, 48 or 52";
	static const struct {
		const char *bits;
		int parse, validate;
		const char *msg;
	} cases[] = {
		{ "31", 0, -EINVAL, range }, { "32", 0, 0, NULL }, { "40", 0, 0, NULL },
		{ "52", 0, 0, NULL }, { "53", 0, -EINVAL, range }, { "64", 0, -EINVAL, range },
		{ "65", -EINVAL, 0, NULL }, { "forty", -EINVAL, 0, NULL },
		/* Not a size ID_AA64MMFR0_EL1.PARange can express: the arch's memory plan says so. */
		{ "33", 0, -EINVAL, parange }, { "41", 0, -EINVAL, parange },
		{ "50", 0, -EINVAL, parange },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lkvm_config cfg;
		struct lkvm_err err;
		int r = PARSE(&cfg, &err, "-k", "Image", "--ipa-bits", cases[i].bits);

		TEST_ASSERT(r == cases[i].parse, "--ipa-bits %s: parse %d, expected %d (%s)",
			    cases[i].bits, r, cases[i].parse, err.msg);
		if (r)
			continue;
		r = config__validate(&cfg, &err);
		TEST_ASSERT(r == cases[i].validate, "--ipa-bits %s: validate %d, expected %d (%s)",
			    cases[i].bits, r, cases[i].validate, err.msg);
		if (r)
			TEST_ASSERT_STR_CONTAINS(err.msg, cases[i].msg);
		else
			TEST_ASSERT_EQ(cfg.ipa_bits, strtoul(cases[i].bits, NULL, 10));
	}
}

static void test_unsupported_kvmtool_options(void)
{
	static const struct {
		const char *args[3];
		const char *named;
	} cases[] = {
		{ { "--debug-mmio" }, "--debug-mmio" },
		{ { "--sve-max-vl", "256" }, "--sve-max-vl" },
		{ { "--aarch32" }, "--aarch32" },
		{ { "--vcpu-affinity", "0-3" }, "--vcpu-affinity" },
		{ { "--psci" }, "--psci" },
		{ { "--protected" }, "--protected" },
		{ { "-F", "flash.img" }, "-F flash.img" },
		{ { "--virtio-transport", "pci-legacy" }, "use --virtio-transport pci" },
		{ { "--virtio-transport", "mmio-legacy" }, "use --virtio-transport mmio" },
		{ { "--virtio-transport", "bogus" }, "--virtio-transport bogus" },
		{ { "--console", "hv" }, "--console hv" },
		{ { "--console", "bogus" }, "use serial or virtio" },
		{ { "-n", "mode=user" }, "no user-mode (SLIRP) networking; use mode=tap" },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lkvm_config cfg;
		struct lkvm_err err;
		int r;

		if (cases[i].args[1])
			r = PARSE(&cfg, &err, "-k", "Image", cases[i].args[0], cases[i].args[1]);
		else
			r = PARSE(&cfg, &err, "-k", "Image", cases[i].args[0]);
		TEST_ASSERT(r == -EINVAL, "%s accepted (%d)", cases[i].args[0], r);
		TEST_ASSERT(strstr(err.msg, cases[i].named), "%s: message '%s' does not name '%s'",
			    cases[i].args[0], err.msg, cases[i].named);
	}
}

/* --9p DIR,TAG[,ro]: parsed, not opened, at config time; the tag is after the last comma. */
static void test_9p(void)
{
	static const struct {
		const char *arg;
		const char *msg;
	} bad[] = {
		{ "/srv", "expected DIR,TAG[,ro]" },
		{ "/srv,", "expected DIR,TAG[,ro]" },
		{ ",tag", "expected DIR,TAG[,ro]" },
		{ "/srv,ro", "expected DIR,TAG[,ro]" },
		{ "/srv,a23456789012345678901234567890123", "longer than 32 bytes" },
		{ "/srv,a b", "printable" },
		{ "/srv,a\tb", "printable" },
	};
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--9p", "/srv/share,hostshare",
				      "--9p", "/a,b,c,ro", "--9p",
				      "/x,a2345678901234567890123456789012"), 0);
	TEST_ASSERT_EQ(cfg.nr_9p, 3);
	TEST_ASSERT_STR_EQ(cfg.p9[0].dir, "/srv/share");
	TEST_ASSERT_STR_EQ(cfg.p9[0].tag, "hostshare");
	TEST_ASSERT(!cfg.p9[0].ro, "read-write by default");
	TEST_ASSERT_STR_EQ(cfg.p9[1].dir, "/a,b");
	TEST_ASSERT_STR_EQ(cfg.p9[1].tag, "c");
	TEST_ASSERT(cfg.p9[1].ro, ",ro");
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		TEST_ASSERT(PARSE(&cfg, &err, "-k", "Image", "--9p", bad[i].arg) == -EINVAL, "%s",
			    bad[i].arg);
		TEST_ASSERT_STR_CONTAINS(err.msg, "--9p");
		TEST_ASSERT_STR_CONTAINS(err.msg, bad[i].msg);
	}
	/* Two shares with one tag: the guest couldn't tell them apart. */
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--9p", "/a,t", "--9p", "/b,t"),
		       -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "both have the tag t");
	/* At most LKVM_MAX_9P. */
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "--9p", "/a,1", "--9p", "/a,2", "--9p",
			     "/a,3", "--9p", "/a,4", "--9p", "/a,5"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "at most 4");
}

/* --vsock CID: 3 to 2^32 - 2; the reserved ones and the rest are command-line errors. */
static void test_vsock(void)
{
	static const char *const bad[] = { "0", "1", "2", "4294967295", "4294967296", "-1", "x",
					   "" };
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image"), 0);
	TEST_ASSERT_EQ(cfg.vsock_cid, 0);	/* no vsock by default */
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--vsock", "3"), 0);
	TEST_ASSERT_EQ(cfg.vsock_cid, 3);
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--vsock", "0x10"), 0);
	TEST_ASSERT_EQ(cfg.vsock_cid, 16);
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--vsock", "4294967294"), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		TEST_ASSERT(PARSE(&cfg, &err, "-k", "Image", "--vsock", bad[i]) == -EINVAL, "'%s'",
			    bad[i]);
		TEST_ASSERT_STR_CONTAINS(err.msg, "--vsock");
	}
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "--vsock", "2"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "3 to 4294967294");
	/* --balloon: a flag, or =no-report (kvmtool's spelling stays a flag). */
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--balloon"), 0);
	TEST_ASSERT(cfg.balloon && !cfg.balloon_no_report, "--balloon");
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--balloon=no-report"), 0);
	TEST_ASSERT(cfg.balloon && cfg.balloon_no_report, "--balloon=no-report");
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "--balloon=report"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "--balloon=report");
}

/* -d: parsed (not opened) at config time; bad options are refused by name. */
static void test_disks(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-d", "a.img", "--disk",
				      "/dev/sdb,ro,direct,engine=aio", "--virtio-transport", "mmio"), 0);
	TEST_ASSERT_EQ(cfg.nr_disk, 2);
	TEST_ASSERT_STR_EQ(cfg.disk[0].path, "a.img");
	TEST_ASSERT(!cfg.disk[0].ro && !cfg.disk[0].direct, "defaults");
	TEST_ASSERT_EQ(cfg.disk[0].engine, DISK_ENGINE_AUTO);
	TEST_ASSERT_STR_EQ(cfg.disk[1].path, "/dev/sdb");
	TEST_ASSERT(cfg.disk[1].ro && cfg.disk[1].direct, "ro,direct");
	TEST_ASSERT_EQ(cfg.disk[1].engine, DISK_ENGINE_AIO);
	TEST_ASSERT_EQ(cfg.virtio_transport, VIRTIO_TRANSPORT_MMIO);
	TEST_ASSERT(!cfg.rng, "no rng by default");
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--rng"), 0);
	TEST_ASSERT(cfg.rng, "--rng");
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--console", "virtio"), 0);
	TEST_ASSERT_EQ(cfg.console, CONSOLE_VIRTIO);

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "-d", "a.img,engine=posix"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "unknown engine 'posix'");
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "-d", "a.img,rw"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "unknown option 'rw'");
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "-d", ",ro"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "empty path");
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "-d", "1", "-d", "2", "-d", "3", "-d", "4",
			     "-d", "5", "-d", "6", "-d", "7", "-d", "8", "-d", "9"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "at most 8 disks");
}

/* -n: kvmtool's keys, parsed (not opened) at config time; bad values name the word and the fix. */
static void test_network(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-n", "mode=tap", "--network",
				      "mode=tap,tapif=tap7,vhost=off,guest_mac=02:AB:cd:00:00:01,"
				      "host_mac=02:00:00:00:00:09,script=/etc/ifup", "-n",
				      "mode=tap,vhost=1,script=none"), 0);
	TEST_ASSERT_EQ(cfg.nr_net, 3);
	TEST_ASSERT(!cfg.no_net, "not mode=none");
	/* Defaults: the kernel names the tap, vhost if possible, 52:54:00:12:34:5<index>. */
	TEST_ASSERT_STR_EQ(cfg.net[0].tapif, "");
	TEST_ASSERT_STR_EQ(cfg.net[0].script, "");
	TEST_ASSERT_EQ(cfg.net[0].vhost, NET_VHOST_AUTO);
	TEST_ASSERT(!cfg.net[0].has_host_mac, "no host_mac");
	TEST_ASSERT(!memcmp(cfg.net[0].guest_mac, "\x52\x54\x00\x12\x34\x50", 6), "guest MAC 0");
	TEST_ASSERT_STR_EQ(cfg.net[1].tapif, "tap7");
	TEST_ASSERT_EQ(cfg.net[1].vhost, NET_VHOST_OFF);
	TEST_ASSERT(!memcmp(cfg.net[1].guest_mac, "\x02\xab\xcd\x00\x00\x01", 6), "guest_mac=");
	TEST_ASSERT(cfg.net[1].has_host_mac, "host_mac=");
	TEST_ASSERT(!memcmp(cfg.net[1].host_mac, "\x02\x00\x00\x00\x00\x09", 6), "host_mac=");
	TEST_ASSERT_STR_EQ(cfg.net[1].script, "/etc/ifup");
	TEST_ASSERT_EQ(cfg.net[2].vhost, NET_VHOST_ON);
	TEST_ASSERT_STR_EQ(cfg.net[2].script, "");
	TEST_ASSERT(!memcmp(cfg.net[2].guest_mac, "\x52\x54\x00\x12\x34\x52", 6), "guest MAC 2");
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-n", "mode=tap,vhost=on", "-n",
				      "mode=tap,vhost=0"), 0);
	TEST_ASSERT_EQ(cfg.net[0].vhost, NET_VHOST_ON);
	TEST_ASSERT_EQ(cfg.net[1].vhost, NET_VHOST_OFF);
}

static void test_network_refused(void)
{
	static const struct {
		const char *arg;
		const char *named;
	} cases[] = {
		{ "mode=user", "mode=tap" },
		{ "mode=tap,guest_mac=01:00:5e:00:00:01", "multicast" },
		{ "mode=tap,guest_mac=00:00:00:00:00:00", "all-zero" },
		{ "mode=tap,guest_mac=52:54:00:12:34", "guest_mac=52:54:00:12:34: expected a MAC" },
		{ "mode=tap,guest_mac=52:54:00:12:34:5g", "six hex pairs" },
		{ "mode=tap,guest_mac=52-54-00-12-34-56", "six hex pairs" },
		{ "mode=tap,host_mac=ff:ff:ff:ff:ff:ff", "multicast" },
		{ "mode=tap,vhost=yes", "vhost=yes: use vhost=on" },
		{ "mode=tap,bogus=1", "unknown option 'bogus=1'" },
		{ "mode=tap,,vhost=0", "empty option" },
		{ "mode=tap,tapif=", "tapif= needs a value" },
		{ "mode=tap,tapif=a-name-longer-than-15", "longer than 15 bytes" },
		{ "mode=tap,guest_ip=192.168.33.15", "user-mode network" },
		{ "mode=tap,mq=4", "one queue pair" },
		{ "mode=tap,trans=pci", "--virtio-transport" },
		{ "mode=bridge", "unknown mode 'bridge'" },
		{ "tapif=tap0", "add mode=tap" },
		{ "mode=none,tapif=tap0", "mode=none takes no other options" },
		{ "", "-n needs a value" },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lkvm_config cfg;
		struct lkvm_err err;
		int r = PARSE(&cfg, &err, "-k", "Image", "-n", cases[i].arg);

		TEST_ASSERT(r == -EINVAL, "-n %s accepted (%d)", cases[i].arg, r);
		TEST_ASSERT(strstr(err.msg, cases[i].named), "-n %s: message '%s' does not name '%s'",
			    cases[i].arg, err.msg, cases[i].named);
		TEST_ASSERT_STR_CONTAINS(err.msg, "-n");
	}
}

/* Combinations only validate() sees. */
static void test_network_validate(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-n", "mode=none", "-n", "mode=tap"),
		       -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "mode=none with another -n");
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-n", "mode=tap,tapif=t0", "-n",
				      "mode=tap,tapif=t0"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "both use tapif=t0");
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-n",
				      "mode=tap,guest_mac=52:54:00:12:34:51", "-n", "mode=tap"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "both have guest MAC 52:54:00:12:34:51");
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "-n", "mode=tap", "-n", "mode=tap", "-n",
			     "mode=tap", "-n", "mode=tap", "-n", "mode=tap"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "at most 4 network devices");
}

static void test_accepted_noops(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-n", "mode=none"), 0);
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--network", "none"), 0);
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--disable-mte", "--no-pvtime",
				      "--console", "serial", "--nodefaults", "--name", "vm0"), 0);
	TEST_ASSERT(cfg.nodefaults, "--nodefaults");
	TEST_ASSERT_STR_EQ(cfg.name, "vm0");
}

static void test_loglevel(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "--loglevel=warning"), 0);
	TEST_ASSERT_EQ(cfg.loglevel, LOG_WARN);
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "--loglevel", "error"), 0);
	TEST_ASSERT_EQ(cfg.loglevel, LOG_ERROR);
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "--loglevel=info"), 0);
	TEST_ASSERT_EQ(cfg.loglevel, LOG_INFO);
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "--debug"), 0);
	TEST_ASSERT_EQ(cfg.loglevel, LOG_DEBUG);
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "--loglevel=warn"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "--loglevel warn");
}

static void test_seeds_and_offsets(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "--kaslr-seed", "0xffffffffffffffff",
			     "--counter-offset", "12345", "--dump-dtb", "out.dtb"), 0);
	TEST_ASSERT(cfg.arch.has_kaslr_seed && cfg.arch.has_counter_offset, "flags set");
	TEST_ASSERT_EQ(cfg.arch.kaslr_seed, UINT64_MAX);
	TEST_ASSERT_EQ(cfg.arch.counter_offset, 12345);
	TEST_ASSERT_STR_EQ(cfg.dump_dtb, "out.dtb");
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "--kaslr-seed", "0x1ffffffffffffffff"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "--kaslr-seed");
}

/* Runs @fn with stdout on /dev/null: usage text must not land in the TAP stream. */
static int quiet_parse(struct lkvm_config *cfg, struct lkvm_err *err, const char *opt)
{
	int saved, null, r;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	null = open("/dev/null", O_WRONLY);
	TEST_ASSERT(saved >= 0 && null >= 0, "dup/open: %s", strerror(errno));
	dup2(null, STDOUT_FILENO);
	r = PARSE(cfg, err, "-m", "512", opt, "-m", "bogus");
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(null);
	return r;
}

static void test_help(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(quiet_parse(&cfg, &err, "--help"), 1);
	TEST_ASSERT_EQ(quiet_parse(&cfg, &err, "-h"), 1);
}

/* getopt state is reset per call: a failed parse must not leak into the next one. */
static void test_repeated_parse(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-c", "2", "--bogus", "-m", "1G"), -EINVAL);
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-c", "3", "Image"), 0);
	TEST_ASSERT_EQ(cfg.nr_cpus, 3);
	TEST_ASSERT_STR_EQ(cfg.kernel, "Image");
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-c"), -EINVAL);
	TEST_ASSERT_EQ(PARSE(&cfg, &err, NULL), 0);
	TEST_ASSERT(cfg.kernel == NULL, "no kernel");
	TEST_ASSERT_EQ(cfg.nr_cpus, 4);
}

/* ---- The arch's options (arm/config.c), checked with the config ---------- */

/*
 * Every refusal of an arch option: parse or validate returns -EINVAL and
 * the message names the culprit and the fix.  No /dev/kvm is involved,
 * so "lkvm run" exits 2 for each, the same on a host without KVM
 * (test_run_exit_status checks that on cmd_run itself).
 */
static const struct {
	const char *args[6];
	const char *named;
} arch_refusals[] = {
	{ { "--irqchip", "gicv4" }, "--irqchip gicv4: use gicv3-its, gicv3 or gicv2" },
	{ { "--irqchip=gicv4" }, "--irqchip gicv4: use gicv3-its, gicv3 or gicv2" },
	{ { "--irqchip=gicv2m" }, "no GICv2m MSI frame" },
	{ { "--irqchip=" }, "--irqchip : use" },
	{ { "--nested", "--irqchip=gicv2" }, "needs a GICv3" },
	{ { "--pmu-counters", "4" }, "--pmu-counters needs --pmu" },
	{ { "--pmu", "--pmu-counters", "many" }, "--pmu-counters many: expected a number" },
	{ { "--e2h0" }, "--e2h0 only makes sense with --nested" },
	{ { "--counter-offset", "-1" }, "--counter-offset -1: expected a number" },
	{ { "--kaslr-seed", "seed" }, "--kaslr-seed seed: expected a number" },
	{ { "--cpu-feature", "BOGUS_EL1.X=1" }, "unknown ID register 'BOGUS_EL1'" },
	{ { "--cpu-feature", "ID_AA64PFR0.SVE=0,ID_AA64MMFR0_EL1.Nope=1" },
	  "ID_AA64MMFR0_EL1 has no field 'Nope'; its fields: " },
	{ { "--cpu-feature", "ID_AA64PFR0_EL1.SVE=16" }, "the field is 4 bits: 0..15" },
	{ { "--cpu-feature", "ID_AA64PFR0_EL1.SVE=-1" }, "ID_AA64PFR0_EL1.SVE = -1" },
	{ { "--cpu-feature", "ID_AA64PFR0_EL1.SVE" }, "expected REG.FIELD=VALUE or REG=VALUE" },
	{ { "--cpu-feature", "ID_AA64PFR0_EL1.SVE=zero" }, "expected a number" },
	{ { "--cpu-feature", "ID_AA64PFR0_EL1.SVE=0,,ID_AA64PFR0_EL1.SVE=0" },
	  "empty item" },
	{ { "--cpu-feature", "" }, "--cpu-feature : empty list" },
	{ { "--id-reg", "ID_AA64PFR0_EL1.SVE=0" },
	  "--id-reg takes REG=VALUE; for one field use --cpu-feature ID_AA64PFR0_EL1.SVE=0" },
	{ { "--id-reg", "MIDR_EL1=0x1ffffffffffffffff" }, "expected a 64-bit number" },
	{ { "--id-reg", "NOPE_EL1=0" }, "--id-reg NOPE_EL1=0: unknown ID register" },
	/* Contradictions the command line shows without asking KVM. */
	{ { "--pmu", "--cpu-feature", "ID_AA64DFR0_EL1.PMUVer=0" },
	  "--pmu and ID_AA64DFR0_EL1.PMUVer=0 contradict each other" },
	{ { "--cpu-feature", "ID_AA64DFR0_EL1.PMUVer=1" },
	  "ID_AA64DFR0_EL1.PMUVer=1 needs --pmu" },
	{ { "--disable-sve", "--cpu-feature", "ID_AA64PFR0_EL1.SVE=1" },
	  "ID_AA64PFR0_EL1.SVE=1 contradicts --disable-sve" },
	{ { "--disable-ptrauth", "--cpu-feature", "ID_AA64ISAR1_EL1.GPI=1" },
	  "ID_AA64ISAR1_EL1.GPI=1 contradicts --disable-ptrauth" },
	{ { "--cpu-feature", "ID_AA64ISAR1_EL1.API=0,ID_AA64ISAR1_EL1.GPA=1" },
	  "ID_AA64ISAR1_EL1.GPA=1 contradicts ID_AA64ISAR1_EL1.API=0" },
	/* A whole-register write sets the SVE field too (here to 1). */
	{ { "--disable-sve", "--id-reg", "ID_AA64PFR0_EL1=0x100000011" },
	  "ID_AA64PFR0_EL1.SVE=1 contradicts --disable-sve" },
};

static void test_arch_refusals(void)
{

	for (unsigned int i = 0; i < ARRAY_SIZE(arch_refusals); i++) {
		const char *const *a = arch_refusals[i].args;
		const char *args[ARRAY_SIZE(arch_refusals[0].args) + 3] = { "-k", "Image" };
		struct lkvm_config cfg;
		struct lkvm_err err;
		int r;

		for (unsigned int k = 0; a[k]; k++)
			args[2 + k] = a[k];
		r = parse_args(&cfg, &err, args);
		if (!r)
			r = config__validate(&cfg, &err);
		TEST_ASSERT(r == -EINVAL, "%s %s: %d, expected -EINVAL (%s)", a[0], a[1] ? a[1] : "",
			    r, err.msg);
		TEST_ASSERT(strstr(err.msg, arch_refusals[i].named),
			    "%s %s: '%s' does not contain '%s'", a[0], a[1] ? a[1] : "", err.msg,
			    arch_refusals[i].named);
	}
}

static void test_arch_counts(void)
{
	const char *args[80];
	struct lkvm_config cfg;
	struct lkvm_err err;
	char list[4096];
	unsigned int n = 0;
	size_t used = 0;

	/* 17 --cpu-feature: refused while parsing, with the way out. */
	for (unsigned int i = 0; i < 17; i++) {
		args[n++] = "--cpu-feature";
		args[n++] = "ID_AA64PFR0_EL1.SVE=0";
	}
	args[n] = NULL;
	TEST_ASSERT_EQ(parse_args(&cfg, &err, args), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "--cpu-feature: at most 16 (use commas");

	n = 0;
	for (unsigned int i = 0; i < 17; i++) {
		args[n++] = "--id-reg";
		args[n++] = "MIDR_EL1=0";
	}
	args[n] = NULL;
	TEST_ASSERT_EQ(parse_args(&cfg, &err, args), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "--id-reg: at most 16");

	/* More than 128 assignments in all: refused by validate. */
	for (unsigned int i = 0; i < 129; i++)
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%sMIDR_EL1=%u",
					 i ? "," : "", i);
	TEST_ASSERT(used < sizeof(list), "list fits");
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--cpu-feature", list), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "too many ID register assignments");

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "--cpu-features", "a", "--cpu-features", "b"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "--cpu-features b: already given (a)");
}

/* What the arch options set, and the assignments validate() derives from them. */
static void test_arch_accepted(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--nested", "--e2h0", "--pmu",
				      "--pmu-counters=6", "--irqchip=gicv3", "--disable-sve",
				      "--disable-ptrauth", "--counter-offset", "7", "--disable-mte",
				      "--no-pvtime"), 0);
	TEST_ASSERT(cfg.arch.nested && cfg.arch.e2h0 && cfg.arch.pmu, "flags");
	TEST_ASSERT_EQ(cfg.arch.pmu_counters, 6);
	TEST_ASSERT_EQ(cfg.arch.irqchip, IRQCHIP_GICV3);
	TEST_ASSERT(cfg.arch.no_sve && !cfg.arch.want_sve, "--disable-sve");
	TEST_ASSERT(cfg.arch.no_ptrauth && !cfg.arch.want_ptrauth, "--disable-ptrauth");
	TEST_ASSERT_EQ(cfg.arch.nr_assigns, 0);

	/* Defaults: ask for SVE and pointer auth wherever KVM has them. */
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image"), 0);
	TEST_ASSERT(cfg.arch.want_sve && cfg.arch.want_ptrauth, "defaults");

	/* Lists and raw registers, in order; a field left 0 hides the feature. */
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--id-reg", "MIDR_EL1=0x410fd083",
				      "--cpu-feature", "ID_AA64PFR0_EL1.SVE=0, id_aa64isar1.apa=0",
				      "--pmu", "--cpu-feature", "ID_AA64DFR0_EL1.PMUVer=1"), 0);
	TEST_ASSERT_EQ(cfg.arch.nr_assigns, 4);
	TEST_ASSERT_STR_EQ(cfg.arch.assigns[0].reg->name, "ID_AA64PFR0_EL1");
	TEST_ASSERT_STR_EQ(cfg.arch.assigns[0].field->name, "SVE");
	TEST_ASSERT_STR_EQ(cfg.arch.assigns[1].field->name, "APA");
	TEST_ASSERT_STR_EQ(cfg.arch.assigns[2].field->name, "PMUVer");
	TEST_ASSERT_EQ(cfg.arch.assigns[2].value, 1);
	TEST_ASSERT(!cfg.arch.assigns[3].field, "--id-reg is whole (and after --cpu-feature)");
	TEST_ASSERT_EQ(cfg.arch.assigns[3].value, 0x410fd083ULL);
	TEST_ASSERT(!cfg.arch.want_sve, "SVE=0 hides SVE");
	TEST_ASSERT(!cfg.arch.want_ptrauth, "APA=0 hides pointer auth");

	/* The last assignment wins: SVE=0 then SVE=1 keeps SVE. */
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--cpu-feature",
				      "ID_AA64PFR0_EL1.SVE=0", "--cpu-feature",
				      "ID_AA64PFR0_EL1.SVE=1"), 0);
	TEST_ASSERT(cfg.arch.want_sve, "SVE back to 1");
	/* A whole-register write with SVE 0 hides it as well. */
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--id-reg",
				      "ID_AA64PFR0_EL1=0x11"), 0);
	TEST_ASSERT(!cfg.arch.want_sve, "raw SVE 0");
	TEST_ASSERT(cfg.arch.want_ptrauth, "pointer auth untouched");

	/* Validating again starts over rather than adding the assignments twice. */
	TEST_ASSERT_EQ(config__validate(&cfg, &err), 0);
	TEST_ASSERT_EQ(cfg.arch.nr_assigns, 1);
}

/* Writes @len bytes of @text to a new file in TEST_TMPDIR; returns its path (static storage). */
static const char *write_tmp(const char *name, const void *text, size_t len)
{
	static char paths[8][512];
	static unsigned int n;
	char *path;
	FILE *f;

	TEST_ASSERT(n < ARRAY_SIZE(paths), "too many temp files");
	path = paths[n++];
	snprintf(path, sizeof(paths[0]), "%s/%s", TEST_TMPDIR, name);
	f = fopen(path, "wb");
	TEST_ASSERT(f, "fopen %s: %s", path, strerror(errno));
	TEST_ASSERT(fwrite(text, 1, len, f) == len, "fwrite %s", path);
	TEST_ASSERT(fclose(f) == 0, "fclose %s", path);
	return path;
}

#define WRITE_TMP(name, lit)	write_tmp(name, lit, sizeof(lit) - 1)

/* --cpu-features FILE: read and parsed by validate(), before any KVM. */
static void test_cpu_features_file(void)
{
	const char *good = WRITE_TMP("good.conf",
				     "# lower what the guest sees\n"
				     "ID_AA64DFR0_EL1.DebugVer = 8   # Armv8.2 debug\n"
				     "\n"
				     "ID_AA64MMFR0_EL1.PARange=2, ID_AA64PFR0_EL1.SVE=0\n");
	const char *empty = WRITE_TMP("empty.conf", "");
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--cpu-feature",
				      "ID_AA64PFR0_EL1.SVE=1", "--cpu-features", good), 0);
	TEST_ASSERT_EQ(cfg.arch.nr_assigns, 4);
	TEST_ASSERT_STR_EQ(cfg.arch.assigns[0].field->name, "DebugVer");
	TEST_ASSERT_EQ(cfg.arch.assigns[0].value, 8);
	TEST_ASSERT_STR_EQ(cfg.arch.assigns[2].field->name, "SVE");
	/* The file comes first, so the command line's SVE=1 wins. */
	TEST_ASSERT_STR_EQ(cfg.arch.assigns[3].field->name, "SVE");
	TEST_ASSERT_EQ(cfg.arch.assigns[3].value, 1);
	TEST_ASSERT(cfg.arch.want_sve, "SVE=1 last");

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "--cpu-features", empty), 0);
	TEST_ASSERT_EQ(cfg.arch.nr_assigns, 0);
}

static void test_cpu_features_file_refused(void)
{
	static const char nul[] = "ID_AA64PFR0_EL1.SVE=0\nID_AA64DFR0_EL1.DebugVer=8\0"
				  "ID_AA64PFR0_EL1.SVE=junk\n";
	static const char binary[] = "\0\0\0\x7f" "ELF\x02\x01";
	const struct {
		const char *path;
		const char *named[2];
	} cases[] = {
		{ WRITE_TMP("syntax.conf", "# ok\nID_AA64PFR0_EL1.SVE=0\nID_AA64PFR0_EL1.SVE\n"),
		  { "--cpu-features ", "syntax.conf:3: 'ID_AA64PFR0_EL1.SVE': expected REG.FIELD=VALUE" } },
		{ WRITE_TMP("unknown.conf", "\nBOGUS_EL1=1\n"),
		  { "--cpu-features ", "unknown.conf:2: unknown ID register 'BOGUS_EL1'; closest" } },
		{ WRITE_TMP("field.conf", "ID_AA64MMFR0_EL1.Nope=1"),
		  { "field.conf:1: ID_AA64MMFR0_EL1 has no field 'Nope'; its fields: ", "PARange" } },
		{ WRITE_TMP("wide.conf", "ID_AA64PFR0_EL1.SVE=0\n\nID_AA64PFR0_EL1.SVE=99\n"),
		  { "wide.conf:3: ", "0..15" } },
		{ WRITE_TMP("contradiction.conf", "ID_AA64DFR0_EL1.PMUVer=0\n"),
		  { "--pmu and ID_AA64DFR0_EL1.PMUVer=0 contradict", "drop one" } },
		/* A NUL byte must not end the file early (the junk after it would be missed). */
		{ write_tmp("nul.conf", nul, sizeof(nul) - 1),
		  { "--cpu-features ", "nul.conf:2: a NUL byte: this is not a text file" } },
		/* Nor may a binary file read as an empty one. */
		{ write_tmp("binary.bin", binary, sizeof(binary) - 1),
		  { "--cpu-features ", "binary.bin:1: a NUL byte: this is not a text file" } },
		{ "/nonexistent/cpu.conf",
		  { "--cpu-features: /nonexistent/cpu.conf", "No such file or directory" } },
		{ TEST_TMPDIR, { "--cpu-features: ", "not a regular file" } },
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		struct lkvm_config cfg;
		struct lkvm_err err;
		int r;

		r = PARSE(&cfg, &err, "-k", "Image", "--pmu", "--cpu-features", cases[i].path);
		TEST_ASSERT(r == 0, "%s: parse %d (%s)", cases[i].path, r, err.msg);
		r = config__validate(&cfg, &err);
		TEST_ASSERT(r == -EINVAL, "%s: validate %d, expected -EINVAL (%s)", cases[i].path,
			    r, err.msg);
		for (unsigned int k = 0; k < 2; k++)
			TEST_ASSERT(strstr(err.msg, cases[i].named[k]),
				    "%s: '%s' does not contain '%s'", cases[i].path, err.msg,
				    cases[i].named[k]);
	}
}

/* "lkvm run --help" lists the arch's options in their place, between the generic ones. */
static void test_help_lists_arch_options(void)
{
	char path[512], text[8192];
	struct lkvm_config cfg;
	struct lkvm_err err;
	const char *console, *irqchip, *cpu_feature, *dump_dtb;
	int saved, fd, r;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/help.txt", TEST_TMPDIR);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	TEST_ASSERT(saved >= 0 && fd >= 0, "dup/open: %s", strerror(errno));
	dup2(fd, STDOUT_FILENO);
	close(fd);
	r = PARSE(&cfg, &err, "--help");
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	TEST_ASSERT_EQ(r, 1);

	fd = open(path, O_RDONLY);
	TEST_ASSERT(fd >= 0, "open %s: %s", path, strerror(errno));
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	TEST_ASSERT(n > 0, "usage written");
	text[n] = '\0';
	console = strstr(text, "--console virtio");
	irqchip = strstr(text, "--irqchip TYPE");
	cpu_feature = strstr(text, "--cpu-feature REG.FIELD=V");
	dump_dtb = strstr(text, "--dump-dtb FILE");
	TEST_ASSERT(console && irqchip && cpu_feature && dump_dtb, "all listed:\n%s", text);
	TEST_ASSERT(console < irqchip && irqchip < cpu_feature && cpu_feature < dump_dtb,
		    "arch options between --console and --dump-dtb");
	TEST_ASSERT_STR_CONTAINS(text, "--disable-ptrauth");
	TEST_ASSERT_STR_CONTAINS(text, "--ipa-bits N");
}

/* config__validate_machine(): everything but the boot source ("lkvm cpu"). */
static void test_validate_machine(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE(&cfg, &err, "--nested", "--cpu-feature", "ID_AA64PFR0_EL1.SVE=0"), 0);
	TEST_ASSERT_EQ(config__validate(&cfg, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "no kernel");
	TEST_ASSERT_EQ(config__validate_machine(&cfg, &err), 0);
	TEST_ASSERT_EQ(cfg.arch.nr_assigns, 1);
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "--cpu-feature", "ID_AA64PFR0_EL1.Nope=0"), 0);
	TEST_ASSERT_EQ(config__validate_machine(&cfg, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "no field 'Nope'");
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "--ipa-bits", "33"), 0);
	TEST_ASSERT_EQ(config__validate_machine(&cfg, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "--ipa-bits 33: use 32, 36");
}

/* The memory map is checked from the config alone too (KVM's IPA limit comes later). */
static void test_validate_memory_map(void)
{
	struct lkvm_config cfg;
	struct lkvm_err err;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-m", "64", "-m",
				      "2M@0xffffe00000", "--ipa-bits", "36"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "needs 40 bits");
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-m", "64@0x08000000"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "overlaps the device region");
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-m", "64", "-m", "64@0x80000000"),
		       -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "overlap");
}

/*
 * cmd_run(): every arch refusal above exits 2 with its message, before
 * kvm__open(), so a host without /dev/kvm says the same; a good command
 * line gets as far as /dev/kvm and exits 1 there (the host step).
 */
static void test_run_exit_status(void)
{
	const char *kernel = WRITE_TMP("Image", "not really a kernel");
	const char *bad_file = WRITE_TMP("bad.conf", "ID_AA64PFR0_EL1.SVE=0\nID_AA64PFR0_EL1.Nope=1\n");
	const char *args[12];
	int st;

	for (unsigned int i = 0; i < ARRAY_SIZE(arch_refusals); i++) {
		const char *const *a = arch_refusals[i].args;

		args[0] = "-k";
		args[1] = kernel;
		for (unsigned int k = 0; k < ARRAY_SIZE(arch_refusals[0].args); k++)
			args[2 + k] = a[k];
		args[2 + ARRAY_SIZE(arch_refusals[0].args)] = NULL;
		st = run_args(args);
		TEST_ASSERT(st == 2, "lkvm run %s %s: exit %d, expected 2 (%s)", a[0],
			    a[1] ? a[1] : "", st, run_msg);
		TEST_ASSERT(!run_opened_kvm, "lkvm run %s %s: /dev/kvm opened", a[0],
			    a[1] ? a[1] : "");
		TEST_ASSERT(strstr(run_msg, arch_refusals[i].named),
			    "lkvm run %s %s: '%s' does not contain '%s'", a[0], a[1] ? a[1] : "",
			    run_msg, arch_refusals[i].named);
	}

	st = run_args((const char *const[]){ "-k", kernel, "--cpu-features", bad_file, NULL });
	TEST_ASSERT_EQ(st, 2);
	TEST_ASSERT(!run_opened_kvm, "/dev/kvm opened");
	TEST_ASSERT_STR_CONTAINS(run_msg, "bad.conf:2: ID_AA64PFR0_EL1 has no field 'Nope'");
	st = run_args((const char *const[]){ "-k", kernel, "--cpu-features", "/nonexistent", NULL });
	TEST_ASSERT_EQ(st, 2);
	TEST_ASSERT(!run_opened_kvm, "/dev/kvm opened");
	TEST_ASSERT_STR_CONTAINS(run_msg, "--cpu-features: /nonexistent: No such file");
	st = run_args((const char *const[]){ "-k", kernel, "--ipa-bits", "33", NULL });
	TEST_ASSERT_EQ(st, 2);
	TEST_ASSERT(!run_opened_kvm, "/dev/kvm opened");

	/* Nothing wrong with the command line: the host is asked, and has no KVM. */
	st = run_args((const char *const[]){ "-k", kernel, "--nested", "--pmu", "--cpu-feature",
					     "ID_AA64PFR0_EL1.SVE=0", NULL });
	TEST_ASSERT_EQ(st, 1);
	TEST_ASSERT(run_opened_kvm, "/dev/kvm asked");
	TEST_ASSERT_STR_CONTAINS(run_msg, "/dev/kvm: no such device");
}

/*
 * Every refusal of the option table, through cmd_run(): exit 2 with its
 * message, /dev/kvm never opened.  test_run_table_covered() holds the
 * table to naming every option that can be refused.
 */
static const struct {
	const char *args[10];
	const char *named;
} run_refusals[] = {
	{ { "-k" }, "-k needs a value" },
	{ { "--kernel=Image", "Other" }, "unexpected argument 'Other'" },
	{ { "-k", "Image", "-f", "fw.bin" }, "-k and -f both given" },
	{ { "--initrd" }, "--initrd needs a value" },
	{ { "-f", "fw.bin", "-i", "initrd" }, "-i needs a kernel" },
	{ { "-k", "Image", "--params" }, "--params needs a value" },
	{ { "--firmware" }, "--firmware needs a value" },
	{ { "-f", "fw.bin", "--firmware-address", "high" }, "--firmware-address high: expected a number" },
	{ { "-k", "Image", "--firmware-address", "0x80000000" }, "--firmware-address needs -f FILE" },
	{ { "-k", "Image", "-c", "0" }, "-c 0: a VM needs at least one vCPU" },
	{ { "-k", "Image", "--cpus", "two" }, "-c two: expected a number" },
	{ { "-k", "Image", "-c", "4294967296" }, "-c 4294967296: out of range: at most 512 vCPUs (lkvm's limit)" },
	{ { "-k", "Image", "--cpus=513" }, "KVM_CAP_MAX_VCPUS" },
	{ { "-k", "Image", "-m", "0" }, "-m 0: RAM size must not be zero" },
	{ { "-k", "Image", "--mem", "1x" }, "-m 1x: expected SIZE[@ADDR]" },
	{ { "-k", "Image", "--mem=3" }, "not a multiple of 2 MiB" },
	{ { "-k", "Image", "-m", "64", "-m", "64@0x80000000" }, "overlap" },
	{ { "-k", "Image", "--name" }, "--name needs a value" },
	{ { "-k", "Image", "-n", "mode=tap," }, "-n mode=tap,: empty option (stray comma?)" },
	{ { "-k", "Image", "--network", "mode=user" }, "use mode=tap" },
	{ { "-k", "Image", "--network=mode=none", "-n", "mode=tap" }, "mode=none with another -n" },
	{ { "-k", "Image", "-n", "mode=tap,tapif=t0", "-n", "mode=tap,tapif=t0" }, "both use tapif=t0" },
	{ { "-k", "Image", "--console", "bogus" }, "--console bogus: use serial or virtio" },
	{ { "-k", "Image", "--console=hv" }, "--console hv" },
	{ { "-k", "Image", "--loglevel=loud" }, "--loglevel loud: use error, warning, info or debug" },
	{ { "-k", "Image", "--dump-dtb" }, "--dump-dtb needs a value" },
	{ { "-k", "Image", "--ipa-bits", "33" }, "--ipa-bits 33: use 32, 36" },
	{ { "-k", "Image", "--ipa-bits=99" }, "--ipa-bits 99: at most 64" },
	{ { "-k", "Image", "--virtio-transport", "pci-legacy" }, "use --virtio-transport pci" },
	{ { "-k", "Image", "--virtio-transport=bogus" }, "--virtio-transport bogus: use pci or mmio" },
	{ { "-k", "Image", "-d", "a.img,rw" }, "unknown option 'rw'" },
	{ { "-k", "Image", "-d", "a.img," }, "-d a.img,: empty option (stray comma?)" },
	{ { "-k", "Image", "--disk", ",ro" }, "empty path" },
	{ { "-k", "Image", "-d", "a.img", "--disk=a.img" }, "-d a.img: the same image as disk 0" },
	{ { "-k", "Image", "-d", "a.img,engine=posix" }, "unknown engine 'posix'" },
	{ { "-k", "Image", "--sandbox=maybe" }, "--sandbox maybe: use on (the default), off or log" },
	{ { "-k", "Image", "--flash", "flash.img" }, "--flash: not supported by this lkvm" },
	{ { "-k", "Image", "-F", "flash.img" }, "-F flash.img: lkvm has no CFI flash" },
	{ { "-k", "Image", "--9p", "/srv" }, "--9p /srv: expected DIR,TAG[,ro]" },
	{ { "-k", "Image", "--vsock", "2" }, "--vsock 2: a guest CID is" },
	{ { "-k", "Image", "--hugetlbfs", "" }, "--hugetlbfs needs a directory on a hugetlbfs" },
	{ { "-k", "Image", "--debug-mmio" }, "--debug-mmio: not supported" },
	{ { "-k", "Image", "--debug-ioport" }, "--debug-ioport: not supported" },
	{ { "-k", "Image", "--debug-single-step" }, "--debug-single-step: not supported" },
	{ { "-k", "Image", "--irqchip=gicv4" }, "--irqchip gicv4: use gicv3-its, gicv3 or gicv2" },
	{ { "-k", "Image", "--irqchip", "gicv2m" }, "no GICv2m" },
	{ { "-k", "Image", "--pmu", "--cpu-feature", "ID_AA64DFR0_EL1.PMUVer=0" },
	  "--pmu and ID_AA64DFR0_EL1.PMUVer=0 contradict each other" },
	{ { "-k", "Image", "--pmu-counters", "4" }, "--pmu-counters needs --pmu" },
	{ { "-k", "Image", "--pmu", "--pmu-counters=32" }, "--pmu-counters 32: at most 31" },
	{ { "-k", "Image", "--nested", "--irqchip=gicv2" }, "--nested with --irqchip gicv2" },
	{ { "-k", "Image", "--e2h0" }, "--e2h0 only makes sense with --nested" },
	{ { "-k", "Image", "--kaslr-seed", "random" }, "--kaslr-seed random: expected a number" },
	{ { "-k", "Image", "--counter-offset=-1" }, "--counter-offset -1: expected a number" },
	{ { "-k", "Image", "--cpu-feature", "ID_AA64PFR0_EL1.Nope=1" }, "has no field 'Nope'" },
	{ { "-k", "Image", "--cpu-features", "/nonexistent" }, "--cpu-features: /nonexistent: No such file" },
	{ { "-k", "Image", "--id-reg", "ID_AA64PFR0_EL1.SVE=0" }, "--id-reg takes REG=VALUE" },
	{ { "-k", "Image", "--disable-sve", "--cpu-feature", "ID_AA64PFR0_EL1.SVE=1" },
	  "contradicts --disable-sve" },
	{ { "-k", "Image", "--disable-ptrauth", "--cpu-feature", "ID_AA64ISAR1_EL1.GPI=1" },
	  "contradicts --disable-ptrauth" },
	{ { "-k", "Image", "--sve-max-vl", "256" }, "--sve-max-vl: not supported" },
	{ { "-k", "Image", "--vcpu-affinity", "0-3" }, "--vcpu-affinity: not supported" },
	{ { "-k", "Image", "--aarch32" }, "--aarch32: not supported" },
	{ { "-k", "Image", "--psci" }, "--psci: not supported" },
	{ { "-k", "Image", "--protected" }, "--protected: not supported" },
	{ { "-k", "Image", "--balloon=yes" }, "--balloon=yes: the only value is no-report" },
	{ { "-k", "Image", "--frobnicate" }, "unknown option '--frobnicate'" },
	{ { "-zk", "Image" }, "unknown option '-z'" },
};

/* Flags with nothing to refuse on their own (and --help, which exits 0). */
static const char *const run_unrefusable[] = {
	"nodefaults", "debug", "rng", "help", "disable-mte", "no-pvtime",
};

static void test_run_table_refusals(void)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(run_refusals); i++) {
		const char *const *a = run_refusals[i].args;
		char cmd[256] = "";
		size_t n = 0;
		int st;

		for (unsigned int k = 0; a[k] && n < sizeof(cmd); k++)
			n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, " %s", a[k]);
		st = run_args(a);
		TEST_ASSERT(st == 2, "lkvm run%s: exit %d, expected 2 (%s)", cmd, st, run_msg);
		TEST_ASSERT(!run_opened_kvm, "lkvm run%s: /dev/kvm opened", cmd);
		TEST_ASSERT(strstr(run_msg, run_refusals[i].named),
			    "lkvm run%s: '%s' does not contain '%s'", cmd, run_msg,
			    run_refusals[i].named);
	}
}

/* Does some refusal give option @o (as --name, --name=..., or its letter)? */
static bool run_refusal_names(const struct option *o)
{
	char lng[64], eq[64], shrt[3] = { '-', (char)o->val, '\0' };

	snprintf(lng, sizeof(lng), "--%s", o->name);
	snprintf(eq, sizeof(eq), "--%s=", o->name);
	for (unsigned int i = 0; i < ARRAY_SIZE(run_refusals); i++) {
		for (const char *const *a = run_refusals[i].args; *a; a++) {
			if (!strcmp(*a, lng) || !strncmp(*a, eq, strlen(eq)))
				return true;
			if (o->val > 0 && o->val < 0x80 && !strcmp(*a, shrt))
				return true;
		}
	}
	return false;
}

/* The table above names every option of the real table (config__run_options()). */
static void test_run_table_covered(void)
{
	struct option opts[LKVM_RUN_OPTIONS_MAX];
	int n = config__run_options(opts, ARRAY_SIZE(opts));

	TEST_ASSERT(n > 40, "config__run_options: %d", n);
	TEST_ASSERT(opts[n].name == NULL, "NULL-terminated");
	TEST_ASSERT_EQ(config__run_options(opts, 10), -E2BIG);
	n = config__run_options(opts, ARRAY_SIZE(opts));
	for (int i = 0; i < n; i++) {
		bool exempt = false;

		for (unsigned int k = 0; k < ARRAY_SIZE(run_unrefusable); k++)
			exempt |= !strcmp(opts[i].name, run_unrefusable[k]);
		if (exempt) {
			TEST_ASSERT(opts[i].has_arg == no_argument, "--%s takes a value: it can be "
				    "refused, give it a case in run_refusals", opts[i].name);
			continue;
		}
		TEST_ASSERT(run_refusal_names(&opts[i]), "--%s: no case in run_refusals",
			    opts[i].name);
	}
}

/*
 * The order of checks (README): command line (2), host (1), files (2),
 * then the VM.  A host that can't run the configuration says so even when
 * the kernel is kvm-unit-tests' probe, _NO_FILE_4Uhere_, and the files
 * are looked at only on a host that can.
 */
static void test_run_order(void)
{
	const char *kernel = WRITE_TMP("Image", "not really a kernel");
	const char *initrd = WRITE_TMP("env", "FOO=1\n");
	char nodir[512], disk_ro[512];
	int st;

	/* No /dev/kvm: a good command line gets as far as kvm__open(). */
	st = run_args((const char *const[]){ "-k", "_NO_FILE_4Uhere_", NULL });
	TEST_ASSERT_EQ(st, 1);
	TEST_ASSERT_STR_EQ(host.calls, "open close");
	TEST_ASSERT_STR_CONTAINS(run_msg, "/dev/kvm: no such device");

	/* The host refuses: exit 1 with its reason, the missing kernel never looked at. */
	host.has_kvm = true;
	host.host_refusal = "--irqchip gicv2: this host cannot give the guest a GICv2 because ...";
	st = run_args((const char *const[]){ "--kernel", "_NO_FILE_4Uhere_", "--irqchip=gicv2",
					     NULL });
	TEST_ASSERT_EQ(st, 1);
	TEST_ASSERT_STR_EQ(host.calls, "open host close");
	TEST_ASSERT_STR_CONTAINS(run_msg, "this host cannot give the guest a GICv2");
	TEST_ASSERT(!strstr(run_msg, "Fatal"), "a file looked at: %s", run_msg);

	/* A host that can: the probe's missing kernel, in kvmtool's words. */
	host.host_refusal = NULL;
	st = run_args((const char *const[]){ "--kernel", "_NO_FILE_4Uhere_", "--initrd", initrd,
					     NULL });
	TEST_ASSERT_EQ(st, 2);
	TEST_ASSERT_STR_EQ(host.calls, "open host files close");
	TEST_ASSERT_STR_CONTAINS(run_msg, "Fatal: Unable to open kernel _NO_FILE_4Uhere_: No such "
				 "file or directory");

	st = run_args((const char *const[]){ "-k", kernel, "-i", "/nonexistent/env", NULL });
	TEST_ASSERT_EQ(st, 2);
	TEST_ASSERT_STR_CONTAINS(run_msg, "Fatal: Unable to open initrd /nonexistent/env");
	st = run_args((const char *const[]){ "-f", "/nonexistent/fw.bin", NULL });
	TEST_ASSERT_EQ(st, 2);
	TEST_ASSERT_STR_CONTAINS(run_msg, "Fatal: Unable to open firmware /nonexistent/fw.bin");
	st = run_args((const char *const[]){ "-k", TEST_TMPDIR, NULL });
	TEST_ASSERT_EQ(st, 2);
	TEST_ASSERT_STR_CONTAINS(run_msg, "Fatal: Unable to open kernel");
	TEST_ASSERT_STR_CONTAINS(run_msg, "Is a directory");
	st = run_args((const char *const[]){ "-k", kernel, "-d", "/nonexistent/disk.img", NULL });
	TEST_ASSERT_EQ(st, 2);
	TEST_ASSERT_STR_CONTAINS(run_msg, "Fatal: Unable to open disk image /nonexistent/disk.img: "
				 "No such file");
	st = run_args((const char *const[]){ "-k", kernel, "-d", TEST_TMPDIR, NULL });
	TEST_ASSERT_EQ(st, 2);
	TEST_ASSERT_STR_CONTAINS(run_msg, "Fatal: Unable to open disk image");
	snprintf(nodir, sizeof(nodir), "%s/no/such/dir/out.dtb", TEST_TMPDIR);
	st = run_args((const char *const[]){ "-k", kernel, "--dump-dtb", nodir, NULL });
	TEST_ASSERT_EQ(st, 2);
	TEST_ASSERT_STR_CONTAINS(run_msg, "--dump-dtb");
	TEST_ASSERT_STR_CONTAINS(run_msg, "cannot write the device tree there");
	st = run_args((const char *const[]){ "-k", kernel, "--dump-dtb", TEST_TMPDIR, NULL });
	TEST_ASSERT_EQ(st, 2);
	TEST_ASSERT_STR_CONTAINS(run_msg, "Is a directory");
	/* A --9p share that is not there, or not a directory: a guest's file, 2. */
	st = run_args((const char *const[]){ "-k", kernel, "--9p", "/nonexistent/share,t", NULL });
	TEST_ASSERT_EQ(st, 2);
	TEST_ASSERT_STR_CONTAINS(run_msg, "--9p /nonexistent/share: No such file or directory");
	snprintf(nodir, sizeof(nodir), "%s,t", kernel);
	st = run_args((const char *const[]){ "-k", kernel, "--9p", nodir, NULL });
	TEST_ASSERT_EQ(st, 2);
	TEST_ASSERT_STR_CONTAINS(run_msg, "not a directory");

	/* All there: the VM is built and runs; the guest powering off is status 0. */
	snprintf(disk_ro, sizeof(disk_ro), "%s,ro", kernel);
	snprintf(nodir, sizeof(nodir), "%s/out.dtb", TEST_TMPDIR);
	st = run_args((const char *const[]){ "-k", kernel, "-i", initrd, "-d", disk_ro,
					     "--dump-dtb", nodir, NULL });
	TEST_ASSERT(st == 0, "exit %d (%s)", st, run_msg);
	TEST_ASSERT_STR_EQ(host.calls, "open host files create run close");
	TEST_ASSERT(access(nodir, F_OK) < 0, "the file check created %s", nodir);

	/* Building the VM fails: 1. */
	host.create_fails = true;
	st = run_args((const char *const[]){ "-k", kernel, NULL });
	TEST_ASSERT_EQ(st, 1);
	TEST_ASSERT_STR_EQ(host.calls, "open host files create close");
	TEST_ASSERT_STR_CONTAINS(run_msg, "mmap of guest RAM");
}

/* A --name a running guest has: exit 1 naming it, before the host is even asked. */
static void test_run_name_taken(void)
{
	const char *kernel = WRITE_TMP("Image", "not really a kernel");
	int st;

	host.has_kvm = true;
	host.name_taken = true;
	st = run_args((const char *const[]){ "-k", kernel, "--name", "ci-1", NULL });
	TEST_ASSERT_EQ(st, 1);
	TEST_ASSERT_STR_EQ(host.calls, "open close");
	TEST_ASSERT_STR_CONTAINS(run_msg, "--name ci-1: a guest of that name is running");
	/* A name that can't be a file name is the command line's mistake: 2, no /dev/kvm. */
	st = run_args((const char *const[]){ "-k", kernel, "--name", "a/b", NULL });
	TEST_ASSERT_EQ(st, 2);
	TEST_ASSERT(!run_opened_kvm, "/dev/kvm opened for a bad --name");
	TEST_ASSERT_STR_CONTAINS(run_msg, "--name 'a/b'");
}

/* kvm-unit-tests' kvmtool command line (scripts/vmm.bash, arm/run), "=" forms and all. */
static void test_run_kvm_unit_tests_shape(void)
{
	const char *kernel = WRITE_TMP("selftest.flat", "\x01\x02\x03\x04 not text");
	const char *initrd = WRITE_TMP("env", "TARGET=kvmtool\n");
	struct lkvm_config cfg;
	struct lkvm_err err;
	int st;

	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "--kernel", kernel, "--cpus", "2", "--params",
				      "setup smp=2 mem=256", "--nodefaults", "--network",
				      "mode=none", "--loglevel=warning", "--mem", "256",
				      "--irqchip=gicv3", "--initrd", initrd), 0);
	TEST_ASSERT_STR_EQ(cfg.kernel, kernel);
	TEST_ASSERT_EQ(cfg.nr_cpus, 2);
	TEST_ASSERT_STR_EQ(cfg.params, "setup smp=2 mem=256");
	TEST_ASSERT(cfg.nodefaults && cfg.no_net && !cfg.nr_net, "--nodefaults --network mode=none");
	TEST_ASSERT_EQ(cfg.loglevel, LOG_WARN);
	TEST_ASSERT_EQ(config__ram_size(&cfg), 256 * SZ_MiB);
	TEST_ASSERT_EQ(cfg.arch.irqchip, IRQCHIP_GICV3);
	TEST_ASSERT_STR_EQ(cfg.initrd, initrd);
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "--kernel", kernel, "--cpus", "1",
				      "--nodefaults", "--network", "mode=none", "--loglevel=warning",
				      "--pmu", "--irqchip=gicv3-its", "--nested"), 0);
	TEST_ASSERT(cfg.arch.pmu && cfg.arch.nested, "--pmu --nested");
	TEST_ASSERT_EQ(cfg.arch.irqchip, IRQCHIP_GICV3_ITS);

	/* Through cmd_run on a host that can: as far as building the VM. */
	host.has_kvm = true;
	st = run_args((const char *const[]){ "--kernel", kernel, "--cpus", "2", "--params",
					     "setup smp=2 mem=256", "--nodefaults", "--network",
					     "mode=none", "--loglevel=warning", "--mem", "256",
					     "--irqchip=gicv3", "--initrd", initrd, NULL });
	TEST_ASSERT(st == 0, "exit %d (%s)", st, run_msg);
	TEST_ASSERT_STR_EQ(host.calls, "open host files create run close");
}

/* Inputs that used to be accepted and should not have been, or were unclear. */
static void test_run_bad_inputs(void)
{
	const char *img = WRITE_TMP("disk.img", "0123456789abcdef");
	char lnk[512], hard[512], ro[1024], ro2[1024];
	struct lkvm_config cfg;
	struct lkvm_err err;

	/* One image, two -d: by the same name, through a symlink, a hard link. */
	snprintf(lnk, sizeof(lnk), "%s/link.img", TEST_TMPDIR);
	snprintf(hard, sizeof(hard), "%s/hard.img", TEST_TMPDIR);
	TEST_ASSERT(symlink(img, lnk) == 0, "symlink: %s", strerror(errno));
	TEST_ASSERT(link(img, hard) == 0, "link: %s", strerror(errno));
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-d", img, "-d", img), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "the same image as disk 0");
	TEST_ASSERT_STR_CONTAINS(err.msg, "corrupt");
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-d", img, "-d", lnk), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "link.img: the same image as disk 0");
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-d", "other.img", "-d", hard,
				      "-d", img), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "the same image as disk 1");
	/* Read-only once is not enough; read-only twice is two readers: fine. */
	snprintf(ro, sizeof(ro), "%s,ro", img);
	snprintf(ro2, sizeof(ro2), "%s,ro,engine=sync", lnk);
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-d", ro, "-d", img), -EINVAL);
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-d", ro, "-d", ro2), 0);
	TEST_ASSERT_EQ(cfg.nr_disk, 2);
	/* Two images that don't exist yet: their names differ, that's all we know here. */
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "Image", "-d", "x.img", "-d", "y.img"), 0);

	/* -k, -i, -p twice: the last one counts, as in kvmtool (its OPT_STRING). */
	TEST_ASSERT_EQ(PARSE_VALIDATE(&cfg, &err, "-k", "A", "-i", "a.cpio", "-p", "one", "--kernel",
				      "B", "--initrd=b.cpio", "--params", "two"), 0);
	TEST_ASSERT_STR_EQ(cfg.kernel, "B");
	TEST_ASSERT_STR_EQ(cfg.initrd, "b.cpio");
	TEST_ASSERT_STR_EQ(cfg.params, "two");
	/* ... but a second kernel given alone is a mistake, not a replacement. */
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "A", "B"), -EINVAL);

	/* A trailing comma: refused by -n as by -d. */
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "-n", "mode=tap,"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "empty option (stray comma?)");
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "-n", "mode=tap,vhost=off,"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "empty option (stray comma?)");
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "-n", "mode=none,"), -EINVAL);
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "-d", "a.img,"), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "empty option (stray comma?)");
	TEST_ASSERT_EQ(PARSE(&cfg, &err, "-k", "Image", "-n", "mode=tap,vhost=off"), 0);
}

/*
 * "lkvm run --restore DIR": a snapshot that can't be read is exit status 2
 * before /dev/kvm is opened (missing, truncated, another version, an
 * option that would change the guest); a good one runs its recorded
 * command line, with --name overriding, and skips the guest's files.
 */
static void test_run_restore(void)
{
	static char *const recorded[] = { "run", "-k", "/nonexistent/Image", "-m", "128", "-c", "1",
					  "--name", "saved" };
	struct snap_host h = { .arch = SNAP_ARCH_ARM64, .page_size = 4096 };
	char dir[512], path[600], bad[600];
	struct snap_writer w;
	u32 v2 = 2;
	int st;

	snprintf(dir, sizeof(dir), "%s/snap", TEST_TMPDIR);
	TEST_ASSERT_EQ(mkdir(dir, 0700), 0);
	st = run_args((const char *const[]){ "--restore", dir, NULL });
	TEST_ASSERT_EQ(st, 2);
	TEST_ASSERT_STR_CONTAINS(run_msg, "--restore");
	TEST_ASSERT_STR_CONTAINS(run_msg, "snap/state");
	TEST_ASSERT(!run_opened_kvm, "no /dev/kvm for a missing snapshot");

	snapshot__writer_init(&w, &h);
	snapshot__put_config(&w, ARRAY_SIZE(recorded), recorded);
	TEST_ASSERT_EQ(snapshot__writer_finish(&w, NULL), 0);
	snprintf(path, sizeof(path), "%s/state", dir);
	TEST_ASSERT_EQ(snapshot__write_file(path, w.buf, w.len - 8, NULL), 0);
	st = run_args((const char *const[]){ "--restore", dir, NULL });
	TEST_ASSERT_EQ(st, 2);
	TEST_ASSERT_STR_CONTAINS(run_msg, "truncated");

	memcpy(w.buf + 8, &v2, 4);
	TEST_ASSERT_EQ(snapshot__write_file(path, w.buf, w.len, NULL), 0);
	snprintf(bad, sizeof(bad), "--restore=%s", dir);
	st = run_args((const char *const[]){ bad, NULL });
	TEST_ASSERT_EQ(st, 2);
	TEST_ASSERT_STR_CONTAINS(run_msg, "format version 2; this lkvm reads version 1");
	v2 = 1;
	memcpy(w.buf + 8, &v2, 4);
	snapshot__writer_free(&w);

	snapshot__writer_init(&w, &h);
	snapshot__put_config(&w, ARRAY_SIZE(recorded), recorded);
	TEST_ASSERT_EQ(snapshot__writer_finish(&w, NULL), 0);
	TEST_ASSERT_EQ(snapshot__write_file(path, w.buf, w.len, NULL), 0);
	snapshot__writer_free(&w);
	st = run_args((const char *const[]){ "--restore", dir, "-m", "256", NULL });
	TEST_ASSERT_EQ(st, 2);
	TEST_ASSERT_STR_CONTAINS(run_msg, "-m: a restored guest keeps its snapshot's configuration");
	TEST_ASSERT(!run_opened_kvm, "no /dev/kvm for a refused override");

	/* A good one, on a host that can: no guest files looked at (the kernel is gone). */
	host.has_kvm = true;
	st = run_args((const char *const[]){ "--restore", dir, "--name", "again", NULL });
	TEST_ASSERT(st == 0, "exit %d (%s)", st, run_msg);
	TEST_ASSERT_STR_EQ(host.calls, "open host create run close");
}

static const struct test_case tests[] = {
	TEST_CASE(test_defaults),
	TEST_CASE(test_mem_bare_number_is_mib),
	TEST_CASE(test_mem_suffixes),
	TEST_CASE(test_mem_at_hex_address),
	TEST_CASE(test_mem_at_suffixed_address),
	TEST_CASE(test_mem_hex_address_ending_in_letter),
	TEST_CASE(test_mem_bad_forms),
	TEST_CASE(test_mem_zero),
	TEST_CASE(test_mem_overflow),
	TEST_CASE(test_mem_too_long),
	TEST_CASE(test_mem_bank_limit),
	TEST_CASE(test_mem_unaligned),
	TEST_CASE(test_cpus),
	TEST_CASE(test_unknown_option),
	TEST_CASE(test_unknown_option_in_cluster),
	TEST_CASE(test_missing_value),
	TEST_CASE(test_kernel_positional_or_k),
	TEST_CASE(test_two_kernels),
	TEST_CASE(test_validate_boot_source),
	TEST_CASE(test_e2h0_needs_nested),
	TEST_CASE(test_nested_gicv2),
	TEST_CASE(test_irqchip_values),
	TEST_CASE(test_pmu_counters),
	TEST_CASE(test_ipa_bits),
	TEST_CASE(test_unsupported_kvmtool_options),
	TEST_CASE(test_9p),
	TEST_CASE(test_vsock),
	TEST_CASE(test_disks),
	TEST_CASE(test_accepted_noops),
	TEST_CASE(test_network),
	TEST_CASE(test_network_refused),
	TEST_CASE(test_network_validate),
	TEST_CASE(test_loglevel),
	TEST_CASE(test_seeds_and_offsets),
	TEST_CASE(test_help),
	TEST_CASE(test_repeated_parse),
	TEST_CASE(test_arch_refusals),
	TEST_CASE(test_arch_counts),
	TEST_CASE(test_arch_accepted),
	TEST_CASE(test_cpu_features_file),
	TEST_CASE(test_cpu_features_file_refused),
	TEST_CASE(test_help_lists_arch_options),
	TEST_CASE(test_validate_machine),
	TEST_CASE(test_validate_memory_map),
	TEST_CASE(test_run_exit_status),
	TEST_CASE(test_run_table_refusals),
	TEST_CASE(test_run_table_covered),
	TEST_CASE(test_run_order),
	TEST_CASE(test_run_name_taken),
	TEST_CASE(test_run_kvm_unit_tests_shape),
	TEST_CASE(test_run_bad_inputs),
	TEST_CASE(test_run_restore),
};

TEST_MAIN(tests)
