#!/usr/bin/env bash
# Runs two meshsim binaries on every bundled scenario and compares every file they write,
# byte for byte: the run folders (every output, charts and report.html included), the
# charts rebuilt by `meshsim report`, the all-on mesh of the benchmarks, a sweep with
# kept runs, a merge of two shards, `meshsim check`, `validate` of every scenario, and
# the stdout, stderr and exit code of each command.
#
#   bash scripts/compare-outputs.sh OLD_BINARY NEW_BINARY [WORK_DIR]
#
# Prints the first differing files and exits 1 when anything differs. Used to show that
# a refactoring changed no output (see ARCHITECTURE.md, "Testing").
set -euo pipefail
old=$(realpath "$1")
new=$(realpath "$2")
work=${3:-$(mktemp -d)}
cd "$(dirname "$0")/.."
rm -rf "$work/old" "$work/new"
mkdir -p "$work/old" "$work/new"
python3 benches/all_on_scenario.py "$work/all-on.json" >/dev/null

# Runs one command with a binary, keeping its stdout, stderr and exit code beside the files.
each() {
  local side=$1 bin=$2 name=$3
  shift 3
  local dir="$work/$side"
  set +e
  (cd "$dir" && "$bin" "$@" >"$dir/$name.stdout" 2>"$dir/$name.stderr")
  echo $? >"$dir/$name.rc"
  set -e
}

for side in old new; do
  if [ $side = old ]; then bin=$old; else bin=$new; fi
  repo=$(pwd)
  for f in scenarios/*.json; do
    n=$(basename "$f" .json)
    each $side "$bin" "validate-$n" validate "$repo/$f"
    case $n in
      sweep-*) continue ;;
    esac
    each $side "$bin" "run-$n" run "$repo/$f" --out "run/$n" --duration 60s
  done
  # Full length, every output, on a few; the report rebuilt from the files.
  each $side "$bin" run-baseline-full run "$repo/scenarios/baseline.json" --out full/baseline
  each $side "$bin" run-chaos-full run "$repo/scenarios/chaos.json" --out full/chaos
  each $side "$bin" run-mmc run "$repo/scenarios/mmc.json" --requests 200000 --trace-sampling 5 --out full/mmc
  each $side "$bin" run-all-on run "$work/all-on.json" --duration 60s --out full/all-on --slo 'p99<300ms'
  cp -r "$work/$side/full/baseline" "$work/$side/rebuilt"
  rm -f "$work/$side/rebuilt/"*.png "$work/$side/rebuilt/report.html"
  each $side "$bin" report report rebuilt
  # A sweep with its runs kept, and the same sweep in two shards merged.
  each $side "$bin" sweep sweep "$repo/scenarios/sweep-breaker-retry.json" --out sweep/all \
    --replications 1 --threads 2 --keep-runs
  each $side "$bin" shard0 sweep "$repo/scenarios/sweep-breaker-retry.json" --out sweep/s0 --replications 1 --shard 0/2
  each $side "$bin" shard1 sweep "$repo/scenarios/sweep-breaker-retry.json" --out sweep/s1 --replications 1 --shard 1/2
  each $side "$bin" merge merge sweep/s0 sweep/s1 --out sweep/merged
  for n in baseline chaos retry-storm zone-failover cert-expiry; do
    each $side "$bin" "check-$n" check "$repo/scenarios/$n.json" --seeds 2 --duration 30s
  done
  # Errors: a missing file and an invalid scenario.
  each $side "$bin" err-missing run "$work/does-not-exist.json"
  echo '{"services": [{"name": 5}]}' >"$work/bad.json"
  each $side "$bin" err-bad validate "$work/bad.json"
done

# Wall-clock figures on stdout and in sweep logs may differ; everything else may not.
strip() { sed -E 's/[0-9.]+ ?(ms|s) wall.*$/WALL/; s/wall:.*$/WALL/' "$1"; }
status=0
count=0
while IFS= read -r rel; do
  count=$((count + 1))
  a="$work/old/$rel" b="$work/new/$rel"
  if [ ! -e "$b" ]; then
    echo "only in old: $rel"; status=1; continue
  fi
  case $rel in
    *.stdout | *.stderr)
      if ! cmp -s <(strip "$a" | sed "s#$old#BIN#g") <(strip "$b" | sed "s#$new#BIN#g"); then
        echo "differs: $rel"; diff <(strip "$a") <(strip "$b") | head -5; status=1
      fi ;;
    *) cmp -s "$a" "$b" || { echo "differs: $rel"; status=1; } ;;
  esac
done < <(cd "$work/old" && find . -type f | sort)
extra=$(cd "$work/new" && find . -type f | sort | while read -r rel; do [ -e "$work/old/$rel" ] || echo "$rel"; done)
[ -z "$extra" ] || { echo "only in new:"; echo "$extra"; status=1; }
echo "compared $count files under $work/old and $work/new"
[ $status = 0 ] && echo "all identical"
exit $status
