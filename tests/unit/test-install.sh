#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# "make install" and "make uninstall" into a scratch DESTDIR, as TAP: the
# binary and the man page land under $(DESTDIR)$(PREFIX), for the default
# PREFIX and for another one, and uninstall removes them.  Needs ./lkvm
# (the Makefile's check-unit builds it first); "-o lkvm" keeps make from
# rebuilding it from here.
top=$(cd "$(dirname "$0")/../.." && pwd)
unset MAKEFLAGS MFLAGS MAKELEVEL
n=0
fail=0

ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fail=1
	fi
}

if [ ! -x "$top/lkvm" ]; then
	echo "1..0 # SKIP no $top/lkvm (run make lkvm first)"
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "1..9"

inst() { make -s -C "$top" -o lkvm "$@" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; return 1; }; }

inst install DESTDIR="$tmp/a"
ok $? "make install DESTDIR=... succeeds"
[ -x "$tmp/a/usr/local/bin/lkvm" ] && cmp -s "$top/lkvm" "$tmp/a/usr/local/bin/lkvm"
ok $? "lkvm in \$(DESTDIR)/usr/local/bin, executable, identical to ./lkvm"
[ -f "$tmp/a/usr/local/share/man/man1/lkvm.1" ] && [ ! -x "$tmp/a/usr/local/share/man/man1/lkvm.1" ]
ok $? "lkvm.1 in \$(DESTDIR)/usr/local/share/man/man1, not executable"
[ -z "$(find "$tmp/a" -type f ! -name lkvm ! -name lkvm.1)" ]
ok $? "nothing else installed"

inst install DESTDIR="$tmp/b" PREFIX=/opt/lkvm
[ -x "$tmp/b/opt/lkvm/bin/lkvm" ] && [ -f "$tmp/b/opt/lkvm/share/man/man1/lkvm.1" ]
ok $? "PREFIX=/opt/lkvm: bin/lkvm and share/man/man1/lkvm.1 under it"

inst uninstall DESTDIR="$tmp/b" PREFIX=/opt/lkvm
[ ! -e "$tmp/b/opt/lkvm/bin/lkvm" ] && [ ! -e "$tmp/b/opt/lkvm/share/man/man1/lkvm.1" ]
ok $? "make uninstall removes both"

# The page is well-formed: groff reports no warnings at all (-ww).
if command -v groff >/dev/null 2>&1; then
	w=$(LC_ALL=C.UTF-8 groff -man -ww -z "$top/Documentation/lkvm.1" 2>&1)
	[ -z "$w" ] || echo "# $w"
	[ -z "$w" ]
	ok $? "groff -man -ww: no warnings in lkvm.1"
else
	n=$((n + 1)); echo "ok $n # SKIP no groff"
fi

# Every subcommand and every long option of "lkvm run" is in the page.
missing=""
for w in run check cpu list stop pause resume debug balloon stat version; do
	grep -q "^\.B[RI]* *$w\$\|^\.B lkvm $w" "$top/Documentation/lkvm.1" || missing="$missing $w"
done
[ -z "$missing" ] || echo "# subcommands not in lkvm.1:$missing"
[ -z "$missing" ]
ok $? "lkvm.1 names the subcommands"
# The options are the getopt tables of config.c and the arch's config.c
# (kvmtool's refused ones included: the page lists those too).
missing=""
opts=$(cat "$top/config.c" "$top"/*/config.c 2>/dev/null |
	sed -n 's/^\t{ "\([a-z0-9-]*\)",[[:space:]]*[a-z]*_argument,.*$/\1/p' | grep -vx help)
for o in $opts; do
	grep -q -- "\\\\-\\\\-$(echo "$o" | sed 's/-/\\\\-/g')" "$top/Documentation/lkvm.1" ||
		missing="$missing --$o"
done
if [ "$(echo $opts | wc -w)" -lt 10 ]; then
	n=$((n + 1)); echo "ok $n # SKIP run option tables not found in */config.c"
else
	[ -z "$missing" ] || echo "# run options not in lkvm.1:$missing"
	[ -z "$missing" ]
	ok $? "lkvm.1 has every run option of the config.c tables"
fi
exit $fail
