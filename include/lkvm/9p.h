/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * 9P2000.L, the file protocol behind virtio-9p (Linux's v9fs: "mount -t 9p
 * -o trans=virtio,version=9p2000.L TAG /mnt"), in two layers:
 *
 *   wire    (virtio/9p-proto.c)  decoding T-messages into struct p9_msg and
 *                                encoding R-messages: pure, no system calls,
 *                                every length and count checked against the
 *                                message and the negotiated msize.
 *   server  (virtio/9p-fs.c)     the fids and each operation on a host
 *                                directory, every path resolved beneath it
 *                                with openat2(RESOLVE_BENEATH).
 *
 * Both take a whole message in a buffer and give a whole reply in one, so a
 * test or a fuzz harness drives them without virtio; virtio/9p.c moves the
 * messages between the guest's rings and these buffers.
 *
 * The protocol: Plan 9's intro(5) and its 9P2000 messages, with the
 * 9P2000.L additions as Linux's client (net/9p/client.c) and the diod
 * protocol description (protocol.md) define them.  Integers are
 * little-endian; a string is a 2-byte length and that many bytes, no NUL;
 * a qid is type[1] version[4] path[8].  Every message starts with
 * size[4] type[1] tag[2], size counting the whole message.  Errors are
 * Rlerror ecode[4], a Linux errno (the same numbers on every Linux arch).
 */
#ifndef LKVM_9P_H
#define LKVM_9P_H

#include <stdbool.h>
#include <stddef.h>

#include "lkvm/util.h"

/* Message types (T = request, R = reply: type + 1). */
enum p9_type {
	P9_TLERROR = 6,		/* not a valid request: only its reply exists */
	P9_RLERROR,
	P9_TSTATFS = 8,
	P9_RSTATFS,
	P9_TLOPEN = 12,
	P9_RLOPEN,
	P9_TLCREATE = 14,
	P9_RLCREATE,
	P9_TSYMLINK = 16,
	P9_RSYMLINK,
	P9_TMKNOD = 18,
	P9_RMKNOD,
	P9_TRENAME = 20,
	P9_RRENAME,
	P9_TREADLINK = 22,
	P9_RREADLINK,
	P9_TGETATTR = 24,
	P9_RGETATTR,
	P9_TSETATTR = 26,
	P9_RSETATTR,
	P9_TXATTRWALK = 30,
	P9_RXATTRWALK,
	P9_TXATTRCREATE = 32,
	P9_RXATTRCREATE,
	P9_TREADDIR = 40,
	P9_RREADDIR,
	P9_TFSYNC = 50,
	P9_RFSYNC,
	P9_TLOCK = 52,
	P9_RLOCK,
	P9_TGETLOCK = 54,
	P9_RGETLOCK,
	P9_TLINK = 70,
	P9_RLINK,
	P9_TMKDIR = 72,
	P9_RMKDIR,
	P9_TRENAMEAT = 74,
	P9_RRENAMEAT,
	P9_TUNLINKAT = 76,
	P9_RUNLINKAT,
	P9_TVERSION = 100,
	P9_RVERSION,
	P9_TAUTH = 102,
	P9_RAUTH,
	P9_TATTACH = 104,
	P9_RATTACH,
	P9_TFLUSH = 108,
	P9_RFLUSH,
	P9_TWALK = 110,
	P9_RWALK,
	P9_TREAD = 116,
	P9_RREAD,
	P9_TWRITE = 118,
	P9_RWRITE,
	P9_TCLUNK = 120,
	P9_RCLUNK,
	P9_TREMOVE = 122,
	P9_RREMOVE,
};

#define P9_HDR_SIZE		7	/* size[4] type[1] tag[2] */
#define P9_QID_SIZE		13
#define P9_IOHDR_SIZE		11	/* Rread's header: size type tag count[4] */
#define P9_NOTAG		0xffffU
#define P9_NOFID		0xffffffffU
#define P9_MAXWELEM		16	/* names per Twalk (intro(5)) */
#define P9_VERSION_L		"9P2000.L"
/* The smallest msize: Linux's client refuses less, and a reply must fit. */
#define P9_MIN_MSIZE		4096U

/* qid.type bits (intro(5)). */
#define P9_QTDIR		0x80
#define P9_QTSYMLINK		0x02
#define P9_QTFILE		0x00

/* Tgetattr request_mask / Rgetattr valid: the fields of a struct stat. */
#define P9_GETATTR_BASIC	0x000007ffULL

/* Tsetattr valid bits. */
#define P9_SETATTR_MODE		0x00000001U
#define P9_SETATTR_UID		0x00000002U
#define P9_SETATTR_GID		0x00000004U
#define P9_SETATTR_SIZE		0x00000008U
#define P9_SETATTR_ATIME	0x00000010U
#define P9_SETATTR_MTIME	0x00000020U
#define P9_SETATTR_CTIME	0x00000040U
#define P9_SETATTR_ATIME_SET	0x00000080U
#define P9_SETATTR_MTIME_SET	0x00000100U

/*
 * Tlopen/Tlcreate flags: Linux's open flags as x86 and the generic ABI
 * number them, whatever the host's (arm64 numbers O_DIRECTORY and friends
 * differently), so they are translated, never passed through.
 */
#define P9_DOTL_ACCMODE		00000003U
#define P9_DOTL_CREATE		00000100U
#define P9_DOTL_EXCL		00000200U
#define P9_DOTL_NOCTTY		00000400U
#define P9_DOTL_TRUNC		00001000U
#define P9_DOTL_APPEND		00002000U
#define P9_DOTL_NONBLOCK	00004000U
#define P9_DOTL_DSYNC		00010000U
#define P9_DOTL_FASYNC		00020000U
#define P9_DOTL_DIRECT		00040000U
#define P9_DOTL_LARGEFILE	00100000U
#define P9_DOTL_DIRECTORY	00200000U
#define P9_DOTL_NOFOLLOW	00400000U
#define P9_DOTL_NOATIME		01000000U
#define P9_DOTL_CLOEXEC		02000000U
#define P9_DOTL_SYNC		04000000U

/* Tunlinkat flags: AT_REMOVEDIR, 0x200 on every Linux arch. */
#define P9_AT_REMOVEDIR		0x200U

/* Tlock / Tgetlock. */
#define P9_LOCK_TYPE_RDLCK	0
#define P9_LOCK_TYPE_WRLCK	1
#define P9_LOCK_TYPE_UNLCK	2
#define P9_LOCK_SUCCESS		0

struct p9_qid {
	u8 type;
	u32 version;
	u64 path;
};

/* A string of a decoded message: points into the message, not NUL-terminated. */
struct p9_str {
	const char *s;
	u16 len;
};

/* A decoded T-message.  Its strings and write data point into the message buffer. */
struct p9_msg {
	u8 type;
	u16 tag;
	union {
		struct { u32 msize; struct p9_str version; } version;
		struct { u32 afid; struct p9_str uname, aname; } auth;
		struct { u32 fid, afid; struct p9_str uname, aname; u32 n_uname; } attach;
		struct { u16 oldtag; } flush;
		struct { u32 fid, newfid; u16 nwname; struct p9_str wname[P9_MAXWELEM]; } walk;
		/* Tclunk, Tremove, Tstatfs, Treadlink */
		struct { u32 fid; } fid;
		struct { u32 fid; u64 mask; } getattr;
		struct {
			u32 fid, valid, mode, uid, gid;
			u64 size, atime_sec, atime_nsec, mtime_sec, mtime_nsec;
		} setattr;
		struct { u32 fid, flags; } lopen;
		struct { u32 fid; struct p9_str name; u32 flags, mode, gid; } lcreate;
		/* Tread, Treaddir */
		struct { u32 fid; u64 offset; u32 count; } read;
		struct { u32 fid; u64 offset; u32 count; const u8 *data; } write;
		struct { u32 dfid; struct p9_str name; u32 mode, gid; } mkdir;
		struct { u32 dfid; struct p9_str name; u32 flags; } unlinkat;
		struct { u32 olddfid; struct p9_str oldname; u32 newdfid; struct p9_str newname; } renameat;
		struct { u32 fid, dfid; struct p9_str name; } rename;
		struct { u32 dfid; struct p9_str name, target; u32 gid; } symlink;
		struct { u32 dfid, fid; struct p9_str name; } link;
		struct { u32 dfid; struct p9_str name; u32 mode, major, minor, gid; } mknod;
		struct { u32 fid, datasync; } fsync;
		struct { u32 fid, newfid; struct p9_str name; } xattrwalk;
		struct { u32 fid; struct p9_str name; u64 size; u32 flags; } xattrcreate;
		struct {
			u32 fid;
			u8 type;
			u32 flags;
			u64 start, length;
			u32 proc_id;
			struct p9_str client_id;
		} lock;
		struct {
			u32 fid;
			u8 type;
			u64 start, length;
			u32 proc_id;
			struct p9_str client_id;
		} getlock;
	};
};

/* ---- wire format (virtio/9p-proto.c) ------------------------------------ */

/*
 * Reads the header of the message in [@buf, @buf + @len): its size, type
 * and tag.  Returns 0, or -EPROTO if @len is shorter than a header or the
 * size field is below P9_HDR_SIZE or beyond @len (the message is not all
 * there).  The type and tag are filled in whenever @len holds them, so a
 * reply can name the tag even of a broken message.
 */
int p9__parse_header(const u8 *buf, size_t len, u32 *size, u8 *type, u16 *tag);

/*
 * Decodes the T-message in [@buf, @buf + @len) into @m, for a session whose
 * msize is @msize.  Checks: the header (p9__parse_header), size <= @msize,
 * every field and string inside the message, nothing left over after the
 * last field, Twalk's nwname <= P9_MAXWELEM, Twrite's count equal to the
 * bytes that follow it.  Strings are not checked for content (see
 * p9__name_ok).  Returns 0; -EPROTO for a malformed message, -EMSGSIZE
 * for one longer than @msize, -EOPNOTSUPP for a type this server does not
 * take (an R-message, 9P2000 or 9P2000.u requests, Tlerror).  m->type and
 * m->tag are set whenever the header could be read, also on failure.
 */
int p9__decode(const u8 *buf, size_t len, u32 msize, struct p9_msg *m);

/*
 * Whether @s can be one path component created, looked up or removed in a
 * directory: 1..255 bytes, no '/', no NUL and, unless @dots, neither "."
 * nor "..".  Returns 0 or -errno: -EINVAL (empty, '/', NUL, a dot name),
 * -ENAMETOOLONG (more than NAME_MAX bytes).
 */
int p9__name_ok(struct p9_str s, bool dots);

/* Whether @s is exactly the NUL-terminated @lit. */
bool p9__str_is(struct p9_str s, const char *lit);

/*
 * A reply under construction, in a caller's buffer of @cap bytes: the
 * header's room is kept at the start; p9__put_*() append fields, and any
 * field that does not fit sets @overflow (and appends nothing more).
 */
struct p9_buf {
	u8 *p;
	size_t len;
	size_t cap;
	bool overflow;
};

/* Starts a reply in @p (@cap bytes): len = P9_HDR_SIZE; overflow if @cap is smaller. */
void p9__buf_init(struct p9_buf *b, u8 *p, size_t cap);
void p9__put_u8(struct p9_buf *b, u8 v);
void p9__put_u16(struct p9_buf *b, u16 v);
void p9__put_u32(struct p9_buf *b, u32 v);
void p9__put_u64(struct p9_buf *b, u64 v);
void p9__put_str(struct p9_buf *b, const char *s, size_t len);
void p9__put_qid(struct p9_buf *b, const struct p9_qid *q);
/* Room for @len raw bytes at the end (NULL, overflow set, if they don't fit); appends them. */
u8 *p9__put_raw(struct p9_buf *b, size_t len);

/*
 * Writes the header (size = b->len, @type, @tag) and returns the reply's
 * length; 0 if it overflowed (nothing valid to send).
 */
size_t p9__buf_finish(struct p9_buf *b, u8 type, u16 tag);

/* Rlerror @ecode for @tag in @p (@cap bytes); returns its length (11), 0 if @cap is smaller. */
size_t p9__lerror(u8 *p, size_t cap, u16 tag, u32 ecode);

/* ---- server (virtio/9p-fs.c) -------------------------------------------- */

#define P9_MAX_MSIZE		(512U * 1024)	/* the largest msize Rversion grants */
#define P9_MAX_FIDS		4096U		/* fids per session; then EMFILE */

struct p9_fid;

/* What a server counted (for tests and the device's exit log). */
struct p9_stats {
	u64 requests;		/* messages handled */
	u64 errors;		/* answered with Rlerror */
	u64 malformed;		/* of which could not be decoded (EPROTO, EMSGSIZE, EOPNOTSUPP) */
	u64 bytes_read;		/* Rread payload */
	u64 bytes_written;	/* Twrite payload written */
};

/* One share: a host directory and the session a driver has with it. */
struct p9_server {
	int root_fd;		/* O_PATH of the shared directory */
	bool ro;		/* refuse every change (EROFS) */
	u32 max_msize;		/* what Rversion grants at most */
	u32 msize;		/* negotiated; 0 before Tversion */
	unsigned int max_fids;
	unsigned int nr_fids;
	struct p9_fid *fid_hash[256];
	struct p9_stats st;
};

/*
 * Opens the share @dir (a directory; it stays open, not its path: a later
 * rename of @dir on the host does not matter) for @s, read-only if @ro.
 * Checks that openat2() exists (Linux >= 5.6).  Returns 0, or -errno with
 * @err naming @dir: not there, not a directory, no openat2.
 */
int p9_server__init(struct p9_server *s, const char *dir, bool ro, struct lkvm_err *err);

/* Clunks every fid and closes the share (@s may be re-inited). */
void p9_server__fini(struct p9_server *s);

/*
 * Ends the session: every fid clunked, msize back to 0, as a new Tversion
 * does (virtio/9p.c calls it when the driver resets the device).
 */
void p9_server__reset(struct p9_server *s);

/*
 * Handles one request, [@req, @req + @len), and writes its reply to @rep,
 * which has room for @cap bytes (the reply never exceeds MIN(@cap, msize):
 * Rread and Treaddir counts shrink to fit).  Runs the operation on the
 * host synchronously.  Returns the reply's length, or 0 when there is
 * nothing to answer: the message is too short to carry a tag, or @cap
 * cannot hold even an Rlerror.
 */
size_t p9_server__handle(struct p9_server *s, const u8 *req, size_t len, u8 *rep, size_t cap);

#endif /* LKVM_9P_H */
