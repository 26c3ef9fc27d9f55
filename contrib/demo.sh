#!/bin/sh
# hypha's main job on a fresh Debian 12 machine: install what is missing,
# build, and run it.
#
# Today (foundation stage) the runnable part is the node identity: this
# creates a fresh state directory, generates the node's P-256 identity in it
# and prints the node ID, then loads it back to show the ID is stable. The
# local overlay demo (16 daemons storing and finding keys) replaces this when
# the daemon lands.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/contrib/deps.sh"
"$top/contrib/build.sh"
hypha="$top/build/src/hypha/hypha"
dir=$(mktemp -d "${TMPDIR:-/tmp}/hypha-demo.XXXXXX")
trap 'rm -rf "$dir"' EXIT
echo "state directory: $dir"
"$hypha" keygen "$dir"
printf 'reloaded ID:     '
"$hypha" id "$dir"
