#!/usr/bin/env bash
# Peak resident memory of meshsim for 1M and 10M requests (M/M/4 and baseline), by
# /usr/bin/time. Memory must be bounded by requests in flight, not requests simulated:
# the 10M run should need at most 1.2x the 1M run.
#
#   bash benches/memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/meshsim
out=$(mktemp -d)
peak() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n 1; }
for model in mmc baseline; do
  if [ "$model" = mmc ]; then a=(--requests 1000000); b=(--requests 10000000);
  else a=(--duration 667s); b=(--duration 6667s); fi   # 1,500 req/s: 1M and 10M requests
  k1=$(peak $bin run scenarios/$model.json "${a[@]}" --out "$out/1")
  k10=$(peak $bin run scenarios/$model.json "${b[@]}" --out "$out/10")
  printf '%-9s peak RSS 1M: %6d KiB   10M: %6d KiB   ratio %.3f\n' "$model" "$k1" "$k10" "$(echo "$k10 / $k1" | bc -l)"
done
rm -rf "$out"
