#!/usr/bin/env bash
# meshsim against SimPy on the same M/M/4 and chain models, side by side in one run.
# Alternates the two simulators seed by seed so both see the same machine load, and
# prints each one's requests per second of wall time and the ratio of the medians.
#
#   bash benches/peer_simpy.sh [N] [SEEDS...]      (default: 1000000 requests, seeds 1 2 3)
#   MODELS=mmc bash benches/peer_simpy.sh          (one model only)
#   MESHSIM=path/to/meshsim bash benches/peer_simpy.sh   (a given build; else this checkout's, in
#                                                 $CARGO_TARGET_DIR or target/)
#   MESHSIM_ARGS='--trace-sampling 0' bash benches/peer_simpy.sh   (extra options for meshsim run)
#
# Needs SimPy in ~/simpy-venv (see benches/README.md) and the peer script beside the
# repository at ../shared/peers/simpy_queues.py (or PEER=path).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}; shift || true
seeds=("${@:-1 2 3}"); [ $# -eq 0 ] && seeds=(1 2 3)
peer=${PEER:-../shared/peers/simpy_queues.py}
# meshsim runs SCALE times the requests (default 10), so that each of its runs lasts long
# enough (about 1.5 s for M/M/4) to be timed above the machine's noise; a rate measured on
# a stationary queue does not depend on the number of requests.
scale=${SCALE:-10}
py=${PYTHON:-$HOME/simpy-venv/bin/python}
# MESHSIM=path runs that binary instead of building this checkout (to compare two builds).
if [ -n "${MESHSIM:-}" ]; then
  bin=$MESHSIM
else
  cargo build --release --quiet
  bin=${CARGO_TARGET_DIR:-target}/release/meshsim
fi
out=$(mktemp -d)
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for model in ${MODELS:-mmc chain}; do
  m=(); s=()
  for seed in "${seeds[@]}"; do
    m+=("$($bin run scenarios/$model.json --requests "$((n * scale))" --seed "$seed" --out "$out/$model" ${MESHSIM_ARGS:-} 2>&1 >/dev/null \
           | sed -n 's/.*, \([0-9.]*\) M requests\/s.*/\1/p' | awk '{printf "%.0f", $1*1e6}')")
    s+=("$("$py" "$peer" "$model" "$n" 4 0.7 "$seed" | sed -n 's/.*req_per_s=\([0-9,]*\).*/\1/p' | tr -d ,)")
  done
  mm=$(printf '%s\n' "${m[@]}" | median); sm=$(printf '%s\n' "${s[@]}" | median)
  printf '%-6s meshsim req/s: %s (median %s)   SimPy req/s: %s (median %s)   ratio %.1fx\n' \
    "$model" "${m[*]}" "$mm" "${s[*]}" "$sm" "$(echo "$mm / $sm" | bc -l)"
done
rm -rf "$out"
