// The studio's code sandbox for evaluations (custom metrics, HumanEval-JS): the engine's worker pool over
// dedicated browser Workers whose network and storage APIs are removed (src/worker/sandbox/).

import type { CodeSandbox } from '../engine/eval/sandbox';

export function startBrowserSandbox(): CodeSandbox {
  throw new Error('The code sandbox is not part of this build yet: suites with a custom metric or generated code cannot run.');
}
