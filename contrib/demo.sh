#!/bin/sh
# hypha's main job on a fresh Debian 12 machine: install what is missing,
# build, and run a local overlay: 16 nodes on 127.0.0.1..127.0.0.16 join
# through one seed, one node stores 300 keys, other nodes read them back,
# a quarter of the nodes stop, the keys are read again, and a content hash
# is announced and its peers found. Prints a summary (found/total,
# latencies). Everything stays on the loopback interface and stops by
# itself.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/contrib/deps.sh"
"$top/contrib/build.sh"
exec "$top/build/contrib/examples/overlay" "$@"
