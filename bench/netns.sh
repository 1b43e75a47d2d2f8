#!/usr/bin/env bash
# Network set-up cost: the seeds' bridge recipe for N namespaces (default 20):
# a bridge with an address, and per namespace a veth pair, one end moved in
# and enslaved, an address, links up, a default route via the bridge.
#   ip      the seeds' `ip` / `ip netns exec` command script
#   husk    the same steps as husk commands (one process per step)
#   batch   the same steps as one `husk batch` process
# Then `netns add` + `netns del` of one namespace, husk against ip.
# Everything is named husk-bench-* / hkb* and removed before each run and on exit.
# Runs as root. Usage: bench/netns.sh [N]
source "$(dirname "$0")/common.sh"
need ip iproute2
build_husk
N=${1:-20}
BR=hkbbr0
NET=10.123.0
tmp=$(mktemp -d /tmp/husk-bench-XXXXXX)

cat >"$tmp/teardown.sh" <<TEARDOWN
ip link del $BR 2>/dev/null
for i in \$(seq 1 $N); do
  ip link del hkbv\$i 2>/dev/null
  ip netns del husk-bench-\$i 2>/dev/null
done
ip netns del husk-bench-one 2>/dev/null
true
TEARDOWN
teardown() { bash "$tmp/teardown.sh"; }
trap 'teardown; rm -rf "$tmp"' EXIT

bridge_recipe_ip "$BR" "$NET" "$N" >"$tmp/ip.sh"

# The same steps as husk lines; `link add ... peer ... netns` creates the
# peer in place and `link set` takes several changes, as `ip` also could.
{
  echo "link add name $BR type bridge"
  echo "addr add $NET.254/24 dev $BR"
  echo "link set $BR up"
  for i in $(seq 1 "$N"); do
    ns=husk-bench-$i
    echo "netns add $ns"
    echo "link add hkbv$i type veth peer name hkbc$i netns $ns"
    echo "link set hkbv$i master $BR up"
    echo "addr -n $ns add $NET.$i/24 dev hkbc$i"
    echo "link -n $ns set hkbc$i up"
    echo "link -n $ns set lo up"
    echo "route -n $ns add default via $NET.254"
  done
} >"$tmp/husk.batch"
printf "netns add husk-bench-one\nnetns del husk-bench-one\n" >"$tmp/adddel.batch"
{
  echo "set -e"
  sed "s|^|$HUSK |" "$tmp/husk.batch"
} >"$tmp/husk.sh"

# Check once that both recipes build a working network (bridge reachable).
bash "$tmp/husk.sh"
ip -n husk-bench-1 -j route show default | grep -q "$NET.254"
teardown

echo "== $N namespaces on one bridge (10 runs each) =="
hyperfine --warmup 1 --runs 10 --prepare "bash $tmp/teardown.sh" --export-json "$tmp/set.json" \
  "bash $tmp/husk.sh" "$HUSK batch $tmp/husk.batch" "bash $tmp/ip.sh" >/dev/null
python3 - "$tmp/set.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
ip = r[2]["median"]
for x, label in zip(r, ["husk commands", "husk batch", "ip script (seeds)"]):
    print(f"{label:18} median {x['median']*1e3:8.1f} ms  ({ip/x['median']:.1f}x faster than ip)")
PY
teardown

echo "== netns add + del (200 runs each) =="
hyperfine -N --warmup 10 --runs 200 --export-json "$tmp/add.json" \
  "$HUSK batch $tmp/adddel.batch" "bash -c 'ip netns add husk-bench-one; ip netns del husk-bench-one'" \
  "bash -c '$HUSK netns add husk-bench-one; $HUSK netns del husk-bench-one'" >/dev/null
python3 - "$tmp/add.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
ip = r[1]["median"]
for x, label in zip(r, ["husk batch add+del", "ip add; ip del", "husk add; husk del"]):
    print(f"{label:18} median {x['median']*1e3:8.2f} ms  ({ip/x['median']:.1f}x faster than ip)")
PY
