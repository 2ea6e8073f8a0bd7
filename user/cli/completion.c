/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `slotlb --completion bash`: the bash completion script, written from
 * the tables that parse the command line (objects[], each command's
 * options as parse_args sees them, the value words of its usage line),
 * so a command added to a table completes without anyone touching this
 * file. tests/unit/test_completion.sh checks the script against --help.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Names end up in the script unquoted inside '': keep them plain. */
static bool plain(const char *s)
{
	return *s &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(s);
}

/* The word after "--NAME" in a usage string, brackets stripped, into
 * buf; "" if none. */
static void usage_arg(const char *usage, const char *name, char *buf,
		      size_t len)
{
	char pat[80];
	const char *p = usage, *end;

	buf[0] = 0;
	snprintf(pat, sizeof(pat), "--%s ", name);
	while ((p = strstr(p, pat))) {
		/* a whole word: start of string, ' ' or '[' before it */
		if (p == usage || p[-1] == ' ' || p[-1] == '[')
			break;
		p++;
	}
	if (!p)
		return;
	p += strlen(pat);
	end = p + strcspn(p, " ]");
	snprintf(buf, len, "%.*s", (int)(end - p), p);
}

/* "public|backend" -> "public backend"; anything else (a placeholder
 * such as NAME or ADDR:PORT) -> "", free text. */
static void value_words(const char *arg, char *out, size_t len)
{
	size_t i;

	out[0] = 0;
	if (!strchr(arg, '|') ||
	    strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789-|") !=
		    strlen(arg) ||
	    strlen(arg) >= len)
		return;
	for (i = 0; arg[i]; i++)
		out[i] = arg[i] == '|' ? ' ' : arg[i];
	out[i] = 0;
}

/* The first positional placeholder of a usage line (e.g. IFNAME). */
static void first_arg(const char *usage, char *out, size_t len)
{
	size_t n = strcspn(usage, " ");

	out[0] = 0;
	if (n && n < len && usage[0] >= 'A' && usage[0] <= 'Z')
		snprintf(out, len, "%.*s", (int)n, usage);
}

static int print_cmd_tables(const char *key, const struct cmd *c, FILE *opts,
			    FILE *vals, FILE *args)
{
	char *argv[] = {NULL};
	char arg[64], words[128];
	size_t i;

	opt_probe = (struct opt_probe){.on = true};
	c->func(0, argv);
	if (!opt_probe.called) {
		p_err("slotlb: completion: '%s' does not parse its options "
		      "with parse_args",
		      key);
		return EXIT_USAGE;
	}
	fprintf(opts, "\t['%s']='", key);
	for (i = 0; i < opt_probe.n; i++) {
		if (!plain(opt_probe.names[i])) {
			p_err("slotlb: completion: '%s': bad option name", key);
			return EXIT_USAGE;
		}
		fprintf(opts, "--%s ", opt_probe.names[i]);
		if (!opt_probe.has_arg[i])
			continue;
		usage_arg(c->usage, opt_probe.names[i], arg, sizeof(arg));
		value_words(arg, words, sizeof(words));
		fprintf(vals, "\t['%s --%s']='%s'\n", key, opt_probe.names[i],
			words);
	}
	fprintf(opts, "--help'\n");
	first_arg(c->usage, arg, sizeof(arg));
	if (arg[0] && strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == strlen(arg))
		fprintf(args, "\t['%s']='%s'\n", key, arg);
	return 0;
}

/* The function itself; the tables above it say what to complete. */
static const char bash_function[] =
	"_slotlb()\n"
	"{\n"
	"\tlocal word=${COMP_WORDS[COMP_CWORD]} cur prev i w obj key npos=0\n"
	"\n"
	"\tCOMPREPLY=()\n"
	"\t# COMP_WORDBREAKS splits --opt=value into --opt, = and value.\n"
	"\tif [ \"$word\" = = ]; then\n"
	"\t\tcur= prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
	"\telif [ \"${COMP_WORDS[COMP_CWORD - 1]}\" = = ]; then\n"
	"\t\tcur=$word prev=${COMP_WORDS[COMP_CWORD - 2]}\n"
	"\telse\n"
	"\t\tcur=$word prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
	"\tfi\n"
	"\t# global options come before the object\n"
	"\ti=1\n"
	"\twhile [ \"$i\" -lt \"$COMP_CWORD\" ]; do\n"
	"\t\tw=${COMP_WORDS[i]}\n"
	"\t\tcase $w in\n"
	"\t\t--socket | -o | --completion)\n"
	"\t\t\t[ \"${COMP_WORDS[i + 1]}\" = = ] && i=$((i + 1))\n"
	"\t\t\ti=$((i + 2))\n"
	"\t\t\t;;\n"
	"\t\t-*) i=$((i + 1)) ;;\n"
	"\t\t*) break ;;\n"
	"\t\tesac\n"
	"\tdone\n"
	"\tif [ \"$i\" -ge \"$COMP_CWORD\" ]; then\n"
	"\t\tcase $prev in\n"
	"\t\t--socket) mapfile -t COMPREPLY < <(compgen -f -- \"$cur\") ;;\n"
	"\t\t-o) mapfile -t COMPREPLY < <(compgen -W 'table json' -- \"$cur\") "
	";;\n"
	"\t\t--completion) mapfile -t COMPREPLY < <(compgen -W bash -- "
	"\"$cur\") ;;\n"
	"\t\t-*) mapfile -t COMPREPLY < <(compgen -W \"$_slotlb_global\" -- "
	"\"$cur\") ;;\n"
	"\t\t*)\n"
	"\t\t\tif [[ $cur == -* ]]; then\n"
	"\t\t\t\tmapfile -t COMPREPLY < <(compgen -W \"$_slotlb_global\" -- "
	"\"$cur\")\n"
	"\t\t\telse\n"
	"\t\t\t\tmapfile -t COMPREPLY < <(compgen -W \"$_slotlb_objects\" -- "
	"\"$cur\")\n"
	"\t\t\tfi\n"
	"\t\t\t;;\n"
	"\t\tesac\n"
	"\t\treturn 0\n"
	"\tfi\n"
	"\tobj=${COMP_WORDS[i]}\n"
	"\ti=$((i + 1))\n"
	"\t[ -n \"${_slotlb_commands[$obj]+set}\" ] || return 0\n"
	"\tkey=$obj\n"
	"\tif [ -n \"${_slotlb_commands[$obj]}\" ]; then\n"
	"\t\tif [ \"$i\" -ge \"$COMP_CWORD\" ]; then\n"
	"\t\t\tmapfile -t COMPREPLY < <(compgen -W \"${_slotlb_commands[$obj]} "
	"--help\" -- \"$cur\")\n"
	"\t\t\treturn 0\n"
	"\t\tfi\n"
	"\t\tkey=\"$obj ${COMP_WORDS[i]}\"\n"
	"\t\ti=$((i + 1))\n"
	"\t\t# a command of a sub-object: slot setting set\n"
	"\t\tif [ -n \"${_slotlb_subcommands[$key]+set}\" ]; then\n"
	"\t\t\tif [ \"$i\" -ge \"$COMP_CWORD\" ]; then\n"
	"\t\t\t\tmapfile -t COMPREPLY < <(compgen -W "
	"\"${_slotlb_subcommands[$key]} --help\" -- \"$cur\")\n"
	"\t\t\t\treturn 0\n"
	"\t\t\tfi\n"
	"\t\t\tkey=\"$key ${COMP_WORDS[i]}\"\n"
	"\t\t\ti=$((i + 1))\n"
	"\t\tfi\n"
	"\tfi\n"
	"\t[ -n \"${_slotlb_options[$key]+set}\" ] || return 0\n"
	"\tif [ -n \"${_slotlb_values[$key $prev]+set}\" ]; then\n"
	"\t\tmapfile -t COMPREPLY < <(compgen -W \"${_slotlb_values[$key "
	"$prev]}\" -- \"$cur\")\n"
	"\t\treturn 0\n"
	"\tfi\n"
	"\t# positional arguments so far, skipping options and their values\n"
	"\twhile [ \"$i\" -lt \"$COMP_CWORD\" ]; do\n"
	"\t\tw=${COMP_WORDS[i]}\n"
	"\t\ti=$((i + 1))\n"
	"\t\tif [ -n \"${_slotlb_values[$key $w]+set}\" ]; then\n"
	"\t\t\t[ \"${COMP_WORDS[i]}\" = = ] && i=$((i + 1))\n"
	"\t\t\ti=$((i + 1))\n"
	"\t\telif [[ $w != -* ]]; then\n"
	"\t\t\tnpos=$((npos + 1))\n"
	"\t\tfi\n"
	"\tdone\n"
	"\tif [[ $cur != -* ]] && [ \"$npos\" -eq 0 ] &&\n"
	"\t\t[ \"${_slotlb_args[$key]:-}\" = IFNAME ]; then\n"
	"\t\tmapfile -t COMPREPLY < <(compgen -W \"$(ls /sys/class/net "
	"2>/dev/null)\" -- \"$cur\")\n"
	"\t\treturn 0\n"
	"\tfi\n"
	"\tmapfile -t COMPREPLY < <(compgen -W \"${_slotlb_options[$key]}\" -- "
	"\"$cur\")\n"
	"}\n"
	"complete -F _slotlb slotlb\n";

/* "setting set": is the command's first word the same as an earlier
 * command's (so it was listed already)? */
static bool first_word_seen(const struct cmd *cmds, const struct cmd *c)
{
	size_t n = strcspn(c->name, " ");

	for (; cmds != c; cmds++)
		if (strcspn(cmds->name, " ") == n &&
		    !strncmp(cmds->name, c->name, n))
			return true;
	return false;
}

/* A command name: one plain word, or two ("setting set"). */
static bool plain_name(const char *s)
{
	char word[64];
	size_t n = strcspn(s, " ");

	if (n >= sizeof(word))
		return false;
	snprintf(word, sizeof(word), "%.*s", (int)n, s);
	return plain(word) && (!s[n] || plain(s + n + 1));
}

static int print_bash(void)
{
	char *obuf = NULL, *vbuf = NULL, *abuf = NULL, *sbuf = NULL, key[160];
	size_t olen = 0, vlen = 0, alen = 0, slen = 0;
	FILE *opts = open_memstream(&obuf, &olen);
	FILE *vals = open_memstream(&vbuf, &vlen);
	FILE *args = open_memstream(&abuf, &alen);
	FILE *subs = open_memstream(&sbuf, &slen);
	const struct object *o;
	const struct cmd *c, *s;
	int rc = 0;

	if (!opts || !vals || !args || !subs) {
		p_err("slotlb: completion: out of memory");
		return EXIT_DAEMON;
	}
	printf("# bash completion for slotlb(8): objects, commands, options "
	       "and their\n# values. Generated by `slotlb --completion bash` "
	       "from the tables that\n# parse slotlb's command line; "
	       "regenerate it rather than edit it.\n\n"
	       "_slotlb_global='--socket -o --help -h --version "
	       "--completion'\n_slotlb_objects='");
	for (o = objects; o->name; o++)
		printf("%s%s", o->name, o[1].name ? " " : "'\n");
	printf("declare -gA _slotlb_commands=(\n");
	for (o = objects; o->name && !rc; o++) {
		if (!plain(o->name)) {
			p_err("slotlb: completion: bad object name");
			rc = EXIT_USAGE;
			break;
		}
		printf("\t[%s]='", o->name);
		if (!o->cmds) {
			printf("'\n");
			rc = print_cmd_tables(o->name, o->self, opts, vals,
					      args);
			continue;
		}
		for (c = o->cmds; c->name && !rc; c++) {
			size_t n = strcspn(c->name, " ");

			if (!plain_name(c->name)) {
				p_err("slotlb: completion: bad command name");
				rc = EXIT_USAGE;
				break;
			}
			if (!first_word_seen(o->cmds, c))
				printf("%s%.*s", c == o->cmds ? "" : " ",
				       (int)n, c->name);
			/* a sub-object's commands, listed at its first one */
			if (c->name[n] && !first_word_seen(o->cmds, c)) {
				fprintf(subs, "\t['%s %.*s']='", o->name,
					(int)n, c->name);
				for (s = c; s->name; s++)
					if (!strncmp(s->name, c->name, n + 1))
						fprintf(subs, "%s%s",
							s == c ? "" : " ",
							s->name + n + 1);
				fprintf(subs, "'\n");
			}
			snprintf(key, sizeof(key), "%s %s", o->name, c->name);
			rc = print_cmd_tables(key, c, opts, vals, args);
		}
		printf("'\n");
	}
	opt_probe = (struct opt_probe){0};
	fclose(opts);
	fclose(vals);
	fclose(args);
	fclose(subs);
	if (!rc)
		printf(")\n# commands of a sub-object (slot setting ...)\n"
		       "declare -gA _slotlb_subcommands=(\n%s)\n"
		       "declare -gA _slotlb_options=(\n%s)\n"
		       "# options with a value: its words, '' for free text\n"
		       "declare -gA _slotlb_values=(\n%s)\n"
		       "# the first positional argument\n"
		       "declare -gA _slotlb_args=(\n%s)\n\n%s",
		       sbuf, obuf, vbuf, abuf, bash_function);
	free(obuf);
	free(vbuf);
	free(abuf);
	free(sbuf);
	return rc;
}

int print_completion(const char *shell)
{
	if (strcmp(shell, "bash"))
		return usage_err("slotlb: --completion: no completion for "
				 "'%s' (bash only)",
				 shell);
	return print_bash();
}
