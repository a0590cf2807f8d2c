// SPDX-License-Identifier: GPL-2.0-only
/*
 * The 9P2000.L server of a virtio-9p share (include/lkvm/9p.h): the fids
 * of a session and each operation on the host directory.  Synchronous:
 * every request runs to completion on the caller's thread (the device's
 * I/O thread), so requests are answered in order and Tflush always finds
 * its request answered already.
 *
 * Confinement.  The guest is hostile; the share's directory is held open
 * (root_fd) and every path the server touches is resolved from it by
 * openat2() with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS (which implies
 * RESOLVE_NO_MAGICLINKS), O_NOFOLLOW: no "..", no absolute path, no symlink
 * and no /proc magic link can leave the directory, and the server follows
 * no symlink at all, anywhere in a path (9P clients resolve symlinks
 * themselves: Treadlink, then a walk of the target in their own namespace).
 * Names from the guest are single components (p9__name_ok: no '/', no
 * NUL; "." and ".." only in Twalk, handled here by the path, never by the
 * host); operations that create, remove or rename act on (directory fd,
 * name) with the *at() calls, so a rename or link can only move a file
 * between two directories that are both beneath the share.
 *
 * A fid is a path relative to the share (the root is ""), plus an fd once
 * it is opened: a walked fid costs no file descriptor, so a guest's fids
 * (bounded by max_fids) can't exhaust lkvm's, and a rename the guest makes
 * is applied to the paths of the fids beneath it.  An open fid keeps
 * working on its fd whatever happens to its path (an unlinked open file
 * still reads and stats).  A rename made on the host under a walked fid
 * makes that fid see the new occupant of its path: still beneath the share.
 *
 * Files are created as lkvm's user (the guest's uid and gid in the
 * requests are ignored, Tsetattr's chown is passed on and the host kernel
 * decides), without set-user-ID or set-group-ID bits (never set, also not by
 * Tsetattr); device nodes are neither created (Tmknod: EPERM) nor opened
 * (EACCES); FIFOs open non-blocking and reads are pread() (ESPIPE on a
 * FIFO), so no request ever waits for a writer and stalls the I/O thread.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lkvm/9p.h"

#ifndef SYS_openat2
#define SYS_openat2		437	/* the same number on every Linux arch */
#endif

#define P9_RESOLVE		(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
#define P9_MODE_MASK		01777U	/* permissions and sticky; never S_ISUID, S_ISGID */
#define P9_DIRBUF		8192

struct p9_fid {
	struct p9_fid *next;	/* hash chain */
	u32 fid;
	int fd;			/* the opened file or directory; -1 while only walked */
	bool dir;		/* fd is a directory (Treaddir) */
	char *path;		/* relative to the share: "" is its root */
};

/* ---- paths and the host ---------------------------------------------------- */

/* openat2 from @dirfd with the confinement flags; *@fd on success.  Returns 0 or -errno. */
static int open_beneath(int dirfd, const char *path, int flags, mode_t mode, int *fd)
{
	struct open_how how = {
		.flags = (u64)(flags | O_CLOEXEC | O_NOFOLLOW),
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = P9_RESOLVE,
	};
	long r;

	*fd = -1;
	do {
		r = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno ? -errno : -EIO;
	*fd = (int)r;
	return 0;
}

/* An O_PATH fd for @path (relative to the share, "" its root), not following a final symlink. */
static int resolve(const struct p9_server *s, const char *path, int extra, int *fd)
{
	return open_beneath(s->root_fd, path[0] ? path : ".", O_PATH | extra, 0, fd);
}

static int fstat_err(int fd, struct stat *st)
{
	return fstat(fd, st) < 0 ? -errno : 0;
}

static int stat_path(const struct p9_server *s, const char *path, struct stat *st)
{
	int fd, r = resolve(s, path, 0, &fd);

	if (r)
		return r;
	r = fstat_err(fd, st);
	close(fd);
	return r;
}

static struct p9_qid qid_of(const struct stat *st)
{
	struct p9_qid q = { .type = P9_QTFILE, .version = 0, .path = st->st_ino };

	if (S_ISDIR(st->st_mode))
		q.type = P9_QTDIR;
	else if (S_ISLNK(st->st_mode))
		q.type = P9_QTSYMLINK;
	return q;
}

static void put_stat_qid(struct p9_buf *b, const struct stat *st)
{
	struct p9_qid q = qid_of(st);

	p9__put_qid(b, &q);
}

/* "@parent/@name" (or @name under the root) into a new string; NULL with *@r set on failure. */
static char *join(const char *parent, struct p9_str name, int *r)
{
	size_t pl = strlen(parent), n = pl + (pl ? 1 : 0) + name.len;
	char *p;

	if (n >= PATH_MAX) {
		*r = -ENAMETOOLONG;
		return NULL;
	}
	p = malloc(n + 1);
	if (!p) {
		*r = -ENOMEM;
		return NULL;
	}
	memcpy(p, parent, pl);
	if (pl)
		p[pl++] = '/';
	memcpy(p + pl, name.s, name.len);
	p[n] = '\0';
	return p;
}

/* A NUL-terminated copy of a checked name (at most NAME_MAX bytes). */
static void cstr(struct p9_str s, char out[NAME_MAX + 1])
{
	size_t n = MIN(s.len, (u16)NAME_MAX);

	memcpy(out, s.s, n);
	out[n] = '\0';
}

/*
 * The directory holding @path and its last component: an O_PATH fd of
 * the parent in *@dirfd and the name in @base.  The root has no parent
 * the guest may see: -EBUSY (rename, remove, link of the share itself).
 */
static int parent_of(const struct p9_server *s, const char *path, int *dirfd,
		     char base[NAME_MAX + 1])
{
	const char *slash = strrchr(path, '/');
	char parent[PATH_MAX];
	size_t pl;

	*dirfd = -1;
	base[0] = '\0';
	if (!path[0])
		return -EBUSY;
	if (!slash) {
		snprintf(base, NAME_MAX + 1, "%s", path);
		return resolve(s, "", O_DIRECTORY, dirfd);
	}
	pl = (size_t)(slash - path);
	memcpy(parent, path, pl);
	parent[pl] = '\0';
	snprintf(base, NAME_MAX + 1, "%s", slash + 1);
	return resolve(s, parent, O_DIRECTORY, dirfd);
}

/* Tlopen/Tlcreate flags to the host's; -EINVAL for an access mode that doesn't exist. */
static int host_flags(u32 f, int *out)
{
	int o = (int)(f & P9_DOTL_ACCMODE);

	if (o == 3)
		return -EINVAL;
	if (f & P9_DOTL_TRUNC)
		o |= O_TRUNC;
	if (f & P9_DOTL_APPEND)
		o |= O_APPEND;
	if (f & P9_DOTL_EXCL)
		o |= O_EXCL;
	if (f & P9_DOTL_DSYNC)
		o |= O_DSYNC;
	if (f & P9_DOTL_SYNC)
		o |= O_SYNC;
	if (f & P9_DOTL_DIRECTORY)
		o |= O_DIRECTORY;
	/*
	 * Left out: NOATIME (only the owner may), DIRECT (the device copies
	 * through its own buffers), and CLOEXEC, NOCTTY, NONBLOCK, NOFOLLOW,
	 * LARGEFILE, FASYNC, which the server sets its own way or which mean
	 * nothing here.
	 */
	*out = o;
	return 0;
}

static bool writes(int hostflags)
{
	return (hostflags & O_ACCMODE) != O_RDONLY || (hostflags & O_TRUNC);
}

/* ---- fids ------------------------------------------------------------------ */

static unsigned int fid_bucket(u32 fid)
{
	return (fid * 2654435761U) >> 24;
}

static struct p9_fid *fid_get(const struct p9_server *s, u32 fid)
{
	for (struct p9_fid *f = s->fid_hash[fid_bucket(fid)]; f; f = f->next)
		if (f->fid == fid)
			return f;
	return NULL;
}

/* A new fid @fid naming @path (ownership passes, even on failure). */
static int fid_new(struct p9_server *s, u32 fid, char *path, struct p9_fid **out)
{
	struct p9_fid *f;

	if (fid == P9_NOFID || fid_get(s, fid)) {
		free(path);
		return fid == P9_NOFID ? -EINVAL : -EEXIST;
	}
	if (s->nr_fids >= s->max_fids) {
		free(path);
		return -EMFILE;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		free(path);
		return -ENOMEM;
	}
	f->fid = fid;
	f->fd = -1;
	f->path = path;
	f->next = s->fid_hash[fid_bucket(fid)];
	s->fid_hash[fid_bucket(fid)] = f;
	s->nr_fids++;
	if (out)
		*out = f;
	return 0;
}

static void fid_free(struct p9_fid *f)
{
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f);
}

static int fid_clunk(struct p9_server *s, u32 fid)
{
	struct p9_fid **pp = &s->fid_hash[fid_bucket(fid)];

	for (; *pp; pp = &(*pp)->next) {
		struct p9_fid *f = *pp;

		if (f->fid == fid) {
			*pp = f->next;
			fid_free(f);
			s->nr_fids--;
			return 0;
		}
	}
	return -EBADF;
}

static void fids_clear(struct p9_server *s)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(s->fid_hash); i++) {
		while (s->fid_hash[i]) {
			struct p9_fid *f = s->fid_hash[i];

			s->fid_hash[i] = f->next;
			fid_free(f);
		}
	}
	s->nr_fids = 0;
}

/* After a rename of @from to @to: every fid at @from or beneath it follows. */
static void fids_renamed(struct p9_server *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to);

	for (unsigned int i = 0; i < ARRAY_SIZE(s->fid_hash); i++) {
		for (struct p9_fid *f = s->fid_hash[i]; f; f = f->next) {
			size_t pl = strlen(f->path);
			char *n;

			if (strncmp(f->path, from, fl) != 0 || (f->path[fl] && f->path[fl] != '/'))
				continue;
			if (tl + pl - fl >= PATH_MAX)
				continue;	/* too deep now: its next use fails */
			n = malloc(tl + pl - fl + 1);
			if (!n)
				continue;
			memcpy(n, to, tl);
			memcpy(n + tl, f->path + fl, pl - fl + 1);
			free(f->path);
			f->path = n;
		}
	}
}

/* The fid @id in @var, or return -EBADF. */
#define GET_FID(var, s, id)						\
	do {								\
		(var) = fid_get((s), (id));				\
		if (!(var))						\
			return -EBADF;					\
	} while (0)

/* ---- session ----------------------------------------------------------------- */

static int op_version(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b)
{
	u32 msize = MIN(m->version.msize, s->max_msize);

	/* A new session: whatever the old one had is gone (intro(5), version(5)). */
	fids_clear(s);
	s->msize = 0;
	if (msize < P9_MIN_MSIZE)
		return -EINVAL;
	p9__put_u32(b, msize);
	if (!p9__str_is(m->version.version, P9_VERSION_L)) {
		/* version(5): an unknown version is answered "unknown", not with an error. */
		p9__put_str(b, "unknown", 7);
		return 0;
	}
	p9__put_str(b, P9_VERSION_L, strlen(P9_VERSION_L));
	s->msize = msize;
	return 0;
}

static int op_attach(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b)
{
	struct stat st;
	char *root;
	int r;

	/* One tree per share: aname is not looked at, nor uname (see the top of the file). */
	r = stat_path(s, "", &st);
	if (r)
		return r;
	root = strdup("");
	if (!root)
		return -ENOMEM;
	r = fid_new(s, m->attach.fid, root, NULL);
	if (r)
		return r;
	put_stat_qid(b, &st);
	return 0;
}

/* ---- walking ----------------------------------------------------------------- */

/* The last component of @path removed, in place ("" stays ""). */
static void path_up(char *path)
{
	char *slash = strrchr(path, '/');

	if (slash)
		*slash = '\0';
	else
		path[0] = '\0';
}

/*
 * One Twalk step from @cur (an O_PATH fd of @path): @name is looked up
 * beneath it; ".." is the path's parent, never above the share's root.
 * Replaces *@cur with the new fd, @path with the new path; the new qid
 * in *@q.  Returns 0 or -errno (then *@cur is unchanged).
 */
static int walk_one(const struct p9_server *s, int *cur, char *path, struct p9_str name,
		    struct p9_qid *q)
{
	struct stat st;
	size_t pl = strlen(path);
	int r, fd;

	r = p9__name_ok(name, true);
	if (r)
		return r;
	r = fstat_err(*cur, &st);
	if (r)
		return r;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (p9__str_is(name, ".")) {
		*q = qid_of(&st);
		return 0;
	}
	if (p9__str_is(name, "..")) {
		char up[PATH_MAX];

		memcpy(up, path, pl + 1);
		path_up(up);
		r = resolve(s, up, O_DIRECTORY, &fd);
		if (r)
			return r;
		memcpy(path, up, strlen(up) + 1);
	} else {
		char n[NAME_MAX + 1];

		if (pl + (pl ? 1 : 0) + name.len >= PATH_MAX)
			return -ENAMETOOLONG;
		cstr(name, n);
		r = open_beneath(*cur, n, O_PATH, 0, &fd);
		if (r)
			return r;
		if (pl)
			path[pl++] = '/';
		memcpy(path + pl, n, name.len + 1);
	}
	r = fstat_err(fd, &st);
	if (r) {
		close(fd);
		return r;
	}
	close(*cur);
	*cur = fd;
	*q = qid_of(&st);
	return 0;
}

static int op_walk(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b)
{
	struct p9_qid qids[P9_MAXWELEM];
	char path[PATH_MAX];
	struct p9_fid *f;
	unsigned int n = 0;
	int r = 0, cur;

	GET_FID(f, s, m->walk.fid);
	if (m->walk.newfid != m->walk.fid && fid_get(s, m->walk.newfid))
		return -EEXIST;
	snprintf(path, sizeof(path), "%s", f->path);
	if (m->walk.nwname) {
		r = resolve(s, path, 0, &cur);
		if (r)
			return r;
		for (; n < m->walk.nwname; n++) {
			r = walk_one(s, &cur, path, m->walk.wname[n], &qids[n]);
			if (r)
				break;
		}
		close(cur);
		/* walk(5): the first name failing is an error; a later one, a short Rwalk. */
		if (n == 0)
			return r;
	}
	if (n == m->walk.nwname) {
		char *p = strdup(path);

		if (!p)
			return -ENOMEM;
		if (m->walk.newfid == m->walk.fid) {
			free(f->path);
			f->path = p;
		} else {
			r = fid_new(s, m->walk.newfid, p, NULL);
			if (r)
				return r;
		}
	}
	p9__put_u16(b, (u16)n);
	for (unsigned int i = 0; i < n; i++)
		p9__put_qid(b, &qids[i]);
	return 0;
}

static int op_clunk(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b __unused)
{
	return fid_clunk(s, m->fid.fid);
}

/* ---- attributes ------------------------------------------------------------ */

static int fid_stat(const struct p9_server *s, const struct p9_fid *f, struct stat *st)
{
	return f->fd >= 0 ? fstat_err(f->fd, st) : stat_path(s, f->path, st);
}

static int op_getattr(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b)
{
	struct p9_qid q;
	struct stat st;
	struct p9_fid *f;
	int r;

	GET_FID(f, s, m->getattr.fid);
	r = fid_stat(s, f, &st);
	if (r)
		return r;
	q = qid_of(&st);
	p9__put_u64(b, P9_GETATTR_BASIC);
	p9__put_qid(b, &q);
	p9__put_u32(b, st.st_mode);
	p9__put_u32(b, st.st_uid);
	p9__put_u32(b, st.st_gid);
	p9__put_u64(b, st.st_nlink);
	p9__put_u64(b, st.st_rdev);
	p9__put_u64(b, (u64)st.st_size);
	p9__put_u64(b, (u64)st.st_blksize);
	p9__put_u64(b, (u64)st.st_blocks);
	p9__put_u64(b, (u64)st.st_atim.tv_sec);
	p9__put_u64(b, (u64)st.st_atim.tv_nsec);
	p9__put_u64(b, (u64)st.st_mtim.tv_sec);
	p9__put_u64(b, (u64)st.st_mtim.tv_nsec);
	p9__put_u64(b, (u64)st.st_ctim.tv_sec);
	p9__put_u64(b, (u64)st.st_ctim.tv_nsec);
	for (unsigned int i = 0; i < 4; i++)
		p9__put_u64(b, 0);	/* btime sec and nsec, gen, data_version: not valid */
	return 0;
}

static struct timespec set_time(bool given, bool set, u64 sec, u64 nsec)
{
	if (!given)
		return (struct timespec){ .tv_nsec = UTIME_OMIT };
	if (!set)
		return (struct timespec){ .tv_nsec = UTIME_NOW };
	return (struct timespec){ .tv_sec = (time_t)sec, .tv_nsec = (long)nsec };
}

static int truncate_fid(const struct p9_server *s, const struct p9_fid *f, u64 size)
{
	int fd, r;

	if (size > (u64)INT64_MAX)
		return -EFBIG;
	if (f->fd >= 0 && !f->dir && ftruncate(f->fd, (off_t)size) == 0)
		return 0;
	r = open_beneath(s->root_fd, f->path[0] ? f->path : ".", O_WRONLY | O_NONBLOCK | O_NOCTTY,
			 0, &fd);
	if (r)
		return r;
	r = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static int op_setattr(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b __unused)
{
	u32 v = m->setattr.valid;
	char base[NAME_MAX + 1];
	struct p9_fid *f;
	int dirfd, r = 0;

	GET_FID(f, s, m->setattr.fid);
	if (s->ro)
		return -EROFS;
	if (f->path[0]) {
		r = parent_of(s, f->path, &dirfd, base);
	} else {
		snprintf(base, sizeof(base), ".");
		r = resolve(s, "", O_DIRECTORY, &dirfd);
	}
	if (r)
		return r;
	/* (fd, name) with AT_SYMLINK_NOFOLLOW: the file itself, never where a symlink points. */
	if ((v & P9_SETATTR_MODE) &&
	    fchmodat(dirfd, base, m->setattr.mode & P9_MODE_MASK, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (!r && (v & (P9_SETATTR_UID | P9_SETATTR_GID)) &&
	    fchownat(dirfd, base, (v & P9_SETATTR_UID) ? m->setattr.uid : (uid_t)-1,
		     (v & P9_SETATTR_GID) ? m->setattr.gid : (gid_t)-1, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (!r && (v & P9_SETATTR_SIZE))
		r = truncate_fid(s, f, m->setattr.size);
	if (!r && (v & (P9_SETATTR_ATIME | P9_SETATTR_MTIME))) {
		struct timespec ts[2] = {
			set_time(v & P9_SETATTR_ATIME, v & P9_SETATTR_ATIME_SET, m->setattr.atime_sec,
				 m->setattr.atime_nsec),
			set_time(v & P9_SETATTR_MTIME, v & P9_SETATTR_MTIME_SET, m->setattr.mtime_sec,
				 m->setattr.mtime_nsec),
		};

		if (utimensat(dirfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
	}
	close(dirfd);
	return r;
}

static int op_statfs(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b)
{
	struct statfs sf;
	struct p9_fid *f;
	u64 fsid;
	int fd, r;

	GET_FID(f, s, m->fid.fid);
	r = resolve(s, f->path, 0, &fd);
	if (r)
		return r;
	r = fstatfs(fd, &sf) < 0 ? -errno : 0;
	close(fd);
	if (r)
		return r;
	memcpy(&fsid, &sf.f_fsid, sizeof(fsid));
	p9__put_u32(b, (u32)sf.f_type);
	p9__put_u32(b, (u32)sf.f_bsize);
	p9__put_u64(b, sf.f_blocks);
	p9__put_u64(b, sf.f_bfree);
	p9__put_u64(b, sf.f_bavail);
	p9__put_u64(b, sf.f_files);
	p9__put_u64(b, sf.f_ffree);
	p9__put_u64(b, fsid);
	p9__put_u32(b, (u32)sf.f_namelen);
	return 0;
}

/* ---- opening, reading, writing -------------------------------------------- */

/* Refuses what a share never opens: symlinks (ELOOP) and device nodes (EACCES). */
static int openable(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return -ELOOP;
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
		return -EACCES;
	return 0;
}

static int op_lopen(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b)
{
	struct stat st;
	struct p9_fid *f;
	int hf, fd, r;

	GET_FID(f, s, m->lopen.fid);
	if (f->fd >= 0)
		return -EBADF;		/* opened already */
	r = host_flags(m->lopen.flags & ~(P9_DOTL_CREATE | P9_DOTL_EXCL), &hf);
	if (r)
		return r;
	if (s->ro && writes(hf))
		return -EROFS;
	/* Look first, so that no device's open() ever runs for the guest. */
	r = stat_path(s, f->path, &st);
	if (!r)
		r = openable(&st);
	if (r)
		return r;
	r = open_beneath(s->root_fd, f->path[0] ? f->path : ".", hf | O_NONBLOCK | O_NOCTTY, 0,
			 &fd);
	if (r)
		return r;
	r = fstat_err(fd, &st);
	if (!r)
		r = openable(&st);
	if (r) {
		close(fd);
		return r;
	}
	f->fd = fd;
	f->dir = S_ISDIR(st.st_mode);
	put_stat_qid(b, &st);
	p9__put_u32(b, 0);	/* iounit: msize decides */
	return 0;
}

/* The fid's directory as an O_PATH fd, for creating in it. */
static int dir_fd(const struct p9_server *s, const struct p9_fid *f, int *fd)
{
	return resolve(s, f->path, O_DIRECTORY, fd);
}

static int op_lcreate(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b)
{
	char n[NAME_MAX + 1], *path;
	struct stat st;
	struct p9_fid *f;
	int hf, dfd, fd, r;

	GET_FID(f, s, m->lcreate.fid);
	if (f->fd >= 0)
		return -EBADF;
	r = p9__name_ok(m->lcreate.name, false);
	if (r)
		return r;
	if (s->ro)
		return -EROFS;
	r = host_flags(m->lcreate.flags & ~P9_DOTL_DIRECTORY, &hf);
	if (r)
		return r;
	path = join(f->path, m->lcreate.name, &r);
	if (!path)
		return r;
	r = dir_fd(s, f, &dfd);
	if (r)
		goto out;
	cstr(m->lcreate.name, n);
	r = open_beneath(dfd, n, hf | O_CREAT | O_NONBLOCK | O_NOCTTY,
			 m->lcreate.mode & P9_MODE_MASK, &fd);
	close(dfd);
	if (r)
		goto out;
	r = fstat_err(fd, &st);
	if (!r)
		r = openable(&st);
	if (r) {
		close(fd);
		goto out;
	}
	/* lcreate: the fid now names the new file, opened. */
	free(f->path);
	f->path = path;
	f->fd = fd;
	f->dir = false;
	put_stat_qid(b, &st);
	p9__put_u32(b, 0);
	return 0;
out:
	free(path);
	return r;
}

static int op_read(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b)
{
	struct p9_fid *f;
	size_t room;
	u32 count;
	ssize_t n;
	u8 *dst;

	GET_FID(f, s, m->read.fid);
	if (f->fd < 0)
		return -EBADF;
	if (f->dir)
		return -EISDIR;
	if (m->read.offset > (u64)INT64_MAX)
		return -EINVAL;
	/* What fits: the reply is at most MIN(msize, the driver's buffer). */
	room = b->cap - b->len;
	if (room < 4)
		return -EMSGSIZE;
	count = (u32)MIN((size_t)m->read.count, room - 4);
	p9__put_u32(b, 0);
	dst = b->p + b->len;
	do {
		n = pread(f->fd, dst, count, (off_t)m->read.offset);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	b->len += (size_t)n;
	/* The count field, now that it is known. */
	{
		u32 le = htole32((u32)n);

		memcpy(dst - 4, &le, 4);
	}
	s->st.bytes_read += (u64)n;
	return 0;
}

static int op_write(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b)
{
	struct p9_fid *f;
	ssize_t n;

	GET_FID(f, s, m->write.fid);
	if (f->fd < 0)
		return -EBADF;
	if (s->ro)
		return -EROFS;
	if (m->write.offset > (u64)INT64_MAX)
		return -EINVAL;
	do {
		n = pwrite(f->fd, m->write.data, m->write.count, (off_t)m->write.offset);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	s->st.bytes_written += (u64)n;
	p9__put_u32(b, (u32)n);
	return 0;
}

static int op_fsync(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b __unused)
{
	struct p9_fid *f;

	GET_FID(f, s, m->fsync.fid);
	if (f->fd < 0)
		return -EBADF;
	if ((m->fsync.datasync ? fdatasync(f->fd) : fsync(f->fd)) < 0)
		return -errno;
	return 0;
}

/* One getdents64 record, as the kernel lays it out. */
struct dirent_rec {
	u64 ino;
	s64 off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

static u8 dtype_qid(unsigned char t)
{
	return t == DT_DIR ? P9_QTDIR : t == DT_LNK ? P9_QTSYMLINK : P9_QTFILE;
}

/*
 * Treaddir: entries from @offset (0, or the offset field of an entry an
 * earlier Rreaddir gave: the host's own directory cookie) while they fit
 * in @count bytes (and in the reply).  An entry that doesn't fit is left
 * for the next Treaddir, which starts at the last entry sent.
 */
static int op_readdir(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b)
{
	_Alignas(8) u8 buf[P9_DIRBUF];
	struct p9_fid *f;
	size_t room, at, used = 0;
	bool full = false;

	GET_FID(f, s, m->read.fid);
	if (f->fd < 0)
		return -EBADF;
	if (!f->dir)
		return -ENOTDIR;
	if (m->read.offset > (u64)INT64_MAX)
		return -EINVAL;
	room = b->cap - b->len;
	if (room < 4)
		return -EMSGSIZE;
	room = MIN(room - 4, (size_t)m->read.count);
	if (lseek(f->fd, (off_t)m->read.offset, SEEK_SET) < 0)
		return -errno;
	p9__put_u32(b, 0);
	at = b->len;
	while (!full) {
		ssize_t n = syscall(SYS_getdents64, f->fd, buf, sizeof(buf));

		if (n < 0) {
			if (used)
				break;	/* what we have, then the error on the next call */
			return -errno;
		}
		if (n == 0)
			break;
		for (ssize_t o = 0; o < n;) {
			const struct dirent_rec *d = (const void *)(buf + o);
			struct p9_qid q = { dtype_qid(d->type), 0, d->ino };
			size_t nl, need;

			if (d->reclen <= offsetof(struct dirent_rec, name) || d->reclen > n - o)
				return -EIO;	/* not what getdents64 gives */
			nl = strnlen(d->name, d->reclen - offsetof(struct dirent_rec, name));
			need = P9_QID_SIZE + 8 + 1 + 2 + nl;
			if (used + need > room) {
				full = true;
				break;
			}
			p9__put_qid(b, &q);
			p9__put_u64(b, (u64)d->off);
			p9__put_u8(b, d->type);
			p9__put_str(b, d->name, nl);
			used += need;
			o += d->reclen;
		}
	}
	if (!used && full)
		return -EINVAL;		/* @count can't hold even one entry */
	{
		u32 le = htole32((u32)used);

		memcpy(b->p + at - 4, &le, 4);
	}
	return 0;
}

/* ---- changing the tree ------------------------------------------------------ */

static int qid_at(int dirfd, const char *name, struct p9_buf *b)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	put_stat_qid(b, &st);
	return 0;
}

/* The directory fid @dfid and a checked new name in it, for the creating ops. */
static int create_at(struct p9_server *s, u32 dfid, struct p9_str name, int *dfd,
		     char n[NAME_MAX + 1])
{
	struct p9_fid *d;
	int r;

	GET_FID(d, s, dfid);
	r = p9__name_ok(name, false);
	if (r)
		return r;
	if (s->ro)
		return -EROFS;
	r = dir_fd(s, d, dfd);
	if (r)
		return r;
	cstr(name, n);
	return 0;
}

static int op_mkdir(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b)
{
	char n[NAME_MAX + 1];
	int dfd, r;

	r = create_at(s, m->mkdir.dfid, m->mkdir.name, &dfd, n);
	if (r)
		return r;
	r = mkdirat(dfd, n, m->mkdir.mode & P9_MODE_MASK) < 0 ? -errno : qid_at(dfd, n, b);
	close(dfd);
	return r;
}

static int op_symlink(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b)
{
	char n[NAME_MAX + 1], target[PATH_MAX];
	struct p9_str t = m->symlink.target;
	int dfd, r;

	/* The target is only a string to the server: never followed here. */
	if (!t.len || memchr(t.s, '\0', t.len))
		return -EINVAL;
	if (t.len >= PATH_MAX)
		return -ENAMETOOLONG;
	r = create_at(s, m->symlink.dfid, m->symlink.name, &dfd, n);
	if (r)
		return r;
	memcpy(target, t.s, t.len);
	target[t.len] = '\0';
	r = symlinkat(target, dfd, n) < 0 ? -errno : qid_at(dfd, n, b);
	close(dfd);
	return r;
}

static int op_mknod(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b)
{
	u32 type = m->mknod.mode & S_IFMT;
	char n[NAME_MAX + 1];
	int dfd, r;

	/* Device nodes would give the guest the host's devices. */
	if (type == S_IFCHR || type == S_IFBLK)
		return -EPERM;
	if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK)
		return -EINVAL;
	r = create_at(s, m->mknod.dfid, m->mknod.name, &dfd, n);
	if (r)
		return r;
	r = mknodat(dfd, n, type | (m->mknod.mode & P9_MODE_MASK), 0) < 0 ? -errno :
	    qid_at(dfd, n, b);
	close(dfd);
	return r;
}

static int op_link(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b __unused)
{
	char n[NAME_MAX + 1], base[NAME_MAX + 1];
	struct p9_fid *f;
	int dfd, sfd, r;

	GET_FID(f, s, m->link.fid);
	r = create_at(s, m->link.dfid, m->link.name, &dfd, n);
	if (r)
		return r;
	r = parent_of(s, f->path, &sfd, base);
	if (!r) {
		/* No AT_SYMLINK_FOLLOW: a symlink is linked, not what it points to. */
		r = linkat(sfd, base, dfd, n, 0) < 0 ? -errno : 0;
		close(sfd);
	}
	close(dfd);
	return r == -EBUSY ? -EPERM : r;
}

static int op_unlinkat(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b __unused)
{
	char n[NAME_MAX + 1];
	int dfd, r;

	if (m->unlinkat.flags & ~P9_AT_REMOVEDIR)
		return -EINVAL;
	r = create_at(s, m->unlinkat.dfid, m->unlinkat.name, &dfd, n);
	if (r)
		return r;
	r = unlinkat(dfd, n, (m->unlinkat.flags & P9_AT_REMOVEDIR) ? AT_REMOVEDIR : 0) < 0 ?
	    -errno : 0;
	close(dfd);
	return r;
}

static int op_remove(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b __unused)
{
	char base[NAME_MAX + 1];
	struct p9_fid *f;
	int dfd, r;

	GET_FID(f, s, m->fid.fid);
	if (s->ro) {
		r = -EROFS;
	} else {
		r = parent_of(s, f->path, &dfd, base);
		if (!r) {
			r = unlinkat(dfd, base, 0) < 0 ? -errno : 0;
			if (r == -EISDIR)
				r = unlinkat(dfd, base, AT_REMOVEDIR) < 0 ? -errno : 0;
			close(dfd);
		}
	}
	/* remove(5): the fid is clunked even if the remove fails. */
	fid_clunk(s, m->fid.fid);
	return r;
}

/* renameat(@ofd/@on -> @nfd/@nn); the fids at the old path follow it to @newpath. */
static int do_rename(struct p9_server *s, int ofd, const char *on, const char *oldpath, int nfd,
		     const char *nn, const char *newpath)
{
	if (renameat(ofd, on, nfd, nn) < 0)
		return -errno;
	fids_renamed(s, oldpath, newpath);
	return 0;
}

static int op_renameat(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b __unused)
{
	char on[NAME_MAX + 1], nn[NAME_MAX + 1], *op = NULL, *np = NULL;
	struct p9_fid *od, *nd;
	int ofd = -1, nfd = -1, r;

	GET_FID(od, s, m->renameat.olddfid);
	GET_FID(nd, s, m->renameat.newdfid);
	r = p9__name_ok(m->renameat.oldname, false);
	if (!r)
		r = p9__name_ok(m->renameat.newname, false);
	if (r)
		return r;
	if (s->ro)
		return -EROFS;
	op = join(od->path, m->renameat.oldname, &r);
	np = op ? join(nd->path, m->renameat.newname, &r) : NULL;
	if (np)
		r = dir_fd(s, od, &ofd);
	if (np && !r)
		r = dir_fd(s, nd, &nfd);
	if (np && !r) {
		cstr(m->renameat.oldname, on);
		cstr(m->renameat.newname, nn);
		r = do_rename(s, ofd, on, op, nfd, nn, np);
	}
	if (ofd >= 0)
		close(ofd);
	if (nfd >= 0)
		close(nfd);
	free(op);
	free(np);
	return r;
}

static int op_rename(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b __unused)
{
	char base[NAME_MAX + 1], nn[NAME_MAX + 1], *np, *op;
	struct p9_fid *f, *d;
	int ofd, nfd, r;

	GET_FID(f, s, m->rename.fid);
	GET_FID(d, s, m->rename.dfid);
	r = p9__name_ok(m->rename.name, false);
	if (r)
		return r;
	if (s->ro)
		return -EROFS;
	np = join(d->path, m->rename.name, &r);
	if (!np)
		return r;
	op = strdup(f->path);
	r = op ? parent_of(s, f->path, &ofd, base) : -ENOMEM;
	if (!r) {
		r = dir_fd(s, d, &nfd);
		if (!r) {
			cstr(m->rename.name, nn);
			r = do_rename(s, ofd, base, op, nfd, nn, np);
			close(nfd);
		}
		close(ofd);
	}
	free(op);
	free(np);
	return r;
}

static int op_readlink(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b)
{
	char target[PATH_MAX];
	struct p9_fid *f;
	ssize_t n;
	int fd, r;

	GET_FID(f, s, m->fid.fid);
	r = resolve(s, f->path, 0, &fd);
	if (r)
		return r;
	n = readlinkat(fd, "", target, sizeof(target));
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r)
		return r;
	p9__put_str(b, target, (size_t)n);
	return 0;
}

/* ---- the rest ----------------------------------------------------------- */

static int op_lock(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b)
{
	struct p9_fid *f;

	/* One guest per share: its kernel arbitrates its own locks; every lock is granted. */
	GET_FID(f, s, m->lock.fid);
	(void)f;
	p9__put_u8(b, P9_LOCK_SUCCESS);
	return 0;
}

static int op_getlock(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b)
{
	struct p9_fid *f;

	GET_FID(f, s, m->getlock.fid);
	(void)f;
	p9__put_u8(b, P9_LOCK_TYPE_UNLCK);
	p9__put_u64(b, m->getlock.start);
	p9__put_u64(b, m->getlock.length);
	p9__put_u32(b, m->getlock.proc_id);
	p9__put_str(b, m->getlock.client_id.s, m->getlock.client_id.len);
	return 0;
}

static int op_flush(struct p9_server *s __unused, const struct p9_msg *m __unused,
		    struct p9_buf *b __unused)
{
	/* Every earlier request has been answered: nothing to cancel (flush(5)). */
	return 0;
}

static int op_xattr(struct p9_server *s __unused, const struct p9_msg *m __unused,
		    struct p9_buf *b __unused)
{
	return -EOPNOTSUPP;
}

typedef int (*p9_op)(struct p9_server *s, const struct p9_msg *m, struct p9_buf *b);

static p9_op op_of(u8 type)
{
	switch (type) {
	case P9_TVERSION: return op_version;
	case P9_TATTACH: return op_attach;
	case P9_TWALK: return op_walk;
	case P9_TCLUNK: return op_clunk;
	case P9_TGETATTR: return op_getattr;
	case P9_TSETATTR: return op_setattr;
	case P9_TSTATFS: return op_statfs;
	case P9_TLOPEN: return op_lopen;
	case P9_TLCREATE: return op_lcreate;
	case P9_TREAD: return op_read;
	case P9_TWRITE: return op_write;
	case P9_TFSYNC: return op_fsync;
	case P9_TREADDIR: return op_readdir;
	case P9_TMKDIR: return op_mkdir;
	case P9_TSYMLINK: return op_symlink;
	case P9_TMKNOD: return op_mknod;
	case P9_TLINK: return op_link;
	case P9_TUNLINKAT: return op_unlinkat;
	case P9_TREMOVE: return op_remove;
	case P9_TRENAMEAT: return op_renameat;
	case P9_TRENAME: return op_rename;
	case P9_TREADLINK: return op_readlink;
	case P9_TLOCK: return op_lock;
	case P9_TGETLOCK: return op_getlock;
	case P9_TFLUSH: return op_flush;
	case P9_TXATTRWALK:
	case P9_TXATTRCREATE:
		return op_xattr;
	}
	return NULL;	/* Tauth: no authentication */
}

size_t p9_server__handle(struct p9_server *s, const u8 *req, size_t len, u8 *rep, size_t cap)
{
	u32 msize = s->msize ? s->msize : s->max_msize;
	struct p9_msg m;
	struct p9_buf b;
	size_t n;
	p9_op op;
	int r;

	s->st.requests++;
	cap = MIN(cap, (size_t)msize);
	if (len < P9_HDR_SIZE || cap < P9_IOHDR_SIZE) {
		/* No tag to answer, or no room for an answer: nothing is done. */
		s->st.malformed += len < P9_HDR_SIZE;
		s->st.errors++;
		return 0;
	}
	r = p9__decode(req, len, msize, &m);
	if (!r && !s->msize && m.type != P9_TVERSION)
		r = -EPROTO;	/* version(5): the first message of a session */
	if (r) {
		s->st.malformed++;
		goto fail;
	}
	op = op_of(m.type);
	if (!op) {
		r = -EOPNOTSUPP;
		goto fail;
	}
	p9__buf_init(&b, rep, cap);
	r = op(s, &m, &b);
	if (!r) {
		n = p9__buf_finish(&b, (u8)(m.type + 1), m.tag);
		if (n)
			return n;
		r = -EMSGSIZE;	/* the reply doesn't fit the driver's buffer */
	}
fail:
	s->st.errors++;
	return p9__lerror(rep, cap, m.tag, (u32)-r);
}

/* ---- the share ------------------------------------------------------------ */

int p9_server__init(struct p9_server *s, const char *dir, bool ro, struct lkvm_err *err)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC };
	long fd;

	memset(s, 0, sizeof(*s));
	s->root_fd = -1;
	s->ro = ro;
	s->max_msize = P9_MAX_MSIZE;
	s->max_fids = P9_MAX_FIDS;
	/* The share itself may be reached through symlinks: it is the host's choice. */
	fd = syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		return seterr(err, ENOSYS, "--9p %s: this host kernel has no openat2() "
			      "(Linux >= 5.6 is needed to confine the guest to the directory)", dir);
	if (fd < 0 && errno == ENOTDIR)
		return seterr(err, ENOTDIR, "--9p %s: not a directory", dir);
	if (fd < 0)
		return seterr(err, errno, "--9p %s: %s", dir, strerror(errno));
	s->root_fd = (int)fd;
	return 0;
}

void p9_server__reset(struct p9_server *s)
{
	fids_clear(s);
	s->msize = 0;
}

void p9_server__fini(struct p9_server *s)
{
	fids_clear(s);
	if (s->root_fd >= 0)
		close(s->root_fd);
	s->root_fd = -1;
}
