// The CLI's matmul tuning file and the cache logic both stores share (ensureMatmulTuning, cached records
// only, so no GPU): a record of this adapter and these kernels is a hit and becomes the device's tuning;
// another adapter key, other kernels or a variant the device lacks is a miss; records of other adapters
// survive a write; a broken file is an error naming the file and the field.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GpuAdapterSummary } from '../../src/engine/gpu/adapter-info';
import type { GpuContext } from '../../src/engine/gpu/context';
import { ensureMatmulTuning } from '../../src/engine/ops/gpu/matmul-tuning-cache';
import { contextAdapterKey, matmulKernelsVersion, tunedVariant, type MatmulTuning } from '../../src/engine/ops/gpu/matmul-tuning';
import { defaultMatmulTuningFile, MatmulTuningFile } from '../../src/node/matmul-tuning-file';

const ADAPTER: GpuAdapterSummary = {
  vendor: 'nvidia',
  architecture: 'hopper',
  device: 'NVIDIA H100 80GB HBM3',
  description: 'NVIDIA: 570.86.15',
  isFallbackAdapter: false,
  features: { shaderF16: true, subgroups: true, timestampQuery: true },
  limits: {
    maxStorageBufferBindingSize: 1 << 30,
    maxBufferSize: 1 << 30,
    maxComputeWorkgroupStorageSize: 32768,
    maxComputeInvocationsPerWorkgroup: 1024,
    maxComputeWorkgroupsPerDimension: 65535,
    maxStorageBuffersPerShaderStage: 12,
  },
};

/** The fields of a GpuContext the cache reads and writes. */
function fakeContext(shaderF16 = true, adapter = ADAPTER): GpuContext {
  return { adapter, hasShaderF16: shaderF16, hasSubgroups: true, matmulTuning: undefined } as unknown as GpuContext;
}

function tuning(ctx: GpuContext, choice: MatmulTuning['classes'][number]['choice'] = 'quad16x8'): MatmulTuning {
  return {
    adapterKey: contextAdapterKey(ctx),
    kernelsVersion: matmulKernelsVersion(),
    tunedAt: '2026-12-10T10:00:00.000Z',
    profile: 'full',
    budgetS: 5,
    elapsedS: 3.5,
    classes: [
      {
        id: 'f16.large',
        label: 'm ≥ 128, B f16',
        products: [{ m: 256, k: 576, n: 1536, transA: false, transB: true }],
        bFormat: 'f16',
        choice,
        rule: 'shared64_f16',
        candidates: [
          { variant: 'shared64_f16', gflops: 4000 },
          { variant: 'quad16x8', gflops: 6000 },
        ],
      },
    ],
  };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tunelab-tuning-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('matmul tuning file', () => {
  it('lives in $TUNELAB_CACHE, else beside the Hub cache', () => {
    expect(defaultMatmulTuningFile({ TUNELAB_CACHE: '/data/tl' })).toBe('/data/tl/matmul-tuning.json');
    expect(defaultMatmulTuningFile({ XDG_CACHE_HOME: '/x' })).toBe('/x/tunelab/matmul-tuning.json');
  });

  it('reads back what it wrote per adapter key and keeps the other adapters when one is written', async () => {
    const file = new MatmulTuningFile(join(dir, 'sub', 'matmul-tuning.json'));
    expect(await file.get('anything')).toBeUndefined();
    const h100 = tuning(fakeContext());
    const noF16 = tuning(fakeContext(false), 'reg8x8');
    await file.put(h100);
    await file.put(noF16);
    expect(h100.adapterKey).not.toBe(noF16.adapterKey);
    expect(await file.get(h100.adapterKey)).toStrictEqual(h100);
    expect(await file.get(noF16.adapterKey)).toStrictEqual(noF16);
    await file.put({ ...h100, tunedAt: '2026-12-11T00:00:00.000Z' });
    expect(Object.keys(await file.all())).toHaveLength(2);
    expect((await file.get(h100.adapterKey))?.tunedAt).toBe('2026-12-11T00:00:00.000Z');
  });

  it('names the file and the field of a broken file', async () => {
    const path = join(dir, 'matmul-tuning.json');
    const file = new MatmulTuningFile(path);
    await writeFile(path, '{"format": 1, "tunings": {');
    await expect(file.get('k')).rejects.toThrow(`${path}: not JSON`);
    await writeFile(path, JSON.stringify({ format: 2, tunings: {} }));
    await expect(file.get('k')).rejects.toThrow(`${path}: field "format" must be 1`);
    const record = tuning(fakeContext());
    await writeFile(path, JSON.stringify({ format: 1, tunings: { [record.adapterKey]: { ...record, elapsedS: 'slow' } } }));
    await expect(file.get(record.adapterKey)).rejects.toThrow(`${path}: tunings["${record.adapterKey}"]: field "elapsedS" must be a number`);
    await writeFile(path, JSON.stringify({ format: 1, tunings: { other: record } }));
    await expect(file.get('other')).rejects.toThrow('field "adapterKey" is');
  });
});

describe('ensureMatmulTuning from a cache', () => {
  it('a record of this adapter and these kernels is a hit and becomes the tuning the dispatcher reads', async () => {
    const file = new MatmulTuningFile(join(dir, 'matmul-tuning.json'));
    const ctx = fakeContext();
    await file.put(tuning(ctx, 'quad16x8'));
    const got = await ensureMatmulTuning(ctx, file, { cachedOnly: true });
    expect(got.source).toBe('cache');
    expect(ctx.matmulTuning?.record.adapterKey).toBe(contextAdapterKey(ctx));
    expect(tunedVariant(ctx.matmulTuning, 256, 1536, true, false)).toBe('quad16x8');
    expect(tunedVariant(ctx.matmulTuning, 256, 1536, false, false)).toBeUndefined();
  });

  it('misses on another adapter key, on other kernels, and on a variant the device lacks', async () => {
    const file = new MatmulTuningFile(join(dir, 'matmul-tuning.json'));
    const ctx = fakeContext();
    const other = fakeContext(true, { ...ADAPTER, description: 'NVIDIA: 575.51.02' });
    await file.put(tuning(other));
    let got = await ensureMatmulTuning(ctx, file, { cachedOnly: true });
    expect(got).toEqual({ source: 'none', why: 'none is cached for this adapter' });
    expect(ctx.matmulTuning).toBeUndefined();

    await file.put({ ...tuning(ctx), kernelsVersion: '00000000' });
    got = await ensureMatmulTuning(ctx, file, { cachedOnly: true });
    expect(got.source).toBe('none');
    expect(got.source === 'none' && got.why).toBe(`it was measured with other kernels (version 00000000, now ${matmulKernelsVersion()})`);
    expect(ctx.matmulTuning).toBeUndefined();

    // A record that claims this key but chose shared64_f16 cannot run on a device without shader-f16.
    const noF16 = fakeContext(false);
    await file.put({ ...tuning(noF16), classes: [{ ...tuning(noF16).classes[0], choice: 'shared64_f16' }] });
    got = await ensureMatmulTuning(noF16, file, { cachedOnly: true });
    expect(got.source === 'none' && got.why).toBe('class f16.large chose shared64_f16, which needs shader-f16');
    expect(noF16.matmulTuning).toBeUndefined();
    expect(JSON.parse(await readFile(file.path, 'utf8')).format).toBe(1);
  });
});
