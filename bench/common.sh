# Shared by the bench scripts: build husk in release once, check tools, print ratios.
# Sourced, not run. Benchmarks are measurements, never pass/fail tests.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
HUSK="$ROOT/target/release/husk"

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "bench: needs $1 (apt-get install -y $2)" >&2; exit 1; }
}

build_husk() {
  need hyperfine hyperfine
  (cd "$ROOT" && cargo build --release --quiet -p husk)
}

# ratio JSON_FILE: median of the first command over the median of the second.
ratio() {
  python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
a, b = r[0], r[1]
print(f"{a['command']}: median {a['median']*1e3:.2f} ms")
print(f"{b['command']}: median {b['median']*1e3:.2f} ms")
print(f"ratio (husk / reference) = {a['median']/b['median']:.2f}")
PY
}
