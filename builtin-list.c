// SPDX-License-Identifier: GPL-2.0-only
/*
 * "lkvm list [--json]": every guest of this user, from the sockets in
 * ~/.lkvm, each asked for its facts.  kvmtool's table starts "PID NAME
 * STATE"; lkvm's keeps those columns first and adds vCPUs, memory,
 * nesting and uptime.  A socket whose lkvm is gone is removed quietly;
 * a guest that does not answer is listed as "unreachable".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkvm/builtin.h"

#define LIST_TIMEOUT_MS		5000

static const char usage[] =
	"usage: lkvm list [--json] [-n NAME]\n"
	"\n"
	"List the running guests of this user (their sockets are in ~/.lkvm):\n"
	"PID, NAME, STATE (running or paused), vCPUs, memory, nested, uptime.\n"
	"\n"
	"  -n, --name NAME   only this guest\n"
	"      --json        a JSON array of the guests' facts\n";

static void field(const struct control_resp *resp, const char *key, char *buf, size_t len)
{
	if (json__get(resp->body, resp->len, key, buf, len) < 0)
		snprintf(buf, len, "-");
}

static void uptime(const char *secs, char *buf, size_t len)
{
	double s = strtod(secs, NULL);
	unsigned long t = s > 0 ? (unsigned long)s : 0;

	if (t < 120)
		snprintf(buf, len, "%lus", t);
	else if (t < 7200)
		snprintf(buf, len, "%lum%02lus", t / 60, t % 60);
	else
		snprintf(buf, len, "%luh%02lum", t / 3600, t / 60 % 60);
}

static void row(const struct control_resp *resp)
{
	char pid[24], name[80], state[24], vcpus[16], mem[24], nested[16], up[32], ut[32];

	field(resp, "pid", pid, sizeof(pid));
	field(resp, "name", name, sizeof(name));
	field(resp, "state", state, sizeof(state));
	field(resp, "vcpus", vcpus, sizeof(vcpus));
	field(resp, "mem_mib", mem, sizeof(mem));
	field(resp, "nested", nested, sizeof(nested));
	field(resp, "uptime_s", up, sizeof(up));
	uptime(up, ut, sizeof(ut));
	printf("%5s %-20s %-11s %5s %8s %-6s %s\n", pid, name, state, vcpus, mem,
	       !strcmp(nested, "true") ? "yes" : !strcmp(nested, "false") ? "no" : nested, ut);
}

static void json_unreachable(const char *name, const char *why, bool first)
{
	struct json j;

	json__init(&j, 4096);
	json__obj_begin(&j, NULL);
	json__str(&j, "name", name);
	json__str(&j, "state", "unreachable");
	json__str(&j, "error", why);
	json__obj_end(&j);
	if (json__text(&j))
		printf("%s%s", first ? "" : ",", json__text(&j));
	json__free(&j);
}

int cmd_list(int argc, char **argv)
{
	struct control_req req = { .cmd = CONTROL_CMD_INFO };
	struct lkvm_err err = { "" };
	char dir[4096], **names, msg[512];
	struct ctl_args a;
	unsigned int n, shown = 0;
	int r;

	r = ctl__parse(argc, argv, "list", CTL_JSON, usage, &a);
	if (r)
		return r == 1 ? 0 : r;
	if (ctl__dir(dir, sizeof(dir)))
		return 1;
	if (control__names(dir, &names, &n, &err)) {
		die_msg("list: %s", err.msg);
		return 1;
	}
	if (a.json)
		printf("[");
	else
		printf("%5s %-20s %-11s %5s %8s %-6s %s\n", "PID", "NAME", "STATE", "VCPUS", "MEM_MIB",
		       "NESTED", "UPTIME");
	for (unsigned int i = 0; i < n; i++) {
		struct control_resp resp;

		if (a.name && strcmp(a.name, names[i]) != 0)
			continue;
		r = control__call(dir, names[i], &req, LIST_TIMEOUT_MS, &resp, &err);
		if (r == -ECONNREFUSED || r == -ENOENT)
			continue;	/* its lkvm is gone (the socket was removed), or just went */
		if (!r && resp.status != CONTROL_OK)
			snprintf(err.msg, sizeof(err.msg), "%s",
				 control__resp_error(&resp, msg, sizeof(msg)));
		if (r || resp.status != CONTROL_OK) {
			if (a.json)
				json_unreachable(names[i], err.msg, !shown);
			else
				printf("%5s %-20s %-11s (%s)\n", "-", names[i], "unreachable", err.msg);
		} else if (a.json) {
			printf("%s%s", shown ? "," : "", resp.body);
		} else {
			row(&resp);
		}
		if (!r)
			control__resp_free(&resp);
		shown++;
	}
	if (a.json)
		printf("]\n");
	control__names_free(names, n);
	if (a.name && !shown) {
		die_msg("list: no guest named '%s'", a.name);
		return 1;
	}
	return 0;
}
