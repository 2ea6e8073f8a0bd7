#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Concurrent swaps: while one swap of app web is warming up, a second
# swap of web (CLI and raw API), a deploy and a rollback of web are
# refused at once as busy (409), and a swap of another app, shop, goes
# through without waiting. The first swap's warm-up is held as long as
# the test needs, however loaded the machine: web's staging backend
# answers 503 until the test creates a file (httpd --cold-until) and the
# swap accepts only 200, so warm-up retries (1 s apart) until then; the
# overlapping calls start once status says web is busy, and the file is
# created after they all ended. Exactly one swap of web happens.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=cs$$
OUT=$(mktemp -d /tmp/slotlb-cs.XXXXXX)





# version_at K: the version VIP K answers on a fresh connection.
version_at()
{
	lab_exec_client "$P" curl -s --noproxy '*' -m 3 \
		"http://$(lab_vip "$1" 4)/" | cut -d' ' -f1
}

# swap_cli NAME APP [ARGS...]: swap APP's staging into production via
# the CLI; NAME.out gets its output, NAME.rc its exit status, NAME.ms
# its duration, NAME.end when it ended (now_ms).
swap_cli()
{
	local name=$1 app=$2 t0 rc

	shift 2
	t0=$(now_ms)
	timeout "${SWAP_TIMEOUT:-30}" env SLOTLB_SOCKET="$(ctl_socket "$P")" "$CTL_CLI" \
		slot swap "$app" --slot staging "$@" >"$OUT/$name.out" 2>&1
	rc=$?
	now_ms >"$OUT/$name.end"
	echo $(($(cat "$OUT/$name.end") - t0)) >"$OUT/$name.ms"
	echo $rc >"$OUT/$name.rc"
}

# swaps_of APP: "ok=N failed=M" over APP's swap history entries.
swaps_of()
{
	ctl_cli "$P" -o json history "$1" | python3 -c '
import json, sys
h = [e for e in json.load(sys.stdin)["history"] if e["action"] == "swap"]
print("ok=%d failed=%d" % (sum(e["outcome"] == "ok" for e in h),
                           sum(e["outcome"] != "ok" for e in h)))'
}


require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$LAB_XDP_PASS"
need_tools curl python3

ctl_trap_cleanup "$P"
LAB_CLEANUP_DIRS+=("$OUT")
lab_up "$P" 4 || exit $?
for i in 1 3; do
	lab_start_httpd "$P" $i v1 || exit 1
done
for i in 2 4; do
	lab_start_httpd "$P" $i v2 || exit 1
done
ctl_start "$P" || exit 1
need "attach pub0, be1..be4" ctl_attach_all "$P" 4
# web: production VIP 1 (b1 v1), staging VIP 2 (b2 v2);
# shop: production VIP 3 (b3 v1), staging VIP 4 (b4 v2).
k=1
for app in web shop; do
	need "app $app with production and staging" eval "
		ctl_cli $P app create $app --endpoint $(lab_vip $k 4):80 \
			>/dev/null &&
		ctl_cli $P slot create $app --slot staging \
			--endpoint $(lab_vip $((k + 1)) 4):80 >/dev/null &&
		ctl_cli $P deploy $app --slot production --backend $(be $k) \
			--version v1 >/dev/null &&
		ctl_cli $P deploy $app --slot staging \
			--backend $(be $((k + 1))) --version v2 >/dev/null"
	k=$((k + 2))
done
need "web and shop production answer v1 before the swaps" \
	[ "$(version_at 1)/$(version_at 3)" = v1/v1 ]

# --- the slow swap and what overlaps it -------------------------------
# Restarted cold: web's staging backend answers 503 until $OUT/warm.
need "web staging backend restarted with --cold-until" \
	lab_start_httpd "$P" 2 v2 --cold-until "$OUT/warm"
t0=$(now_ms)
SWAP_TIMEOUT=90 swap_cli first web --warmup-status 200 --warmup-retries 60 &
first_pid=$!

# the rest overlaps the first swap once slotlbd says web is busy (not
# after a fixed time: on a loaded machine the first CLI may reach the
# daemon late)
for ((i = 0; i < 100; i++)); do
	ctl_api "$P" GET '/v1/status?app=web' 2>/dev/null | grep -q '"busy":' &&
		break
	sleep 0.05
done
need "the first swap is under way (web busy) within 5 s" [ "$i" -lt 100 ]
swap_cli second web --warmup-status 200 --warmup-retries 10
ctl_api "$P" POST /v1/apps/web/swap '{"slot": "staging"}' \
	>"$OUT/api.out" 2>&1
api_code=$(tail -1 "$OUT/api.out")
api_body=$(sed '$d' "$OUT/api.out")
ctl_cli "$P" deploy web --slot staging --backend "$(be 2)" --version v3 \
	>"$OUT/deploy.out" 2>&1
deploy_rc=$?
ctl_cli "$P" slot rollback web >"$OUT/rollback.out" 2>&1
rollback_rc=$?
swap_cli shop shop
shop_done=$(now_ms)
first_running=no
kill -0 $first_pid 2>/dev/null && [ ! -s "$OUT/first.rc" ] &&
	first_running=yes
# now the first swap's warm-up may pass
released=$(now_ms)
touch "$OUT/warm"

wait $first_pid
first_rc=$(cat "$OUT/first.rc")
second_rc=$(cat "$OUT/second.rc")
shop_rc=$(cat "$OUT/shop.rc")
first_ms=$(cat "$OUT/first.ms")
second_ms=$(cat "$OUT/second.ms")
shop_ms=$(cat "$OUT/shop.ms")
sed 's/^/   first  | /' "$OUT/first.out"
sed 's/^/   second | /' "$OUT/second.out"
echo "   api    | $api_code $api_body"
sed 's/^/   deploy | /' "$OUT/deploy.out"
sed 's/^/   rollbk | /' "$OUT/rollback.out"
sed 's/^/   shop   | /' "$OUT/shop.out"

check "exactly one of the two web swaps succeeded (first exit $first_rc, second exit $second_rc)" \
	[ $((first_rc == 0)) -ne $((second_rc == 0)) ]
first_end=$(cat "$OUT/first.end")
check "the first (slow) swap succeeded after $first_ms ms, $((first_end - released)) ms after its backend was warm" \
	[ "$first_rc/$((first_end >= released))" = 0/1 ]
check "the first swap's warm-up retried past 503 before passing" \
	grep -Eq 'attempt 1: failed, status 503' "$OUT/first.out"
# refused at once, not after the first's warm-up: generous bounds for a
# loaded machine (the first swap is held until all of these ended)
check "the second swap failed with exit 1 in $second_ms ms" \
	[ "$second_rc/$((second_ms < 5000))" = 1/1 ]
check "the second swap says busy: $(tail -1 "$OUT/second.out")" \
	grep -q '^Error: .*busy' "$OUT/second.out"
check "a concurrent POST /v1/apps/web/swap gets 409 busy" \
	[ "$api_code/$(grep -c busy <<<"$api_body")" = 409/1 ]
check "a concurrent deploy into web is refused as busy (exit $deploy_rc)" \
	[ "$deploy_rc/$(grep -c busy "$OUT/deploy.out")" = 1/1 ]
check "a concurrent rollback of web is refused as busy (exit $rollback_rc)" \
	[ "$rollback_rc/$(grep -c busy "$OUT/rollback.out")" = 1/1 ]
check "swap of app shop meanwhile: exit $shop_rc in $shop_ms ms" \
	[ "$shop_rc/$((shop_ms < 5000))" = 0/1 ]
check "shop's swap finished while web's was still warming up ($((shop_done - t0)) ms after it began)" \
	[ $first_running = yes ]

# --- the outcome --------------------------------------------------------
check "web production serves v2, staging v1 (one swap, not two)" \
	[ "$(version_at 1)/$(version_at 2)" = v2/v1 ]
check "shop production serves v2, staging v1" \
	[ "$(version_at 3)/$(version_at 4)" = v2/v1 ]
web_swaps=$(swaps_of web)
shop_swaps=$(swaps_of shop)
check "history web: exactly one successful swap ($web_swaps)" \
	[ "${web_swaps%% *}" = ok=1 ]
check "history shop: exactly one successful swap ($shop_swaps)" \
	[ "${shop_swaps%% *}" = ok=1 ]
check "history web: no deploy or rollback slipped in" \
	[ "$(ctl_cli "$P" -o json history web | python3 -c '
import json, sys
print(sorted(e["action"] for e in json.load(sys.stdin)["history"]
             if e["action"] in ("deploy", "swap", "rollback")))')" = \
	"['deploy', 'deploy', 'swap']" ]

echo "figures: first swap $first_ms ms, refused swap $second_ms ms, shop swap $shop_ms ms"
if [ $failures -ne 0 ]; then
	echo "FAIL: concurrent swaps: $failures check(s) failed"
	tail -20 "$(ctl_dir "$P")/slotlbd.log"
	exit 1
fi
echo "PASS: concurrent swaps"
