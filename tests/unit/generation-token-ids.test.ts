// generation_config.json's bos, eos and pad token ids must be token ids of the model (integers from 0 to
// config.json's vocab_size - 1): an id outside the vocabulary would index past the embedding and logits.
// Each hostile value is refused on load (loadModelFiles, the exported ONNX folder) naming the file, the
// field and the value; so are the ids generation resolves when the files came another way.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/engine/model/errors';
import { checkGenerationTokenIds, resolveBosTokenId, resolveEosTokenIds } from '../../src/engine/model/generation-options';
import { loadModelFiles } from '../../src/engine/model/model-files';
import { readModelConfig } from '../../src/engine/model/config';
import { DirectorySource } from '../../src/node/directory-source';
import { readExportedFolder } from '../../src/onnx-runner/exported-folder';
import { makeTempDir, removeTempDir, tinyConfig, writeTinyModel } from '../helpers/tiny-models';

const VOCAB = 512;
const LIMIT = `not a token id of this model: ids are integers from 0 to ${VOCAB - 1} (config.json's vocab_size is ${VOCAB})`;

/** generation_config.json's text with `field` set to `value` (written as JSON text, so 1e308 stays 1e308). */
const genText = (field: string, value: string) => `{"bos_token_id": 1, "eos_token_id": 2, "${field}": ${value}}`;

const HOSTILE: [field: string, value: string, message: string][] = [
  ['eos_token_id', '-1', `generation_config.json: field "eos_token_id" is -1, ${LIMIT}`],
  ['bos_token_id', '1e308', `generation_config.json: field "bos_token_id" is 1e+308, ${LIMIT}`],
  ['pad_token_id', '3.5', `generation_config.json: field "pad_token_id" is 3.5, ${LIMIT}`],
  ['eos_token_id', String(VOCAB), `generation_config.json: field "eos_token_id" is ${VOCAB}, ${LIMIT}`],
  ['pad_token_id', String(2 ** 31), `generation_config.json: field "pad_token_id" is ${2 ** 31}, ${LIMIT}`],
  ['eos_token_id', `[2, ${VOCAB + 7}, 3]`, `generation_config.json: field "eos_token_id" holds ${VOCAB + 7} (in [2,${VOCAB + 7},3]), ${LIMIT}`],
  ['bos_token_id', '[1, -4]', `generation_config.json: field "bos_token_id" holds -4 (in [1,-4]), ${LIMIT}`],
  ['eos_token_id', '"2"', `generation_config.json: field "eos_token_id" is "2", ${LIMIT}`],
];

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ModelFormatError);
    return (err as Error).message;
  }
  return expect.fail('expected a ModelFormatError');
}

async function rejection(run: () => Promise<unknown>): Promise<string> {
  const err: unknown = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ModelFormatError);
  return (err as Error).message;
}

let work: string;
beforeAll(async () => {
  work = await makeTempDir('tunelab-gen-ids-');
});
afterAll(() => removeTempDir(work));

describe('generation_config.json token ids', () => {
  it.each(HOSTILE)('refuses %s = %s', (field, value, message) => {
    expect(refusal(() => checkGenerationTokenIds(JSON.parse(genText(field, value)) as Record<string, unknown>, VOCAB))).toBe(message);
  });

  it('accepts ids from 0 to vocab_size - 1, single or in lists, and absent or null fields', () => {
    expect(() => checkGenerationTokenIds({ bos_token_id: 0, eos_token_id: [VOCAB - 1, 2], pad_token_id: null }, VOCAB)).not.toThrow();
    expect(() => checkGenerationTokenIds({}, VOCAB)).not.toThrow();
    expect(() => checkGenerationTokenIds(undefined, VOCAB)).not.toThrow();
  });

  it('the ids generation resolves are bounded too, when the files were not loaded by loadModelFiles', () => {
    const config = readModelConfig(JSON.stringify(tinyConfig('llama')), 'config.json');
    expect(config.vocabSize).toBe(VOCAB);
    expect(refusal(() => resolveEosTokenIds({ config, generationConfig: { eos_token_id: [2, VOCAB] } }))).toBe(
      `generation_config.json: field "eos_token_id" holds ${VOCAB} (in [2,${VOCAB}]), ${LIMIT}`,
    );
    expect(refusal(() => resolveBosTokenId({ config, generationConfig: { bos_token_id: -1 } }))).toBe(`generation_config.json: field "bos_token_id" is -1, ${LIMIT}`);
    expect(resolveEosTokenIds({ config, generationConfig: { eos_token_id: [VOCAB - 1] } })).toEqual([VOCAB - 1]);
  });

  it('a model folder or an exported folder with such a file is refused on load', async () => {
    const dir = join(work, 'model');
    await writeTinyModel(dir, 'llama');
    const [field, value, message] = HOSTILE[1];
    await writeFile(join(dir, 'generation_config.json'), genText(field, value));
    expect(await rejection(() => loadModelFiles(new DirectorySource(dir)))).toBe(message);

    const files = {
      'config.json': new Blob([JSON.stringify(tinyConfig('llama'))]),
      'generation_config.json': new Blob([genText('pad_token_id', String(VOCAB))]),
      'onnx/model.onnx': new Blob([new Uint8Array(8)]),
    };
    expect(await rejection(() => readExportedFolder(files, 'onnx/model.onnx'))).toBe(`generation_config.json: field "pad_token_id" is ${VOCAB}, ${LIMIT}`);
  });
});
