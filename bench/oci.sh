#!/usr/bin/env bash
# husk oci against crun and runc (and youki when installed: it is not
# packaged for Debian 12, and not built here) on the same
# busybox bundle running /bin/true:
#   1. `run` (attached: create, start, wait, delete) then `delete --force`,
#   2. `create` + `start` + `delete --force`,
# timed by hyperfine in ROUNDS rounds of RUNS runs each, every runtime in
# every round (the order reversed every other round, so drift on a noisy
# machine hits them alike). Reported: each runtime's median over all runs,
# and its ratio to crun and to runc as the median of the per-round ratios
# with their range (min-max). Target: husk <= 0.8x crun.
#
# Peak RSS: `/usr/bin/time -f %M` of `run` of the same bundle, RSS_SAMPLES
# times per runtime, interleaved; median and range. That is the largest
# maximum RSS of the runtime process and the descendants it reaped (for
# every runtime here, its forks up to the container's exec of the static
# busybox), counting every resident page, shared ones (the binary, libc)
# included. Target: husk <= crun.
#
# crun 1.8 refuses this hybrid cgroup host, so everything runs in a private
# mount namespace where /sys/fs/cgroup/unified is unmounted (a v1 host to
# every runtime), and in a new pid namespace whose init (the shell) reaps the
# containers orphaned by `create`. Needs root.
#
#   ROUNDS=5 RUNS=30 RSS_SAMPLES=15 bench/oci.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# husk: the distributed build (scripts/build-dist: static-pie, size-optimised);
# husk-dyn: a plain `cargo build --release` (dynamic, opt-level 3).
HUSK="${HUSK:-$(scripts/build-dist)}"
cargo build --release --quiet -p husk
HUSK_DYN="$PWD/target/release/husk"
ROUNDS="${ROUNDS:-5}"
RUNS="${RUNS:-30}"
RSS_SAMPLES="${RSS_SAMPLES:-15}"
OUT="${BENCH_OUT:-$PWD/target/bench-oci}"
rm -rf "$OUT"
mkdir -p "$OUT"
command -v hyperfine >/dev/null || { echo "bench: needs hyperfine" >&2; exit 1; }
command -v crun >/dev/null || { echo "bench: needs crun (scripts/setup)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: needs /usr/bin/time (apt install time)" >&2; exit 1; }

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
RUNTIMES=("husk=$HUSK oci --root $WORK/state-husk" "husk-dyn=$HUSK_DYN oci --root $WORK/state-husk-dyn"
  "crun=crun --root $WORK/state-crun")
command -v runc >/dev/null && RUNTIMES+=("runc=runc --root $WORK/state-runc")
command -v youki >/dev/null && RUNTIMES+=("youki=youki --root $WORK/state-youki")
for rt in "${RUNTIMES[@]}"; do
  cmd=${rt#*=}
  echo "${rt%%=*}: $(${cmd%% *} --version 2>&1 | head -1)"
done | tee "$OUT/versions.txt"

cat > "$WORK/inner.sh" <<INNER
set -eu
umount /sys/fs/cgroup/unified 2>/dev/null || true
B=$WORK/bundle
rts=(${RUNTIMES[@]@Q})
for round in \$(seq 1 $ROUNDS); do
  order=("\${rts[@]}")
  if [ \$((round % 2)) = 0 ]; then
    order=(); for ((i=\${#rts[@]}-1; i>=0; i--)); do order+=("\${rts[i]}"); done
  fi
  run_args=(); cycle_args=()
  for rt in "\${order[@]}"; do
    name=\${rt%%=*}; cmd=\${rt#*=}
    run_args+=(-n "\$name run+delete" "\$cmd run --bundle \$B b-\$name >/dev/null; \$cmd delete --force b-\$name 2>/dev/null || true")
    cycle_args+=(-n "\$name create+start+delete" "\$cmd create --bundle \$B c-\$name && \$cmd start c-\$name && \$cmd delete --force c-\$name")
  done
  hyperfine --warmup 3 --runs $RUNS --style none --export-json $OUT/run-\$round.json "\${run_args[@]}" >/dev/null 2>&1
  hyperfine --warmup 3 --runs $RUNS --style none --export-json $OUT/cycle-\$round.json "\${cycle_args[@]}" >/dev/null 2>&1
  echo "round \$round done" >&2
done
# Page-cache folios of a binary just written by the linker are not those of
# one read by exec (they differ in size, and a fault maps a whole folio): drop
# every runtime's binary from the cache, then one unmeasured run each.
for rt in "\${rts[@]}"; do
  cmd=\${rt#*=}; bin=\$(command -v \${cmd%% *})
  python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "\$bin"
  \$cmd run --bundle \$B w-\${rt%%=*} >/dev/null
done
for i in \$(seq 1 $RSS_SAMPLES); do
  for rt in "\${rts[@]}"; do
    name=\${rt%%=*}; cmd=\${rt#*=}
    rss=\$( { /usr/bin/time -f 'maxrss %M' \$cmd run --bundle \$B r-\$name >/dev/null; } 2>&1 | awk '/^maxrss/ {print \$2}')
    echo "\$name \$rss"
  done
done > $OUT/rss.txt
INNER
unshare -m --propagation private -f -p --mount-proc bash "$WORK/inner.sh"

python3 - "$OUT" "$ROUNDS" <<'PY'
import json, statistics as st, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def spread(xs):
    return f"{st.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"
for kind, label in (("run", "run+delete"), ("cycle", "create+start+delete")):
    per = [{x["command"].split()[0]: x for x in json.load(open(f"{out}/{kind}-{r}.json"))["results"]}
           for r in range(1, rounds + 1)]
    names = list(per[0])
    refs = [n for n in ("crun", "runc") if n in names]
    print(f"{label}: median ms over all runs; ratio = median (range) of the {rounds} per-round ratios of medians")
    for n in names:
        times = [t for p in per for t in p[n]["times"]]
        line = f"  {n:<8} {st.median(times)*1e3:7.2f} ms"
        for ref in refs:
            if ref != n:
                line += f"   /{ref} {spread([p[n]['median'] / p[ref]['median'] for p in per])}"
        print(line)
rss = {}
for line in open(f"{out}/rss.txt"):
    name, kib = line.split()
    rss.setdefault(name, []).append(int(kib))
print("peak RSS of `run`, KiB: median (range)")
for n, xs in rss.items():
    line = f"  {n:<8} {st.median(xs):7.0f} ({min(xs)}-{max(xs)})"
    if n != "crun" and "crun" in rss:
        line += f"   /crun {st.median(xs) / st.median(rss['crun']):.2f}"
    print(line)
PY
