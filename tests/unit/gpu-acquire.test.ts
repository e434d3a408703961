import { describe, expect, it } from 'vitest';
import { acquireGpu } from '../../src/engine/gpu/context';
import { GpuUnavailableError } from '../../src/engine/gpu/errors';
import { openGpuSession } from '../../src/worker/gpu-session';

// Fake GPU objects: each stops acquisition at a different point.
const noAdapter = { requestAdapter: async () => null } as unknown as GPU;
const refusingAdapter = {
  requestAdapter: async () => ({
    limits: {},
    features: new Set<string>(),
    requestDevice: async () => {
      throw new Error('device limit exceeded');
    },
  }),
} as unknown as GPU;

describe('GPU acquisition failures', () => {
  it('names how far acquisition got', async () => {
    const reasons = [];
    for (const gpu of [undefined, noAdapter, refusingAdapter]) {
      const err = await acquireGpu(gpu).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GpuUnavailableError);
      reasons.push((err as GpuUnavailableError).reason);
    }
    expect(reasons).toEqual(['no-api', 'no-adapter', 'no-device']);
  });

  it('gives the studio a status with that reason and the actionable message', async () => {
    const status = (await openGpuSession(refusingAdapter)).status;
    expect(status).toMatchObject({ kind: 'unavailable', reason: 'no-device' });
    expect(status.kind === 'unavailable' && status.message).toMatch(/refused to create a device: device limit exceeded/);
    expect((await openGpuSession(noAdapter)).status).toMatchObject({ reason: 'no-adapter' });
  });
});
