#!/usr/bin/env bash
# husk lsns vs util-linux lsns, with 1,000 extra processes in 200 extra
# network namespaces (5 per namespace) that this script starts and kills.
#
#   bench/lsns.sh            # needs root, hyperfine, util-linux lsns
#   NS_COUNT=50 bench/lsns.sh  # fewer namespaces
#
# Prints hyperfine's table for each case and the ratio of medians
# (husk / util-linux; the target is <= 0.5).
set -euo pipefail
cd "$(dirname "$0")/.."

NGROUPS=${NS_COUNT:-200}
PER=5
REF=${REF_LSNS:-/usr/bin/lsns}
[ "$(id -u)" = 0 ] || { echo "bench/lsns.sh: needs root" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "bench/lsns.sh: needs hyperfine" >&2; exit 1; }

cargo build --release -q -p husk
HUSK=$PWD/target/release/husk
OUT=$(mktemp -d /tmp/husk-bench-lsns.XXXXXX)

# Each group is its own process group (setsid), so cleanup kills exactly
# the processes started here: kill -- -PGID for each recorded leader.
LEADERS=()
cleanup() {
  for pg in "${LEADERS[@]}"; do kill -- "-$pg" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$OUT"
}
trap cleanup EXIT INT TERM

for _ in $(seq 1 "$NGROUPS"); do
  # One shell in a new network namespace: 4 sleeps, then it becomes the 5th.
  setsid unshare -n bash -c \
    'for i in 1 2 3 4; do (exec -a husk-bench-sleep sleep 1000) & done; exec -a husk-bench-sleep sleep 1000' &
  LEADERS+=("$!")
done
want=$((NGROUPS * PER))
for _ in $(seq 1 200); do
  n=$(cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' '\n' | grep -cx husk-bench-sleep || true)
  [ "$n" -ge "$want" ] && break
  sleep 0.05
done
echo "started $n extra processes in $NGROUPS network namespaces; $(ls -d /proc/[0-9]* | wc -l) processes in all"

ratio() {
  python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
ref, husk = r[0]["median"], r[1]["median"]
print(f"median util-linux {ref*1000:.2f} ms, husk {husk*1000:.2f} ms, ratio {husk/ref:.2f}")
PY
}

i=0
for args in "" "--output-all" "-Towner" "-J"; do
  i=$((i + 1))
  hyperfine -N --warmup 3 --runs "${RUNS:-30}" --export-json "$OUT/$i.json" \
    -n "util-linux lsns $args" "$REF $args" \
    -n "husk lsns $args" "$HUSK lsns $args"
  echo "lsns $args: $(ratio "$OUT/$i.json")"
done
