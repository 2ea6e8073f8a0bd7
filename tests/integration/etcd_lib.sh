#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Two slotlbd nodes sharing their state through a real etcd (Debian's
# etcd-server, one member), for the test_etcd_*.sh tests. Sourced after
# tools/lab/lab.sh, tools/lab/controller.sh and tests/integration/lib.sh;
# the test sets P.
#
# Each node is a lab of its own (tools/lab/lab.sh: client, LB, backends;
# prefixes ${P}a and ${P}b, the same addresses in both), with its own
# state dir and pin root. etcd runs in namespace $P-etcd, on a bridge
# that each node's LB namespace joins with a veth (ec0):
#
#   ${P}a-lb  ec0 198.51.100.2 --+
#                                +-- br0 198.51.100.1:2379  etcd ($P-etcd)
#   ${P}b-lb  ec0 198.51.100.3 --+
#
# No namespace gets a route out; the addresses are TEST-NET-2.
#
# ETCD_TLS=1 (set before sourcing): etcd serves HTTPS only and wants a
# client certificate (a CA, etcd's and the nodes' certificates made
# with openssl under $OUT/tls); the nodes use etcds:// with --store-ca,
# --store-cert and --store-key.

ETCD_ADDR=198.51.100.1
ETCD_TLS=${ETCD_TLS:-0}
if [ "$ETCD_TLS" = 1 ]; then
	ETCD_URL=etcds://$ETCD_ADDR:2379
	ETCD_SCHEME=https
else
	ETCD_URL=etcd://$ETCD_ADDR:2379
	ETCD_SCHEME=http
fi
ETCD_NODES=()

# etcd_certs: a CA, etcd's certificate (for $ETCD_ADDR) and a client
# certificate for the nodes and etcdctl, in $OUT/tls.
etcd_certs()
{
	local t=$OUT/tls c ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1)

	mkdir -p "$t" || return 1
	openssl req -x509 "${ec[@]}" -nodes -keyout "$t/ca.key" \
		-out "$t/ca.pem" -days 2 -subj /CN=slotlb-test-ca \
		>/dev/null 2>&1 || return 1
	for c in server client; do
		openssl req "${ec[@]}" -nodes -keyout "$t/$c.key" \
			-out "$t/$c.csr" -subj "/CN=$c" >/dev/null 2>&1 &&
			printf 'subjectAltName=IP:%s\nextendedKeyUsage=%s\n' \
				"$ETCD_ADDR" "serverAuth,clientAuth" >"$t/$c.ext" &&
			openssl x509 -req -in "$t/$c.csr" -CA "$t/ca.pem" \
				-CAkey "$t/ca.key" -CAcreateserial -days 2 \
				-extfile "$t/$c.ext" -out "$t/$c.pem" \
				>/dev/null 2>&1 || return 1
	done
}

# etcd_tls_args: etcd's TLS options (none without ETCD_TLS).
etcd_tls_args()
{
	[ "$ETCD_TLS" = 1 ] || return 0
	echo --cert-file "$OUT/tls/server.pem" --key-file "$OUT/tls/server.key" \
		--client-cert-auth --trusted-ca-file "$OUT/tls/ca.pem"
}

etcd_ns()
{
	echo "$P-etcd"
}

etcd_dir()
{
	echo "$OUT/etcd"
}

# etcd_start: the member (again, on the same data dir after a stop);
# waits until it answers.
etcd_start()
{
	local try

	# shellcheck disable=SC2046 # options are words
	ip netns exec "$(etcd_ns)" etcd --name e1 --data-dir "$(etcd_dir)" \
		--listen-client-urls "$ETCD_SCHEME://$ETCD_ADDR:2379" \
		--advertise-client-urls "$ETCD_SCHEME://$ETCD_ADDR:2379" \
		$(etcd_tls_args) \
		--listen-peer-urls http://127.0.0.1:2380 \
		--initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster e1=http://127.0.0.1:2380 \
		</dev/null >>"$OUT/etcd.log" 2>&1 &
	echo $! >"$OUT/etcd.pid"
	for ((try = 0; try < 150; try++)); do
		etcdctl_ns endpoint health >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "etcd did not answer: $(tail -5 "$OUT/etcd.log")" >&2
	return 1
}

# etcd_stop: the member gone (SIGTERM), its data kept.
etcd_stop()
{
	local pid try

	pid=$(cat "$OUT/etcd.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for ((try = 0; try < 100; try++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$pid" 2>/dev/null
	rm -f "$OUT/etcd.pid"
}

# etcdctl_ns ARGS...: etcdctl against the member, from its namespace.
etcdctl_ns()
{
	local tls=()

	[ "$ETCD_TLS" = 1 ] && tls=(--cacert "$OUT/tls/ca.pem"
		--cert "$OUT/tls/client.pem" --key "$OUT/tls/client.key")
	ETCDCTL_API=3 ip netns exec "$(etcd_ns)" timeout 10 etcdctl \
		--endpoints "$ETCD_SCHEME://$ETCD_ADDR:2379" "${tls[@]}" "$@"
}

# etcd_lab_up N: etcd's namespace and member, and two node labs with N
# backends each, joined to it.
etcd_lab_up()
{
	local n=$1 node i=2

	ip netns add "$(etcd_ns)" || return 1
	ip -n "$(etcd_ns)" link set lo up
	ip -n "$(etcd_ns)" link add br0 type bridge || return 1
	ip -n "$(etcd_ns)" addr add "$ETCD_ADDR/24" dev br0
	ip -n "$(etcd_ns)" link set br0 up
	for node in "${P}a" "${P}b"; do
		lab_up "$node" "$n" || return $?
		ETCD_NODES+=("$node")
		ip -n "$(lab_ns_lb "$node")" link add ec0 type veth peer \
			name "e$i" netns "$(etcd_ns)" || return 1
		ip -n "$(etcd_ns)" link set "e$i" master br0 up
		ip -n "$(lab_ns_lb "$node")" addr add "198.51.100.$i/24" dev ec0
		ip -n "$(lab_ns_lb "$node")" link set ec0 up
		i=$((i + 1))
	done
	mkdir -p "$(etcd_dir)"
	if [ "$ETCD_TLS" = 1 ]; then
		etcd_certs || {
			echo "openssl could not make the test certificates" >&2
			return 1
		}
	fi
	etcd_start
}

etcd_lab_down()
{
	etcd_stop
	ip netns pids "$(etcd_ns)" 2>/dev/null | xargs -r kill -9
	ip netns del "$(etcd_ns)" 2>/dev/null
	ctl_cleanup_all
}

# etcd_trap_cleanup: nodes, labs, pins, etcd and $OUT gone on any exit.
etcd_trap_cleanup()
{
	LAB_CLEANUP_PREFIXES+=("${P}a" "${P}b")
	LAB_CLEANUP_DIRS+=("$OUT")
	trap etcd_lab_down EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# node_start NODE [ARGS...]: slotlbd of node a or b on the fleet's store.
node_start()
{
	local node=$1

	shift
	if [ "$ETCD_TLS" = 1 ]; then
		set -- --store-ca "$OUT/tls/ca.pem" \
			--store-cert "$OUT/tls/client.pem" \
			--store-key "$OUT/tls/client.key" "$@"
	fi
	ctl_start "$P$node" --store "$ETCD_URL" --node-name "$node" "$@"
}

# on NODE ARGS...: the CLI of node a or b, bounded in time.
on()
{
	local node=$1

	shift
	SLOTLB_SOCKET=$(ctl_socket "$P$node") timeout 30 "$CTL_CLI" "$@"
}

# api NODE METHOD PATH [JSON]: raw API call to node a or b (body, then
# the status on a line of its own).
api()
{
	local node=$1

	shift
	ctl_api "$P$node" "$@"
}

# routing_of NODE [APP_ID]: the routing element in node's pinned maps,
# as bytes: app_routing[APP] names its entry of routing_pool (bpftool,
# ~0.1 s; dpctl takes 2 s on a loaded machine). The entry's index may
# differ between nodes, its bytes may not.
routing_of()
{
	local pin k v

	pin=$(ctl_pin_root "$P$1")
	k=${2:-0}
	k=$(printf '%d %d %d %d' $((k & 255)) $((k >> 8 & 255)) \
		$((k >> 16 & 255)) $((k >> 24 & 255)))
	# -j: "value":["0xLL",...] (its low 4 bytes: the index)
	v=$(bpftool -j map lookup pinned "$pin/app_routing" key $k |
		sed 's/.*"value":\[\([^]]*\)\].*/\1/; s/[",]/ /g') || return 1
	read -r -a v <<<"$v"
	[ "${#v[@]}" -ge 4 ] || return 1
	if [ "${v[*]:0:4}" = "0x00 0x00 0x00 0x00" ]; then
		echo none
		return 0
	fi
	bpftool -j map lookup pinned "$pin/routing_pool" key ${v[*]:0:4} |
		sed 's/.*"value":\[\([^]]*\)\].*/\1/'
}

# routing_show_of NODE [APP_ID]: the element as dpctl reads it (slow).
routing_show_of()
{
	ctl_exec_lb "$P$1" timeout 10 "$DPCTL" --pin-root \
		"$(ctl_pin_root "$P$1")" routing show "${2:-0}"
}

# version_via NODE K: the version VIP K answers through node's client.
version_via()
{
	lab_exec_client "$P$1" curl -s --noproxy '*' -m 3 \
		"http://$(lab_vip "$2" 4)/" | cut -d' ' -f1
}

# applied NODE: "entry revision" node's status says it applied.
applied()
{
	# (awk: python's start takes seconds on a loaded machine)
	on "$1" -o json status | awk '
		/"applied": \{/ { a = 1; next }
		a && /"entry":/ { gsub(/[^0-9]/, ""); e = $0 }
		a && /"revision":/ { gsub(/[^0-9]/, ""); print e, $0; exit }'
}

# wait_for SECONDS CMD...: until CMD succeeds (polled every 20 ms).
wait_for()
{
	local end=$(($(now_ms) + $1 * 1000))

	shift
	until "$@"; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.02
	done
}

same_applied() { [ "$(applied a)" = "$(applied b)" ]; }
same_routing() { [ "$(routing_of a)" = "$(routing_of b)" ]; }

# etcd_fleet_up ATTACH [ARGS...]: what every test_etcd_*.sh starts
# with: the tools checked, etcd and both node labs (httpd v1 and v2 on
# backends 1 and 2), slotlbd started on a and b with ARGS, and with
# ATTACH "attach" pub0, be1 and be2 attached on both ("-": not).
etcd_fleet_up()
{
	local attach=$1 n

	shift
	require_built "$CTL_SLOTLBD" "$CTL_CLI" "$LAB_HTTPD" "$LAB_XDP_PASS" \
		"$DPCTL"
	need_tools curl python3 etcd etcdctl bpftool
	etcd_trap_cleanup
	etcd_lab_up 2 || exit $?
	for n in a b; do
		lab_start_httpd "$P$n" 1 v1 && lab_start_httpd "$P$n" 2 v2 ||
			die "httpd in node $n's lab"
	done
	need "node a started on etcd" node_start a "$@"
	need "node b started on etcd" node_start b "$@"
	[ "$attach" = attach ] || return 0
	for n in a b; do
		need "node $n: attach pub0, be1, be2" ctl_attach_all "$P$n" 2
	done
}

# etcd_web_up: app web made on node a: production on VIP 1 with v1
# (backend 1), staging on VIP 2 with v2 (backend 2).
etcd_web_up()
{
	need "web created and deployed on node a" eval "
		on a app create web --endpoint $(lab_vip 1 4):80 >/dev/null &&
		on a slot create web --slot staging \
			--endpoint $(lab_vip 2 4):80 >/dev/null &&
		on a deploy web --slot production --backend $(be 1) \
			--version v1 >/dev/null &&
		on a deploy web --slot staging --backend $(be 2) \
			--version v2 >/dev/null"
}
