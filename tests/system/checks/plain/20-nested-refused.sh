# check-timeout: 120
# On a host whose KVM lacks KVM_CAP_ARM_EL2 (this profile's L0), --nested is
# refused with a message naming the missing capability, not attempted.  If
# lkvm wrongly accepts it, the guest powers off and the check fails in
# seconds.

expect_refused "refuses --nested without KVM_CAP_ARM_EL2, naming the capability" 1 'EL2' \
	nested-no-el2 60 -k /guest/Image -i /guest/l1.cpio -p quiet -m 256 -c 1 --console serial --nested
