/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Fuzz target: slotlbd's config file and command line
 * (user/slotlbd/options.c) and the API token file (auth.c). The input
 * is the config file; its first line, split at spaces, is also given as
 * command-line options, and the whole input is parsed as a token file.
 * Whatever comes in, parsing ends in 0 or EXIT_USAGE, and an accepted
 * token file holds valid tokens.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "auth.h"
#include "fuzz.h"
#include "options.h"

#define MAX_ARGS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), *line, *save, *tok, path[64];
	static struct options o;
	static struct auth_tokens t;
	char *argv[MAX_ARGS + 4];
	int argc = 0, fd, devnull, saved, rc, ln;
	const char *why;
	size_t i;

	rc = auth_tokens_parse((const char *)data, size, &t, &ln, &why);
	if (!rc)
		for (i = 0; i < t.n; i++)
			FUZZ_ASSERT(t.t[i].len >= AUTH_TOKEN_MIN &&
				    t.t[i].len <= AUTH_TOKEN_MAX);
	else
		FUZZ_ASSERT(why && *why);

	fd = memfd_create("slotlbd.conf", MFD_CLOEXEC);
	FUZZ_ASSERT(fd >= 0);
	FUZZ_ASSERT(write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	argv[argc++] = "slotlbd";
	line = strtok_r(s, "\n", &save);
	for (tok = line ? strtok_r(line, " ", &save) : NULL;
	     tok && argc < MAX_ARGS; tok = strtok_r(NULL, " ", &save))
		if (strcmp(tok, "--help") && strcmp(tok, "-h") &&
		    strncmp(tok, "--config", 8))
			argv[argc++] = tok;
	argv[argc++] = "--config";
	argv[argc++] = path;
	argv[argc] = NULL;

	/* errors are the point here: keep them off the fuzzer's output */
	devnull = open("/dev/null", O_WRONLY);
	saved = dup(2);
	dup2(devnull, 2);
	rc = options_parse(&o, argc, argv);
	/* without groups, options_check() asks no name service */
	if (!rc && !o.socket_group[0] && !o.readonly_group[0])
		rc = options_check(&o);
	if (!rc) {
		static FILE *null_out;

		if (!null_out)
			null_out = fopen("/dev/null", "w");
		if (null_out)
			options_print(&o, null_out);
	}
	dup2(saved, 2);
	close(saved);
	close(devnull);
	FUZZ_ASSERT(rc == 0 || rc == EXIT_USAGE);
	close(fd);
	free(s);
	return 0;
}
