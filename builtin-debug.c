// SPDX-License-Identifier: GPL-2.0-only
/*
 * "lkvm debug -n NAME [--json]": a look inside a running (or hung) guest:
 * every vCPU's registers (a nested vCPU's EL2 state too) and every
 * device's state, read while the guest's lkvm holds it paused for a
 * moment.  kvmtool prints registers with --dump; lkvm always does and
 * takes --dump for kvmtool's scripts.
 */
#include <stdio.h>

#include "lkvm/builtin.h"

static const char usage[] =
	"usage: lkvm debug -n NAME [--json]\n"
	"\n"
	"Print the guest's vCPU registers (core, system, timer and, for --nested\n"
	"vCPUs, EL2 registers) and each device's state (virtio: status, features,\n"
	"queue indices, notification counts).  The guest is paused while they are\n"
	"read and resumed after (unless it was paused already).\n"
	"\n"
	"  -n, --name NAME   the guest\n"
	"      --json        one JSON object\n"
	"      --dump        accepted for kvmtool's scripts (registers are always shown)\n";

int cmd_debug(int argc, char **argv)
{
	struct control_req req = { .cmd = CONTROL_CMD_DEBUG };
	struct control_resp resp;
	struct ctl_args a;
	char dir[4096];
	int r;

	r = ctl__parse(argc, argv, "debug", CTL_JSON | CTL_DEBUG | CTL_NEED_TARGET, usage, &a);
	if (r)
		return r == 1 ? 0 : r;
	if (ctl__dir(dir, sizeof(dir)) || ctl__call(dir, a.name, &req, &resp))
		return 1;
	if (a.json)
		printf("%s\n", resp.body);
	else
		json__print_text(resp.body, resp.len, stdout);
	control__resp_free(&resp);
	return 0;
}
