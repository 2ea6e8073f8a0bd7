#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The help text and the man page describe the same commands (bpftool's
# synctypes idea): the usage lines printed by `slotlb --help` must equal,
# line for line and in order, the `.TP`/`.B slotlb ...` entries under
# COMMANDS in docs/slotlb.8; each command's own --help must start with the
# same usage; docs/cli.md must have a section per command. Also checks the
# exit codes of usage errors, which scripts rely on.
set -u
cd "$(dirname "$0")/../.." || exit 1
bin=${SLOTLB:-build/slotlb}
man=docs/slotlb.8
md=docs/cli.md
fail=0
err() {
	echo "FAIL: $*"
	fail=1
}

[ -x "$bin" ] || { echo "FAIL: $bin not built"; exit 1; }

help_cmds=$("$bin" --help | sed -n 's/^  \(slotlb .*\)$/\1/p')
man_cmds=$(awk '/^\.SH COMMANDS/{on=1; next} /^\.SH/{on=0}
	on && prev == ".TP" && /^\.B slotlb /{sub(/^\.B /, ""); print}
	{prev=$0}' "$man" | sed 's/\\-/-/g')

[ -n "$help_cmds" ] || err "no command lines in slotlb --help"
if [ "$help_cmds" != "$man_cmds" ]; then
	err "slotlb --help and $man COMMANDS differ:"
	diff <(echo "$help_cmds") <(echo "$man_cmds") | sed 's/^/  /'
fi

n=0
while IFS= read -r line; do
	n=$((n + 1))
	# "slotlb OBJECT [COMMAND [SUBCOMMAND]] ARGS...": the words before
	# the first argument placeholder or option name the command
	# ("slotlb slot setting set APP ...").
	read -r -a words <<<"$line"
	cmd=(slotlb "${words[1]}")
	case ${words[2]:-} in
	[a-z]*)
		cmd+=("${words[2]}")
		case ${words[3]:-} in
		[a-z]*) cmd+=("${words[3]}") ;;
		esac
		;;
	esac
	out=$("$bin" "${cmd[@]:1}" --help)
	rc=$?
	[ $rc -eq 0 ] || err "${cmd[*]} --help exited $rc"
	first=$(echo "$out" | head -n1)
	[ "$first" = "Usage: $line" ] ||
		err "${cmd[*]} --help says '$first', slotlb --help says '$line'"
	grep -qF -- "$line" "$md" || err "$md lacks '$line'"
	# Every option of the usage is explained in the command's help.
	for o in $(echo "$line" | grep -o -- '--[a-z-]*' | sort -u); do
		echo "$out" | sed 1d | grep -q -- "$o" ||
			[ "$o" = "--endpoint" ] || [ "$o" = "--slot" ] ||
			err "${cmd[*]} --help does not explain $o"
	done
	# A typo of the command is refused, never guessed.
	if [ ${#cmd[@]} -ge 3 ]; then
		last=$((${#cmd[@]} - 1))
		typo=("${cmd[@]:1:$((last - 1))}" "${cmd[$last]%?}")
		"$bin" "${typo[@]}" >/dev/null 2>&1
		rc=$?
		[ $rc -eq 2 ] || err "'${typo[*]}' exited $rc, not 2"
	fi
done <<<"$help_cmds"

"$bin" nosuchobject >/dev/null 2>&1
[ $? -eq 2 ] || err "unknown object does not exit 2"
"$bin" app create web --endpoint 1.2.3.4:99999 >/dev/null 2>&1
[ $? -eq 2 ] || err "bad endpoint does not exit 2"
out=$("$bin" app create web --bogus 2>&1 >/dev/null)
[ "$out" = "Error: app: unknown option '--bogus'" ] ||
	err "usage error reads '$out'"
out=$("$bin" -o json app create web --bogus 2>/dev/null)
[ "$out" = '{"error":"app: unknown option '\''--bogus'\''"}' ] ||
	err "JSON usage error reads '$out'"
sock=/nonexistent/slotlb.sock
out=$("$bin" --socket $sock status 2>&1 >/dev/null)
rc=$?
want="Error: slotlbd: cannot connect to $sock: No such file or directory"
if [ "$out" != "$want" ] || [ $rc -ne 1 ]; then
	err "missing daemon: exit $rc, '$out'"
fi

echo "cli help: $n commands in help, man page and $md"
if [ $fail -eq 0 ]; then echo PASS; else echo FAILED; fi
exit $fail
