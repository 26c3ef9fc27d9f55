#!/bin/sh
# Install the Debian 12 packages hypha needs to build and test, skipping the
# ones already present. Runs apt-get as root (directly, or through sudo).
set -eu

PKGS="build-essential autoconf automake autoconf-archive libtool pkg-config
libevent-dev libssl-dev libmsgpack-dev check libjansson-dev
clang clang-format libclang-rt-14-dev valgrind mandoc python3 iproute2 nftables"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
else
	SUDO="sudo"
fi
echo "deps: installing:$missing" >&2
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
