/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb apply: the check of a file (apply_check.c) and the plan and
 * commands (apply.c).
 */
#ifndef SLOTLB_CLI_APPLY_H
#define SLOTLB_CLI_APPLY_H

#include "cli.h"

/* "Error: apply: FILE: AT: <cause>", EXIT_USAGE. */
int apply_bad(const char *file, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The whole file, every value by slotlbd's own rules; 0 or EXIT_USAGE
 * after saying what is wrong and where. */
int apply_check_file(const char *file, json_t *root);

#endif /* SLOTLB_CLI_APPLY_H */
