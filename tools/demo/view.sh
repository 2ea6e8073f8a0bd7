#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The demo's live traffic and its one-line-per-second view, sourced by
# tools/demo.sh after tools/lab/lab.sh. Each load client writes its
# per-response CSV (--events) through a pseudo-terminal made by script(1):
# stdio line-buffers a terminal, so every response reaches the view as it
# happens instead of in 4 KiB blocks. A small awk program per client turns
# the CSV into one summary line per second; the demo's main loop merges the
# clients' lines, prints them and runs its scheduled steps between them, so
# only one process ever writes to the terminal.

VIEW_LOADCLIENT=${VIEW_LOADCLIENT:-$LAB_BUILD/tools/loadclient}
# The server paces each response to ~50 ms (1200 bytes at 20 kB/s, sent in
# two writes), so keep-alive connections give readable rates instead of
# tens of thousands of requests a second on a shared 2-core machine.
VIEW_PATH='/stream?bytes=1200&rate=20000'
VIEW_PIDS=()
# Per client: its pid, its last second, lines read; per client and
# second: the counts.
declare -A VIEW_LC_PID VIEW_END VIEW_READ VIEW_ROW
VIEW_TAGS=()

# Per second: "N V1 V2 ERRORS NEW_V1 NEW_V2 KEEPALIVE_V1 KEEPALIVE_V2",
# where N = 1 covers the first second of the demo's traffic (a client
# started later adds its start, off ms, to its t_ms). Responses come in
# completion order, so a second is complete once a later one shows up (or
# at the end).
# shellcheck disable=SC2016 # awk's own variables
VIEW_AWK_PROG='
BEGIN { FS = ","; cur = int(off / 1000) }
function emit() {
	printf "%d %d %d %d %d %d %d %d\n", cur + 1, v1, v2, err, n1, n2, k1, k2
	fflush()
	v1 = v2 = err = n1 = n2 = k1 = k2 = 0
}
{ sub(/\r$/, "") }
NF != 4 || $1 !~ /^[0-9]+$/ {
	if ($0 != "t_ms,kind,version,ok" && $0 != "")
		print > "/dev/stderr"
	next
}
{
	s = int(($1 + off) / 1000)
	while (cur < s) {
		emit()
		cur++
	}
	if ($4 != 1)
		err++
	else if ($3 == "v1") {
		v1++
		if ($2 == "new") n1++; else k1++
	} else if ($3 == "v2") {
		v2++
		if ($2 == "new") n2++; else k2++
	} else
		err++
}
END { emit() }
'

# view_awk OFFSET_MS
view_awk()
{
	# mawk (Debian: required) reads a pipe in large blocks unless told
	# it is interactive; any other awk reads lines as they come.
	if command -v mawk >/dev/null; then
		mawk -W interactive -v off="$1" "$VIEW_AWK_PROG"
	else
		awk -v off="$1" "$VIEW_AWK_PROG"
	fi
}

# view_client P DIR TAG TARGET DURATION [LOADCLIENT ARGS...]: start a load
# client in lab P's client namespace and its per-second summary. TAG is
# new*, ka* (production) or stg; VIEW_START is when the traffic began.
view_client()
{
	local p=$1 dir=$2 tag=$3 target=$4 dur=$5 cmd off

	shift 5
	off=$((($(date +%s%N) - VIEW_START) / 1000000))
	mkfifo "$dir/$tag.fifo" || return 1
	view_awk "$off" <"$dir/$tag.fifo" >"$dir/$tag.sec" \
		2>"$dir/$tag.log" &
	VIEW_PIDS+=($!)
	cmd=$(printf '%q ' ip netns exec "$(lab_ns_client "$p")" \
		"$VIEW_LOADCLIENT" --target "$target" --duration "$dur" \
		--path "$VIEW_PATH" --expect-versions v1,v2 --max-gap \
		--json "$dir/$tag.json" --events /dev/stdout "$@")
	script -qfec "$cmd" /dev/null </dev/null >"$dir/$tag.fifo" \
		2>>"$dir/$tag.log" &
	VIEW_LC_PID[$tag]=$!
	VIEW_PIDS+=($!)
	VIEW_END[$tag]=$((off / 1000 + dur + 1))
	VIEW_TAGS+=("$tag")
}

# view_running TAG: is the client (and so its feed) still going?
view_running()
{
	kill -0 "${VIEW_LC_PID[$1]}" 2>/dev/null
}

# view_wait TAG: the client's exit status, once it is done.
view_wait()
{
	wait "${VIEW_LC_PID[$1]}"
}

# view_read DIR TAG: take the new complete per-second lines of TAG into
# VIEW_ROW[TAG,N]; a line still being written is left for the next call.
view_read()
{
	local dir=$1 tag=$2 n line

	while IFS= read -r line; do
		n=${line%% *}
		VIEW_ROW[$tag,$n]=${line#* }
		VIEW_READ[$tag]=$((${VIEW_READ[$tag]:-0} + 1))
	done < <(tail -n +$((${VIEW_READ[$tag]:-0} + 1)) "$dir/$tag.sec" \
		2>/dev/null)
}

# view_versions NEW_V1 NEW_V2: "v1", "v2", "v1+v2" or "-".
view_versions()
{
	local s=

	[ "$1" -gt 0 ] && s=v1
	[ "$2" -gt 0 ] && s=${s:+$s+}v2
	echo "${s:--}"
}

view_header()
{
	printf '%s         production %-27s   staging %s%s\n' "$C_DIM" \
		"$VIEW_PROD_TARGET" "$VIEW_STG_TARGET" "$C_OFF"
	printf '%s  time    v1/s   v2/s failed  new conns  keep-alive  |' "$C_DIM"
	printf '  v1/s   v2/s failed%s\n' "$C_OFF"
}

# view_errors N: N failed requests, in red when it is not 0.
view_errors()
{
	if [ "$1" = 0 ]; then
		printf '%6s' "$1"
	else
		printf '%s%6s%s' "$C_RED" "$1" "$C_OFF"
	fi
}

# view_row N: print second N from the rows read so far; production sums
# its clients.
view_row()
{
	local n=$1 tag any='' c v1=0 v2=0 err=0 n1=0 n2=0 k1=0 k2=0
	local -a r

	for tag in "${VIEW_TAGS[@]}"; do
		[ "$tag" = stg ] && continue
		[ -n "${VIEW_ROW[$tag,$n]:-}" ] || continue
		any=1
		read -r -a r <<<"${VIEW_ROW[$tag,$n]}"
		v1=$((v1 + r[0])) v2=$((v2 + r[1])) err=$((err + r[2]))
		n1=$((n1 + r[3])) n2=$((n2 + r[4]))
		k1=$((k1 + r[5])) k2=$((k2 + r[6]))
	done
	if [ -n "$any" ]; then
		printf ' t=%-4s %6d %6d %s  %-9s  %-10s  |' "${n}s" "$v1" \
			"$v2" "$(view_errors "$err")" \
			"$(view_versions "$n1" "$n2")" \
			"$(view_versions "$k1" "$k2")"
	else
		printf ' t=%-4s %6s %6s %6s  %-9s  %-10s  |' "${n}s" - - - \
			'no answer' -
	fi
	c=${VIEW_ROW[stg,$n]:-}
	if [ -n "$c" ]; then
		read -r -a r <<<"$c"
		printf ' %5d %6d %s\n' "${r[0]}" "${r[1]}" \
			"$(view_errors "${r[2]}")"
	else
		printf ' %5s %6s %6s\n' - - -
	fi
}

# view_ready N ELAPSED_S: may second N be printed? When every client that
# runs in it has its line in (production's new connections never stop);
# after a grace time in any case, so a stalled data path shows up as rows
# without answers.
view_ready()
{
	local n=$1 elapsed=$2 tag

	[ "$elapsed" -gt $((n + 3)) ] && return 0
	for tag in "${VIEW_TAGS[@]}"; do
		[ -n "${VIEW_ROW[$tag,$n]:-}" ] && continue
		[ "$tag" = new ] && return 1
		[ "$n" -gt "${VIEW_END[$tag]}" ] || ! view_running "$tag" ||
			return 1
	done
	return 0
}

# view_loop DIR DURATION STEP_FN: print the rows of the traffic as they
# complete and call STEP_FN N after row N (the demo's schedule). Returns
# when the production client with new connections is over.
view_loop()
{
	local dir=$1 dur=$2 step=$3 next=1 elapsed tag

	while [ "$next" -le "$dur" ]; do
		for tag in "${VIEW_TAGS[@]}"; do
			view_read "$dir" "$tag"
		done
		elapsed=$((($(date +%s%N) - VIEW_START) / 1000000000))
		if view_ready "$next" "$elapsed"; then
			view_row "$next"
			"$step" "$next" || return 1
			next=$((next + 1))
			continue
		fi
		if ! view_running new && [ -z "${VIEW_ROW[new,$next]:-}" ]; then
			view_read "$dir" new
			[ -n "${VIEW_ROW[new,$next]:-}" ] && continue
			break
		fi
		sleep 0.1
	done
}

# view_sum_from DIR TAG COLUMN FIRST [LAST]: the total of one column over
# seconds FIRST..LAST (2 = v1, 3 = v2, 4 = errors, 5/6 = new connections'
# v1/v2, 7/8 = keep-alive v1/v2).
view_sum_from()
{
	awk -v c="$3" -v a="$4" -v b="${5:-999999}" \
		'$1 >= a && $1 <= b { s += $c } END { print s + 0 }' \
		"$1/$2.sec" 2>/dev/null
}

# view_json FILE KEY: a top-level scalar of the load client's summary.
view_json()
{
	sed -n "s/^  \"$2\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" \
		"$1" | head -1
}

# view_json_version FILE LABEL: answers from version LABEL in a summary.
view_json_version()
{
	local n

	n=$(sed -n 's/^  "versions": {\(.*\)},\{0,1\}$/\1/p' "$1" | head -1 |
		tr ',' '\n' | sed -n "s/^ *\"$2\": \([0-9]*\)\$/\1/p")
	echo "${n:-0}"
}

# view_stop: end the clients' feeds and summaries (the clients themselves
# live in the lab and go with it); only processes this shell started.
view_stop()
{
	local pid try

	for try in 1 2 3 4 5 6 7 8 9 10; do
		for pid in "${VIEW_PIDS[@]}"; do
			kill -0 "$pid" 2>/dev/null && break
			pid=
		done
		[ -z "${pid:-}" ] && break
		[ "$try" = 5 ] && kill -TERM "${VIEW_PIDS[@]}" 2>/dev/null
		sleep 0.1
	done
	kill -KILL "${VIEW_PIDS[@]}" 2>/dev/null
	for pid in "${VIEW_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	VIEW_PIDS=()
	return 0
}
