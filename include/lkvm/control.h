/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket: how "lkvm list/stop/pause/resume/debug/balloon/stat"
 * reach a running guest.  Each "lkvm run" listens on a Unix stream socket
 * $HOME/.lkvm/NAME.sock (the directory 0700, the socket 0600; NAME from
 * --name, default guest-PID), as kvmtool does; only a peer of the same
 * uid, or root, is served (SO_PEERCRED).
 *
 * The protocol is ours, version 1, one request per connection:
 *
 *   request   "LKVM/1 COMMAND [ARG...]\n"   printable ASCII, words separated
 *                                           by one space, at most 256 bytes
 *   answer    "LKVM/1 STATUS LENGTH\n" then LENGTH bytes of JSON: the result
 *             (STATUS "ok") or {"error":"what went wrong"}
 *
 *   COMMAND               result
 *   info                  {"name","pid","state":"running"|"paused","vcpus",
 *                          "mem_mib","nested","uptime_s","paused_s",...}
 *   stop                  {"stopping":true}; the connection stays open until
 *                         the guest's lkvm has shut down (disks drained) and
 *                         exits with status 0
 *   pause, resume         {"state",...}: every vCPU out of KVM_RUN and
 *                         parked, the device threads quiesced (or all going
 *                         again); idempotent
 *   debug                 {"vcpus":[registers...],"devices":[state...]}
 *   balloon inflate|deflate MIB   {"target_mib","actual_mib"}
 *   stat memory           {"target_mib","actual_mib","stats":{...}}
 *   snapshot DIR resume|stop   {"dir","state_bytes","ram_mib","ram_written_mib",
 *                         "paused_ms","stopped"}: the guest saved into the
 *                         directory DIR (absolute, no spaces, at most
 *                         CONTROL_MAX_PATH bytes; docs/snapshot.md), then
 *                         resumed or stopped (lkvm exits 0)
 *
 * STATUS is one of the names of enum control_status (control__status_name).
 * Limits keep a client from hurting the VM: the request size, at most
 * CONTROL_MAX_CLIENTS connections at once (more are answered "busy"), a
 * CONTROL_CLIENT_TIMEOUT_MS deadline for a request to arrive and for its
 * answer to be taken, non-blocking sockets served from the VM's main loop.
 *
 * util/control.c has the socket paths, the protocol, the server and the
 * client; control.c has the VM's side (what each command does).
 */
#ifndef LKVM_CONTROL_H
#define LKVM_CONTROL_H

#include <poll.h>
#include <stdbool.h>
#include <sys/types.h>

#include "lkvm/json.h"
#include "lkvm/util.h"

struct kvm;

#define CONTROL_VERSION			1
#define CONTROL_MAX_REQUEST		256		/* bytes, the newline included */
#define CONTROL_MAX_HEADER		64		/* an answer's first line */
#define CONTROL_MAX_RESPONSE		(4 * SZ_MiB)	/* an answer's JSON */
#define CONTROL_MAX_CLIENTS		8
#define CONTROL_CLIENT_TIMEOUT_MS	5000
#define CONTROL_MAX_POLLFDS		(1 + CONTROL_MAX_CLIENTS)
#define CONTROL_NAME_MAX		64
#define CONTROL_MAX_MIB			(1ULL << 30)	/* a balloon amount: 1 PiB */
#define CONTROL_DIR_NAME		".lkvm"
#define CONTROL_MAX_PATH		200		/* a snapshot directory */

/* ---- names and paths ----------------------------------------------------- */

/*
 * A guest name: 1 to CONTROL_NAME_MAX letters, digits and "._+@-", not
 * starting with '.' or '-' (it is a file name in the socket directory).
 * Returns 0 or -EINVAL with @err saying what is allowed.
 */
int control__check_name(const char *name, struct lkvm_err *err);

/* The socket directory, $HOME/.lkvm (HOME unset: the passwd entry's). 0 or -errno. */
int control__default_dir(char *buf, size_t len, struct lkvm_err *err);

/*
 * @dir/@name.sock into @buf.  -ENAMETOOLONG, with @err naming the path and
 * the limit, when it does not fit a Unix socket address (sun_path: 107
 * bytes and the NUL) or @buf.
 */
int control__sock_path(const char *dir, const char *name, char *buf, size_t len,
		       struct lkvm_err *err);

/* Whether a peer of uid @peer may control a guest run by uid @self: the same uid, or root. */
bool control__peer_allowed(uid_t peer, uid_t self);

/* ---- the protocol -------------------------------------------------------- */

enum control_cmd {
	CONTROL_CMD_INFO,
	CONTROL_CMD_STOP,
	CONTROL_CMD_PAUSE,
	CONTROL_CMD_RESUME,
	CONTROL_CMD_DEBUG,
	CONTROL_CMD_BALLOON,
	CONTROL_CMD_STAT,
	CONTROL_CMD_SNAPSHOT,
	CONTROL_NR_CMDS,
};

/* An answer's status; the names (control__status_name) are the protocol's words. */
enum control_status {
	CONTROL_OK,		/* "ok" */
	CONTROL_E_REQUEST,	/* "bad-request": not a well-formed request line */
	CONTROL_E_VERSION,	/* "version": a protocol version this lkvm does not speak */
	CONTROL_E_COMMAND,	/* "unknown-command" */
	CONTROL_E_ARGS,		/* "bad-arguments": wrong number or value of arguments */
	CONTROL_E_DENIED,	/* "denied": the peer's uid may not control this guest */
	CONTROL_E_BUSY,		/* "busy": too many connections */
	CONTROL_E_STATE,	/* "state": not now (the guest is stopping) */
	CONTROL_E_NODEV,	/* "no-device": the guest lacks the device (no --balloon) */
	CONTROL_E_FAILED,	/* "failed": lkvm tried and could not */
	CONTROL_NR_STATUS,
};

const char *control__status_name(enum control_status st);
const char *control__cmd_name(enum control_cmd cmd);

struct control_req {
	enum control_cmd cmd;
	bool inflate;		/* balloon: inflate (true) or deflate */
	u64 mib;		/* balloon: by how much */
	char path[CONTROL_MAX_PATH + 1];	/* snapshot: the directory */
	bool stop;		/* snapshot: stop the guest after it */
};

/*
 * Parses one request line, @len bytes without its newline (a trailing
 * '\r' is allowed).  Returns CONTROL_OK with *@req filled, or the status
 * to answer with and *@why (a static string) saying what is wrong: over
 * CONTROL_MAX_REQUEST, a NUL or any byte outside printable ASCII, empty
 * words, no "LKVM/N" first word, another version, an unknown command, the
 * wrong arguments, a number that is not decimal or over CONTROL_MAX_MIB.
 */
enum control_status control__parse_request(const char *line, size_t len,
					   struct control_req *req, const char **why);

/* The request line for @req, newline included, into @buf; its length, or -ENOSPC. */
int control__format_request(const struct control_req *req, char *buf, size_t len);

/*
 * Parses an answer's first line from the @len bytes in @buf: its status,
 * the body's length and the header's own (newline included).  Returns 0,
 * -EAGAIN if no newline yet (and fewer than CONTROL_MAX_HEADER bytes), or
 * -EPROTO if it is not "LKVM/1 STATUS LENGTH\n" with a known status and a
 * length up to CONTROL_MAX_RESPONSE.
 */
int control__parse_header(const char *buf, size_t len, enum control_status *st,
			  size_t *body_len, size_t *hdr_len);

/* ---- the server (in "lkvm run") ------------------------------------------ */

/* What a handler fills in for one request. */
struct control_reply {
	enum control_status status;	/* CONTROL_OK when called */
	struct json body;		/* CONTROL_OK: the result, one JSON value */
	char error[256];		/* otherwise: what went wrong, for people */
	bool hold;			/* keep the connection until control__server_close() */
};

/* Answers @req; runs on the thread that calls control__server_handle(). */
typedef void control_handler_fn(void *ctx, const struct control_req *req,
				struct control_reply *rep);

struct control_server;

/*
 * Listens on @dir/@name.sock, making @dir (0700) if needed; an existing
 * @dir must be a directory of this uid (its mode is set to 0700).  Under
 * an flock of @dir (so two starting guests can't both take a name): a
 * socket someone answers on means the name is in use (-EADDRINUSE, @err
 * naming that guest's pid); one nobody listens on (ECONNREFUSED) is
 * stale and removed.  The socket is non-blocking, close-on-exec, mode
 * 0600.  Returns 0 with *@out, or -errno (-ENAMETOOLONG: the path) with @err.
 */
int control__server_open(const char *dir, const char *name, control_handler_fn *fn, void *ctx,
			 struct control_server **out, struct lkvm_err *err);

/*
 * The server's fds for poll(), in @p (room for CONTROL_MAX_POLLFDS; slots
 * not in use have fd -1), and *@timeout_ms lowered (never raised; -1 is
 * infinite) to the next client deadline.  Returns how many entries of @p
 * to pass on to control__server_handle().
 */
unsigned int control__server_pollfds(struct control_server *s, struct pollfd *p,
				     int *timeout_ms);

/*
 * Serves what poll() reported on @p[0, @n) (as control__server_pollfds()
 * filled it): accepts, reads, calls the handler for each complete request,
 * writes answers, drops clients past their deadline.  Never blocks.
 */
void control__server_handle(struct control_server *s, const struct pollfd *p, unsigned int n);

/*
 * Stops taking connections: removes the socket file (if it is still this
 * server's: the name is free again) and closes every connection except
 * the held ones.  Idempotent.
 */
void control__server_unlisten(struct control_server *s);

/* Unlistens, closes the held connections (their clients see EOF) and frees @s. NULL: no-op. */
void control__server_close(struct control_server *s);

const char *control__server_path(const struct control_server *s);

/* ---- the client (the other commands) ------------------------------------- */

struct control_resp {
	enum control_status status;
	char *body;		/* NUL-terminated JSON, @len bytes */
	size_t len;
	int fd;			/* the connection, still open */
};

/*
 * Sends @req to guest @name (its socket in @dir) and reads the answer,
 * each step bounded by @timeout_ms.  Returns 0 with *@resp filled (free
 * it with control__resp_free) whatever the answer's status, or -errno
 * with @err saying so for people: -ENOENT no such guest, -ECONNREFUSED
 * the guest is dead (its stale socket is removed), -EACCES permission
 * denied, -ENAMETOOLONG, -ETIMEDOUT no answer, -EPROTO a malformed answer.
 */
int control__call(const char *dir, const char *name, const struct control_req *req,
		  int timeout_ms, struct control_resp *resp, struct lkvm_err *err);

/* Waits up to @timeout_ms for the guest's end of @resp's connection to close. 0 or -ETIMEDOUT. */
int control__wait_closed(struct control_resp *resp, int timeout_ms);

/* The "error" member of an answer that is not "ok" (or a generic text), into @buf. */
const char *control__resp_error(const struct control_resp *resp, char *buf, size_t len);

void control__resp_free(struct control_resp *resp);

/*
 * The names of the guests with a socket in @dir, sorted (no directory:
 * none).  *@names is an array of *@n strings; free with control__names_free().
 * Returns 0 or -errno.
 */
int control__names(const char *dir, char ***names, unsigned int *n, struct lkvm_err *err);
void control__names_free(char **names, unsigned int n);

/*
 * Removes @dir/@name.sock if nobody listens on it (under @dir's flock).
 * Returns 1 if removed, 0 if live or absent, or -errno.
 */
int control__remove_stale(const char *dir, const char *name);

/* ---- the VM's side (control.c) ------------------------------------------- */

/*
 * Opens @kvm's control socket (kvm->ctl) in the default directory, named
 * by --name or "guest-PID".  Returns 0; also, with a warning and no
 * socket, when HOME is unset and no --name was given.  -EADDRINUSE if a
 * live guest has the name; -errno with @err for any other failure (the
 * path too long, the directory not ours).  kvm__close() closes it.
 */
int kvm_control__start(struct kvm *kvm, struct lkvm_err *err);

/* The VM's name: --name, or the default "guest-PID". */
const char *kvm_control__name(const struct kvm *kvm);

#endif /* LKVM_CONTROL_H */
