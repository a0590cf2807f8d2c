// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the commands that talk to running guests share (list, stop,
 * pause, resume, debug, balloon, stat, one builtin-<cmd>.c each): their
 * options in kvmtool's spelling (-n/--name NAME, -a/--all, ...), the
 * socket directory, one call with its error printed, and the loop of the
 * simple commands over one guest or all of them.
 *
 * Exit statuses: 0 done; 1 a guest could not be reached (no such guest,
 * dead, permission denied, no answer) or refused (its answer says why);
 * 2 a bad command line.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "lkvm/builtin.h"
#include "lkvm/control.h"

#define CALL_TIMEOUT_MS		30000	/* a pause waits up to 5 s per vCPU set and device */
#define STOP_WAIT_MS		120000	/* a big nested guest's teardown takes seconds */

enum {
	OPT_ALL = 'a',
	OPT_NAME = 'n',
	OPT_JSON = 0x100,
	OPT_MEMORY,
	OPT_INFLATE,
	OPT_DEFLATE,
	OPT_DUMP,
	OPT_REFUSED,
};

static const struct {
	struct option opt;
	unsigned int allow;	/* CTL_* a command must allow for it */
} options[] = {
	{ { "name", required_argument, NULL, OPT_NAME }, 0 },
	{ { "all", no_argument, NULL, OPT_ALL }, CTL_ALL },
	{ { "json", no_argument, NULL, OPT_JSON }, CTL_JSON },
	{ { "memory", no_argument, NULL, OPT_MEMORY }, CTL_MEMORY },
	{ { "inflate", required_argument, NULL, OPT_INFLATE }, CTL_BALLOON },
	{ { "deflate", required_argument, NULL, OPT_DEFLATE }, CTL_BALLOON },
	{ { "dump", no_argument, NULL, OPT_DUMP }, CTL_DEBUG },
	/* kvmtool's debug options lkvm does not have. */
	{ { "nmi", required_argument, NULL, OPT_REFUSED }, CTL_DEBUG },
	{ { "sysrq", required_argument, NULL, OPT_REFUSED }, CTL_DEBUG },
	{ { "help", no_argument, NULL, 'h' }, 0 },
};

int ctl__parse(int argc, char **argv, const char *cmd, unsigned int allow, const char *usage,
	       struct ctl_args *a)
{
	struct option opts[ARRAY_SIZE(options) + 1];
	char shortopts[16];
	int c, idx;
	u64 v;

	memset(a, 0, sizeof(*a));
	for (unsigned int i = 0; i < ARRAY_SIZE(options); i++)
		opts[i] = options[i].opt;
	opts[ARRAY_SIZE(options)] = (struct option){ NULL, 0, NULL, 0 };
	snprintf(shortopts, sizeof(shortopts), "+:hn:%s%s%s", allow & CTL_ALL ? "a" : "",
		 allow & CTL_MEMORY ? "m" : "", allow & CTL_BALLOON ? "i:d:" : "");
	optind = 0;
	opterr = 0;
	while (idx = -1, (c = getopt_long(argc, argv, shortopts, opts, &idx)) != -1) {
		if (idx >= 0 && options[idx].allow && !(allow & options[idx].allow)) {
			die_msg("%s: --%s is not an option of this command (see lkvm %s --help)", cmd,
				opts[idx].name, cmd);
			return 2;
		}
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return 1;
		case OPT_NAME: a->name = optarg; break;
		case OPT_ALL: a->all = true; break;
		case OPT_JSON: a->json = true; break;
		case 'm':
		case OPT_MEMORY: a->memory = true; break;
		case OPT_DUMP: break;	/* kvmtool's "print the registers": lkvm debug always does */
		case 'i':
		case 'd':
		case OPT_INFLATE:
		case OPT_DEFLATE:
			if (a->has_mib) {
				die_msg("%s: give one of --inflate and --deflate, once", cmd);
				return 2;
			}
			if (parse_uint(optarg, CONTROL_MAX_MIB, &v)) {
				die_msg("%s: %s %s: expected a number of MiB (at most %llu)", cmd,
					argv[optind - 1], optarg, (unsigned long long)CONTROL_MAX_MIB);
				return 2;
			}
			a->has_mib = true;
			a->inflate = c == 'i' || c == OPT_INFLATE;
			a->mib = v;
			break;
		case OPT_REFUSED:
			die_msg("%s: --%s: not supported by this lkvm", cmd, opts[idx].name);
			return 2;
		case ':':
			die_msg("%s: %s needs a value (see lkvm %s --help)", cmd, argv[optind - 1], cmd);
			return 2;
		default:
			die_msg("%s: unknown option '%s' (see lkvm %s --help)", cmd, argv[optind - 1], cmd);
			return 2;
		}
	}
	if (optind < argc) {
		die_msg("%s: unexpected argument '%s' (name the guest with -n NAME)", cmd, argv[optind]);
		return 2;
	}
	if (a->name && control__check_name(a->name, NULL)) {
		die_msg("%s: -n '%s': not a guest name ('lkvm list' shows them)", cmd, a->name);
		return 2;
	}
	if ((allow & CTL_NEED_TARGET) && !a->name && !a->all) {
		die_msg("%s: say which guest: -n NAME%s", cmd, allow & CTL_ALL ? " or --all" : "");
		return 2;
	}
	if (a->name && a->all) {
		die_msg("%s: -n NAME and --all: give one of them", cmd);
		return 2;
	}
	return 0;
}

int ctl__dir(char *dir, size_t len)
{
	struct lkvm_err err = { "" };

	if (control__default_dir(dir, len, &err)) {
		die_msg("%s", err.msg);
		return 1;
	}
	return 0;
}

int ctl__call(const char *dir, const char *name, const struct control_req *req,
	      struct control_resp *resp)
{
	struct lkvm_err err = { "" };
	char msg[512];

	if (control__call(dir, name, req, CALL_TIMEOUT_MS, resp, &err)) {
		die_msg("%s: %s", control__cmd_name(req->cmd), err.msg);
		return 1;
	}
	if (resp->status != CONTROL_OK) {
		die_msg("%s %s: %s", control__cmd_name(req->cmd), name,
			control__resp_error(resp, msg, sizeof(msg)));
		control__resp_free(resp);
		return 1;
	}
	return 0;
}

/* One guest of "stop", "pause" or "resume"; prints what happened. */
static int simple_one(const char *dir, const char *name, enum control_cmd cmd, bool quiet_dead)
{
	struct control_req req = { .cmd = cmd };
	struct lkvm_err err = { "" };
	struct control_resp resp;
	u64 t0 = now_ns();
	char val[64];
	int r;

	r = control__call(dir, name, &req, CALL_TIMEOUT_MS, &resp, &err);
	if (r) {
		/* --all: a socket left by a dead guest is no guest (it was removed). */
		if (quiet_dead && (r == -ECONNREFUSED || r == -ENOENT))
			return 0;
		die_msg("%s: %s", control__cmd_name(cmd), err.msg);
		return 1;
	}
	if (resp.status != CONTROL_OK) {
		die_msg("%s %s: %s", control__cmd_name(cmd), name,
			control__resp_error(&resp, val, sizeof(val)));
		control__resp_free(&resp);
		return 1;
	}
	if (cmd == CONTROL_CMD_STOP) {
		if (control__wait_closed(&resp, STOP_WAIT_MS)) {
			die_msg("stop %s: asked, but its lkvm did not exit within %d s", name,
				STOP_WAIT_MS / 1000);
			control__resp_free(&resp);
			return 1;
		}
		printf("%s: stopped (%.3f s)\n", name, (double)(now_ns() - t0) / 1e9);
	} else {
		if (!json__get(resp.body, resp.len, "warning", val, sizeof(val)))
			die_msg("%s %s: %s", control__cmd_name(cmd), name, val);
		if (json__get(resp.body, resp.len, "state", val, sizeof(val)))
			snprintf(val, sizeof(val), "?");
		printf("%s: %s (%.3f ms)\n", name, val, (double)(now_ns() - t0) / 1e6);
	}
	control__resp_free(&resp);
	return 0;
}

int ctl__simple(int argc, char **argv, enum control_cmd cmd, const char *usage)
{
	const char *name = control__cmd_name(cmd);
	char dir[4096], **names;
	struct lkvm_err err = { "" };
	struct ctl_args a;
	unsigned int n;
	int r, st = 0;

	r = ctl__parse(argc, argv, name, CTL_ALL | CTL_NEED_TARGET, usage, &a);
	if (r)
		return r == 1 ? 0 : r;
	if (ctl__dir(dir, sizeof(dir)))
		return 1;
	if (a.name)
		return simple_one(dir, a.name, cmd, false);
	if (control__names(dir, &names, &n, &err)) {
		die_msg("%s --all: %s", name, err.msg);
		return 1;
	}
	for (unsigned int i = 0; i < n; i++)
		st |= simple_one(dir, names[i], cmd, true);
	control__names_free(names, n);
	return st;
}
