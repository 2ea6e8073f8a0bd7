/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench_xdp's report: the machine and setup it ran on, then one row per
 * path with the cost net of the floor over the rounds (median, min, max),
 * the floor itself, and the ratio to Katran's anchor figure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "slotlb.h"
#include "bench_xdp.h"

static void cpu_model(char *buf, size_t len)
{
	char line[256], *colon;
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(buf, len, "unknown CPU");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) || !colon)
			continue;
		snprintf(buf, len, "%s", colon + 2);
		buf[strcspn(buf, "\n")] = '\0';
		break;
	}
	fclose(f);
}

void bench_print_header(const struct bench *b)
{
	struct utsname u = {};
	char cpu[128];

	uname(&u);
	cpu_model(cpu, sizeof(cpu));
	printf("slotlb XDP per-packet cost (BPF_PROG_TEST_RUN, repeat=1 per call)\n");
	printf("machine:     %ld CPUs, %s, kernel %s %s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), cpu, u.release, u.machine);
	printf("JIT:         on (bpf_jit_enable=%d, slotlb_xdp %u bytes native)\n",
	       b->jit_enable, b->jited_len);
	printf("deployment:  1 endpoint, %d backends; flow capacity %u flows (flows4 %u entries)\n",
	       LAB_BACKENDS, slotlb_flow_capacity(b->lb), b->flows_entries);
	printf("traffic:     2 more apps on their own endpoints with a 10/5 split and 4\n"
	       "             audience prefixes (bench_traffic.c), same backends\n");
	printf("slotlb_open: %.0f ms; memlock: flows4 %.1f MiB, reply_index %.1f MiB, flows_new %.1f MiB\n",
	       (double)b->open_ns / 1e6, (double)b->flows_memlock / 1048576.0,
	       (double)b->index_memlock / 1048576.0,
	       (double)b->new_memlock / 1048576.0);
	printf("method:      %u frames per path and round, %u rounds, pinned to CPU %d;\n"
	       "             fresh 5-tuples every round, tables never emptied;\n"
	       "             floor = XDP_TX program over the same frames, interleaved in\n"
	       "             chunks of 1000; every frame's verdict and reason verified\n",
	       b->n, b->rounds, b->cpu);
	fflush(stdout);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of n values; sorts them. */
static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), by_value);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void bench_print_results(const struct bench *b)
{
	double *net = calloc(b->rounds, sizeof(*net));
	double *floor = calloc(b->rounds, sizeof(*floor));
	const struct bench_path *p;
	unsigned int i, r;
	bool anchored = false;
	double med;

	if (!net || !floor)
		goto out;
	if (b->verbose) {
		printf("\nper round, net ns/packet (slotlb - floor):\n");
		for (i = 0; i < BENCH_PATH_MAX; i++) {
			if (!bench_timed(b, i))
				continue;
			printf("  %-28s", b->paths[i].name);
			for (r = 0; r < b->rounds; r++)
				printf(" %6.1f", b->samples[i][r].net);
			printf("\n");
		}
	}
	printf("\nflows spread over %u of %d backends; split app's new flows: production %.1f%%, staging %.1f%%, qa %.1f%%\n\n",
	       b->backends_used, LAB_BACKENDS, b->split_share[0],
	       b->split_share[1], b->split_share[2]);
	printf("%-28s %23s %9s %8s %7s\n", "", "net ns/packet", "floor",
	       "Katran", "ratio");
	printf("%-28s %7s %7s %7s %9s %8s %7s\n", "path", "median", "min",
	       "max", "ns/packet", "anchor", "");
	for (i = 0; i < BENCH_PATH_MAX; i++) {
		p = &b->paths[i];
		if (!bench_timed(b, i))
			continue;
		for (r = 0; r < b->rounds; r++) {
			net[r] = b->samples[i][r].net;
			floor[r] = b->samples[i][r].floor;
		}
		med = median(net, b->rounds);
		printf("%-28s %7.1f %7.1f %7.1f %9.1f", p->name, med, net[0],
		       net[b->rounds - 1], median(floor, b->rounds));
		anchored |= p->anchor > 0;
		if (p->anchor > 0)
			printf(" %8.0f %7.2f\n", p->anchor, med / p->anchor);
		else
			printf(" %8s %7s\n", "-", "-");
	}
	if (anchored)
		printf("(Katran anchor: issue 10's figures, from another host; side by side\n"
		       " on one host Katran measured 1.05-1.4x them: docs/PERFORMANCE.md, section 1)\n");
	bench_traffic_report(b, median);
	bench_dsr_report(b, median);
out:
	free(net);
	free(floor);
}
