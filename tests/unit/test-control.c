// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket (util/control.c) and its JSON (util/json.c), without
 * a VM: the request parser against bad input (oversized, truncated,
 * unknown commands, other versions, NUL and non-ASCII bytes, huge
 * numbers), the answer header parser, guest names and socket paths (too
 * long, a stale socket removed, a name in use refused), the permission
 * rule and a peer of another uid refused for real, and a server on a real
 * socket with a fake handler: answers, a stalled client that does not
 * hold up another, the connection limit, a held connection, answers too
 * large.  The JSON underneath is tests/unit/test-json.c's.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "lkvm/control.h"
#include "lkvm/json.h"
#include "test.h"

/* ---- the request parser -------------------------------------------------- */

static enum control_status parse(const char *line, struct control_req *req)
{
	const char *why = NULL;
	enum control_status st = control__parse_request(line, strlen(line), req, &why);

	TEST_ASSERT(why, "a reason is always set");
	return st;
}

static void test_parse_good(void)
{
	static const struct {
		const char *line;
		enum control_cmd cmd;
	} good[] = {
		{ "LKVM/1 info", CONTROL_CMD_INFO }, { "LKVM/1 stop", CONTROL_CMD_STOP },
		{ "LKVM/1 pause", CONTROL_CMD_PAUSE }, { "LKVM/1 resume", CONTROL_CMD_RESUME },
		{ "LKVM/1 debug", CONTROL_CMD_DEBUG }, { "LKVM/1 stat memory", CONTROL_CMD_STAT },
		{ "LKVM/1 info\r", CONTROL_CMD_INFO },
	};
	struct control_req req;

	for (unsigned int i = 0; i < ARRAY_SIZE(good); i++) {
		TEST_ASSERT_EQ(parse(good[i].line, &req), CONTROL_OK);
		TEST_ASSERT_EQ(req.cmd, good[i].cmd);
	}
	TEST_ASSERT_EQ(parse("LKVM/1 balloon inflate 64", &req), CONTROL_OK);
	TEST_ASSERT_EQ(req.cmd, CONTROL_CMD_BALLOON);
	TEST_ASSERT(req.inflate, "inflate");
	TEST_ASSERT_EQ(req.mib, 64ULL);
	TEST_ASSERT_EQ(parse("LKVM/1 balloon deflate 0", &req), CONTROL_OK);
	TEST_ASSERT(!req.inflate, "deflate");
	TEST_ASSERT_EQ(req.mib, 0ULL);
	TEST_ASSERT_EQ(parse("LKVM/1 balloon inflate 1073741824", &req), CONTROL_OK);
	TEST_ASSERT_EQ(req.mib, CONTROL_MAX_MIB);
}

/* Every command formats to a line that parses back to it. */
static void test_format_roundtrip(void)
{
	for (unsigned int c = 0; c < CONTROL_NR_CMDS; c++) {
		struct control_req in = { .cmd = (enum control_cmd)c, .inflate = true, .mib = 12345,
					  .path = "/srv/snap-1", .stop = true };
		struct control_req out;
		char line[CONTROL_MAX_REQUEST];
		const char *why;
		int n = control__format_request(&in, line, sizeof(line));

		TEST_ASSERT(n > 0 && line[n - 1] == '\n', "command %u formats", c);
		TEST_ASSERT_EQ(control__parse_request(line, (size_t)n - 1, &out, &why), CONTROL_OK);
		TEST_ASSERT_EQ(out.cmd, in.cmd);
		if (in.cmd == CONTROL_CMD_BALLOON) {
			TEST_ASSERT_EQ(out.mib, 12345ULL);
			TEST_ASSERT(out.inflate, "inflate survives");
		}
		if (in.cmd == CONTROL_CMD_SNAPSHOT) {
			TEST_ASSERT_STR_EQ(out.path, "/srv/snap-1");
			TEST_ASSERT(out.stop, "stop survives");
		}
	}
	{
		/* snapshot: an absolute directory, then resume or stop. */
		struct control_req req;
		char line[CONTROL_MAX_REQUEST];
		const char *why;

		TEST_ASSERT_EQ(control__parse_request("LKVM/1 snapshot /a/b resume", 27, &req, &why),
			       CONTROL_OK);
		TEST_ASSERT(!req.stop && !strcmp(req.path, "/a/b"), "snapshot /a/b resume");
		TEST_ASSERT_EQ(control__parse_request("LKVM/1 snapshot a/b stop", 24, &req, &why),
			       CONTROL_E_ARGS);
		TEST_ASSERT_STR_CONTAINS(why, "absolute path");
		TEST_ASSERT_EQ(control__parse_request("LKVM/1 snapshot /a/b later", 26, &req, &why),
			       CONTROL_E_ARGS);
		TEST_ASSERT_STR_CONTAINS(why, "resume or stop");
		TEST_ASSERT_EQ(control__parse_request("LKVM/1 snapshot /a/b", 20, &req, &why),
			       CONTROL_E_ARGS);
		memset(line, 'x', sizeof(line));
		memcpy(line, "LKVM/1 snapshot /", 17);
		memcpy(line + 17 + CONTROL_MAX_PATH, " stop", 5);
		TEST_ASSERT_EQ(control__parse_request(line, 17 + CONTROL_MAX_PATH + 5, &req, &why),
			       CONTROL_E_ARGS);
		req = (struct control_req){ .cmd = CONTROL_CMD_SNAPSHOT, .path = "/a b" };
		TEST_ASSERT_EQ(control__format_request(&req, line, sizeof(line)), -ENOSPC);
	}
	{
		struct control_req in = { .cmd = CONTROL_CMD_INFO };
		char small[8];

		TEST_ASSERT_EQ(control__format_request(&in, small, sizeof(small)), -ENOSPC);
	}
}

static void test_parse_oversized(void)
{
	char line[CONTROL_MAX_REQUEST + 16];
	struct control_req req;
	const char *why;

	/* 255 bytes is the most a line may have (256 with its newline). */
	memset(line, 'a', sizeof(line));
	memcpy(line, "LKVM/1 info ", 12);
	TEST_ASSERT_EQ(control__parse_request(line, CONTROL_MAX_REQUEST, &req, &why),
		       CONTROL_E_REQUEST);
	TEST_ASSERT_STR_CONTAINS(why, "longer");
	TEST_ASSERT_EQ(control__parse_request(line, sizeof(line), &req, &why), CONTROL_E_REQUEST);
	/* Within the size, a long last word is just a wrong argument. */
	TEST_ASSERT_EQ(control__parse_request(line, CONTROL_MAX_REQUEST - 1, &req, &why),
		       CONTROL_E_ARGS);
}

static void test_parse_bad_bytes(void)
{
	static const char nul[] = "LKVM/1 in\0fo";
	static const char *const bad[] = {
		"LKVM/1 info\n", "LKVM/1\tinfo", "LKVM/1 info\x7f", "LKVM/1 inf\xc3\xa9",
		"\xff\xfe", "LKVM/1 stat memory\x1b[0m",
	};
	struct control_req req;
	const char *why;

	TEST_ASSERT_EQ(control__parse_request(nul, sizeof(nul) - 1, &req, &why), CONTROL_E_REQUEST);
	TEST_ASSERT_STR_CONTAINS(why, "NUL");
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		TEST_ASSERT_EQ(parse(bad[i], &req), CONTROL_E_REQUEST);
	}
}

static void test_parse_bad_words(void)
{
	static const char *const bad[] = {
		"", " ", "LKVM/1", "LKVM/1 ", " LKVM/1 info", "LKVM/1  info", "LKVM/1 info ",
		"lkvm/1 info", "LKVM1 info", "LKVM/ info", "LKVM/x info", "LKVM/-1 info",
		"LKVM/1x info", "HTTP/1.1 GET /", "LKVM/1 a b c d e f g h",
	};
	struct control_req req;

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
		TEST_ASSERT(parse(bad[i], &req) == CONTROL_E_REQUEST, "'%s' refused as malformed",
			    bad[i]);
}

static void test_parse_version(void)
{
	struct control_req req;
	const char *why;

	TEST_ASSERT_EQ(control__parse_request("LKVM/2 info", 11, &req, &why), CONTROL_E_VERSION);
	TEST_ASSERT_STR_CONTAINS(why, "LKVM/1");
	TEST_ASSERT_EQ(parse("LKVM/0 info", &req), CONTROL_E_VERSION);
	TEST_ASSERT_EQ(parse("LKVM/01 info", &req), CONTROL_OK);	/* a number, however written */
	/* A version too large for 64 bits is malformed, not a wrap to 1. */
	TEST_ASSERT_EQ(parse("LKVM/18446744073709551617 info", &req), CONTROL_E_REQUEST);
}

static void test_parse_unknown_and_args(void)
{
	static const char *const bad_args[] = {
		"LKVM/1 pause now", "LKVM/1 info x", "LKVM/1 balloon", "LKVM/1 balloon inflate",
		"LKVM/1 balloon inflate 1 2", "LKVM/1 balloon grow 1", "LKVM/1 stat",
		"LKVM/1 stat cpu", "LKVM/1 stat memory now",
	};
	struct control_req req;

	TEST_ASSERT_EQ(parse("LKVM/1 reboot", &req), CONTROL_E_COMMAND);
	TEST_ASSERT_EQ(parse("LKVM/1 INFO", &req), CONTROL_E_COMMAND);
	TEST_ASSERT_EQ(parse("LKVM/1 infos", &req), CONTROL_E_COMMAND);
	TEST_ASSERT_EQ(parse("LKVM/1 inf", &req), CONTROL_E_COMMAND);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_args); i++)
		TEST_ASSERT(parse(bad_args[i], &req) == CONTROL_E_ARGS, "'%s': bad arguments",
			    bad_args[i]);
}

static void test_parse_numbers(void)
{
	static const char *const bad[] = {
		"LKVM/1 balloon inflate 1073741825",			/* CONTROL_MAX_MIB + 1 */
		"LKVM/1 balloon inflate 18446744073709551615",		/* 2^64 - 1 */
		"LKVM/1 balloon inflate 18446744073709551616",		/* 2^64 */
		"LKVM/1 balloon inflate 99999999999999999999999999999",
		"LKVM/1 balloon inflate -1", "LKVM/1 balloon inflate +1",
		"LKVM/1 balloon inflate 0x10", "LKVM/1 balloon inflate 1e3",
		"LKVM/1 balloon inflate 64M", "LKVM/1 balloon inflate 6.4",
	};
	struct control_req req;

	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++)
		TEST_ASSERT(parse(bad[i], &req) == CONTROL_E_ARGS, "'%s' refused", bad[i]);
}

static void test_parse_header(void)
{
	enum control_status st;
	size_t body, hdr;
	char big[CONTROL_MAX_HEADER + 8];

	TEST_ASSERT_EQ(control__parse_header("LKVM/1 ok 12\n{}", 15, &st, &body, &hdr), 0);
	TEST_ASSERT_EQ(st, CONTROL_OK);
	TEST_ASSERT_EQ(body, 12);
	TEST_ASSERT_EQ(hdr, 13);
	TEST_ASSERT_EQ(control__parse_header("LKVM/1 no-device 0\n", 19, &st, &body, &hdr), 0);
	TEST_ASSERT_EQ(st, CONTROL_E_NODEV);
	TEST_ASSERT_EQ(control__parse_header("LKVM/1 ok 12", 12, &st, &body, &hdr), -EAGAIN);
	TEST_ASSERT_EQ(control__parse_header("LKVM/2 ok 12\n", 13, &st, &body, &hdr), -EPROTO);
	TEST_ASSERT_EQ(control__parse_header("LKVM/1 fine 12\n", 15, &st, &body, &hdr), -EPROTO);
	TEST_ASSERT_EQ(control__parse_header("LKVM/1 ok\n", 10, &st, &body, &hdr), -EPROTO);
	TEST_ASSERT_EQ(control__parse_header("LKVM/1 ok -1\n", 13, &st, &body, &hdr), -EPROTO);
	TEST_ASSERT_EQ(control__parse_header("LKVM/1 ok 4194305\n", 18, &st, &body, &hdr),
		       -EPROTO);
	TEST_ASSERT_EQ(control__parse_header("LKVM/1 ok 99999999999999999999999\n", 34, &st,
					     &body, &hdr), -EPROTO);
	memset(big, 'x', sizeof(big));
	TEST_ASSERT_EQ(control__parse_header(big, sizeof(big), &st, &body, &hdr), -EPROTO);
}

/* ---- names, paths, permissions ------------------------------------------- */

static void test_names(void)
{
	static const char *const good[] = { "a", "guest-123", "ci.job_7+x@host", "A-Z.0" };
	static const char *const bad[] = {
		"", ".hidden", "-n", "a/b", "..", "a b", "x\n", "caf\xc3\xa9", "a*", "a;rm",
	};
	struct lkvm_err err;
	char longest[CONTROL_NAME_MAX + 2];

	for (unsigned int i = 0; i < ARRAY_SIZE(good); i++)
		TEST_ASSERT(!control__check_name(good[i], &err), "'%s' is a name: %s", good[i],
			    err.msg);
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		TEST_ASSERT_EQ(control__check_name(bad[i], &err), -EINVAL);
		TEST_ASSERT_STR_CONTAINS(err.msg, "--name");
	}
	memset(longest, 'g', sizeof(longest));
	longest[CONTROL_NAME_MAX] = '\0';
	TEST_ASSERT_EQ(control__check_name(longest, &err), 0);
	longest[CONTROL_NAME_MAX] = 'g';
	longest[CONTROL_NAME_MAX + 1] = '\0';
	TEST_ASSERT_EQ(control__check_name(longest, &err), -EINVAL);
}

static void test_sock_path(void)
{
	char dir[200], path[512];
	struct lkvm_err err;
	size_t n;

	TEST_ASSERT_EQ(control__sock_path("/h/.lkvm", "g", path, sizeof(path), &err), 0);
	TEST_ASSERT_STR_EQ(path, "/h/.lkvm/g.sock");
	/* sun_path holds 107 bytes and the NUL: "/" + name + ".sock" after the directory. */
	n = 107 - strlen("/g.sock");
	memset(dir, 'd', n);
	dir[0] = '/';
	dir[n] = '\0';
	TEST_ASSERT_EQ(control__sock_path(dir, "g", path, sizeof(path), &err), 0);
	TEST_ASSERT_EQ(strlen(path), 107);
	TEST_ASSERT_EQ(control__sock_path(dir, "gg", path, sizeof(path), &err), -ENAMETOOLONG);
	TEST_ASSERT_STR_CONTAINS(err.msg, "107");
	TEST_ASSERT_STR_CONTAINS(err.msg, "shorter --name");
	TEST_ASSERT_EQ(control__sock_path("/h", "g", path, 8, &err), -ENAMETOOLONG);
}

static void test_default_dir(void)
{
	struct lkvm_err err;
	char buf[256], small[8];

	setenv("HOME", "/home/ci", 1);
	TEST_ASSERT_EQ(control__default_dir(buf, sizeof(buf), &err), 0);
	TEST_ASSERT_STR_EQ(buf, "/home/ci/.lkvm");
	setenv("HOME", "/", 1);
	TEST_ASSERT_EQ(control__default_dir(buf, sizeof(buf), &err), 0);
	TEST_ASSERT_STR_EQ(buf, "/.lkvm");
	setenv("HOME", "/home/ci/", 1);
	TEST_ASSERT_EQ(control__default_dir(buf, sizeof(buf), &err), 0);
	TEST_ASSERT_STR_EQ(buf, "/home/ci/.lkvm");
	TEST_ASSERT_EQ(control__default_dir(small, sizeof(small), &err), -ENAMETOOLONG);
	unsetenv("HOME");
	TEST_ASSERT_EQ(control__default_dir(buf, sizeof(buf), &err), -ENOENT);
	TEST_ASSERT_STR_CONTAINS(err.msg, "HOME is not set");
	setenv("HOME", "", 1);
	TEST_ASSERT_EQ(control__default_dir(buf, sizeof(buf), &err), -ENOENT);
}

static void test_peer_allowed(void)
{
	TEST_ASSERT(control__peer_allowed(1000, 1000), "the same uid");
	TEST_ASSERT(control__peer_allowed(0, 1000), "root");
	TEST_ASSERT(control__peer_allowed(0, 0), "root's own");
	TEST_ASSERT(!control__peer_allowed(1001, 1000), "another user");
	TEST_ASSERT(!control__peer_allowed(1000, 0), "a user, for root's guest");
	TEST_ASSERT(!control__peer_allowed((uid_t)-1, 1000), "the overflow uid");
}

/* ---- a server on a real socket --------------------------------------------- */

struct served {
	struct control_server *s;
	int stop;		/* eventfd */
	pthread_t thread;
	unsigned int calls;
	size_t answer_bytes;	/* the fake handler's answer: this many bytes of string */
	bool hold;
};

static void fake_handler(void *ctx, const struct control_req *req, struct control_reply *rep)
{
	struct served *sv = ctx;

	sv->calls++;
	if (req->cmd == CONTROL_CMD_BALLOON) {
		rep->status = CONTROL_E_NODEV;
		snprintf(rep->error, sizeof(rep->error), "no balloon here");
		return;
	}
	json__obj_begin(&rep->body, NULL);
	json__str(&rep->body, "cmd", control__cmd_name(req->cmd));
	json__u64(&rep->body, "calls", sv->calls);
	if (sv->answer_bytes) {
		char *big = malloc(sv->answer_bytes + 1);

		TEST_ASSERT(big, "malloc");
		memset(big, 'z', sv->answer_bytes);
		big[sv->answer_bytes] = '\0';
		json__str(&rep->body, "big", big);
		free(big);
	}
	json__obj_end(&rep->body);
	rep->hold = sv->hold;
}

static void *serve(void *arg)
{
	struct served *sv = arg;

	for (;;) {
		struct pollfd p[1 + CONTROL_MAX_POLLFDS];
		int timeout = -1;
		unsigned int n;

		p[0] = (struct pollfd){ .fd = sv->stop, .events = POLLIN };
		n = control__server_pollfds(sv->s, p + 1, &timeout);
		if (poll(p, 1 + n, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN)
			break;
		control__server_handle(sv->s, p + 1, n);
	}
	return NULL;
}

/*
 * The socket directory of the running case (each case is a process of its
 * own), named once: a child the case forks keeps its parent's.
 */
static const char *test_dir(void)
{
	static char dir[300];

	if (!dir[0])
		snprintf(dir, sizeof(dir), "%s/ctl-%d", TEST_TMPDIR, (int)getpid());
	return dir;
}

static void start(struct served *sv, const char *name)
{
	struct lkvm_err err = { "" };

	memset(sv, 0, sizeof(*sv));
	TEST_ASSERT_EQ(control__server_open(test_dir(), name, fake_handler, sv, &sv->s, &err), 0);
	sv->stop = eventfd(0, EFD_CLOEXEC);
	TEST_ASSERT(sv->stop >= 0, "eventfd");
	TEST_ASSERT_EQ(pthread_create(&sv->thread, NULL, serve, sv), 0);
}

static void finish(struct served *sv)
{
	u64 one = 1;

	TEST_ASSERT_EQ(write(sv->stop, &one, sizeof(one)), (ssize_t)sizeof(one));
	pthread_join(sv->thread, NULL);
	control__server_close(sv->s);
	close(sv->stop);
}

/* A raw connection to guest @name (no protocol). */
static int raw_connect(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	TEST_ASSERT(fd >= 0, "socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", test_dir(), name);
	TEST_ASSERT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect %s: %s",
		    sa.sun_path, strerror(errno));
	return fd;
}

/* Reads until EOF (at most @len - 1 bytes); NUL-terminated. */
static size_t read_all(int fd, char *buf, size_t len)
{
	size_t have = 0;

	for (;;) {
		ssize_t n = read(fd, buf + have, len - 1 - have);

		if (n <= 0)
			break;
		have += (size_t)n;
	}
	buf[have] = '\0';
	return have;
}

static void test_server_answers(void)
{
	struct control_req req = { .cmd = CONTROL_CMD_INFO };
	struct lkvm_err err = { "" };
	struct control_resp resp;
	struct served sv;
	struct stat st;
	char val[64], path[512];

	start(&sv, "g1");
	/* The directory 0700, the socket 0600. */
	TEST_ASSERT_EQ(stat(test_dir(), &st), 0);
	TEST_ASSERT_EQ(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/g1.sock", test_dir());
	TEST_ASSERT_STR_EQ(control__server_path(sv.s), path);
	TEST_ASSERT_EQ(stat(path, &st), 0);
	TEST_ASSERT(S_ISSOCK(st.st_mode), "a socket");
	TEST_ASSERT_EQ(st.st_mode & 0777, 0600);

	TEST_ASSERT_EQ(control__call(test_dir(), "g1", &req, 5000, &resp, &err), 0);
	TEST_ASSERT_EQ(resp.status, CONTROL_OK);
	TEST_ASSERT_EQ(json__get(resp.body, resp.len, "cmd", val, sizeof(val)), 0);
	TEST_ASSERT_STR_EQ(val, "info");
	control__resp_free(&resp);
	/* An error answer carries its message. */
	req = (struct control_req){ .cmd = CONTROL_CMD_BALLOON, .inflate = true, .mib = 1 };
	TEST_ASSERT_EQ(control__call(test_dir(), "g1", &req, 5000, &resp, &err), 0);
	TEST_ASSERT_EQ(resp.status, CONTROL_E_NODEV);
	TEST_ASSERT_STR_EQ(control__resp_error(&resp, val, sizeof(val)), "no balloon here");
	control__resp_free(&resp);
	finish(&sv);
	/* Closed: the socket file is gone, the name free. */
	TEST_ASSERT(stat(path, &st) < 0 && errno == ENOENT, "socket removed at close");
}

static void test_server_bad_requests(void)
{
	static const struct {
		const char *send;
		const char *status;
	} cases[] = {
		{ "LKVM/1 info", "bad-request" },		/* truncated: no newline, then EOF */
		{ "LKVM/9 info\n", "version" },
		{ "LKVM/1 frobnicate\n", "unknown-command" },
		{ "LKVM/1 balloon inflate 99999999999999999999\n", "bad-arguments" },
		{ "GET / HTTP/1.0\r\n\r\n", "bad-request" },
	};
	char buf[1024], big[CONTROL_MAX_REQUEST + 100];
	struct served sv;

	start(&sv, "g2");
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		int fd = raw_connect("g2");
		char want[64];

		TEST_ASSERT_EQ(write(fd, cases[i].send, strlen(cases[i].send)),
			       (ssize_t)strlen(cases[i].send));
		shutdown(fd, SHUT_WR);
		read_all(fd, buf, sizeof(buf));
		snprintf(want, sizeof(want), "LKVM/1 %s ", cases[i].status);
		TEST_ASSERT(!strncmp(buf, want, strlen(want)), "'%s' answered '%s', got '%s'",
			    cases[i].send, want, buf);
		TEST_ASSERT_STR_CONTAINS(buf, "\"error\":");
		close(fd);
	}
	/* More than the limit without a newline: answered at once, not waited on. */
	{
		int fd = raw_connect("g2");

		memset(big, 'A', sizeof(big));
		TEST_ASSERT_EQ(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
		read_all(fd, buf, sizeof(buf));
		TEST_ASSERT_STR_CONTAINS(buf, "LKVM/1 bad-request ");
		TEST_ASSERT_STR_CONTAINS(buf, "longer than 255");
		close(fd);
	}
	TEST_ASSERT_EQ(sv.calls, 0);	/* the handler never saw any of them */
	finish(&sv);
}

/* A client that connects and says nothing costs a slot, not the others' service. */
static void test_server_stalled_client(void)
{
	struct control_req req = { .cmd = CONTROL_CMD_INFO };
	struct lkvm_err err = { "" };
	struct control_resp resp;
	struct served sv;
	char buf[64];
	u64 t0;
	int stalled;

	start(&sv, "g3");
	stalled = raw_connect("g3");
	TEST_ASSERT_EQ(write(stalled, "LKVM/1 in", 9), 9);	/* and then nothing */
	t0 = now_ns();
	TEST_ASSERT_EQ(control__call(test_dir(), "g3", &req, 5000, &resp, &err), 0);
	TEST_ASSERT(now_ns() - t0 < 1000000000ULL, "answered within a second of asking");
	TEST_ASSERT_EQ(resp.status, CONTROL_OK);
	control__resp_free(&resp);
	/* The stalled one is dropped at its deadline: EOF, no answer. */
	t0 = now_ns();
	TEST_ASSERT_EQ(read_all(stalled, buf, sizeof(buf)), 0);
	TEST_ASSERT(now_ns() - t0 >= (CONTROL_CLIENT_TIMEOUT_MS - 1000) * 1000000ULL,
		    "dropped at the deadline, not before");
	close(stalled);
	finish(&sv);
}

static void test_server_client_limit(void)
{
	struct control_req req = { .cmd = CONTROL_CMD_INFO };
	struct lkvm_err err = { "" };
	int fds[CONTROL_MAX_CLIENTS];
	struct control_resp resp;
	struct served sv;
	char val[128];

	start(&sv, "g4");
	for (unsigned int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		fds[i] = raw_connect("g4");
	usleep(200000);		/* all accepted */
	TEST_ASSERT_EQ(control__call(test_dir(), "g4", &req, 5000, &resp, &err), 0);
	TEST_ASSERT_EQ(resp.status, CONTROL_E_BUSY);
	TEST_ASSERT_STR_CONTAINS(control__resp_error(&resp, val, sizeof(val)), "too many");
	control__resp_free(&resp);
	for (unsigned int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		close(fds[i]);
	usleep(200000);		/* the slots are freed */
	TEST_ASSERT_EQ(control__call(test_dir(), "g4", &req, 5000, &resp, &err), 0);
	TEST_ASSERT_EQ(resp.status, CONTROL_OK);
	control__resp_free(&resp);
	finish(&sv);
}

/* "stop": the answer comes at once, the connection closes only with the server. */
static void test_server_hold(void)
{
	struct control_req req = { .cmd = CONTROL_CMD_STOP };
	struct lkvm_err err = { "" };
	struct control_resp resp;
	struct served sv;

	start(&sv, "g5");
	sv.hold = true;
	TEST_ASSERT_EQ(control__call(test_dir(), "g5", &req, 5000, &resp, &err), 0);
	TEST_ASSERT_EQ(resp.status, CONTROL_OK);
	TEST_ASSERT_EQ(control__wait_closed(&resp, 300), -ETIMEDOUT);
	finish(&sv);
	TEST_ASSERT_EQ(control__wait_closed(&resp, 2000), 0);
	control__resp_free(&resp);
}

static void test_server_answer_too_large(void)
{
	struct control_req req = { .cmd = CONTROL_CMD_DEBUG };
	struct lkvm_err err = { "" };
	struct control_resp resp;
	struct served sv;
	char val[160];

	start(&sv, "g6");
	sv.answer_bytes = CONTROL_MAX_RESPONSE;
	TEST_ASSERT_EQ(control__call(test_dir(), "g6", &req, 5000, &resp, &err), 0);
	TEST_ASSERT_EQ(resp.status, CONTROL_E_FAILED);
	TEST_ASSERT_STR_CONTAINS(control__resp_error(&resp, val, sizeof(val)), "did not fit");
	control__resp_free(&resp);
	/* Just under the limit goes through whole. */
	sv.answer_bytes = CONTROL_MAX_RESPONSE - 100;
	TEST_ASSERT_EQ(control__call(test_dir(), "g6", &req, 5000, &resp, &err), 0);
	TEST_ASSERT_EQ(resp.status, CONTROL_OK);
	TEST_ASSERT(resp.len > CONTROL_MAX_RESPONSE - 100, "the whole answer");
	control__resp_free(&resp);
	finish(&sv);
}

/* A second guest with a live guest's name is refused, naming the first's pid. */
static void test_name_in_use(void)
{
	struct control_server *other = NULL;
	struct lkvm_err err = { "" };
	struct served sv;
	char pid[32];

	start(&sv, "taken");
	TEST_ASSERT_EQ(control__server_open(test_dir(), "taken", fake_handler, &sv, &other, &err),
		       -EADDRINUSE);
	TEST_ASSERT(!other, "no second server");
	snprintf(pid, sizeof(pid), "pid %d", (int)getpid());
	TEST_ASSERT_STR_CONTAINS(err.msg, pid);
	TEST_ASSERT_STR_CONTAINS(err.msg, "lkvm stop -n taken");
	TEST_ASSERT_EQ(control__remove_stale(test_dir(), "taken"), 0);	/* live: kept */
	finish(&sv);
}

/* A socket file nobody listens on: the next guest of that name takes it over. */
static void make_stale(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	mkdir(test_dir(), 0700);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s.sock", test_dir(), name);
	TEST_ASSERT(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind %s",
		    sa.sun_path);
	close(fd);	/* the file stays: connect() now fails with ECONNREFUSED */
}

static void test_stale_socket(void)
{
	struct control_req req = { .cmd = CONTROL_CMD_INFO };
	struct lkvm_err err = { "" };
	struct control_resp resp;
	struct served sv;
	char path[512];
	struct stat st;

	make_stale("old");
	TEST_ASSERT_EQ(control__call(test_dir(), "old", &req, 2000, &resp, &err), -ECONNREFUSED);
	TEST_ASSERT_STR_CONTAINS(err.msg, "is dead");
	snprintf(path, sizeof(path), "%s/old.sock", test_dir());
	TEST_ASSERT(stat(path, &st) < 0 && errno == ENOENT, "the client removed it");

	make_stale("old");
	TEST_ASSERT_EQ(control__remove_stale(test_dir(), "old"), 1);
	TEST_ASSERT_EQ(control__remove_stale(test_dir(), "old"), 0);	/* absent */

	make_stale("old");
	start(&sv, "old");	/* takes the name over */
	TEST_ASSERT_EQ(control__call(test_dir(), "old", &req, 2000, &resp, &err), 0);
	TEST_ASSERT_EQ(resp.status, CONTROL_OK);
	control__resp_free(&resp);
	finish(&sv);
}

static void test_client_errors(void)
{
	struct control_req req = { .cmd = CONTROL_CMD_INFO };
	struct lkvm_err err = { "" };
	struct control_resp resp;
	char dir[200];

	mkdir(test_dir(), 0700);
	TEST_ASSERT_EQ(control__call(test_dir(), "nobody", &req, 2000, &resp, &err), -ENOENT);
	TEST_ASSERT_STR_CONTAINS(err.msg, "no guest named 'nobody'");
	TEST_ASSERT_EQ(control__call(test_dir(), "a/b", &req, 2000, &resp, &err), -EINVAL);
	memset(dir, 'd', sizeof(dir) - 1);
	dir[0] = '/';
	dir[sizeof(dir) - 1] = '\0';
	TEST_ASSERT_EQ(control__call(dir, "x", &req, 2000, &resp, &err), -ENAMETOOLONG);
	TEST_ASSERT_STR_CONTAINS(err.msg, "Unix socket address");
}

/* A server that answers garbage is reported as such. */
static void test_client_bad_answer(void)
{
	struct control_req req = { .cmd = CONTROL_CMD_INFO };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const char *const answers[] = {
		"HTTP/1.0 200 OK\r\n\r\n", "LKVM/1 ok 100\n{}", "LKVM/1 ok 3\n{]}",
		"LKVM/1 ok 2\n{}",	/* good */
	};
	struct lkvm_err err = { "" };
	struct control_resp resp;
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);

	mkdir(test_dir(), 0700);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/liar.sock", test_dir());
	TEST_ASSERT(lfd >= 0 && bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    listen(lfd, 4) == 0, "listen");
	for (unsigned int i = 0; i < ARRAY_SIZE(answers); i++) {
		pid_t pid = fork();

		if (pid == 0) {
			char buf[256];
			int fd = accept(lfd, NULL, NULL);

			if (read(fd, buf, sizeof(buf)) < 0 ||
			    write(fd, answers[i], strlen(answers[i])) < 0)
				_exit(1);
			close(fd);
			_exit(0);
		}
		if (i + 1 < ARRAY_SIZE(answers)) {
			TEST_ASSERT_EQ(control__call(test_dir(), "liar", &req, 2000, &resp, &err),
				       -EPROTO);
			TEST_ASSERT_STR_CONTAINS(err.msg, "malformed answer");
		} else {
			TEST_ASSERT_EQ(control__call(test_dir(), "liar", &req, 2000, &resp, &err), 0);
			control__resp_free(&resp);
		}
		waitpid(pid, NULL, 0);
	}
	close(lfd);
}

/*
 * Another user: refused by the socket directory's 0700 (connect: EACCES),
 * and, where the directory lets it through, by SO_PEERCRED.
 */
static void test_other_user(void)
{
	int to_parent[2], to_child[2];
	struct served sv;
	char path[512], c = 0;
	int status;
	pid_t pid;

	if (geteuid() != 0)
		TEST_SKIP("needs root to become another user");
	start(&sv, "mine");
	snprintf(path, sizeof(path), "%s/mine.sock", test_dir());
	TEST_ASSERT(pipe(to_parent) == 0 && pipe(to_child) == 0, "pipes");
	pid = fork();
	if (pid == 0) {
		struct control_req req = { .cmd = CONTROL_CMD_INFO };
		struct lkvm_err err = { "" };
		struct control_resp resp;
		char val[160];
		int r;

		if (setgid(65534) || setuid(65534))
			_exit(3);
		/* The directory is 0700: the path can't even be reached. */
		r = control__call(test_dir(), "mine", &req, 2000, &resp, &err);
		if (r != -EACCES || !strstr(err.msg, "permission denied")) {
			printf("# first call: %d %s\n", r, err.msg);
			_exit(4);
		}
		/* Let through (as a careless chmod would), the server still says no. */
		if (write(to_parent[1], "1", 1) != 1 || read(to_child[0], &c, 1) != 1)
			_exit(5);
		r = control__call(test_dir(), "mine", &req, 2000, &resp, &err);
		if (r) {
			printf("# second call: %d %s\n", r, err.msg);
			_exit(6);
		}
		if (resp.status != CONTROL_E_DENIED ||
		    !strstr(control__resp_error(&resp, val, sizeof(val)), "permission denied"))
			_exit(7);
		_exit(0);
	}
	TEST_ASSERT(pid > 0, "fork");
	close(to_parent[1]);
	/* The child's first call fails before it says so; then the doors open. */
	if (read(to_parent[0], &c, 1) == 1) {
		TEST_ASSERT_EQ(chmod(TEST_TMPDIR, 0711), 0);
		TEST_ASSERT_EQ(chmod(test_dir(), 0755), 0);
		TEST_ASSERT_EQ(chmod(path, 0666), 0);
		TEST_ASSERT_EQ(write(to_child[1], "1", 1), 1);
	}
	TEST_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	TEST_ASSERT(WIFEXITED(status), "child exited");
	TEST_ASSERT_EQ(WEXITSTATUS(status), 0);
	TEST_ASSERT_EQ(sv.calls, 0);
	finish(&sv);
}

/* An existing directory with loose permissions is tightened; one of another user refused. */
static void test_dir_checks(void)
{
	struct control_server *s = NULL;
	struct lkvm_err err = { "" };
	struct served sv;
	struct stat st;

	TEST_ASSERT_EQ(mkdir(test_dir(), 0777), 0);
	TEST_ASSERT_EQ(chmod(test_dir(), 0777), 0);
	TEST_ASSERT_EQ(control__server_open(test_dir(), "d", fake_handler, &sv, &s, &err), 0);
	TEST_ASSERT_EQ(stat(test_dir(), &st), 0);
	TEST_ASSERT_EQ(st.st_mode & 0777, 0700);
	control__server_close(s);
	if (geteuid() == 0) {
		TEST_ASSERT_EQ(chown(test_dir(), 65534, 65534), 0);
		TEST_ASSERT_EQ(control__server_open(test_dir(), "d", fake_handler, &sv, &s, &err),
			       -EPERM);
		TEST_ASSERT_STR_CONTAINS(err.msg, "belongs to uid 65534");
	}
}

static void test_names_list(void)
{
	struct lkvm_err err = { "" };
	struct served a, b;
	unsigned int n;
	char **names;
	int fd;

	TEST_ASSERT_EQ(control__names(test_dir(), &names, &n, &err), 0);	/* no directory */
	TEST_ASSERT_EQ(n, 0);
	start(&b, "zeta");
	start(&a, "alpha");
	/* Not guests: other files, a bad name. */
	{
		char p[512];

		snprintf(p, sizeof(p), "%s/notes.txt", test_dir());
		fd = open(p, O_CREAT | O_WRONLY, 0600);
		close(fd);
		snprintf(p, sizeof(p), "%s/.x.sock", test_dir());
		fd = open(p, O_CREAT | O_WRONLY, 0600);
		close(fd);
	}
	TEST_ASSERT_EQ(control__names(test_dir(), &names, &n, &err), 0);
	TEST_ASSERT_EQ(n, 2);
	TEST_ASSERT_STR_EQ(names[0], "alpha");
	TEST_ASSERT_STR_EQ(names[1], "zeta");
	control__names_free(names, n);
	finish(&a);
	finish(&b);
}

static const struct test_case tests[] = {
	TEST_CASE(test_parse_good),
	TEST_CASE(test_format_roundtrip),
	TEST_CASE(test_parse_oversized),
	TEST_CASE(test_parse_bad_bytes),
	TEST_CASE(test_parse_bad_words),
	TEST_CASE(test_parse_version),
	TEST_CASE(test_parse_unknown_and_args),
	TEST_CASE(test_parse_numbers),
	TEST_CASE(test_parse_header),
	TEST_CASE(test_names),
	TEST_CASE(test_sock_path),
	TEST_CASE(test_default_dir),
	TEST_CASE(test_peer_allowed),
	TEST_CASE(test_server_answers),
	TEST_CASE(test_server_bad_requests),
	TEST_CASE(test_server_stalled_client),
	TEST_CASE(test_server_client_limit),
	TEST_CASE(test_server_hold),
	TEST_CASE(test_server_answer_too_large),
	TEST_CASE(test_name_in_use),
	TEST_CASE(test_stale_socket),
	TEST_CASE(test_client_errors),
	TEST_CASE(test_client_bad_answer),
	TEST_CASE(test_other_user),
	TEST_CASE(test_dir_checks),
	TEST_CASE(test_names_list),
};

TEST_MAIN(tests)
