// `tunelab train --out DIR` when DIR already holds a run (src/cli/out-dir.ts): refused naming DIR, what it
// holds and both ways on (--resume with its latest checkpoint, --force and what it deletes) unless one is
// given; --resume from another run's checkpoint into it is refused; --force deletes exactly the run's files.

import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args';
import { checkOutDir, earlierRunIn, isCheckpointOf, outDirRefusal, removeEarlierRun } from '../../src/cli/out-dir';
import { makeTempDir, removeTempDir } from '../helpers/tiny-models';

describe('what counts as an earlier run', () => {
  it('the files a run writes and its step-N checkpoint folders, checkpoints in step order', () => {
    expect(earlierRunIn(['metrics.jsonl', 'notes.txt', 'run.json', 'checkpoints'], ['step-100', 'step-20', 'step-3', 'old'])).toEqual({
      files: ['run.json', 'metrics.jsonl'],
      checkpoints: ['step-3', 'step-20', 'step-100'],
    });
    expect(earlierRunIn(['adapter_config.json', 'adapter_model.safetensors'], [])).toEqual({ files: ['adapter_config.json', 'adapter_model.safetensors'], checkpoints: [] });
    expect(earlierRunIn(['rollouts.jsonl'], [])?.files).toEqual(['rollouts.jsonl']);
  });

  it('an empty folder, other files, or an empty checkpoints/ is no run', () => {
    expect(earlierRunIn([], [])).toBeUndefined();
    expect(earlierRunIn(['notes.txt', 'data.jsonl', 'checkpoints'], ['README'])).toBeUndefined();
  });
});

describe('the refusal', () => {
  const run = { files: ['run.json', 'metrics.jsonl', 'adapter_config.json', 'adapter_model.safetensors'], checkpoints: ['step-10', 'step-20'] };
  const listed = 'run.json, metrics.jsonl, adapter_config.json, adapter_model.safetensors, checkpoints/step-10, checkpoints/step-20';

  it('names DIR, what it holds, --resume with the latest checkpoint and --force with what it deletes', () => {
    expect(outDirRefusal('runs/a', run, { force: false })).toBe(
      `--out runs/a already holds a run (${listed}): continue it with --resume runs/a/checkpoints/step-20, ` +
        `start over with --force (deletes ${listed}; other files stay), or choose another --out`,
    );
  });

  it('a run that stopped before any checkpoint: --resume is named as impossible', () => {
    expect(outDirRefusal('runs/a', { files: ['run.json', 'metrics.jsonl'], checkpoints: [] }, { force: false })).toBe(
      '--out runs/a already holds a run (run.json, metrics.jsonl): it has no checkpoint for --resume to continue from, ' +
        'start over with --force (deletes run.json, metrics.jsonl; other files stay), or choose another --out',
    );
  });

  it('--force, --resume of one of its checkpoints, or no earlier run: allowed', () => {
    expect(outDirRefusal('runs/a', run, { force: true })).toBeUndefined();
    expect(outDirRefusal('runs/a', run, { force: false, resume: 'runs/a/checkpoints/step-10' })).toBeUndefined();
    expect(outDirRefusal('runs/a', run, { force: false, resume: './runs/a/checkpoints/step-20/' })).toBeUndefined();
    expect(outDirRefusal('runs/a', undefined, { force: false })).toBeUndefined();
    expect(outDirRefusal('runs/a', undefined, { force: false, resume: 'runs/b/checkpoints/step-5' })).toBeUndefined();
  });

  it('--resume of another run\'s checkpoint into it would mix two runs: refused', () => {
    expect(outDirRefusal('runs/a', run, { force: false, resume: 'runs/b/checkpoints/step-5' })).toBe(
      `--out runs/a already holds a run (${listed}) and --resume runs/b/checkpoints/step-5 is not one of its checkpoints: ` +
        "continuing there would mix two runs in one metrics.jsonl; resume into the checkpoint's own --out or an empty one, " +
        `or start over with --force (deletes ${listed}; other files stay) without --resume`,
    );
  });

  it('a checkpoint of the folder is one inside its checkpoints/', () => {
    expect(isCheckpointOf('runs/a/checkpoints/step-1', 'runs/a')).toBe(true);
    expect(isCheckpointOf('runs/a/checkpoints', 'runs/a')).toBe(false);
    expect(isCheckpointOf('runs/a/checkpoints/../../b/checkpoints/step-1', 'runs/a')).toBe(false);
    expect(isCheckpointOf('runs/ab/checkpoints/step-1', 'runs/a')).toBe(false);
  });
});

describe('on disk', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('tunelab-out-dir-');
  });
  afterEach(() => removeTempDir(dir));

  async function earlierRun(out: string): Promise<void> {
    await mkdir(join(out, 'checkpoints', 'step-4'), { recursive: true });
    await mkdir(join(out, 'checkpoints', 'step-8'), { recursive: true });
    await writeFile(join(out, 'checkpoints', 'step-4', 'checkpoint.safetensors'), 'x');
    for (const f of ['run.json', 'metrics.jsonl', 'adapter_config.json', 'adapter_model.safetensors', 'notes.txt']) await writeFile(join(out, f), f);
  }

  it('a folder holding a run is refused (a UsageError); a missing or empty one is not', async () => {
    const out = join(dir, 'run');
    await expect(checkOutDir(out, { force: false })).resolves.toBeUndefined();
    await mkdir(out);
    await expect(checkOutDir(out, { force: false })).resolves.toBeUndefined();
    await earlierRun(out);
    const err = await checkOutDir(out, { force: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain(`--out ${out} already holds a run (run.json, metrics.jsonl, adapter_config.json, adapter_model.safetensors, checkpoints/step-4, checkpoints/step-8)`);
    expect((err as Error).message).toContain(`--resume ${join(out, 'checkpoints', 'step-8')}`);
  });

  it('--out naming a file is refused as such', async () => {
    await writeFile(join(dir, 'file'), 'x');
    await expect(checkOutDir(join(dir, 'file'), { force: false })).rejects.toThrow(`--out ${join(dir, 'file')} is a file, not a folder`);
  });

  it('--force deletes exactly the run\'s files and checkpoint folders; other files stay', async () => {
    const out = join(dir, 'run');
    await earlierRun(out);
    await writeFile(join(out, 'checkpoints', 'mine.txt'), 'keep');
    expect(await removeEarlierRun(out)).toBe('run.json, metrics.jsonl, adapter_config.json, adapter_model.safetensors, checkpoints/step-4, checkpoints/step-8');
    expect((await readdir(out)).sort()).toEqual(['checkpoints', 'notes.txt']);
    expect(await readdir(join(out, 'checkpoints'))).toEqual(['mine.txt']);
    expect(await readFile(join(out, 'notes.txt'), 'utf8')).toBe('notes.txt');
  });

  it('--force removes checkpoints/ once it is empty, and does nothing to a folder without a run', async () => {
    const out = join(dir, 'run');
    await earlierRun(out);
    await removeEarlierRun(out);
    expect(await readdir(out)).toEqual(['notes.txt']);
    expect(await removeEarlierRun(out)).toBeUndefined();
    expect(await readdir(out)).toEqual(['notes.txt']);
  });
});
