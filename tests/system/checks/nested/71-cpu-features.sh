# check-timeout: 300
# ID-register masks, set by field name before the first KVM_RUN: the
# payload reads exactly what was set.  SVE and pointer auth are hidden by
# not requesting the vCPU feature (same syntax); PARange and DebugVer are
# lowered by KVM_SET_ONE_REG after KVM_ARM_GET_REG_WRITABLE_MASKS.  A field
# KVM won't let us write, and a value above the host's, are refused with
# the register, the field and the allowed values named.  "lkvm cpu"
# lists the same registers by field name.

if ! has_payload; then
	tap_skip "cpu feature matrix" "no payload.bin (GUEST_DIR not given to tests/system/run)"
	return 0
fi
nib() { # nib LOG REG SHIFT: the 4-bit field of REG at SHIFT as the payload printed it
	sed -n "s/.*PAYLOAD: $2=0x\([0-9a-f]*\).*/\1/p" "$1" | tr -d '\r' |
		awk -v s="$3" '{ printf "%d", index("0123456789abcdef", substr($1, length($1) - s / 4, 1)) - 1 }'
}
RUN_GUEST_MARK="PAYLOAD: hello"

run_guest feat-sve 60 -k /guest/payload.bin -m 64 -c 1 --cpu-feature ID_AA64PFR0_EL1.SVE=0
expect_exit "hide SVE: lkvm exits 0" 0
expect_eq "hide SVE: the payload reads ID_AA64PFR0_EL1.SVE = 0" "$(nib "$GUEST_LOG" ID_AA64PFR0_EL1 32)" 0

run_guest feat-pauth 60 -k /guest/payload.bin -m 64 -c 1 \
	--cpu-feature ID_AA64ISAR1_EL1.APA=0,ID_AA64ISAR1_EL1.API=0,ID_AA64ISAR1_EL1.GPA=0,ID_AA64ISAR1_EL1.GPI=0
expect_exit "hide pointer auth: lkvm exits 0" 0
expect_eq "hide pointer auth: ID_AA64ISAR1_EL1.APA = 0" "$(nib "$GUEST_LOG" ID_AA64ISAR1_EL1 4)" 0
expect_eq "hide pointer auth: ID_AA64ISAR1_EL1.GPA = 0" "$(nib "$GUEST_LOG" ID_AA64ISAR1_EL1 24)" 0

run_guest feat-pa 60 -k /guest/payload.bin -m 64 -c 1 --ipa-bits 40 \
	--cpu-feature ID_AA64MMFR0_EL1.PARange=1
expect_exit "lower PARange: lkvm exits 0" 0
expect_eq "lower PARange: the payload reads PARange = 1 (36 bits)" "$(nib "$GUEST_LOG" ID_AA64MMFR0_EL1 0)" 1

echo "ID_AA64DFR0_EL1.DebugVer=8   # Armv8.2 debug" >"$ART/features.txt"
run_guest feat-debug 60 -k /guest/payload.bin -m 64 -c 1 --cpu-features "$ART/features.txt"
expect_exit "lower DebugVer from a file: lkvm exits 0" 0
expect_eq "lower DebugVer: the payload reads ID_AA64DFR0_EL1.DebugVer = 8" "$(nib "$GUEST_LOG" ID_AA64DFR0_EL1 0)" 8

expect_refused "an unwritable field is refused, naming it" 1 'ID_AA64PFR0_EL1.AdvSIMD is not writable' \
	feat-ro 30 -k /guest/payload.bin -m 64 -c 1 --cpu-feature ID_AA64PFR0_EL1.AdvSIMD=0
expect_refused "a raised value is refused with the allowed values" 1 'PARange = 7 is above' \
	feat-raise 30 -k /guest/payload.bin -m 64 -c 1 --cpu-feature ID_AA64MMFR0_EL1.PARange=7
expect_refused "an unknown field is refused, listing the register's fields" 2 'PARange' \
	feat-unknown 30 -k /guest/payload.bin -m 64 -c 1 --cpu-feature ID_AA64MMFR0_EL1.Nope=1

out=$(lkvm cpu 2>&1)
check "lkvm cpu exits 0" [ $? -eq 0 ]
expect_contains "lkvm cpu decodes fields by name, with writability" "$out" 'ID_AA64PFR0_EL1.GIC = 1 (writable)'
json=$(lkvm cpu --json 2>&1)
expect_contains "lkvm cpu --json has PARange with its writability" "$json" '"PARange":{"value":'
