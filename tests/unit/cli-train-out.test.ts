// `tunelab train` end to end on the float64 CPU reference (--backend cpu, a tiny Llama): an --out holding
// a run is refused until --resume or --force; a resume drops a metrics row cut short by a crash with a
// warning and continues; a resume with another seed or other data is refused before anything is written;
// --force deletes the earlier run and says what it deleted; a checkpoint holding a NaN or infinite value is
// refused on resume, naming the tensor. (tests/gpu/cli-train.test.ts has the same path
// on the GPU.)

import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../../src/engine/model/safetensors';
import { Rng } from '../../src/engine/util/rng';
import { makeTempDir, removeTempDir, writeTinyModel } from '../helpers/tiny-models';

interface Run {
  status: number;
  stderr: string;
}

async function tunelab(args: string[]): Promise<Run> {
  let stderr = '';
  const status = await main(args, { stdout: { write: () => {} }, stderr: { write: (t: string) => (stderr += t) } });
  return { status, stderr };
}

let work: string;
let model: string;
let data: string;

beforeAll(async () => {
  work = await makeTempDir('tunelab-cli-train-out-');
  model = join(work, 'model');
  await writeTinyModel(model, 'llama');
  const rng = new Rng(5);
  data = join(work, 'train.jsonl');
  await writeFile(data, Array.from({ length: 12 }, () => `${JSON.stringify({ input_ids: Array.from({ length: 6 + rng.int(6) }, () => 3 + rng.int(500)) })}\n`).join(''));
});

afterAll(() => removeTempDir(work));

/** Four steps of 2 examples from `data`, seed 3 unless `more` gives --seed, --data or --steps. */
function args(out: string, ...more: string[]): string[] {
  const defaults: Record<string, string> = { '--data': data, '--seed': '3', '--steps': '4' };
  for (const flag of Object.keys(defaults)) if (more.includes(flag)) delete defaults[flag];
  return ['train', '--model', model, ...Object.entries(defaults).flat(), '--eval-split', '0', '--batch-size', '2', '--lr', '1e-3', '--backend', 'cpu', '--quiet', '--out', out, ...more];
}

const steps = async (out: string) => (await readFile(join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);

describe('tunelab train --out', () => {
  it('refuses a folder holding a run; --resume continues it past a cut-off row, other data or seeds are refused, --force starts over', async () => {
    const out = join(work, 'run');
    const first = await tunelab(args(out, '--stop-after-step', '2'));
    expect(first.status, first.stderr).toBe(0);
    expect(await steps(out)).toEqual([1, 2]);
    const metrics = await readFile(join(out, 'metrics.jsonl'), 'utf8');

    const again = await tunelab(args(out));
    expect(again.status).toBe(2);
    expect(again.stderr).toBe(
      `tunelab: --out ${out} already holds a run (run.json, metrics.jsonl, adapter_config.json, adapter_model.safetensors, checkpoints/step-2): ` +
        `continue it with --resume ${join(out, 'checkpoints', 'step-2')}, start over with --force (deletes run.json, metrics.jsonl, adapter_config.json, ` +
        'adapter_model.safetensors, checkpoints/step-2; other files stay), or choose another --out\n',
    );
    expect(await readFile(join(out, 'metrics.jsonl'), 'utf8')).toBe(metrics);

    // A crash while step 3's row was being appended.
    await appendFile(join(out, 'metrics.jsonl'), '{"step":3,"loss":5.12');
    const checkpoint = join(out, 'checkpoints', 'step-2');
    const otherSeed = await tunelab(args(out, '--resume', checkpoint, '--seed', '4'));
    expect(otherSeed.status, otherSeed.stderr).toBe(1);
    expect(otherSeed.stderr).toBe(`tunelab: ${checkpoint}: cannot continue this run: seed differs: the checkpoint was made with --seed 3, this run has --seed 4\n`);
    const lines = (await readFile(data, 'utf8')).split('\n');
    const otherData = join(work, 'train-edited.jsonl');
    await writeFile(otherData, [lines[0].replace('[', '[7,'), ...lines.slice(1)].join('\n'));
    const edited = await tunelab(args(out, '--resume', checkpoint, '--data', otherData));
    expect(edited.status, edited.stderr).toBe(1);
    expect(edited.stderr).toMatch(new RegExp(`^tunelab: ${checkpoint}: cannot continue this run: data differs: the checkpoint was made with sha256 [0-9a-f]{12}… of ${data} \\(12 training examples\\), this run has [0-9a-f]{12}… of ${otherData} \\(12\\)`));
    // Refused before anything was written: the cut row is still there.
    expect(await readFile(join(out, 'metrics.jsonl'), 'utf8')).toBe(`${metrics}{"step":3,"loss":5.12`);

    const resumed = await tunelab(args(out, '--resume', checkpoint));
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toBe(`warning: ${join(out, 'metrics.jsonl')}, line 3: dropped a row cut short (the run stopped while writing it): "{\\"step\\":3,\\"loss\\":5.12"\n`);
    expect(await steps(out)).toEqual([1, 2, 3, 4]);

    await writeFile(join(out, 'notes.txt'), 'mine');
    const forced = await tunelab(args(out, '--force', '--steps', '1').filter((a) => a !== '--quiet'));
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.stderr).toContain(
      `--force: deleted the earlier run in ${out}: run.json, metrics.jsonl, adapter_config.json, adapter_model.safetensors, checkpoints/step-2, checkpoints/step-4\n`,
    );
    expect(await steps(out)).toEqual([1]);
    expect((await readdir(join(out, 'checkpoints'))).sort()).toEqual(['step-1']);
    expect(await readFile(join(out, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('a checkpoint from before fingerprints were recorded resumes, with a warning that data and seed are unchecked', async () => {
    const out = join(work, 'old');
    const first = await tunelab(args(out, '--stop-after-step', '2'));
    expect(first.status, first.stderr).toBe(0);
    const checkpoint = join(out, 'checkpoints', 'step-2');
    const file = join(checkpoint, 'checkpoint.safetensors');
    const bytes = new Uint8Array(await readFile(file));
    const st = readSafetensors(bytes, file);
    const { fingerprint: _dropped, ...state } = JSON.parse(st.metadata.state) as Record<string, unknown>;
    const tensors: Record<string, TensorToWrite> = {};
    for (const [name, t] of st.tensors) tensors[name] = { dtype: 'F32', shape: t.shape, data: t.toFloat32() };
    await writeFile(file, writeSafetensors(tensors, { ...st.metadata, state: JSON.stringify(state) }));

    const resumed = await tunelab(args(out, '--resume', checkpoint));
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toBe(`warning: ${checkpoint} was written by an older Tunelab without a data and seed fingerprint: it is not checked that this run has the same data and --seed\n`);
    expect(await steps(out)).toEqual([1, 2, 3, 4]);
  });

  it('refuses to resume from a checkpoint holding a NaN or infinite value, naming the folder and the tensor, before anything is written', async () => {
    const out = join(work, 'poisoned');
    const first = await tunelab(args(out, '--stop-after-step', '2'));
    expect(first.status, first.stderr).toBe(0);
    const checkpoint = join(out, 'checkpoints', 'step-2');
    const file = join(checkpoint, 'checkpoint.safetensors');
    const st = readSafetensors(new Uint8Array(await readFile(file)), file);
    const names = [...st.tensors.keys()];
    const metrics = await readFile(join(out, 'metrics.jsonl'), 'utf8');
    for (const [suffix, poison] of [['.B.exp_avg_sq', Number.NaN], ['.A', Number.POSITIVE_INFINITY]] as const) {
      const target = names.filter((n) => n.endsWith(suffix)).at(-1);
      if (!target) return expect.fail(`no tensor ends with ${suffix}`);
      const tensors: Record<string, TensorToWrite> = {};
      for (const [name, t] of st.tensors) {
        const data = t.toFloat32().slice();
        if (name === target) data[1] = poison;
        tensors[name] = { dtype: 'F32', shape: t.shape, data };
      }
      await writeFile(file, writeSafetensors(tensors, st.metadata));

      const resumed = await tunelab(args(out, '--resume', checkpoint));
      expect(resumed.status, resumed.stderr).toBe(1);
      expect(resumed.stderr).toBe(
        `tunelab: ${checkpoint}: cannot continue a run: the value 1 of tensor "${target}" is ${poison} (not a finite number), so every step after it would be too; ` +
          'resume from an earlier checkpoint or start over with --force\n',
      );
      expect(await readFile(join(out, 'metrics.jsonl'), 'utf8')).toBe(metrics);
    }
  });
});
