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

# bridge_recipe_ip BR NET N: the seeds' bridge recipe as an `ip` script: a
# bridge BR with NET.254/24, and per namespace husk-bench-1..N a veth pair
# hkbv$i/hkbc$i, one end moved in and enslaved, NET.$i/24, links up, a
# default route via the bridge.
bridge_recipe_ip() {
  local br=$1 net=$2 n=$3 i ns
  echo "set -e"
  echo "ip link add name $br type bridge"
  echo "ip addr add $net.254/24 dev $br"
  echo "ip link set $br up"
  for i in $(seq 1 "$n"); do
    ns=husk-bench-$i
    echo "ip netns add $ns"
    echo "ip link add hkbv$i type veth peer name hkbc$i"
    echo "ip link set hkbc$i netns $ns"
    echo "ip link set hkbv$i master $br"
    echo "ip link set hkbv$i up"
    echo "ip netns exec $ns ip addr add $net.$i/24 dev hkbc$i"
    echo "ip netns exec $ns ip link set hkbc$i up"
    echo "ip netns exec $ns ip link set lo up"
    echo "ip netns exec $ns ip route add default via $net.254"
  done
}
