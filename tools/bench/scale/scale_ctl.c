// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The control-plane half of the scale benchmark: Maglev table build time
 * for 10, 100 and 1000 backends (the pure build, and the whole publish:
 * build, inner map create and fill, freeze, reference), and the latency
 * of one routing element update (a swap) with 1 app against 1000 apps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "slotlb.h"
#include "maglev.h"
#include "scale.h"

#define MAX_BACKENDS 1000
#define RUNS_MAX 64
#define PUBLISH_ID 100 /* deployment id republished by the runs */

static void backend_of(struct slotlb_backend *be, unsigned int i)
{
	memset(be, 0, sizeof(*be));
	/* 10.30.0.0/16: addresses only, never routed to */
	be->addr[0] = htonl(0x0a1e0000U + 1 + i);
	be->port = htons(8080);
	be->family = AF_INET;
}

static void print_row(const char *what, unsigned int n, double *ms,
		      unsigned int runs, double base)
{
	struct scale_stat s = scale_stat(ms, runs);

	printf("| %s | %u | %.2f | %.2f | %.2f | %.1fx |\n", what, n, s.med,
	       s.min, s.max, base > 0 ? s.med / base : 1.0);
}

int scale_maglev(struct slotlb *lb, unsigned int runs)
{
	static const unsigned int sizes[] = {10, 100, 1000};
	struct slotlb_deployment_info info = {.app_id = 1};
	struct slotlb_backend bes[MAX_BACKENDS];
	struct maglev_backend mb[MAX_BACKENDS];
	uint32_t ids[MAX_BACKENDS], *table = NULL;
	double build[3][RUNS_MAX], publish[3][RUNS_MAX];
	double base_build = 0, base_publish = 0;
	unsigned int i, s, r;
	uint64_t t;
	int err = 0;

	table = calloc(SLOTLB_RING_SIZE, sizeof(*table));
	if (!table)
		return -ENOMEM;
	for (i = 0; !err && i < MAX_BACKENDS; i++) {
		backend_of(&bes[i], i);
		mb[i] = (struct maglev_backend){&bes[i], sizeof(bes[i]), 1};
		ids[i] = 1000 + i; /* clear of the lab's backend ids */
		err = slotlb_backend_set(lb, ids[i], &bes[i]);
	}
	snprintf(info.version, sizeof(info.version), "scale");
	/* Sizes interleaved within each run: drift hits all alike. */
	for (r = 0; !err && r < runs; r++) {
		for (s = 0; !err && s < 3; s++) {
			t = scale_now_ns();
			err = maglev_build(mb, sizes[s], table,
					   SLOTLB_RING_SIZE);
			build[s][r] = (scale_now_ns() - t) / 1e6;
			info.backend_count = sizes[s];
			t = scale_now_ns();
			if (!err)
				err = slotlb_deployment_publish(lb, PUBLISH_ID,
								&info, ids,
								NULL, sizes[s]);
			publish[s][r] = (scale_now_ns() - t) / 1e6;
		}
	}
	if (!err)
		err = slotlb_deployment_remove(lb, PUBLISH_ID);
	free(table);
	if (err)
		return err;
	printf("\nMaglev table (%u entries), ms, median of %u runs:\n\n",
	       SLOTLB_RING_SIZE, runs);
	printf("| what | backends | median | min | max | vs 10 |\n");
	printf("|---|---|---|---|---|---|\n");
	for (s = 0; s < 3; s++) {
		print_row("maglev_build()", sizes[s], build[s], runs,
			  base_build);
		if (!s)
			base_build = scale_stat(build[0], runs).med;
	}
	for (s = 0; s < 3; s++) {
		print_row("slotlb_deployment_publish()", sizes[s], publish[s],
			  runs, base_publish);
		if (!s)
			base_publish = scale_stat(publish[0], runs).med;
	}
	return 0;
}

/* runs updates of app 0's routing element, flipping its deployment. */
static int time_swaps(struct slotlb *lb, double *us, unsigned int runs)
{
	struct slotlb_routing r = {};
	unsigned int i;
	uint64_t t;
	int err;

	for (i = 0; i < runs; i++) {
		r.deployment[0] = 1;
		r.deployment[1] = 1;
		r.generation = i;
		t = scale_now_ns();
		err = slotlb_routing_set(lb, 0, &r);
		us[i] = (scale_now_ns() - t) / 1e3;
		if (err)
			return err;
	}
	return 0;
}

/* Apps 1..apps-1: a routing element and a TCP endpoint each. */
static int add_apps(struct slotlb *lb, unsigned int apps)
{
	struct slotlb_endpoint_key ek = {
		.port = htons(80), .proto = IPPROTO_TCP, .family = AF_INET};
	struct slotlb_endpoint ep = {};
	struct slotlb_routing r = {};
	unsigned int a;
	int err = 0;

	r.deployment[0] = 1;
	for (a = 1; !err && a < apps; a++) {
		err = slotlb_routing_set(lb, a, &r);
		ek.addr[0] = htonl(0xc6336400U + a); /* 198.51.100.0/22 */
		ep.app_id = a;
		ep.endpoint_id = 100 + a;
		if (!err)
			err = slotlb_endpoint_set(lb, &ek, &ep);
	}
	return err;
}

int scale_swap(struct slotlb *lb, unsigned int runs, unsigned int apps)
{
	double *one, *many;
	struct scale_stat s1, sn;
	int err = -ENOMEM;

	one = calloc(runs, sizeof(*one));
	many = calloc(runs, sizeof(*many));
	if (!one || !many)
		goto out;
	err = time_swaps(lb, one, runs);
	if (!err)
		err = add_apps(lb, apps);
	if (!err)
		err = time_swaps(lb, many, runs);
	if (err)
		goto out;
	s1 = scale_stat(one, runs);
	sn = scale_stat(many, runs);
	printf("\nSwap = slotlb_routing_set() (routing pool write, one "
	       "8-byte store), us, %u updates each:\n\n",
	       runs);
	printf("| apps configured | median | min | max | vs 1 app |\n");
	printf("|---|---|---|---|---|\n");
	printf("| 1 | %.1f | %.1f | %.1f | 1.00x |\n", s1.med, s1.min, s1.max);
	printf("| %u | %.1f | %.1f | %.1f | %.2fx |\n", apps, sn.med, sn.min,
	       sn.max, sn.med / s1.med);
out:
	free(one);
	free(many);
	return err;
}
