#!/usr/bin/env bash
# husk oci vs crun (and runc/youki when installed) on the same busybox bundle
# running /bin/true, timed by hyperfine in one run:
#   1. `run` (attached: create, start, wait, delete) then `delete --force`,
#   2. `create` + `start` + `delete --force`,
# with ratios of medians against crun, then each runtime's peak RSS
# (/usr/bin/time -v, `run` of the same bundle). Target: husk <= 0.8x crun.
#
# crun 1.8 refuses this hybrid cgroup host, so everything runs in a private
# mount namespace where /sys/fs/cgroup/unified is unmounted (a v1 host to
# both runtimes), and in a new pid namespace whose init (the shell) reaps the
# containers orphaned by `create`. Needs root.
#
#   RUNS=100 bench/oci.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p husk
HUSK="$PWD/target/release/husk"
RUNS="${RUNS:-100}"
OUT="${BENCH_OUT:-$PWD/target/bench-oci}"
mkdir -p "$OUT"
command -v hyperfine >/dev/null || { echo "bench: needs hyperfine" >&2; exit 1; }
command -v crun >/dev/null || { echo "bench: needs crun (scripts/setup)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/husk-bench-oci.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bundle/rootfs/bin"
cp /bin/busybox "$WORK/bundle/rootfs/bin/"
ln -s busybox "$WORK/bundle/rootfs/bin/true"
"$HUSK" oci spec --bundle "$WORK/bundle"
python3 - "$WORK/bundle/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY

# Runtimes as "name=command prefix" (global flags before the command, as podman calls them).
RUNTIMES=("husk=$HUSK oci --root $WORK/state-husk" "crun=crun --root $WORK/state-crun")
command -v runc >/dev/null && RUNTIMES+=("runc=runc --root $WORK/state-runc")
command -v youki >/dev/null && RUNTIMES+=("youki=youki --root $WORK/state-youki")

cat > "$WORK/inner.sh" <<INNER
set -eu
umount /sys/fs/cgroup/unified 2>/dev/null || true
B=$WORK/bundle
run_args=()
cycle_args=()
for rt in ${RUNTIMES[@]@Q}; do
  name=\${rt%%=*}; cmd=\${rt#*=}
  run_args+=(-n "\$name run+delete" "\$cmd run --bundle \$B b-\$name >/dev/null; \$cmd delete --force b-\$name 2>/dev/null || true")
  cycle_args+=(-n "\$name create+start+delete" "\$cmd create --bundle \$B c-\$name && \$cmd start c-\$name && \$cmd delete --force c-\$name")
done
hyperfine --warmup 5 --runs $RUNS --style none --export-json $OUT/run.json "\${run_args[@]}"
hyperfine --warmup 5 --runs $RUNS --style none --export-json $OUT/cycle.json "\${cycle_args[@]}"
for rt in ${RUNTIMES[@]@Q}; do
  name=\${rt%%=*}; cmd=\${rt#*=}
  rss=\$( { /usr/bin/time -v \$cmd run --bundle \$B r-\$name >/dev/null; } 2>&1 | awk -F': ' '/Maximum resident/ {print \$2}')
  echo "peak RSS \$name run: \${rss} KiB"
done
INNER
unshare -m --propagation private -f -p --mount-proc bash "$WORK/inner.sh" | tee "$OUT/rss.txt"

python3 - "$OUT/run.json" "$OUT/cycle.json" <<'PY'
import json, sys
for f in sys.argv[1:]:
    r = json.load(open(f))["results"]
    crun = next(x for x in r if x["command"].startswith("crun"))
    for x in r:
        print(f"{x['command']:<28} median {x['median']*1e3:7.2f} ms  ratio to crun {x['median']/crun['median']:.2f}")
PY
