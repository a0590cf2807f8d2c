/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading files from the host.  Boot images (kernel, initrd, firmware) go
 * straight into guest RAM: a guest file is opened and mapped read-only
 * (probing reads only its header), and its bytes are copied once, by
 * pread() into their final guest-physical place, or inflated by zlib
 * straight there, streaming, bounded by the room the caller gives.
 * Small files (a --cpu-features list) are read whole into the heap.
 */
#ifndef LKVM_FILE_H
#define LKVM_FILE_H

#include "lkvm/util.h"

/*
 * Reads @path into a new malloc'd buffer (*@buf, *@len), inflating it if
 * it is gzip and @inflate is set (*@was_gz tells).  Refuses anything
 * larger than @max bytes (after inflating) with -EFBIG.  Errors name the
 * file: missing, unreadable, a directory, a corrupt or truncated gzip.
 */
int file__read(const char *path, u64 max, bool inflate, u8 **buf, u64 *len, bool *was_gz,
	       struct lkvm_err *err);

/* Inflates a gzip buffer; same contract as file__read() for the output. */
int file__gunzip(const u8 *in, u64 in_len, u64 max, const char *name, u8 **buf, u64 *len,
		 struct lkvm_err *err);

/* A file to load into guest RAM. */
struct guest_file {
	const char *path;
	int fd;
	const u8 *map;		/* the whole file, read-only (NULL when empty) */
	u64 size;
	bool gz;		/* starts with the gzip magic (RFC 1952) */
};

/*
 * Opens and maps @path (a regular file) read-only; nothing is read yet.
 * Errors name the file.  Undo: file__close_guest().
 */
int file__open_guest(const char *path, struct guest_file *f, struct lkvm_err *err);
void file__close_guest(struct guest_file *f);

/* Copies bytes [@off, @off + @len) of @f to @dst with pread(): -EIO on a short file. */
int file__pread_into(const struct guest_file *f, u64 off, void *dst, u64 len,
		     struct lkvm_err *err);

/* A gzip stream being inflated from a guest file, in fixed-size input chunks. */
struct gunzip {
	const struct guest_file *f;
	void *zs;		/* z_stream */
	u8 *in;			/* the input chunk */
	u64 in_off;		/* file offset of the next chunk */
	u64 out;		/* bytes produced so far */
	bool done;		/* the last member ended */
};

int file__gunzip_open(const struct guest_file *f, struct gunzip *g, struct lkvm_err *err);
/*
 * Inflates at most @cap more bytes into @dst; *@got says how many.  At the
 * end of the stream (every member, RFC 1952 2.2) g->done is set; bytes
 * after the last member that are not a gzip member are ignored, as
 * gzip(1) does.  With @cap bytes produced and the stream not done, the
 * output is larger than the room: the caller decides (-EFBIG, usually).
 * A corrupt or truncated stream is -EINVAL naming the file.
 */
int file__gunzip_read(struct gunzip *g, u8 *dst, u64 cap, u64 *got, struct lkvm_err *err);
void file__gunzip_close(struct gunzip *g);

#endif /* LKVM_FILE_H */
