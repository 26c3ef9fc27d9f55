#!/bin/sh
# Liveness under packet loss: 20 real hyphad processes in a private network
# namespace whose loopback drops 10% of incoming UDP (nftables numgen random,
# the approach of ../shared/bench/run_lossy.sh). After convergence, a window
# (HY_NETNS_WINDOW_S, 180 s) without failures must show no member reported
# "down"; then one daemon is SIGKILLed and all others must report it "down"
# within HY_NETNS_DETECT_S (default: hyphad(8)'s bound, 5 + 10 log10(N - 1)
# s). The daemons are driven by liveness.py.
#
# Skipped (77) when not root, when `ip netns add`, nft or the nft rule are not
# available, without python3, or with HY_NETNS_SKIP=1. HYPHAD may name another
# binary; HY_NETNS_LOSS changes the drop percentage (10). See liveness.py for
# the other settings. Everything it starts it kills by PID, and the namespace
# is deleted on every exit path. The state directory is kept on failure only.
skip() {
	echo "SKIP: $*"
	exit 77
}
[ "${HY_NETNS_SKIP:-0}" = 1 ] && skip "HY_NETNS_SKIP=1"
[ "$(id -u)" = 0 ] || skip "needs root for ip netns and nft"
command -v python3 >/dev/null 2>&1 || skip "python3 is needed"
command -v ip >/dev/null 2>&1 || skip "ip (iproute2) is needed"
command -v nft >/dev/null 2>&1 || skip "nft (nftables) is needed"
HYPHAD=${HYPHAD:-${abs_top_builddir:-$(pwd)}/src/hyphad/hyphad}
[ -x "$HYPHAD" ] || { echo "FAIL: no daemon binary at $HYPHAD"; exit 1; }
export HYPHAD
LOSS=${HY_NETNS_LOSS:-10}
case "$LOSS" in '' | *[!0-9]*) echo "FAIL: HY_NETNS_LOSS=$LOSS"; exit 1 ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)

NS=hyliveness$$
TMP=
PYPID=
# shellcheck disable=SC2317 # called from the EXIT trap
cleanup() {
	# Kill only what we started: the helper (TERM first: it stops its
	# daemons), then every PID it recorded (itself, each daemon) that still
	# runs with $TMP on its command line.
	if [ -n "$PYPID" ]; then
		kill -TERM "$PYPID" 2>/dev/null
		i=0
		while kill -0 "$PYPID" 2>/dev/null && [ "$i" -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$PYPID" 2>/dev/null
	fi
	if [ -n "$TMP" ] && [ -f "$TMP/pids" ]; then
		while read -r pid; do
			{ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null |
			    grep -qF -- "$TMP" && kill -KILL "$pid" 2>/dev/null
		done <"$TMP/pids"
	fi
	[ -n "$NSMADE" ] && ip netns del "$NS" 2>/dev/null
	if [ -n "$TMP" ]; then
		if [ "$RC" = 1 ]; then
			echo "state and daemon logs kept in $TMP"
		else
			rm -rf "$TMP"
		fi
	fi
}
RC=1
NSMADE=
trap 'cleanup' EXIT
trap 'exit 1' HUP INT TERM

ip netns add "$NS" 2>/dev/null || skip "ip netns add is not allowed here"
NSMADE=1
ip netns exec "$NS" ip link set lo up || { echo "FAIL: lo up in $NS"; exit 1; }
ip netns exec "$NS" nft -f - 2>/dev/null <<NFT || skip "cannot add the nft loss rule"
add table inet hyloss
add chain inet hyloss in { type filter hook input priority 0 ; policy accept ; }
add rule inet hyloss in meta l4proto udp counter
add rule inet hyloss in meta l4proto udp numgen random mod 100 < $LOSS counter drop
NFT
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hy-netns.XXXXXX") || exit 1
echo "namespace $NS, ${LOSS}% of incoming UDP dropped, daemons in $TMP"

# Bound the whole run even if the helper hangs: its own waits plus slack
# (30 s stands for the detection bound, above the default for N=20).
BUDGET=$(python3 -c 'import os
g = lambda k, d: float(os.environ.get(k) or d)
print(int(45 + g("HY_NETNS_CONVERGE_S", 60) + g("HY_NETNS_WINDOW_S", 180)
          + g("HY_NETNS_DETECT_S", 30) + 60))')
if command -v timeout >/dev/null 2>&1; then
	timeout -k 10 "$BUDGET" ip netns exec "$NS" \
	    python3 "$HERE/liveness.py" "$TMP" &
else
	ip netns exec "$NS" python3 "$HERE/liveness.py" "$TMP" &
fi
PYPID=$!
wait "$PYPID"
RC=$?
PYPID=
[ "$RC" = 124 ] && echo "FAIL: the run exceeded its ${BUDGET} s budget"
[ "$RC" = 77 ] && exit 77

# The drop fraction the nft counters measured (all UDP packets, dropped).
# shellcheck disable=SC2046 # two numbers, split on purpose
set -- $(ip netns exec "$NS" nft list table inet hyloss |
    sed -n 's/.*packets \([0-9]*\).*/\1/p')
if [ $# -ge 2 ]; then
	echo "udp packets: $1, dropped: $2 ($(python3 -c \
	    "print('%.4f' % ($2 / max($1, 1)))") measured drop fraction)"
	if [ "$RC" = 0 ] && [ "$LOSS" != 0 ]; then
		# A run that saw little UDP, or a very different loss, did not
		# test what it says.
		python3 -c "import sys; m, d, l = $1, $2, $LOSS / 100
sys.exit(m < 1000 or abs(d / m - l) > 0.03)" || {
			echo "FAIL: drop fraction not near ${LOSS}% (or < 1000 packets)"
			RC=1
		}
	fi
fi
case "$RC" in 0 | 77) ;; *) RC=1 ;; esac
exit "$RC"
