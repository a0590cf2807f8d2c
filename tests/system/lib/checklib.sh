# shellcheck shell=sh disable=SC3043,SC2034 # ash and bash have local
# checklib.sh - helpers for lkvm system-test checks.
#
# Sourced (by lib/run-checks) before every check, inside L0 under busybox ash
# and on the host under bash for host-checks, so this file is POSIX sh plus
# `local`, with no bashisms and as few forks as is convenient: every fork
# costs in an emulated L0.
#
# A check is a shell fragment that emits test points through these helpers.
# Environment provided by run-checks:
#   CHECK     the check's name (file name without .sh); prefixes descriptions
#   ART       the check's artifact directory; everything in it is shipped to
#             the host ($BUILD/<profile>/artifacts/$CHECK/)
#   TAP_FILE  where test points go; the check's stdout/stderr is its log
#             ($ART/check.log), not TAP
#   LKVM      the lkvm binary (in L0: /bin/lkvm)
#   TAP_TODO  if a check sets it, its points carry "# TODO $TAP_TODO"
#
# Test points are written in an internal dialect that tests/system/run
# numbers and routes:
#   "ok - desc # time=1.23s"      "not ok - desc # time=1.23s"
#   "ok - desc # SKIP reason (time=0.00s)"
#   "# text"    a note, printed on stdout
#   "#| text"   a failure diagnostic of the point before it, printed on stderr
#   "#~ key value"  a control line for tests/system/run (timings)
# A point's time is the time since the previous point (or the check's
# start, or the last timer_reset), so the first point after a guest run
# carries the guest's run time.

# ---- time -----------------------------------------------------------------

# Set NOW_CS to the uptime in centiseconds (no fork: `read` is a builtin).
_now() {
	local up rest
	read -r up rest </proc/uptime
	up="${up%.*}${up#*.}"
	up=${up#"${up%%[!0]*}"}
	NOW_CS=${up:-0}
}

# Print centiseconds $1 as seconds with two decimals.
fmt_cs() {
	printf '%d.%02d' $(($1 / 100)) $(($1 % 100))
}

timer_reset() {
	_now
	_T0=$NOW_CS
}

# Set LAP to the seconds elapsed since the last point; restart the clock.
_lap() {
	local t0="$_T0"
	_now
	_T0=$NOW_CS
	LAP=$(fmt_cs $((NOW_CS - t0)))
}

timer_reset

# ---- test points ----------------------------------------------------------

_tap() {
	printf '%s\n' "$*" >>"$TAP_FILE"
}

# _point STATUS DESC: one test point with its time.
_point() {
	local desc="$CHECK: $2"
	case $desc in *'#'*) desc=$(printf '%s' "$desc" | sed 's/#/\\#/g') ;; esac
	_lap
	if [ -n "${TAP_TODO:-}" ]; then
		_tap "$1 - $desc # TODO $TAP_TODO (time=${LAP}s)"
	else
		_tap "$1 - $desc # time=${LAP}s"
	fi
}

# note TEXT...: an informational TAP comment (on the host's stdout).
note() {
	printf '%s\n' "$*" | tr -d '\r' | sed 's/^/# /' >>"$TAP_FILE"
}

# diag TEXT...: failure diagnostic lines (on the host's stderr).
diag() {
	printf '%s\n' "$*" | tr -d '\r' | sed 's/^/#| /' >>"$TAP_FILE"
}

# diag_file FILE [LINES]: the tail of FILE as failure diagnostics.
diag_file() {
	if [ -s "$1" ]; then
		diag "last ${2:-15} lines of ${1##*/}:"
		tail -n "${2:-15}" "$1" | tr -d '\r' | sed 's/^/#|   /' >>"$TAP_FILE"
	else
		diag "${1##*/} is empty or missing"
	fi
}

tap_ok() {
	_point ok "$1"
}

# tap_not_ok DESC [DIAG...]: each DIAG argument may hold several lines.
tap_not_ok() {
	local d
	_point "not ok" "$1"
	shift
	for d in "$@"; do
		diag "$d"
	done
}

# tap_skip DESC REASON
tap_skip() {
	_lap
	_tap "ok - $CHECK: $1 # SKIP $2 (time=${LAP}s)"
}

# tap_result STATUS DESC [DIAG...]: ok if STATUS is 0.
tap_result() {
	local st="$1"
	shift
	if [ "$st" -eq 0 ]; then tap_ok "$1"; else tap_not_ok "$@"; fi
}

# check DESC CMD [ARGS...]: ok if CMD exits 0; its output goes to the log
# and, on failure, into the diagnostics.
check() {
	local desc="$1" st out="$ART/.check.out"
	shift
	"$@" >"$out" 2>&1
	st=$?
	cat "$out"
	if [ $st -eq 0 ]; then
		tap_ok "$desc"
	else
		tap_not_ok "$desc" "command: $*" "exit status: $st"
		diag_file "$out" 10
	fi
	rm -f "$out"
	return $st
}

# expect_eq DESC ACTUAL EXPECTED
expect_eq() {
	if [ "$2" = "$3" ]; then
		tap_ok "$1"
	else
		tap_not_ok "$1" "expected: '$3'" "actual:   '$2'"
		return 1
	fi
}

# expect_range DESC VALUE LOW HIGH (integers, inclusive)
expect_range() {
	case $2 in
	'' | *[!0-9]*)
		tap_not_ok "$1" "expected: an integer in [$3, $4]" "actual:   '$2'"
		return 1
		;;
	esac
	if [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then
		tap_ok "$1"
	else
		tap_not_ok "$1" "expected: in [$3, $4]" "actual:   $2"
		return 1
	fi
}

# expect_contains DESC HAYSTACK NEEDLE
expect_contains() {
	case $2 in
	*"$3"*) tap_ok "$1" ;;
	*)
		tap_not_ok "$1" "expected to contain: '$3'" "actual: '$2'"
		return 1
		;;
	esac
}

# ---- guests under lkvm ----------------------------------------------------

# _stamp LOG MARKFILE: copy stdin to LOG; when the first line matching
# $RUN_GUEST_MARK arrives, write the uptime to MARKFILE.  Blocks on the pipe,
# never polls.
_stamp() {
	local line up rest seen=
	while IFS= read -r line || [ -n "$line" ]; do
		printf '%s\n' "$line"
		if [ -z "$seen" ]; then
			case $line in
			*"$RUN_GUEST_MARK"*)
				read -r up rest </proc/uptime
				echo "$up" >"$2"
				seen=1
				;;
			esac
		fi
	done >"$1"
}

# run_guest NAME TIMEOUT_S LKVM_RUN_ARGS...
# Runs "$LKVM run ARGS" with stdin from /dev/null and stdout+stderr (the
# guest console) into $ART/NAME.log, killed after TIMEOUT_S.  Sets:
#   GUEST_LOG        the log
#   GUEST_STATUS     exit status (137: SIGKILL, as from the timeout)
#   GUEST_TIMED_OUT  1 if the timeout fired, else empty
#   GUEST_SECS       wall time of the run
#   GUEST_MARK_SECS  time from start to the first line containing
#                    $RUN_GUEST_MARK (default "GUEST: init"), or empty
#   GUEST_END_UPTIME /proc/uptime when lkvm had exited (before cleanup)
# and notes the result.  Always returns 0: the expect_* helpers judge.
run_guest() {
	local name="$1" limit="$2" t0 m rest pid up
	shift 2
	: "${RUN_GUEST_MARK:=GUEST: init}"
	GUEST_NAME=$name
	GUEST_LOG=$ART/$name.log
	printf '%s\n' "lkvm run $*" >"$ART/$name.cmd"
	rm -f "$ART/$name.status" "$ART/$name.mark"
	_now
	t0=$NOW_CS
	# lkvm leads a process group of its own (setsid keeps the pid), so that
	# whatever it leaves behind can't hold the pipe open after it ends.
	{
		timeout -s KILL "$limit" setsid "${LKVM:-lkvm}" run "$@" </dev/null 2>&1 &
		pid=$!
		wait $pid
		echo $? >"$ART/$name.status"
		read -r up rest </proc/uptime
		echo "$up" >"$ART/$name.end"
		kill -s KILL -- "-$pid" 2>/dev/null
	} | _stamp "$GUEST_LOG" "$ART/$name.mark"
	_now
	GUEST_SECS=$(fmt_cs $((NOW_CS - t0)))
	GUEST_STATUS=255
	[ -s "$ART/$name.status" ] && read -r GUEST_STATUS <"$ART/$name.status"
	GUEST_END_UPTIME=
	[ -s "$ART/$name.end" ] && read -r GUEST_END_UPTIME <"$ART/$name.end"
	GUEST_TIMED_OUT=
	# 137 is SIGKILL: the timeout's, unless it came early (the OOM killer).
	[ "$GUEST_STATUS" = 137 ] && [ $((NOW_CS - t0)) -ge $((limit * 100 - 50)) ] &&
		GUEST_TIMED_OUT=1
	GUEST_MARK_SECS=
	if [ -s "$ART/$name.mark" ]; then
		read -r m rest <"$ART/$name.mark"
		m="${m%.*}${m#*.}"
		m=${m#"${m%%[!0]*}"}
		GUEST_MARK_SECS=$(fmt_cs $((${m:-0} - t0)))
	fi
	[ -n "$GUEST_MARK_SECS" ] && _tap "#~ guest-boot $CHECK/$name=${GUEST_MARK_SECS}s"
	note "$CHECK/$name: lkvm exit ${GUEST_STATUS}${GUEST_TIMED_OUT:+ (killed after ${limit}s)}" \
		"after ${GUEST_SECS}s; '$RUN_GUEST_MARK' at ${GUEST_MARK_SECS:-never}${GUEST_MARK_SECS:+s}"
	guest_report
	return 0
}

# react_guest NAME TIMEOUT_S LKVM_RUN_ARGS...
# Like run_guest, but each console line is also handed, as it arrives, to
# the check's own on_line function (in a subshell: it keeps its results in
# files), for what L0 must do while the guest runs (read lkvm's memory,
# connect to the guest, start a second lkvm); lkvm's pid is in
# $ART/NAME.pid.  Blocks on the console pipe, never polls.  Sets GUEST_LOG,
# GUEST_STATUS, GUEST_TIMED_OUT, GUEST_SECS and guest_report's fields.
react_guest() {
	local name="$1" limit="$2" t0
	shift 2
	GUEST_NAME=$name
	GUEST_LOG=$ART/$name.log
	printf '%s\n' "lkvm run $*" >"$ART/$name.cmd"
	rm -f "$ART/$name.status" "$ART/$name.pid"
	: >"$GUEST_LOG"
	_now
	t0=$NOW_CS
	{
		timeout -s KILL "$limit" sh -c 'echo $$ >"$0"; exec "$@"' "$ART/$name.pid" \
			"${LKVM:-lkvm}" run "$@" </dev/null 2>&1
		echo $? >"$ART/$name.status"
	} | while IFS= read -r line; do
		printf '%s\n' "$line" >>"$GUEST_LOG"
		on_line "$line"
	done
	_now
	GUEST_SECS=$(fmt_cs $((NOW_CS - t0)))
	GUEST_STATUS=255
	[ -s "$ART/$name.status" ] && read -r GUEST_STATUS <"$ART/$name.status"
	GUEST_TIMED_OUT=
	[ "$GUEST_STATUS" = 137 ] && GUEST_TIMED_OUT=1
	note "$CHECK/$name: lkvm exit $GUEST_STATUS after ${GUEST_SECS}s"
	guest_report
}

# guest_saw PATTERN: the last guest's log has a line matching the basic
# regular expression PATTERN.
guest_saw() {
	grep -q -e "$1" "$GUEST_LOG" 2>/dev/null
}

# _field HEAD KEY: print KEY's value from "k1=v1 k2=v2 ..." in HEAD.
_field() {
	local v
	case " $1 " in
	*" $2="*)
		v=${1#* "$2"=}
		printf '%s' "${v%% *}"
		;;
	esac
}

# guest_report: parse the last guest's "GUEST: init ..." line (see
# guest/init) into GUEST_CPUS, GUEST_MEMKB, GUEST_EL, GUEST_CMDLINE.
# Returns 1 (all empty) if the guest never got there.
guest_report() {
	local head
	GUEST_INIT_LINE=$(grep -m 1 -e 'GUEST: init ' "$GUEST_LOG" 2>/dev/null | tr -d '\r')
	GUEST_CPUS='' GUEST_MEMKB='' GUEST_EL='' GUEST_CMDLINE=''
	[ -n "$GUEST_INIT_LINE" ] || return 1
	head=${GUEST_INIT_LINE%% cmdline=*}
	case $GUEST_INIT_LINE in *' cmdline='*) GUEST_CMDLINE=${GUEST_INIT_LINE#* cmdline=} ;; esac
	GUEST_CPUS=$(_field "$head" cpus)
	GUEST_MEMKB=$(_field "$head" memtotal_kb)
	GUEST_EL=$(_field "$head" el)
}

# _no_init DESC: fail DESC because the guest never reported init.
_no_init() {
	tap_not_ok "$1" "no 'GUEST: init' line in ${GUEST_LOG##*/} (see the first failure of this guest)"
	return 1
}

# expect_exit DESC STATUS: the last guest's lkvm exited with STATUS.
expect_exit() {
	if [ -n "$GUEST_TIMED_OUT" ]; then
		tap_not_ok "$1" "lkvm was killed by the timeout after ${GUEST_SECS}s (expected exit status $2)" \
			"command: $(cat "$ART/$GUEST_NAME.cmd")"
		diag_file "$GUEST_LOG"
		return 1
	fi
	if [ "$GUEST_STATUS" = "$2" ]; then
		tap_ok "$1"
	else
		tap_not_ok "$1" "expected exit status: $2" "actual exit status:   $GUEST_STATUS" \
			"command: $(cat "$ART/$GUEST_NAME.cmd")"
		diag_file "$GUEST_LOG"
		return 1
	fi
}

# expect_saw DESC PATTERN: the last guest's log matches PATTERN.
expect_saw() {
	if guest_saw "$2"; then
		tap_ok "$1"
	else
		tap_not_ok "$1" "no line matching '$2' in ${GUEST_LOG##*/}"
		return 1
	fi
}

# expect_guest_field DESC FIELD EXPECTED: a field of the "GUEST: init" line.
expect_guest_field() {
	local v
	[ -n "$GUEST_INIT_LINE" ] || { _no_init "$1"; return 1; }
	v=$(_field "${GUEST_INIT_LINE%% cmdline=*}" "$2")
	expect_eq "$1" "$v" "$3"
}

# expect_guest_cmdline DESC TEXT: the guest's /proc/cmdline contains TEXT.
expect_guest_cmdline() {
	[ -n "$GUEST_INIT_LINE" ] || { _no_init "$1"; return 1; }
	expect_contains "$1" "$GUEST_CMDLINE" "$2"
}

# expect_guest_mem DESC MIB: the guest's MemTotal fits "-m MIB".  MemTotal
# excludes what the kernel reserves for itself: measured with the Debian
# 7.3.4 Image, 256 MiB of RAM gives MemTotal 201 MiB (kernel image, 4 MiB of
# struct pages, ...), so accept [MIB - 64 - MIB/32, MIB] MiB: one byte more
# than -m, or a quarter less, still fails.
expect_guest_mem() {
	[ -n "$GUEST_INIT_LINE" ] || { _no_init "$1"; return 1; }
	expect_range "$1" "$GUEST_MEMKB" $((($2 - 64 - $2 / 32) * 1024)) $(($2 * 1024))
}

# expect_refused DESC STATUS WHAT NAME TIMEOUT_S LKVM_RUN_ARGS...: lkvm must
# refuse the arguments: exit with STATUS (not by the timeout), which says
# which step of lkvm's order of checks refused them (README: 2, the command
# line or the guest's files; 1, what this host can do), with a line
# starting "lkvm:" that matches the extended regular expression WHAT
# (ignoring case), which names what is wrong: a binary refusing everything
# doesn't pass.
expect_refused() {
	local desc="$1" want="$2" what="$3"
	shift 3
	case $want in
	1 | 2) ;;
	*)
		tap_not_ok "$desc" "expect_refused: STATUS must be 1 or 2, not '$want'"
		return 1
		;;
	esac
	run_guest "$@"
	if [ -n "$GUEST_TIMED_OUT" ]; then
		tap_not_ok "$desc" "lkvm did not refuse: killed by the timeout after ${GUEST_SECS}s" \
			"command: $(cat "$ART/$GUEST_NAME.cmd")"
		diag_file "$GUEST_LOG"
		return 1
	fi
	if [ "$GUEST_STATUS" = "$want" ] && tr -d '\r' <"$GUEST_LOG" | grep -q -i -E "^lkvm:.*($what)"; then
		tap_ok "$desc"
		return 0
	fi
	tap_not_ok "$desc" "expected: exit status $want and a line matching '^lkvm:.*($what)'" \
		"actual:   exit status $GUEST_STATUS" "command: $(cat "$ART/$GUEST_NAME.cmd")"
	diag_file "$GUEST_LOG"
	return 1
}

# l0_modules MOD...: loads L0's modules (tests/system/run ships them in
# /lib/modules/), dependencies first, each unless loaded; says what is
# missing or fails on stderr.  Returns 0 when all are in.
l0_modules() {
	local m ok=0
	for m in "$@"; do
		if [ ! -f "/lib/modules/$m.ko" ]; then
			ok=1
			diag "/lib/modules/$m.ko missing from L0"
		elif ! grep -q "^$m " /proc/modules && ! insmod "/lib/modules/$m.ko"; then
			ok=1
			diag "insmod $m failed"
		fi
	done
	return $ok
}

# has_payload: /guest/payload.bin exists (GUEST_DIR was given to the harness).
has_payload() {
	[ -f "${GUEST_FILES:-/guest}/payload.bin" ]
}
