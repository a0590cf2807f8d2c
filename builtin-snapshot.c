// SPDX-License-Identifier: GPL-2.0-only
/*
 * "lkvm snapshot -n NAME DIR [--stop]": asks the running guest NAME to
 * save itself into the directory DIR (docs/snapshot.md; lkvm/control.h
 * says what its lkvm does) and prints what that took.  "lkvm run
 * --restore DIR" starts it again.
 *
 * Exit statuses, as the other control commands': 0 saved; 1 the guest
 * could not be reached or could not be saved (the message says why: a
 * device lkvm cannot save yet, a GICv2, the directory); 2 a bad command
 * line.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lkvm/builtin.h"
#include "lkvm/control.h"

#define SNAPSHOT_TIMEOUT_MS	600000	/* writing a big guest's RAM takes a while */
#define STOP_WAIT_MS		120000

static const char usage[] =
	"usage: lkvm snapshot -n NAME DIR [--stop]\n"
	"\n"
	"Pause the guest, write its state and RAM into DIR (made if missing; its\n"
	"files 'state' and 'memory' replaced), and resume it -- or stop it with\n"
	"--stop.  'lkvm run --restore DIR' runs it again from there.\n"
	"\n"
	"  -n, --name NAME   the guest (lkvm run --name; lkvm list shows them)\n"
	"  -s, --stop        stop the guest once it is saved (lkvm exits 0)\n";

/* DIR as an absolute path the guest's lkvm can use (it may run elsewhere). */
static int absolute(const char *dir, char *buf, size_t len)
{
	char cwd[PATH_MAX];

	if (dir[0] == '/')
		return (size_t)snprintf(buf, len, "%s", dir) < len ? 0 : -1;
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	return (size_t)snprintf(buf, len, "%s/%s", cwd, dir) < len ? 0 : -1;
}

int cmd_snapshot(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "stop", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct control_req req = { .cmd = CONTROL_CMD_SNAPSHOT };
	struct lkvm_err err = { "" };
	struct control_resp resp;
	const char *name = NULL;
	char dir[4096], val[512], ms[32], mib[32];
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hn:s", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return 0;
		case 'n': name = optarg; break;
		case 's': req.stop = true; break;
		case ':':
			die_msg("snapshot: %s needs a value (see lkvm snapshot --help)", argv[optind - 1]);
			return 2;
		default:
			die_msg("snapshot: unknown option '%s' (see lkvm snapshot --help)",
				argv[optind - 1]);
			return 2;
		}
	}
	if (!name) {
		die_msg("snapshot: say which guest: -n NAME");
		return 2;
	}
	if (control__check_name(name, NULL)) {
		die_msg("snapshot: -n '%s': not a guest name ('lkvm list' shows them)", name);
		return 2;
	}
	if (optind + 1 != argc) {
		die_msg("snapshot: give one directory to write the snapshot into (see lkvm snapshot "
			"--help)");
		return 2;
	}
	if (absolute(argv[optind], req.path, sizeof(req.path)) || strchr(req.path, ' ')) {
		die_msg("snapshot: %s: the directory's absolute path must have no spaces and at most "
			"%d bytes", argv[optind], CONTROL_MAX_PATH);
		return 2;
	}
	if (ctl__dir(dir, sizeof(dir)))
		return 1;
	if (control__call(dir, name, &req, SNAPSHOT_TIMEOUT_MS, &resp, &err)) {
		die_msg("snapshot: %s", err.msg);
		return 1;
	}
	if (resp.status != CONTROL_OK) {
		die_msg("snapshot %s: %s", name, control__resp_error(&resp, val, sizeof(val)));
		control__resp_free(&resp);
		return 1;
	}
	if (json__get(resp.body, resp.len, "paused_ms", ms, sizeof(ms)))
		snprintf(ms, sizeof(ms), "?");
	if (json__get(resp.body, resp.len, "ram_written_mib", mib, sizeof(mib)))
		snprintf(mib, sizeof(mib), "?");
	if (req.stop && control__wait_closed(&resp, STOP_WAIT_MS)) {
		die_msg("snapshot %s: saved, but its lkvm did not exit within %d s", name,
			STOP_WAIT_MS / 1000);
		control__resp_free(&resp);
		return 1;
	}
	printf("%s: saved in %s (%s MiB of RAM written, guest paused %s ms)%s\n", name, req.path,
	       mib, ms, req.stop ? ", stopped" : "");
	control__resp_free(&resp);
	return 0;
}
