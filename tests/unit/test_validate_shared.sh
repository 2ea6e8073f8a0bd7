#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The CLI and slotlbd apply the same input rules, not two copies that
# agree today: the rules are defined once (user/lib/validate.o), both
# binaries link that object, the objects that check names in the CLI and
# in the daemon's API call it, and nothing else defines a rule. Then the
# CLI, run against no daemon at all, refuses the name `Web` with the
# rule's sentence (the same sentence the API answers: see
# tests/integration/test_bad_input.sh).
set -u
cd "$(dirname "$0")/../.." || exit 1
build=${BUILD:-build}
fail=0
err() {
	echo "FAIL: $*"
	fail=1
}

rules="validate_name validate_version validate_endpoint validate_backend
validate_warmup_mode validate_warmup_path validate_warmup_statuses
validate_warmup_timeout_s validate_warmup_retries validate_warmup_policy
validate_history_limit validate_trigger_clean validate_warmup_host
validate_setting_name validate_setting_value validate_setting_pair
validate_hook_exec validate_hook_timeout_s validate_auto_swap_delay_s
validate_swap_action validate_preview_timeout_s validate_on_timeout
validate_duration validate_drain_timeout_s validate_on_drain_timeout
validate_reset_rate validate_backend_weight validate_event_list
validate_hook_url validate_hook_secret validate_text_clean"

for f in "$build/slotlb" "$build/slotlbd" "$build/lib/validate.o"; do
	[ -e "$f" ] || { echo "FAIL: $f not built"; exit 1; }
done

# name -> the objects that define it (T) or call it (U)
defined_in() {
	nm -A --defined-only "$build"/cli/*.o "$build"/obj/slotlbd/*.o \
		"$build"/lib/*.o 2>/dev/null |
		awk -v s="$1" '$NF == s && $(NF-1) == "T" {
			sub(/:.*/, "", $1); print $1 }'
}
called_in() {
	nm -A --undefined-only "$1"/*.o 2>/dev/null |
		awk -v s="$2" '$NF == s { sub(/:.*/, "", $1); print $1 }'
}

for r in $rules; do
	where=$(defined_in "$r")
	[ "$where" = "$build/lib/validate.o" ] ||
		err "$r is defined in '${where//$'\n'/ }', not only in validate.o"
	for bin in slotlb slotlbd; do
		nm --defined-only "$build/$bin" | grep -q " T $r\$" ||
			err "$bin does not link $r"
	done
done
# The name rule: called by the CLI's and the daemon's API objects.
cli_callers=$(called_in "$build/cli" validate_name)
api_callers=$(called_in "$build/obj/slotlbd" validate_name | grep /api)
[ -n "$cli_callers" ] || err "no CLI object calls validate_name"
[ -n "$api_callers" ] || err "no slotlbd API object calls validate_name"
echo "validate_name: defined in $(defined_in validate_name);" \
	"called by" $cli_callers $api_callers
# No second copy of the name rule's character class anywhere.
copies=$(grep -rlF --include='*.c' -- '[a-z0-9][a-z0-9._-]' user |
	grep -v '^user/lib/validate.c$')
[ -z "$copies" ] || err "name rule text outside validate.c: $copies"

# The CLI refuses `Web` itself, with the rule's sentence, exit 2.
out=$("$build/slotlb" --socket /nonexistent/slotlb.sock app create Web \
	--endpoint 198.18.100.9:80 2>&1)
rc=$?
want="Error: Web: name must match [a-z0-9][a-z0-9._-]* and be at most 63 characters"
[ $rc -eq 2 ] || err "slotlb app create Web: exit $rc, not 2"
[ "$out" = "$want" ] || err "slotlb app create Web said '$out', not '$want'"
# The address rule likewise: a multicast endpoint, refused by the CLI
# with the sentence the API answers.
out=$("$build/slotlb" --socket /nonexistent/slotlb.sock app create web \
	--endpoint 224.0.0.1:80 2>&1)
rc=$?
want="a multicast address cannot be an endpoint"
[ $rc -eq 2 ] || err "slotlb app create --endpoint 224.0.0.1:80: exit $rc, not 2"
case $out in
*"224.0.0.1:80"*"$want") ;;
*) err "slotlb app create --endpoint 224.0.0.1:80 said '$out'" ;;
esac

[ $fail -eq 0 ] && echo "PASS: the CLI and slotlbd share one set of rules"
exit $fail
