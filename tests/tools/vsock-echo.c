// SPDX-License-Identifier: GPL-2.0-only
/*
 * vsock-echo: AF_VSOCK streams for the system tests (busybox has no vsock
 * client), static, run in L0 and in the guests.
 *
 *   vsock-echo cid
 *       prints this machine's local CID (IOCTL_VM_SOCKETS_GET_LOCAL_CID)
 *   vsock-echo serve [-b] PORT [COUNT]
 *       listens on (any CID, PORT), echoes back every byte of COUNT
 *       connections (default 1), one after the other, then exits; prints
 *       "vsock-echo: serving PORT (pid PID)" once listening and, per
 *       connection, "vsock-echo: peer CID:PORT echoed N bytes".  -b: once
 *       listening, goes to the background, so that the command returns
 *       with the port open (redirect its output to a file).
 *   vsock-echo ping CID PORT [ROUNDS [SIZE]]
 *       connects (retrying for up to 10 s while the peer isn't there yet),
 *       sends ROUNDS (default 100) messages of SIZE bytes (default 64), each
 *       waited for and checked when it comes back, and prints
 *       "vsock-echo: ROUNDS round trips of SIZE bytes to CID:PORT ok
 *        min=US avg=US max=US" (microseconds); exits 1 on any mismatch.
 *
 * Every command gives up after 300 s (SIGALRM), so a test never hangs on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#define MAX_SIZE	65536

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void die(const char *what)
{
	fprintf(stderr, "vsock-echo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static unsigned long num(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || !*s || *end) {
		fprintf(stderr, "vsock-echo: %s: '%s' is not a number\n", what, s);
		exit(2);
	}
	return v;
}

static int cmd_cid(void)
{
	unsigned int cid = 0;
	int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die("/dev/vsock");
	if (ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) < 0)
		die("IOCTL_VM_SOCKETS_GET_LOCAL_CID");
	printf("%u\n", cid);
	return 0;
}

/* Writes all of [@p, @p + @n); false on an error. */
static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 0;
		p += w;
		n -= (size_t)w;
	}
	return 1;
}

static int cmd_serve(int background, unsigned int port, unsigned long count)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
				 .svm_port = port };
	static char buf[MAX_SIZE];
	int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		die("socket(AF_VSOCK)");
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	if (listen(s, 4) < 0)
		die("listen");
	if (background) {
		pid_t pid;

		fflush(stdout);
		pid = fork();

		if (pid < 0)
			die("fork");
		if (pid > 0) {
			/* Said by the parent: it is there when the command returns. */
			printf("vsock-echo: serving %u (pid %d)\n", port, (int)pid);
			return 0;
		}
		setsid();
		alarm(300);	/* not inherited */
	} else {
		printf("vsock-echo: serving %u (pid %d)\n", port, (int)getpid());
		fflush(stdout);
	}
	for (unsigned long i = 0; i < count; i++) {
		struct sockaddr_vm peer;
		socklen_t len = sizeof(peer);
		unsigned long long total = 0;
		int c = accept(s, (struct sockaddr *)&peer, &len);

		if (c < 0)
			die("accept");
		for (;;) {
			ssize_t n = read(c, buf, sizeof(buf));

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (!write_all(c, buf, (size_t)n))
				break;
			total += (unsigned long long)n;
		}
		close(c);
		printf("vsock-echo: peer %u:%u echoed %llu bytes\n", peer.svm_cid, peer.svm_port,
		       total);
		fflush(stdout);
	}
	close(s);
	return 0;
}

static int connect_retry(unsigned int cid, unsigned int port)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
	double until = now_us() + 10e6;

	for (;;) {
		int s = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (s < 0)
			die("socket(AF_VSOCK)");
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0)
			return s;
		close(s);
		if (now_us() > until || (errno != ECONNRESET && errno != ECONNREFUSED &&
					 errno != ENODEV && errno != ETIMEDOUT && errno != EINTR))
			die("connect");
		usleep(100000);
	}
}

static int cmd_ping(unsigned int cid, unsigned int port, unsigned long rounds, size_t size)
{
	static char out[MAX_SIZE], in[MAX_SIZE];
	double min = 1e18, max = 0, sum = 0;
	int s = connect_retry(cid, port);

	for (unsigned long r = 0; r < rounds; r++) {
		size_t got = 0;
		double t0;

		for (size_t i = 0; i < size; i++)
			out[i] = (char)(r * 31 + i);
		t0 = now_us();
		if (!write_all(s, out, size))
			die("write");
		while (got < size) {
			ssize_t n = read(s, in + got, size - got);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				fprintf(stderr, "vsock-echo: round %lu: %s after %zu of %zu bytes\n",
					r, n ? strerror(errno) : "end of stream", got, size);
				return 1;
			}
			got += (size_t)n;
		}
		t0 = now_us() - t0;
		if (memcmp(in, out, size)) {
			fprintf(stderr, "vsock-echo: round %lu: the echo differs\n", r);
			return 1;
		}
		min = t0 < min ? t0 : min;
		max = t0 > max ? t0 : max;
		sum += t0;
	}
	close(s);
	printf("vsock-echo: %lu round trips of %zu bytes to %u:%u ok min=%.0f avg=%.0f max=%.0f\n",
	       rounds, size, cid, port, rounds ? min : 0, rounds ? sum / (double)rounds : 0, max);
	return 0;
}

static void usage(void)
{
	fputs("usage: vsock-echo cid\n"
	      "       vsock-echo serve [-b] PORT [COUNT]\n"
	      "       vsock-echo ping CID PORT [ROUNDS [SIZE]]\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	alarm(300);
	if (argc >= 2 && !strcmp(argv[1], "cid") && argc == 2)
		return cmd_cid();
	if (argc >= 3 && !strcmp(argv[1], "serve")) {
		int bg = !strcmp(argv[2], "-b");

		if (argc < 3 + bg || argc > 4 + bg)
			usage();
		return cmd_serve(bg, (unsigned int)num(argv[2 + bg], "PORT"),
				 argc == 4 + bg ? num(argv[3 + bg], "COUNT") : 1);
	}
	if (argc >= 4 && argc <= 6 && !strcmp(argv[1], "ping")) {
		size_t size = argc == 6 ? num(argv[5], "SIZE") : 64;

		if (!size || size > MAX_SIZE) {
			fprintf(stderr, "vsock-echo: SIZE: 1 to %d\n", MAX_SIZE);
			return 2;
		}
		return cmd_ping((unsigned int)num(argv[2], "CID"), (unsigned int)num(argv[3], "PORT"),
				argc >= 5 ? num(argv[4], "ROUNDS") : 100, size);
	}
	usage();
	return 2;
}
