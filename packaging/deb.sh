#!/usr/bin/env bash
# `make deb`: build/safesock_VERSION_amd64.deb from what `make` built, laid
# out by `make install PREFIX=/usr` (the one install layout): the CLI
# (stripped), the library where `run` looks for it (/usr/lib/safesock),
# the man pages (gzipped, as Debian's policy asks), the profiles, and
# /usr/share/doc/safesock/copyright. Depends are computed by
# dpkg-shlibdeps from the binaries' NEEDED entries and symbol versions,
# not written by hand. No maintainer scripts: nothing to set up or undo.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
version=$("$build/bin/safesock" --version | awk '{print $2}')
arch=$(dpkg --print-architecture)
stage=$build/deb
root=$stage/root
rm -rf "$stage"
mkdir -p "$root/DEBIAN"
make -s install DESTDIR="$PWD/$root" PREFIX=/usr >/dev/null

gzip -9n "$root/usr/share/man/man1/safesock.1" "$root/usr/share/man/man5/safesock-policy.5"
install -d "$root/usr/share/doc/safesock"
install -m 0644 packaging/copyright "$root/usr/share/doc/safesock/copyright"

# dpkg-shlibdeps reads debian/control from where it runs: a scratch one.
mkdir -p "$stage/shlibs/debian"
printf 'Source: safesock\n\nPackage: safesock\nArchitecture: any\n' >"$stage/shlibs/debian/control"
binaries=("$PWD/$root/usr/bin/safesock" "$PWD/$root/usr/lib/safesock/libsafesock.so")
depends=$(cd "$stage/shlibs" && dpkg-shlibdeps -O "${binaries[@]}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
rm -rf "$stage/shlibs"

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: safesock
Version: $version
Architecture: $arch
Maintainer: safesock maintainers <maintainers@users.noreply.r-seed-9b557104.example>
Installed-Size: $size
Depends: $depends
Section: net
Priority: optional
Description: hold unmodified programs to a Safe-Tcl network policy
 safesock runs a program under the network policy of the Tcl plugin's
 Safe-Tcl network feature: it may open TCP connections only to the hosts
 and ports its policy allows. A preload library enforces it in every
 dynamically linked program; "safesock run --kernel" holds any program,
 static or hostile, to it in a network namespace of its own under a
 seccomp supervisor. Audit records go to a file, the journal or syslog.
CONTROL

out="$build/safesock_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out: $(stat -c %s "$out") bytes; Depends: $depends"
