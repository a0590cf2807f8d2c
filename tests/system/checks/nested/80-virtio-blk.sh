# check-timeout: 400
# shellcheck shell=sh disable=SC3043 # ash has local
# virtio-blk over virtio-mmio: an L1 guest loads virtio_mmio and virtio_blk,
# writes 4 MiB of random data to /dev/vda, reads it back past its page cache,
# and finds /dev/vdb (,ro) read-only with the image's content.  After lkvm
# exits, the image file in L0 must hold exactly what the guest wrote.  Then
# the same round trip once per explicit engine (aio, sync; the first run is
# the default, io_uring).  Bad -d arguments are refused before a VM exists.

# blk_sum FILE MIB: md5 of the first MIB MiB of FILE.
blk_sum() {
	local s
	s=$(dd if="$1" bs=1M count="$2" 2>/dev/null | md5sum)
	printf '%s' "${s%% *}"
}

# blk_field WHAT KEY: KEY's value on the guest's "GUEST: blk WHAT ..." line.
blk_field() {
	tr -d '\r' <"$GUEST_LOG" | sed -n "s/.*GUEST: blk $1 .*$2=\([^ ]*\).*/\1/p" |
		head -n 1
}

# blk_roundtrip NAME ENGINE-DESC: the vda points of one run.
blk_roundtrip() {
	local written readback
	written=$(tr -d '\r' <"$GUEST_LOG" | sed -n 's/.*GUEST: blk vda written=\([^ ]*\) .*/\1/p')
	readback=$(tr -d '\r' <"$GUEST_LOG" | sed -n 's/.*GUEST: blk vda written=[^ ]* readback=\([^ ]*\).*/\1/p')
	if [ -z "$written" ]; then
		tap_not_ok "$2: guest wrote and read back /dev/vda" "no 'GUEST: blk vda written=' line"
		diag_file "$GUEST_LOG"
		return 1
	fi
	expect_eq "$2: guest reads back from /dev/vda the 4 MiB it wrote" "$readback" "$written"
	expect_eq "$2: after lkvm exits, the image file holds what the guest wrote" \
		"$(blk_sum "/tmp/vda-$1.img" 4)" "$written"
}

dd if=/dev/zero of=/tmp/vda-auto.img bs=1M count=8 2>/dev/null
dd if=/dev/urandom of=/tmp/vdb.img bs=1M count=2 2>/dev/null
vdb_sum=$(blk_sum /tmp/vdb.img 1)
vdb_before=$(blk_sum /tmp/vdb.img 2)

params="quiet lkvm.script=blk"
run_guest blk-auto 200 -k /guest/Image -i /guest/l1.cpio -p "$params" -m 256 -c 1 \
	-d /tmp/vda-auto.img -d /tmp/vdb.img,ro --loglevel info
expect_exit "lkvm exits 0 after the guest powers off (-d rw, -d ro)" 0
expect_saw "guest loaded virtio_mmio and virtio_blk" 'GUEST: blk modules ok'
line=$(tr -d '\r' <"$GUEST_LOG" | grep -m 1 'GUEST: blk vda size=')
expect_contains "guest sees /dev/vda: 8 MiB, writable, serial lkvm-0 (GET_ID)" "$line" \
	"size=8388608 ro=0 serial=lkvm-0"
blk_roundtrip auto "default engine"
line=$(tr -d '\r' <"$GUEST_LOG" | grep -m 1 'GUEST: blk vdb ')
expect_contains "guest sees /dev/vdb (,ro): 2 MiB, read-only, the image's bytes, writes refused" \
	"$line" "size=2097152 ro=1 md5=$vdb_sum write=refused"
expect_eq "the ,ro image is unchanged" "$(blk_sum /tmp/vdb.img 2)" "$vdb_before"
kicks=$(tr -d '\r' <"$GUEST_LOG" | sed -n 's/.*virtio-blk@0x2000000: \([0-9]*\) queue notifications, \([0-9]*\) of them.*/\1 \2/p')
expect_eq "queue notifications reach lkvm through the ioeventfd, never an MMIO exit" \
	"$(case ${kicks%% *} in '' | 0) echo none ;; *) echo "${kicks#* }" ;; esac)" 0
expect_saw "default engine is io_uring" 'virtio-blk 0: /tmp/vda-auto.img, 16384 sectors, .*engine io_uring'
expect_eq "after rmmod/insmod virtio_blk (device reset, queue set up again) /dev/vda still reads back" \
	"$(blk_field reload readback)" "$(blk_field vda readback)"
rm -f /tmp/vda-auto.img

for engine in aio sync; do
	dd if=/dev/zero of=/tmp/vda-$engine.img bs=1M count=8 2>/dev/null
	run_guest blk-$engine 200 -k /guest/Image -i /guest/l1.cpio -p "$params" -m 256 -c 1 \
		-d /tmp/vda-$engine.img,engine=$engine --loglevel info
	expect_exit "engine=$engine: lkvm exits 0 after the guest powers off" 0
	expect_saw "engine=$engine: the disk runs on $engine" "virtio-blk 0: .*engine $engine"
	blk_roundtrip "$engine" "engine=$engine"
	rm -f /tmp/vda-$engine.img
done
rm -f /tmp/vdb.img

expect_refused "refuses -d with a missing image, naming it" 'no-such-disk\.img' blk-missing 60 \
	-k /guest/Image -i /guest/l1.cpio -p quiet -m 256 -c 1 -d /tmp/no-such-disk.img
expect_refused "refuses -d with an unknown engine, naming it" "engine 'bogus'" blk-bad-engine 60 \
	-k /guest/Image -i /guest/l1.cpio -p quiet -m 256 -c 1 -d /tmp/x.img,engine=bogus
expect_refused "refuses --virtio-transport pci, pointing to mmio" 'virtio-transport mmio' \
	blk-pci 60 -k /guest/Image -i /guest/l1.cpio -p quiet -m 256 -c 1 --virtio-transport pci
