// SPDX-License-Identifier: GPL-2.0-only
/*
 * Boot images from the host's files.  gzip input (RFC 1952) is inflated
 * with zlib; the output size is bounded by the caller, since a tiny
 * compressed file may claim gigabytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "lkvm/file.h"

int file__gunzip(const u8 *in, u64 in_len, u64 max, const char *name, u8 **buf, u64 *len,
		 struct lkvm_err *err)
{
	z_stream zs = { 0 };
	u64 cap, done = 0, isize = 0;
	u8 *out = NULL, *n;
	int zr;

	/* zlib counts in uInt: keep every size (and max + 1) below 4 GiB. */
	if (in_len >= UINT32_MAX)
		return seterr(err, EFBIG, "%s: compressed images are limited to 4 GiB", name);
	max = MIN(max, (u64)UINT32_MAX - 1);
	if (in_len >= 18)	/* ISIZE: the uncompressed size mod 2^32, a first guess */
		isize = (u64)in[in_len - 4] | (u64)in[in_len - 3] << 8 |
			(u64)in[in_len - 2] << 16 | (u64)in[in_len - 1] << 24;
	cap = MIN(MAX(isize, in_len * 2) + 4096, max + 1);
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		return seterr(err, ENOMEM, "%s: zlib init failed", name);
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)in_len;
	for (;;) {
		uInt room;

		if (done == cap || !out) {
			if (out && cap > max) {
				zr = Z_MEM_ERROR;	/* over the limit */
				break;
			}
			if (out)
				cap = MIN(cap * 2, max + 1);
			/*
			 * cap >= 1: max <= UINT32_MAX - 1 above, so max + 1
			 * cannot wrap; clang 14's analyzer loses that bound.
			 */
			/* NOLINTNEXTLINE(clang-analyzer-optin.portability.UnixAPI) */
			n = realloc(out, cap);
			if (!n) {
				zr = Z_MEM_ERROR;
				break;
			}
			out = n;
		}
		room = (uInt)(cap - done);
		zs.next_out = out + done;
		zs.avail_out = room;
		zr = inflate(&zs, Z_NO_FLUSH);
		done += room - zs.avail_out;
		/* RFC 1952 2.2: a gzip file may be several members back to back. */
		if (zr == Z_STREAM_END && zs.avail_in >= 2 && zs.next_in[0] == 0x1f &&
		    zs.next_in[1] == 0x8b) {
			if (inflateReset(&zs) != Z_OK)
				break;
			continue;
		}
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_OK || (zr == Z_BUF_ERROR && zs.avail_out == 0))
			continue;
		break;	/* Z_BUF_ERROR with room left: the input ended early */
	}
	*len = done;
	inflateEnd(&zs);
	if (zr == Z_STREAM_END && done <= max) {
		*buf = out;
		return 0;
	}
	free(out);
	if (zr == Z_MEM_ERROR || done > max)
		return seterr(err, EFBIG, "%s: inflates to more than %llu MiB (or out of memory)",
			      name, (unsigned long long)(max / (1024 * 1024)));
	return seterr(err, EINVAL, "%s: corrupt or truncated gzip data (%s)", name,
		      zr == Z_BUF_ERROR ? "unexpected end of input" : zError(zr));
}

static bool is_gzip(int fd)
{
	u8 magic[2];

	return pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

int file__read(const char *path, u64 max, bool inflate, u8 **buf, u64 *len, bool *was_gz,
	       struct lkvm_err *err)
{
	struct stat st;
	u8 *data;
	u64 got = 0;
	int fd, r;

	*was_gz = false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return seterr(err, errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return seterr(err, EINVAL, "%s: not a regular file", path);
	}
	if ((u64)st.st_size > max && (!inflate || !is_gzip(fd))) {
		close(fd);
		return seterr(err, EFBIG, "%s: larger than %llu MiB", path,
			      (unsigned long long)(max / (1024 * 1024)));
	}
	data = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!data) {
		close(fd);
		return seterr(err, ENOMEM, "%s: out of memory", path);
	}
	while (got < (u64)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)((u64)st.st_size - got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? errno : EIO;
			free(data);
			close(fd);
			return seterr(err, r, "%s: read: %s", path, n < 0 ? strerror(r) : "short file");
		}
		got += (u64)n;
	}
	close(fd);
	if (inflate && got >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
		*was_gz = true;
		r = file__gunzip(data, got, max, path, buf, len, err);
		free(data);
		return r;
	}
	if (got > max) {
		free(data);
		return seterr(err, EFBIG, "%s: larger than %llu MiB", path,
			      (unsigned long long)(max / (1024 * 1024)));
	}
	*buf = data;
	*len = got;
	return 0;
}

/* ---- guest files: mapped, never copied to the heap ------------------------ */

#define GZ_CHUNK	(256 * 1024)	/* compressed input read per step */
#define GZ_STEP		(1U << 30)	/* zlib counts in uInt: output per inflate() call */

int file__open_guest(const char *path, struct guest_file *f, struct lkvm_err *err)
{
	struct stat st;

	*f = (struct guest_file){ .path = path, .fd = -1 };
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return seterr(err, errno, "%s: %s", path, strerror(errno));
	if (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		file__close_guest(f);
		return seterr(err, EINVAL, "%s: not a regular file", path);
	}
	f->size = (u64)st.st_size;
	if (f->size) {
		void *m = mmap(NULL, (size_t)f->size, PROT_READ, MAP_PRIVATE, f->fd, 0);

		if (m == MAP_FAILED) {
			int e = errno;

			file__close_guest(f);
			return seterr(err, e, "%s: mmap: %s", path, strerror(e));
		}
		f->map = m;
		f->gz = f->size >= 2 && f->map[0] == 0x1f && f->map[1] == 0x8b;
	}
	return 0;
}

void file__close_guest(struct guest_file *f)
{
	if (f->map)
		munmap((void *)(uintptr_t)f->map, (size_t)f->size);
	if (f->fd >= 0)
		close(f->fd);
	f->map = NULL;
	f->fd = -1;
}

int file__pread_into(const struct guest_file *f, u64 off, void *dst, u64 len,
		     struct lkvm_err *err)
{
	u8 *p = dst;

	while (len) {
		ssize_t n = pread(f->fd, p, (size_t)MIN(len, (u64)GZ_STEP), (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return seterr(err, n < 0 ? errno : EIO, "%s: read: %s", f->path,
				      n < 0 ? strerror(errno) : "the file shrank while loading");
		p += n;
		off += (u64)n;
		len -= (u64)n;
	}
	return 0;
}

int file__gunzip_open(const struct guest_file *f, struct gunzip *g, struct lkvm_err *err)
{
	z_stream *zs = calloc(1, sizeof(*zs));

	*g = (struct gunzip){ .f = f, .zs = zs, .in = malloc(GZ_CHUNK) };
	/* A fixed chunk (not the file's size): the input streams through it. */
	if (!zs || !g->in || inflateInit2(zs, 16 + MAX_WBITS) != Z_OK) {
		free(g->in);
		free(zs);
		g->zs = g->in = NULL;
		return seterr(err, ENOMEM, "%s: zlib init failed", f->path);
	}
	return 0;
}

/*
 * Refills the input chunk behind the @keep unread bytes still in it (moved
 * to its start); false when the file has nothing more (or on error, *@r).
 */
static bool gz_refill(struct gunzip *g, uInt keep, struct lkvm_err *err, int *r)
{
	z_stream *zs = g->zs;
	u64 n = MIN((u64)(GZ_CHUNK - keep), g->f->size - g->in_off);

	*r = 0;
	if (!n)
		return false;
	if (keep)
		memmove(g->in, zs->next_in, keep);
	*r = file__pread_into(g->f, g->in_off, g->in + keep, n, err);
	if (*r)
		return false;
	g->in_off += n;
	zs->next_in = g->in;
	zs->avail_in = keep + (uInt)n;
	return true;
}

int file__gunzip_read(struct gunzip *g, u8 *dst, u64 cap, u64 *got, struct lkvm_err *err)
{
	z_stream *zs = g->zs;
	u64 done = 0;
	int zr = Z_OK, r;

	while (!g->done && done < cap) {
		uInt room = (uInt)MIN(cap - done, (u64)GZ_STEP);

		if (!zs->avail_in && !gz_refill(g, 0, err, &r)) {
			if (r)
				return r;
			return seterr(err, EINVAL, "%s: corrupt or truncated gzip data "
				      "(unexpected end of input after %llu bytes)", g->f->path,
				      (unsigned long long)(g->out + done));
		}
		zs->next_out = dst + done;
		zs->avail_out = room;
		zr = inflate(zs, Z_NO_FLUSH);
		done += room - zs->avail_out;
		if (zr == Z_STREAM_END) {
			/* RFC 1952 2.2: members back to back; anything else after them is ignored. */
			if (zs->avail_in < 2 && !gz_refill(g, zs->avail_in, err, &r)) {
				if (r)
					return r;
				g->done = true;
			} else if (zs->avail_in >= 2 && zs->next_in[0] == 0x1f &&
				   zs->next_in[1] == 0x8b) {
				if (inflateReset(zs) != Z_OK)
					return seterr(err, ENOMEM, "%s: zlib reset failed",
						      g->f->path);
			} else {
				g->done = true;
			}
			continue;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			return seterr(err, EINVAL, "%s: corrupt gzip data (%s)", g->f->path,
				      zError(zr));
	}
	g->out += done;
	*got = done;
	return 0;
}

void file__gunzip_close(struct gunzip *g)
{
	if (g->zs)
		inflateEnd(g->zs);
	free(g->zs);
	free(g->in);
	g->zs = g->in = NULL;
}
