# check-timeout: 300
# 2 vCPUs and 512 MiB, with --dump-dtb: the guest sees both, and the device
# tree lkvm generated is dumped (host-checks/nested/20-smp-dtb.sh validates
# it with dtc on the host).

params="quiet lkvm.script=devices"
dtb=$ART/guest.dtb
run_guest boot-c2 200 -k /guest/Image -i /guest/l1.cpio -p "$params" \
	-m 512 -c 2 --console serial --dump-dtb "$dtb"

expect_exit "lkvm exits 0 after the guest powers off (-c 2 -m 512)" 0
expect_saw "guest reached init" 'GUEST: init '
expect_guest_field "guest sees 2 CPUs" cpus 2
expect_guest_mem "guest MemTotal fits -m 512" 512
expect_saw "guest listed its devices (lkvm.script=devices)" 'GUEST: devices done'

# An FDT starts with the big-endian magic 0xd00dfeed (devicetree spec 5.2).
if [ -s "$dtb" ] && [ "$(head -c 4 "$dtb")" = "$(printf '\320\015\376\355')" ]; then
	tap_ok "--dump-dtb wrote a flattened device tree"
else
	tap_not_ok "--dump-dtb wrote a flattened device tree" \
		"$(ls -l "$dtb" 2>&1)" "first bytes: $(head -c 16 "$dtb" 2>/dev/null | hexdump -C | head -n 1)"
fi
