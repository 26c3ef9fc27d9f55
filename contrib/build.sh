#!/bin/sh
# Configure and build hypha out of tree in ./build (or $HY_BUILD).
# Extra arguments go to configure. Reconfigures only when needed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${HY_BUILD:-$top/build}
cd "$top"
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$#" -gt 0 ]; then
	"$top/configure" -q --enable-werror "$@"
fi
make -s -j"$(nproc)" >/dev/null
