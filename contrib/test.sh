#!/bin/sh
# The whole test suite, as CI runs it, on a fresh Debian 12 machine:
#   1. install missing packages;
#   2. build with -Werror and run `make check`;
#   3. run the suite again under valgrind (memcheck, leaks are errors);
#   4. build with ASan+UBSan and run the suite;
#   5. `make distcheck` (tarball builds and passes on its own);
#   6. each libFuzzer target for a short, bounded time (clang);
# and end with one plain line: "N passed, N failed".
#
# HY_QUICK=1 runs only step 2. FUZZ_SECONDS sets step 6's time per target.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc)
P=0 F=0 S=0
status=0

stage() { printf '\n=== %s\n' "$*"; }
# configure and build in the current directory; quiet unless it fails
build() {
	if "$top/configure" -q "$@" >build.out 2>&1 &&
	    make -s -j"$jobs" >>build.out 2>&1; then
		return 0
	fi
	tail -n 40 build.out
	return 1
}
tally() {
	# add the results found under $1 to the totals
	set -- $(HY_SUMMARY_RAW=1 "$top/tests/summary.sh" "$1")
	P=$((P + $1)) F=$((F + $2)) S=$((S + $3))
	echo "stage result: $1 passed, $2 failed, $3 skipped"
}
fail() { echo "FAILED: $*"; status=1; F=$((F + 1)); }

stage "dependencies"
"$top/contrib/deps.sh" || { echo "could not install dependencies"; exit 1; }
[ -x configure ] || autoreconf -fi >/dev/null || { echo "autoreconf failed"; exit 1; }

stage "format check"
mkdir -p build
if (cd build && { [ -f Makefile ] || "$top/configure" -q; }) &&
    make -C build -s format-check; then
	P=$((P + 1))
else
	fail "format check"
fi

stage "build (-Werror) and make check"
mkdir -p build && cd build
if build --enable-werror; then
	make -j"$jobs" check >check.out 2>&1 || status=1
	grep -E '^(PASS|FAIL|ERROR|SKIP|XPASS)' check.out
	tally "$top/build"
else
	fail "build"
fi
cd "$top"

stage "the README's demo: 16 daemons driven by the CLI"
if "$top/contrib/overlay-demo.sh" "$top/build"; then
	P=$((P + 1))
else
	fail "demo overlay"
fi

if [ "${HY_QUICK:-0}" != 1 ]; then
	stage "make check under valgrind"
	mkdir -p build-vg && cd build-vg
	if build; then
		make -j"$jobs" check-valgrind >check.out 2>&1 || status=1
		grep -E '^(PASS|FAIL|ERROR|SKIP|XPASS)' check.out
		tally "$top/build-vg"
	else
		fail "valgrind build"
	fi
	cd "$top"

	stage "make check with ASan+UBSan"
	mkdir -p build-san && cd build-san
	if build --enable-werror --enable-sanitizers; then
		# the liveness simulation at 300 nodes and the netns test
		# once (step 2) keep CI within its time
		CK_FORK=no HY_SIM_NODES=300 HY_SIM_MINUTES=5 HY_NETNS_SKIP=1 \
		    make -j"$jobs" check >check.out 2>&1 || status=1
		grep -E '^(PASS|FAIL|ERROR|SKIP|XPASS)' check.out
		tally "$top/build-san"
	else
		fail "sanitizer build"
	fi
	cd "$top"

	stage "example program against the installed library"
	stage_dir=$(mktemp -d "${TMPDIR:-/tmp}/hypha-install.XXXXXX")
	prefix="$stage_dir/usr"
	if (cd build-vg && "$top/configure" -q --prefix="$prefix" >/dev/null &&
	    make -s -j"$jobs" install >/dev/null 2>&1) &&
	    PKG_CONFIG_PATH="$prefix/lib/pkgconfig" cc -o "$stage_dir/fileshare" \
	        "$top/contrib/examples/fileshare.c" \
	        $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags \
	            --libs libhypha libevent) &&
	    LD_LIBRARY_PATH="$prefix/lib" "$stage_dir/fileshare"; then
		P=$((P + 1))
	else
		fail "example program"
	fi
	rm -rf "$stage_dir"

	stage "make distcheck"
	cd build
	if HY_SIM_NODES=300 HY_SIM_MINUTES=5 HY_NETNS_SKIP=1 \
	    make -j"$jobs" distcheck >distcheck.out 2>&1; then
		tail -n 4 distcheck.out
	else
		tail -n 40 distcheck.out
		fail "distcheck"
	fi
	cd "$top"

	stage "fuzz smoke (clang, libFuzzer)"
	mkdir -p build-fuzz && cd build-fuzz
	if build CC=clang --enable-fuzzing; then
		if make fuzz-smoke FUZZ_SECONDS="${FUZZ_SECONDS:-20}" >fuzz.out 2>&1; then
			grep -E '^fuzz' fuzz.out
			P=$((P + 1))
		else
			tail -n 40 fuzz.out
			fail "fuzz smoke"
		fi
	else
		fail "fuzz build"
	fi
	cd "$top"
fi

stage "summary"
# skips (e.g. the netns test outside step 2) on their own line: the last
# line stays "N passed, N failed"
[ "$S" -gt 0 ] && echo "($S skipped)"
echo "$P passed, $F failed"
[ "$status" -eq 0 ] && [ "$F" -eq 0 ]
