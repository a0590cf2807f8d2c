# check-timeout: 600
# shellcheck shell=sh disable=SC3043 # ash has local
# virtio-9p (--9p DIR,TAG): an L1 guest mounts an L0 directory with Linux's
# v9fs (9P2000.L), reads a file L0 wrote, writes one L0 reads back, builds
# and tears down a small tree, and tries the ways out of the share: L0
# planted symlinks to a file beside it (absolute, relative, through
# /proc/self/root), the guest tries "..", and a hard link out.  The L0 file
# must come out untouched and the guest must never see its content.  A
# second share, ,ro, refuses writes.  Then the figure for the note: a
# P9_BENCH_MIB (default 16; issue 13 asks for 64, make check has no time) MiB
# file on an L0 tmpfs read sequentially over 9p and, as a virtio-blk disk,
# from the same tmpfs.  Last, malformed --9p values exit 2.

base=/tmp/9p
rm -rf $base
mkdir -p $base/share $base/ro
echo "L0 SECRET" >$base/secret
chmod 600 $base/secret
echo "hello from L0" >$base/share/hello
echo "read only" >$base/ro/hello
ln -s $base/secret $base/share/abs
ln -s ../secret $base/share/rel
ln -s /proc/self/root$base/secret $base/share/proc
dd if=/dev/urandom of=$base/share/big bs=1M count=4 2>/dev/null
big_sum=$(md5sum <$base/share/big)
big_sum=${big_sum%% *}
secret_sum=$(md5sum <$base/secret)

# A guest step stuck (guest/scripts/9p gives up after 120 s): lkvm's threads, for the diagnosis.
on_line() {
	local pid t
	case $1 in
	*"GUEST: 9p stuck "*)
		read -r pid <"$ART/$GUEST_NAME.pid"
		for t in "/proc/$pid/task/"*; do
			echo "== $(cat "$t/comm") $(cat "$t/wchan" 2>/dev/null)"
			cat "$t/stack" 2>/dev/null
		done >"$ART/$GUEST_NAME.stacks"
		;;
	esac
}

react_guest 9p 200 -k /guest/Image -i /guest/l1.cpio -m 256 -c 1 --loglevel info \
	--9p $base/share,hostshare --9p $base/ro,roshare,ro \
	-p "quiet lkvm.script=9p lkvm.9p=hostshare lkvm.9pro=roshare"
expect_exit "lkvm exits 0 after the guest powers off (two --9p shares)" 0
expect_saw "lkvm logs the share and its tag" "virtio-9p: $base/share as tag hostshare$"
expect_saw "lkvm logs the read-only share" "virtio-9p: $base/ro as tag roshare, read-only"
expect_saw "guest loaded netfs, 9pnet, 9pnet_virtio, 9p" 'GUEST: 9p modules ok'
expect_saw "guest mounts the share by its tag (9P2000.L, msize 512 KiB)" 'GUEST: 9p mount ok'
expect_saw "guest reads the file L0 wrote" 'GUEST: 9p read hello from L0'
expect_saw "guest writes a file" 'GUEST: 9p write ok'
expect_eq "L0 reads back what the guest wrote" "$(cat $base/share/from-guest 2>&1)" \
	"written by the guest"
expect_saw "guest reads L0's 4 MiB file intact (msize-sized reads)" "GUEST: 9p big-read md5=$big_sum"
line=$(tr -d '\r' <"$GUEST_LOG" | grep -m 1 'GUEST: 9p big-write ')
gsum=$(_field "${line#*big-write}" md5)
expect_eq "guest writes 4 MiB and reads it back intact" "$(_field "${line#*big-write}" readback)" \
	"${gsum:-none}"
s=$(md5sum <$base/share/gbig)
expect_eq "L0 reads the guest's 4 MiB intact" "${s%% *}" "${gsum:-none}"
if guest_saw 'GUEST: 9p stuck'; then
	tap_not_ok "no guest step got stuck" "$(grep -a 'GUEST: 9p stuck\|GUEST: 9p dmesg' "$GUEST_LOG")" \
		"$(cat "$ART/9p.stacks" 2>/dev/null)"
fi
expect_saw "guest makes, renames and removes a directory, a symlink, truncates, chmods" \
	'GUEST: 9p tree ok'
expect_saw "guest lists the share" 'GUEST: 9p ls .*abs .*big .*from-guest .*gbig .*hello .*proc .*rel'

# Ways out: the guest resolves the symlinks in its own namespace (where
# there is no such file), a hard link across mounts is EXDEV, ".." of the
# mount is the guest's own /.
for l in abs rel proc; do
	expect_saw "escape: reading the L0 symlink '$l' does not reach L0's file" \
		"GUEST: 9p escape read-$l: .*No such file or directory"
done
expect_saw "escape: a hard link out of the share fails (EXDEV)" \
	'GUEST: 9p escape link-out: .*Invalid cross-device link'
expect_saw "escape: .. of the mount point is the guest's own /" \
	'GUEST: 9p escape dotdot: /[[:space:]]*$'
if guest_saw 'L0 SECRET'; then
	tap_not_ok "the guest never saw the content of the file outside the share" \
		"$(grep -n 'L0 SECRET' "$GUEST_LOG")"
else
	tap_ok "the guest never saw the content of the file outside the share"
fi
expect_eq "the L0 file outside the share is untouched (content)" \
	"$(md5sum <$base/secret)" "$secret_sum"
expect_eq "nothing new appeared beside the share" "$(ls $base | tr '\n' ' ')" "ro secret share "
expect_eq "the planted symlink is still a symlink to the same place" \
	"$(readlink $base/share/abs)" "$base/secret"

expect_saw "the ,ro share: the guest reads it, its write is refused" \
	'GUEST: 9p ro write=refused read=read only'
expect_eq "the ,ro share: nothing was written" "$(ls $base/ro | tr '\n' ' ')" "hello "
# lkvm's exit log: the guest's driver never sent anything the server couldn't parse.
line=$(tr -d '\r' <"$GUEST_LOG" | grep -m 1 'virtio-9p hostshare: [0-9]* requests')
expect_contains "Linux's v9fs sent nothing malformed (lkvm's exit log)" "$line" " 0 malformed"
note "$CHECK: $line"

# The benchmark: one file on a tmpfs, over 9p and as a disk.  Linux 7.3's
# v9fs reads it 4 KiB at a time (~1.6 ms a round trip here): 16 MiB ~7 s.
mib=${P9_BENCH_MIB:-16}
mkdir -p /tmp/9pbench
mount -t tmpfs -o size=$((mib + 16))m tmpfs /tmp/9pbench
dd if=/dev/zero of=/tmp/9pbench/big.img bs=1M count="$mib" 2>/dev/null
react_guest 9p-bench 200 -k /guest/Image -i /guest/l1.cpio -m 256 -c 1 --loglevel info \
	--9p /tmp/9pbench,bench -d /tmp/9pbench/big.img,ro \
	-p "quiet lkvm.script=9p lkvm.9p=bench lkvm.9pbench=big.img"
expect_exit "bench: lkvm exits 0" 0
line=$(tr -d '\r' <"$GUEST_LOG" | grep -m 1 'GUEST: 9p bench 9p=')
if guest_saw 'GUEST: 9p stuck'; then
	tap_not_ok "bench: no read got stuck" "$(grep -a 'GUEST: 9p stuck\|GUEST: 9p dmesg' "$GUEST_LOG")" \
		"$(cat "$ART/9p-bench.stacks" 2>/dev/null)"
fi
if [ -z "$line" ]; then
	tap_not_ok "bench: the guest read the $mib MiB file over 9p and virtio-blk" "no 'GUEST: 9p bench' line"
else
	tap_ok "bench: the guest read the $mib MiB file over 9p and virtio-blk"
	f=" ${line#*bench }"
	srv=$(tr -d '\r' <"$GUEST_LOG" | sed -n 's/.*virtio-9p bench: \([0-9]*\) requests .*/\1/p')
	note "$CHECK: sequential read of $mib MiB on an L0 tmpfs, 1 MiB reads, 1 vCPU:" \
		"9p $(awk -v m="$mib" -v s="$(_field "$f" 9p)" 'BEGIN { printf "%.1f", m / s }') MB/s ($(_field "$f" 9p) s," \
		"${srv:-?} requests: Linux's v9fs reads a page per zero-copy Tread)," \
		"virtio-blk O_DIRECT $(awk -v m="$mib" -v s="$(_field "$f" blk)" 'BEGIN { printf "%.1f", m / s }') MB/s ($(_field "$f" blk) s)"
	note "$CHECK: $(tr -d '\r' <"$GUEST_LOG" | grep -m 1 'virtio-9p bench: ')"
fi
umount /tmp/9pbench
rm -rf $base

# The command line (2, before /dev/kvm), then the guest's files (2, after the host checks).
expect_refused "--9p without a tag is refused" 2 '--9p /tmp: expected DIR,TAG' \
	no-tag 30 -k /guest/Image --9p /tmp
expect_refused "--9p with a 33-byte tag is refused" 2 'longer than 32 bytes' \
	long-tag 30 -k /guest/Image --9p /tmp,a23456789012345678901234567890123
expect_refused "--9p naming a missing directory is refused with its name" 2 \
	'--9p /nonexistent: No such file' missing-dir 30 -k /guest/Image --9p /nonexistent,t
expect_refused "--9p naming a file is refused: not a directory" 2 \
	'--9p /guest/Image: not a directory' file-dir 30 -k /guest/Image --9p /guest/Image,t
