#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# integration: serial (installs the package on the host: /etc/slotlb)
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
# Run in a private mount namespace (unshare -m): mount an overlay of /
# with its upper layer on a tmpfs at $T/root, then source the steps file
# given (in_root runs a command chrooted there). Nothing is written to the
# host's own tree, and the mounts vanish with the namespace whatever
# happens; a machine that cannot mount them skips (77).
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
{
	echo "REPO=$REPO"
	declare -f check quiet leftovers
	cat tests/integration/install_make.sh
} >"$TMP/make-install.sh"
overlay make-install "$TMP/make-install.sh"

# --- (c) the Debian package ----------------------------------------------------
check "make deb" quiet "${MK[@]}" deb
DEB=$(readlink -f "$LAB_BUILD/slotlb.deb")
echo "# $(basename "$DEB"): Depends: $(dpkg-deb -f "$DEB" Depends)"
check "control: package slotlb for $(dpkg --print-architecture)" \
	test "$(dpkg-deb -f "$DEB" Package Architecture | tr '\n' ' ')" = \
	"Package: slotlb Architecture: $(dpkg --print-architecture) "
check "control: the config file is a conffile" \
	test "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles)" = /etc/slotlb/slotlbd.conf
scripts=$(dpkg-deb --ctrl-tarfile "$DEB" | tar -t | sort | paste -sd' ')
check "control: conffiles, control, md5sums and the maintainer scripts ($scripts)" \
	test "$scripts" = "./ ./conffiles ./control ./md5sums ./postinst ./postrm ./prerm"
contents=$(dpkg-deb --contents "$DEB" | awk '$1 !~ /^d/ { print $1, $6 }' | sort -k2)
want="-rw-r--r-- ./etc/slotlb/slotlbd.conf
-rw-r--r-- ./lib/systemd/system/slotlbd.service
-rwxr-xr-x ./usr/bin/slotlb
-rwxr-xr-x ./usr/sbin/slotlbd
-rw-r--r-- ./usr/share/bash-completion/completions/slotlb
-rw-r--r-- ./usr/share/doc/slotlb/changelog.Debian.gz
-rw-r--r-- ./usr/share/doc/slotlb/copyright
-rw-r--r-- ./usr/share/man/man8/slotlb.8.gz
-rw-r--r-- ./usr/share/man/man8/slotlbd.8.gz"
check "contents: the expected files and modes, all root's" \
	test "$contents" = "$want" -a \
	-z "$(dpkg-deb --contents "$DEB" | awk '$2 != "root/root"')"
[ "$contents" = "$want" ] || diff <(echo "$want") <(echo "$contents") | sed 's/^/#   /'

# Depends against the libraries, found independently of dpkg-shlibdeps
# (which wrote it): each NEEDED entry, resolved by the dynamic loader,
# belongs to a package that Depends names.
depends=$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | awk '{ print $1 }')
dpkg-deb -x "$DEB" "$TMP/x"
needed=$(for b in usr/bin/slotlb usr/sbin/slotlbd; do
	for lib in $(objdump -p "$TMP/x/$b" | awk '$1 == "NEEDED" { print $2 }'); do
		path=$(ldd "$TMP/x/$b" | awk -v l="$lib" '$1 == l { print $3 }')
		real=$(readlink -f "$path")
		# dpkg knows a file by the path its package ships, which with
		# merged /usr may be with or without /usr: try each.
		echo "/$b $lib $path $real ${real#/usr}"
	done
done)
# One dpkg -S for all: "package:arch: path" lines.
owners=$(awk '{ print $3; print $4; print $5 }' <<<"$needed" | sort -u |
	xargs dpkg -S 2>/dev/null)
while read -r b lib paths; do
	pkg=$(for p in $paths; do
		awk -v p="$p" '$NF == p { sub(/:.*/, "", $1); print $1 }' <<<"$owners"
	done | head -1)
	check "Depends names ${pkg:-?}, which holds $lib of $b" \
		grep -qx -- "${pkg:-none}" <<<"$depends"
done <<<"$needed"
if command -v lintian >/dev/null; then
	check "lintian finds no error" lintian --fail-on error "$DEB"
else
	echo "# lintian not installed: skipped (optional)"
fi

cp "$DEB" "$TMP/slotlb.deb"
{
	echo "DEB=$TMP/slotlb.deb"
	declare -f check quiet leftovers
	cat tests/integration/install_deb.sh
} >"$TMP/deb.sh"
overlay deb "$TMP/deb.sh"

[ "$failures" -eq 0 ] || { echo "FAIL: install: $failures check(s) failed"; exit 1; }
echo "PASS: install"
