# check-timeout: 600
# Data a guest saw flushed survives a SIGKILL of lkvm: the guest writes
# 1 MiB to a virtio-blk disk and fsyncs it (VIRTIO_BLK_T_FLUSH, which lkvm
# completes only after fdatasync), then prints its md5; the moment that
# line reaches L0, lkvm is SIGKILLed, and the image file must hold exactly
# those bytes.  A VMM that acknowledged writes or flushes before doing
# them would fail here.

# Once per transport (virtio-pci, virtio-mmio) x engine.
for te in pci-io_uring pci-aio pci-sync mmio-io_uring mmio-aio mmio-sync; do
	t=${te%%-*} e=${te#*-}
	img=/tmp/sigkill-$te.img
	fifo=$ART/sigkill-$te.fifo
	dd if=/dev/zero of=$img bs=1M count=4 2>/dev/null
	rm -f "$fifo"
	mkfifo "$fifo"
	setsid lkvm run -k /guest/Image -i /guest/l1.cpio -p "quiet lkvm.script=flush" -m 256 -c 1 \
		-d $img,engine=$e --virtio-transport $t </dev/null >"$fifo" 2>&1 &
	pid=$!
	# Reads the console; kills lkvm as soon as the guest says it flushed.
	timeout 150 sh -c 'while IFS= read -r l; do printf "%s\n" "$l"; case $l in *"GUEST: flushed"*) kill -KILL "$1"; exit 0;; esac; done' \
		sh "$pid" <"$fifo" >"$ART/sigkill-$te.log"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	st=$?
	GUEST_LOG=$ART/sigkill-$te.log
	expect_saw "$t x $e: the guest wrote and flushed 1 MiB" 'GUEST: flushed md5='
	expect_eq "$t x $e: lkvm was killed by SIGKILL (status 137)" "$st" 137
	want=$(sed -n 's/.*GUEST: flushed md5=\([0-9a-f]*\).*/\1/p' "$GUEST_LOG" | head -n 1)
	got=$(dd if=$img bs=1M count=1 2>/dev/null | md5sum)
	expect_eq "$t x $e: after SIGKILL the image holds exactly the flushed bytes" "${got%% *}" "${want:-none}"
	rm -f $img "$fifo"
done
