// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VM's lifecycle: /dev/kvm, VM creation with the IPA size the memory
 * map needs, guest RAM, vCPUs, the main loop (console input, signals,
 * stop requests) and teardown.  Arch specifics go through lkvm/arch.h.
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
#include "lkvm/device.h"
#include "lkvm/kvm.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/log.h"
#include "lkvm/irq.h"
#include "lkvm/ram.h"

#define CONSOLE_ESCAPE	0x01	/* Ctrl-A, then 'x' quits */

void kvm__init(struct kvm *kvm, const struct lkvm_config *cfg)
{
	memset(kvm, 0, sizeof(*kvm));
	kvm->cfg = cfg;
	kvm->sys_fd = -1;
	kvm->vm_fd = -1;
	kvm->stop_fd = -1;
	kvm->console_in = STDIN_FILENO;
	kvm->console_out = STDOUT_FILENO;
	for (unsigned int i = 0; i < LKVM_MAX_NICS; i++)
		net__backend_init(&kvm->net[i]);
	pthread_mutex_init(&kvm->exit_lock, NULL);
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
		return seterr(err, ENOMEM, "-m: %llu MiB of guest RAM is more than this host's "
			      "%llu MiB; give less with -m",
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

		if (hugetlbfs) {
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

int kvm__create_vm(struct kvm *kvm, struct lkvm_err *err)
{
	const struct lkvm_config *cfg = kvm->cfg;
	struct lkvm_placement place;
	struct mem_plan plan;
	u64 huge_page;
	int r, max_cpus;

	r = check_host_memory(kvm, err);
	if (r)
		return r;
	r = arch__check_host(kvm, err);
	if (r)
		return r;
	max_cpus = kvm__check_cap(kvm, KVM_CAP_MAX_VCPUS);
	if (max_cpus > 0 && cfg->nr_cpus > (unsigned int)max_cpus)
		return seterr(err, EINVAL, "-c %u: this host's KVM allows at most %d vCPUs "
			      "(KVM_CAP_MAX_VCPUS)", cfg->nr_cpus, max_cpus);
	r = arch__plan_memory(cfg, kvm->host_ipa_max, &plan, err);
	if (r)
		return r;
	kvm->ipa_bits = plan.ipa_bits;
	r = check_hugetlbfs(kvm, &plan, &huge_page, err);
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

	r = create_ram(kvm, &plan, huge_page, err);
	if (r)
		return r;
	r = arch__init_vm(kvm, err);
	if (r)
		return r;
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
		__atomic_store_n(&kvm->exit_why, why, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&kvm->exit_lock);
	n = write(kvm->stop_fd, &one, sizeof(one));
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
		struct pollfd p[3] = {
			{ .fd = kvm->stop_fd, .events = POLLIN },
			{ .fd = sig_fd, .events = POLLIN },
			{ .fd = kvm->console_in, .events = POLLIN },
		};
		size_t space = in_open ? sink->space(sink->ctx) : 0;
		bool want_in = space > 0;
		int n = poll(p, want_in ? 3 : 2, want_in || !in_open ? -1 : 20);

		if (n < 0 && errno != EINTR)
			return -errno;
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
	if (main_loop(kvm, sig_fd) < 0)
		kvm__request_stop(kvm, LKVM_EXIT_ERROR, 0);
	for (unsigned int i = 0; i < started; i++)
		kvm_cpu__kick(&kvm->cpus[i]);
	for (unsigned int i = 0; i < started; i++)
		kvm_cpu__join(&kvm->cpus[i]);
	/* Teardown's first part, for the poweroff-to-exit budget (make bench-boot). */
	if (kvm->stop_ns)
		pr_info(kvm, "%u vCPU threads joined %.3f s after the stop", started,
			(double)(now_ns() - kvm->stop_ns) / 1e9);
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

void kvm__close(struct kvm *kvm)
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
}
