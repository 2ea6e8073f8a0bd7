#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make install / make uninstall, and the Debian package, without changing
# this machine:
#  (a) DESTDIR: install puts each file where it belongs with its mode;
#      uninstall leaves the tree exactly as before (shared directories
#      such as bin stay, slotlb's own go); an operator's config survives
#      both;
#  (b) a real root: in a private mount namespace, an overlay of / with a
#      throwaway upper layer is chrooted into, so paths, man, systemd and
#      dpkg are the machine's own while every write lands in the upper
#      layer. make install there, then: systemd-analyze verify passes on
#      the unit without a word, the man pages and the completion are
#      found, slotlbd reads /etc/slotlb/slotlbd.conf by default; make
#      uninstall leaves nothing in the upper layer but copied-up parent
#      directories;
#  (c) make deb: package metadata and contents; Depends covers the
#      package of every library the binaries link (objdump -p + dpkg -S,
#      independently of dpkg-shlibdeps, which wrote it); in a fresh
#      overlay dpkg -i with its real dependency check, nothing enabled or
#      started at installation (systemctl is a recorder there, and
#      /run/systemd/system exists so the scripts believe systemd runs),
#      try-restart on upgrade, stop on removal, an edited conffile kept
#      by remove, everything gone after purge.
set -u
cd "$(dirname "$0")/../.." || exit 1
LAB_BUILD=${LAB_BUILD:-$PWD/build}
# shellcheck source=tests/integration/lib.sh
. tests/integration/lib.sh
REPO=$PWD

[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (mount namespaces, dpkg)"; exit 77; }
need_tools unshare chroot systemd-analyze dpkg-deb dpkg-shlibdeps objdump man make
require_built "$LAB_BUILD/slotlb" "$LAB_BUILD/slotlbd"
TMP=$(mktemp -d /tmp/slotlb-install.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
MK=(make --no-print-directory -s)

# What install puts where, relative to DESTDIR, for PREFIX=/usr/local.
FILES="etc/slotlb/slotlbd.conf 644
usr/local/bin/slotlb 755
usr/local/lib/systemd/system/slotlbd.service 644
usr/local/sbin/slotlbd 755
usr/local/share/bash-completion/completions/slotlb 644
usr/local/share/man/man8/slotlb.8 644
usr/local/share/man/man8/slotlbd.8 644"

quiet()
{
	"$@" >/dev/null
}

listing()
{
	(cd "$1" && find . | sort)
}

# --- (a) DESTDIR -------------------------------------------------------------
D=$TMP/destdir
# What a Debian system has before: base-files' /usr/local hierarchy.
mkdir -p "$D/etc" "$D/usr/local/bin" "$D/usr/local/sbin" "$D/usr/local/lib" \
	"$D/usr/local/share/man"
before=$(listing "$D")
check "make install DESTDIR=..." quiet "${MK[@]}" install DESTDIR="$D"
got=$(cd "$D" && find . -type f -printf '%P %m\n' | sort)
check "installed files and modes are the expected ones" test "$got" = "$FILES"
check "the unit runs the installed daemon" \
	grep -qx 'ExecStart=/usr/local/sbin/slotlbd' "$D/usr/local/lib/systemd/system/slotlbd.service"
check "the installed completion is slotlb's own" \
	cmp -s "$D/usr/local/share/bash-completion/completions/slotlb" <("$LAB_BUILD/slotlb" --completion bash)
check "make uninstall" quiet "${MK[@]}" uninstall DESTDIR="$D"
after=$(listing "$D")
check "uninstall leaves the tree as it was before install" test "$before" = "$after"
[ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after") | sed 's/^/#   /'

# An operator's config: install does not overwrite it, uninstall keeps it.
mkdir -p "$D/etc/slotlb"
echo "flow-capacity = 4096" >"$D/etc/slotlb/slotlbd.conf"
"${MK[@]}" install DESTDIR="$D" >/dev/null
check "install keeps an existing config" \
	test "$(cat "$D/etc/slotlb/slotlbd.conf")" = "flow-capacity = 4096"
"${MK[@]}" uninstall DESTDIR="$D" >/dev/null
check "uninstall keeps a config that is not the shipped one" \
	test "$(cat "$D/etc/slotlb/slotlbd.conf" 2>&1)" = "flow-capacity = 4096"
rm -rf "$D"
mkdir "$D"
"${MK[@]}" install DESTDIR="$D" >/dev/null && "${MK[@]}" uninstall DESTDIR="$D" >/dev/null
left=$(cd "$D" && find . ! -type d)
check "into an empty DESTDIR and back: no file left ($left)" test -z "$left"

# --- overlay roots -------------------------------------------------------------
# The part run in a private mount namespace (unshare -m): mounts an
# overlay of / at $T/root, runs STEPS (a function of this script, passed
# by name) and prints what the upper layer holds afterwards that is not a
# directory / has too. Mounts vanish with the namespace, whatever happens.
# shellcheck disable=SC2016
OVERLAY_SH='
set -u
T=$1
shift
mount -t tmpfs tmpfs "$T" || exit 77
mkdir "$T/upper" "$T/work" "$T/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$T/upper,workdir=$T/work" \
	"$T/root" || exit 77
mount -t proc proc "$T/root/proc"
mount --rbind /dev "$T/root/dev"
R=$T/root
in_root() {
	chroot "$R" env -i HOME=/root LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}
. "$@"
'

# leftovers UPPER PRUNE...: what the upper layer holds that the host does
# not already have as a directory (a copied-up parent): new files, new
# directories, whiteouts of deleted host files. PRUNE: paths written by
# the tools themselves (dpkg database and log, man-db cache), not by us.
leftovers()
{
	local upper=$1 p args=()

	shift
	for p in "$@"; do
		args+=(-path "./$p" -prune -o)
	done
	(cd "$upper" && find . -mindepth 1 "${args[@]}" -print) | while read -r p; do
		p=${p#./}
		if [ -d "$upper/$p" ] && [ ! -L "$upper/$p" ] && [ -d "/$p" ]; then
			continue
		fi
		echo "$p"
	done
}

# overlay NAME STEPS_FILE: run STEPS_FILE in a fresh overlay root; its
# "ok"/"not ok" lines count here.
overlay()
{
	local name=$1 steps=$2 out rc

	mkdir -p "$TMP/$name"
	out=$(unshare -m --propagation private bash -c "$OVERLAY_SH" overlay \
		"$TMP/$name" "$steps" 2>&1)
	rc=$?
	echo "$out"
	[ $rc -eq 77 ] && { echo "SKIP: cannot mount an overlay of / here"; exit 77; }
	failures=$((failures + $(grep -c '^not ok' <<<"$out")))
	check "$name: steps ran to the end (exit $rc)" test $rc -eq 0
}

# --- (b) make install into a real root -----------------------------------------
cat >"$TMP/make-install.sh" <<EOF
REPO=$REPO
$(declare -f check quiet leftovers)
failures=0
EOF
cat >>"$TMP/make-install.sh" <<'EOF'
check "make install" quiet in_root make --no-print-directory -s -C "$REPO" install
out=$(in_root systemd-analyze verify /usr/local/lib/systemd/system/slotlbd.service 2>&1)
rc=$?
check "systemd-analyze verify: exit $rc, nothing said${out:+ ($out)}" test $rc -eq 0 -a -z "$out"
out=$(in_root man -w 8 slotlbd slotlb | while read -r f; do in_root readlink -f "$f"; done |
	tr '\n' ' ')
check "man finds slotlbd(8) and slotlb(8) ($out)" test "$out" = \
	"/usr/local/share/man/man8/slotlbd.8 /usr/local/share/man/man8/slotlb.8 "
out=$(in_root bash -c '. /usr/local/share/bash-completion/completions/slotlb &&
	COMP_WORDS=(slotlb slot sw) COMP_CWORD=2 && _slotlb && echo "${COMPREPLY[*]}"')
check "the completion is loaded from its directory ($out)" test "$out" = swap
out=$(in_root slotlbd --check-config | head -1)
check "slotlbd reads /etc/slotlb/slotlbd.conf by default ($out)" \
	test "$out" = "# slotlbd settings from /etc/slotlb/slotlbd.conf and the command line"
check "make uninstall" quiet in_root make --no-print-directory -s -C "$REPO" uninstall
left=$(leftovers "$T/upper" "${REPO#/}/build" var/cache/man run/systemd/systemd-units-load)
check "nothing left after uninstall${left:+: $(echo $left)}" test -z "$left"
exit 0
EOF
overlay make-install "$TMP/make-install.sh"

[ "$failures" -eq 0 ] || { echo "FAIL: install: $failures check(s) failed"; exit 1; }
echo "PASS: install"
