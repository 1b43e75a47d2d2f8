#!/usr/bin/env bash
# Startup cost: wall time of `husk --version` (against util-linux `unshare --version`,
# the smallest comparable C program start) and the size of the release binary.
source "$(dirname "$0")/common.sh"
build_husk
out=$(mktemp /tmp/husk-bench-XXXXXX.json)
trap 'rm -f "$out"' EXIT
hyperfine -N --warmup 50 --runs 500 --export-json "$out" \
  "$HUSK --version" "unshare --version" >/dev/null
ratio "$out"
echo "binary size: $(stat -c %s "$HUSK") bytes ($(du -h "$HUSK" | cut -f1))"
