/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A backing store that hangs, for unit tests: memory whose first touch
 * blocks until the test lets it through (userfaultfd(2), missing-page
 * mode).  A disk READ into it blocks its I/O thread inside preadv() --
 * in the kernel, as a read from a hung NFS server or a dead disk would --
 * until slow_mem_release().  Needs root (or vm.unprivileged_userfaultfd=1);
 * the cases skip otherwise.
 */
#ifndef LKVM_TEST_SLOW_MEM_H
#define LKVM_TEST_SLOW_MEM_H

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "test.h"

struct slow_mem {
	int uffd;
	u8 *p;
	size_t len;
	int release_pipe[2];	/* the watchdog's: a byte, or its timeout, lets it through */
	pthread_t watchdog;
	unsigned int watchdog_ms;
};

/* @len bytes (page multiple) that block whoever touches them first. */
static inline void slow_mem_init(struct slow_mem *m, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };

	memset(m, 0, sizeof(*m));
	m->len = len;
	m->uffd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (m->uffd < 0)
		TEST_SKIP("userfaultfd: %s (root, or vm.unprivileged_userfaultfd=1)", strerror(errno));
	TEST_ASSERT(ioctl(m->uffd, UFFDIO_API, &api) == 0, "UFFDIO_API: %s", strerror(errno));
	m->p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(m->p != MAP_FAILED, "mmap: %s", strerror(errno));
	reg.range.start = (u64)(uintptr_t)m->p;
	reg.range.len = len;
	TEST_ASSERT(ioctl(m->uffd, UFFDIO_REGISTER, &reg) == 0, "UFFDIO_REGISTER: %s",
		    strerror(errno));
}

/* Waits up to @ms for a thread to block on the memory; skips if none does. */
static inline void slow_mem_wait_blocked(struct slow_mem *m, int ms)
{
	struct pollfd p = { .fd = m->uffd, .events = POLLIN };
	struct uffd_msg msg;

	if (poll(&p, 1, ms) != 1)
		TEST_SKIP("nothing faulted on the userfaultfd memory in %d ms (kernel faults "
			  "not handled for this user?)", ms);
	TEST_ASSERT_EQ(read(m->uffd, &msg, sizeof(msg)), (ssize_t)sizeof(msg));
	TEST_ASSERT_EQ(msg.event, UFFD_EVENT_PAGEFAULT);
}

/* Maps zero pages under the whole range: blocked touches go on, later ones don't block. */
static inline void slow_mem_release(struct slow_mem *m)
{
	struct uffdio_zeropage z = {
		.range = { .start = (u64)(uintptr_t)m->p, .len = m->len },
	};

	/* EEXIST: already released (by the watchdog, or by us). */
	if (ioctl(m->uffd, UFFDIO_ZEROPAGE, &z) < 0)
		TEST_ASSERT(errno == EEXIST, "UFFDIO_ZEROPAGE: %s", strerror(errno));
}

static inline void *slow_mem__watchdog(void *arg)
{
	struct slow_mem *m = arg;
	struct pollfd p = { .fd = m->release_pipe[0], .events = POLLIN };

	poll(&p, 1, (int)m->watchdog_ms);
	slow_mem_release(m);
	return NULL;
}

/*
 * Releases the memory after @ms whatever happens: code under test that
 * waits for the hung I/O (the bug) comes back late and fails its timing
 * assertion instead of hanging the test.  slow_mem_release_now() ends it early.
 */
static inline void slow_mem_watchdog(struct slow_mem *m, unsigned int ms)
{
	TEST_ASSERT_EQ(pipe(m->release_pipe), 0);
	m->watchdog_ms = ms;
	TEST_ASSERT_EQ(pthread_create(&m->watchdog, NULL, slow_mem__watchdog, m), 0);
}

static inline void slow_mem_release_now(struct slow_mem *m)
{
	TEST_ASSERT_EQ(write(m->release_pipe[1], "r", 1), 1);
	pthread_join(m->watchdog, NULL);
	close(m->release_pipe[0]);
	close(m->release_pipe[1]);
}

static inline void slow_mem_fini(struct slow_mem *m)
{
	munmap(m->p, m->len);
	close(m->uffd);
}

#endif /* LKVM_TEST_SLOW_MEM_H */
