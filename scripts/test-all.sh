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

suite "types" npm run -s check
suite "unit" npx vitest run --project unit
# Every GPU test runs on one of two drivers and the kernel and model tests on both: lavapipe (shader-f16, so
# the native f16 matmul variant runs) takes the command-line and run-session tests, several times faster
# there; SwiftShader (no shader-f16: the packed-f16 paths) takes the kernels, the model, training steps and
# the log-likelihood scoring (which lavapipe runs slower than SwiftShader). The matmul kernels run on
# lavapipe, every variant (77 s here, 9 s there); the studio's e2e tests run them on SwiftShader in Chromium.
# GRPO at a sampling temperature (logit scale in the cross-entropy kernels, checked on both drivers by
# cross-entropy and train-objectives at scale 1) runs on lavapipe only.
suite "gpu (SwiftShader)" npm run -s test:gpu -- \
  --exclude 'tests/gpu/cli*.test.ts' --exclude tests/gpu/run-session.test.ts --exclude tests/gpu/matmul.test.ts \
  --exclude tests/gpu/grpo-temperature.test.ts --exclude tests/gpu/run-session-grpo.test.ts
suite "gpu (lavapipe, shader-f16)" env TUNELAB_VK_ICD=/usr/share/vulkan/icd.d/lvp_icd.json npm run -s test:gpu -- \
  --exclude tests/gpu/eval-loglikelihood.test.ts
suite "e2e (Chromium)" npx vitest run --project e2e
echo "all suites passed in $(( $(date +%s) - start )) s"
