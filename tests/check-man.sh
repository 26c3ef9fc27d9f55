#!/bin/sh
# Lint the man pages with mandoc -Tlint at warning level; skip (77) when
# mandoc is not installed. Same check as `make man-lint`.
set -u
doc=${top_srcdir:-.}/doc
mandoc=${MANDOC:-$(command -v mandoc 2>/dev/null)}
if [ -z "$mandoc" ]; then
	echo "mandoc not found: skipping"
	exit 77
fi
for page in hypha.1 hyphad.8 hyphad.conf.5; do
	[ -f "$doc/$page" ] || { echo "missing $doc/$page"; exit 99; }
done
if "$mandoc" -Tlint -Wwarning "$doc/hypha.1" "$doc/hyphad.8" \
    "$doc/hyphad.conf.5"; then
	echo "man pages: ok"
	exit 0
fi
exit 1
