// SPDX-License-Identifier: GPL-2.0-only
/*
 * dmctl: a device-mapper device with one target, for the system tests'
 * fault injection (there is no dmsetup in L0's busybox).  It speaks the
 * kernel's device-mapper ioctls (include/uapi/linux/dm-ioctl.h) on
 * /dev/mapper/control:
 *
 *   dmctl create NAME linear DEV SECTORS   prints /dev/dm-N
 *   dmctl create NAME error SECTORS
 *   dmctl reload NAME linear DEV SECTORS   swaps the table of a live device
 *   dmctl reload NAME error SECTORS        (every I/O to it fails from now on)
 *   dmctl remove NAME
 *
 * A reload is a table load followed by a resume, which suspends the
 * device, swaps in the new table and resumes it (what "dmsetup reload;
 * dmsetup resume" does).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define BUF_SIZE	16384

static int ctl_fd = -1;

static struct dm_ioctl *start(void *buf, const char *name)
{
	struct dm_ioctl *io = buf;

	memset(buf, 0, BUF_SIZE);
	io->version[0] = DM_VERSION_MAJOR;
	io->version[1] = 0;
	io->version[2] = 0;
	io->data_size = BUF_SIZE;
	io->data_start = sizeof(*io);
	snprintf(io->name, sizeof(io->name), "%s", name);
	return io;
}

static int dm(unsigned long req, struct dm_ioctl *io, const char *what)
{
	if (ioctl(ctl_fd, req, io) < 0) {
		fprintf(stderr, "dmctl: %s %s: %s\n", what, io->name, strerror(errno));
		return -1;
	}
	return 0;
}

/* Loads a one-target table: "linear DEV SECTORS" or "error SECTORS". */
static int load_table(const char *name, int argc, char **argv)
{
	static char buf[BUF_SIZE];
	struct dm_ioctl *io = start(buf, name);
	struct dm_target_spec *t = (struct dm_target_spec *)(void *)(buf + sizeof(*io));
	char *params = (char *)(t + 1);
	struct stat st;

	if (argc < 1)
		return -1;
	io->target_count = 1;
	t->sector_start = 0;
	if (!strcmp(argv[0], "linear") && argc == 3) {
		if (stat(argv[1], &st) < 0 || !S_ISBLK(st.st_mode)) {
			fprintf(stderr, "dmctl: %s is not a block device\n", argv[1]);
			return -1;
		}
		t->length = strtoull(argv[2], NULL, 0);
		snprintf(t->target_type, sizeof(t->target_type), "linear");
		snprintf(params, 64, "%u:%u 0", major(st.st_rdev), minor(st.st_rdev));
	} else if (!strcmp(argv[0], "error") && argc == 2) {
		t->length = strtoull(argv[1], NULL, 0);
		snprintf(t->target_type, sizeof(t->target_type), "error");
		params[0] = '\0';
	} else {
		return -1;
	}
	/* Each spec is followed by its parameters, padded to 8 bytes. */
	t->next = (sizeof(*t) + strlen(params) + 1 + 7) & ~7U;
	return dm(DM_TABLE_LOAD, io, "DM_TABLE_LOAD");
}

static int resume(const char *name)
{
	static char buf[BUF_SIZE];
	struct dm_ioctl *io = start(buf, name);

	if (dm(DM_DEV_SUSPEND, io, "DM_DEV_SUSPEND (resume)"))
		return -1;
	printf("/dev/dm-%u\n", minor(io->dev));
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[BUF_SIZE];

	if (argc < 3) {
		fprintf(stderr, "usage: dmctl create|reload NAME linear DEV SECTORS | error SECTORS;"
			" dmctl remove NAME\n");
		return 2;
	}
	ctl_fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (ctl_fd < 0) {
		fprintf(stderr, "dmctl: /dev/mapper/control: %s (insmod dm-mod)\n", strerror(errno));
		return 1;
	}
	if (!strcmp(argv[1], "create")) {
		if (dm(DM_DEV_CREATE, start(buf, argv[2]), "DM_DEV_CREATE"))
			return 1;
		if (load_table(argv[2], argc - 3, argv + 3) || resume(argv[2]))
			return 1;
		return 0;
	}
	if (!strcmp(argv[1], "reload"))
		return load_table(argv[2], argc - 3, argv + 3) || resume(argv[2]) ? 1 : 0;
	if (!strcmp(argv[1], "remove"))
		return dm(DM_DEV_REMOVE, start(buf, argv[2]), "DM_DEV_REMOVE") ? 1 : 0;
	fprintf(stderr, "dmctl: unknown command %s\n", argv[1]);
	return 2;
}
