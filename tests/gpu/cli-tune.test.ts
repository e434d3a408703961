// `tunelab tune` and `tunelab info` with a cache folder of their own ($TUNELAB_CACHE): info reports no tuning,
// tune measures (a 3 s budget) and stores the record under this adapter's key, info then prints it, and a
// command that uses the GPU takes the stored record (no new measurement, the file unchanged), leaves a stale
// record alone with TUNELAB_MATMUL_TUNING=cached, and by default measures again and replaces it.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MATMUL_CLASSES } from '../../src/engine/ops/gpu/matmul-classes';
import { matmulKernelsVersion, type MatmulTuning } from '../../src/engine/ops/gpu/matmul-tuning';
import { tunelab } from '../helpers/cli';

const storiesArg = '../shared/assets/models/stories260K';

interface InfoJson {
  matmulTuning: { file: string; adapterKey: string; status: string; why?: string; record?: MatmulTuning };
}

let cache: string;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  cache = await mkdtemp(join(tmpdir(), 'tunelab-tune-'));
  env = { ...process.env, TUNELAB_CACHE: cache, TUNELAB_MATMUL_TUNING: undefined };
});
afterAll(async () => {
  await rm(cache, { recursive: true, force: true });
});

async function info(): Promise<InfoJson> {
  const r = await tunelab(['info', '--json'], env);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as InfoJson;
}

describe('tunelab tune and info', () => {
  it('measures, stores under the adapter key, and shows the stored tuning', async () => {
    const before = await info();
    expect(before.matmulTuning).toMatchObject({ file: join(cache, 'matmul-tuning.json'), status: 'none', why: 'never tuned on this adapter' });

    const tuned = await tunelab(['tune', '--budget', '3', '--json'], env);
    expect(tuned.status, tuned.stderr).toBe(0);
    const record = JSON.parse(tuned.stdout) as MatmulTuning;
    expect(record.adapterKey).toBe(before.matmulTuning.adapterKey);
    expect(record.kernelsVersion).toBe(matmulKernelsVersion());
    expect(record.budgetS).toBe(3);
    expect(record.classes.map((c) => c.id)).toEqual(MATMUL_CLASSES.map((c) => c.id));
    expect(tuned.stderr).toMatch(/^measured 1\/\d+: f16\.decode /m);
    expect(tuned.stderr).toContain(`stored in ${join(cache, 'matmul-tuning.json')}`);
    const stored = JSON.parse(await readFile(join(cache, 'matmul-tuning.json'), 'utf8')) as { format: number; tunings: Record<string, MatmulTuning> };
    expect(stored.format).toBe(1);
    expect(stored.tunings[record.adapterKey]).toEqual(record);

    const after = await info();
    expect(after.matmulTuning.status).toBe('tuned');
    expect(after.matmulTuning.record).toEqual(record);
    const text = await tunelab(['info'], env);
    expect(text.stdout).toContain(`matmul tuning: ${join(cache, 'matmul-tuning.json')}`);
    const decode = record.classes[0];
    expect(text.stdout).toMatch(new RegExp(`${decode.label}\\s+${decode.choice.replace('+', '\\+')}\\s+${decode.rule.replace('+', '\\+')}\\s+${decode.candidates[0].variant.replace('+', '\\+')} `));
  });

  it('a GPU command takes the stored tuning; a stale one is not measured again on a software adapter', async () => {
    const path = join(cache, 'matmul-tuning.json');
    const storedText = await readFile(path, 'utf8');
    const args = ['generate', '--model', storiesArg, '--max-new-tokens', '2', '--temperature', '0'];
    const hit = await tunelab(args, env);
    expect(hit.status, hit.stderr).toBe(0);
    expect(hit.stderr).not.toMatch(/tuning the matmul kernels/);
    expect(await readFile(path, 'utf8')).toBe(storedText);

    const stale = storedText.replaceAll(matmulKernelsVersion(), '00000000');
    await writeFile(path, stale);
    expect((await info()).matmulTuning).toMatchObject({ status: 'stale', why: `it was measured with other kernels (version 00000000, now ${matmulKernelsVersion()})` });
    const cached = await tunelab(args, { ...env, TUNELAB_MATMUL_TUNING: 'cached' });
    expect(cached.status, cached.stderr).toBe(0);
    expect(cached.stderr).not.toMatch(/tuning the matmul kernels/);
    expect(await readFile(path, 'utf8')).toBe(stale);

    // By default too, on a software adapter (the tests' SwiftShader / lavapipe): only `tunelab tune` measures
    // there (a real GPU measures on first use, about 5 s); the rule runs and the stale record stays.
    const auto = await tunelab(args, env);
    expect(auto.status, auto.stderr).toBe(0);
    expect(auto.stderr).not.toMatch(/tuning the matmul kernels/);
    expect(await readFile(path, 'utf8')).toBe(stale);

    const bad = await tunelab(args, { ...env, TUNELAB_MATMUL_TUNING: 'sometimes' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/TUNELAB_MATMUL_TUNING must be auto, cached or off, got "sometimes"/);
  });
});
