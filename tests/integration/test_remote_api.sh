#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The API over TCP and metrics over TCP, from the lab's client namespace
# to the LB's address (never the machine's own interfaces):
#  (a) without a token, with a wrong one, with a malformed header: 401
#      with WWW-Authenticate and nothing else, whatever the path (no 404
#      for an unknown one), and a refused write changes nothing;
#  (b) with a token: deploy and swap; the history records the token's
#      name and the client's address;
#  (c) a read-only token reads, and gets 403 on a swap;
#  (d) the metrics listener serves GET /metrics without a token and
#      nothing else (404, 405);
#  (e) with --tls-cert/--tls-key the API speaks HTTPS (verified against
#      the test's own CA), still with tokens; plain HTTP gets no answer;
#  (f) bad settings stop slotlbd at start with a clear error, non-zero
#      exit, and nothing started: no state directory, no pinned maps, no
#      socket (metrics and API on one port, an address in use, a
#      malformed address, an address not on this host, an unknown group,
#      a token file or a TLS key others may read).
#
# shellcheck disable=SC2317 # functions run through check
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=ra$$
LB=198.18.0.1 # the LB's address on the client's link
API=$LB:8419
METRICS=[fd00:5107::1]:9419
VIP=$(lab_vip 1 4)
TOKEN_CI=ci-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
TOKEN_RO=ro-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')

need_tools curl python3 openssl
lab_check_caps || exit 77
require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$DPCTL"
ctl_trap_cleanup "$P"
lab_up "$P" 2 || exit $?
lab_start_httpd "$P" 1 v1 || die "httpd b1"
lab_start_httpd "$P" 2 v2 || die "httpd b2"
STATE=$(lab_state_dir "$P")
LOG=$(ctl_dir "$P")/slotlbd.log
mkdir -p "$(ctl_dir "$P")"

cat >"$STATE/tokens" <<EOF
# the pipeline and a dashboard
deploy-bot: $TOKEN_CI
dashboard: $TOKEN_RO read-only
EOF
chmod 600 "$STATE/tokens"

ctl_start "$P" --api-listen "$API" --api-token-file "$STATE/tokens" \
	--metrics-listen "$METRICS" || die "slotlbd: $(tail -3 "$LOG")"
ctl_attach_all "$P" 2 || die "attach"
cli app create web --endpoint "$VIP:80" >/dev/null || die "app create"
cli slot create web --slot staging --endpoint "$(lab_vip 2 4):80" \
	>/dev/null || die "slot create"

# req URL [CURL ARGS...]: from the client namespace; headers and body,
# then the status on a last line.
req()
{
	local url=$1

	shift
	lab_exec_client "$P" curl -s -i --noproxy '*' -m 20 \
		-w '\n%{http_code}\n' "$@" "$url"
}

status_of()
{
	tail -1 <<<"$1"
}

# unauthorized RESPONSE: 401, the challenge, and the one error body.
unauthorized()
{
	[ "$(status_of "$1")" = 401 ] &&
		grep -qi '^WWW-Authenticate: Bearer realm="slotlb"' <<<"$1" &&
		grep -q '^{"error":"unauthorized: a valid bearer token is needed"}$' <<<"$1"
}

snapshot()
{
	cli -o json status
	cli -o json history web
	routing_show 0
}

served()
{
	lab_exec_client "$P" curl -s --noproxy '*' -m 5 "http://$VIP/"
}

# --- (a) no token, wrong token: 401 and nothing else --------------------------
before=$(snapshot)
check "no token: GET /v1/status is 401" \
	unauthorized "$(req "http://$API/v1/status")"
check "no token: an unknown path is 401 too, not 404" \
	unauthorized "$(req "http://$API/no/such/path")"
check "wrong token: 401" unauthorized "$(req "http://$API/v1/status" \
	-H "Authorization: Bearer ${TOKEN_CI}x")"
check "a token one character short: 401" unauthorized \
	"$(req "http://$API/v1/status" -H "Authorization: Bearer ${TOKEN_CI%?}")"
check "right token as Basic credentials: 401" unauthorized \
	"$(req "http://$API/v1/status" -H "Authorization: Basic $TOKEN_CI")"
check "no token: a deploy is 401" unauthorized \
	"$(req "http://$API/v1/apps/web/slots/production/deploy" -X POST \
		-d '{"backends": ["'"$(be 1)"'"]}')"
check "nothing changed after the refusals" test "$(snapshot)" = "$before"

# --- (b) the right token -----------------------------------------------------------
AUTH=(-H "Authorization: Bearer $TOKEN_CI")
out=$(req "http://$API/v1/apps/web/slots/production/deploy" "${AUTH[@]}" \
	-X POST -d '{"backends": ["'"$(be 1)"'"], "version": "v1"}')
check "token: deploy into production ($(status_of "$out"))" \
	test "$(status_of "$out")" = 201
out=$(req "http://$API/v1/apps/web/slots/staging/deploy" "${AUTH[@]}" \
	-X POST -d '{"backends": ["'"$(be 2)"'"], "version": "v2"}')
check "token: deploy into staging" test "$(status_of "$out")" = 201
out=$(req "http://$API/v1/apps/web/swap" "${AUTH[@]}" -H 'X-Slotlb-Trigger: pipeline 42' \
	-X POST -d '{"slot": "staging"}')
check "token: swap ($(status_of "$out"))" test "$(status_of "$out")" = 200
check "production serves v2" test "$(served)" = "v2 $(be 2)"
trig=$(cli -o json history web |
	python3 -c 'import json,sys; print([e for e in json.load(sys.stdin)["history"] if e["trigger"] != "slotlbd"][0]["trigger"])')
check "history names the token and the client ($trig)" \
	test "$trig" = "token=deploy-bot addr=198.18.0.2 pipeline 42"

# --- (c) a read-only token -------------------------------------------------------
RO=(-H "Authorization: Bearer $TOKEN_RO")
out=$(req "http://$API/v1/status" "${RO[@]}")
check "read-only token: status" test "$(status_of "$out")" = 200
out=$(req "http://$API/v1/apps/web/history" "${RO[@]}")
check "read-only token: history" test "$(status_of "$out")" = 200
before=$(snapshot)
out=$(req "http://$API/v1/apps/web/swap" "${RO[@]}" -X POST -d '{"slot": "staging"}')
check "read-only token: swap is 403" test "$(status_of "$out")" = 403
check "... naming the token" grep -q \
	'"error":"POST /v1/apps/web/swap: forbidden: token=dashboard addr=198.18.0.2 may only read"' <<<"$out"
check "nothing changed" test "$(snapshot)" = "$before"

# --- (d) the metrics listener ------------------------------------------------------
out=$(req "http://$METRICS/metrics")
check "metrics listener: GET /metrics without a token" \
	test "$(status_of "$out")" = 200
check "... Prometheus text" grep -q '^# TYPE slotlb_' <<<"$out"
out=$(req "http://$METRICS/v1/status" "${AUTH[@]}")
check "metrics listener: nothing but /metrics (404, even with a token)" \
	test "$(status_of "$out")" = 404
out=$(req "http://$METRICS/metrics" -X POST)
check "metrics listener: POST /metrics is 405, Allow: GET" \
	test "$(status_of "$out")" = 405 -a -n "$(grep -i '^Allow: GET' <<<"$out")"
out=$(req "http://$API/metrics" "${RO[@]}")
check "the API listener serves /metrics to a token" test "$(status_of "$out")" = 200

# --- (e) TLS ----------------------------------------------------------------------------
tls=$STATE/tls
mkdir -p "$tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=slotlb test CA" \
	-keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null &&
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$LB" \
		-keyout "$tls/key.pem" -out "$tls/req.pem" 2>/dev/null &&
	openssl x509 -req -in "$tls/req.pem" -CA "$tls/ca.pem" \
		-CAkey "$tls/ca.key" -CAcreateserial -days 1 \
		-extfile <(echo "subjectAltName=IP:$LB") -out "$tls/cert.pem" \
		2>/dev/null || die "openssl"
chmod 600 "$tls/key.pem"
ctl_stop "$P" || die "stop"
ctl_start "$P" --api-listen "$API" --api-token-file "$STATE/tokens" \
	--tls-cert "$tls/cert.pem" --tls-key "$tls/key.pem" ||
	die "slotlbd with TLS: $(tail -3 "$LOG")"
out=$(req "https://$API/v1/status" --cacert "$tls/ca.pem" "${AUTH[@]}")
check "TLS: status with the token, certificate verified ($(status_of "$out"))" \
	test "$(status_of "$out")" = 200
check "TLS: no token is 401" \
	unauthorized "$(req "https://$API/v1/status" --cacert "$tls/ca.pem")"
out=$(req "http://$API/v1/status" "${AUTH[@]}")
check "TLS: plain HTTP gets no HTTP answer ($(status_of "$out"))" \
	test "$(status_of "$out")" = 000
ctl_stop "$P" || die "stop"

# --- (f) bad settings: nothing starts ---------------------------------------------
# start_bad WANT_RC WANT_ERROR ARGS...: slotlbd with ARGS and a fresh
# state dir, pin root and socket: it must exit WANT_RC with WANT_ERROR as
# its only line, and leave none of them behind.
n_bad=0
start_bad()
{
	local want_rc=$1 want=$2 dir out rc

	shift 2
	n_bad=$((n_bad + 1))
	dir=$STATE/bad$n_bad
	out=$(ctl_exec_lb "$P" timeout 30 "$CTL_SLOTLBD" --config /dev/null \
		--state-dir "$dir/state" --socket "$dir/run/slotlb.sock" \
		--pin-root "/sys/fs/bpf/slotlb-lab-$P-bad" "$@" 2>&1)
	rc=$?
	echo "   exit $rc: $out"
	[ "$rc" -eq "$want_rc" ] && [ "$out" = "$want" ] &&
		[ ! -e "$dir/state" ] && [ ! -e "$dir/run" ] &&
		[ ! -e "/sys/fs/bpf/slotlb-lab-$P-bad" ]
}

# a port in use in the LB namespace
nsenter --net="/run/netns/$(lab_ns_lb "$P")" timeout 120 python3 -c '
import socket, sys
s = socket.socket()
s.bind(("198.18.0.1", 9555))
s.listen()
open(sys.argv[1], "w").close()
s.accept()' "$STATE/squat.up" &
squatter=$!
for ((i = 0; i < 100; i++)); do
	[ -e "$STATE/squat.up" ] && break
	sleep 0.05
done
chmod 644 "$STATE/tokens"
check "token file others may read: exit 2" start_bad 2 \
	"Error: api-token-file: $STATE/tokens: mode 0644 lets group or others at the tokens (chmod 600)" \
	--api-listen "$API" --api-token-file "$STATE/tokens"
chmod 600 "$STATE/tokens"
check "metrics and API on one port: exit 2" start_bad 2 \
	"Error: metrics-listen: 0.0.0.0:8419 and api-listen $API share a port: metrics are served without a token, the API never is" \
	--api-listen "$API" --api-token-file "$STATE/tokens" \
	--metrics-listen 0.0.0.0:8419
check "metrics address in use: exit 1" start_bad 1 \
	"Error: metrics-listen: $LB:9555: address in use" \
	--metrics-listen "$LB:9555"
check "API address in use: exit 1" start_bad 1 \
	"Error: api-listen: $LB:9555: address in use" \
	--api-listen "$LB:9555" --api-token-file "$STATE/tokens"
check "API address in use after metrics started: exit 1, metrics stopped" \
	start_bad 1 "Error: api-listen: $LB:9555: address in use" \
	--metrics-listen "$LB:9556" --api-listen "$LB:9555" \
	--api-token-file "$STATE/tokens"
check "an address not on this host: exit 1" start_bad 1 \
	"Error: metrics-listen: 192.0.2.1:9419: no such local address" \
	--metrics-listen 192.0.2.1:9419
check "a malformed address: exit 2" start_bad 2 \
	"Error: --metrics-listen: '$LB': missing port" \
	--metrics-listen "$LB"
check "an unknown group: exit 2" start_bad 2 \
	"Error: socket-group: 'slotlb-no-such-group': no such group" \
	--socket-group slotlb-no-such-group
chmod 644 "$tls/key.pem"
check "a TLS key others may read: exit 2" start_bad 2 \
	"Error: tls-key: $tls/key.pem: mode 0644 lets others read the private key (chmod o-rwx)" \
	--api-listen "$API" --api-token-file "$STATE/tokens" \
	--tls-cert "$tls/cert.pem" --tls-key "$tls/key.pem"
kill "$squatter" 2>/dev/null
wait "$squatter" 2>/dev/null

if [ "$failures" -ne 0 ]; then
	echo "# slotlbd log:"
	tail -20 "$LOG" | sed 's/^/#   /'
	echo "FAIL: remote api: $failures check(s) failed"
	exit 1
fi
echo "PASS: remote api"
