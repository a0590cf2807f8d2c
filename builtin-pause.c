// SPDX-License-Identifier: GPL-2.0-only
/*
 * "lkvm pause -n NAME | --all" (kvmtool's command): lkvm/control.h says what
 * the guest's lkvm does, builtin-control.c has the client side.
 */
#include "lkvm/builtin.h"

int cmd_pause(int argc, char **argv)
{
	return ctl__simple(argc, argv, CONTROL_CMD_PAUSE,
			   "usage: lkvm pause -n NAME | --all\n"
			   "\n"
			   "Park every vCPU outside KVM_RUN and stop the device threads once the I/O\n"
			   "in flight is done.  The guest's clock stops too (where KVM has\n"
			   "KVM_CAP_COUNTER_OFFSET), so its timers don't fire in a burst on resume.\n"
			   "\n"
			   "  -n, --name NAME   the guest (lkvm run --name; lkvm list shows them)\n"
			   "  -a, --all         every guest of this user\n");
}
