# check-timeout: 500
# Fault injection (hardening issue): the disk's backing store fails under
# a running guest.  The guest's virtio-blk disk is a device-mapper device
# (tests/tools/dmctl) over a loop device over an image file; the guest
# writes and flushes 1 MiB, L0 then swaps the dm table for the "error"
# target, and every later I/O fails in the host kernel.  The guest must see
# I/O errors (not hang), lkvm must keep answering them and exit 0 when the
# guest powers off, and the flushed MiB must be in the image, intact.
# Once per transport x engine pair that covers the three engines.

mods_ok=1
for m in loop:loop dm-mod:dm_mod; do
	grep -q "^${m#*:} " /proc/modules || insmod "/lib/modules/${m%%:*}.ko" || mods_ok=0
done
if [ $mods_ok = 0 ] || [ ! -c /dev/mapper/control ] || ! command -v dmctl >/dev/null; then
	tap_not_ok "L0 has loop, device-mapper and dmctl" "$(ls -l /dev/mapper 2>&1)"
	return 0 2>/dev/null || exit 0
fi
tap_ok "L0 has loop, device-mapper and dmctl"

i=0
for te in pci-io_uring pci-sync mmio-aio; do
	t=${te%%-*} e=${te#*-}
	img=/tmp/fault-$te.img loop=/dev/loop$i name=lkvmfault$i
	fifo=$ART/fault-$te.fifo
	i=$((i + 1))
	dd if=/dev/zero of=$img bs=1M count=8 2>/dev/null
	losetup "$loop" "$img" || { tap_not_ok "$te: losetup $loop $img" ""; continue; }
	dm=$(dmctl create $name linear "$loop" 16384)
	if [ ! -b "$dm" ]; then
		tap_not_ok "$te: dmctl created a linear dm device over $loop" "dmctl said: $dm"
		losetup -d "$loop"
		continue
	fi
	opt=
	[ $e = aio ] && opt=,direct
	rm -f "$fifo"
	mkfifo "$fifo"
	lkvm run -k /guest/Image -i /guest/l1.cpio -p "quiet lkvm.script=fault" -m 256 -c 1 \
		-d "$dm$opt,engine=$e" --virtio-transport $t </dev/null >"$fifo" 2>&1 &
	pid=$!
	# Copies the console; the moment the guest has flushed, the store fails.
	timeout 200 sh -c 'while IFS= read -r l; do printf "%s\n" "$l"; case $l in *"GUEST: fault flushed"*) dmctl reload "$1" error 16384 >/dev/null || echo "HOST: dmctl reload failed";; esac; done' \
		sh "$name" <"$fifo" >"$ART/fault-$te.log"
	wait "$pid"
	st=$?
	GUEST_LOG=$ART/fault-$te.log
	expect_saw "$t x $e: the guest wrote and flushed 1 MiB" 'GUEST: fault flushed md5='
	expect_saw "$t x $e: after the store failed, the guest's writes fail with I/O errors" \
		'GUEST: fault io-error after='
	expect_saw "$t x $e: lkvm goes on failing each request (3 of 3)" 'GUEST: fault more-errors=3'
	expect_saw "$t x $e: the guest powered off" 'GUEST: poweroff'
	expect_eq "$t x $e: lkvm exits 0 after the guest powers off" "$st" 0
	dmctl remove $name >/dev/null
	losetup -d "$loop"
	want=$(sed -n 's/.*GUEST: fault flushed md5=\([0-9a-f]*\).*/\1/p' "$GUEST_LOG" | head -n 1)
	got=$(dd if=$img bs=1M count=1 2>/dev/null | md5sum)
	expect_eq "$t x $e: what the guest flushed before the failure is intact" "${got%% *}" "${want:-none}"
	rm -f $img "$fifo"
done
