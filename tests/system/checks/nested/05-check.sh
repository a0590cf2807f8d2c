# check-timeout: 60
# "lkvm check" on the emulated host: the facts users paste into bug
# reports, as text and JSON, and the nested verdict (available here).

out=$(lkvm check 2>&1)
check "lkvm check exits 0" [ $? -eq 0 ]
expect_contains "lkvm check lists KVM_CAP_ARM_EL2" "$out" 'KVM_CAP_ARM_EL2'
json=$(lkvm check --nested --json 2>&1)
check "lkvm check --nested --json exits 0 on an NV host" [ $? -eq 0 ]
expect_contains "JSON reports el2 = 1" "$json" '"el2":1'
expect_contains "JSON reports the host's 52-bit IPA limit" "$json" '"max_ipa_bits":52'
expect_contains "JSON reports GICv3 with ITS" "$json" '"gic":"gicv3 gicv3-its'
expect_contains "JSON says nested is available" "$json" '"nested":{"available":true'
note "lkvm check --json: $json"
