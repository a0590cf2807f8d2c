# check-timeout: 200
# shellcheck shell=sh disable=SC3043 # ash has local
# virtio-rng (--rng) and virtio-console (--console virtio), on virtio-pci
# (the default) and then on virtio-mmio.  The L1 guest boots with the 8250
# as its console (with virtio-mmio, hvc0 exists only once the virtio_mmio
# module is loaded), loads virtio-rng, finds virtio_rng the current hw_random source
# and reads 4 KiB of non-zero bytes from /dev/hwrng; then writes a line to
# /dev/hvc0 only, which must come out on lkvm's stdout.  A second boot, on
# virtio-mmio, feeds lkvm's stdin through a pipe; the guest reads a line
# from /dev/hvc0 and again gets random bytes from virtio_rng.
# Last, --console virtio without console= makes the default console=hvc0.

# rng_line: the guest's "GUEST: rng current=..." line.
rng_line() {
	tr -d '\r' <"$GUEST_LOG" | grep -m 1 'GUEST: rng current='
}

run_guest rng 120 -k /guest/Image -i /guest/l1.cpio -m 256 -c 1 --rng --console virtio \
	-p "console=ttyS0 quiet lkvm.script=rng lkvm.hvc=write" --loglevel info
expect_exit "lkvm exits 0 after the guest powers off (--rng --console virtio)" 0
expect_saw "guest loaded virtio_mmio and virtio-rng" 'GUEST: rng modules ok'
line=$(rng_line)
expect_contains "guest's hw_random source is virtio_rng" "$line" "current=virtio_rng"
expect_contains "guest read 4 KiB from /dev/hwrng" "$line" "bytes=4096 "
expect_contains "the 4 KiB from /dev/hwrng are not all zero" "$line" "zero=0"
note "$CHECK: $line"
expect_saw "guest wrote to /dev/hvc0" 'GUEST: hvc0 wrote'
expect_saw "what the guest wrote to /dev/hvc0 (only) comes out on lkvm's stdout" \
	'^GUEST: hvc0 hello'
kicks=$(tr -d '\r' <"$GUEST_LOG" | sed -n 's/.*virtio-console@[^ ]* \([0-9]*\) queue notifications, \([0-9]*\) of them.*/\1 \2/p')
expect_eq "virtio-console notifications come through the ioeventfd, never a trap" \
	"$(case ${kicks%% *} in '' | 0) echo none ;; *) echo "${kicks#* }" ;; esac)" 0

# lkvm's stdin from a pipe: a wrapper, since run_guest gives lkvm /dev/null.
# The line is repeated every second: without MULTIPORT there is no "port
# open" message, and Linux's virtio_console drops what arrives before its
# hvc0 is set up (its receive buffers are posted first), so the first
# copies are lost; the guest reads the first one after it opened /dev/hvc0.
# run_guest kills the process group (the loop too) when lkvm exits.
lkvm_real=${LKVM:-lkvm}
printf '#!/bin/sh\nwhile printf '"'"'ping\\n'"'"'; do sleep 1; done | exec %s "$@"\n' \
	"$lkvm_real" >/tmp/lkvm-ping
chmod +x /tmp/lkvm-ping
LKVM=/tmp/lkvm-ping
run_guest hvc-read 120 -k /guest/Image -i /guest/l1.cpio -m 256 -c 1 --rng --console virtio \
	--virtio-transport mmio -p "console=ttyS0 quiet lkvm.script=rng lkvm.hvc=read"
LKVM=$lkvm_real
rm -f /tmp/lkvm-ping
expect_exit "virtio-mmio: lkvm exits 0 after the guest powers off (stdin from a pipe)" 0
expect_saw "virtio-mmio: the line lkvm read from its stdin reaches the guest's /dev/hvc0" \
	'GUEST: hvc-read=ping'
line=$(rng_line)
expect_contains "virtio-mmio: the guest's hw_random source is virtio_rng" "$line" "current=virtio_rng"
expect_contains "virtio-mmio: the 4 KiB from /dev/hwrng are not all zero" "$line" "zero=0"

if has_payload; then
	run_guest hvc-dtb 60 -k /guest/payload.bin -m 64 -c 1 --console virtio \
		--dump-dtb "$ART/hvc.dtb"
	expect_exit "the payload runs with --console virtio" 0
	if grep -q 'console=hvc0' "$ART/hvc.dtb" 2>/dev/null; then
		tap_ok "--console virtio: the default command line has console=hvc0"
	else
		tap_not_ok "--console virtio: the default command line has console=hvc0" \
			"no console=hvc0 in $ART/hvc.dtb"
	fi
else
	tap_skip "--console virtio: the default command line has console=hvc0" "no payload.bin"
fi
