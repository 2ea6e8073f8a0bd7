#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# slotlbd's options and config file are strict: an unknown or abbreviated
# option, an unknown key, a repeated one, a bad value is an error naming
# it, exit 2, and nothing is started. `--config=FILE` and `--conf FILE`
# used to be silently ignored (getopt_long took --conf for --config, and
# only "--config FILE" was read). --check-config shows what a command
# line and a file amount to without starting anything. Needs no root.
set -u
cd "$(dirname "$0")/../.." || exit 1
bin=${SLOTLBD:-build/slotlbd}
fail=0
n=0
err() {
	echo "FAIL: $*"
	fail=1
}

[ -x "$bin" ] || { echo "FAIL: $bin not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
conf=$tmp/slotlbd.conf

# Each row: "ARGS|CONFIG|EXIT|LINE". CONFIG is written to $conf with \n
# for newlines (empty: no file); LINE must appear in stdout+stderr.
# @C stands for the config file's path.
rows=(
	# the reported bugs
	"--conf @C --check-config|socket = /x|2|Error: --conf: unknown option (see slotlbd --help)"
	"--config=@C --check-config|bogus = 1|2|Error: @C:1: 'bogus': unknown key (see slotlbd --help)"
	"--config @C --check-config|bogus = 1|2|Error: @C:1: 'bogus': unknown key (see slotlbd --help)"
	# no abbreviations, no stray words, no repeats
	"--sock /x --check-config||2|Error: --sock: unknown option (see slotlbd --help)"
	"--check||2|Error: --check: unknown option (see slotlbd --help)"
	"-x||2|Error: -x: unknown option (see slotlbd --help)"
	"-vh||2|Error: -vh: unknown option (see slotlbd --help)"
	"run --check-config||2|Error: 'run': unexpected argument (see slotlbd --help)"
	"--socket /a --socket /b --check-config||2|Error: --socket: given twice (see slotlbd --help)"
	"--socket||2|Error: --socket: needs a value PATH (see slotlbd --help)"
	"--verbose=true --check-config||2|Error: --verbose: takes no value (see slotlbd --help)"
	"--help=x||2|Error: --help: takes no value (see slotlbd --help)"
	"--socket= --check-config||2|Error: --socket: empty value"
	"--flow-capacity 0 --check-config||2|Error: --flow-capacity: '0': not a whole number 1..4294967295"
	"--flow-capacity 12x --check-config||2|Error: --flow-capacity: '12x': not a whole number 1..4294967295"
	"--drain-interval 9 --check-config||2|Error: --drain-interval: '9': not a whole number 10..4294967295"
	"--config /nonexistent/slotlbd.conf --check-config||2|Error: /nonexistent/slotlbd.conf: No such file or directory"
	# the file: bad lines
	"--config @C --check-config|socket = /a\nsocket = /b|2|Error: @C:2: socket: given twice"
	"--config @C --check-config|# c\n\nsocket /a|2|Error: @C:3: expected KEY = VALUE, got 'socket /a'"
	"--config @C --check-config|config = /etc/x|2|Error: @C:1: 'config': unknown key (see slotlbd --help)"
	"--config @C --check-config|check-config = true|2|Error: @C:1: 'check-config': unknown key (see slotlbd --help)"
	"--config @C --check-config|flow-capacity = lots|2|Error: @C:1: flow-capacity: 'lots': not a whole number 1..4294967295"
	"--config @C --check-config|verbose = yes|2|Error: @C:1: verbose: 'yes': not true or false"
	"--config @C --check-config|socket =|2|Error: @C:1: socket: empty value"
	"--config @C --check-config|state-dirs = /x|2|Error: @C:1: 'state-dirs': unknown key (see slotlbd --help)"
	# the file: what it sets, and the command line over it
	"--config @C --check-config|  state_dir=/srv/lb  \n# socket = /x\nflow-capacity = 5|0|state-dir = /srv/lb"
	"--config @C --check-config|flow_capacity = 5|0|flow-capacity = 5"
	"--config=@C --check-config|drain-interval = 500|0|drain-interval = 500"
	# the fleet's store: a malformed URL is refused before anything starts
	"--store http://10.0.0.1:2379 --check-config||2|Error: store: 'http://10.0.0.1:2379': must start with etcd:// or etcds:// (etcd[s]://HOST:PORT[,HOST:PORT...])"
	"--store etcd://10.0.0.1 --check-config||2|Error: store: 'etcd://10.0.0.1': a member is not HOST:PORT"
	"--store etcd://10.0.0.1:0 --check-config||2|Error: store: 'etcd://10.0.0.1:0': a port is not a number in 1..65535"
	"--store etcd://a:1,,b:2 --check-config||2|Error: store: 'etcd://a:1,,b:2': a member is empty (expected HOST:PORT)"
	"--node-name lb1 --check-config||2|Error: node-name: only with store"
	"--store etcd://a:1 --node-name a/b --check-config||2|Error: node-name: 'a/b': 1..63 of letters, digits, '.', '_', '-'"
	"--config @C --check-config|store = etcd://10.0.0.1:2379,[fd00::1]:2379|0|store = etcd://10.0.0.1:2379,[fd00::1]:2379"
	"--store etcd://a:1 --store-snapshot-every 9 --check-config||2|Error: --store-snapshot-every: '9': not a whole number 10..4294967295"
	"--store etcd://a:1 --store-snapshot-every 1k --check-config||2|Error: --store-snapshot-every: '1k': not a whole number 10..4294967295"
	"--store etcd://a:1 --store-snapshot-every -5 --check-config||2|Error: --store-snapshot-every: '-5': not a whole number 10..4294967295"
	"--config @C --check-config|store_snapshot_every = 50|0|store-snapshot-every = 50"
	# the drain tick renews the node's 10 s lease in the fleet
	"--store etcd://a:1 --drain-interval 3001 --check-config||2|Error: drain-interval: 3001 ms: at most 3000 with store (the node's drain lease and deploys under way are renewed each period)"
	"--store etcd://a:1 --drain-interval 3000 --check-config||0|drain-interval = 3000"
	# TLS toward etcd: only with etcds://, the certificate with its key,
	# files that can be read (@C is one)
	"--store etcd://a:1 --store-ca @C --check-config|x|2|Error: store-ca: only with an etcds:// store"
	"--store-cert @C --store-key @C --check-config|x|2|Error: store-cert: only with an etcds:// store"
	"--store etcds://a:1 --store-cert @C --check-config|x|2|Error: store-cert: needs store-key too"
	"--store etcds://a:1 --store-key @C --check-config|x|2|Error: store-key: needs store-cert too"
	"--store etcds://a:1 --store-ca /nonexistent/ca.pem --check-config||2|Error: store-ca: '/nonexistent/ca.pem': No such file or directory"
	"--store etcds://a:1 --store-ca @C --store-cert @C --store-key @C --check-config|x|0|store = etcds://a:1"
	"--config @C --drain-interval 700 --check-config|drain-interval = 500|0|drain-interval = 700"
	"--config @C -v --check-config|verbose = false|0|verbose = true"
	"--config @C --check-config|socket = /run/a # b|0|socket = /run/a # b"
	"--config @C --check-config|verbose = true|0|# slotlbd settings from @C and the command line"
	"--config /dev/null --check-config||0|socket = /run/slotlb/slotlb.sock"
	# access control, the remote API, metrics: what they name must exist
	"--socket-group slotlb-no-such-group --check-config||2|Error: socket-group: 'slotlb-no-such-group': no such group"
	"--config @C --check-config|readonly-group = slotlb-no-such-group|2|Error: readonly-group: 'slotlb-no-such-group': no such group"
	"--socket-group root --readonly-group root --check-config||2|Error: readonly-group: 'root' is the socket group: its members may change state"
	"--metrics-listen 127.0.0.1 --check-config||2|Error: --metrics-listen: '127.0.0.1': missing port"
	"--metrics-listen localhost:9100 --check-config||2|Error: --metrics-listen: 'localhost:9100': bad IPv4/IPv6 address"
	"--api-listen ::1:8419 --check-config||2|Error: --api-listen: '::1:8419': IPv6 address must be in brackets"
	"--config @C --check-config|metrics-listen = [::1]:99999|2|Error: @C:1: metrics-listen: '[::1]:99999': port out of range 1-65535"
	"--api-listen 127.0.0.1:8419 --check-config||2|Error: api-listen: needs api-token-file (slotlbd never serves TCP without a token)"
	"--api-token-file @T --check-config||2|Error: api-token-file: only with api-listen"
	"--api-listen 127.0.0.1:8419 --api-token-file @T --tls-key /x --check-config||2|Error: tls-key: needs tls-cert too"
	"--api-listen 127.0.0.1:8419 --api-token-file @T --metrics-listen 127.0.0.1:8419 --check-config||2|Error: metrics-listen: 127.0.0.1:8419 and api-listen 127.0.0.1:8419 share a port: metrics are served without a token, the API never is"
	"--api-listen [::1]:8419 --api-token-file @T --metrics-listen [::]:8419 --check-config||2|Error: metrics-listen: [::]:8419 and api-listen [::1]:8419 share a port: metrics are served without a token, the API never is"
	"--api-listen 127.0.0.1:8419 --api-token-file @T --metrics-listen 127.0.0.2:8419 --check-config||0|metrics-listen = 127.0.0.2:8419"
	"--api-listen [::1]:8419 --api-token-file @T --check-config||0|api-listen = [::1]:8419"
	"--check-config||0|# metrics-listen not set"
	"--help||0|  --config FILE              config file (default /etc/slotlb/slotlbd.conf if it exists)"
)

tokens=$tmp/tokens
printf '# name: token\nci: 0123456789abcdef0123\n' >"$tokens"
chmod 600 "$tokens"

for row in "${rows[@]}"; do
	IFS='|' read -r args config want_rc want <<<"$row"
	n=$((n + 1))
	rm -f "$conf"
	[ -n "$config" ] && printf '%b\n' "$config" >"$conf"
	args=${args//@C/$conf}
	args=${args//@T/$tokens}
	want=${want//@C/$conf}
	# shellcheck disable=SC2086 # ARGS are words
	out=$("$bin" $args 2>&1)
	rc=$?
	[ $rc -eq "$want_rc" ] || err "slotlbd $args: exit $rc, want $want_rc: $out"
	grep -qxF -- "$want" <<<"$out" ||
		err "slotlbd $args (config '$config'): no line '$want' in: $out"
	# an error is one line, and the only output
	if [ "$want_rc" -ne 0 ] && [ "$(wc -l <<<"$out")" -ne 1 ]; then
		err "slotlbd $args: more than the error: $out"
	fi
done

# Without socket-group the socket's group, whose members write, is
# slotlbd's own: a read-only group that is that group is refused as the
# socket group is.
n=$((n + 1))
own=$(id -gn)
out=$("$bin" --config /dev/null --readonly-group "$own" --check-config 2>&1)
rc=$?
[ $rc -eq 2 ] && grep -q "^Error: readonly-group: '$own'.*may change state" <<<"$out" ||
	err "--readonly-group $own (slotlbd's own group) alone: exit $rc: $out"

# Token files: secrets, so too open is refused; each line is checked.
# Each row: "MODE|CONTENT|ERROR" (@F is the file).
token_rows=(
	"644|ci: 0123456789abcdef0123|Error: api-token-file: @F: mode 0644 lets group or others at the tokens (chmod 600)"
	"640|ci: 0123456789abcdef0123|Error: api-token-file: @F: mode 0640 lets group or others at the tokens (chmod 600)"
	"600||Error: api-token-file: @F: no token"
	"600|# only a comment|Error: api-token-file: @F: no token"
	"600|ci 0123456789abcdef0123|Error: api-token-file: @F:1: expected NAME: TOKEN"
	"600|ci: 0123456789|Error: api-token-file: @F:1: token under 16 characters"
	"600|ci: 0123456789abcdef0123 admin|Error: api-token-file: @F:1: unexpected text after the token (only read-only)"
	"600|c i: 0123456789abcdef0123|Error: api-token-file: @F:1: space in the token name"
	"600|ci: 0123456789abcdef012!|Error: api-token-file: @F:1: token may hold only letters, digits, '-._~+/' and '=' padding"
	"600|ci: 0123456789abcdef0123\nci: 0123456789abcdef0124|Error: api-token-file: @F:2: token name given twice"
	"600|ci: 0123456789abcdef0123\ncd: 0123456789abcdef0123|Error: api-token-file: @F:2: token given twice (the history could not tell who)"
)
for row in "${token_rows[@]}"; do
	IFS='|' read -r mode content want <<<"$row"
	n=$((n + 1))
	f=$tmp/tokens.bad
	rm -f "$f"
	printf '%b\n' "$content" >"$f"
	chmod "$mode" "$f"
	want=${want//@F/$f}
	out=$("$bin" --config /dev/null --api-listen 127.0.0.1:8419 \
		--api-token-file "$f" --check-config 2>&1)
	rc=$?
	[ $rc -eq 2 ] && [ "$out" = "$want" ] ||
		err "token file '$content' mode $mode: exit $rc: $out (want $want)"
done

# Nothing starts on a bad option or key: the state directory is not even
# created. Neither when the socket path holds something else than a
# socket: that file is never removed (slotlbd used to unlink whatever was
# there to bind its socket). The pin root is one that cannot exist, so a
# slotlbd without the checks stops at the data path instead of running.
state=$tmp/state
printf 'bogus = 1\n' >"$conf"
out=$("$bin" --config "$conf" --state-dir "$state" --pin-root /nonexistent/pins 2>&1)
rc=$?
n=$((n + 1))
[ $rc -eq 2 ] && [ ! -e "$state" ] ||
	err "bad key: exit $rc, state dir $(ls -d "$state" 2>/dev/null || echo absent): $out"
for kind in file dir link; do
	n=$((n + 1))
	path=$tmp/sock.$kind
	case $kind in
	file) echo "precious" >"$path" ;;
	dir) mkdir "$path" ;;
	link) ln -s "$conf" "$path" ;;
	esac
	out=$("$bin" --config /dev/null --state-dir "$state" --socket "$path" \
		--pin-root /nonexistent/pins 2>&1)
	rc=$?
	want="Error: $path: exists and is not a socket; slotlbd replaces only a stale socket"
	[ $rc -eq 1 ] && [ "$out" = "$want" ] ||
		err "socket path is a $kind: exit $rc: $out"
	[ -e "$path" ] || [ -L "$path" ] || err "socket path ($kind) was removed"
	[ ! -e "$state" ] || err "socket path is a $kind: state dir created"
done
[ "$(cat "$tmp/sock.file")" = precious ] || err "the file's content changed"

# The shipped config file is valid as shipped, and with every key
# uncommented it names each config key of --help exactly once.
n=$((n + 1))
out=$("$bin" --config dist/slotlbd.conf --check-config 2>&1) ||
	err "dist/slotlbd.conf as shipped: $out"
# What the examples name on a machine (groups, the token file) is
# replaced by what exists here.
sed -e 's/^#\([a-z-]* = \)/\1/' -e 's/^\(socket-group = \).*/\1root/' \
	-e "s/^\\(readonly-group = \\).*/\\1$(id -gn nobody 2>/dev/null || echo nogroup)/" \
	-e "s|^\\(api-token-file = \\).*|\\1$tmp/tokens|" \
	-e 's|^\(store-[a-z]* = \)/.*|\1/dev/null|' \
	dist/slotlbd.conf >"$conf"
out=$("$bin" --config "$conf" --check-config 2>&1) ||
	err "dist/slotlbd.conf uncommented: $out"
keys=$("$bin" --help | sed -n 's/^  \(-., \)\{0,1\}--\([a-z-]*\).*/\2/p' |
	grep -vx 'config\|check-config\|help' | sort)
file_keys=$(sed -n 's/^\([a-z-]*\) = .*/\1/p' "$conf" | sort)
[ -n "$keys" ] && [ "$keys" = "$file_keys" ] ||
	err "config keys of --help ($(echo $keys)) and dist/slotlbd.conf ($(echo $file_keys)) differ"

echo "slotlbd options: $n cases"
if [ $fail -eq 0 ]; then echo PASS; else echo FAILED; fi
exit $fail
