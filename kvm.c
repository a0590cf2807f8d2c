// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VM's lifecycle: /dev/kvm, the host checks and VM creation with the
 * IPA size the memory map needs, the guest's files, guest RAM, vCPUs, the
 * main loop (console input, signals, stop requests, the control socket),
 * pause and resume, and teardown.  Arch specifics go through lkvm/arch.h.
 *
 * Teardown deliberately never deletes memslots one by one: each deletion
 * makes the host kernel invalidate the VM's stage-2 (and, for a nested
 * guest, every shadow stage-2) over the slot, which for an L1 hypervisor
 * costs seconds per slot.  Closing the VM's file descriptors instead lets
 * KVM destroy the VM in one pass (KVM api.rst 4.35: memslots go with the
 * VM), and guest RAM is unmapped only after that, when no MMU notifier is
 * left to fire.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/sysinfo.h>
#include <termios.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "lkvm/arch.h"
#include "lkvm/control.h"
#include "lkvm/device.h"
#include "lkvm/kvm.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/log.h"
#include "lkvm/sandbox.h"
#include "lkvm/irq.h"
#include "lkvm/outbuf.h"
#include "lkvm/ram.h"
#include "lkvm/snapshot.h"

#define CONSOLE_ESCAPE	0x01	/* Ctrl-A, then 'x' quits */
/* At exit, console output waits this long for a reader that takes nothing, and no longer in all. */
#define CONSOLE_FLUSH_IDLE_MS	1000
#define CONSOLE_FLUSH_MAX_MS	5000
#define PAUSE_TIMEOUT_MS	5000	/* for the vCPUs, and for each device, to stop */

void kvm__init(struct kvm *kvm, const struct lkvm_config *cfg)
{
	memset(kvm, 0, sizeof(*kvm));
	kvm->cfg = cfg;
	kvm->sys_fd = -1;
	kvm->vm_fd = -1;
	kvm->stop_fd = -1;
	kvm->mem_fd = -1;
	kvm->console_in = STDIN_FILENO;
	kvm->console_out = STDOUT_FILENO;
	for (unsigned int i = 0; i < LKVM_MAX_NICS; i++)
		net__backend_init(&kvm->net[i]);
	pthread_mutex_init(&kvm->exit_lock, NULL);
	pthread_mutex_init(&kvm->pause_lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&kvm->pause_cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	kvm->start_ns = now_ns();
}

int kvm__open(struct kvm *kvm, struct lkvm_err *err)
{
	kvm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->sys_fd < 0) {
		int e = errno;

		if (e == ENOENT)
			return seterr(err, e, "/dev/kvm: no such device: this host has no KVM "
				      "(an arm64 Linux kernel with CONFIG_KVM, booted at EL2, is needed)");
		if (e == EACCES)
			return seterr(err, e, "/dev/kvm: permission denied: run as root or join "
				      "the group that owns /dev/kvm (usually 'kvm')");
		return seterr(err, e, "/dev/kvm: %s", strerror(e));
	}
	kvm->api_version = ioctl(kvm->sys_fd, KVM_GET_API_VERSION, 0);
	if (kvm->api_version != KVM_API_VERSION)
		return seterr(err, ENOTSUP, "KVM_GET_API_VERSION: %d, lkvm needs %d",
			      kvm->api_version, KVM_API_VERSION);
	kvm->vcpu_mmap_size = (size_t)ioctl(kvm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if ((long)kvm->vcpu_mmap_size <= 0)
		return seterr(err, errno, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	return 0;
}

int kvm__check_cap(const struct kvm *kvm, long cap)
{
	int fd = kvm->vm_fd >= 0 ? kvm->vm_fd : kvm->sys_fd;
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

static int check_host_memory(const struct kvm *kvm, struct lkvm_err *err)
{
	u64 want = config__ram_size(kvm->cfg);
	struct sysinfo si;
	u64 have;

	if (sysinfo(&si) < 0)
		return 0;
	have = (u64)si.totalram * si.mem_unit;
	if (want > have)
		return seterr(err, ENOMEM, "-m: this host cannot give the guest %llu MiB of RAM "
			      "because it has %llu MiB; give less with -m",
			      (unsigned long long)(want / SZ_MiB), (unsigned long long)(have / SZ_MiB));
	return 0;
}

void kvm__mark(struct kvm *kvm, const char *what)
{
	if (kvm->nr_marks < ARRAY_SIZE(kvm->marks))
		kvm->marks[kvm->nr_marks++] = (typeof(kvm->marks[0])){ what, now_ns() };
}

/*
 * The guest's RAM banks: mapped (ram.c: anonymous memory for THP, or the
 * hugetlbfs mount at cfg->hugetlbfs, pages of @huge_page bytes), never
 * touched here, and registered as KVM memory slots.
 */
static int create_ram(struct kvm *kvm, const struct mem_plan *plan, u64 huge_page,
		      struct lkvm_err *err)
{
	const char *hugetlbfs = kvm->cfg->hugetlbfs;

	for (unsigned int i = 0; i < plan->nr_bank; i++) {
		const struct mem_bank *b = &plan->bank[i];
		struct kvm_userspace_memory_region region;
		void *host;

		if (kvm->mem_fd >= 0) {
			/* --restore: the snapshot's memory, copy-on-write (kvm_snapshot__ram). */
			host = ram__map_file(kvm->mem_fd, kvm->mem_file_off[i], b->size);
			if (host == MAP_FAILED)
				return seterr(err, errno, "mmap of the snapshot's memory file (RAM "
					      "%#llx+%#llx): %s", (unsigned long long)b->addr,
					      (unsigned long long)b->size, strerror(errno));
		} else if (hugetlbfs) {
			int r = ram__map_hugetlbfs(hugetlbfs, b->size, huge_page, &host, err);

			if (r)
				return r;
		} else {
			host = ram__map_anon(b->size);
			if (host == MAP_FAILED)
				return seterr(err, errno, "mmap of %llu MiB guest RAM: %s",
					      (unsigned long long)(b->size / SZ_MiB), strerror(errno));
		}
		if (gmem__add_region(kvm, b->addr, b->size, host)) {
			ram__unmap(host, b->size);
			return seterr(err, EINVAL, "RAM bank %u overlaps another", i);
		}
		region = (struct kvm_userspace_memory_region){
			.slot = kvm->mem[kvm->nr_mem - 1].slot,
			.guest_phys_addr = b->addr,
			.memory_size = b->size,
			.userspace_addr = (u64)(unsigned long)host,
		};
		if (ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
			return seterr(err, errno, "KVM_SET_USER_MEMORY_REGION (RAM %#llx+%#llx): %s",
				      (unsigned long long)b->addr, (unsigned long long)b->size,
				      strerror(errno));
	}
	if (hugetlbfs && huge_page)
		pr_info(kvm, "guest RAM: %llu MiB on hugetlbfs %s, %llu pages of %llu KiB",
			(unsigned long long)(config__ram_size(kvm->cfg) / SZ_MiB), hugetlbfs,
			(unsigned long long)(config__ram_size(kvm->cfg) / huge_page),
			(unsigned long long)(huge_page / SZ_KiB));
	return 0;
}

/*
 * --hugetlbfs: the mount and its free pages, checked before any VM exists
 * (host facts, so exit status 1, with the fix in the message).
 */
static int check_hugetlbfs(const struct kvm *kvm, const struct mem_plan *plan, u64 *huge_page,
			   struct lkvm_err *err)
{
	const char *path = kvm->cfg->hugetlbfs;
	u64 sizes[ARRAY_SIZE(plan->bank)];
	struct ram_hugetlbfs h;
	int r;

	*huge_page = 0;
	if (!path)
		return 0;
	r = ram__hugetlbfs_probe(path, &h, err);
	if (r)
		return r;
	for (unsigned int i = 0; i < plan->nr_bank; i++)
		sizes[i] = plan->bank[i].size;
	r = ram__hugetlbfs_check(path, &h, sizes, plan->nr_bank, err);
	if (!r)
		*huge_page = h.page_size;
	return r;
}

int kvm__check_host(struct kvm *kvm, struct lkvm_err *err)
{
	const struct lkvm_config *cfg = kvm->cfg;
	struct mem_plan plan;
	int r, max_cpus;

	r = check_host_memory(kvm, err);
	if (!r)
		r = sandbox__init(cfg->sandbox, err);	/* before any thread of the VM starts */
	if (r)
		return r;
	r = arch__check_host(kvm, err);
	/* --restore: what the snapshot needs of this host, its facts and its vm section. */
	if (!r && kvm->restore)
		r = arch__snapshot_check(kvm, kvm->restore, err);
	if (r)
		return r;
	max_cpus = kvm__check_cap(kvm, KVM_CAP_MAX_VCPUS);
	if (max_cpus > 0 && cfg->nr_cpus > (unsigned int)max_cpus)
		return seterr(err, EINVAL, "-c %u: this host cannot run %u vCPUs in one VM because "
			      "its KVM allows at most %d (KVM_CAP_MAX_VCPUS); give -c %d or fewer",
			      cfg->nr_cpus, cfg->nr_cpus, max_cpus, max_cpus);
	r = arch__plan_memory(cfg, kvm->host_ipa_max, &plan, err);
	if (r)
		return r;
	kvm->ipa_bits = plan.ipa_bits;
	r = check_hugetlbfs(kvm, &plan, &kvm->huge_page, err);
	if (r)
		return r;
	/* Taps before the VM: a NIC that can't be had is an error with no VM made. */
	for (unsigned int i = 0; i < cfg->nr_net; i++) {
		r = net__open_backend(&cfg->net[i], &kvm->net[i], err);
		if (r)
			return r;
	}

	do {
		kvm->vm_fd = ioctl(kvm->sys_fd, KVM_CREATE_VM, arch__vm_type(plan.ipa_bits));
	} while (kvm->vm_fd < 0 && errno == EINTR);
	if (kvm->vm_fd < 0)
		return seterr(err, errno, "KVM_CREATE_VM (IPA %u bits): %s", plan.ipa_bits,
			      strerror(errno));
	pr_debug(kvm, "VM created, IPA %u bits (map needs %u)", plan.ipa_bits, plan.map_bits);
	kvm__mark(kvm, "VM");
	/*
	 * The interrupt controller is a host check too: only a VM can ask
	 * KVM which GICs it emulates (KVM_CREATE_DEVICE_TEST).  It needs no
	 * RAM, so it is made here, before any guest file is looked at.
	 */
	return arch__init_vm(kvm, err);
}

int kvm__check_files(struct kvm *kvm, struct lkvm_err *err)
{
	int r = config__check_files(kvm->cfg, err);

	if (!r && kvm->cfg->kernel)
		r = arch__check_files(kvm, err);
	return r;
}

int kvm__create_vm(struct kvm *kvm, struct lkvm_err *err)
{
	const struct lkvm_config *cfg = kvm->cfg;
	struct lkvm_placement place;
	struct mem_plan plan;
	int r;

	/* The same plan kvm__check_host() accepted: the config is read-only. */
	r = arch__plan_memory(cfg, kvm->host_ipa_max, &plan, err);
	if (!r && kvm->restore)
		r = kvm_snapshot__ram(kvm, &plan, err);
	if (r)
		return r;
	r = create_ram(kvm, &plan, kvm->huge_page, err);
	if (r)
		return r;
	/* The console devices write only to this ring; its own thread writes stdout. */
	r = outbuf__new(kvm->console_out, OUTBUF_CONSOLE_SIZE, OUTBUF_STALL_MS, KICK_SIGNAL, kvm,
			"console", &kvm->console_ob);
	if (r)
		return seterr(err, -r, "console output: %s", strerror(-r));
	arch__placement(kvm, &place);
	r = devices__create(kvm, &place, err);
	if (r)
		return r;
	kvm__mark(kvm, "devices");
	kvm->cpus = calloc(cfg->nr_cpus, sizeof(*kvm->cpus));
	if (!kvm->cpus)
		return seterr(err, ENOMEM, "out of memory for %u vCPUs", cfg->nr_cpus);
	for (unsigned int i = 0; i < cfg->nr_cpus; i++) {
		kvm->cpus[i].fd = -1;
		kvm->nr_cpus++;		/* counted first, so kvm__close() undoes a half-made one */
		r = kvm_cpu__create(kvm, i, &kvm->cpus[i], err);
		if (r)
			return r;
	}
	kvm__mark(kvm, "vCPUs");
	r = arch__finalize_vm(kvm, err);
	/* --restore: the saved state over the new VM, before any device or vCPU runs. */
	if (!r && kvm->restore)
		r = kvm_snapshot__restore(kvm, err);
	/* irqfds need the initialised interrupt controller and its default routing. */
	if (!r)
		r = devices__start(kvm, err);
	kvm__mark(kvm, "DT+regs");
	return r;
}

void kvm__request_stop(struct kvm *kvm, enum kvm_exit_why why, int sig)
{
	u64 one = 1;
	ssize_t n __unused;

	pthread_mutex_lock(&kvm->exit_lock);
	if (kvm->exit_why == LKVM_RUNNING) {
		kvm->exit_signal = sig;
		kvm->stop_ns = now_ns();
		/* Last: vCPU threads read it without the lock. */
		__atomic_store_n(&kvm->exit_why, why, __ATOMIC_SEQ_CST);
	}
	pthread_mutex_unlock(&kvm->exit_lock);
	/* Parked vCPUs wake and see the stop (they check it under pause_lock). */
	pthread_mutex_lock(&kvm->pause_lock);
	pthread_cond_broadcast(&kvm->pause_cond);
	pthread_mutex_unlock(&kvm->pause_lock);
	n = write(kvm->stop_fd, &one, sizeof(one));
}

/* Device threads stop (@on) or go again, in creation order; on a failure the ones before go again. */
static int pause_devices(struct kvm *kvm, bool on, struct lkvm_err *err)
{
	for (unsigned int i = 0; i < kvm->nr_devices; i++) {
		struct lkvm_device *d = kvm->devices[i];
		int r;

		if (!d->ops->pause)
			continue;
		r = d->ops->pause(d, on, PAUSE_TIMEOUT_MS);
		if (r && on) {
			while (i--)
				if (kvm->devices[i]->ops->pause)
					kvm->devices[i]->ops->pause(kvm->devices[i], false, 0);
			return seterr(err, -r, "%s did not stop within %d ms (its I/O is still in "
				      "flight); the guest runs on", d->name, PAUSE_TIMEOUT_MS);
		}
	}
	return 0;
}

int kvm__pause(struct kvm *kvm, struct lkvm_err *err)
{
	u64 t0 = now_ns();
	int r;

	if (kvm->paused)
		return 0;
	r = kvm_cpu__park_all(kvm, PAUSE_TIMEOUT_MS);
	if (r == -ECANCELED)
		return seterr(err, ECANCELED, "the guest is stopping");
	if (r)
		return seterr(err, -r, "a vCPU did not leave KVM_RUN within %d ms; the guest runs on",
			      PAUSE_TIMEOUT_MS);
	/* vCPUs first: nothing new is queued while the devices finish what was. */
	r = pause_devices(kvm, true, err);
	if (r) {
		kvm_cpu__unpark_all(kvm);
		return r;
	}
	arch__vm_paused(kvm);
	kvm->paused = true;
	kvm->paused_at_ns = now_ns();
	kvm->pause_latency_ns = kvm->paused_at_ns - t0;
	kvm->nr_pauses++;
	return 0;
}

int kvm__resume(struct kvm *kvm, struct lkvm_err *err)
{
	int r;

	if (!kvm->paused)
		return 0;
	pause_devices(kvm, false, NULL);
	/* While no vCPU runs: KVM takes the counter offset only then. */
	r = arch__vm_resume(kvm, err);
	kvm->paused_ns += now_ns() - kvm->paused_at_ns;
	kvm->paused = false;
	kvm_cpu__unpark_all(kvm);
	return r;
}

u64 kvm__paused_ns(const struct kvm *kvm)
{
	return kvm->paused_ns + (kvm->paused ? now_ns() - kvm->paused_at_ns : 0);
}

static enum kvm_exit_why exit_why(struct kvm *kvm)
{
	return __atomic_load_n(&kvm->exit_why, __ATOMIC_ACQUIRE);
}

/* Console input: forwards to the sink, handling the Ctrl-A x escape. */
static void console_input(struct kvm *kvm, const struct console_sink *sink, const u8 *buf,
			  size_t len, bool *escape)
{
	for (size_t i = 0; i < len; i++) {
		if (*escape) {
			*escape = false;
			if (buf[i] == 'x') {
				kvm__request_stop(kvm, LKVM_EXIT_SIGNAL, SIGINT);
				return;
			}
			if (buf[i] != CONSOLE_ESCAPE)
				sink->input(sink->ctx, (const u8 *)"\x01", 1);
		} else if (buf[i] == CONSOLE_ESCAPE && isatty(kvm->console_in)) {
			*escape = true;
			continue;
		}
		sink->input(sink->ctx, &buf[i], 1);
	}
}

static int main_loop(struct kvm *kvm, int sig_fd)
{
	const struct console_sink *sink = kvm->console.space ? &kvm->console : NULL;
	bool in_open = sink != NULL, escape = false;

	while (exit_why(kvm) == LKVM_RUNNING) {
		struct pollfd p[3 + CONTROL_MAX_POLLFDS] = {
			{ .fd = kvm->stop_fd, .events = POLLIN },
			{ .fd = sig_fd, .events = POLLIN },
			{ .fd = -1, .events = POLLIN },		/* the console, when it takes input */
		};
		size_t space = in_open ? sink->space(sink->ctx) : 0;
		bool want_in = space > 0;
		int timeout = want_in || !in_open ? -1 : 20;
		unsigned int nc = 0;
		int n;

		if (want_in)
			p[2].fd = kvm->console_in;
		if (kvm->ctl)
			nc = control__server_pollfds(kvm->ctl, p + 3, &timeout);
		n = poll(p, 3 + nc, timeout);
		if (n < 0 && errno != EINTR)
			return -errno;
		/* Deadlines too: called on a timeout as well. */
		if (n >= 0 && nc)
			control__server_handle(kvm->ctl, p + 3, nc);
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sig_fd, &si, sizeof(si)) == sizeof(si))
				kvm__request_stop(kvm, LKVM_EXIT_SIGNAL, (int)si.ssi_signo);
		}
		if (want_in && (p[2].revents & (POLLIN | POLLHUP | POLLERR))) {
			u8 buf[256];
			ssize_t got = read(kvm->console_in, buf, MIN(space, sizeof(buf)));

			if (got > 0)
				console_input(kvm, sink, buf, (size_t)got, &escape);
			else if (got == 0 || (errno != EINTR && errno != EAGAIN))
				in_open = false;	/* EOF: the guest just gets no more input */
		}
	}
	return 0;
}

static int exit_status(struct kvm *kvm)
{
	switch (kvm->exit_why) {
	case LKVM_EXIT_POWEROFF:
		pr_info(kvm, "guest powered off at %.3f (CLOCK_MONOTONIC)", (double)kvm->stop_ns / 1e9);
		return 0;
	case LKVM_EXIT_RESET:
		pr_info(kvm, "guest asked for a reset; lkvm exits (status 0)");
		return 0;
	case LKVM_EXIT_CRASH:
		pr_err(kvm, "guest reported a crash (PSCI SYSTEM_EVENT crash)");
		return 1;
	case LKVM_EXIT_SIGNAL:
		pr_info(kvm, "stopped by signal %d", kvm->exit_signal);
		return 128 + kvm->exit_signal;
	case LKVM_EXIT_STOPPED:
		pr_info(kvm, "stopped by 'lkvm stop' (status 0)");
		return 0;
	case LKVM_EXIT_ERROR:
	case LKVM_RUNNING:
		break;
	}
	return 1;
}

int kvm__run(struct kvm *kvm)
{
	struct termios saved;
	bool raw = false;
	sigset_t sigs, old;
	int sig_fd, r = 0;
	unsigned int started = 0;

	kvm->stop_fd = eventfd(0, EFD_CLOEXEC);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	/* Blocked before threads start, so only the signalfd sees them. */
	pthread_sigmask(SIG_BLOCK, &sigs, &old);
	sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (kvm->stop_fd < 0 || sig_fd < 0) {
		pr_err(kvm, "eventfd/signalfd: %s", strerror(errno));
		r = 1;
		goto out;
	}

	if (isatty(kvm->console_in) && tcgetattr(kvm->console_in, &saved) == 0) {
		struct termios t = saved;

		cfmakeraw(&t);
		t.c_oflag |= OPOST | ONLCR;
		raw = tcsetattr(kvm->console_in, TCSANOW, &t) == 0;
	}

	for (; started < kvm->nr_cpus; started++) {
		if (kvm_cpu__start(&kvm->cpus[started]) < 0) {
			pr_err(kvm, "cannot start vCPU %u thread: %s", started, strerror(errno));
			kvm__request_stop(kvm, LKVM_EXIT_ERROR, 0);
			break;
		}
	}
	/* Last, after every other thread started: filters apply to the caller only. */
	if (started == kvm->nr_cpus) {
		struct lkvm_err err = { "" };

		if (sandbox__enter(SANDBOX_MAIN, &err)) {
			pr_err(kvm, "%s", err.msg);
			kvm__request_stop(kvm, LKVM_EXIT_ERROR, 0);
		}
	}
	if (main_loop(kvm, sig_fd) < 0)
		kvm__request_stop(kvm, LKVM_EXIT_ERROR, 0);
	/* The name is free from now on; a "lkvm stop" waits on its held connection. */
	control__server_unlisten(kvm->ctl);
	/* A stop while paused: the devices finish and drain as on any stop. */
	if (kvm->paused) {
		pause_devices(kvm, false, NULL);
		kvm->paused = false;
	}
	kvm_cpu__unpark_all(kvm);
	for (unsigned int i = 0; i < started; i++)
		kvm_cpu__kick(&kvm->cpus[i]);
	for (unsigned int i = 0; i < started; i++)
		kvm_cpu__join(&kvm->cpus[i]);
	/* Teardown's first part, for the poweroff-to-exit budget (make bench-boot). */
	if (kvm->stop_ns)
		pr_info(kvm, "%u vCPU threads joined %.3f s after the stop", started,
			(double)(now_ns() - kvm->stop_ns) / 1e9);
	/* The guest's last words before lkvm's own (the exit report below). */
	outbuf__flush(kvm->console_ob, CONSOLE_FLUSH_IDLE_MS, CONSOLE_FLUSH_MAX_MS);
	if (raw)
		tcsetattr(kvm->console_in, TCSANOW, &saved);
	/* Where was the guest when it was stopped from outside?  (debugging hangs) */
	if (kvm->exit_why == LKVM_EXIT_SIGNAL && kvm->cfg->loglevel >= LOG_DEBUG)
		for (unsigned int i = 0; i < started; i++)
			arch__dump_vcpu(&kvm->cpus[i]);
	r = exit_status(kvm);
out:
	if (sig_fd >= 0)
		close(sig_fd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}

/* Whether a line written to stderr now goes through without blocking. */
static bool stderr_writable(void)
{
	struct pollfd p = { .fd = STDERR_FILENO, .events = POLLOUT };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

/*
 * Everything the guest wrote before it stopped reaches a reading stdout
 * before lkvm exits; a stdout that takes nothing for a second (or is
 * slower than CONSOLE_FLUSH_MAX_MS allows) loses the rest, and is told so.
 */
static void close_console(struct kvm *kvm)
{
	struct outbuf_stats st;
	u64 t0 = now_ns();

	if (!kvm->console_ob)
		return;
	/* What the devices' last moments added (quick if kvm__run() found stdout stalled). */
	outbuf__flush(kvm->console_ob, CONSOLE_FLUSH_IDLE_MS, CONSOLE_FLUSH_MAX_MS);
	outbuf__free(kvm->console_ob, &st);
	kvm->console_ob = NULL;
	pr_debug(kvm, "console: output flushed in %.3f s (%llu bytes written; the guest waited "
		 "%.3f s for stdout)", (double)(now_ns() - t0) / 1e9,
		 (unsigned long long)st.written, (double)st.wait_ns / 1e9);
	/* With 2>&1 stderr is the stalled pipe: a report nobody can read must not hang the exit. */
	if (st.dropped && stderr_writable())
		pr_warn(kvm, "console: %llu bytes dropped: %s", (unsigned long long)st.dropped,
			st.error ? strerror(st.error) : "stdout did not read");
}

int kvm__close(struct kvm *kvm)
{
	u64 t0 = now_ns(), t1, t2;
	struct gmem_range range;

	for (unsigned int i = 0; i < kvm->nr_cpus; i++)
		kvm_cpu__destroy(&kvm->cpus[i]);
	free(kvm->cpus);
	kvm->cpus = NULL;
	kvm->nr_cpus = 0;
	/* Devices before the VM and RAM: their I/O threads touch guest memory. */
	devices__free(kvm);
	close_console(kvm);
	for (unsigned int i = 0; i < LKVM_MAX_NICS; i++)
		net__close_backend(&kvm->net[i]);
	irq__free(kvm);
	arch__close(kvm);
	t1 = now_ns();
	/* The VM goes with its last fd: one teardown pass, no per-slot deletes. */
	if (kvm->vm_fd >= 0)
		close(kvm->vm_fd);
	kvm->vm_fd = -1;
	t2 = now_ns();
	for (unsigned int it = 0; gmem__next(kvm, &it, &range);)
		ram__unmap(range.host, range.size);
	kvm->nr_mem = 0;
	if (kvm->mem_fd >= 0)
		close(kvm->mem_fd);
	kvm->mem_fd = -1;
	mmio__free(&kvm->mmio);
	if (kvm->stop_fd >= 0)
		close(kvm->stop_fd);
	kvm->stop_fd = -1;
	if (kvm->sys_fd >= 0)
		close(kvm->sys_fd);
	kvm->sys_fd = -1;
	pr_info(kvm, "teardown took %.3f s (vCPUs and devices %.3f s, VM %.3f s, RAM %.3f s)",
		(double)(now_ns() - t0) / 1e9, (double)(t1 - t0) / 1e9, (double)(t2 - t1) / 1e9,
		(double)(now_ns() - t2) / 1e9);
	if (kvm->disk_flush_errors)
		pr_err(kvm, "%u of %u disks could not be flushed at exit: the guest's last writes "
		       "may not be on stable storage", kvm->disk_flush_errors, kvm->disks_flushed);
	/* Last: a waiting "lkvm stop" returns once the disks are flushed and closed. */
	control__server_close(kvm->ctl);
	kvm->ctl = NULL;
	return kvm->disk_flush_errors ? -EIO : 0;
}
