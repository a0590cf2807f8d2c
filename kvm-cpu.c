// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vCPU threads.  Each owns its KVM vCPU fd and kvm_run page and loops
 * on KVM_RUN until the VM is asked to stop.  Guest mistakes (MMIO to
 * nothing) are logged, rate-limited, and answered with zeros; only a
 * failure of KVM itself stops the VM with an error.
 *
 * Pausing: kvm_cpu__park_all() sets kvm->pause_req and kicks every
 * thread; each one, between two KVM_RUNs, parks on kvm->pause_cond until
 * kvm_cpu__unpark_all() (or a stop).  A parked vCPU is in no vCPU ioctl,
 * so the main thread may read its registers and set VM-wide state that
 * KVM only takes with no vCPU running (KVM_ARM_SET_COUNTER_OFFSET).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "lkvm/arch.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/log.h"
#include "lkvm/sandbox.h"

int kvm_cpu__create(struct kvm *kvm, unsigned int id, struct kvm_cpu *vcpu, struct lkvm_err *err)
{
	vcpu->kvm = kvm;
	vcpu->id = id;
	vcpu->fd = ioctl(kvm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0)
		return seterr(err, errno, "KVM_CREATE_VCPU %u: %s", id, strerror(errno));
	vcpu->run_size = kvm->vcpu_mmap_size;
	vcpu->run = mmap(NULL, vcpu->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		return seterr(err, errno, "mmap of vCPU %u kvm_run: %s", id, strerror(errno));
	}
	return arch__init_vcpu(vcpu, err);
}

static void kick_handler(int sig __unused)
{
}

int kvm_cpu__setup_kick_signal(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	/* No SA_RESTART: KVM_RUN must return EINTR. */
	sigemptyset(&sa.sa_mask);
	return sigaction(KICK_SIGNAL, &sa, NULL);
}

void kvm_cpu__handle_mmio(struct kvm *kvm, u64 addr, u8 *data, u32 len, bool is_write)
{
	static struct log_ratelimit rl;
	const struct mmio_range *r = mmio__find(&kvm->mmio, addr, len);

	if (r) {
		r->fn(r->opaque, addr - r->base, data, len, is_write);
		return;
	}
	lkvm_log_ratelimited(kvm, &rl, LOG_WARN, "guest %s of %u bytes at %#llx: no device there",
			     is_write ? "write" : "read", len, (unsigned long long)addr);
	if (!is_write)
		memset(data, 0, len);
}

/*
 * Checked on every exit: an atomic read, no lock (writers hold exit_lock).
 * Sequentially consistent, like pause_req and immediate_exit, so that a
 * kick can't be lost between the thread's checks and its KVM_RUN (see
 * vcpu_thread()).
 */
static bool stopping(struct kvm *kvm)
{
	return __atomic_load_n(&kvm->exit_why, __ATOMIC_SEQ_CST) != LKVM_RUNNING;
}

static bool pause_wanted(struct kvm *kvm)
{
	return __atomic_load_n(&kvm->pause_req, __ATOMIC_SEQ_CST);
}

/* Parks the calling vCPU thread until the pause ends or the VM stops. */
static void park(struct kvm_cpu *vcpu)
{
	struct kvm *kvm = vcpu->kvm;

	pthread_mutex_lock(&kvm->pause_lock);
	kvm->nr_parked++;
	pthread_cond_broadcast(&kvm->pause_cond);
	while (pause_wanted(kvm) && !stopping(kvm))
		pthread_cond_wait(&kvm->pause_cond, &kvm->pause_lock);
	kvm->nr_parked--;
	pthread_mutex_unlock(&kvm->pause_lock);
}

static void system_event(struct kvm_cpu *vcpu)
{
	struct kvm *kvm = vcpu->kvm;

	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		kvm__request_stop(kvm, LKVM_EXIT_POWEROFF, 0);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		kvm__request_stop(kvm, LKVM_EXIT_RESET, 0);
		break;
	case KVM_SYSTEM_EVENT_CRASH:
		kvm__request_stop(kvm, LKVM_EXIT_CRASH, 0);
		break;
	default: {
		static struct log_ratelimit rl;	/* guest-triggered: a looping guest must not flood */

		lkvm_log_ratelimited(kvm, &rl, LOG_WARN, "vCPU %u: ignoring system event %u",
				     vcpu->id, vcpu->run->system_event.type);
		break;
	}
	}
}

static void fail(struct kvm_cpu *vcpu, const char *what)
{
	pr_err(vcpu->kvm, "vCPU %u: %s", vcpu->id, what);
	arch__dump_vcpu(vcpu);
	kvm__request_stop(vcpu->kvm, LKVM_EXIT_ERROR, 0);
}

static void *vcpu_thread(void *arg)
{
	struct kvm_cpu *vcpu = arg;
	struct kvm *kvm = vcpu->kvm;
	struct kvm_run *run = vcpu->run;
	bool incomplete = false;	/* an MMIO exit that KVM_RUN has not completed yet */
	char msg[128];
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	{
		struct lkvm_err err = { "" };

		if (sandbox__enter(SANDBOX_VCPU, &err)) {
			pr_err(kvm, "vCPU %u: %s", vcpu->id, err.msg);
			kvm__request_stop(kvm, LKVM_EXIT_ERROR, 0);
			return NULL;
		}
	}

	for (;;) {
		/*
		 * A kick is a store to immediate_exit after the store to
		 * exit_why or pause_req.  Clearing immediate_exit before reading
		 * those (all sequentially consistent) means either this thread
		 * sees the request, or the kick's immediate_exit = 1 lands after
		 * the clear and KVM_RUN returns at once (api.rst, immediate_exit).
		 */
		__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		if (stopping(kvm))
			break;
		if (pause_wanted(kvm)) {
			/*
			 * api.rst (KVM_RUN, "immediate_exit"; KVM_EXIT_MMIO): an MMIO
			 * access is finished, and the registers consistent (a load's
			 * destination, the PC), only when KVM_RUN is entered again.
			 * Enter it with immediate_exit set, which finishes it and runs
			 * no instruction, so that a parked vCPU's registers are its
			 * state ("lkvm debug", "lkvm snapshot").
			 */
			if (incomplete) {
				__atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
				(void)ioctl(vcpu->fd, KVM_RUN, 0);
				incomplete = false;
			}
			park(vcpu);
			continue;
		}
		if (vcpu->id == 0 && !kvm->first_run_ns) {
			char steps[160];
			size_t n = 0;
			u64 prev = kvm->start_ns;

			kvm->first_run_ns = now_ns();
			steps[0] = '\0';
			for (unsigned int m = 0; m < kvm->nr_marks && n < sizeof(steps); m++) {
				n += (size_t)snprintf(steps + n, sizeof(steps) - n, "%s%s %.1f",
						      m ? ", " : "", kvm->marks[m].what,
						      (double)(kvm->marks[m].ns - prev) / 1e6);
				prev = kvm->marks[m].ns;
			}
			pr_info(kvm, "first KVM_RUN %.1f ms after lkvm started (ms: %s)",
				(double)(kvm->first_run_ns - kvm->start_ns) / 1e6, steps);
		}
		incomplete = false;
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			snprintf(msg, sizeof(msg), "KVM_RUN: %s", strerror(errno));
			fail(vcpu, msg);
			break;
		}
		switch (run->exit_reason) {
		case KVM_EXIT_MMIO:
			kvm_cpu__handle_mmio(kvm, run->mmio.phys_addr, run->mmio.data,
					     run->mmio.len, run->mmio.is_write);
			incomplete = true;
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			system_event(vcpu);
			break;
		case KVM_EXIT_INTR:
			break;
		case KVM_EXIT_FAIL_ENTRY:
			snprintf(msg, sizeof(msg), "KVM_EXIT_FAIL_ENTRY, reason %#llx",
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			fail(vcpu, msg);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			snprintf(msg, sizeof(msg), "KVM_EXIT_INTERNAL_ERROR, suberror %u",
				 run->internal.suberror);
			fail(vcpu, msg);
			break;
		default:
			if (!arch__handle_exit(vcpu)) {
				snprintf(msg, sizeof(msg), "unhandled KVM exit reason %u",
					 run->exit_reason);
				fail(vcpu, msg);
			}
			break;
		}
	}
	return NULL;
}

int kvm_cpu__start(struct kvm_cpu *vcpu)
{
	char name[16];
	int r = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);

	if (r) {
		errno = r;
		return -1;
	}
	vcpu->thread_started = true;
	/* /proc/PID/task/TID/comm: how people (and the system tests) find vCPU threads. */
	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(vcpu->thread, name);
	return 0;
}

int kvm_cpu__park_all(struct kvm *kvm, int timeout_ms)
{
	unsigned int want = 0;
	struct timespec ts;
	bool done;
	int r = 0;

	for (unsigned int i = 0; i < kvm->nr_cpus; i++)
		want += kvm->cpus[i].thread_started;
	pthread_mutex_lock(&kvm->pause_lock);
	__atomic_store_n(&kvm->pause_req, true, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&kvm->pause_lock);
	for (unsigned int i = 0; i < kvm->nr_cpus; i++)
		kvm_cpu__kick(&kvm->cpus[i]);

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&kvm->pause_lock);
	while (kvm->nr_parked < want && !stopping(kvm) && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&kvm->pause_cond, &kvm->pause_lock, &ts);
	done = kvm->nr_parked >= want && !stopping(kvm);
	pthread_mutex_unlock(&kvm->pause_lock);
	if (done)
		return 0;
	kvm_cpu__unpark_all(kvm);
	return stopping(kvm) ? -ECANCELED : -ETIMEDOUT;
}

void kvm_cpu__unpark_all(struct kvm *kvm)
{
	pthread_mutex_lock(&kvm->pause_lock);
	__atomic_store_n(&kvm->pause_req, false, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&kvm->pause_cond);
	pthread_mutex_unlock(&kvm->pause_lock);
}

void kvm_cpu__kick(struct kvm_cpu *vcpu)
{
	if (!vcpu->thread_started)
		return;
	/* Seen by KVM on the next entry even if the signal lands before it. */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(vcpu->thread, KICK_SIGNAL);
}

void kvm_cpu__join(struct kvm_cpu *vcpu)
{
	if (vcpu->thread_started)
		pthread_join(vcpu->thread, NULL);
	vcpu->thread_started = false;
}

void kvm_cpu__destroy(struct kvm_cpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->run_size);
	vcpu->run = NULL;
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->fd = -1;
}
