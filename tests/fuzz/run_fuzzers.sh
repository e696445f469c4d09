#!/usr/bin/env bash
# Builds the libFuzzer targets in a clang build tree of their own and runs each for a bounded
# time from the seed corpus in tests/fuzz/corpus/<target>/. Exits 1 when any target crashes,
# leaks, trips a sanitizer or times out, after printing the log tail and the failing input;
# exits 77 (ctest: skipped) when clang is not installed.
#
#   run_fuzzers.sh <source dir> <fuzz build dir>
# Environment: KD_FUZZ_SECONDS (per target, default 20), KD_FUZZ_JOBS (build jobs, default 2).
set -euo pipefail

src=$(cd "${1:?source dir}" && pwd)
build=${2:?fuzz build dir}
seconds=${KD_FUZZ_SECONDS:-20}
jobs=${KD_FUZZ_JOBS:-2}
targets=(yaml_json_fuzz json_parse_fuzz patch_fuzz)

if ! command -v clang++ >/dev/null; then
  echo "run_fuzzers: clang++ not found; skipping"
  exit 77
fi

start=$SECONDS
# -O0 with line tables only: half the compile time of -O1 -g (the budget is a few minutes on two
# cores), still enough for symbolised stacks; without NDEBUG library assertions stay on.
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG="-gline-tables-only -O0" -DKD_BUILD_FUZZERS=ON -DKD_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target kd_fuzzers -j "$jobs" | tail -n 3
echo "run_fuzzers: built in $((SECONDS - start)) s"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
failed=()
for target in "${targets[@]}"; do
  work="$build/corpus/$target"
  artifacts="$build/artifacts/$target"
  rm -rf "$work" "$artifacts"
  mkdir -p "$work" "$artifacts"
  log="$build/$target.log"
  # New inputs go to the scratch corpus (first directory); the seeds in the tree stay as they are.
  if "$build/bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=4096 -print_final_stats=1 -artifact_prefix="$artifacts/" \
      "$work" "$src/tests/fuzz/corpus/$target" >"$log" 2>&1; then
    echo "run_fuzzers: $target ok, $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" |
      grep -o '[0-9]*$') runs"
  else
    failed+=("$target")
    echo "run_fuzzers: $target FAILED; log $log"
    tail -n 60 "$log"
    for input in "$artifacts"/*; do
      [ -e "$input" ] || continue
      echo "--- failing input $input (reproduce: $build/bin/$target $input), C-escaped:"
      od -An -c -w64 "$input" | head -n 40
    done
  fi
done

echo "run_fuzzers: total $((SECONDS - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "run_fuzzers: failed: ${failed[*]}"
  exit 1
fi
