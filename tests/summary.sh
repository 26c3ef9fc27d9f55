#!/bin/sh
# tests/summary.sh DIR...: add up the results of automake test runs found in
# the given build directories and print one plain line "N passed, N failed".
#
# A Check program counts each of its test cases ("Checks: N, Failures: F,
# Errors: E" in its log); any other test (a script) counts as one. A program
# that failed without a Check summary (a crash, a sanitizer abort) counts as
# one failure, so a crash can never read as a pass.
set -u
passed=0
failed=0
skipped=0
for dir in "$@"; do
	for trs in $(find "$dir" -name '*.trs' 2>/dev/null | sort); do
		log=${trs%.trs}.log
		result=$(sed -n 's/^:test-result: //p' "$trs" | head -n 1)
		line=$(grep -E '^[0-9]+%: Checks: [0-9]+' "$log" 2>/dev/null | tail -n 1)
		if [ -n "$line" ]; then
			n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
			f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
			e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
			passed=$((passed + n - f - e))
			failed=$((failed + f + e))
			if [ "$result" != PASS ] && [ "$f" -eq 0 ] && [ "$e" -eq 0 ]; then
				failed=$((failed + 1)) # clean cases but the program failed
			fi
		else
			case "$result" in
			PASS | XFAIL) passed=$((passed + 1)) ;;
			SKIP) skipped=$((skipped + 1)) ;;
			*) failed=$((failed + 1)) ;;
			esac
		fi
	done
done
if [ "${HY_SUMMARY_RAW:-}" = 1 ]; then
	echo "$passed $failed $skipped"
	exit 0
fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
