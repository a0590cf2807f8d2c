# check-timeout: 300
# lkvm boots the arm64 Image with an initrd: 1 vCPU, 256 MiB, serial console.
# The guest's /init (guest/init) reports what it sees and powers off.

params="quiet lkvm.script=hello"
run_guest boot-c1 200 -k /guest/Image -i /guest/l1.cpio -p "$params" \
	-m 256 -c 1 --console serial --loglevel info

expect_exit "lkvm exits 0 after the guest powers off (-c 1 -m 256)" 0
expect_saw "guest reached init" 'GUEST: init '
expect_guest_cmdline "guest /proc/cmdline has the -p parameters" "$params"
expect_guest_field "guest sees 1 CPU" cpus 1
expect_guest_mem "guest MemTotal fits -m 256" 256
expect_guest_field "guest kernel started at EL1 (no --nested)" el 1
expect_saw "lkvm.script=hello ran in the guest" 'GUEST: hello'
expect_saw "guest reached poweroff" 'GUEST: poweroff'
