/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkbench's command line (blkbench-opts.c), shared by the program
 * (blkbench.c, static arm64, run inside an lkvm guest) and its native unit
 * test (tests/unit/test-blkbench.c).  Pure: no I/O, no exit, no globals.
 */
#ifndef LKVM_BLKBENCH_H
#define LKVM_BLKBENCH_H

#include <stddef.h>

enum bench_phase {
	PHASE_RANDREAD,
	PHASE_RANDWRITE,
	PHASE_SEQREAD,
	PHASE_SEQWRITE,
	PHASE_COUNT
};

#define BENCH_RAND_BS		4096U		/* the random phases' request size */
#define BENCH_MAX_QD		256U
#define BENCH_MAX_SEQ_BS	(16U << 20)
#define BENCH_MAX_SECS		600U
#define BENCH_MAX_PAUSE_MS	10000U

struct bench_opts {
	const char *dev;		/* the device or file to load */
	unsigned int secs;		/* each phase's length */
	unsigned int qd;		/* requests in flight, random phases */
	unsigned int seq_qd;		/* requests in flight, sequential phases */
	unsigned int seq_bs;		/* sequential request size, bytes */
	unsigned int pause_ms;		/* idle after each marker line */
	unsigned long long seed;	/* of the random offsets */
	enum bench_phase phases[PHASE_COUNT];	/* in the order to run them */
	unsigned int nphases;
};

/* "randread", ...; NULL for a value out of range. */
const char *bench__phase_name(enum bench_phase p);

/* Whether @p reads (else it writes) and whether it is sequential. */
int bench__phase_reads(enum bench_phase p);
int bench__phase_seq(enum bench_phase p);

/*
 * Fills @o from argv[1..argc-1] (argv[0] is the program name), after the
 * defaults: 3 s per phase, queue depth 16 (random) and 4 (sequential),
 * 1 MiB sequential requests, a 100 ms pause, all four phases in the order
 * randread, randwrite, seqread, seqwrite.  Options take "--opt N" or
 * "--opt=N"; sizes accept a K or M suffix.  Exactly one non-option
 * argument, the device.  Returns 0, 1 for --help (nothing else parsed
 * after it), or -1 with a one-line message in @err (@errlen bytes).
 * @o keeps pointers into @argv.
 */
int bench__parse(struct bench_opts *o, int argc, char *const argv[], char *err,
		 size_t errlen);

/* The usage text, for --help and after a parse error. */
extern const char bench__usage[];

#endif
