#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Settings end to end, through real backends: each lab httpd serves, at
# GET /settings, the file the slots' apply-settings hook wrote for it, so
# a client asking a slot's endpoint sees the settings the deployment there
# runs with. Production has sticky DB_URL=prod, staging sticky
# DB_URL=stage and its deployment the swapped FEATURE=new.
#
# - after a preview, staging's backend serves DB_URL=prod FEATURE=new
#   while production's traffic is untouched; after reset DB_URL=stage
#   again;
# - after preview + complete, production serves v2 with DB_URL=prod
#   FEATURE=new and staging serves v1 with DB_URL=stage;
# - a failing hook (a swap, a setting change) leaves everything as it
#   was, says which backend failed, and the history has its stderr;
# - values never show in the history or in a listing without
#   --show-values; the state directory is 0700, the database 0600;
# - swap --dry-run shows both sides' changes and changes nothing.
#
# Backends: b1 v1 (production), b2 v2 (staging).
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=st$$
PROD=$(lab_vip 1)
STAGING=$(lab_vip 2)
DB_PROD=postgres://db-prod-7f3a
DB_STAGE=postgres://db-stage-91c2

# settings_of VIP: what the backend behind VIP's endpoint serves at
# /settings, keys sorted, as NAME=VALUE,NAME=VALUE; "-" if nothing.
settings_of()
{
	lab_exec_client "$P" curl -s --noproxy '*' -m 5 "http://$1/settings" |
		python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
    print(",".join("%s=%s" % (k, d[k]) for k in sorted(d)) or "{}")
except Exception:
    print("-")'
}

# version_of VIP: the version label that answers on VIP.
version_of()
{
	lab_exec_client "$P" curl -s --noproxy '*' -m 5 "http://$1/" |
		cut -d' ' -f1
}

# state_now: everything a refused operation must leave as it was.
state_now()
{
	cli -o json status web | python3 -c '
import json, sys
a = json.load(sys.stdin)["apps"][0]
print([(s["name"], s["deployment"] and s["deployment"]["id"]) for s in a["slots"]], a["pending_swap"])'
	cli -o json slot setting list web --slot production --show-values
	cli -o json slot setting list web --slot staging --show-values
	routing_show
	settings_of "$PROD"
	settings_of "$STAGING"
}

# section TEXT: a heading with the time since the start.
section()
{
	echo "# $* (at $(($(now_ms) - T0)) ms)"
}

T0=$(now_ms)
require_built "$CTL_SLOTLBD" "$CTL_CLI" "$DPCTL" "$LAB_HTTPD"
need_tools python3 curl
ctl_trap_cleanup "$P"
lab_up "$P" 2 || exit $?
STATE=$(lab_state_dir "$P")
HOOK=$STATE/apply-settings
# The hook: writes stdin atomically where the backend's httpd reads it,
# logs each run, and fails while $STATE/fail exists (with a byte on
# stderr that is not UTF-8, as a hook's tools may write).
cat >"$HOOK" <<EOF
#!/bin/sh
echo "\$SLOTLB_REASON \$SLOTLB_SLOT \$SLOTLB_DEPLOYMENT \$SLOTLB_BACKEND" >> $STATE/hook.log
if [ -e $STATE/fail ] && [ "\$SLOTLB_REASON" != revert ]; then
	printf 'cannot apply to %s: simulated failure \377\n' "\$SLOTLB_BACKEND" >&2
	exit 3
fi
cat > $STATE/settings-\$SLOTLB_BACKEND.tmp &&
	mv $STATE/settings-\$SLOTLB_BACKEND.tmp $STATE/settings-\$SLOTLB_BACKEND.json
EOF
chmod 755 "$HOOK"
for i in 1 2; do
	lab_start_httpd "$P" "$i" "v$i" \
		--settings-file "$STATE/settings-$(be "$i").json" ||
		die "httpd b$i"
done
ctl_start "$P" || die "slotlbd did not start"
ctl_attach_all "$P" 2 || die "attach"
{
	cli app create web --endpoint "$PROD:80" &&
		cli slot create web --slot staging --endpoint "$STAGING:80" &&
		cli slot hook set web --slot production --exec "$HOOK" \
			--timeout 10 &&
		cli slot hook set web --slot staging --exec "$HOOK" --timeout 10 &&
		cli slot setting set web --slot production "DB_URL=$DB_PROD" \
			--sticky &&
		cli slot setting set web --slot staging "DB_URL=$DB_STAGE" \
			--sticky &&
		cli deploy web --slot production --backend "$(be 1)" --version v1 &&
		cli deploy web --slot staging --backend "$(be 2)" --version v2 &&
		cli slot setting set web --slot staging FEATURE=new
} >/dev/null || die "seed app"

section "the hook applied each slot's settings on deploy and on change"
check "production (b1) runs with production's settings" \
	[ "$(settings_of "$PROD")" = "DB_URL=$DB_PROD" ]
check "staging (b2) runs with staging's settings and FEATURE=new" \
	[ "$(settings_of "$STAGING")" = "DB_URL=$DB_STAGE,FEATURE=new" ]
check "hook env: deploy of v1 ran as production on $(be 1)" \
	grep -q "^deploy production 1 $(be 1)$" "$STATE/hook.log"

section "clone: a new slot starts with production's sticky settings and hook"
need "slot create qa --clone-from production" cli slot create web --slot qa \
	--endpoint "$(lab_vip 3):80" --clone-from production
check "qa has production's sticky DB_URL, value and all" \
	grep -q "^DB_URL  yes     yes        $DB_PROD$" \
	<<<"$(cli slot setting list web --slot qa --show-values)"
check "qa has production's hook" \
	grep -q "^hook: $HOOK, timeout 10 s$" <<<"$(cli slot config web --slot qa)"
check "qa has no deployment" \
	grep -q '"deployment": null' <<<"$(cli -o json slot list web)"

section "values stay secret"
out=$(cli slot setting list web --slot staging)
echo "$out" | sed 's/^/   /'
check "a listing without --show-values holds no value" \
	eval '! grep -q "db-stage\|db-prod" <<<"$out"'
check "with --show-values it does" \
	grep -q "$DB_STAGE" <<<"$(cli slot setting list web --slot staging --show-values)"
check "the history names settings, never their values" \
	eval '! cli -o json history web | grep -q "db-stage\|db-prod"'
check "status holds no value" \
	eval '! cli -o json status web | grep -q "db-stage\|db-prod"'
check "the API answers no value without show_values" \
	eval '! ctl_api "$P" GET /v1/apps/web/slots/staging/settings | grep -q db-stage'
check "state directory is 0700" \
	[ "$(stat -c %a "$(ctl_dir "$P")")" = 700 ]
check "the database is 0600" \
	[ "$(stat -c %a "$(ctl_dir "$P")/slotlb.db")" = 600 ]

section "dry run: both sides' changes, nothing changed"
before=$(state_now)
dry=$(cli slot swap web --slot staging --dry-run)
echo "$dry" | sed 's/^/   /'
check "dry run names the source's DB_URL change" \
	grep -q "^  ~ DB_URL$" <<<"$dry"
check "dry run moves v2 into production and v1 into staging" \
	grep -q "(v2) staging -> production" <<<"$dry"
check "dry run shows values only with --show-values" \
	grep -q "$DB_STAGE -> $DB_PROD" <<<"$(cli slot swap web --slot staging --dry-run --show-values)"
check "the shorthand slotlb swap gives the same dry run" \
	[ "$(cli swap web --slot staging --dry-run)" = "$dry" ]
check "dry run changed nothing" [ "$(state_now)" = "$before" ]

section "preview: staging's deployment gets production's settings"
out=$(cli slot swap web --slot staging --action preview 2>&1)
rc=$?
echo "$out" | sed 's/^/   /'
check "preview exits 0" [ "$rc" -eq 0 ]
check "staging (b2) serves DB_URL=prod FEATURE=new" \
	[ "$(settings_of "$STAGING")" = "DB_URL=$DB_PROD,FEATURE=new" ]
check "production traffic untouched: v1 with production's settings" \
	[ "$(version_of "$PROD"):$(settings_of "$PROD")" = "v1:DB_URL=$DB_PROD" ]
check "status shows the swap pending" \
	grep -q "(swap pending)  staging -> production" <<<"$(cli status web)"
check "a setting change is refused while pending" \
	eval 'cli slot setting set web --slot staging X=1 2>&1 | grep -q "busy: swap pending"'

section "reset: staging's settings back"
check "reset exits 0" cli slot swap web --action reset
check "staging (b2) serves DB_URL=stage again" \
	[ "$(settings_of "$STAGING")" = "DB_URL=$DB_STAGE,FEATURE=new" ]
check "nothing pending any more" \
	eval '! cli status web | grep -q "swap pending"'

section "preview + complete"
check "preview exits 0" cli slot swap web --slot staging --action preview
check "complete (--action swap) exits 0" cli slot swap web --action swap
check "production serves v2 with DB_URL=prod FEATURE=new" \
	[ "$(version_of "$PROD"):$(settings_of "$PROD")" = "v2:DB_URL=$DB_PROD,FEATURE=new" ]
check "staging serves v1 with DB_URL=stage" \
	[ "$(version_of "$STAGING"):$(settings_of "$STAGING")" = "v1:DB_URL=$DB_STAGE" ]
check "routing element matches status" \
	[ "$(routing_show)" = "$(routing_expected)" ]

section "a new deployment keeps the swapped settings of the one it replaces"
need "deploy v2b into production" cli deploy web --slot production \
	--backend "$(be 2)" --version v2b
check "production still runs with FEATURE=new (the hook applied it)" \
	[ "$(settings_of "$PROD")" = "DB_URL=$DB_PROD,FEATURE=new" ]
check "hook env: the deploy ran as production on $(be 2)" \
	grep -q "^deploy production 3 $(be 2)$" "$STATE/hook.log"

section "a failing hook leaves everything as it was"
before=$(state_now)
# Entries of the refusals: failed ones. slotlbd's own (trigger slotlbd,
# e.g. deployment 2's drain completing, which the deploy above started)
# may land in between and are not counted.
failed_entries() {
	python3 -c 'import json,sys; print(sum(e["outcome"] == "failed" for e in json.load(sys.stdin)["history"]))'
}
hist_before=$(cli -o json history web | failed_entries)
touch "$STATE/fail"
t0=$(now_ms)
out=$(cli slot swap web --slot staging --warmup-timeout 2 2>&1)
rc=$?
echo "   refused in $(($(now_ms) - t0)) ms"
echo "$out" | sed 's/^/   /'
check "the swap exits 1" [ "$rc" -eq 1 ]
check "the error names the backend and the hook's words" \
	grep -q "failed on $(be 1): exit status 3.*simulated failure" <<<"$out"
check "the old settings were applied again (revert on $(be 1))" \
	grep -q "^revert staging 1 $(be 1)$" "$STATE/hook.log"
out=$(cli slot setting set web --slot production "DB_URL=x" --sticky 2>&1)
rc=$?
echo "   $out"
check "a setting change with a failing hook exits 1" [ "$rc" -eq 1 ]
# the 424's body used to be empty ("Error: slotlbd: HTTP status 424"):
# jansson refused the error text holding the hook's stray byte
check "... naming the backend and the hook's words" \
	grep -q "failed on $(be 2): exit status 3.*simulated failure" <<<"$out"
rm -f "$STATE/fail"
section "after the refusals"
after=$(state_now)
check "slots, settings, routing element and served settings unchanged" \
	[ "$after" = "$before" ]
[ "$after" = "$before" ] || diff <(echo "$before") <(echo "$after")
hist=$(cli -o json history web)
check "two failed entries in the history" \
	[ "$(failed_entries <<<"$hist")" = $((hist_before + 2)) ]
check "the failed swap's entry holds the hook's stderr" \
	python3 -c '
import json, sys
h = json.load(sys.stdin)["history"]
swap = [e for e in h if e["action"] == "swap"][0]
sys.exit(0 if swap["outcome"] == "failed" and "simulated failure" in swap["detail"] else 1)' <<<"$hist"
check "... and the failed setting's entry too, by name only" \
	python3 -c '
import json, sys
e = [e for e in json.load(sys.stdin)["history"] if e["trigger"] != "slotlbd"][0]
sys.exit(0 if e["action"] == "settings" and e["outcome"] == "failed" and
         "DB_URL" in e["detail"] and "simulated" in e["detail"] and
         "=x" not in e["detail"] else 1)' <<<"$hist"

if [ "$failures" -ne 0 ]; then
	echo "FAIL: settings: $failures checks failed"
	tail -30 "$(ctl_dir "$P")/slotlbd.log"
	cat "$STATE/hook.log"
	exit 1
fi
echo "PASS: settings"
