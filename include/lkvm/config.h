/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VM's configuration: filled with defaults, then by the command line
 * (kvmtool's option names, shared/KVMTOOL-CLI.md), then checked once by
 * config__validate(), and read-only afterwards.  Nothing here touches
 * /dev/kvm: facts about the host are checked later, against KVM.
 */
#ifndef LKVM_CONFIG_H
#define LKVM_CONFIG_H

#include "lkvm/disk.h"
#include "lkvm/log.h"
#include "lkvm/net.h"
#include "lkvm/util.h"

#define LKVM_MAX_MEM_BANKS	8
#define LKVM_MAX_CPUS		512
#define LKVM_DEFAULT_MEM	(256 * SZ_MiB)
#define LKVM_MIN_IPA_BITS	32
#define LKVM_MAX_IPA_BITS	52
#define LKVM_MAX_ID_ARGS	16
#define LKVM_MAX_DISKS		8

enum irqchip_type {
	IRQCHIP_AUTO,		/* best the host has: gicv3-its, gicv3, gicv2 */
	IRQCHIP_GICV2,
	IRQCHIP_GICV3,
	IRQCHIP_GICV3_ITS,
};

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

	unsigned int nr_cpus;
	enum irqchip_type irqchip;
	enum console_type console;
	enum log_level loglevel;
	unsigned int ipa_bits;		/* 0: smallest that fits the map */

	bool pmu;
	unsigned int pmu_counters;	/* 0: KVM's default */
	bool has_pmu_counters;
	bool nested;
	bool e2h0;
	bool nodefaults;
	bool no_sve;
	bool no_ptrauth;

	/* ID registers: "REG.FIELD=VALUE[,...]" lists, a file of them, raw "REG=VALUE". */
	const char *cpu_feature[LKVM_MAX_ID_ARGS];
	unsigned int nr_cpu_feature;
	const char *cpu_features_file;
	const char *id_reg[LKVM_MAX_ID_ARGS];
	unsigned int nr_id_reg;

	/* -d PATH[,ro][,direct][,engine=E]: parsed here, opened at VM creation. */
	struct disk_opts disk[LKVM_MAX_DISKS];
	unsigned int nr_disk;
	enum virtio_transport virtio_transport;
	bool rng;			/* --rng: a virtio-rng device */
	/* -n mode=tap,...: parsed here, the taps opened before the VM is created. */
	struct net_opts net[LKVM_MAX_NICS];
	unsigned int nr_net;
	bool no_net;			/* -n mode=none */

	u64 kaslr_seed;
	bool has_kaslr_seed;
	u64 counter_offset;
	bool has_counter_offset;
};

/* Sets every default that does not depend on the host (nr_cpus = @host_cpus). */
void config__defaults(struct lkvm_config *cfg, unsigned int host_cpus);

/*
 * Parses "lkvm run" arguments (argv[0] is "run").  Strings in @cfg point
 * into @argv.  Returns 0, 1 when --help was asked for (usage already
 * printed to stdout), or -EINVAL with @err naming the option and the fix.
 */
int config__parse_run(struct lkvm_config *cfg, int argc, char **argv, struct lkvm_err *err);

/* Prints "lkvm run" usage to stdout. */
void config__usage_run(void);

/*
 * Checks the configuration for internal consistency (options that make
 * no sense together, sizes, counts), independent of the host.  Returns 0
 * or -EINVAL with @err saying what to use instead.
 */
int config__validate(const struct lkvm_config *cfg, struct lkvm_err *err);

/* Total RAM over all banks. */
u64 config__ram_size(const struct lkvm_config *cfg);

const char *irqchip_name(enum irqchip_type t);

#endif /* LKVM_CONFIG_H */
