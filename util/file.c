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
