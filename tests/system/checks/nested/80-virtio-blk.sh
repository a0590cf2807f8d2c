# check-timeout: 600
# shellcheck shell=sh disable=SC3043 # ash has local
# virtio-blk on each transport x engine.  An L1 guest writes 4 MiB of random
# data to /dev/vda, reads it back past its page cache, and finds /dev/vdb
# (,ro) read-only with the image's content; after lkvm exits, the image file
# in L0 must hold exactly what the guest wrote.  The first run (defaults:
# virtio-pci with MSI-X through the ITS, io_uring, 2 vCPUs) also checks one
# request queue per vCPU and a device reset; the others cover virtio-pci
# with aio, with sync on a GIC without ITS (so INTx), and virtio-mmio with
# each engine.  Bad -d arguments are refused before a VM exists.  An
# image has one writer: a second lkvm on it, or "-d x -d x", is refused.

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

# blk_roundtrip NAME DESC: the vda points of one run.
blk_roundtrip() {
	local written readback
	written=$(blk_field vda written)
	readback=$(blk_field vda readback)
	if [ -z "$written" ]; then
		tap_not_ok "$2: guest wrote and read back /dev/vda" "no 'GUEST: blk vda written=' line"
		diag_file "$GUEST_LOG"
		return 1
	fi
	expect_eq "$2: guest reads back from /dev/vda the 4 MiB it wrote" "$readback" "$written"
	expect_eq "$2: after lkvm exits, the image file holds what the guest wrote" \
		"$(blk_sum "/tmp/vda-$1.img" 4)" "$written"
}

# blk_kicks DESC: the device's queue notifications all came by ioeventfd.
blk_kicks() {
	local kicks
	kicks=$(tr -d '\r' <"$GUEST_LOG" | sed -n 's/.*virtio-blk@[^ ]* \([0-9]*\) queue notifications, \([0-9]*\) of them.*/\1 \2/p' | head -n 1)
	expect_eq "$1: queue notifications reach lkvm through the ioeventfd, never a trap" \
		"$(case ${kicks%% *} in '' | 0) echo none ;; *) echo "${kicks#* }" ;; esac)" 0
}

dd if=/dev/zero of=/tmp/vda-auto.img bs=1M count=8 2>/dev/null
dd if=/dev/urandom of=/tmp/vdb.img bs=1M count=2 2>/dev/null
vdb_sum=$(blk_sum /tmp/vdb.img 1)
vdb_before=$(blk_sum /tmp/vdb.img 2)

params="quiet lkvm.script=blk"
run_guest blk-auto 200 -k /guest/Image -i /guest/l1.cpio -p "$params" -m 256 -c 2 \
	-d /tmp/vda-auto.img -d /tmp/vdb.img,ro --loglevel info
d="defaults (pci, auto engine, -c 2)"
expect_exit "$d: lkvm exits 0 after the guest powers off (-d rw, -d ro)" 0
expect_saw "$d: guest loaded its modules" 'GUEST: blk modules ok'
line=$(tr -d '\r' <"$GUEST_LOG" | grep -m 1 'GUEST: blk vda size=')
expect_contains "$d: guest sees /dev/vda: 8 MiB, writable, serial lkvm-0 (GET_ID)" "$line" \
	"size=8388608 ro=0 serial=lkvm-0"
expect_eq "$d: /dev/vda is a PCI device" "$(blk_field vda bus)" pci
expect_eq "$d: one request queue per vCPU (VIRTIO_BLK_F_MQ)" "$(blk_field vda queues)" 2
expect_contains "$d: MSI-X through the ITS: a vector per queue" "$(blk_field vda irqs)" "-req.1,"
blk_roundtrip auto "$d"
line=$(tr -d '\r' <"$GUEST_LOG" | grep -m 1 'GUEST: blk vdb ')
expect_contains "$d: guest sees /dev/vdb (,ro): 2 MiB, read-only, the image's bytes, writes refused" \
	"$line" "size=2097152 ro=1 md5=$vdb_sum write=refused"
expect_eq "$d: the ,ro image is unchanged" "$(blk_sum /tmp/vdb.img 2)" "$vdb_before"
blk_kicks "$d"
# The default engine follows the backing: a file in memory (tmpfs, ramfs)
# runs the sync engine inline, a file on a disk io_uring; the log says why.
case $(stat -f -c %t /tmp 2>/dev/null) in
1021994 | 01021994) auto_engine=sync auto_why="auto: the image is on tmpfs (memory)" ;;
858458f6) auto_engine=sync auto_why="auto: the image is on ramfs (memory)" ;;
*) auto_engine=io_uring auto_why="auto: an image file on " ;;
esac
expect_saw "$d: default engine for /tmp is $auto_engine" \
	"virtio-blk 0: /tmp/vda-auto.img, 16384 sectors, .*engine $auto_engine, 2 queues"
expect_saw "$d: the log names the default engine and why" "virtio-blk 0: engine $auto_engine: $auto_why"
expect_eq "$d: after rmmod/insmod virtio_blk (device reset, queues set up again) /dev/vda still reads back" \
	"$(blk_field reload readback)" "$(blk_field vda readback)"
rm -f /tmp/vda-auto.img

# transport engine extra-options: the rest of the matrix, each with the ,ro disk too.
for run in "pci aio" "pci sync --irqchip gicv3" "mmio io_uring" "mmio aio" "mmio sync"; do
	set -- $run
	t=$1 e=$2
	shift 2
	name=$t-$e
	d="$t x $e${1:+ $*}"
	dd if=/dev/zero of=/tmp/vda-$name.img bs=1M count=8 2>/dev/null
	run_guest blk-$name 200 -k /guest/Image -i /guest/l1.cpio -p "$params" -m 256 -c 1 \
		-d /tmp/vda-$name.img,engine=$e -d /tmp/vdb.img,ro,engine=$e --virtio-transport $t \
		"$@" --loglevel info
	expect_exit "$d: lkvm exits 0 after the guest powers off" 0
	expect_saw "$d: the disk runs on $e" "virtio-blk 0: .*engine $e"
	expect_eq "$d: the guest sees /dev/vda on $t" "$(blk_field vda bus)" "$t"
	case "$t $*" in
	"pci --irqchip gicv3")
		expect_eq "$d: no ITS, so INTx: one shared line, no MSI-X vectors" \
			"$(blk_field vda irqs | grep -c -e '-req\|-config')" 0 ;;
	"pci ")
		expect_contains "$d: MSI-X vectors" "$(blk_field vda irqs)" "-req.0," ;;
	esac
	blk_roundtrip "$name" "$d"
	expect_contains "$d: ,ro: the guest reads the image's bytes and its writes are refused" \
		"$(tr -d '\r' <"$GUEST_LOG" | grep -m 1 'GUEST: blk vdb ')" "md5=$vdb_sum write=refused"
	blk_kicks "$d"
	rm -f /tmp/vda-$name.img
done
expect_eq "the ,ro image is unchanged after all runs" "$(blk_sum /tmp/vdb.img 2)" "$vdb_before"
rm -f /tmp/vdb.img

# Image locking (issue 11 #5): while one lkvm writes an image, a second one
# on it is refused, and so is the same image twice in one lkvm.
dd if=/dev/zero of=/tmp/lock.img bs=1M count=8 2>/dev/null
printf '%s\n' "lkvm run ... -d /tmp/lock.img (lkvm.script=wait, stopped by SIGTERM)" \
	>"$ART/lock-first.cmd"
setsid lkvm run -k /guest/Image -i /guest/l1.cpio -p "quiet lkvm.script=wait" -m 256 -c 1 \
	-d /tmp/lock.img </dev/null >"$ART/lock-first.log" 2>&1 &
first=$!
sleep 5	# the first lkvm opened its disk within a second of starting
run_guest lock-second 60 -k /guest/Image -i /guest/l1.cpio -p quiet -m 256 -c 1 -d /tmp/lock.img
expect_exit "a second lkvm on an image another one writes is refused (exit 1)" 1
expect_saw "the refusal names the image, who has it and the fix" \
	'^lkvm: disk /tmp/lock.img: another process (or another -d of this VM) has it open for writing: use ,ro on both, or stop the other VM'
kill -TERM "$first"
wait "$first"
expect_eq "the first lkvm runs on undisturbed (stops on SIGTERM with 128+15)" "$?" 143
run_guest lock-twice 60 -k /guest/Image -i /guest/l1.cpio -p quiet -m 256 -c 1 \
	-d /tmp/lock.img -d /tmp/lock.img
expect_exit "one image twice (-d x -d x): refused from the command line (exit 2)" 2
expect_saw "one image twice (-d x -d x): the refusal names the image and the fix" \
	'^lkvm: -d /tmp/lock.img: the same image as disk 0 (-d /tmp/lock.img): two devices writing one image corrupt it'
rm -f /tmp/lock.img

expect_refused "refuses -d with a missing image, naming it" 2 'no-such-disk\.img' blk-missing 60 \
	-k /guest/Image -i /guest/l1.cpio -p quiet -m 256 -c 1 -d /tmp/no-such-disk.img
expect_refused "refuses -d with an unknown engine, naming it" 2 "engine 'bogus'" blk-bad-engine 60 \
	-k /guest/Image -i /guest/l1.cpio -p quiet -m 256 -c 1 -d /tmp/x.img,engine=bogus
expect_refused "refuses --virtio-transport pci-legacy, pointing to pci" 2 'virtio-transport pci' \
	blk-pci-legacy 60 -k /guest/Image -i /guest/l1.cpio -p quiet -m 256 -c 1 \
	--virtio-transport pci-legacy
