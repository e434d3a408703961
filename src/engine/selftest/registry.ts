// Every kernel self-check the studio and the tests run, in run order. Add each kernel family here.

import { elementwiseChecks } from './checks/elementwise';
import type { KernelCheck } from './types';

export const allKernelChecks: KernelCheck[] = [...elementwiseChecks];
