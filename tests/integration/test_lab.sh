#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The lab itself, before any XDP is on the load balancer: the topology
# forwards both families through the LB namespace with plain kernel
# routing and nothing leaves it, the lab httpd answers as the later tests
# rely on (version, backend, /stream body and pacing, cold start, forced
# status, bad requests, SIGTERM), and teardown leaves nothing behind,
# also when a test fails or is killed half way.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=t$$
PORT=$LAB_HTTPD_PORT
CURL=(curl -s --noproxy '*' -m 10)

fail()
{
	echo "FAIL: $*" >&2
	rm -f "/tmp/$P"*.pids "/tmp/$P"*.err
	exit 1
}

ok()
{
	echo "ok - $*"
}


# url I FAMILY PATH
url()
{
	if [ "$2" = 6 ]; then
		echo "http://[$(lab_backend_addr "$1" 6)]:$PORT$3"
	else
		echo "http://$(lab_backend_addr "$1" 4):$PORT$3"
	fi
}

# self I FAMILY: how backend I names itself in responses.
self()
{
	if [ "$2" = 6 ]; then
		echo "[$(lab_backend_addr "$1" 6)]:$PORT"
	else
		echo "$(lab_backend_addr "$1" 4):$PORT"
	fi
}

# raw I DATA...: send DATA pieces (0.2 s apart, to split reads) on one TCP
# connection from the client and print everything until the server closes.
# env printf writes each piece at once; bash's builtin writes per line.
raw()
{
	local i=$1

	shift
	# shellcheck disable=SC2016 # expanded by the inner shell
	lab_exec_client "$P" timeout 5 bash -c '
		exec 3<>/dev/tcp/$0/$1 || exit 1
		shift
		for piece in "$@"; do
			env printf "%b" "$piece" >&3
			sleep 0.2
		done
		cat <&3' "$(lab_backend_addr "$i" 4)" "$PORT" "$@"
}

lb_rx_bytes()
{
	lab_exec_lb "$P" cat "/sys/class/net/$1/statistics/rx_bytes"
}

# body_head N COUNT: the first COUNT bytes of the /stream body of N bytes,
# in hex, from the algorithm docs/lab.md documents (xorshift64*, seed N ^
# golden ratio, little-endian words); bash arithmetic wraps at 64 bits
# and shifts arithmetically, hence the masks.
body_head()
{
	local x=$(($1 ^ 0x9e3779b97f4a7c15)) count=$2 out='' i b w

	[ $x -ne 0 ] || x=$((0x9e3779b97f4a7c15))
	for ((i = 0; i < count; i += 8)); do
		x=$((x ^ ((x >> 12) & 0xfffffffffffff)))
		x=$((x ^ (x << 25)))
		x=$((x ^ ((x >> 27) & 0x1fffffffff)))
		w=$((x * 0x2545f4914f6cdd1d))
		for ((b = 0; b < 8 && i + b < count; b++)); do
			out+=$(printf '%02x' $(((w >> (8 * b)) & 0xff)))
		done
	done
	echo "$out"
}

root_links()
{
	ip -o link show | awk -F': ' '{ print $2 }' | sort
}

lab_check_caps || exit 77
command -v curl >/dev/null || {
	echo "SKIP: curl missing"
	exit 77
}
make -s --no-print-directory build/tools/httpd build/tools/xdp_pass.bpf.o ||
	fail "build $LAB_HTTPD $LAB_XDP_PASS"

# --- topology --------------------------------------------------------
links_before=$(root_links)
lab_trap_cleanup "$P"
t0=$(now_ms)
lab_up "$P" 2 || fail "lab_up"
ok "lab_up with 2 backends in $(($(now_ms) - t0)) ms"
[ "$(lab_namespaces "$P" | wc -l)" -eq 4 ] || fail "expected 4 namespaces"
[ "$(root_links)" = "$links_before" ] ||
	fail "root namespace interfaces changed"

[ -z "$(ip -n "$P-client" route show default)" ] &&
	[ -z "$(ip -n "$P-client" -6 route show default)" ] ||
	fail "client has a default route"
for ns in "$P-client" "$P-lb"; do
	for dst in 192.0.2.1 2001:db8::1; do
		ip -n "$ns" route get "$dst" >/dev/null 2>&1 &&
			fail "$ns has a route to $dst"
	done
done
ip -n "$P-lb" link show | grep -q 'prog/xdp' && fail "XDP attached on the LB"
for ns in "$P-client:c0" "$P-b1:eth0" "$P-b2:eth0"; do
	ip -n "${ns%%:*}" link show dev "${ns##*:}" | grep -q 'prog/xdp' ||
		fail "no XDP_PASS on $ns"
	ip netns exec "${ns%%:*}" ethtool -k "${ns##*:}" |
		grep -Eq '^(tx-checksumming|tcp-segmentation-offload|generic-segmentation-offload): on' &&
		fail "offloads still on at $ns"
done
ok "no default route, nothing routed out, XDP_PASS on end hosts only, offloads off"

# --- identity through the LB -----------------------------------------
lab_start_httpd "$P" 1 v1 || fail "start httpd v1"
lab_start_httpd "$P" 2 v2 || fail "start httpd v2"
for i in 1 2; do
	for fam in 4 6; do
		before=$(lb_rx_bytes "pub0")
		out=$(lab_exec_client "$P" "${CURL[@]}" -w \
			'%header{x-slotlb-version} %header{x-slotlb-backend}' \
			"$(url "$i" "$fam" /some/path)") || fail "curl b$i v$fam"
		want="v$i $(self "$i" "$fam")"
		[ "$out" = "$want"$'\n'"$want" ] ||
			fail "b$i v$fam: body and headers '$out', want '$want'"
		[ "$(lb_rx_bytes pub0)" -gt "$before" ] ||
			fail "b$i v$fam request did not cross the LB"
	done
done
ok "client reaches v1 and v2 over IPv4 and IPv6 through the LB"

conns=$(lab_exec_client "$P" "${CURL[@]}" -o /dev/null -o /dev/null \
	-w '%{num_connects} ' "$(url 1 4 /a)" "$(url 1 4 /b)")
[ "$conns" = "1 0 " ] || fail "keep-alive: connects per request '$conns'"
out=$(raw 1 'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHo' \
	'st: x\r\nConnection: close\r\n\r\n')
[ "$(grep -c '^HTTP/1.1 200 OK' <<<"$out")" -eq 2 ] ||
	fail "pipelined, split request: '$out'"
out=$(raw 1 'GE' 'T /c HTTP/1.1\r\nHo' 'st: x\r\nConnection: close\r\n' '\r\n')
[ "$(grep -c '^HTTP/1.1 200 OK' <<<"$out")" -eq 1 ] ||
	fail "request in four reads: '$out'"
ok "keep-alive reuses the connection; pipelined and split requests"

# --- /stream -----------------------------------------------------------
bytes=$((2 * 1024 * 1024))
rate=$((1024 * 1024))
want=$("$LAB_HTTPD" --gen-body $bytes | sha256sum | cut -d' ' -f1)
before=$(lb_rx_bytes be1)
t0=$(now_ms)
got=$(lab_exec_client "$P" "${CURL[@]}" \
	"$(url 1 4 "/stream?bytes=$bytes&rate=$rate")" | sha256sum |
	cut -d' ' -f1)
took=$(($(now_ms) - t0))
crossed=$(($(lb_rx_bytes be1) - before))
[ "$got" = "$want" ] || fail "stream sha256 $got, want $want"
[ "$took" -ge 1700 ] && [ "$took" -le 6000 ] ||
	fail "stream of 2 MiB at 1 MiB/s took $took ms"
[ "$crossed" -ge "$bytes" ] || fail "only $crossed bytes crossed the LB"
[ "$("$LAB_HTTPD" --gen-body $bytes | head -c 40 | od -An -tx1 | tr -d ' \n')" = \
	"$(body_head $bytes 40)" ] || fail "--gen-body is not the documented PRNG"
ok "2 MiB /stream at 1 MiB/s in $took ms, sha256 matches --gen-body, $crossed bytes through be1"
got=$(lab_exec_client "$P" "${CURL[@]}" "$(url 2 6 /stream?bytes=300001)" |
	sha256sum | cut -d' ' -f1)
[ "$got" = "$("$LAB_HTTPD" --gen-body 300001 | sha256sum | cut -d' ' -f1)" ] ||
	fail "unpaced IPv6 stream sha256"
ok "unpaced /stream over IPv6 matches"

# --- bad requests ------------------------------------------------------
expect_close()
{
	local what=$1 want=$2 out rc

	shift 2
	out=$(raw 1 "$@")
	rc=$?
	[ $rc -eq 0 ] || fail "$what: connection not closed (rc $rc)"
	[ "$(head -n1 <<<"$out")" = "HTTP/1.1 $want"$'\r' ] ||
		fail "$what: got '$(head -n1 <<<"$out")'"
}
expect_close "garbage" "400 Bad Request" 'GARBAGE\r\n\r\n'
expect_close "no colon" "400 Bad Request" \
	'GET / HTTP/1.1\r\nBad Header\r\n\r\nGET / HTTP/1.1\r\n\r\n'
expect_close "bad length" "400 Bad Request" \
	'GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n'
expect_close "version" "505 HTTP Version Not Supported" \
	'GET / HTTP/2.0\r\n\r\n'
expect_close "huge header" "431 Request Header Fields Too Large" \
	"GET / HTTP/1.1\r\nX-Big: $(head -c 9000 /dev/zero | tr '\0' a)\r\n\r\n"
[ "$(lab_exec_client "$P" "${CURL[@]}" -o /dev/null -w '%{http_code}' \
	"$(url 1 4 /)")" = 200 ] || fail "server hurt by bad requests"
ok "malformed requests get 400/505/431 and a close; server keeps serving"

# --- cold start, forced status, SIGTERM --------------------------------
lab_stop_httpd "$P" 1 || fail "httpd v1 did not exit 0 on SIGTERM"
lab_exec_backend "$P" 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" \
	2>/dev/null && fail "httpd v1 still listening after SIGTERM"
ok "SIGTERM: exit 0, listener gone"

t0=$(now_ms)
lab_start_httpd "$P" 1 v1 --cold-start 2 || fail "start cold httpd"
code=$(lab_exec_client "$P" "${CURL[@]}" -o /dev/null -w '%{http_code}' \
	"$(url 1 6 /)")
[ "$code" = 503 ] || fail "cold start: first answer $code"
for ((n = 0; n < 50; n++)); do
	code=$(lab_exec_client "$P" "${CURL[@]}" -o /dev/null \
		-w '%{http_code}' "$(url 1 4 /)")
	[ "$code" = 200 ] && break
	[ "$code" = 503 ] || fail "cold start: answer $code"
	sleep 0.1
done
took=$(($(now_ms) - t0))
[ "$code" = 200 ] || fail "cold start: no 200 after $took ms"
[ "$took" -ge 1900 ] || fail "cold start: 200 after only $took ms"
ok "--cold-start 2: 503, then 200 after $took ms"

lab_start_httpd "$P" 2 v2 --status 503 || fail "start broken httpd"
for fam in 4 6; do
	out=$(lab_exec_client "$P" "${CURL[@]}" -w ' %{http_code}' \
		"$(url 2 "$fam" /)")
	[ "$out" = "v2 $(self 2 "$fam")"$'\n'" 503" ] ||
		fail "--status 503 over v$fam: '$out'"
done
ok "--status 503 answers 503 on both families"

# --- teardown ------------------------------------------------------------
pids=$(for ns in $(lab_namespaces "$P"); do ip netns pids "$ns"; done)
[ -n "$pids" ] || fail "no server pids found before teardown"
lab_down "$P" || fail "lab_down"
[ -z "$(lab_namespaces "$P")" ] || fail "namespaces left: $(lab_namespaces "$P")"
for pid in $pids; do
	kill -0 "$pid" 2>/dev/null && fail "pid $pid survived teardown"
done
[ ! -e "$(lab_state_dir "$P")" ] || fail "state dir left"
[ "$(root_links)" = "$links_before" ] ||
	fail "root namespace interfaces changed"
lab_down "$P" || fail "second lab_down"
ok "teardown: no namespace, process or state left; idempotent"

# A test that fails, and one that is killed, half way through. Both run
# under timeout so a broken trap cannot hang this test.
# shellcheck disable=SC2016 # expanded by the child shell
child='
	set -e
	. tools/lab/lab.sh
	lab_trap_cleanup "$0"
	lab_up "$0" 1
	lab_start_httpd "$0" 1 vx
	ip netns pids "$0-b1" >"$1.tmp"
	mv "$1.tmp" "$1"
	[ "$2" = fail ] && false
	for ((k = 0; k < 250; k++)); do
		sleep 0.1
	done'
for how in fail term; do
	q=$P$how
	rm -f "/tmp/$q.pids"
	if [ $how = fail ]; then
		timeout 30 bash -c "$child" "$q" "/tmp/$q.pids" fail \
			2>"/tmp/$q.err"
		rc=$?
		[ $rc -eq 1 ] || fail "failing child: exit $rc"
	else
		# Its stderr would only say "Terminated" for its sleep.
		timeout 30 bash -c "$child" "$q" "/tmp/$q.pids" term \
			2>"/tmp/$q.err" &
		cpid=$!
		for ((n = 0; n < 100; n++)); do
			[ -s "/tmp/$q.pids" ] && break
			sleep 0.1
		done
		# $! is timeout's pid; it hands TERM on to the child shell.
		kill -TERM $cpid
		wait $cpid
		rc=$?
		[ $rc -eq 143 ] || fail "killed child: exit $rc"
	fi
	[ -s "/tmp/$q.pids" ] ||
		fail "$how child never started its server: $(cat "/tmp/$q.err")"
	[ -z "$(lab_namespaces "$q")" ] || fail "$how child left its lab"
	for pid in $(cat "/tmp/$q.pids"); do
		kill -0 "$pid" 2>/dev/null && fail "$how child left pid $pid"
	done
	rm -f "/tmp/$q.pids" "/tmp/$q.err"
done
ok "a failing and a killed test tear their lab down"
echo "PASS: lab"
