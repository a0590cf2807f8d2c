// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket's mechanics (lkvm/control.h has the protocol): the
 * socket directory and paths, the request and answer parsers, the server
 * that "lkvm run" polls from its main loop, and the client the other
 * commands use.  Nothing here knows a VM: the server hands each parsed
 * request to a handler (control.c for a real guest, a fake in the tests).
 *
 * The server never blocks: sockets are non-blocking, each connection has
 * its own bounded buffers and a deadline, and there are at most
 * CONTROL_MAX_CLIENTS of them, so a client that stalls or floods costs the
 * VM nothing but a slot for a few seconds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lkvm/control.h"

#define SUN_PATH_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

static const char *const status_names[CONTROL_NR_STATUS] = {
	[CONTROL_OK] = "ok",
	[CONTROL_E_REQUEST] = "bad-request",
	[CONTROL_E_VERSION] = "version",
	[CONTROL_E_COMMAND] = "unknown-command",
	[CONTROL_E_ARGS] = "bad-arguments",
	[CONTROL_E_DENIED] = "denied",
	[CONTROL_E_BUSY] = "busy",
	[CONTROL_E_STATE] = "state",
	[CONTROL_E_NODEV] = "no-device",
	[CONTROL_E_FAILED] = "failed",
};

/* Each command's words and how many arguments follow them. */
static const struct {
	const char *name;
	unsigned int nargs;
} cmds[CONTROL_NR_CMDS] = {
	[CONTROL_CMD_INFO] = { "info", 0 },
	[CONTROL_CMD_STOP] = { "stop", 0 },
	[CONTROL_CMD_PAUSE] = { "pause", 0 },
	[CONTROL_CMD_RESUME] = { "resume", 0 },
	[CONTROL_CMD_DEBUG] = { "debug", 0 },
	[CONTROL_CMD_BALLOON] = { "balloon", 2 },
	[CONTROL_CMD_STAT] = { "stat", 1 },
	[CONTROL_CMD_SNAPSHOT] = { "snapshot", 2 },
};

const char *control__status_name(enum control_status st)
{
	return (unsigned int)st < CONTROL_NR_STATUS ? status_names[st] : "?";
}

const char *control__cmd_name(enum control_cmd cmd)
{
	return (unsigned int)cmd < CONTROL_NR_CMDS ? cmds[cmd].name : "?";
}

/* ---- names and paths ----------------------------------------------------- */

int control__check_name(const char *name, struct lkvm_err *err)
{
	size_t n = strlen(name);

	if (!n || n > CONTROL_NAME_MAX)
		return seterr(err, EINVAL, "--name '%s': a guest name has 1 to %d characters", name,
			      CONTROL_NAME_MAX);
	if (name[0] == '.' || name[0] == '-')
		return seterr(err, EINVAL, "--name '%s': a guest name must not start with '%c'",
			      name, name[0]);
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    strchr("._+@-", ch))
			continue;
		return seterr(err, EINVAL, "--name '%s': use letters, digits and . _ + @ - only "
			      "(the name is a file name in ~/%s)", name, CONTROL_DIR_NAME);
	}
	return 0;
}

int control__default_dir(char *buf, size_t len, struct lkvm_err *err)
{
	const char *home = getenv("HOME");
	int n;

	/* As kvmtool: HOME only (a static binary can't use NSS to look the user up). */
	if (!home || !*home)
		return seterr(err, ENOENT, "HOME is not set: the control sockets live in "
			      "$HOME/%s", CONTROL_DIR_NAME);
	n = snprintf(buf, len, "%s%s%s", home, home[strlen(home) - 1] == '/' ? "" : "/",
		     CONTROL_DIR_NAME);
	if (n < 0 || (size_t)n >= len)
		return seterr(err, ENAMETOOLONG, "HOME %s: too long for the control socket's path",
			      home);
	return 0;
}

int control__sock_path(const char *dir, const char *name, char *buf, size_t len,
		       struct lkvm_err *err)
{
	int n = snprintf(buf, len, "%s/%s.sock", dir, name);

	if (n < 0 || (size_t)n >= len || (size_t)n > SUN_PATH_MAX)
		return seterr(err, ENAMETOOLONG, "control socket %s/%s.sock: %d bytes, more than the "
			      "%zu a Unix socket address holds; use a shorter --name or HOME", dir,
			      name, n, SUN_PATH_MAX);
	return 0;
}

bool control__peer_allowed(uid_t peer, uid_t self)
{
	return peer == self || peer == 0;
}

static int sock_addr(const char *path, struct sockaddr_un *sa)
{
	size_t n = strlen(path);

	if (n > SUN_PATH_MAX)
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

/*
 * connect() to @path with a blocking socket (sends bounded by
 * @timeout_ms); returns the fd or -errno.
 */
static int connect_path(const char *path, int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	struct sockaddr_un sa;
	int fd, r = sock_addr(path, &sa);

	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r == -EAGAIN ? -ETIMEDOUT : r;
	}
	return fd;
}

/* The socket directory, locked (flock) against other lkvms starting or cleaning up. */
static int lock_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = -errno;

			close(fd);
			return r;
		}
	}
	return fd;
}

static void unlock_dir(int fd)
{
	if (fd >= 0)
		close(fd);	/* drops the flock */
}

/* With @dir locked: 1 if @path was stale and is gone, 0 if absent, -EADDRINUSE if live. */
static int probe_locked(const char *path, pid_t *pid)
{
	int fd = connect_path(path, 1000);

	if (fd >= 0) {
		struct ucred cred;
		socklen_t cl = sizeof(cred);

		*pid = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 ? cred.pid : 0;
		close(fd);
		return -EADDRINUSE;
	}
	if (fd == -ENOENT)
		return 0;
	if (fd == -ECONNREFUSED)
		return unlink(path) == 0 || errno == ENOENT ? 1 : -errno;
	return fd;
}

int control__remove_stale(const char *dir, const char *name)
{
	char path[PATH_MAX];
	pid_t pid = 0;
	int lk, r;

	if (control__sock_path(dir, name, path, sizeof(path), NULL))
		return -ENAMETOOLONG;
	lk = lock_dir(dir);
	if (lk < 0)
		return lk == -ENOENT ? 0 : lk;
	r = probe_locked(path, &pid);
	unlock_dir(lk);
	return r == -EADDRINUSE ? 0 : r;
}

/* ---- the protocol -------------------------------------------------------- */

/* A decimal number of at most 20 digits, nothing else; -EINVAL or -ERANGE. */
static int parse_dec(const char *s, size_t n, u64 *out)
{
	u64 v = 0;

	if (!n || n > 20)
		return n ? -ERANGE : -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (u64)(s[i] - '0'), &v))
			return -ERANGE;
	}
	*out = v;
	return 0;
}

static bool word_is(const char *w, size_t n, const char *s)
{
	return strlen(s) == n && memcmp(w, s, n) == 0;
}

#define MAX_WORDS	8

enum control_status control__parse_request(const char *line, size_t len,
					   struct control_req *req, const char **why)
{
	const char *w[MAX_WORDS];
	size_t wl[MAX_WORDS], nw = 0, start = 0;
	u64 version;
	int r;

	memset(req, 0, sizeof(*req));
	if (len && line[len - 1] == '\r')
		len--;
	if (len >= CONTROL_MAX_REQUEST) {
		*why = "request longer than 255 bytes";
		return CONTROL_E_REQUEST;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if (!ch) {
			*why = "NUL byte in the request";
			return CONTROL_E_REQUEST;
		}
		if (ch < 0x20 || ch > 0x7e) {
			*why = "the request is not printable ASCII";
			return CONTROL_E_REQUEST;
		}
	}
	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ')
			continue;
		if (i == start) {
			*why = len ? "empty word in the request (two spaces, or one at an end)" :
				     "empty request";
			return CONTROL_E_REQUEST;
		}
		if (nw == MAX_WORDS) {
			*why = "too many words in the request";
			return CONTROL_E_REQUEST;
		}
		w[nw] = line + start;
		wl[nw++] = i - start;
		start = i + 1;
	}
	if (wl[0] < 6 || memcmp(w[0], "LKVM/", 5) != 0) {
		*why = "not an lkvm control request (expected 'LKVM/1 COMMAND ...')";
		return CONTROL_E_REQUEST;
	}
	if (parse_dec(w[0] + 5, wl[0] - 5, &version)) {
		*why = "malformed protocol version (expected 'LKVM/1')";
		return CONTROL_E_REQUEST;
	}
	if (version != CONTROL_VERSION) {
		*why = "this lkvm speaks protocol LKVM/1 only";
		return CONTROL_E_VERSION;
	}
	if (nw < 2) {
		*why = "no command after LKVM/1";
		return CONTROL_E_REQUEST;
	}
	for (unsigned int c = 0; c < CONTROL_NR_CMDS; c++) {
		if (!word_is(w[1], wl[1], cmds[c].name))
			continue;
		req->cmd = (enum control_cmd)c;
		if (nw - 2 != cmds[c].nargs) {
			*why = cmds[c].nargs ? "wrong number of arguments" : "this command takes no arguments";
			return CONTROL_E_ARGS;
		}
		if (c == CONTROL_CMD_STAT) {
			if (!word_is(w[2], wl[2], "memory")) {
				*why = "stat: the only statistics are 'memory'";
				return CONTROL_E_ARGS;
			}
		} else if (c == CONTROL_CMD_SNAPSHOT) {
			if (wl[2] > CONTROL_MAX_PATH || w[2][0] != '/') {
				*why = "snapshot: the directory is an absolute path of at most 200 bytes";
				return CONTROL_E_ARGS;
			}
			memcpy(req->path, w[2], wl[2]);
			req->path[wl[2]] = '\0';
			if (word_is(w[3], wl[3], "stop")) {
				req->stop = true;
			} else if (!word_is(w[3], wl[3], "resume")) {
				*why = "snapshot: say resume or stop";
				return CONTROL_E_ARGS;
			}
		} else if (c == CONTROL_CMD_BALLOON) {
			if (word_is(w[2], wl[2], "inflate")) {
				req->inflate = true;
			} else if (!word_is(w[2], wl[2], "deflate")) {
				*why = "balloon: say inflate or deflate";
				return CONTROL_E_ARGS;
			}
			r = parse_dec(w[3], wl[3], &req->mib);
			if (r == -EINVAL) {
				*why = "balloon: the amount is a decimal number of MiB";
				return CONTROL_E_ARGS;
			}
			if (r || req->mib > CONTROL_MAX_MIB) {
				*why = "balloon: the amount is out of range";
				return CONTROL_E_ARGS;
			}
		}
		*why = "";
		return CONTROL_OK;
	}
	*why = "unknown command";
	return CONTROL_E_COMMAND;
}

int control__format_request(const struct control_req *req, char *buf, size_t len)
{
	int n;

	if ((unsigned int)req->cmd >= CONTROL_NR_CMDS)
		return -EINVAL;
	if (req->cmd == CONTROL_CMD_BALLOON)
		n = snprintf(buf, len, "LKVM/%d balloon %s %llu\n", CONTROL_VERSION,
			     req->inflate ? "inflate" : "deflate", (unsigned long long)req->mib);
	else if (req->cmd == CONTROL_CMD_STAT)
		n = snprintf(buf, len, "LKVM/%d stat memory\n", CONTROL_VERSION);
	else if (req->cmd == CONTROL_CMD_SNAPSHOT)
		n = req->path[0] == '/' && !strchr(req->path, ' ') ?
			snprintf(buf, len, "LKVM/%d snapshot %s %s\n", CONTROL_VERSION, req->path,
				 req->stop ? "stop" : "resume") : -1;
	else
		n = snprintf(buf, len, "LKVM/%d %s\n", CONTROL_VERSION, cmds[req->cmd].name);
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

int control__parse_header(const char *buf, size_t len, enum control_status *st,
			  size_t *body_len, size_t *hdr_len)
{
	const char *nl = memchr(buf, '\n', MIN(len, (size_t)CONTROL_MAX_HEADER));
	const char *p = buf, *sp;
	u64 v;

	if (!nl)
		return len < CONTROL_MAX_HEADER ? -EAGAIN : -EPROTO;
	if ((size_t)(nl - buf) < 7 || memcmp(buf, "LKVM/1 ", 7) != 0)
		return -EPROTO;
	p += 7;
	sp = memchr(p, ' ', (size_t)(nl - p));
	if (!sp)
		return -EPROTO;
	for (unsigned int s = 0;; s++) {
		if (s == CONTROL_NR_STATUS)
			return -EPROTO;
		if (word_is(p, (size_t)(sp - p), status_names[s])) {
			*st = (enum control_status)s;
			break;
		}
	}
	if (parse_dec(sp + 1, (size_t)(nl - sp - 1), &v) || v > CONTROL_MAX_RESPONSE)
		return -EPROTO;
	*body_len = (size_t)v;
	*hdr_len = (size_t)(nl - buf) + 1;
	return 0;
}

/* A whole answer: header and body, malloc'd; NULL when out of memory. */
static char *make_answer(enum control_status st, const char *body, size_t *len)
{
	size_t blen = strlen(body);
	char *out = malloc(CONTROL_MAX_HEADER + blen + 1);
	int n;

	if (!out)
		return NULL;
	n = snprintf(out, CONTROL_MAX_HEADER, "LKVM/%d %s %zu\n", CONTROL_VERSION,
		     control__status_name(st), blen);
	memcpy(out + n, body, blen + 1);	/* the NUL too, though it is not sent */
	*len = (size_t)n + blen;
	return out;
}

static char *make_error(enum control_status st, const char *msg, size_t *len)
{
	struct json j;
	char *out;

	json__init(&j, 1024);
	json__obj_begin(&j, NULL);
	json__str(&j, "error", msg);
	json__obj_end(&j);
	out = json__text(&j) ? make_answer(st, json__text(&j), len) : NULL;
	json__free(&j);
	return out;
}

/* ---- the server ---------------------------------------------------------- */

enum client_state { C_FREE, C_READ, C_WRITE, C_HOLD };

struct client {
	enum client_state state;
	int fd;
	char in[CONTROL_MAX_REQUEST];
	size_t in_len;
	char *out;
	size_t out_len;
	size_t out_off;
	bool hold;		/* after the answer: C_HOLD rather than closed */
	u64 deadline_ns;
};

struct control_server {
	int lfd;
	char dir[PATH_MAX];
	char path[PATH_MAX];
	dev_t dev;		/* the socket file, to remove only our own */
	ino_t ino;
	uid_t uid;
	control_handler_fn *fn;
	void *ctx;
	struct client cl[CONTROL_MAX_CLIENTS];
};

static int make_dir(const char *dir, struct lkvm_err *err)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return seterr(err, errno, "control socket directory %s: %s", dir, strerror(errno));
	if (stat(dir, &st) < 0)
		return seterr(err, errno, "control socket directory %s: %s", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return seterr(err, ENOTDIR, "control socket directory %s: not a directory", dir);
	if (st.st_uid != geteuid())
		return seterr(err, EPERM, "control socket directory %s belongs to uid %u, not to "
			      "this user (uid %u); set HOME to your own", dir, (unsigned int)st.st_uid,
			      (unsigned int)geteuid());
	if ((st.st_mode & 0777) != 0700 && chmod(dir, 0700) < 0)
		return seterr(err, errno, "chmod 0700 %s: %s", dir, strerror(errno));
	return 0;
}

int control__server_open(const char *dir, const char *name, control_handler_fn *fn, void *ctx,
			 struct control_server **out, struct lkvm_err *err)
{
	struct control_server *s;
	struct sockaddr_un sa;
	struct stat st;
	pid_t pid = 0;
	int r, lk = -1;

	r = control__check_name(name, err);
	if (r)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return seterr(err, ENOMEM, "out of memory");
	s->lfd = -1;
	s->fn = fn;
	s->ctx = ctx;
	s->uid = geteuid();
	for (unsigned int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		s->cl[i].fd = -1;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	r = control__sock_path(dir, name, s->path, sizeof(s->path), err);
	if (!r)
		r = make_dir(dir, err);
	if (r)
		goto fail;
	lk = lock_dir(dir);
	if (lk < 0) {
		r = seterr(err, -lk, "flock %s: %s", dir, strerror(-lk));
		goto fail;
	}
	r = probe_locked(s->path, &pid);
	if (r == -EADDRINUSE) {
		seterr(err, EADDRINUSE, "--name %s: a guest of that name is running (lkvm pid %d, "
		       "%s); choose another name, or stop it with 'lkvm stop -n %s'", name,
		       (int)pid, s->path, name);
		goto fail;
	}
	if (r < 0) {
		seterr(err, -r, "control socket %s: %s", s->path, strerror(-r));
		goto fail;
	}
	sock_addr(s->path, &sa);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = seterr(err, errno, "control socket %s: %s", s->path, strerror(errno));
		goto fail;
	}
	/* The directory is 0700 already; the socket itself says so too. */
	if (chmod(s->path, 0600) < 0 || stat(s->path, &st) < 0 ||
	    listen(s->lfd, CONTROL_MAX_CLIENTS) < 0) {
		r = seterr(err, errno, "control socket %s: %s", s->path, strerror(errno));
		unlink(s->path);
		goto fail;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	unlock_dir(lk);
	*out = s;
	return 0;
fail:
	unlock_dir(lk);
	if (s->lfd >= 0)
		close(s->lfd);
	free(s);
	return r;
}

const char *control__server_path(const struct control_server *s)
{
	return s->path;
}

static void drop(struct client *k)
{
	if (k->fd >= 0)
		close(k->fd);
	free(k->out);
	memset(k, 0, sizeof(*k));
	k->fd = -1;
	k->state = C_FREE;
}

/* One non-blocking try at a whole (small) answer, for connections refused at once. */
static void answer_once(int fd, enum control_status st, const char *msg)
{
	size_t len;
	char *a = make_error(st, msg, &len);
	ssize_t n __unused;

	if (a)
		n = send(fd, a, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	free(a);
	close(fd);
}

static void client_write(struct client *k)
{
	while (k->out_off < k->out_len) {
		ssize_t n = send(k->fd, k->out + k->out_off, k->out_len - k->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			drop(k);
			return;
		}
		k->out_off += (size_t)n;
	}
	free(k->out);
	k->out = NULL;
	if (k->hold)
		k->state = C_HOLD;
	else
		drop(k);
}

/* Queues an error answer (the message copied). */
static void queue_answer(struct client *k, char *a, size_t len);

static void queue_error(struct client *k, enum control_status st, const char *msg)
{
	size_t len = 0;
	char *a = make_error(st, msg, &len);

	queue_answer(k, a, len);
}

static void queue_answer(struct client *k, char *a, size_t len)
{
	if (!a) {
		drop(k);
		return;
	}
	k->out = a;
	k->out_len = len;
	k->out_off = 0;
	k->state = C_WRITE;
	k->deadline_ns = now_ns() + CONTROL_CLIENT_TIMEOUT_MS * 1000000ULL;
	client_write(k);
}

static void dispatch(struct control_server *s, struct client *k, size_t line_len)
{
	struct control_reply rep;
	struct control_req req;
	enum control_status st;
	const char *why = "";
	size_t len = 0;
	char *a;

	st = control__parse_request(k->in, line_len, &req, &why);
	if (st != CONTROL_OK) {
		queue_error(k, st, why);
		return;
	}
	memset(&rep, 0, sizeof(rep));
	rep.status = CONTROL_OK;
	json__init(&rep.body, CONTROL_MAX_RESPONSE);
	s->fn(s->ctx, &req, &rep);
	if (rep.status == CONTROL_OK && !json__text(&rep.body)) {
		rep.status = CONTROL_E_FAILED;
		snprintf(rep.error, sizeof(rep.error), "%s: the answer did not fit in %llu bytes",
			 control__cmd_name(req.cmd), (unsigned long long)CONTROL_MAX_RESPONSE);
	}
	if (rep.status == CONTROL_OK)
		a = make_answer(CONTROL_OK, json__text(&rep.body), &len);
	else
		a = make_error(rep.status, rep.error[0] ? rep.error : "failed", &len);
	json__free(&rep.body);
	k->hold = rep.status == CONTROL_OK && rep.hold;
	queue_answer(k, a, len);
}

static void client_read(struct control_server *s, struct client *k)
{
	ssize_t n;
	char *nl;

	n = recv(k->fd, k->in + k->in_len, sizeof(k->in) - k->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		drop(k);
		return;
	}
	if (n == 0) {
		if (!k->in_len)
			drop(k);	/* connected and left: someone checking that we're alive */
		else
			queue_error(k, CONTROL_E_REQUEST, "truncated request (no newline before the end)");
		return;
	}
	k->in_len += (size_t)n;
	nl = memchr(k->in, '\n', k->in_len);
	if (nl)
		dispatch(s, k, (size_t)(nl - k->in));
	else if (k->in_len == sizeof(k->in))
		queue_error(k, CONTROL_E_REQUEST, "request longer than 255 bytes");
}

static struct client *free_slot(struct control_server *s)
{
	for (unsigned int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (s->cl[i].state == C_FREE)
			return &s->cl[i];
	return NULL;
}

static void accept_all(struct control_server *s)
{
	for (;;) {
		struct sockaddr_un sa;
		socklen_t sl = sizeof(sa);
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		char msg[160];
		struct client *k;
		int fd = accept4(s->lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;		/* EAGAIN: all taken; anything else: try on the next poll */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
		    !control__peer_allowed(cred.uid, s->uid)) {
			snprintf(msg, sizeof(msg), "permission denied: this guest belongs to uid %u",
				 (unsigned int)s->uid);
			answer_once(fd, CONTROL_E_DENIED, msg);
			continue;
		}
		k = free_slot(s);
		if (!k) {
			answer_once(fd, CONTROL_E_BUSY, "too many control connections; try again");
			continue;
		}
		k->fd = fd;
		k->state = C_READ;
		k->in_len = 0;
		k->deadline_ns = now_ns() + CONTROL_CLIENT_TIMEOUT_MS * 1000000ULL;
	}
}

unsigned int control__server_pollfds(struct control_server *s, struct pollfd *p,
				     int *timeout_ms)
{
	u64 now = now_ns();

	p[0] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
	for (unsigned int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct client *k = &s->cl[i];
		short ev = (short)(k->state == C_READ ? POLLIN : k->state == C_WRITE ? POLLOUT : 0);

		/* A held connection is not watched: its end only comes with ours. */
		p[1 + i] = (struct pollfd){ .fd = ev ? k->fd : -1, .events = ev };
		if (ev) {
			u64 left = k->deadline_ns > now ? k->deadline_ns - now : 0;
			int ms = (int)MIN((left + 999999) / 1000000, (u64)CONTROL_CLIENT_TIMEOUT_MS);

			if (*timeout_ms < 0 || ms < *timeout_ms)
				*timeout_ms = ms;
		}
	}
	return CONTROL_MAX_POLLFDS;
}

void control__server_handle(struct control_server *s, const struct pollfd *p, unsigned int n)
{
	u64 now;

	for (unsigned int i = 0; i < CONTROL_MAX_CLIENTS && 1 + i < n; i++) {
		struct client *k = &s->cl[i];
		short rev = p[1 + i].revents;

		if (p[1 + i].fd < 0 || p[1 + i].fd != k->fd)
			continue;
		if (k->state == C_READ && (rev & (POLLIN | POLLHUP | POLLERR)))
			client_read(s, k);
		else if (k->state == C_WRITE && (rev & (POLLOUT | POLLHUP | POLLERR)))
			client_write(k);
	}
	if (n && s->lfd >= 0 && p[0].fd == s->lfd && (p[0].revents & POLLIN))
		accept_all(s);
	now = now_ns();
	for (unsigned int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct client *k = &s->cl[i];

		if ((k->state == C_READ || k->state == C_WRITE) && now >= k->deadline_ns)
			drop(k);
	}
}

void control__server_unlisten(struct control_server *s)
{
	struct stat st;

	if (!s || s->lfd < 0)
		return;
	/*
	 * Only our own file, and while still listening: until the close,
	 * anyone probing the name finds it live, so nobody else can have
	 * replaced it between the stat and the unlink (no lock needed, which
	 * keeps flock off the sandboxed main thread's list).
	 */
	if (stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	close(s->lfd);
	s->lfd = -1;
	for (unsigned int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (s->cl[i].state == C_READ || s->cl[i].state == C_WRITE)
			drop(&s->cl[i]);
}

void control__server_close(struct control_server *s)
{
	if (!s)
		return;
	control__server_unlisten(s);
	for (unsigned int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (s->cl[i].state != C_FREE)
			drop(&s->cl[i]);
	free(s);
}

/* ---- the client ---------------------------------------------------------- */

static int call_error(int r, const char *dir, const char *name, const char *path,
		      struct lkvm_err *err)
{
	switch (-r) {
	case ENOENT:
		return seterr(err, ENOENT, "no guest named '%s' (no %s; 'lkvm list' shows the "
			      "running ones)", name, path);
	case ECONNREFUSED:
		control__remove_stale(dir, name);
		return seterr(err, ECONNREFUSED, "guest '%s' is dead: its lkvm is gone without "
			      "removing %s (removed now)", name, path);
	case EACCES:
	case EPERM:
		return seterr(err, EACCES, "guest '%s': permission denied on %s (it belongs to "
			      "another user: run as that user or as root)", name, path);
	case ETIMEDOUT:
		return seterr(err, ETIMEDOUT, "guest '%s' did not answer on %s in time (its lkvm "
			      "is busy or hung)", name, path);
	default:
		return seterr(err, -r, "guest '%s': %s: %s", name, path, strerror(-r));
	}
}

/* Reads until @want bytes are in @buf (or EOF); -ETIMEDOUT, -EPROTO at EOF, or 0. */
static int recv_exact(int fd, char *buf, size_t want, size_t *have)
{
	while (*have < want) {
		ssize_t n = recv(fd, buf + *have, want - *have, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		if (n == 0)
			return -EPROTO;
		*have += (size_t)n;
	}
	return 0;
}

int control__call(const char *dir, const char *name, const struct control_req *req,
		  int timeout_ms, struct control_resp *resp, struct lkvm_err *err)
{
	char path[PATH_MAX], line[CONTROL_MAX_REQUEST], hdr[CONTROL_MAX_HEADER];
	size_t have = 0, body_len = 0, hdr_len = 0, rest;
	int fd, r, n;

	memset(resp, 0, sizeof(*resp));
	resp->fd = -1;
	r = control__check_name(name, err);
	if (r)
		return r;
	r = control__sock_path(dir, name, path, sizeof(path), err);
	if (r)
		return r;
	n = control__format_request(req, line, sizeof(line));
	if (n < 0)
		return seterr(err, EINVAL, "internal: unknown control request");
	fd = connect_path(path, timeout_ms);
	if (fd < 0)
		return call_error(fd, dir, name, path, err);
	/*
	 * A server that refuses at once (busy, denied) answers and closes
	 * without reading: the send then fails (EPIPE), the answer is there.
	 */
	if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n && errno != EPIPE && errno != ECONNRESET) {
		r = call_error(errno == EAGAIN ? -ETIMEDOUT : -errno, dir, name, path, err);
		close(fd);
		return r;
	}
	/* The header: byte by byte would be slow; read what comes, up to its limit. */
	for (;;) {
		ssize_t got = recv(fd, hdr + have, sizeof(hdr) - have, 0);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? -ETIMEDOUT : -EPROTO;
			break;
		}
		have += (size_t)got;
		r = control__parse_header(hdr, have, &resp->status, &body_len, &hdr_len);
		if (r != -EAGAIN)
			break;
	}
	if (!r) {
		resp->body = malloc(body_len + 1);
		if (!resp->body)
			r = -ENOMEM;
	}
	if (!r) {
		rest = MIN(have - hdr_len, body_len);
		memcpy(resp->body, hdr + hdr_len, rest);
		r = recv_exact(fd, resp->body, body_len, &rest);
	}
	if (!r) {
		resp->body[body_len] = '\0';
		resp->len = body_len;
		if (json__check(resp->body, body_len))
			r = -EPROTO;
	}
	if (r) {
		free(resp->body);
		resp->body = NULL;
		close(fd);
		if (r == -EPROTO)
			return seterr(err, EPROTO, "guest '%s': a malformed answer on %s (not lkvm "
				      "control protocol %d)", name, path, CONTROL_VERSION);
		return call_error(r, dir, name, path, err);
	}
	resp->fd = fd;
	return 0;
}

int control__wait_closed(struct control_resp *resp, int timeout_ms)
{
	struct pollfd p = { .fd = resp->fd, .events = POLLIN };
	u64 end = now_ns() + (u64)timeout_ms * 1000000ULL;
	char buf[64];

	for (;;) {
		u64 now = now_ns();
		int r;

		if (now >= end)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)((end - now + 999999) / 1000000));
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r > 0) {
			ssize_t n = recv(resp->fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				return 0;
		}
	}
}

const char *control__resp_error(const struct control_resp *resp, char *buf, size_t len)
{
	if (!resp->body || json__get(resp->body, resp->len, "error", buf, len) < 0)
		snprintf(buf, len, "%s", control__status_name(resp->status));
	return buf;
}

void control__resp_free(struct control_resp *resp)
{
	free(resp->body);
	resp->body = NULL;
	if (resp->fd >= 0)
		close(resp->fd);
	resp->fd = -1;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int control__names(const char *dir, char ***names, unsigned int *n, struct lkvm_err *err)
{
	unsigned int cap = 0;
	struct dirent *de;
	char **v = NULL;
	DIR *d;

	*names = NULL;
	*n = 0;
	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return seterr(err, errno, "%s: %s", dir, strerror(errno));
	}
	/* cppcheck-suppress readdirCalled ; readdir_r is deprecated: one thread reads @d */
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char name[CONTROL_NAME_MAX + 1];

		if (len <= 5 || strcmp(de->d_name + len - 5, ".sock") != 0 || len - 5 > CONTROL_NAME_MAX)
			continue;
		memcpy(name, de->d_name, len - 5);
		name[len - 5] = '\0';
		if (control__check_name(name, NULL))
			continue;
		if (*n == cap) {
			char **nv = realloc(v, (cap ? cap * 2 : 8) * sizeof(*v));

			if (!nv)
				break;
			v = nv;
			cap = cap ? cap * 2 : 8;
		}
		v[*n] = strdup(name);
		if (!v[*n])
			break;
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_names);
	*names = v;
	return 0;
}

void control__names_free(char **names, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
