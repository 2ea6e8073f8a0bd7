#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Bad input to the controller, through the CLI and the raw API (apps,
# slots, deploys, swaps, interfaces, traffic routing): each case
# must get a clear error (CLI: "Error: ..." on stderr and the documented
# exit code; API: a 4xx with {"error": "..."} naming the problem) and the
# whole batch must change nothing: neither the database (status, history,
# interfaces) nor the pinned maps (endpoints, routing elements, rings,
# deployment and backend tables, flows), compared before and after. The
# snapshot is then shown to notice a real change, so the comparison
# cannot pass by being blind.
set -u
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tools/lab/lab.sh
. tools/lab/lab.sh
# shellcheck source=tools/lab/controller.sh
. tools/lab/controller.sh
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh

P=bi$$
CASES=0




# api METHOD PATH BODYFILE: raw API call, body from a file (an empty file
# sends none); body to $OUT, HTTP status on stdout.
api()
{
	local args=(-s -m 30 -X "$1" --unix-socket "$(ctl_socket "$P")"
		-o "$OUT" -w '%{http_code}')

	[ -s "$3" ] && args+=(-H 'Content-Type: application/json' \
		--data-binary "@$3")
	curl "${args[@]}" "http://slotlb$2"
}

lb()
{
	ctl_exec_lb "$P" timeout 20 "$@"
}

# snap WHAT CMD...: one part of the snapshot; a command that fails
# cannot take part in a comparison, so it ends the test.
snap()
{
	local what=$1 out

	shift
	out=$("$@") || die "snapshot: $what: '$*' failed"
	echo "== $what"
	echo "$out"
}

# snapshot: everything a bad request could have changed.
snapshot()
{
	local pins m a

	pins=$(ctl_pin_root "$P")
	snap status cli -o json status
	for a in web shop tea; do
		snap "history $a" cli -o json history "$a"
	done
	for a in web shop tea; do
		# settings with their values, policies, hooks, auto swap
		snap "export $a" cli export "$a" --show-values
	done
	snap "pending" ctl_api "$P" GET /v1/status
	snap interfaces cli -o json interface list
	for a in 0 1 2; do
		snap "routing $a" lb "$DPCTL" --pin-root "$pins" routing show "$a"
	done
	snap flows lb "$DPCTL" --pin-root "$pins" flows
	# app_routing holds routing-pool indexes and deployment_rings inner
	# map ids: a replaced routing element or ring shows as a new value.
	for m in endpoints endpoint_addrs app_routing deployment_rings \
		deployment_info backends; do
		snap "$m" digest lb bpftool map dump pinned "$pins/$m"
	done
}

# digest CMD...: sha256 of CMD's output (a map of 65535 backends is
# 11 MB of text), failing when CMD fails.
digest()
{
	local out

	out=$(set -o pipefail && "$@" | sha256sum) || return 1
	echo "${out%% *}"
}

# sections: "NAME SHA256" per section of a snapshot on stdin.
sections()
{
	python3 -c '
import hashlib, sys
name, body = None, []
def out():
    if name is not None:
        print(name, hashlib.sha256("\n".join(body).encode()).hexdigest())
for line in sys.stdin.read().splitlines():
    if line.startswith("== "):
        out()
        name, body = line[3:].replace(" ", "_"), []
    else:
        body.append(line)
out()'
}

# api_ok STATUS_RE SUBSTRING: the last answer is a 4xx matching STATUS_RE
# with a JSON {"error": "..."} holding SUBSTRING.
api_ok()
{
	[[ "$GOT" =~ ^($1)$ ]] && [[ "$GOT" =~ ^4 ]] &&
		python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["error"]
sys.exit(0 if isinstance(e, str) and sys.argv[2] in e else 1)' "$OUT" "$2"
}

# cli_ok RC SUBSTRING: the last CLI run exited RC, said "Error: ..." with
# SUBSTRING on stderr, and printed nothing on stdout.
cli_ok()
{
	[ "$GOT" = "$1" ] && [ ! -s "$OUT" ] &&
		[ "$(wc -l <"$ERR")" -eq 1 ] && grep -q '^Error: ' "$ERR" &&
		grep -qF -- "$2" "$ERR"
}

# cli_json_ok RC SUBSTRING: -o json puts {"error": ...} on stdout.
cli_json_ok()
{
	[ "$GOT" = "$1" ] && [ ! -s "$ERR" ] &&
		python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["error"]
sys.exit(0 if sys.argv[2] in e else 1)' "$OUT" "$2"
}

# run_case KIND EXPECT SUBSTRING DESCRIPTION REST: one row of the table.
run_case()
{
	local kind=$1 expect=$2 sub=$3 desc=$4 rest=$5 method path
	local -a args

	CASES=$((CASES + 1))
	case "$kind" in
	cli | clij)
		eval "args=($rest)"
		cli "${args[@]}" >"$OUT" 2>"$ERR"
		GOT=$?
		if [ "$kind" = cli ]; then
			check "cli: $desc: exit $expect, '$sub'" cli_ok "$expect" "$sub"
		else
			check "cli -o json: $desc: exit $expect, '$sub'" \
				cli_json_ok "$expect" "$sub"
		fi
		echo "   -> exit $GOT: $(cat "$ERR" "$OUT")"
		;;
	api)
		method=${rest%% *}
		rest=${rest#* }
		path=${rest%% *}
		[ "$path" = "$rest" ] && rest='' || rest=${rest#* }
		if [ "${rest:0:1}" = '@' ]; then
			cp "$STATE/${rest:1}" "$IN"
		else
			rest=${rest//@J16/$J16}
			rest=${rest//@J17/$J17}
			printf '%s' "$rest" >"$IN"
		fi
		GOT=$(api "$method" "$path" "$IN")
		check "api: $desc: $expect, '$sub'" api_ok "$expect" "$sub"
		echo "   -> $GOT $(head -c 300 "$OUT")"
		;;
	*)
		die "bad table row kind '$kind'"
		;;
	esac
}

require_built "$CTL_SLOTLBD" "$CTL_CLI" "$DPCTL" "$LAB_HTTPD"
command -v python3 >/dev/null || die "python3 missing"
command -v bpftool >/dev/null || die "bpftool missing"
ctl_trap_cleanup "$P"
lab_up "$P" 2 || exit $?
STATE=$(lab_state_dir "$P")
OUT=$STATE/out
ERR=$STATE/err
IN=$STATE/in
BIG=$STATE/BIG
HOOK=$STATE/hook
printf '#!/bin/sh\ncat > /dev/null\n' >"$HOOK"
chmod 755 "$HOOK"
printf 'not executable\n' >"$STATE/noexec"
lab_start_httpd "$P" 1 v1 || die "httpd b1"
lab_start_httpd "$P" 2 v2 || die "httpd b2"
ctl_start "$P" || die "slotlbd did not start"
ctl_attach_all "$P" 2 || die "attach"
{
	cli app create web --endpoint 198.18.100.1:80 &&
		cli slot create web --slot staging --endpoint 198.18.100.2:80 &&
		cli slot create web --slot qa --endpoint 198.18.100.3:80 &&
		cli deploy web --slot production --backend 198.19.1.2:8080 \
			--version v1 &&
		cli deploy web --slot staging --backend 198.19.2.2:8080 \
			--version v2 &&
		cli app create shop --endpoint '[fd00:5107:100::5]:80' \
			--endpoint 198.18.100.5:53/udp &&
		cli slot hook set web --slot production --exec "$HOOK" &&
		cli slot setting set web --slot production DB_URL=prod --sticky &&
		cli slot setting set web --slot staging FEATURE=new &&
		cli slot config web --slot production --warmup-timeout 5 &&
		cli slot auto-swap web --slot staging --delay 600 &&
		cli app create tea --endpoint 198.18.100.6:80 &&
		cli slot create tea --slot staging --endpoint 198.18.100.8:80 &&
		cli deploy tea --slot production --backend 198.19.1.2:8080 &&
		cli deploy tea --slot staging --backend 198.19.2.2:8080 &&
		cli slot swap tea --slot staging --action preview \
			--audience 198.18.0.3/32 &&
		cli slot traffic web --distribution staging=10 &&
		cli slot traffic web --slot staging \
			--opt-in 198.51.100.0/24
} >/dev/null || die "seed apps"
# Files for the bad apply cases, and bodies too long for a table row.
cli export web --show-values >"$STATE/web.json" || die "export"
python3 - "$STATE" <<'PY' || die "bad files"
import json, sys
d = sys.argv[1]
good = json.load(open(d + "/web.json"))
def put(name, obj):
    with open(d + "/" + name, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))
put("apply-malformed.json", '{"apps": [')
put("apply-type.json", {"apps": {}})
bad = json.loads(json.dumps(good)); bad["apps"][0]["slots"][0]["bogus"] = 1
put("apply-unknown-key.json", bad)
bad = json.loads(json.dumps(good)); bad["apps"][0]["slots"].append(bad["apps"][0]["slots"][1])
put("apply-duplicate.json", bad)
bad = json.loads(json.dumps(good)); bad["apps"][0]["slots"][0]["settings"] = {"bad-name": "x"}
put("apply-setting.json", bad)
bad = json.loads(json.dumps(good)); bad["apps"][0]["slots"][0]["warmup"]["retries"] = "5"
put("apply-number.json", bad)
bad = json.loads(json.dumps(good)); bad["apps"][0]["slots"][1]["endpoints"] = ["198.18.100.9:80"]
put("apply-endpoints.json", bad)
bad = json.loads(json.dumps(good)); bad["apps"][0]["slots"][1]["deployment"]["backends"] = ["1.2.3:80"]
put("apply-backend.json", bad)
put("apply-endpoint-twice.json", {"apps": [{"name": "x2", "slots": [
    {"name": "production", "endpoints": ["198.18.100.9:80"]},
    {"name": "s2", "endpoints": ["198.18.100.9:80/tcp"]}]}]})
put("apply-auto-swap-loop.json", {"apps": [{"name": "x3", "slots": [
    {"name": "production", "endpoints": ["198.18.100.10:80"],
     "auto_swap": {"target_slot": "staging", "delay_s": 0}},
    {"name": "staging", "endpoints": ["198.18.100.11:80"],
     "auto_swap": {"target_slot": "production", "delay_s": 0}}]}]})
put("SETTING4097", json.dumps({"settings": {"X": "v" * 4097}}))
put("AUDIENCE17", json.dumps({"slot": "staging", "action": "preview",
    "audience": ["10.0.%d.0/24" % i for i in range(17)]}))
PY
# Sixteen more prefixes: one over the app's bound with the seeded one.
P16=$(for i in $(seq 1 16); do printf '10.%d.0.0/16,' "$i"; done)
P16=${P16%,}
P17="$P16,10.17.0.0/16"
J16=$(sed 's/[^,]*/"&"/g' <<<"$P16")
J17=$(sed 's/[^,]*/"&"/g' <<<"$P17")
# A JSON body just over the 1 MiB limit.
python3 -c 'print("{\"slot\": \"%s\"}" % ("x" * (1 << 20)))' >"$BIG"

before=$(snapshot) || die "snapshot before the batch"
t0=$(date +%s%N)
# kind | expected exit or status | message substring | description | args
while IFS= read -r row; do
	[ -z "$row" ] || [ "${row:0:1}" = '#' ] && continue
	kind=${row%% | *}
	row=${row#* | }
	expect=${row%% | *}
	row=${row#* | }
	sub=${row%% | *}
	row=${row#* | }
	desc=${row%% | *}
	run_case "$kind" "$expect" "$sub" "$desc" "${row#* | }"
done <<'EOF'
# malformed endpoints, checked by the CLI itself (exit 2)
cli | 2 | '1.2.3:80' | IPv4 with 3 groups | app create x --endpoint 1.2.3:80
cli | 2 | '300.1.1.1:80' | IPv4 group over 255 | app create x --endpoint 300.1.1.1:80
cli | 2 | missing ']' | IPv6 without ']' | app create x --endpoint '[::1:80'
cli | 2 | must be in brackets | IPv6 without brackets | app create x --endpoint fd00::1:80
cli | 2 | port out of range | port 0 | app create x --endpoint 198.18.100.9:0
cli | 2 | port out of range | port 65536 | app create x --endpoint 198.18.100.9:65536
cli | 2 | unknown protocol | protocol sctp | app create x --endpoint 198.18.100.9:80/sctp
cli | 2 | missing port | no port | slot create web --slot qa2 --endpoint 198.18.100.9
cli | 2 | port out of range | backend port 0 | deploy web --slot staging --backend 198.19.2.2:0
cli | 2 | bad IPv4/IPv6 address | backend IPv4 with 3 groups | deploy web --slot staging --backend 1.2.3:80
cli | 2 | weight out of range | deploy with weight 0 | deploy web --slot staging --backend 198.19.2.2:8080,weight=0
# addresses that make no sense for NAT, refused by the shared rule
cli | 2 | a multicast address cannot be an endpoint | multicast endpoint | app create x --endpoint 224.0.0.1:80
cli | 2 | a loopback address (127.0.0.0/8, ::1) cannot be an endpoint | loopback endpoint | slot create web --slot qa2 --endpoint 127.0.0.1:80
cli | 2 | a loopback address (127.0.0.0/8, ::1) cannot be a backend | loopback backend | deploy web --slot staging --backend 127.0.0.1:8080
cli | 2 | a link-local address (169.254.0.0/16, fe80::/10) cannot be a backend | IPv6 link-local backend | deploy web --slot staging --backend '[fe80::1]:8080'
cli | 2 | weight out of range | deploy with weight 65536 | deploy web --slot staging --backend 198.19.2.2:8080,weight=65536
cli | 2 | --slot and --target-slot are the same | swap a slot with itself, named twice | slot swap web --slot staging --target-slot staging
cli | 2 | --warmup-status | warm-up status 700 | slot swap web --slot staging --warmup-status 700
cli | 2 | --warmup-mode | warm-up mode udp | slot swap web --slot staging --warmup-mode udp
cli | 2 | unknown object 'frob' | unknown object | frob
cli | 2 | unknown command 'creat' | prefix of a command | app creat x --endpoint 198.18.100.9:80
# the rules of user/lib/validate.c, the same in the CLI as in slotlbd
cli | 2 | Web: name must match [a-z0-9][a-z0-9._-]* | upper-case app name | app create Web --endpoint 198.18.100.9:80
cli | 2 | Staging: name must match | upper-case slot name | slot create web --slot Staging --endpoint 198.18.100.9:80
cli | 2 | Web: name must match | status of an upper-case app | status Web
cli | 2 | v 2: version may hold letters, digits | version with a space | deploy web --slot staging --backend 198.19.2.2:8080 --version 'v 2'
cli | 2 | timeout must be 0.001..3600 seconds | warm-up timeout 0 | slot swap web --slot staging --warmup-timeout 0
# refused by slotlbd (exit 1)
cli | 1 | nope: no such app | deploy into an unknown app | deploy nope --slot production --backend 198.19.1.2:8080
cli | 1 | web/nope: no such slot | deploy into an unknown slot | deploy web --slot nope --backend 198.19.1.2:8080
cli | 1 | web/nope: no such slot | swap from an unknown slot | slot swap web --slot nope
cli | 1 | nope: no such app | swap in an unknown app | slot swap nope --slot staging
cli | 1 | 198.18.100.5:53/udp: endpoint already owned | endpoint of another app's slot | slot create web --slot qa2 --endpoint 198.18.100.5:53/udp
cli | 1 | 198.18.100.2:80/tcp: endpoint already owned | new slot with a free and an owned endpoint | slot create web --slot qa2 --endpoint 198.18.100.9:80 --endpoint 198.18.100.2:80
cli | 1 | [fd00:5107:100::5]:80/tcp: endpoint already owned | new app with a free and an owned endpoint | app create x --endpoint 198.18.100.9:80 --endpoint '[fd00:5107:100::5]:80'
cli | 1 | web: app already exists | app name taken | app create web --endpoint 198.18.100.9:80
cli | 1 | cannot swap a slot with itself | swap production into production | slot swap web --slot production
cli | 1 | web/qa: slot has no deployment | swap of an empty slot | slot swap web --slot qa
cli | 1 | no previous deployment | rollback of a slot without history | slot rollback web --slot qa
cli | 1 | nope: no such app | history of an unknown app | history nope
clij | 1 | web/nope: no such slot | JSON error on stdout | -o json deploy web --slot nope --backend 198.19.1.2:8080
# traffic routing: shares and opt-ins, checked by the CLI (exit 2)
cli | 2 | total 101% is over 100% | shares over 100% in total | slot traffic web --distribution staging=60,qa=41
cli | 2 | staging=-5: share must not be negative | negative share | slot traffic web --distribution staging=-5
cli | 2 | staging=ten: share must be a number of percent | non-numeric share | slot traffic web --distribution staging=ten
cli | 2 | more than two decimals | share to 0.001 | slot traffic web --distribution staging=2.555
cli | 2 | abc: share must be a number of percent | non-numeric percent | slot traffic web --slot staging --percent abc
cli | 2 | -3: share must not be negative | negative percent | slot traffic web --slot staging --percent -3
cli | 2 | production: the shares divide production's own clients | production as its own target | slot traffic web --distribution production=10
cli | 2 | production keeps what the other slots do not take | a percent for production | slot traffic web --slot production --percent 10
cli | 2 | need --slot NAME | a percent without a slot | slot traffic web --percent 10
cli | 2 | 10.0.0.1/33: length 33 is over 32 for IPv4 | prefix length 33 | slot traffic web --slot staging --opt-in 10.0.0.1/33
cli | 2 | 10.0.0.1/8: host bits set: 0.0.0.1 lies outside the /8 (the prefix is 10.0.0.0/8) | IPv4 prefix with host bits | slot traffic web --slot staging --opt-in 10.0.0.1/8
cli | 2 | 2001:db8::1/32: host bits set: ::1 lies outside the /32 (the prefix is 2001:db8::/32) | IPv6 prefix with host bits | slot traffic web --slot staging --opt-in 2001:db8::1/32
cli | 2 | missing '/LENGTH' | address without length | slot traffic web --slot staging --opt-in 198.51.100.7
cli | 2 | 17 prefixes: at most 16 | more prefixes than the bound in one request | slot traffic web --slot staging --opt-in $P17
cli | 2 | Staging: name must match | upper-case target slot | slot traffic web --distribution Staging=10
cli | 2 | lookup: 1.2.3: bad IPv4/IPv6 address | lookup of a malformed client | slot traffic web --lookup 1.2.3
cli | 2 | --lookup only shows | lookup with a change | slot traffic web --lookup 1.2.3.4 --distribution staging=5
# traffic routing, refused by slotlbd (exit 1)
cli | 1 | web/nope: no such slot | share to an unknown slot | slot traffic web --distribution nope=10
cli | 1 | web/nope: no such slot | percent of an unknown slot | slot traffic web --slot nope --percent 5
cli | 1 | nope: no such app | shares of an unknown app | slot traffic nope --distribution staging=5
cli | 1 | would bring the shares to 105% | a percent over what is left | slot traffic web --slot qa --percent 95
cli | 1 | 198.51.100.0/24: already an opt-in of staging | opt-in of another slot's prefix | slot traffic web --slot qa --opt-in 198.51.100.0/24
cli | 1 | 192.0.2.0/24: not an opt-in of staging | remove an opt-in that is not there | slot traffic web --slot staging --remove-opt-in 192.0.2.0/24
cli | 1 | at most 16 audience prefixes | more audience prefixes than the app holds | slot traffic web --slot qa --opt-in $P16
cli | 1 | at most 16 audience prefixes (opt-ins and a preview's audience together) | opt-ins beside a pending preview's audience, over the bound together | slot traffic tea --slot staging --opt-in $P16
# the raw API: malformed addresses and ports
api | 400 | 1.2.3:80 | IPv4 with 3 groups | POST /v1/apps {"name": "x", "endpoints": ["1.2.3:80"]}
api | 400 | 300.1.1.1:80 | IPv4 group over 255 | POST /v1/apps {"name": "x", "endpoints": ["300.1.1.1:80"]}
api | 400 | missing ']' | IPv6 without ']' | POST /v1/apps {"name": "x", "endpoints": ["[::1:80"]}
api | 400 | fd00::1:80 | IPv6 without brackets | POST /v1/apps/web/slots {"name": "qa2", "endpoints": ["fd00::1:80"]}
api | 400 | port out of range | port 0 | POST /v1/apps {"name": "x", "endpoints": ["198.18.100.9:0"]}
api | 400 | port out of range | port 65536 | POST /v1/apps {"name": "x", "endpoints": ["198.18.100.9:65536"]}
api | 400 | unknown protocol | protocol icmp | POST /v1/apps {"name": "x", "endpoints": ["[fd00:5107:100::9]:80/icmp"]}
api | 400 | weight out of range | deploy with weight 0 | POST /v1/apps/web/slots/staging/deploy {"backends": ["198.19.2.2:8080,weight=0"]}
api | 400 | [::]:80: an unspecified address (0.0.0.0/8, ::) cannot be an endpoint | IPv6 unspecified endpoint | POST /v1/apps {"name": "x", "endpoints": ["[::]:80"]}
api | 400 | [ff02::1]:80: a multicast address cannot be an endpoint | IPv6 multicast endpoint | POST /v1/apps/web/slots {"name": "qa2", "endpoints": ["[ff02::1]:80"]}
api | 400 | 255.255.255.255:8080: the broadcast address cannot be a backend | broadcast backend | POST /v1/apps/web/slots/staging/deploy {"backends": ["255.255.255.255:8080"]}
api | 400 | 0.0.0.0:8080: an unspecified address (0.0.0.0/8, ::) cannot be a backend | IPv4 unspecified backend | POST /v1/apps/web/slots/staging/deploy {"backends": ["0.0.0.0:8080"]}
api | 400 | [::1]:8080: a loopback address (127.0.0.0/8, ::1) cannot be a backend | IPv6 loopback backend | POST /v1/apps/web/slots/staging/deploy {"backends": ["[::1]:8080"]}
api | 400 | 198.19.2.2:65536 | backend port 65536 | POST /v1/apps/web/slots/staging/deploy {"backends": ["198.19.2.2:65536"]}
api | 400 | listed twice | same backend twice | POST /v1/apps/web/slots/staging/deploy {"backends": ["198.19.2.2:8080", "198.19.2.2:8080"]}
# unknown objects, conflicts
api | 404 | nope: no such app | deploy into an unknown app | POST /v1/apps/nope/slots/production/deploy {"backends": ["198.19.1.2:8080"]}
api | 404 | web/nope: no such slot | deploy into an unknown slot | POST /v1/apps/web/slots/nope/deploy {"backends": ["198.19.1.2:8080"]}
api | 404 | web/nope: no such slot | swap into an unknown target | POST /v1/apps/web/swap {"slot": "staging", "target_slot": "nope"}
api | 404 | nope: no such app | delete an unknown app | DELETE /v1/apps/nope
api | 404 | no such slot | delete an unknown slot | DELETE /v1/apps/web/slots/nope
api | 409 | 198.18.100.1:80/tcp: endpoint already owned | endpoint of another slot | POST /v1/apps/shop/slots {"name": "qa2", "endpoints": ["198.18.100.1:80"]}
api | 409 | already exists | slot name taken | POST /v1/apps/web/slots {"name": "staging", "endpoints": ["198.18.100.9:80"]}
api | 400 | cannot swap a slot with itself | swap a slot with itself | POST /v1/apps/web/swap {"slot": "staging", "target_slot": "staging"}
api | 409 | web/qa: slot has no deployment | swap of an empty slot | POST /v1/apps/web/swap {"slot": "qa"}
api | 400 | production | delete the production slot | DELETE /v1/apps/web/slots/production
# traffic routing through the raw API
api | 400 | total 101% is over 100% | shares over 100% in total | PUT /v1/apps/web/traffic {"distribution": "staging=60,qa=41"}
api | 400 | share must not be negative | negative share | PUT /v1/apps/web/traffic {"distribution": "staging=-1"}
api | 400 | production: the shares divide | production as its own target | PUT /v1/apps/web/traffic {"distribution": "production=10"}
api | 404 | web/nope: no such slot | share to an unknown slot | PUT /v1/apps/web/traffic {"distribution": "staging=5,nope=5"}
api | 400 | distribution must be a string | distribution as a number | PUT /v1/apps/web/traffic {"distribution": 10}
api | 400 | distribution is required | no distribution | PUT /v1/apps/web/traffic {}
api | 400 | unknown field "staging" | distribution as fields | PUT /v1/apps/web/traffic {"staging": "10"}
api | 400 | percent: -1: share must not be negative | negative percent | POST /v1/apps/web/slots/staging/traffic {"percent": -1}
api | 400 | percent: 1e+300: share must be a number | huge percent | POST /v1/apps/web/slots/staging/traffic {"percent": 1e300}
api | 400 | percent: ten: share must be a number | non-numeric percent | POST /v1/apps/web/slots/staging/traffic {"percent": "ten"}
api | 400 | production keeps what the other slots do not take | a percent for production | POST /v1/apps/web/slots/production/traffic {"percent": "10"}
api | 400 | would bring the shares to 100.01% | a percent over what is left | POST /v1/apps/web/slots/qa/traffic {"percent": "90.01"}
api | 404 | web/nope: no such slot | opt-in to an unknown slot | POST /v1/apps/web/slots/nope/traffic {"opt_in": ["192.0.2.0/24"]}
api | 400 | opt-in: 10.0.0.1/33: length 33 is over 32 for IPv4 | prefix length 33 | POST /v1/apps/web/slots/staging/traffic {"opt_in": ["10.0.0.1/33"]}
api | 400 | host bits set: 0.0.0.1 lies outside the /8 | prefix with host bits | POST /v1/apps/web/slots/staging/traffic {"opt_in": ["10.0.0.1/8"]}
api | 400 | opt_in must be an array | opt-in as a string | POST /v1/apps/web/slots/staging/traffic {"opt_in": "10.0.0.0/8"}
api | 400 | 17 prefixes: at most 16 | more prefixes than the bound in one request | POST /v1/apps/web/slots/staging/traffic {"opt_in": [@J17]}
api | 409 | at most 16 audience prefixes | more audience prefixes than the app holds | POST /v1/apps/web/slots/qa/traffic {"opt_in": [@J16]}
api | 409 | already an opt-in of staging | opt-in of another slot's prefix | POST /v1/apps/web/slots/qa/traffic {"opt_in": ["198.51.100.0/24"]}
api | 404 | 192.0.2.0/24: not an opt-in of staging | remove an opt-in that is not there | POST /v1/apps/web/slots/staging/traffic {"remove_opt_in": ["192.0.2.0/24"]}
api | 400 | clear must be true or false | clear as a string | POST /v1/apps/web/slots/staging/traffic {"clear": "yes"}
api | 400 | nothing to change | empty slot change | POST /v1/apps/web/slots/staging/traffic {}
api | 404 | nope: no such app | clear an unknown app | DELETE /v1/apps/nope/traffic
api | 400 | client: 198.51.100.0/24: bad IPv4/IPv6 address | lookup of a prefix | GET /v1/apps/web/traffic?client=198.51.100.7,198.51.100.0/24
api | 404 | nope: no such app | lookup in an unknown app | GET /v1/apps/nope/traffic?client=198.51.100.7
# malformed JSON bodies
api | 400 | malformed JSON | truncated JSON | POST /v1/apps/web/swap {"slot": "stag
api | 400 | malformed JSON | truncated deploy | POST /v1/apps/web/slots/staging/deploy {"backends": ["198.19.2.2:8080"
api | 400 | malformed JSON | duplicate field | POST /v1/apps/web/swap {"slot": "staging", "slot": "qa"}
api | 400 | body must be a JSON object | array body | POST /v1/apps/web/swap []
api | 400 | slot must be a string | slot is a number | POST /v1/apps/web/swap {"slot": 5}
api | 400 | backends must be | backends is a string | POST /v1/apps/web/slots/staging/deploy {"backends": "198.19.2.2:8080"}
api | 400 | backends must hold strings | backend is a number | POST /v1/apps/web/slots/staging/deploy {"backends": [8080]}
api | 400 | version must be a string | version is a number | POST /v1/apps/web/slots/staging/deploy {"backends": ["198.19.2.2:8080"], "version": 3}
api | 400 | version must be at most 31 characters | version of 32 characters | POST /v1/apps/web/slots/staging/deploy {"backends": ["198.19.2.2:8080"], "version": "v123456789012345678901234567890x"}
api | 400 | endpoints must | endpoints is an object | POST /v1/apps {"name": "x", "endpoints": {"a": 1}}
# one backend is ADDR:PORT: a weight suffix is refused, not ignored (it
# used to set the weight field's 2)
api | 400 | backend: 198.19.1.2:8080,weight=3: must be ADDR:PORT | backend weight with a ",weight=3" suffix | POST /v1/apps/web/slots/production/backends/weight {"backend": "198.19.1.2:8080,weight=3", "weight": 2}
api | 400 | backend: 198.19.1.2:8080,weight=3: must be ADDR:PORT | backend drain with a ",weight=3" suffix | POST /v1/apps/web/slots/production/backends/drain {"backend": "198.19.1.2:8080,weight=3"}
# an app or slot without endpoints (it used to be created: 201)
api | 400 | x: endpoints must be a non-empty array | app without endpoints | POST /v1/apps {"name": "x"}
api | 400 | x: endpoints must be a non-empty array | app with an empty endpoint list | POST /v1/apps {"name": "x", "endpoints": []}
api | 400 | qa2: endpoints must be a non-empty array | slot without endpoints | POST /v1/apps/web/slots {"name": "qa2"}
api | 400 | retries must be a number | warm-up retries is a string | POST /v1/apps/web/swap {"slot": "staging", "warmup": {"retries": "5"}}
api | 400 | warmup: must be an object | warm-up is a list | POST /v1/apps/web/swap {"slot": "staging", "warmup": [1]}
api | 400 | unknown field "bogus" | unknown field | POST /v1/apps/web/swap {"slot": "staging", "bogus": 1}
api | 400 | unknown field "bogus" | unknown warm-up field | POST /v1/apps/web/swap {"slot": "staging", "warmup": {"bogus": 1}}
api | 400 | unknown field "target_slot" | target_slot on rollback | POST /v1/apps/web/rollback {"target_slot": "staging"}
api | 400 | slot is required | empty body on swap | POST /v1/apps/web/swap
api | 400 | name must match | empty body on app create | POST /v1/apps
api | 400 | Web: name must match [a-z0-9][a-z0-9._-]* | upper-case app name | POST /v1/apps {"name": "Web", "endpoints": ["198.18.100.9:80"]}
api | 400 | v 2: version may hold letters, digits | version with a space | POST /v1/apps/web/slots/staging/deploy {"backends": ["198.19.2.2:8080"], "version": "v 2"}
api | 400 | timeout must be 0.001..3600 seconds | warm-up timeout 0 | POST /v1/apps/web/swap {"slot": "staging", "warmup": {"timeout_s": 0}}
api | 400 | backends must be a non-empty array | empty body on deploy | POST /v1/apps/web/slots/staging/deploy
api | 400 | backends must be a non-empty array | empty backend list | POST /v1/apps/web/slots/staging/deploy {"backends": []}
api | 413 | over 1048576 bytes | body over 1 MiB | POST /v1/apps/web/swap @BIG
# the limit holds whatever the method (a body no handler reads used to
# be ignored: 200, 404)
api | 413 | GET /v1/status: request body over 1048576 bytes | GET with a body over 1 MiB | GET /v1/status @BIG
api | 413 | DELETE /v1/apps/nope: request body over 1048576 bytes | DELETE with a body over 1 MiB | DELETE /v1/apps/nope @BIG
# the release workflow, checked by the CLI itself (exit 2)
cli | 2 | setting name must be an environment variable name | setting name with a leading digit | slot setting set web --slot production 1BAD=x
cli | 2 | setting must be NAME=VALUE | setting without '=' | slot setting set web --slot production NOEQUALS
cli | 2 | setting value must be at most 4096 bytes | setting value of 4097 bytes | slot setting set web --slot production X=$(printf 'v%.0s' {1..4097})
cli | 2 | setting value must be UTF-8 text | setting value not UTF-8 | slot setting set web --slot production X=$'\xff'
cli | 2 | at least one NAME=VALUE | setting set without a setting | slot setting set web --slot production
cli | 2 | DB_URL: setting given twice | the same setting twice | slot setting set web --slot production DB_URL=a DB_URL=b
cli | 2 | setting name must be | delete a setting with a bad name | slot setting delete web --slot production bad-name
cli | 2 | hook must be an absolute path | hook path relative | slot hook set web --slot production --exec bin/hook
cli | 2 | hook: no such file | hook path missing | slot hook set web --slot production --exec /nonexistent/hook
cli | 2 | hook must be executable | hook not executable | slot hook set web --slot production --exec $STATE/noexec
cli | 2 | hook must be a regular file | hook a directory | slot hook set web --slot production --exec /tmp
cli | 2 | hook timeout must be 0.001..3600 seconds | hook timeout 0 | slot hook set web --slot production --exec $HOOK --timeout 0
cli | 2 | --exec PATH is needed | hook without --exec | slot hook set web --slot production
cli | 2 | delay must be 0..86400 seconds | auto-swap delay over a day | slot auto-swap web --slot staging --delay 99999
cli | 2 | cannot auto-swap into itself | auto-swap into itself | slot auto-swap web --slot staging --target-slot staging
cli | 2 | --off takes no --target-slot or --delay | auto-swap --off with a delay | slot auto-swap web --slot staging --off --delay 1
cli | 2 | host must be a DNS name | warm-up host with a space | slot config web --slot production --warmup-host 'a b'
cli | 2 | mode must be "http", "https" or "tcp" | warm-up mode ftp | slot config web --slot production --warmup-mode ftp
cli | 2 | deadline must be 0..86400 seconds | warm-up deadline over a day | slot config web --slot production --warmup-deadline 100000
cli | 2 | retry delay must be 0..600000 ms | warm-up retry delay too long | slot config web --slot production --warmup-retry-delay 700000
cli | 2 | action must be "swap", "preview", "reset" or "cancel" | unknown swap action | slot swap web --slot staging --action complete
cli | 2 | 198.18.0.3/24: host bits set | audience with host bits | slot swap web --slot staging --action preview --audience 198.18.0.3/24
cli | 2 | 198.18.0.3: missing '/LENGTH' | audience without a length | slot swap web --slot staging --action preview --audience 198.18.0.3
cli | 2 | go with --action preview | audience without preview | slot swap web --slot staging --audience 198.18.0.3/32
cli | 2 | timeout must be 1 second..7 days | preview timeout 0 | slot swap web --slot staging --action preview --timeout 0
cli | 2 | duration must be a whole number | preview timeout 5x | slot swap web --slot staging --action preview --timeout 5x
cli | 2 | on-timeout must be "reset" or "swap" | on-timeout later | slot swap web --slot staging --action preview --timeout 10 --on-timeout later
cli | 2 | --on-timeout needs --timeout | on-timeout without a timeout | slot swap web --slot staging --action preview --on-timeout swap
cli | 2 | --show-values goes with --dry-run | show-values without dry run | slot swap web --slot staging --show-values
cli | 2 | --dry-run goes with a swap | dry run of a reset | slot swap web --action reset --dry-run
cli | 2 | --slot SOURCE is needed | preview without a slot | slot swap web --action preview
cli | 2 | Bad: name must match | clone from an upper-case slot | slot create web --slot qa3 --endpoint 198.18.100.9:80 --clone-from Bad
cli | 2 | slot setting: unknown command 'sett' | sub-command typo | slot setting sett web --slot production X=1
cli | 2 | apply: /nonexistent/app.json | apply a missing file | apply -f /nonexistent/app.json
cli | 2 | apply-malformed.json: | apply malformed JSON | apply -f $STATE/apply-malformed.json
cli | 2 | apps: an array is required | apply with apps of the wrong type | apply -f $STATE/apply-type.json
cli | 2 | apps[0].slots[0]: unknown key "bogus" | apply with an unknown key | apply -f $STATE/apply-unknown-key.json
cli | 2 | slot staging listed twice | apply with a slot twice | apply -f $STATE/apply-duplicate.json
cli | 2 | endpoints[0]: 198.18.100.9:80/tcp: listed twice in the file | apply with one endpoint in two new slots (it used to create the app, then fail) | apply -f $STATE/apply-endpoint-twice.json
cli | 2 | staging auto-swaps itself: an auto swap into it would chain | apply with two slots auto-swapping into each other (it used to make the app, the slots and one auto swap, then fail) | apply -f $STATE/apply-auto-swap-loop.json
cli | 2 | bad-name: setting name must be | apply with a bad setting name | apply -f $STATE/apply-setting.json
cli | 2 | retries must be a number | apply with a string for a number | apply -f $STATE/apply-number.json
cli | 2 | backends[0]: bad IPv4/IPv6 address | apply with a bad backend | apply -f $STATE/apply-backend.json
cli | 2 | endpoints differ from the slot's | apply changing a slot's endpoints | apply -f $STATE/apply-endpoints.json
cli | 2 | -f FILE is needed | apply without a file | apply --dry-run
# the release workflow, refused by slotlbd (exit 1)
cli | 1 | web/nope: no such slot | setting of an unknown slot | slot setting set web --slot nope X=1
cli | 1 | nope: no such app | setting of an unknown app | slot setting set nope --slot production X=1
cli | 1 | web/qa: slot has no deployment | swapped setting of an empty slot | slot setting set web --slot qa X=1
cli | 1 | web/production: NOPE: no such setting | delete an unknown setting | slot setting delete web --slot production NOPE
cli | 1 | web/qa: slot has no hook | delete a hook that is not there | slot hook delete web --slot qa
cli | 1 | web/qa: slot has no auto swap | auto swap off where there is none | slot auto-swap web --slot qa --off
cli | 1 | web/nope: no such slot | auto swap into an unknown slot | slot auto-swap web --slot qa --target-slot nope
cli | 1 | staging auto-swaps itself | auto swap into a slot that auto-swaps (a chain) | slot auto-swap web --slot qa --target-slot staging
cli | 1 | staging auto-swaps into production | auto swap out of a slot swapped into (a chain) | slot auto-swap web --slot production --target-slot qa
cli | 1 | tea: busy: swap pending | a preview while one is pending | slot swap tea --slot staging --action preview
cli | 1 | tea: busy: swap pending | a deploy while a swap is pending | deploy tea --slot staging --backend 198.19.2.2:8080
cli | 1 | tea: busy: swap pending | a setting while a swap is pending | slot setting set tea --slot production X=1 --sticky
cli | 1 | tea: busy: swap pending | a rollback while a swap is pending | slot rollback tea --slot production
api | 409 | tea: busy: swap pending | a slot delete while a swap is pending | DELETE /v1/apps/tea/slots/staging
cli | 1 | web: no swap pending | --action swap with nothing pending | slot swap web --action swap
cli | 1 | web: no swap pending | --action reset with nothing pending | slot swap web --action reset
cli | 1 | tea: the pending swap is staging -> production | complete naming another slot | slot swap tea --slot qa --action swap
cli | 1 | web: nothing to cancel | cancel with nothing running | slot swap web --action cancel
cli | 1 | web/qa: slot has no deployment to swap | dry run of an empty slot | slot swap web --slot qa --dry-run
cli | 1 | web/nope: no such slot | clone from an unknown slot | slot create web --slot qa3 --endpoint 198.18.100.9:80 --clone-from nope
cli | 1 | web/qa: slot has no auto swap to wait for | deploy --wait without auto swap | deploy web --slot qa --backend 198.19.2.2:8080 --wait
cli | 1 | nope: no such app | export of an unknown app | export nope
cli | 1 | nope: no such app | config of an unknown app | slot config nope --slot production
# the release workflow through the raw API
api | 400 | 1X: setting name must be | setting name with a leading digit | POST /v1/apps/web/slots/production/settings {"settings": {"1X": "a"}}
api | 400 | X: value must be a string | setting value a number | POST /v1/apps/web/slots/production/settings {"settings": {"X": 5}}
api | 400 | settings must be an object of 1..256 | no settings | POST /v1/apps/web/slots/production/settings {"settings": {}}
api | 400 | sticky must be true or false | sticky a string | POST /v1/apps/web/slots/production/settings {"settings": {"X": "a"}, "sticky": "yes"}
api | 400 | malformed JSON | setting value with a NUL | POST /v1/apps/web/slots/production/settings {"settings": {"X": "a\u0000b"}}
api | 400 | X: setting value must be at most 4096 bytes | setting value of 4097 bytes | POST /v1/apps/web/slots/production/settings @SETTING4097
api | 400 | unknown field "bogus" | unknown settings field | POST /v1/apps/web/slots/production/settings {"bogus": 1}
api | 400 | bad-name: setting name must be | delete a setting with a bad name | DELETE /v1/apps/web/slots/production/settings/bad-name
api | 404 | web/production: NOPE: no such setting | delete an unknown setting | DELETE /v1/apps/web/slots/production/settings/NOPE
api | 400 | hook must be an absolute path | relative hook | PUT /v1/apps/web/slots/production/hook {"exec": "bin/hook"}
api | 400 | hook: exec is required | hook without exec | PUT /v1/apps/web/slots/production/hook {}
api | 400 | hook timeout must be 0.001..3600 seconds | hook timeout 0 | PUT /v1/apps/web/slots/production/hook {"exec": "/bin/sh", "timeout_s": 0}
api | 400 | auto-swap: delay must be 0..86400 seconds | negative delay | PUT /v1/apps/web/slots/staging/auto-swap {"delay_s": -1}
api | 400 | Bad: name must match | auto-swap target upper case | PUT /v1/apps/web/slots/staging/auto-swap {"target_slot": "Bad"}
api | 409 | staging auto-swaps itself | auto swap into a slot that auto-swaps | PUT /v1/apps/web/slots/qa/auto-swap {"target_slot": "staging"}
api | 404 | web/nope: no such slot | config of an unknown slot | GET /v1/apps/web/slots/nope/config
api | 400 | config: no field to set | config without a field | POST /v1/apps/web/slots/production/config {}
api | 400 | warmup: host must be a DNS name | config host with a space | POST /v1/apps/web/slots/production/config {"warmup": {"host": "a b"}}
api | 400 | warmup: mode must be | config mode ftp | POST /v1/apps/web/slots/production/config {"warmup": {"mode": "ftp"}}
# a config request is one transaction: the part refused leaves the
# others unstored (they used to be stored one by one)
api | 400 | drain: reset needs a drain timeout | config: warm-up retries and a drain reset without a timeout | POST /v1/apps/web/slots/production/config {"warmup": {"retries": 2}, "drain": {"on_timeout": "reset"}}
api | 404 | slot has no verification | config: a drain timeout and removing a verification there is none of | POST /v1/apps/web/slots/production/config {"drain": {"timeout_s": 60}, "verify": null}
cli | 1 | drain: reset needs a drain timeout | slot config: warm-up retries and a drain reset without a timeout | slot config web --slot production --warmup-retries 2 --on-drain-timeout reset
api | 400 | swap: action must be | unknown swap action | POST /v1/apps/web/swap {"slot": "staging", "action": "complete"}
api | 400 | 198.18.0.3/24: host bits set | audience with host bits | POST /v1/apps/web/swap {"slot": "staging", "action": "preview", "audience": ["198.18.0.3/24"]}
api | 400 | audience must be | audience a string | POST /v1/apps/web/swap {"slot": "staging", "action": "preview", "audience": "198.18.0.3/32"}
api | 400 | 17 prefixes: at most 16 | audience of 17 prefixes | POST /v1/apps/web/swap @AUDIENCE17
api | 400 | go with action "preview" | timeout without preview | POST /v1/apps/web/swap {"slot": "staging", "timeout_s": 5}
api | 400 | timeout must be 1 second..7 days | preview timeout 0 | POST /v1/apps/web/swap {"slot": "staging", "action": "preview", "timeout_s": 0}
api | 400 | on_timeout needs timeout_s | on_timeout alone | POST /v1/apps/web/swap {"slot": "staging", "action": "preview", "on_timeout": "swap"}
api | 400 | dry_run must be true or false | dry_run a string | POST /v1/apps/web/swap {"slot": "staging", "dry_run": "yes"}
api | 400 | dry_run goes with a swap of a slot | dry run of a reset | POST /v1/apps/web/swap {"action": "reset", "dry_run": true}
api | 409 | tea: busy: swap pending | a preview while one is pending | POST /v1/apps/tea/swap {"slot": "staging", "action": "preview"}
api | 409 | web: no swap pending | complete with nothing pending | POST /v1/apps/web/swap {"action": "swap"}
api | 409 | web: nothing to cancel | cancel with nothing running | POST /v1/apps/web/swap {"action": "cancel"}
api | 400 | clone_from must be a string | clone_from a number | POST /v1/apps/web/slots {"name": "qa5", "endpoints": ["198.18.100.9:80"], "clone_from": 5}
api | 400 | auto_swap must be true or false | deploy auto_swap a number | POST /v1/apps/web/slots/staging/deploy {"backends": ["198.19.2.2:8080"], "auto_swap": 1}
api | 409 | slot has no auto swap to wait for | deploy wait without auto swap | POST /v1/apps/web/slots/qa/deploy?wait=1 {"backends": ["198.19.2.2:8080"]}
api | 404 | nope: no such app | export of an unknown app | GET /v1/apps/nope/export
# unknown routes and methods
api | 404 | no such resource | unknown path | GET /v1/nope
api | 404 | no such resource | unknown API version | GET /v2/status
api | 404 | no such resource | unknown app action | POST /v1/apps/web/frob {}
api | 405 | PUT /v1/apps: method not allowed (allowed: GET, POST) | method not served | PUT /v1/apps {"name": "x", "endpoints": ["198.18.100.9:80"]}
api | 405 | DELETE /v1/status: method not allowed (allowed: GET) | DELETE on status | DELETE /v1/status
api | 405 | PATCH /v1/apps/web: method not allowed (allowed: GET, DELETE) | PATCH an app | PATCH /v1/apps/web {"name": "y"}
api | 405 | allowed: POST | GET on a deploy | GET /v1/apps/web/slots/staging/deploy
api | 405 | allowed: DELETE | GET one interface | GET /v1/interfaces/pub0
api | 404 | no such resource | a segment too many | POST /v1/apps/web/slots/staging/deploy/x {}
api | 400 | limit | history limit 0 | GET /v1/apps/web/history?limit=0
api | 404 | nope0: no such interface | detach an unknown interface | DELETE /v1/interfaces/nope0
# a NUL in a path segment names nothing (it used to cut the name short:
# these detached pub0 and deleted shop)
api | 404 | pub0%00x: no such interface | detach with a NUL in the name | DELETE /v1/interfaces/pub0%00x
api | 404 | shop%00x: no such app | delete an app with a NUL in the name | DELETE /v1/apps/shop%00x
api | 400 | role must be | interface role sideways | POST /v1/interfaces {"ifname": "pub0", "role": "sideways"}
# a refused attach of an attached interface leaves it remembered (it
# used to forget it: no re-attach at the next start, gone from the list)
api | 409 | pub0: | pub0 again in generic mode while attached native | POST /v1/interfaces {"ifname": "pub0", "role": "public", "mode": "generic"}
EOF
# A 405 names the methods the path has in the Allow header too.
allow=$(curl -s -m 30 -o /dev/null -D - -X PUT \
	--unix-socket "$(ctl_socket "$P")" http://slotlb/v1/apps |
	tr -d '\r' | sed -n 's/^Allow: //Ip')
echo "   PUT /v1/apps: Allow: $allow"
check "405 carries Allow: GET, POST" [ "$allow" = "GET, POST" ]
CASES=$((CASES + 1))

# One rule, one sentence: the CLI refuses `Web` with the very words the
# API answers (the CLI used to pass it on, and only slotlbd refused it).
printf '%s' '{"name": "Web", "endpoints": ["198.18.100.9:80"]}' >"$IN"
GOT=$(api POST /v1/apps "$IN")
api_said=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["error"])' "$OUT")
cli app create Web --endpoint 198.18.100.9:80 >/dev/null 2>"$ERR"
GOT=$?
cli_said=$(cat "$ERR")
echo "   api: $api_said"
echo "   cli: $cli_said (exit $GOT)"
check "the CLI refuses 'Web' with the API's sentence" \
	[ "$cli_said" = "Error: $api_said" -a "$GOT" = 2 ]
CASES=$((CASES + 1))
took=$((($(date +%s%N) - t0) / 1000000))
after=$(snapshot) || die "snapshot after the batch"
echo "# $CASES cases in $took ms"
if [ "$after" = "$before" ]; then
	echo "ok - no state change: database and maps identical after $CASES bad requests"
else
	echo "not ok - state changed by bad requests in: $(diff \
		<(sections <<<"$before") <(sections <<<"$after") |
		awk '/^>/ { print $2 }' | paste -sd,)"
	diff <(echo "$before") <(echo "$after") | head -40
	failures=$((failures + 1))
fi
check "production still serves v1" \
	grep -q '^v1 ' <<<"$(lab_exec_client "$P" curl -s -m 3 http://198.18.100.1/)"
check "staging still serves v2" \
	grep -q '^v2 ' <<<"$(lab_exec_client "$P" curl -s -m 3 http://198.18.100.2/)"

# The snapshot must see a real change, in the database and in the maps.
cli slot create web --slot scratch --endpoint 198.18.100.7:80 >/dev/null ||
	die "scratch slot"
# Sections of the snapshot that differ.
again=$(snapshot) || die "snapshot after a good request"
changed=$(diff <(sections <<<"$after") <(sections <<<"$again") |
	awk '/^>/ { print $2 }' | paste -sd,)
echo "   a good request changed: $changed"
check "snapshot sees a new slot in status and the endpoints map" \
	grep -q 'status.*endpoints' <<<"$changed"

if [ "$failures" -ne 0 ]; then
	echo "FAIL: bad_input: $failures checks failed"
	exit 1
fi
echo "PASS: bad_input"
