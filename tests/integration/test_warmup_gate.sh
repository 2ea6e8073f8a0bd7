#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The warm-up gate of a swap: a staging deployment with a backend that is
# down, or that answers 503 when 200 is required, must be refused with a
# message naming that backend, and production must stay exactly as it was,
# as clients see it (new connections still reach v1), as status sees it
# (same deployment per slot), as the routing element holds it, and with the
# refusal in the history. The same 503 backend passes when warm-up is a TCP
# connect or an HTTP GET with no status list (Azure: any answer counts).
#
# Backends: b1 v1 (production), b2 healthy, b3 nothing listening, b4 503.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=wg$$
PROD=$(lab_vip 1)
STAGING=$(lab_vip 2)


# between N LO HI: LO <= N < HI
between()
{
	[ "$1" -ge "$2" ] && [ "$1" -lt "$3" ]
}





# slots: "production=ID:VERSION staging=ID:VERSION" from status.
slots()
{
	ctl_cli "$P" -o json status web | python3 -c '
import json, sys
app = json.load(sys.stdin)["apps"][0]
out = []
for s in app["slots"]:
    d = s["deployment"]
    out.append("%s=%s" % (s["name"],
        "%d:%s" % (d["id"], d["version"]) if d else "-"))
print(" ".join(out))'
}

# slot_of SLOTS NAME: "ID:VERSION" of slot NAME in a line of slots.
slot_of()
{
	local w

	for w in $1; do
		[ "${w%%=*}" = "$2" ] && echo "${w#*=}"
	done
}


# served VIP N: how many of N fresh connections answered each body.
served()
{
	local vip=$1 n=$2 k

	for ((k = 0; k < n; k++)); do
		lab_exec_client "$P" curl -s --noproxy '*' -m 3 "http://$vip/" ||
			echo "curl-failed"
	done | sort | uniq -c | sed 's/^ *//' | paste -sd';'
}

# newest_history FIELD...: fields of the newest history entry a caller
# made (slotlbd's own, drained and retire, come as drains end).
newest_history()
{
	ctl_cli "$P" -o json history web | python3 -c '
import json, sys
h = [e for e in json.load(sys.stdin)["history"] if e["trigger"] != "slotlbd"]
e = h[0]
warm = ",".join("%s:%s:%d" % (w["backend"], "ok" if w["ok"] else "failed",
                w["attempts"]) for w in e["warmup"])
print(len(h), e["action"], e["outcome"], warm, e["detail"].replace(" ", "_"))'
}

# refused DESC BACKEND WHY ARGS...: a swap that warm-up must refuse.
refused()
{
	local desc=$1 bad=$2 why=$3 t0 took rc out err hist_before hist
	local slots_before routing_before want_prod

	shift 3
	slots_before=$(slots)
	routing_before=$(routing_show)
	hist_before=$(newest_history | cut -d' ' -f1)
	want_prod="10 v1 $(be 1)"
	t0=$(now_ms)
	out=$(cli slot swap web --slot staging "$@" \
		2>"$STATE/err")
	rc=$?
	took=$(($(now_ms) - t0))
	err=$(cat "$STATE/err")
	echo "   $desc: refused in $took ms, exit $rc"
	echo "   stderr: $err"
	check "$desc: swap exits 1" [ "$rc" -eq 1 ]
	# one retry, 1 s after the first attempt, then the verdict
	check "$desc: refused after the retry, within 5 s" \
		between "$took" 900 5000
	check "$desc: error line names $bad" \
		grep -q "^Error: .*$bad" <<<"$err"
	check "$desc: error says $why" grep -q "$why" <<<"$err"
	check "$desc: progress shows a failed attempt on $bad" \
		grep -q "warm-up $bad attempt .*failed" <<<"$out"
	check "$desc: status unchanged ($slots_before)" \
		[ "$(slots)" = "$slots_before" ]
	check "$desc: routing element unchanged" \
		[ "$(routing_show)" = "$routing_before" ]
	check "$desc: production serves v1 on 10 new connections" \
		[ "$(served "$PROD" 10)" = "$want_prod" ]
	hist=$(newest_history)
	echo "   history: $hist"
	check "$desc: failed swap recorded in history" \
		[ "$(cut -d' ' -f1-3 <<<"$hist")" = "$((hist_before + 1)) swap failed" ]
	check "$desc: history marks $bad failed after 2 attempts" \
		grep -q "$bad:failed:2" <<<"$hist"
	check "$desc: history names $bad in the detail" \
		grep -q "$bad" <<<"$(cut -d' ' -f5 <<<"$hist")"
}

# succeeds DESC ARGS...: a swap that warm-up must let through.
succeeds()
{
	local desc=$1 t0 took rc err before after prod_dep

	shift
	before=$(slots)
	t0=$(now_ms)
	cli slot swap web --slot staging "$@" \
		>/dev/null 2>"$STATE/err"
	rc=$?
	took=$(($(now_ms) - t0))
	err=$(cat "$STATE/err")
	after=$(slots)
	echo "   $desc: exit $rc in $took ms; $before -> $after"
	check "$desc: swap exits 0 ($err)" [ "$rc" -eq 0 ]
	# production now holds what staging held, and the other way round
	prod_dep=$(slot_of "$before" staging)
	check "$desc: production took staging's deployment" \
		grep -q "production=$prod_dep " <<<"$after "
	check "$desc: routing element matches status" \
		[ "$(routing_show)" = "$(routing_expected)" ]
	check "$desc: newest history entry is an ok swap" \
		grep -q "^[0-9]* swap ok " <<<"$(newest_history)"
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$DPCTL" "$LAB_HTTPD"
command -v python3 >/dev/null || die "python3 missing"
ctl_trap_cleanup "$P"
lab_up "$P" 4 || exit $?
STATE=$(lab_state_dir "$P")
lab_start_httpd "$P" 1 v1 || die "httpd b1"
lab_start_httpd "$P" 2 v2 || die "httpd b2"
lab_start_httpd "$P" 4 v3 --status 503 || die "httpd b4"
ctl_start "$P" || die "slotlbd did not start"
ctl_attach_all "$P" 4 || die "attach"
# shellcheck disable=SC2015 # die is the else of the whole chain
ctl_cli "$P" app create web --endpoint "$PROD:80" >/dev/null &&
	ctl_cli "$P" slot create web --slot staging --endpoint "$STAGING:80" \
		>/dev/null &&
	ctl_cli "$P" deploy web --slot production --backend "$(be 1)" \
		--version v1 >/dev/null || die "seed app"
check "seed: production serves v1" \
	[ "$(served "$PROD" 3)" = "3 v1 $(be 1)" ]

echo "# staging v2 = b2 (up) + b3 (nothing listening)"
ctl_cli "$P" deploy web --slot staging --backend "$(be 2)" --backend "$(be 3)" \
	--version v2 >/dev/null || die "deploy v2"
refused "backend down" "$(be 3)" "refused" \
	--warmup-timeout 1 --warmup-retries 1

# Through the raw API too: 412, the body names the backend.
out=$(ctl_api "$P" POST /v1/apps/web/swap \
	'{"slot": "staging", "warmup": {"timeout_s": 1, "retries": 0}}')
check "API: backend down answers 412" [ "$(tail -1 <<<"$out")" = 412 ]
check "API: 412 error names $(be 3)" \
	grep -q "\"error\":.*$(be 3)" <<<"$(head -1 <<<"$out")"

echo "# staging v3 = b2 (200) + b4 (503)"
lab_start_httpd "$P" 2 v3 || die "httpd b2 v3"
ctl_cli "$P" deploy web --slot staging --backend "$(be 2)" --backend "$(be 4)" \
	--version v3 >/dev/null || die "deploy v3"
refused "503 with --warmup-status 200" "$(be 4)" "503" \
	--warmup-status 200 --warmup-timeout 1 --warmup-retries 1
check "staging (b2 + b4) still serves v3 on its own endpoint" \
	grep -q "v3" <<<"$(served "$STAGING" 2)"

echo "# the same 503 backend passes a TCP or any-status warm-up"
succeeds "tcp warm-up against a 503 backend" --warmup-mode tcp \
	--warmup-timeout 1 --warmup-retries 1
check "production now serves v3" grep -q "^[0-9]* v3" <<<"$(served "$PROD" 4)"
succeeds "swap back (v1 into production)" --warmup-timeout 1
check "production serves v1 again" \
	[ "$(served "$PROD" 3)" = "3 v1 $(be 1)" ]
succeeds "default HTTP warm-up (any status) against a 503 backend" \
	--warmup-timeout 1 --warmup-retries 1
check "production now serves v3 (b2 and b4 answer)" \
	grep -q "^[0-9]* v3" <<<"$(served "$PROD" 4)"

if [ "$failures" -ne 0 ]; then
	echo "FAIL: warmup_gate: $failures checks failed"
	tail -20 "$(ctl_dir "$P")/slotlbd.log"
	exit 1
fi
echo "PASS: warmup_gate"
