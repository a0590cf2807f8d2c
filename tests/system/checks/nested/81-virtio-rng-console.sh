# check-timeout: 200
# shellcheck shell=sh disable=SC3043 # ash has local
# virtio-rng (--rng) over virtio-mmio: an L1 guest loads virtio_mmio and
# virtio-rng, finds virtio_rng the current hw_random source and reads 4 KiB
# of non-zero bytes from /dev/hwrng.

# rng_line: the guest's "GUEST: rng current=..." line.
rng_line() {
	tr -d '\r' <"$GUEST_LOG" | grep -m 1 'GUEST: rng current='
}

run_guest rng 120 -k /guest/Image -i /guest/l1.cpio -p "quiet lkvm.script=rng" -m 256 -c 1 \
	--rng --loglevel info
expect_exit "lkvm exits 0 after the guest powers off (--rng)" 0
expect_saw "guest loaded virtio_mmio and virtio-rng" 'GUEST: rng modules ok'
line=$(rng_line)
expect_contains "guest's hw_random source is virtio_rng" "$line" "current=virtio_rng"
expect_contains "guest read 4 KiB from /dev/hwrng" "$line" "bytes=4096 "
expect_contains "the 4 KiB from /dev/hwrng are not all zero" "$line" "zero=0"
note "$CHECK: $line"
