#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Access control on the API socket, with real unprivileged users made by
# this test (useradd; removed on exit): slotlbd --socket-group W
# --readonly-group R.
#  (a) the socket is root:W, mode 0660, and lets R in through an ACL;
#  (b) a CI user in W (not root) deploys and swaps, and the history names
#      it (user=NAME uid=N) while the endpoint serves the swapped version;
#  (c) a user in R reads status, history and metrics but gets 403 on a
#      swap and a deploy, even with a body over the API's 1 MiB limit
#      (refused before the body is read: not 413);
#  (d) a stranger cannot connect (the kernel refuses: mode 0660), and one
#      that can anyway (CAP_DAC_OVERRIDE, not root) gets 403 on a read
#      and on a write;
#  (e) after every refusal status, history and the routing element are
#      as they were.
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

P=ac$$
W=slw$$ R=slr$$ CI=slci$$ RO=slro$$ STRANGER=slst$$
VIP=$(lab_vip 1 4)

need_tools useradd userdel groupadd groupdel setpriv curl python3 stat
lab_check_caps || exit 77
require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$DPCTL"

# The socket outside the state directory (which may be 0700): in a
# runtime directory of its own, as /run/slotlb is.
ctl_socket()
{
	echo "$(lab_state_dir "$1")/run/slotlb.sock"
}

cleanup()
{
	local u g

	ctl_cleanup_all
	for u in "$CI" "$RO" "$STRANGER"; do
		userdel "$u" 2>/dev/null
	done
	for g in "$W" "$R"; do
		groupdel "$g" 2>/dev/null
	done
}
LAB_CLEANUP_PREFIXES+=("$P")
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

groupadd "$W" && groupadd "$R" || die "groupadd"
useradd -M -N -s /usr/sbin/nologin -G "$W" "$CI" &&
	useradd -M -N -s /usr/sbin/nologin -G "$R" "$RO" &&
	useradd -M -N -s /usr/sbin/nologin "$STRANGER" || die "useradd"

lab_up "$P" 2 || exit $?
lab_start_httpd "$P" 1 v1 || die "httpd b1"
lab_start_httpd "$P" 2 v2 || die "httpd b2"
STATE=$(lab_state_dir "$P")
SOCK=$(ctl_socket "$P")
# the CLI where every user may run it
install -D -m 0755 "$CTL_CLI" "$STATE/bin/slotlb" || die "install CLI"
ctl_start "$P" --socket-group "$W" --readonly-group "$R" ||
	die "slotlbd: $(tail -3 "$(ctl_dir "$P")/slotlbd.log")"
ctl_attach_all "$P" 2 || die "attach"
cli app create web --endpoint "$VIP:80" >/dev/null || die "app create"

# as USER CMD...: run CMD as USER (its own groups, no capabilities).
as()
{
	local u=$1

	shift
	setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups \
		--inh-caps=-all -- "$@"
}

# cli_as USER ARGS...: the CLI as USER; output on stdout and stderr.
cli_as()
{
	local u=$1

	shift
	SLOTLB_SOCKET=$SOCK as "$u" timeout 30 "$STATE/bin/slotlb" "$@"
}

# api_as USER METHOD PATH [BODY-FILE]: curl as USER; body, then status.
api_as()
{
	local u=$1 method=$2 path=$3 body=${4:-}
	local args=(-s -m 20 -X "$method" --unix-socket "$SOCK"
		-w '\n%{http_code}\n')

	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' \
		--data-binary "@$body")
	as "$u" curl "${args[@]}" "http://slotlb$path"
}

# snapshot: what must not change across refusals.
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

# --- (a) the socket ----------------------------------------------------------
perm=$(stat -c '%a %U %G' "$SOCK")
check "socket is mode 660, owner root, group $W ($perm)" \
	test "$perm" = "660 root $W"
# the ACL's named group entries as "GID PERM" (ACL_GROUP = 8)
acl=$(python3 -c '
import os, struct, sys
a = os.getxattr(sys.argv[1], "system.posix_acl_access")
for off in range(4, len(a), 8):
    tag, perm, gid = struct.unpack_from("<HHI", a, off)
    if tag == 8:
        print(gid, perm)' "$SOCK" 2>&1)
check "socket's ACL lets group $R read and write ($acl)" \
	test "$acl" = "$(getent group "$R" | cut -d: -f3) 6"

# --- (b) a CI user in the socket group deploys and swaps ----------------------
id_ci=$(id -u "$CI")
groups=$(as "$CI" id -Gn)
check "CI user $CI (uid $id_ci, not root) is in $W, not $R ($groups)" \
	test "$id_ci" -ne 0 -a "${groups/$W/}" != "$groups" -a "${groups/$R/}" = "$groups"
out=$(cli_as "$CI" deploy web --slot production --backend "$(be 1)" --version v1 2>&1)
check "CI user deploys into production ($out)" test $? -eq 0
out=$(cli_as "$CI" slot create web --slot staging --endpoint "$(lab_vip 2 4):80" 2>&1)
check "CI user creates a slot" test $? -eq 0
out=$(cli_as "$CI" deploy web --slot staging --backend "$(be 2)" --version v2 2>&1)
check "CI user deploys into staging" test $? -eq 0
out=$(cli_as "$CI" slot swap web --slot staging 2>&1)
check "CI user swaps staging into production ($out)" test $? -eq 0
out=$(served)
check "production serves v2 after the CI user's swap ($out)" \
	test "$out" = "v2 $(be 2)"
trig=$(cli -o json history web |
	python3 -c 'import json,sys; print([e for e in json.load(sys.stdin)["history"] if e["trigger"] != "slotlbd"][0]["trigger"])')
check "history names the CI user ($trig)" \
	grep -q "^user=$CI uid=$id_ci pid=[1-9][0-9]* cli" <<<"$trig"

before=$(snapshot)
[ -n "$before" ] || die "snapshot"

# --- (c) read-only ------------------------------------------------------------
out=$(cli_as "$RO" status web 2>&1)
check "read-only user reads status" grep -q production <<<"$out"
out=$(cli_as "$RO" history web 2>&1)
check "read-only user reads history" grep -q swap <<<"$out"
out=$(api_as "$RO" GET /metrics)
check "read-only user reads metrics" grep -q '^slotlb_' <<<"$out"
out=$(cli_as "$RO" slot swap web --slot staging 2>&1)
rc=$?
check "read-only user: swap refused, exit 1 ($out)" test $rc -eq 1
check "... with 403 forbidden, naming the user" \
	grep -q "forbidden: user=$RO uid=$(id -u "$RO") pid=[0-9]* may only read" <<<"$out"
echo '{"backends": ["'"$(be 1)"'"]}' >"$STATE/deploy.json"
out=$(api_as "$RO" POST /v1/apps/web/slots/staging/deploy "$STATE/deploy.json")
check "read-only user: deploy refused with 403" test "$(tail -1 <<<"$out")" = 403
head -c 2100000 /dev/zero | tr '\0' ' ' >"$STATE/big.json"
out=$(api_as "$RO" POST /v1/apps/web/swap "$STATE/big.json")
check "read-only user: a 2 MB swap body is refused with 403, not 413" \
	test "$(tail -1 <<<"$out")" = 403
check "state unchanged after the read-only user's refusals" \
	test "$(snapshot)" = "$before"

# --- (d) a stranger -------------------------------------------------------------
out=$(api_as "$STRANGER" GET /v1/status)
check "stranger cannot connect (mode 0660: $(tail -1 <<<"$out"))" \
	test "$(tail -1 <<<"$out")" = 000
# A caller the socket's mode does not stop (CAP_DAC_OVERRIDE, uid not 0)
# meets the daemon's own check.
strong()
{
	setpriv --reuid="$(id -u "$STRANGER")" --regid="$(id -g "$STRANGER")" \
		--init-groups \
		--inh-caps=+dac_override --ambient-caps=+dac_override -- "$@"
}
out=$(strong curl -s -m 20 --unix-socket "$SOCK" -w '\n%{http_code}\n' \
	http://slotlb/v1/status)
check "stranger with CAP_DAC_OVERRIDE: GET /v1/status is 403" \
	test "$(tail -1 <<<"$out")" = 403
check "... saying who and which groups may" grep -q \
	"forbidden: user=$STRANGER uid=$(id -u "$STRANGER") pid=[0-9]* is not root nor in group $W or $R" <<<"$out"
out=$(strong curl -s -m 20 --unix-socket "$SOCK" -w '\n%{http_code}\n' \
	-X POST -d '{"slot": "staging"}' http://slotlb/v1/apps/web/swap)
check "stranger with CAP_DAC_OVERRIDE: swap is 403" \
	test "$(tail -1 <<<"$out")" = 403
out=$(strong curl -s -m 20 --unix-socket "$SOCK" -w '\n%{http_code}\n' \
	http://slotlb/no/such/path)
check "stranger: even an unknown path is 403, not 404" \
	test "$(tail -1 <<<"$out")" = 403

# --- (e) nothing changed; root still writes ----------------------------------
check "state unchanged after every refusal" test "$(snapshot)" = "$before"
check "refusals are logged" \
	test "$(grep -c 'refused POST /v1/apps/web/swap' "$(ctl_dir "$P")/slotlbd.log")" -ge 2
out=$(cli slot swap web --slot staging 2>&1)
check "root swaps back" test $? -eq 0
out=$(served)
check "production serves v1 again ($out)" test "$out" = "v1 $(be 1)"

if [ "$failures" -ne 0 ]; then
	echo "# slotlbd log:"
	tail -20 "$(ctl_dir "$P")/slotlbd.log" | sed 's/^/#   /'
	echo "FAIL: access: $failures check(s) failed"
	exit 1
fi
echo "PASS: access"
