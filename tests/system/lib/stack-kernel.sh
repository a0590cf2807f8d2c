# shellcheck shell=bash
# stack-kernel.sh - a user's arm64 kernel, as tests/system/stack takes it,
# turned into what the stacks boot, once per content: sourced by bash.
#
# kernel_prepare CACHE KERNEL-INPUTS... [-- MODULE-INPUTS...]
#   KERNEL-INPUTS: an arm64 Image, an Image.gz, Debian .deb packages (a
#   linux-image .deb, or the linux-binary/linux-modules/... .debs a 7.x
#   kernel is split into), or directories holding such .debs.
#   MODULE-INPUTS: the kernel's modules, if they are not in the .debs: a
#   lib/modules/<version> directory, a staging root holding one
#   ({usr/,}lib/modules/<version>/, as from "make modules_install
#   INSTALL_MOD_PATH=..."), or .debs.
# makes (unless it exists) CACHE/<key>/, key = sha256 of the inputs'
# contents, holding:
#   Image          the kernel, uncompressed (what QEMU and lkvm boot)
#   Image.gz       the same, gzipped (smaller, for the nested levels' initramfs)
#   kernel-version from the modules directory's name, else the Image's banner
#   config         the kernel's .config, when the inputs have it
#   l0-modules/    the modules L0 needs to talk to the host that are not
#                  built in (virtio-pci, virtio-console), uncompressed,
#                  with "order", the insmod order
#   sources        the inputs' names and hashes
# and sets KDIR to it, KVER, KSTATE ("cached" or "unpacked") and KKEY (the
# key).  Returns 1 with the reason in KERR.  Not safe to run twice at once
# on one CACHE: the caller holds a lock.

# What L0's init insmods, dependencies first, when they are modules:
# l0/init reads the results port through virtio-pci + virtio-console.
STACK_L0_MODULES=(virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
	virtio_console)

# _kfiles INPUT...: KFILES = the files the inputs name (a directory: its
# .debs, sorted), or KERR.
_kfiles() {
	local i f found
	KFILES=()
	for i in "$@"; do
		if [[ -d $i ]]; then
			found=0
			for f in "$i"/*.deb; do
				[[ -f $f ]] || continue
				KFILES+=("$(readlink -f "$f")")
				found=1
			done
			((found)) || { KERR="$i: a directory without .deb files"; return 1; }
		elif [[ -f $i ]]; then
			KFILES+=("$(readlink -f "$i")")
		else
			KERR="$i: no such file or directory"
			return 1
		fi
	done
}

# _modfiles INPUT...: MODFILES = what identifies a modules input: .debs as
# they are, a modules directory by the files we take from it (and its
# modules.builtin), in a fixed order.
_modfiles() {
	local i d
	MODFILES=()
	MODROOTS=()
	for i in "$@"; do
		if [[ -d $i ]] && ! compgen -G "$i/*.deb" >/dev/null; then
			d=$(_modroot "$i") || { KERR="$i: no lib/modules/<version> directory in it"; return 1; }
			MODROOTS+=("$d")
			while IFS= read -r -d '' f; do MODFILES+=("$f"); done < <(
				find "$d" -maxdepth 1 -name 'modules.builtin' -print0
				for m in "${STACK_L0_MODULES[@]}"; do
					find "$d" -name "$m.ko*" -print0
				done | sort -z)
			MODFILES+=("=dir:$d")
		else
			_kfiles "$i" || return 1
			MODFILES+=("${KFILES[@]}")
		fi
	done
}

# _modroot DIR: the modules directory (the one with modules.builtin or
# kernel/) in DIR, DIR itself, or under {usr/,}lib/modules/ in it.
_modroot() {
	local d c=()
	if [[ -e $1/modules.builtin || -d $1/kernel ]]; then
		readlink -f "$1"
		return 0
	fi
	for d in "$1"/*/ "$1"/lib/modules/*/ "$1"/usr/lib/modules/*/ "$1"/modules/*/; do
		[[ -e $d/modules.builtin || -d $d/kernel ]] && c+=("$(readlink -f "$d")")
	done
	((${#c[@]} == 1)) || return 1
	echo "${c[0]}"
}

# _image_kind FILE: REPLY = image | gzip | zboot | elf | other.
_image_kind() {
	local magic arm
	magic=$(od -An -tx1 -N4 "$1" | tr -d ' \n')
	arm=$(od -An -c -j56 -N4 "$1" | tr -d ' \n')
	case $magic in
	1f8b*) REPLY=gzip ;;
	7f454c46) REPLY=elf ;;
	*)
		if [[ $arm == ARMd ]]; then
			REPLY=image
		elif [[ $magic == 4d5a* && $(od -An -c -j4 -N4 "$1" | tr -d ' \n') == zimg ]]; then
			REPLY=zboot
		else
			REPLY=other
		fi
		;;
	esac
}

kernel_prepare() {
	local cache=$1 f m s tmp root img imgs=() kv src mods=() sumlist key d kind
	shift
	local kin=() min=() side=k
	for f in "$@"; do
		if [[ $f == -- ]]; then side=m; continue; fi
		[[ $side == k ]] && kin+=("$f") || min+=("$f")
	done
	KERR=
	((${#kin[@]})) || { KERR="no kernel given"; return 1; }
	_kfiles "${kin[@]}" || return 1
	local kfiles=("${KFILES[@]}")
	MODFILES=()
	MODROOTS=()
	((${#min[@]})) && { _modfiles "${min[@]}" || return 1; }

	# The key: every input's content (directories by the files we use).
	sumlist="lkvm-stack kernel 1"
	for f in "${kfiles[@]}" "${MODFILES[@]}"; do
		if [[ $f == =dir:* ]]; then
			sumlist+=$'\n'"modules-dir"
			continue
		fi
		sum_of "$f" || { KERR="cannot read $f"; return 1; }
		sumlist+=$'\n'"$REPLY"
	done
	key=$(LC_ALL=C sort <<<"$sumlist" | sha256sum)
	KKEY=${key:0:16}
	KDIR=$cache/$KKEY
	if [[ -f $KDIR/.done ]]; then
		KSTATE=cached
		KVER=$(cat "$KDIR/kernel-version")
		return 0
	fi

	KSTATE=unpacked
	mkdir -p "$cache" || { KERR="cannot create $cache"; return 1; }
	tmp=$(mktemp -d "$cache/.tmp.XXXXXX") || { KERR="cannot create a directory in $cache"; return 1; }
	root=$tmp/root
	mkdir -p "$root" "$tmp/out/l0-modules"
	for f in "${kfiles[@]}" "${MODFILES[@]}"; do
		[[ $f == *.deb ]] || continue
		dpkg-deb -x "$f" "$root" 2>"$tmp/dpkg.log" ||
			{ KERR="dpkg-deb -x $f failed: $(head -n 2 "$tmp/dpkg.log")"; rm -rf "$tmp"; return 1; }
	done
	# The image: a file given as such, else the one the .debs hold.
	for f in "${kfiles[@]}"; do
		[[ $f == *.deb ]] || imgs+=("$f")
	done
	if ((${#imgs[@]} == 0)); then
		for f in "$root"/boot/vmlinuz-* "$root"/boot/vmlinux-* "$root"/boot/Image* \
			"$root"/usr/lib/modules/*/vmlinuz "$root"/lib/modules/*/vmlinuz; do
			[[ -f $f && ! -L $f ]] && imgs+=("$f")
		done
	fi
	if ((${#imgs[@]} == 0)); then
		KERR="no kernel image in ${kin[*]} (looked for boot/vmlinuz-*, boot/Image*, lib/modules/*/vmlinuz)"
		rm -rf "$tmp"
		return 1
	fi
	if ((${#imgs[@]} > 1)); then
		# The same kernel twice (/boot and lib/modules) is one kernel.
		s=$(sha256sum "${imgs[@]}" | awk '{ print $1 }' | sort -u | wc -l)
		if ((s > 1)); then
			KERR="several kernel images in ${kin[*]}: ${imgs[*]#"$root"}; give one"
			rm -rf "$tmp"
			return 1
		fi
	fi
	img=${imgs[0]}
	_image_kind "$img"
	kind=$REPLY
	case $kind in
	gzip)
		gzip -dc "$img" >"$tmp/out/Image" || { KERR="$img: gunzip failed"; rm -rf "$tmp"; return 1; }
		_image_kind "$tmp/out/Image"
		[[ $REPLY == image ]] || { KERR="$img: gunzipped, not an arm64 Image"; rm -rf "$tmp"; return 1; }
		;;
	image) cp "$img" "$tmp/out/Image" ;;
	zboot) KERR="$img: an EFI zboot image (CONFIG_EFI_ZBOOT); give arch/arm64/boot/Image instead" ;;
	elf) KERR="$img: an ELF vmlinux; give arch/arm64/boot/Image (or Image.gz) instead" ;;
	*) KERR="$img: not an arm64 Image (no ARM\\x64 magic at offset 56), nor gzipped" ;;
	esac
	[[ -n $KERR ]] && { rm -rf "$tmp"; return 1; }
	if [[ $kind == gzip ]]; then
		cp "$img" "$tmp/out/Image.gz"
	else
		gzip -6 -c "$tmp/out/Image" >"$tmp/out/Image.gz"
	fi

	# The modules: the directory given, else the one the .debs unpacked.
	if ((${#MODROOTS[@]})); then
		mods=("${MODROOTS[@]}")
	else
		for d in "$root"/usr/lib/modules/*/ "$root"/lib/modules/*/; do
			[[ -e $d/modules.builtin || -d $d/kernel ]] && mods+=("${d%/}")
		done
	fi
	((${#mods[@]} <= 1)) || { KERR="modules for several kernels: ${mods[*]#"$root"}"; rm -rf "$tmp"; return 1; }
	kv=$(strings -n 16 "$tmp/out/Image" | sed -n 's/^Linux version \([^ ]*\) .*/\1/p' | head -n 1)
	if ((${#mods[@]})); then
		d=${mods[0]}
		if [[ -n $kv && ${d##*/} != "$kv" ]]; then
			KERR="the modules (${d##*/}) are not the kernel's ($kv)"
			rm -rf "$tmp"
			return 1
		fi
		kv=${d##*/}
		[[ -f $d/config ]] && cp "$d/config" "$tmp/out/config"
		: >"$tmp/out/l0-modules/order"
		for m in "${STACK_L0_MODULES[@]}"; do
			if [[ -f $d/modules.builtin ]] && grep -q "/$m\.ko\$" "$d/modules.builtin"; then
				continue
			fi
			src=$(find "$d" -name "$m.ko" -o -name "$m.ko.*" | head -n 1)
			[[ -n $src ]] || continue
			case $src in
			*.xz) xz -dc "$src" ;;
			*.zst) zstd -q -dc "$src" ;;
			*.gz) gzip -dc "$src" ;;
			*) cat "$src" ;;
			esac >"$tmp/out/l0-modules/$m.ko" ||
				{ KERR="cannot decompress $src"; rm -rf "$tmp"; return 1; }
			echo "$m" >>"$tmp/out/l0-modules/order"
		done
	fi
	[[ -f $tmp/out/config ]] || for f in "$root"/boot/config-*; do [[ -f $f ]] && cp "$f" "$tmp/out/config"; done
	echo "${kv:-unknown}" >"$tmp/out/kernel-version"
	{
		for f in "${kfiles[@]}" "${MODFILES[@]}"; do
			if [[ $f == =dir:* ]]; then
				echo "modules directory ${f#=dir:}"
			else
				sum_of "$f"
				echo "$REPLY  $f"
			fi
		done
	} >"$tmp/out/sources"
	touch "$tmp/out/.done"
	rm -rf "$KDIR"
	mv "$tmp/out" "$KDIR" || { KERR="cannot create $KDIR"; rm -rf "$tmp"; return 1; }
	rm -rf "$tmp"
	KVER=${kv:-unknown}
}
