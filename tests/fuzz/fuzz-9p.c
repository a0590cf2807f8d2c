// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness: 9P2000.L, the protocol a virtio-9p guest speaks, on
 * fuzzed messages: the wire format alone (p9__decode), and whole sessions
 * against the server (p9_server__handle) on a real directory tree, fresh
 * for each input, that is full of ways out: symlinks to a directory
 * beside the share (relative and absolute), to "/", to itself, a FIFO.
 *
 * The server must never touch anything outside its share.  To keep a
 * mistake there from harming the machine that fuzzes (as root), every
 * request runs with the filesystem uid and gid of nobody (setfsuid(2):
 * root's filesystem capabilities are dropped meanwhile), and the tree is
 * nobody's; the directory beside the share is nobody's too, so that an
 * escape would be seen: after each input it must hold exactly what it
 * held, and the harness's directory nothing new.
 *
 * Input: u8 mode (bit 0: the wire format only; bit 1: a read-only share),
 * u32 reply capacity, then messages, each a u16 length and that many
 * bytes (a 9P message: size[4] type[1] tag[2] ...).
 *
 * Checked per reply: it fits the capacity (and the negotiated msize), its
 * size field is its length, its tag is the request's, its type the
 * request's R-type or Rlerror.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/fsuid.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "lkvm/9p.h"

#define NOBODY		65534
#define OUTSIDE_TEXT	"outside the share\n"

static char top[300], share[320], outside[320];
static u8 *reply;
static struct p9_msg *msg;

static void must(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz-9p: %s: %s\n", what, strerror(errno));
		abort();
	}
}

static void put_file(const char *dir, const char *name, const char *text)
{
	char p[400];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	must(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), p);
	must(fchown(fd, NOBODY, NOBODY) == 0, p);
	close(fd);
}

static void put_dir(const char *path)
{
	must(mkdir(path, 0755) == 0 && chown(path, NOBODY, NOBODY) == 0, path);
}

static void put_link(const char *target, const char *dir, const char *name)
{
	char p[400];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	must(symlink(target, p) == 0 && lchown(p, NOBODY, NOBODY) == 0, p);
}

/* The share, as each input finds it. */
static void make_share(void)
{
	char p[400];

	put_dir(share);
	put_file(share, "file", "hello, 9p\n");
	snprintf(p, sizeof(p), "%s/dir", share);
	put_dir(p);
	put_file(p, "inner", "inner file\n");
	put_link("../outside", share, "up");
	put_link(outside, share, "abs");
	put_link("/", share, "root");
	put_link(".", share, "self");
	put_link("dir/inner", share, "rel");
	snprintf(p, sizeof(p), "%s/fifo", share);
	must(mkfifo(p, 0644) == 0 && chown(p, NOBODY, NOBODY) == 0, p);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Nothing beside the share changed: the outside directory holds its one file, as it was. */
static void check_outside(void)
{
	char p[400], buf[64] = "";
	struct dirent *e;
	DIR *d;
	int fd, n = 0;
	ssize_t got;

	snprintf(p, sizeof(p), "%s/secret", outside);
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	FUZZ_CHECK(fd >= 0, "%s is gone (%s)", p, strerror(errno));
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	FUZZ_CHECK(got == (ssize_t)strlen(OUTSIDE_TEXT) && !memcmp(buf, OUTSIDE_TEXT, got),
		   "%s was changed", p);
	for (int pass = 0; pass < 2; pass++) {
		d = opendir(pass ? outside : top);
		must(d != NULL, "opendir");
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			FUZZ_CHECK(pass ? !strcmp(e->d_name, "secret") :
				   !strcmp(e->d_name, "share") || !strcmp(e->d_name, "outside"),
				   "a new entry '%s' beside the share (in %s)", e->d_name,
				   pass ? outside : top);
			n++;
		}
		closedir(d);
	}
	FUZZ_CHECK(n == 3, "%d entries beside the share", n);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(top, sizeof(top), "%s", fuzz_tmpdir());
	snprintf(share, sizeof(share), "%s/share", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	must(chown(top, NOBODY, NOBODY) == 0, top);
	put_dir(outside);
	put_file(outside, "secret", OUTSIDE_TEXT);
	reply = malloc(P9_MAX_MSIZE);
	msg = malloc(sizeof(*msg));
	must(reply && msg, "malloc");
	return 0;
}

static void check_reply(const struct p9_server *s, const u8 *req, size_t len, size_t n,
			size_t cap)
{
	u32 size, rsize;
	u8 type, rtype;
	u16 tag, rtag;

	if (!n)
		return;
	FUZZ_CHECK(n <= cap, "a reply of %zu bytes, room for %zu", n, cap);
	FUZZ_CHECK(!s->msize || n <= s->msize, "a reply of %zu bytes, msize %u", n, s->msize);
	FUZZ_CHECK(p9__parse_header(reply, n, &rsize, &rtype, &rtag) == 0 && rsize == n,
		   "reply header: size %u for %zu bytes", rsize, n);
	(void)p9__parse_header(req, len, &size, &type, &tag);
	FUZZ_CHECK(rtag == tag, "reply tag %u for request tag %u", rtag, tag);
	FUZZ_CHECK(rtype == P9_RLERROR || rtype == (u8)(type + 1), "reply type %u to type %u",
		   rtype, type);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fz in = { data, size };
	u8 mode = fz_u8(&in);
	size_t cap = fz_u32(&in) % (P9_MAX_MSIZE + 1);
	struct lkvm_err err = { "" };
	struct p9_server s;

	if (mode & 1) {
		/* The wire format alone, for any msize. */
		(void)p9__decode(in.p, in.n, (u32)cap, msg);
		return 0;
	}
	make_share();
	must(p9_server__init(&s, share, mode & 2, &err) == 0, err.msg);
	setfsgid(NOBODY);
	setfsuid(NOBODY);
	while (in.n) {
		size_t len = fz_u16(&in), n;
		const u8 *req = fz_bytes(&in, len, &len);

		n = p9_server__handle(&s, req, len, reply, cap);
		check_reply(&s, req, len, n, cap);
	}
	setfsuid(0);
	setfsgid(0);
	p9_server__fini(&s);
	check_outside();
	nftw(share, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}
