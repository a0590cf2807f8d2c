/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VM's configuration: filled with defaults, then by the command line
 * (kvmtool's option names, shared/KVMTOOL-CLI.md), then checked once by
 * config__validate(), and read-only afterwards.  Nothing here touches
 * /dev/kvm: facts about the host are checked later, against KVM.
 *
 * The arch's options live in cfg->arch, a struct arch_config that the
 * arch's "lkvm/arch-config.h" defines with the pure hooks that parse and
 * check it (kvmtool's kvm-config-arch.h split): generic code extends its
 * option table with the arch's and hands their values over.
 */
#ifndef LKVM_CONFIG_H
#define LKVM_CONFIG_H

#include <getopt.h>

#include "lkvm/arch-config.h"
#include "lkvm/disk.h"
#include "lkvm/log.h"
#include "lkvm/net.h"
#include "lkvm/sandbox.h"
#include "lkvm/util.h"

#define LKVM_MAX_MEM_BANKS	8
#define LKVM_MAX_CPUS		512
#define LKVM_DEFAULT_MEM	(256 * SZ_MiB)
#define LKVM_MIN_IPA_BITS	32
#define LKVM_MAX_IPA_BITS	52
#define LKVM_MAX_DISKS		8
#define LKVM_MAX_9P		4
/* --vsock CID: 0-2 are the hypervisor's, the loopback's and the host's; -1U is "any". */
#define LKVM_VSOCK_MIN_CID	3ULL
#define LKVM_VSOCK_MAX_CID	0xfffffffeULL
/* A --9p mount tag's longest: kvmtool's limit (Linux's driver takes any u16 length). */
#define LKVM_9P_TAG_MAX		32

/* getopt_long() codes from here up are the arch's (arch_config__options). */
#define LKVM_OPT_ARCH_BASE	0x1000
/* At most this many arch options: room kept for them in the combined tables. */
#define LKVM_MAX_ARCH_OPTIONS	48
/* Room for the whole "lkvm run" table (config__run_options()), terminator included. */
#define LKVM_RUN_OPTIONS_MAX	(64 + LKVM_MAX_ARCH_OPTIONS)

enum console_type {
	CONSOLE_SERIAL,
	CONSOLE_VIRTIO,
	CONSOLE_HV,
};

enum virtio_transport {
	VIRTIO_TRANSPORT_PCI,		/* modern virtio-pci behind an ECAM host bridge (default) */
	VIRTIO_TRANSPORT_MMIO,		/* virtio-mmio version 2 */
};

/* --9p DIR,TAG[,ro]: a host directory for the guest's "mount -t 9p TAG". */
struct p9_share {
	char dir[PATH_MAX];
	char tag[LKVM_9P_TAG_MAX + 1];
	bool ro;
};

struct mem_bank {
	u64 size;
	u64 addr;		/* guest-physical base; valid if has_addr */
	bool has_addr;
};

struct lkvm_config {
	const char *kernel;
	const char *initrd;
	const char *params;
	const char *firmware;
	u64 firmware_addr;
	bool has_firmware_addr;
	const char *name;
	const char *dump_dtb;

	struct mem_bank mem[LKVM_MAX_MEM_BANKS];
	unsigned int nr_mem;
	const char *hugetlbfs;		/* --hugetlbfs DIR: RAM from that hugetlbfs mount */

	unsigned int nr_cpus;
	enum console_type console;
	enum log_level loglevel;
	unsigned int ipa_bits;		/* 0: smallest that fits the map (checked by the arch) */
	bool nodefaults;

	/* -d PATH[,ro][,direct][,engine=E]: parsed here, opened at VM creation. */
	struct disk_opts disk[LKVM_MAX_DISKS];
	unsigned int nr_disk;
	enum virtio_transport virtio_transport;
	bool rng;			/* --rng: a virtio-rng device */
	bool balloon;			/* --balloon: a virtio-balloon device */
	bool balloon_no_report;		/* --balloon=no-report: without free page reporting */
	u64 vsock_cid;			/* --vsock CID: a virtio-vsock device; 0: none */
	/* -n mode=tap,...: parsed here, the taps opened before the VM is created. */
	struct net_opts net[LKVM_MAX_NICS];
	unsigned int nr_net;
	bool no_net;			/* -n mode=none */
	enum sandbox_mode sandbox;	/* --sandbox on|off|log (default on) */
	/* --9p: parsed here, the directories opened when the devices are made. */
	struct p9_share p9[LKVM_MAX_9P];
	unsigned int nr_9p;

	struct arch_config arch;	/* the arch's options (lkvm/arch-config.h) */
};

/*
 * Sets every default that does not depend on the host, arch's too; nr_cpus
 * is @host_cpus, at most LKVM_MAX_CPUS.
 */
void config__defaults(struct lkvm_config *cfg, unsigned int host_cpus);

/*
 * Parses "lkvm run" arguments (argv[0] is "run"), the arch's options
 * included.  Strings in @cfg point into @argv.  Returns 0, 1 when --help
 * was asked for (usage already printed to stdout), or -EINVAL with @err
 * naming the option and the fix.
 */
int config__parse_run(struct lkvm_config *cfg, int argc, char **argv, struct lkvm_err *err);

/*
 * The whole "lkvm run" option table, as config__parse_run() uses it: the
 * generic options, then the arch's, then a NULL terminator, copied into
 * @opts (room for @max entries; LKVM_RUN_OPTIONS_MAX is always enough).
 * Returns the number of options, or -E2BIG.
 */
int config__run_options(struct option *opts, unsigned int max);

/* Prints "lkvm run" usage to stdout. */
void config__usage_run(void);

/*
 * Checks the configuration for internal consistency (options that make
 * no sense together, sizes, counts, the memory map), independent of the
 * host: everything the command line alone shows, so that a mistake is
 * reported the same with or without /dev/kvm.  The arch's part goes
 * through arch_config__validate(), which also reads and parses the files
 * its options name and fills cfg->arch's derived fields; nothing else is
 * written.  Returns 0 or -EINVAL with @err saying what to use instead.
 */
int config__validate(struct lkvm_config *cfg, struct lkvm_err *err);

/*
 * config__validate() without the boot source (-k, -f, -i): the vCPUs,
 * memory, devices and the arch's options, for a VM that only shows its
 * vCPUs ("lkvm cpu").  Same contract.
 */
int config__validate_machine(struct lkvm_config *cfg, struct lkvm_err *err);

/*
 * The file checks of "lkvm run"'s step 3 (after the host checks; see
 * kvm__check_files()): the kernel, firmware and initrd open for reading
 * ("Fatal: Unable to open kernel FILE: why", kvmtool's words), each disk
 * opens as its device will open it (read-write unless ,ro; O_DIRECT with
 * ,direct), each --9p share is a directory, and the --dump-dtb path can
 * be written.  Opens and closes;
 * changes nothing.  Returns 0 or -errno with @err naming the file.
 */
int config__check_files(const struct lkvm_config *cfg, struct lkvm_err *err);

/* Total RAM over all banks. */
u64 config__ram_size(const struct lkvm_config *cfg);

#endif /* LKVM_CONFIG_H */
