#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Turns a `make install DESTDIR=DIR/debian/slotlb PREFIX=/usr` tree into a
# Debian binary package with dpkg-deb (`make deb` runs this). Depends is
# what dpkg-shlibdeps derives from the libraries the installed binaries
# link, so it follows the build rather than a list kept by hand.
# Usage: dist/debian/build-deb.sh DIR VERSION MAINTAINER OUT.deb
set -euo pipefail

dir=$(cd "$1" && pwd) version=$2 maintainer=$3 out=$4
here=$(cd "$(dirname "$0")" && pwd)
root=$dir/debian/slotlb
arch=$(dpkg --print-architecture)

[ -x "$root/usr/sbin/slotlbd" ] || {
	echo "Error: deb: $root: run make install into it first" >&2
	exit 1
}

# What Debian policy asks of installed files: stripped binaries (the
# debugging symbols stay in build/), compressed man pages and changelog,
# the copyright file.
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	"$root/usr/bin/slotlb" "$root/usr/sbin/slotlbd"
gzip -9nf "$root"/usr/share/man/man8/*.8
doc=$root/usr/share/doc/slotlb
install -D -m 0644 "$here/copyright" "$doc/copyright"
{
	printf 'slotlb (%s) unstable; urgency=medium\n\n' "$version"
	printf '  * Built from git %s with make deb.\n\n' \
		"$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	printf ' -- %s  %s\n' "$maintainer" \
		"$(date -R -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}")"
} | gzip -9n >"$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"

# dpkg-shlibdeps reads debian/control and finds the package tree by its
# DEBIAN directory.
install -d -m 0755 "$root/DEBIAN"
printf 'Source: slotlb\n\nPackage: slotlb\nArchitecture: any\n' \
	>"$dir/debian/control"
depends=$(cd "$dir" && dpkg-shlibdeps -O -edebian/slotlb/usr/bin/slotlb \
	-edebian/slotlb/usr/sbin/slotlbd | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || {
	echo "Error: deb: dpkg-shlibdeps found no dependencies" >&2
	exit 1
}

# postinst makes the socket's group with addgroup
depends="$depends, adduser"

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" \
	-e "s|@MAINTAINER@|$maintainer|" -e "s|@SIZE@|$size|" \
	-e "s|@DEPENDS@|$depends|" "$here/control.in" >"$root/DEBIAN/control"
install -m 0644 "$here/conffiles" "$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	install -m 0755 "$here/$s" "$root/DEBIAN/$s"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
	sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"

dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "  DEB      $out (Depends: $depends)"
