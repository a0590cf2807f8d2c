# check-timeout: 400
# shellcheck shell=sh disable=SC3043 # ash has local
# virtio-balloon (--balloon): memory the guest frees goes back to L0.  An
# L1 guest fills 96 MiB of a tmpfs and removes it; at each mark
# (guest/scripts/balloon) L0 reads lkvm's VmRSS, which must rise by most of
# the 96 MiB when filled and fall again by most of it once the guest's free
# page reporting has run (VIRTIO_BALLOON_F_REPORTING: no host command
# involved).  Then a guest without reporting (--balloon=no-report, so that
# what it frees stays resident; Linux 7.3 refuses a page_reporting_order
# above MAX_PAGE_ORDER, so the guest can't turn it off itself) is told "lkvm balloon -n inflate --inflate 96" over the control
# socket: its MemTotal shrinks by most of 96 MiB and lkvm's RSS falls by
# most of it.

# At each mark, lkvm's VmRSS (KiB) into $ART/rss-NAME.txt as "mark kib".
RSS_FILE=
on_line() {
	local m pid kib
	case $1 in
	*"GUEST: balloon mark "*)
		m=${1#*GUEST: balloon mark }
		m=${m%% *}
		read -r pid <"$ART/$GUEST_NAME.pid"
		kib=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB.*/\1/p' "/proc/$pid/status")
		echo "$m $kib" >>"$RSS_FILE"
		if [ "$m" = wait-inflate ]; then
			"${LKVM:-lkvm}" balloon -n "$GUEST_NAME" --inflate 96 >"$ART/balloon.log" 2>&1
			echo $? >"$ART/balloon.status"
		fi
		;;
	esac
}

# rss MARK: the KiB recorded at MARK.
rss() {
	sed -n "s/^$1 \([0-9]*\)$/\1/p" "$RSS_FILE" | head -n 1
}

RSS_FILE=$ART/rss-report.txt
: >"$RSS_FILE"
react_guest report 200 -k /guest/Image -i /guest/l1.cpio -m 256 -c 1 --loglevel info \
	--balloon -p "quiet lkvm.script=balloon"
expect_exit "lkvm --balloon exits 0 after the guest powers off" 0
expect_saw "guest loaded virtio_balloon" 'GUEST: balloon modules ok'
expect_saw "the driver bound the device" 'GUEST: balloon driver ok'
base=$(rss base)
filled=$(rss filled)
freed=$(rss freed)
note "$CHECK: lkvm VmRSS (KiB): base ${base:-?}, 96 MiB filled ${filled:-?}, freed ${freed:-?}"
if [ -z "$base" ] || [ -z "$filled" ] || [ -z "$freed" ]; then
	tap_not_ok "L0 read lkvm's RSS at every mark" "$(cat "$RSS_FILE")"
else
	expect_range "filling 96 MiB raises lkvm's RSS by most of it (KiB)" \
		$((filled - base)) $((64 * 1024)) $((160 * 1024))
	expect_range "freeing it gives most of it back to L0: lkvm's RSS falls (KiB)" \
		$((filled - freed)) $((64 * 1024)) $((1024 * 1024))
fi
line=$(tr -d '\r' <"$GUEST_LOG" | grep -m 1 'virtio-balloon: .* free page reports')
reported=$(echo "$line" | sed -n 's/.*free page reports (\([0-9]*\) MiB).*/\1/p')
expect_range "lkvm counted the free page reports (MiB reported)" "${reported:-none}" 64 100000
note "$CHECK: $line"

if ! "${LKVM:-lkvm}" balloon --help >/dev/null 2>&1; then
	tap_skip "lkvm balloon --inflate 96: lkvm's RSS falls by most of it" \
		"this lkvm has no balloon command yet (the control plane's)"
else
	RSS_FILE=$ART/rss-inflate.txt
	: >"$RSS_FILE"
	react_guest inflate 200 -k /guest/Image -i /guest/l1.cpio -m 256 -c 1 --loglevel info \
		--balloon=no-report --name inflate -p "quiet lkvm.script=balloon lkvm.balloon.inflate=96"
	expect_exit "inflate: lkvm exits 0 after the guest powers off" 0
	expect_eq "inflate: lkvm balloon -n inflate --inflate 96 exits 0" \
		"$(cat "$ART/balloon.status" 2>/dev/null)" 0
	expect_saw "inflate: the guest's MemTotal shrinks by most of 96 MiB" \
		'GUEST: balloon inflate seen'
	before=$(rss wait-inflate)
	after=$(rss inflated)
	note "$CHECK: inflate: lkvm VmRSS (KiB) ${before:-?} before, ${after:-?} after"
	if [ -z "$before" ] || [ -z "$after" ]; then
		tap_not_ok "inflate: L0 read lkvm's RSS before and after" "$(cat "$RSS_FILE")"
	else
		expect_range "inflate: lkvm's RSS falls by most of the 96 MiB (KiB)" \
			$((before - after)) $((64 * 1024)) $((1024 * 1024))
	fi
fi
