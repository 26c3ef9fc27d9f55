#!/bin/bash
# overlay-demo.sh BUILD_DIR [NODES [KEYS]]: hypha's main job with real
# daemons and the CLI, on this machine only. Starts NODES hyphad daemons
# (default 16) on 127.0.0.1..127.0.0.NODES joined through the first one,
# stores KEYS keys (default 300) through the CLI from node 2, reads them
# back through other nodes, stops a quarter of the daemons, reads every
# key again, announces a content hash and finds who has it, prints a
# summary, and stops every daemon it started (by PID, also on error).
set -u
build=${1:?usage: overlay-demo.sh BUILD_DIR [NODES [KEYS]]}
nodes=${2:-16}
keys=${3:-300}
hyphad="$build/src/hyphad/hyphad"
hypha="$build/src/hypha/hypha"
work=$(mktemp -d "${TMPDIR:-/tmp}/hypha-overlay.XXXXXX")
port=$((20000 + RANDOM % 20000))
pids=()

cleanup() {
	for p in "${pids[@]}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		[ -n "$p" ] && wait "$p" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

api() { echo "127.0.0.$1:$((port + 1000))"; }
now_us() { echo $(( $(date +%s%N) / 1000 )); }

start() { # start i [seed]
	local i=$1
	"$hyphad" --foreground --listen "127.0.0.$i:$port" --api "$(api "$i")" \
	    --state-dir "$work/n$i" --network demo ${2:+--seed "$2"} \
	    2>"$work/n$i.log" &
	pids[$i]=$!
}

wait_up() { # wait_up i: bounded wait until the daemon's API answers
	for _ in $(seq 100); do
		"$hypha" --api "$(api "$1")" --timeout 1 status >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "daemon $1 did not come up:" >&2
	tail -n 5 "$work/n$1.log" >&2
	return 1
}

pct() { # pct P < sorted numbers (ms)
	awk -v p="$1" '{a[NR]=$1} END {if (NR) {i=int(NR*p/100); if (i<1) i=1; printf "%.1f", a[i]} else printf "-"}'
}

t0=$(now_us)
echo "hypha overlay demo: $nodes daemons on 127.0.0.1..$nodes, $keys keys"
start 1
wait_up 1 || exit 1
for i in $(seq 2 "$nodes"); do
	start "$i" "127.0.0.1:$port"
done
for i in $(seq 2 "$nodes"); do
	wait_up "$i" || exit 1
done
for _ in $(seq 100); do
	joined=0
	for i in $(seq 2 "$nodes"); do
		"$hypha" --api "$(api "$i")" status 2>/dev/null |
		    grep -q '^status *joined' && joined=$((joined + 1))
	done
	[ "$joined" -eq $((nodes - 1)) ] && break
	sleep 0.1
done
echo "  overlay formed in $(( ($(now_us) - t0) / 1000 )) ms ($joined of $((nodes - 1)) joined the seed)"

run_ops() { # run_ops put|get FROM_SET... : times each CLI call
	local op=$1 ok=0 n=0 i=0; shift
	: >"$work/lat"
	for k in $(seq "$keys"); do
		local node=${*:$(( (k % $#) + 1 )):1}
		local s=$(now_us)
		if [ "$op" = put ]; then
			"$hypha" --api "$(api "$node")" put "demo-key-$k" "value $k" >/dev/null 2>&1 && ok=$((ok + 1))
		else
			[ "$("$hypha" --api "$(api "$node")" get "demo-key-$k" 2>/dev/null)" = "value $k" ] && ok=$((ok + 1))
		fi
		echo "$(( ($(now_us) - s) ))" >>"$work/lat"
	done
	sort -n "$work/lat" | awk '{printf "%.3f\n", $1 / 1000}' >"$work/lat.ms"
	printf "  %-26s %4d/%d   latency p50 %6s ms  p95 %6s ms  p99 %6s ms\n" \
	    "$op$label" "$ok" "$keys" "$(pct 50 <"$work/lat.ms")" \
	    "$(pct 95 <"$work/lat.ms")" "$(pct 99 <"$work/lat.ms")"
	[ "$ok" -eq "$keys" ]
}

status=0
label=" (from node 2)"
run_ops put 2 || status=1
others=$(seq 3 "$nodes")
label=" (from other nodes)"
run_ops get $others || status=1

stopped=0
alive=()
for i in $(seq 3 "$nodes"); do
	if [ $((i % 4)) -eq 3 ]; then
		kill "${pids[$i]}" && wait "${pids[$i]}" 2>/dev/null
		pids[$i]=""
		stopped=$((stopped + 1))
	else
		alive+=("$i")
	fi
done
echo "  stopped $stopped of $nodes daemons"
label=" (after the loss)"
run_ops get "${alive[@]}" || status=1

"$hypha" --api "$(api 2)" announce "a content hash" 6881 >/dev/null 2>&1
if "$hypha" --api "$(api "${alive[-1]}")" peers "a content hash" 2>/dev/null | grep -q ':6881'; then
	echo "  announce + peers:          found the announcer"
else
	echo "  announce + peers:          FAILED"
	status=1
fi
echo "  total $(( ($(now_us) - t0) / 1000 )) ms"
exit $status
