// SPDX-License-Identifier: GPL-2.0-only
/*
 * The 9P2000.L wire format (include/lkvm/9p.h): T-messages decoded into a
 * struct p9_msg, R-messages encoded into a caller's buffer.  Pure: no
 * system calls, no allocation, so the guest's bytes can be thrown at it
 * from a unit test or a fuzzer.  Everything it reads comes from the guest
 * and is checked: the size field against the buffer and the msize, every
 * field and string against the size, counts against what follows them.
 * A message must end exactly where its last field does.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "lkvm/9p.h"

#define P9_NAME_MAX		255	/* Linux's NAME_MAX: a name longer can't exist */

/* A cursor over one message; any read past the end sets bad and yields zeros. */
struct rd {
	const u8 *p;
	size_t len;
	size_t off;
	bool bad;
};

static const u8 *take(struct rd *r, size_t n)
{
	const u8 *q;

	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		return NULL;
	}
	q = r->p + r->off;
	r->off += n;
	return q;
}

static u8 get8(struct rd *r)
{
	const u8 *q = take(r, 1);

	return q ? q[0] : 0;
}

static u16 get16(struct rd *r)
{
	const u8 *q = take(r, 2);
	u16 v;

	if (!q)
		return 0;
	memcpy(&v, q, 2);
	return le16toh(v);
}

static u32 get32(struct rd *r)
{
	const u8 *q = take(r, 4);
	u32 v;

	if (!q)
		return 0;
	memcpy(&v, q, 4);
	return le32toh(v);
}

static u64 get64(struct rd *r)
{
	const u8 *q = take(r, 8);
	u64 v;

	if (!q)
		return 0;
	memcpy(&v, q, 8);
	return le64toh(v);
}

static struct p9_str getstr(struct rd *r)
{
	struct p9_str s = { NULL, 0 };
	u16 n = get16(r);
	const u8 *q = take(r, n);

	if (q) {
		s.s = (const char *)q;
		s.len = n;
	} else {
		s.s = "";
	}
	return s;
}

int p9__parse_header(const u8 *buf, size_t len, u32 *size, u8 *type, u16 *tag)
{
	u32 sz;
	u16 t;

	if (len < P9_HDR_SIZE)
		return -EPROTO;
	memcpy(&sz, buf, 4);
	memcpy(&t, buf + 5, 2);
	*size = le32toh(sz);
	*type = buf[4];
	*tag = le16toh(t);
	if (*size < P9_HDR_SIZE || *size > len)
		return -EPROTO;
	return 0;
}

/* The body of each request type; returns false for a type we don't take. */
static bool decode_body(struct rd *r, struct p9_msg *m)
{
	switch (m->type) {
	case P9_TVERSION:
		m->version.msize = get32(r);
		m->version.version = getstr(r);
		return true;
	case P9_TAUTH:
		m->auth.afid = get32(r);
		m->auth.uname = getstr(r);
		m->auth.aname = getstr(r);
		get32(r);	/* n_uname */
		return true;
	case P9_TATTACH:
		m->attach.fid = get32(r);
		m->attach.afid = get32(r);
		m->attach.uname = getstr(r);
		m->attach.aname = getstr(r);
		m->attach.n_uname = get32(r);
		return true;
	case P9_TFLUSH:
		m->flush.oldtag = get16(r);
		return true;
	case P9_TWALK:
		m->walk.fid = get32(r);
		m->walk.newfid = get32(r);
		m->walk.nwname = get16(r);
		if (m->walk.nwname > P9_MAXWELEM) {
			r->bad = true;
			return true;
		}
		for (unsigned int i = 0; i < m->walk.nwname; i++)
			m->walk.wname[i] = getstr(r);
		return true;
	case P9_TCLUNK:
	case P9_TREMOVE:
	case P9_TSTATFS:
	case P9_TREADLINK:
		m->fid.fid = get32(r);
		return true;
	case P9_TGETATTR:
		m->getattr.fid = get32(r);
		m->getattr.mask = get64(r);
		return true;
	case P9_TSETATTR:
		m->setattr.fid = get32(r);
		m->setattr.valid = get32(r);
		m->setattr.mode = get32(r);
		m->setattr.uid = get32(r);
		m->setattr.gid = get32(r);
		m->setattr.size = get64(r);
		m->setattr.atime_sec = get64(r);
		m->setattr.atime_nsec = get64(r);
		m->setattr.mtime_sec = get64(r);
		m->setattr.mtime_nsec = get64(r);
		return true;
	case P9_TLOPEN:
		m->lopen.fid = get32(r);
		m->lopen.flags = get32(r);
		return true;
	case P9_TLCREATE:
		m->lcreate.fid = get32(r);
		m->lcreate.name = getstr(r);
		m->lcreate.flags = get32(r);
		m->lcreate.mode = get32(r);
		m->lcreate.gid = get32(r);
		return true;
	case P9_TREAD:
	case P9_TREADDIR:
		m->read.fid = get32(r);
		m->read.offset = get64(r);
		m->read.count = get32(r);
		return true;
	case P9_TWRITE:
		m->write.fid = get32(r);
		m->write.offset = get64(r);
		m->write.count = get32(r);
		/* The data is the rest of the message, exactly count bytes. */
		m->write.data = take(r, m->write.count);
		return true;
	case P9_TMKDIR:
		m->mkdir.dfid = get32(r);
		m->mkdir.name = getstr(r);
		m->mkdir.mode = get32(r);
		m->mkdir.gid = get32(r);
		return true;
	case P9_TUNLINKAT:
		m->unlinkat.dfid = get32(r);
		m->unlinkat.name = getstr(r);
		m->unlinkat.flags = get32(r);
		return true;
	case P9_TRENAMEAT:
		m->renameat.olddfid = get32(r);
		m->renameat.oldname = getstr(r);
		m->renameat.newdfid = get32(r);
		m->renameat.newname = getstr(r);
		return true;
	case P9_TRENAME:
		m->rename.fid = get32(r);
		m->rename.dfid = get32(r);
		m->rename.name = getstr(r);
		return true;
	case P9_TSYMLINK:
		m->symlink.dfid = get32(r);
		m->symlink.name = getstr(r);
		m->symlink.target = getstr(r);
		m->symlink.gid = get32(r);
		return true;
	case P9_TLINK:
		m->link.dfid = get32(r);
		m->link.fid = get32(r);
		m->link.name = getstr(r);
		return true;
	case P9_TMKNOD:
		m->mknod.dfid = get32(r);
		m->mknod.name = getstr(r);
		m->mknod.mode = get32(r);
		m->mknod.major = get32(r);
		m->mknod.minor = get32(r);
		m->mknod.gid = get32(r);
		return true;
	case P9_TFSYNC:
		m->fsync.fid = get32(r);
		m->fsync.datasync = get32(r);
		return true;
	case P9_TXATTRWALK:
		m->xattrwalk.fid = get32(r);
		m->xattrwalk.newfid = get32(r);
		m->xattrwalk.name = getstr(r);
		return true;
	case P9_TXATTRCREATE:
		m->xattrcreate.fid = get32(r);
		m->xattrcreate.name = getstr(r);
		m->xattrcreate.size = get64(r);
		m->xattrcreate.flags = get32(r);
		return true;
	case P9_TLOCK:
		m->lock.fid = get32(r);
		m->lock.type = get8(r);
		m->lock.flags = get32(r);
		m->lock.start = get64(r);
		m->lock.length = get64(r);
		m->lock.proc_id = get32(r);
		m->lock.client_id = getstr(r);
		return true;
	case P9_TGETLOCK:
		m->getlock.fid = get32(r);
		m->getlock.type = get8(r);
		m->getlock.start = get64(r);
		m->getlock.length = get64(r);
		m->getlock.proc_id = get32(r);
		m->getlock.client_id = getstr(r);
		return true;
	}
	return false;
}

int p9__decode(const u8 *buf, size_t len, u32 msize, struct p9_msg *m)
{
	struct rd r;
	u32 size;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = p9__parse_header(buf, len, &size, &m->type, &m->tag);
	if (len < P9_HDR_SIZE)
		return ret;
	if (ret)
		return size > msize ? -EMSGSIZE : ret;
	if (size > msize)
		return -EMSGSIZE;
	r = (struct rd){ .p = buf, .len = size, .off = P9_HDR_SIZE };
	if (!decode_body(&r, m))
		return -EOPNOTSUPP;
	/* Every field inside the message, and the message ends with the last one. */
	if (r.bad || r.off != r.len)
		return -EPROTO;
	return 0;
}

int p9__name_ok(struct p9_str s, bool dots)
{
	if (!s.len)
		return -EINVAL;
	if (s.len > P9_NAME_MAX)
		return -ENAMETOOLONG;
	if (memchr(s.s, '/', s.len) || memchr(s.s, '\0', s.len))
		return -EINVAL;
	if (!dots && (p9__str_is(s, ".") || p9__str_is(s, "..")))
		return -EINVAL;
	return 0;
}

bool p9__str_is(struct p9_str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && !memcmp(s.s, lit, n);
}

/* ---- encoding ------------------------------------------------------------ */

void p9__buf_init(struct p9_buf *b, u8 *p, size_t cap)
{
	b->p = p;
	b->cap = cap;
	b->len = P9_HDR_SIZE;
	b->overflow = cap < P9_HDR_SIZE;
}

u8 *p9__put_raw(struct p9_buf *b, size_t len)
{
	u8 *q;

	if (b->overflow || len > b->cap - b->len) {
		b->overflow = true;
		return NULL;
	}
	q = b->p + b->len;
	b->len += len;
	return q;
}

void p9__put_u8(struct p9_buf *b, u8 v)
{
	u8 *q = p9__put_raw(b, 1);

	if (q)
		*q = v;
}

void p9__put_u16(struct p9_buf *b, u16 v)
{
	u8 *q = p9__put_raw(b, 2);

	v = htole16(v);
	if (q)
		memcpy(q, &v, 2);
}

void p9__put_u32(struct p9_buf *b, u32 v)
{
	u8 *q = p9__put_raw(b, 4);

	v = htole32(v);
	if (q)
		memcpy(q, &v, 4);
}

void p9__put_u64(struct p9_buf *b, u64 v)
{
	u8 *q = p9__put_raw(b, 8);

	v = htole64(v);
	if (q)
		memcpy(q, &v, 8);
}

void p9__put_str(struct p9_buf *b, const char *s, size_t len)
{
	u8 *q;

	if (len > 0xffff) {
		b->overflow = true;
		return;
	}
	p9__put_u16(b, (u16)len);
	q = p9__put_raw(b, len);
	if (q && len)
		memcpy(q, s, len);
}

void p9__put_qid(struct p9_buf *b, const struct p9_qid *q)
{
	p9__put_u8(b, q->type);
	p9__put_u32(b, q->version);
	p9__put_u64(b, q->path);
}

size_t p9__buf_finish(struct p9_buf *b, u8 type, u16 tag)
{
	u32 size;

	if (b->overflow || b->len > 0xffffffffULL)
		return 0;
	size = htole32((u32)b->len);
	tag = htole16(tag);
	memcpy(b->p, &size, 4);
	b->p[4] = type;
	memcpy(b->p + 5, &tag, 2);
	return b->len;
}

size_t p9__lerror(u8 *p, size_t cap, u16 tag, u32 ecode)
{
	struct p9_buf b;

	p9__buf_init(&b, p, cap);
	p9__put_u32(&b, ecode);
	return p9__buf_finish(&b, P9_RLERROR, tag);
}
