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

#include "lkvm/arch-config.h"
#include "lkvm/disk.h"
#include "lkvm/log.h"
#include "lkvm/net.h"
#include "lkvm/util.h"

#define LKVM_MAX_MEM_BANKS	8
#define LKVM_MAX_CPUS		512
#define LKVM_DEFAULT_MEM	(256 * SZ_MiB)
#define LKVM_MIN_IPA_BITS	32
#define LKVM_MAX_IPA_BITS	52
#define LKVM_MAX_DISKS		8

/* getopt_long() codes from here up are the arch's (arch_config__options). */
#define LKVM_OPT_ARCH_BASE	0x1000
/* At most this many arch options: room kept for them in the combined tables. */
#define LKVM_MAX_ARCH_OPTIONS	48

enum console_type {
	CONSOLE_SERIAL,
	CONSOLE_VIRTIO,
	CONSOLE_HV,
};

enum virtio_transport {
	VIRTIO_TRANSPORT_PCI,		/* modern virtio-pci behind an ECAM host bridge (default) */
	VIRTIO_TRANSPORT_MMIO,		/* virtio-mmio version 2 */
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
	/* -n mode=tap,...: parsed here, the taps opened before the VM is created. */
	struct net_opts net[LKVM_MAX_NICS];
	unsigned int nr_net;
	bool no_net;			/* -n mode=none */

	struct arch_config arch;	/* the arch's options (lkvm/arch-config.h) */
};

/* Sets every default that does not depend on the host (nr_cpus = @host_cpus), arch's too. */
void config__defaults(struct lkvm_config *cfg, unsigned int host_cpus);

/*
 * Parses "lkvm run" arguments (argv[0] is "run"), the arch's options
 * included.  Strings in @cfg point into @argv.  Returns 0, 1 when --help
 * was asked for (usage already printed to stdout), or -EINVAL with @err
 * naming the option and the fix.
 */
int config__parse_run(struct lkvm_config *cfg, int argc, char **argv, struct lkvm_err *err);

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

/* Total RAM over all banks. */
u64 config__ram_size(const struct lkvm_config *cfg);

#endif /* LKVM_CONFIG_H */
