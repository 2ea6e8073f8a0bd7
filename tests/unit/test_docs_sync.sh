#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The documentation says what the programs do, both ways (bpftool keeps
# its man pages honest so): every option of `slotlb --help` is in
# docs/cli.md and docs/slotlb.8 and every option those mention is one of
# slotlb's; cli.md has a section per command of --help and no other (the
# man page's command list is checked line by line in test_cli_help.sh).
# Every option of `slotlbd --help` is in the options table of
# docs/slotlbd.md and under OPTIONS in docs/slotlbd.8, and nothing else
# is; every config key is under CONFIGURATION FILE in slotlbd.8 and in the
# config section of slotlbd.md, and nothing else is.
set -u
cd "$(dirname "$0")/../.." || exit 1
cli=${SLOTLB:-build/slotlb}
daemon=${SLOTLBD:-build/slotlbd}
fail=0
n=0
err() {
	echo "FAIL: $*"
	fail=1
}

for b in "$cli" "$daemon"; do
	[ -x "$b" ] || { echo "FAIL: $b not built"; exit 1; }
done

# man_text FILE: a page as text, roff escapes of dashes undone, without
# the lines about other programs (systemctl enable --now, curl ...).
man_text() {
	sed 's/\\-/-/g' "$1" | grep -v 'systemctl \|curl '
}
# long_opts: the --options in stdin, one per line, sorted.
long_opts() {
	grep -o -- '\(^\|[^a-zA-Z0-9-]\)--[a-z][a-z-]*' | sed 's/^[^-]*//' | sort -u
}
# same WHAT A B: two sorted lists must be equal; say what differs.
same() {
	n=$((n + 1))
	[ "$2" = "$3" ] && return 0
	err "$1:"
	diff <(echo "$2") <(echo "$3") | grep '^[<>]' | sed 's/^/  /'
}
# section FILE NAME: the lines of man page FILE under .SH NAME.
section() {
	man_text "$1" | awk -v s="$2" '/^\.SH /{ on = ($0 == ".SH " s); next } on'
}
# tp_entries: the option words of each .TP entry's first line.
tp_entries() {
	awk 'prev == ".TP" { print } { prev = $0 }' |
		grep -o -- '\(^\|[^a-zA-Z0-9-]\)--\?[a-z][a-z-]*' | sed 's/^[^-]*//' |
		grep '^-' | sort -u
}

# --- slotlb ---------------------------------------------------------------
help=$("$cli" --help)
opts=$( (long_opts <<<"$help"; grep -o -- '^  -[a-z]\b' <<<"$help" | tr -d ' ') | sort -u)
man=$(man_text docs/slotlb.8)
md=$(man_text docs/cli.md)
for o in $opts; do
	n=$((n + 1))
	grep -q -- "$o\b" <<<"$man" || err "slotlb --help has $o, docs/slotlb.8 does not"
	n=$((n + 1))
	grep -q -- "$o\b" <<<"$md" || err "slotlb --help has $o, docs/cli.md does not"
done
same "options in docs/slotlb.8 that slotlb --help does not have (>)" \
	"$(long_opts <<<"$help")" "$( (long_opts <<<"$help"; long_opts <<<"$man") | sort -u)"
same "options in docs/cli.md that slotlb --help does not have (>)" \
	"$(long_opts <<<"$help")" "$( (long_opts <<<"$help"; long_opts <<<"$md") | sort -u)"
same "global options: slotlb --help (<) and docs/slotlb.8 OPTIONS (>)" \
	"$(sed -n '/^Options:/,/^$/p' <<<"$help" | grep -o -- '^  \(-[a-z], \)\?--\?[a-z-]*' |
		tr -d ' ' | tr ',' '\n' | sort -u)" \
	"$(section docs/slotlb.8 OPTIONS | tp_entries)"
same "commands: slotlb --help (<) and the sections of docs/cli.md (>)" \
	"$(sed -n 's/^  \(slotlb .*\)$/\1/p' <<<"$help" | sort)" \
	"$(sed -n 's/^### `\(slotlb .*\)`$/\1/p' docs/cli.md | sort)"

# --- slotlbd -------------------------------------------------------------
dhelp=$("$daemon" --help)
dopts=$(grep -o -- '^  \(-[a-z], \)\?--[a-z-]*' <<<"$dhelp" | tr -d ' ' |
	tr ',' '\n' | sort -u)
[ -n "$dopts" ] || err "no options in slotlbd --help"
same "options: slotlbd --help (<) and docs/slotlbd.8 OPTIONS (>)" \
	"$dopts" "$(section docs/slotlbd.8 OPTIONS | tp_entries)"
same "options: slotlbd --help (<) and the table of docs/slotlbd.md (>)" \
	"$dopts" "$(grep '^| `-' docs/slotlbd.md | cut -d'|' -f2 |
		grep -o -- '`--\?[a-z][a-z-]*' | tr -d '`' | sort -u)"
for f in docs/slotlbd.8 docs/slotlbd.md; do
	same "options in $f that slotlbd --help does not have (>)" \
		"$(long_opts <<<"$dhelp")" \
		"$( (long_opts <<<"$dhelp"; man_text "$f" | long_opts) | sort -u)"
done
keys=$(grep -o -- '^  \(-., \)\?--[a-z-]*' <<<"$dhelp" | sed 's/.*--//' |
	grep -vx 'config\|check-config\|help' | sort)
same "config keys: slotlbd --help (<) and docs/slotlbd.8 CONFIGURATION FILE (>)" \
	"$keys" "$(section docs/slotlbd.8 'CONFIGURATION FILE' |
		awk 'prev == ".TP" { print $2 } { prev = $0 }' | sort)"
same "config keys: slotlbd --help (<) and the config section of docs/slotlbd.md (>)" \
	"$keys" "$(sed -n '/^### Config file/,/^#/p' docs/slotlbd.md |
		sed -n '/The keys are/,/)/p' | grep -o '`[a-z][a-z-]*`' | tr -d '`' |
		grep -vx 'true\|false' | sort -u)"

echo "docs sync: $n checks"
if [ $fail -eq 0 ]; then echo PASS; else echo FAILED; fi
exit $fail
