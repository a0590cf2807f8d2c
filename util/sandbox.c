// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-thread seccomp allowlists (include/lkvm/sandbox.h), built with
 * libseccomp.  The lists are by system call name, resolved for the
 * architecture lkvm runs on (arm64 has no open(), poll() or dup2():
 * their *at / p* forms are listed).  Each role's list is what that
 * thread's code calls after setup, found by reading it and confirmed by
 * running every system test with --sandbox log (the kernel's audit log
 * names each call not on a list).  Every list also has what glibc itself
 * needs on any thread: memory management, locks, signal returns, time,
 * thread exit.
 */
#include <errno.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "lkvm/sandbox.h"

#define MAX_NR		1024	/* arm64 syscall numbers are below 500 */

/* What any thread of a glibc program may call. */
static const char *const common[] = {
	"futex", "exit", "exit_group", "rt_sigreturn", "rt_sigprocmask", "restart_syscall",
	"mmap", "munmap", "mprotect", "mremap", "madvise", "brk",
	"clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday", "clock_getres",
	"getpid", "gettid", "tgkill", "sched_yield", "sched_getaffinity", "getrandom",
	"write", "writev", "close", "rseq", "set_robust_list", "membarrier",
	NULL,
};

static const char *const main_calls[] = {
	"ppoll", "pselect6", "poll", "epoll_pwait", "read", "readv", "ioctl", "fcntl",
	"eventfd2", "openat", "newfstatat", "fstat", "lseek", "unlinkat", "fdatasync", "fsync",
	"io_destroy", "io_uring_enter", "io_uring_register", "io_getevents", "io_pgetevents",
	"accept4", "accept", "recvfrom", "recvmsg", "sendto", "sendmsg", "getsockopt",
	"setsockopt", "shutdown", "wait4", "kill", "rt_sigtimedwait", "rt_sigaction",
	"pread64", "pwrite64", "preadv", "pwritev", "dup", "dup3", "pipe2", "getuid", "geteuid",
	"socket", "bind", "listen", "connect", "fchmod", "fchmodat", "uname", "sysinfo",
	/* "lkvm snapshot": the directory, the files written and renamed into place */
	"mkdirat", "renameat", "renameat2", "ftruncate",
	NULL,
};

static const char *const vcpu_calls[] = {
	"ioctl", "read", "readv", "ppoll", "eventfd2", "fcntl", "pread64", "pwrite64",
	"io_uring_enter", "io_getevents", "io_pgetevents", "io_submit", "fdatasync", "fsync",
	"rt_sigtimedwait",
	NULL,
};

static const char *const io_calls[] = {
	"ppoll", "pselect6", "epoll_pwait", "read", "readv", "pread64", "preadv", "preadv2",
	"pwrite64", "pwritev", "pwritev2", "ioctl", "fcntl", "eventfd2", "lseek",
	"io_uring_enter", "io_uring_register", "io_submit", "io_getevents", "io_pgetevents",
	"io_cancel", "fdatasync", "fsync", "fallocate", "ftruncate",
	"recvfrom", "recvmsg", "sendto", "sendmsg",
	/* virtio-9p: every path below the shared directory, by fd */
	"openat", "openat2", "newfstatat", "fstat", "statx", "fstatfs", "statfs", "getdents64",
	"mkdirat", "mknodat", "unlinkat", "renameat", "renameat2", "symlinkat", "readlinkat",
	"linkat", "fchmod", "fchmodat", "fchown", "fchownat", "utimensat", "faccessat",
	"faccessat2", "dup", "dup3", "flock", "fgetxattr", "flistxattr",
	NULL,
};

static const char *const disk_calls[] = {
	"read", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2",
	"fdatasync", "fsync", "fallocate", "ioctl", "ppoll",
	NULL,
};

static const char *const *const lists[SANDBOX_NR_ROLES] = {
	[SANDBOX_MAIN] = main_calls,
	[SANDBOX_VCPU] = vcpu_calls,
	[SANDBOX_IO] = io_calls,
	[SANDBOX_DISK] = disk_calls,
};

static const char *const role_names[SANDBOX_NR_ROLES] = {
	[SANDBOX_MAIN] = "main", [SANDBOX_VCPU] = "vCPU", [SANDBOX_IO] = "I/O",
	[SANDBOX_DISK] = "disk",
};

static enum sandbox_mode sandbox_mode = SANDBOX_OFF;
static __thread int thread_role = -1;
static char *nr_names[MAX_NR];		/* resolved once, read by the SIGSYS handler */

const char *sandbox__role_name(enum sandbox_role role)
{
	return role < SANDBOX_NR_ROLES ? role_names[role] : "?";
}

static bool in_list(const char *const *l, const char *name)
{
	for (; *l; l++)
		if (!strcmp(*l, name))
			return true;
	return false;
}

bool sandbox__allows(enum sandbox_role role, const char *name)
{
	return role < SANDBOX_NR_ROLES && (in_list(common, name) || in_list(lists[role], name));
}

static unsigned int count_list(const char *const *l)
{
	unsigned int n = 0;

	for (; *l; l++)
		n += seccomp_syscall_resolve_name(*l) != __NR_SCMP_ERROR;
	return n;
}

unsigned int sandbox__list_size(enum sandbox_role role)
{
	return role < SANDBOX_NR_ROLES ? count_list(common) + count_list(lists[role]) : 0;
}

/* Async-signal-safe: a few write()s of strings made before any filter. */
static void put(const char *s)
{
	ssize_t n __attribute__((unused)) = write(STDERR_FILENO, s, strlen(s));
}

static void sigsys(int sig, siginfo_t *si, void *uc)
{
	char num[24];
	int nr = si->si_syscall, i = sizeof(num) - 1;
	unsigned int v = nr < 0 ? 0 : (unsigned int)nr;

	(void)sig;
	(void)uc;
	num[i] = '\0';
	do
		num[--i] = (char)('0' + v % 10);
	while ((v /= 10) && i > 0);
	put("lkvm: sandbox: the ");
	put(thread_role >= 0 ? role_names[thread_role] : "unconfined");
	put(" thread called ");
	put(nr >= 0 && nr < MAX_NR && nr_names[nr] ? nr_names[nr] : "an unknown system call");
	put(" (");
	put(num + i);
	put("), which its allowlist does not have; lkvm stops.  Run with --sandbox off to "
	    "debug, and report it.\n");
	_exit(128 + SIGSYS);
}

static int add_list(scmp_filter_ctx ctx, const char *const *l)
{
	for (; *l; l++) {
		int nr = seccomp_syscall_resolve_name(*l);
		int r;

		if (nr == __NR_SCMP_ERROR)
			continue;	/* not on this architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The filters, built once by sandbox__init() and loaded by each thread. */
static scmp_filter_ctx filters[SANDBOX_NR_ROLES];
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static int build_filters(struct lkvm_err *err)
{
	for (int role = 0; role < SANDBOX_NR_ROLES; role++) {
		int r;

		filters[role] = seccomp_init(sandbox_mode == SANDBOX_LOG ? SCMP_ACT_LOG :
								    SCMP_ACT_TRAP);
		if (!filters[role])
			return seterr(err, ENOMEM, "sandbox: seccomp_init failed");
		r = add_list(filters[role], common);
		if (!r)
			r = add_list(filters[role], lists[role]);
		if (r < 0)
			return seterr(err, -r, "sandbox: building the %s thread's allowlist: %s",
				      role_names[role], strerror(-r));
	}
	return 0;
}

int sandbox__init(enum sandbox_mode mode, struct lkvm_err *err)
{
	struct sigaction sa = { .sa_sigaction = sigsys, .sa_flags = SA_SIGINFO };

	sandbox_mode = mode;
	if (mode == SANDBOX_OFF)
		return 0;
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL)
		return seterr(err, ENOTSUP, "sandbox: this kernel has no seccomp "
			      "(CONFIG_SECCOMP_FILTER); run with --sandbox off");
	for (int nr = 0; nr < MAX_NR; nr++)
		if (!nr_names[nr])
			nr_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return seterr(err, errno, "sandbox: sigaction(SIGSYS): %s", strerror(errno));
	return build_filters(err);
}

int sandbox__enter(enum sandbox_role role, struct lkvm_err *err)
{
	int r;

	if (sandbox_mode == SANDBOX_OFF)
		return 0;
	if (role >= SANDBOX_NR_ROLES || !filters[role])
		return seterr(err, EINVAL, "sandbox: no filter for role %d", role);
	/* seccomp_load() builds the BPF program from the shared context: one at a time. */
	pthread_mutex_lock(&load_lock);
	r = seccomp_load(filters[role]);
	pthread_mutex_unlock(&load_lock);
	if (r < 0)
		return seterr(err, -r, "sandbox: installing the %s thread's allowlist: %s "
			      "(--sandbox off runs without it)", role_names[role], strerror(-r));
	thread_role = role;
	return 0;
}
