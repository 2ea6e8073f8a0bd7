#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# integration: serial (installs the unit and /etc/slotlb on the host)
#
# slotlbd as dist/systemd/slotlbd.service runs it, in a lab. PID 1 here is
# not systemd, so the test plays systemd's part: slotlbd runs with exactly
# the unit's CapabilityBoundingSet (setpriv, no new privileges) and a
# NOTIFY_SOCKET that this test listens on (the sd_notify protocol: one
# datagram per message).
#  (a) READY=1 comes once start-up is over: at that instant the API
#      socket accepts, and the routing element, tampered with while the
#      daemon was down, has been reconciled back to the database;
#  (b) under the unit's capabilities it attaches, deploys, warms up and
#      swaps, and after a restart re-attaches over its own program;
#  (c) SIGTERM sends STOPPING=1, exits 0 and leaves XDP attached: traffic
#      flows with no daemon;
#  (d) a start that fails after reconcile (the socket is served by someone
#      else) sends no READY=1 and exits 1;
#  (e) a regular file at the socket path is refused and left intact (it
#      used to be unlinked);
#  (f) the config file is read in a real start (verbose = true), and the
#      unit's capabilities suffice to give the socket to socket-group.
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

P=sv$$
UNIT=dist/systemd/slotlbd.service.in
VIP=$(lab_vip 1 4)
CURL=(curl -s --noproxy '*' -m 10)

need_tools setpriv capsh python3 nsenter curl groupadd groupdel stat
lab_check_caps || exit 77
require_built "$LAB_BUILD/slotlbd" "$LAB_BUILD/slotlb" "$DPCTL" "$LAB_HTTPD"
GROUP=slsv$$
cleanup()
{
	ctl_cleanup_all
	groupdel "$GROUP" 2>/dev/null
}
LAB_CLEANUP_PREFIXES+=("$P")
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
groupadd "$GROUP" || die "groupadd $GROUP"
lab_up "$P" 1 || exit $?
lab_start_httpd "$P" 1 v1 || die "httpd b1"
STATE=$(lab_state_dir "$P")
NOTIFY=$STATE/notify.sock
NLOG=$STATE/notify.log
LOG=$(ctl_dir "$P")/slotlbd.log
mkdir -p "$(ctl_dir "$P")"

# The unit's capabilities, as setpriv and capsh spell them.
unit_caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
[ -n "$unit_caps" ] || die "$UNIT: no CapabilityBoundingSet"
bounding=-all
for c in $unit_caps; do
	c=${c#CAP_}
	bounding+=",+${c,,}"
done
want_caps=$(for c in $unit_caps; do echo "${c,,}"; done | sort | tr '\n' ' ')
echo "# unit capabilities: $unit_caps"

# slotlbd as the unit starts it: root bounded to the unit's set, no new
# privileges, and a config file of its own (the lab's paths come from
# ctl_start's command line, which wins).
cat >"$STATE/slotlbd.conf" <<EOF
verbose = true
drain-interval = 250
socket-group = $GROUP
EOF
cat >"$STATE/slotlbd-unit" <<EOF
#!/bin/sh
exec setpriv --bounding-set=$bounding --inh-caps=-all --no-new-privs -- \
	"$LAB_BUILD/slotlbd" --config "$STATE/slotlbd.conf" "\$@"
EOF
chmod +x "$STATE/slotlbd-unit"
CTL_SLOTLBD=$STATE/slotlbd-unit

# The notify socket. On READY=1 the listener at once checks that the API
# socket accepts and reads the routing element of app 0 from the pinned
# maps, then logs the message with what it saw.
NOTIFY_PY='
import socket, subprocess, sys
path, log, api = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
open(path + ".up", "w").close()
while True:
    fields = s.recv(4096).decode(errors="replace").split("\n")
    seen = ""
    if "READY=1" in fields:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            c.connect(api)
            seen = " api=accepts"
        except OSError as e:
            seen = " api=" + e.strerror.replace(" ", "-")
        c.close()
        r = subprocess.run(sys.argv[4:], capture_output=True, text=True)
        seen += " routing=" + ";".join(l for l in r.stdout.splitlines() if l)
    with open(log, "a") as f:
        f.write(" ".join(x for x in fields if x) + seen + "\n")
'
# In the LB namespace, so lab_down ends it with the lab.
ctl_exec_lb "$P" timeout 300 python3 -c "$NOTIFY_PY" "$NOTIFY" "$NLOG" \
	"$(ctl_socket "$P")" timeout "$DPCTL_TIMEOUT" "$DPCTL" --pin-root "$(ctl_pin_root "$P")" \
	routing show 0 >"$STATE/notify.err" 2>&1 &
for ((i = 0; i < 100; i++)); do
	[ -e "$NOTIFY.up" ] && break
	sleep 0.05
done
[ -e "$NOTIFY.up" ] || die "notify listener: $(cat "$STATE/notify.err")"
export NOTIFY_SOCKET=$NOTIFY

# count PATTERN: notify messages so far matching PATTERN.
count()
{
	local n

	n=$(grep -c -- "$1" "$NLOG" 2>/dev/null)
	echo "${n:-0}"
}

# wait_count PATTERN N: wait (at most 10 s) for N such messages.
wait_count()
{
	local k

	for ((k = 0; k < 200; k++)); do
		[ "$(count "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}

# stop_daemon: SIGTERM; STOP_RC is slotlbd's exit status. Not in $(...):
# only this shell can wait for its child.
stop_daemon()
{
	local pid

	pid=$(ctl_pid "$P")
	kill -TERM "$pid"
	wait "$pid"
	STOP_RC=$?
	rm -f "$(ctl_dir "$P")/slotlbd.pid"
}

# xdp_ok: both interfaces run slotlb's program.
xdp_ok()
{
	ip -n "$(lab_ns_lb "$P")" link show dev pub0 | grep -q 'prog/xdp id [0-9]* name slotlb_xdp' &&
		ip -n "$(lab_ns_lb "$P")" link show dev be1 | grep -q 'prog/xdp id [0-9]* name slotlb_xdp'
}

# start_fails: start slotlbd as ctl_start does, in the foreground, for a
# start that must fail; START_RC is its exit status (124: still running
# after 30 s).
start_fails()
{
	ctl_exec_lb "$P" timeout 30 "$CTL_SLOTLBD" --state-dir "$(ctl_dir "$P")" \
		--socket "$(ctl_socket "$P")" --pin-root "$(ctl_pin_root "$P")" \
		--flow-capacity "$CTL_FLOW_CAPACITY" </dev/null >>"$LOG" 2>&1
	START_RC=$?
}

quiet()
{
	"$@" >/dev/null
}

served()
{
	lab_exec_client "$P" "${CURL[@]}" "http://$VIP/"
}

# --- (a) start: READY=1 after start-up; the unit's capabilities -----------
ctl_start "$P" || die "slotlbd did not start: $(tail -3 "$LOG")"
wait_count 'READY=1' 1
echo "# notify: $(tr '\n' '|' <"$NLOG")"
check "one READY=1, saying where it serves" \
	test "$(count "^READY=1 STATUS=serving on $(ctl_socket "$P") api=")" -eq 1
check "at READY=1 the API socket accepted" test "$(count 'api=accepts')" -eq 1
pid=$(ctl_pid "$P")
eff=$(capsh --decode="$(awk '/^CapEff/ { print $2 }' "/proc/$pid/status")" |
	sed 's/.*=//' | tr ',' '\n' | sort | tr '\n' ' ')
bnd=$(capsh --decode="$(awk '/^CapBnd/ { print $2 }' "/proc/$pid/status")" |
	sed 's/.*=//' | tr ',' '\n' | sort | tr '\n' ' ')
check "slotlbd runs with exactly the unit's capabilities (effective: $eff)" \
	test "$eff" = "$want_caps" -a "$bnd" = "$want_caps"
check "the config file was read (verbose = true: libbpf's log is on)" \
	grep -q '^libbpf: ' "$LOG"
perm=$(stat -c '%a %U %G' "$(ctl_socket "$P")")
check "the socket went to socket-group under the unit's capabilities ($perm)" \
	test "$perm" = "660 root $GROUP"

# --- (b) the work, under those capabilities ---------------------------------
ctl_attach_all "$P" 1 || die "attach: $(tail -3 "$LOG")"
need "app create" quiet cli app create web --endpoint "$VIP:80"
need "deploy production" quiet cli deploy web --slot production \
	--backend "$(be 1)" --version v1
need "slot create staging" quiet cli slot create web --slot staging \
	--endpoint "$(lab_vip 2 4):80"
need "deploy staging" quiet cli deploy web --slot staging \
	--backend "$(be 1)" --version v2
check "swap with warm-up under the unit's capabilities" \
	quiet cli slot swap web --slot staging
out=$(served)
check "the endpoint serves ($out)" test "$out" = "v1 $(be 1)"
expected=$(routing_expected | tr '\n' ';' | sed 's/;$//')

# --- (c) stop: STOPPING=1, exit 0, XDP stays ---------------------------------
stop_daemon
check "SIGTERM: exit status 0 ($STOP_RC)" test "$STOP_RC" -eq 0
check "SIGTERM: STOPPING=1 sent" wait_count '^STOPPING=1' 1
check "SIGTERM leaves the program attached to pub0 and be1" xdp_ok
out=$(served)
check "traffic flows with no daemon ($out)" test "$out" = "v1 $(be 1)"

# Tamper with the routing element while no daemon runs: production and
# staging exchanged behind the database's back.
read -r prod stag < <(tr ';' '\n' <<<"$expected" |
	awk '{ d[$2] = $4 } END { print d[0], d[1] }')
ctl_exec_lb "$P" timeout "$DPCTL_TIMEOUT" "$DPCTL" --pin-root "$(ctl_pin_root "$P")" \
	routing set 0 "$stag" "$prod" >/dev/null || die "dpctl routing set"
tampered=$(routing_show | tr '\n' ';' | sed 's/;$//')
need "the routing element differs from the database ($tampered)" \
	test "$tampered" != "$expected"

# --- restart: reconciled before READY=1, re-attached ------------------------
lines=$(wc -l <"$LOG")
ctl_start "$P" || die "restart: $(tail -3 "$LOG")"
wait_count 'READY=1' 2
ready=$(grep 'READY=1' "$NLOG" | tail -1)
echo "# restart: $ready"
check "at READY=1 the routing element was reconciled ($expected)" \
	test "${ready#* routing=}" = "$expected"
log=$(tail -n +"$((lines + 1))" "$LOG")
check "restart re-attached pub0 and be1 over its own program" \
	test "$(grep -c 'interface \(pub0\|be1\) attached' <<<"$log")" -eq 2
check "restart logged no error ($(grep Error <<<"$log" | head -1))" \
	test "$(grep -c Error <<<"$log")" -eq 0
stop_daemon
check "second stop: exit 0 ($STOP_RC), STOPPING=1" test "$STOP_RC" -eq 0 -a \
	"$(count '^STOPPING=1')" -eq 2

# --- (d) a start that fails after reconcile: no READY=1 ----------------------
# Another process serving the socket path: it takes each connection and
# closes it, so a client (ctl_start's probe) is not left waiting.
LISTEN_PY='
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(64)
open(sys.argv[1] + ".up", "w").close()
while True:
    s.accept()[0].close()
'
sock=$(ctl_socket "$P")
rm -f "$sock" "$sock.up"
# nsenter itself, so $! is the process to kill (timeout passes it on).
nsenter --net="/run/netns/$(lab_ns_lb "$P")" timeout 60 python3 -c \
	"$LISTEN_PY" "$sock" &
squatter=$!
for ((i = 0; i < 100; i++)); do
	[ -e "$sock.up" ] && break
	sleep 0.05
done
start_fails
check "socket served by another process: exit 1 ($START_RC)" \
	test "$START_RC" -eq 1
check "... after reconcile, with the reason" \
	grep -q "Error: $sock: another slotlbd serves it" "$LOG"
check "... and no READY=1" test "$(count 'READY=1')" -eq 2
kill "$squatter" 2>/dev/null
wait "$squatter" 2>/dev/null
rm -f "$sock" "$sock.up"

# --- (e) a regular file at the socket path --------------------------------------
echo precious >"$sock"
start_fails
check "regular file at the socket path: exit 1 ($START_RC)" \
	test "$START_RC" -eq 1
check "... refused with the reason" grep -q \
	"Error: $sock: exists and is not a socket; slotlbd replaces only a stale socket" "$LOG"
check "... the file is still there, unchanged" test "$(cat "$sock" 2>&1)" = precious
check "... and no READY=1" test "$(count 'READY=1')" -eq 2
rm -f "$sock"
check "the program stayed attached throughout" xdp_ok
out=$(served)
check "and traffic flows ($out)" test "$out" = "v1 $(be 1)"

if [ "$failures" -ne 0 ]; then
	echo "# slotlbd log:"
	sed 's/^/#   /' "$LOG" | tail -30
	echo "FAIL: service: $failures check(s) failed"
	exit 1
fi
echo "PASS: service"
