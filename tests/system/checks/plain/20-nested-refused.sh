# check-timeout: 120
# On a host whose KVM lacks KVM_CAP_ARM_EL2 (this profile's L0), --nested is
# refused with a message naming the missing capability, not attempted.  If
# lkvm wrongly accepts it, the guest powers off and the check fails in
# seconds.  kvm-unit-tests' probe for an EL2=y test is refused the same way.

expect_refused "refuses --nested without KVM_CAP_ARM_EL2, naming the capability" 1 'EL2' \
	nested-no-el2 60 -k /guest/Image -i /guest/l1.cpio -p quiet -m 256 -c 1 --console serial --nested

# kvm-unit-tests' probe (the kernel _NO_FILE_4Uhere_) for an EL2=y test on
# this host: refused on the host's reason, the kernel never looked at, so
# the runner SKIPs it with that reason (the last line) instead of running it.
out=$(timeout -s KILL 60 lkvm run --nested --kernel _NO_FILE_4Uhere_ --cpus 1 --params probe \
	--nodefaults --network mode=none --loglevel=warning 2>&1 </dev/null)
st=$?
note "probe --nested: exit $st: $out"
expect_eq "kvm-unit-tests' probe with --nested: exit status 1 (this host)" "$st" 1
case $out in
*Fatal*) tap_not_ok "probe with --nested: no Fatal line (the kernel never looked at)" "$out" ;;
*) tap_ok "probe with --nested: no Fatal line (the kernel never looked at)" ;;
esac
expect_contains "probe with --nested: the last line says this host cannot run the guest at EL2" \
	"$(printf '%s\n' "$out" | tail -n 1)" 'this host cannot run the guest at EL2'
