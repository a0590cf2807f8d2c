/*
 * kvmcap - print what /dev/kvm reports, for the system tests' L0 checks.
 *
 * Needs no lkvm, so the harness can prove its own premises: the "nested"
 * profile's L0 offers KVM_CAP_ARM_EL2, the "plain" one doesn't.
 *
 *   kvmcap            prints "api=<KVM_GET_API_VERSION>"
 *   kvmcap N...       prints "N=<KVM_CHECK_EXTENSION(N)>" for each number
 *                     (KVM api.rst 4.1 and 4.4; negative: -errno)
 *
 * Exits 1 if /dev/kvm can't be opened, 2 on a bad argument.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int fd, i, r;

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "kvmcap: /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	if (argc == 1) {
		r = ioctl(fd, KVM_GET_API_VERSION, 0);
		printf("api=%d\n", r < 0 ? -errno : r);
	}
	for (i = 1; i < argc; i++) {
		char *end;
		long cap = strtol(argv[i], &end, 0);

		if (*argv[i] == '\0' || *end != '\0' || cap < 0) {
			fprintf(stderr, "kvmcap: not a capability number: '%s'\n", argv[i]);
			return 2;
		}
		r = ioctl(fd, KVM_CHECK_EXTENSION, cap);
		printf("%s=%d\n", argv[i], r < 0 ? -errno : r);
	}
	close(fd);
	return 0;
}
