/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The snapshot file format (docs/snapshot.md): a 64-byte header (magic,
 * version, facts about the host that wrote it), then typed sections, each
 * a 24-byte header (type, instance id, payload length, CRC-32) and its
 * payload padded to 8 bytes.  All integers are little-endian.  This module
 * is pure: it builds a state file in memory (struct snap_writer), checks
 * one read back whole before anything is used (snapshot__parse), and
 * encodes and decodes each kind of section.  What goes into the sections
 * (KVM's registers, the GIC's, the devices') is the caller's.
 *
 * Nothing read from a file is trusted: every length is checked against
 * what is left, every count against a limit, every CRC before a section
 * is decoded.  A bad file is -EINVAL with a reason (enum snap_fault) and
 * a message naming what is wrong where; never a crash.
 *
 * A snapshot directory holds two files: SNAP_STATE_FILE (this format) and
 * SNAP_MEMORY_FILE (guest RAM, sparse: see snapshot__write_ram).
 */
#ifndef LKVM_SNAPSHOT_H
#define LKVM_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>

#include "lkvm/util.h"

#define SNAP_MAGIC		"LKVMSNAP"	/* 8 bytes, no NUL */
#define SNAP_VERSION		1U
#define SNAP_HEADER_SIZE	64U
#define SNAP_SECTION_HDR_SIZE	24U

#define SNAP_STATE_FILE		"state"
#define SNAP_MEMORY_FILE	"memory"

/* Limits a reader enforces (far above what lkvm writes; they bound allocations). */
#define SNAP_MAX_FILE		(64 * SZ_MiB)	/* the state file, not the RAM */
#define SNAP_MAX_SECTIONS	4096U
#define SNAP_MAX_ARGS		4096U
#define SNAP_MAX_ARG_LEN	65536U
#define SNAP_MAX_REG_SIZE	256U		/* KVM_REG_SIZE_U2048: an SVE Z register */
#define SNAP_MAX_REGS		65536U
#define SNAP_MAX_ATTRS		(1U << 20)
#define SNAP_MAX_MEM_REGIONS	16U
#define SNAP_DEVICE_NAME_MAX	32U		/* with the NUL */

/* Header facts: what the writing host was. */
#define SNAP_ARCH_ARM64		183U		/* ELF EM_AARCH64 */
#define SNAP_HOST_EL2		BIT(0)		/* KVM_CAP_ARM_EL2 */
#define SNAP_HOST_EL2_E2H0	BIT(1)		/* KVM_CAP_ARM_EL2_E2H0 */

struct snap_host {
	u32 arch;		/* SNAP_ARCH_* */
	u32 page_size;
	u32 kvm_api;		/* KVM_GET_API_VERSION */
	u32 ipa_max;		/* KVM_CAP_ARM_VM_IPA_SIZE */
	u32 flags;		/* SNAP_HOST_* */
	u64 created_ns;		/* CLOCK_REALTIME at writing, for people */
};

/* Section types.  A reader refuses a type it does not know (it could not restore it). */
enum snap_section_type {
	SNAP_SEC_CONFIG = 1,	/* the command line the VM was made from */
	SNAP_SEC_VM = 2,	/* VM-wide facts: vCPU count, EL2, the guest's counter */
	SNAP_SEC_VCPU = 3,	/* id = vCPU index: MP state and every KVM_GET_REG_LIST register */
	SNAP_SEC_KVM_DEVICE = 4,/* id = SNAP_KDEV_*: an in-kernel device's attributes */
	SNAP_SEC_MEMORY = 5,	/* the RAM regions and where they are in the memory file */
	SNAP_SEC_DEVICE = 6,	/* id = device index: one lkvm device's own state */
	SNAP_SEC_MAX = SNAP_SEC_DEVICE,
};

/* Why a file was refused. */
enum snap_fault {
	SNAP_OK,
	SNAP_FAULT_TRUNCATED,	/* shorter than its header says */
	SNAP_FAULT_MAGIC,	/* not an lkvm snapshot */
	SNAP_FAULT_VERSION,	/* another version of the format */
	SNAP_FAULT_CORRUPT,	/* a CRC does not match */
	SNAP_FAULT_MALFORMED,	/* a length, count or field out of range */
	SNAP_FAULT_MISSING,	/* a section the restore needs is absent */
	SNAP_FAULT_HOST,	/* written on a host this one cannot stand in for */
	SNAP_FAULT_IO,		/* the file could not be read or written */
	SNAP_NR_FAULTS,
};

/* "truncated", "not a snapshot", ...: a short name for messages and JSON. */
const char *snapshot__fault_name(enum snap_fault f);

/* ---- writing ----------------------------------------------------------- */

/* A state file being built in memory.  Any failure (ENOMEM) sticks until finish. */
struct snap_writer {
	u8 *buf;
	size_t len, cap;
	size_t sec_start;	/* offset of the open section's header */
	unsigned int nr_sections;
	bool in_section;
	bool nomem;
};

/* Starts a file: writes the header for @host (counts filled in by finish). */
void snapshot__writer_init(struct snap_writer *w, const struct snap_host *host);

/* Opens a section (one at a time): its payload is what the put calls add until section_end. */
void snapshot__section_begin(struct snap_writer *w, u32 type, u32 id);
void snapshot__put_u32(struct snap_writer *w, u32 v);
void snapshot__put_u64(struct snap_writer *w, u64 v);
void snapshot__put_bytes(struct snap_writer *w, const void *p, size_t len);
/* Zeroes up to the next multiple of 8 of the payload (entries stay aligned). */
void snapshot__put_align(struct snap_writer *w);
/* Closes it: length, CRC-32 and padding. */
void snapshot__section_end(struct snap_writer *w);

/*
 * Ends the file (section count, total size, header CRC).  Returns 0 with
 * the file in w->buf/w->len (still owned by @w), or -ENOMEM / -EINVAL (a
 * section left open) with @err.
 */
int snapshot__writer_finish(struct snap_writer *w, struct lkvm_err *err);
void snapshot__writer_free(struct snap_writer *w);

/* ---- reading ----------------------------------------------------------- */

struct snap_section {
	u32 type, id;
	const u8 *data;		/* into the parsed buffer */
	size_t len;
};

struct snap_reader {
	struct snap_host host;
	u32 version;
	struct snap_section *sec;	/* in file order */
	unsigned int nr_sec;
	enum snap_fault fault;		/* why parse refused the file */
};

/*
 * Checks @buf (a whole state file, @len bytes; it must outlive @r) and
 * indexes its sections: the header (magic, version, its CRC, the total
 * size against @len), each section's bounds, type and CRC.  Returns 0, or
 * -EINVAL with r->fault and @err saying what is wrong and at which offset;
 * -ENOMEM.  snapshot__reader_free() after either.
 */
int snapshot__parse(struct snap_reader *r, const void *buf, size_t len, struct lkvm_err *err);
void snapshot__reader_free(struct snap_reader *r);

/* The section of @type and @id, or NULL. */
const struct snap_section *snapshot__find(const struct snap_reader *r, u32 type, u32 id);
/* How many sections of @type there are. */
unsigned int snapshot__count(const struct snap_reader *r, u32 type);

/*
 * Reading a section's payload: past the end gives zeroes and marks the
 * cursor bad, so a decoder reads its fields and checks once, at the end.
 */
struct snap_cursor {
	const u8 *p;
	size_t n;
	bool bad;
};

void snapshot__cursor(struct snap_cursor *c, const struct snap_section *s);
u32 snapshot__get_u32(struct snap_cursor *c);
u64 snapshot__get_u64(struct snap_cursor *c);
/* @len bytes in place (NULL, and bad, if fewer are left). */
const u8 *snapshot__get_bytes(struct snap_cursor *c, size_t len);
/* Skips to the next multiple of 8 from the payload's start (@s: the section read). */
void snapshot__get_align(struct snap_cursor *c, const struct snap_section *s);

/* ---- the sections --------------------------------------------------------
 *
 * Each has a put (into an open writer; it opens and closes its own section)
 * and a get that decodes a section found by snapshot__find().  A get
 * returns 0, or -EINVAL with @err naming the section and the field (fault
 * SNAP_FAULT_MALFORMED), or -ENOMEM; what it allocated is freed by the
 * matching free even after a failure.
 */

/* SNAP_SEC_CONFIG: the argument vector of "lkvm run" (argv[0] is the subcommand). */
struct snap_config {
	unsigned int argc;
	char **argv;		/* argc strings and a NULL */
};

void snapshot__put_config(struct snap_writer *w, unsigned int argc, char *const argv[]);
int snapshot__get_config(const struct snap_section *s, struct snap_config *c,
			 struct lkvm_err *err);
void snapshot__config_free(struct snap_config *c);

/* SNAP_SEC_VM. */
#define SNAP_VM_NESTED		BIT(0)	/* vCPUs with EL2 (KVM_ARM_VCPU_HAS_EL2) */
#define SNAP_VM_E2H0		BIT(1)	/* ... without VHE */
#define SNAP_VM_COUNTER		BIT(2)	/* @counter is valid (the VM had a counter offset) */
#define SNAP_VM_FLAGS		GENMASK(2, 0)

struct snap_vm {
	u32 nr_cpus;
	u32 flags;		/* SNAP_VM_* */
	u32 ipa_bits;
	u32 irqchip;		/* enum irqchip_type (lkvm/config.h) */
	u64 counter;		/* the guest's counter when it was saved */
	u64 paused_ns;		/* time the guest had spent paused, for "lkvm list" */
};

void snapshot__put_vm(struct snap_writer *w, const struct snap_vm *vm);
int snapshot__get_vm(const struct snap_section *s, struct snap_vm *vm, struct lkvm_err *err);

/*
 * SNAP_SEC_VCPU: KVM's MP state and registers in KVM_GET_REG_LIST order,
 * each its 64-bit id, its size in bytes (a power of two, at most
 * SNAP_MAX_REG_SIZE) and its value.  The id is not interpreted here.
 */
struct snap_reg {
	u64 id;
	u32 size;
	const u8 *val;		/* @size bytes: the caller's (put), into the file (get) */
};

struct snap_vcpu {
	u32 mp_state;		/* KVM_MP_STATE_* */
	unsigned int nr_regs;
	struct snap_reg *regs;
};

void snapshot__put_vcpu(struct snap_writer *w, u32 index, const struct snap_vcpu *v);
int snapshot__get_vcpu(const struct snap_section *s, struct snap_vcpu *v, struct lkvm_err *err);
void snapshot__vcpu_free(struct snap_vcpu *v);

/*
 * SNAP_SEC_KVM_DEVICE: an in-kernel device's state as KVM_{GET,SET}_DEVICE_ATTR
 * triples (group, attr, a 32- or 64-bit value), in the order they are to
 * be set back.
 */
enum snap_kvm_device {
	SNAP_KDEV_GIC = 0,	/* the vGIC: distributor, redistributors, CPU interfaces */
	SNAP_KDEV_ITS = 1,	/* the vITS: its registers (tables: in guest RAM) */
};

struct snap_attr {
	u32 group;
	u32 size;		/* 4 or 8 */
	u64 attr;
	u64 val;
};

struct snap_attrs {
	unsigned int nr;
	struct snap_attr *a;
};

void snapshot__put_attrs(struct snap_writer *w, u32 id, const struct snap_attrs *a);
int snapshot__get_attrs(const struct snap_section *s, struct snap_attrs *a, struct lkvm_err *err);
void snapshot__attrs_free(struct snap_attrs *a);

/*
 * SNAP_SEC_MEMORY: each RAM region's guest address and size and its
 * offset in the memory file (page aligned, regions in the file in order,
 * not overlapping), and the file's size.
 */
struct snap_mem_region {
	u64 gpa, size, offset;
};

struct snap_memory {
	u32 page_size;
	unsigned int nr;
	struct snap_mem_region r[SNAP_MAX_MEM_REGIONS];
	u64 file_size;
};

void snapshot__put_memory(struct snap_writer *w, const struct snap_memory *m);
int snapshot__get_memory(const struct snap_section *s, struct snap_memory *m,
			 struct lkvm_err *err);

/* SNAP_SEC_DEVICE: a device's name (lkvm_device.name), its state's version, its state. */
struct snap_device {
	char name[SNAP_DEVICE_NAME_MAX];
	u32 version;
	const u8 *state;	/* into the file */
	size_t len;
};

void snapshot__put_device(struct snap_writer *w, u32 index, const char *name, u32 version,
			  const void *state, size_t len);
int snapshot__get_device(const struct snap_section *s, struct snap_device *d,
			 struct lkvm_err *err);

/* ---- files --------------------------------------------------------------- */

/*
 * Writes @len bytes to @path atomically: a temporary file in the same
 * directory, fsync, rename.  Returns 0 or -errno with @err naming @path.
 */
int snapshot__write_file(const char *path, const void *buf, size_t len, struct lkvm_err *err);

/*
 * Reads all of @path (at most SNAP_MAX_FILE bytes) into a new buffer
 * (*@buf, free() it).  Returns 0 or -errno with @err naming @path.
 */
int snapshot__read_file(const char *path, u8 **buf, size_t *len, struct lkvm_err *err);

/*
 * Writes one RAM region, @size bytes at @host, to @fd at @file_off (page
 * aligned), sparse: only pages that hold something -- faulted in or
 * swapped out (/proc/self/pagemap), or, for RAM mapped from an earlier
 * snapshot (@backing_fd >= 0, the region at @backing_off in it), in that
 * file's data (SEEK_DATA) -- and are not all zeroes; the rest stay holes
 * (the caller sizes the file with ftruncate).  Without a readable
 * pagemap every page is read.  *@written: bytes written.  Returns 0, or
 * -errno with @err.  The VM must be paused.
 */
int snapshot__write_ram(int fd, u64 file_off, const void *host, u64 size, u32 page_size,
			int backing_fd, u64 backing_off, u64 *written, struct lkvm_err *err);

/* ---- the VM's side (snapshot.c) ----------------------------------------- */

struct kvm;
struct mem_plan;

/* What a snapshot took, for the answer to "lkvm snapshot". */
struct snap_stats {
	u64 state_bytes;	/* the state file */
	u64 ram_bytes;		/* guest RAM */
	u64 ram_written;	/* of which written (the rest: holes) */
	u64 paused_ns;		/* the guest's pause for it */
};

/*
 * "lkvm snapshot": pauses @kvm (if running), refuses (-ENOTSUP, naming
 * it) a device without a save op, lets the arch put its in-RAM state in
 * RAM, writes @dir/memory (sparse) and @dir/state (docs/snapshot.md), each
 * atomically, then resumes the guest unless @stop or it was paused before
 * (with @stop, asks the VM to stop: lkvm exits 0).  @dir is made if
 * missing.  From the main loop's thread.  Returns 0 with *@st, or -errno
 * with @err; the guest runs on after a failure.
 */
int kvm__snapshot(struct kvm *kvm, const char *dir, bool stop, struct snap_stats *st,
		  struct lkvm_err *err);

/*
 * --restore, while the VM is built from the snapshot's config
 * (kvm->restore set): the memory file checked against the memory plan
 * and opened (kvm->mem_fd, kvm->mem_file_off), before RAM is mapped...
 */
int kvm_snapshot__ram(struct kvm *kvm, const struct mem_plan *plan, struct lkvm_err *err);

/* ... and every saved state over the new VM: the arch's, then each device's. */
int kvm_snapshot__restore(struct kvm *kvm, struct lkvm_err *err);

#endif /* LKVM_SNAPSHOT_H */
