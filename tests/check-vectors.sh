#!/bin/sh
# Are proto/vectors/ and PROTOCOL.md's field tables in step with
# proto/messages.def? Regenerate with:
#   tests/gen-vectors.py --out proto/vectors; tests/gen-vectors.py --doc
top=${top_srcdir:-.}
command -v python3 >/dev/null 2>&1 || exit 77
python3 "$top/tests/gen-vectors.py" --check "$top/proto/vectors" &&
python3 "$top/tests/gen-vectors.py" --check-doc "$top/proto/PROTOCOL.md"
