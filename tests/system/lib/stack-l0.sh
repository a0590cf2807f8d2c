# shellcheck shell=sh disable=SC3043,SC2034,SC2154 # ash has local; kind_N etc. are set by eval
# stack-l0.sh - one stack of tests/system/stack, run inside L0 (the emulated
# arm64 KVM host) as a check of lib/run-checks, after checklib.sh.  The
# check file tests/system/stack generates for each stack sets, then sources
# this file:
#   STACK          the stack's name (the prefix of every point)
#   STACK_CHAIN    the levels under L0, L1 first: nested | e2h0 | linux |
#                  payload, comma-separated (see lib/stack-guest)
#   STACK_MEMS     guest RAM of each level (MiB), STACK_CPUS vCPUs, same order
#   STACK_TIMEOUT  seconds L1's lkvm may run (the check's limit is higher)
#   STACK_L0_KVM   the line L0's KVM must have logged ("VHE+NV2 mode
#                  initialized successfully", ...), from L0's command line
#   STACK_L1_APPEND  more L1 kernel parameters
#   STACK_TEARDOWN_MAX  seconds L1's lkvm may take from L1's poweroff to exit
#   STACK_TEST_SPLAT  test knob: if it names this stack, a fake kernel
#                  warning is written to L0's /dev/kmsg ($STACK_KMSG) during
#                  the stack
# L1's kernel is /guest/l1/Image, its initramfs /guest/$STACK.cpio, the
# splat patterns $STACK_SPLATS (default /lib/splat-patterns); scratch files
# go to $TMPDIR (default /tmp).
#
# Points, each with its own time (what it measures: a boot, a run, a
# teardown), named "$STACK: Ln: ...", outermost level first, power-off
# points innermost first.  Each level's log (its console and its lkvm's
# messages) is saved as $ART/lN.log; L0's kernel log of the stack's time as
# $ART/l0-dmesg.txt.  The first failing point of a level carries the tail of
# that level's log and of L0's dmesg as diagnostics.

_now
_stack_t0=$NOW_CS
splats=${STACK_SPLATS:-/lib/splat-patterns}
tmp=${TMPDIR:-/tmp}

# spoint STATUS DESC SECS [DIAG...]: a point with its time given.
spoint() {
	local st="$1" desc="$STACK: $2" t="$3" d
	shift 3
	case $desc in *'#'*) desc=$(printf '%s' "$desc" | sed 's/#/\\#/g') ;; esac
	printf '%s\n' "$st - $desc # time=${t:-0.00}s" >>"$TAP_FILE"
	for d in "$@"; do
		[ -n "$d" ] && diag "$d"
	done
	timer_reset
}

# secs_between A B: B - A (uptimes in seconds, 2 decimals), or empty.
secs_between() {
	[ -n "$1" ] && [ -n "$2" ] || return 0
	awk -v a="$1" -v b="$2" 'BEGIN { d = b - a; if (d < 0) d = 0; printf "%.2f", d }'
}

# lap: seconds since the last point.
lap() {
	_now
	fmt_cs $((NOW_CS - _T0))
}

# ---- the levels' logs -------------------------------------------------------

# L1's lkvm output is L1's log; each level's own lines are those not
# prefixed "GUEST: l<next>: "; the next level's log is the prefixed lines,
# unprefixed.  split_logs DEPTH: $ART/full<k>.log and $ART/l<k>.log.
split_logs() {
	local k=1 n
	tr -d '\r' <"$GUEST_LOG" >"$ART/full1.log"
	while [ "$k" -le "$1" ]; do
		n=$((k + 1))
		grep -v "^GUEST: l$n: " "$ART/full$k.log" >"$ART/l$k.log"
		[ "$k" -lt "$1" ] && sed -n "s/^GUEST: l$n: //p" "$ART/full$k.log" >"$ART/full$n.log"
		k=$n
	done
}

# has K PATTERN: level K's own log matches the basic regular expression.
has() {
	grep -q -e "$2" "$ART/l$1.log" 2>/dev/null
}

# val K PREFIX: the rest of level K's first line starting with PREFIX.
val() {
	sed -n "s/^$2//p" "$ART/l$1.log" 2>/dev/null | head -n 1
}

# L0's dmesg from this stack's start (the line after the previous stack's
# last, or the boot's first) to now: $ART/l0-dmesg.txt.
l0_dmesg_window() {
	local from=0
	[ -s "$tmp/stack-dmesg-lines" ] && read -r from <"$tmp/stack-dmesg-lines"
	dmesg >"$tmp/stack-dmesg.all"
	tail -n +$((from + 1)) "$tmp/stack-dmesg.all" >"$ART/l0-dmesg.txt"
	grep -c '' "$tmp/stack-dmesg.all" >"$tmp/stack-dmesg-lines"
}

# attach K: the diagnostics the first failing point of level K carries.
attach() {
	local v
	eval "v=\${_attached_$1:-}"
	[ -n "$v" ] && return 0
	eval "_attached_$1=1"
	if [ "$1" -gt 0 ] && [ -s "$ART/full$1.log" ]; then
		diag "L$1's log (its console and its lkvm; $STACK/l$1.log in the artifacts), last 25 lines:"
		tail -n 25 "$ART/full$1.log" | sed 's/^/  /' | while IFS= read -r v; do diag "$v"; done
	elif [ "$1" -gt 0 ]; then
		diag "L$1's log is empty: its lkvm printed nothing"
	fi
	diag "L0's dmesg ($STACK/l0-dmesg.txt in the artifacts), last 15 lines:"
	dmesg | tail -n 15 | sed 's/^/  /' | while IFS= read -r v; do diag "$v"; done
}

# fail K DESC SECS WHY...: a failing point of level K, with attachments.
fail() {
	local k="$1" desc="$2" t="$3"
	shift 3
	spoint "not ok" "$desc" "$t" "$@"
	attach "$k"
}

# lkvm_errors FILE: lkvm's own error lines in FILE, one line.
lkvm_errors() {
	grep -e '^lkvm: ' "$1" 2>/dev/null | grep -v -e 'first KVM_RUN' -e 'ID_AA64' \
		-e 'guest powered off' -e 'teardown took' -e 'queue notifications' | head -n 3 | tr '\n' ' '
}

# ---- L0 ---------------------------------------------------------------------

mode_of() {
	case $1 in
	nested) echo "VHE+NV2 mode initialized successfully" ;;
	e2h0) echo "Hyp nVHE mode initialized successfully" ;;
	esac
}
el_of() {
	case $1 in nested | e2h0) echo 2 ;; *) echo 1 ;; esac
}
check_flags() {
	case $1 in nested) echo "--nested" ;; e2h0) echo "--nested --e2h0" ;; esac
}

chain=$STACK_CHAIN
depth=0
for k in $(echo "$chain" | tr ',' ' '); do
	depth=$((depth + 1))
	eval "kind_$depth=$k"
done
n=0
for m in $(echo "$STACK_MEMS" | tr ',' ' '); do n=$((n + 1)); eval "mem_$n=$m"; done
n=0
for c in $(echo "$STACK_CPUS" | tr ',' ' '); do n=$((n + 1)); eval "cpus_$n=$c"; done

dmesg >"$ART/l0-dmesg-at-start.txt"
if grep -q 'CPU: All CPU(s) started at EL2' "$ART/l0-dmesg-at-start.txt"; then
	spoint ok "L0: booted at EL2" "$(lap)"
else
	spoint "not ok" "L0: booted at EL2" "$(lap)" \
		"$(grep -m 1 'CPU: All CPU(s) started at' "$ART/l0-dmesg-at-start.txt" || echo 'no "CPU: All CPU(s) started at" line in its dmesg')"
	attach 0
fi

if grep -q "kvm \[[0-9]*\]: $STACK_L0_KVM" "$ART/l0-dmesg-at-start.txt"; then
	spoint ok "L0: KVM initialised: $STACK_L0_KVM" "$(lap)"
else
	fail 0 "L0: KVM initialised: $STACK_L0_KVM" "$(lap)" \
		"L0's kvm lines: $(grep 'kvm \[' "$ART/l0-dmesg-at-start.txt" | tail -n 4 | tr '\n' ' ')"
fi

flags=$(check_flags "$kind_1")
# shellcheck disable=SC2086 # flags are words
lkvm check $flags --json >"$ART/l0-check.json" 2>"$ART/l0-check.err"
st=$?
note "L0 lkvm check${flags:+ $flags}: exit $st: $(cat "$ART/l0-check.json")"
if [ "$st" = 0 ]; then
	spoint ok "L0: lkvm check${flags:+ $flags} exits 0" "$(lap)"
else
	fail 0 "L0: lkvm check${flags:+ $flags} exits 0" "$(lap)" \
		"$(tr -d '\r' <"$ART/l0-check.err" | head -n 3)" "exit status $st"
fi

# ---- L1 and below -----------------------------------------------------------

params="quiet lkvm.script=stack lkvm.level=1"
rest=${chain#*,}
[ "$rest" = "$chain" ] && rest=
mems=${STACK_MEMS#*,}
[ "$mems" = "$STACK_MEMS" ] && mems=
cpus=${STACK_CPUS#*,}
[ "$cpus" = "$STACK_CPUS" ] && cpus=
limit=${STACK_TIMEOUT:-600}
params="$params lkvm.chain=$rest lkvm.mems=$mems lkvm.cpus=$cpus lkvm.timeout=$((limit > 90 ? limit - 30 : 60))"
set -- -k /guest/l1/Image -i "/guest/$STACK.cpio" -m "${mem_1:-256}" -c "${cpus_1:-1}" --loglevel info
case $kind_1 in
nested)
	params="$params kvm-arm.mode=nested"
	set -- "$@" --nested
	;;
e2h0) set -- "$@" --nested --e2h0 ;;
esac
[ -n "${STACK_L1_APPEND:-}" ] && params="$params $STACK_L1_APPEND"
RUN_GUEST_MARK="GUEST: init "
run_guest l1 "$limit" "$@" -p "$params"
t_l1=$GUEST_SECS
# Levels below L1 are only as deep as L1's log goes: the chain says how
# deep they should be, the logs are split that deep.
split_logs "$depth"

if [ "${STACK_TEST_SPLAT:-}" = "$STACK" ]; then
	echo "<4>WARNING: CPU: 0 PID: 1 at tests/system/lib/stack-l0.sh:0 stack_test_splat (injected by STACK_TEST_SPLAT=$STACK)" \
		>"${STACK_KMSG:-/dev/kmsg}"
fi

# exit_of K: the exit status of level K's lkvm (run by level K-1), or
# empty if it never ran.
exit_of() {
	local st
	if [ "$1" = 1 ]; then
		st=$GUEST_STATUS
		[ -n "$GUEST_TIMED_OUT" ] && st="$st (killed by the ${limit}s timeout)"
	else
		st=$(val $(($1 - 1)) 'GUEST: next-exit=')
		st=${st%% *}
	fi
	echo "$st"
}

# why_not_up K: one line: why level K never said hello, lkvm's own words
# first when it has any.
why_not_up() {
	local k="$1" st e
	st=$(exit_of "$k")
	e=$(lkvm_errors "$ART/full$k.log")
	if [ -z "$st" ]; then
		echo "L$((k - 1)) never started L$k"
	elif [ -n "$e" ]; then
		echo "${e% } (L$k's lkvm exited $st before L$k came up)"
	else
		echo "L$k's lkvm exited $st before L$k came up"
	fi
}

# Each level, outermost first: did it come up (up_K=1), at the right EL,
# with its KVM, and does lkvm check agree?  A level that never came up
# fails its first point with the reason; its other points, and those of
# the levels below it, say only that.
k=1
while [ "$k" -le "$depth" ]; do
	eval "kind=\$kind_$k"
	p=$((k - 1))
	eval "up_$k="
	# the level's boot time, and its whole run, from its parent's clock
	if [ "$k" = 1 ]; then
		t_up=$GUEST_MARK_SECS
		t_run=$t_l1
	else
		s=$(val "$p" 'GUEST: next-start ')
		t_up=$(secs_between "$s" "$(val "$p" 'GUEST: next-init-at ')")
		e=$(val "$p" 'GUEST: next-exit=')
		t_run=$(secs_between "$s" "${e#*end=}")
	fi
	eval "t_run_$k=\$t_run"
	if [ "$k" -gt 1 ] && eval "[ -z \"\$up_$p\" ]"; then
		down="L$p never came up, so neither did L$k"
	else
		down=
	fi
	if [ "$kind" = payload ]; then
		d="L$k: the payload ran at EL1 and finished"
		if [ -n "$down" ]; then
			spoint "not ok" "$d" 0.00 "$down"
		elif has "$k" 'PAYLOAD: CurrentEL=1' && has "$k" 'PAYLOAD: done' && ! has "$k" 'PAYLOAD: exception'; then
			spoint ok "$d" "$t_run"
			eval "up_$k=1"
		elif has "$k" 'PAYLOAD: exception'; then
			fail "$k" "$d" "$t_run" "$(grep 'PAYLOAD: exception' "$ART/l$k.log")"
		elif has "$k" 'PAYLOAD: hello'; then
			eval "up_$k=1"
			fail "$k" "$d" "$t_run" \
				"$(grep -m 1 'PAYLOAD: CurrentEL' "$ART/l$k.log" || echo 'no CurrentEL line') $(has "$k" 'PAYLOAD: done' || echo '(and no PAYLOAD: done)')"
		else
			fail "$k" "$d" "$t_run" "$(why_not_up "$k")"
		fi
		k=$((k + 1))
		continue
	fi

	el=$(el_of "$kind")
	mode=$(mode_of "$kind")
	eval "next=\${kind_$((k + 1)):-}"
	flags=$(check_flags "$next")
	d1="L$k: reached init at EL$el"
	if [ -n "$mode" ]; then
		d2="L$k: KVM initialised: $mode"
		d3="L$k: lkvm check${flags:+ $flags} exits 0"
	else
		d2="L$k: no /dev/kvm in an EL1 guest"
		d3="L$k: lkvm check finds no KVM"
	fi
	init=$(grep -m 1 '^GUEST: init ' "$ART/l$k.log" 2>/dev/null)
	if [ -n "$down" ] || [ -z "$init" ]; then
		if [ -n "$down" ]; then
			spoint "not ok" "$d1" 0.00 "$down"
		else
			fail "$k" "$d1" "${t_up:-$t_run}" "$(why_not_up "$k")"
			down="L$k never came up"
		fi
		spoint "not ok" "$d2" 0.00 "$down"
		spoint "not ok" "$d3" 0.00 "$down"
		k=$((k + 1))
		continue
	fi
	eval "up_$k=1"
	got=$(printf '%s\n' "${init%% cmdline=*}" | sed -n 's/.* el=\([0-9]*\).*/\1/p')
	if [ "$got" = "$el" ]; then
		spoint ok "$d1" "$t_up"
	else
		fail "$k" "$d1" "$t_up" "L$k started at EL${got:-?}: $init"
	fi

	if [ -n "$mode" ]; then
		if has "$k" "^GUEST: kvm-init $mode"; then
			spoint ok "$d2" 0.00
		else
			fail "$k" "$d2" 0.00 \
				"L$k's KVM said: $(val "$k" 'GUEST: kvm-init ' | grep . || echo 'nothing (no "mode initialized successfully" line)'); /dev/kvm: $(val "$k" 'GUEST: kvm-dev=')"
		fi
	elif has "$k" '^GUEST: kvm-dev=no'; then
		spoint ok "$d2" 0.00
	else
		fail "$k" "$d2" 0.00 "/dev/kvm: $(val "$k" 'GUEST: kvm-dev=' | grep . || echo 'never reported')"
	fi

	cst=$(val "$k" 'GUEST: check-exit=')
	cj=$(val "$k" 'GUEST: check-json ')
	[ -n "$cj" ] && note "L$k lkvm check${flags:+ $flags}: exit $cst: $cj"
	if [ -z "$mode" ]; then
		# An EL1 guest has no KVM: lkvm check must say so and fail.
		if [ -n "$cst" ] && [ "$cst" != 0 ]; then
			spoint ok "$d3" 0.00
		else
			fail "$k" "$d3" 0.00 "lkvm check exit status: ${cst:-none (it never ran)}"
		fi
	elif [ "$cst" = 0 ]; then
		spoint ok "$d3" 0.00
	else
		fail "$k" "$d3" 0.00 \
			"$(val "$k" 'GUEST: check-msg ' | grep . || echo "exit status ${cst:-none (it never ran)}")"
	fi
	k=$((k + 1))
done

# Power-off, innermost level first.
k=$depth
while [ "$k" -ge 1 ]; do
	eval "kind=\$kind_$k"
	eval "t_run=\${t_run_$k:-}"
	eval "up=\${up_$k:-}"
	st=$(exit_of "$k")
	if [ "$kind" = payload ]; then
		off='lkvm: guest powered off'
	else
		off='^GUEST: poweroff'
	fi
	d="L$k: powered off and its lkvm exited 0"
	if has "$k" "$off" && [ "$st" = 0 ]; then
		spoint ok "$d" "$t_run"
	elif [ -z "$up" ]; then
		spoint "not ok" "$d" "$t_run" "L$k never came up; its lkvm's exit status: ${st:-none (it never ran)}"
	else
		fail "$k" "$d" "$t_run" \
			"L$k $(has "$k" "$off" && echo 'powered off' || echo 'never powered off'); its lkvm's exit status: ${st:-none}" \
			"$(lkvm_errors "$ART/full$k.log")"
	fi
	if [ "$kind" != payload ]; then
		d="L$k: no kernel splats in its log"
		grep -E -f "$splats" "$ART/l$k.log" 2>/dev/null | grep -v '^GUEST: splats=' >"$ART/l$k-splats.txt"
		if [ -s "$ART/l$k-splats.txt" ]; then
			fail "$k" "$d" 0.00 "$(head -n 10 "$ART/l$k-splats.txt")"
		elif [ -z "$up" ]; then
			spoint "not ok" "$d" 0.00 "L$k never came up"
		elif ! has "$k" '^GUEST: splats='; then
			fail "$k" "$d" 0.00 "L$k never reported its kernel log (no GUEST: splats= line)"
		else
			spoint ok "$d" 0.00
		fi
	fi
	k=$((k - 1))
done

# Teardown: from L1's poweroff (lkvm's log) to its lkvm's exit.
off=$(sed -n 's/^lkvm: guest powered off at \([0-9.]*\) .*/\1/p' "$ART/l1.log" | tail -n 1)
vm=$(sed -n 's/^lkvm: teardown took .* VM \([0-9.]*\) s.*/\1/p' "$ART/l1.log" | tail -n 1)
max=${STACK_TEARDOWN_MAX:-120}
if [ -z "$off" ] || [ -z "$GUEST_END_UPTIME" ]; then
	fail 1 "teardown: L1's lkvm exits within ${max}s of L1's poweroff" "0.00" \
		"no poweroff time in L1's log (L1 never powered off)"
else
	td=$(secs_between "$off" "$GUEST_END_UPTIME")
	note "teardown after L1's poweroff: ${td}s, of which the kernel's VM destroy ${vm:-?}s"
	if awk -v t="$td" -v m="$max" 'BEGIN { exit !(t <= m) }'; then
		spoint ok "teardown: L1's lkvm exits within ${max}s of L1's poweroff" "$td"
	else
		fail 1 "teardown: L1's lkvm exits within ${max}s of L1's poweroff" "$td" \
			"teardown took ${td}s (the kernel's VM destroy: ${vm:-?}s)"
	fi
fi

l0_dmesg_window
grep -E -f "$splats" "$ART/l0-dmesg.txt" >"$ART/l0-splats.txt"
if [ -s "$ART/l0-splats.txt" ]; then
	fail 0 "L0: no kernel splats in its dmesg during the stack" "0.00" \
		"L0's kernel log has $(grep -c '' "$ART/l0-splats.txt") splat line(s):" "$(head -n 10 "$ART/l0-splats.txt")"
else
	spoint ok "L0: no kernel splats in its dmesg during the stack" "0.00"
fi
_now
note "$STACK: the stack took $(fmt_cs $((NOW_CS - _stack_t0)))s in L0"
printf '%s\n' "#~ stack-done-$STACK 1" >>"$TAP_FILE"
