// The Evaluate page's worker side (EvalApi): the suite library and the before/after evaluations.

import type { CodeSandbox } from '../engine/eval/sandbox';
import { createEvalRunService } from './eval-run-service';
import { createEvalSuitesService } from './eval-suites-service';
import type { EvalApi } from './protocol-eval';
import type { WorkerDeps } from './worker-deps';

/** `sandbox` starts the code sandbox (a dedicated worker pool) for an evaluation that runs code. */
export function createEvalService(deps: WorkerDeps, sandbox: () => CodeSandbox): EvalApi {
  return { ...createEvalSuitesService(deps), ...createEvalRunService(deps, sandbox) };
}
