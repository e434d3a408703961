#!/usr/bin/env bash
# Every test suite, in order: type checks, unit (CPU), gpu on SwiftShader, gpu on lavapipe (shader-f16),
# e2e in Chromium. Installs what is missing first. Stops at the first failing suite.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

bash scripts/ensure-system.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

suite() {
  local name=$1; shift
  local t0=$(date +%s)
  echo "=== $name"
  "$@"
  echo "=== $name: ok in $(( $(date +%s) - t0 )) s"
}

# Two suites side by side, each into its own log, printed whole (one after the other) when both are done.
side_by_side() {
  local name_a=$1 cmd_a=$2 name_b=$3 cmd_b=$4
  local t0 log_a log_b pid_a pid_b rc_a=0 rc_b=0
  t0=$(date +%s)
  log_a=$(mktemp)
  log_b=$(mktemp)
  echo "=== $name_a | $name_b (side by side)"
  bash -c "$cmd_a" >"$log_a" 2>&1 &
  pid_a=$!
  bash -c "$cmd_b" >"$log_b" 2>&1 &
  pid_b=$!
  wait "$pid_a" || rc_a=$?
  wait "$pid_b" || rc_b=$?
  echo "--- $name_a"; cat "$log_a"; echo "--- $name_b"; cat "$log_b"
  rm -f "$log_a" "$log_b"
  if [ "$rc_a" -ne 0 ]; then echo "=== $name_a: FAILED"; return 1; fi
  if [ "$rc_b" -ne 0 ]; then echo "=== $name_b: FAILED"; return 1; fi
  echo "=== $name_a | $name_b: ok in $(( $(date +%s) - t0 )) s"
}

# The type checks are mostly one thread: they run beside the unit tests.
side_by_side "types" "npm run -s check" "unit" "npx vitest run --project unit"
# Every GPU test runs on one of two drivers and the kernel and model tests on both: lavapipe (shader-f16, so
# the native f16 matmul variant runs) takes the command-line and run-session tests, several times faster
# there; SwiftShader (no shader-f16: the packed-f16 paths) takes the kernels, the model, training steps and
# the log-likelihood scoring (which lavapipe runs slower than SwiftShader). The matmul kernels run on
# lavapipe, every variant (77 s here, 9 s there), and so do the decode (gemv) kernels (68 s here, 34 s there); the studio's e2e tests run them on SwiftShader in Chromium.
# Tests whose every path is f32 (attention, the objectives' gradients, the judge) and GRPO at a sampling
# temperature run on lavapipe only: on SwiftShader they would repeat the same WGSL. The two passes run side by
# side: each runs one file at a time, and much of a GPU test is single-threaded shader compilation.
LAVAPIPE_ONLY="--exclude tests/gpu/attention.test.ts --exclude tests/gpu/train-objectives.test.ts \
  --exclude tests/gpu/eval-judge.test.ts --exclude tests/gpu/grpo-temperature.test.ts"
side_by_side \
  "gpu (SwiftShader)" "npm run -s test:gpu -- --exclude 'tests/gpu/cli*.test.ts' --exclude 'tests/gpu/run-session*.test.ts' \
    --exclude tests/gpu/matmul.test.ts --exclude tests/gpu/matmul-gemv.test.ts $LAVAPIPE_ONLY" \
  "gpu (lavapipe, shader-f16)" "env TUNELAB_VK_ICD=/usr/share/vulkan/icd.d/lvp_icd.json npm run -s test:gpu -- \
    --exclude tests/gpu/eval-loglikelihood.test.ts --exclude tests/gpu/attention-decode.test.ts"
suite "e2e (Chromium)" npx vitest run --project e2e
echo "all suites passed in $(( $(date +%s) - start )) s"
