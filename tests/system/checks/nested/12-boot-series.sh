# check-timeout: 400
# Five boots of the same quiet Linux guest (1 vCPU, 256 MiB, no script:
# it powers off at init) one after another in this L0: every one reaches
# init and lkvm exits 0.  Each boot's start-up breakdown and time to init
# go in the notes: the later boots of an emulated L0 pay for QEMU dropping
# the translated code of the guests before (README, "Benchmark").

i=1
while [ $i -le 5 ]; do
	run_guest series-$i 200 -k /guest/Image -i /guest/l1.cpio -p quiet -m 256 -c 1 \
		--loglevel info
	expect_exit "boot $i of 5: lkvm exits 0 after the guest powers off" 0
	expect_saw "boot $i of 5: the guest reached init" 'GUEST: init '
	note "series-$i: $(tr -d '\r' <"$GUEST_LOG" | sed -n 's/^lkvm: \(first KVM_RUN .*\)/\1/p');" \
		"init after ${GUEST_MARK_SECS:-?}s"
	i=$((i + 1))
done
