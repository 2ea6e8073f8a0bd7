#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The declarative form, round trip. Daemon A holds an app with three
# slots, a stored warm-up policy, hooks, sticky and swapped settings, an
# auto swap, and health, drain and verification policies; daemon B (same
# lab, its own state and pin root, no interfaces) starts empty.
#
# - export A, apply to B, export B: the same text, policies included;
# - a file that turns the policies off (null health and verify, drain
#   without a timeout) makes B so; a bad policy is refused whole (exit 2,
#   B unchanged); event hooks are never exported;
# - apply the file to B again: "nothing to change", B's history unchanged;
# - a file asking production for the version that sits in staging makes
#   apply swap (warm-up gated, history: swap, trigger apply), not deploy;
# - --dry-run changes nothing; --prune deletes a slot the file does not
#   name;
# - two slots holding the same version and backends both get it (no
#   swap that would empty one).
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
		cli slot auto-swap web --slot qa --target-slot staging --delay 5 &&
		cli slot health web --slot production --path / --status 200 \
			--interval 2 --timeout 1 --unhealthy-after 4 \
			--healthy-after 3 --on-down-tcp leave &&
		cli slot config web --slot staging --drain-timeout 90 \
			--on-drain-timeout reset --reset-rate 50 &&
		cli slot config web --slot production --verify-for 30 \
			--verify-http /=200,204 --max-reset-ratio 0.2 \
			--on-failure alert &&
		cli hook add web --event deploy --url http://127.0.0.1:9/x
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
check "the policies are in the file" python3 -c '
import json, sys
s = {x["name"]: x for x in json.load(open(sys.argv[1]))["apps"][0]["slots"]}
p, st = s["production"], s["staging"]
assert p["health"]["interval_s"] == 2 and p["health"]["tcp"] == "leave", p
assert p["health"]["unhealthy_after"] == 4 and p["health"]["statuses"] == [200]
assert st["drain"] == {"timeout_s": 90, "on_timeout": "reset",
                       "reset_rate": 50}, st["drain"]
assert p["verify"]["http"] == "/=200,204" and p["verify"]["on_failure"] == "alert"
assert st["health"] is None and st["verify"] is None, st
assert "127.0.0.1:9" not in open(sys.argv[1]).read()' "$STATE/a.json"
check "B stores them: its health policy" \
	grep -q "interval 2 s, timeout 1 s, unhealthy after 4, healthy after 3" \
	<<<"$(b slot health web --slot production)"
check "B has no event hook (not exported)" \
	[ "$(b -o json hook list web | python3 -c '
import json, sys; print(len(json.load(sys.stdin)["hooks"]))')" = 0 ]
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

echo "# policies off by a file; a bad policy refused whole"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = {x["name"]: x for x in d["apps"][0]["slots"]}
s["production"]["health"] = None
s["production"]["verify"] = None
s["staging"]["drain"] = {"timeout_s": None, "on_timeout": "leave",
                         "reset_rate": 100}
json.dump(d, open(sys.argv[2], "w"), indent=2)
s["production"]["health"] = {"interval_s": 1, "timeout_s": 2}
json.dump(d, open(sys.argv[3], "w"), indent=2)
s["production"]["health"] = None
s["staging"]["drain"] = {"on_timeout": "reset"}
json.dump(d, open(sys.argv[4], "w"), indent=2)
s["staging"]["drain"] = None
s["staging"]["verify"] = {"for_s": 30, "max_reset_ratio": 1.5}
json.dump(d, open(sys.argv[5], "w"), indent=2)' "$STATE/a.json" \
	"$STATE/off.json" "$STATE/bad-health.json" "$STATE/bad-drain.json" \
	"$STATE/bad-verify.json"
before=$(b export web)
hist=$(history_of b)
for f in bad-health bad-drain bad-verify; do
	out=$(b apply -f "$STATE/$f.json" 2>&1)
	rc=$?
	echo "   $f: $out"
	check "$f: exit 2, the error names the place" eval "[ $rc -eq 2 ] &&
		grep -q '^Error: apply: .*apps\[0\]\.slots\[[01]\]\.' <<<\"\$out\""
done
check "bad files changed nothing" [ "$(b export web)" = "$before" ]
check "... and wrote no history" [ "$(history_of b)" = "$hist" ]
out=$(b apply -f "$STATE/off.json" 2>&1)
echo "$out" | sed 's/^/   /'
check "policies off: three steps" [ "$(wc -l <<<"$out")" = 3 ]
b export web --show-values >"$STATE/b-off.json"
check "B exports the file without policies" python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert a == b, (a, b)' "$STATE/off.json" "$STATE/b-off.json"
check "B's health checks are off" grep -q "^health checks: off" \
	<<<"$(b slot health web --slot production)"
check "applying it again: nothing to change" \
	[ "$(b apply -f "$STATE/off.json")" = "nothing to change" ]
out=$(b apply -f "$STATE/a.json")
check "and back: the policies again ($(wc -l <<<"$out") steps)" \
	[ "$(b export web --show-values)" = "$(cat "$STATE/a.json")" ]

echo "# production asks for the version in staging: a swap, not a deploy"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
slots = {s["name"]: s for s in d["apps"][0]["slots"]}
p, s = slots["production"], slots["staging"]
p["deployment"], s["deployment"] = s["deployment"], p["deployment"]
json.dump(d, open(sys.argv[2], "w"), indent=2)' "$STATE/a.json" "$STATE/swapped.json"
# What a dry run must not change: the declared state (export), no
# operation in history, and where each slot points. Status's runtime
# fields (flow counts of the last walk) may move by themselves: a
# difference there is printed, not failed on (it differed once in a
# fresh-clone CI run, cause not seen).
before=$(b -o json status web)
before_state=$(b export web --show-values)
before_hist=$(b -o json history web | wc -c)
out=$(b apply -f "$STATE/swapped.json" --dry-run)
echo "$out" | sed 's/^/   /'
check "dry run: one swap" [ "$out" = "would swap web/staging -> production (warm-up gated): v2 is there" ]
after=$(b -o json status web)
[ "$after" = "$before" ] ||
	diff <(echo "$before") <(echo "$after") | sed 's/^/# status: /' | head -20
after_state=$(b export web --show-values)
after_hist=$(b -o json history web | wc -c)
check "dry run changed nothing (export, history)" \
	[ "$after_state" = "$before_state" -a "$after_hist" = "$before_hist" ]
check "dry run: production still v1, staging still v2" \
	[ "$(b -o json status web | python3 -c '
import json, sys
a = json.load(sys.stdin)["apps"][0]
print(" ".join("%s=%s" % (s["name"], s["deployment"]["version"])
               for s in a["slots"] if s["deployment"]))')" = \
	"production=v1 staging=v2 qa=v3" ]
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

echo "# two slots holding the same version and backends"
{
	cli app create twin --endpoint "$(lab_vip 10):80" &&
		cli slot create twin --slot staging \
			--endpoint "$(lab_vip 11):80" &&
		cli deploy twin --slot production --backend "$(be 1)" \
			--version v1 &&
		cli deploy twin --slot staging --backend "$(be 1)" --version v1
} >/dev/null || die "seed twin"
cli export twin >"$STATE/twin.json" || die "export twin"
out=$(b apply -f "$STATE/twin.json" 2>&1)
rc=$?
echo "$out" | sed 's/^/   /'
# apply used to deploy into production, then swap it away into staging:
# production empty, and every apply again swapped them back and forth
check "apply exits 0" [ "$rc" -eq 0 ]
check "both slots hold v1 on B" [ "$(b -o json status twin | python3 -c '
import json, sys
print(" ".join(s["deployment"]["version"] if s["deployment"] else "-"
               for s in json.load(sys.stdin)["apps"][0]["slots"]))')" = "v1 v1" ]
check "applying it again: nothing to change" \
	[ "$(b apply -f "$STATE/twin.json")" = "nothing to change" ]

if [ "$failures" -ne 0 ]; then
	echo "FAIL: apply: $failures checks failed"
	tail -n 20 "$(ctl_dir "$P")/slotlbd.log" "$B_DIR/slotlbd.log"
	exit 1
fi
echo "PASS: apply"
