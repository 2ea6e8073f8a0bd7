/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench_xdp under a profiler (tools/bench/profile/run.sh). perf record,
 * started with its events disabled and a control FIFO (--control
 * fd:CTL,ACK), is told to sample only while slotlb's timed loops run;
 * the program's jited line table then maps each sample to the source
 * line it came from. Both come from the environment, so a plain run is
 * untouched:
 *
 *   BENCH_PERF_CTL=CTL,ACK  perf's control and ack descriptors,
 *                           inherited from the script
 *   BENCH_LINES=FILE        write "address<TAB>file:line<TAB>source"
 *                           for each line of the slotlb program
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "bench_xdp.h"

int bench_profile_init(struct bench *b)
{
	const char *ctl = getenv("BENCH_PERF_CTL");
	char *end;
	long c, a;

	b->perf_ctl = b->perf_ack = -1;
	if (!ctl || !*ctl)
		return 0;
	c = strtol(ctl, &end, 10);
	if (end == ctl || *end != ',')
		goto bad;
	a = strtol(end + 1, &end, 10);
	if (*end || c < 0 || a < 0 || c > 1024 || a > 1024)
		goto bad;
	b->perf_ctl = (int)c;
	b->perf_ack = (int)a;
	return 0;
bad:
	return bench_fail(b, -EINVAL,
			  "BENCH_PERF_CTL '%s': want CTL,ACK (two descriptors)",
			  ctl);
}

/* Tell perf to sample (on) or stop, and wait for its ack. */
int bench_profile_sample(struct bench *b, bool on)
{
	const char *cmd = on ? "enable\n" : "disable\n";
	char ack[8];
	ssize_t n;

	if (b->perf_ctl < 0)
		return 0;
	if (write(b->perf_ctl, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		return bench_fail(b, -errno, "perf control: %s",
				  strerror(errno));
	n = read(b->perf_ack, ack, sizeof(ack) - 1);
	if (n <= 0)
		return bench_fail(b, n ? -errno : -EPIPE, "perf ack: %s",
				  n ? strerror(errno) : "closed");
	return 0;
}

/* The slotlb program's jited address of each source line. */
int bench_profile_lines(struct bench *b)
{
	const char *path = getenv("BENCH_LINES");
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), n, rs, i;
	struct btf *btf = NULL;
	__u64 *jited = NULL;
	void *lines = NULL;
	FILE *f = NULL;
	int err;

	if (!path || !*path)
		return 0;
	if (bpf_obj_get_info_by_fd(b->prog_fd, &info, &len))
		return bench_fail(b, -errno, "program info: %s",
				  strerror(errno));
	n = info.nr_line_info;
	rs = info.line_info_rec_size;
	if (!n || info.nr_jited_line_info != n ||
	    info.jited_line_info_rec_size != sizeof(__u64))
		return bench_fail(b, -ENODATA,
				  "program has no jited line info (JIT off?)");
	lines = calloc(n, rs);
	jited = calloc(n, sizeof(*jited));
	if (!lines || !jited) {
		err = bench_fail(b, -ENOMEM, "line info: out of memory");
		goto out;
	}
	memset(&info, 0, sizeof(info));
	info.nr_line_info = n;
	info.line_info_rec_size = rs;
	info.line_info = (__u64)(unsigned long)lines;
	info.nr_jited_line_info = n;
	info.jited_line_info_rec_size = sizeof(__u64);
	info.jited_line_info = (__u64)(unsigned long)jited;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(b->prog_fd, &info, &len)) {
		err = bench_fail(b, -errno, "line info: %s", strerror(errno));
		goto out;
	}
	btf = btf__load_from_kernel_by_id(info.btf_id);
	if (!btf) {
		err = bench_fail(b, -errno, "program BTF: %s", strerror(errno));
		goto out;
	}
	f = fopen(path, "w");
	if (!f) {
		err = bench_fail(b, -errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct bpf_line_info *l =
			(const void *)((const char *)lines + (size_t)i * rs);
		const char *file = btf__name_by_offset(btf, l->file_name_off);
		const char *src = btf__name_by_offset(btf, l->line_off);
		const char *base = file ? strrchr(file, '/') : NULL;

		fprintf(f, "%llx\t%s:%u\t%s\n", (unsigned long long)jited[i],
			base   ? base + 1
			: file ? file
			       : "?",
			BPF_LINE_INFO_LINE_NUM(l->line_col), src ? src : "");
	}
	err = fclose(f) ? bench_fail(b, -errno, "%s: %s", path, strerror(errno))
			: 0;
out:
	btf__free(btf);
	free(jited);
	free(lines);
	return err;
}
