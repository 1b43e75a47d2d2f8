#!/usr/bin/env bash
# `husk network` against the seeds' bridge recipe, N namespaces (default 20):
#   husk   husk network create + N x (husk netns add + husk network connect)
#          (create also turns on forwarding and writes the masquerade rule)
#   ip     the seeds' `ip` / `ip netns exec` script: bridge, address, up; per
#          namespace netns add, veth, move, master, up, address, up, lo up,
#          default route
# Both run inside a hub namespace of their own (husk: --host-netns; ip: the
# script under `nsenter --net`, which changes only the network namespace,
# so its `ip netns add` names still land in the host's /run/netns), so the host's links, sysctls and nftables
# stay untouched. Everything is named husk-bench-* / hkb* and removed before
# each run and on exit. Then times one connect (a disconnect before each), and where a
# connect spends its time (strace -c, if installed).
# Runs as root. Usage: bench/network.sh [N]
source "$(dirname "$0")/common.sh"
need ip iproute2
need nft nftables
build_husk
N=${1:-20}
HUB=husk-bench-hub
BR=hkbbr0
NET=10.124.0
tmp=$(mktemp -d /tmp/husk-bench-XXXXXX)
STATE=$tmp/state

cat >"$tmp/teardown.sh" <<TEARDOWN
for i in \$(seq 1 $N); do ip netns del husk-bench-\$i 2>/dev/null; done
ip netns del husk-bench-one 2>/dev/null
ip netns del $HUB 2>/dev/null
rm -rf "$STATE"
ip netns add $HUB
# Deleted namespaces are torn down by the kernel afterwards (cleanup_net,
# under the rtnl lock): let that finish before the next timed run.
sleep 2
true
TEARDOWN
teardown() { bash "$tmp/teardown.sh"; }
trap 'teardown; ip netns del $HUB 2>/dev/null; rm -rf "$tmp"' EXIT

bridge_recipe_ip "$BR" "$NET" "$N" >"$tmp/ip.sh"

HN="$HUSK network --host-netns $HUB --state-dir $STATE"
{
  echo "set -e"
  echo "$HN create bench --subnet $NET.0/24"
  for i in $(seq 1 "$N"); do
    echo "$HUSK netns add husk-bench-$i"
    echo "$HN connect bench --netns husk-bench-$i"
  done
} >"$tmp/husk.sh"

# Check once that both build a working network (default route, address).
teardown
bash "$tmp/husk.sh"
ip -n husk-bench-$N -j route show default | grep -q "$NET.1"
ip -n husk-bench-$N -j addr show dev eth0 | grep -q "$NET.$((N + 1))"
teardown
nsenter --net=/run/netns/$HUB bash "$tmp/ip.sh"
ip -n husk-bench-$N -j route show default | grep -q "$NET.254"
teardown

echo "== $N namespaces on one bridge (10 runs each) =="
hyperfine --warmup 1 --runs 10 --prepare "bash $tmp/teardown.sh" --export-json "$tmp/set.json" \
  "bash $tmp/husk.sh" "nsenter --net=/run/netns/$HUB bash $tmp/ip.sh" >/dev/null
python3 - "$tmp/set.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
ip = r[1]["median"]
for x, label in zip(r, ["husk network", "ip script (seeds)"]):
    print(f"{label:18} median {x['median']*1e3:8.1f} ms  ({ip/x['median']:.1f}x faster than ip)"
          f"  min {x['min']*1e3:7.1f} ms  ({r[1]['min']/x['min']:.1f}x)")
PY

echo "== one connect on a network of $N (50 runs; before each a disconnect, then 0.3 s for the kernel to free the pair) =="
teardown
bash "$tmp/husk.sh"
$HUSK netns add husk-bench-one
$HN connect bench --netns husk-bench-one
hyperfine -N --warmup 3 --runs 50 --export-json "$tmp/one.json" \
  --prepare "bash -c '$HN disconnect bench --netns husk-bench-one; sleep 0.3'" \
  "$HN connect bench --netns husk-bench-one" >/dev/null 2>&1 || true
python3 - "$tmp/one.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"connect            median {r['median']*1e3:8.2f} ms  (user {r['user']*1e3:.2f} ms, system {r['system']*1e3:.2f} ms)")
PY
if command -v strace >/dev/null 2>&1; then
  echo "== where one connect spends its time (strace -c -w, top 8) =="
  $HN disconnect bench --netns husk-bench-one
  strace -f -c -w -o "$tmp/strace.txt" $HN connect bench --netns husk-bench-one
  sed -n "1,11p" "$tmp/strace.txt"
  $HN disconnect bench --netns husk-bench-one
fi
