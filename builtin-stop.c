// SPDX-License-Identifier: GPL-2.0-only
/*
 * "lkvm stop -n NAME | --all" (kvmtool's command): lkvm/control.h says what
 * the guest's lkvm does, builtin-control.c has the client side.
 */
#include "lkvm/builtin.h"

int cmd_stop(int argc, char **argv)
{
	return ctl__simple(argc, argv, CONTROL_CMD_STOP,
			   "usage: lkvm stop -n NAME | --all\n"
			   "\n"
			   "Shut the guest down as SIGTERM would (its vCPUs leave KVM_RUN, the disks'\n"
			   "requests finish and the disks are flushed and closed); its lkvm then\n"
			   "exits with status 0.  Returns once that lkvm is gone.\n"
			   "\n"
			   "  -n, --name NAME   the guest (lkvm run --name; lkvm list shows them)\n"
			   "  -a, --all         every guest of this user\n");
}
