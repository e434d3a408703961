// Every kernel self-check the studio and the tests run, in run order: building blocks first, then the
// kernels that compose them (the LM-head loss uses matmul).

import { activationsChecks } from './checks/activations';
import { attentionChecks } from './checks/attention';
import { attentionDecodeChecks } from './checks/attention-decode';
import { crossEntropyChecks } from './checks/cross-entropy';
import { dropoutChecks } from './checks/dropout';
import { elementwiseChecks } from './checks/elementwise';
import { embeddingChecks } from './checks/embedding';
import { grpoChecks } from './checks/grpo';
import { matmulChecks } from './checks/matmul';
import { normsChecks } from './checks/norms';
import { optimizerChecks } from './checks/optimizer';
import { preferenceChecks } from './checks/preference';
import { reduceChecks } from './checks/reduce';
import { ropeChecks } from './checks/rope';
import { softmaxChecks } from './checks/softmax';
import type { KernelCheck } from './types';

export const allKernelChecks: KernelCheck[] = [
  ...elementwiseChecks,
  ...reduceChecks,
  ...matmulChecks,
  ...embeddingChecks,
  ...normsChecks,
  ...ropeChecks,
  ...activationsChecks,
  ...softmaxChecks,
  ...attentionChecks,
  ...attentionDecodeChecks,
  ...crossEntropyChecks,
  ...preferenceChecks,
  ...grpoChecks,
  ...optimizerChecks,
  ...dropoutChecks,
];
