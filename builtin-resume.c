// SPDX-License-Identifier: GPL-2.0-only
/*
 * "lkvm resume -n NAME | --all" (kvmtool's command): lkvm/control.h says what
 * the guest's lkvm does, builtin-control.c has the client side.
 */
#include "lkvm/builtin.h"

int cmd_resume(int argc, char **argv)
{
	return ctl__simple(argc, argv, CONTROL_CMD_RESUME,
			   "usage: lkvm resume -n NAME | --all\n"
			   "\n"
			   "Let a paused guest run again, its clock going on from where it stopped.\n"
			   "\n"
			   "  -n, --name NAME   the guest (lkvm run --name; lkvm list shows them)\n"
			   "  -a, --all         every guest of this user\n");
}
