#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The declarative form, round trip. Daemon A holds an app with three
# slots, a stored warm-up policy, hooks, sticky and swapped settings and
# an auto swap; daemon B (same lab, its own state and pin root, no
# interfaces) starts empty.
#
# - export A, apply to B, export B: the same text;
# - apply the file to B again: "nothing to change", B's history unchanged;
# - a file asking production for the version that sits in staging makes
#   apply swap (warm-up gated, history: swap, trigger apply), not deploy;
# - --dry-run changes nothing; --prune deletes a slot the file does not
#   name.
#
# Backends: b1 v1, b2 v2, b3 v3.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=ap$$
PROD=$(lab_vip 1)

# b ARGS...: the CLI against daemon B.
b()
{
	SLOTLB_SOCKET=$B_DIR/slotlb.sock timeout 60 "$CTL_CLI" "$@"
}

# history_of CLI: the whole history of web, as JSON.
history_of()
{
	"$@" -o json history web
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$DPCTL" "$LAB_HTTPD"
need_tools python3
ctl_trap_cleanup "$P"
lab_up "$P" 3 || exit $?
STATE=$(lab_state_dir "$P")
B_DIR=$STATE/b
B_PINS=/sys/fs/bpf/slotlb-lab-${P}b
LAB_CLEANUP_DIRS+=("$B_PINS")
for i in 1 2 3; do
	lab_start_httpd "$P" "$i" "v$i" || die "httpd b$i"
done
HOOK=$STATE/hook
printf '#!/bin/sh\ncat > /dev/null\n' >"$HOOK"
chmod 755 "$HOOK"
ctl_start "$P" || die "slotlbd A did not start"
ctl_attach_all "$P" 3 || die "attach"
mkdir -p "$B_DIR"
nsenter --net="/run/netns/$(lab_ns_lb "$P")" "$CTL_SLOTLBD" \
	--state-dir "$B_DIR" --socket "$B_DIR/slotlb.sock" \
	--pin-root "$B_PINS" --flow-capacity 4096 \
	</dev/null >>"$B_DIR/slotlbd.log" 2>&1 &
B_PID=$!
trap 'kill -KILL $B_PID 2>/dev/null; wait $B_PID 2>/dev/null; ctl_cleanup_all' EXIT
for ((i = 0; i < 100; i++)); do
	b status >/dev/null 2>&1 && break
	sleep 0.1
done
need "slotlbd B answers" eval 'b status >/dev/null'
{
	cli app create web --endpoint "$PROD:80" &&
		cli slot create web --slot staging \
			--endpoint "$(lab_vip 2):80" &&
		cli slot create web --slot qa --endpoint "$(lab_vip 3):80" &&
		cli slot config web --slot production --warmup-path /health \
			--warmup-status 200,204 --warmup-timeout 3 \
			--warmup-host www.example.com &&
		cli slot hook set web --slot production --exec "$HOOK" \
			--timeout 5 &&
		cli slot hook set web --slot staging --exec "$HOOK" &&
		cli slot setting set web --slot production DB_URL=prod --sticky &&
		cli slot setting set web --slot staging DB_URL=stage --sticky &&
		cli deploy web --slot production --backend "$(be 1),weight=3" \
			--version v1 &&
		cli deploy web --slot staging --backend "$(be 2)" --version v2 &&
		cli slot setting set web --slot staging FEATURE=new &&
		cli deploy web --slot qa --backend "$(be 3)" --version v3 &&
		cli slot auto-swap web --slot qa --target-slot staging --delay 5
} >/dev/null || die "seed app A"

echo "# export A, apply to an empty B, export B"
cli export web --show-values >"$STATE/a.json" || die "export A"
out=$(b apply -f "$STATE/a.json" 2>&1)
rc=$?
echo "$out" | sed 's/^/   /'
check "apply to an empty daemon exits 0" [ "$rc" -eq 0 ]
b export web --show-values >"$STATE/b.json" || die "export B"
check "exported again: the same text" cmp -s "$STATE/a.json" "$STATE/b.json"
cmp -s "$STATE/a.json" "$STATE/b.json" ||
	diff "$STATE/a.json" "$STATE/b.json" | head -20
check "every operation's trigger is apply" \
	python3 -c '
import json, sys
h = json.load(sys.stdin)["history"]
sys.exit(0 if h and all("apply" in e["trigger"].split() for e in h) else 1)' \
	<<<"$(history_of b)"
check "apply's deploys started no auto swap (qa still holds v3)" \
	grep -q '"version": "v3"' <<<"$(b -o json slot list web)"

echo "# the same file again: nothing"
hist=$(history_of b)
out=$(b apply -f "$STATE/a.json")
echo "   $out"
check "it says nothing to change" [ "$out" = "nothing to change" ]
check "B's history is unchanged" [ "$(history_of b)" = "$hist" ]
check "from stdin too" [ "$(b apply -f - <"$STATE/a.json")" = "nothing to change" ]

echo "# production asks for the version in staging: a swap, not a deploy"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
slots = {s["name"]: s for s in d["apps"][0]["slots"]}
p, s = slots["production"], slots["staging"]
p["deployment"], s["deployment"] = s["deployment"], p["deployment"]
json.dump(d, open(sys.argv[2], "w"), indent=2)' "$STATE/a.json" "$STATE/swapped.json"
before=$(b -o json status web)
out=$(b apply -f "$STATE/swapped.json" --dry-run)
echo "$out" | sed 's/^/   /'
check "dry run: one swap" [ "$out" = "would swap web/staging -> production (warm-up gated): v2 is there" ]
check "dry run changed nothing" [ "$(b -o json status web)" = "$before" ]
out=$(b apply -f "$STATE/swapped.json" 2>&1)
rc=$?
echo "$out" | sed 's/^/   /'
check "apply exits 0" [ "$rc" -eq 0 ]
check "history: one swap, trigger apply, warmed up" \
	python3 -c '
import json, sys
e = [e for e in json.load(sys.stdin)["history"] if e["trigger"] != "slotlbd"][0]
sys.exit(0 if e["action"] == "swap" and e["outcome"] == "ok" and
         "apply" in e["trigger"].split() and e["warmup"] else 1)' \
	<<<"$(history_of b)"
check "no deploy happened" \
	[ "$(history_of b | grep -c '"action": "deploy"')" = \
	  "$(grep -c '"action": "deploy"' <<<"$hist")" ]
check "B now exports the file" \
	[ "$(b apply -f "$STATE/swapped.json")" = "nothing to change" ]

echo "# --prune"
b slot create web --slot scratch --endpoint "$(lab_vip 9):80" >/dev/null ||
	die "scratch slot"
check "without --prune the extra slot stays" \
	[ "$(b apply -f "$STATE/swapped.json")" = "nothing to change" ]
out=$(b apply -f "$STATE/swapped.json" --prune)
echo "   $out"
check "--prune deletes it" [ "$out" = "delete slot web/scratch" ]
check "... and it is gone" eval '! b slot list web | grep -q scratch'

if [ "$failures" -ne 0 ]; then
	echo "FAIL: apply: $failures checks failed"
	tail -20 "$(ctl_dir "$P")/slotlbd.log" "$B_DIR/slotlbd.log"
	exit 1
fi
echo "PASS: apply"
