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
# Every GPU test runs on one of two drivers, side by side (each runs one file at a time; much of a GPU test is
# single-threaded shader compilation). lavapipe compiles a pipeline in seconds where SwiftShader takes a fraction
# of one (stories260K's 42 training and generation pipelines: 178 s on lavapipe with an empty Mesa shader cache,
# as on a fresh CI machine, 8 s with it filled; 25 s on SwiftShader, which keeps no cache), so lavapipe takes
# the tests that reuse a few pipelines many times: the command line and the run sessions (one process per
# command, each finding the pipelines of the ones before in Mesa's cache), the f32-only tests that run the same
# model pipelines (the objectives' gradients, the judge, GRPO at a temperature), and the matmul kernels, whose
# native f16 variant needs its shader-f16. SwiftShader (no shader-f16: the packed-f16 paths)
# takes the kernel sweeps, the model, training steps, memory, scoring, decoding and tuning; the studio's e2e
# tests run the same kernels on SwiftShader in Chromium.
LAVAPIPE_FILES="tests/gpu/runtime.test.ts tests/gpu/matmul.test.ts tests/gpu/cli.test.ts tests/gpu/cli-train.test.ts \
  tests/gpu/cli-train-grpo.test.ts tests/gpu/cli-train-preference.test.ts tests/gpu/cli-export.test.ts \
  tests/gpu/cli-eval-suites.test.ts tests/gpu/cli-judge.test.ts tests/gpu/run-session.test.ts \
  tests/gpu/run-session-grpo.test.ts tests/gpu/train-objectives.test.ts tests/gpu/eval-judge.test.ts \
  tests/gpu/grpo-temperature.test.ts"
swiftshader_excludes=""
for f in $LAVAPIPE_FILES; do
  [ "$f" = tests/gpu/runtime.test.ts ] || swiftshader_excludes="$swiftshader_excludes --exclude $f"
done
side_by_side \
  "gpu (SwiftShader)" "npm run -s test:gpu -- $swiftshader_excludes" \
  "gpu (lavapipe, shader-f16)" "env TUNELAB_VK_ICD=/usr/share/vulkan/icd.d/lvp_icd.json npm run -s test:gpu -- $LAVAPIPE_FILES"
suite "e2e (Chromium)" npx vitest run --project e2e
echo "all suites passed in $(( $(date +%s) - start )) s"
