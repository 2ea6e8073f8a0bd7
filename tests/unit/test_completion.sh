#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Bash completion of slotlb against `slotlb --help`: the script comes from
# `slotlb --completion bash` (options as parse_args knows them), the
# expectations from the usage lines people read. Every object, command
# and global option of --help must complete, every option of a usage line
# must complete after its command and nothing else must (so an option the
# parser takes but --help does not show fails too), and option values
# written a|b in the usage complete to exactly those words. The script is
# sourced inside a function, as bash-completion loads it.
set -u
cd "$(dirname "$0")/../.." || exit 1
bin=${SLOTLB:-build/slotlb}
fail=0
n=0
err() {
	echo "FAIL: $*"
	fail=1
}

[ -x "$bin" ] || { echo "FAIL: $bin not built"; exit 1; }
script=$(mktemp)
trap 'rm -f "$script"' EXIT
"$bin" --completion bash >"$script" || { echo "FAIL: --completion bash"; exit 1; }
bash -n "$script" || { echo "FAIL: the script is not valid bash"; exit 1; }
out=$("$bin" --completion zsh 2>&1)
rc=$?
[ $rc -eq 2 ] && [ "$out" = "Error: slotlb: --completion: no completion for 'zsh' (bash only)" ] ||
	err "--completion zsh: exit $rc: $out"

# complete WORD...: the candidates bash would offer for the last WORD
# (empty for a new word), one per line, sorted.
# shellcheck disable=SC1090 # the generated script
load() { . "$script"; }
load
complete_words()
{
	COMP_WORDS=(slotlb "$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_slotlb
	printf '%s\n' "${COMPREPLY[@]}" | sort
}
# has CANDIDATES WORD: WORD is one of the candidate lines.
has() { grep -qxF -- "$2" <<<"$1"; }
words() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -u; }

help=$("$bin" --help)
usage=$(sed -n 's/^  slotlb \(.*\)$/\1/p' <<<"$help")
[ -n "$usage" ] || { echo "FAIL: no usage lines in --help"; exit 1; }

# Global options and objects.
globals=$(sed -n '/^Options:/,/^$/p' <<<"$help" | grep -o -- '\(^\|[ ,]\)--\?[a-z][a-z-]*' |
	tr -d ' ,' | sort -u)
got=$(complete_words -)
for g in $globals; do
	n=$((n + 1))
	has "$got" "$g" || err "'slotlb -': no $g (got: $(echo $got))"
done
n=$((n + 1))
[ "$(complete_words -o '')" = "$(printf 'json\ntable')" ] ||
	err "'slotlb -o ': $(complete_words -o '' | paste -sd' ')"
n=$((n + 1))
[ "$(complete_words --completion '')" = bash ] || err "'--completion ': not bash"
objects=$(awk '{ print $1 }' <<<"$usage" | sort -u)
got=$(complete_words '')
[ "$(words "$got")" = "$objects" ] ||
	err "objects: completion offers '$(echo $got)', --help has '$(echo $objects)'"

while IFS= read -r line; do
	read -r -a w <<<"$line"
	obj=${w[0]}
	cmd=()
	case ${w[1]:-} in
	[a-z]*)
		cmd=("${w[1]}")
		# a command of a sub-object: slot setting set
		case ${w[2]:-} in [a-z]*) cmd+=("${w[2]}") ;; esac
		;;
	esac
	what="slotlb $obj${cmd:+ ${cmd[*]}}"
	# the command after its object, also behind global options
	if [ ${#cmd[@]} -ge 1 ]; then
		n=$((n + 1))
		has "$(complete_words "$obj" '')" "${cmd[0]}" ||
			err "'slotlb $obj ': no ${cmd[0]}"
		has "$(complete_words -o json "$obj" "${cmd[0]:0:2}")" "${cmd[0]}" ||
			err "'slotlb -o json $obj ${cmd[0]:0:2}': no ${cmd[0]}"
	fi
	if [ ${#cmd[@]} -eq 2 ]; then
		n=$((n + 1))
		has "$(complete_words "$obj" "${cmd[0]}" '')" "${cmd[1]}" ||
			err "'slotlb $obj ${cmd[0]} ': no ${cmd[1]}"
	fi
	# exactly the usage line's options (and --help)
	n=$((n + 1))
	want=$( (grep -o -- '--[a-z][a-z-]*' <<<"$line"; echo --help) | sort -u)
	got=$(complete_words "$obj" "${cmd[@]}" APP --)
	[ "$got" = "$want" ] ||
		err "'$what --': completion offers '$(echo $got)', --help shows '$(echo $want)'"
	# values: "--opt a|b" completes a and b; "--opt PLACEHOLDER" nothing
	for o in $(grep -o -- '--[a-z][a-z-]* [^] []*' <<<"$line" | tr ' ' '='); do
		opt=${o%%=*}
		arg=${o#*=}
		case $arg in --* | ...) continue ;; esac
		n=$((n + 1))
		got=$(complete_words "$obj" "${cmd[@]}" APP "$opt" '' | sed '/^$/d')
		if [[ $arg =~ ^[a-z-]+(\|[a-z-]+)+$ ]]; then
			want=$(tr '|' '\n' <<<"$arg" | sort)
		else
			want=
		fi
		[ "$got" = "$want" ] ||
			err "'$what $opt ': offers '$(echo $got)', want '$(echo $want)'"
		# also as --opt=VALUE
		if [ -n "$want" ]; then
			got=$(complete_words "$obj" "${cmd[@]}" APP "$opt" = '')
			[ "$got" = "$want" ] || err "'$what $opt=': offers '$(echo $got)'"
		fi
	done
done <<<"$usage"

# IFNAME arguments complete to network interfaces.
n=$((n + 1))
has "$(complete_words interface attach '')" lo || err "'interface attach ': no lo"
n=$((n + 1))
[ -z "$(complete_words nosuchobject '')" ] || err "an unknown object completes"

echo "completion: $(wc -l <<<"$usage") commands, $n checks"
if [ $fail -eq 0 ]; then echo PASS; else echo FAILED; fi
exit $fail
