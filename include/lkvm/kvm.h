/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One virtual machine: the KVM file descriptors, guest RAM, vCPUs and the
 * MMIO bus.  Everything a VM owns hangs off struct kvm, so one process can
 * hold several (the unit tests do).  Lifecycle:
 *
 *   kvm__open()         /dev/kvm, API version, host facts      (undo: kvm__close)
 *   kvm__check_host()   what this host must offer the config (KVM caps,
 *                       vCPU count, IPA size, taps), then the VM with the
 *                       IPA size the map needs and its interrupt controller
 *   kvm__check_files()  the guest's files: kernel, initrd, firmware, disks
 *                       and the --dump-dtb path (no RAM, no vCPU yet)
 *   kvm__create_vm()    RAM slots, devices, vCPUs, kernel load and boot
 *                       registers
 *   kvm__run()         vCPU threads + the main loop, until the guest
 *                      powers off, a signal arrives or "lkvm stop" asks;
 *                      the main loop also serves the control socket
 *                      (lkvm/control.h): kvm__pause()/kvm__resume()
 *   kvm__close()       releases everything that succeeded
 */
#ifndef LKVM_KVM_H
#define LKVM_KVM_H

#include <pthread.h>
#include <stdbool.h>

#include "lkvm/config.h"
#include "lkvm/device.h"
#include "lkvm/gmem.h"	/* struct mem_region; the gmem__ accessors for existing users */
#include "lkvm/mmio.h"
#include "lkvm/net.h"
#include "lkvm/util.h"

struct kvm_run;
struct kvm_arch;
struct control_server;
struct irq_routes;
struct pci_bus;
struct outbuf;
struct virtio_dev;
struct snap_reader;

/*
 * The UART and the RTC; disks, a virtio-rng, a virtio-console, NICs, 9p
 * shares, a virtio-balloon, a virtio-vsock; the PCI bridge.
 */
#define LKVM_MAX_DEVICES	(2 + LKVM_MAX_DISKS + 2 + LKVM_MAX_NICS + LKVM_MAX_9P + 2 + 1)

/*
 * Where the host's console input goes: the device that is the console
 * (the 8250, or the virtio-console with --console virtio).
 */
struct console_sink {
	/* Bytes input() would accept now. */
	size_t (*space)(void *ctx);
	/* Queues host input for the guest; returns how many of @len bytes fit. */
	size_t (*input)(void *ctx, const u8 *buf, size_t len);
	void *ctx;
};

#define LKVM_MAX_MEM_REGIONS	LKVM_MAX_MEM_BANKS

enum kvm_exit_why {
	LKVM_RUNNING,
	LKVM_EXIT_POWEROFF,	/* PSCI SYSTEM_OFF: exit status 0 */
	LKVM_EXIT_RESET,	/* PSCI SYSTEM_RESET: exit status 0, reported */
	LKVM_EXIT_CRASH,	/* guest crash event */
	LKVM_EXIT_SIGNAL,	/* SIGINT/SIGTERM/SIGHUP */
	LKVM_EXIT_ERROR,	/* KVM or lkvm failure while running */
	LKVM_EXIT_STOPPED,	/* "lkvm stop": shut down as by SIGTERM, exit status 0 */
};

struct kvm_cpu {
	struct kvm *kvm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool thread_started;
	u64 mpidr;
};

struct kvm {
	const struct lkvm_config *cfg;
	int sys_fd;		/* /dev/kvm */
	int vm_fd;
	int api_version;
	unsigned int ipa_bits;
	unsigned int host_ipa_max;	/* KVM's limit; set by arch__check_host() */
	u64 huge_page;			/* --hugetlbfs: its page size (0: anonymous RAM) */
	size_t vcpu_mmap_size;

	/* Guest RAM: gmem.c's table (lkvm/gmem.h); read it through gmem__next(). */
	struct mem_region mem[LKVM_MAX_MEM_REGIONS];
	unsigned int nr_mem;

	struct kvm_cpu *cpus;
	unsigned int nr_cpus;

	struct mmio_bus mmio;
	struct lkvm_device *devices[LKVM_MAX_DEVICES];	/* in creation order (devices.c) */
	unsigned int nr_devices;
	struct lkvm_placement place;	/* where the arch puts devices */
	unsigned int place_used[LKVM_NR_AREAS];	/* slots taken in each area */
	struct console_sink console;	/* console input (space NULL: none) */
	struct pci_bus *pci;		/* the PCI host bridge (one of devices[]), if any */
	struct irq_routes *irq_routes;	/* GSI routing once MSIs are used */
	struct virtio_dev *balloon;	/* --balloon's device (virtio_balloon__*), or NULL */
	/* The NICs' taps, opened before the VM; each device takes its own. */
	struct net_backend net[LKVM_MAX_NICS];
	struct kvm_arch *arch;

	/* Set by whoever stops the VM; the first reason wins. */
	pthread_mutex_t exit_lock;
	enum kvm_exit_why exit_why;
	int exit_signal;
	int stop_fd;		/* eventfd: wakes the main loop */

	/*
	 * Pause (kvm__pause): vCPU threads park on pause_cond between two
	 * KVM_RUNs while pause_req is set; device threads stop between passes.
	 */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;	/* on CLOCK_MONOTONIC */
	bool pause_req;			/* read by vCPU threads without the lock (atomics) */
	unsigned int nr_parked;		/* vCPU threads parked now */
	bool paused;			/* the main loop's view: all parked */
	u64 paused_at_ns;		/* when the current pause began */
	u64 paused_ns;			/* all earlier pauses together */
	unsigned int nr_pauses;
	u64 pause_latency_ns;		/* how long the last kvm__pause() took */

	/* The control socket (lkvm/control.h), served by the main loop; NULL: none. */
	struct control_server *ctl;
	char name[72];			/* --name, or guest-PID */

	u64 start_ns;		/* process start, for the "first KVM_RUN" measure */
	struct {
		const char *what;
		u64 ns;
	} marks[8];		/* startup steps, reported with the first KVM_RUN */
	unsigned int nr_marks;
	u64 first_run_ns;
	u64 stop_ns;		/* when the stop was requested */
	int console_in;		/* guest console: host fds */
	int console_out;
	struct outbuf *console_ob;	/* console_out's ring: the UART and virtio-console write here */
	/*
	 * Snapshot and restore (snapshot.c, lkvm/snapshot.h): the "lkvm run"
	 * command line, recorded in every snapshot; with --restore, the
	 * snapshot being restored (until the VM is built) and its memory file,
	 * which guest RAM stays mapped from (-1: anonymous RAM).
	 */
	int run_argc;
	char **run_argv;
	const struct snap_reader *restore;
	const char *restore_dir;
	int mem_fd;
	u64 mem_file_off[LKVM_MAX_MEM_REGIONS];
	/* Teardown's flush of the writable disks (devices__free): how many, how many failed. */
	unsigned int disks_flushed;
	unsigned int disk_flush_errors;
};

/* Initialises @kvm (no KVM access). */
void kvm__init(struct kvm *kvm, const struct lkvm_config *cfg);

/*
 * Opens /dev/kvm and checks the API version.  Returns 0, or -errno with
 * @err explaining (no /dev/kvm, no permission, wrong API).
 */
int kvm__open(struct kvm *kvm, struct lkvm_err *err);

/* KVM_CHECK_EXTENSION on /dev/kvm (or the VM once it exists); <= 0 means absent. */
int kvm__check_cap(const struct kvm *kvm, long cap);

/*
 * Step 2 of "lkvm run" (README, "Order of checks"): after kvm__open(),
 * everything this host must offer the (validated) config that KVM can
 * tell before the guest exists: host RAM, KVM's caps for the arch's
 * options (arch__check_host()), the vCPU count (KVM_CAP_MAX_VCPUS), the
 * IPA size, the taps; then creates the VM and its interrupt controller
 * (arch__init_vm(): only a VM can say which GICs KVM emulates).  No guest
 * file is looked at and no RAM or vCPU exists yet.  Returns 0, or -errno
 * with @err saying what this host cannot do and why.  kvm__close() undoes.
 */
int kvm__check_host(struct kvm *kvm, struct lkvm_err *err);

/*
 * Step 3, after kvm__check_host(): the guest's files (config__check_files():
 * the kernel, initrd and firmware open, "Fatal: Unable to open kernel FILE"
 * in kvmtool's words; the disks open as they will be used; the --dump-dtb
 * path can be written), and the kernel is recognised from its header
 * (arch__check_files()).  Still no guest RAM and no vCPU.  Returns 0, or
 * -errno with @err naming the file.
 */
int kvm__check_files(struct kvm *kvm, struct lkvm_err *err);

/*
 * After kvm__check_host() (and kvm__check_files() when the config boots
 * something): everything else, ready to run: RAM, devices, vCPUs, the
 * device tree and the loaded kernel.  On failure, what was created is
 * released by kvm__close().
 */
int kvm__create_vm(struct kvm *kvm, struct lkvm_err *err);

/* Notes that startup step @what (a string literal) ended now, for the first-run report. */
void kvm__mark(struct kvm *kvm, const char *what);

/* Runs the VM until it stops; returns the process exit status to use. */
int kvm__run(struct kvm *kvm);

/* Asks the VM to stop (any thread, async-signal-unsafe). The first reason is kept. */
void kvm__request_stop(struct kvm *kvm, enum kvm_exit_why why, int sig);

/*
 * Pauses the running VM (from the main loop's thread, while kvm__run()
 * runs): every vCPU thread is kicked out of KVM_RUN and parks, then every
 * device's threads stop between two passes once their in-flight work is
 * done (lkvm_device_ops.pause), then the arch stops the guest's clock
 * (arch__vm_paused).  Nothing is lost: what the guest queued is served
 * after kvm__resume().  Returns 0 (also when already paused); -ECANCELED
 * if the VM is stopping; -ETIMEDOUT, with everything running again, if a
 * vCPU or a device did not stop within a few seconds.  @err says which.
 */
int kvm__pause(struct kvm *kvm, struct lkvm_err *err);

/*
 * Undoes kvm__pause() (a no-op if not paused): the arch takes the time
 * paused out of the guest's clock (arch__vm_resume), the devices and then
 * the vCPUs go again.  Returns 0, or -errno if the guest's clock could not
 * be corrected (the VM runs all the same; @err says so).
 */
int kvm__resume(struct kvm *kvm, struct lkvm_err *err);

/* Nanoseconds the VM has spent paused, the current pause included. */
u64 kvm__paused_ns(const struct kvm *kvm);

/*
 * Releases everything; safe on a partly created VM.  Every writable disk
 * is flushed to stable storage first (after its in-flight requests).
 * Returns 0, or -EIO if a disk's flush failed: the guest's last writes
 * may be lost, and the exit status should say so.
 */
int kvm__close(struct kvm *kvm);

#endif /* LKVM_KVM_H */
