// The worker's matmul tuning with IndexedDB (fake) and a device known by its adapter and features (no GPU:
// these paths never measure): a stored record that fits is used when the device opens and reported as
// stored; none, or one for other kernels, leaves the rule with the reason; a re-tune while a run trains is
// refused before the GPU is touched.

import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GpuAdapterSummary } from '../../src/engine/gpu/adapter-info';
import type { GpuContext } from '../../src/engine/gpu/context';
import { contextAdapterKey, matmulKernelsVersion, tunedVariant } from '../../src/engine/ops/gpu/matmul-tuning';
import { openStudioDb, type StudioDb } from '../../src/storage/db';
import { getMatmulTuning, putMatmulTuning } from '../../src/storage/matmul-tunings-store';
import type { MatmulTuningRecord } from '../../src/storage/records';
import { MatmulTuningService } from '../../src/worker/matmul-tuning-service';

const ADAPTER: GpuAdapterSummary = {
  vendor: 'apple',
  architecture: 'metal-3',
  device: '',
  description: 'Apple M2',
  isFallbackAdapter: false,
  features: { shaderF16: true, subgroups: true, timestampQuery: false },
  limits: {
    maxStorageBufferBindingSize: 1 << 30,
    maxBufferSize: 1 << 30,
    maxComputeWorkgroupStorageSize: 32768,
    maxComputeInvocationsPerWorkgroup: 1024,
    maxComputeWorkgroupsPerDimension: 65535,
    maxStorageBuffersPerShaderStage: 10,
  },
};

const ctx = { adapter: ADAPTER, hasShaderF16: true, hasSubgroups: true, matmulTuning: undefined } as unknown as GpuContext;

function record(kernelsVersion = matmulKernelsVersion()): MatmulTuningRecord {
  return {
    adapterKey: contextAdapterKey(ctx),
    kernelsVersion,
    tunedAt: '2026-12-10T10:00:00.000Z',
    profile: 'full',
    budgetS: 5,
    elapsedS: 4.5,
    classes: [
      {
        id: 'f16.decode',
        label: 'm < 16, B f16',
        products: [{ m: 4, k: 576, n: 1536, transA: false, transB: true }],
        bFormat: 'f16',
        choice: 'reg4x4',
        rule: 'shared64_f16',
        candidates: [
          { variant: 'shared64_f16', gflops: 80 },
          { variant: 'reg4x4', gflops: 120 },
        ],
      },
    ],
  };
}

let db: StudioDb;
let busy: string | null;
const gpuContext = vi.fn(async () => ctx);

function service(): MatmulTuningService {
  return new MatmulTuningService({ gpuContext, db: async () => db, busy: () => busy });
}

beforeEach(async () => {
  vi.stubGlobal('indexedDB', new IDBFactory());
  db = await openStudioDb();
  busy = null;
  ctx.matmulTuning = undefined;
  gpuContext.mockClear();
});

afterEach(() => {
  db.close();
  vi.unstubAllGlobals();
});

describe('the worker matmul tuning', () => {
  it('uses the stored tuning that fits when the device opens, and reports it as stored', async () => {
    await putMatmulTuning(db, record());
    const s = service();
    expect(s.status()).toEqual({ state: 'none', why: 'the GPU device is not open yet' });
    await s.open(ctx);
    expect(s.status()).toEqual({ state: 'tuned', source: 'stored', record: record() });
    expect(tunedVariant(ctx.matmulTuning, 1, 1536, true, false)).toBe('reg4x4');
  });

  it('without a fitting record the rule runs, with the reason', async () => {
    const s = service();
    await s.open(ctx);
    expect(s.status()).toEqual({ state: 'none', why: 'none is cached for this adapter: measured before the first training run' });
    await putMatmulTuning(db, record('00000000'));
    await s.open(ctx);
    expect(s.status()).toEqual({
      state: 'none',
      why: `it was measured with other kernels (version 00000000, now ${matmulKernelsVersion()}): measured before the first training run`,
    });
    expect(ctx.matmulTuning).toBeUndefined();
  });

  it('on a software adapter, says so and never measures before training (only on request)', async () => {
    const software = { ...ctx, adapter: { ...ADAPTER, vendor: 'google', description: 'SwiftShader Device (Subzero)' } } as unknown as GpuContext;
    const s = new MatmulTuningService({ gpuContext: async () => software, db: async () => db, busy: () => busy });
    await s.open(software);
    expect(s.status()).toEqual({ state: 'none', why: 'none is cached for this adapter: measured on request (Tune now) on a software adapter' });
    await s.ensure();
    // Nothing was measured: a measurement would have set a tuning on the context and stored a record (or,
    // on this fake device, failed and said "measuring failed").
    expect(s.status()).toEqual({ state: 'none', why: 'none is cached for this adapter: measured on request (Tune now) on a software adapter' });
    expect(software.matmulTuning).toBeUndefined();
    expect(await getMatmulTuning(db, contextAdapterKey(software))).toBeUndefined();
  });

  it('refuses to measure again while a run trains, without touching the GPU', async () => {
    const s = service();
    await s.open(ctx);
    busy = 'The run "stories" is training on this model: pause or stop it first.';
    await expect(s.retune()).rejects.toThrow(busy);
    expect(gpuContext).not.toHaveBeenCalled();
    expect(s.status().state).toBe('none');
  });
});
