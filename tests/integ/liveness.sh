#!/bin/sh
# hyphad integration test "liveness": see hyphad_integ.py. Run from the
# build directory by make check; HYPHAD and HYPHA may name other binaries.
# HY_INTEG_LIVENESS=0 skips it.
if [ "${HY_INTEG_LIVENESS:-1}" = 0 ]; then
	echo "SKIP: HY_INTEG_LIVENESS=0"
	exit 77
fi
command -v python3 >/dev/null 2>&1 || {
	echo "SKIP: python3 is needed for the hyphad integration tests"
	exit 77
}
HYPHAD=${HYPHAD:-$(pwd)/src/hyphad/hyphad}
HYPHA=${HYPHA:-$(pwd)/src/hypha/hypha}
export HYPHAD HYPHA
exec python3 "${top_srcdir:-.}/tests/integ/hyphad_integ.py" liveness
