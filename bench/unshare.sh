#!/usr/bin/env bash
# husk unshare vs util-linux unshare: the same flags, timed by hyperfine.
# Needs root (pid/net/mount namespaces). Builds husk in release mode first.
#
#   bench/unshare.sh                 # the normal (dynamically linked) release build
#   STATIC=1 bench/unshare.sh        # a static-pie build (glibc crt-static): no
#                                    # libgcc_s/ld.so work at start-up
#   bench/unshare.sh --runs 1000     # extra hyperfine arguments
#
# Prints the ratio of medians (target: <= 1.0). The machine should be quiet:
# on 2 busy cores the spread is larger than the difference being measured.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${STATIC:-0}" == 1 ]]; then
  # --target keeps the static flag away from proc-macro (host) builds.
  RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --release --quiet --target x86_64-unknown-linux-gnu \
    --target-dir target/static
  HUSK="$PWD/target/static/x86_64-unknown-linux-gnu/release/husk"
else
  cargo build --release --quiet
  HUSK="$PWD/target/release/husk"
fi
FLAGS="-f -p -m -u -i -n --mount-proc true"
OUT="${BENCH_OUT:-target/bench-unshare.json}"

hyperfine --warmup 20 --min-runs 300 -N \
  --export-json "$OUT" \
  -n util-linux "/usr/bin/unshare $FLAGS" \
  -n husk "$HUSK unshare $FLAGS" \
  "$@"

python3 - "$OUT" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
h, u = r["husk"]["median"], r["util-linux"]["median"]
print(f"median husk {h*1e3:.3f} ms, util-linux {u*1e3:.3f} ms, ratio {h/u:.3f}")
PY
