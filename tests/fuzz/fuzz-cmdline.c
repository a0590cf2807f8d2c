// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: everything the user types, on fuzzed strings: the
 * "lkvm run" command line (config__parse_run() then config__validate(),
 * the arch's options, the memory plan, the --cpu-features file read
 * from disk), the -d and -n option strings (disk__parse_opts(),
 * net__parse_opts()), the ID-register parsers behind --cpu-feature,
 * --id-reg and --cpu-features (arm/idreg.c idreg__parse_*), the check of
 * an assignment against what KVM reports (idreg__check_assign) and the
 * field formatter of "lkvm cpu", and the number parsers.
 *
 * Input: u8 mode, then the text.  Mode 0 (argv): the text split at NUL
 * bytes into arguments after "run" (at most 64); its last piece is also
 * written to a file, and "@F" in an argument stands for that file's
 * path (--cpu-features=@F).  Modes 1-8: one NUL-terminated string for
 * one parser (mode 4 and 6 take two u64s, host value and writable mask,
 * before it).
 *
 * Checked: a parse that succeeds twice on the same argv gives the same
 * configuration (getopt permutes argv; config__parse_run() promises a
 * second parse can reuse it), config__validate() run twice gives the
 * same verdict and assignments, and what the option parsers accept is
 * well-formed (a non-empty path without a comma, a unicast MAC, field
 * values that fit their fields).
 */
#include <fcntl.h>

#include "arm/idreg.h"
#include "fuzz.h"
#include "lkvm/disk.h"
#include "lkvm/net.h"

#define MAX_ARGS	64

enum {
	M_ARGV, M_DISK, M_NET, M_IDREG_LIST, M_IDREG_ASSIGN, M_IDREG_FILE, M_IDREG_FORMAT,
	M_SIZE, M_UINT, NR_MODES
};

static char path[300];
static struct lkvm_config *cfg1, *cfg2;
static struct idreg_assign assigns[ARM_MAX_ID_ASSIGNS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	(void)argc;
	(void)argv;
	/* --help prints the usage to stdout; libFuzzer reports on stderr. */
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
		abort();
	close(fd);
	snprintf(path, sizeof(path), "%s/cpu-features", fuzz_tmpdir());
	cfg1 = malloc(sizeof(*cfg1));
	cfg2 = malloc(sizeof(*cfg2));
	if (!cfg1 || !cfg2)
		abort();
	return 0;
}

static void check_assigns(const struct idreg_assign *a, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		FUZZ_CHECK(a[i].reg, "assignment %u has no register", i);
		if (a[i].field)
			FUZZ_CHECK(a[i].value <= idreg__field_mask(a[i].field) >> a[i].field->lsb,
				   "%s.%s=%#llx does not fit %u bits", a[i].reg->name,
				   a[i].field->name, (unsigned long long)a[i].value,
				   a[i].field->width);
	}
}

static void fuzz_argv(char *text, size_t len)
{
	char *argv[MAX_ARGS + 2], *subst[MAX_ARGS + 1];
	struct lkvm_err err = { "" };
	int argc = 0, nsubst = 0, r1, r2;
	char *p = text, *last = text;
	bool file = false;

	argv[argc++] = "run";
	while (p < text + len && argc <= MAX_ARGS) {
		char *at;

		last = p;
		at = strstr(p, "@F");
		if (at) {
			/* "--cpu-features=@F" -> "--cpu-features=<path>" */
			if (asprintf(&subst[nsubst], "%.*s%s%s", (int)(at - p), p, path, at + 2) < 0)
				abort();
			argv[argc++] = subst[nsubst++];
			file = true;
		} else {
			argv[argc++] = p;
		}
		p += strlen(p) + 1;
	}
	argv[argc] = NULL;
	if (file) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		size_t n = (size_t)(text + len - last);

		if (fd < 0 || write(fd, last, n) != (ssize_t)n)
			abort();
		close(fd);
	}

	config__defaults(cfg1, 4);
	r1 = config__parse_run(cfg1, argc, argv, &err);
	if (r1 == 0) {
		struct lkvm_err err2 = { "" };
		int v1, v2;
		unsigned int n1;

		config__defaults(cfg2, 4);
		r2 = config__parse_run(cfg2, argc, argv, &err2);
		FUZZ_CHECK(r2 == 0, "the second parse of the same argv failed: %s", err2.msg);
		FUZZ_CHECK(!memcmp(cfg1, cfg2, sizeof(*cfg1)),
			   "the second parse of the same argv gave another configuration");

		v1 = config__validate(cfg1, &err);
		n1 = cfg1->arch.nr_assigns;
		v2 = config__validate(cfg1, &err2);
		FUZZ_CHECK(v1 == v2 && n1 == cfg1->arch.nr_assigns,
			   "config__validate twice: %d then %d (%s / %s)", v1, v2, err.msg, err2.msg);
		if (!v1)
			check_assigns(cfg1->arch.assigns, cfg1->arch.nr_assigns);
		(void)config__validate_machine(cfg1, &err);
	}
	for (int i = 0; i < nsubst; i++)
		free(subst[i]);
}

static void fuzz_disk(const char *s)
{
	struct lkvm_err err = { "" };
	struct disk_opts o;

	if (disk__parse_opts(s, &o, &err))
		return;
	FUZZ_CHECK(o.path[0] && !strchr(o.path, ','), "-d %s: path '%s'", s, o.path);
	FUZZ_CHECK((unsigned int)o.engine <= DISK_ENGINE_SYNC, "engine %d", (int)o.engine);
	FUZZ_CHECK(strcmp(disk__engine_str(o.engine), "?"), "engine %d has no name", (int)o.engine);
}

static void fuzz_net(const char *s, unsigned int index)
{
	struct lkvm_err err = { "" };
	struct net_opts o;
	bool none = false;
	char mac[18];

	if (net__parse_opts(s, index, &o, &none, &err) || none)
		return;
	FUZZ_CHECK(!(o.guest_mac[0] & 1), "-n %s: multicast guest MAC %s", s,
		   net__mac_str(o.guest_mac, mac));
	FUZZ_CHECK(memchr(o.tapif, '\0', sizeof(o.tapif)) && memchr(o.script, '\0', sizeof(o.script)),
		   "-n %s: unterminated string", s);
}

static void fuzz_assign(const char *s, u64 host, u64 mask)
{
	struct lkvm_err err = { "" };
	struct idreg_assign a;
	char buf[4096];

	if (idreg__parse_assignment(s, &a, &err))
		return;
	check_assigns(&a, 1);
	(void)idreg__apply(&a, host);
	(void)idreg__check_assign(&a, host, mask, &err);
	(void)idreg__format_fields(a.reg, host, mask, buf, sizeof(buf));
}

static void fuzz_format(const char *s, u64 value, u64 mask)
{
	const struct idreg_desc *d = idreg__find(s);
	char buf[4096];

	if (!d) {
		if (idreg__count())
			d = idreg__at((unsigned int)(value % idreg__count()));
		else
			return;
	}
	(void)idreg__format_fields(d, value, mask, buf, (size_t)(mask % sizeof(buf)) + 1);
	for (unsigned int i = 0; i < d->nr_fields; i++) {
		const struct idreg_field *f = &d->fields[i];
		u64 a = idreg__get_field(value, f), b = idreg__get_field(mask, f);

		FUZZ_CHECK(idreg__get_field(idreg__set_field(value, f, b), f) == b,
			   "%s.%s: set then get", d->name, f->name);
		(void)idreg__field_le(f, a, b);
		(void)idreg__field_signed(value, f);
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fz in = { data, size };
	u8 mode = fz_u8(&in) % NR_MODES;
	struct lkvm_err err = { "" };
	u64 host = 0, mask = 0, v;
	unsigned int n = 0;
	char *text;

	if (mode == M_IDREG_ASSIGN || mode == M_IDREG_FORMAT) {
		host = fz_u64(&in);
		mask = fz_u64(&in);
	}
	/* A NUL-terminated copy, so that ASan sees a read past the input's end. */
	text = malloc(in.n + 1);
	if (!text)
		abort();
	memcpy(text, in.p, in.n);
	text[in.n] = '\0';

	switch (mode) {
	case M_ARGV:
		fuzz_argv(text, in.n);
		break;
	case M_DISK:
		fuzz_disk(text);
		break;
	case M_NET:
		fuzz_net(text, size % 8);
		break;
	case M_IDREG_LIST:
		if (!idreg__parse_list(text, assigns, ARRAY_SIZE(assigns), &n, &err)) {
			FUZZ_CHECK(n <= ARRAY_SIZE(assigns), "%u assignments", n);
			check_assigns(assigns, n);
		}
		break;
	case M_IDREG_ASSIGN:
		fuzz_assign(text, host, mask);
		break;
	case M_IDREG_FILE:
		if (!idreg__parse_file_text(text, "features", assigns, ARRAY_SIZE(assigns), &n,
					    &err)) {
			FUZZ_CHECK(n <= ARRAY_SIZE(assigns), "%u assignments", n);
			check_assigns(assigns, n);
		}
		break;
	case M_IDREG_FORMAT:
		fuzz_format(text, host, mask);
		break;
	case M_SIZE:
		(void)parse_size(text, SZ_MiB, &v);
		break;
	case M_UINT:
		(void)parse_uint(text, size & 1 ? UINT64_MAX : 0xffff, &v);
		break;
	}
	free(text);
	return 0;
}
