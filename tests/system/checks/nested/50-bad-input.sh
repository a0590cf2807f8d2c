# check-timeout: 300
# Mistakes on the command line: lkvm refuses each quickly, with a non-zero
# exit status and a message that starts "lkvm:" and names the culprit (the
# file, the memory size, the CPU count).  Where a mistaken lkvm could boot
# something, it gets a guest that powers off, so a wrong acceptance fails in
# seconds rather than by the timeout.

expect_refused "refuses a missing kernel file, in kvmtool's words" 2 'Fatal: Unable to open kernel /guest/no-such-kernel' missing-kernel 60 \
	-k /guest/no-such-kernel -m 128 -c 1 --console serial

printf 'This is a plain text file, not a kernel.\nlkvm must not boot it.\n' >"$ART/text-kernel.txt"
expect_refused "refuses a plain-text file as kernel" 2 'text-kernel\.txt' text-kernel 30 \
	-k "$ART/text-kernel.txt" -m 128 -c 1 --console serial

mem_mib=$(($(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo) / 1024))
expect_refused "refuses -m $((2 * mem_mib)) (twice L0's ${mem_mib} MiB)" 1 'mem|ram|-m' too-much-mem 60 \
	-k /guest/Image -i /guest/l1.cpio -p quiet -m $((2 * mem_mib)) -c 1 --console serial

expect_refused "refuses -c 0" 2 'cpu|-c' zero-cpus 60 \
	-k /guest/Image -i /guest/l1.cpio -p quiet -m 256 -c 0 --console serial
