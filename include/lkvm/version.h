/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The version of this build: "git describe --always --dirty" when it was
 * linked, or "unknown" outside a git tree.  The Makefile generates its
 * one definition into $(BUILD)/version.c and rewrites that file only when
 * the string changes, so a new HEAD recompiles one object and relinks.
 */
#ifndef LKVM_VERSION_H
#define LKVM_VERSION_H

extern const char lkvm_version[];

#endif /* LKVM_VERSION_H */
