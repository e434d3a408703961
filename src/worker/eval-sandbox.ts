// The studio's code sandbox for evaluations (custom metrics, HumanEval-JS): the engine's worker pool over
// dedicated browser Workers whose network and storage APIs are removed (src/worker/sandbox/), started per
// evaluation that needs it and disposed when it ends.

import type { CodeSandbox } from '../engine/eval/sandbox';
import { createBrowserSandbox } from './sandbox/browser-sandbox';

export function startBrowserSandbox(): CodeSandbox {
  return createBrowserSandbox();
}
