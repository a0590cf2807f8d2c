// SPDX-License-Identifier: GPL-2.0-only
/*
 * "lkvm balloon -n NAME --inflate|--deflate MiB" (kvmtool's command): moves
 * the target of the guest's virtio-balloon (--balloon) by that much; the
 * guest then hands memory back to the host, or takes it again.
 */
#include <stdio.h>

#include "lkvm/builtin.h"

static const char usage[] =
	"usage: lkvm balloon -n NAME --inflate MiB | --deflate MiB [--json]\n"
	"\n"
	"Ask the guest's balloon (lkvm run --balloon) to hold MiB more (inflate:\n"
	"memory goes back to the host) or MiB less (deflate: the guest gets it back).\n"
	"\n"
	"  -n, --name NAME        the guest\n"
	"  -i, --inflate MiB      grow the balloon\n"
	"  -d, --deflate MiB      shrink it\n"
	"      --json             the balloon's state after, as JSON\n";

int cmd_balloon(int argc, char **argv)
{
	struct control_req req = { .cmd = CONTROL_CMD_BALLOON };
	struct control_resp resp;
	char dir[4096], target[24], actual[24], mem[24];
	struct ctl_args a;
	int r;

	r = ctl__parse(argc, argv, "balloon", CTL_BALLOON | CTL_JSON | CTL_NEED_TARGET, usage, &a);
	if (r)
		return r == 1 ? 0 : r;
	if (!a.has_mib) {
		die_msg("balloon: say how much: --inflate MiB or --deflate MiB");
		return 2;
	}
	req.inflate = a.inflate;
	req.mib = a.mib;
	if (ctl__dir(dir, sizeof(dir)) || ctl__call(dir, a.name, &req, &resp))
		return 1;
	if (a.json) {
		printf("%s\n", resp.body);
	} else {
		if (json__get(resp.body, resp.len, "target_mib", target, sizeof(target)))
			snprintf(target, sizeof(target), "?");
		if (json__get(resp.body, resp.len, "actual_mib", actual, sizeof(actual)))
			snprintf(actual, sizeof(actual), "?");
		if (json__get(resp.body, resp.len, "mem_mib", mem, sizeof(mem)))
			snprintf(mem, sizeof(mem), "?");
		printf("%s: balloon target %s MiB of %s MiB (the guest has handed over %s MiB)\n",
		       a.name, target, mem, actual);
	}
	control__resp_free(&resp);
	return 0;
}
