#!/usr/bin/env bash
# `make bench` / `make bench-quick`: the pipeline benchmarks of issue 8 (see BENCHMARKS.md).
# Builds the release binaries, then runs `pipeline-bench` (bench/) once per setting: the whole
# pipeline (producer, crawlers, updaters, Redis, SecantusDB) against danawa-sim with injected
# latency. Every setting prints a Markdown table; all of them are also collected in
# target/bench/MODE.md together with the machine's description.
#
#   bash scripts/bench.sh quick   ~800 requests: 10 crawlers x 3 at 1.75 s, and zero latency
#                                 (about 2 minutes once built)
#   bash scripts/bench.sh full    ~8,000 requests: 10 x 3 and 35 x 3 at 1.75 s, fixed and
#                                 long-tail, and zero latency (about 25 minutes)
#   BENCH_ARGS="--updaters 3"     extra flags for every pipeline-bench run
#
# Every process it starts dies with pipeline-bench (parent-death signal), also on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:-quick}
QUICK_PRODUCTS=22  # list entries per category: about 800 requests with deploy/scrapConfig.json
FULL_PRODUCTS=268  # about 8,000 requests

say() { printf 'bench: %s\n' "$*" >&2; }

machine() {
  local cpu
  cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
  echo "Machine: $(nproc) cores ($cpu), $(free -g | awk '/^Mem:/ {print $2}') GiB memory, $(uname -sr); $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
}

# One setting: the table goes to stdout and to the collected file.
run() {
  say "pipeline-bench $*"
  # shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
  target/release/pipeline-bench "$@" ${BENCH_ARGS:-} | tee -a "$out"
}

case $MODE in
  quick | full) ;;
  *)
    say "usage: bash scripts/bench.sh quick|full"
    exit 2
    ;;
esac

say "building the release binaries (cargo build --release --workspace --bins)"
cargo build --release --workspace --bins

mkdir -p target/bench
out=target/bench/$MODE.md
machine | tee "$out"

if [ "$MODE" = quick ]; then
  run --crawlers 10 --concurrency 3 --products "$QUICK_PRODUCTS" --latency fixed
  run --crawlers 10 --concurrency 3 --products "$QUICK_PRODUCTS" --latency 0
else
  run --crawlers 10 --concurrency 3 --products "$FULL_PRODUCTS" --latency fixed
  run --crawlers 10 --concurrency 3 --products "$FULL_PRODUCTS" --latency long-tail
  run --crawlers 35 --concurrency 3 --products "$FULL_PRODUCTS" --latency fixed
  run --crawlers 35 --concurrency 3 --products "$FULL_PRODUCTS" --latency long-tail
  run --crawlers 10 --concurrency 3 --products "$FULL_PRODUCTS" --latency 0
fi
say "tables collected in $out"
