// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a running guest answers on its control socket (lkvm/control.h has
 * the protocol, util/control.c the socket): its facts for "lkvm list",
 * stop, pause and resume, the registers and device state for "lkvm
 * debug", and the balloon (virtio/balloon.c, through virtio_balloon__*)
 * for "lkvm balloon" and "lkvm stat".  Every handler runs on the main
 * loop's thread, never on a vCPU thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lkvm/arch.h"
#include "lkvm/control.h"
#include "lkvm/kvm.h"
#include "lkvm/kvm-cpu.h"
#include "lkvm/log.h"
#include "lkvm/snapshot.h"
#include "lkvm/version.h"
#include "lkvm/virtio-dev.h"	/* the balloon's side (virtio_balloon__*), its statistics' names */

static bool stopping(const struct kvm *kvm)
{
	return __atomic_load_n(&kvm->exit_why, __ATOMIC_SEQ_CST) != LKVM_RUNNING;
}

static __printf(3, 4) void fail(struct control_reply *rep, enum control_status st,
				const char *fmt, ...)
{
	va_list ap;

	rep->status = st;
	va_start(ap, fmt);
	vsnprintf(rep->error, sizeof(rep->error), fmt, ap);
	va_end(ap);
}

/* What "lkvm list" shows; @paused: the state to report. */
static void facts(struct kvm *kvm, struct json *j, bool paused)
{
	json__str(j, "name", kvm->name);
	json__u64(j, "pid", (u64)getpid());
	json__str(j, "state", paused ? "paused" : "running");
	json__u64(j, "vcpus", kvm->cfg->nr_cpus);
	json__u64(j, "mem_mib", config__ram_size(kvm->cfg) / SZ_MiB);
	json__fixed(j, "uptime_s", (double)(now_ns() - kvm->start_ns) / 1e9, 1);
	json__fixed(j, "paused_s", (double)kvm__paused_ns(kvm) / 1e9, 1);
	json__u64(j, "pauses", kvm->nr_pauses);
	json__str(j, "version", lkvm_version);
	json__u64(j, "protocol", CONTROL_VERSION);
}

static void do_info(struct kvm *kvm, struct control_reply *rep)
{
	struct json *j = &rep->body;

	json__obj_begin(j, NULL);
	facts(kvm, j, kvm->paused);
	arch__debug_vm(kvm, j);
	json__obj_end(j);
}

static void do_stop(struct kvm *kvm, struct control_reply *rep)
{
	kvm__request_stop(kvm, LKVM_EXIT_STOPPED, 0);
	/* The client learns the guest is gone when this connection closes. */
	rep->hold = true;
	json__obj_begin(&rep->body, NULL);
	json__bool(&rep->body, "stopping", true);
	json__obj_end(&rep->body);
}

static void do_pause(struct kvm *kvm, struct control_reply *rep, bool pause)
{
	struct lkvm_err err = { "" };
	bool was = kvm->paused;
	u64 this_pause = kvm->paused ? now_ns() - kvm->paused_at_ns : 0;
	int r;

	r = pause ? kvm__pause(kvm, &err) : kvm__resume(kvm, &err);
	if (r && pause) {
		fail(rep, r == -ECANCELED ? CONTROL_E_STATE : CONTROL_E_FAILED, "%s", err.msg);
		return;
	}
	if (pause && !was)
		pr_info(kvm, "paused by 'lkvm pause' in %.3f ms", (double)kvm->pause_latency_ns / 1e6);
	else if (!pause && was)
		pr_info(kvm, "resumed by 'lkvm resume' after %.3f s", (double)this_pause / 1e9);
	json__obj_begin(&rep->body, NULL);
	json__str(&rep->body, "state", kvm->paused ? "paused" : "running");
	json__str(&rep->body, "was", was ? "paused" : "running");
	json__bool(&rep->body, "pause_holds_clock", arch__pause_holds_clock(kvm));
	if (pause && !was)
		json__fixed(&rep->body, "latency_ms", (double)kvm->pause_latency_ns / 1e6, 3);
	if (!pause && was)
		json__fixed(&rep->body, "paused_s", (double)this_pause / 1e9, 3);
	/* A resume that could not hold the clock still resumed: say why. */
	if (r)
		json__str(&rep->body, "warning", err.msg);
	json__obj_end(&rep->body);
}

static void debug_device(struct lkvm_device *d, struct json *j)
{
	json__obj_begin(j, NULL);
	json__str(j, "name", d->name);
	if (d->size) {
		json__hex(j, "base", d->base);
		json__hex(j, "size", d->size);
	}
	if (d->irq != LKVM_NO_IRQ)
		json__u64(j, "irq", d->irq);
	if (d->msi)
		json__bool(j, "msi", true);
	if (d->ops->debug)
		d->ops->debug(d, j);
	json__obj_end(j);
}

static void do_debug(struct kvm *kvm, struct control_reply *rep)
{
	struct lkvm_err err = { "" };
	bool was = kvm->paused;
	struct json *j = &rep->body;
	int r;

	/* Registers can be read only while no vCPU is in KVM_RUN. */
	r = kvm__pause(kvm, &err);
	if (r) {
		fail(rep, r == -ECANCELED ? CONTROL_E_STATE : CONTROL_E_FAILED, "%s", err.msg);
		return;
	}
	json__obj_begin(j, NULL);
	facts(kvm, j, was);	/* the guest's state, not debug's own pause */
	arch__debug_vm(kvm, j);
	json__arr_begin(j, "vcpus");
	for (unsigned int i = 0; i < kvm->nr_cpus; i++) {
		json__obj_begin(j, NULL);
		json__u64(j, "id", kvm->cpus[i].id);
		arch__debug_vcpu(&kvm->cpus[i], j);
		json__obj_end(j);
	}
	json__arr_end(j);
	json__arr_begin(j, "devices");
	for (unsigned int i = 0; i < kvm->nr_devices; i++)
		debug_device(kvm->devices[i], j);
	json__arr_end(j);
	json__obj_end(j);
	if (!was && kvm__resume(kvm, &err))
		pr_warn(kvm, "lkvm debug: %s", err.msg);
}

#define STAT_WAIT_MS	500	/* "stat --memory" waits this long for the driver's fresh statistics */

static u64 pages_to_mib(u64 pages)
{
	return pages / VIRTIO_BALLOON_PAGES_PER_MIB;
}

/* The balloon's size and what the device saw, as members of @j. */
static void balloon_state(struct kvm *kvm, const struct virtio_balloon_info *in, struct json *j)
{
	json__u64(j, "target_mib", pages_to_mib(in->target_pages));
	json__u64(j, "actual_mib", pages_to_mib(in->actual_pages));
	json__u64(j, "mem_mib", config__ram_size(kvm->cfg) / SZ_MiB);
	json__obj_begin(j, "pages");
	json__u64(j, "inflated", in->counts.inflated);
	json__u64(j, "deflated", in->counts.deflated);
	json__u64(j, "bad_pfns", in->counts.bad_pfns);
	json__u64(j, "free_page_reports", in->counts.reports);
	json__u64(j, "reported_bytes", in->counts.reported_bytes);
	json__obj_end(j);
}

static void no_balloon(struct kvm *kvm, struct control_reply *rep)
{
	fail(rep, CONTROL_E_NODEV, "guest '%s' has no balloon device (start it with --balloon)",
	     kvm->name);
}

static void do_balloon(struct kvm *kvm, const struct control_req *req, struct control_reply *rep)
{
	u64 ram = config__ram_size(kvm->cfg) / SZ_MiB, cur;
	struct virtio_balloon_info in;
	u32 target;

	if (virtio_balloon__info(kvm, 0, &in)) {
		no_balloon(kvm, rep);
		return;
	}
	/* The device clamps; a request past the ends is refused instead, saying why. */
	cur = pages_to_mib(in.target_pages);
	if (req->inflate && (req->mib > ram || cur > ram - req->mib)) {
		fail(rep, CONTROL_E_ARGS, "inflate %llu MiB: the balloon would pass the guest's %llu "
		     "MiB of RAM (its target is %llu MiB now)", (unsigned long long)req->mib,
		     (unsigned long long)ram, (unsigned long long)cur);
		return;
	}
	if (!req->inflate && req->mib > cur) {
		fail(rep, CONTROL_E_ARGS, "deflate %llu MiB: the balloon's target is only %llu MiB",
		     (unsigned long long)req->mib, (unsigned long long)cur);
		return;
	}
	if (virtio_balloon__adjust(kvm, (req->inflate ? 1 : -1) * (s64)req->mib *
				   VIRTIO_BALLOON_PAGES_PER_MIB, &target) ||
	    virtio_balloon__info(kvm, 0, &in)) {
		no_balloon(kvm, rep);
		return;
	}
	pr_info(kvm, "balloon target %llu MiB ('lkvm balloon --%s %llu')",
		(unsigned long long)pages_to_mib(target), req->inflate ? "inflate" : "deflate",
		(unsigned long long)req->mib);
	json__obj_begin(&rep->body, NULL);
	balloon_state(kvm, &in, &rep->body);
	json__obj_end(&rep->body);
}

static void do_stat(struct kvm *kvm, struct control_reply *rep)
{
	static const char *const names[] = VIRTIO_BALLOON_S_NAMES;
	struct virtio_balloon_info in;
	struct json *j = &rep->body;

	if (virtio_balloon__info(kvm, kvm->paused ? 0 : STAT_WAIT_MS, &in)) {
		no_balloon(kvm, rep);
		return;
	}
	json__obj_begin(j, NULL);
	json__str(j, "name", kvm->name);
	balloon_state(kvm, &in, j);
	if (!in.stats_valid) {
		json__str(j, "stats_note", "the guest's driver has sent no statistics (yet, or it "
			  "has no VIRTIO_BALLOON_F_STATS_VQ)");
	} else {
		json__bool(j, "stats_fresh", in.stats_fresh);
		json__u64(j, "stats_age_ms", in.stats_age_ms);
		json__obj_begin(j, "stats");
		for (unsigned int t = 0; t < ARRAY_SIZE(names) && t < VIRTIO_BALLOON_S_NR; t++)
			if (in.stats_valid & (1U << t))
				json__u64(j, names[t], in.stats[t]);
		json__obj_end(j);
	}
	json__obj_end(j);
}

static void do_snapshot(struct kvm *kvm, const struct control_req *req,
			struct control_reply *rep)
{
	struct lkvm_err err = { "" };
	struct snap_stats st;
	struct json *j = &rep->body;
	int r = kvm__snapshot(kvm, req->path, req->stop, &st, &err);

	if (r) {
		fail(rep, r == -ECANCELED ? CONTROL_E_STATE : CONTROL_E_FAILED, "%s", err.msg);
		return;
	}
	pr_info(kvm, "snapshot %s: %llu MiB of RAM, %llu MiB written, state %llu bytes, guest "
		"paused %.3f ms%s", req->path, (unsigned long long)(st.ram_bytes / SZ_MiB),
		(unsigned long long)(st.ram_written / SZ_MiB), (unsigned long long)st.state_bytes,
		(double)st.paused_ns / 1e6, req->stop ? "; stopping" : "");
	json__obj_begin(j, NULL);
	json__str(j, "dir", req->path);
	json__u64(j, "state_bytes", st.state_bytes);
	json__u64(j, "ram_mib", st.ram_bytes / SZ_MiB);
	json__fixed(j, "ram_written_mib", (double)st.ram_written / (double)SZ_MiB, 1);
	json__fixed(j, "paused_ms", (double)st.paused_ns / 1e6, 3);
	json__bool(j, "stopped", req->stop);
	json__obj_end(j);
	/* --stop: the client learns the guest is gone when this connection closes. */
	rep->hold = req->stop;
}

static void handle(void *ctx, const struct control_req *req, struct control_reply *rep)
{
	struct kvm *kvm = ctx;

	if (stopping(kvm) && req->cmd != CONTROL_CMD_INFO) {
		fail(rep, CONTROL_E_STATE, "guest '%s' is stopping", kvm->name);
		return;
	}
	switch (req->cmd) {
	case CONTROL_CMD_INFO: do_info(kvm, rep); break;
	case CONTROL_CMD_STOP: do_stop(kvm, rep); break;
	case CONTROL_CMD_PAUSE: do_pause(kvm, rep, true); break;
	case CONTROL_CMD_RESUME: do_pause(kvm, rep, false); break;
	case CONTROL_CMD_DEBUG: do_debug(kvm, rep); break;
	case CONTROL_CMD_BALLOON: do_balloon(kvm, req, rep); break;
	case CONTROL_CMD_STAT: do_stat(kvm, rep); break;
	case CONTROL_CMD_SNAPSHOT: do_snapshot(kvm, req, rep); break;
	default: fail(rep, CONTROL_E_COMMAND, "unknown command"); break;
	}
}

const char *kvm_control__name(const struct kvm *kvm)
{
	return kvm->name;
}

int kvm_control__start(struct kvm *kvm, struct lkvm_err *err)
{
	char dir[4096];
	int r;

	if (kvm->cfg->name)
		snprintf(kvm->name, sizeof(kvm->name), "%s", kvm->cfg->name);
	else
		snprintf(kvm->name, sizeof(kvm->name), "guest-%d", (int)getpid());
	r = control__default_dir(dir, sizeof(dir), err);
	/* No HOME (a bare service environment): run unmanaged, unless a name was asked for. */
	if (r == -ENOENT && !kvm->cfg->name) {
		pr_warn(kvm, "%s; this guest has no control socket (lkvm list, stop, ... can't "
			"reach it)", err->msg);
		return 0;
	}
	if (!r)
		r = control__server_open(dir, kvm->name, handle, kvm, &kvm->ctl, err);
	if (!r)
		pr_info(kvm, "control socket %s", control__server_path(kvm->ctl));
	return r;
}
