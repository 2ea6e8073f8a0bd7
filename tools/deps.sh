#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Install every Debian package that the build, the tests and the demo need
# (`tools/deps.sh`), plus the peers the benchmarks compare against
# (`tools/deps.sh bench`) or gnuplot for the docs' pictures
# (`tools/deps.sh docs`). Idempotent and quick when everything is
# present: apt runs only for what is missing. Needs root (or sudo) on
# Debian 12.
set -euo pipefail

PACKAGES=(
	# build
	make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
	linux-libc-dev libc6-dev
	# unit and BPF tests
	libcmocka-dev
	# the HTTPS warm-up test serves with openssl s_server
	openssl
	# controller: state, API, probes, JSON
	libsqlite3-dev sqlite3 libmicrohttpd-dev libjansson-dev
	libcurl4-openssl-dev
	# event hooks: HMAC-SHA256 signatures (libcrypto)
	libssl-dev
	# service: sd_notify (Type=notify), systemd-analyze verify of the unit,
	# capsh to read the capabilities the unit leaves slotlbd
	libsystemd-dev systemd libcap2-bin
	# packaging: make deb (dpkg-shlibdeps derives Depends), the install
	# test (dpkg in a throwaway overlay root; objdump cross-checks Depends;
	# man pages are found by man and by systemd-analyze verify)
	dpkg-dev binutils gzip man-db
	# lab and integration tests
	iproute2 ethtool curl procps psmisc util-linux coreutils bsdutils mawk
	python3
	# test_verify: the client namespace's hairpin NAT that brings
	# slotlbd's own --verify-http request back in through the endpoint
	nftables
	# format check
	clang-format
	# fuzzing (make fuzz): clang's libFuzzer runtime
	libclang-rt-14-dev
	# access control and the remote API: the test's users (useradd is in
	# passwd), its TLS certificate; metrics: promtool checks the text,
	# and the test runs its own prometheus to scrape slotlbd
	passwd openssl prometheus
	# the fleet lab (tools/fleet): each balancer node announces the
	# endpoint prefix over BGP to a router that installs the ECMP route
	bird2
	# the fleet's shared state (slotlbd --store etcd://): the tests run
	# their own etcd member in a namespace; etcdctl checks what it holds
	etcd-server etcd-client
)
if [ "${1:-}" = docs ]; then
	# tools/dashboard/plot.sh: the dashboard picture of docs/
	PACKAGES+=(gnuplot-nox)
fi
if [ "${1:-}" = bench ]; then
	# the alternatives users compare with, the HTTP load and the plots
	PACKAGES+=(nftables haproxy wrk gnuplot-nox linux-perf)
fi

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# Packages are wanted for their programs only: prometheus's would start
# a server on port 9090 of the machine, bird2's a BGP daemon (service
# bird), etcd-server's one on 2379 (the fleet tests run their own
# member in a namespace). A policy-rc.d (Debian's switch for maintainer
# scripts) keeps every service from starting during the installation,
# unless the machine has its own policy already.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	trap '$SUDO rm -f "$policy"' EXIT
	printf '#!/bin/sh\n# tools/deps.sh: no service starts\nexit 101\n' |
		$SUDO tee "$policy" >/dev/null
	$SUDO chmod 0755 "$policy"
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# ...and not at the next boot either (PACKAGE:SERVICE where they differ).
for s in prometheus bird2:bird etcd-server:etcd; do
	pkg=${s%%:*}
	s=${s#*:}
	case " ${missing[*]} " in *" $pkg "*) ;; *) continue ;; esac
	if [ -d /run/systemd/system ]; then
		$SUDO systemctl disable --now "$s.service" >/dev/null 2>&1 || true
	elif [ -x "/etc/init.d/$s" ]; then
		$SUDO update-rc.d "$s" disable >/dev/null 2>&1 || true
	fi
done
