// SPDX-License-Identifier: GPL-2.0-only
/*
 * The boot files into guest RAM, each byte copied once, straight to its
 * final guest-physical place (arm64 booting.rst placement, arm/kernel.c):
 * an Image, flat payload or initrd by pread() into RAM; an ELF's
 * segments from the file's read-only mapping; an Image.gz inflated by zlib
 * into RAM as it streams, bounded by the RAM bank and by the Image
 * header's image_size, so a compressed bomb stops there whatever the file
 * claims.  lkvm's own memory does not grow with the files' size: no
 * buffer of a file's size is ever allocated.  Pure apart from the file
 * I/O (no KVM): unit-tested on fake guest RAM.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arm/boot.h"
#include "lkvm/file.h"
#include "lkvm/gmem.h"
#include "lkvm/log.h"

#define GZ_HEAD		(64 * 1024)	/* inflated before placing: enough for the Image header */

/* Bytes of RAM from @gpa to the end of the region holding it (0: not RAM). */
static u64 room_at(const struct kvm *kvm, u64 gpa)
{
	struct gmem_range r;

	for (unsigned int it = 0; gmem__next(kvm, &it, &r);)
		if (gpa >= r.gpa && gpa - r.gpa < r.size)
			return r.size - (gpa - r.gpa);
	return 0;
}

struct seg_ctx {
	struct kvm *kvm;
	const char *path;
	struct lkvm_err *err;
};

static int load_segment(void *ctx, u64 paddr, const u8 *data, u64 filesz, u64 memsz)
{
	struct seg_ctx *c = ctx;
	u8 *dst = gmem__ptr(c->kvm, paddr, memsz);

	if (!dst)
		return seterr(c->err, EFAULT, "%s: ELF segment %#llx-%#llx is not inside guest RAM "
			      "(place RAM there with -m SIZE@ADDR)", c->path,
			      (unsigned long long)paddr, (unsigned long long)(paddr + memsz));
	memcpy(dst, data, filesz);
	memset(dst + filesz, 0, memsz - filesz);	/* .bss: RAM may not be fresh */
	return 0;
}

/*
 * Image.gz (or a gzip'd flat payload): the first GZ_HEAD bytes are
 * inflated to learn what it is and where it goes, then the rest streams
 * straight into RAM behind them.
 */
static int load_gzip(struct kvm *kvm, const struct boot_request *req, struct guest_file *kf,
		     struct boot_images *out, struct lkvm_err *err)
{
	const char *path = kf->path;
	struct boot_layout lay;
	struct gunzip g;
	u64 n = 0, more = 0, room, cap;
	u8 *head, *dst;
	int r;

	head = malloc(GZ_HEAD);
	if (!head)
		return seterr(err, ENOMEM, "%s: out of memory", path);
	r = file__gunzip_open(kf, &g, err);
	if (r) {
		free(head);
		return r;
	}
	r = file__gunzip_read(&g, head, GZ_HEAD, &n, err);
	if (!r)
		r = kernel__probe(head, n, path, &out->info, err);
	if (!r && out->info.kind == KERNEL_ELF)
		r = seterr(err, ENOEXEC, "%s: a gzip-compressed ELF: give the ELF itself "
			   "(gunzip it first)", path);
	if (r)
		goto out;
	if (req->firmware && out->info.kind == KERNEL_IMAGE)
		out->info.kind = KERNEL_FLAT;
	/* The load address does not depend on the length: place it as if it were the head. */
	r = boot__layout(&out->info, n, req->initrd_size, req->ram_base, req->ram_size,
			 req->load_addr, &lay, err);
	if (r)
		goto out;
	room = room_at(kvm, lay.kernel_addr);
	cap = out->info.kind == KERNEL_IMAGE ? MIN(room, out->info.image_size) : room;
	dst = cap >= n ? gmem__ptr(kvm, lay.kernel_addr, cap) : NULL;
	if (!dst) {
		r = seterr(err, EFAULT, "%s: %#llx is not inside guest RAM", path,
			   (unsigned long long)lay.kernel_addr);
		goto out;
	}
	memcpy(dst, head, n);
	if (!g.done)
		r = file__gunzip_read(&g, dst + n, cap - n, &more, err);
	if (!r && !g.done) {
		u8 probe;
		u64 extra = 0;

		/* Full: is there more?  (a stream that ends exactly at the room is fine) */
		r = file__gunzip_read(&g, &probe, 1, &extra, err);
		if (!r && extra)
			r = seterr(err, EFBIG, "%s: inflates to more than the %llu MiB %s "
				   "(a corrupt or hostile file?)", path,
				   (unsigned long long)(cap / SZ_MiB),
				   cap < room ? "its Image header allows (image_size)" :
				   "of RAM from its load address; give more with -m");
	}
	if (r)
		goto out;
	out->kernel_len = n + more;
	out->gz = true;
out:
	file__gunzip_close(&g);
	free(head);
	return r;
}

int boot__load_images(struct kvm *kvm, const struct boot_request *req, struct boot_images *out,
		      struct lkvm_err *err)
{
	struct guest_file kf, inf = { .fd = -1 };
	struct boot_request rq = *req;
	int r;

	memset(out, 0, sizeof(*out));
	r = file__open_guest(req->kernel, &kf, err);
	if (r)
		return r;
	if (req->initrd) {
		r = file__open_guest(req->initrd, &inf, err);
		if (r)
			goto out;
		rq.initrd_size = inf.size;
	}
	if (kf.gz) {
		r = load_gzip(kvm, &rq, &kf, out, err);
	} else {
		r = kernel__probe(kf.map, kf.size, kf.path, &out->info, err);
		if (!r && req->firmware && out->info.kind == KERNEL_IMAGE)
			out->info.kind = KERNEL_FLAT;	/* -f: always raw, at --firmware-address */
		out->kernel_len = kf.size;
	}
	if (r)
		goto out;
	r = boot__layout(&out->info, out->kernel_len, rq.initrd_size, req->ram_base,
			 req->ram_size, req->load_addr, &out->layout, err);
	if (r)
		goto out;
	if (out->info.kind == KERNEL_ELF) {
		struct seg_ctx ctx = { kvm, kf.path, err };

		r = elf__for_each_load(kf.map, kf.size, load_segment, &ctx, err);
		out->entry = out->info.entry;
	} else {
		out->entry = out->layout.kernel_addr;
		if (!kf.gz) {
			u8 *dst = gmem__ptr(kvm, out->layout.kernel_addr, out->kernel_len);

			r = dst ? file__pread_into(&kf, 0, dst, out->kernel_len, err) :
				  seterr(err, EFAULT, "%s: %#llx-%#llx is not inside guest RAM",
					 kf.path, (unsigned long long)out->layout.kernel_addr,
					 (unsigned long long)(out->layout.kernel_addr +
							      out->kernel_len));
		}
	}
	if (!r && inf.size) {
		u8 *dst = gmem__ptr(kvm, out->layout.initrd_addr, inf.size);

		r = dst ? file__pread_into(&inf, 0, dst, inf.size, err) :
			  seterr(err, EFAULT, "%s: the initrd's place %#llx is not RAM", inf.path,
				 (unsigned long long)out->layout.initrd_addr);
	}
out:
	file__close_guest(&kf);
	if (inf.fd >= 0)
		file__close_guest(&inf);
	return r;
}
