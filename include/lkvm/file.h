/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading boot images from the host: whole files, transparently inflating
 * gzip (Image.gz, compressed payloads) with zlib.
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

#endif /* LKVM_FILE_H */
