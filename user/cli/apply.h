/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb apply: the check of a file (apply_check.c) and the plan and
 * commands (apply.c).
 */
#ifndef SLOTLB_CLI_APPLY_H
#define SLOTLB_CLI_APPLY_H

#include "cli.h"

/* One API call of a plan. */
struct step {
	char what[512]; /* for people */
	const char *method;
	char *path;
	json_t *body;
};

struct plan {
	struct step *steps;
	size_t n;
	bool prune;
	int rc; /* EXIT_USAGE once a problem was reported */
};

/* apply.c: append a step (path and body are the plan's now). */
void add_step(struct plan *p, const char *method, char *path, json_t *body,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* o[key] as a number, or dflt when absent. */
double num(json_t *o, const char *key, double dflt);

/* apply_policy.c: the steps that give slot of app the health, drain
 * and verification policies of want (the file's slot) where have (the
 * daemon's, as exported; NULL for a new slot) differs. A key the file
 * leaves out keeps what is there. */
void plan_policies(struct plan *p, const char *app, const char *slot,
		   json_t *want, json_t *have);

/* "Error: apply: FILE: AT: <cause>", EXIT_USAGE. */
int apply_bad(const char *file, const char *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The whole file, every value by slotlbd's own rules; 0 or EXIT_USAGE
 * after saying what is wrong and where. */
int apply_check_file(const char *file, json_t *root);

#endif /* SLOTLB_CLI_APPLY_H */
