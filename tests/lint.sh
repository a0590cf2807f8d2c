#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# "make lint" as one TAP test, so that "make check" (prove) reports it
# beside the unit and system tests instead of stopping before them.  The
# findings, if any, are printed as TAP diagnostics.  Off with LINT=0.
top=$(cd "$(dirname "$0")/.." && pwd)
unset MAKEFLAGS MFLAGS MAKELEVEL
echo "1..1"
out=$(make -s --no-print-directory -C "$top" lint 2>&1)
rc=$?
printf '%s\n' "$out" | grep -v -e '^LINT_CFLAGS=' -e '^make: \*\*\*' | sed 's/^/# /'
if [ $rc -eq 0 ]; then
	echo "ok 1 - make lint: cppcheck and clang-tidy clean"
else
	echo "not ok 1 - make lint: cppcheck and clang-tidy clean (exit status $rc)"
fi
