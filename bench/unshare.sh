#!/usr/bin/env bash
# husk unshare vs util-linux unshare: the same flags, timed by hyperfine.
# Needs root (pid/net/mount namespaces). Builds husk in release mode first.
#
#   bench/unshare.sh                 # the normal (dynamically linked) release build
#   STATIC=1 bench/unshare.sh        # a static-pie build (glibc crt-static): no
#                                    # libgcc_s/ld.so work at start-up
#   ROUNDS=10 RUNS=300 bench/unshare.sh
#
# Runs ROUNDS (6) hyperfine rounds of RUNS (150) runs each, alternating which
# tool goes first, and prints each round's ratio of medians and the median
# ratio (target: <= 1.0). A quiet machine gives steadier numbers.
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
ROUNDS="${ROUNDS:-6}"
RUNS="${RUNS:-150}"
OUT_DIR="${BENCH_OUT:-target/bench-unshare}"
mkdir -p "$OUT_DIR"

# Several short rounds in alternating order rather than one long run each:
# background load drifts, and hyperfine runs commands one after the other.
for round in $(seq 1 "$ROUNDS"); do
  cmds=(-n util-linux "/usr/bin/unshare $FLAGS" -n husk "$HUSK unshare $FLAGS")
  if (( round % 2 == 0 )); then
    cmds=(-n husk "$HUSK unshare $FLAGS" -n util-linux "/usr/bin/unshare $FLAGS")
  fi
  hyperfine --warmup 10 --runs "$RUNS" -N --style none \
    --export-json "$OUT_DIR/round-$round.json" "${cmds[@]}" "$@" >/dev/null
done

python3 - "$OUT_DIR" "$ROUNDS" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
ratios, hs, us = [], [], []
for i in range(1, rounds + 1):
    r = {x["command"]: x for x in json.load(open(f"{out}/round-{i}.json"))["results"]}
    h, u = r["husk"]["median"], r["util-linux"]["median"]
    hs.append(h); us.append(u); ratios.append(h / u)
    print(f"round {i}: husk {h*1e3:.3f} ms, util-linux {u*1e3:.3f} ms, ratio {h/u:.3f}")
print(f"median of rounds: husk {statistics.median(hs)*1e3:.3f} ms, "
      f"util-linux {statistics.median(us)*1e3:.3f} ms, "
      f"ratio {statistics.median(ratios):.3f} (target <= 1.0)")
PY
