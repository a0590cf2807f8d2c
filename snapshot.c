// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VM's side of snapshot and restore (docs/snapshot.md): "lkvm
 * snapshot" pauses the guest and writes a directory of two files, the
 * sparse memory file and the state file (lkvm/snapshot.h has the format);
 * "lkvm run --restore" builds the VM from the recorded command line with
 * its RAM mapped copy-on-write from the memory file, then puts the saved
 * state over it -- the arch's (vCPUs, GIC, counter), then each device's
 * through its save/restore ops -- before any vCPU or device runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "lkvm/arch.h"
#include "lkvm/device.h"
#include "lkvm/kvm.h"
#include "lkvm/log.h"
#include "lkvm/snapshot.h"

static int path_in(char *buf, size_t len, const char *dir, const char *file, struct lkvm_err *err)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, file) >= len)
		return seterr(err, ENAMETOOLONG, "%s: path too long", dir);
	return 0;
}

/* The snapshot's memory section: each RAM region, one after another in the file. */
static void memory_layout(struct kvm *kvm, struct snap_memory *m)
{
	struct gmem_range range;
	u64 off = 0;

	memset(m, 0, sizeof(*m));
	m->page_size = (u32)sysconf(_SC_PAGESIZE);
	for (unsigned int it = 0; m->nr < SNAP_MAX_MEM_REGIONS && gmem__next(kvm, &it, &range);) {
		m->r[m->nr++] = (struct snap_mem_region){ range.gpa, range.size, off };
		off += range.size;
	}
	m->file_size = off;
}

static int write_memory(struct kvm *kvm, const char *dir, const struct snap_memory *m,
			struct snap_stats *st, struct lkvm_err *err)
{
	char path[4096], tmp[4200];
	struct gmem_range range;
	int fd, r;

	r = path_in(path, sizeof(path), dir, SNAP_MEMORY_FILE, err);
	if (r)
		return r;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return seterr(err, errno, "%s: %s", tmp, strerror(errno));
	for (unsigned int it = 0, i = 0; !r && i < m->nr && gmem__next(kvm, &it, &range); i++) {
		u64 written;

		r = snapshot__write_ram(fd, m->r[i].offset, range.host, range.size, m->page_size,
					kvm->mem_fd, kvm->mem_file_off[i], &written, err);
		st->ram_bytes += range.size;
		st->ram_written += written;
	}
	if (!r && ftruncate(fd, (off_t)m->file_size) < 0)
		r = seterr(err, errno, "%s: %s", tmp, strerror(errno));
	if (!r && fsync(fd) < 0)
		r = seterr(err, errno, "%s: fsync: %s", tmp, strerror(errno));
	close(fd);
	if (!r && rename(tmp, path) < 0)
		r = seterr(err, errno, "%s: %s", path, strerror(errno));
	if (r)
		unlink(tmp);
	return r;
}

/*
 * Last made first: a bus comes before the devices on it, and a device's
 * own refusal ("virtio-rng on virtio-pci") says more than its bus's.
 */
static int save_devices(struct kvm *kvm, struct snap_writer *w, struct lkvm_err *err)
{
	for (unsigned int i = kvm->nr_devices; i--;) {
		struct lkvm_device *d = kvm->devices[i];
		struct snap_writer blob = { 0 };
		struct lkvm_err derr = { "" };
		int r = d->ops->save(d, &blob, &derr);

		if (!r && blob.nomem)
			r = -ENOMEM;
		if (r) {
			snapshot__writer_free(&blob);
			if (derr.msg[0])
				return seterr(err, -r, "%s", derr.msg);
			return seterr(err, -r, "%s: saving its state: %s", d->name, strerror(-r));
		}
		snapshot__put_device(w, i, d->name, d->ops->state_version, blob.buf, blob.len);
		snapshot__writer_free(&blob);
	}
	return 0;
}

static void host_facts(struct kvm *kvm, struct snap_host *h)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*h = (struct snap_host){
		.arch = SNAP_ARCH_ARM64, .page_size = (u32)sysconf(_SC_PAGESIZE),
		.kvm_api = (u32)kvm->api_version, .ipa_max = kvm->host_ipa_max,
		.created_ns = (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec,
	};
	if (kvm__check_cap(kvm, KVM_CAP_ARM_EL2) > 0)
		h->flags |= SNAP_HOST_EL2;
	if (kvm__check_cap(kvm, KVM_CAP_ARM_EL2_E2H0) > 0)
		h->flags |= SNAP_HOST_EL2_E2H0;
}

int kvm__snapshot(struct kvm *kvm, const char *dir, bool stop, struct snap_stats *st,
		  struct lkvm_err *err)
{
	bool was = kvm->paused;
	struct snap_writer w;
	struct snap_memory m;
	struct snap_host h;
	char path[4096];
	u64 t0 = now_ns();
	int r;

	memset(st, 0, sizeof(*st));
	/* Refused before the guest is touched: a device that can't be saved, by name. */
	for (unsigned int i = 0; i < kvm->nr_devices; i++)
		if (!kvm->devices[i]->ops->save)
			return seterr(err, ENOTSUP, "the guest has a %s device, which lkvm cannot "
				      "snapshot yet", kvm->devices[i]->name);
	if (!kvm->run_argv)
		return seterr(err, ENOTSUP, "this VM has no recorded command line to restore from");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return seterr(err, errno, "%s: %s", dir, strerror(errno));
	r = kvm__pause(kvm, err);
	if (r)
		return r;
	/* The devices first: one that can't be saved refuses before any file is written. */
	host_facts(kvm, &h);
	snapshot__writer_init(&w, &h);
	snapshot__put_config(&w, (unsigned int)kvm->run_argc, kvm->run_argv);
	r = save_devices(kvm, &w, err);
	if (!r)
		r = arch__snapshot_prepare(kvm, err);
	memory_layout(kvm, &m);
	if (!r)
		r = write_memory(kvm, dir, &m, st, err);
	if (!r)
		r = arch__snapshot_save(kvm, &w, err);
	snapshot__put_memory(&w, &m);
	if (!r)
		r = snapshot__writer_finish(&w, err);
	if (!r)
		r = path_in(path, sizeof(path), dir, SNAP_STATE_FILE, err);
	if (!r)
		r = snapshot__write_file(path, w.buf, w.len, err);
	st->state_bytes = w.len;
	snapshot__writer_free(&w);
	st->paused_ns = now_ns() - t0;
	if (!r && stop) {
		kvm__request_stop(kvm, LKVM_EXIT_STOPPED, 0);
		return 0;
	}
	if (!was) {
		struct lkvm_err rerr;

		if (kvm__resume(kvm, &rerr))
			pr_warn(kvm, "snapshot: resume: %s", rerr.msg);
	}
	return r;
}

int kvm_snapshot__ram(struct kvm *kvm, const struct mem_plan *plan, struct lkvm_err *err)
{
	const struct snap_section *s = snapshot__find(kvm->restore, SNAP_SEC_MEMORY, 0);
	struct snap_memory m;
	char path[4096];
	struct stat sb;
	int r;

	if (!s)
		return seterr(err, EINVAL, "--restore %s: incomplete: no memory section",
			      kvm->restore_dir);
	r = snapshot__get_memory(s, &m, err);
	if (r)
		return r;
	if (m.nr != plan->nr_bank)
		return seterr(err, EINVAL, "--restore %s: %u RAM regions saved, the command line "
			      "makes %u", kvm->restore_dir, m.nr, plan->nr_bank);
	for (unsigned int i = 0; i < m.nr; i++) {
		if (m.r[i].gpa != plan->bank[i].addr || m.r[i].size != plan->bank[i].size)
			return seterr(err, EINVAL, "--restore %s: RAM region %u saved at %#llx+%#llx, "
				      "the command line makes %#llx+%#llx", kvm->restore_dir, i,
				      (unsigned long long)m.r[i].gpa, (unsigned long long)m.r[i].size,
				      (unsigned long long)plan->bank[i].addr,
				      (unsigned long long)plan->bank[i].size);
		if (!IS_ALIGNED(m.r[i].offset, 2 * SZ_MiB))
			return seterr(err, EINVAL, "--restore %s: RAM region %u at an offset not "
				      "2 MiB aligned", kvm->restore_dir, i);
		kvm->mem_file_off[i] = m.r[i].offset;
	}
	r = path_in(path, sizeof(path), kvm->restore_dir, SNAP_MEMORY_FILE, err);
	if (r)
		return r;
	/* Read-only: the guest's writes are copy-on-write in lkvm, never in the snapshot. */
	kvm->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (kvm->mem_fd < 0)
		return seterr(err, errno, "--restore: %s: %s", path, strerror(errno));
	if (fstat(kvm->mem_fd, &sb) < 0 || (u64)sb.st_size != m.file_size)
		return seterr(err, EINVAL, "--restore: %s: truncated (%lld bytes, the snapshot "
			      "says %llu)", path, (long long)sb.st_size,
			      (unsigned long long)m.file_size);
	return 0;
}

int kvm_snapshot__restore(struct kvm *kvm, struct lkvm_err *err)
{
	int r = arch__snapshot_restore(kvm, kvm->restore, err);
	unsigned int n = snapshot__count(kvm->restore, SNAP_SEC_DEVICE);

	if (r)
		return r;
	if (n != kvm->nr_devices)
		return seterr(err, EINVAL, "the snapshot has %u devices, its command line makes %u",
			      n, kvm->nr_devices);
	for (unsigned int i = 0; i < kvm->nr_devices; i++) {
		const struct snap_section *s = snapshot__find(kvm->restore, SNAP_SEC_DEVICE, i);
		struct lkvm_device *d = kvm->devices[i];
		struct snap_section state;
		struct snap_device sd;
		struct snap_cursor c;

		if (!s)
			return seterr(err, EINVAL, "incomplete: no state for device %u (%s)", i,
				      d->name);
		r = snapshot__get_device(s, &sd, err);
		if (r)
			return r;
		if (strcmp(sd.name, d->name) != 0)
			return seterr(err, EINVAL, "device %u is a %s in the snapshot, a %s here", i,
				      sd.name, d->name);
		if (!d->ops->restore)
			return seterr(err, ENOTSUP, "%s: lkvm cannot restore this device", d->name);
		state = (struct snap_section){ .type = SNAP_SEC_DEVICE, .id = i, .data = sd.state,
					       .len = sd.len };
		snapshot__cursor(&c, &state);
		r = d->ops->restore(d, sd.version, &c, err);
		if (r)
			return r;
	}
	return 0;
}
