#!/bin/sh
# hypha's main job on a fresh Debian 12 machine: install what is missing,
# build, and run a local overlay of real daemons driven by the CLI: 16
# hyphad on 127.0.0.1..127.0.0.16 join through one seed, 300 keys are
# stored through `hypha put` on one node and read back with `hypha get` on
# the others, a quarter of the daemons stop, every key is read again, a
# content hash is announced and its peers found; then a summary
# (found/total, latencies) and every daemon it started is stopped.
# Loopback only; it stops by itself (well under a minute).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/contrib/deps.sh"
"$top/contrib/build.sh"
exec "$top/contrib/overlay-demo.sh" "$top/build" "$@"
