#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_install: `make install DESTDIR=tmp PREFIX=/usr` lays out what a user
# gets (binaries, libdomino.a, headers, domino.pc, man pages, completion),
# then a program built only from the installed copy through pkg-config
# (`#include <domino/domino.h>`, `pkg-config --cflags --libs domino`) links,
# runs, and sees domino_open() fail cleanly on a broker that is not there.
#
# It reuses an existing build: BUILD_DIR (argument, else $DOMINO_BUILD as
# set by tools/run-tests, else build) is passed as B=, so `make install`
# only relinks nothing and copies. When that build is the sanitizer one
# (build/test), SAN=1 keeps make from mixing flags and the test program is
# linked with the same sanitizers. Run from the repository root.
#
# Usage: tests/install/test_install.sh [BUILD_DIR]
set -euo pipefail

build=${1:-${DOMINO_BUILD:-build}}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
case $build in
/*) ;;
*) build="$root/$build" ;;
esac
# The Makefile takes B relative to the root or absolute.
b_arg=$(realpath --relative-to="$root" "$build" 2>/dev/null || echo "$build")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/domino-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dest="$tmp/root"

fail() {
	echo "test_install: FAIL: $*" >&2
	exit 1
}

san=
san_flags=()
# grep without -q reads all of nm's output: no SIGPIPE under pipefail.
if [ -f "$build/libdomino.a" ] && nm "$build/libdomino.a" 2>/dev/null | grep '__asan_init' >/dev/null; then
	san=1
	san_flags=("-fsanitize=address,undefined")
fi

echo "test_install: make install B=$b_arg${san:+ SAN=1} DESTDIR=$dest PREFIX=/usr" >&2
make --no-print-directory -C "$root" install B="$b_arg" SAN="$san" \
	DESTDIR="$dest" PREFIX=/usr >"$tmp/make.log" 2>&1 ||
	{ cat "$tmp/make.log" >&2; fail "make install"; }

for f in usr/bin/dominod usr/bin/domino; do
	[ -x "$dest/$f" ] || fail "$f is not installed or not executable"
done
for f in usr/lib/libdomino.a usr/lib/pkgconfig/domino.pc \
	usr/include/domino/domino.h usr/include/domino/err.h \
	usr/include/domino/event.h usr/share/man/man1/domino.1 \
	usr/share/man/man8/dominod.8 \
	usr/share/bash-completion/completions/domino; do
	[ -f "$dest/$f" ] || fail "$f is not installed"
done
"$dest/usr/bin/dominod" --version | grep -q '^dominod ' || fail "dominod --version"
"$dest/usr/bin/domino" help >/dev/null || fail "domino help"

# The .pc file: version from broker/version.h, prefix /usr.
version=$(sed -n 's/^#define DOMINO_VERSION "\(.*\)"/\1/p' broker/version.h)
export PKG_CONFIG_PATH="$dest/usr/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$dest"
# The sysroot maps domino.pc's /usr to the DESTDIR copy (it maps the system
# packages' directories too, which does no harm: their headers are not
# needed and their libraries are in the default search path). Some pkgconf
# versions drop -I/usr/include and -L/usr/lib as system directories before
# adding the sysroot; keep them so the DESTDIR copy is found.
export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1
[ "$(pkg-config --modversion domino)" = "$version" ] ||
	fail "pkg-config --modversion domino is not $version"
grep -qx 'prefix=/usr' "$dest/usr/lib/pkgconfig/domino.pc" ||
	fail "domino.pc prefix is not /usr"
read -r -a cflags <<<"$(pkg-config --cflags domino)"
read -r -a libs <<<"$(pkg-config --libs domino)"
[[ " ${cflags[*]} " == *" -I$dest/usr/include "* ]] ||
	fail "pkg-config --cflags domino lacks -I$dest/usr/include: ${cflags[*]}"

# The man pages are well-formed.
if command -v groff >/dev/null; then
	for m in usr/share/man/man1/domino.1 usr/share/man/man8/dominod.8; do
		w=$(groff -mdoc -ww -z "$dest/$m" 2>&1) || fail "groff $m"
		[ -z "$w" ] || fail "groff warns about $m: $w"
	done
fi
# The completion loads and completes a command.
bash -c "source '$dest/usr/share/bash-completion/completions/domino' &&
	COMP_WORDS=(domino st) COMP_CWORD=1 && _domino &&
	[ \"\${COMPREPLY[*]}\" = status ]" || fail "bash completion"

cat >"$tmp/prog.c" <<'EOF'
#include <domino/domino.h>
#include <stdio.h>
#include <string.h>

int
main(void)
{
	/* Port 1 on loopback: nothing listens, the dial is refused at once. */
	struct domino_opts o = {.control = "tcp://127.0.0.1:1", .token = "x"};
	domino *d = NULL;
	const char *msg;
	int rv, i;

	for (i = 0; i < DOMINO_ERR_COUNT; i++) {
		msg = domino_strerror(i);
		if (msg == NULL || *msg == '\0') {
			printf("domino_strerror(%d) is empty\n", i);
			return 1;
		}
	}
	rv = domino_open(&d, &o);
	if (rv == DOMINO_OK || d != NULL) {
		printf("domino_open succeeded on a closed port\n");
		domino_close(d);
		return 1;
	}
	msg = domino_errmsg();
	printf("domino_open: %s (%s)\n", domino_strerror(rv), msg ? msg : "");
	if (rv != DOMINO_ETRANSPORT || msg == NULL ||
	    strstr(msg, "tcp://127.0.0.1:1") == NULL)
		return 1;
	return 0;
}
EOF
cc -std=c11 -Wall -Wextra -Werror "${san_flags[@]}" "${cflags[@]}" \
	-o "$tmp/prog" "$tmp/prog.c" "${libs[@]}" 2>"$tmp/cc.log" ||
	{ head -n 30 "$tmp/cc.log" >&2; fail "cannot build a program with pkg-config --cflags --libs domino"; }
"$tmp/prog" || fail "the program built against the installed libdomino"

# No --static check: libdomino needs libcurl (relay), whose static
# dependencies (nghttp2, ldap, ...) Debian does not ship as -dev by default.

# uninstall removes everything install put there.
make --no-print-directory -C "$root" uninstall B="$b_arg" DESTDIR="$dest" \
	PREFIX=/usr >"$tmp/make.log" 2>&1 || { cat "$tmp/make.log" >&2; fail "make uninstall"; }
left=$(find "$dest" -type f | sed "s|^$dest||")
[ -z "$left" ] || fail "make uninstall left: $left"

echo "test_install: PASS"
