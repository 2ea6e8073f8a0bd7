#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Event hooks (issue 9, events and audit). A small HTTP server (python3)
# in the LB's namespace receives web's events; a second hook points at
# a port where nothing listens, a third at one that answers each event
# 500 once (it must come again: a 5xx is no delivery). Deploy, swap, a
# backend drain, a drain that ends and a backend's health going down and
# up must each reach the receiver, signed (HMAC-SHA256 of the body under
# the hook's secret, checked here independently), with the event named
# in a header; the dead receiver changes nothing (every operation
# succeeds and answers as
# quickly), and its failures are counted. Bad hooks are refused and
# change nothing.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=hk$$
VIP=$(lab_vip 1 4)
VIP2=$(lab_vip 2 4)
OUT=$(mktemp -d /tmp/slotlb-hk.XXXXXX)
PORT=18080
DEAD_PORT=18081
FLAKY_PORT=18082
SECRET=s3cret-for-the-hook-test-$$

# The receiver: one JSON line per POST (headers and body) in OUT/got.
# With a third argument it answers 500 to the first POST of each body
# (a receiver that fails once), 200 to the next.
RECEIVER_PY='
import http.server, json, sys
out = open(sys.argv[2], "a")
flaky, seen = len(sys.argv) > 3, set()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        out.write(json.dumps({"headers": dict(self.headers),
                              "body": body.decode()}) + "\n")
        out.flush()
        first = flaky and body not in seen
        seen.add(body)
        self.send_response(500 if first else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
'

# got EVENT: events EVENT received, each "ok" if its signature checks.
got()
{
	python3 -c '
import hashlib, hmac, json, sys
secret, want = sys.argv[1].encode(), sys.argv[2]
for line in open(sys.argv[3]):
    r = json.loads(line)
    body = r["body"]
    ev = json.loads(body)
    if ev["event"] != want:
        continue
    sig = r["headers"].get("X-Slotlb-Signature", "")
    mac = "sha256=" + hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(sig, mac) and \
        r["headers"].get("X-Slotlb-Event") == want and ev["app"] == "web"
    print("ok" if ok else "bad-signature")' "$SECRET" "$1" "$OUT/got"
}

# wait_got EVENT N: until N signed EVENT events arrived (10 s).
wait_got()
{
	local i

	for ((i = 0; i < 100; i++)); do
		[ "$(got "$1" | grep -c '^ok$')" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# hook_field ID FIELD
hook_field()
{
	cli -o json hook list web | python3 -c '
import json, sys
for h in json.load(sys.stdin)["hooks"]:
    if h["id"] == int(sys.argv[1]):
        print(h[sys.argv[2]])' "$1" "$2"
}

expect_fail()
{
	! "$@" >/dev/null 2>"$OUT/err" && grep -q "^Error: " "$OUT/err"
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$LAB_XDP_PASS"
need_tools curl python3
ctl_trap_cleanup "$P"
LAB_CLEANUP_DIRS+=("$OUT")
lab_up "$P" 3 || exit $?
for i in 1 2 3; do
	lab_start_httpd "$P" $i "v$i" || exit 1
done
ctl_start "$P" --drain-interval 200 || exit 1
ctl_attach_all "$P" 3 || die "attach failed"
touch "$OUT/got"
ctl_exec_lb "$P" timeout 120 python3 -c "$RECEIVER_PY" "$PORT" \
	"$OUT/got" >"$OUT/receiver.log" 2>&1 &
touch "$OUT/flaky"
ctl_exec_lb "$P" timeout 120 python3 -c "$RECEIVER_PY" "$FLAKY_PORT" \
	"$OUT/flaky" flaky >"$OUT/flaky.log" 2>&1 &
need "app web with staging" eval "cli app create web --endpoint $VIP:80 \
	>/dev/null && cli slot create web --slot staging \
	--endpoint $VIP2:80 >/dev/null"
printf '%s\n' "$SECRET" >"$OUT/secret"
printf 'short\n' >"$OUT/short"

# Bad input: refused, nothing stored.
check "an unknown event is refused" expect_fail cli hook add web \
	--event deploy,explode --url "http://127.0.0.1:$PORT/"
check "a URL that is not http(s) is refused" expect_fail cli hook add web \
	--event deploy --url "ftp://127.0.0.1/"
check "url and exec together are refused" expect_fail cli hook add web \
	--event deploy --url "http://127.0.0.1:$PORT/" --exec /bin/true
check "a short secret is refused" expect_fail cli hook add web \
	--event deploy --url "http://127.0.0.1:$PORT/" --secret-file "$OUT/short"
check "the API refuses an unknown event too" [ "$(ctl_api "$P" POST \
	/v1/apps/web/hooks '{"events": "nope", "url": "http://127.0.0.1/"}' |
	tail -1)" = 400 ]
check "no hook stored" [ "$(cli -o json hook list web | python3 -c '
import json, sys; print(len(json.load(sys.stdin)["hooks"]))')" = 0 ]

added=$(cli -o json hook add web --event deploy,swap,drained,backend,health \
	--url "http://127.0.0.1:$PORT/hook" --secret-file "$OUT/secret")
id=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])' \
	<<<"$added")
# the answer is the stored hook (its "created" used to be 1970's)
added_at=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["created"])' \
	<<<"$added")
check "hook add answers the hook's creation time ($added_at)" \
	[ "$added_at" = "$(hook_field "$id" created)" ]
dead=$(cli -o json hook add web --event deploy,swap,drained,health \
	--url "http://127.0.0.1:$DEAD_PORT/" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
flaky=$(cli -o json hook add web --event swap \
	--url "http://127.0.0.1:$FLAKY_PORT/" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
check "three hooks stored ($id, $dead, $flaky)" \
	test -n "$id" -a -n "$dead" -a -n "$flaky"
check "hook list never shows the secret" eval "! cli -o json hook list web |
	grep -q '$SECRET'"

t0=$(now_ms)
need "deploy v1 into production" cli deploy web --slot production \
	--backend "$(be 1)" --version v1 >/dev/null
need "deploy v2 into staging" cli deploy web --slot staging \
	--backend "$(be 2)" --version v2 >/dev/null
need "swap staging into production" cli slot swap web --slot staging \
	>/dev/null
need "drain and undrain a backend" eval "cli backend weight web \
	--slot production --backend $(be 2) --weight 3 >/dev/null"
took=$(($(now_ms) - t0))
echo "   deploy, deploy, swap, weight: $took ms with a dead receiver"
check "production serves v2" [ "$(lab_exec_client "$P" curl -s \
	--noproxy '*' -m 3 "http://$VIP/")" = "v2 $(be 2)" ]
# v1 is in staging now; v3 replaces it, so v1 drains (no flows): drained
need "deploy v3 into staging" cli deploy web --slot staging \
	--backend "$(be 3)" --version v3 >/dev/null

check "2 signed deploy events (+1 for v3)" wait_got deploy 3
check "a signed swap event" wait_got swap 1
check "a signed backend event" wait_got backend 1
check "a signed drained event" wait_got drained 1
# health: staging's v3 (b3 alone) is probed; its server stops and
# starts again (the last backend stays in its ring, fail open, and the
# transitions are events all the same)
need "health policy on staging" cli slot health web --slot staging \
	--path / --interval 0.5 --timeout 0.4 --unhealthy-after 2 \
	--healthy-after 1
lab_stop_httpd "$P" 3
check "a signed health event: b3 down" wait_got health 1
lab_start_httpd "$P" 3 v3 || die "restart b3"
check "a signed health event: b3 up again" wait_got health 2
check "the health events name b3, down then up" python3 -c '
import json, sys
evs = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1])]
h = [e for e in evs if e["event"] == "health"]
assert [e["outcome"] for e in h[:2]] == ["down", "up"], h
assert all(sys.argv[2] in e["detail"] for e in h[:2]), h' "$OUT/got" "$(be 3)"
check "no event with a bad signature" eval "! grep -h bad-signature \
	<(got deploy) <(got swap) <(got drained) <(got backend) <(got health)"
check "nothing unasked: no config event" [ -z "$(got config)" ]
check "history records the hook changes" \
	[ "$(cli history web | grep -c ' hook ')" -ge 2 ]

# the dead receiver: attempts failed and counted, nothing delivered
for ((i = 0; i < 100; i++)); do
	[ "$(hook_field "$dead" attempts_failed)" -ge 4 ] && break
	sleep 0.1
done
check "the dead receiver's failures are counted \
($(hook_field "$dead" attempts_failed) attempts)" \
	test "$(hook_field "$dead" attempts_failed)" -ge 4 -a \
	"$(hook_field "$dead" delivered)" = 0
check "the live receiver's deliveries are counted" \
	[ "$(hook_field "$id" delivered)" -ge 6 ]
# the receiver that answered the swap event 500 got it again (a 5xx is
# not a delivery) and took it the second time
for ((i = 0; i < 100; i++)); do
	[ "$(hook_field "$flaky" delivered)" = 1 ] && break
	sleep 0.1
done
n=$(grep -c . "$OUT/flaky")
check "a 500 is retried: the swap event came twice ($n POSTs), delivered 1, failed 1" \
	test "$n" = 2 -a "$(hook_field "$flaky" delivered)" = 1 -a \
	"$(hook_field "$flaky" attempts_failed)" = 1

need "delete the live hook" cli hook delete web --id "$id"
n=$(grep -c . "$OUT/got")
need "deploy v1 again" cli deploy web --slot staging --backend "$(be 1)" \
	--version v1b >/dev/null
sleep 1
check "a deleted hook gets nothing" [ "$(grep -c . "$OUT/got")" = "$n" ]
check "deleting an unknown hook is refused" expect_fail cli hook delete \
	web --id 999

# Audit: create and delete are history with the caller's identity; a
# deleted app's history stays readable; a trigger that is not UTF-8 or
# carries control characters is stored as valid UTF-8 without them and
# printed without them.
need "app old created" cli app create old --endpoint "$(lab_vip 3 4):80" \
	>/dev/null
printf '{"name": "qa", "endpoints": ["%s:80"]}' "$(lab_vip 4 4)" >"$OUT/qa"
check "slot created with a hostile trigger" [ "$(curl -s -o /dev/null \
	-w '%{http_code}' --unix-socket "$(ctl_socket "$P")" \
	-H $'X-Slotlb-Trigger: ci\xff\xfe\x1b[31mred\x1b[0m\xc2\x85end' \
	-H 'Content-Type: application/json' --data-binary @"$OUT/qa" \
	http://slotlb/v1/apps/old/slots)" = 201 ]
need "app old deleted" cli app delete old
ctl_api "$P" GET /v1/apps/old/history >"$OUT/old.json"
check "the deleted app's history is readable" \
	[ "$(tail -1 "$OUT/old.json")" = 200 ]
check "it holds create, create (slot) and delete with the caller" \
	python3 -c '
import json, sys
h = json.loads(open(sys.argv[1]).read().rsplit("\n", 2)[0])["history"]
acts = [e["action"] for e in h]
assert acts == ["delete", "create", "create"], acts
assert all("uid=0" in e["trigger"] for e in h), [e["trigger"] for e in h]' \
	"$OUT/old.json"
check "the hostile trigger is stored as valid UTF-8 without controls" \
	python3 -c '
import json, sys
raw = open(sys.argv[1], "rb").read().rsplit(b"\n", 2)[0]
t = json.loads(raw.decode("utf-8"))["history"][1]["trigger"]
assert "end" in t and "red" in t, t
assert not any(ord(c) < 32 or 0x7f <= ord(c) <= 0x9f for c in t), repr(t)
print("   stored trigger: %r" % t)' "$OUT/old.json"
cli history old >"$OUT/old.txt" 2>&1
check "the CLI prints it without control characters" eval "grep -q 'red' \
	$OUT/old.txt && ! grep -q $'[\x01-\x08\x0b-\x1f\x7f]' $OUT/old.txt"
check "interface attachments are in the daemon's history" \
	[ "$(cli history | grep -c 'attached')" -ge 4 ]

if [ "$failures" -ne 0 ]; then
	echo "FAIL: hooks: $failures check(s) failed"
	tail -20 "$(ctl_dir "$P")/slotlbd.log"
	exit 1
fi
echo "PASS: hooks"
