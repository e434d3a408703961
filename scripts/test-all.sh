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
# The GPU tests run in two lanes side by side (each one file at a time; much of a GPU test is single-threaded
# shader compilation), on SwiftShader (no shader-f16: the packed-f16 paths), and the matmul kernel's native f16
# variant (shared64_f16) also on lavapipe, the only software adapter with shader-f16. Nothing else runs there:
# lavapipe compiles a pipeline again for each new shape it sees (it inlines the parameter values), seconds each
# with an empty Mesa shader cache as on a fresh CI machine (stories260K's 2-step `tunelab train`: 178 s cold,
# 8 s cached, 60 s cached for other batch and sequence sizes; the command-line tests took 1,150 s there and the
# matmul sweep over 15 min), while SwiftShader compiles each pipeline once per process (0.01-3 s; see the
# matmul rule in src/engine/ops/gpu/matmul.ts for what keeps that few). Lane A: the kernels, the model,
# training steps, memory, scoring, decoding, tuning, the SFT and DPO run sessions and the preference CLI. Lane B: the matmul sweep, the rest of the command line (in the test process
# on one device: tests/helpers/cli-in-process.ts), the objectives' f32 gradient tests and the GRPO run session
# (measured cold at 85637d9: lane A 630 s with the GRPO run session's 52 s, lane B 35 + 515 s without it).
# The studio's e2e tests run the same kernels on SwiftShader in Chromium.
LANE_B="tests/gpu/matmul.test.ts tests/gpu/cli.test.ts tests/gpu/cli-train.test.ts tests/gpu/cli-train-grpo.test.ts \
  tests/gpu/cli-export.test.ts tests/gpu/cli-eval-suites.test.ts \
  tests/gpu/cli-judge.test.ts tests/gpu/train-objectives.test.ts tests/gpu/eval-judge.test.ts \
  tests/gpu/grpo-temperature.test.ts tests/gpu/run-session-grpo.test.ts"
lane_a_excludes=""
for f in $LANE_B; do lane_a_excludes="$lane_a_excludes --exclude $f"; done
side_by_side \
  "gpu lane A (SwiftShader)" "npm run -s test:gpu -- $lane_a_excludes" \
  "gpu lane B (lavapipe: shader-f16 matmul; then SwiftShader)" "env TUNELAB_VK_ICD=/usr/share/vulkan/icd.d/lvp_icd.json \
    npm run -s test:gpu -- tests/gpu/runtime.test.ts tests/gpu/matmul.test.ts -t 'real adapter|shader-f16' && \
    npm run -s test:gpu -- $LANE_B"
suite "e2e (Chromium)" npx vitest run --project e2e
echo "all suites passed in $(( $(date +%s) - start )) s"
