# shellcheck shell=bash
# harness.sh - the host side of the system tests, shared by tests/system/run
# (lkvm's own tests, "make check") and tests/system/stack (a user's kernels):
# TAP output with times, the forwarding of L0's results, content-keyed
# initramfs images and the QEMU command line of the emulated arm64 host.
# Sourced by bash; defines functions and their globals, runs nothing.
#
# Globals the caller may set after sourcing:
#   HARNESS_REPORT  a file that gets every line of the output as well,
#                   points and notes as printed, diagnostics as "#! text"
#                   (so that a converter can tell them from notes); empty:
#                   none (tests/system/run)
#   L0_WRAP         array: a command prefix for QEMU, e.g. (taskset -c 0)
#   QEMU            the qemu-system-aarch64 binary
#   SYSTEM_EXPORT   names of variables export_env writes

npoints=0
nfailed=0
diag_fd=2 # where the diagnostics of the last point go (1 for a TODO point)
qemu_pid=
HARNESS_REPORT=
L0_WRAP=()

# ---- output -----------------------------------------------------------------

# _report LINE: LINE into HARNESS_REPORT, if there is one.
_report() {
	[[ -n $HARNESS_REPORT ]] && printf '%s\n' "$1" >>"$HARNESS_REPORT"
	return 0
}

# _diag_line TEXT: "#TEXT" on the diagnostics' fd; "#!TEXT" in the report.
_diag_line() {
	printf '#%s\n' "$1" >&"$diag_fd"
	_report "#!$1"
}

skip_all() {
	echo "1..0 # SKIP $*"
	_report "1..0 # SKIP $*"
	exit 0
}

note() {
	local l
	printf '# %s\n' "$@"
	if [[ -n $HARNESS_REPORT ]]; then
		for l in "$@"; do _report "# $l"; done
	fi
}

diag() {
	local l
	printf '# %s\n' "$@" >&2
	if [[ -n $HARNESS_REPORT ]]; then
		for l in "$@"; do _report "#! $l"; done
	fi
}

# diag_tail FILE N: the last N lines of FILE as failure diagnostics.
diag_tail() {
	local l
	if [[ -s $1 ]]; then
		diag "last $2 lines of $1:"
		tail -n "$2" "$1" | tr -d '\r' | sed 's/^/#   /' >&2
		if [[ -n $HARNESS_REPORT ]]; then
			while IFS= read -r l; do _report "#!   $l"; done < <(tail -n "$2" "$1" | tr -d '\r')
		fi
	else
		diag "$1 is empty or missing"
	fi
}

# emit STATUS DESC: one numbered test point.  A DESC without a directive
# gets the time since the previous point.
emit() {
	local desc=$2
	[[ $desc == *" # "* ]] || desc+=" # time=$(secs_since "$last_point")s"
	now_us
	last_point=$REPLY
	npoints=$((npoints + 1))
	printf '%s %d - %s\n' "$1" "$npoints" "$desc"
	_report "$1 $npoints - $desc"
	diag_fd=2
	if [[ $desc == *"# TODO"* ]]; then
		diag_fd=1
	elif [[ $1 == "not ok" ]]; then
		nfailed=$((nfailed + 1))
		printf '# Failed test %d - %s\n' "$npoints" "${desc% # *}" >&2
	fi
}

# Microseconds since the epoch, and seconds between two of them.
now_us() {
	REPLY=${EPOCHREALTIME/[.,]/}
}
secs_since() {
	local t
	now_us
	t=$((REPLY - $1))
	printf '%d.%02d' $((t / 1000000)) $((t % 1000000 / 10000))
}

declare -A CTRL=()

# forward FILE PREFIX: renumber the test points of FILE (checklib.sh's
# dialect) into the output, descriptions prefixed with PREFIX; "#| " lines go
# to stderr, "#~ key value" control lines into CTRL.
forward() {
	local line rest status
	[[ -f $1 ]] || return 0
	while IFS= read -r line || [[ -n $line ]]; do
		line=${line%$'\r'}
		case $line in
		"#~ "*)
			rest=${line#"#~ "}
			if [[ $rest == "guest-boot "* ]]; then
				CTRL[guest-boot]+=" ${rest#* }"
			else
				CTRL[${rest%% *}]=${rest#* }
			fi
			;;
		"#|"*) _diag_line "${line#"#|"}" ;;
		"#"*)
			printf '%s\n' "$line"
			_report "$line"
			;;
		"ok" | "ok "* | "not ok" | "not ok "*)
			status=ok
			[[ $line == not* ]] && status="not ok"
			rest=${line#"$status"}
			rest=${rest# }
			[[ $rest =~ ^[0-9]+( |$)(.*)$ ]] && rest=${BASH_REMATCH[2]}
			rest=${rest#- }
			emit "$status" "$2$rest"
			;;
		"1.."* | "") ;;
		*)
			printf '# %s\n' "$line"
			_report "# $line"
			;;
		esac
	done <"$1"
}

# check_lkvm_static LKVM: one point, "lkvm is a static arm64 executable"
# (it must run in L0, which has no C library).
check_lkvm_static() {
	local hdr
	hdr=$(od -An -tx1 -N20 "$1" | tr -d ' \n')
	if [[ ${hdr:0:10} != 7f454c4602 || ${hdr:36:4} != b700 ]]; then
		emit "not ok" "${2:-}lkvm is a static arm64 executable"
		diag "$1 is not a 64-bit arm64 ELF file: $(file -b "$1" 2>/dev/null)"
	elif command -v readelf >/dev/null && readelf -lW "$1" 2>/dev/null | grep -q 'program interpreter'; then
		emit "not ok" "${2:-}lkvm is a static arm64 executable"
		diag "$1 is dynamically linked; L0 has no C library: link it with -static"
	else
		emit ok "${2:-}lkvm is a static arm64 executable"
	fi
}

# ---- building images ----------------------------------------------------------

declare -A SUMS=()

# sum_of FILE: REPLY = sha256 of FILE's content, computed once per run.
sum_of() {
	local f s
	f=$(readlink -f "$1")
	if [[ -z ${SUMS[$f]:-} ]]; then
		s=$(sha256sum <"$f") || return 1
		SUMS[$f]=${s%% *}
	fi
	REPLY=${SUMS[$f]}
}

# MANIFEST entries "dest|src|mode": src "-" is a directory, "=text" a file
# holding text, else a file to copy.
MANIFEST=()
add() {
	MANIFEST+=("$1|$2|$3")
}

# make_cpio DIR STEM: CPIO = DIR/STEM-<key>.cpio, an uncompressed newc
# archive of MANIFEST (owned by root), built unless one with the same key
# (a hash of every entry's name, mode and content) exists.
make_cpio() {
	local dir=$1 stem=$2 e dest src mode key root size
	mkdir -p "$dir"
	{
		echo "lkvm-system cpio 1"
		for e in "${MANIFEST[@]}"; do
			IFS='|' read -r dest src mode <<<"$e"
			case $src in
			-) echo "dir $dest $mode" ;;
			=*) echo "text $dest $mode ${src#=}" ;;
			*)
				sum_of "$src" || return 1
				echo "file $dest $mode $REPLY"
				;;
			esac
		done
	} >"$dir/$stem.manifest.tmp"
	# Rewritten only when it changes: a rerun with the same inputs touches nothing.
	if cmp -s "$dir/$stem.manifest.tmp" "$dir/$stem.manifest"; then
		rm -f "$dir/$stem.manifest.tmp"
	else
		mv -f "$dir/$stem.manifest.tmp" "$dir/$stem.manifest"
	fi
	key=$(sha256sum <"$dir/$stem.manifest")
	CPIO=$dir/$stem-${key:0:16}.cpio
	[[ -s $CPIO ]] && return 0

	root=$dir/$stem.root
	rm -rf "$root"
	mkdir -p "$root"
	for e in "${MANIFEST[@]}"; do
		IFS='|' read -r dest src mode <<<"$e"
		case $src in
		-) mkdir -p "$root$dest" ;;
		=*)
			mkdir -p "$(dirname "$root$dest")"
			printf '%s\n' "${src#=}" >"$root$dest"
			;;
		*)
			mkdir -p "$(dirname "$root$dest")"
			size=$(stat -L -c %s "$src") || return 1
			# Big read-only files: link, cpio -L stores their content.
			if ((size > 1048576)) && [[ $mode == 644 ]]; then
				ln -s "$(readlink -f "$src")" "$root$dest"
			else
				cp -L "$src" "$root$dest" || return 1
			fi
			;;
		esac
		[[ -L $root$dest ]] || chmod "$mode" "$root$dest"
	done
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 -L --quiet) \
		>"$CPIO.tmp" || return 1
	find "$dir" -maxdepth 1 -name "$stem-*.cpio" ! -name "${CPIO##*/}" -delete
	mv "$CPIO.tmp" "$CPIO"
	rm -rf "$root"
}

# export_env FILE: FILE = "export NAME='value'" for each variable named in
# SYSTEM_EXPORT that is set (l0/init sources it before the checks).
export_env() {
	local n v q="'"
	: >"$1"
	for n in $SYSTEM_EXPORT; do
		[[ $n =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { echo "SYSTEM_EXPORT: bad name '$n'" >&2; return 1; }
		[[ -n ${!n+set} ]] || continue
		v=${!n}
		printf 'export %s=%s\n' "$n" "$q${v//$q/$q\\$q$q}$q" >>"$1"
	done
}

# ---- the emulated host --------------------------------------------------------

# l0_qemu KERNEL INITRD APPEND CPU CPUS MEM TIMEOUT RESULTS ARTIFACTS CONSOLE [QEMU-ARGS...]
# Boots the emulated arm64 KVM host (virt, EL2, GICv3, TCG), prefixed by
# L0_WRAP, killed after TIMEOUT seconds; its console goes to CONSOLE, the
# virtio-serial ports "results" and "artifacts" (see l0/init) to the files
# RESULTS and ARTIFACTS.  QEMU-ARGS go before the serial ports (disks).
# qemu_pid is QEMU's (timeout's) pid while it runs; REPLY = its exit status
# (124 or 137: the timeout).
l0_qemu() {
	local kernel=$1 initrd=$2 append=$3 cpu=$4 smp=$5 mem=$6 limit=$7 res=$8 art=$9 con=${10}
	shift 10
	"${L0_WRAP[@]}" timeout -k 10 "$limit" "$QEMU" \
		-M virt,virtualization=on,gic-version=3 -cpu "$cpu" -accel tcg,thread=multi \
		-smp "$smp" -m "$mem" -nographic -no-reboot -nic none \
		-kernel "$kernel" -initrd "$initrd" -append "$append" \
		"$@" \
		-device virtio-serial-pci,id=vser0 \
		-chardev file,id=results,path="$res" \
		-device virtserialport,bus=vser0.0,chardev=results,name=results \
		-chardev file,id=artifacts,path="$art" \
		-device virtserialport,bus=vser0.0,chardev=artifacts,name=artifacts \
		</dev/null >"$con" 2>&1 &
	qemu_pid=$!
	wait "$qemu_pid"
	REPLY=$?
	qemu_pid=
}
