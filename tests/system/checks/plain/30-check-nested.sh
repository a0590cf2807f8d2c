# check-timeout: 60
# On an L0 booted without kvm-arm.mode=nested, "lkvm check --nested" and
# "lkvm run --nested" fail and say why (the missing boot parameter) and
# how to fix it.

out=$(lkvm check --nested 2>&1)
st=$?
check "lkvm check --nested exits non-zero without KVM_CAP_ARM_EL2" [ $st -ne 0 ]
expect_contains "the diagnosis names kvm-arm.mode=nested" "$out" 'not booted with kvm-arm.mode=nested'
out=$(lkvm run --nested -k /guest/Image -m 64 -c 1 </dev/null 2>&1)
st=$?
check "lkvm run --nested exits non-zero here" [ $st -ne 0 ]
expect_contains "lkvm run --nested gives the same diagnosis" "$out" 'kvm-arm.mode=nested; add it to the host'
json=$(lkvm check --nested --json 2>/dev/null)
expect_contains "JSON says nested is unavailable" "$json" '"nested":{"available":false'
