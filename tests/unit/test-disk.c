// SPDX-License-Identifier: GPL-2.0-only
/*
 * The disk layer (disk/): -d parsing, the refusals of disk__open(), and,
 * for each engine (io_uring, aio, sync) on temp files, multi-iovec
 * read/write, flush, discard, write-zeroes, range and overflow checks,
 * read-only disks, 64 requests in flight, O_DIRECT alignment, a file
 * that shrinks under a read, closing with requests in flight, and a
 * loop block device with 4 KiB sectors (root only: skipped otherwise);
 * image locking: one writer or many readers, in one process or two; a
 * drain that gives up on a hung request (userfaultfd memory: root only)
 * and the flushes counted, failing ones too.
 * The io_uring cases skip only when this kernel refuses
 * io_uring_queue_init; a seccomp filter fakes that refusal to test AUTO's
 * fallback.
 */
#include <fcntl.h>
#include <liburing.h>
#include <linux/filter.h>
#include <linux/loop.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <dirent.h>
#include <linux/magic.h>

#include "lkvm/disk.h"
#include "slow-mem.h"
#include "test.h"

#define KiB	1024ULL

/* A byte of the non-zero test pattern @seed at file offset @pos. */
static u8 pat(u64 pos, unsigned int seed)
{
	return (u8)(1 + (pos * 131 + (pos >> 9) * 7 + seed * 29) % 251);
}

static void fill(u8 *buf, u64 len, u64 pos, unsigned int seed)
{
	for (u64 i = 0; i < len; i++)
		buf[i] = pat(pos + i, seed);
}

/* Asserts that @buf holds pattern @seed for file range [pos, pos + len). */
static void expect_pat(const u8 *buf, u64 len, u64 pos, unsigned int seed)
{
	for (u64 i = 0; i < len; i++)
		TEST_ASSERT(buf[i] == pat(pos + i, seed),
			    "byte at file offset %llu is %#x, expected %#x (pattern %u)",
			    (unsigned long long)(pos + i), buf[i], pat(pos + i, seed), seed);
}

static void expect_zero(const u8 *buf, u64 len, u64 pos)
{
	for (u64 i = 0; i < len; i++)
		TEST_ASSERT(buf[i] == 0, "byte at file offset %llu is %#x, expected 0",
			    (unsigned long long)(pos + i), buf[i]);
}

/* Creates @dir/@name of @size bytes holding pattern @seed. */
static void make_image_in(const char *dir, const char *name, u64 size, unsigned int seed,
			  char *path, size_t path_len)
{
	u8 *buf = malloc(size);
	int fd;

	TEST_ASSERT(buf, "malloc");
	snprintf(path, path_len, "%s/%s", dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	TEST_ASSERT(fd >= 0, "open %s: %s", path, strerror(errno));
	fill(buf, size, 0, seed);
	TEST_ASSERT_EQ(pwrite(fd, buf, size, 0), (ssize_t)size);
	close(fd);
	free(buf);
}

/* Where make_image() puts images: TEST_TMPDIR, or a tmpfs (use_tmpfs()). */
static const char *img_dir;
static char shm_dir[64];

static void make_image(const char *name, u64 size, unsigned int seed, char *path,
		       size_t path_len)
{
	make_image_in(img_dir ? img_dir : TEST_TMPDIR, name, size, seed, path, path_len);
}

static void shm_cleanup(void)
{
	char p[PATH_MAX];
	struct dirent *e;
	DIR *dir;

	if (!shm_dir[0] || !(dir = opendir(shm_dir)))
		return;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", shm_dir, e->d_name);
			unlink(p);
		}
	closedir(dir);
	rmdir(shm_dir);
}

/* This case's images go on a tmpfs (/dev/shm), where the sync engine runs inline. */
static void use_tmpfs(void)
{
	struct statfs sfs;

	if (statfs("/dev/shm", &sfs) || (unsigned long)sfs.f_type != TMPFS_MAGIC)
		TEST_SKIP("no tmpfs at /dev/shm");
	snprintf(shm_dir, sizeof(shm_dir), "/dev/shm/lkvm-unit-XXXXXX");
	if (!mkdtemp(shm_dir))
		TEST_SKIP("mkdtemp in /dev/shm: %s", strerror(errno));
	atexit(shm_cleanup);
	img_dir = shm_dir;
}

/* The whole file, read behind the disk layer's back. */
static u8 *slurp(const char *path, u64 *size)
{
	struct stat st;
	u8 *buf;
	int fd;

	fd = open(path, O_RDONLY);
	TEST_ASSERT(fd >= 0, "open %s: %s", path, strerror(errno));
	TEST_ASSERT_EQ(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	TEST_ASSERT(buf, "malloc");
	TEST_ASSERT_EQ(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*size = (u64)st.st_size;
	return buf;
}

static void skip_without_io_uring(void)
{
	struct io_uring ring;
	int ret = io_uring_queue_init(8, &ring, 0);

	if (ret < 0)
		TEST_SKIP("io_uring_queue_init: %s: this kernel refuses io_uring", strerror(-ret));
	io_uring_queue_exit(&ring);
}

static struct disk *open_disk(enum disk_engine engine, const char *path, bool ro, bool direct,
			      unsigned int depth)
{
	struct disk_opts o = { .ro = ro, .direct = direct, .engine = engine };
	struct lkvm_err err = { "" };
	struct disk *d = NULL;
	int ret;

	if (engine == DISK_ENGINE_IO_URING)
		skip_without_io_uring();
	snprintf(o.path, sizeof(o.path), "%s", path);
	ret = disk__open(&o, depth, &d, &err);
	TEST_ASSERT(ret == 0, "disk__open(%s, engine=%s%s%s): %d: %s", path,
		    disk__engine_str(engine), ro ? ",ro" : "", direct ? ",direct" : "", ret,
		    err.msg);
	if (engine != DISK_ENGINE_AUTO)
		TEST_ASSERT_STR_EQ(disk__engine_name(d), disk__engine_str(engine));
	TEST_ASSERT_EQ(disk__readonly(d), ro);
	return d;
}

/* Reaps until @n completions arrived (10 s at most); returns how many. */
static unsigned int wait_for(struct disk *d, unsigned int n,
			     void (*done)(struct disk_req *r, void *ctx), void *ctx)
{
	struct pollfd pfd = { .fd = disk__completion_fd(d), .events = POLLIN };
	u64 deadline = now_ns() + 10000000000ULL;
	unsigned int got = 0;

	while (got < n) {
		TEST_ASSERT(now_ns() < deadline, "timed out with %u of %u completions", got, n);
		poll(&pfd, 1, 100);
		got += disk__reap(d, done, ctx);
	}
	TEST_ASSERT_EQ(got, n);
	return got;
}

/* Submits @r, waits for it, returns its result. */
static int run_req(struct disk *d, struct disk_req *r)
{
	int ret = disk__submit(d, r);

	TEST_ASSERT(ret == 0, "disk__submit(op %d, offset %llu): %d (%s)", r->op,
		    (unsigned long long)r->offset, ret, strerror(-ret));
	wait_for(d, 1, NULL, NULL);
	return r->result;
}

static int rw(struct disk *d, enum disk_op op, u64 off, void *buf, u64 len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct disk_req r = { .op = op, .offset = off, .iov = &iov, .iovcnt = 1 };

	return run_req(d, &r);
}

static int range_op(struct disk *d, enum disk_op op, u64 off, u64 len)
{
	struct disk_req r = { .op = op, .offset = off, .len = len };

	return run_req(d, &r);
}

/* After submissions that failed: nothing may complete. */
static void expect_no_completion(struct disk *d)
{
	struct pollfd pfd = { .fd = disk__completion_fd(d), .events = POLLIN };

	poll(&pfd, 1, 50);
	TEST_ASSERT_EQ(disk__reap(d, NULL, NULL), 0);
}

/* Whether the filesystem under @dir punches holes (tmpfs and ext4 do, some don't). */
static void skip_without_punch_hole(const char *dir)
{
	char path[PATH_MAX];
	int fd, ret, e;

	snprintf(path, sizeof(path), "%s/punch-probe", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	TEST_ASSERT(fd >= 0, "open %s: %s", path, strerror(errno));
	TEST_ASSERT_EQ(ftruncate(fd, 64 * KiB), 0);
	ret = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096);
	e = errno;
	close(fd);
	unlink(path);
	if (ret)
		TEST_SKIP("fallocate(PUNCH_HOLE) under %.120s: %s", dir, strerror(e));
}

/* ---- -d parsing ------------------------------------------------------ */

static void test_parse_good(void)
{
	struct lkvm_err err = { "" };
	struct disk_opts o;

	TEST_ASSERT_EQ(disk__parse_opts("disk.img", &o, &err), 0);
	TEST_ASSERT_STR_EQ(o.path, "disk.img");
	TEST_ASSERT(!o.ro && !o.direct, "defaults: read-write, buffered");
	TEST_ASSERT_EQ(o.engine, DISK_ENGINE_AUTO);

	TEST_ASSERT_EQ(disk__parse_opts("/srv/vm/root.img,ro,direct,engine=aio", &o, &err), 0);
	TEST_ASSERT_STR_EQ(o.path, "/srv/vm/root.img");
	TEST_ASSERT(o.ro && o.direct, "ro and direct set");
	TEST_ASSERT_EQ(o.engine, DISK_ENGINE_AIO);

	TEST_ASSERT_EQ(disk__parse_opts("/dev/vdb,engine=sync,engine=io_uring", &o, &err), 0);
	TEST_ASSERT_STR_EQ(o.path, "/dev/vdb");
	TEST_ASSERT_EQ(o.engine, DISK_ENGINE_IO_URING);

	TEST_ASSERT_EQ(disk__parse_opts("x,engine=sync", &o, &err), 0);
	TEST_ASSERT_EQ(o.engine, DISK_ENGINE_SYNC);
	TEST_ASSERT_EQ(disk__parse_opts("x,direct,engine=auto", &o, &err), 0);
	TEST_ASSERT_EQ(o.engine, DISK_ENGINE_AUTO);
	TEST_ASSERT(o.direct && !o.ro, "direct only");

	TEST_ASSERT_STR_EQ(disk__engine_str(DISK_ENGINE_IO_URING), "io_uring");
	TEST_ASSERT_STR_EQ(disk__engine_str((enum disk_engine)42), "?");
}

/* queue-size=N: a power of two from 4 to 1024; 0 (absent) leaves the device's default. */
static void test_parse_queue_size(void)
{
	static const char *const bad[] = { "0", "1", "2", "3", "6", "1000", "2048", "65536",
					   "", "-4", "+8", "0x10", "16k", "1024x", " 16",
					   "99999999999" };
	struct lkvm_err err = { "" };
	struct disk_opts o;
	char arg[64];

	TEST_ASSERT_EQ(disk__parse_opts("x.img", &o, &err), 0);
	TEST_ASSERT_EQ(o.queue_size, 0);
	for (unsigned int n = DISK_QUEUE_SIZE_MIN; n <= DISK_QUEUE_SIZE_MAX; n *= 2) {
		snprintf(arg, sizeof(arg), "x.img,queue-size=%u,ro", n);
		TEST_ASSERT_EQ(disk__parse_opts(arg, &o, &err), 0);
		TEST_ASSERT_EQ(o.queue_size, n);
		TEST_ASSERT(o.ro, "the options after it still count");
	}
	TEST_ASSERT_EQ(disk__parse_opts("x.img,queue-size=64,queue-size=0128", &o, &err), 0);
	TEST_ASSERT_EQ(o.queue_size, 128);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(arg, sizeof(arg), "x.img,queue-size=%s", bad[i]);
		TEST_ASSERT_EQ(disk__parse_opts(arg, &o, &err), -EINVAL);
		TEST_ASSERT_STR_CONTAINS(err.msg, "is not a power of two from 4 to 1024");
	}
	TEST_ASSERT(!o.fixed_buffers, "fixed-buffers is opt-in");
	TEST_ASSERT_EQ(disk__parse_opts("x.img,fixed-buffers,engine=io_uring", &o, &err), 0);
	TEST_ASSERT(o.fixed_buffers, "fixed-buffers");
	TEST_ASSERT_EQ(disk__parse_opts("x.img,queue-size", &o, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "unknown option 'queue-size'");
	TEST_ASSERT_STR_CONTAINS(err.msg, "queue-size=N");
}

static void test_parse_bad(void)
{
	struct lkvm_err err = { "" };
	char *longpath;
	struct disk_opts o;

	TEST_ASSERT_EQ(disk__parse_opts("", &o, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "empty path");
	TEST_ASSERT_EQ(disk__parse_opts(",ro", &o, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "empty path");

	TEST_ASSERT_EQ(disk__parse_opts("a.img,foo", &o, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "unknown option 'foo'");
	TEST_ASSERT_STR_CONTAINS(err.msg, "ro, direct, engine=");
	TEST_ASSERT_EQ(disk__parse_opts("a.img,ro=1", &o, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "'ro=1'");
	TEST_ASSERT_EQ(disk__parse_opts("a.img,Direct", &o, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "'Direct'");

	TEST_ASSERT_EQ(disk__parse_opts("a.img,engine=spdk", &o, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "unknown engine 'spdk'");
	TEST_ASSERT_STR_CONTAINS(err.msg, "auto, io_uring, aio, sync");
	TEST_ASSERT_EQ(disk__parse_opts("a.img,engine=", &o, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "unknown engine ''");
	TEST_ASSERT_EQ(disk__parse_opts("a.img,engine=io_uringx", &o, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "'io_uringx'");

	TEST_ASSERT_EQ(disk__parse_opts("a.img,,ro", &o, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "empty option");
	TEST_ASSERT_EQ(disk__parse_opts("a.img,", &o, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "empty option");

	longpath = malloc(PATH_MAX + 8);
	TEST_ASSERT(longpath, "malloc");
	memset(longpath, 'a', PATH_MAX + 4);
	strcpy(longpath + PATH_MAX + 4, ",ro");
	TEST_ASSERT_EQ(disk__parse_opts(longpath, &o, &err), -ENAMETOOLONG);
	free(longpath);
}

/* ---- disk__open() refusals ------------------------------------------- */

static void expect_open_fails(const char *path, bool ro, int want, const char *needle)
{
	struct disk_opts o = { .ro = ro, .engine = DISK_ENGINE_SYNC };
	struct lkvm_err err = { "" };
	struct disk *d = NULL;

	snprintf(o.path, sizeof(o.path), "%s", path);
	TEST_ASSERT_EQ(disk__open(&o, 16, &d, &err), want);
	TEST_ASSERT(d == NULL, "no disk on failure");
	TEST_ASSERT_STR_CONTAINS(err.msg, path);
	TEST_ASSERT_STR_CONTAINS(err.msg, needle);
}

static void test_open_missing(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/no-such-disk.img", TEST_TMPDIR);
	expect_open_fails(path, false, -ENOENT, strerror(ENOENT));
	expect_open_fails(path, true, -ENOENT, strerror(ENOENT));
}

static void test_open_directory(void)
{
	/* Read-write open() itself says EISDIR; read-only needs the fstat. */
	expect_open_fails(TEST_TMPDIR, false, -EISDIR, "is a directory");
	expect_open_fails(TEST_TMPDIR, true, -EISDIR, "is a directory");
}

static void test_open_not_a_disk(void)
{
	char path[PATH_MAX];

	/* A FIFO must be refused, not block the open waiting for a writer. */
	snprintf(path, sizeof(path), "%s/fifo", TEST_TMPDIR);
	TEST_ASSERT_EQ(mkfifo(path, 0644), 0);
	expect_open_fails(path, true, -EINVAL, "not a regular file or a block device");
	expect_open_fails("/dev/null", false, -EINVAL, "not a regular file or a block device");
}

static void test_open_bad_depth(void)
{
	struct disk_opts o = { .engine = DISK_ENGINE_SYNC };
	struct lkvm_err err = { "" };
	struct disk *d = NULL;

	make_image("depth.img", 4096, 1, o.path, sizeof(o.path));
	TEST_ASSERT_EQ(disk__open(&o, 0, &d, &err), -EINVAL);
	TEST_ASSERT_STR_CONTAINS(err.msg, "queue depth 0");
	TEST_ASSERT_EQ(disk__open(&o, 100000, &d, &err), -EINVAL);
	TEST_ASSERT(d == NULL, "no disk on failure");
}

static void test_open_from_parsed(void)
{
	struct lkvm_err err = { "" };
	struct disk_opts o;
	char path[PATH_MAX], arg[PATH_MAX + 32];
	struct disk *d;

	make_image("parsed.img", 1 * SZ_MiB + 100, 1, path, sizeof(path));
	snprintf(arg, sizeof(arg), "%s,ro,engine=sync", path);
	TEST_ASSERT_EQ(disk__parse_opts(arg, &o, &err), 0);
	TEST_ASSERT_EQ(disk__open(&o, 8, &d, &err), 0);
	TEST_ASSERT_STR_EQ(disk__engine_name(d), "sync");
	TEST_ASSERT_EQ(disk__size(d), 1 * SZ_MiB + 100);
	TEST_ASSERT_EQ(disk__block_size(d), 512);
	TEST_ASSERT_EQ(disk__mem_align(d), 1);
	TEST_ASSERT(disk__readonly(d), "ro");
	TEST_ASSERT(!disk__is_blockdev(d), "a file");
	disk__close(d);
	disk__close(NULL);
}

/* ---- per-engine cases ------------------------------------------------ */

/* Three-segment write at an odd offset, read back through five segments. */
static void check_rw(enum disk_engine e)
{
	static const size_t wsz[] = { 1000, 3000, 4192 };
	static const size_t rsz[] = { 1, 511, 4000, 3679, 1 };
	const u64 off = 12345, len = 8192;
	struct iovec wiov[3], riov[5];
	struct disk_req r;
	u8 *w, *rd, *file;
	char path[PATH_MAX];
	struct disk *d;
	u64 size, pos;

	make_image("rw.img", 1 * SZ_MiB, 1, path, sizeof(path));
	d = open_disk(e, path, false, false, 16);
	TEST_ASSERT_EQ(disk__size(d), 1 * SZ_MiB);

	w = malloc(len);
	rd = calloc(1, len);
	TEST_ASSERT(w && rd, "malloc");
	fill(w, len, off, 2);
	pos = 0;
	for (int i = 0; i < 3; i++) {
		wiov[i] = (struct iovec){ w + pos, wsz[i] };
		pos += wsz[i];
	}
	r = (struct disk_req){ .op = DISK_OP_WRITE, .offset = off, .iov = wiov, .iovcnt = 3,
			       .opaque = &r };
	TEST_ASSERT_EQ(run_req(d, &r), (int)len);
	TEST_ASSERT(r.opaque == &r, "opaque untouched");

	pos = 0;
	for (int i = 0; i < 5; i++) {
		riov[i] = (struct iovec){ rd + pos, rsz[i] };
		pos += rsz[i];
	}
	TEST_ASSERT_EQ(pos, len);
	r = (struct disk_req){ .op = DISK_OP_READ, .offset = off, .iov = riov, .iovcnt = 5 };
	TEST_ASSERT_EQ(run_req(d, &r), (int)len);
	expect_pat(rd, len, off, 2);

	/* A zero-length read is valid, even at the very end. */
	r = (struct disk_req){ .op = DISK_OP_READ, .offset = 1 * SZ_MiB };
	TEST_ASSERT_EQ(run_req(d, &r), 0);

	disk__close(d);

	/* What the host sees: the new pattern inside, the old one around it. */
	file = slurp(path, &size);
	TEST_ASSERT_EQ(size, 1 * SZ_MiB);
	expect_pat(file, off, 0, 1);
	expect_pat(file + off, len, off, 2);
	expect_pat(file + off + len, size - off - len, off + len, 1);
	free(file);
	free(w);
	free(rd);
}

static void check_flush(enum disk_engine e)
{
	char path[PATH_MAX];
	struct disk_req r = { .op = DISK_OP_FLUSH };
	struct disk *d;
	u8 buf[4096];

	make_image("flush.img", 64 * KiB, 1, path, sizeof(path));
	d = open_disk(e, path, false, false, 8);
	fill(buf, sizeof(buf), 4096, 3);
	TEST_ASSERT_EQ(rw(d, DISK_OP_WRITE, 4096, buf, sizeof(buf)), 4096);
	TEST_ASSERT_EQ(run_req(d, &r), 0);
	TEST_ASSERT_EQ(run_req(d, &r), 0);	/* nothing dirty: still fine */
	disk__close(d);

	/* A read-only disk may be flushed (virtio advertises FLUSH anyway). */
	d = open_disk(e, path, true, false, 8);
	TEST_ASSERT_EQ(run_req(d, &r), 0);
	disk__close(d);
}

static void check_discard(enum disk_engine e)
{
	const u64 size = 256 * KiB, off = 64 * KiB, len = 96 * KiB;
	char path[PATH_MAX];
	struct disk *d;
	u8 *buf, *file;
	u64 fsize;

	skip_without_punch_hole(TEST_TMPDIR);
	make_image("discard.img", size, 4, path, sizeof(path));
	d = open_disk(e, path, false, false, 8);
	TEST_ASSERT_EQ(range_op(d, DISK_OP_DISCARD, off, len), 0);
	TEST_ASSERT_EQ(range_op(d, DISK_OP_DISCARD, off, 0), 0);

	buf = malloc(size);
	TEST_ASSERT(buf, "malloc");
	TEST_ASSERT_EQ(rw(d, DISK_OP_READ, 0, buf, size), (int)size);
	expect_pat(buf, off, 0, 4);
	expect_zero(buf + off, len, off);
	expect_pat(buf + off + len, size - off - len, off + len, 4);
	disk__close(d);

	file = slurp(path, &fsize);
	TEST_ASSERT_EQ(fsize, size);	/* FALLOC_FL_KEEP_SIZE */
	expect_zero(file + off, len, off);
	free(file);
	free(buf);
}

static void check_write_zeroes(enum disk_engine e)
{
	/* Not block-aligned: the partial blocks at both ends must be zeroed too. */
	const u64 size = 128 * KiB, off = 5000, len = 70000;
	char path[PATH_MAX];
	struct disk *d;
	u8 *buf;

	make_image("wz.img", size, 5, path, sizeof(path));
	d = open_disk(e, path, false, false, 8);
	TEST_ASSERT_EQ(range_op(d, DISK_OP_WRITE_ZEROES, off, len), 0);
	TEST_ASSERT_EQ(range_op(d, DISK_OP_WRITE_ZEROES, size, 0), 0);
	buf = malloc(size);
	TEST_ASSERT(buf, "malloc");
	TEST_ASSERT_EQ(rw(d, DISK_OP_READ, 0, buf, size), (int)size);
	expect_pat(buf, off, 0, 5);
	expect_zero(buf + off, len, off);
	expect_pat(buf + off + len, size - off - len, off + len, 5);
	TEST_ASSERT_EQ(disk__size(d), size);
	disk__close(d);
	free(buf);
}

/* Out-of-range and wrapping requests: -ERANGE at submit, the file untouched. */
static void check_range(enum disk_engine e)
{
	const u64 size = 64 * KiB;
	char path[PATH_MAX];
	u8 buf[8192], *before, *after;
	struct iovec iov = { buf, sizeof(buf) };
	struct iovec huge[2] = { { buf, SIZE_MAX / 2 }, { buf, SIZE_MAX / 2 + 2 } };
	struct disk_req r;
	u64 n1, n2;
	struct disk *d;

	make_image("range.img", size, 6, path, sizeof(path));
	before = slurp(path, &n1);
	d = open_disk(e, path, false, false, 8);
	fill(buf, sizeof(buf), 0, 7);

	/* Straddling the end: must not write the part that fits. */
	r = (struct disk_req){ .op = DISK_OP_WRITE, .offset = size - 4096, .iov = &iov, .iovcnt = 1 };
	TEST_ASSERT_EQ(disk__submit(d, &r), -ERANGE);
	TEST_ASSERT_EQ(r.result, -ERANGE);
	r = (struct disk_req){ .op = DISK_OP_READ, .offset = size, .iov = &iov, .iovcnt = 1 };
	TEST_ASSERT_EQ(disk__submit(d, &r), -ERANGE);
	r = (struct disk_req){ .op = DISK_OP_DISCARD, .offset = size - 512, .len = 1024 };
	TEST_ASSERT_EQ(disk__submit(d, &r), -ERANGE);
	r = (struct disk_req){ .op = DISK_OP_WRITE_ZEROES, .offset = size + 1, .len = 0 };
	TEST_ASSERT_EQ(disk__submit(d, &r), -ERANGE);

	/* offset + len wrapping around 2^64 must not look small. */
	r = (struct disk_req){ .op = DISK_OP_WRITE, .offset = UINT64_MAX - 4095, .iov = &iov,
			       .iovcnt = 1 };
	TEST_ASSERT_EQ(disk__submit(d, &r), -ERANGE);
	r = (struct disk_req){ .op = DISK_OP_DISCARD, .offset = 4096, .len = UINT64_MAX - 100 };
	TEST_ASSERT_EQ(disk__submit(d, &r), -ERANGE);
	r = (struct disk_req){ .op = DISK_OP_WRITE_ZEROES, .offset = UINT64_MAX, .len = 2 };
	TEST_ASSERT_EQ(disk__submit(d, &r), -ERANGE);

	/* Malformed requests: -EINVAL. */
	r = (struct disk_req){ .op = DISK_OP_WRITE, .iov = huge, .iovcnt = 2 };
	TEST_ASSERT_EQ(disk__submit(d, &r), -EINVAL);	/* segment lengths wrap */
	r = (struct disk_req){ .op = DISK_OP_READ, .iov = NULL, .iovcnt = 1 };
	TEST_ASSERT_EQ(disk__submit(d, &r), -EINVAL);
	r = (struct disk_req){ .op = DISK_OP_READ, .iov = &iov, .iovcnt = IOV_MAX + 1 };
	TEST_ASSERT_EQ(disk__submit(d, &r), -EINVAL);
	r = (struct disk_req){ .op = (enum disk_op)99 };
	TEST_ASSERT_EQ(disk__submit(d, &r), -EINVAL);
	TEST_ASSERT_EQ(r.result, -EINVAL);

	expect_no_completion(d);
	disk__close(d);

	after = slurp(path, &n2);
	TEST_ASSERT_EQ(n2, n1);
	TEST_ASSERT(!memcmp(before, after, n1), "the file changed");
	free(before);
	free(after);
}

static void check_ro(enum disk_engine e)
{
	char path[PATH_MAX];
	u8 buf[4096];
	struct iovec iov = { buf, sizeof(buf) };
	struct disk_req r;
	struct disk *d;
	u8 *file;
	u64 n;

	make_image("ro.img", 64 * KiB, 8, path, sizeof(path));
	d = open_disk(e, path, true, false, 8);
	fill(buf, sizeof(buf), 0, 9);
	r = (struct disk_req){ .op = DISK_OP_WRITE, .offset = 0, .iov = &iov, .iovcnt = 1 };
	TEST_ASSERT_EQ(disk__submit(d, &r), -EROFS);
	TEST_ASSERT_EQ(r.result, -EROFS);
	r = (struct disk_req){ .op = DISK_OP_DISCARD, .offset = 0, .len = 4096 };
	TEST_ASSERT_EQ(disk__submit(d, &r), -EROFS);
	r = (struct disk_req){ .op = DISK_OP_WRITE_ZEROES, .offset = 0, .len = 4096 };
	TEST_ASSERT_EQ(disk__submit(d, &r), -EROFS);
	expect_no_completion(d);

	TEST_ASSERT_EQ(rw(d, DISK_OP_READ, 8192, buf, sizeof(buf)), 4096);
	expect_pat(buf, sizeof(buf), 8192, 8);
	disk__close(d);

	file = slurp(path, &n);
	expect_pat(file, n, 0, 8);
	free(file);
}

struct qd_state {
	unsigned int done;
	int results[64];
	bool seen[64];
};

static void qd_done(struct disk_req *r, void *ctx)
{
	struct qd_state *st = ctx;
	unsigned int i = (unsigned int)(uintptr_t)r->opaque;

	TEST_ASSERT(i < 64 && !st->seen[i], "completion %u: unknown or reported twice", i);
	st->seen[i] = true;
	st->results[i] = r->result;
	st->done++;
}

/* 64 writes in flight at once, the 65th refused, then 64 reads to check them. */
static void check_queue_depth(enum disk_engine e)
{
	const unsigned int qd = 64;
	const u64 bs = 4096, stride = 3 * 4096;
	static struct disk_req reqs[64];
	static struct iovec iovs[64];
	struct disk_req extra = { .op = DISK_OP_FLUSH };
	struct qd_state st;
	char path[PATH_MAX];
	struct disk *d;
	u8 *bufs;

	make_image("qd.img", qd * stride, 10, path, sizeof(path));
	d = open_disk(e, path, false, false, qd);
	bufs = malloc(qd * bs);
	TEST_ASSERT(bufs, "malloc");

	for (unsigned int i = 0; i < qd; i++) {
		fill(bufs + i * bs, bs, i * stride, 11 + i);
		iovs[i] = (struct iovec){ bufs + i * bs, bs };
		reqs[i] = (struct disk_req){ .op = DISK_OP_WRITE, .offset = i * stride,
					     .iov = &iovs[i], .iovcnt = 1,
					     .opaque = (void *)(uintptr_t)i };
		TEST_ASSERT_EQ(disk__submit(d, &reqs[i]), 0);
	}
	TEST_ASSERT_EQ(disk__submit(d, &extra), -EAGAIN);
	memset(&st, 0, sizeof(st));
	wait_for(d, qd, qd_done, &st);
	for (unsigned int i = 0; i < qd; i++)
		TEST_ASSERT(st.results[i] == (int)bs, "write %u: result %d", i, st.results[i]);

	memset(bufs, 0, qd * bs);
	for (unsigned int i = 0; i < qd; i++) {
		reqs[i].op = DISK_OP_READ;
		TEST_ASSERT_EQ(disk__submit(d, &reqs[i]), 0);
	}
	memset(&st, 0, sizeof(st));
	/* drain: blocks until all are back, reporting each exactly once */
	TEST_ASSERT_EQ(disk__drain(d, qd_done, &st), qd);
	for (unsigned int i = 0; i < qd; i++) {
		TEST_ASSERT(st.results[i] == (int)bs, "read %u: result %d", i, st.results[i]);
		expect_pat(bufs + i * bs, bs, i * stride, 11 + i);
	}
	TEST_ASSERT_EQ(disk__submit(d, &extra), 0);	/* room again */
	wait_for(d, 1, NULL, NULL);
	TEST_ASSERT_EQ(extra.result, 0);
	disk__close(d);
	free(bufs);
}

/*
 * Issue 16: between disk__plug() and disk__unplug() nothing reaches the
 * engine; the unplug hands the whole batch over in one submission (one
 * io_uring_enter, one io_submit, one pool append), and the requests
 * complete as they would one by one.
 */
static void check_plug(enum disk_engine e)
{
	const unsigned int qd = 64;
	const u64 bs = 4096;
	static struct disk_req reqs[64];
	static struct iovec iovs[64];
	struct disk_stats s0, s1;
	struct qd_state st;
	char path[PATH_MAX];
	struct disk *d;
	u8 *bufs;

	make_image("plug.img", qd * bs, 12, path, sizeof(path));
	/* Deeper than the batch: a batch that fills the engine's queue goes early. */
	d = open_disk(e, path, false, false, 2 * qd);
	bufs = malloc(qd * bs);
	TEST_ASSERT(bufs, "malloc");
	for (int pass = 0; pass < 2; pass++) {
		enum disk_op op = pass ? DISK_OP_READ : DISK_OP_WRITE;

		if (pass)
			memset(bufs, 0, qd * bs);
		disk__stats(d, &s0);
		disk__plug(d);
		for (unsigned int i = 0; i < qd; i++) {
			if (!pass)
				fill(bufs + i * bs, bs, i * bs, 13 + i);
			iovs[i] = (struct iovec){ bufs + i * bs, bs };
			reqs[i] = (struct disk_req){ .op = op, .offset = i * bs, .iov = &iovs[i],
						     .iovcnt = 1, .opaque = (void *)(uintptr_t)i };
			TEST_ASSERT_EQ(disk__submit(d, &reqs[i]), 0);
		}
		disk__stats(d, &s1);
		TEST_ASSERT_EQ(s1.engine_submits - s0.engine_submits, 0);
		TEST_ASSERT_EQ(s1.requests - s0.requests, qd);
		disk__unplug(d);
		disk__stats(d, &s1);
		/* Inline (tmpfs): done already, nothing to hand over. */
		TEST_ASSERT_EQ(s1.engine_submits - s0.engine_submits, disk__inline(d) ? 0 : 1);
		memset(&st, 0, sizeof(st));
		TEST_ASSERT_EQ(disk__drain(d, qd_done, &st), qd);
		for (unsigned int i = 0; i < qd; i++)
			TEST_ASSERT(st.results[i] == (int)bs, "%s %u: result %d",
				    pass ? "read" : "write", i, st.results[i]);
	}
	for (unsigned int i = 0; i < qd; i++)
		expect_pat(bufs + i * bs, bs, i * bs, 13 + i);
	disk__close(d);
	free(bufs);
}

/* disk__close() with everything still in flight waits for it all. */
static void check_close_busy(enum disk_engine e)
{
	const unsigned int qd = 64;
	const u64 bs = 16 * KiB;
	static struct disk_req reqs[64];
	static struct iovec iovs[64];
	char path[PATH_MAX];
	struct disk *d;
	u8 *bufs, *file;
	u64 n;

	make_image("busy.img", qd * bs, 12, path, sizeof(path));
	d = open_disk(e, path, false, false, qd);
	bufs = malloc(qd * bs);
	TEST_ASSERT(bufs, "malloc");
	for (unsigned int i = 0; i < qd; i++) {
		fill(bufs + i * bs, bs, i * bs, 13);
		iovs[i] = (struct iovec){ bufs + i * bs, bs };
		reqs[i] = (struct disk_req){ .op = i == qd - 1 ? DISK_OP_FLUSH : DISK_OP_WRITE,
					     .offset = i * bs, .iov = &iovs[i], .iovcnt = 1 };
		TEST_ASSERT_EQ(disk__submit(d, &reqs[i]), 0);
	}
	disk__close(d);
	for (unsigned int i = 0; i < qd - 1; i++)
		TEST_ASSERT(reqs[i].result == (int)bs, "write %u: result %d", i, reqs[i].result);
	file = slurp(path, &n);
	expect_pat(file, (qd - 1) * bs, 0, 13);
	expect_pat(file + (qd - 1) * bs, bs, (qd - 1) * bs, 12);
	free(file);
	free(bufs);
}

/* The file shrinks under us: a read across the new end is -EIO, not zeroes. */
static void check_eof(enum disk_engine e)
{
	const u64 size = 64 * KiB, cut = 32 * KiB + 2048;
	char path[PATH_MAX];
	u8 buf[8192];
	struct disk *d;

	make_image("eof.img", size, 14, path, sizeof(path));
	d = open_disk(e, path, false, false, 8);
	TEST_ASSERT_EQ(truncate(path, (off_t)cut), 0);
	TEST_ASSERT_EQ(disk__size(d), size);	/* sized at open */

	/* The engine gets 2 KiB, the pool continues and finds EOF. */
	TEST_ASSERT_EQ(rw(d, DISK_OP_READ, 32 * KiB, buf, 4096), -EIO);
	TEST_ASSERT_EQ(rw(d, DISK_OP_READ, 48 * KiB, buf, 4096), -EIO);
	TEST_ASSERT_EQ(rw(d, DISK_OP_READ, 28 * KiB, buf, 4096), 4096);
	expect_pat(buf, 4096, 28 * KiB, 14);
	disk__close(d);
}

/*
 * A directory on a filesystem that takes O_DIRECT: TEST_TMPDIR unless it
 * is tmpfs-like, else a fresh one under /var/tmp (@made says so).
 */
static bool pick_direct_dir(char *dir, size_t len, bool *made)
{
	const char *cands[] = { TEST_TMPDIR, "/var/tmp" };
	char probe[PATH_MAX];
	int fd;

	*made = false;
	for (size_t i = 0; i < ARRAY_SIZE(cands); i++) {
		if (i == 0) {
			snprintf(dir, len, "%s", cands[i]);
		} else {
			snprintf(dir, len, "%s/lkvm-disk-XXXXXX", cands[i]);
			if (!mkdtemp(dir))
				continue;
			*made = true;
		}
		snprintf(probe, sizeof(probe), "%s/direct-probe", dir);
		fd = open(probe, O_RDWR | O_CREAT | O_DIRECT, 0644);
		unlink(probe);
		if (fd >= 0) {
			close(fd);
			return true;
		}
		if (*made)
			rmdir(dir);
		*made = false;
	}
	return false;
}

static void check_direct(enum disk_engine e)
{
	const u64 size = 1 * SZ_MiB;
	char dir[PATH_MAX], path[PATH_MAX];
	struct iovec iov[2];
	struct disk_req r;
	struct disk *d;
	u8 *w, *rd;
	u32 bs, ma;
	bool made;

	if (e == DISK_ENGINE_IO_URING)
		skip_without_io_uring();
	if (!pick_direct_dir(dir, sizeof(dir), &made))
		TEST_SKIP("no filesystem here takes O_DIRECT (tried %.120s, /var/tmp)", TEST_TMPDIR);
	make_image_in(dir, "direct.img", size, 15, path, sizeof(path));
	d = open_disk(e, path, false, true, 8);
	bs = disk__block_size(d);
	ma = disk__mem_align(d);
	test_diag("%s: direct: block size %u, memory alignment %u", disk__engine_name(d), bs, ma);
	TEST_ASSERT(bs >= 512 && !(bs & (bs - 1)), "block size %u: a power of two >= 512", bs);
	TEST_ASSERT(ma > 1 && ma <= bs, "memory alignment %u", ma);

	TEST_ASSERT_EQ(posix_memalign((void **)&w, 4096, 4 * bs), 0);
	TEST_ASSERT_EQ(posix_memalign((void **)&rd, 4096, 4 * bs + 4096), 0);
	fill(w, 4 * bs, 2 * bs, 16);
	iov[0] = (struct iovec){ w, bs };
	iov[1] = (struct iovec){ w + bs, 3 * bs };
	r = (struct disk_req){ .op = DISK_OP_WRITE, .offset = 2 * bs, .iov = iov, .iovcnt = 2 };
	TEST_ASSERT_EQ(run_req(d, &r), (int)(4 * bs));
	memset(rd, 0, 4 * bs);
	TEST_ASSERT_EQ(rw(d, DISK_OP_READ, 2 * bs, rd, 4 * bs), (int)(4 * bs));
	expect_pat(rd, 4 * bs, 2 * bs, 16);
	r = (struct disk_req){ .op = DISK_OP_FLUSH };
	TEST_ASSERT_EQ(run_req(d, &r), 0);
	TEST_ASSERT_EQ(range_op(d, DISK_OP_WRITE_ZEROES, 2 * bs, bs), 0);
	TEST_ASSERT_EQ(rw(d, DISK_OP_READ, 2 * bs, rd, 2 * bs), (int)(2 * bs));
	expect_zero(rd, bs, 2 * bs);
	expect_pat(rd + bs, bs, 3 * bs, 16);

	/* Misaligned buffer, offset, total length, segment length: -EINVAL. */
	iov[0] = (struct iovec){ rd + 1, bs };
	r = (struct disk_req){ .op = DISK_OP_READ, .offset = 0, .iov = iov, .iovcnt = 1 };
	TEST_ASSERT_EQ(disk__submit(d, &r), -EINVAL);
	iov[0] = (struct iovec){ rd, bs };
	r.offset = bs / 2;
	TEST_ASSERT_EQ(disk__submit(d, &r), -EINVAL);
	r.offset = 0;
	iov[0].iov_len = bs - 100;
	TEST_ASSERT_EQ(disk__submit(d, &r), -EINVAL);
	iov[0] = (struct iovec){ rd, bs / 2 };
	iov[1] = (struct iovec){ rd + bs / 2, bs / 2 + bs };
	r.iovcnt = 2;
	TEST_ASSERT_EQ(disk__submit(d, &r), -EINVAL);	/* total aligned, segments not */
	r = (struct disk_req){ .op = DISK_OP_WRITE_ZEROES, .offset = 100, .len = bs };
	TEST_ASSERT_EQ(disk__submit(d, &r), -EINVAL);
	expect_no_completion(d);
	disk__close(d);

	unlink(path);
	if (made)
		rmdir(dir);
	free(w);
	free(rd);
}

/*
 * Attaches @backing to a free loop device with @lbs-byte logical blocks,
 * auto-cleared when its last opener closes; returns an fd holding it.
 */
static int attach_loop(const char *backing, u32 lbs, char *dev, size_t len)
{
	int ctl, lfd = -1, bfd, n;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		TEST_SKIP("/dev/loop-control: %s (loop devices need root)", strerror(errno));
	bfd = open(backing, O_RDWR | O_CLOEXEC);
	TEST_ASSERT(bfd >= 0, "open %s: %s", backing, strerror(errno));
	for (int tries = 0; tries < 5 && lfd < 0; tries++) {
		struct loop_config cfg = {
			.fd = (u32)bfd,
			.block_size = lbs,
			.info.lo_flags = LO_FLAGS_AUTOCLEAR,
		};

		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0)
			TEST_SKIP("LOOP_CTL_GET_FREE: %s", strerror(errno));
		snprintf(dev, len, "/dev/loop%d", n);
		lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0)
			TEST_SKIP("open %s: %s", dev, strerror(errno));
		if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0)
			break;
		if (errno != EBUSY)	/* EBUSY: someone else took it first */
			TEST_SKIP("ioctl LOOP_CONFIGURE %s: %s", dev, strerror(errno));
		close(lfd);
		lfd = -1;
	}
	close(bfd);
	close(ctl);
	if (lfd < 0)
		TEST_SKIP("no free loop device");
	return lfd;
}

/* A block device: BLKGETSIZE64, BLKSSZGET (4 KiB), BLKDISCARD, direct. */
static void check_blockdev(enum disk_engine e)
{
	const u64 size = 1 * SZ_MiB, bs = 4096;
	char backing[PATH_MAX], dev[64];
	u8 *w, *rd;
	struct iovec iov[2];
	struct disk_req r;
	struct disk *d;
	int lfd, ret;

	if (e == DISK_ENGINE_IO_URING)
		skip_without_io_uring();
	make_image("blk.img", size, 20, backing, sizeof(backing));
	lfd = attach_loop(backing, (u32)bs, dev, sizeof(dev));

	d = open_disk(e, dev, false, false, 8);
	TEST_ASSERT(disk__is_blockdev(d), "%s is a block device", dev);
	TEST_ASSERT_EQ(disk__size(d), size);
	TEST_ASSERT_EQ(disk__block_size(d), bs);
	TEST_ASSERT_EQ(disk__mem_align(d), 1);

	TEST_ASSERT_EQ(posix_memalign((void **)&w, 4096, 4 * bs), 0);
	TEST_ASSERT_EQ(posix_memalign((void **)&rd, 4096, 4 * bs), 0);
	fill(w, 3 * bs, 2 * bs, 21);
	iov[0] = (struct iovec){ w, 1000 };
	iov[1] = (struct iovec){ w + 1000, 3 * bs - 1000 };
	r = (struct disk_req){ .op = DISK_OP_WRITE, .offset = 2 * bs, .iov = iov, .iovcnt = 2 };
	TEST_ASSERT_EQ(run_req(d, &r), (int)(3 * bs));
	TEST_ASSERT_EQ(rw(d, DISK_OP_READ, 2 * bs, rd, 3 * bs), (int)(3 * bs));
	expect_pat(rd, 3 * bs, 2 * bs, 21);
	r = (struct disk_req){ .op = DISK_OP_FLUSH };
	TEST_ASSERT_EQ(run_req(d, &r), 0);

	TEST_ASSERT_EQ(range_op(d, DISK_OP_WRITE_ZEROES, 3 * bs, bs), 0);
	TEST_ASSERT_EQ(rw(d, DISK_OP_READ, 2 * bs, rd, 3 * bs), (int)(3 * bs));
	expect_pat(rd, bs, 2 * bs, 21);
	expect_zero(rd + bs, bs, 3 * bs);
	expect_pat(rd + 2 * bs, bs, 4 * bs, 21);

	/* BLKDISCARD: what reads back is the device's business. */
	ret = range_op(d, DISK_OP_DISCARD, 64 * KiB, 64 * KiB);
	TEST_ASSERT(ret == 0 || ret == -EOPNOTSUPP, "discard on %s: %d", dev, ret);
	TEST_ASSERT_EQ(rw(d, DISK_OP_READ, 0, rd, bs), (int)bs);
	expect_pat(rd, bs, 0, 20);
	disk__close(d);

	/* O_DIRECT: the device's 4 KiB logical blocks are the unit. */
	d = open_disk(e, dev, false, true, 8);
	TEST_ASSERT_EQ(disk__block_size(d), bs);
	TEST_ASSERT(disk__mem_align(d) > 1, "memory alignment %u", disk__mem_align(d));
	fill(w, 2 * bs, 8 * bs, 22);
	TEST_ASSERT_EQ(rw(d, DISK_OP_WRITE, 8 * bs, w, 2 * bs), (int)(2 * bs));
	memset(rd, 0, 2 * bs);
	TEST_ASSERT_EQ(rw(d, DISK_OP_READ, 8 * bs, rd, 2 * bs), (int)(2 * bs));
	expect_pat(rd, 2 * bs, 8 * bs, 22);
	iov[0] = (struct iovec){ rd, bs };
	r = (struct disk_req){ .op = DISK_OP_READ, .offset = 512, .iov = iov, .iovcnt = 1 };
	TEST_ASSERT_EQ(disk__submit(d, &r), -EINVAL);	/* 512-aligned is not enough */
	disk__close(d);

	d = open_disk(e, dev, true, false, 8);
	TEST_ASSERT_EQ(rw(d, DISK_OP_READ, 8 * bs, rd, bs), (int)bs);
	expect_pat(rd, bs, 8 * bs, 22);
	r = (struct disk_req){ .op = DISK_OP_DISCARD, .offset = 0, .len = bs };
	TEST_ASSERT_EQ(disk__submit(d, &r), -EROFS);
	disk__close(d);

	close(lfd);
	free(w);
	free(rd);
}

/* ---- image locking (issue 11 #5) -------------------------------------- */

/* disk__open() of @path that must fail with -EBUSY, saying @needle. */
static void expect_locked_out(const char *path, bool ro, const char *needle)
{
	struct disk_opts o = { .ro = ro, .engine = DISK_ENGINE_SYNC };
	struct lkvm_err err = { "" };
	struct disk *d = NULL;

	snprintf(o.path, sizeof(o.path), "%s", path);
	TEST_ASSERT_EQ(disk__open(&o, 8, &d, &err), -EBUSY);
	TEST_ASSERT(d == NULL, "no disk on failure");
	TEST_ASSERT_STR_CONTAINS(err.msg, path);
	TEST_ASSERT_STR_CONTAINS(err.msg, "another process (or another -d of this VM)");
	TEST_ASSERT_STR_CONTAINS(err.msg, needle);
}

/* Two writers of one image, even in one process ("-d x -d x"), are refused. */
static void test_lock_two_writers(void)
{
	char path[PATH_MAX];
	struct disk *a;

	make_image("lock-rw.img", 64 * KiB, 1, path, sizeof(path));
	a = open_disk(DISK_ENGINE_SYNC, path, false, false, 8);
	expect_locked_out(path, false, "open for writing: use ,ro on both, or stop the other VM");
	/* A reader is refused too: the writer may change what it reads. */
	expect_locked_out(path, true, "open for writing");
	TEST_ASSERT(disk__locked(a), "the writer says it holds the lock");
	disk__close(a);
}

/* Readers share; a writer then is refused, and says the image is open read-only. */
static void test_lock_readers_share(void)
{
	char path[PATH_MAX];
	struct disk *a, *b;

	make_image("lock-ro.img", 64 * KiB, 1, path, sizeof(path));
	a = open_disk(DISK_ENGINE_SYNC, path, true, false, 8);
	b = open_disk(DISK_ENGINE_SYNC, path, true, false, 8);
	expect_locked_out(path, false, "open read-only");
	expect_locked_out(path, false, "add ,ro here too");
	TEST_ASSERT(disk__locked(a) && disk__locked(b), "both readers hold the shared lock");
	disk__close(a);
	expect_locked_out(path, false, "open read-only");	/* b still holds it */
	disk__close(b);
}

/* The lock goes with disk__close(): the next writer (or reader) gets the image. */
static void test_lock_released_on_close(void)
{
	char path[PATH_MAX];
	struct disk *a;

	make_image("lock-close.img", 64 * KiB, 1, path, sizeof(path));
	a = open_disk(DISK_ENGINE_SYNC, path, false, false, 8);
	disk__close(a);
	a = open_disk(DISK_ENGINE_SYNC, path, false, false, 8);
	disk__close(a);
	a = open_disk(DISK_ENGINE_SYNC, path, true, false, 8);
	disk__close(a);
	a = open_disk(DISK_ENGINE_SYNC, path, false, false, 8);
	disk__close(a);
}

/* Another process: the writer in a child keeps this process's writer and reader out. */
static void test_lock_other_process(void)
{
	char path[PATH_MAX];
	int go[2], done[2];
	pid_t pid;
	char c;

	make_image("lock-proc.img", 64 * KiB, 1, path, sizeof(path));
	TEST_ASSERT_EQ(pipe(go), 0);
	TEST_ASSERT_EQ(pipe(done), 0);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (!pid) {
		struct disk *d;

		/* Only the parent writes "done": if it fails and exits, read() sees EOF. */
		close(done[1]);
		d = open_disk(DISK_ENGINE_SYNC, path, false, false, 8);
		TEST_ASSERT_EQ(write(go[1], "g", 1), 1);
		if (read(done[0], &c, 1) < 0)
			_exit(1);
		disk__close(d);
		_exit(0);
	}
	close(done[0]);
	TEST_ASSERT_EQ(read(go[0], &c, 1), 1);
	expect_locked_out(path, false, "open for writing");
	expect_locked_out(path, true, "open for writing");
	TEST_ASSERT_EQ(write(done[1], "d", 1), 1);
	TEST_ASSERT_EQ(waitpid(pid, NULL, 0), pid);
	disk__close(open_disk(DISK_ENGINE_SYNC, path, false, false, 8));
}

/* ---- a hung backing store; flushes (issue 11 #12) --------------------- */

/* A READ that hangs in the kernel: disk__drain_until() gives up on time, and finishes later. */
static void test_drain_until_hung_request(void)
{
	struct slow_mem sm;
	char path[PATH_MAX];
	struct iovec iov;
	struct disk_req r;
	struct disk *d;
	u64 t0;

	slow_mem_init(&sm, 4096);
	make_image("hung.img", 64 * KiB, 3, path, sizeof(path));
	d = open_disk(DISK_ENGINE_SYNC, path, false, false, 8);
	iov = (struct iovec){ sm.p, 4096 };
	r = (struct disk_req){ .op = DISK_OP_READ, .offset = 4096, .iov = &iov, .iovcnt = 1 };
	TEST_ASSERT_EQ(disk__submit(d, &r), 0);
	slow_mem_wait_blocked(&sm, 5000);

	t0 = now_ns();
	TEST_ASSERT_EQ(disk__drain_until(d, t0 + 100 * 1000000ULL, NULL, NULL), -ETIMEDOUT);
	TEST_ASSERT(now_ns() - t0 < 1000 * 1000000ULL, "a 100 ms drain took %llu ms",
		    (unsigned long long)((now_ns() - t0) / 1000000));
	TEST_ASSERT_EQ(disk__inflight(d), 1);

	slow_mem_release(&sm);
	TEST_ASSERT_EQ(disk__drain_until(d, now_ns() + 10000 * 1000000ULL, NULL, NULL), 0);
	TEST_ASSERT_EQ(disk__inflight(d), 0);
	TEST_ASSERT_EQ(r.result, 4096);
	expect_pat(sm.p, 4096, 4096, 3);
	disk__close(d);
	slow_mem_fini(&sm);
}

/* Every fdatasync is counted: FLUSH requests and disk__flush(); none for a ro disk. */
static void test_flush_counted(void)
{
	struct disk_req r = { .op = DISK_OP_FLUSH };
	struct disk_stats st;
	char path[PATH_MAX];
	struct disk *d;

	make_image("flushes.img", 64 * KiB, 1, path, sizeof(path));
	d = open_disk(DISK_ENGINE_SYNC, path, false, false, 8);
	disk__stats(d, &st);
	TEST_ASSERT_EQ(st.flushes, 0);
	TEST_ASSERT_EQ(run_req(d, &r), 0);
	TEST_ASSERT_EQ(disk__flush(d), 0);
	disk__stats(d, &st);
	TEST_ASSERT_EQ(st.flushes, 2);
	TEST_ASSERT_EQ(st.flush_errors, 0);
	disk__close(d);

	d = open_disk(DISK_ENGINE_SYNC, path, true, false, 8);
	TEST_ASSERT_EQ(disk__flush(d), 0);
	disk__stats(d, &st);
	TEST_ASSERT_EQ(st.flushes, 0);
	disk__close(d);
}

static void deny_syscall(long nr, int errnum);

/* The host loses the writes (fdatasync EIO): disk__flush() says so and counts it. */
static void test_flush_error(void)
{
	struct disk_stats st;
	char path[PATH_MAX];
	struct disk *d;

	make_image("flush-eio.img", 64 * KiB, 1, path, sizeof(path));
	d = open_disk(DISK_ENGINE_SYNC, path, false, false, 8);
	deny_syscall(__NR_fdatasync, EIO);
	TEST_ASSERT_EQ(disk__flush(d), -EIO);
	disk__stats(d, &st);
	TEST_ASSERT_EQ(st.flushes, 1);
	TEST_ASSERT_EQ(st.flush_errors, 1);
	disk__close(d);
}

#define ENGINE_CASES(e, E)							\
	static void test_##e##_rw(void) { check_rw(DISK_ENGINE_##E); }	\
	static void test_##e##_flush(void) { check_flush(DISK_ENGINE_##E); }	\
	static void test_##e##_discard(void) { check_discard(DISK_ENGINE_##E); } \
	static void test_##e##_write_zeroes(void) { check_write_zeroes(DISK_ENGINE_##E); } \
	static void test_##e##_range(void) { check_range(DISK_ENGINE_##E); }	\
	static void test_##e##_ro(void) { check_ro(DISK_ENGINE_##E); }	\
	static void test_##e##_queue_depth(void) { check_queue_depth(DISK_ENGINE_##E); } \
	static void test_##e##_plug(void) { check_plug(DISK_ENGINE_##E); }	\
	static void test_##e##_close_busy(void) { check_close_busy(DISK_ENGINE_##E); } \
	static void test_##e##_eof(void) { check_eof(DISK_ENGINE_##E); }	\
	static void test_##e##_direct(void) { check_direct(DISK_ENGINE_##E); }	\
	static void test_##e##_blockdev(void) { check_blockdev(DISK_ENGINE_##E); }

#define ENGINE_TABLE(e)								\
	TEST_CASE(test_##e##_rw), TEST_CASE(test_##e##_flush),			\
	TEST_CASE(test_##e##_discard), TEST_CASE(test_##e##_write_zeroes),	\
	TEST_CASE(test_##e##_range), TEST_CASE(test_##e##_ro),			\
	TEST_CASE(test_##e##_queue_depth), TEST_CASE(test_##e##_close_busy),	\
	TEST_CASE(test_##e##_plug),						\
	TEST_CASE(test_##e##_eof), TEST_CASE(test_##e##_direct),		\
	TEST_CASE(test_##e##_blockdev)

ENGINE_CASES(io_uring, IO_URING)
ENGINE_CASES(aio, AIO)
ENGINE_CASES(sync, SYNC)

/* ---- registered memory (io_uring fixed buffers) ------------------------ */

/*
 * Issue 16: with "guest RAM" registered, a one-buffer READ/WRITE inside it
 * goes as READ/WRITE_FIXED, and one that leaves it, or has two buffers,
 * as READV/WRITEV; the bytes are right either way.  The other engines
 * have no such thing and say so.
 */
static void test_io_uring_fixed_buffers(void)
{
	const u64 ram_size = 256 * KiB;
	struct disk_stats s0, s1;
	char path[PATH_MAX];
	struct iovec mem, two[2];
	struct disk_req r;
	struct disk *d;
	u8 *ram, *outside;
	int ret;

	make_image("fixed.img", 1024 * KiB, 14, path, sizeof(path));
	d = open_disk(DISK_ENGINE_IO_URING, path, false, false, 8);
	ram = aligned_alloc(4096, ram_size);
	outside = aligned_alloc(4096, 8192);
	TEST_ASSERT(ram && outside, "aligned_alloc");
	mem = (struct iovec){ ram, ram_size };
	ret = disk__register_mem(d, &mem, 1);
	if (ret)
		TEST_SKIP("io_uring_register_buffers: %s", strerror(-ret));
	TEST_ASSERT(disk__mem_registered(d), "registered");
	TEST_ASSERT_EQ(disk__register_mem(d, &mem, 1), -EINVAL);	/* once */

	disk__stats(d, &s0);
	TEST_ASSERT_EQ(rw(d, DISK_OP_READ, 8192, ram + 4096, 4096), 4096);
	expect_pat(ram + 4096, 4096, 8192, 14);
	/* The last bytes of the region, and a write from it. */
	fill(ram + ram_size - 4096, 4096, 65536, 15);
	TEST_ASSERT_EQ(rw(d, DISK_OP_WRITE, 65536, ram + ram_size - 4096, 4096), 4096);
	disk__stats(d, &s1);
	TEST_ASSERT_EQ(s1.fixed_buf_reqs - s0.fixed_buf_reqs, 2);

	/* Outside the region, or two buffers: the vectored ops. */
	TEST_ASSERT_EQ(rw(d, DISK_OP_READ, 65536, outside, 4096), 4096);
	expect_pat(outside, 4096, 65536, 15);
	two[0] = (struct iovec){ ram, 4096 };
	two[1] = (struct iovec){ ram + 8192, 4096 };
	r = (struct disk_req){ .op = DISK_OP_READ, .offset = 0, .iov = two, .iovcnt = 2 };
	TEST_ASSERT_EQ(run_req(d, &r), 8192);
	expect_pat(ram, 4096, 0, 14);
	expect_pat(ram + 8192, 4096, 4096, 14);
	disk__stats(d, &s0);
	TEST_ASSERT_EQ(s0.fixed_buf_reqs - s1.fixed_buf_reqs, 0);
	disk__close(d);
	free(ram);
	free(outside);

	for (enum disk_engine e = DISK_ENGINE_AIO; e <= DISK_ENGINE_SYNC; e++) {
		u8 buf[4096];

		mem = (struct iovec){ buf, sizeof(buf) };
		d = open_disk(e, path, false, false, 8);
		TEST_ASSERT_EQ(disk__register_mem(d, &mem, 1), -EOPNOTSUPP);
		TEST_ASSERT(!disk__mem_registered(d), "%s: nothing registered", disk__engine_name(d));
		disk__close(d);
	}
}

/* ---- the sync engine inline, on a memory-backed file ------------------- */

/* The engine checks on a tmpfs image: the sync engine runs them inline. */
#define TMPFS_CASE(c)								\
	static void test_sync_tmpfs_##c(void)					\
	{									\
		use_tmpfs();							\
		check_##c(DISK_ENGINE_SYNC);					\
	}
TMPFS_CASE(rw)
TMPFS_CASE(flush)
TMPFS_CASE(discard)
TMPFS_CASE(write_zeroes)
TMPFS_CASE(range)
TMPFS_CASE(ro)
TMPFS_CASE(queue_depth)
TMPFS_CASE(plug)
TMPFS_CASE(close_busy)
TMPFS_CASE(eof)

/*
 * Issue 16: on tmpfs, AUTO picks the sync engine and says why; a request
 * is done inside disk__submit() on this thread: no pool hand-off, no
 * engine submission; disk__reap_local() hands it back without the
 * completion fd becoming readable, while an unplugged one left for
 * disk__reap() makes it readable.  A file elsewhere keeps the pool.
 */
static void test_sync_inline(void)
{
	struct pollfd pfd = { .events = POLLIN };
	struct disk_stats s0, s1;
	struct qd_state st;
	struct disk_req r[4];
	struct iovec iov[4];
	char path[PATH_MAX];
	u8 buf[4][4096];
	struct disk *d;

	make_image("pool.img", 64 * KiB, 3, path, sizeof(path));
	d = open_disk(DISK_ENGINE_SYNC, path, false, false, 8);
	TEST_ASSERT(!disk__inline(d), "a file on %s: the pool", TEST_TMPDIR);
	TEST_ASSERT_STR_EQ(disk__engine_why(d), "engine=sync");
	disk__close(d);

	use_tmpfs();
	make_image("inline.img", 64 * KiB, 3, path, sizeof(path));
	d = open_disk(DISK_ENGINE_AUTO, path, false, false, 8);
	TEST_ASSERT_STR_EQ(disk__engine_name(d), "sync");
	TEST_ASSERT(disk__inline(d), "inline on tmpfs");
	TEST_ASSERT_STR_CONTAINS(disk__engine_why(d), "auto: the image is on tmpfs");
	pfd.fd = disk__completion_fd(d);

	disk__stats(d, &s0);
	disk__plug(d);
	for (unsigned int i = 0; i < 4; i++) {
		iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		r[i] = (struct disk_req){ .op = DISK_OP_READ, .offset = 4096ULL * i, .iov = &iov[i],
					  .iovcnt = 1, .opaque = (void *)(uintptr_t)i };
		TEST_ASSERT_EQ(disk__submit(d, &r[i]), 0);
	}
	TEST_ASSERT_EQ(disk__inflight(d), 4);
	memset(&st, 0, sizeof(st));
	TEST_ASSERT_EQ(disk__reap_local(d, qd_done, &st), 4);
	disk__unplug(d);
	TEST_ASSERT_EQ(poll(&pfd, 1, 0), 0);	/* nothing left to wake anyone for */
	TEST_ASSERT_EQ(disk__inflight(d), 0);
	for (unsigned int i = 0; i < 4; i++) {
		TEST_ASSERT_EQ(st.results[i], 4096);
		expect_pat(buf[i], 4096, 4096ULL * i, 3);
	}
	disk__stats(d, &s1);
	TEST_ASSERT_EQ(s1.requests - s0.requests, 4);
	TEST_ASSERT_EQ(s1.engine_submits - s0.engine_submits, 0);
	TEST_ASSERT_EQ(s1.pool_handoffs - s0.pool_handoffs, 0);
	TEST_ASSERT_EQ(s1.syscalls - s0.syscalls, 4);	/* the four preadv()s */

	/* Unplugged and not reaped locally: the fd says so, disk__reap() takes it. */
	TEST_ASSERT_EQ(disk__submit(d, &r[0]), 0);
	TEST_ASSERT_EQ(poll(&pfd, 1, 0), 1);
	TEST_ASSERT_EQ(disk__reap(d, NULL, NULL), 1);
	TEST_ASSERT_EQ(poll(&pfd, 1, 0), 0);
	TEST_ASSERT_EQ(disk__reap_local(d, NULL, NULL), 0);
	disk__close(d);
}

/* ---- AUTO and its fallbacks ------------------------------------------ */

static void test_auto_engine(void)
{
	char path[PATH_MAX];
	struct io_uring ring;
	struct disk *d;
	bool uring = io_uring_queue_init(8, &ring, 0) == 0;

	if (uring)
		io_uring_queue_exit(&ring);
	make_image("auto.img", 64 * KiB, 1, path, sizeof(path));
	d = open_disk(DISK_ENGINE_AUTO, path, false, false, 8);
	TEST_ASSERT_STR_EQ(disk__engine_name(d), uring ? "io_uring" : "sync");
	disk__close(d);
}

/* Makes syscall @nr fail with @errnum in this (forked) test process. */
static void deny_syscall(long nr, int errnum)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (u32)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((u32)errnum & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(f), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0))
		TEST_SKIP("seccomp filter: %s", strerror(errno));
}

/* io_uring blocked (seccomp, as in containers): AUTO falls back, explicit io_uring says why. */
static void test_auto_without_io_uring(void)
{
	struct disk_opts o = { .engine = DISK_ENGINE_IO_URING };
	struct lkvm_err err = { "" };
	char path[PATH_MAX], dir[PATH_MAX];
	struct disk *d = NULL;
	bool made;

	make_image("nouring.img", 64 * KiB, 1, path, sizeof(path));
	deny_syscall(__NR_io_uring_setup, EPERM);

	snprintf(o.path, sizeof(o.path), "%s", path);
	TEST_ASSERT_EQ(disk__open(&o, 8, &d, &err), -EPERM);
	TEST_ASSERT_STR_CONTAINS(err.msg, path);
	TEST_ASSERT_STR_CONTAINS(err.msg, "engine=io_uring");
	TEST_ASSERT_STR_CONTAINS(err.msg, "engine=aio or engine=sync");

	d = open_disk(DISK_ENGINE_AUTO, path, false, false, 8);
	TEST_ASSERT_STR_EQ(disk__engine_name(d), "sync");	/* buffered: never aio */
	disk__close(d);

	if (!pick_direct_dir(dir, sizeof(dir), &made))
		TEST_SKIP("no filesystem here takes O_DIRECT");
	make_image_in(dir, "nouring-direct.img", 64 * KiB, 1, path, sizeof(path));
	d = open_disk(DISK_ENGINE_AUTO, path, false, true, 8);
	TEST_ASSERT_STR_EQ(disk__engine_name(d), "aio");
	disk__close(d);

	/* And without AIO too: the thread pool. */
	deny_syscall(__NR_io_setup, ENOSYS);
	d = open_disk(DISK_ENGINE_AUTO, path, false, true, 8);
	TEST_ASSERT_STR_EQ(disk__engine_name(d), "sync");
	disk__close(d);
	o.engine = DISK_ENGINE_AIO;
	o.direct = true;
	snprintf(o.path, sizeof(o.path), "%s", path);
	TEST_ASSERT_EQ(disk__open(&o, 8, &d, &err), -ENOSYS);
	TEST_ASSERT_STR_CONTAINS(err.msg, "engine=aio: io_setup");
	TEST_ASSERT_STR_CONTAINS(err.msg, "engine=sync");
	unlink(path);
	if (made)
		rmdir(dir);
}

static const struct test_case tests[] = {
	TEST_CASE(test_parse_good),
	TEST_CASE(test_parse_queue_size),
	TEST_CASE(test_parse_bad),
	TEST_CASE(test_open_missing),
	TEST_CASE(test_open_directory),
	TEST_CASE(test_open_not_a_disk),
	TEST_CASE(test_open_bad_depth),
	TEST_CASE(test_open_from_parsed),
	TEST_CASE(test_lock_two_writers),
	TEST_CASE(test_lock_readers_share),
	TEST_CASE(test_lock_released_on_close),
	TEST_CASE(test_lock_other_process),
	TEST_CASE(test_drain_until_hung_request),
	TEST_CASE(test_flush_counted),
	TEST_CASE(test_flush_error),
	ENGINE_TABLE(io_uring),
	ENGINE_TABLE(aio),
	ENGINE_TABLE(sync),
	TEST_CASE(test_io_uring_fixed_buffers),
	TEST_CASE(test_sync_tmpfs_rw),
	TEST_CASE(test_sync_tmpfs_flush),
	TEST_CASE(test_sync_tmpfs_discard),
	TEST_CASE(test_sync_tmpfs_write_zeroes),
	TEST_CASE(test_sync_tmpfs_range),
	TEST_CASE(test_sync_tmpfs_ro),
	TEST_CASE(test_sync_tmpfs_queue_depth),
	TEST_CASE(test_sync_tmpfs_plug),
	TEST_CASE(test_sync_tmpfs_close_busy),
	TEST_CASE(test_sync_tmpfs_eof),
	TEST_CASE(test_sync_inline),
	TEST_CASE(test_auto_engine),
	TEST_CASE(test_auto_without_io_uring),
};

TEST_MAIN(tests)
