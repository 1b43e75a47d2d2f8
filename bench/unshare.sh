#!/usr/bin/env bash
# husk unshare vs util-linux unshare: the same flags, timed by hyperfine.
# Needs root (pid/net/mount namespaces) and a release build.
# Usage: bench/unshare.sh [extra hyperfine args...]
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
HUSK="$PWD/target/release/husk"
FLAGS="-f -p -m -u -i -n --mount-proc true"
OUT="${BENCH_OUT:-target/bench-unshare.json}"

hyperfine --warmup 20 --min-runs 300 -N \
  --export-json "$OUT" \
  -n husk "$HUSK unshare $FLAGS" \
  -n util-linux "/usr/bin/unshare $FLAGS" \
  "$@"

# Ratio of medians (target: <= 1.0).
python3 - "$OUT" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
h, u = r["husk"]["median"], r["util-linux"]["median"]
print(f"median husk {h*1e3:.3f} ms, util-linux {u*1e3:.3f} ms, ratio {h/u:.3f}")
PY
