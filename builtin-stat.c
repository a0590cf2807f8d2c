// SPDX-License-Identifier: GPL-2.0-only
/*
 * "lkvm stat -n NAME | --all --memory" (kvmtool's command): the memory
 * statistics a guest's virtio-balloon driver reports (virtio 1.2
 * §5.5.6.3), and the balloon's size.
 */
#include <errno.h>
#include <stdio.h>

#include "lkvm/builtin.h"

static const char usage[] =
	"usage: lkvm stat -n NAME | --all --memory [--json]\n"
	"\n"
	"Show the memory statistics the guest's balloon driver reports (lkvm run\n"
	"--balloon): free, available, total, caches, swap and faults, and the\n"
	"balloon's target and actual size.\n"
	"\n"
	"  -n, --name NAME   the guest\n"
	"  -a, --all         every guest of this user\n"
	"  -m, --memory      memory statistics (the only ones there are)\n"
	"      --json        JSON (an array with --all)\n";

static int one(const char *dir, const char *name, bool json, bool first)
{
	struct control_req req = { .cmd = CONTROL_CMD_STAT };
	struct control_resp resp;

	if (ctl__call(dir, name, &req, &resp))
		return 1;
	if (json)
		printf("%s%s", first ? "" : ",", resp.body);
	else
		json__print_text(resp.body, resp.len, stdout);
	control__resp_free(&resp);
	return 0;
}

int cmd_stat(int argc, char **argv)
{
	struct lkvm_err err = { "" };
	char dir[4096], **names;
	struct ctl_args a;
	unsigned int n, shown = 0;
	int r, st = 0;

	r = ctl__parse(argc, argv, "stat", CTL_MEMORY | CTL_ALL | CTL_JSON | CTL_NEED_TARGET, usage,
		       &a);
	if (r)
		return r == 1 ? 0 : r;
	if (!a.memory) {
		die_msg("stat: say what to show: --memory (the only statistics lkvm has)");
		return 2;
	}
	if (ctl__dir(dir, sizeof(dir)))
		return 1;
	if (a.name) {
		r = one(dir, a.name, a.json, true);
		if (a.json && !r)
			printf("\n");
		return r;
	}
	if (control__names(dir, &names, &n, &err)) {
		die_msg("stat --all: %s", err.msg);
		return 1;
	}
	if (a.json)
		printf("[");
	for (unsigned int i = 0; i < n; i++) {
		if (control__remove_stale(dir, names[i]) == 1)
			continue;	/* its lkvm is gone */
		if (!a.json && shown)
			printf("\n");
		r = one(dir, names[i], a.json, !shown);
		shown += !r;
		st |= r;
	}
	if (a.json)
		printf("]\n");
	control__names_free(names, n);
	return st;
}
